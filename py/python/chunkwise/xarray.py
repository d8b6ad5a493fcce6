"""An xarray chunk manager for chunkwise (xarray's ``ChunkManagerEntrypoint``, as
cubed-xarray provides for Cubed).

Registered under the ``xarray.chunkmanagers`` entry point as ``"chunkwise"`` (see
``py/pyproject.toml``), so that with the package installed

>>> ds = xr.open_zarr(store, chunked_array_type="chunkwise", chunks={"time": 5})  # doctest: +SKIP

gives chunkwise-backed variables. Without installation pass an instance instead:
``chunked_array_type=ChunkwiseManager()``.

``from_array`` is lazy: xarray hands the manager a lazily indexed, CF-decoding wrapper of
the store's variable, and each chunkwise block reads its region from that wrapper when the
graph runs (``chunkwise.from_array``), so opening a dataset reads nothing and a
computation reads each block once. The reads are Python calls (xarray's decoding and the
store's codecs), so they run under the GIL, one block at a time, while the computation on
the blocks runs in parallel in Rust. NaN-skipping reductions (xarray's default on floats)
are chunkwise's lazy ``nanmean`` etc.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xarray.namedarray.parallelcompat import ChunkManagerEntrypoint

import chunkwise as _cw
from ._array import Array
from ._chunks import normalize_chunks as _normalize
from ._dask import _whole_lines_reduce


def _explicit(chunks, shape, itemsize) -> tuple[tuple[int, ...], ...]:
    if isinstance(chunks, dict):
        chunks = tuple(chunks.get(a, -1) for a in range(len(shape)))
    if isinstance(chunks, tuple):
        chunks = tuple(-1 if c is None else c for c in chunks)
    regular, explicit = _normalize(chunks, shape, itemsize)
    if explicit is None:
        explicit = [[min(c, n - i) for i in range(0, n, c)] or [0] for c, n in zip(regular, shape)]
    return tuple(tuple(e) for e in explicit)


class ChunkwiseManager(ChunkManagerEntrypoint):
    """xarray's interface to chunkwise: chunking, computing and block-wise operations of
    ``chunkwise.Array`` variables."""

    available = True

    def __init__(self) -> None:
        """Sets ``array_cls`` to ``chunkwise.Array``."""
        self.array_cls = Array

    def is_chunked_array(self, data: Any) -> bool:
        """Whether ``data`` is a ``chunkwise.Array``."""
        return isinstance(data, Array)

    def chunks(self, data: Array):
        """The chunks of ``data`` as a tuple of tuples of ints."""
        return data.chunks

    def normalize_chunks(self, chunks, shape=None, limit=None, dtype=None, previous_chunks=None):
        """Explicit per-axis chunk lengths (``"auto"``, ints, -1/None, tuples or dicts)."""
        itemsize = np.dtype(dtype).itemsize if dtype is not None else 8
        return _explicit(chunks, tuple(shape), itemsize)

    def from_array(self, data: Any, chunks, **kwargs) -> Array:
        """A chunkwise array of ``data``: a NumPy array is wrapped (no copy); any other
        array-like (xarray's lazy backend arrays) is read block by block when the graph
        runs (``chunkwise.from_array``)."""
        itemsize = np.dtype(data.dtype).itemsize
        return _cw.from_array(data, _explicit(chunks, tuple(data.shape), itemsize),
                              name=kwargs.get("name"))

    def rechunk(self, data: Array, chunks, **kwargs) -> Array:
        """``data`` in new chunks."""
        return data.rechunk(_explicit(chunks, data.shape, data.dtype.itemsize))

    def compute(self, *data: Any, **kwargs):
        """Computes every chunkwise array among ``data`` in one run (shared work);
        other objects pass through."""
        idx = [i for i, d in enumerate(data) if isinstance(d, Array)]
        out = list(data)
        if idx:
            for i, r in zip(idx, _cw.compute(*[data[i] for i in idx], **kwargs)):
                out[i] = r
        return tuple(out)

    def persist(self, *data: Any, **kwargs):
        """Computes and wraps the results again as chunkwise arrays of the same chunks."""
        done = self.compute(*data, **kwargs)
        return tuple(_cw.from_numpy(r, d.chunks) if isinstance(d, Array) else r
                     for d, r in zip(data, done))

    @property
    def array_api(self):
        """The ``chunkwise`` Array API namespace."""
        return _cw

    def reduction(self, arr, func, combine_func=None, aggregate_func=None, axis=None,
                  dtype=None, keepdims=False):
        """A general reduction: ``func`` then ``aggregate_func`` over the whole reduced
        axes. The reduced axes are first rechunked into one chunk, so ``func`` runs on
        complete lanes (correct, less parallel than a tree)."""
        agg = aggregate_func or combine_func

        def block(b, axis, keepdims):
            r = func(b, axis=axis, keepdims=True)
            if agg is not None:
                r = agg(r, axis=axis, keepdims=True)
            return np.asarray(r)

        return _whole_lines_reduce(arr, axis, block, dtype or arr.dtype, keepdims, "reduction")

    def scan(self, func, binop, ident, arr, axis=None, dtype=None, **kwargs):
        """A cumulative reduction along ``axis`` (``np.cumsum``/``np.cumprod`` through
        ``chunkwise.cumulative_sum``/``cumulative_prod``; other scans with the axis in one
        chunk)."""
        axis = 0 if axis is None else axis % arr.ndim
        if func is np.cumsum:
            return _cw.cumulative_sum(arr, axis=axis, dtype=dtype)
        if func is np.cumprod:
            return _cw.cumulative_prod(arr, axis=axis, dtype=dtype)
        x = arr.rechunk(tuple(-1 if a == axis else c for a, c in enumerate(arr.chunks)))
        return _cw.map_blocks(lambda b: np.asarray(func(b, axis=axis)), x,
                              dtype=dtype or arr.dtype, name=getattr(func, "__name__", "scan"))

    def apply_gufunc(self, func, signature, *args, axes=None, axis=None, keepdims=False,
                     output_dtypes=None, output_sizes=None, vectorize=None,
                     allow_rechunk=False, meta=None, **kwargs):
        """``func`` on aligned blocks, for signatures without core dimensions
        (``"(),()->()"``, elementwise) and one output; other signatures raise
        ``NotImplementedError``."""
        ins, _, outs = signature.partition("->")
        if ins.replace("(", "").replace(")", "").replace(",", "").strip() or \
                outs.replace("(", "").replace(")", "").strip() or "," in outs:
            raise NotImplementedError(
                f"chunkwise's apply_gufunc supports only elementwise signatures with one "
                f"output, not {signature!r}")
        if vectorize:
            func = np.vectorize(func)
        dtype = output_dtypes[0] if output_dtypes else None
        arrays = [a for a in args]
        shape = np.broadcast_shapes(*[np.shape(a) for a in arrays])
        template = next(a for a in arrays if isinstance(a, Array) and a.shape == shape) \
            if any(isinstance(a, Array) and a.shape == shape for a in arrays) else None
        if template is None:
            raise NotImplementedError("apply_gufunc: broadcasting of chunkwise inputs")
        cw_args = [a.rechunk(template.chunks) if isinstance(a, Array) and a.shape == shape
                   else a for a in arrays]
        if any(isinstance(a, Array) and a.shape != shape for a in cw_args) or \
                any(not isinstance(a, Array) and np.ndim(a) > 0 for a in cw_args):
            raise NotImplementedError("apply_gufunc: inputs must share one shape (or be scalars)")
        pos = [i for i, a in enumerate(cw_args) if isinstance(a, Array)]
        consts = list(cw_args)

        def block(*bs):
            full = list(consts)
            for i, b in zip(pos, bs):
                full[i] = b
            return np.asarray(func(*full, **kwargs))

        return _cw.map_blocks(block, *[cw_args[i] for i in pos], dtype=dtype,
                              name=getattr(func, "__name__", "apply_gufunc"))

    def map_blocks(self, func, *args, dtype=None, chunks=None, drop_axis=None, new_axis=None,
                   **kwargs):
        """``func`` on aligned blocks of arrays of one shape and chunking (no
        ``chunks``/``drop_axis``/``new_axis``)."""
        if chunks is not None or drop_axis or new_axis:
            raise NotImplementedError("chunkwise map_blocks keeps the block shapes")
        kwargs.pop("name", None), kwargs.pop("meta", None), kwargs.pop("token", None)
        return _cw.map_blocks(lambda *bs: func(*bs, **kwargs), *args, dtype=dtype)

    def blockwise(self, func, out_ind, *args, name=None, token=None, dtype=None,
                  adjust_chunks=None, new_axes=None, align_arrays=True, concatenate=None,
                  meta=None, **kwargs):
        """Blockwise for the case where every array uses ``out_ind`` as its index (an
        aligned elementwise map); other patterns raise ``NotImplementedError``."""
        arrays, inds = args[0::2], args[1::2]
        if adjust_chunks or new_axes or any(tuple(i) != tuple(out_ind) for i in inds if i is not None):
            raise NotImplementedError("chunkwise blockwise supports only identical indices")
        return self.map_blocks(func, *arrays, dtype=dtype, **kwargs)

    def unify_chunks(self, *args, **kwargs):
        """Rechunks ``(array, index, ...)`` pairs to common chunks per index (the
        finest common refinement); returns ``(chunkss, arrays)``."""
        arrays, inds = args[0::2], args[1::2]
        bounds: dict = {}
        for a, ind in zip(arrays, inds):
            if ind is None:
                continue
            for i, c in zip(ind, a.chunks):
                bounds.setdefault(i, set()).update(np.cumsum((0,) + c).tolist())
        chunkss = {i: tuple(int(v) for v in np.diff(sorted(b))) for i, b in bounds.items()}
        out = [a.rechunk(tuple(chunkss[i] for i in ind)) if ind is not None else a
               for a, ind in zip(arrays, inds)]
        return chunkss, out

    def store(self, sources, targets, **kwargs):
        """Writes the sources into array-like targets (``target[...] = block`` per
        block of the source); computes each source once."""
        if isinstance(sources, Array):
            sources, targets = [sources], [targets]
        kwargs.pop("lock", None), kwargs.pop("compute", None), kwargs.pop("flush", None)
        regions = kwargs.pop("regions", None)
        results = _cw.compute(*sources)
        for k, (r, t) in enumerate(zip(results, targets)):
            region = regions[k] if regions else ()
            t[region if region else ...] = r
        return None

    def get_auto_chunk_size(self) -> int:
        """The target bytes of an ``"auto"`` chunk (128 MiB, as Dask)."""
        from ._chunks import AUTO_CHUNK_BYTES

        return AUTO_CHUNK_BYTES
