"""chunkwise on Dask distributed: a LocalCluster of 2 worker processes on 127.0.0.1 gives
the local runtime's results (exactly: the same kernels in the same reduction trees); a
worker killed with SIGKILL mid-run changes nothing but the count of executions; real
``dask scheduler`` / ``dask worker`` processes; Zarr written from the cluster; worker
memory under the worker's limit."""

from __future__ import annotations

import logging
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import zarr
from distributed import Client, LocalCluster

import chunkwise as cw
from chunkwise import distributed as cwd

WORKER_LIMIT = 1_500_000_000


def _cluster(**kw):
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None, silence_logs=logging.ERROR,
                        memory_limit=WORKER_LIMIT, **kw)


@pytest.fixture(scope="module")
def client():
    with _cluster() as cluster, Client(cluster) as c:
        yield c


def _x():
    return cw.random.uniform(size=(2000, 600), chunks=(250, 200), seed=11)


def _workloads(tmp_path):
    x = _x()
    src = tmp_path / "in.zarr"
    data = np.arange(120_000, dtype=np.float32).reshape(300, 400) / 7
    z = zarr.create_array(str(src), shape=data.shape, chunks=(100, 100), dtype="float32")
    z[:] = data
    zx = cw.from_zarr(src)
    a = np.linspace(0, 1, 3000 * 40).reshape(3000, 40)
    u, s, vt = cw.linalg.svd_compressed(cw.from_numpy(a, chunks=(500, 40)), 4, seed=0,
                                        recompute_input=True)
    return {
        "chain+reduction": cw.mean(cw.exp(x) - 1 / (x + 1), axis=0),
        "total": cw.sum(cw.sqrt(x) * 3),
        "slicing": x[3:1900:7, ::-3],
        "rechunk": x.rechunk((2000, 30)),
        "distance": cw.distance.pairwise_distance(x[:400, :50], metric="euclidean"),
        "cityblock": cw.distance.pairwise_distance(x[:300, :40], x[300:500, :40], "cityblock"),
        "svd_compressed": s,
        "svd_u": u,
        "zarr in": cw.sum(zx * 2, axis=1),
        "map_blocks": cw.map_blocks(lambda b: b[::-1] + 1, x[:500], dtype=x.dtype),
    }


def test_results_equal_the_local_run(client, tmp_path):
    ws = _workloads(tmp_path)
    names = list(ws)
    local = cw.compute(*ws.values())
    remote = cw.compute(*ws.values(), client=client, target_seconds=0.002)
    for name, a, b in zip(names, local, remote):
        np.testing.assert_array_equal(b, a, err_msg=name)
    # And against NumPy where it is direct.
    xs = np.asarray(_x())
    np.testing.assert_allclose(remote[0], np.mean(np.exp(xs) - 1 / (xs + 1), axis=0),
                               rtol=1e-12)
    np.testing.assert_array_equal(remote[2], xs[3:1900:7, ::-3])


def test_engine_tasks_are_few_and_keys_deterministic():
    y = cw.sum(cw.exp(_x()), axis=1)
    g1 = cwd.EngineGraph([y], target_seconds=0.01)
    g2 = cwd.EngineGraph([cw.sum(cw.exp(_x()), axis=1)], target_seconds=0.01)
    assert g1.token == g2.token and list(g1.dsk) == list(g2.dsk)
    assert 1 < g1.plan.num_groups < g1.plan.num_tasks
    # Each engine task reads only earlier ones; the key names the fused layer.
    for g in range(g1.plan.num_groups):
        assert all(d < g for d in g1.plan.group(g)["deps"])
    assert g1.key(0)[0].startswith("sum")
    # The default target (100 ms) puts this small graph in very few engine tasks.
    assert cwd.plan(y).num_groups <= 2


