"""Dask side of the chunkwise-vs-Dask comparison (the Rust twin is the
`passes_compare` example, which takes the same arguments).

Prints one JSON object per line on stdout, with at least
    {"case": str, "param": number, "seconds": float, "tasks": int, "peak_rss_mb": float}
where `seconds` is the best of the timed runs (all of them are in "runs"), and
`param` is the case's size: blocks (optimize_lower), chunks (slice_cull, which
also has "expr") or GiB (sum_exp). A run that failed or timed out gives a line
with "error" instead of "seconds".

Cases (python dask_passes.py CASE [options]):
  optimize_lower [--blocks N]   N = 10**5 by default.
      x = da.ones((N*10,), chunks=10); y = ten chained elementwise ops on x;
      s = y.sum().  Timed: `(s_opt,) = dask.optimize(s)` plus materializing
      `dict(s_opt.__dask_graph__())` (building s is not timed).  tasks =
      len(that dict); also reports us_per_task.  For N > 10**5 a probe at N/10
      runs first; if 10x its time exceeds --max-seconds, the probe row and an
      extrapolated row ("extrapolated": true) are printed instead of running N.
  slice_cull [--chunks C] [--expr first|slice_of_slice]
      x = da.ones((C*10,), chunks=10) + 1; expr is x[0] or x[:100][5].
      Timed: building x and the expression + dask.optimize + dict(graph)
      (build_seconds and optimize_seconds split it).  Without --chunks, sweeps
      C = 10**4..10**7, then goes on (up to 10**9) while one run takes < 60 s.
      Without --expr, does both.
  sum_exp [--gib G] [--chunk-mib M]   G = 2, M = 64 by default.
      x = da.random.random((n,), chunks=M MiB) + 1.0, n = G*2**30/8 float64;
      r = (da.exp(x) - 1/x).sum().  Timed: r.compute(scheduler="threads",
      num_workers=2).  Reports the result and its expected value n*(e^2-e-ln 2).
  all   optimize_lower (10**5), the slice_cull sweep for both exprs, sum_exp.

Every measurement runs in a fresh child process (this script with --child):
this bounds it with --timeout and an address-space limit (--mem-limit-gib),
and gives its peak RSS, read by the parent from the child's rusage
(os.wait4, i.e. the same ru_maxrss that RUSAGE_CHILDREN and /usr/bin/time
report), so interpreter and import overhead are included alike in every case.
Timed runs: --repeat R, else best of 3 when the first run is under 10 s and a
single run otherwise (sum_exp: a single run).
"""
import argparse
import json
import math
import sys
import time

import childproc
from childproc import timed_runs

SWEEP_ALWAYS = [10**4, 10**5, 10**6, 10**7]
SWEEP_MAX = 10**9
SWEEP_CONTINUE_BELOW_S = 60.0


# ---------------------------------------------------------------- child side

def measure_optimize_lower(blocks, repeat):
    import dask
    import dask.array as da
    import numpy as np

    def once():
        x = da.ones((blocks * 10,), chunks=10, dtype=np.float64)
        y = ((((((((((x + 1) * 2) - 3) / 4) + x) * x) - 1) * 0.5) + 2) * 3)
        s = y.sum()
        t0 = time.perf_counter()
        (s_opt,) = dask.optimize(s)
        g = dict(s_opt.__dask_graph__())
        dt = time.perf_counter() - t0
        return dt, {"tasks": len(g)}

    out = timed_runs(once, repeat)
    out["us_per_task"] = out["seconds"] / out["tasks"] * 1e6
    return out


def measure_slice_cull(chunks, expr, repeat):
    import dask
    import dask.array as da

    def once():
        t0 = time.perf_counter()
        x = da.ones((chunks * 10,), chunks=10) + 1
        e = x[0] if expr == "first" else x[:100][5]
        t1 = time.perf_counter()
        (e_opt,) = dask.optimize(e)
        g = dict(e_opt.__dask_graph__())
        t2 = time.perf_counter()
        return t2 - t0, {"tasks": len(g), "build_seconds": t1 - t0,
                         "optimize_seconds": t2 - t1}

    return timed_runs(once, repeat)


