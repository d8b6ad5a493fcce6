#!/usr/bin/env bash
# Create (idempotently) the Python virtualenv used by the Zarr interop tests:
# tests/fixtures/zarr/make_zarr_fixtures.py (writes the fixture stores) and
# tests/zarr/readback.py (reads back stores written by chunkwise), with pinned
# zarr-python and numpy.
# Path: ${CHUNKWISE_ZARR_VENV:-<repo>/target/zarr-venv}, where <repo> is found
# from this script's own location.  pip is skipped when the pinned versions are
# already installed.  Prints ONLY the venv path on stdout; everything else goes
# to stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${CHUNKWISE_ZARR_VENV:-$REPO/target/zarr-venv}"
ZARR_VERSION="3.1.6"
NUMPY_VERSION="2.4.6"
PINS=("zarr==$ZARR_VERSION" "numpy==$NUMPY_VERSION")

if [ ! -x "$VENV/bin/python" ]; then
    { mkdir -p "$(dirname "$VENV")" && python3 -m venv "$VENV"; } >&2 || {
        echo "error: 'python3 -m venv $VENV' failed (is python3-venv installed?" \
             "on Debian/Ubuntu: apt-get install python3-venv)" >&2
        exit 1
    }
fi

# Exit 0 when the pinned versions are installed.
check() {
    "$VENV/bin/python" - "$ZARR_VERSION" "$NUMPY_VERSION" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
ok = m.version("zarr") == sys.argv[1] and m.version("numpy") == sys.argv[2]
sys.exit(0 if ok else 1)
PY
}

if ! check; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2 || {
        echo "error: installing ${PINS[*]} into $VENV failed" >&2
        exit 1
    }
    check || {
        echo "error: $VENV does not have ${PINS[*]} after pip install" >&2
        exit 1
    }
fi

echo "$VENV"
