const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const records = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const total = records.reduce((acc, r) => acc + r.qty * r.price, 0);
  const report = {
    items: records.length,
    total: Math.round(total * 100) / 100,
    names: records.map((r) => r.name).sort(),
    generated: new Date(0).toISOString(),
  };
  console.log(JSON.stringify(report, null, 2));
  const parsed = JSON.parse(JSON.stringify(report), (k, v) => (k === "total" ? v * 2 : v));
  console.log(parsed.total);
});
