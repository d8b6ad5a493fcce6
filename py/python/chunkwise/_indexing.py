"""Indexing: basic indexing (slices with any step, integers, ``None``, ``...``) runs in the
core (and is pushed down into sources); integer-array indexing on one axis and boolean
masks compute the indices first (their result's shape depends on them), then take."""

from __future__ import annotations

import numpy as np

from ._array import Array, _as_array, _check_scalar_kind
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
    # As NumPy: each mask length is the array's, or 0 (which selects nothing).
    if m.ndim > x.ndim or not all(k in (n, 0) for k, n in zip(m.shape, x.shape)):
        raise IndexError(f"a boolean mask of shape {m.shape} for an array of shape {x.shape}")
    from ._manipulation import reshape

    rest = x.shape[m.ndim:]
    if m.shape != x.shape[: m.ndim]:
        # A 0-length mask axis where the array's is longer: nothing is selected.
        empty = x[(slice(0, 0),) + (slice(None),) * (x.ndim - 1)]
        return reshape(empty, (0,) + rest) if m.ndim != 1 else empty
    flat = reshape(x, (int(np.prod(x.shape[: m.ndim])),) + rest) if m.ndim != 1 else x
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
            f"limit of {MAX_TAKE_RUNS}, and cannot be gathered block by block: a block "
            f"would take more positions than it holds (repeats), or unsorted indices give "
            f"a result over {MAX_REORDER_BYTES} bytes to reorder (sort them, or rechunk and "
            "use map_blocks)")
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


# --- __setitem__ -------------------------------------------------------------------------
# A chunkwise graph is immutable, but the Python ``Array`` object can rebind its graph:
# ``x[key] = value`` makes ``x`` a lazy ``where(selected, placed_value, x)``, with
# ``selected`` built from index comparisons (an ``arange`` along each axis compared with the
# key) and ``placed_value`` the value moved to the selected positions (lazy slices, stacks
# and concatenations). Other arrays built from ``x`` before (``x[1:]`` and so on) keep the
# old values: chunkwise has no views.


def _expand_basic_key(key: tuple, shape: tuple) -> tuple[list, list]:
    """(``per_axis``: for each axis of the array, an int (normalized) or a ``range`` of
    the selected positions; ``region``: for each axis of ``x[key]``, None for a new axis or
    the array axis it comes from)."""
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > len(shape):
        raise IndexError(f"too many indices ({n_real}) for an array with {len(shape)} axes")
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - n_real) + key[i + 1:]
    else:
        key = key + (slice(None),) * (len(shape) - n_real)
    per_axis: list = []
    region: list = []
    for k in key:
        if k is None:
            region.append(None)
            continue
        axis = len(per_axis)
        n = shape[axis]
        if isinstance(k, slice):
            per_axis.append(range(n)[k])
            region.append(axis)
        else:
            k = int(k)
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {axis} with size {n}")
            per_axis.append(k % n)
    return per_axis, region


def _axis_condition(n: int, sel, chunks) -> Array:
    """A bool vector of length ``n``: whether each position is selected by ``sel`` (an int
    or a ``range``)."""
    from ._creation import arange

    i = arange(n, chunks=(chunks,))
    if isinstance(sel, int):
        return i == sel
    lo, hi = min(sel[0], sel[-1]), max(sel[0], sel[-1])
    cond = (i >= lo) & (i <= hi)
    step = abs(sel.step)
    if step > 1 and len(sel) > 1:
        cond = cond & ((i - lo) % step == 0)
    return cond


def _place_along(v: Array, axis: int, sel: range, n: int) -> Array:
    """``v`` (of length ``len(sel)`` along ``axis``) moved to the positions ``sel`` of an
    axis of length ``n``; the other positions are zeros (masked out by the caller)."""
    from ._creation import zeros
    from ._manipulation import concat, flip, reshape, stack

    if sel.step < 0:
        v = flip(v, axis=axis)
        sel = sel[::-1]
    step, length = sel.step, len(sel)

    def filler(k: int) -> Array:
        shape = list(v.shape)
        shape[axis] = k
        return zeros(tuple(shape), dtype=v.dtype)

    if step > 1 and length > 1:
        # Interleave step - 1 zeros after each element, then drop the trailing ones.
        spread = stack([v] + [filler(v.shape[axis])] * (step - 1), axis=axis + 1)
        shape = list(v.shape)
        shape[axis] = length * step
        v = reshape(spread, tuple(shape))
        v = v[(slice(None),) * axis + (slice(0, (length - 1) * step + 1),)]
    before = sel.start
    after = n - (before + v.shape[axis])
    parts = ([filler(before)] if before else []) + [v] + ([filler(after)] if after else [])
    return parts[0] if len(parts) == 1 else concat(parts, axis=axis)


def _value_array(x: Array, value) -> Array:
    """``value`` (an Array, a NumPy array or a nested sequence) as an Array of ``x``'s dtype
    (converted as NumPy's assignment converts)."""
    v = _as_array(value)
    if (v.dtype.kind == "b") != (x.dtype.kind == "b"):
        raise TypeError(f"cannot assign {v.dtype} values to a {x.dtype} array")
    return v if v.dtype == x.dtype else v.astype(x.dtype)


def _finish(x: Array, selected: Array, placed) -> "object":
    """The raw graph of ``where(selected, placed, x)`` in ``x``'s dtype and chunks."""
    from ._elementwise import where
    from ._manipulation import broadcast_to

    selected = broadcast_to(selected, x.shape)
    out = where(selected, placed, x)
    if out.dtype != x.dtype:
        out = out.astype(x.dtype)
    if out.chunks != x.chunks:
        out = out.rechunk(x.chunks)
    return out._raw


