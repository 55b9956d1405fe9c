/* The memory hog from the cgroup articles: allocate and touch 10 MB at a
 * time, saying how much so far, until the kernel stops it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    for (int mb = 10; mb <= 10000; mb += 10) {
        char *chunk = malloc(10 << 20);
        if (!chunk) {
            printf("malloc failed at %d MB\n", mb);
            return 1;
        }
        memset(chunk, 1, 10 << 20); /* touch it: only used pages count */
        printf("allocated %d MB\n", mb);
        fflush(stdout);
    }
    return 0;
}