def test_to_dask_is_a_dask_array(client):
    import dask.array as da
    import xarray as xr

    x = _x()
    y = cw.exp(x) - x
    d = cwd.to_dask(y, target_seconds=0.002)
    assert isinstance(d, da.Array)
    assert d.chunks == tuple(tuple(c) for c in x.chunks)
    assert d.dtype == np.float64
    expected = np.asarray(y)
    np.testing.assert_array_equal(d.compute(), expected)
    # Dask's own code consumes it: a rechunk and a reduction, on the cluster.
    got = client.compute(d.rechunk((500, 600)).sum(axis=0)).result()
    np.testing.assert_allclose(got, expected.sum(axis=0), rtol=1e-12)
    # And xarray's.
    v = xr.DataArray(d, dims=("a", "b")).mean("a").compute()
    np.testing.assert_allclose(v.values, expected.mean(axis=0), rtol=1e-12)


def test_task_errors_name_the_layer_and_block(client):
    def fail_on_block_2(b, block_id=None):
        if block_id == (2,):
            raise ValueError("bad block")
        return b

    x = cw.map_blocks(fail_on_block_2, cw.arange(100, chunks=10), name="picky")
    with pytest.raises(RuntimeError, match=r"picky.*\[2\].*bad block"):
        cw.compute(x, client=client, target_seconds=0.0001)


def test_a_worker_killed_mid_run_changes_nothing(tmp_path):
    log = tmp_path / "calls.log"

    def slow(b, block_id=None):
        with open(log, "a") as f:
            f.write(f"{block_id[0]}\n")
        time.sleep(0.05)
        return b * 2 + block_id[0]

    n = 120
    x = cw.arange(n * 1000, chunks=1000, dtype=cw.float64)
    y = cw.sum(cw.map_blocks(slow, x, dtype=cw.float64) ** 2)
    expected = sum(float(np.sum((np.arange(i * 1000, (i + 1) * 1000) * 2.0 + i) ** 2))
                   for i in range(n))
    with _cluster() as cluster, Client(cluster) as c:
        pids = list(c.run(os.getpid).values())
        assert len(pids) == 2

        def kill():
            # Once a good share of the blocks ran, not at the end.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if log.exists() and len(log.read_text().splitlines()) >= n // 3:
                    os.kill(pids[0], signal.SIGKILL)
                    return
                time.sleep(0.02)

        killer = threading.Thread(target=kill)
        killer.start()
        (got,) = cw.compute(y, client=c, target_seconds=0.0005)
        killer.join()
    assert got == pytest.approx(expected, rel=1e-12)
    calls = log.read_text().splitlines()
    assert set(calls) == {str(i) for i in range(n)}
    # The killed worker's finished and running engine tasks ran again elsewhere.
    assert len(calls) > n, f"{len(calls)} block calls for {n} blocks: nothing ran twice"


