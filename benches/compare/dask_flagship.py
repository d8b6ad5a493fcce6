"""Dask / sgkit / NumPy / SciPy side of the flagship benchmarks (the Rust twin is
the `flagship_compare` example, which takes the same arguments).

Prints one JSON object per line on stdout:
    {"case", "param" (= n), "impl", "seconds", "peak_rss_mb", "blas", ...}
`seconds` is the best of the timed runs (all are in "runs": best of 3 when the
first run is under 10 s, else one run; --repeat R overrides).  Input data is
made before the clock starts; building the graph and computing it are timed.
Every Dask compute uses scheduler="threads", num_workers=2.  A failed or
timed-out run gives a row with "error" instead of "seconds".

Cases (python dask_flagship.py CASE [options]; --quick divides n and the
row chunks by 10; --impls picks implementations of `distance`; --sum reduces
the large output inside the graph, as flagship_compare does, instead of
assembling it: distance (sgkit, dask) computes D.sum(), tsqr_svd computes the
column norms of U instead of U; those rows have "output": "sum"):
  distance --metric METRIC [--p P] --n 10000 --d 2000
           --col-chunk 250 --row-chunk 2500
      (METRIC: euclidean, correlation, or one of the direct metrics cityblock,
      minkowski (--p, default 2), chebyshev, hamming, jaccard, braycurtis,
      canberra)
      x = np.random.default_rng(1).random((n, d)); distances between the n rows
      of x (rows are the vectors, as sgkit's pairwise_distance expects), result
      n x n.  impl rows:
        sgkit       sgkit.distance.api.pairwise_distance(da.from_array(x,
                    chunks=(row_chunk, col_chunk)), metric).compute(); its numba
                    kernels are compiled by a tiny warm-up call first (timed
                    separately as warmup_seconds).
        dask        the same map-reduce over column chunks in plain Dask, with
                    GEMM maps: blockwise "ik,jk->ijk" partial states (euclidean:
                    |a|^2 + |b|^2 - 2 a.b; correlation: cross products a.b, with
                    row sums and sums of squares from da sums), summed over k,
                    then finalized.  (sgkit's maps are numba loops per pair.)
                    The direct metrics map with scipy's cdist per pair of
                    pieces instead (the states: cityblock, canberra and
                    chebyshev distances of the pieces, minkowski's to the
                    power p, hamming's times the piece's columns, braycurtis'
                    numerator and denominator as two cityblock distances,
                    jaccard's differing and either-nonzero counts), summed
                    (chebyshev: maximized) over k, then finalized.
        scipy       scipy.spatial.distance.cdist(x, x, metric), 1 BLAS thread.
        numpy-gemm  x @ x.T (NumPy uses SYRK for it): seconds and effective
                    gflops = 2 n^2 d / seconds; also gemm_seconds/gemm_gflops
                    for x @ y.T with y a copy of x (a true GEMM).
      Rows carry "checksum" (nansum of the result) and "d01" to cross-check.
  svd_compressed --n 200000 --d 2000 --chunk 20000 --k 10 --iters 2
      x = da.random.default_rng(0).random((n, d), chunks=(chunk, d))
      .astype(float32); u, s, v = da.linalg.svd_compressed(x, k,
      n_power_iter=iters, iterator=ITERATOR); dask.compute(u, s, v).  Reports s.
      --iterator power (Dask's default) does not re-orthonormalize between
      power iterations, which on this data (top singular value ~60x the rest)
      loses the trailing singular values; --iterator QR does (with tsqr).
  tsqr_svd --n 1000000 --d 50 --chunk 100000
      x = da.random.default_rng(0).random((n, d), chunks=(chunk, d)) (float64);
      u, s, v = da.linalg.svd(x) (TSQR); dask.compute(u, s, v).  Reports s[:10].

  sum_exp --n 24000 --chunk 1000
  chain --n 24000 --chunk 1000
  rechunk --n 24000 --chunk 1000
      The elementwise cases: x = da.random.default_rng(3).random((n, n),
      chunks=chunk) (rechunk: chunks=(chunk, n)), float64 in [0, 1).
      sum_exp: (exp(x + 1) - 1 / (x + 1)).sum(); chain: the 13 operations
      (sin(x) * cos(x) + sqrt(x) / (1 + x) - log1p(x) / (2 + x)) / 3 + x,
      summed over axis 0; rechunk: x.rechunk((n, chunk)) computed to one
      NumPy array.  Rows carry "checksum" (or two entries of the assembled
      array) to cross-check.

Every implementation runs in a fresh child process (this script with --child),
bounded by --timeout and an address-space limit (--mem-limit-gib); its peak RSS
is the child's ru_maxrss from os.wait4 (as in dask_passes.py), so it includes
the interpreter, imports and the input data.  "blas" names the BLAS kernel in
use (threadpoolctl): OPENBLAS_CORETYPE, when set, forces a slower one.
"""
import argparse
import json
import sys
import time

