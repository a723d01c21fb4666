import math
import statistics

line = input()
numbers = [float(x) for x in line.split()]
mean = statistics.mean(numbers)
median = statistics.median(numbers)
spread = math.sqrt(sum((x - mean) ** 2 for x in numbers) / len(numbers))
print(f"n={len(numbers)} mean={mean:.2f} median={median} sd={spread:.3f}")
print("max:", max(numbers), "min:", min(numbers), "sum:", math.fsum(numbers))
