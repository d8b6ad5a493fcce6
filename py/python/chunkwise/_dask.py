"""Functions of ``dask.array`` outside the Array API standard, so that Dask code ports by
changing the import: ``from_array`` (lazy for any array-like: h5py, zarr, xarray's
backend arrays), ``concatenate``, ``dot``, ``einsum``, ``ravel``, ``block``, ``isclose``,
``allclose``, ``median``, ``nanmedian``, ``histogram``, ``bincount``, ``unique``.

>>> import numpy as np, chunkwise as da
>>> x = da.from_array(np.arange(12.0).reshape(3, 4), chunks=2)
>>> hist, edges = da.histogram(x, bins=3, range=(0, 12))
>>> hist.compute().tolist(), edges.tolist()
([4, 4, 4], [0.0, 4.0, 8.0, 12.0])
>>> da.median(x, axis=0).compute().tolist()
[4.0, 5.0, 6.0, 7.0]
"""

from __future__ import annotations

import numpy as np

from . import _dtypes
from ._array import Array, _as_array
from ._axes import normalize_axes

__all__ = [
    "allclose", "bincount", "block", "concatenate", "dot", "einsum", "from_array",
    "histogram", "isclose", "median", "nanmedian", "ravel", "unique",
]


def from_array(x, chunks="auto", *, name=None, dtype=None) -> Array:
    """``x`` as a chunked array: a NumPy array is wrapped without a copy; a chunkwise
    Array is rechunked; any other array-like with ``shape``, ``dtype`` and NumPy-style
    slicing (h5py and zarr arrays, memory maps, xarray's lazy backend arrays) is read
    lazily, each block with one ``x[region]`` call when the graph runs (a Python call,
    under the GIL)."""
    from ._api import map_blocks
    from ._chunks import normalize_chunks
    from ._creation import asarray, empty

    if isinstance(x, Array):
        x = x if dtype is None else x.astype(dtype)
        return x.rechunk(chunks) if chunks != "auto" else x
    if isinstance(x, np.ndarray) or not all(hasattr(x, a) for a in ("shape", "dtype",
                                                                  "__getitem__")):
        return asarray(x, dtype=dtype, chunks=chunks)
    d = _dtypes.to_dtype(dtype if dtype is not None else x.dtype)
    shape = tuple(int(n) for n in x.shape)
    regular, explicit = normalize_chunks(chunks, shape, d.itemsize)
    if explicit is None:
        explicit = [[min(c, n - i) for i in range(0, n, c)] or [0]
                    for c, n in zip(regular, shape)]
    starts = [np.cumsum([0] + list(c)).tolist() for c in explicit]

    def read(template, block_id):
        region = tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, block_id))
        return np.asarray(x[region], dtype=d)

    template = empty(shape, dtype=d, chunks=tuple(tuple(c) for c in explicit))
    return map_blocks(read, template, dtype=d, name=name or "from-array")


def concatenate(seq, axis=0) -> Array:
    """Joins arrays along ``axis`` (Dask's and NumPy's name for ``concat``)."""
    from ._manipulation import concat

    return concat(seq, axis=axis)


def ravel(x) -> Array:
    """``x`` flattened in C order."""
    from ._manipulation import reshape

    return reshape(_as_array(x), (-1,))


def dot(a, b) -> Array:
    """NumPy's ``dot``: a product over the last axis of ``a`` and the second-to-last of
    ``b`` (the last for a 1-d ``b``); scalars multiply."""
    from ._linalg_functions import tensordot

    a, b = _as_array(a), _as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, axes=((a.ndim - 1,), (max(b.ndim - 2, 0),)))


