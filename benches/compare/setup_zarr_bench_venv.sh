#!/usr/bin/env bash
# Create (idempotently) the Python virtualenv for the Dask / zarr-python side of
# the Zarr benchmarks (make_zarr_bench_stores.py, dask_zarr.py), with pinned
# dask[array], numpy and zarr.  Its own venv (not target/compare-venv), so the
# other comparisons' environment is left as it is.
# Path: ${CHUNKWISE_ZARR_BENCH_VENV:-<repo>/target/zarr-bench-venv}, <repo> found
# from this script's location.  pip is skipped when the pins are installed.
# Prints ONLY the venv path on stdout; everything else goes to stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${CHUNKWISE_ZARR_BENCH_VENV:-$REPO/target/zarr-bench-venv}"
PINS=("dask[array]==2026.8.0" "numpy==2.4.6" "zarr==3.1.6")

if [ ! -x "$VENV/bin/python" ]; then
    { mkdir -p "$(dirname "$VENV")" && python3 -m venv "$VENV"; } >&2 || {
        echo "error: 'python3 -m venv $VENV' failed (is python3-venv installed?)" >&2
        exit 1
    }
fi

check() {
    "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
want = {"dask": "2026.8.0", "numpy": "2.4.6", "zarr": "3.1.6"}
sys.exit(0 if all(m.version(k) == v for k, v in want.items()) else 1)
PY
}

if ! check; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2 || {
        echo "error: installing ${PINS[*]} into $VENV failed" >&2
        exit 1
    }
    check || { echo "error: $VENV does not have ${PINS[*]} after pip install" >&2; exit 1; }
fi

echo "$VENV"