def setitem(x: Array, key, value):
    """The raw graph of ``x`` with ``x[key] = value`` (basic indices, or one boolean mask);
    ``value`` is a Python scalar of the array's kind or an array broadcastable to
    ``x[key].shape``."""
    from ._array import _SCALARS

    if not isinstance(key, tuple):
        key = (key,)
    key = tuple(int(k) if isinstance(k, (Array, np.integer)) and _int_scalar(k) else k
                for k in key)
    scalar = isinstance(value, _SCALARS)
    if scalar:
        if isinstance(value, complex) and x.dtype.kind != "c":
            raise TypeError(f"a complex value cannot be stored in a {x.dtype} array")
        _check_scalar_kind(x, value)
    if len(key) == 1 and _is_mask(key[0]):
        return _setitem_mask(x, key[0], value, scalar)
    if not all(_is_basic(k) for k in key):
        raise IndexError(
            "chunkwise's __setitem__ takes basic indices (ints, slices, None, ...) or one "
            f"boolean mask; got {key!r}")
    per_axis, region = _expand_basic_key(key, x.shape)
    region_shape = tuple(1 if a is None else len(per_axis[a]) for a in region)
    if not scalar:
        v = _value_array(x, value)
        try:
            target = np.broadcast_shapes(v.shape, region_shape)
        except ValueError:
            target = None
        if target != region_shape:
            raise ValueError(
                f"could not broadcast a value of shape {v.shape} to the indexed shape "
                f"{region_shape}")
    if any(isinstance(s, range) and len(s) == 0 for s in per_axis):
        return x._raw  # nothing is selected
    from functools import reduce

    from ._manipulation import broadcast_to, expand_dims, reshape

    conds = []
    for axis, sel in enumerate(per_axis):
        n = x.shape[axis]
        if isinstance(sel, range) and len(sel) == n and abs(sel.step) == 1:
            continue  # the whole axis
        c = _axis_condition(n, sel, x.chunks[axis])
        conds.append(reshape(c, tuple(n if a == axis else 1 for a in range(x.ndim))))
    if conds:
        selected = reduce(lambda a, b: a & b, conds)
    else:
        from ._creation import full

        selected = full((), True, dtype=np.bool_)
    if scalar:
        return _finish(x, selected, value)
    v = broadcast_to(v, region_shape)
    # Drop the new axes (length 1), then put the value in the array's coordinates.
    v = v[tuple(0 if a is None else slice(None) for a in region)]
    for axis, sel in enumerate(per_axis):
        if isinstance(sel, int):
            v = expand_dims(v, axis=axis)
            sel = range(sel, sel + 1)
        if len(sel) != x.shape[axis] or sel.step != 1:
            v = _place_along(v, axis, sel, x.shape[axis])
    return _finish(x, selected, v)


def _setitem_mask(x: Array, mask, value, scalar: bool):
    """``x[mask] = value``: a scalar (or a value broadcastable to the trailing axes) through
    ``where``; one value per selected element is moved to the selected positions (the mask
    is computed first, as for ``x[mask]``)."""
    from ._manipulation import broadcast_to, reshape

    if isinstance(mask, bool):
        # x[True] selects the whole array under a new axis; x[False] nothing.
        if not scalar:
            v = _value_array(x, value)
            if np.broadcast_shapes(v.shape, (1,) + x.shape) != (1,) + x.shape:
                raise ValueError(f"could not broadcast a value of shape {v.shape} to "
                                 f"{(1,) + x.shape}")
            value = reshape(broadcast_to(v, (1,) + x.shape), x.shape)
        return _finish(x, _as_array(mask), value) if mask else x._raw
    m = _as_array(mask)
    if m.shape != x.shape[: m.ndim]:
        raise IndexError(f"a boolean mask of shape {m.shape} for an array of shape {x.shape}")
    rest = x.shape[m.ndim:]
    selected = reshape(m, m.shape + (1,) * len(rest))
    if scalar:
        return _finish(x, selected, value)
    v = _value_array(x, value)
    # A value that does not vary along the selected elements: broadcast over the trailing
    # axes, no data-dependent placement.
    vshape = v.shape[1:] if v.ndim == len(rest) + 1 and v.shape[0] == 1 else v.shape
    if len(vshape) <= len(rest):
        try:
            ok = np.broadcast_shapes(vshape, rest) == rest
        except ValueError:
            ok = False
        if ok:
            return _finish(x, selected, reshape(v, vshape) if vshape != v.shape else v)
    # One value row per selected element: compute the mask, then gather the value rows
    # to the positions they go to.
    flat_mask = np.asarray(m.compute()).ravel()
    count = int(flat_mask.sum())
    want = (count,) + rest
    try:
        ok = np.broadcast_shapes(v.shape, want) == want
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"could not broadcast a value of shape {v.shape} to the indexed "
                         f"shape {want}")
    if count == 0:
        return x._raw
    from ._creation import zeros
    from ._manipulation import concat

    v = broadcast_to(v, want)
    # Runs of equal mask values: a selected run takes the next value rows (a slice), a
    # gap is zeros (masked out by where).
    edges = np.flatnonzero(np.diff(flat_mask.astype(np.int8))) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [flat_mask.size]))
    if starts.size > MAX_TAKE_RUNS:
        raise IndexError(
            f"__setitem__: the mask forms {starts.size} runs, over the limit of "
            f"{MAX_TAKE_RUNS}; use where() with a value of the array's shape instead")
    pieces, row = [], 0
    for s, e in zip(starts, ends):
        if flat_mask[s]:
            pieces.append(v[row:row + (e - s)])
            row += e - s
        else:
            pieces.append(zeros((int(e - s),) + rest, dtype=x.dtype))
    placed = pieces[0] if len(pieces) == 1 else concat(pieces, axis=0)
    return _finish(x, selected, reshape(placed, x.shape))