def block(arrays) -> Array:
    """Nested lists of arrays joined along the last axes first (NumPy's ``block``, for
    lists nested as deep as the arrays' dimensions)."""
    from ._manipulation import concat

    def depth(a):
        if isinstance(a, list) and not a:
            raise ValueError("block: a list is empty")
        return 1 + depth(a[0]) if isinstance(a, list) else 0

    levels = depth(arrays)

    def join(a, level):
        if not isinstance(a, list):
            return _as_array(a)
        parts = [join(p, level + 1) for p in a]
        return concat(parts, axis=-(levels - level))

    return join(arrays, 0)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> Array:
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (NumPy's rule: infinities are close
    only to themselves; NaNs are close to each other with ``equal_nan``)."""
    from ._elementwise import abs as _abs, isfinite, isnan, logical_and, logical_or, where

    from ._dtypes import result_type

    a, b = _as_array(a), _as_array(b)
    # In floating point, so unsigned and small integer differences do not wrap (NumPy).
    d = result_type(a, b, 1.0)
    a, b = a.astype(d), b.astype(d)
    finite = logical_and(isfinite(a), isfinite(b))
    close = where(finite, _abs(a - b) <= atol + rtol * _abs(b), a == b)
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> Array:
    """Whether every element is :func:`isclose` (a lazy 0-d bool, as Dask returns;
    ``bool()`` computes it)."""
    from ._utility import all as _all

    return _all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _whole_lines_reduce(x: Array, axis, func, dtype, keepdims: bool, name: str) -> Array:
    """``func(block, axis=axes, keepdims=True)`` on blocks whose ``axes`` are whole: the
    reduced axes are rechunked into one chunk (as Dask's median does), each block's result
    is broadcast back to the block's shape by ``map_blocks`` and the first element kept."""
    from ._api import map_blocks
    from ._manipulation import squeeze

    x = _as_array(x)
    axes = tuple(normalize_axes(axis, x.ndim))
    whole = x.rechunk(tuple(-1 if a in axes else c for a, c in enumerate(x.chunks)))

    def per_block(b):
        return np.broadcast_to(func(b, axis=axes, keepdims=True), b.shape)

    r = map_blocks(per_block, whole, dtype=dtype, name=name)
    r = r[tuple(slice(0, 1) if a in axes else slice(None) for a in range(x.ndim))]
    return r if keepdims else squeeze(r, axis=axes)


def median(a, axis=None, keepdims=False) -> Array:
    """The median over ``axis``, with the reduced axes rechunked into one chunk (their
    whole length must fit in memory per block, as in Dask)."""
    a = _as_array(a)
    dt = a.dtype if a.dtype.kind in "fc" else _dtypes.float64
    return _whole_lines_reduce(a, axis, np.median, dt, keepdims, "median")


def nanmedian(a, axis=None, keepdims=False) -> Array:
    """:func:`median` of the non-NaN elements."""
    a = _as_array(a)
    dt = a.dtype if a.dtype.kind in "fc" else _dtypes.float64
    return _whole_lines_reduce(a, axis, np.nanmedian, dt, keepdims, "nanmedian")


def _one_hot_counts(x: Array, lower, upper, last_closed: bool, weights) -> Array:
    """For each bin ``k``, the count (or weight sum) of elements with ``lower[k] <= x <
    upper[k]`` (``<=`` in the last bin with ``last_closed``): one fused comparison against
    every bin, reduced over all of ``x``'s axes."""
    from ._creation import asarray
    from ._elementwise import logical_and, logical_or
    from ._manipulation import expand_dims
    from ._statistical import sum as _sum

    xe = expand_dims(x, axis=-1)
    lo = asarray(np.asarray(lower), chunks=-1)
    hi = asarray(np.asarray(upper), chunks=-1)
    inside = logical_and(xe >= lo, xe < hi)
    if last_closed:
        last = asarray(np.arange(len(lower)) == len(lower) - 1, chunks=-1)
        inside = logical_or(inside, logical_and(last, xe == hi))
    if weights is not None:
        w = expand_dims(_as_array(weights), axis=-1)
        from ._elementwise import where

        return _sum(where(inside, w, 0), axis=tuple(range(x.ndim)))
    return _sum(inside, axis=tuple(range(x.ndim)))


def histogram(a, bins=10, range=None, weights=None, density=False):
    """NumPy's ``histogram`` (as Dask's): ``(counts, edges)`` with lazy counts and NumPy
    edges. With an integer ``bins``, ``range`` is needed (computing the data's range first
    would run the graph twice: pass it explicitly, as Dask requires)."""
    a = _as_array(a)
    if np.ndim(bins) == 0:
        if range is None:
            raise ValueError("histogram with a number of bins needs range=(low, high)")
        edges = np.linspace(float(range[0]), float(range[1]), int(bins) + 1)
    else:
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2 or (np.diff(edges) < 0).any():
            raise ValueError("bins must be an int or a non-decreasing 1-d sequence of edges")
    counts = _one_hot_counts(a, edges[:-1], edges[1:], True, weights)
    if density:
        from ._statistical import sum as _sum

        counts = counts / (_sum(counts) * np.diff(edges))
    return counts, edges


def bincount(x, weights=None, minlength=0) -> Array:
    """Occurrences of each value of a 1-d array of non-negative integers. The length is
    ``max(x) + 1`` (at least ``minlength``), so ``x``'s maximum is computed first (as
    Dask does, which needs ``minlength``)."""
    x = _as_array(x)
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise TypeError("bincount needs a 1-d array of integers")
    from ._api import compute
    from ._statistical import max as _max, min as _min

    low, top = (int(v) for v in compute(_min(x), _max(x))) if x.size else (0, -1)
    if low < 0:
        raise ValueError("bincount needs non-negative integers")
    n = max(top + 1, int(minlength))
    k = np.arange(n)
    if weights is not None:  # NumPy's weighted counts are float64
        weights = _as_array(weights).astype(_dtypes.float64)
    return _one_hot_counts(x, k, k + 1, False, weights)


def einsum(subscripts: str, *operands) -> Array:
    """NumPy's ``einsum`` for subscripts without ``...`` and without an index repeated
    within one operand (diagonals and traces are refused): indices of one operand only
    that are not in the output are summed first; a pair of operands contracts through
    ``tensordot`` when no shared index is kept in the output, and through a broadcast
    product summed over the shared indices otherwise; more operands fold from the left.

    >>> import numpy as np, chunkwise as da
    >>> a = np.arange(6.0).reshape(2, 3)
    >>> da.einsum("ij,kj->ik", da.asarray(a, chunks=1), da.asarray(a, chunks=2)).compute().tolist()
    [[5.0, 14.0], [14.0, 50.0]]
    """
    if "." in subscripts:
        raise NotImplementedError("einsum: subscripts with '...' are not supported")
    spec = subscripts.replace(" ", "")
    inputs, arrow, out = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: {len(terms)} operands in {subscripts!r}, "
                         f"{len(operands)} given")
    for t in terms:
        if len(set(t)) != len(t):
            raise NotImplementedError(
                f"einsum: an index repeated within one operand ({t!r}: a diagonal or trace)")
    if not arrow:
        counts = {c: inputs.count(c) for c in set(inputs) if c.isalpha()}
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    xs = [_as_array(x) for x in operands]
    for t, x in zip(terms, xs):
        if len(t) != x.ndim:
            raise ValueError(f"einsum: {t!r} names {len(t)} axes of an array with {x.ndim}")
    acc, acc_ix = xs[0], terms[0]
    if len(xs) == 1:
        return _einsum_one(acc, acc_ix, out)
    for k in range(1, len(xs)):
        later = set(out).union(*terms[k + 1:])
        keep = "".join(c for c in dict.fromkeys(acc_ix + terms[k]) if c in later)
        acc, acc_ix = _einsum_pair(acc, acc_ix, xs[k], terms[k], keep), keep
    return _einsum_one(acc, acc_ix, out)


