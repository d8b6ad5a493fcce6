"""chunkwise on Dask distributed against Dask array on the same LocalCluster, and against
chunkwise's local runtime, in one run (issue 14):

    python benches/distributed/bench.py [--gib 8] [--n 10000] [--d 2000] [--repeat 2]

Prints one JSON line per (workload, implementation) and a Markdown table. Each timing is
the best of ``--repeat`` runs; results are checked against each other."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
import os
import pathlib
import time

import numpy as np


def best(f, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def dask_distance_fn():
    import sys

    here = pathlib.Path(__file__).resolve().parents[1] / "compare"
    sys.path.insert(0, str(here))  # dask_flagship imports its sibling childproc
    path = here / "dask_flagship.py"
    spec = importlib.util.spec_from_file_location("dask_flagship", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.dask_distance


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=8.0)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    import chunkwise as cw
    from chunkwise import distributed as cwd

    side = int(math.sqrt(args.gib * 2**30 / 8))
    side -= side % 4096 or 0
    chunk = 4096
    rows = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        # sum(exp(x) - 1/x) over random uniform x of --gib GiB.
        x = cw.random.uniform(low=0.5, high=1.5, size=(side, side), chunks=(chunk, chunk), seed=1)
        y = cw.sum(cw.exp(x) - 1 / x)
        t_local, v_local = best(lambda: float(y.compute()), args.repeat)
        eg = cwd.EngineGraph([y])
        t_cl, v_cl = best(lambda: float(cw.compute(y, client=client)[0]), args.repeat)
        dx = da.random.default_rng(1).uniform(0.5, 1.5, size=(side, side), chunks=(chunk, chunk))
        dy = (da.exp(dx) - 1 / dx).sum()
        n_dask = len(dask.optimize(dy)[0].__dask_graph__())
        t_dask, v_dask = best(lambda: float(client.compute(dy).result()), args.repeat)
        assert v_cl == v_local, (v_cl, v_local)
        assert abs(v_dask - v_local) / abs(v_local) < 1e-3  # other random numbers, same law
        case = f"sum(exp(x) - 1/x), {side}^2 f64 ({side * side * 8 / 2**30:.1f} GiB), chunks {chunk}^2"
        rows += [
            dict(case=case, impl="chunkwise local", seconds=t_local, tasks=eg.plan.num_tasks),
            dict(case=case, impl="chunkwise on Dask", seconds=t_cl, tasks=eg.plan.num_groups),
            dict(case=case, impl="Dask array", seconds=t_dask, tasks=n_dask),
        ]
        for r in rows:
            print(json.dumps(r), flush=True)
        # Euclidean distance n x d, summed in the graph.
        rc, cc = 2500, 250
        a = cw.random.uniform(size=(args.n, args.d), chunks=(rc, cc), seed=2)
        dist = cw.sum(cw.distance.pairwise_distance(a, metric="euclidean"))
        t_local, v_local = best(lambda: float(dist.compute()), args.repeat)
        eg = cwd.EngineGraph([dist])
        t_cl, v_cl = best(lambda: float(cw.compute(dist, client=client)[0]), args.repeat)
        an = np.asarray(a)
        ddist = dask_distance_fn()(an, "euclidean", rc, cc).sum()
        n_dask = len(dask.optimize(ddist)[0].__dask_graph__())
        t_dask, v_dask = best(lambda: float(client.compute(ddist).result()), args.repeat)
        assert v_cl == v_local and abs(v_dask - v_local) / v_local < 1e-9, (v_cl, v_local, v_dask)
        case = f"euclidean distance {args.n} x {args.d} (chunks {rc} x {cc}), summed"
        rows += [
            dict(case=case, impl="chunkwise local", seconds=t_local, tasks=eg.plan.num_tasks),
            dict(case=case, impl="chunkwise on Dask", seconds=t_cl, tasks=eg.plan.num_groups),
            dict(case=case, impl="Dask array", seconds=t_dask, tasks=n_dask),
        ]
    for r in rows[3:]:
        print(json.dumps(r))
    print("\n| workload | implementation | seconds | tasks given to the scheduler |")
    print("|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['impl']} | {r['seconds']:.2f} | {r['tasks']} |")
    print("\n| workload | Dask / chunkwise on Dask | chunkwise on Dask / local | "
          "(on Dask - local) per engine task |")
    print("|---|---:|---:|---:|")
    for i in range(0, len(rows), 3):
        loc, cl, dk = rows[i:i + 3]
        per = (cl["seconds"] - loc["seconds"]) / cl["tasks"] * 1e3
        print(f"| {loc['case']} | {dk['seconds'] / cl['seconds']:.1f}x | "
              f"{cl['seconds'] / loc['seconds']:.2f} | {per:.1f} ms |")
    print(f"\n(2 worker processes x 1 Dask thread; chunkwise's in-task runtime uses "
          f"{os.cpu_count()} threads per worker)")


if __name__ == "__main__":
    main()
