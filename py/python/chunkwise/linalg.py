"""The Array API's ``linalg`` extension, plus ``tsqr`` and ``svd_compressed`` (Dask's
randomized SVD).

``qr``, ``svd`` and ``svdvals`` of a tall-and-skinny matrix split in row chunks (one column
chunk) run the TSQR algorithm, as ``dask.array.linalg``. The other dense-matrix functions
(``cholesky``, ``det``, ``eigh``, ``eigvalsh``, ``inv``, ``matrix_power``, ``matrix_rank``,
``pinv``, ``slogdet``, ``solve``, and ``qr`` / ``svd`` / ``svdvals`` otherwise) compute
matrix by matrix with NumPy in ``map_blocks``: the matrix axes are rechunked into one
chunk; stacks stay chunked (each block is a stack of whole matrices)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _dtypes
from ._recorded import core as _core
from ._array import Array, _as_array
from ._linalg_functions import matmul, matrix_transpose, tensordot, vecdot

__all__ = [
    "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul",
    "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "outer", "pinv", "qr",
    "slogdet", "solve", "svd", "svd_compressed", "svdvals", "tensordot", "trace", "tsqr",
    "vecdot", "vector_norm",
]


class EighResult(NamedTuple):
    """``eigh``'s result: eigenvalues (ascending) and eigenvectors (columns)."""

    eigenvalues: Array
    eigenvectors: Array


class SlogdetResult(NamedTuple):
    """``slogdet``'s result: the determinants' signs and the logs of their magnitudes."""

    sign: Array
    logabsdet: Array


class QRResult(NamedTuple):
    Q: Array
    R: Array


class SVDResult(NamedTuple):
    U: Array
    S: Array
    Vh: Array


def _same_dtype(raws, dtype) -> list[Array]:
    """Arrays of the core's results in ``dtype`` (the core's TSQR and SVD compute in
    float64 whatever the input's floating dtype)."""
    out = [Array(r) for r in raws]
    if dtype.kind == "f":
        out = [o if o.dtype == dtype else o.astype(dtype) for o in out]
    return out


def tsqr(a) -> QRResult:
    """Tall-and-skinny QR (``Q`` chunked like ``a``'s rows, ``R`` small)."""
    a = _as_array(a)
    return QRResult(*_same_dtype(_core.tsqr(a._raw), a.dtype))


def _tsqr_applies(x: Array) -> bool:
    """Whether ``x`` is a real tall-and-skinny matrix in row chunks (TSQR's case; the
    core's TSQR is real)."""
    return (x.ndim == 2 and x.dtype.kind == "f" and x.shape[0] >= x.shape[1] > 0
            and x.numblocks[0] > 1 and x.numblocks[1] == 1)


