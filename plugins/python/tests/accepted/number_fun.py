import random
from decimal import Decimal, getcontext
from fractions import Fraction
import bisect

random.seed(42)
rolls = [random.randint(1, 6) for _ in range(20)]
print(rolls.count(6), sorted(set(rolls)))

getcontext().prec = 30
print(Decimal(1) / Decimal(7))
print(Fraction(3, 4) + Fraction(1, 6), (0.1 + 0.2).hex())

grades = [60, 70, 80, 90]
for score in (55, 72, 95):
    print(score, "FDCBA"[bisect.bisect(grades, score)])

n = int(input())
total = 0
for _ in range(n):
    a, b = map(int, input().split())
    total += a * b
print("dot:", total, divmod(total, 7), pow(2, total, 1000))
