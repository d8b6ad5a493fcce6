"""The lazy chunked ``Array``: the Array API's array object over the Rust core."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from . import _dtypes
from ._recorded import core as _core
from ._methods import DaskMethods

_SCALARS = (builtins.bool, int, float, complex)


def _raw(x):
    """The operand the core takes: a RawArray or a Python scalar."""
    if isinstance(x, Array):
        return x._raw
    if isinstance(x, _SCALARS):
        return x
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        from ._creation import asarray

        return asarray(x)._raw
    raise TypeError(f"unsupported operand type {type(x).__name__}")


def _check_scalar_kind(x: "Array", other) -> None:
    """The standard only defines Python scalars of the array's kind (bool for bool arrays,
    int for integer and floating arrays, float for floating arrays, complex for complex and
    real floating ones)."""
    if isinstance(other, complex) and x.dtype.kind not in "fc":
        raise TypeError(f"a complex scalar does not combine with a {x.dtype} array")
    if x.dtype.kind == "b" and not isinstance(other, builtins.bool):
        raise TypeError(f"a {type(other).__name__} scalar does not combine with a bool array")
    if x.dtype.kind in "iu" and isinstance(other, float):
        raise TypeError("a float scalar does not combine with an integer array")
    if x.dtype.kind in "iu":
        check_int_range(other, x.dtype)


def check_int_range(value, dtype: np.dtype) -> None:
    """OverflowError when the Python int ``value`` does not fit the integer ``dtype``."""
    if isinstance(value, int) and not isinstance(value, builtins.bool):
        info = np.iinfo(dtype)
        if not info.min <= value <= info.max:
            raise OverflowError(f"{value} is out of the range of {dtype}")


class Array(DaskMethods):
    """A lazy, chunked n-dimensional array: operations build a graph; ``compute()``,
    ``np.asarray(x)`` or ``chunkwise.compute(*arrays)`` run it.

    >>> import chunkwise as cw
    >>> x = cw.arange(10, chunks=4)
    >>> int((x * 2).sum())
    90
    """

    __slots__ = ("_raw",)
    __array_priority__ = 100

    def __init__(self, raw: "_core.RawArray"):
        self._raw = raw

    def __reduce__(self):
        # Pickles the recorded calls that made the array (see ``_recorded``): unpickling,
        # in a Dask worker too, replays them.
        return (Array, (self._raw,))

    # --- metadata ---------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        """The element type (a NumPy dtype)."""
        return np.dtype(self._raw.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape."""
        return tuple(self._raw.shape)

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self._raw.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        n = 1
        for s in self._raw.shape:
            n *= s
        return n

    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        """The chunk lengths along each axis (as ``dask.array.Array.chunks``)."""
        return tuple(tuple(c) for c in self._raw.chunks)

    @property
    def numblocks(self) -> tuple[int, ...]:
        """Blocks along each axis."""
        return tuple(self._raw.numblocks)

    @property
    def nbytes(self) -> int:
        """Bytes of the whole array."""
        return self.size * self.dtype.itemsize

    @property
    def device(self) -> str:
        """The device: chunkwise computes on the host CPU."""
        return "cpu"

    @property
    def T(self) -> "Array":
        """The transpose of a 2-d array."""
        if self.ndim != 2:
            raise ValueError(f"T needs a 2-d array (this one is {self.ndim}-d); use permute_dims")
        return Array(self._raw.transpose([1, 0]))

    @property
    def mT(self) -> "Array":
        """The last two axes swapped."""
        if self.ndim < 2:
            raise ValueError("mT needs at least 2 axes")
        perm = list(range(self.ndim))
        perm[-1], perm[-2] = perm[-2], perm[-1]
        return Array(self._raw.transpose(perm))

    def __repr__(self) -> str:
        return (
            f"chunkwise.Array<shape={self.shape}, dtype={self.dtype}, "
            f"chunksize={tuple(max(c, default=0) for c in self.chunks)}, "
            f"numblocks={self.numblocks}, nbytes={self.nbytes}>"
        )

    # --- computing --------------------------------------------------------------------
    def compute(self, **options) -> np.ndarray:
        """Runs the graph: a NumPy array (options as ``chunkwise.compute``)."""
        from ._api import compute

        return compute(self, **options)[0]

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("computing a chunkwise array always makes a new NumPy array")
        out = self.compute()
        return out if dtype is None else out.astype(dtype, copy=False)

    def __array_namespace__(self, *, api_version: str | None = None):
        """The ``chunkwise`` module, the Array API namespace of these arrays."""
        if api_version not in (None, "2023.12", "2022.12", "2021.12"):
            raise ValueError(f"unsupported Array API version {api_version!r}")
        import chunkwise

        return chunkwise

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule of the computed array (a new host buffer)."""
        if copy is False:
            raise BufferError("computing a chunkwise array always makes a new buffer")
        kwargs = {} if max_version is None else {"max_version": max_version}
        return self.compute().__dlpack__(stream=stream, **kwargs)

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU

    def to_device(self, device, /, *, stream=None) -> "Array":
        """The same array (only the ``"cpu"`` device exists)."""
        if device != "cpu":
            raise ValueError(f"unknown device {device!r} (chunkwise has 'cpu')")
        return self

    def _scalar(self, kind):
        if self.ndim != 0:
            raise TypeError(f"only 0-d arrays convert to Python scalars (shape {self.shape})")
        return kind(self.compute()[()])

    def __bool__(self) -> bool:
        return self._scalar(builtins.bool)

    def __int__(self) -> int:
        return self._scalar(int)

    def __float__(self) -> float:
        return self._scalar(float)

    def __complex__(self) -> complex:
        return self._scalar(complex)

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer arrays are indices, not {self.dtype}")
        return self._scalar(int)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

    def __hash__(self):
        return id(self)

    # --- operators --------------------------------------------------------------------
    def _operand(self, other):
        """The core operand for ``other``, or None where Python should try the other side."""
        if isinstance(other, _SCALARS):
            _check_scalar_kind(self, other)
        elif not isinstance(other, (Array, np.ndarray, np.generic)):
            return None
        return _raw(other)

    def _binary(self, other, name: str, reflected: bool = False) -> "Array":
        o = self._operand(other)
        return NotImplemented if o is None else Array(self._raw.binary(o, name, reflected))

    def _compare(self, other, name: str) -> "Array":
        o = self._operand(other)
        return NotImplemented if o is None else Array(self._raw.compare(o, name))

    def __add__(self, other):
        return self._binary(other, "add")

    def __radd__(self, other):
        return self._binary(other, "add", True)

    def __sub__(self, other):
        return self._binary(other, "sub")

    def __rsub__(self, other):
        return self._binary(other, "sub", True)

    def __mul__(self, other):
        return self._binary(other, "mul")

    def __rmul__(self, other):
        return self._binary(other, "mul", True)

    def __truediv__(self, other):
        return self._binary(other, "div")

    def __rtruediv__(self, other):
        return self._binary(other, "div", True)

    def __floordiv__(self, other):
        return self._binary(other, "floordiv")

    def __rfloordiv__(self, other):
        return self._binary(other, "floordiv", True)

    def __mod__(self, other):
        return self._binary(other, "rem")

    def __rmod__(self, other):
        return self._binary(other, "rem", True)

    def __pow__(self, other):
        return self._binary(other, "pow")

    def __rpow__(self, other):
        return self._binary(other, "pow", True)

    def __and__(self, other):
        return self._binary(other, "and")

    def __rand__(self, other):
        return self._binary(other, "and", True)

    def __or__(self, other):
        return self._binary(other, "or")

    def __ror__(self, other):
        return self._binary(other, "or", True)

    def __xor__(self, other):
        return self._binary(other, "xor")

    def __rxor__(self, other):
        return self._binary(other, "xor", True)

    def __lshift__(self, other):
        from ._elementwise import bitwise_left_shift

        return bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        from ._elementwise import bitwise_left_shift

        return bitwise_left_shift(other, self)

    def __rshift__(self, other):
        from ._elementwise import bitwise_right_shift

        return bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        from ._elementwise import bitwise_right_shift

        return bitwise_right_shift(other, self)

    def __matmul__(self, other):
        if not isinstance(other, (Array, np.ndarray)):
            return NotImplemented
        from ._linalg_functions import matmul

        return matmul(self, other)

    def __rmatmul__(self, other):
        if not isinstance(other, np.ndarray):
            return NotImplemented
        from ._linalg_functions import matmul

        return matmul(other, self)

    def __neg__(self):
        if self.dtype.kind == "b":
            raise TypeError("negation of a bool array")
        return Array(self._raw.unary("neg"))

    def __pos__(self):
        if self.dtype.kind == "b":
            raise TypeError("unary + of a bool array")
        return self

    def __abs__(self):
        return Array(self._raw.unary("abs"))

    def __invert__(self):
        if self.dtype.kind not in "biu":
            raise TypeError(f"~ needs a bool or integer array, not {self.dtype}")
        return Array(self._raw.unary("not"))

    def __eq__(self, other):  # type: ignore[override]
        return self._compare(other, "eq")

    def __ne__(self, other):  # type: ignore[override]
        return self._compare(other, "ne")

    def __lt__(self, other):
        return self._compare(other, "lt")

    def __le__(self, other):
        return self._compare(other, "le")

    def __gt__(self, other):
        return self._compare(other, "gt")

    def __ge__(self, other):
        return self._compare(other, "ge")

    # In-place operators make a new lazy array and rebind the name (arrays are immutable).
    __iadd__ = __add__
    __isub__ = __sub__
    __imul__ = __mul__
    __itruediv__ = __truediv__
    __ifloordiv__ = __floordiv__
    __imod__ = __mod__
    __ipow__ = __pow__
    __iand__ = __and__
    __ior__ = __or__
    __ixor__ = __xor__
    __ilshift__ = __lshift__
    __irshift__ = __rshift__
    __imatmul__ = __matmul__

    # --- indexing ---------------------------------------------------------------------
    def __getitem__(self, key) -> "Array":
        from ._indexing import getitem

        return getitem(self, key)

    def __setitem__(self, key, value):
        """``x[key] = value`` for basic indices (ints, slices with any step, ``None``,
        ``...``) or one boolean mask. The graph underneath is immutable: ``x`` is rebound
        to a lazy ``where(selected, value, x)``, so arrays built from ``x`` before keep
        the old values (chunkwise has no views)."""
        from ._indexing import setitem

        self._raw = setitem(self, key, value)

    # --- NumPy interop ----------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from ._ufuncs import array_ufunc

        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from ._ufuncs import array_function

        return array_function(func, types, args, kwargs)

    # --- Dask-style methods -----------------------------------------------------------
    def rechunk(self, chunks) -> "Array":
        """The same array in other chunks (``dask.array.Array.rechunk``)."""
        from ._api import rechunk

        return rechunk(self, chunks)

    def astype(self, dtype) -> "Array":
        """Conversion to ``dtype``."""
        from ._api import astype

        return astype(self, dtype)

    def explain(self) -> str:
        """The optimization report: layers as built, pass table, optimized layers."""
        return self._raw.explain()

    def visualize(self, filename=None, level: str = "optimized") -> str:
        """The graph in Graphviz DOT (written to ``filename`` when given)."""
        from ._api import visualize

        return visualize(self, filename=filename, level=level)

    def map_blocks(self, func, *args, dtype=None, name=None) -> "Array":
        """``func`` applied to each block (see ``chunkwise.map_blocks``)."""
        from ._api import map_blocks

        return map_blocks(func, self, *args, dtype=dtype, name=name)

    def to_zarr(self, path, **options) -> None:
        """Computes and writes the array as a Zarr array (see ``chunkwise.to_zarr``)."""
        from ._api import to_zarr

        to_zarr(self, path, **options)

    # Reductions as methods, like NumPy and Dask.
    def sum(self, axis=None, dtype=None, keepdims=False):
        """Sum over ``axis`` (``chunkwise.sum``)."""
        from ._statistical import sum

        return sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, keepdims=False):
        """Product over ``axis`` (``chunkwise.prod``)."""
        from ._statistical import prod

        return prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Arithmetic mean over ``axis`` (``chunkwise.mean``)."""
        from ._statistical import mean

        return mean(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, correction=None, keepdims=False, *, ddof=0):
        """Variance (``ddof``, NumPy's and Dask's name, or ``correction``)."""
        from ._statistical import var

        c = ddof if correction is None else correction
        return var(self, axis=axis, correction=c, keepdims=keepdims)

    def std(self, axis=None, correction=None, keepdims=False, *, ddof=0):
        """Standard deviation (``ddof``, NumPy's and Dask's name, or ``correction``)."""
        from ._statistical import std

        c = ddof if correction is None else correction
        return std(self, axis=axis, correction=c, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        """Minimum over ``axis`` (``chunkwise.min``)."""
        from ._statistical import min

        return min(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis`` (``chunkwise.max``)."""
        from ._statistical import max

        return max(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        """Whether any element over ``axis`` is nonzero (``chunkwise.any``)."""
        from ._utility import any

        return any(self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        """Whether every element over ``axis`` is nonzero (``chunkwise.all``)."""
        from ._utility import all

        return all(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        """Index of the first minimum along ``axis`` (``chunkwise.argmin``)."""
        from ._searching import argmin

        return argmin(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        """Index of the first maximum along ``axis`` (``chunkwise.argmax``)."""
        from ._searching import argmax

        return argmax(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        """``x`` in a new shape, given as a tuple or as separate ints (``chunkwise.reshape``)."""
        from ._manipulation import reshape

        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return reshape(self, shape)


def _as_array(x: Any) -> Array:
    if isinstance(x, Array):
        return x
    from ._creation import asarray

    return asarray(x)

