"""Data types: NumPy's dtype objects for the types chunkwise computes in, and the Array API's
type functions (``isdtype``, ``result_type``, ``can_cast``, ``finfo``, ``iinfo``)."""

from __future__ import annotations

import builtins
from typing import NamedTuple

import numpy as np

from ._recorded import core as _core

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
complex64 = _by_name["complex64"]
complex128 = _by_name["complex128"]

DEFAULT_INT = np.dtype("int64")
DEFAULT_FLOAT = np.dtype("float64")
DEFAULT_COMPLEX = np.dtype("complex128")

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
        return d if d.kind in "iufc" else DEFAULT_INT
    if isinstance(s, float):
        return d if d.kind in "fc" else DEFAULT_FLOAT
    # A complex scalar: the complex type of the array's float precision (the standard's
    # rule; float32 gives complex64).
    if d.kind == "c":
        return d
    return complex64 if d == float32 else DEFAULT_COMPLEX


def can_cast(from_, to) -> builtins.bool:
    """Whether ``from_`` casts to ``to`` by the standard's promotion rules; bool casts to
    every numeric type, as in NumPy (the standard leaves mixed kinds open)."""
    f = _dtype_of(from_)
    t = to_dtype(to)
    if f == t or f.kind == "b":
        return True
    if t.kind == "b":
        return False
    try:
        return _promote(f, t) == t
    except TypeError:
        return False


class finfo_object(NamedTuple):
    """Machine limits of a floating dtype, as the standard's ``finfo`` gives them: Python
    ints and floats, and the (real) dtype they describe."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: np.dtype


class iinfo_object(NamedTuple):
    """Machine limits of an integer dtype: Python ints, and the dtype."""

    bits: int
    max: int
    min: int
    dtype: np.dtype


def finfo(type) -> finfo_object:
    """Machine limits of a floating type (a dtype or an array); a complex type gives its
    component type's (``finfo(complex64)`` describes float32, as NumPy)."""
    d = _dtype_of(type)
    if d.kind not in "fc":
        raise TypeError(f"finfo needs a floating dtype, not {d}")
    f = np.finfo(d)
    return finfo_object(bits=int(f.bits), eps=float(f.eps), max=float(f.max),
                        min=float(f.min), smallest_normal=float(f.smallest_normal),
                        dtype=_by_name[np.dtype(f.dtype).name])


def iinfo(type) -> iinfo_object:
    """Machine limits of an integer type (a dtype or an array)."""
    d = _dtype_of(type)
    if d.kind not in "iu":
        raise TypeError(f"iinfo needs an integer dtype, not {d}")
    i = np.iinfo(d)
    return iinfo_object(bits=int(i.bits), max=int(i.max), min=int(i.min), dtype=d)


def real_dtype(d: np.dtype) -> np.dtype:
    """The real dtype of ``d``'s precision: float32 for complex64, float64 for complex128,
    ``d`` itself otherwise."""
    return {"complex64": float32, "complex128": float64}.get(np.dtype(d).name, np.dtype(d))


def complex_dtype(d: np.dtype) -> np.dtype:
    """The complex dtype of a floating ``d``'s precision (complex64 for float32 and
    complex64, complex128 otherwise)."""
    return complex64 if np.dtype(d).name in ("float32", "complex64") else complex128
