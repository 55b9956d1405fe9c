/* Opens a pseudo-terminal pair the way a terminal emulator or sshd does,
 * writes through it, and prints "pty ok <slave name>". */
#define _XOPEN_SOURCE 600
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        perror("posix_openpt/grantpt/unlockpt");
        return 1;
    }
    const char *name = ptsname(master);
    int slave = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    if (slave < 0) {
        perror("open slave");
        return 1;
    }
    char buf[8];
    if (write(master, "hi\n", 3) != 3 || read(slave, buf, sizeof buf) < 2) {
        perror("write/read through the pty");
        return 1;
    }
    printf("pty ok %s\n", name);
    return 0;
}
