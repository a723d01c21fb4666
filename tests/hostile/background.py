import os, subprocess
subprocess.Popen(["/bin/sh", "-c", "trap '' HUP TERM; while :; do sleep 1; done"], start_new_session=True)
pid = os.fork()
if pid == 0:
    os.setsid()
    while True:
        pass
print("parent exits", flush=True)
