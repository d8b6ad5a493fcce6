"""NaN-skipping reductions with NumPy's signatures and results (``nansum``, ``nanmean``,
``nanvar``, ...), built lazily from ``where``, ``isnan`` and the ordinary reductions, so
they fuse and run chunked like every other reduction.

They are not in the Array API standard; Dask has them, and xarray calls them through the
array's namespace for ``skipna=True`` (its default on floats): ``ds.mean("time")`` on
chunkwise variables stays lazy.

>>> import numpy as np, chunkwise as cw
>>> x = cw.asarray(np.array([[1.0, np.nan], [3.0, np.nan]]), chunks=1)
>>> cw.nanmean(x, axis=0).compute().tolist()
[2.0, nan]
"""

from __future__ import annotations

from ._array import Array, _as_array
from . import _elementwise as _ew
from . import _statistical as _st
from . import _dtypes
from ._api import astype as _astype

__all__ = [
    "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmin",
    "nanprod", "nanstd", "nansum", "nanvar",
]


def _prepare(a, out) -> Array:
    if out is not None:
        raise TypeError("chunkwise arrays are immutable: out= is not supported")
    return _as_array(a)


def _floating(x: Array) -> bool:
    """Whether ``x``'s type has NaNs (real and complex floating types)."""
    return x.dtype.kind in "fc"


def _filled(x: Array, value: float) -> Array:
    """``x`` with NaNs replaced by ``value`` (``x`` itself for types without NaN)."""
    return _ew.where(_ew.isnan(x), value, x) if _floating(x) else x


def _count(x: Array, axis, keepdims: bool) -> Array:
    """Non-NaN elements over ``axis``."""
    return _st.sum(_ew.logical_not(_ew.isnan(x)), axis=axis, keepdims=keepdims)


def nansum(a, axis=None, dtype=None, out=None, keepdims=False) -> Array:
    """Sum over ``axis`` treating NaN as zero (all-NaN slices give 0)."""
    x = _prepare(a, out)
    return _st.sum(_filled(x, 0.0), axis=axis, dtype=dtype, keepdims=keepdims)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False) -> Array:
    """Product over ``axis`` treating NaN as one (all-NaN slices give 1)."""
    x = _prepare(a, out)
    return _st.prod(_filled(x, 1.0), axis=axis, dtype=dtype, keepdims=keepdims)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False) -> Array:
    """Mean of the non-NaN elements over ``axis`` (all-NaN slices give NaN)."""
    x = _prepare(a, out)
    if not _floating(x):
        return _st.mean(x if dtype is None else _astype(x, dtype), axis=axis,
                        keepdims=keepdims)
    total = _st.sum(_filled(x, 0.0), axis=axis, dtype=dtype, keepdims=keepdims)
    # The count in the total's real precision, so float32 stays float32 (as NumPy).
    return total / _astype(_count(x, axis, keepdims), _dtypes.real_dtype(total.dtype))


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False) -> Array:
    """Variance of the non-NaN elements over ``axis`` with ``ddof`` degrees of freedom
    removed; NaN where no degree of freedom is left (NumPy's result)."""
    x = _prepare(a, out)
    if not _floating(x):
        x = _astype(x, "float64" if dtype is None else dtype)
    elif dtype is not None:
        x = _astype(x, dtype)
    mean = nanmean(x, axis=axis, keepdims=True)
    dev = _filled(x - mean, 0.0)
    if dev.dtype.kind == "c":
        dev = _ew.abs(dev)  # |z - mean|^2: a real variance, as NumPy
    squares = _st.sum(dev * dev, axis=axis, keepdims=keepdims)
    dof = _astype(_count(x, axis, keepdims) - ddof, _dtypes.real_dtype(squares.dtype))
    return _ew.where(dof > 0, squares / _ew.where(dof > 0, dof, 1.0), float("nan"))


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False) -> Array:
    """Square root of :func:`nanvar`."""
    return _ew.sqrt(nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims))


def _nan_select(a, axis, out, keepdims, f, fill: float, empty) -> Array:
    """``f`` (a min/max or arg-min/max reduction) of ``x`` with NaNs replaced by ``fill``,
    and ``empty`` for all-NaN slices."""
    x = _prepare(a, out)
    if not _floating(x):
        return f(x, axis=axis, keepdims=keepdims)
    r = f(_filled(x, fill), axis=axis, keepdims=keepdims)
    return _ew.where(_count(x, axis, keepdims) > 0, r, empty)


def nanmin(a, axis=None, out=None, keepdims=False) -> Array:
    """Minimum of the non-NaN elements over ``axis`` (all-NaN slices give NaN)."""
    return _nan_select(a, axis, out, keepdims, _st.min, float("inf"), float("nan"))


def nanmax(a, axis=None, out=None, keepdims=False) -> Array:
    """Maximum of the non-NaN elements over ``axis`` (all-NaN slices give NaN)."""
    return _nan_select(a, axis, out, keepdims, _st.max, float("-inf"), float("nan"))


def nanargmin(a, axis=None, out=None, *, keepdims=False) -> Array:
    """Index of the minimum non-NaN element over ``axis``; -1 for an all-NaN slice (where
    NumPy raises ``ValueError``: a lazy result cannot raise before it is computed)."""
    from ._searching import argmin

    return _nan_select(a, axis, out, keepdims, argmin, float("inf"), -1)


def nanargmax(a, axis=None, out=None, *, keepdims=False) -> Array:
    """Index of the maximum non-NaN element over ``axis``; -1 for an all-NaN slice (see
    :func:`nanargmin`)."""
    from ._searching import argmax

    return _nan_select(a, axis, out, keepdims, argmax, float("-inf"), -1)


def _nan_scan(a, axis, dtype, out, name: str, fill: float) -> Array:
    return _st.numpy_scan(_filled(_prepare(a, out), fill), axis, dtype, name)


def nancumsum(a, axis=None, dtype=None, out=None) -> Array:
    """Cumulative sum along ``axis`` treating NaN as zero (``axis=None``: flattened)."""
    return _nan_scan(a, axis, dtype, out, "cumulative_sum", 0.0)


def nancumprod(a, axis=None, dtype=None, out=None) -> Array:
    """Cumulative product along ``axis`` treating NaN as one (``axis=None``: flattened)."""
    return _nan_scan(a, axis, dtype, out, "cumulative_prod", 1.0)
