"""Random arrays from chunkwise's counter-based generator: element ``i`` depends only on
the seed and ``i``, so results do not depend on the chunking or the thread count."""

from __future__ import annotations

from . import _core, _dtypes
from ._array import Array
from ._chunks import normalize_chunks

__all__ = ["normal", "uniform"]


def _make(size, chunks, seed, dtype, normal, a, b) -> Array:
    shape = (size,) if isinstance(size, int) else tuple(size)
    d = _dtypes.to_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"random numbers are floats, not {d}")
    regular, explicit = normalize_chunks(chunks, shape, d.itemsize)
    raw = _core.random(list(shape), regular, int(seed), d.name, normal, float(a), float(b))
    return Array(raw if explicit is None else raw.rechunk(explicit))


def uniform(low=0.0, high=1.0, size=(), *, chunks="auto", seed=0, dtype="float64") -> Array:
    """Uniform numbers on ``[low, high)``."""
    return _make(size, chunks, seed, dtype, False, low, high)


def normal(loc=0.0, scale=1.0, size=(), *, chunks="auto", seed=0, dtype="float64") -> Array:
    """Normal numbers with mean ``loc`` and standard deviation ``scale``."""
    return _make(size, chunks, seed, dtype, True, loc, scale)
