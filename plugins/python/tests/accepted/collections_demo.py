from collections import Counter, defaultdict, deque, namedtuple
import heapq

words = "the quick brown fox jumps over the lazy dog the end".split()
counts = Counter(words)
print(counts.most_common(2))

by_length = defaultdict(list)
for w in words:
    by_length[len(w)].append(w)
print(dict(sorted(by_length.items())))

queue = deque([1, 2, 3])
queue.appendleft(0)
queue.rotate(1)
print(list(queue))

Point = namedtuple("Point", "x y")
heap = [(p.x ** 2 + p.y ** 2, p) for p in (Point(3, 4), Point(1, 1), Point(0, 2))]
heapq.heapify(heap)
print([heapq.heappop(heap)[1] for _ in range(len(heap))])
