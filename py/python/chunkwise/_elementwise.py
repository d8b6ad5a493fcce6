"""The Array API's elementwise functions. Each one is a program operation of the core (or
a short composition of them), so chains of them fuse into one kernel per chunk."""

from __future__ import annotations

import builtins
import math

from . import _core, _dtypes
from ._array import Array, _as_array, _raw, _SCALARS

_UNARY = {
    "abs": "abs", "acos": "arccos", "asin": "arcsin", "atan": "arctan", "ceil": "ceil",
    "cos": "cos", "cosh": "cosh", "exp": "exp", "expm1": "expm1", "floor": "floor",
    "isfinite": "isfinite", "isinf": "isinf", "isnan": "isnan", "log": "log", "log1p": "log1p",
    "log2": "log2", "log10": "log10", "negative": "neg", "round": "round", "sign": "sign",
    "sin": "sin", "sinh": "sinh", "sqrt": "sqrt", "square": "square", "tan": "tan",
    "tanh": "tanh",
}

_BINARY = {
    "add": "add", "subtract": "sub", "multiply": "mul", "divide": "div",
    "floor_divide": "floordiv", "remainder": "rem", "pow": "pow", "maximum": "maximum",
    "minimum": "minimum", "atan2": "arctan2",
}

_COMPARE = {
    "equal": "eq", "not_equal": "ne", "less": "lt", "less_equal": "le", "greater": "gt",
    "greater_equal": "ge",
}


def _unary(name: str, op: str):
    def f(x: Array, /) -> Array:
        return Array(_as_array(x)._raw.unary(op))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` (NumPy's ``{op}``)."
    return f


def _binary(name: str, op: str):
    def f(x1, x2, /) -> Array:
        if isinstance(x1, Array):
            return Array(x1._raw.binary(_raw(x2), op, False))
        return Array(_as_array(x2)._raw.binary(_raw(x1), op, True))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` of two arrays (broadcast; Python scalars are weak)."
    return f


