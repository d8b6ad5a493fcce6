"""Print Markdown tables comparing chunkwise and Dask, one table per case.

    python report.py [CHUNKWISE_JSONL] [DASK_JSONL]

Defaults: target/compare/chunkwise_passes.jsonl and target/compare/dask_passes.jsonl
(relative to the repository root).  Rows are JSON lines as printed by
dask_passes.py / passes_compare, keyed by (case, param, expr); when a key occurs
twice the later row wins (a Dask "probe" row never replaces a real one).
Lines from peak_rss.py ({"peak_rss_mb", "rows"}) set the peak RSS of the
`rows` rows before them: that outside measurement is preferred to the one a row
carries itself, so both sides are measured the same way when it is present.
Ratio = Dask seconds / chunkwise seconds (> 1: chunkwise is faster).
"""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load(path):
    rows, table = [], {}
    if not os.path.exists(path):
        return table
    with open(path) as f:
        for line in f:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            if "case" not in obj and "peak_rss_mb" in obj:  # a peak_rss.py line
                for r in rows[len(rows) - obj.get("rows", 0):]:
                    r["peak_rss_mb"] = obj["peak_rss_mb"]
            elif "case" in obj:
                rows.append(obj)
    for r in rows:
        key = (r["case"], float(r.get("param", 0)), r.get("expr", ""))
        if r.get("probe") and key in table and not table[key].get("probe"):
            continue
        table[key] = r
    return table


def fmt_seconds(r):
    if r is None:
        return "-"
    if "error" in r:
        return "error: " + str(r["error"]).splitlines()[0][:40]
    s = f"{r['seconds']:.4g}"
    return "~" + s + " (extrapolated)" if r.get("extrapolated") else s


def fmt(r, field, spec):
    return format(r[field], spec) if r is not None and field in r else "-"


def main():
    rust_path = sys.argv[1] if len(sys.argv) > 1 else f"{ROOT}/target/compare/chunkwise_passes.jsonl"
    dask_path = sys.argv[2] if len(sys.argv) > 2 else f"{ROOT}/target/compare/dask_passes.jsonl"
    rust, dask = load(rust_path), load(dask_path)
    for case in sorted({k[0] for k in list(rust) + list(dask)}):
        keys = sorted(k for k in set(rust) | set(dask) if k[0] == case)
        with_expr = any(k[2] for k in keys)
        print(f"### {case}\n")
        head = ["param"] + (["expr"] if with_expr else []) + [
            "chunkwise s", "Dask s", "Dask/chunkwise", "tasks (chunkwise / Dask)",
            "peak RSS MB (chunkwise / Dask)"]
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] * (1 + with_expr) + ["---:"] * 5) + "|")
        for key in keys:
            r, d = rust.get(key), dask.get(key)
            ratio = "-"
            if r and d and "seconds" in r and "seconds" in d and r["seconds"] > 0:
                ratio = f"{d['seconds'] / r['seconds']:.3g}x"
            param = f"{int(key[1]):,}" if key[1].is_integer() else f"{key[1]:g}"
            cells = [param] + ([key[2]] if with_expr else []) + [
                fmt_seconds(r), fmt_seconds(d), ratio,
                f"{fmt(r, 'tasks', ',')} / {fmt(d, 'tasks', ',')}",
                f"{fmt(r, 'peak_rss_mb', '.0f')} / {fmt(d, 'peak_rss_mb', '.0f')}"]
            print("| " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
