from itertools import permutations, combinations


def knapsack(items, capacity):
    best = [0] * (capacity + 1)
    for weight, value in items:
        for c in range(capacity, weight - 1, -1):
            best[c] = max(best[c], best[c - weight] + value)
    return best[capacity]


def grid_paths(rows, cols, blocked):
    ways = [[0] * cols for _ in range(rows)]
    ways[0][0] = 1
    for r in range(rows):
        for c in range(cols):
            if (r, c) in blocked:
                ways[r][c] = 0
                continue
            if r:
                ways[r][c] += ways[r - 1][c]
            if c:
                ways[r][c] += ways[r][c - 1]
    return ways[-1][-1]


n = int(input())
print(knapsack([(2, 3), (3, 4), (4, 5), (5, 6)], n))
print(grid_paths(4, 5, {(1, 1), (2, 3)}))
print(len(list(permutations(range(4)))), list(combinations("abc", 2)))
