/* A catalogue of system calls for comparing seccomp filters (the test
 * seccomp_vs_crun.rs). Each call runs in a forked child (RLIMIT_CORE 0, a
 * 5 s alarm) and gets one line on stdout, in a fixed order:
 *
 *     NAME ret N          the call returned N
 *     NAME ret            it returned a value that is not the filter's
 *                         business (a pid, an fd, an address): not printed,
 *                         so that runs compare line by line
 *     NAME errno ENAME    it failed (the name from strerrorname_np)
 *     NAME signal N       the child was killed by signal N (SIGSYS is 31)
 *
 * Arguments are harmless by construction, also with no filter and every
 * capability: whatever a call opens is closed, a privileged call is made in
 * a form the kernel refuses after its permission check (kexec_load with too
 * many segments, reboot with a bad magic, swapon and acct of a missing
 * file, delete_module of a missing module, syslog with console level 0),
 * and fd 0 is /dev/null before any ioctl reaches it. It runs only as PID 1
 * (of a container). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Numbers newer than the 6.1 headers of Debian 12. */
#define NR_cachestat 451
#define NR_fchmodat2 452
#define NR_lsm_list_modules 461
#define NR_mseal 462
#define X32 0x40000000L

#define AF_ALG_ 38
#define AF_VSOCK_ 40
#define NETLINK_ROUTE_ 0
#define NETLINK_AUDIT_ 9

/* A raw call: -1 with errno set on failure, as syscall(2) does. */
#define S(...) syscall(__VA_ARGS__)

