"""The torch twin of :mod:`.permutation`: roll + window partition as one ``index_select``.

>>> import torch
>>> index = roll_partition_index_torch(8, 8, 4, 2)
>>> x = torch.randn(2, 8, 8, 3)
>>> windows = shifted_windows_by_index(x, index, 4)                      # (2 * 4, 4, 4, 3)
>>> torch.equal(windows, shifted_windows_by_roll(x, 4, 2))
True
"""
from __future__ import annotations

import torch

from .._validate import check_int
from ._checks import map_window_shift

__all__ = [
    "roll_partition_index_torch",
    "shifted_windows_by_index",
    "shifted_windows_by_roll",
    "time_roll_vs_index",
    "windows_to_map_by_index",
]


def _check_map(x, where):
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        got = f"a tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{where}: x must be a 4-D tensor (B, H, W, C), got {got}")
    return x.shape


def roll_partition_index_torch(H: int, W: int, window_size: int, shift_size: int, device=None) -> torch.Tensor:
    """(H*W,) long tensor: roll by -s + window partition of an H x W map as a gather index (the token
    numbers 0..H*W-1 put through the real ``torch.roll`` and the partition's view/permute)."""
    H, W, M, s = map_window_shift(H, W, window_size, shift_size, "roll_partition_index_torch")
    grid = torch.arange(H * W, device=device).view(H, W)
    if s:
        grid = torch.roll(grid, shifts=(-s, -s), dims=(0, 1))
    return grid.view(H // M, M, W // M, M).permute(0, 2, 1, 3).reshape(-1)


def shifted_windows_by_roll(x: torch.Tensor, window_size: int, shift_size: int) -> torch.Tensor:
    """(B, H, W, C) -> (B*nW, M, M, C): ``torch.roll`` by -s then the official window partition."""
    B, H, W, C = _check_map(x, "shifted_windows_by_roll")
    _, _, M, s = map_window_shift(H, W, window_size, shift_size, "shifted_windows_by_roll")
    if s:
        x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
    x = x.view(B, H // M, M, W // M, M, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, M, M, C)


def shifted_windows_by_index(x: torch.Tensor, index: torch.Tensor, window_size: int) -> torch.Tensor:
    """(B, H, W, C) -> (B*nW, M, M, C) with one ``index_select`` along the token axis."""
    B, H, W, C = _check_map(x, "shifted_windows_by_index")
    M = check_int(window_size, "window_size", where="shifted_windows_by_index")
    if not isinstance(index, torch.Tensor) or index.shape != (H * W,):
        raise ValueError(f"shifted_windows_by_index: index must be a tensor of H*W = {H * W} entries, got "
                         f"{tuple(index.shape) if isinstance(index, torch.Tensor) else type(index).__name__}")
    return x.reshape(B, H * W, C).index_select(1, index).view(-1, M, M, C)


def windows_to_map_by_index(windows: torch.Tensor, inverse: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """(B*nW, M, M, C) -> (B, H, W, C): window reverse + reverse roll as one ``index_select`` with the
    inverse index (``inverse[index] = arange``)."""
    where = "windows_to_map_by_index"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    if not isinstance(windows, torch.Tensor) or windows.dim() != 4 or \
            (windows.shape[0] * windows.shape[1] * windows.shape[2]) % (H * W):
        got = tuple(windows.shape) if isinstance(windows, torch.Tensor) else type(windows).__name__
        raise ValueError(f"{where}: windows must be a tensor (B*nW, M, M, C) covering whole {H}x{W} maps, got {got}")
    if not isinstance(inverse, torch.Tensor) or inverse.shape != (H * W,):
        raise ValueError(f"{where}: inverse must be a tensor of H*W = {H * W} entries, got "
                         f"{tuple(inverse.shape) if isinstance(inverse, torch.Tensor) else type(inverse).__name__}")
    C = windows.shape[-1]
    return windows.reshape(-1, H * W, C).index_select(1, inverse).view(-1, H, W, C)


def time_roll_vs_index(B: int = 8, H: int = 56, W: int = 56, C: int = 96, window_size: int = 7, *,
                       repeats: int = 10, device=None) -> dict:
    """Timings (displayed, never asserted) of roll + partition against one ``index_select``, and whether
    they gave equal tensors. Returns ``{"timings": time_callables(...), "equal": bool}``."""
    from .timing import time_callables

    where = "time_roll_vs_index"
    B, C = check_int(B, "B", where=where), check_int(C, "C", where=where)
    H, W, M, s = map_window_shift(H, W, window_size, window_size // 2, where)
    device = torch.device(device) if device is not None else torch.device("cpu")
    x = torch.randn(B, H, W, C, device=device)
    index = roll_partition_index_torch(H, W, M, s, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    timings = time_callables({"roll + partition": lambda: shifted_windows_by_roll(x, M, s).contiguous(),
                              "index_select": lambda: shifted_windows_by_index(x, index, M)},
                             repeats=check_int(repeats, "repeats", where=where), sync=sync)
    equal = torch.equal(shifted_windows_by_roll(x, M, s), shifted_windows_by_index(x, index, M))
    return {"timings": timings, "equal": bool(equal)}
