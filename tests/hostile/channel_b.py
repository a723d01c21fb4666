# Job B of two concurrent jobs: tries every way to reach job A
# (channel_a.py), which runs at the same time as another sandbox user.
# Prints "REACHED <how>" for each success.
import ctypes, os, socket, time
libc = ctypes.CDLL(None, use_errno=True)
print("B started at", time.time(), flush=True)
me = os.getuid()
paths = ["/tmp", "/dev/shm", "/var/tmp", "/run/lock", "/run/user", "/run/shm", "/dev/mqueue"]
paths = [os.path.join(d, "codr-channel-a") for d in paths]
for i in range(64):
    u = f"codr-sbx-{i}"
    for root in ["/srv/codr/jobs", "/srv/codr/home", "/srv/codr/gates"]:
        for name in ["secret-a", "fifo-a", "sock-a", "gate"]:
            paths.append(os.path.join(root, u, name))


def attempt(how, action):
    """Prints "REACHED <how>" when `action` succeeds."""
    try:
        action()
        print("REACHED", how)
    except OSError:
        pass


def connect(address):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(address)


for p in paths:
    attempt(f"open {p}", lambda: os.close(os.open(p, os.O_RDONLY | os.O_NONBLOCK)))
    attempt(f"socket {p}", lambda: connect(p))
attempt("abstract socket", lambda: connect("\0codr-channel-a"))
KEY = 0xC0D12
if libc.shmget(KEY, 0, 0) >= 0:
    print("REACHED sysv shm")
if libc.msgget(KEY, 0) >= 0:
    print("REACHED sysv msg")
try:
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    if rt.mq_open(b"/codr-channel-a", os.O_RDONLY, 0, None) >= 0:
        print("REACHED posix mq")
except OSError:
    pass
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            if os.stat(f"/proc/{pid}").st_uid not in (me, 0):
                print("REACHED sees process", pid)
        except OSError:
            pass
print("B done")
