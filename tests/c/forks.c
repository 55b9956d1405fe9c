/* Tries to start N sleeping children; prints how many fork(2) calls
 * succeeded, then ends them. Under a pids limit the rest fail (EAGAIN). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 50, started = 0;
    pid_t pids[10000];
    for (int i = 0; i < n && i < 10000; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            pause();
            _exit(0);
        }
        if (pid > 0)
            pids[started++] = pid;
    }
    printf("forked %d of %d\n", started, n);
    for (int i = 0; i < started; i++)
        kill(pids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
    return 0;
}