def measure_sum_exp(gib, chunk_mib, repeat):
    import dask
    import dask.array as da

    n = int(gib * 2**30) // 8
    chunk = int(chunk_mib * 2**20) // 8

    def once():
        x = da.random.random((n,), chunks=chunk) + 1.0
        r = (da.exp(x) - 1 / x).sum()
        t0 = time.perf_counter()
        value = r.compute(scheduler="threads", num_workers=2)
        dt = time.perf_counter() - t0
        (r_opt,) = dask.optimize(r)
        return dt, {"tasks": len(dict(r_opt.__dask_graph__())),
                    "result": float(value)}

    out = timed_runs(once, 1 if repeat is None else repeat)
    out.update(n=n, chunk_mib=chunk_mib,
               expected=n * (math.e**2 - math.e - math.log(2)))
    return out


def child_main(spec):
    case = spec.pop("case")
    fn = {"optimize_lower": measure_optimize_lower,
          "slice_cull": measure_slice_cull,
          "sum_exp": measure_sum_exp}[case]
    print(json.dumps(fn(**spec)), flush=True)


# --------------------------------------------------------------- parent side

def run_child(row, spec, args):
    """Run one measurement in a child; print `row` completed with its results."""
    row = childproc.run_child(__file__, row, spec, args.timeout, int(args.mem_limit_gib * 2**30))
    print(json.dumps(row), flush=True)
    return row


def run_optimize_lower(args):
    n = args.blocks
    spec = {"case": "optimize_lower", "repeat": args.repeat}
    if n > 10**5:
        probe = run_child({"case": "optimize_lower", "param": n // 10, "probe": True},
                          dict(spec, blocks=n // 10, repeat=1), args)
        if "error" in probe or probe["seconds"] * 10 > args.max_seconds:
            if "error" not in probe:
                print(json.dumps({
                    "case": "optimize_lower", "param": n, "extrapolated": True,
                    "from_param": n // 10, "seconds": probe["seconds"] * 10,
                    "tasks": probe["tasks"] * 10, "us_per_task": probe["us_per_task"],
                }), flush=True)
            return
    run_child({"case": "optimize_lower", "param": n}, dict(spec, blocks=n), args)


def run_slice_cull(args):
    for expr in [args.expr] if args.expr else ["first", "slice_of_slice"]:
        if args.chunks:
            sizes, sweep = [args.chunks], False
        else:
            sizes, sweep = [10**k for k in range(4, 10) if 10**k <= SWEEP_MAX], True
        for c in sizes:
            row = run_child({"case": "slice_cull", "param": c, "expr": expr},
                            {"case": "slice_cull", "chunks": c, "expr": expr,
                             "repeat": args.repeat}, args)
            if sweep and c >= SWEEP_ALWAYS[-1] and (
                    "error" in row or row["runs"][0] >= SWEEP_CONTINUE_BELOW_S):
                break


def run_sum_exp(args):
    run_child({"case": "sum_exp", "param": args.gib},
              {"case": "sum_exp", "gib": args.gib, "chunk_mib": args.chunk_mib,
               "repeat": args.repeat}, args)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        return child_main(json.loads(sys.argv[2]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("case", choices=["optimize_lower", "slice_cull", "sum_exp", "all"])
    ap.add_argument("--blocks", type=int, default=10**5)
    ap.add_argument("--chunks", type=int, help="default: sweep 1e4..1e9")
    ap.add_argument("--expr", choices=["first", "slice_of_slice"], help="default: both")
    ap.add_argument("--gib", type=float, default=2.0)
    ap.add_argument("--chunk-mib", type=float, default=64.0)
    ap.add_argument("--repeat", type=int, help="timed runs (default: see docstring)")
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="seconds per child process (default 900)")
    ap.add_argument("--max-seconds", type=float, default=600.0,
                    help="optimize_lower: extrapolate when N would take longer")
    ap.add_argument("--mem-limit-gib", type=float, default=12.0,
                    help="address-space limit per child, 0 = none (default 12)")
    args = ap.parse_args()
    if args.case in ("optimize_lower", "all"):
        run_optimize_lower(args)
    if args.case in ("slice_cull", "all"):
        run_slice_cull(args)
    if args.case in ("sum_exp", "all"):
        run_sum_exp(args)


if __name__ == "__main__":
    main()
