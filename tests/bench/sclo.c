/* sclo.c: compile a seccomp profile with libseccomp the way crun does, then
 * load it and exec, or export it. seccomp.sh's libseccomp peer.
 *
 *   sclo [-O LEVEL] [-A ARCHES] RULES -- PROGRAM [ARG]...   compile, load, exec
 *   sclo [-O LEVEL] [-A ARCHES] -x OUT RULES                compile, export BPF
 *
 * RULES is the OCI profile flattened by seccomp.sh into one line per item
 * (no JSON parser in the timed path; crun parses its config.json with
 * yajl, which this row does not pay):
 *   default ACTION ERRNO                    the defaultAction, defaultErrnoRet
 *   arch NAME...                            the architectures (x86_64 x86 x32)
 *   rule ACTION ERRNO NARGS [INDEX OP VALUE VALUE2]... NAME...
 * ACTION is an OCI name (SCMP_ACT_ALLOW ...), ERRNO -1 when absent, OP an OCI
 * name (SCMP_CMP_EQ ...), values decimal.
 *
 * The compile follows crun 1.8.1 (libcrun_generate_seccomp): seccomp_init
 * with the default action, seccomp_arch_add for each architecture (-A
 * replaces the list: "-A x86_64" is the native-only filter), then for each
 * rule whose action differs from the default and each name that
 * seccomp_syscall_resolve_name knows: seccomp_rule_add_array with all the
 * conditions, or, when an argument index repeats, one rule per condition.
 * -O sets SCMP_FLTATR_CTL_OPTIMIZE (crun sets none: libseccomp's default).
 * The load is crun's too: seccomp_export_bpf into a memfd, then
 * PR_SET_NO_NEW_PRIVS and seccomp(2) SECCOMP_SET_MODE_FILTER with
 * SECCOMP_FILTER_FLAG_SPEC_ALLOW.
 *
 * Build: gcc -O2 -static -o sclo sclo.c -lseccomp (seccomp.sh does this).
 * Exit status: 125 if a step fails, 127 if the exec does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

static void die(const char *what, int err)
{
    fprintf(stderr, "sclo: %s: %s\n", what, strerror(err));
    exit(125);
}

/* crun's get_seccomp_action: ERRNO and TRACE default to EPERM. */
static uint32_t action_of(const char *name, long err)
{
    uint32_t e = err < 0 ? EPERM : (uint32_t)err;
    if (!strcmp(name, "SCMP_ACT_ALLOW")) return SCMP_ACT_ALLOW;
    if (!strcmp(name, "SCMP_ACT_ERRNO")) return SCMP_ACT_ERRNO(e);
    if (!strcmp(name, "SCMP_ACT_KILL")) return SCMP_ACT_KILL;
    if (!strcmp(name, "SCMP_ACT_KILL_THREAD")) return SCMP_ACT_KILL_THREAD;
    if (!strcmp(name, "SCMP_ACT_KILL_PROCESS")) return SCMP_ACT_KILL_PROCESS;
    if (!strcmp(name, "SCMP_ACT_TRAP")) return SCMP_ACT_TRAP;
    if (!strcmp(name, "SCMP_ACT_TRACE")) return SCMP_ACT_TRACE(e);
    if (!strcmp(name, "SCMP_ACT_LOG")) return SCMP_ACT_LOG;
    fprintf(stderr, "sclo: unknown action %s\n", name);
    exit(125);
}

