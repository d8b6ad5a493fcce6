#!/usr/bin/env bash
# chunkwise on Dask distributed vs Dask array on the same LocalCluster, and vs the local
# runtime, in one run:  bash benches/distributed/run.sh [--gib 8] [--n 10000] ...
# Installs the package (release build) and the pinned Dask into target/py-venv.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$(bash "$ROOT/py/setup_venv.sh")"
cd "$ROOT"
"$VENV/bin/python" benches/distributed/bench.py "$@"
