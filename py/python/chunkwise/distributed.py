"""Running chunkwise graphs on a Dask distributed cluster.

Dask costs milliseconds per task, chunkwise's runtime a fraction of a microsecond, so a
graph reaches Dask as few coarse *engine tasks* (by default about 100 ms of estimated work
each), each a whole fused sub-graph run by chunkwise's runtime inside the worker with the
GIL released. Only the values crossing engine tasks travel through Dask: NumPy blocks, and
tuples of NumPy arrays for reduction states.

How a graph gets to the workers: the arrays are pickled (with cloudpickle, once, as one
data key of the Dask graph): a chunkwise array pickles as the calls that made it, and a
worker replays them, plans the same graph (optimize, lower, partition) and checks that its
plan's fingerprint equals the client's before running its engine task. Plans are cached
per worker process, so each worker plans a graph once.

What is promised on worker loss: engine tasks are pure (sources are deterministic: random
arrays are counter-based, Zarr and ``.npy`` sources are re-read), so Dask recomputes the
results a lost worker held from their lineage and the result is exact; an engine task that
keeps killing workers fails with :class:`KilledWorker` naming its chunkwise layers.

What workers need: the same ``chunkwise`` version as the client (and the scheduler: Dask
unpickles task definitions there), and access to every Zarr or ``.npy`` path the graph
reads or writes (the paths are the client's).

>>> import chunkwise as cw
>>> from chunkwise.distributed import plan
>>> x = cw.random.uniform(size=(4000, 1000), chunks=(500, 1000), seed=0)
>>> p = plan(cw.sum(cw.exp(x)), target_seconds=0.01)
>>> 1 < p.num_groups < 50
True
"""

from __future__ import annotations

import collections
import hashlib
import os
import threading

import numpy as np

from ._recorded import core as _core

__all__ = ["compute", "to_dask", "to_zarr", "plan", "EngineGraph", "KilledWorker"]

try:  # the error type Dask raises; chunkwise's subclass adds what the engine task held
    from distributed import KilledWorker as _DaskKilledWorker
except ImportError:  # pragma: no cover - distributed is optional
    _DaskKilledWorker = RuntimeError


class KilledWorker(_DaskKilledWorker):
    """An engine task killed every worker that ran it (out of memory?): Dask's
    ``KilledWorker``, with the chunkwise layers and blocks it computes in the message."""

    def __init__(self, message):
        Exception.__init__(self, message)
        self.message = message

    def __str__(self):
        return self.message


def _raws(arrays):
    from ._array import Array

    out = []
    for a in arrays:
        if not isinstance(a, Array):
            raise TypeError(f"expected chunkwise arrays, got {type(a).__name__}")
        out.append(a._raw)
    return out


def _natives(raws):
    """The extension's arrays under recorded ones (``Plan`` takes the extension's)."""
    return [r._native for r in raws]


def plan(*arrays, target_seconds: float = 0.1, memory_bound=None, max_groups: int = 10_000):
    """The engine plan of ``arrays`` (a ``chunkwise._core.Plan``): the optimized, lowered
    graph cut into engine tasks of about ``target_seconds`` of estimated work, each
    receiving and handing on at most ``memory_bound`` bytes (an int, or a size such as
    ``"2GB"``), at most ``max_groups`` of them."""
    from ._api import parse_bytes

    bound = None if memory_bound is None else parse_bytes(memory_bound)
    return _core.Plan(_natives(_raws(arrays)), target_seconds=float(target_seconds), memory_bound=bound,
                      max_groups=int(max_groups))


