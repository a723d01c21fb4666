# Creates up to a million empty files in the directory given.
import os, sys
where = sys.argv[1] if len(sys.argv) > 1 else "."
n = 0
try:
    while n < 1_000_000:
        os.close(os.open(os.path.join(where, f"f{n}"), os.O_CREAT | os.O_WRONLY, 0o600))
        n += 1
except OSError as e:
    print("stopped:", e.strerror, flush=True)
print("files", n, flush=True)
