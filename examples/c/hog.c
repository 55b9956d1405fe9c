/* The articles' memory hog, for examples/05-cgroups.sh: allocate and touch
 * memory in 10 MB steps, printing the total after each, until killed (or
 * 2 GB, so that it ends even without a limit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const size_t step = 10 << 20;
    for (int mb = 10; mb <= 2048; mb += 10) {
        char *p = malloc(step);
        if (!p) {
            printf("malloc failed at %d MB\n", mb);
            return 1;
        }
        memset(p, 1, step); /* touched: charged to the cgroup */
        printf("allocated %d MB\n", mb);
        fflush(stdout);
    }
    return 0;
}
