"""Methods of ``dask.array.Array`` (and NumPy's ``ndarray``) beyond the Array API standard,
so Dask code ports unchanged: ``persist``, ``dot``, ``cumsum``, ``ravel``, ``round``,
``clip``, ``squeeze``, ``transpose``, ``chunksize``, ``npartitions``... ``Array`` inherits
them; each is a thin call of a namespace function.

>>> import chunkwise as da
>>> x = da.ones((6, 4), chunks=(4, 2))
>>> x.chunksize, x.npartitions
((4, 2), 4)
>>> x.cumsum(axis=1)[0].compute().tolist()
[1.0, 2.0, 3.0, 4.0]
"""

from __future__ import annotations

import math


class DaskMethods:
    """The Dask-compatible methods of :class:`chunkwise.Array`."""

    __slots__ = ()

    @property
    def chunksize(self) -> tuple[int, ...]:
        """The largest chunk length along each axis."""
        return tuple(max(c) if c else 0 for c in self.chunks)

    @property
    def npartitions(self) -> int:
        """The number of blocks."""
        return math.prod(self.numblocks)

    def persist(self, **options):
        """Computes the array and returns one held in memory in the same chunks, so later
        graphs read it instead of recomputing it (the held copy is NumPy memory, outside
        ``memory_limit``)."""
        from ._creation import from_numpy

        return from_numpy(self.compute(**options), chunks=self.chunks)

    def compute_chunk_sizes(self):
        """The array itself: chunkwise's chunk sizes are always known (data-dependent
        shapes are computed when the array is built)."""
        return self

    def dot(self, other):
        """``chunkwise.dot(self, other)``."""
        from ._dask import dot

        return dot(self, other)

    def cumsum(self, axis=None, dtype=None):
        """Cumulative sum along ``axis`` (flattened for ``None``, as NumPy)."""
        from ._statistical import numpy_scan

        return numpy_scan(self, axis, dtype, "cumulative_sum")

    def cumprod(self, axis=None, dtype=None):
        """Cumulative product along ``axis`` (flattened for ``None``, as NumPy)."""
        from ._statistical import numpy_scan

        return numpy_scan(self, axis, dtype, "cumulative_prod")

    def ravel(self):
        """The array flattened in C order."""
        from ._dask import ravel

        return ravel(self)

    def flatten(self):
        """The array flattened in C order (no copy is ever made)."""
        return self.ravel()

    def round(self, decimals: int = 0):
        """Rounded to ``decimals`` places, half to even (NumPy's ``round``)."""
        from ._elementwise import round as _round

        if decimals == 0 or (decimals > 0 and self.dtype.kind in "iub"):
            return _round(self)
        scale = 10.0 ** decimals
        if self.dtype.kind in "iu":  # NumPy: round(1234, -2) == 1200, in the integer type
            return (_round(self.astype("float64") * scale) / scale).astype(self.dtype)
        return _round(self * scale) / scale

    def clip(self, min=None, max=None):  # noqa: A002 - NumPy's names
        """Values limited to ``[min, max]``."""
        from ._elementwise import clip

        return clip(self, min, max)

    def squeeze(self, axis=None):
        """Without the axes of length one named by ``axis`` (all of them for ``None``)."""
        from ._manipulation import squeeze

        if axis is None:
            axis = tuple(a for a, n in enumerate(self.shape) if n == 1)
        return squeeze(self, axis=axis)

    def transpose(self, *axes):
        """Axes permuted (reversed without arguments)."""
        from ._manipulation import permute_dims

        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return permute_dims(self, axes or tuple(reversed(range(self.ndim))))

    def swapaxes(self, axis1: int, axis2: int):
        """Axes ``axis1`` and ``axis2`` exchanged."""
        order = list(range(self.ndim))
        order[axis1], order[axis2] = order[axis2], order[axis1]
        return self.transpose(order)

    def nonzero(self):
        """The indices of the nonzero elements, one array per axis."""
        from ._searching import nonzero

        return nonzero(self)

    def repeat(self, repeats, axis=None):
        """Each element repeated ``repeats`` times along ``axis``."""
        from ._manipulation import repeat

        return repeat(self, repeats, axis=axis)

    def copy(self):
        """A new Array object over the same (immutable) graph."""
        from ._creation import asarray

        return asarray(self, copy=True)
