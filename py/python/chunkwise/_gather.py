"""Taking many scattered positions along one axis (``take`` with sorted indices, boolean
masks) in a number of graph layers that depends on the chunks, not on the indices.

Each block along the axis gathers its own selected positions with NumPy (one
``map_blocks`` call, the positions known before the graph runs) into the front of a block
of its own shape; one slice per block then keeps the gathered front and the slices are
joined. The result's chunks along the axis are the per-block counts; blocks that select
nothing are never computed.

>>> import numpy as np, chunkwise as cw
>>> x = cw.arange(20, chunks=6)
>>> idx = np.array([0, 2, 3, 5, 6, 11, 12, 19])
>>> y = gather_sorted(x, idx, 0)
>>> y.compute().tolist(), y.chunks
([0, 2, 3, 5, 6, 11, 12, 19], ((4, 2, 1, 1),))
"""

from __future__ import annotations

import numpy as np

from ._array import Array


def gather_sorted(x: Array, idx: np.ndarray, axis: int):
    """``x`` at the non-decreasing, in-range, non-negative positions ``idx`` along
    ``axis``, or ``None`` when some block would select more positions than it holds
    (repeated indices) and this method does not apply."""
    from ._api import map_blocks
    from ._manipulation import concat

    bounds = np.cumsum((0,) + tuple(x.chunks[axis]))
    cuts = np.searchsorted(idx, bounds)  # idx[cuts[j]:cuts[j+1]] lie in block j
    counts = np.diff(cuts)
    lengths = np.diff(bounds)
    if (counts > lengths).any():
        return None
    local = {int(j): idx[cuts[j]:cuts[j + 1]] - bounds[j] for j in np.flatnonzero(counts)}

    def pack(block, block_id):
        sel = local.get(block_id[axis])
        out = np.zeros_like(block)
        if sel is not None:
            front = tuple(slice(0, sel.size) if a == axis else slice(None)
                          for a in range(block.ndim))
            out[front] = np.take(block, sel, axis=axis)
        return out

    packed = map_blocks(pack, x, dtype=x.dtype, name="gather")
    pieces = [
        packed[tuple(slice(int(bounds[j]), int(bounds[j] + counts[j])) if a == axis
                     else slice(None) for a in range(x.ndim))]
        for j in sorted(local)
    ]
    return pieces[0] if len(pieces) == 1 else concat(pieces, axis=axis)
