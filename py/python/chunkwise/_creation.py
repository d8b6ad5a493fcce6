"""Array creation functions of the Array API standard, plus ``from_numpy``."""

from __future__ import annotations

import builtins

import numpy as np

from . import _dtypes
from ._recorded import core as _core
from ._array import Array, check_int_range
from ._chunks import normalize_chunks

__all__ = [
    "arange", "asarray", "empty", "empty_like", "eye", "from_dlpack", "from_numpy", "full",
    "full_like", "linspace", "meshgrid", "ones", "ones_like", "tril", "triu", "zeros",
    "zeros_like",
]


def _check_device(device) -> None:
    if device not in (None, "cpu"):
        raise ValueError(f"unknown device {device!r} (chunkwise has 'cpu')")


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"negative dimensions are not allowed: {shape}")
    return shape


def _with_chunks(raw, explicit) -> Array:
    return Array(raw if explicit is None else raw.rechunk(explicit))


def from_numpy(a: np.ndarray, chunks="auto") -> Array:
    """A chunked array of the NumPy array ``a`` (its data is copied once; the chunks are
    views of that copy)."""
    a = np.asarray(a)
    d = _dtypes.to_dtype(a.dtype)
    if a.dtype != d:
        a = a.astype(d)
    regular, explicit = normalize_chunks(chunks, a.shape, d.itemsize)
    return _with_chunks(_core.from_numpy(a, regular), explicit)


def _default_dtype(obj) -> np.dtype | None:
    if isinstance(obj, builtins.bool):
        return _dtypes.bool
    if isinstance(obj, int):
        return _dtypes.DEFAULT_INT
    if isinstance(obj, float):
        return _dtypes.DEFAULT_FLOAT
    if isinstance(obj, complex):
        return _dtypes.DEFAULT_COMPLEX
    return None


def asarray(obj, /, *, dtype=None, device=None, copy=None, chunks="auto") -> Array:
    """``obj`` (an Array, a NumPy array, a nested sequence or a Python scalar) as an Array.

    The graph under an Array is immutable, so no data is ever copied; ``copy=True`` gives
    a new Array object over the same graph, so ``__setitem__`` on it (which rebinds the
    object's graph) leaves ``obj`` as it was."""
    _check_device(device)
    if isinstance(obj, Array):
        if dtype is None or _dtypes.to_dtype(dtype) == obj.dtype:
            return Array(obj._raw) if copy else obj
        if copy is False:
            raise ValueError("casting to another dtype needs a copy (copy=False)")
        return Array(obj._raw.astype(_dtypes.to_dtype(dtype).name))
    if dtype is None:
        dtype = _default_dtype(obj)
    if copy is False and not isinstance(obj, np.ndarray):
        raise ValueError("asarray(copy=False) needs an object that holds an array")
    a = np.asarray(obj, dtype=None if dtype is None else _dtypes.to_dtype(dtype))
    if dtype is None and a.dtype.kind == "f" and a.dtype.itemsize < 4:
        raise TypeError(f"chunkwise does not support dtype {a.dtype}")
    return from_numpy(a, chunks=chunks)


def full(shape, fill_value, *, dtype=None, device=None, chunks="auto") -> Array:
    """An array filled with ``fill_value``."""
    _check_device(device)
    shape = _shape(shape)
    if isinstance(fill_value, Array):
        fill_value = fill_value.compute()[()].item()
    elif isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    d = _dtypes.to_dtype(dtype) if dtype is not None else _default_dtype(fill_value)
    if d is None:
        raise TypeError(
            f"fill_value must be a bool, int, float or complex, not {type(fill_value).__name__}")
    if d.kind in "iu" and isinstance(fill_value, float):
        raise TypeError(f"a float fill value for an integer dtype {d}")
    if d.kind != "c" and isinstance(fill_value, complex):
        raise TypeError(f"a complex fill value for a {d} dtype")
    if d.kind in "iu":
        check_int_range(fill_value, d)
    regular, explicit = normalize_chunks(chunks, shape, d.itemsize)
    return _with_chunks(_core.full(list(shape), regular, fill_value, d.name), explicit)


def zeros(shape, *, dtype=None, device=None, chunks="auto") -> Array:
    """An array of zeros (float64 by default)."""
    return full(shape, 0.0 if dtype is None else 0, dtype=dtype or _dtypes.DEFAULT_FLOAT,
                device=device, chunks=chunks)


def ones(shape, *, dtype=None, device=None, chunks="auto") -> Array:
    """An array of ones (float64 by default)."""
    return full(shape, 1.0 if dtype is None else 1, dtype=dtype or _dtypes.DEFAULT_FLOAT,
                device=device, chunks=chunks)


def empty(shape, *, dtype=None, device=None, chunks="auto") -> Array:
    """An array whose values are unspecified (chunkwise gives zeros, never materialized
    until used)."""
    return zeros(shape, dtype=dtype, device=device, chunks=chunks)


def _like(x: Array, dtype):
    return x.shape, (x.dtype if dtype is None else dtype), x.chunks


