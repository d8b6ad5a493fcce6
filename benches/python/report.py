"""Markdown tables from benches/python/run.sh's results.jsonl."""

import json
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by_case = defaultdict(dict)
for r in rows:
    by_case[r["case"]][r["impl"]] = r

print("| workload | Rust | Python | Python / Rust |")
print("|---|---|---|---|")
for case, label in [("sum_exp", "sum(exp(x) - 1/x)"), ("distance", "euclidean distance"),
                    ("chain_bandwidth", "10-op chain")]:
    rust = by_case[case].get("chunkwise (Rust)")
    py = by_case[case].get("chunkwise (Python)")
    if not rust or not py:
        print(f"| {label} | {'-' if not rust else rust['seconds']} | "
              f"{'-' if not py else py['seconds']} | not measured |")
        continue
    print(f"| {label} ({rust['param']}) | {rust['seconds']:.3f} s | {py['seconds']:.3f} s | "
          f"{py['seconds'] / rust['seconds']:.3f} |")

print()
print("| per call: build + compute of a 1-chunk array | median |")
print("|---|---|")
for impl, r in by_case["overhead"].items():
    cell = r.get("skipped") or f"{r['seconds'] * 1e6:.1f} µs"
    print(f"| {impl} | {cell} |")
