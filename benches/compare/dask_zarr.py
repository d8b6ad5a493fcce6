"""Dask / zarr-python side of the Zarr benchmarks (stores from
make_zarr_bench_stores.py; venv from setup_zarr_bench_venv.sh).

Prints one JSON object per line on stdout:
    {"case", "impl", "store", "dtype", "shape", "chunks", "bytes", "seconds",
     "runs", "peak_rss_mb", ...}
`seconds` is the best of the timed runs (all are in "runs": best of 3 when the
first run is under 10 s, else one run; --repeat R overrides).  Opening the
store, building the graph and computing it are timed.  Every Dask compute uses
scheduler="threads", num_workers=2.  A failed or timed-out run gives a row
with "error" instead of "seconds".  The stores are read through the OS page
cache as it is (no cache dropping): run the Rust twin on the same, warm files.

Cases (python dask_zarr.py CASE [options]):
  mean --store PATH
      da.from_zarr(PATH).mean(axis=0).compute(): impl "dask"; "gbps" =
      uncompressed bytes / seconds / 1e9; "checksum" = sum of the column means.
  rechunk --src PATH --dst PATH --chunks R,C [--mem-limit-mb M]
      da.from_zarr(SRC).rechunk((R, C), block_size_limit=M MiB) then
      .to_zarr(DST, zarr_format=3, compressors=<SRC's compressors>) (default
      mode "a", so Dask takes no write lock; DST is deleted before each run,
      outside the clock).  impl "dask".  M is the only memory knob Dask's
      threaded scheduler has (the largest intermediate block rechunk plans);
      it is not enforced: compare "peak_rss_mb" with "mem_limit_mb"
      ("over_mem_limit").  Default M: Dask's array.chunk-size (128 MiB).
      Reports "gbps" (uncompressed bytes / seconds / 1e9) and "checksum"
      (sum of DST's first column, read back after the clock stops).
  decode --store PATH [--threads 2]
      zarr-python alone: read every chunk once (one zarr `a[chunk slice]`
      call per chunk, from --threads Python threads), discarding the values.
      impl "zarr-python"; "gbps" = uncompressed bytes / seconds / 1e9,
      "stored_gbps" = bytes on disk / seconds / 1e9.

Every measurement runs in a fresh child process (this script with --child),
bounded by --timeout and an address-space limit (--as-limit-gib); its peak
RSS is the child's ru_maxrss from os.wait4 (as in dask_flagship.py), so it
includes the interpreter, imports and every run of the measurement.
"""
import argparse
import json
import os
import shutil
import sys
import time

import childproc
from childproc import timed_runs

SCHED = {"scheduler": "threads", "num_workers": 2}


# ---------------------------------------------------------------- child side

def describe(path):
    import zarr
    a = zarr.open_array(path, mode="r")
    stored = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
    return a, {"dtype": a.dtype.name, "shape": list(a.shape), "chunks": list(a.chunks),
               "bytes": a.nbytes, "stored_bytes": stored}


def measure_mean(store, repeat):
    import dask.array as da
    import numpy as np
    _, info = describe(store)

    def once():
        t0 = time.perf_counter()
        m = da.from_zarr(store).mean(axis=0).compute(**SCHED)
        dt = time.perf_counter() - t0
        return dt, {"checksum": float(np.sum(m, dtype=np.float64)), "out_dtype": str(m.dtype)}

    out = timed_runs(once, repeat)
    return {**info, **out, "gbps": info["bytes"] / out["seconds"] / 1e9}


def measure_rechunk(src, dst, chunks, mem_limit_mb, repeat):
    import dask
    import dask.array as da
    import numpy as np
    import zarr
    a, info = describe(src)
    compressors = a.compressors
    limit = int(mem_limit_mb * 2**20) if mem_limit_mb else None

    def clear():
        shutil.rmtree(dst, ignore_errors=True)

    def once():
        t0 = time.perf_counter()
        x = da.from_zarr(src)
        y = x.rechunk(chunks, block_size_limit=limit)
        da.to_zarr(y, dst, zarr_format=3, compressors=compressors,
                   compute=False).compute(**SCHED)
        dt = time.perf_counter() - t0
        out = zarr.open_array(dst, mode="r")
        return dt, {"dst_chunks": list(out.chunks), "tasks": len(dict(y.__dask_graph__())),
                    "checksum": float(np.sum(out[:, 0], dtype=np.float64))}

    out = timed_runs(once, repeat, before=clear)
    return {**info, **out, "gbps": info["bytes"] / out["seconds"] / 1e9,
            "block_size_limit": limit or dask.config.get("array.chunk-size")}