def _einsum_one(x: Array, ix: str, out: str) -> Array:
    """``x`` (indices ``ix``) summed over the indices not in ``out``, in ``out``'s order."""
    from ._manipulation import permute_dims
    from ._statistical import sum as _sum

    gone = tuple(a for a, c in enumerate(ix) if c not in out)
    if gone:
        x, ix = _sum(x, axis=gone), "".join(c for c in ix if c in out)
    if set(out) - set(ix):
        raise ValueError(f"einsum: output indices {out!r} not among the inputs' {ix!r}")
    return permute_dims(x, tuple(ix.index(c) for c in out)) if ix != out else x


def _einsum_pair(a: Array, ai: str, b: Array, bi: str, out: str) -> Array:
    from ._linalg_functions import tensordot
    from ._manipulation import expand_dims, permute_dims
    from ._statistical import sum as _sum

    a = _einsum_one(a, ai, "".join(c for c in ai if c in out or c in bi))
    ai = "".join(c for c in ai if c in out or c in bi)
    b = _einsum_one(b, bi, "".join(c for c in bi if c in out or c in ai))
    bi = "".join(c for c in bi if c in out or c in ai)
    shared = [c for c in ai if c in bi]
    if not any(c in out for c in shared):
        r = tensordot(a, b, axes=(tuple(ai.index(c) for c in shared),
                                  tuple(bi.index(c) for c in shared)))
        ri = "".join(c for c in ai if c not in shared) + "".join(c for c in bi if c not in shared)
        return _einsum_one(r, ri, out)
    summed = [c for c in shared if c not in out]
    order = out + "".join(summed)

    def aligned(x, xi):
        x = permute_dims(x, tuple(xi.index(c) for c in order if c in xi))
        for p in (p for p, c in enumerate(order) if c not in xi):  # ascending positions
            x = expand_dims(x, axis=p)
        return x

    prod = aligned(a, ai) * aligned(b, bi)
    return _sum(prod, axis=tuple(range(len(out), len(order)))) if summed else prod


def unique(ar, return_index=False, return_inverse=False, return_counts=False):
    """NumPy's ``unique``: the sorted distinct values, and with the flags the first
    indices, the inverse indices (of the flattened input, as NumPy 2 gives them in the
    input's shape) and the counts, as a tuple (see ``unique_all``)."""
    from ._set import unique_all, unique_values

    if not (return_index or return_inverse or return_counts):
        return unique_values(ar)
    r = unique_all(ar)
    flags = (return_index, return_inverse, return_counts)
    return (r.values,) + tuple(v for v, f in zip(r[1:], flags) if f)