def zeros_like(x: Array, /, *, dtype=None, device=None, chunks=None) -> Array:
    """Zeros of ``x``'s shape, dtype and chunks."""
    shape, d, c = _like(x, dtype)
    return zeros(shape, dtype=d, device=device, chunks=chunks or c)


def ones_like(x: Array, /, *, dtype=None, device=None, chunks=None) -> Array:
    """Ones of ``x``'s shape, dtype and chunks."""
    shape, d, c = _like(x, dtype)
    return ones(shape, dtype=d, device=device, chunks=chunks or c)


def empty_like(x: Array, /, *, dtype=None, device=None, chunks=None) -> Array:
    """An unspecified array of ``x``'s shape, dtype and chunks (zeros)."""
    return zeros_like(x, dtype=dtype, device=device, chunks=chunks)


def full_like(x: Array, /, fill_value, *, dtype=None, device=None, chunks=None) -> Array:
    """``fill_value`` in ``x``'s shape, dtype and chunks."""
    shape, d, c = _like(x, dtype)
    return full(shape, fill_value, dtype=d, device=device, chunks=chunks or c)


def arange(start, /, stop=None, step=1, *, dtype=None, device=None, chunks="auto") -> Array:
    """``start, start + step, ...`` below ``stop`` (int64 for integer arguments, float64
    otherwise)."""
    _check_device(device)
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must not be 0")
    ints = builtins.all(isinstance(v, int) for v in (start, stop, step))
    d = _dtypes.to_dtype(dtype) if dtype is not None else (
        _dtypes.DEFAULT_INT if ints else _dtypes.DEFAULT_FLOAT)
    n = builtins.max(int(np.ceil((stop - start) / step)), 0)
    regular, explicit = normalize_chunks(chunks, (n,), d.itemsize)
    raw = _core.arange(float(start), float(step), n, regular[0], d.name)
    return _with_chunks(raw, explicit)


def linspace(start, stop, /, num, *, dtype=None, device=None, endpoint=True,
             chunks="auto") -> Array:
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    _check_device(device)
    if isinstance(start, complex) or isinstance(stop, complex):
        raise TypeError("complex values are not supported")
    if num < 0:
        raise ValueError("linspace: num must be non-negative")
    d = _dtypes.to_dtype(dtype) if dtype is not None else _dtypes.DEFAULT_FLOAT
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else 0.0
    i = arange(0, num, dtype=_dtypes.float64, chunks=chunks)
    from ._elementwise import where

    out = i * step + float(start)
    if endpoint and num > 1:
        out = where(i == float(num - 1), float(stop), out)
    return out.astype(d)


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None, chunks="auto") -> Array:
    """Ones on the ``k``-th diagonal, zeros elsewhere."""
    _check_device(device)
    n_cols = n_rows if n_cols is None else n_cols
    d = _dtypes.to_dtype(dtype) if dtype is not None else _dtypes.DEFAULT_FLOAT
    regular, _ = normalize_chunks(chunks, (n_rows, n_cols), d.itemsize)
    if not -n_rows < k < n_cols:
        # No element is on that diagonal (and k may not fit the index dtype).
        return zeros((n_rows, n_cols), dtype=d, chunks=regular)
    rows = arange(n_rows, chunks=regular[0])[:, None]
    cols = arange(n_cols, chunks=regular[1])[None, :]
    return ((cols - rows) == k).astype(d)


def _triangle(x: Array, k: int, lower: bool) -> Array:
    if x.ndim < 2:
        raise ValueError("tril/triu need at least 2 axes")
    n, m = x.shape[-2:]
    rows = arange(n, chunks=(x.chunks[-2],))[:, None]
    cols = arange(m, chunks=(x.chunks[-1],))[None, :]
    mask = (cols - rows) <= k if lower else (cols - rows) >= k
    from ._elementwise import where

    return where(mask, x, zeros_like(x))


def tril(x: Array, /, *, k: int = 0) -> Array:
    """``x`` with the elements above the ``k``-th diagonal set to zero."""
    return _triangle(x, k, True)


def triu(x: Array, /, *, k: int = 0) -> Array:
    """``x`` with the elements below the ``k``-th diagonal set to zero."""
    return _triangle(x, k, False)


def meshgrid(*arrays: Array, indexing: str = "xy") -> list[Array]:
    """Coordinate arrays from 1-d coordinate vectors."""
    from ._manipulation import broadcast_arrays, reshape

    if indexing not in ("xy", "ij"):
        raise ValueError("indexing must be 'xy' or 'ij'")
    n = len(arrays)
    shaped = []
    for i, a in enumerate(arrays):
        if a.ndim != 1:
            raise ValueError("meshgrid takes 1-d arrays")
        shape = [1] * n
        axis = i
        if indexing == "xy" and n >= 2 and i < 2:
            axis = 1 - i
        shape[axis] = a.shape[0]
        shaped.append(reshape(a, tuple(shape)))
    return list(broadcast_arrays(*shaped))


def from_dlpack(x, /, *, device=None, copy=None) -> Array:
    """An array from any object with ``__dlpack__`` (through NumPy)."""
    _check_device(device)
    return asarray(np.from_dlpack(x))