def test_dask_scheduler_and_worker_processes(tmp_path):
    dask_cli = pathlib.Path(sys.executable).parent / "dask"
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen(
        [str(dask_cli), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(sched_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sched_file.exists(), "dask scheduler did not start"
        procs.append(subprocess.Popen(
            [str(dask_cli), "worker", "--scheduler-file", str(sched_file), "--nthreads", "2",
             "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "2GB"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(scheduler_file=str(sched_file), timeout=60) as c:
            c.wait_for_workers(1, timeout=60)
            x = _x()
            ys = (cw.std(cw.log1p(x), axis=1), x.T[::5] * 2)
            for got, want in zip(cw.compute(*ys, client=c, target_seconds=0.005),
                                 cw.compute(*ys)):
                np.testing.assert_array_equal(got, want)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_zarr_written_from_the_cluster_reads_back(client, tmp_path):
    x = cw.random.normal(size=(600, 450), chunks=(100, 150), seed=3)
    y = x * 2 - 1
    path = tmp_path / "out.zarr"
    cw.to_zarr(y, path, client=client, target_seconds=0.001)
    z = zarr.open_array(str(path), mode="r")
    np.testing.assert_array_equal(z[:], np.asarray(y))
    np.testing.assert_array_equal(np.asarray(cw.from_zarr(path)), np.asarray(y))
    # Zarr V2, other store chunks, on top of an existing array.
    cw.to_zarr(y[::2], path, client=client, zarr_format=2, chunks=(50, 150), overwrite=True)
    np.testing.assert_array_equal(zarr.open_array(str(path), mode="r")[:], np.asarray(y[::2]))


def test_a_failed_cluster_write_leaves_no_store(client, tmp_path):
    def fail_late(b, block_id=None):
        if block_id == (5, 0):
            raise ValueError("disk on fire")
        return b

    x = cw.map_blocks(fail_late, cw.ones((600, 100), chunks=(50, 100)), name="late")
    path = tmp_path / "failed.zarr"
    with pytest.raises(RuntimeError, match="disk on fire"):
        cw.to_zarr(x, path, client=client, target_seconds=0.0001)
    assert not path.exists()


def test_a_killed_cluster_write_never_reads_complete(client, tmp_path):
    path = tmp_path / "killed.zarr"
    started = tmp_path / "started"
    script = textwrap.dedent(f"""
        import time, chunkwise as cw
        from distributed import Client
        def slow(b, block_id=None):
            open({str(started)!r}, "a").write("x")
            time.sleep(0.2)
            return b
        x = cw.map_blocks(slow, cw.ones((4000, 100), chunks=(100, 100)), name="slow")
        with Client({client.scheduler.address!r}) as c:
            cw.to_zarr(x, {str(path)!r}, client=c, chunks=(100, 100), target_seconds=0.0001)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)
        assert p.poll() is None, "the writing client ended before it could be killed"
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait(timeout=30)
    client.restart()  # drop the orphaned engine tasks
    assert path.exists(), "the write had started"
    with pytest.raises(Exception):
        zarr.open_array(str(path), mode="r")
    with pytest.raises(OSError):
        cw.from_zarr(path)


def test_worker_memory_stays_under_its_limit(client):
    import psutil

    x = cw.random.uniform(size=(16_000, 10_000), chunks=(1000, 1000), seed=5)  # 1.28 GB
    y = cw.sum(cw.exp(x) - 1 / x, axis=0)
    peaks = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            rss = client.run(lambda: psutil.Process().memory_info().rss)
            peaks.append(max(rss.values()))
            time.sleep(0.05)

    t = threading.Thread(target=sample)
    t.start()
    try:
        (got,) = cw.compute(y, client=client)
    finally:
        stop.set()
        t.join()
    np.testing.assert_array_equal(got, y.compute())
    assert peaks and max(peaks) < WORKER_LIMIT, f"peak worker RSS {max(peaks)}"


def test_bad_engine_options_are_errors(client):
    x = _x()
    with pytest.raises(ValueError, match="local-run options"):
        cw.compute(x, client=client, threads=2)
    with pytest.raises(TypeError, match="need client"):
        cw.compute(x, target_seconds=1.0)
    with pytest.raises(ValueError, match="target_seconds"):
        cwd.plan(x, target_seconds=float("nan"))
    with pytest.raises(TypeError, match="chunkwise arrays"):
        cwd.compute(np.ones(3), client=client)


def test_an_engine_task_killing_its_workers_is_a_killed_worker_error():
    import dask
    from distributed import KilledWorker as DaskKilledWorker

    def die_on_block_3(b, block_id=None):
        if block_id == (3,):
            os._exit(1)
        return b

    x = cw.map_blocks(die_on_block_3, cw.arange(100, chunks=10), name="fatal")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with _cluster() as cluster, Client(cluster) as c:
            with pytest.raises(DaskKilledWorker, match=r"engine task .*fatal.*killed") as e:
                cw.compute(x, client=c, target_seconds=0.0001)
    assert isinstance(e.value, cwd.KilledWorker)
