/* cgfloor.c: the kernel work of `cgctl --mem 100M -- PROG`, and nothing
 * else. cgroup.sh (hybrid or pure v1 host) and the VM's pure v2 benchmark
 * (tests/vm) time the headline chain under it, next to the chain under
 * cgctl: what cgctl adds at best, and how far cgctl is from that.
 *
 *   cgfloor UNIFIED_PARENT|- MEMORY_PARENT|- PROG [ARG...]
 *
 * What cgctl -v shows it doing, in the same order: mkdir
 * UNIFIED_PARENT/cgfloor-PID (not with "-") and MEMORY_PARENT/cgfloor-PID
 * (not with "-"), write 104857600 to the memory group's
 * memory.limit_in_bytes (pure v2, MEMORY_PARENT "-": to the unified
 * group's memory.max, whose parent gives it the memory controller), open
 * the unified group, clone3(CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP) a
 * child on a stack of its own that writes "0" to the memory group's tasks
 * (v1 only) and execs PROG (a path); then wait4, rmdir the groups (memory
 * first), exit with the child's status (128+N if killed by signal N). A
 * failing step prints one line and exits 125.
 *
 * Why no libc: a static glibc program's start executes CPUID again and
 * again, a VM exit of 8.7 us each here, and costs ~0.4 ms more per exec
 * than a program without it (measured 2026-12-07: an exec that only execs
 * again +0.07 ms with nostdlib, +0.44 ms with gcc -static), more than all
 * of cgctl's user-space work; a floor that pays it is no floor. So: raw
 * syscalls, x86_64 only.
 *
 * Build: gcc -O2 -static -nostdlib -fno-stack-protector -fno-builtin -o
 * cgfloor cgfloor.c (cgroup.sh does this).
 */
#include <linux/sched.h>
#include <sys/syscall.h>

#define O_WRONLY 01
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define SIGCHLD 17

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static unsigned long len(const char *s) {
    unsigned long n = 0;
    while (s[n]) n++;
    return n;
}

static char unified[512], memory[512], limit[512], tasks[512];
/* The groups made so far (removed by a failing parent), and whether this
 * is the child (which leaves them to the parent). */
static int made_unified, made_memory, in_child;

/* One line to stderr, then (in the parent: the groups made so far
 * removed) exit 125 (the tools' "failed" status). */
static void fail(const char *what, const char *path, long err) {
    char num[24];
    int i = sizeof num;
    unsigned long e = -err;
    num[--i] = '\n';
    do num[--i] = '0' + e % 10; while ((e /= 10) && i > 0);
    sys3(SYS_write, 2, "cgfloor: ", 9);
    sys3(SYS_write, 2, what, len(what));
    sys3(SYS_write, 2, " ", 1);
    sys3(SYS_write, 2, path, len(path));
    sys3(SYS_write, 2, ": errno ", 8);
    sys3(SYS_write, 2, num + i, sizeof num - i);
    if (!in_child) {
        if (made_memory) sys3(SYS_rmdir, memory, 0, 0);
        if (made_unified) sys3(SYS_rmdir, unified, 0, 0);
    }
    sys3(SYS_exit_group, 125, 0, 0);
}

/* dst = a + "/" + b (+ c), bounded by the 512-byte buffers below. */
static char *join(char *dst, const char *a, const char *b, const char *c) {
    char *p = dst, *end = dst + 511;
    while (*a && p < end) *p++ = *a++;
    if (p < end) *p++ = '/';
    while (*b && p < end) *p++ = *b++;
    while (c && *c && p < end) *p++ = *c++;
    *p = 0;
    return dst;
}

static char **child_argv, **child_envp;
static char child_stack[64 * 1024] __attribute__((aligned(16)));

/* The child, on child_stack, in the parent's memory (the parent waits). */
__attribute__((used, noreturn)) static void child(void) {
    in_child = 1;
    if (tasks[0]) {
        long fd = sys3(SYS_open, tasks, O_WRONLY | O_CLOEXEC, 0);
        if (fd < 0 || sys3(SYS_write, fd, "0", 1) != 1) fail("write 0 to", tasks, fd < 0 ? fd : -5);
    }
    long e = sys3(SYS_execve, child_argv[0], child_argv, child_envp);
    fail("execve", child_argv[0], e);
    __builtin_unreachable();
}

