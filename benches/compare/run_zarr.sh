#!/usr/bin/env bash
# Zarr benchmarks, chunkwise (examples/zarr_compare) vs Dask + zarr-python (dask_zarr.py)
# on the same stores, in one run:
#   bash benches/compare/run_zarr.sh [--quick]
# Writes the stores once (make_zarr_bench_stores.py, zarr-python, V3 zstd level 1) into
# target/zarr-bench: mean_f32.zarr (4 GiB float32, row chunks of 16 MiB) and
# rows_f64.zarr (2 GiB float64, row chunks of 16 MiB); --quick: 1/16 of the sizes.
# Cases, each implementation in its own process under peak_rss.py (peak RSS from outside):
#   decode   raw decode throughput: zarrs (Rust) and zarr-python, every chunk once
#   mean     read + mean over axis 0 of mean_f32; chunkwise also with a memory limit of a
#            quarter of the array (the array is 4x the limit)
#   rechunk  rows_f64 row chunks -> column chunks (65536 x 32 at full size) into a new
#            store, memory limit a quarter of the array; Dask: rechunk + to_zarr with the
#            same figure as block_size_limit (its only memory setting)
# Output: target/compare/zarr.jsonl and a Markdown table on stdout.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
HERE=benches/compare
OUT=target/compare
D=target/zarr-bench
mkdir -p "$OUT" "$D"

GIB=4; RGIB=2
if [ "${1:-}" = "--quick" ]; then GIB=0.25; RGIB=0.125; D=target/zarr-bench-quick; fi
cargo build --release --example zarr_compare || exit 1
RUST=target/release/examples/zarr_compare
PY="$(bash "$HERE/setup_zarr_bench_venv.sh")/bin/python" || exit 1
"$PY" "$HERE/make_zarr_bench_stores.py" --dir "$D" --gib "$GIB" --rechunk-gib "$RGIB" >&2 || exit 1

MEAN="$D/mean_f32.zarr"; ROWS="$D/rows_f64.zarr"
# A quarter of each array, in MiB.
MEAN_LIMIT=$(python3 -c "print(int($GIB * 1024 / 4))")
RECHUNK_LIMIT=$(python3 -c "print(max(64, int($RGIB * 1024 / 4)))")
NROWS=$("$PY" -c "import zarr; print(zarr.open_array('$ROWS', mode='r').shape[0])")

RESULTS="$OUT/zarr.jsonl"
: > "$RESULTS"
rust() { "$PY" "$HERE/peak_rss.py" "$RUST" "$@" | tee -a "$RESULTS"; }
dask() { "$PY" "$HERE/dask_zarr.py" "$@" | tee -a "$RESULTS"; }

rust decode --store "$MEAN"
dask decode --store "$MEAN"
rust mean --store "$MEAN"
rust mean --store "$MEAN" --memory-limit-mb "$MEAN_LIMIT"
dask mean --store "$MEAN"
rm -rf "$D/cols_f64.zarr"
rust rechunk --src "$ROWS" --dst "$D/cols_f64.zarr" --chunks "$NROWS,32" --memory-limit-mb "$RECHUNK_LIMIT"
rm -rf "$D/cols_f64.zarr"
dask rechunk --src "$ROWS" --dst "$D/cols_f64.zarr" --chunks "$NROWS,32" --mem-limit-mb "$RECHUNK_LIMIT"
rm -rf "$D/cols_f64.zarr"

"$PY" - "$RESULTS" <<'PY'
import json, sys
rows, pending = [], []
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if "peak_rss_mb" in r and "case" not in r:   # a peak_rss.py line: the row before it
        for p in rows[len(rows) - r.get("rows", 0):]:
            p["peak_rss_mb"] = r["peak_rss_mb"]
    elif "case" in r:
        rows.append(r)
print("| case | impl | memory limit MB | seconds | GB/s (uncompressed) | peak RSS MB | notes |")
print("|---|---|---:|---:|---:|---:|---|")
for r in rows:
    lim = r.get("mem_limit_mb") or 0
    notes = []
    if "stages" in r: notes.append("stages " + ", ".join(r["stages"]))
    if "checksum" in r: notes.append(f"checksum {r['checksum']:.6g}")
    if r.get("same_first_column") is not None: notes.append(f"first column equal: {r['same_first_column']}")
    if "error" in r: notes.append("error: " + str(r["error"])[:60])
    sec = r.get("seconds")
    print(f"| {r['case']} | {r.get('impl')} | {lim:.0f} | {sec if sec is None else format(sec, '.3f')} | "
          f"{r.get('gbps', 0):.2f} | {r.get('peak_rss_mb', '-')} | {'; '.join(notes)} |")
PY
