"""Dask-style entry points: ``compute``, ``rechunk``, ``map_blocks``, Zarr and ``.npy`` I/O,
``explain`` and ``visualize``."""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np

from . import _dtypes
from ._recorded import core as _core
from ._array import Array, _as_array
from ._chunks import normalize_chunks

__all__ = [
    "astype", "compute", "explain", "from_npy", "from_zarr", "map_blocks", "rechunk",
    "to_zarr", "visualize", "ProgressBar",
]


class ProgressBar:
    """A progress callback: a text bar on a terminal (stderr), an updating line in a
    notebook. Pass ``progress=True`` to ``compute`` for the default one."""

    def __init__(self, file=None, width: int = 40):
        self.file = file or sys.stderr
        self.width = width
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        filled = int(frac * self.width)
        if filled == self._last and done != total:
            return
        self._last = filled
        bar = "#" * filled + " " * (self.width - filled)
        end = "\n" if done == total else ""
        print(f"\r[{bar}] {done}/{total} tasks", end=end, file=self.file, flush=True)


def _run_args(threads=0, memory_limit=None, spill_dir=None, progress=None) -> dict:
    if progress is True:
        progress = ProgressBar()
    elif progress is False:
        progress = None
    if isinstance(memory_limit, str):
        memory_limit = parse_bytes(memory_limit)
    return {"threads": threads, "memory_limit": memory_limit,
            "spill_dir": None if spill_dir is None else os.fspath(spill_dir),
            "progress": progress}


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(text: str) -> int:
    """``"1GB"`` = 10^9, ``"1GiB"`` = 2^30 (as Dask's ``parse_bytes``)."""
    s = text.strip().lower().replace(" ", "")
    num = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(num):]
    if unit not in _UNITS or not num:
        raise ValueError(f"cannot read {text!r} as a size (e.g. '512MB', '2GiB')")
    return int(float(num) * _UNITS[unit])


def compute(*arrays, threads: int = 0, memory_limit=None, spill_dir=None, progress=None,
            client=None, **engine):
    """Computes arrays together, sharing their common work: a tuple of NumPy arrays.

    ``threads``: workers (0: all cores); ``memory_limit``: bytes or a size such as
    ``"4GB"`` (tasks wait for memory and chunks spill to ``spill_dir`` beyond it);
    ``progress``: True for a progress bar, or a function ``f(done, total)``. The GIL is
    released while the kernels run; Ctrl-C stops the run.

    ``client``: a ``distributed.Client`` to run on a Dask cluster instead
    (``chunkwise.distributed.compute``, which takes the engine options ``target_seconds``,
    ``memory_bound`` and ``max_groups``); the in-task runtime's threads and memory limit
    then follow each worker's."""
    xs = [_as_array(a) for a in arrays]
    if client is not None:
        if threads or memory_limit is not None or spill_dir is not None or progress is not None:
            raise ValueError("threads, memory_limit, spill_dir and progress are local-run "
                             "options: on a cluster they follow the workers")
        from .distributed import compute as on_cluster

        return on_cluster(*xs, client=client, **engine)
    if engine:
        raise TypeError(f"compute() got unexpected keyword arguments {sorted(engine)} "
                        "(engine options need client=)")
    out = _core.compute([x._raw for x in xs], **_run_args(threads, memory_limit, spill_dir, progress))
    return tuple(out)


def rechunk(x, chunks) -> Array:
    """``x`` in new chunks (``"auto"``, an int, a tuple, per-axis lengths, or a dict of
    axis -> length)."""
    x = _as_array(x)
    regular, explicit = normalize_chunks(chunks, x.shape, x.dtype.itemsize)
    if explicit is None:
        explicit = [[min(c, n - i) for i in range(0, n, c)] or [0] for c, n in zip(regular, x.shape)]
    return Array(x._raw.rechunk(explicit))


