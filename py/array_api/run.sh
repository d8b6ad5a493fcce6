#!/usr/bin/env bash
# Runs the Array API standard's test suite (data-apis/array-api-tests) against the
# `chunkwise` namespace.
#
# Usage: py/array_api/run.sh /path/to/array-api-tests [extra pytest args...]
#   The checkout needs its `array-api` submodule (the spec) present.
#   Extra arguments go to pytest, e.g. a subset: array_api_tests/test_creation_functions.py
#
# Environment:
#   CHUNKWISE_PY_VENV   the virtualenv (default <repo>/target/py-venv, as py/setup_venv.sh);
#                       it needs pytest, hypothesis, ndindex and pytest-json-report.
#   CHUNKWISE_AAT_SEED  Hypothesis seed (default 0) for reproducible runs.
#   CHUNKWISE_AAT_MAX_EXAMPLES  examples per test (default 20).
#   CHUNKWISE_AAT_DEV=1 import chunkwise from py/python (the development build) instead of
#                       the installed package.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -d "$1/array_api_tests" ]; then
    echo "usage: $0 /path/to/array-api-tests [pytest args...]" >&2
    exit 2
fi
AAT="$(cd "$1" && pwd)"
shift
if [ ! -e "$AAT/array-api/spec" ] && [ ! -e "$AAT/array-api/src" ]; then
    echo "error: $AAT/array-api (the spec submodule) is missing: git submodule update --init" >&2
    exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${CHUNKWISE_PY_VENV:-$REPO/target/py-venv}"
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
    echo "error: no Python at $PY (run py/setup_venv.sh or set CHUNKWISE_PY_VENV)" >&2
    exit 2
fi
if [ "${CHUNKWISE_AAT_DEV:-0}" = "1" ]; then
    export PYTHONPATH="$REPO/py/python${PYTHONPATH:+:$PYTHONPATH}"
fi

export ARRAY_API_TESTS_MODULE=chunkwise
export ARRAY_API_TESTS_VERSION=2023.12

LOG="$(mktemp "${TMPDIR:-/tmp}/chunkwise-aat.XXXXXX.log")"
cd "$AAT"
set +e
# Default target: the whole suite; pass test paths (array_api_tests/test_x.py) for a subset.
TARGET=(array_api_tests/)
for a in "$@"; do
    case "$a" in array_api_tests*) TARGET=() ;; esac
done
"$PY" -m pytest "${TARGET[@]}" \
    -q -rfEs --tb=line -p no:cacheprovider -W ignore::UserWarning \
    --max-examples "${CHUNKWISE_AAT_MAX_EXAMPLES:-20}" \
    --hypothesis-seed "${CHUNKWISE_AAT_SEED:-0}" \
    --disable-deadline \
    --skips-file "$HERE/skips.txt" \
    "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
echo
echo "== summary ($(date -u +%Y-%m-%dT%H:%MZ); log: $LOG) =="
grep -E '^(FAILED|ERROR) ' "$LOG" || true
tail -n 1 "$LOG"
exit "$rc"
