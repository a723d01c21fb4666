# 32 processes spinning: with a CPU share per process, this job would get
# 32 times the CPU of a job with one process.
import os
for _ in range(31):
    if os.fork() == 0:
        break
while True:
    pass