class EngineGraph:
    """The Dask graph of chunkwise arrays: one data key holding the pickled arrays and
    one task per engine task (``(f"{label}-{token}", group)``), each reading the keys of
    the engine tasks it needs.

    ``token`` is a hash of the pickled arrays and the options, so the same graph gives the
    same keys (Dask reuses results and recomputes lost ones by key)."""

    def __init__(self, arrays, *, target_seconds=0.1, memory_bound=None, max_groups=10_000):
        import cloudpickle

        from ._api import parse_bytes

        raws = _raws(arrays)
        bound = None if memory_bound is None else parse_bytes(memory_bound)
        self.options = (float(target_seconds), bound, int(max_groups))
        self.plan = _core.Plan(_natives(raws), target_seconds=self.options[0], memory_bound=bound,
                               max_groups=self.options[2])
        self.payload = cloudpickle.dumps(raws)
        h = hashlib.sha256(self.payload)
        h.update(repr(self.options).encode())
        self.token = h.hexdigest()[:16]
        self.graph_key = f"chunkwise-graph-{self.token}"
        fp = self.plan.fingerprint
        self._keys = []
        dsk = {self.graph_key: self.payload}
        for g in range(self.plan.num_groups):
            info = self.plan.group(g)
            key = (f"{info['label']}-{self.token}", g)
            self._keys.append(key)
            dsk[key] = (_run_engine_task, self.graph_key, self.token, fp, self.options, g,
                        *[self._keys[d] for d in info["deps"]])
        self.dsk = dsk

    def key(self, g: int):
        """The Dask key of engine task ``g``."""
        return self._keys[g]

    def output_keys(self):
        """The keys of the engine tasks holding output blocks (each once, in order)."""
        groups = sorted({g for out in self.plan.output_tasks() for g, _ in out})
        return [self._keys[g] for g in groups]

    def label(self, key) -> str:
        """What an engine task computes, for error messages."""
        g = self._keys.index(key) if key in self._keys else None
        if g is None:
            return str(key)
        info = self.plan.group(g)
        return (f"engine task {g} of {self.plan.num_groups} ({info['label']}: {info['tasks']} "
                f"chunkwise tasks, ~{info['work_bytes'] / 1e9:.2f} s of work)")


# Plans built in this (worker) process, by token: each worker plans a graph once.
_PLANS: "collections.OrderedDict[str, object]" = collections.OrderedDict()
_PLANS_LOCK = threading.Lock()
_MAX_PLANS = 8


def _worker_plan(payload, token, fingerprint, options):
    import pickle

    with _PLANS_LOCK:
        p = _PLANS.get(token)
        if p is not None:
            _PLANS.move_to_end(token)
            return p
        raws = pickle.loads(payload)
        target, bound, max_groups = options
        p = _core.Plan(_natives(raws), target_seconds=target, memory_bound=bound, max_groups=max_groups)
        if p.fingerprint != fingerprint:
            raise RuntimeError(
                f"the graph rebuilt on this worker differs from the client's (fingerprint "
                f"{p.fingerprint}, client {fingerprint}): are the chunkwise versions equal?")
        _PLANS[token] = p
        while len(_PLANS) > _MAX_PLANS:
            _PLANS.popitem(last=False)
        return p