import childproc
from childproc import timed_runs

SCHED = {"scheduler": "threads", "num_workers": 2}


# ---------------------------------------------------------------- child side

def summary(d):
    """Checksum and one entry; nansum in row blocks (a whole-array nansum copies d)."""
    import numpy as np
    total = sum(float(np.nansum(d[i:i + 1000])) for i in range(0, d.shape[0], 1000))
    return {"checksum": total, "d01": float(d[0, 1])}


def dask_distance(x, metric, row_chunk, col_chunk):
    """Map over column chunks with GEMM partial states, sum over chunks, finalize."""
    import dask.array as da
    import numpy as np
    xa = da.from_array(x, chunks=(row_chunk, col_chunk))

    def partials(fn):  # block (i, j, k) = fn(x[i, k], x[j, k]) with a new axis k of size 1
        return da.blockwise(lambda a, b: fn(a, b)[..., None], "ijk", xa, "ik", xa, "jk",
                            concatenate=False, adjust_chunks={"k": 1}, dtype=x.dtype)

    if metric == "euclidean":
        sq = partials(lambda a, b: (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :]
                      - 2.0 * (a @ b.T)).sum(axis=2)
        return da.sqrt(da.maximum(sq, 0.0))
    n = x.shape[1]
    cross = partials(lambda a, b: a @ b.T).sum(axis=2)
    s, ss = xa.sum(axis=1), (xa * xa).sum(axis=1)

    def finalize(c, si, ssi, sj, ssj):
        num = n * c - si[:, None] * sj[None, :]
        den = np.sqrt(n * ssi - si**2)[:, None] * np.sqrt(n * ssj - sj**2)[None, :]
        return 1.0 - num / den

    return da.blockwise(finalize, "ij", cross, "ij", s, "i", ss, "i", s, "j", ss, "j",
                        dtype=x.dtype)


DIRECT = ["cityblock", "minkowski", "chebyshev", "hamming", "jaccard", "braycurtis", "canberra"]


def dask_direct(x, metric, p, row_chunk, col_chunk):
    """A direct metric's map-reduce: per (i, j, k) the cdist states of the pieces."""
    import dask.array as da
    import numpy as np
    from scipy.spatial.distance import cdist
    xa = da.from_array(x, chunks=(row_chunk, col_chunk))
    nstates = 2 if metric in ("jaccard", "braycurtis") else 1

    def states(a, b):  # shape (rows a, rows b, 1, nstates)
        if metric == "minkowski":
            s = [cdist(a, b, "minkowski", p=p) ** p]
        elif metric == "hamming":
            s = [cdist(a, b, "hamming") * a.shape[1]]
        elif metric == "braycurtis":  # sum |a - b| and sum |a + b|
            s = [cdist(a, b, "cityblock"), cdist(a, -b, "cityblock")]
        elif metric == "jaccard":  # differing and either-nonzero counts
            na, nb = (a != 0).astype(np.float64), (b != 0).astype(np.float64)
            both = na @ nb.T
            s = [cdist(na, nb, "cityblock"),
                 na.sum(1)[:, None] + nb.sum(1)[None, :] - both]
        else:  # cityblock, chebyshev, canberra
            s = [cdist(a, b, metric)]
        return np.stack(s, axis=-1)[:, :, None, :]

    parts = da.blockwise(states, "ijks", xa, "ik", xa, "jk", concatenate=False,
                         adjust_chunks={"k": 1}, new_axes={"s": nstates}, dtype=np.float64)
    total = parts.max(axis=2) if metric == "chebyshev" else parts.sum(axis=2)
    n = x.shape[1]

    def finalize(t):
        if metric == "minkowski":
            return t[..., 0] ** (1.0 / p)
        if metric == "hamming":
            return t[..., 0] / n
        if metric == "braycurtis":
            return t[..., 0] / t[..., 1]
        if metric == "jaccard":
            return np.where(t[..., 1] == 0, 0.0, t[..., 0] / np.where(t[..., 1] == 0, 1, t[..., 1]))
        return t[..., 0]

    return total.map_blocks(finalize, drop_axis=2, dtype=np.float64)


