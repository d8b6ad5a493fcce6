"""Statistical functions of the Array API: tree reductions of the core, and
``cumulative_sum`` / ``cumulative_prod`` as scans across chunks."""

from __future__ import annotations

import math

import numpy as np

from . import _dtypes
from ._array import Array, _as_array
from ._axes import normalize_axes, normalize_axis

__all__ = ["cumulative_prod", "cumulative_sum", "max", "mean", "min", "prod", "std", "sum", "var"]


def _reduce(x: Array, name: str, axis, keepdims: bool, ddof: int = 0) -> Array:
    x = _as_array(x)
    axes = normalize_axes(axis, x.ndim)
    return Array(x._raw.reduce(name, axes, keepdims, ddof))


def _accumulator(x: Array, dtype) -> Array:
    if dtype is not None:
        return x.astype(_dtypes.to_dtype(dtype))
    return x


def _integer_total(x, name: str, axis, dtype, keepdims: bool) -> Array:
    x = _accumulator(_as_array(x), dtype)
    out = _reduce(x, name, axis, keepdims)
    want = _dtypes.to_dtype(dtype) if dtype is not None else None
    if want is not None and out.dtype != want:
        out = out.astype(want)
    return out


def sum(x, /, *, axis=None, dtype=None, keepdims=False) -> Array:
    """Sum over ``axis`` (signed integers and bool give int64, unsigned integers uint64,
    floats keep their type)."""
    return _integer_total(x, "sum", axis, dtype, keepdims)


def prod(x, /, *, axis=None, dtype=None, keepdims=False) -> Array:
    """Product over ``axis`` (integer types as ``sum``)."""
    return _integer_total(x, "prod", axis, dtype, keepdims)


def mean(x, /, *, axis=None, keepdims=False) -> Array:
    """Arithmetic mean over ``axis``."""
    return _reduce(x, "mean", axis, keepdims)


def _moment(x, name: str, axis, correction, keepdims: bool) -> Array:
    x = _as_array(x)
    if correction == int(correction) and correction >= 0:
        return _reduce(x, name, axis, keepdims, int(correction))
    # A fractional correction: rescale the population variance, N / (N - c).
    n = math.prod(x.shape[a] for a in normalize_axes(axis, x.ndim))
    v = _reduce(x, "var", axis, keepdims, 0) * (n / (n - correction))
    return v ** 0.5 if name == "std" else v


def var(x, /, *, axis=None, correction=0.0, keepdims=False) -> Array:
    """Variance over ``axis`` with ``correction`` degrees of freedom removed."""
    return _moment(x, "var", axis, correction, keepdims)


def std(x, /, *, axis=None, correction=0.0, keepdims=False) -> Array:
    """Standard deviation over ``axis`` with ``correction`` degrees of freedom removed."""
    return _moment(x, "std", axis, correction, keepdims)


def min(x, /, *, axis=None, keepdims=False) -> Array:
    """Minimum over ``axis`` (NaN propagates; an empty reduction is an error)."""
    return _reduce(x, "min", axis, keepdims)


def max(x, /, *, axis=None, keepdims=False) -> Array:
    """Maximum over ``axis`` (NaN propagates; an empty reduction is an error)."""
    return _reduce(x, "max", axis, keepdims)


def _scan(x, axis, dtype, include_initial: bool, name: str) -> Array:
    from ._api import map_blocks
    from ._manipulation import concat

    x = _as_array(x)
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"{name} needs axis= for a {x.ndim}-d array")
        axis = 0
    axis = normalize_axis(axis, x.ndim)
    reducer = sum if name == "cumulative_sum" else prod
    # The accumulator type is the reduction's (int64 for small ints).
    acc = reducer(x[tuple(slice(0, 0) if a == axis else slice(None) for a in range(x.ndim))],
                  axis=axis, dtype=dtype).dtype if dtype is None else _dtypes.to_dtype(dtype)
    x = x.astype(acc)
    ufunc = np.cumsum if name == "cumulative_sum" else np.cumprod
    local = map_blocks(lambda b: ufunc(b, axis=axis, dtype=acc), x, dtype=acc, name=name)
    # Carry each block's total into the next ones: the scan of the per-block totals.
    starts = np.cumsum((0,) + x.chunks[axis])[:-1]
    out = local
    if len(starts) > 1:
        pieces = []
        carry = None
        for s, n in zip(starts, x.chunks[axis]):
            index = tuple(slice(s, s + n) if a == axis else slice(None) for a in range(x.ndim))
            piece = local[index]
            if carry is not None:
                piece = piece + carry if name == "cumulative_sum" else piece * carry
            last = tuple(slice(n - 1, n) if a == axis else slice(None) for a in range(x.ndim))
            carry = piece[last]
            pieces.append(piece)
        out = concat(pieces, axis=axis)
    if include_initial:
        from ._creation import full

        shape = tuple(1 if a == axis else n for a, n in enumerate(x.shape))
        init = full(shape, 0 if name == "cumulative_sum" else 1, dtype=acc)
        out = concat([init, out], axis=axis)
    return out


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False) -> Array:
    """Cumulative sum along ``axis``: each block's running sum (NumPy's ``cumsum`` per
    block), plus the running total of the blocks before it."""
    return _scan(x, axis, dtype, include_initial, "cumulative_sum")


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False) -> Array:
    """Cumulative product along ``axis`` (as ``cumulative_sum``)."""
    return _scan(x, axis, dtype, include_initial, "cumulative_prod")


def numpy_scan(x, axis, dtype, name: str) -> Array:
    """``cumulative_sum`` / ``cumulative_prod`` (``name``) with NumPy's ``cumsum``
    convention: ``axis=None`` scans the flattened array."""
    from ._manipulation import reshape

    x = _as_array(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    return {"cumulative_sum": cumulative_sum, "cumulative_prod": cumulative_prod}[name](
        x, axis=axis, dtype=dtype)
