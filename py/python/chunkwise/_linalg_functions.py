"""Linear algebra functions of the Array API's main namespace."""

from __future__ import annotations

from ._array import Array, _as_array
from ._axes import normalize_axis

__all__ = ["matmul", "matrix_transpose", "tensordot", "vecdot"]


def matmul(x1, x2, /) -> Array:
    """Matrix product with NumPy's ``matmul`` rules (1-d operands are vectors)."""
    a, b = _as_array(x1), _as_array(x2)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul does not take 0-d arrays")
    return Array(a._raw.matmul(b._raw))


def matrix_transpose(x, /) -> Array:
    """The last two axes swapped."""
    return _as_array(x).mT


def tensordot(x1, x2, /, *, axes=2) -> Array:
    """Sum of products over ``axes`` (an int: the last ``axes`` of ``x1`` with the first of
    ``x2``; or two sequences of axes)."""
    a, b = _as_array(x1), _as_array(x2)
    if isinstance(axes, int):
        if axes < 0:
            raise ValueError("tensordot: axes must be non-negative")
        axes_a = list(range(a.ndim - axes, a.ndim))
        axes_b = list(range(axes))
    else:
        axes_a, axes_b = ([x] if isinstance(x, int) else list(x) for x in axes)
    axes_a = [normalize_axis(x, a.ndim) for x in axes_a]
    axes_b = [normalize_axis(x, b.ndim) for x in axes_b]
    return Array(a._raw.tensordot(b._raw, axes_a, axes_b))


def vecdot(x1, x2, /, *, axis=-1) -> Array:
    """Dot products of vectors along ``axis`` (broadcast over the other axes)."""
    from ._statistical import sum

    a, b = _as_array(x1), _as_array(x2)
    if a.shape[axis] != b.shape[axis]:
        raise ValueError(f"vecdot: lengths {a.shape[axis]} and {b.shape[axis]} along axis {axis}")
    nd = max(a.ndim, b.ndim)
    ax = axis if axis < 0 else axis - nd
    return sum(a * b, axis=ax)
