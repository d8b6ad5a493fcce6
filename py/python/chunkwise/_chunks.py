"""Chunk specifications, as Dask takes them: ``"auto"``, an int for every axis, a tuple of
ints (``-1`` or ``None``: the whole axis) or explicit per-axis chunk lengths."""

from __future__ import annotations

import math

#: The target bytes of one chunk when chunks are ``"auto"`` (Dask's default,
#: ``array.chunk-size``).
AUTO_CHUNK_BYTES = 128 * 2**20


def auto_chunks(shape, itemsize: int, limit: int = AUTO_CHUNK_BYTES) -> list[int]:
    """Balanced chunk lengths whose chunk takes at most about ``limit`` bytes: the longest
    chunk axis is halved until the chunk fits."""
    chunks = [max(int(n), 1) for n in shape]
    budget = max(limit // max(itemsize, 1), 1)
    while math.prod(chunks) > budget:
        i = max(range(len(chunks)), key=lambda a: chunks[a])
        chunks[i] = (chunks[i] + 1) // 2
    return chunks


def normalize_chunks(chunks, shape, itemsize: int):
    """``(regular, explicit)``: regular chunk lengths per axis, and explicit per-axis
    lengths when ``chunks`` gives them (else ``None``)."""
    shape = tuple(int(n) for n in shape)
    if isinstance(chunks, str):
        if chunks != "auto":
            raise ValueError(f"chunks must be 'auto', an int or a tuple, not {chunks!r}")
        return auto_chunks(shape, itemsize), None
    if isinstance(chunks, int) and not isinstance(chunks, bool):
        chunks = (chunks,) * len(shape)
    if isinstance(chunks, dict):
        chunks = tuple(chunks.get(a, chunks.get(a - len(shape), -1)) for a in range(len(shape)))
    chunks = tuple(chunks)
    if len(chunks) != len(shape):
        raise ValueError(f"chunks {chunks} do not match the {len(shape)} axes of shape {shape}")
    if any(isinstance(c, (tuple, list)) for c in chunks):
        explicit = []
        for c, n in zip(chunks, shape):
            lengths = list(c) if isinstance(c, (tuple, list)) else _regular_lengths(c, n)
            if sum(lengths) != n:
                raise ValueError(f"chunks {tuple(lengths)} do not add up to the axis length {n}")
            explicit.append([int(v) for v in lengths])
        return [max(max(e, default=1), 1) for e in explicit], explicit
    regular = []
    auto = auto_chunks(shape, itemsize)
    for c, n, a in zip(chunks, shape, auto):
        if c is None or c == -1:
            regular.append(max(n, 1))
        elif c == "auto":
            regular.append(a)
        elif isinstance(c, int) and c > 0:
            regular.append(c)
        else:
            raise ValueError(f"a chunk length must be a positive int, -1, None or 'auto', not {c!r}")
    return regular, None


def _regular_lengths(c, n: int) -> list[int]:
    if c is None or c == -1:
        return [n]
    if not isinstance(c, int) or c <= 0:
        raise ValueError(f"a chunk length must be a positive int, not {c!r}")
    return [min(c, n - i) for i in range(0, n, c)] or [0]
