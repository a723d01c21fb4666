const words = "the quick brown fox jumps over the lazy dog the end".split(" ");

const counts = new Map();
for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
console.log(top.slice(0, 3));

const byLength = Object.groupBy
  ? Object.groupBy(words, (w) => w.length)
  : words.reduce((acc, w) => ((acc[w.length] ??= []).push(w), acc), {});
console.log(JSON.stringify(byLength));

const unique = new Set(words);
console.log(unique.size, [...unique].filter((w) => w.includes("o")));

const weak = new WeakMap();
const key = {};
weak.set(key, "metadata");
console.log(weak.get(key), weak.has({}));

const matrix = Array.from({ length: 3 }, (_, r) => Array.from({ length: 3 }, (_, c) => r * 3 + c));
const transposed = matrix[0].map((_, c) => matrix.map((row) => row[c]));
console.log(transposed.flat().join(","));
const { a = 1, ...rest } = { b: 2, c: 3 };
console.log(a, rest, [1, [2, [3, [4]]]].flat(Infinity));
