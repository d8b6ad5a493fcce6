#!/usr/bin/env python3
"""Reads Zarr stores (written by chunkwise) back with zarr-python and compares
them with .npy files of the expected values.

Usage: readback.py MANIFEST_JSON

MANIFEST_JSON is a JSON list of
    {"store": "<abs path>", "npy": "<abs path>", "zarr_format": 2 | 3}
For each entry the store is opened with `zarr.open_array(store, mode="r")` and
checked: its zarr_format is the one given, its shape and dtype equal the
.npy's (dtype compared by value, so a big-endian store matches a little-endian
.npy of the same type), and its values equal the .npy's exactly (NaN equal to
NaN for float and complex dtypes).

Prints one line per store on stdout, "ok <store>" or "MISMATCH <store>: <why>"
(and a count on stderr), and exits 1 if any store failed (or the manifest
cannot be read), 0 otherwise.  Run it with the pinned venv's python:
"$(bash tests/zarr/setup_venv.sh)/bin/python" (CHUNKWISE_ZARR_PYTHON in CI).
"""

import json
import sys

import numpy as np
import zarr


def check(entry):
    """None if the store matches its .npy, else a short reason."""
    store, npy = entry["store"], entry["npy"]
    try:
        want = np.load(npy, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        return f"cannot load npy {npy}: {type(e).__name__}: {e}"
    try:
        a = zarr.open_array(store, mode="r")
    except Exception as e:  # noqa: BLE001
        return f"cannot open: {type(e).__name__}: {e}"
    fmt = a.metadata.zarr_format
    if fmt != entry["zarr_format"]:
        return f"zarr_format {fmt}, expected {entry['zarr_format']}"
    if tuple(a.shape) != want.shape:
        return f"shape {tuple(a.shape)}, npy has {want.shape}"
    dtype = np.dtype(a.dtype)
    if dtype.newbyteorder("=") != want.dtype.newbyteorder("="):
        return f"dtype {dtype}, npy has {want.dtype}"
    try:
        got = a[...]
    except Exception as e:  # noqa: BLE001
        return f"cannot read: {type(e).__name__}: {e}"
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"read shape {got.shape}, npy has {want.shape}"
    equal_nan = want.dtype.kind in "fc"
    if not np.array_equal(got, want, equal_nan=equal_nan):
        if equal_nan:
            diff = ~((got == want) | (np.isnan(got) & np.isnan(want)))
        else:
            diff = got != want
        idx = tuple(int(i) for i in np.argwhere(diff)[0])
        return (f"{int(diff.sum())} of {want.size} values differ, first at {list(idx)}: "
                f"store {got[idx]}, npy {want[idx]}")
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            entries = json.load(f)
    except Exception as e:  # noqa: BLE001
        print(f"error: cannot read manifest {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    if not isinstance(entries, list):
        print(f"error: manifest {sys.argv[1]} is not a JSON list", file=sys.stderr)
        return 1
    failed = 0
    for entry in entries:
        try:
            why = check(entry)
        except Exception as e:  # noqa: BLE001 -- a malformed entry is a failure, not a crash
            why = f"{type(e).__name__}: {e}"
        name = entry.get("store") if isinstance(entry, dict) else entry
        if why is None:
            print(f"ok {name}")
        else:
            failed += 1
            print(f"MISMATCH {name}: {why}")
    print(f"readback: {len(entries) - failed} ok, {failed} mismatched", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
