#!/usr/bin/env bash
# Every test suite: the Rust workspace (with the zarr-python readback tests) and the
# Python package's pytest suite (the package built and installed into a venv from this
# checkout). This is the README's test command; .ci/run runs it after the lints.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== zarr-python venv (for the Rust Zarr readback tests)"
ZARR_VENV="$(bash tests/zarr/setup_venv.sh)"
export CHUNKWISE_ZARR_PYTHON="$ZARR_VENV/bin/python"

echo "== Rust tests"
cargo test --workspace

echo "== Python package (pip install ./py) and its tests"
PY_VENV="$(bash py/setup_venv.sh)"
cd py/tests
# Run from the tests folder against the installed package (not the source tree).
"$PY_VENV/bin/python" -m pytest -q -p no:cacheprovider .
