# Job A of two concurrent jobs: opens every channel it can to other jobs
# (its home and files opened to everyone, a FIFO, unix sockets by path and
# abstract, System V and POSIX IPC, files in every shared-looking directory)
# and waits for job B (channel_b.py) to reach any of them.
import ctypes, os, socket, time
libc = ctypes.CDLL(None, use_errno=True)
home = os.environ["HOME"]
os.chdir(home)
os.chmod(home, 0o777)
with open("secret-a", "w") as f:
    f.write("hello from A")
os.chmod("secret-a", 0o666)
os.mkfifo("fifo-a", 0o666)
listeners = []
for addr in ["sock-a", "\0codr-channel-a"]:
    s = socket.socket(socket.AF_UNIX)
    s.bind(addr)
    s.listen()
    s.setblocking(False)
    listeners.append(s)
os.chmod("sock-a", 0o777)
for d in ["/tmp", "/dev/shm", "/var/tmp", "/run/lock", "/run/user", "/run/shm", "/dev/mqueue"]:
    try:
        p = os.path.join(d, "codr-channel-a")
        with open(p, "w") as f:
            f.write("hello from A")
        os.chmod(p, 0o666)
        print("A wrote", p)
    except OSError:
        pass
KEY = 0xC0D12
print("A shm", libc.shmget(KEY, 4096, 0o1666), "msg", libc.msgget(KEY, 0o1666))
try:
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    print("A mq", rt.mq_open(b"/codr-channel-a", os.O_CREAT | os.O_RDWR, 0o666, None))
except OSError:
    pass
print("A ready at", time.time(), "as", os.getuid(), "in", home, flush=True)
end = time.time() + 6
while time.time() < end:
    for s in listeners:
        try:
            s.accept()
            print("A ACCEPTED a connection")
        except BlockingIOError:
            pass
    time.sleep(0.05)
print("A done")
