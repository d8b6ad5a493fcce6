"""The Array API's ``linalg`` extension where chunkwise has the algorithm, plus ``tsqr``
and ``svd_compressed`` (Dask's randomized SVD).

``qr``, ``svd`` and ``svdvals`` are for tall-and-skinny matrices (any number of row
chunks, one column chunk): the TSQR algorithm, as ``dask.array.linalg``."""

from __future__ import annotations

from typing import NamedTuple

from . import _core
from ._array import Array, _as_array
from ._linalg_functions import matmul, matrix_transpose, tensordot, vecdot

__all__ = [
    "matmul", "matrix_norm", "matrix_transpose", "outer", "qr", "svd", "svd_compressed",
    "svdvals", "tensordot", "tsqr", "vecdot", "vector_norm",
]


class QRResult(NamedTuple):
    Q: Array
    R: Array


class SVDResult(NamedTuple):
    U: Array
    S: Array
    Vh: Array


def tsqr(a) -> QRResult:
    """Tall-and-skinny QR (``Q`` chunked like ``a``'s rows, ``R`` small)."""
    q, r = _core.tsqr(_as_array(a)._raw)
    return QRResult(Array(q), Array(r))


def qr(x, /, *, mode="reduced") -> QRResult:
    """QR decomposition of a tall-and-skinny matrix (``mode="reduced"`` only)."""
    if mode != "reduced":
        raise ValueError("chunkwise's qr computes the reduced decomposition only")
    return tsqr(x)


def svd(x, /, *, full_matrices=True) -> SVDResult:
    """Thin SVD of a tall-and-skinny matrix (chunkwise computes ``full_matrices=False``:
    ``U`` has as many columns as ``x``)."""
    u, s, vt = _core.svd(_as_array(x)._raw)
    return SVDResult(Array(u), Array(s), Array(vt))


def svdvals(x, /) -> Array:
    """Singular values, largest first."""
    return svd(x, full_matrices=False).S


def svd_compressed(a, k: int, *, n_power_iter: int = 2, n_oversamples: int = 10,
                   seed: int = 0, recompute_input: bool = False) -> SVDResult:
    """Randomized SVD of rank ``k`` (Halko et al.), as ``dask.array.linalg.svd_compressed``
    with ``iterator="QR"``: the input's chunks stream through the power iterations."""
    u, s, vt = _core.svd_compressed(_as_array(a)._raw, k, n_power_iter, n_oversamples, seed,
                                    recompute_input)
    return SVDResult(Array(u), Array(s), Array(vt))


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2) -> Array:
    """Vector p-norm over ``axis`` (``ord``: any positive number, ``inf``, ``-inf``, 0)."""
    from ._elementwise import abs
    from ._statistical import max, min, sum

    a = abs(_as_array(x))
    if ord == float("inf"):
        return max(a, axis=axis, keepdims=keepdims)
    if ord == float("-inf"):
        return min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return sum((a != 0).astype(a.dtype), axis=axis, keepdims=keepdims)
    if ord == 2:
        from ._elementwise import sqrt

        return sqrt(sum(a * a, axis=axis, keepdims=keepdims))
    return sum(a ** float(ord), axis=axis, keepdims=keepdims) ** (1.0 / ord)


def matrix_norm(x, /, *, keepdims=False, ord="fro") -> Array:
    """Matrix norm over the last two axes: Frobenius (``"fro"``), 1 and inf (max column /
    row sums)."""
    from ._elementwise import abs
    from ._statistical import max, sum

    a = _as_array(x)
    if ord == "fro":
        return vector_norm(a, axis=(-2, -1), keepdims=keepdims)
    if ord == 1:
        return max(sum(abs(a), axis=-2, keepdims=True), axis=-1, keepdims=True)[
            (...,) + ((slice(None),) * 2 if keepdims else (0, 0))]
    if ord == float("inf"):
        return max(sum(abs(a), axis=-1, keepdims=True), axis=-2, keepdims=True)[
            (...,) + ((slice(None),) * 2 if keepdims else (0, 0))]
    raise ValueError(f"chunkwise's matrix_norm computes ord 'fro', 1 and inf, not {ord!r}")


def outer(x1, x2, /) -> Array:
    """Outer product of two vectors."""
    a, b = _as_array(x1), _as_array(x2)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("outer takes 1-d arrays")
    return a[:, None] * b[None, :]
