#!/usr/bin/env bash
# Create (idempotently) the Python virtualenv used by the Dask side of the
# chunkwise-vs-Dask comparison, with pinned dask[array] and numpy.
# Path: ${CHUNKWISE_VENV:-/work/main/target/compare-venv}. Prints the venv path.
set -euo pipefail

VENV="${CHUNKWISE_VENV:-/work/main/target/compare-venv}"
PINS=("dask[array]==2026.8.0" "numpy==2.4.6")

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" >&2 || {
        echo "error: 'python3 -m venv' failed (is python3-venv installed?)" >&2
        exit 1
    }
fi

# Skip pip when the pinned versions are already present.
if ! "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
ok = m.version("dask") == "2026.8.0" and m.version("numpy") == "2.4.6"
sys.exit(0 if ok else 1)
PY
then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2
fi

echo "$VENV"
