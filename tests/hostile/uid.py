import os
print("uid", os.getuid(), "euid", os.geteuid(), "gid", os.getgid(), "groups", os.getgroups())
