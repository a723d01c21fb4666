# Tries the kernel surface a sandboxed program must not reach: new
# namespaces (a user namespace gives network-admin rights inside it),
# setns, io_uring. Prints one line per attempt: "refused <what>" or "ALLOWED <what>".
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID = 0x10000000, 0x40000000, 0x00020000, 0x20000000
def attempt(what, rc):
    print(("ALLOWED " if rc >= 0 else "refused ") + what, os.strerror(ctypes.get_errno()) if rc < 0 else "")
attempt("unshare-user", libc.unshare(CLONE_NEWUSER))
attempt("unshare-user-net", libc.unshare(CLONE_NEWUSER | CLONE_NEWNET))
attempt("unshare-net", libc.unshare(CLONE_NEWNET))
attempt("unshare-mount", libc.unshare(CLONE_NEWNS))
attempt("unshare-pid", libc.unshare(CLONE_NEWPID))
params = ctypes.create_string_buffer(120)
attempt("io_uring_setup", libc.syscall(425, 8, params))
fd = os.open("/proc/self/ns/net", os.O_RDONLY)
attempt("setns", libc.setns(fd, 0))
print("done")