def qr(x, /, *, mode="reduced") -> QRResult:
    """QR decomposition of each matrix of ``x`` (``mode``: ``"reduced"``, Q of shape
    ``(..., M, K)``, or ``"complete"``, Q of shape ``(..., M, M)``; K = min(M, N)).

    A tall-and-skinny matrix in row chunks (one column chunk), ``mode="reduced"``, runs
    TSQR; otherwise the matrix axes are rechunked into one chunk and NumPy decomposes
    each matrix (stacks stay chunked)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', not {mode!r}")
    a = _float_matrices(x, "qr")
    if mode == "reduced" and _tsqr_applies(a):
        return tsqr(a)
    m, n = a.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    q = _per_matrix(a, lambda b: np.linalg.qr(b, mode=mode).Q, (m, k), a.dtype, "qr")
    r = _per_matrix(a, lambda b: np.linalg.qr(b, mode=mode).R, (k, n), a.dtype, "qr")
    return QRResult(q, r)


def svd(x, /, *, full_matrices=True) -> SVDResult:
    """Singular value decomposition ``x = U @ diag(S) @ Vh`` of each matrix, ``S`` largest
    first (``full_matrices``: U is ``(..., M, M)`` and Vh ``(..., N, N)``; else
    ``(..., M, K)`` and ``(..., K, N)``).

    A tall-and-skinny matrix in row chunks with ``full_matrices=False`` runs TSQR then a
    small SVD (chunked like ``x``'s rows); otherwise the matrix axes are rechunked into one
    chunk and NumPy decomposes each matrix (stacks stay chunked). The standard's default,
    ``full_matrices=True``, makes U ``M x M``: pass ``full_matrices=False`` for a tall
    matrix."""
    a = _float_matrices(x, "svd")
    if not full_matrices and _tsqr_applies(a):
        return SVDResult(*_same_dtype(_core.svd(a._raw), a.dtype))
    m, n = a.shape[-2:]
    k = min(m, n)
    fm = bool(full_matrices)
    ushape, vshape = ((m, m), (n, n)) if fm else ((m, k), (k, n))
    u = _per_matrix(a, lambda b: np.linalg.svd(b, full_matrices=fm).U, ushape, a.dtype, "svd")
    s = _per_matrix(a, lambda b: np.linalg.svd(b, compute_uv=False)[..., None, :], (1, k),
                    _dtypes.real_dtype(a.dtype), "svd")[..., 0, :]
    vh = _per_matrix(a, lambda b: np.linalg.svd(b, full_matrices=fm).Vh, vshape, a.dtype,
                     "svd")
    return SVDResult(u, s, vh)


def svdvals(x, /) -> Array:
    """Singular values of each matrix, largest first (shape ``(..., K)``)."""
    a = _float_matrices(x, "svdvals")
    if _tsqr_applies(a):
        return svd(a, full_matrices=False).S
    k = min(a.shape[-2:])
    return _per_matrix(a, lambda b: np.linalg.svd(b, compute_uv=False)[..., None, :], (1, k),
                       _dtypes.real_dtype(a.dtype), "svdvals")[..., 0, :]


def svd_compressed(a, k: int, *, n_power_iter: int = 2, n_oversamples: int = 10,
                   seed: int = 0, recompute_input: bool = False) -> SVDResult:
    """Randomized SVD of rank ``k`` (Halko et al.), as ``dask.array.linalg.svd_compressed``
    with ``iterator="QR"``: the input's chunks stream through the power iterations."""
    a = _as_array(a)
    return SVDResult(*_same_dtype(_core.svd_compressed(a._raw, k, n_power_iter, n_oversamples,
                                                       seed, recompute_input), a.dtype))


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
    """Matrix norm over the last two axes: ``"fro"`` (Frobenius), ``"nuc"`` (sum of the
    singular values), 1 / -1 (largest / smallest column sum of absolute values), inf / -inf
    (rows), 2 / -2 (largest / smallest singular value)."""
    from ._elementwise import abs
    from ._statistical import max, min, sum

    a = _as_array(x)
    if a.ndim < 2:
        raise ValueError(f"matrix_norm needs at least 2 axes, not {a.ndim}")
    if a.dtype.kind not in "fc":
        a = a.astype(_dtypes.DEFAULT_FLOAT)
    inf = float("inf")
    if isinstance(ord, str):
        if ord == "fro":
            return vector_norm(a, axis=(-2, -1), keepdims=keepdims)
        if ord == "nuc":
            out = sum(svdvals(a), axis=-1)
        else:
            raise ValueError(f"matrix_norm: unknown ord {ord!r}")
    elif ord in (1, -1, inf, -inf):
        # Sums along one matrix axis, then the extreme along the other.
        along, across = (-2, -1) if ord in (1, -1) else (-1, -2)
        pick = max if ord > 0 else min
        out = pick(sum(abs(a), axis=along, keepdims=True), axis=across, keepdims=True)
        return out if keepdims else out[..., 0, 0]
    elif ord in (2, -2):
        sv = svdvals(a)
        out = max(sv, axis=-1) if ord == 2 else min(sv, axis=-1)
    else:
        raise ValueError(f"matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, "
                         f"not {ord!r}")
    return out[..., None, None] if keepdims else out


def outer(x1, x2, /) -> Array:
    """Outer product of two vectors."""
    a, b = _as_array(x1), _as_array(x2)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError("outer takes 1-d arrays")
    return a[:, None] * b[None, :]


# --- dense matrix functions, matrix by matrix with NumPy ---------------------------------


def _float_matrices(x, name: str, square: bool = False) -> Array:
    """``x`` as a stack of matrices of a floating (or complex) dtype: integers and bool
    become float64, as NumPy's linalg does."""
    a = _as_array(x)
    if a.ndim < 2:
        raise ValueError(f"{name} needs an array of at least 2 axes (a stack of matrices), "
                         f"not {a.ndim}")
    if square and a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name} needs square matrices, not {a.shape[-2]}x{a.shape[-1]}")
    if a.dtype.kind not in "fc":
        a = a.astype(_dtypes.DEFAULT_FLOAT)
    return a


