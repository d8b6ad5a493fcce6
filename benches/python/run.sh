#!/usr/bin/env bash
# The same workloads from Python and from Rust, side by side in one run, and the per-call
# overhead of a small operation from Python next to Dask's and NumPy's:
#   bash benches/python/run.sh [--quick]
# Builds the Rust examples (release), installs the Python package (py/setup_venv.sh, a
# release build) plus Dask into its venv, runs every case on both sides, and writes
# target/python-bench/results.jsonl and report.md (also printed).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
OUT=target/python-bench
mkdir -p "$OUT"
GIB_SUM=2; GIB_CHAIN=1; N=10000
if [ "${1:-}" = "--quick" ]; then GIB_SUM=0.25; GIB_CHAIN=0.125; N=2000; fi

cargo build --release --example passes_compare --example flagship_compare
VENV="$(bash py/setup_venv.sh)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "dask[array]==2026.8.0" >&2
PY="$VENV/bin/python"
BIN=target/release/examples
RES="$OUT/results.jsonl"
: > "$RES"
run() { "$@" | tee -a "$RES"; }

# One line per side and case (Rust's sum_exp is timed once per process: keep the best of 3,
# as the Python side does).
for rep in 1 2 3; do "$BIN/passes_compare" sum_exp --gib "$GIB_SUM" --chunk-mib 64; done \
    | "$PY" -c 'import json,sys; rows=[json.loads(l) for l in sys.stdin]; r=min(rows,key=lambda r:r["seconds"]); r["impl"]="chunkwise (Rust)"; print(json.dumps(r))' | tee -a "$RES"
run "$PY" benches/python/bench.py sum_exp --gib "$GIB_SUM"
"$BIN/flagship_compare" distance --metric euclidean --n "$N" --d 2000 --col-chunk 250 --row-chunk 2500 \
    | "$PY" -c 'import json,sys; r=json.loads(sys.stdin.readline()); r["impl"]="chunkwise (Rust)"; r["case"]="distance"; print(json.dumps(r))' | tee -a "$RES"
run "$PY" benches/python/bench.py distance --n "$N" --d 2000 --metric euclidean
"$BIN/passes_compare" chain_bandwidth --gib "$GIB_CHAIN" --assembled 1 \
    | "$PY" -c 'import json,sys; r=json.loads(sys.stdin.readline()); r["impl"]="chunkwise (Rust)"; print(json.dumps(r))' | tee -a "$RES"
run "$PY" benches/python/bench.py chain_bandwidth --gib "$GIB_CHAIN"
run "$PY" benches/python/bench.py overhead
"$PY" benches/python/report.py "$RES" | tee "$OUT/report.md"
