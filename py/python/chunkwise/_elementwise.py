"""The Array API's elementwise functions. Each one is a program operation of the core (or
a short composition of them), so chains of them fuse into one kernel per chunk."""

from __future__ import annotations

import numpy as np

from . import _dtypes
from ._recorded import core as _core
from ._array import Array, _as_array, _check_scalar_kind, _raw, _SCALARS

_UNARY = {
    "abs": "abs", "acos": "arccos", "asin": "arcsin", "atan": "arctan", "ceil": "ceil",
    "cos": "cos", "cosh": "cosh", "exp": "exp", "expm1": "expm1", "floor": "floor",
    "isfinite": "isfinite", "isinf": "isinf", "isnan": "isnan", "log": "log", "log1p": "log1p",
    "log2": "log2", "log10": "log10", "negative": "neg", "round": "round", "sign": "sign",
    "sin": "sin", "sinh": "sinh", "sqrt": "sqrt", "square": "square", "tan": "tan",
    "tanh": "tanh", "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh",
    "trunc": "trunc", "signbit": "signbit",
}

_BINARY = {
    "add": "add", "subtract": "sub", "multiply": "mul", "divide": "div",
    "floor_divide": "floordiv", "remainder": "rem", "pow": "pow", "maximum": "maximum",
    "minimum": "minimum", "atan2": "arctan2", "copysign": "copysign", "hypot": "hypot",
    "logaddexp": "logaddexp", "nextafter": "nextafter",
    "bitwise_left_shift": "shl", "bitwise_right_shift": "shr",
}

_COMPARE = {
    "equal": "eq", "not_equal": "ne", "less": "lt", "less_equal": "le", "greater": "gt",
    "greater_equal": "ge",
}


#: Rounding functions: the identity on integer inputs (the standard: "if ``x``
#: is integer-valued, the result is ``x``", with ``x``'s dtype).
_ROUNDING = ("ceil", "floor", "trunc", "round")


def _unary(name: str, op: str):
    if name in _ROUNDING:
        def f(x: Array, /) -> Array:
            x = _as_array(x)
            if x.dtype.kind in "iu":
                return x
            return Array(x._raw.unary(op))

        f.__name__ = f.__qualname__ = name
        f.__doc__ = (f"Elementwise ``{name}`` (NumPy's ``{op}``); integer inputs are "
                     "returned unchanged, with their dtype.")
        return f

    if name == "sign":
        def f(x: Array, /) -> Array:
            x = _as_array(x)
            out = Array(x._raw.unary(op))
            # The core's sign keeps the sign of a zero (sign(-0.0) is -0.0); the standard
            # (and NumPy) give +0. Adding +0.0 turns -0.0 into +0.0 and changes nothing
            # else (NaN stays NaN); it fuses into the same kernel.
            return out + 0.0 if x.dtype.kind == "f" else out

        f.__name__ = f.__qualname__ = name
        f.__doc__ = "Elementwise ``sign``: -1, 0 or 1 (NaN for NaN; +0 for either zero)."
        return f

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
    # A Python scalar follows the operators' rule against the array branch (no float
    # scalar with an integer array, no silent cast).
    for scalar, other in ((x1, x2), (x2, x1)):
        if isinstance(other, Array) and not isinstance(scalar, (Array, np.ndarray, np.generic)):
            _check_scalar_kind(other, scalar)
    return Array(_core.where_(c._raw, _raw(x1), _raw(x2)))


def clip(x, /, min=None, max=None) -> Array:
    """``x`` limited to ``[min, max]`` (either may be None)."""
    out = _as_array(x)
    if min is not None:
        out = maximum(out, min)  # noqa: F821
    if max is not None:
        out = minimum(out, max)  # noqa: F821
    return out.astype(_as_array(x).dtype) if out.dtype != _as_array(x).dtype else out


def real(x, /) -> Array:
    """The real part, of the matching real dtype (``x`` itself for real dtypes)."""
    return Array(_as_array(x)._raw.unary("real"))


def imag(x, /) -> Array:
    """The imaginary part, of the matching real dtype (zeros for real dtypes)."""
    return Array(_as_array(x)._raw.unary("imag"))


def conj(x, /) -> Array:
    """The complex conjugate (``x`` itself for real dtypes)."""
    return Array(_as_array(x)._raw.unary("conj"))


__all__ = sorted(
    list(_UNARY) + list(_BINARY) + list(_COMPARE) + [
        "bitwise_and", "bitwise_invert", "bitwise_or", "bitwise_xor", "clip", "conj", "imag",
        "logical_and", "logical_not", "logical_or", "logical_xor", "positive", "real", "where",
    ]
)
