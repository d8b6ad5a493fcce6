"""Manipulation functions of the Array API, as the core's lazy graph operations (reshape
rechunks as Dask's does, then reshapes block by block)."""

from __future__ import annotations

from ._recorded import core as _core
from ._array import Array, _as_array
from ._axes import normalize_axes, normalize_axis

__all__ = [
    "broadcast_arrays", "broadcast_to", "concat", "expand_dims", "flip", "moveaxis",
    "permute_dims", "repeat", "reshape", "roll", "squeeze", "stack", "tile", "unstack",
]


def concat(arrays, /, *, axis=0) -> Array:
    """Joins arrays along an existing axis (``axis=None``: flattened first)."""
    arrays = [_as_array(a) for a in arrays]
    if axis is None:
        arrays = [reshape(a, (-1,)) for a in arrays]
        axis = 0
    from ._dtypes import result_type

    dtype = result_type(*arrays)
    return Array(_core.concatenate([a.astype(dtype)._raw for a in arrays], axis))


def stack(arrays, /, *, axis=0) -> Array:
    """Joins arrays of one shape along a new axis."""
    arrays = [_as_array(a) for a in arrays]
    from ._dtypes import result_type

    dtype = result_type(*arrays)
    return Array(_core.stack([a.astype(dtype)._raw for a in arrays], axis))


def reshape(x, /, shape, *, copy=None) -> Array:
    """``x`` with a new shape (C order; one length may be -1)."""
    x = _as_array(x)
    if copy is False:
        raise ValueError("reshape(copy=False): chunkwise cannot promise a view")
    shape = (shape,) if isinstance(shape, int) else tuple(int(n) for n in shape)
    return Array(x._raw.reshape(list(shape)))


def squeeze(x, /, axis) -> Array:
    """``x`` without the named axes of length 1."""
    x = _as_array(x)
    return Array(x._raw.squeeze(normalize_axes(axis, x.ndim)))


def expand_dims(x, /, axis=0) -> Array:
    """``x`` with a new axis of length 1 at ``axis`` (from ``-x.ndim - 1`` to ``x.ndim``;
    IndexError otherwise, as the standard says)."""
    x = _as_array(x)
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"expand_dims: axis must be an integer, not {axis!r}")
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise IndexError(f"expand_dims: axis {axis} is out of range for a result of "
                         f"{x.ndim + 1} axes")
    return Array(x._raw.expand_dims(axis))


def broadcast_to(x, /, shape) -> Array:
    """``x`` broadcast to ``shape`` (no data is repeated in memory until computed)."""
    x = _as_array(x)
    return Array(x._raw.broadcast_to([int(n) for n in shape]))


def broadcast_arrays(*arrays) -> list[Array]:
    """The arrays broadcast to their common shape."""
    arrays = [_as_array(a) for a in arrays]
    return [Array(r) for r in _core.broadcast_arrays([a._raw for a in arrays])]


def flip(x, /, *, axis=None) -> Array:
    """``x`` with the order of elements reversed along ``axis`` (all axes for None)."""
    x = _as_array(x)
    return Array(x._raw.flip(None if axis is None else normalize_axes(axis, x.ndim)))


def roll(x, /, shift, *, axis=None) -> Array:
    """Elements shifted along ``axis`` (flattened for None), wrapping around."""
    x = _as_array(x)
    shifts = [shift] if isinstance(shift, int) else list(shift)
    axes = None if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    return Array(x._raw.roll(shifts, axes))


def permute_dims(x, /, axes) -> Array:
    """Axes permuted: output axis ``i`` is input axis ``axes[i]``."""
    x = _as_array(x)
    return Array(x._raw.transpose([normalize_axis(a, x.ndim) for a in axes]))


def moveaxis(x, source, destination, /) -> Array:
    """Axes moved to new positions, the others keeping their order."""
    x = _as_array(x)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    return Array(x._raw.moveaxis(src, dst))


def repeat(x, repeats, /, *, axis=None) -> Array:
    """Each element repeated ``repeats`` times (an int, or one count per element) along
    ``axis`` (flattened for None)."""
    x = _as_array(x)
    if isinstance(repeats, Array):
        repeats = repeats.compute().tolist()
    counts = [int(repeats)] if isinstance(repeats, int) else [int(r) for r in repeats]
    return Array(x._raw.repeat(counts, axis))


def tile(x, repetitions, /) -> Array:
    """``x`` repeated ``repetitions[i]`` times along each axis."""
    x = _as_array(x)
    return Array(x._raw.tile([int(r) for r in repetitions]))


def unstack(x, /, *, axis=0) -> tuple[Array, ...]:
    """The slices of ``x`` along ``axis``."""
    x = _as_array(x)
    return tuple(Array(r) for r in x._raw.unstack(axis))
