# An ordinary job: about half a second of CPU work, then done.
n = 0
for i in range(6_000_000):
    n += i
print("done", n)