static enum scmp_compare op_of(const char *name)
{
    static const struct { const char *n; enum scmp_compare op; } ops[] = {
        { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
        { "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
        { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
        { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(ops[i].n, name))
            return ops[i].op;
    fprintf(stderr, "sclo: unknown operator %s\n", name);
    exit(125);
}

static char *next(char **save)
{
    char *t = strtok_r(NULL, " \t\n", save);
    if (!t) {
        fprintf(stderr, "sclo: truncated rules line\n");
        exit(125);
    }
    return t;
}

int main(int argc, char **argv)
{
    int opt, level = 0;
    const char *arches = NULL, *out = NULL;
    while ((opt = getopt(argc, argv, "+O:A:x:")) != -1) {
        switch (opt) {
        case 'O': level = atoi(optarg); break;
        case 'A': arches = optarg; break;
        case 'x': out = optarg; break;
        default: goto usage;
        }
    }
    if (optind >= argc)
        goto usage;
    const char *rules = argv[optind++];
    if (!out && (optind >= argc || strcmp(argv[optind], "--") != 0 || optind + 1 >= argc))
        goto usage;

    FILE *f = fopen(rules, "re");
    if (!f)
        die(rules, errno);
    char *line = NULL, *save;
    size_t cap = 0;
    scmp_filter_ctx ctx = NULL;
    uint32_t def = 0;
    int ret;
    while (getline(&line, &cap, f) > 0) {
        char *kind = strtok_r(line, " \t\n", &save);
        if (!kind)
            continue;
        if (!strcmp(kind, "default")) {
            char *a = next(&save);
            def = action_of(a, atol(next(&save)));
            ctx = seccomp_init(def);
            if (!ctx)
                die("seccomp_init", EINVAL);
            if (level && (ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, level)) < 0)
                die("seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE)", -ret);
            continue;
        }
        if (!ctx)
            die("rules: no default line first", EINVAL);
        if (!strcmp(kind, "arch")) {
            char *copy = arches ? strdup(arches) : NULL, *s2, *a;
            char *src = copy ? copy : save;  /* -A replaces the profile's list */
            for (a = strtok_r(src, " ,\t\n", &s2); a; a = strtok_r(NULL, " ,\t\n", &s2)) {
                uint32_t token = seccomp_arch_resolve_name(a);
                if (!token)
                    die(a, EINVAL);
                ret = seccomp_arch_add(ctx, token);
                if (ret < 0 && ret != -EEXIST)
                    die("seccomp_arch_add", -ret);
            }
            free(copy);
            continue;
        }
        if (strcmp(kind, "rule") != 0)
            die(kind, EINVAL);
        char *a = next(&save);
        uint32_t act = action_of(a, atol(next(&save)));
        int nargs = atoi(next(&save)), multiple = 0;
        struct scmp_arg_cmp cmp[6];
        unsigned seen[6] = { 0 };
        if (nargs < 0 || nargs > 6)
            die("rules: more than 6 conditions", EINVAL);
        for (int k = 0; k < nargs; k++) {
            unsigned idx = (unsigned)atoi(next(&save));
            if (idx >= 6)
                die("rules: argument index", EINVAL);
            if (seen[idx]++)
                multiple = 1;
            cmp[k].arg = idx;
            cmp[k].op = op_of(next(&save));
            cmp[k].datum_a = strtoull(next(&save), NULL, 10);
            cmp[k].datum_b = strtoull(next(&save), NULL, 10);
        }
        if (act == def)  /* crun: a rule that does what the default does */
            continue;
        for (char *name = strtok_r(NULL, " \t\n", &save); name;
             name = strtok_r(NULL, " \t\n", &save)) {
            int nr = seccomp_syscall_resolve_name(name);
            if (nr == __NR_SCMP_ERROR)  /* crun skips names it does not know */
                continue;
            if (!multiple) {
                ret = seccomp_rule_add_array(ctx, act, nr, nargs, cmp);
                if (ret < 0)
                    die(name, -ret);
            } else {
                for (int k = 0; k < nargs; k++)
                    if ((ret = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[k])) < 0)
                        die(name, -ret);
            }
        }
    }
    fclose(f);
    free(line);
    if (!ctx)
        die("rules: no default line", EINVAL);

    int fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                 : memfd_create("seccomp", MFD_CLOEXEC);
    if (fd < 0)
        die(out ? out : "memfd_create", errno);
    if ((ret = seccomp_export_bpf(ctx, fd)) < 0)
        die("seccomp_export_bpf", -ret);
    seccomp_release(ctx);
    if (out)
        return close(fd) < 0 ? 125 : 0;

    struct stat st;
    if (fstat(fd, &st) < 0)
        die("fstat", errno);
    struct sock_fprog prog = { .len = st.st_size / sizeof(struct sock_filter) };
    prog.filter = malloc(st.st_size);
    if (!prog.filter || pread(fd, prog.filter, st.st_size, 0) != st.st_size)
        die("read back the BPF", errno ? errno : EIO);
    close(fd);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("prctl(PR_SET_NO_NEW_PRIVS)", errno);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) < 0)
        die("seccomp(SECCOMP_SET_MODE_FILTER)", errno);
    execvp(argv[optind + 1], argv + optind + 1);
    fprintf(stderr, "sclo: exec %s: %s\n", argv[optind + 1], strerror(errno));
    return 127;
usage:
    fprintf(stderr, "usage: sclo [-O LEVEL] [-A ARCHES] RULES -- PROGRAM [ARG]...\n"
                    "       sclo [-O LEVEL] [-A ARCHES] -x OUT RULES\n");
    return 125;
}
