"""Print Markdown tables comparing chunkwise with Dask/sgkit/SciPy/NumPy on the
flagship cases (distance, svd_compressed, tsqr_svd, the elementwise sum_exp, chain and
rechunk), plus the GEMM throughputs.

    python report_flagship.py [CHUNKWISE_JSONL] [DASK_JSONL]

Defaults: target/compare/chunkwise_flagship.jsonl and target/compare/dask_flagship.jsonl
(relative to the repository root).  Rows are the JSON lines of flagship_compare
and dask_flagship.py, keyed by (case, metric, param, impl); a chunkwise row
without "impl" is "chunkwise"; " (sum)" is added to the impl of a row whose big
output was reduced in the graph ("output": "sum", as flagship_compare always
does), " xT" to one with "threads": T and " (I)" to one with "iterator": I
(svd_compressed), " (scalar libm)" to a chunkwise row whose unary functions ran
without libmvec ("math", CHUNKWISE_NO_MVEC=1); when a key occurs twice the later row wins.
Lines from peak_rss.py ({"peak_rss_mb", "rows"}) set the peak RSS of the `rows`
rows before them (preferred to a row's own figure, as in report.py).
"vs chunkwise" = that row's seconds / chunkwise seconds for the same case,
metric and n (> 1: chunkwise is faster).  Rows with "gflops" are also listed in
the GEMM table (NumPy's x @ x.T runs SYRK: its "gflops" count 2 n^2 d flops;
gemm_gflops is x @ y.T, a true GEMM).
"""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load(path, default_impl):
    rows = []
    if os.path.exists(path):
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
                    obj["impl"] = (obj.get("impl") or default_impl) + (
                        " (sum)" if obj.get("output") == "sum" else "") + (
                        f" x{obj['threads']}" if "threads" in obj else "") + (
                        f" ({obj['iterator']})" if "iterator" in obj else "") + (
                        " (scalar libm)" if obj.get("math") == "scalar libm" else "")
                    rows.append(obj)
    return {(r["case"], r.get("metric") or "", float(r.get("param", 0)), r["impl"]): r
            for r in rows}


def num(r, field, spec):
    return format(r[field], spec) if field in r else "-"


def main():
    rust_path = sys.argv[1] if len(sys.argv) > 1 else f"{ROOT}/target/compare/chunkwise_flagship.jsonl"
    dask_path = sys.argv[2] if len(sys.argv) > 2 else f"{ROOT}/target/compare/dask_flagship.jsonl"
    table = {**load(dask_path, "dask"), **load(rust_path, "chunkwise")}
    for case in sorted({k[0] for k in table}):
        print(f"### {case}\n")
        print("| metric | n | impl | seconds | vs chunkwise | peak RSS MB | notes |")
        print("|---|---:|---|---:|---:|---:|---|")
        for key in sorted(k for k in table if k[0] == case):
            r = table[key]
            base = table.get(key[:3] + ("chunkwise",)) or table.get(key[:3] + ("chunkwise (sum)",))
            ratio = "-"
            if base and "seconds" in base and "seconds" in r and base["seconds"] > 0:
                ratio = f"{r['seconds'] / base['seconds']:.3g}x"
            notes = []
            if "error" in r:
                notes.append("error: " + str(r["error"]).splitlines()[0][:60])
            if "s" in r:
                notes.append("s[:3] = " + ", ".join(f"{v:.5g}" for v in r["s"][:3]))
            if "s_max" in r:
                notes.append(f"s max, min = {r['s_max']:.5g}, {r.get('s_min', 0):.5g}")
            if "gsteps" in r:
                notes.append(f"{r['gsteps']:.1f} G entry pairs/s")
            for f in ("add_f64", "max_f64", "add_f32", "max_f32"):
                if f + "_gsteps" in r:
                    notes.append(f"{f}: {r[f + '_gsteps']:.1f} G steps/s")
            if "gflops" in r:
                notes.append(f"{r['gflops']:.1f} GFLOP/s")
            if "math" in r:
                notes.append(f"math: {r['math']}")
            if "checksum" in r and key[0] in ("sum_exp", "chain"):
                notes.append(f"checksum {r['checksum']:.12g}")
            if r.get("quick"):
                notes.append("quick")
            param = f"{int(key[2]):,}" if key[2].is_integer() else f"{key[2]:g}"
            print(f"| {key[1] or '-'} | {param} | {key[3]} | {num(r, 'seconds', '.3f')} | "
                  f"{ratio} | {num(r, 'peak_rss_mb', '.0f')} | {'; '.join(notes)} |")
        print()
    gemm = [(k, r) for k, r in sorted(table.items()) if "gflops" in r]
    if gemm:
        print("### GEMM throughput\n")
        print("GFLOP/s = 2 n^2 d / seconds (for a distance row: of the whole computation).\n")
        print("| case | n | impl | seconds | GFLOP/s | true GEMM s | true GEMM GFLOP/s | BLAS |")
        print("|---|---:|---|---:|---:|---:|---:|---|")
        for k, r in gemm:
            case = f"{k[0]} ({k[1]})" if k[1] else k[0]
            print(f"| {case} | {int(k[2]):,} | {k[3]} | {num(r, 'seconds', '.3f')} | "
                  f"{num(r, 'gflops', '.1f')} | {num(r, 'gemm_seconds', '.3f')} | "
                  f"{num(r, 'gemm_gflops', '.1f')} | {r.get('blas', '-')} |")
        print()


if __name__ == "__main__":
    main()