/* clone3 whose child starts on its stack in child(). */
static long clone3_child(struct clone_args *args) {
    long r;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "call child\n\t"
                     "1:"
                     : "=a"(r)
                     : "a"(SYS_clone3), "D"(args), "S"(sizeof *args)
                     : "rcx", "r11", "memory");
    return r;
}

__attribute__((used)) void cstart(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    if (argc < 4) fail("usage:", "cgfloor UNIFIED_PARENT|- MEMORY_PARENT|- PROG [ARG...]", -22);
    child_argv = argv + 3;
    child_envp = argv + argc + 1;
    char name[32] = "cgfloor-";
    long pid = sys3(SYS_getpid, 0, 0, 0);
    char digits[16];
    int n = 0;
    do digits[n++] = '0' + pid % 10; while ((pid /= 10));
    for (int i = 0; i < n; i++) name[8 + i] = digits[n - 1 - i];
    name[8 + n] = 0;
    int with_unified = !(argv[1][0] == '-' && argv[1][1] == 0);
    int with_v1 = !(argv[2][0] == '-' && argv[2][1] == 0);
    if (!with_unified && !with_v1) fail("usage:", "UNIFIED_PARENT and MEMORY_PARENT cannot both be -", -22);
    long r;
    if (with_unified && (r = sys3(SYS_mkdir, join(unified, argv[1], name, 0), 0755, 0)) < 0)
        fail("mkdir", unified, r);
    made_unified = with_unified;
    if (with_v1 && (r = sys3(SYS_mkdir, join(memory, argv[2], name, 0), 0755, 0)) < 0)
        fail("mkdir", memory, r);
    made_memory = with_v1;
    if (with_v1) join(limit, argv[2], name, "/memory.limit_in_bytes");
    else join(limit, argv[1], name, "/memory.max");
    long fd = sys3(SYS_open, limit, O_WRONLY | O_CLOEXEC, 0);
    if (fd < 0 || sys3(SYS_write, fd, "104857600", 9) != 9) fail("write 104857600 to", limit, fd < 0 ? fd : -5);
    sys3(SYS_close, fd, 0, 0);
    if (with_v1) join(tasks, argv[2], name, "/tasks");
    long dir = with_unified ? sys3(SYS_open, unified, O_DIRECTORY | O_CLOEXEC, 0) : 0;
    if (dir < 0) fail("open", unified, dir);
    struct clone_args args = {
        .flags = CLONE_VM | CLONE_VFORK | (with_unified ? CLONE_INTO_CGROUP : 0),
        .exit_signal = SIGCHLD,
        .stack = (unsigned long)child_stack,
        .stack_size = sizeof child_stack,
        .cgroup = (unsigned long)dir,
    };
    long child_pid = clone3_child(&args);
    if (child_pid < 0) fail("clone3", "CLONE_VM|CLONE_VFORK", child_pid);
    int status = 0;
    if ((r = sys6(SYS_wait4, child_pid, (long)&status, 0, 0, 0, 0)) < 0) fail("wait4", "the child", r);
    /* Both are tried; a failing one is reported (and not tried again). */
    long rm = with_v1 ? sys3(SYS_rmdir, memory, 0, 0) : 0;
    long ru = with_unified ? sys3(SYS_rmdir, unified, 0, 0) : 0;
    made_memory = made_unified = 0;
    if (rm < 0) fail("rmdir", memory, rm);
    if (ru < 0) fail("rmdir", unified, ru);
    int code = (status & 0x7f) ? 128 + (status & 0x7f) : (status >> 8) & 0xff;
    sys3(SYS_exit_group, code, 0, 0);
}

/* The kernel's entry: the stack pointer points at argc. */
__attribute__((naked)) void _start(void) {
    __asm__("mov %rsp, %rdi\n\t"
            "and $-16, %rsp\n\t"
            "call cstart\n\t"
            "hlt");
}
