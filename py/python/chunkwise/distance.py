"""Pairwise distances, as sgkit's ``pairwise_distance`` and SciPy's ``cdist``."""

from __future__ import annotations

from ._recorded import core as _core
from ._array import Array, _as_array

__all__ = ["pairwise_distance"]


def pairwise_distance(x, y=None, metric: str = "euclidean", *, p=None) -> Array:
    """Distances between the rows of ``x`` (and of ``y``; ``None``: ``x`` with itself), as
    a chunked ``(n, m)`` float64 array. ``metric``: euclidean, sqeuclidean, cityblock,
    chebyshev, minkowski (order ``p``, 2 by default), cosine, correlation, braycurtis,
    canberra, hamming, jaccard. Euclidean, sqeuclidean, cosine and correlation run
    on matrix products; the others on a tiled direct kernel. Undefined values (a zero
    vector's cosine) are NaN, as SciPy."""
    xs = _as_array(x)
    ys = None if y is None else _as_array(y)._raw
    return Array(_core.pairwise_distance(xs._raw, ys, metric, p))
