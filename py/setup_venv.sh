#!/usr/bin/env bash
# Create (idempotently) the Python virtualenv of the Python package's tests, with pinned
# test dependencies, and install the chunkwise package into it from this checkout
# (`pip install ./py`: maturin builds the extension in release mode).
# Path: ${CHUNKWISE_PY_VENV:-<repo>/target/py-venv}.  CHUNKWISE_PY_DEV=1 skips the pip
# install of the package (for development: see py/README.md).  Prints ONLY the venv path
# on stdout; everything else goes to stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHUNKWISE_PY_VENV:-$REPO/target/py-venv}"
PINS=(
    "numpy==2.4.6" "pytest==9.2.0" "hypothesis==6.170.17" "xarray==2026.9.0"
    "zarr==3.1.6" "ndindex==1.10.1" "maturin==1.16.0"
    "dask==2026.8.0" "distributed==2026.8.0" "cloudpickle==3.1.3"  # py/tests/test_distributed.py
    "pytest-json-report==1.5.0"  # array-api-tests (py/array_api/run.sh) requires it
)

if [ ! -x "$VENV/bin/python" ]; then
    { mkdir -p "$(dirname "$VENV")" && python3 -m venv "$VENV"; } >&2 || {
        echo "error: 'python3 -m venv $VENV' failed (is python3-venv installed?)" >&2
        exit 1
    }
fi

pinned() {
    "$VENV/bin/python" - "${PINS[@]}" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if all(m.version(p.split("==")[0]) == p.split("==")[1] for p in sys.argv[1:]) else 1)
PY
}

if ! pinned; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2 || {
        echo "error: installing ${PINS[*]} into $VENV failed" >&2
        exit 1
    }
fi

if [ "${CHUNKWISE_PY_DEV:-0}" != "1" ]; then
    # --no-build-isolation: use the pinned maturin of the venv (no download per build).
    PATH="$VENV/bin:$PATH" "$VENV/bin/python" -m pip install --quiet \
        --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps "$REPO/py" >&2 || {
        echo "error: building and installing the chunkwise package ($REPO/py) failed" >&2
        exit 1
    }
fi

echo "$VENV"