def measure_distance(impl, metric, n, d, row_chunk, col_chunk, repeat, reduce=False, p=2.0):
    import numpy as np
    x = np.random.default_rng(1).random((n, d))
    out = {}
    if impl == "numpy-gemm":
        y = x.copy()

        def once():
            t0 = time.perf_counter()
            g = x @ x.T
            dt = time.perf_counter() - t0
            checksum = float(g.sum())
            del g
            t0 = time.perf_counter()
            x @ y.T
            return dt, {"gemm_seconds": time.perf_counter() - t0, "checksum": checksum}

        out = timed_runs(once, repeat)
        flops = 2.0 * n * n * d
        out["gflops"] = flops / out["seconds"] / 1e9
        out["gemm_gflops"] = flops / out["gemm_seconds"] / 1e9
        return out
    if impl == "scipy":
        from scipy.spatial.distance import cdist

        def once():
            t0 = time.perf_counter()
            r = cdist(x, x, metric, **({"p": p} if metric == "minkowski" else {}))
            return time.perf_counter() - t0, summary(r)

        return timed_runs(once, repeat)
    import dask.array as da
    if impl == "sgkit":
        import importlib.metadata
        from sgkit.distance.api import pairwise_distance
        t0 = time.perf_counter()
        pairwise_distance(np.random.default_rng(2).random((4, 4)), metric=metric).compute()
        out = {"warmup_seconds": time.perf_counter() - t0,
               "sgkit": importlib.metadata.version("sgkit")}
        build = lambda: pairwise_distance(  # noqa: E731
            da.from_array(x, chunks=(row_chunk, col_chunk)), metric=metric)
    elif metric in DIRECT:
        build = lambda: dask_direct(x, metric, p, row_chunk, col_chunk)  # noqa: E731
    else:
        build = lambda: dask_distance(x, metric, row_chunk, col_chunk)  # noqa: E731

    def once():
        t0 = time.perf_counter()
        r = build()
        r = (r.sum() if reduce else r).compute(**SCHED)
        return time.perf_counter() - t0, {"checksum": float(r)} if reduce else summary(r)

    return {**timed_runs(once, repeat), **out}


def measure_svd(case, n, d, chunk, repeat, k=None, iters=None, iterator=None, reduce=False):
    import dask
    import dask.array as da
    import numpy as np

    def once():
        t0 = time.perf_counter()
        x = da.random.default_rng(0).random((n, d), chunks=(chunk, d))
        if case == "svd_compressed":
            u, s, v = da.linalg.svd_compressed(x.astype(np.float32), k=k, n_power_iter=iters,
                                               iterator=iterator, seed=0)
        else:
            u, s, v = da.linalg.svd(x)
            if reduce:  # U's column norms (all 1) instead of U
                u = (u * u).sum(axis=0)
        u, s, v = dask.compute(u, s, v, **SCHED)
        dt = time.perf_counter() - t0
        extra = ({"u_colnorm_err": float(np.abs(u - 1).max())} if reduce else
                 {"u_shape": list(u.shape)})
        return dt, {"s": [float(z) for z in s[:10]], "dtype": str(u.dtype), **extra}

    return timed_runs(once, repeat)


ELEMENTWISE = ["sum_exp", "chain", "rechunk"]


def measure_elementwise(case, n, chunk, repeat):
    import dask.array as da
    import numpy as np

    def once():
        t0 = time.perf_counter()
        rng = da.random.default_rng(3)
        if case == "rechunk":
            a = rng.random((n, n), chunks=(chunk, n)).rechunk((n, chunk)).compute(**SCHED)
            return time.perf_counter() - t0, {"x00": float(a[0, 0]), "x_last": float(a[-1, -1])}
        x = rng.random((n, n), chunks=chunk)
        if case == "chain":
            r = ((da.sin(x) * da.cos(x) + da.sqrt(x) / (1 + x) - da.log1p(x) / (2 + x)) / 3
                 + x).sum(axis=0)
        else:
            x1 = x + 1
            r = (da.exp(x1) - 1 / x1).sum()
        v = np.asarray(r.compute(**SCHED))
        return time.perf_counter() - t0, {"checksum": float(v.sum()), "shape": list(v.shape)}

    return timed_runs(once, repeat)


def blas_info():
    try:
        import threadpoolctl
        return ", ".join(f"{i.get('internal_api')} {i.get('architecture')} x{i.get('num_threads')}"
                         for i in threadpoolctl.threadpool_info())
    except Exception as e:  # noqa: BLE001
        return f"unknown ({type(e).__name__})"


