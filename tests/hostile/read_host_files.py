import os, sys
targets = sys.argv[1:] + ["/root", "/root/.cargo/config.toml", "/etc/shadow", "/proc/1/environ", "/work", "/home", "/srv/codr/jobs", "/etc/hostname", "/proc/1/cmdline"]
for t in targets:
    try:
        if os.path.isdir(t):
            print("LISTED", t, os.listdir(t)[:3])
        else:
            with open(t, "rb") as f:
                data = f.read(64)
            print("READ", t, data[:20])
    except OSError as e:
        print("denied", t, e.__class__.__name__)
