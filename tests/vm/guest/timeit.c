/* timeit RUNS IDLE_MS PROGRAM [ARG...]: runs PROGRAM RUNS times (fork,
 * execvp, wait), sleeping IDLE_MS before each run (not timed), and prints
 * "median MIN-MAX" of the wall times in ms. Exit 1 if a run did not exit 0.
 * The VM's benchmark rows (tests/vm/guest/bench.sh): the guest has no
 * hyperfine, and a shell's own timing has no milliseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: timeit RUNS IDLE_MS PROGRAM [ARG...]\n");
    return 2;
  }
  int runs = atoi(argv[1]), idle = atoi(argv[2]);
  if (runs < 1) return 2;
  double *t = calloc(runs, sizeof *t);
  for (int i = 0; i < runs; i++) {
    if (idle > 0) usleep(idle * 1000);
    double start = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
      execvp(argv[3], argv + 3);
      _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return 1;
    t[i] = now_ms() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "timeit: run %d of %s: status 0x%x\n", i, argv[3], status);
      return 1;
    }
  }
  qsort(t, runs, sizeof *t, cmp);
  printf("%.3f %.3f-%.3f\n", t[runs / 2], t[0], t[runs - 1]);
  return 0;
}
