function counter(start = 0) {
  let count = start;
  return {
    next: (by = 1) => (count += by),
    reset() {
      count = start;
    },
  };
}

function memoize(fn) {
  const cache = new Map();
  return function (n) {
    if (!cache.has(n)) cache.set(n, fn.call(this, n));
    return cache.get(n);
  };
}

const fib = memoize((n) => (n < 2 ? BigInt(n) : fib(n - 1) + fib(n - 2)));

function* primes() {
  const found = [];
  for (let n = 2; ; n++) {
    if (found.every((p) => n % p !== 0)) {
      found.push(n);
      yield n;
    }
  }
}

function take(iterable, n) {
  const out = [];
  for (const x of iterable) {
    if (out.length === n) break;
    out.push(x);
  }
  return out;
}

const compose = (...fns) => (x) => fns.reduceRight((acc, f) => f(acc), x);
const c = counter(10);
c.next();
console.log(c.next(5), fib(90).toString(), take(primes(), 10));
console.log(compose((x) => x + 1, (x) => x * 2)(5));
const bound = function () { return this.v; }.bind({ v: 42 });
console.log(bound(), [3, 1, 2].toSorted ? [3, 1, 2].toSorted() : [1, 2, 3]);
