/* sysloop.c: the loader and the syscall loop of seccomp.sh.
 *
 *   sysloop [-f BPF] CASE N        time N calls of CASE, print ns per call
 *   sysloop [-m NSFILE] [-o FD=FILE]... [-f BPF] -- PROGRAM [ARG]...
 *                                  do those steps, then exec PROGRAM
 *
 * -f BPF     load the raw classic BPF in the file BPF (struct sock_filter
 *            records, as `seccompctl --dump-raw` and seccomp_export_bpf
 *            write them): PR_SET_NO_NEW_PRIVS, then seccomp(2)
 *            SECCOMP_SET_MODE_FILTER with SECCOMP_FILTER_FLAG_SPEC_ALLOW
 *            (what crun does). The same loader for every condition, so
 *            that only the program differs.
 * -m NSFILE  setns(2) into that namespace file first (seccomp.sh uses it to
 *            go back to its own mount namespace, like bench.sh's cgstep)
 * -o FD=FILE open FILE read-only as descriptor FD, without O_CLOEXEC, for
 *            PROGRAM (bwrap --seccomp FD reads the filter from it)
 *
 * CASE (the arguments are fixed, so every run makes the same call):
 *   getppid            getppid()                   allowed, no argument rule
 *   personality        personality(0xffffffff)     an argument rule (query)
 *   socket             socket(AF_UNIX, 0x7fff, 0)  an argument rule; EINVAL
 *   futex_waitv        futex_waitv(NULL, 0, 0, NULL, 0)  (449) unlisted
 *   process_mrelease   process_mrelease(-1, 0)     (448) allowed; EBADF
 *
 * The loop runs N/20 warm-up calls, then N calls between two
 * clock_gettime(CLOCK_MONOTONIC) readings; it prints one line:
 *   NS_PER_CALL RESULT
 * where RESULT is the last call's return value, or -ERRNO, so that the
 * caller sees what the filter decided (-38 is the profile's ENOSYS).
 * Raw syscall(2), so that no libc caching or wrapper logic is measured.
 *
 * Build: gcc -O2 -static -o sysloop sysloop.c (seccomp.sh does this).
 * Exit status: 125 if a step fails, 127 if the exec does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#define NR_PROCESS_MRELEASE 448
#define NR_FUTEX_WAITV 449

static int fail(const char *what)
{
    fprintf(stderr, "sysloop: %s: %s\n", what, strerror(errno));
    return 125;
}

/* Reads the whole file into a sock_fprog; returns 0 or -1 (errno set). */
static int read_bpf(const char *path, struct sock_fprog *prog)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return -1;
    if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0
        || st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
        errno = EINVAL;
        return -1;
    }
    struct sock_filter *insns = malloc(st.st_size);
    ssize_t got = 0, n;
    if (!insns)
        return -1;
    while (got < st.st_size && (n = read(fd, (char *)insns + got, st.st_size - got)) > 0)
        got += n;
    close(fd);
    if (got != st.st_size) {
        errno = EIO;
        return -1;
    }
    prog->len = st.st_size / sizeof(struct sock_filter);
    prog->filter = insns;
    return 0;
}

static int load_bpf(const char *path)
{
    struct sock_fprog prog;
    if (read_bpf(path, &prog) < 0)
        return fail(path);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail("prctl(PR_SET_NO_NEW_PRIVS)");
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) < 0)
        return fail("seccomp(SECCOMP_SET_MODE_FILTER)");
    free(prog.filter);
    return 0;
}

static long one_call(int c)
{
    switch (c) {
    case 0: return syscall(SYS_getppid);
    case 1: return syscall(SYS_personality, 0xffffffffUL);
    case 2: return syscall(SYS_socket, 1 /* AF_UNIX */, 0x7fff, 0);
    case 3: return syscall(NR_FUTEX_WAITV, NULL, 0, 0, NULL, 0);
    default: return syscall(NR_PROCESS_MRELEASE, -1, 0);
    }
}

int main(int argc, char **argv)
{
    const char *bpf = NULL;
    int i = 1, rc;
    while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0) {
        if (i + 1 >= argc)
            goto usage;
        if (!strcmp(argv[i], "-f")) {
            bpf = argv[i + 1];
        } else if (!strcmp(argv[i], "-m")) {
            int fd = open(argv[i + 1], O_RDONLY | O_CLOEXEC);
            if (fd < 0 || setns(fd, 0) < 0)
                return fail(argv[i + 1]);
            close(fd);
        } else if (!strcmp(argv[i], "-o")) {
            char *eq = strchr(argv[i + 1], '=');
            if (!eq)
                goto usage;
            int want = atoi(argv[i + 1]);
            int fd = open(eq + 1, O_RDONLY);
            if (fd < 0)
                return fail(eq + 1);
            if (fd != want) {
                if (dup2(fd, want) < 0)
                    return fail("dup2");
                close(fd);
            }
        } else {
            goto usage;
        }
        i += 2;
    }
    if (i < argc && !strcmp(argv[i], "--")) {
        if (i + 1 >= argc)
            goto usage;
        if (bpf && (rc = load_bpf(bpf)) != 0)
            return rc;
        execvp(argv[i + 1], argv + i + 1);
        fprintf(stderr, "sysloop: exec %s: %s\n", argv[i + 1], strerror(errno));
        return 127;
    }
    if (argc - i != 2)
        goto usage;
    static const char *cases[] = { "getppid", "personality", "socket", "futex_waitv",
                                   "process_mrelease" };
    int c;
    for (c = 0; c < 5 && strcmp(cases[c], argv[i]) != 0; c++)
        ;
    long n = atol(argv[i + 1]);
    if (c == 5 || n <= 0)
        goto usage;
    if (bpf && (rc = load_bpf(bpf)) != 0)
        return rc;
    long r = 0;
    for (long k = 0; k < n / 20; k++)
        one_call(c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < n; k++)
        r = one_call(c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (r < 0)
        r = -errno;
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("%.2f %ld\n", ns / n, r);
    return 0;
usage:
    fprintf(stderr, "usage: sysloop [-f BPF] CASE N\n"
                    "       sysloop [-m NSFILE] [-o FD=FILE]... [-f BPF] -- PROGRAM [ARG]...\n");
    return 125;
}
