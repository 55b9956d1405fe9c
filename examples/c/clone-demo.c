/* The articles' clone() demo, for examples/03-clone-demo.sh: one clone(2)
 * with new user, PID, mount, network, UTS and IPC namespaces; the parent
 * writes the child's id maps (its own uid and gid become 0 inside), then
 * the child makes / private, mounts a fresh proc, sets a hostname and
 * execs the rest of the argv.
 *
 * Usage: clone-demo PROGRAM [ARG...] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

static char stack[1 << 20];
static int go[2];

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int child(void *arg)
{
    char **argv = arg;
    char c;
    close(go[1]);
    /* Wait until the parent has written the maps: before, we are nobody. */
    if (read(go[0], &c, 1) != 0)
        die("clone-demo: wait for maps");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        die("clone-demo: mount / private");
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        die("clone-demo: mount proc");
    if (sethostname("demo", 4) != 0)
        die("clone-demo: sethostname");
    execvp(argv[0], argv);
    die("clone-demo: exec");
    return 1;
}

static void write_file(pid_t pid, const char *name, const char *text)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        die(path);
    close(fd);
}

int main(int argc, char **argv)
{
    char map[64];
    int status;
    if (argc < 2) {
        fprintf(stderr, "usage: clone-demo PROGRAM [ARG...]\n");
        return 2;
    }
    if (pipe(go) != 0)
        die("clone-demo: pipe");
    int flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
                CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
    pid_t pid = clone(child, stack + sizeof stack, flags, argv + 1);
    if (pid < 0)
        die("clone-demo: clone");
    close(go[0]);
    snprintf(map, sizeof map, "0 %d 1\n", getuid());
    write_file(pid, "uid_map", map);
    write_file(pid, "setgroups", "deny");
    snprintf(map, sizeof map, "0 %d 1\n", getgid());
    write_file(pid, "gid_map", map);
    close(go[1]);
    if (waitpid(pid, &status, 0) < 0)
        die("clone-demo: waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
