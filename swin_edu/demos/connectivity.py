"""Which tokens can exchange information through W-MSA / SW-MSA blocks, computed from the real shift and mask.

Inside one block a token can take information only from the tokens it may attend to: the tokens of its
window, and in a shifted block only those of its window *and* region (the 0 / -100 mask). LayerNorm and
the MLP work token by token and the residual keeps what a token had, so after several blocks token i
holds information from token j exactly when a chain of such "may attend" steps leads from j to i.

Here a block is described by its *attention groups*: one integer label per token of the map (in the
original, unshifted positions), two tokens may attend to each other iff their labels are equal. The
labels of a shifted block are made by running the package's own ``cyclic_shift``, ``window_partition``
order and ``region_ids`` on the token numbers, so they are what the code does, not a formula.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .. import numpy_ref as snp
from ._checks import map_window_shift, token_position

__all__ = ["attention_groups", "may_attend", "reach", "reach_map"]


def attention_groups(H: int, W: int, window_size: int, shift_size: int) -> np.ndarray:
    """(H, W) integer label of every token (at its original position) for one (S)W-MSA block: two tokens
    may attend to each other iff they carry the same label.

    ``shift_size=0``: the label is the token's window. ``shift_size>0``: the map is rolled by
    ``cyclic_shift``, cut into windows, and the label combines the rolled window with the region id of
    ``region_ids``; it is then moved back to where each token came from. The groups are exactly the
    windows of the displaced grid (``numpy_ref.shifted_window_grid``): that is what the mask is for.
    """
    H, W, M, s = map_window_shift(H, W, window_size, shift_size, "attention_groups")
    token = np.arange(H * W).reshape(1, H, W, 1)
    rolled = snp.cyclic_shift(token, s)[0, :, :, 0]          # original token number at each rolled position
    rows, cols = np.divmod(np.arange(H * W).reshape(H, W), W)
    window = (rows // M) * (W // M) + cols // M             # window of each rolled position
    label_rolled = window * 9 + snp.region_ids(H, W, M, s)
    labels = np.empty(H * W, dtype=np.int64)
    labels[rolled.ravel()] = label_rolled.ravel()
    return labels.reshape(H, W)


def may_attend(H: int, W: int, window_size: int, shift_size: int) -> np.ndarray:
    """(H*W, H*W) bool: entry [i, j] is True when token i may attend to token j (row-major token numbers)
    in one (S)W-MSA block."""
    g = attention_groups(H, W, window_size, shift_size).ravel()
    return g[:, None] == g[None, :]


def _blocks(blocks, where):
    if isinstance(blocks, (str, bytes)) or not isinstance(blocks, Iterable):
        raise TypeError(f"{where}: blocks must be a sequence of (window_size, shift_size) pairs, got {blocks!r}")
    out = []
    for n, b in enumerate(blocks):
        if not (isinstance(b, (tuple, list)) and len(b) == 2):
            raise ValueError(f"{where}: blocks[{n}] must be a pair (window_size, shift_size), got {b!r}")
        out.append((b[0], b[1]))
    if not out:
        raise ValueError(f"{where}: blocks must name at least one block, got {blocks!r}")
    return out


def reach(H: int, W: int, blocks) -> np.ndarray:
    """(H*W, H*W) bool after a stack of blocks given as ``[(window_size, shift_size), ...]`` in order:
    entry [i, j] is True when information from token j can have reached token i."""
    where = "reach"
    R = None
    for M, s in _blocks(blocks, where):
        A = may_attend(H, W, M, s).astype(np.float32)
        R = A if R is None else ((A @ R) > 0).astype(np.float32)
    return R > 0


def reach_map(H: int, W: int, blocks, poke: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the tokens that information from the token at ``poke`` = (row, col) can have
    reached after the stack of ``blocks`` (the column of :func:`reach` for that token, computed group by
    group in O(H*W) per block, so it works on large maps)."""
    where = "reach_map"
    r, c = token_position(poke, H, W, where)
    reached = np.zeros(H * W, dtype=bool)
    reached[r * W + c] = True
    for M, s in _blocks(blocks, where):       # one block: a token is reached when anyone of its group was
        g = attention_groups(H, W, M, s).ravel()
        hit = np.zeros(g.max() + 1, dtype=bool)
        hit[g[reached]] = True
        reached = hit[g]
    return reached.reshape(H, W)
