"""The Array API's ``fft`` extension. As in ``dask.array.fft``, a transform needs each
transformed axis whole in one chunk: the axes are rechunked into one chunk (the other axes
stay chunked, so a stack of signals runs in parallel), and each block is transformed by
NumPy inside ``map_blocks``. Transforms that change an axis's length (``n=``, ``rfft``,
``irfft``, ``hfft``) compute into a block padded to the larger length and slice it.

>>> import numpy as np, chunkwise as cw
>>> x = cw.asarray(np.array([[1.0, 2.0, 3.0, 4.0]] * 3), chunks=(1, 2))
>>> cw.fft.rfft(x)[0].compute().tolist()
[(10+0j), (-2+2j), (-2+0j)]
>>> cw.fft.irfft(cw.fft.rfft(x), n=4)[2].compute().tolist()
[1.0, 2.0, 3.0, 4.0]
"""

from __future__ import annotations

import numpy as np

from . import _dtypes
from ._array import Array, _as_array
from ._axes import normalize_axis

__all__ = [
    "fft", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifftn", "ifftshift", "ihfft",
    "irfft", "irfftn", "rfft", "rfftfreq", "rfftn",
]

_NORMS = ("backward", "ortho", "forward")


def _transform(x: Array, axes, lengths, func, out_dtype, name: str) -> Array:
    """``func(block)`` over whole ``axes``, giving ``lengths[k]`` along ``axes[k]``."""
    from ._api import map_blocks
    from ._creation import zeros
    from ._manipulation import concat

    inner = x.shape
    xs = x.rechunk(tuple(-1 if a in axes else c for a, c in enumerate(x.chunks)))
    for a, m in zip(axes, lengths):
        if m > inner[a]:
            shape = tuple(m - inner[a] if b == a else n for b, n in enumerate(xs.shape))
            pad = zeros(shape, dtype=xs.dtype,
                        chunks=tuple(-1 if b == a else c for b, c in enumerate(xs.chunks)))
            xs = concat([xs, pad], axis=a)
            xs = xs.rechunk(tuple(-1 if b == a else c for b, c in enumerate(xs.chunks)))
    take_in = tuple(slice(0, inner[a]) if a in axes else slice(None) for a in range(x.ndim))

    def block(b):
        r = np.asarray(func(b[take_in]), dtype=out_dtype)
        out = np.zeros(b.shape, dtype=out_dtype)
        out[tuple(slice(0, n) for n in r.shape)] = r
        return out

    y = map_blocks(block, xs, dtype=out_dtype, name=name)
    keep = dict(zip(axes, lengths))
    return y[tuple(slice(0, keep[a]) if a in keep else slice(None) for a in range(x.ndim))]


def _check(x, norm: str, kind: str) -> Array:
    x = _as_array(x)
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}, not {norm!r}")
    if kind == "complex" and x.dtype.kind != "c":
        raise TypeError(f"this transform needs a complex array, not {x.dtype}")
    if kind == "real" and x.dtype.kind != "f":
        raise TypeError(f"this transform needs a real floating array, not {x.dtype}")
    return x


def _one(x, n, axis, norm, kind, npfunc, out_len, out_dtype, name) -> Array:
    x = _check(x, norm, kind)
    axis = normalize_axis(axis, x.ndim)
    if n is not None and n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    m = out_len(x.shape[axis] if n is None else n)
    if m < 1:
        raise ValueError(f"the transform's output length along axis {axis} is {m}")
    return _transform(x, (axis,), (m,), lambda b: npfunc(b, n=n, axis=axis, norm=norm),
                      out_dtype(x.dtype), name)


def fft(x, /, *, n=None, axis=-1, norm="backward") -> Array:
    """One-dimensional discrete Fourier transform of a complex array along ``axis``."""
    return _one(x, n, axis, norm, "complex", np.fft.fft, lambda k: k, lambda d: d, "fft")


def ifft(x, /, *, n=None, axis=-1, norm="backward") -> Array:
    """Inverse of :func:`fft`."""
    return _one(x, n, axis, norm, "complex", np.fft.ifft, lambda k: k, lambda d: d, "ifft")


def rfft(x, /, *, n=None, axis=-1, norm="backward") -> Array:
    """Transform of a real array: the ``n // 2 + 1`` non-negative frequencies."""
    return _one(x, n, axis, norm, "real", np.fft.rfft, lambda k: k // 2 + 1, _dtypes.complex_dtype,
                "rfft")


def irfft(x, /, *, n=None, axis=-1, norm="backward") -> Array:
    """Inverse of :func:`rfft`: a real array of length ``n`` (``2 * (m - 1)`` by
    default)."""
    x = _as_array(x)
    ax = normalize_axis(axis, x.ndim)
    length = 2 * (x.shape[ax] - 1) if n is None else n
    return _one(x, n, axis, norm, "complex", np.fft.irfft, lambda k: length, _dtypes.real_dtype,
                "irfft")


