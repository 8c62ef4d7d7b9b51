"""Torch versions of the numpy reference's window operations, with the same names and semantics.

Feature maps are channels-last ``(B, H, W, C)``; windows ``(num_windows*B, M, M, C)`` ordered batch by
batch and, inside an image, row-major over the window grid (as the official code and
:mod:`swin_edu.numpy_ref.windows`). The derived tensors (``relative_position_index``, the 0/-100
``shift_mask``) are built with torch ops on the requested device, without Python loops over tokens.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validate import check_int
from ..config import check_window_shift, padded_size

__all__ = [
    "MASK_VALUE",
    "check_tensor",
    "cyclic_shift",
    "pad_to_multiple",
    "region_ids",
    "relative_position_index",
    "reverse_cyclic_shift",
    "shift_mask",
    "window_partition",
    "window_reverse",
]

#: the value the official code puts in the mask for pairs of tokens from different regions
MASK_VALUE = -100.0


def check_tensor(x, name: str, *, ndim: int | None = None, layout: str = "", floating: bool = True,
                 where: str = "") -> torch.Tensor:
    """Check that ``x`` is a torch tensor of rank ``ndim`` (and floating point); clear messages."""
    prefix = f"{where}: " if where else ""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{prefix}{name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.dim() != ndim:
        lay = f" {layout}" if layout else ""
        raise ValueError(f"{prefix}{name} must have {ndim} dimensions{lay}, got shape {tuple(x.shape)}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{prefix}{name} must be a floating-point tensor, got dtype {x.dtype} "
                        f"(convert images with x.float() / 255)")
    return x


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad a (B, H, W, C) map at the bottom and right so that H and W are multiples of ``multiple``."""
    x = check_tensor(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where="pad_to_multiple")
    multiple = check_int(multiple, "multiple", where="pad_to_multiple")
    _, H, W, _ = x.shape
    pad_b, pad_r = padded_size(H, multiple) - H, padded_size(W, multiple) - W
    if pad_b == 0 and pad_r == 0:
        return x
    return F.pad(x, (0, 0, 0, pad_r, 0, pad_b))


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """Split a (B, H, W, C) map into windows (num_windows*B, M, M, C). M must divide H and W."""
    where = "window_partition"
    x = check_tensor(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where=where)
    M = check_int(window_size, "window_size", where=where)
    B, H, W, C = x.shape
    if H % M or W % M:
        raise ValueError(f"{where}: window_size={M} must divide the map, got x of shape {tuple(x.shape)} "
                         f"(pad the map first, e.g. with pad_to_multiple)")
    x = x.reshape(B, H // M, M, W // M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B * (H // M) * (W // M), M, M, C)


def window_reverse(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (num_windows*B, M, M, C) -> (B, H, W, C)."""
    where = "window_reverse"
    windows = check_tensor(windows, "windows", ndim=4, layout="(num_windows*B, M, M, C)", floating=False,
                           where=where)
    M = check_int(window_size, "window_size", where=where)
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    if tuple(windows.shape[1:3]) != (M, M) or H % M or W % M:
        raise ValueError(f"{where}: windows must be (num_windows*B, {M}, {M}, C) and window_size={M} must "
                         f"divide H={H} and W={W}; got windows of shape {tuple(windows.shape)}")
    nW = (H // M) * (W // M)
    if windows.shape[0] % nW:
        raise ValueError(f"{where}: windows.shape[0]={windows.shape[0]} must be a multiple of the {nW} "
                         f"windows of a {H}x{W} map")
    B, C = windows.shape[0] // nW, windows.shape[-1]
    x = windows.reshape(B, H // M, W // M, M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)


def cyclic_shift(x: torch.Tensor, shift_size: int) -> torch.Tensor:
    """Roll a (B, H, W, C) map up and left by ``shift_size`` (the official ``torch.roll(x, (-s, -s))``)."""
    x = check_tensor(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where="cyclic_shift")
    s = check_int(shift_size, "shift_size", minimum=0, where="cyclic_shift")
    return torch.roll(x, shifts=(-s, -s), dims=(1, 2)) if s else x


def reverse_cyclic_shift(x: torch.Tensor, shift_size: int) -> torch.Tensor:
    """Undo :func:`cyclic_shift`: roll down and right by ``shift_size``."""
    x = check_tensor(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where="reverse_cyclic_shift")
    s = check_int(shift_size, "shift_size", minimum=0, where="reverse_cyclic_shift")
    return torch.roll(x, shifts=(s, s), dims=(1, 2)) if s else x


def region_ids(H: int, W: int, window_size: int, shift_size: int, device=None) -> torch.Tensor:
    """Region label (0..8) of every token of the *shifted* (H, W) map, as the official ``img_mask``.

    Rows fall in three bands [0, H-M), [H-M, H-s), [H-s, H) and columns likewise; the label is
    ``3 * row_band + col_band``. All zeros when ``shift_size`` is 0.
    """
    where = "region_ids"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M, s = check_window_shift(window_size, shift_size, where=where)
    if M > H or M > W:
        raise ValueError(f"{where}: window_size={M} must not exceed the map {H}x{W}")
    if s == 0:
        return torch.zeros(H, W, dtype=torch.long, device=device)
    rows = torch.arange(H, device=device)
    cols = torch.arange(W, device=device)
    row_band = (rows >= H - M).long() + (rows >= H - s).long()
    col_band = (cols >= W - M).long() + (cols >= W - s).long()
    return row_band[:, None] * 3 + col_band[None, :]


def shift_mask(H: int, W: int, window_size: int, shift_size: int, *, device=None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The SW-MSA mask (num_windows, M*M, M*M): 0 where two tokens share a region, -100 elsewhere.

    H and W are the (padded) map size, multiples of ``window_size``. Equal to
    :func:`swin_edu.numpy_ref.shift_mask`.
    """
    where = "shift_mask"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M, s = check_window_shift(window_size, shift_size, where=where)
    if H % M or W % M:
        raise ValueError(f"{where}: window_size={M} must divide H={H} and W={W} (pad the map first)")
    ids = region_ids(H, W, M, s, device=device)
    win = window_partition(ids[None, :, :, None], M).reshape(-1, M * M)  # (nW, N): the labels of each window
    different = win[:, None, :] != win[:, :, None]
    zero = torch.zeros((), dtype=dtype, device=device)
    return torch.where(different, torch.full((), MASK_VALUE, dtype=dtype, device=device), zero)


def relative_position_index(window_size: int, device=None) -> torch.Tensor:
    """(M*M, M*M) index into the ((2M-1)^2, num_heads) bias table, as the official buffer:
    ``(dy + M - 1) * (2M - 1) + (dx + M - 1)`` for the offset (dy, dx) between query and key."""
    M = check_int(window_size, "window_size", where="relative_position_index")
    rows, cols = torch.meshgrid(torch.arange(M, device=device), torch.arange(M, device=device), indexing="ij")
    coords = torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=-1)  # (N, 2)
    rel = coords[:, None, :] - coords[None, :, :] + (M - 1)
    return rel[..., 0] * (2 * M - 1) + rel[..., 1]
