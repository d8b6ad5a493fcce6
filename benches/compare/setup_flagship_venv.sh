#!/usr/bin/env bash
# Create (idempotently) the Python virtualenv for the Dask/NumPy/SciPy side of
# the flagship benchmarks (dask_flagship.py): pinned dask[array], distributed,
# numpy, scipy, plus sgkit in the SAME pip command (alone, newer sgkit pins old
# dask/zarr/numpy; together it resolves to sgkit 0.8.0).  If that install fails,
# installs the pins without sgkit and says so on stderr (dask_flagship.py then
# uses its own Dask map-reduce for `distance`).
# Path: ${CHUNKWISE_FLAGSHIP_VENV:-/work/main/target/flagship-venv}.
# Prints the venv path on stdout; everything else goes to stderr.
set -euo pipefail

VENV="${CHUNKWISE_FLAGSHIP_VENV:-/work/main/target/flagship-venv}"
PINS=("dask[array]==2026.8.0" "distributed==2026.8.0" "numpy==2.4.6" "scipy==1.17.1")

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" >&2 || {
        echo "error: 'python3 -m venv' failed (is python3-venv installed?)" >&2
        exit 1
    }
fi

# check [sgkit]: exit 0 when the pins (and sgkit, if asked) are installed.
check() {
    "$VENV/bin/python" - "$@" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
want = {"dask": "2026.8.0", "distributed": "2026.8.0", "numpy": "2.4.6", "scipy": "1.17.1"}
ok = all(m.version(k) == v for k, v in want.items())
if "sgkit" in sys.argv[1:]:
    m.version("sgkit")
sys.exit(0 if ok else 1)
PY
}

pip_install() {
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
}

if ! check sgkit; then
    if ! pip_install "${PINS[@]}" sgkit; then
        echo "note: installing sgkit with the pins failed; installing without sgkit" \
             "(dask_flagship.py distance falls back to its own Dask map-reduce)" >&2
        check || pip_install "${PINS[@]}"
    fi
fi

if check sgkit; then
    echo "sgkit $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("sgkit"))') installed" >&2
else
    echo "note: sgkit is not installed in $VENV" >&2
fi
echo "$VENV"
