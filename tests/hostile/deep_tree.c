/* A directory tree 100,000 levels deep in the job directory, written with
 * hand-declared prototypes (no <fcntl.h>), as an attacker passing the C
 * rules would. */
#include <stdio.h>
int mkdirat(int dirfd, const char *path, unsigned int mode);
int openat(int dirfd, const char *path, int flags, ...);
int close(int fd);
int main(void) {
    int fd = -100; /* AT_FDCWD */
    int n = 0;
    for (; n < 100000; n++) {
        if (mkdirat(fd, "d", 0700) != 0) break;
        int next = openat(fd, "d", 0200000 /* O_DIRECTORY */);
        if (next < 0) break;
        if (fd != -100) close(fd);
        fd = next;
    }
    printf("depth %d\n", n);
    return 0;
}
