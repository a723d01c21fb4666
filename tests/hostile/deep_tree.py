# Builds a directory tree as deep as it can (up to 100,000 levels) in the
# job directory: removing such a tree recursively overflows a thread's stack.
import os, sys
where = sys.argv[1] if len(sys.argv) > 1 else "."
fd = os.open(where, os.O_RDONLY)
n = 0
try:
    while n < 100_000:
        os.mkdir("d", dir_fd=fd)
        nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
        n += 1
except OSError as e:
    print("stopped:", e.strerror)
print("depth", n)
