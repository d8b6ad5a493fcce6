"""The Python side of benches/python/run.sh: the same workloads as the Rust examples
(passes_compare, flagship_compare), driven from Python, and the per-call overhead of a
small operation next to Dask's and NumPy's. Prints one JSON line per measurement."""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import chunkwise as cw


def emit(**row):
    print(json.dumps(row), flush=True)


def best(reps, f):
    times, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def sum_exp(gib: float, chunk_mib: int):
    # As passes_compare sum_exp: build and compute, timed together, on 2 threads.
    n = int(gib * 2**30 / 8)
    chunk = chunk_mib * 2**20 // 8

    def run():
        x = cw.random.uniform(size=(n,), chunks=chunk, seed=42) + 1.0
        return cw.compute(cw.sum(cw.exp(x) - 1.0 / x), threads=2)[0]

    secs, v = best(3, run)
    emit(case="sum_exp", impl="chunkwise (Python)", param=gib, seconds=secs, result=float(v))


def distance(n: int, d: int, metric: str):
    # As flagship_compare distance: 2,500 x 250 chunks, reduced to a checksum in the graph.
    x = cw.random.uniform(size=(n, d), chunks=(2500, 250), seed=1)

    def run():
        return float(cw.compute(cw.sum(cw.distance.pairwise_distance(x, metric=metric)))[0])

    secs, v = best(3, run)
    emit(case="distance", impl="chunkwise (Python)", metric=metric, param=n, seconds=secs,
         checksum=v)


def chain(gib: float):
    # As passes_compare chain_bandwidth: ten operations over an in-memory f64 array in
    # 64 MiB chunks, the result assembled into one array.
    n = int(gib * 2**30 / 8)
    data = 1.0 + (np.arange(n) % 1000) * 1e-3
    x = cw.from_numpy(data, chunks=(64 * 2**20 // 8,))
    y = (((((((((x + 1.0) * 2.0) - 3.0) / 4.0) + x) * x) - 1.0) * 0.5) + 2.0) * 3.0
    secs, out = best(5, lambda: y.compute())
    v = data[0]
    want = (((((((((v + 1.0) * 2.0) - 3.0) / 4.0) + v) * v) - 1.0) * 0.5) + 2.0) * 3.0
    assert out[0] == want
    emit(case="chain_bandwidth", impl="chunkwise (Python)", param=gib, seconds=secs,
         gb_per_s=2 * gib * 1.073741824 / secs)


def overhead(calls: int):
    """Build and compute a one-chunk array: per-call cost of the front end and runtime."""
    def per_call(f):
        f()
        samples = []
        for _ in range(calls):
            t = time.perf_counter()
            f()
            samples.append(time.perf_counter() - t)
        return statistics.median(samples)

    emit(case="overhead", impl="chunkwise (Python)",
         seconds=per_call(lambda: ((cw.ones((100,), chunks=100) + 1.0).sum()).compute()))
    emit(case="overhead", impl="numpy",
         seconds=per_call(lambda: (np.ones(100) + 1.0).sum()))
    try:
        import dask
        import dask.array as da
    except ImportError:
        emit(case="overhead", impl="dask", skipped="dask is not installed")
        return
    with dask.config.set(scheduler="threads"):
        emit(case="overhead", impl=f"dask {dask.__version__}",
             seconds=per_call(lambda: ((da.ones((100,), chunks=100) + 1.0).sum()).compute()))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=["sum_exp", "distance", "chain_bandwidth", "overhead"])
    p.add_argument("--gib", type=float, default=2.0)
    p.add_argument("--chunk-mib", type=int, default=64)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--d", type=int, default=2_000)
    p.add_argument("--metric", default="euclidean")
    p.add_argument("--calls", type=int, default=2000)
    a = p.parse_args()
    if a.case == "sum_exp":
        sum_exp(a.gib, a.chunk_mib)
    elif a.case == "distance":
        distance(a.n, a.d, a.metric)
    elif a.case == "chain_bandwidth":
        chain(a.gib)
    else:
        overhead(a.calls)


if __name__ == "__main__":
    main()
