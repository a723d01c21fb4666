import json

raw = input()
records = json.loads(raw)
total = sum(r["qty"] * r["price"] for r in records)
report = {
    "items": len(records),
    "total": round(total, 2),
    "names": sorted(r["name"] for r in records),
}
print(json.dumps(report, indent=2, sort_keys=True))
