"""Indexing: basic indexing (slices with any step, integers, ``None``, ``...``) runs in the
core (and is pushed down into sources); integer-array indexing on one axis and boolean
masks compute the indices first (their result's shape depends on them), then take."""

from __future__ import annotations

import numpy as np

from ._array import Array, _as_array
from ._axes import normalize_axis

__all__ = ["take", "take_along_axis"]

#: The most runs of consecutive indices ``take`` joins (one slice each).
MAX_TAKE_RUNS = 10_000

#: Above this many runs, ``take`` gathers block by block instead (``_gather``): the
#: graph then grows with the blocks along the axis, not with the runs.
MAX_SLICE_RUNS = 64

#: The largest result (bytes) that unsorted indices are reordered in, as one chunk along
#: the axis, after gathering the sorted positions.
MAX_REORDER_BYTES = 256 * 2**20


def _gather(x: Array, idx: np.ndarray, axis: int):
    """``take`` through :func:`gather_sorted`: sorted positions are gathered block by
    block; unsorted ones are gathered sorted, then reordered with one NumPy call on the
    result put in one chunk along ``axis`` (up to ``MAX_REORDER_BYTES``). ``None`` where
    neither applies."""
    from ._api import map_blocks
    from ._gather import gather_sorted

    if (np.diff(idx) >= 0).all():
        return gather_sorted(x, idx, axis)
    row = x.dtype.itemsize * int(np.prod([n for a, n in enumerate(x.shape) if a != axis]))
    if idx.size * row > MAX_REORDER_BYTES:
        return None
    order = np.argsort(idx, kind="stable")
    g = gather_sorted(x, idx[order], axis)
    if g is None:
        return None
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    whole = g.rechunk(tuple(-1 if a == axis else c for a, c in enumerate(g.chunks)))
    return map_blocks(lambda b: np.take(b, inverse, axis=axis), whole, name="take-reorder")


def _is_basic(k) -> bool:
    return k is None or k is Ellipsis or isinstance(k, (slice, int)) and not isinstance(k, bool)


def getitem(x: Array, key) -> Array:
    """``x[key]``."""
    if not isinstance(key, tuple):
        key = (key,)
    key = tuple(int(k) if isinstance(k, (Array, np.integer)) and _int_scalar(k) else k
                for k in key)
    if all(_is_basic(k) for k in key):
        return Array(x._raw.getitem(list(key)))
    if len(key) == 1 and _is_mask(key[0]):
        return _mask(x, key[0])
    arrays = [i for i, k in enumerate(key) if not _is_basic(k)]
    if len(arrays) == 1 and not any(k is Ellipsis or k is None for k in key):
        (pos,) = arrays
        indices = np.asarray(key[pos].compute() if isinstance(key[pos], Array) else key[pos])
        if indices.dtype.kind in "iu" and indices.ndim == 1:
            rest = tuple(slice(None) if i == pos else k for i, k in enumerate(key))
            return take(x, indices, axis=pos)[rest]
    raise IndexError(
        "chunkwise supports basic indices (ints, slices, None, ...), one 1-d integer array "
        f"on one axis, and a boolean mask of the array's shape; got {key!r}")


def _int_scalar(k) -> bool:
    if isinstance(k, np.integer):
        return True
    return isinstance(k, Array) and k.ndim == 0 and k.dtype.kind in "iu"


def _is_mask(k) -> bool:
    return (isinstance(k, (Array, np.ndarray)) and k.dtype == np.bool_) or isinstance(k, bool)


def _mask(x: Array, mask) -> Array:
    if isinstance(mask, bool):
        return Array(x._raw.getitem([None]))[slice(0, 1 if mask else 0)]
    m = np.asarray(mask.compute() if isinstance(mask, Array) else mask)
    if m.shape != x.shape[: m.ndim]:
        raise IndexError(f"a boolean mask of shape {m.shape} for an array of shape {x.shape}")
    from ._manipulation import reshape

    flat = reshape(x, (-1,) + x.shape[m.ndim:]) if m.ndim != 1 else x
    return take(flat, np.flatnonzero(m), axis=0)


def take(x, indices, /, *, axis=None) -> Array:
    """The elements at ``indices`` (1-d integers; negative count from the end) along
    ``axis`` (flattened for None). The indices are computed first; each run of consecutive
    indices becomes one slice of ``x`` (pushed down into its sources), and the runs are
    joined."""
    from ._manipulation import concat, reshape

    x = _as_array(x)
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    axis = normalize_axis(axis, x.ndim)
    idx = np.asarray(indices.compute() if isinstance(indices, Array) else indices)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise IndexError("take needs 1-d integer indices")
    n = x.shape[axis]
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"an index is out of range for an axis of length {n}")
    idx = np.where(idx < 0, idx + n, idx)
    if idx.size == 0:
        return x[tuple(slice(0, 0) if a == axis else slice(None) for a in range(x.ndim))]
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [idx.size]))
    if starts.size > MAX_SLICE_RUNS:
        gathered = _gather(x, idx, axis)
        if gathered is not None:
            return gathered
    if starts.size > MAX_TAKE_RUNS:
        raise IndexError(
            f"take: the indices form {starts.size} runs of consecutive positions, over the "
            f"limit of {MAX_TAKE_RUNS}, and repeat positions more often than a block holds "
            "(take fewer repeats, or rechunk and use map_blocks)")
    pieces = [
        x[tuple(slice(int(idx[s]), int(idx[e - 1]) + 1) if a == axis else slice(None)
                for a in range(x.ndim))]
        for s, e in zip(starts, ends)
    ]
    return pieces[0] if len(pieces) == 1 else concat(pieces, axis=axis)


def take_along_axis(x, indices, /, *, axis=-1) -> Array:
    """``np.take_along_axis``: computed on whole lines of ``axis`` block by block."""
    from ._api import map_blocks
    from ._sorting import _whole_axis

    x = _as_array(x)
    indices = _as_array(indices)
    axis = normalize_axis(axis, x.ndim)
    if indices.shape != x.shape:
        raise IndexError("take_along_axis: chunkwise needs indices of x's shape")
    xs = _whole_axis(x, axis)
    ix = _whole_axis(indices, axis).rechunk(xs.chunks)
    return map_blocks(lambda b, i: np.take_along_axis(b, i, axis=axis), xs, ix, dtype=x.dtype,
                      name="take_along_axis")