def child_main(spec):
    case = spec.pop("case")
    if case == "distance":
        out = measure_distance(**spec)
    elif case in ELEMENTWISE:
        out = measure_elementwise(case, **spec)
    else:
        out = measure_svd(case, **spec)
    out["blas"] = blas_info()
    print(json.dumps(out), flush=True)


# --------------------------------------------------------------- parent side

def run_child(row, spec, args, env=None):
    """Run one measurement in a child; print `row` completed with its results."""
    row = childproc.run_child(__file__, row, spec, args.timeout,
                              int(args.mem_limit_gib * 2**30), env)
    print(json.dumps(row), flush=True)
    return row


def have_sgkit():
    import importlib.util
    return importlib.util.find_spec("sgkit") is not None


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        return child_main(json.loads(sys.argv[2]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("case", choices=["distance", "svd_compressed", "tsqr_svd"] + ELEMENTWISE)
    ap.add_argument("--n", type=int)
    ap.add_argument("--d", type=int)
    ap.add_argument("--metric", choices=["euclidean", "correlation"] + DIRECT,
                    default="euclidean")
    ap.add_argument("--p", type=float, default=2.0, help="minkowski's p (default 2)")
    ap.add_argument("--col-chunk", type=int, default=250)
    ap.add_argument("--row-chunk", type=int, default=2500)
    ap.add_argument("--chunk", type=int,
                    help="row chunk of the svd cases, block side of the elementwise cases")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--iterator", choices=["power", "QR"], default="power",
                    help="svd_compressed's power-iteration scheme (default: Dask's, power)")
    ap.add_argument("--impls", help="distance: comma-separated, of sgkit,dask,scipy,numpy-gemm "
                    "(default: all four, sgkit only when it imports; dask,scipy for a direct "
                    "metric)")
    ap.add_argument("--quick", action="store_true", help="n and row chunks / 10")
    ap.add_argument("--sum", action="store_true",
                    help="reduce the large output in the graph (see the docstring)")
    ap.add_argument("--repeat", type=int, help="timed runs (default: see docstring)")
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="seconds per child process (default 900)")
    ap.add_argument("--mem-limit-gib", type=float, default=16.0,
                    help="address-space limit per child, 0 = none (default 16)")
    a = ap.parse_args()
    defaults = {"distance": (10000, 2000, None), "svd_compressed": (200000, 2000, 20000),
                "tsqr_svd": (1000000, 50, 100000),
                **{c: (24000, None, 1000) for c in ELEMENTWISE}}[a.case]
    n, d = a.n or defaults[0], a.d or defaults[1]
    chunk = a.chunk or defaults[2]
    row_chunk = a.row_chunk
    if a.quick:
        n, row_chunk, chunk = n // 10, max(1, row_chunk // 10), chunk and max(1, chunk // 10)
    row = {"case": a.case, "param": n, "d": d, "quick": a.quick}
    if a.case == "distance":
        impls = (a.impls.split(",") if a.impls else ["dask", "scipy"] if a.metric in DIRECT
                 else ["sgkit"] * have_sgkit() + ["dask", "scipy", "numpy-gemm"])
        for impl in impls:
            reduce = a.sum and impl in ("sgkit", "dask")
            spec = {"case": "distance", "impl": impl, "metric": a.metric, "n": n, "d": d,
                    "row_chunk": row_chunk, "col_chunk": a.col_chunk, "repeat": a.repeat,
                    "reduce": reduce, "p": a.p}
            env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"} if impl == "scipy" else None
            r = dict(row, impl=impl, metric=a.metric, row_chunk=row_chunk,
                     col_chunk=a.col_chunk)
            if impl == "numpy-gemm":
                del r["metric"]
            elif a.metric == "minkowski":
                r["p"] = a.p
            if reduce:
                r["output"] = "sum"
            run_child(r, spec, a, env)
    elif a.case in ELEMENTWISE:
        del row["d"]
        run_child(dict(row, impl="dask", chunk=chunk),
                  {"case": a.case, "n": n, "chunk": chunk, "repeat": a.repeat}, a)
    else:
        spec = {"case": a.case, "n": n, "d": d, "chunk": chunk, "repeat": a.repeat}
        if a.case == "tsqr_svd" and a.sum:
            spec["reduce"] = row["output"] = "sum"
        if a.case == "svd_compressed":
            spec.update(k=a.k, iters=a.iters, iterator=a.iterator)
            row.update(k=a.k, iters=a.iters, iterator=a.iterator)
        run_child(dict(row, impl="dask", chunk=chunk), spec, a)


if __name__ == "__main__":
    main()
