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
    # The core multiplies stacks of equal shape only: a 1-d operand of a stack becomes a
    # one-row (one-column) matrix, dropped from the result, and the stacks are broadcast
    # (lazily) to their common shape.
    if a.ndim == 1 and b.ndim > 2:
        return matmul(a[None, :], b)[..., 0, :]
    if b.ndim == 1 and a.ndim > 2:
        return matmul(a, b[:, None])[..., 0]
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[:-2] != b.shape[:-2]:
        import numpy as np

        from ._manipulation import broadcast_to

        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                             f"({a.shape[-1]} != {b.shape[-2]})")
        try:
            stack = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        except ValueError as e:
            raise ValueError(f"matmul: the stacks of shapes {a.shape} and {b.shape} do not "
                             "broadcast") from e
        a = broadcast_to(a, stack + a.shape[-2:])
        b = broadcast_to(b, stack + b.shape[-2:])
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
    from ._dtypes import result_type
    from ._statistical import sum

    a, b = _as_array(x1), _as_array(x2)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("vecdot does not take 0-d arrays")
    nd = max(a.ndim, b.ndim)
    ax = axis if axis < 0 else axis - nd
    if not -min(a.ndim, b.ndim) <= ax < 0:
        raise ValueError(f"vecdot: axis {axis} is out of range for shapes {a.shape} and {b.shape}")
    if a.shape[ax] != b.shape[ax]:
        raise ValueError(f"vecdot: lengths {a.shape[ax]} and {b.shape[ax]} along axis {axis}")
    # The result has the operands' promoted dtype (a sum in a wider accumulator would not);
    # the first operand is conjugated, as the standard says (a no-op on real dtypes).
    from ._elementwise import conj

    return sum(conj(a) * b, axis=ax, dtype=result_type(a, b))