def measure_decode(store, threads, repeat):
    import itertools
    from concurrent.futures import ThreadPoolExecutor
    a, info = describe(store)
    grid = [range(0, s, c) for s, c in zip(a.shape, a.chunks)]
    slices = [tuple(slice(o, min(o + c, s)) for o, c, s in zip(origin, a.chunks, a.shape))
              for origin in itertools.product(*grid)]

    def read(sl):
        return a[sl].nbytes

    def once():
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            n = sum(pool.map(read, slices))
        dt = time.perf_counter() - t0
        assert n == info["bytes"], (n, info["bytes"])
        return dt, {}

    out = timed_runs(once, repeat)
    return {**info, **out, "nchunks": len(slices), "threads": threads,
            "gbps": info["bytes"] / out["seconds"] / 1e9,
            "stored_gbps": info["stored_bytes"] / out["seconds"] / 1e9}


def versions():
    import importlib.metadata as m
    return {k: m.version(k) for k in ("dask", "zarr", "numpy", "numcodecs")}


def child_main(spec):
    case = spec.pop("case")
    if case == "mean":
        out = measure_mean(**spec)
    elif case == "rechunk":
        out = measure_rechunk(**spec)
    else:
        out = measure_decode(**spec)
    out["versions"] = versions()
    print(json.dumps(out), flush=True)


# --------------------------------------------------------------- parent side

def run_child(row, spec, args):
    """Run one measurement in a child; print `row` completed with its results."""
    row = childproc.run_child(__file__, row, spec, args.timeout, int(args.as_limit_gib * 2**30))
    if "mem_limit_mb" in row and row["mem_limit_mb"]:
        row["over_mem_limit"] = row["peak_rss_mb"] > row["mem_limit_mb"]
    print(json.dumps(row), flush=True)
    return row


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        return child_main(json.loads(sys.argv[2]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("case", choices=["mean", "rechunk", "decode"])
    ap.add_argument("--store", help="mean, decode: the Zarr store (array at its root)")
    ap.add_argument("--src", help="rechunk: source store")
    ap.add_argument("--dst", help="rechunk: destination store (deleted before each run)")
    ap.add_argument("--chunks", help="rechunk: target chunks R,C")
    ap.add_argument("--mem-limit-mb", type=float, default=0.0,
                    help="rechunk: Dask block_size_limit in MiB (default: Dask's chunk-size)")
    ap.add_argument("--threads", type=int, default=2, help="decode: reader threads (2)")
    ap.add_argument("--repeat", type=int, help="timed runs (default: see docstring)")
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="seconds per child process (default 900)")
    ap.add_argument("--as-limit-gib", type=float, default=16.0,
                    help="address-space limit per child, 0 = none (default 16)")
    a = ap.parse_args()
    if a.case in ("mean", "decode"):
        if not a.store:
            ap.error(f"{a.case} needs --store")
        store = os.path.abspath(a.store)
        if a.case == "mean":
            spec = {"case": "mean", "store": store, "repeat": a.repeat}
            row = {"case": "mean", "impl": "dask", "store": store}
        else:
            spec = {"case": "decode", "store": store, "threads": a.threads, "repeat": a.repeat}
            row = {"case": "decode", "impl": "zarr-python", "store": store}
    else:
        if not (a.src and a.dst and a.chunks):
            ap.error("rechunk needs --src, --dst and --chunks R,C")
        chunks = [int(c) for c in a.chunks.split(",")]
        src, dst = os.path.abspath(a.src), os.path.abspath(a.dst)
        if src == dst:
            ap.error("--dst must differ from --src")
        spec = {"case": "rechunk", "src": src, "dst": dst, "chunks": chunks,
                "mem_limit_mb": a.mem_limit_mb, "repeat": a.repeat}
        row = {"case": "rechunk", "impl": "dask", "store": src, "dst": dst,
               "target_chunks": chunks, "mem_limit_mb": a.mem_limit_mb or None}
    run_child(row, spec, a)


if __name__ == "__main__":
    main()
