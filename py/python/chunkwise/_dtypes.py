"""Data types: NumPy's dtype objects for the types chunkwise computes in, and the Array API's
type functions (``isdtype``, ``result_type``, ``can_cast``, ``finfo``, ``iinfo``)."""

from __future__ import annotations

import builtins

import numpy as np

from . import _core

#: Every dtype the Rust core supports, as NumPy dtype objects, in promotion order.
SUPPORTED = tuple(np.dtype(name) for name in _core.DTYPES)

_by_name = {d.name: d for d in SUPPORTED}

bool = _by_name["bool"]  # noqa: A001 - the standard's name
int8 = _by_name["int8"]
int16 = _by_name["int16"]
int32 = _by_name["int32"]
int64 = _by_name["int64"]
uint8 = _by_name["uint8"]
uint16 = _by_name["uint16"]
uint32 = _by_name["uint32"]
uint64 = _by_name["uint64"]
float32 = _by_name["float32"]
float64 = _by_name["float64"]

DEFAULT_INT = np.dtype("int64")
DEFAULT_FLOAT = np.dtype("float64")

_KINDS = {
    "bool": lambda d: d.kind == "b",
    "signed integer": lambda d: d.kind == "i",
    "unsigned integer": lambda d: d.kind == "u",
    "integral": lambda d: d.kind in "iu",
    "real floating": lambda d: d.kind == "f",
    "complex floating": lambda d: d.kind == "c",
    "numeric": lambda d: d.kind in "iufc",
}


def to_dtype(dtype) -> np.dtype:
    """The supported NumPy dtype for ``dtype`` (a dtype, a type or a name); TypeError
    otherwise."""
    try:
        d = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"not a dtype: {dtype!r}") from e
    if d.name not in _by_name:
        known = ", ".join(_by_name)
        raise TypeError(f"chunkwise does not support dtype {d.name} (supported: {known})")
    return _by_name[d.name]


def isdtype(dtype, kind) -> builtins.bool:
    """Whether ``dtype`` is of ``kind``: a dtype, a kind name (``"integral"``...) or a tuple
    of them."""
    if isinstance(kind, tuple):
        return builtins.any(isdtype(dtype, k) for k in kind)
    d = np.dtype(dtype)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"unknown dtype kind {kind!r}")
        return _KINDS[kind](d)
    return d == np.dtype(kind)


def _dtype_of(x):
    from ._array import Array

    if isinstance(x, Array):
        return x.dtype
    return to_dtype(x)


def result_type(*arrays_and_dtypes) -> np.dtype:
    """The promoted dtype of arrays and dtypes (the standard's table; mixed kinds as
    NumPy). Python scalars are weak: they take the other operands' type within their
    kind."""
    dtypes = []
    scalars = []
    for x in arrays_and_dtypes:
        if isinstance(x, (builtins.bool, int, float, complex)):
            scalars.append(x)
        else:
            dtypes.append(_dtype_of(x))
    if not dtypes:
        if not scalars:
            raise ValueError("result_type needs at least one array or dtype")
        return to_dtype(np.result_type(*scalars))
    out = dtypes[0]
    for d in dtypes[1:]:
        out = _promote(out, d)
    for s in scalars:
        out = _promote_scalar(out, s)
    return out


def _promote(a: np.dtype, b: np.dtype) -> np.dtype:
    if a == b:
        return a
    if (a.kind == "b") != (b.kind == "b"):
        raise TypeError(f"the standard does not promote {a} with {b}")
    return to_dtype(np.promote_types(a, b))


def _promote_scalar(d: np.dtype, s) -> np.dtype:
    if isinstance(s, builtins.bool):
        return d
    if isinstance(s, int):
        return d if d.kind in "iuf" else DEFAULT_INT
    if isinstance(s, float):
        return d if d.kind == "f" else DEFAULT_FLOAT
    raise TypeError("complex scalars are not supported")


def can_cast(from_, to) -> builtins.bool:
    """Whether ``from_`` casts to ``to`` by the standard's promotion rules."""
    f = _dtype_of(from_)
    t = to_dtype(to)
    if f == t:
        return True
    if f.kind == "b" or t.kind == "b":
        return False
    try:
        return _promote(f, t) == t
    except TypeError:
        return False


def finfo(type):
    """Machine limits of a floating type (NumPy's ``finfo``)."""
    return np.finfo(_dtype_of(type))


def iinfo(type):
    """Machine limits of an integer type (NumPy's ``iinfo``)."""
    return np.iinfo(_dtype_of(type))