def _per_matrix(a: Array, func, out_shape: tuple[int, int], dtype, name: str) -> Array:
    """``func`` on the matrices of ``a`` (shape ``(..., M, N)``): ``func`` takes a NumPy
    stack of matrices ``(..., M, N)`` and returns ``(..., P, Q)``, ``out_shape``.

    The matrix axes are rechunked into one chunk (stacks keep their chunks) and padded
    with zeros to hold the output, since ``map_blocks`` keeps block shapes; the result
    is sliced back to ``(..., P, Q)``."""
    from ._api import map_blocks
    from ._creation import zeros
    from ._manipulation import concat

    dtype = np.dtype(dtype)
    m, n = a.shape[-2:]
    p, q = out_shape
    stack = a.shape[:-2]
    if p > m:
        a = concat([a, zeros(stack + (p - m, n), dtype=a.dtype)], axis=-2)
    if q > n:
        a = concat([a, zeros(stack + (a.shape[-2], q - n), dtype=a.dtype)], axis=-1)
    whole = a.chunks[:-2] + ((a.shape[-2],), (a.shape[-1],))
    if a.chunks != whole:
        a = a.rechunk(whole)

    def block(b: np.ndarray) -> np.ndarray:
        out = np.zeros(b.shape, dtype=dtype)
        out[..., :p, :q] = func(b[..., :m, :n])
        return out

    out = map_blocks(block, a, dtype=dtype, name=name)
    if out.shape[-2:] != (p, q):
        out = out[..., :p, :q]
    return out


def _with_column(a: Array, values, name: str) -> Array:
    """``a`` (``(..., M, N)``) with one more column holding ``values`` (broadcast to the
    stack shape): a per-matrix parameter travels with its matrix."""
    from ._manipulation import broadcast_to, concat

    v = _as_array(values)
    if v.dtype.kind not in "iuf":
        raise TypeError(f"{name}: rtol must be real, not {v.dtype}")
    stack = a.shape[:-2]
    try:
        np.broadcast_shapes(v.shape, stack)
    except ValueError as e:
        raise ValueError(f"{name}: rtol of shape {v.shape} does not broadcast to the stack "
                         f"shape {stack}") from e
    col = broadcast_to(v.astype(a.dtype)[..., None, None], stack + (a.shape[-2], 1))
    return concat([a, col], axis=-1)


def cholesky(x, /, *, upper=False) -> Array:
    """Cholesky factor of each symmetric positive-definite matrix: lower triangular ``L``
    with ``x = L @ L.mT`` (``upper=True``: ``U = L.mT``). A matrix that is not positive
    definite fails the computation (NumPy's ``LinAlgError``)."""
    a = _float_matrices(x, "cholesky", square=True)
    return _per_matrix(a, lambda b: np.linalg.cholesky(b, upper=bool(upper)), a.shape[-2:],
                       a.dtype, "cholesky")


def det(x, /) -> Array:
    """Determinant of each square matrix (shape ``(...)``)."""
    a = _float_matrices(x, "det", square=True)
    return _per_matrix(a, lambda b: np.linalg.det(b)[..., None, None], (1, 1), a.dtype,
                       "det")[..., 0, 0]


