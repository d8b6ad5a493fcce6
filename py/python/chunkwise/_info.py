"""``__array_namespace_info__``: what this namespace provides (Array API 2023.12)."""

from __future__ import annotations

from . import _dtypes


class Info:
    """The namespace's capabilities, devices and dtypes."""

    def capabilities(self) -> dict:
        # Boolean masks and nonzero work, but compute their indices first.
        return {"boolean indexing": True, "data-dependent shapes": True}

    def default_device(self) -> str:
        return "cpu"

    def devices(self) -> list[str]:
        return ["cpu"]

    def default_dtypes(self, *, device=None) -> dict:
        return {"real floating": _dtypes.float64, "complex floating": _dtypes.complex128,
                "integral": _dtypes.int64, "indexing": _dtypes.int64}

    def dtypes(self, *, device=None, kind=None) -> dict:
        out = {d.name: d for d in _dtypes.SUPPORTED}
        if kind is None:
            return out
        return {n: d for n, d in out.items() if _dtypes.isdtype(d, kind)}


def __array_namespace_info__() -> Info:
    """The namespace's inspection object."""
    return Info()
