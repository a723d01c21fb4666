let seed = 42;
function random() {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
}

const rolls = Array.from({ length: 20 }, () => 1 + Math.floor(random() * 6));
console.log(rolls.filter((r) => r === 6).length, [...new Set(rolls)].sort());

const gcd = (a, b) => (b === 0n ? a : gcd(b, a % b));
const big = 2n ** 100n;
console.log(big.toString(), gcd(big, 3n ** 40n * 8n));
console.log((0.1 + 0.2).toFixed(20), Number.EPSILON > 0, Number.MAX_SAFE_INTEGER);
console.log(new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(1234.5));

function bisect(sorted, x) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
const grades = [60, 70, 80, 90];
console.log([55, 72, 95].map((s) => "FDCBA"[bisect(grades, s)]).join(""));
const f64 = new Float64Array([1.5, 2.5]);
console.log(f64.reduce((a, b) => a + b), Math.hypot(3, 4), Math.clz32(1), (255).toString(2));