def hfft(x, /, *, n=None, axis=-1, norm="backward") -> Array:
    """Transform of a signal with Hermitian symmetry: a real array of length ``n``
    (``2 * (m - 1)`` by default)."""
    x = _as_array(x)
    ax = normalize_axis(axis, x.ndim)
    length = 2 * (x.shape[ax] - 1) if n is None else n
    return _one(x, n, axis, norm, "complex", np.fft.hfft, lambda k: length, _dtypes.real_dtype, "hfft")


def ihfft(x, /, *, n=None, axis=-1, norm="backward") -> Array:
    """Inverse of :func:`hfft`: ``n // 2 + 1`` complex values of a real array."""
    return _one(x, n, axis, norm, "real", np.fft.ihfft, lambda k: k // 2 + 1, _dtypes.complex_dtype,
                "ihfft")


def _many(x, s, axes, norm, kind, npfunc, last_len, out_dtype, name) -> Array:
    x = _check(x, norm, kind)
    if axes is None:
        axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
    axes = tuple(normalize_axis(a, x.ndim) for a in axes)
    if not axes:
        raise ValueError("an n-dimensional transform needs at least one axis")
    if len(set(axes)) != len(axes):
        raise ValueError(f"repeated axis in {axes}")
    if s is not None and len(s) != len(axes):
        raise ValueError(f"s has {len(s)} lengths for {len(axes)} axes")
    sizes = [x.shape[a] for a in axes] if s is None else list(s)
    if any(k < 1 for k in sizes):
        raise ValueError(f"transform lengths must be at least 1, not {sizes}")
    out = list(sizes)
    out[-1] = last_len(x.shape[axes[-1]] if s is None else s[-1], s is None)
    sorted_axes = tuple(sorted(axes))
    lengths = tuple(out[axes.index(a)] for a in sorted_axes)
    return _transform(x, sorted_axes, lengths,
                      lambda b: npfunc(b, s=s, axes=axes, norm=norm), out_dtype(x.dtype), name)


def fftn(x, /, *, s=None, axes=None, norm="backward") -> Array:
    """n-dimensional discrete Fourier transform of a complex array over ``axes``."""
    return _many(x, s, axes, norm, "complex", np.fft.fftn, lambda k, _: k, lambda d: d,
                 "fftn")


def ifftn(x, /, *, s=None, axes=None, norm="backward") -> Array:
    """Inverse of :func:`fftn`."""
    return _many(x, s, axes, norm, "complex", np.fft.ifftn, lambda k, _: k, lambda d: d,
                 "ifftn")


def rfftn(x, /, *, s=None, axes=None, norm="backward") -> Array:
    """:func:`fftn` of a real array (the last axis keeps ``n // 2 + 1`` frequencies)."""
    return _many(x, s, axes, norm, "real", np.fft.rfftn, lambda k, _: k // 2 + 1,
                 _dtypes.complex_dtype, "rfftn")


def irfftn(x, /, *, s=None, axes=None, norm="backward") -> Array:
    """Inverse of :func:`rfftn` (the last axis has ``2 * (m - 1)`` values by default)."""
    return _many(x, s, axes, norm, "complex", np.fft.irfftn,
                 lambda k, default: 2 * (k - 1) if default else k, _dtypes.real_dtype, "irfftn")


def _freq(n: int, d: float, real: bool, dtype, device) -> Array:
    from ._creation import asarray, _check_device

    _check_device(device)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, not {n!r}")
    f = np.fft.rfftfreq(n, d) if real else np.fft.fftfreq(n, d)
    return asarray(f, dtype=dtype or _dtypes.DEFAULT_FLOAT)


def fftfreq(n, /, *, d=1.0, dtype=None, device=None) -> Array:
    """The sample frequencies of :func:`fft`'s output (NumPy's ``fftfreq``)."""
    return _freq(n, d, False, dtype, device)


def rfftfreq(n, /, *, d=1.0, dtype=None, device=None) -> Array:
    """The sample frequencies of :func:`rfft`'s output."""
    return _freq(n, d, True, dtype, device)


def _shift(x, axes, sign: int) -> Array:
    from ._manipulation import roll

    x = _as_array(x)
    axes = tuple(range(x.ndim)) if axes is None else (
        (axes,) if isinstance(axes, int) else tuple(axes))
    axes = tuple(normalize_axis(a, x.ndim) for a in axes)
    shifts = tuple(sign * (x.shape[a] // 2) for a in axes)
    return roll(x, shift=shifts, axis=axes) if axes else x


def fftshift(x, /, *, axes=None) -> Array:
    """The zero frequency moved to the centre (a lazy ``roll``)."""
    return _shift(x, axes, 1)


def ifftshift(x, /, *, axes=None) -> Array:
    """Inverse of :func:`fftshift`."""
    return _shift(x, axes, -1)
