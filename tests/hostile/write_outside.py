import os
ok = []
for d in ["/", "/etc", "/usr", "/var/tmp", "/run/lock", "/dev/shm", "/srv", "/srv/codr", "/srv/codr/jobs", "/opt", "/var/lib", "/run"]:
    try:
        with open(os.path.join(d, "codr-escape"), "w") as f:
            f.write("x")
        print("WROTE", d)
    except OSError as e:
        print("denied", d, e.__class__.__name__)
with open(os.path.expanduser("~/inside.txt"), "w") as f:
    f.write("ok")
with open("/tmp/inside.txt", "w") as f:
    f.write("ok")
print("inside ok")
