"""Roll + window partition is a fixed permutation of the tokens: one gather with a precomputed index.

The cyclic shift moves tokens, the window partition reorders them; neither computes anything. So for a
given map size, window and shift, "roll by -s, then partition" sends token number t of the row-major map
to one fixed position of the window-ordered sequence, and can be replaced by one gather,
``x.reshape(B, H*W, C)[:, index]``: the same data movement, in one pass, with an index computed once.
Fast implementations do this (the package's torch model too).

The index is found by running the real operations on the token numbers themselves: whatever roll +
partition does to the numbers 0 .. H*W-1 is the permutation. :mod:`.permutation_torch` is the torch twin.
"""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from .._validate import check_array
from ._checks import map_window_shift

__all__ = ["gather_tokens", "inverse_permutation", "roll_partition_index"]


def roll_partition_index(H: int, W: int, window_size: int, shift_size: int) -> np.ndarray:
    """(H*W,) int64 index such that, for a (1, H, W, C) map ``x``,
    ``x.reshape(-1, C)[index]`` == ``window_partition(cyclic_shift(x, s), M).reshape(-1, C)``
    (and ``x.reshape(B, H*W, C)[:, index]`` for a batch: each image's windows, in the official order).
    ``shift_size=0`` gives the plain window partition. M must divide H and W."""
    H, W, M, s = map_window_shift(H, W, window_size, shift_size, "roll_partition_index")
    tokens = np.arange(H * W, dtype=np.int64).reshape(1, H, W, 1)
    return snp.window_partition(snp.cyclic_shift(tokens, s), M).reshape(-1)


def inverse_permutation(index: np.ndarray) -> np.ndarray:
    """The index that undoes ``index``: ``y[inverse_permutation(index)]`` puts ``y = x[index]`` back, i.e.
    window reverse + reverse cyclic shift in one gather."""
    where = "inverse_permutation"
    index = check_array(index, "index", ndim=1, floating=False, where=where)
    n = index.shape[0]
    if index.dtype.kind not in "iu" or not np.array_equal(np.sort(index), np.arange(n)):
        raise ValueError(f"{where}: index must be a permutation of 0..{n - 1} (integers, each once)")
    inverse = np.empty_like(index)
    inverse[index] = np.arange(n, dtype=index.dtype)
    return inverse


def gather_tokens(x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(B, H, W, C) map -> (B, H*W, C) tokens in the order of ``index`` (one gather)."""
    where = "gather_tokens"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where=where)
    index = check_array(index, "index", ndim=1, floating=False, where=where)
    B, H, W, C = x.shape
    if index.shape[0] != H * W:
        raise ValueError(f"{where}: index must have H*W = {H * W} entries for a {H}x{W} map, got {index.shape[0]}")
    return x.reshape(B, H * W, C)[:, index]