def astype(x, dtype, /, *, copy=True, device=None) -> Array:
    """Conversion to ``dtype`` (NumPy's casting)."""
    x = _as_array(x)
    d = _dtypes.to_dtype(dtype)
    if d == x.dtype:
        return x
    return Array(x._raw.astype(d.name))


def map_blocks(func, *arrays, dtype=None, name=None) -> Array:
    """``func(*blocks)`` on aligned blocks of arrays of one shape and chunking: each call
    gets NumPy arrays and must return one of the block's shape (converted to ``dtype``,
    by default the first input's). When ``func`` takes a ``block_id`` keyword (as in
    Dask), it also gets the block's coordinates in the block grid, a tuple of ints.

    ``func`` is Python: it runs under the GIL, one block at a time, while the rest of the
    graph runs in parallel in Rust; prefer array functions where one exists.

    >>> import chunkwise as cw
    >>> x = cw.zeros(6, chunks=2, dtype=cw.int64)
    >>> cw.map_blocks(lambda b, block_id: b + block_id[0], x).compute().tolist()
    [0, 0, 1, 1, 2, 2]
    """
    xs = [_as_array(a) for a in arrays]
    if not xs:
        raise ValueError("map_blocks needs at least one array")
    d = _dtypes.to_dtype(dtype) if dtype is not None else xs[0].dtype
    label = name or getattr(func, "__name__", "map_blocks")
    return Array(_core.map_blocks(func, [x._raw for x in xs], d.name, label,
                                  _takes_block_id(func)))


def _takes_block_id(func) -> bool:
    """Whether ``func`` accepts a ``block_id`` keyword (Dask's rule)."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return "block_id" in params


def from_zarr(path, chunks=None) -> Array:
    """A Zarr array (V2 or V3, on the local file system), read lazily in its store chunks
    or in ``chunks``; slices read only the chunks they need."""
    return Array(_core.from_zarr(os.fspath(path), None if chunks is None else list(chunks)))


def to_zarr(x, path, *, zarr_format: int = 3, codec: str = "zstd", level=None, chunks=None,
            shards=None, overwrite: bool = False, threads: int = 0, memory_limit=None,
            spill_dir=None, progress=None, client=None, **engine) -> None:
    """Computes ``x`` and writes it as a Zarr array, block by block (metadata last, so an
    interrupted write never looks complete). ``codec``: none, zstd, gzip, blosc-lz4,
    blosc-zstd. ``client``: write from a Dask cluster (``chunkwise.distributed.to_zarr``)."""
    x = _as_array(x)
    if client is not None:
        from .distributed import to_zarr as on_cluster

        return on_cluster(x, path, client=client, zarr_format=zarr_format, codec=codec,
                          level=level, chunks=chunks, shards=shards, overwrite=overwrite,
                          **engine)
    _core.to_zarr(x._raw, os.fspath(path), zarr_format=zarr_format, codec_name=codec,
                  level=level, chunks=None if chunks is None else list(chunks),
                  shards=None if shards is None else list(shards), overwrite=overwrite,
                  **_run_args(threads, memory_limit, spill_dir, progress))


def from_npy(path, chunks="auto") -> Array:
    """A ``.npy`` file as a chunked array."""
    header = np.load(os.fspath(path), mmap_mode="r")
    regular, explicit = normalize_chunks(chunks, header.shape, header.dtype.itemsize)
    raw = _core.from_npy(os.fspath(path), regular)
    return Array(raw if explicit is None else raw.rechunk(explicit))


def explain(x) -> str:
    """The optimization report of ``x``'s graph."""
    return _as_array(x).explain()


def visualize(*arrays, filename=None, level: str = "optimized") -> str:
    """The graph of ``arrays`` in Graphviz DOT (``level``: layers, optimized or tasks);
    written to ``filename`` when given."""
    dot = _core.to_dot([_as_array(a)._raw for a in arrays], level)
    if filename is not None:
        with open(filename, "w") as f:
            f.write(dot)
    return dot
