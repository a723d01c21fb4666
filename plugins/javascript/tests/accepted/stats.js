let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const numbers = input.split(/\s+/).filter(Boolean).map(Number);
  const sum = numbers.reduce((a, b) => a + b, 0);
  const mean = sum / numbers.length;
  const sorted = [...numbers].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const sd = Math.sqrt(numbers.reduce((acc, x) => acc + (x - mean) ** 2, 0) / numbers.length);
  console.log(`n=${numbers.length} mean=${mean.toFixed(2)} median=${median} sd=${sd.toFixed(3)}`);
  console.log("max", Math.max(...numbers), "min", Math.min(...numbers));
});
