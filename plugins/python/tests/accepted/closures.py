from functools import lru_cache, reduce, wraps
import itertools


def counter(start=0):
    count = start

    def step(by=1):
        nonlocal count
        count += by
        return count

    return step


def logged(fn):
    @wraps(fn)
    def inner(*args, **kwargs):
        result = fn(*args, **kwargs)
        print(f"{fn.__name__}{args} -> {result}")
        return result

    return inner


@lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@logged
def add(a, b):
    return a + b


def primes():
    found = []
    for n in itertools.count(2):
        if all(n % p for p in found):
            found.append(n)
            yield n


c = counter(10)
c()
print(c(5), fib(80), add(2, 3))
print(list(itertools.islice(primes(), 10)))
print(reduce(lambda acc, x: acc * x, range(1, 11), 1))
squares = {x: x * x for x in range(5)}
print(sorted(squares.items(), key=lambda kv: -kv[1])[:2])