/* The i386 entry point, from 64-bit code: arguments in ebx, ecx, edx. */
static long int80(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile("int $0x80"
                     : "=a"(r)
                     : "a"(nr), "b"(a), "c"(b), "d"(c)
                     : "r8", "r9", "r10", "r11", "memory");
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

/* The result of an fd-returning call, with the fd closed again. */
static long fd(long r) {
    if (r >= 0)
        close((int)r);
    return r;
}

/* Runs CALL in a grandchild and returns 0 if it succeeded there, or -1 with
 * its errno: for calls that change or trace the calling process. */
#define IN_GRANDCHILD(CALL)                                                   \
    do {                                                                      \
        pid_t g = fork();                                                     \
        if (g < 0)                                                            \
            return -1;                                                        \
        if (g == 0) {                                                         \
            long r_ = (CALL);                                                 \
            _exit(r_ < 0 ? 100 + errno : 0);                                  \
        }                                                                     \
        int st_;                                                              \
        if (waitpid(g, &st_, 0) != g || !WIFEXITED(st_))                      \
            return errno = EIO, -1;                                           \
        return WEXITSTATUS(st_) == 0 ? 0 : (errno = WEXITSTATUS(st_) - 100, -1); \
    } while (0)

/* A clone that works like fork: the child exits at once; the parent reaps
 * it and returns the child's pid. */
static long forklike(long r) {
    if (r == 0)
        syscall(SYS_exit_group, 0);
    if (r > 0)
        waitpid((pid_t)r, NULL, __WALL);
    return r;
}

static long c_getpid(void) { return S(SYS_getpid); }
static long c_getppid(void) { return S(SYS_getppid); }
static long c_gettid(void) { return S(SYS_gettid); }
static long c_getuid(void) { return S(SYS_getuid); }
static long c_getegid(void) { return S(SYS_getegid); }
static long c_read(void) {
    char b;
    return S(SYS_read, -1, &b, 1);
}
static long c_write(void) { return S(SYS_write, 1, "", 0); }
static long c_openat(void) { return fd(S(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY)); }
static long c_close(void) { return S(SYS_close, -1); }
static long c_mmap(void) {
    long p = S(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p;
}
static long c_munmap(void) {
    void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? -1 : S(SYS_munmap, p, 4096);
}
static long c_mprotect(void) {
    void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? -1 : S(SYS_mprotect, p, 4096, PROT_NONE);
}
static long c_brk(void) { return S(SYS_brk, 0); }
static long c_uname(void) {
    char buf[6 * 65];
    return S(SYS_uname, buf);
}
static long c_getcwd(void) {
    char buf[256];
    return S(SYS_getcwd, buf, sizeof buf);
}
static long c_clock_gettime(void) {
    struct timespec t;
    return S(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
}
static long c_nanosleep(void) {
    struct timespec t = {0, 0};
    return S(SYS_nanosleep, &t, NULL);
}
static long c_futex(void) {
    uint32_t word = 0;
    return S(SYS_futex, &word, 0 /* FUTEX_WAIT */, 1, NULL, NULL, 0);
}
static long c_futex_badop(void) {
    uint32_t word = 0;
    return S(SYS_futex, &word, 99, 0, NULL, NULL, 0);
}
static long c_epoll_create1(void) { return fd(S(SYS_epoll_create1, EPOLL_CLOEXEC)); }
static long c_pipe2(void) {
    int p[2];
    long r = S(SYS_pipe2, p, O_CLOEXEC);
    if (r == 0) {
        close(p[0]);
        close(p[1]);
    }
    return r;
}
static long c_dup(void) { return fd(S(SYS_dup, 1)); }
static long c_fcntl(void) { return S(SYS_fcntl, 1, F_GETFD); }
static long c_sigprocmask(void) {
    uint64_t old;
    return S(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &old, 8);
}
static long c_getrandom(void) {
    char buf[16];
    return S(SYS_getrandom, buf, sizeof buf, 0);
}
static long c_sched_yield(void) { return S(SYS_sched_yield); }
static long c_prlimit64(void) {
    struct rlimit old;
    return S(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &old);
}
static long c_get_nnp(void) { return S(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }
static long c_get_seccomp(void) { return S(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0, 0); }
static long c_kill0(void) { return S(SYS_kill, getpid(), 0); }
static long c_wait4(void) { return S(SYS_wait4, -1, NULL, WNOHANG, NULL); }
static long c_newfstatat(void) {
    char st[256];
    return S(SYS_newfstatat, AT_FDCWD, "/", st, 0);
}
static long c_faccessat2(void) { return S(SYS_faccessat2, AT_FDCWD, "/", R_OK, 0); }
static long c_close_range(void) { return S(SYS_close_range, 1000, 2000, 0); }
static long c_memfd_create(void) { return fd(S(SYS_memfd_create, "catalogue", MFD_CLOEXEC)); }
static long c_pidfd_open(void) { return fd(S(SYS_pidfd_open, getpid(), 0)); }
static long c_socketpair(void) {
    int p[2];
    long r = S(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, p);
    if (r == 0) {
        close(p[0]);
        close(p[1]);
    }
    return r;
}
static long c_arch_prctl(void) {
    unsigned long fs;
    return S(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &fs);
}
static long c_modify_ldt(void) {
    char buf[16];
    return S(SYS_modify_ldt, 0, buf, sizeof buf);
}
static long c_setuid(void) { return S(SYS_setuid, 0); }
static long c_setgroups(void) { return S(SYS_setgroups, 0, NULL); }
static long c_landlock(void) { return S(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */); }
static long c_process_vm_readv(void) { return S(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0); }
static long c_process_mrelease(void) { return S(SYS_process_mrelease, -1, 0); }
static long c_ptrace_traceme(void) { IN_GRANDCHILD(S(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0)); }
static long c_chroot(void) { return S(SYS_chroot, "/"); }
static long c_name_to_handle_at(void) { return S(SYS_name_to_handle_at, -1, "", NULL, NULL, 0); }
static long c_ioctl_fionread(void) {
    int n;
    return S(SYS_ioctl, 1, FIONREAD, &n);
}

/* Refused by one profile or the other, or needing a capability. */
static long c_mount(void) {
    long r = S(SYS_mount, "none", "/tmp/x", "tmpfs", 0, NULL);
    if (r == 0)
        umount2("/tmp/x", MNT_DETACH);
    return r;
}
static long c_umount2(void) { return S(SYS_umount2, "/tmp/x", 0); }
static long c_swapon(void) { return S(SYS_swapon, "/nonexistent-swap", 0); }
static long c_reboot(void) { return S(SYS_reboot, 0, 0, 0, NULL); /* bad magic: EINVAL at best */ }
static long c_kexec_load(void) { return S(SYS_kexec_load, 0, 0xffffffffL, NULL, 0); /* > KEXEC_SEGMENT_MAX */ }
static long c_init_module(void) { return S(SYS_init_module, NULL, 0, ""); }
static long c_finit_module(void) { return S(SYS_finit_module, -1, "", 0); }
static long c_delete_module(void) { return S(SYS_delete_module, "chain_e2e_no_such_module", O_NONBLOCK); }
static long c_acct(void) { return S(SYS_acct, "/nonexistent-acct"); }
static long c_settimeofday(void) { return S(SYS_settimeofday, NULL, NULL); }
static long c_clock_settime(void) { return S(SYS_clock_settime, CLOCK_REALTIME, NULL); }
static long c_iopl(void) { return S(SYS_iopl, 0); }
static long c_userfaultfd(void) { return fd(S(SYS_userfaultfd, O_CLOEXEC)); }
static long c_bpf(void) { return S(SYS_bpf, 9999, NULL, 0); }
static long c_perf_event_open(void) { return S(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long c_fanotify_init(void) { return fd(S(SYS_fanotify_init, 0, O_RDONLY)); }
static long c_lookup_dcookie(void) { return S(SYS_lookup_dcookie, 0, NULL, 0); }
static long c_keyctl(void) { return S(SYS_keyctl, 9999, 0, 0, 0, 0); }
static long c_add_key(void) { return S(SYS_add_key, "chain_e2e_no_such_type", "d", NULL, 0, -2 /* process keyring */); }
static long c_request_key(void) { return S(SYS_request_key, "chain_e2e_no_such_type", "d", NULL, 0); }
static long c_unshare0(void) { return S(SYS_unshare, 0); }
static long c_unshare_uts(void) { return S(SYS_unshare, CLONE_NEWUTS); }
static long c_unshare_user(void) { return S(SYS_unshare, CLONE_NEWUSER); }
static long c_setns(void) { return S(SYS_setns, -1, 0); }
static long c_pivot_root(void) { return S(SYS_pivot_root, "/nonexistent-new", "/nonexistent-old"); }
static long c_open_by_handle_at(void) { return S(SYS_open_by_handle_at, -1, NULL, 0); }
static long c_vmsplice(void) { return S(SYS_vmsplice, -1, NULL, 0, 0); }
static long c_io_uring_setup(void) { return S(SYS_io_uring_setup, 0, NULL); }
static long c_io_pgetevents(void) { return S(SYS_io_pgetevents, 0, 0, 0, NULL, NULL, NULL); }
/* CONSOLE_LEVEL needs CAP_SYSLOG whatever kernel.dmesg_restrict says; level 0
 * is out of range, so with the capability it is EINVAL and changes nothing. */
static long c_syslog(void) { return S(SYS_syslog, 8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 0); }
static long c_get_mempolicy(void) { return S(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0); }
static long c_set_mempolicy(void) { return S(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0); }
static long c_set_mempolicy_home_node(void) { return S(SYS_set_mempolicy_home_node, 0, 0, 0, 0); }
static long c_pidfd_getfd(void) { return S(SYS_pidfd_getfd, -1, 0, 0); }
static long c_kcmp(void) { return S(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 0, 0); }
static long c_process_madvise(void) { return S(SYS_process_madvise, -1, NULL, 0, 0, 0); }
static long c_fsopen(void) { return fd(S(SYS_fsopen, "chain_e2e_no_such_fs", 0)); }
static long c_quotactl_fd(void) { return S(SYS_quotactl_fd, -1, 0, 0, NULL); }
static long c_sysctl(void) { return S(SYS__sysctl, NULL); }
static long c_futex_waitv(void) { return S(SYS_futex_waitv, NULL, 0, 0, NULL, 0); }
static long c_cachestat(void) { return S(NR_cachestat, -1, NULL, NULL, 0); }
static long c_fchmodat2(void) { return S(NR_fchmodat2, AT_FDCWD, "/nonexistent", 0, 0); }
static long c_mseal(void) { return S(NR_mseal, 0, 0, 0); }
static long c_lsm_list_modules(void) { return S(NR_lsm_list_modules, NULL, NULL, 0); }
static long c_nr1000(void) { return S(1000); }

/* Argument-dependent. */
static long sock(int domain, int type, int proto) { return fd(S(SYS_socket, domain, type, proto)); }
static long c_sock_unix(void) { return sock(AF_UNIX, SOCK_STREAM, 0); }
static long c_sock_inet(void) { return sock(AF_INET, SOCK_STREAM, 0); }
static long c_sock_inet6(void) { return sock(AF_INET6, SOCK_STREAM, 0); }
static long c_sock_nl_route(void) { return sock(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE_); }
static long c_sock_nl_audit(void) { return sock(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT_); }
static long c_sock_alg(void) { return sock(AF_ALG_, SOCK_SEQPACKET, 0); }
static long c_sock_vsock(void) { return sock(AF_VSOCK_, SOCK_STREAM, 0); }
static long c_sock_packet(void) { return sock(AF_PACKET, SOCK_RAW, 0x0300 /* htons(ETH_P_ALL) */); }
static long c_pers_0(void) { return S(SYS_personality, 0); }
static long c_pers_8(void) { return S(SYS_personality, 8); }
static long c_pers_20000(void) { return S(SYS_personality, 0x20000); }
static long c_pers_query(void) { return S(SYS_personality, 0xffffffffL); }
static long c_pers_norandom(void) { return S(SYS_personality, 0x0040000); }
static long c_clone(void) { return forklike(S(SYS_clone, SIGCHLD, 0, 0, 0, 0)); }
static long c_clone_newuser(void) { return forklike(S(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)); }
static long c_clone_newns(void) { return forklike(S(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0)); }
static long c_clone3_null(void) { return S(SYS_clone3, NULL, 0); }
static long c_clone3(void) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    return forklike(S(SYS_clone3, &args, 64 /* CLONE_ARGS_SIZE_VER0 */));
}
static long c_tiocsti(void) {
    char c = 0;
    return S(SYS_ioctl, 0, TIOCSTI, &c);
}
static long c_tiocsti_high(void) {
    char c = 0;
    return S(SYS_ioctl, 0, 0x100005412L, &c);
}
static long c_tioclinux(void) {
    char c = 0;
    return S(SYS_ioctl, 0, TIOCLINUX, &c);
}

/* Other ABIs: i386 through int 0x80 and x32 (numbers with bit 30). */
static long c_i386_getpid(void) { return int80(20, 0, 0, 0); }
static long c_i386_socketcall(void) { return int80(102, 1 /* SYS_SOCKET */, 1 /* bad pointer */, 0); }
static long c_i386_futex_waitv(void) { return int80(449, 0, 0, 0); }
static long c_i386_1000(void) { return int80(1000, 0, 0, 0); }
static long c_x32_getpid(void) { return S(X32 | 39); }
static long c_x32_1000(void) { return S(X32 | 1000); }

struct call {
    const char *name;
    long (*fn)(void);
    int exact; /* print the returned value */
};

static const struct call calls[] = {
    /* Allowed everywhere; the kernel answers. */
    {"getpid", c_getpid, 0},
    {"getppid", c_getppid, 0},
    {"gettid", c_gettid, 0},
    {"getuid", c_getuid, 1},
    {"getegid", c_getegid, 1},
    {"read(-1)", c_read, 1},
    {"write(0-bytes)", c_write, 1},
    {"openat(/)", c_openat, 0},
    {"close(-1)", c_close, 1},
    {"mmap", c_mmap, 0},
    {"munmap", c_munmap, 1},
    {"mprotect", c_mprotect, 1},
    {"brk", c_brk, 0},
    {"uname", c_uname, 1},
    {"getcwd", c_getcwd, 1},
    {"clock_gettime", c_clock_gettime, 1},
    {"nanosleep(0)", c_nanosleep, 1},
    {"futex(WAIT,mismatch)", c_futex, 1},
    {"futex(bad-op)", c_futex_badop, 1},
    {"epoll_create1", c_epoll_create1, 0},
    {"pipe2", c_pipe2, 1},
    {"dup", c_dup, 0},
    {"fcntl(F_GETFD)", c_fcntl, 1},
    {"rt_sigprocmask", c_sigprocmask, 1},
    {"getrandom", c_getrandom, 1},
    {"sched_yield", c_sched_yield, 1},
    {"prlimit64", c_prlimit64, 1},
    {"prctl(GET_NO_NEW_PRIVS)", c_get_nnp, 1},
    {"prctl(GET_SECCOMP)", c_get_seccomp, 1},
    {"kill(self,0)", c_kill0, 1},
    {"wait4(WNOHANG)", c_wait4, 1},
    {"newfstatat(/)", c_newfstatat, 1},
    {"faccessat2(/)", c_faccessat2, 1},
    {"close_range", c_close_range, 1},
    {"memfd_create", c_memfd_create, 0},
    {"pidfd_open", c_pidfd_open, 0},
    {"socketpair", c_socketpair, 1},
    {"arch_prctl(GET_FS)", c_arch_prctl, 1},
    {"modify_ldt(read)", c_modify_ldt, 1},
    {"setuid(0)", c_setuid, 1},
    {"setgroups(0)", c_setgroups, 1},
    {"landlock_create_ruleset(VERSION)", c_landlock, 1},
    {"process_vm_readv(0)", c_process_vm_readv, 1},
    {"process_mrelease(-1)", c_process_mrelease, 1},
    {"ptrace(TRACEME)", c_ptrace_traceme, 1},
    {"chroot(/)", c_chroot, 1},
    {"name_to_handle_at(-1)", c_name_to_handle_at, 1},
    {"ioctl(FIONREAD)", c_ioctl_fionread, 1},
    /* Refused by a profile, or needing a capability. */
    {"mount(tmpfs)", c_mount, 1},
    {"umount2", c_umount2, 1},
    {"swapon", c_swapon, 1},
    {"reboot(bad-magic)", c_reboot, 1},
    {"kexec_load", c_kexec_load, 1},
    {"init_module(NULL)", c_init_module, 1},
    {"finit_module(-1)", c_finit_module, 1},
    {"delete_module", c_delete_module, 1},
    {"acct", c_acct, 1},
    {"settimeofday(NULL)", c_settimeofday, 1},
    {"clock_settime(NULL)", c_clock_settime, 1},
    {"iopl(0)", c_iopl, 1},
    {"userfaultfd", c_userfaultfd, 0},
    {"bpf(bad-cmd)", c_bpf, 1},
    {"perf_event_open(NULL)", c_perf_event_open, 1},
    {"fanotify_init", c_fanotify_init, 0},
    {"lookup_dcookie", c_lookup_dcookie, 1},
    {"keyctl(bad-op)", c_keyctl, 1},
    {"add_key", c_add_key, 1},
    {"request_key", c_request_key, 1},
    {"unshare(0)", c_unshare0, 1},
    {"unshare(NEWUTS)", c_unshare_uts, 1},
    {"unshare(NEWUSER)", c_unshare_user, 1},
    {"setns(-1)", c_setns, 1},
    {"pivot_root", c_pivot_root, 1},
    {"open_by_handle_at(-1)", c_open_by_handle_at, 1},
    {"vmsplice(-1)", c_vmsplice, 1},
    {"io_uring_setup(0)", c_io_uring_setup, 1},
    {"io_pgetevents", c_io_pgetevents, 1},
    {"syslog(CONSOLE_LEVEL,0)", c_syslog, 1},
    {"get_mempolicy", c_get_mempolicy, 1},
    {"set_mempolicy(DEFAULT)", c_set_mempolicy, 1},
    {"set_mempolicy_home_node", c_set_mempolicy_home_node, 1},
    {"pidfd_getfd(-1)", c_pidfd_getfd, 1},
    {"kcmp", c_kcmp, 1},
    {"process_madvise(-1)", c_process_madvise, 1},
    {"fsopen", c_fsopen, 0},
    {"quotactl_fd(-1)", c_quotactl_fd, 1},
    {"_sysctl", c_sysctl, 1},
    {"futex_waitv(NULL)", c_futex_waitv, 1},
    {"cachestat(-1)", c_cachestat, 1},
    {"fchmodat2", c_fchmodat2, 1},
    {"mseal(0)", c_mseal, 1},
    {"lsm_list_modules", c_lsm_list_modules, 1},
    {"nr-1000", c_nr1000, 1},
    /* Argument-dependent. */
    {"socket(AF_UNIX)", c_sock_unix, 0},
    {"socket(AF_INET)", c_sock_inet, 0},
    {"socket(AF_INET6)", c_sock_inet6, 0},
    {"socket(AF_NETLINK,ROUTE)", c_sock_nl_route, 0},
    {"socket(AF_NETLINK,AUDIT)", c_sock_nl_audit, 0},
    {"socket(AF_ALG)", c_sock_alg, 0},
    {"socket(AF_VSOCK)", c_sock_vsock, 0},
    {"socket(AF_PACKET)", c_sock_packet, 0},
    {"personality(0)", c_pers_0, 1},
    {"personality(0x8)", c_pers_8, 1},
    {"personality(0x20000)", c_pers_20000, 1},
    {"personality(query)", c_pers_query, 1},
    {"personality(ADDR_NO_RANDOMIZE)", c_pers_norandom, 1},
    {"clone(SIGCHLD)", c_clone, 0},
    {"clone(NEWUSER)", c_clone_newuser, 0},
    {"clone(NEWNS)", c_clone_newns, 0},
    {"clone3(NULL)", c_clone3_null, 1},
    {"clone3(SIGCHLD)", c_clone3, 0},
    {"ioctl(TIOCSTI)", c_tiocsti, 1},
    {"ioctl(TIOCSTI,high-bits)", c_tiocsti_high, 1},
    {"ioctl(TIOCLINUX)", c_tioclinux, 1},
    /* Other ABIs. */
    {"i386:getpid", c_i386_getpid, 0},
    {"i386:socketcall(bad-ptr)", c_i386_socketcall, 1},
    {"i386:futex_waitv", c_i386_futex_waitv, 1},
    {"i386:nr-1000", c_i386_1000, 1},
    {"x32:getpid", c_x32_getpid, 1},
    {"x32:nr-1000", c_x32_1000, 1},
};

struct result {
    long ret;
    int err;
};

int main(void) {
    /* Some calls would change the machine if they ran on the host as root
     * (mount on /tmp/x, settimeofday): only a container's PID 1 runs them. */
    if (getpid() != 1) {
        fprintf(stderr, "syscalls: not PID 1: run me as a container's first process\n");
        return 2;
    }
    /* fd 0 is /dev/null whatever the caller gave: the ioctls above must
     * never reach a terminal. */
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0) {
        perror("syscalls: /dev/null");
        return 2;
    }
    close(null);
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const struct call *c = &calls[i];
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) {
            perror("syscalls: pipe2");
            return 2;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("syscalls: fork");
            return 2;
        }
        if (pid == 0) {
            struct rlimit none = {0, 0};
            setrlimit(RLIMIT_CORE, &none);
            alarm(5);
            close(p[0]);
            errno = 0;
            struct result r;
            r.ret = c->fn();
            r.err = r.ret == -1 ? errno : 0;
            if (write(p[1], &r, sizeof r) != sizeof r)
                _exit(3);
            _exit(0);
        }
        close(p[1]);
        struct result r;
        ssize_t got = read(p[0], &r, sizeof r);
        close(p[0]);
        int st;
        if (waitpid(pid, &st, 0) != pid) {
            perror("syscalls: waitpid");
            return 2;
        }
        if (WIFSIGNALED(st))
            printf("%s signal %d\n", c->name, WTERMSIG(st));
        else if (got != sizeof r || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            printf("%s broken %d\n", c->name, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        else if (r.err != 0) {
            const char *name = strerrorname_np(r.err);
            if (name)
                printf("%s errno %s\n", c->name, name);
            else
                printf("%s errno %d\n", c->name, r.err);
        } else if (c->exact)
            printf("%s ret %ld\n", c->name, r.ret);
        else
            printf("%s ret\n", c->name);
    }
    return 0;
}