def _compare(name: str, op: str):
    reflected = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}[op]

    def f(x1, x2, /) -> Array:
        if isinstance(x1, Array):
            return Array(x1._raw.compare(_raw(x2), op))
        return Array(_as_array(x2)._raw.compare(_raw(x1), reflected))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` comparison (a bool array)."
    return f


for _name, _op in _UNARY.items():
    globals()[_name] = _unary(_name, _op)
for _name, _op in _BINARY.items():
    globals()[_name] = _binary(_name, _op)
for _name, _op in _COMPARE.items():
    globals()[_name] = _compare(_name, _op)


def _need_bool(x: Array, name: str) -> Array:
    x = _as_array(x)
    if x.dtype != _dtypes.bool:
        raise TypeError(f"{name} needs bool arrays, not {x.dtype}")
    return x


def _need_integral(x, name: str):
    if isinstance(x, Array) and x.dtype.kind not in "biu":
        raise TypeError(f"{name} needs bool or integer arrays, not {x.dtype}")
    return x


def bitwise_and(x1, x2, /) -> Array:
    """Elementwise bitwise (integers) or logical (bool) and."""
    return _binary("bitwise_and", "and")(_need_integral(x1, "bitwise_and"),
                                         _need_integral(x2, "bitwise_and"))


def bitwise_or(x1, x2, /) -> Array:
    """Elementwise bitwise (integers) or logical (bool) or."""
    return _binary("bitwise_or", "or")(_need_integral(x1, "bitwise_or"),
                                       _need_integral(x2, "bitwise_or"))


def bitwise_xor(x1, x2, /) -> Array:
    """Elementwise bitwise (integers) or logical (bool) exclusive or."""
    return _binary("bitwise_xor", "xor")(_need_integral(x1, "bitwise_xor"),
                                         _need_integral(x2, "bitwise_xor"))


def bitwise_invert(x, /) -> Array:
    """Elementwise bitwise not (integers) or logical not (bool)."""
    return ~_need_integral(_as_array(x), "bitwise_invert")


def _shift_operands(x1, x2, name):
    x1 = _as_array(x1) if not isinstance(x1, Array) else x1
    if x1.dtype.kind not in "iu" or (isinstance(x2, Array) and x2.dtype.kind not in "iu"):
        raise TypeError(f"{name} needs integer arrays")
    if isinstance(x2, int) and x2 < 0:
        raise ValueError(f"{name}: negative shift {x2}")
    dtype = _dtypes.result_type(x1, x2)
    return x1.astype(dtype), x2, dtype


def bitwise_left_shift(x1, x2, /) -> Array:
    """``x1 << x2`` (bits shifted out are lost, as NumPy; shifts of the width or more give
    0)."""
    x1, x2, dtype = _shift_operands(x1, x2, "bitwise_left_shift")
    bits = dtype.itemsize * 8
    wide = x1.astype(_dtypes.uint64 or _dtypes.int64) if dtype.kind == "u" else x1.astype(
        _dtypes.int64)
    factor = pow(2, where(_as_array(x2) >= bits, 0, _as_array(x2)).astype(wide.dtype)) if (
        isinstance(x2, Array)) else (2 ** x2 if x2 < bits else 0)
    out = (wide * factor).astype(dtype)
    if isinstance(x2, Array):
        out = where(x2 >= bits, 0, out)
    return out


def bitwise_right_shift(x1, x2, /) -> Array:
    """``x1 >> x2``: arithmetic shift (floor division by a power of two)."""
    x1, x2, dtype = _shift_operands(x1, x2, "bitwise_right_shift")
    bits = dtype.itemsize * 8
    if isinstance(x2, Array):
        s = where(x2 >= bits - 1, bits - 1, x2).astype(dtype)
        q = floor_divide(x1, pow(2, s)) if dtype.kind == "u" else floor_divide(
            x1.astype(_dtypes.int64), pow(2, s.astype(_dtypes.int64))).astype(dtype)
        if dtype.kind == "u":
            q = where(x2 >= bits, 0, q)
        else:
            q = where(x2 >= bits, where(x1 < 0, -1, 0), q)
        return q.astype(dtype)
    if x2 >= bits:
        return where(x1 < 0, -1, 0).astype(dtype) if dtype.kind == "i" else zeros_like_(x1)
    return floor_divide(x1, 2 ** x2)


def zeros_like_(x: Array) -> Array:
    from ._creation import zeros_like

    return zeros_like(x)


def logical_and(x1, x2, /) -> Array:
    """Elementwise logical and of bool arrays."""
    return _binary("logical_and", "and")(_need_bool(x1, "logical_and"), _need_bool(x2, "logical_and"))


def logical_or(x1, x2, /) -> Array:
    """Elementwise logical or of bool arrays."""
    return _binary("logical_or", "or")(_need_bool(x1, "logical_or"), _need_bool(x2, "logical_or"))


def logical_xor(x1, x2, /) -> Array:
    """Elementwise logical exclusive or of bool arrays."""
    return _binary("logical_xor", "xor")(_need_bool(x1, "logical_xor"), _need_bool(x2, "logical_xor"))


def logical_not(x, /) -> Array:
    """Elementwise logical not of a bool array."""
    return ~_need_bool(x, "logical_not")


def positive(x, /) -> Array:
    """``+x``."""
    return +_as_array(x)


def where(condition, x1, x2, /) -> Array:
    """``x1`` where ``condition`` holds, else ``x2`` (broadcast; scalars allowed)."""
    c = _as_array(condition)
    if c.dtype != _dtypes.bool:
        c = c.astype(_dtypes.bool)
    return Array(_core.where_(c._raw, _raw(x1), _raw(x2)))


def _float(x) -> Array:
    x = _as_array(x)
    return x if x.dtype.kind == "f" else x.astype(_dtypes.DEFAULT_FLOAT)


def trunc(x, /) -> Array:
    """Rounds toward zero."""
    x = _as_array(x)
    if x.dtype.kind != "f":
        return x
    return where(x < 0, ceil(x), floor(x))  # noqa: F821 - defined above by _unary


def signbit(x, /) -> Array:
    """Whether the sign bit is set (``-0.0`` included; for NaN, the sign of its bits is not
    visible to comparisons and is read as unset)."""
    x = _as_array(x)
    if x.dtype.kind == "u" or x.dtype.kind == "b":
        return x != x if x.dtype.kind == "b" else x < 0
    if x.dtype.kind == "i":
        return x < 0
    return (x < 0) | ((x == 0) & ((1.0 / x) < 0))


def copysign(x1, x2, /) -> Array:
    """``|x1|`` with the sign of ``x2``."""
    a = abs(_float(x1))
    return where(signbit(_float(x2)), -a, a)


def hypot(x1, x2, /) -> Array:
    """``sqrt(x1**2 + x2**2)`` without overflow for large values."""
    a, b = abs(_float(x1)), abs(_float(x2))
    big, small = maximum(a, b), minimum(a, b)  # noqa: F821
    ratio = where(big == 0, 0.0, small / where(big == 0, 1.0, big))
    out = big * sqrt(1.0 + ratio * ratio)  # noqa: F821
    return where(isinf(a) | isinf(b), math.inf, out)  # noqa: F821


def logaddexp(x1, x2, /) -> Array:
    """``log(exp(x1) + exp(x2))`` without overflow."""
    a, b = _float(x1), _float(x2)
    big = maximum(a, b)  # noqa: F821
    out = big + log1p(exp(-abs(a - b)))  # noqa: F821
    return where(a == b, a + math.log(2.0), out)


def asinh(x, /) -> Array:
    """Inverse hyperbolic sine."""
    x = _float(x)
    a = abs(x)
    out = log1p(a + a * a / (1.0 + sqrt(1.0 + a * a)))  # noqa: F821
    big = log(a) + math.log(2.0)  # noqa: F821 - accurate where a*a overflows
    out = where(a > 1e150, big, out)
    return where(x < 0, -out, where(x == 0, x, out))


def acosh(x, /) -> Array:
    """Inverse hyperbolic cosine."""
    x = _float(x)
    out = log(x + sqrt(x * x - 1.0))  # noqa: F821
    return where(x > 1e150, log(x) + math.log(2.0), out)  # noqa: F821


def atanh(x, /) -> Array:
    """Inverse hyperbolic tangent."""
    x = _float(x)
    out = 0.5 * log1p(2.0 * x / (1.0 - x))  # noqa: F821
    return where(x == 0, x, out)


def clip(x, /, min=None, max=None) -> Array:
    """``x`` limited to ``[min, max]`` (either may be None)."""
    out = _as_array(x)
    if min is not None:
        out = maximum(out, min)  # noqa: F821
    if max is not None:
        out = minimum(out, max)  # noqa: F821
    return out.astype(_as_array(x).dtype) if out.dtype != _as_array(x).dtype else out


def real(x, /) -> Array:
    """The real part (chunkwise has real dtypes only: ``x`` itself)."""
    return _as_array(x)


def imag(x, /) -> Array:
    """The imaginary part (zeros: chunkwise has real dtypes only)."""
    from ._creation import zeros_like

    return zeros_like(_as_array(x))


def conj(x, /) -> Array:
    """The complex conjugate (``x`` itself for real dtypes)."""
    return _as_array(x)


__all__ = sorted(
    list(_UNARY) + list(_BINARY) + list(_COMPARE) + [
        "acosh", "asinh", "atanh", "bitwise_and", "bitwise_invert", "bitwise_left_shift",
        "bitwise_or", "bitwise_right_shift", "bitwise_xor", "clip", "conj", "copysign", "hypot",
        "imag", "logaddexp", "logical_and", "logical_not", "logical_or", "logical_xor",
        "positive", "real", "signbit", "trunc", "where",
    ]
)
