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


def _per_line(x, axis: int, name: str, ascending, descending, is_descending: bool, dtype):
    """``x`` with its ``axis`` whole in each block, and ``ascending(b)`` or
    ``descending(b)`` applied to every block."""
    from ._api import map_blocks

    x = _as_array(x)
    if x.ndim == 0:
        raise ValueError(f"{name} of a 0-d array")
    axis = normalize_axis(axis, x.ndim)
    f = descending if is_descending else ascending
    return map_blocks(lambda b: f(b, axis), _whole_axis(x, axis), dtype=dtype or x.dtype,
                      name=name)


def argsort(x, /, *, axis=-1, descending=False, stable=True) -> Array:
    """Indices that sort ``x`` along ``axis`` (stable: equal elements keep their order)."""
    return _per_line(
        x, axis, "argsort",
        lambda b, a: np.argsort(b, axis=a, kind="stable").astype(np.int64),
        lambda b, a: _descending_argsort(b, a).astype(np.int64),
        descending, _dtypes.int64)


def sort(x, /, *, axis=-1, descending=False, stable=True) -> Array:
    """``x`` sorted along ``axis`` (NaN last, as NumPy)."""
    return _per_line(
        x, axis, "sort",
        lambda b, a: np.sort(b, axis=a, kind="stable"),
        lambda b, a: np.take_along_axis(b, _descending_argsort(b, a), axis=a),
        descending, None)
