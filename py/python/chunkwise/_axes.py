"""Axis arguments: ``None``, an int or a tuple of ints, negative counting from the end."""

from __future__ import annotations


def normalize_axes(axis, ndim: int) -> list[int]:
    """The axes named by ``axis`` as a sorted list of non-negative ints."""
    if axis is None:
        return list(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, int) or isinstance(a, bool):
            raise TypeError(f"axes must be integers, not {a!r}")
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(f"axis {a} is out of range for {ndim} axes")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return sorted(out)


def normalize_axis(axis: int, ndim: int) -> int:
    """One axis as a non-negative int."""
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"an axis must be an integer, not {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for {ndim} axes")
    return axis % ndim
