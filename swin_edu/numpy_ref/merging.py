"""Patch merging (seed section 2.3): halve the map, double the channels.

Every 2x2 group of tokens is gathered into one token of 4C channels (a stride-2 gather, equal to a
2x2 stride-2 convolution with a fixed one-hot kernel), normalised with LayerNorm, and mapped to 2C
by a linear layer without bias. The gather order is the official one:
x0 = (0, 0), x1 = (1, 0), x2 = (0, 1), x3 = (1, 1)  (row, column offsets).
"""
from __future__ import annotations

import numpy as np

from .._validate import check_array
from .patches import layer_norm, pad_to_multiple

__all__ = ["GATHER_OFFSETS", "patch_merging_gather", "patch_merging"]

#: (row, column) offset of x0, x1, x2, x3 inside each 2x2 group, in the official concatenation order
GATHER_OFFSETS = ((0, 0), (1, 0), (0, 1), (1, 1))


def patch_merging_gather(x: np.ndarray) -> np.ndarray:
    """(B, H, W, C) -> (B, ceil(H/2), ceil(W/2), 4C): concatenate x0, x1, x2, x3 of each 2x2 group.

    Odd sizes are zero-padded at the bottom/right first (as the official detection code does).
    """
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where="patch_merging_gather")
    x = pad_to_multiple(x, 2)
    return np.concatenate([x[:, r::2, c::2, :] for r, c in GATHER_OFFSETS], axis=-1)


def patch_merging(x: np.ndarray, reduction_weight: np.ndarray, norm_weight: np.ndarray | None = None,
                  norm_bias: np.ndarray | None = None) -> np.ndarray:
    """Patch merging: gather (4C) -> LayerNorm(4C) -> Linear 4C -> 2C (no bias).

    ``reduction_weight``: (2C, 4C), ``nn.Linear`` layout (``layers.i.downsample.reduction.weight``).
    """
    where = "patch_merging"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", where=where)
    w = check_array(reduction_weight, "reduction_weight", ndim=2, layout="(2C, 4C)", where=where)
    C = x.shape[-1]
    if w.shape != (2 * C, 4 * C):
        raise ValueError(f"{where}: reduction_weight must have shape (2C, 4C) = {(2 * C, 4 * C)} for C={C}, "
                         f"got {w.shape}")
    merged = patch_merging_gather(x)
    if norm_weight is not None:
        merged = layer_norm(merged, norm_weight, norm_bias)
    return (merged @ w.T).astype(x.dtype, copy=False)
