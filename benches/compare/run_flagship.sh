#!/usr/bin/env bash
# Flagship benchmarks, chunkwise (examples/flagship_compare) vs Dask/sgkit/NumPy/SciPy.
#   bash benches/compare/run_flagship.sh [--quick]
# Builds the Rust example, sets up the flagship venv (setup_flagship_venv.sh),
# runs distance (euclidean; correlation without sgkit, whose numba kernel for it
# would take ~30 min), svd_compressed and tsqr_svd on both sides with the same
# arguments (chunkwise also runs svd_compressed with the input recomputed in
# every pass, and faer's GEMM alone on 1 and 2 threads, each in its own
# process; the direct metrics on issue 16's shapes; the roofline: peak vector
# steps |x - y| per second on 1 and 2 threads; the elementwise cases sum_exp,
# chain and rechunk on 24000^2 f64, chain also with CHUNKWISE_NO_MVEC=1, the
# scalar libm, as the before of libmvec), and writes
#   target/compare/dask_flagship.jsonl, target/compare/chunkwise_flagship.jsonl,
#   target/compare/flagship_report.md (Markdown from report_flagship.py, also printed).
# Dask rows carry the peak RSS of their own child processes (os.wait4); each Rust
# run goes under peak_rss.py, with the Dask children's limits (900 s, 16 GiB).
# The Python side runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, so that
# NumPy uses its native OpenBLAS kernel (rows name it in "blas").
# flagship_compare reduces the n x n distances to their sum and U of tsqr_svd
# to its column norms inside the graph; the Dask side runs both ways (assembled
# as the brief's reference, and with --sum like the Rust side).
# --quick: n and row chunks / 10 on both sides (explicit arguments: the Rust
# example ignores flags it does not know).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
HERE=benches/compare
OUT=target/compare
mkdir -p "$OUT"

RUST=target/release/examples/flagship_compare
if ! cargo build --release --example flagship_compare; then
    echo "warning: cargo build failed; running the Dask side only" >&2
    RUST=""
fi

VENV="$(bash "$HERE/setup_flagship_venv.sh")" || exit 1
PY="$VENV/bin/python"

N_GEMM=10000
if [ "${1:-}" = "--quick" ]; then
    N_GEMM=1000
    CASES=(
        "distance --metric euclidean --n 1000 --d 2000 --col-chunk 250 --row-chunk 250"
        "distance --metric correlation --n 1000 --d 2000 --col-chunk 250 --row-chunk 250"
        "svd_compressed --n 20000 --d 2000 --chunk 2000 --k 10 --iters 2"
        "tsqr_svd --n 100000 --d 50 --chunk 10000"
    )
    ELEMENTWISE=(sum_exp chain rechunk); ESIZE="--n 2400 --chunk 100"
else
    CASES=(
        "distance --metric euclidean --n 10000 --d 2000 --col-chunk 250 --row-chunk 2500"
        "distance --metric correlation --n 10000 --d 2000 --col-chunk 250 --row-chunk 2500"
        "svd_compressed --n 200000 --d 2000 --chunk 20000 --k 10 --iters 2"
        "tsqr_svd --n 1000000 --d 50 --chunk 100000"
    )
    ELEMENTWISE=(sum_exp chain rechunk); ESIZE="--n 24000 --chunk 1000"
fi
for e in "${ELEMENTWISE[@]}"; do CASES+=("$e $ESIZE"); done
# The direct metrics (issue 16's shapes), against Dask's map-reduce of scipy cdist pieces.
DIRECT=()
for m in cityblock chebyshev hamming jaccard braycurtis canberra; do
    DIRECT+=("distance --metric $m --n 2000 --d 12000 --col-chunk 1000 --row-chunk 500")
done
DIRECT+=("distance --metric minkowski --p 3 --n 800 --d 5000 --col-chunk 500 --row-chunk 200")

# --- Dask ------------------------------------------------------------------
DASK_OUT="$OUT/dask_flagship.jsonl"
: > "$DASK_OUT"
# dask I [ARGS...]: case I of CASES with extra dask_flagship.py arguments.
dask() {
    local c="${CASES[$1]}"; shift
    # shellcheck disable=SC2086
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        "$PY" "$HERE/dask_flagship.py" $c "$@" | tee -a "$DASK_OUT"
}
dask 0                                # sgkit, dask, scipy, numpy-gemm
dask 0 --impls sgkit,dask --sum
dask 1 --impls dask,scipy
dask 1 --impls dask --sum
dask 2                                # Dask's default iterator="power"
dask 2 --iterator QR                  # re-orthonormalizes each pass, like chunkwise
dask 3
dask 3 --sum
for i in 4 5 6; do dask $i; done       # sum_exp, chain, rechunk
for c in "${DIRECT[@]}"; do
    # shellcheck disable=SC2086
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        "$PY" "$HERE/dask_flagship.py" $c --impls dask --sum | tee -a "$DASK_OUT"
done

# --- chunkwise -------------------------------------------------------------
RUST_OUT="$OUT/chunkwise_flagship.jsonl"
if [ -n "$RUST" ] && [ -x "$RUST" ]; then
    : > "$RUST_OUT"
    # rust "ARGS" [ENV=VALUE...]: one run of the example under peak_rss.py, or an error
    # row keyed like a result row.
    rust() {
        local c="$1"; shift
        # shellcheck disable=SC2086
        ( ulimit -v $((16 * 1024 * 1024))
          "$PY" "$HERE/peak_rss.py" timeout 900 env "$@" "$RUST" $c ) | tee -a "$RUST_OUT"
        local rc=${PIPESTATUS[0]}
        if [ "$rc" -ne 0 ]; then
            local case metric n err
            read -r case _ metric _ <<< "$c"
            [ "$case" = distance ] || metric=""
            n="$(sed -E 's/.*--n ([0-9]+).*/\1/' <<< "$c")"
            err="exit $rc"; [ "$rc" -eq 124 ] && err="timeout after 900 s"
            echo "{\"case\": \"$case\", \"param\": $n, \"metric\": \"$metric\"," \
                 "\"impl\": \"chunkwise\", \"error\": \"$err\"}" | tee -a "$RUST_OUT"
        fi
    }
    # svd_compressed again with the input recomputed in every pass (CompressedSvd::
    # recompute_input) instead of held; faer's own GEMM throughput on 1 and 2 threads.
    for c in "${CASES[@]}" "${CASES[2]} --recompute 1" \
             "faer_gemm --n ${N_GEMM} --d 2000 --threads 1" \
             "faer_gemm --n ${N_GEMM} --d 2000 --threads 2" "${DIRECT[@]}" \
             "roofline --threads 1" "roofline --threads 2"; do
        rust "$c"
    done
    # The chain on the scalar libm: the before of the vector math.
    rust "chain $ESIZE" CHUNKWISE_NO_MVEC=1
else
    echo "note: target/release/examples/flagship_compare not built; no chunkwise rows" >&2
fi

"$PY" "$HERE/report_flagship.py" "$RUST_OUT" "$DASK_OUT" | tee "$OUT/flagship_report.md"
