import math
import json
from collections import defaultdict, Counter
from itertools import accumulate


class Inventory_N:
    """Keeps items and their counts; 'os' and eval in a string are fine."""

    def __init__(self, name, capacity=10):
        self.name = name
        self.capacity = capacity
        self.items = defaultdict(int)

    def add(self, item, count=1):
        if count <= 0:
            raise ValueError(f"bad count {count} for {item!r}")
        self.items[item] += count
        return self.items[item]

    def total(self):
        return sum(v for v in self.items.values())


def stats_N(values):
    # mean and spread of the values
    n = len(values)
    mean = sum(values) / n if n else 0.0
    var = sum((x - mean) ** 2 for x in values) / max(n - 1, 1)
    return {"mean": mean, "std": math.sqrt(var), "sums": list(accumulate(values))}


def solve_N(lines):
    inv = Inventory_N("store")
    words = Counter()
    for i, line in enumerate(lines):
        parts = line.strip().split()
        if not parts:
            continue
        while len(parts) > 3:
            parts.pop()
        for p in parts:
            words[p.lower()] += 1
            inv.add(p, i % 3 + 1)
    best = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return json.dumps({"best": best, "total": inv.total()})

