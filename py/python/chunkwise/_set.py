"""Set functions of the Array API. Their output shapes depend on the data, so the input is
computed (in chunks, by the runtime) and the unique values found by NumPy; the results are
chunkwise arrays."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._array import Array, _as_array
from ._creation import asarray

__all__ = ["unique_all", "unique_counts", "unique_inverse", "unique_values"]


class UniqueAllResult(NamedTuple):
    values: Array
    indices: Array
    inverse_indices: Array
    counts: Array


class UniqueCountsResult(NamedTuple):
    values: Array
    counts: Array


class UniqueInverseResult(NamedTuple):
    values: Array
    inverse_indices: Array


def _unique(x, **kw):
    data = np.asarray(_as_array(x).compute())
    return data, np.unique(data.ravel(), equal_nan=False, **kw)


def unique_values(x, /) -> Array:
    """The distinct values, sorted (every NaN is distinct)."""
    _, values = _unique(x)
    return asarray(values)


def unique_counts(x, /) -> UniqueCountsResult:
    """The distinct values and how often each occurs."""
    _, (values, counts) = _unique(x, return_counts=True)
    return UniqueCountsResult(asarray(values), asarray(counts.astype(np.int64)))


def unique_inverse(x, /) -> UniqueInverseResult:
    """The distinct values and, for each element of ``x``, the index of its value."""
    data, (values, inverse) = _unique(x, return_inverse=True)
    return UniqueInverseResult(asarray(values), asarray(inverse.reshape(data.shape).astype(np.int64)))


def unique_all(x, /) -> UniqueAllResult:
    """Values, first indices, inverse indices and counts."""
    data, (values, index, inverse, counts) = _unique(
        x, return_index=True, return_inverse=True, return_counts=True)
    return UniqueAllResult(asarray(values), asarray(index.astype(np.int64)),
                           asarray(inverse.reshape(data.shape).astype(np.int64)),
                           asarray(counts.astype(np.int64)))
