"""Sorting functions of the Array API.

Sorting is along one axis: the array is rechunked so that axis is one chunk (all other
axes keep their chunks, so a block holds whole lines to sort), then each block is sorted
by NumPy's stable sort. Memory: one block holds a whole line of the axis."""

from __future__ import annotations

import numpy as np

from . import _dtypes
from ._array import Array, _as_array
from ._axes import normalize_axis

__all__ = ["argsort", "sort"]


def _whole_axis(x: Array, axis: int) -> Array:
    chunks = tuple((n,) if a == axis else c for a, (n, c) in enumerate(zip(x.shape, x.chunks)))
    return x if chunks == x.chunks else x.rechunk(chunks)


def _descending_argsort(b: np.ndarray, axis: int) -> np.ndarray:
    # Stable descending order: sort the reversed line, then map positions back.
    n = b.shape[axis]
    rev = np.flip(b, axis=axis)
    idx = np.argsort(rev, axis=axis, kind="stable")
    return np.flip(n - 1 - idx, axis=axis)


def argsort(x, /, *, axis=-1, descending=False, stable=True) -> Array:
    """Indices that sort ``x`` along ``axis`` (stable: equal elements keep their order)."""
    from ._api import map_blocks

    x = _as_array(x)
    if x.ndim == 0:
        raise ValueError("argsort of a 0-d array")
    axis = normalize_axis(axis, x.ndim)
    y = _whole_axis(x, axis)
    if descending:
        f = lambda b: _descending_argsort(b, axis).astype(np.int64)  # noqa: E731
    else:
        f = lambda b: np.argsort(b, axis=axis, kind="stable").astype(np.int64)  # noqa: E731
    return map_blocks(f, y, dtype=_dtypes.int64, name="argsort")


def sort(x, /, *, axis=-1, descending=False, stable=True) -> Array:
    """``x`` sorted along ``axis`` (NaN last, as NumPy)."""
    from ._api import map_blocks

    x = _as_array(x)
    if x.ndim == 0:
        raise ValueError("sort of a 0-d array")
    axis = normalize_axis(axis, x.ndim)
    y = _whole_axis(x, axis)
    if descending:
        f = lambda b: np.take_along_axis(b, _descending_argsort(b, axis), axis=axis)  # noqa
    else:
        f = lambda b: np.sort(b, axis=axis, kind="stable")  # noqa: E731
    return map_blocks(f, y, dtype=x.dtype, name="sort")
