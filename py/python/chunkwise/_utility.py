"""Utility functions of the Array API: ``all``, ``any``, ``diff``."""

from __future__ import annotations

from ._array import Array, _as_array
from ._axes import normalize_axes, normalize_axis

__all__ = ["all", "any", "diff"]


def all(x, /, *, axis=None, keepdims=False) -> Array:
    """Whether every element along ``axis`` is true (nonzero)."""
    x = _as_array(x)
    return Array(x._raw.reduce("all", normalize_axes(axis, x.ndim), keepdims, 0))


def any(x, /, *, axis=None, keepdims=False) -> Array:
    """Whether some element along ``axis`` is true (nonzero)."""
    x = _as_array(x)
    return Array(x._raw.reduce("any", normalize_axes(axis, x.ndim), keepdims, 0))


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None) -> Array:
    """The ``n``-th discrete difference along ``axis`` (slices and a subtraction)."""
    from ._manipulation import concat

    x = _as_array(x)
    axis = normalize_axis(axis, x.ndim)
    if n < 0:
        raise ValueError(f"diff: n must be non-negative, not {n}")
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = concat([_as_array(p) for p in parts], axis=axis)

    def along(s):
        return tuple(s if a == axis else slice(None) for a in range(x.ndim))

    for _ in range(n):
        x = x[along(slice(1, None))] - x[along(slice(None, -1))]
    return x
