"""Searching functions of the Array API: ``argmax``, ``argmin``, ``count_nonzero``,
``nonzero``, ``searchsorted``, ``where``."""

from __future__ import annotations

import numpy as np

from . import _dtypes
from ._array import Array, _as_array
from ._axes import normalize_axis
from ._elementwise import where

__all__ = ["argmax", "argmin", "count_nonzero", "nonzero", "searchsorted", "where"]


def _arg(x, largest: bool, axis, keepdims: bool) -> Array:
    x = _as_array(x)
    if axis is not None:
        axis = normalize_axis(axis, x.ndim)
    out = Array(x._raw.argreduce(largest, axis))
    if keepdims:
        index = tuple(None if (axis is None or a == axis) else slice(None) for a in range(x.ndim))
        out = out[index]
    return out


def argmax(x, /, *, axis=None, keepdims=False) -> Array:
    """Index of the first maximum along ``axis`` (of the flattened array for None)."""
    return _arg(x, True, axis, keepdims)


def argmin(x, /, *, axis=None, keepdims=False) -> Array:
    """Index of the first minimum along ``axis`` (of the flattened array for None)."""
    return _arg(x, False, axis, keepdims)


def count_nonzero(x, /, *, axis=None, keepdims=False) -> Array:
    """Number of nonzero elements along ``axis`` (int64)."""
    from ._statistical import sum

    x = _as_array(x)
    nz = x if x.dtype == _dtypes.bool else x != 0
    return sum(nz, axis=axis, keepdims=keepdims, dtype=_dtypes.int64)


def nonzero(x, /) -> tuple[Array, ...]:
    """The indices of the nonzero elements, one int64 array per axis.

    The result's length depends on the data, so ``x`` is computed here (as Dask's
    ``nonzero`` computes the chunk sizes); the indices are returned as chunked arrays."""
    from ._creation import asarray

    x = _as_array(x)
    if x.ndim == 0:
        raise ValueError("nonzero of a 0-d array")
    return tuple(asarray(i.astype(np.int64)) for i in np.nonzero(x.compute()))


def searchsorted(x1, x2, /, *, side="left", sorter=None) -> Array:
    """Where the elements of ``x2`` would be inserted into the sorted 1-d ``x1``.

    ``x1`` is computed once (a lookup table, held in memory); ``x2`` is searched block by
    block, lazily."""
    from ._api import map_blocks

    if side not in ("left", "right"):
        raise ValueError("side must be 'left' or 'right'")
    table = np.asarray(_as_array(x1).compute())
    if table.ndim != 1:
        raise ValueError("searchsorted needs a 1-d x1")
    if sorter is not None:
        table = table[np.asarray(_as_array(sorter).compute())]
    x2 = _as_array(x2)
    return map_blocks(lambda b: np.searchsorted(table, b, side=side).astype(np.int64), x2,
                      dtype=_dtypes.int64, name="searchsorted")
