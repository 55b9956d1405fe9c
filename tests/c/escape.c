/* The classic chroot escape from the container articles: as root, chroot
 * into a subdirectory while keeping the cwd outside it, climb with "..",
 * and chroot to where the climb ends. Prints "escaped" when MARKER (an
 * absolute path) is visible afterwards, "contained" otherwise. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: escape WORKDIR MARKER\n");
        return 2;
    }
    struct stat st;
    if (chdir(argv[1]) != 0 || (mkdir(".out", 0755) != 0 && stat(".out", &st) != 0)) {
        perror("setup");
        return 2;
    }
    if (chroot(".out") != 0) { /* the cwd stays outside the new root */
        perror("chroot .out");
        return 2;
    }
    for (int i = 0; i < 64; i++)
        if (chdir("..") != 0) {
            perror("chdir ..");
            return 2;
        }
    if (chroot(".") != 0) {
        perror("chroot .");
        return 2;
    }
    puts(stat(argv[2], &st) == 0 ? "escaped" : "contained");
    return 0;
}
