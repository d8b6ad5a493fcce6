"""Random arrays from chunkwise's counter-based generator: element ``i`` depends only on
the seed and ``i``, so results do not depend on the chunking or the thread count.

The functions follow ``dask.array.random``: module-level ``random``, ``uniform``,
``normal``, ``standard_normal``, ``randint``, a NumPy-style ``default_rng(seed)`` generator
and the legacy ``RandomState(seed)``. Without a seed every call draws a fresh one (as
NumPy and Dask do); pass ``seed=`` for reproducible arrays.

>>> import chunkwise as cw
>>> rng = cw.random.default_rng(42)
>>> x = rng.random((4, 6), chunks=2)
>>> bool(((x >= 0) & (x < 1)).all())
True
>>> a = cw.random.uniform(size=10, chunks=3, seed=7).compute()
>>> b = cw.random.uniform(size=10, chunks=5, seed=7).compute()
>>> bool((a == b).all())  # the same seed gives the same numbers in any chunking
True
"""

from __future__ import annotations

import secrets

from . import _dtypes
from ._recorded import core as _core
from ._array import Array
from ._chunks import normalize_chunks

__all__ = [
    "Generator", "RandomState", "default_rng", "normal", "randint", "random",
    "random_sample", "standard_normal", "uniform",
]


def _seed(seed) -> int:
    """``seed`` as the generator's 64-bit key; a fresh one for ``None``."""
    if seed is None:
        return secrets.randbits(63)
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), not {seed}")
    return seed


def _make(size, chunks, seed, dtype, normal, a, b) -> Array:
    shape = () if size is None else (size,) if isinstance(size, int) else tuple(size)
    d = _dtypes.to_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"random numbers are floats, not {d}")
    regular, explicit = normalize_chunks(chunks, shape, d.itemsize)
    raw = _core.random(list(shape), regular, _seed(seed), d.name, normal, float(a), float(b))
    return Array(raw if explicit is None else raw.rechunk(explicit))


def uniform(low=0.0, high=1.0, size=None, *, chunks="auto", seed=None,
            dtype="float64") -> Array:
    """Uniform numbers on ``[low, high)``."""
    return _make(size, chunks, seed, dtype, False, low, high)


def normal(loc=0.0, scale=1.0, size=None, *, chunks="auto", seed=None,
           dtype="float64") -> Array:
    """Normal numbers with mean ``loc`` and standard deviation ``scale``."""
    return _make(size, chunks, seed, dtype, True, loc, scale)


def random(size=None, *, chunks="auto", seed=None, dtype="float64") -> Array:
    """Uniform numbers on ``[0, 1)`` (Dask's ``random``)."""
    return uniform(0.0, 1.0, size, chunks=chunks, seed=seed, dtype=dtype)


random_sample = random


def standard_normal(size=None, *, chunks="auto", seed=None, dtype="float64") -> Array:
    """Normal numbers with mean 0 and standard deviation 1."""
    return normal(0.0, 1.0, size, chunks=chunks, seed=seed, dtype=dtype)


def randint(low, high=None, size=None, *, chunks="auto", seed=None, dtype="int64",
            endpoint=False) -> Array:
    """Integers uniform on ``[low, high)`` (``[0, low)`` without ``high``; ``high``
    included with ``endpoint``): ``floor(low + u * (high - low))`` of uniform floats ``u``
    on ``[0, 1)``, so every integer of a range below 2**53 is reachable."""
    from ._elementwise import floor, minimum

    if high is None:
        low, high = 0, low
    low, high = int(low), int(high) + (1 if endpoint else 0)
    if high <= low:
        raise ValueError(f"randint needs low < high, not [{low}, {high})")
    if high - low > 2**53:
        raise ValueError(f"randint's range [{low}, {high}) is wider than 2**53")
    d = _dtypes.to_dtype(dtype)
    if d.kind not in "iu":
        raise TypeError(f"randint gives integers, not {d}")
    if low < _dtypes.iinfo(d).min or high - 1 > _dtypes.iinfo(d).max:
        raise ValueError(f"[{low}, {high}) does not fit in {d}")
    span = high - low
    u = uniform(0.0, 1.0, size, chunks=chunks, seed=seed)
    # minimum(): u * span rounds up to span for u just below 1 when span is large.
    k = minimum(floor(u * float(span)), float(span - 1)).astype("int64")
    return (k + low if low else k).astype(d)


class Generator:
    """NumPy's ``Generator`` interface (as ``dask.array.random.default_rng``): each call
    draws a new key from the generator's seed sequence, so successive arrays differ and
    the whole sequence is reproducible from the seed."""

    def __init__(self, seed=None):
        import numpy as np

        self._keys = np.random.default_rng(seed)

    def _next(self) -> int:
        return int(self._keys.integers(0, 2**63))

    def random(self, size=None, dtype="float64", *, chunks="auto") -> Array:
        """Uniform numbers on ``[0, 1)``."""
        return random(size, chunks=chunks, seed=self._next(), dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None, *, chunks="auto",
                dtype="float64") -> Array:
        """Uniform numbers on ``[low, high)``."""
        return uniform(low, high, size, chunks=chunks, seed=self._next(), dtype=dtype)

    def normal(self, loc=0.0, scale=1.0, size=None, *, chunks="auto",
               dtype="float64") -> Array:
        """Normal numbers with mean ``loc`` and standard deviation ``scale``."""
        return normal(loc, scale, size, chunks=chunks, seed=self._next(), dtype=dtype)

    def standard_normal(self, size=None, dtype="float64", *, chunks="auto") -> Array:
        """Normal numbers with mean 0 and standard deviation 1."""
        return standard_normal(size, chunks=chunks, seed=self._next(), dtype=dtype)

    def integers(self, low, high=None, size=None, dtype="int64", endpoint=False, *,
                 chunks="auto") -> Array:
        """Integers uniform on ``[low, high)`` (see :func:`randint`)."""
        return randint(low, high, size, chunks=chunks, seed=self._next(), dtype=dtype,
                       endpoint=endpoint)


def default_rng(seed=None) -> Generator:
    """A :class:`Generator` seeded with ``seed`` (fresh entropy for ``None``)."""
    return seed if isinstance(seed, Generator) else Generator(seed)


class RandomState(Generator):
    """The legacy interface (``dask.array.random.RandomState``)."""

    def random_sample(self, size=None, *, chunks="auto") -> Array:
        """Uniform numbers on ``[0, 1)``."""
        return self.random(size, chunks=chunks)

    def randint(self, low, high=None, size=None, dtype="int64", *, chunks="auto") -> Array:
        """Integers uniform on ``[low, high)``."""
        return self.integers(low, high, size, dtype=dtype, chunks=chunks)