def slogdet(x, /) -> SlogdetResult:
    """Sign and natural log of the absolute value of each determinant (sign 0 and
    logabsdet -inf for a singular matrix)."""
    a = _float_matrices(x, "slogdet", square=True)
    sign = _per_matrix(a, lambda b: np.linalg.slogdet(b).sign[..., None, None], (1, 1),
                       a.dtype, "slogdet")[..., 0, 0]
    logabs = _per_matrix(a, lambda b: np.linalg.slogdet(b).logabsdet[..., None, None],
                         (1, 1), _dtypes.real_dtype(a.dtype), "slogdet")[..., 0, 0]
    return SlogdetResult(sign, logabs)


def inv(x, /) -> Array:
    """Inverse of each square matrix (a singular matrix fails the computation)."""
    a = _float_matrices(x, "inv", square=True)
    return _per_matrix(a, np.linalg.inv, a.shape[-2:], a.dtype, "inv")


def eigh(x, /) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix; only
    the lower triangle is read."""
    a = _float_matrices(x, "eigh", square=True)
    n = a.shape[-1]
    values = _per_matrix(a, lambda b: np.linalg.eigh(b).eigenvalues[..., None, :], (1, n),
                         _dtypes.real_dtype(a.dtype), "eigh")[..., 0, :]
    vectors = _per_matrix(a, lambda b: np.linalg.eigh(b).eigenvectors, (n, n), a.dtype,
                          "eigh")
    return EighResult(values, vectors)


def eigvalsh(x, /) -> Array:
    """Eigenvalues (ascending) of each symmetric matrix (shape ``(..., M)``)."""
    a = _float_matrices(x, "eigvalsh", square=True)
    n = a.shape[-1]
    return _per_matrix(a, lambda b: np.linalg.eigvalsh(b)[..., None, :], (1, n),
                       _dtypes.real_dtype(a.dtype), "eigvalsh")[..., 0, :]


def matrix_power(x, n, /) -> Array:
    """Each square matrix raised to the integer power ``n`` (``n = 0``: the identity;
    ``n < 0``: powers of the inverse)."""
    import operator

    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError(f"matrix_power: n must be an integer, not {type(n).__name__}") from e
    a = _as_array(x)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"matrix_power needs square matrices, not shape {a.shape}")
    if n < 0:
        a = _float_matrices(a, "matrix_power", square=True)
    return _per_matrix(a, lambda b: np.linalg.matrix_power(b, n), a.shape[-2:], a.dtype,
                       "matrix_power")


def _default_rtol(a: Array) -> float:
    return max(a.shape[-2:], default=0) * float(np.finfo(a.dtype).eps)


def matrix_rank(x, /, *, rtol=None) -> Array:
    """Rank of each matrix: the number of singular values above ``rtol`` times the largest
    (``rtol``: a float or an array broadcast to the stack shape; default
    ``max(M, N) * eps``). int64, shape ``(...)``."""
    a = _float_matrices(x, "matrix_rank")
    m, n = a.shape[-2:]
    b = _with_column(a, _default_rtol(a) if rtol is None else rtol, "matrix_rank")

    def rank(blk: np.ndarray) -> np.ndarray:
        r = blk[..., 0, n] if m else np.zeros(blk.shape[:-2], blk.dtype)
        return np.linalg.matrix_rank(blk[..., :n], rtol=r)[..., None, None]

    return _per_matrix(b, rank, (1, 1), np.int64, "matrix_rank")[..., 0, 0]


def pinv(x, /, *, rtol=None) -> Array:
    """Moore-Penrose pseudo-inverse of each matrix (shape ``(..., N, M)``); singular values
    at most ``rtol`` times the largest count as zero (``rtol``: a float or an array
    broadcast to the stack shape; default ``max(M, N) * eps``)."""
    a = _float_matrices(x, "pinv")
    m, n = a.shape[-2:]
    b = _with_column(a, _default_rtol(a) if rtol is None else rtol, "pinv")

    def inverse(blk: np.ndarray) -> np.ndarray:
        r = blk[..., 0, n] if m else np.zeros(blk.shape[:-2], blk.dtype)
        return np.linalg.pinv(blk[..., :n], rtol=r)

    return _per_matrix(b, inverse, (n, m), a.dtype, "pinv")


def solve(x1, x2, /) -> Array:
    """The solution ``y`` of ``x1 @ y = x2`` for each square matrix of ``x1``: ``x2`` is a
    vector of shape ``(M,)`` (for every matrix) or a stack of ``(M, K)`` matrices (stacks
    broadcast)."""
    from ._dtypes import result_type
    from ._manipulation import broadcast_to, concat

    a = _float_matrices(x1, "solve", square=True)
    b = _as_array(x2)
    dtype = result_type(a, b) if b.dtype.kind == "f" else a.dtype
    m = a.shape[-1]
    vector = b.ndim == 1
    if vector:
        b = b[:, None]
    if b.ndim < 2 or b.shape[-2] != m:
        raise ValueError(f"solve: x2 of shape {_as_array(x2).shape} does not match matrices "
                         f"of shape {a.shape[-2:]}")
    k = b.shape[-1]
    try:
        stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError as e:
        raise ValueError(f"solve: stacks of shapes {a.shape[:-2]} and {b.shape[:-2]} do not "
                         "broadcast") from e
    both = concat([broadcast_to(a.astype(dtype), stack + (m, m)),
                   broadcast_to(b.astype(dtype), stack + (m, k))], axis=-1)
    out = _per_matrix(both, lambda blk: np.linalg.solve(blk[..., :m], blk[..., m:]), (m, k),
                      dtype, "solve")
    return out[..., 0] if vector else out


# --- lazy functions ----------------------------------------------------------------------


def diagonal(x, /, *, offset=0) -> Array:
    """The ``offset``-th diagonal of each matrix (shape ``(..., K)``): a strided slice of
    the flattened matrix axes, no data is gathered."""
    from ._manipulation import reshape

    a = _as_array(x)
    if a.ndim < 2:
        raise ValueError(f"diagonal needs at least 2 axes, not {a.ndim}")
    n, m = a.shape[-2:]
    offset = int(offset)
    if offset >= 0:
        size = max(min(n, m - offset), 0)
        start = offset
    else:
        size = max(min(n + offset, m), 0)
        start = -offset * m
    flat = reshape(a, a.shape[:-2] + (n * m,))
    if size == 0:
        return flat[..., 0:0]
    return flat[..., start:start + (size - 1) * (m + 1) + 1:m + 1]


def trace(x, /, *, offset=0, dtype=None) -> Array:
    """Sum of the ``offset``-th diagonal of each matrix (dtypes as ``sum``)."""
    from ._statistical import sum

    return sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


def cross(x1, x2, /, *, axis=-1) -> Array:
    """Cross product of 3-element vectors along ``axis`` (the other axes broadcast)."""
    from ._dtypes import result_type
    from ._manipulation import broadcast_arrays, stack

    a, b = _as_array(x1), _as_array(x2)
    axis = int(axis)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("cross does not take 0-d arrays")
    axes = []
    for v in (a, b):
        if not -v.ndim <= axis < v.ndim:
            raise ValueError(f"cross: axis {axis} is out of range for shape {v.shape}")
        axes.append(axis - v.ndim if axis >= 0 else axis)
    if axes[0] != axes[1]:
        raise ValueError(f"cross: axis {axis} names different axes of shapes {a.shape} and "
                         f"{b.shape}; use a negative axis")
    ax = axes[0]
    if a.shape[ax] != 3 or b.shape[ax] != 3:
        raise ValueError(f"cross needs vectors of length 3 along axis {axis}, not "
                         f"{a.shape[ax]} and {b.shape[ax]}")
    dtype = result_type(a, b)
    a, b = broadcast_arrays(a.astype(dtype), b.astype(dtype))
    pos = ax % a.ndim

    def comp(v: Array, i: int) -> Array:
        return v[(slice(None),) * pos + (i,)]

    a0, a1, a2 = (comp(a, i) for i in range(3))
    b0, b1, b2 = (comp(b, i) for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=pos)