def _run_options():
    """Threads and memory limit of the in-task runtime: the worker's cores divided among
    its Dask threads, and a share of its memory limit."""
    try:
        from distributed import get_worker

        w = get_worker()
    except (ImportError, ValueError):
        return {"threads": 0, "memory_limit": None}
    nthreads = max(1, int(w.state.nthreads))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = getattr(w.memory_manager, "memory_limit", None)
    return {
        "threads": max(1, (cores or 1) // nthreads),
        "memory_limit": int(limit * 0.6 / nthreads) if limit else None,
    }


def _run_engine_task(payload, token, fingerprint, options, g, *deps):
    """One engine task, on a worker: the plan (built once per process), then the group's
    sub-graph on chunkwise's runtime."""
    try:
        p = _worker_plan(payload, token, fingerprint, options)
        return p.run(g, list(deps), **_run_options())
    except BaseException as e:
        # A Rust panic (a bug) arrives as PyO3's PanicException, a BaseException, which
        # Dask would not report as a task error (the task would hang): make it one.
        if type(e).__name__ == "PanicException":
            raise RuntimeError(f"chunkwise panicked in engine task {g}: {e}") from e
        raise


def _client(client):
    if client is not None:
        return client
    from distributed import default_client

    return default_client()


def compute(*arrays, client=None, target_seconds: float = 0.1, memory_bound=None,
            max_groups: int = 10_000):
    """Computes arrays on a Dask cluster: a tuple of NumPy arrays, equal to
    ``chunkwise.compute(*arrays)``. ``client``: a ``distributed.Client`` (default: the
    current one). The output blocks are gathered to the client."""
    c = _client(client)
    eg = EngineGraph(arrays, target_seconds=target_seconds, memory_bound=memory_bound,
                     max_groups=max_groups)
    futures = c.get(eg.dsk, eg.output_keys(), sync=False)
    try:
        results = c.gather(futures)
    except BaseException as e:
        # Engine tasks already running finish anyway: wait for them, so that nothing of
        # this run (a Zarr chunk, say) happens after this call returns.
        c.cancel(futures, force=True)
        _wait_until_idle(c, eg.token)
        if not isinstance(e, _DaskKilledWorker) or isinstance(e, KilledWorker):
            raise
        key = getattr(e, "task", None)
        raise KilledWorker(f"{eg.label(key)} killed {getattr(e, 'allowed_failures', '?')} "
                           f"workers (out of memory?): {e}") from e
    return tuple(eg.plan.assemble(list(results)))


def _wait_until_idle(c, token, timeout=60.0):
    """Waits until no worker processes an engine task whose key holds ``token``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = any(token in str(k) for keys in c.processing().values() for k in keys)
        if not busy:
            return
        time.sleep(0.05)


def _pick(result, task):
    return result[task]


def to_dask(x, *, target_seconds: float = 0.1, memory_bound=None, max_groups: int = 10_000):
    """``x`` as a ``dask.array.Array``: one Dask task per chunkwise engine task and one per
    output block (picking the block from its engine task's result), in ``x``'s chunks, so
    Dask and xarray code can consume it. Computing it needs ``chunkwise`` importable where
    it runs (a distributed cluster's workers, or the local Dask schedulers)."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    from ._array import Array

    if not isinstance(x, Array):
        raise TypeError(f"expected a chunkwise array, got {type(x).__name__}")
    eg = EngineGraph([x], target_seconds=target_seconds, memory_bound=memory_bound,
                     max_groups=max_groups)
    name = f"chunkwise-{eg.token}"
    chunks = tuple(tuple(int(c) for c in axis) for axis in x._raw.chunks)
    numblocks = tuple(len(c) for c in chunks)
    dsk = dict(eg.dsk)
    for idx, (g, t) in zip(np.ndindex(*numblocks), eg.plan.output_tasks()[0]):
        dsk[(name, *idx)] = (_pick, eg.key(g), t)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(graph, name, chunks, dtype=np.dtype(str(x.dtype)))



def to_zarr(x, path, *, client=None, zarr_format: int = 3, codec: str = "zstd", level=None,
            chunks=None, shards=None, overwrite: bool = False, target_seconds: float = 0.1,
            memory_bound=None, max_groups: int = 10_000) -> None:
    """Computes ``x`` on a Dask cluster and writes it as a Zarr array (options as
    ``chunkwise.to_zarr``): the client prepares the directory, the workers store whole
    chunks (so a recomputed block rewrites the same bytes), and the client writes the
    metadata last, once every chunk is in. A failed run removes the directory; a run killed
    before the end leaves no metadata, so the store never reads as complete. ``path`` must
    be the same directory on the client and on every worker (a shared filesystem)."""
    from ._array import Array

    if not isinstance(x, Array):
        raise TypeError(f"expected a chunkwise array, got {type(x).__name__}")
    path = os.fspath(path)
    kw = dict(zarr_format=zarr_format, codec_name=codec, level=level,
              chunks=None if chunks is None else list(chunks),
              shards=None if shards is None else list(shards))
    _core.zarr_write_step("prepare", x._raw, path, overwrite=overwrite, **kw)
    try:
        writes = Array(_core.zarr_write_step("writes", x._raw, path, **kw))
        (stored,) = compute(writes, client=client, target_seconds=target_seconds,
                            memory_bound=memory_bound, max_groups=max_groups)
        if not stored.all():  # pragma: no cover - a write fails with its error instead
            raise RuntimeError(f"{path}: {int((stored == 0).sum())} blocks were not stored")
        _core.zarr_write_step("finish", x._raw, path, **kw)
    except BaseException:
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        raise
