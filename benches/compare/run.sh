#!/usr/bin/env bash
# Side-by-side benchmark of chunkwise (examples/passes_compare) and Dask.
# Builds the Rust example, sets up the Dask venv (setup_venv.sh), runs every
# case on both sides with the same arguments, and writes
#   target/compare/dask_passes.jsonl, target/compare/chunkwise_passes.jsonl,
#   target/compare/report.md (Markdown tables from report.py, also printed).
# sum_exp runs under peak_rss.py on both sides, so peak RSS is measured the same
# way.  Each Rust run gets the limits the Dask children get: 900 s, 12 GiB.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
HERE=benches/compare
OUT=target/compare
mkdir -p "$OUT"

RUST=target/release/examples/passes_compare
if ! cargo build --release --example passes_compare; then
    echo "warning: cargo build failed; running the Dask side only" >&2
    RUST=""
fi

VENV="$(bash "$HERE/setup_venv.sh")" || exit 1
PY="$VENV/bin/python"

# --- Dask ------------------------------------------------------------------
DASK_OUT="$OUT/dask_passes.jsonl"
: > "$DASK_OUT"
dask() { "$PY" "$HERE/dask_passes.py" "$@" | tee -a "$DASK_OUT"; }
dask optimize_lower --blocks 100000
dask optimize_lower --blocks 1000000
dask slice_cull                     # sweeps 1e4..1e9 chunks, both exprs
"$PY" "$HERE/peak_rss.py" "$PY" "$HERE/dask_passes.py" sum_exp --gib 2 --chunk-mib 64 \
    | tee -a "$DASK_OUT"

# --- chunkwise -------------------------------------------------------------
RUST_OUT="$OUT/chunkwise_passes.jsonl"
if [ -n "$RUST" ] && [ -x "$RUST" ]; then
    : > "$RUST_OUT"
    # rust CASE ARGS...: run with the Dask children's limits; on failure, log an error row.
    rust() {
        local case="$1"; shift
        ( ulimit -v $((12 * 1024 * 1024)); timeout 900 "$RUST" "$case" "$@" ) \
            | tee -a "$RUST_OUT"
        local rc=${PIPESTATUS[0]}
        if [ "$rc" -ne 0 ]; then  # error row keyed like a result row
            local param=0 expr="" a=("$@") i
            for ((i = 0; i + 1 < ${#a[@]}; i++)); do
                case "${a[i]}" in
                    --blocks|--chunks|--gib) param="${a[i+1]}" ;;
                    --expr) expr="${a[i+1]}" ;;
                esac
            done
            local err="exit $rc"; [ "$rc" -eq 124 ] && err="timeout after 900 s"
            echo "{\"case\": \"$case\", \"param\": $param, \"expr\": \"$expr\"," \
                 "\"error\": \"$err\"}" | tee -a "$RUST_OUT"
        fi
        return "$rc"
    }
    rust optimize_lower --blocks 100000
    rust optimize_lower --blocks 1000000
    for expr in first slice_of_slice; do
        for c in 10000 100000 1000000 10000000 100000000 1000000000; do
            rust slice_cull --chunks "$c" --expr "$expr" || break
        done
    done
    "$PY" "$HERE/peak_rss.py" "$RUST" sum_exp --gib 2 --chunk-mib 64 | tee -a "$RUST_OUT"
    rust chain_bandwidth --gib 1
else
    echo "note: $RUST not built; no chunkwise rows" >&2
fi

"$PY" "$HERE/report.py" "$RUST_OUT" "$DASK_OUT" | tee "$OUT/report.md"
