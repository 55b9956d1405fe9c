/* floor.c: the kernel work of `unshare-rs -fpnumi -- pivot ROOTFS -- PROG`,
 * done by one process with nothing else around it. bench.sh times it as the
 * floor of its "whole container" section: what the container costs the
 * kernel, without our tools' own execs and checks.
 *
 *   floor ROOTFS PROG [ARG...]
 *
 * New mount, pid, net, uts and ipc namespaces; a child (pid 1 inside) that
 * mounts what pivot mounts by default: a fresh /proc, a read-only /sys, a
 * tmpfs /dev with the usual device nodes, links, devpts, shm and mqueue, the
 * OCI masked paths (/dev/null or an empty read-only tmpfs) and read-only
 * paths (bound onto themselves, remounted read-only); then it pivots into
 * ROOTFS and execs PROG (a path inside ROOTFS). The parent waits and exits with the child's status (128+N if it
 * was killed by signal N). Any failing step prints one line and exits 125.
 *
 * Build: gcc -O2 -static -o floor floor.c (bench.sh does this). Run as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run one step; on failure say which and give up. */
#define TRY(call)                                                          \
    do {                                                                   \
        if ((call) < 0) {                                                  \
            fprintf(stderr, "floor: %s: %s\n", #call, strerror(errno));    \
            exit(125);                                                     \
        }                                                                  \
    } while (0)

static const struct { const char *name; unsigned major, minor; } devices[] = {
    { "dev/null", 1, 3 },    { "dev/zero", 1, 5 },    { "dev/full", 1, 7 },
    { "dev/random", 1, 8 },  { "dev/urandom", 1, 9 }, { "dev/tty", 5, 0 },
};

/* pivot's defaults (its masks.rs and special.rs), relative to the new root. */
static const char *links[][2] = {
    { "/proc/self/fd", "dev/fd" },     { "/proc/self/fd/0", "dev/stdin" },
    { "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
    { "pts/ptmx", "dev/ptmx" },
};
static const char *masked[] = {
    "proc/acpi", "proc/asound", "proc/interrupts", "proc/kcore", "proc/keys",
    "proc/latency_stats", "proc/sched_debug", "proc/scsi", "proc/timer_list",
    "proc/timer_stats", "sys/devices/virtual/powercap", "sys/firmware",
};
static const char *read_only[] = {
    "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};
#define COUNT(a) (sizeof a / sizeof a[0])

/* In the new namespaces, as pid 1: build the root and exec PROG. */
static void child(const char *rootfs, char **argv)
{
    const unsigned long nodev = MS_NOSUID | MS_NODEV | MS_NOEXEC;

    umask(0);
    /* Stop our mounts from propagating back to the host. */
    TRY(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL));
    /* pivot_root needs the new root to be a mount point. */
    TRY(mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL));
    TRY(chdir(rootfs)); /* the top of the bind mount: the paths below are relative */
    TRY(mount("proc", "proc", "proc", nodev, NULL));
    TRY(mount("sysfs", "sys", "sysfs", nodev | MS_RDONLY, NULL));
    TRY(mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"));
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++)
        TRY(mknod(devices[i].name, S_IFCHR | 0666, makedev(devices[i].major, devices[i].minor)));
    TRY(mkdir("dev/pts", 0755));
    TRY(mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"));
    for (size_t i = 0; i < COUNT(links); i++)
        TRY(symlink(links[i][0], links[i][1]));
    TRY(mkdir("dev/shm", 0755));
    TRY(mount("shm", "dev/shm", "tmpfs", nodev, "mode=1777,size=65536k"));
    TRY(mkdir("dev/mqueue", 0755));
    TRY(mount("mqueue", "dev/mqueue", "mqueue", nodev, NULL));
    /* Masks: files get /dev/null, directories an empty read-only tmpfs;
     * paths this kernel lacks are skipped, as pivot does. */
    for (size_t i = 0; i < COUNT(masked); i++) {
        struct stat st;
        if (stat(masked[i], &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            TRY(mount("tmpfs", masked[i], "tmpfs", nodev | MS_RDONLY, "size=0,nr_inodes=1"));
        else
            TRY(mount("/dev/null", masked[i], NULL, MS_BIND, NULL));
    }
    for (size_t i = 0; i < COUNT(read_only); i++) {
        if (access(read_only[i], F_OK) != 0)
            continue;
        TRY(mount(read_only[i], read_only[i], NULL, MS_BIND | MS_REC, NULL));
        TRY(mount(NULL, read_only[i], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | nodev, NULL));
    }
    /* Stack the old root under the new one, then detach it. */
    TRY(syscall(SYS_pivot_root, ".", "."));
    TRY(umount2(".", MNT_DETACH));
    TRY(chdir("/"));
    execv(argv[0], argv);
    fprintf(stderr, "floor: execv %s: %s\n", argv[0], strerror(errno));
    exit(errno == ENOENT ? 127 : 126);
}

int main(int argc, char **argv)
{
    int status;
    pid_t pid;

    if (argc < 3) {
        fprintf(stderr, "usage: floor ROOTFS PROG [ARG...]\n");
        return 125;
    }
    /* Our own mount, net, uts and ipc namespaces change now; the pid
     * namespace is the one our next child is born into. */
    TRY(unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC));
    TRY(pid = fork());
    if (pid == 0)
        child(argv[1], argv + 2);
    TRY(waitpid(pid, &status, 0));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
