# Writes up to 3 GiB in 1 MiB files (each under the per-file limit) into the
# directory given (the job directory by default).
import os, sys
where = sys.argv[1] if len(sys.argv) > 1 else "."
chunk = b"x" * (1 << 20)
n = 0
try:
    while n < 3 * 1024:
        with open(os.path.join(where, f"fill{n}"), "wb") as f:
            f.write(chunk)
        n += 1
except OSError as e:
    print("stopped:", e.strerror, flush=True)
print("wrote MiB", n, flush=True)
