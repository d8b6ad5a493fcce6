"""Writes the Zarr stores of the Zarr benchmarks with zarr-python (V3, zstd).

    python make_zarr_bench_stores.py --dir DIR [--gib 4] [--rechunk-gib 2]
        [--cols 4096] [--chunk-mib 16] [--level 1] [--force]

Writes, each with the zstd codec at --level (default 1, zarr.codecs.ZstdCodec,
no checksum) after the default little-endian bytes codec:
  DIR/mean_f32.zarr  float32, shape (rows, cols) with rows*cols*4 ~ --gib GiB
                     (rounded to whole chunks, at least one), chunks of
                     (chunk_rows, cols): all columns, --chunk-mib MiB each
                     (1024 rows at the defaults).  For `dask_zarr.py mean`.
  DIR/rows_f64.zarr  float64, shape (rows, cols) with rows*cols*8 ~ --rechunk-gib
                     GiB, chunked in full rows of --chunk-mib MiB (512 rows at the
                     defaults).  For `dask_zarr.py rechunk` to column chunks.
Values are cheap and deterministic: a per-column pattern (multiples of 1/8 up
to ~13 in magnitude) plus random multiples of 1/32 in [-8, 8) from
numpy.random.default_rng([seed, block]); they use few mantissa bits, so zstd
compresses them somewhat.  Written a few chunks at a time (never more than
~--chunk-mib * 4 MiB of values plus temporaries held at once).  A finished
store has the attribute "complete": true; an existing complete store with the
same shape, chunks, dtype and level is kept (not rewritten) unless --force.

Prints one JSON line: {"dir", "zstd_level", "zarr", "numpy", "stores": [{"name",
"path", "dtype", "shape", "chunks", "bytes" (uncompressed), "stored_bytes" (on
disk), "seconds" (0 when reused), "reused"}]}.
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import zarr
import zarr.codecs as zc

BLOCK_CHUNKS = 4  # chunks generated and written per call


def stored_bytes(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def values(seed, block, rows, cols, dtype, pattern):
    rng = np.random.default_rng([seed, block])
    out = rng.integers(-256, 256, (rows, cols), dtype=np.int16).astype(dtype)
    out *= dtype(1 / 32)
    out += pattern
    return out


def spec_matches(path, shape, chunks, dtype, level):
    try:
        a = zarr.open_array(path, mode="r")
    except Exception:  # noqa: BLE001 -- absent or unreadable: rewrite
        return False
    comp = [c.to_dict() for c in a.compressors]
    return (a.attrs.get("complete") is True and a.shape == shape and a.chunks == chunks
            and a.dtype == np.dtype(dtype)
            and comp == [zc.ZstdCodec(level=level, checksum=False).to_dict()])


def write_store(path, name, dtype, total_bytes, cols, chunk_mib, level, seed, force):
    dtype = np.dtype(dtype)
    row_bytes = cols * dtype.itemsize
    chunk_rows = max(1, (chunk_mib << 20) // row_bytes)
    nchunks = max(1, round(total_bytes / (chunk_rows * row_bytes)))
    rows = nchunks * chunk_rows
    shape, chunks = (rows, cols), (chunk_rows, cols)
    info = {"name": name, "path": os.path.abspath(path), "dtype": dtype.name,
            "shape": list(shape), "chunks": list(chunks), "bytes": rows * row_bytes}
    if not force and spec_matches(path, shape, chunks, dtype, level):
        return {**info, "stored_bytes": stored_bytes(path), "seconds": 0.0, "reused": True}
    shutil.rmtree(path, ignore_errors=True)
    t0 = time.perf_counter()
    a = zarr.create_array(store=path, shape=shape, chunks=chunks, dtype=dtype, zarr_format=3,
                          compressors=zc.ZstdCodec(level=level), fill_value=0,
                          config={"write_empty_chunks": True})
    j = np.arange(cols)
    pattern = (np.round(100 * np.sin(j * 0.01) + 5 * np.cos(j * 0.37)) / 8).astype(dtype)
    step = BLOCK_CHUNKS * chunk_rows
    for block, r0 in enumerate(range(0, rows, step)):
        r1 = min(rows, r0 + step)
        a[r0:r1] = values(seed, block, r1 - r0, cols, dtype.type, pattern)
    a.attrs["complete"] = True
    seconds = time.perf_counter() - t0
    return {**info, "stored_bytes": stored_bytes(path), "seconds": round(seconds, 3),
            "reused": False}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="output directory (created if needed)")
    ap.add_argument("--gib", type=float, default=4.0, help="size of mean_f32 (default 4)")
    ap.add_argument("--rechunk-gib", type=float, default=2.0,
                    help="size of rows_f64 (default 2)")
    ap.add_argument("--cols", type=int, default=4096, help="columns of both arrays (4096)")
    ap.add_argument("--chunk-mib", type=int, default=16, help="chunk size in MiB (16)")
    ap.add_argument("--level", type=int, default=1, help="zstd level (default 1)")
    ap.add_argument("--force", action="store_true", help="rewrite stores that exist")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    stores = [
        write_store(os.path.join(a.dir, "mean_f32.zarr"), "mean_f32", "float32",
                    a.gib * 2**30, a.cols, a.chunk_mib, a.level, 1, a.force),
        write_store(os.path.join(a.dir, "rows_f64.zarr"), "rows_f64", "float64",
                    a.rechunk_gib * 2**30, a.cols, a.chunk_mib, a.level, 2, a.force),
    ]
    print(json.dumps({"dir": os.path.abspath(a.dir), "zstd_level": a.level,
                      "zarr": zarr.__version__, "numpy": np.__version__, "stores": stores}),
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
