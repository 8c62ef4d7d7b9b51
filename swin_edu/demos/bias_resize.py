"""The relative position bias table at another window size: fine-tuning Swin at 384 x 384.

At 384 x 384 the official Swin models use 12 x 12 windows instead of 7 x 7 (stage maps 96, 48, 24, 12:
all multiples of 12). A block's ``relative_position_bias_table`` then needs (2*12-1)^2 = 529 rows
instead of 169. The official fine-tuning code (``utils.load_pretrained``) reads the 169 rows of each head
as the 13 x 13 grid of offsets (dy, dx), resizes that image to 23 x 23 by **bicubic** interpolation
(``F.interpolate(..., mode="bicubic")``) and flattens it back. The package does the same when a checkpoint
is loaded into a model with another window (``swin_edu.model.resize_relative_position_bias_table``);
:func:`resize_bias_table` is a numpy front end to that function, not a second implementation.

What the resize means: the bias that a 7-window learned for an offset d is stretched over the 12-window,
to offset about d * 23/13; the table is not extrapolated, its shape is rescaled. :func:`bias_resize_demo`
returns a smooth made-up table, its resized version and the profiles through the centre, for plotting.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_array, check_int
from ..config import SwinConfig

__all__ = ["bias_grid", "bias_resize_demo", "resize_bias_table", "swin_t_384_windows"]


def resize_bias_table(table: np.ndarray, new_window_size: int) -> np.ndarray:
    """((2M-1)^2, heads) -> ((2M'-1)^2, heads) by bicubic interpolation of each head's (2M-1) x (2M-1)
    grid, as the official fine-tuning code (computed in float32 by torch; returned in ``table``'s dtype)."""
    import torch

    from ..model import resize_relative_position_bias_table

    where = "resize_bias_table"
    table = check_array(table, "table", ndim=2, layout="((2M-1)^2, num_heads)", where=where)
    new_M = check_int(new_window_size, "new_window_size", where=where)
    side = round(table.shape[0] ** 0.5)
    if side * side != table.shape[0] or side % 2 == 0:
        raise ValueError(f"{where}: table must have (2M-1)^2 rows (169 for M=7), got shape {table.shape}")
    resized = resize_relative_position_bias_table(torch.from_numpy(np.ascontiguousarray(table)), new_M)
    return resized.numpy().astype(table.dtype, copy=False)


def bias_grid(table: np.ndarray, head: int = 0) -> np.ndarray:
    """The (2M-1, 2M-1) grid of one head's biases: entry [dy + M-1, dx + M-1] is the bias for offset
    (dy, dx) = query - key (row-major, as ``relative_position_index`` reads the table)."""
    where = "bias_grid"
    table = check_array(table, "table", ndim=2, layout="((2M-1)^2, num_heads)", where=where)
    head = check_int(head, "head", minimum=0, where=where)
    side = round(table.shape[0] ** 0.5)
    if side * side != table.shape[0]:
        raise ValueError(f"{where}: table must have (2M-1)^2 rows, got shape {table.shape}")
    if head >= table.shape[1]:
        raise ValueError(f"{where}: head must be < num_heads={table.shape[1]}, got {head}")
    return table[:, head].reshape(side, side)


def bias_resize_demo(old_window: int = 7, new_window: int = 12, num_heads: int = 3, seed: int = 0) -> dict:
    """A smooth made-up bias table for ``old_window`` (each head prefers near keys: -a_h * distance, plus
    a little noise), and its resized version. Returns ``{"old": table, "new": table, "old_grid": grid of
    head 0, "new_grid": ..., "old_offsets": -(M-1)..M-1, "new_offsets": ..., "old_profile": the centre
    row of head 0, "new_profile": ...}``."""
    where = "bias_resize_demo"
    M, M2 = check_int(old_window, "old_window", where=where), check_int(new_window, "new_window", where=where)
    heads = check_int(num_heads, "num_heads", where=where)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0, where=where))
    offsets = np.arange(-(M - 1), M)
    dist = np.hypot(offsets[:, None], offsets[None, :]).reshape(-1, 1)
    slopes = np.linspace(0.3, 1.0, heads)[None, :]
    old = (-slopes * dist + 0.05 * rng.standard_normal(((2 * M - 1) ** 2, heads))).astype(np.float32)
    new = resize_bias_table(old, M2)
    old_grid, new_grid = bias_grid(old, 0), bias_grid(new, 0)
    return {"old": old, "new": new, "old_grid": old_grid, "new_grid": new_grid,
            "old_offsets": offsets, "new_offsets": np.arange(-(M2 - 1), M2),
            "old_profile": old_grid[M - 1], "new_profile": new_grid[M2 - 1]}


def swin_t_384_windows() -> dict:
    """Swin-T fine-tuned at 384: its stage maps, (window, shift) per stage and the bias-table shape,
    next to the 224 model's. ``{"224": {...}, "384": {...}}`` with ``maps``, ``windows``, ``table_rows``."""
    out = {}
    for size, window in ((224, 7), (384, 12)):
        cfg = SwinConfig.preset("tiny", img_size=size, window_size=window)
        out[str(size)] = {"maps": cfg.stage_resolutions(), "windows": cfg.stage_windows(),
                          "table_rows": (2 * window - 1) ** 2}
    return out
