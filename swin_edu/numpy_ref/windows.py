"""Windows, the cyclic shift and the shifted-window mask (seed sections 2.2.1 and 2.2.2).

Feature maps are channels-last (B, H, W, C); windows are (num_windows*B, M, M, C), ordered batch by
batch and, inside an image, row-major over the window grid, exactly as the official code.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_array, check_divisible, check_int
from ..config import check_window_shift

__all__ = [
    "window_partition",
    "window_reverse",
    "cyclic_shift",
    "reverse_cyclic_shift",
    "region_ids",
    "shift_mask",
    "MASK_VALUE",
]

#: the value the official code puts in the mask for pairs of tokens from different regions
MASK_VALUE = -100.0


def window_partition(x: np.ndarray, window_size: int) -> np.ndarray:
    """Split a (B, H, W, C) map into windows (num_windows*B, M, M, C). M must divide H and W."""
    where = "window_partition"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where=where)
    M = check_int(window_size, "window_size", where=where)
    B, H, W, C = x.shape
    check_divisible(H, M, "x height H", "window_size", where=where)
    check_divisible(W, M, "x width W", "window_size", where=where)
    x = x.reshape(B, H // M, M, W // M, M, C)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(-1, M, M, C)


def window_reverse(windows: np.ndarray, window_size: int, H: int, W: int) -> np.ndarray:
    """Inverse of :func:`window_partition`: (num_windows*B, M, M, C) -> (B, H, W, C)."""
    where = "window_reverse"
    win = check_array(windows, "windows", ndim=4, layout="(num_windows*B, M, M, C)", floating=False,
                      where=where)
    M = check_int(window_size, "window_size", where=where)
    H = check_int(H, "H", where=where)
    W = check_int(W, "W", where=where)
    if win.shape[1:3] != (M, M):
        raise ValueError(f"{where}: windows must be (num_windows*B, {M}, {M}, C) for window_size={M}, "
                         f"got shape {win.shape}")
    check_divisible(H, M, "H", "window_size", where=where)
    check_divisible(W, M, "W", "window_size", where=where)
    nW = (H // M) * (W // M)
    if win.shape[0] % nW:
        raise ValueError(f"{where}: windows.shape[0]={win.shape[0]} must be a multiple of the "
                         f"{nW} windows of a {H}x{W} map")
    B = win.shape[0] // nW
    x = win.reshape(B, H // M, W // M, M, M, -1)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(B, H, W, -1)


def cyclic_shift(x: np.ndarray, shift_size: int) -> np.ndarray:
    """Roll a (B, H, W, C) map up and left by ``shift_size`` (``np.roll`` by -shift on H and W).

    Moving the map up-left is the same as moving the window grid down-right by ``shift_size``: the
    strips that fall off the top and the left wrap around to the bottom and the right (regions A, B,
    C of the seed). :func:`reverse_cyclic_shift` undoes it.
    """
    where = "cyclic_shift"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where=where)
    s = check_int(shift_size, "shift_size", minimum=0, where=where)
    return np.roll(x, shift=(-s, -s), axis=(1, 2))


def reverse_cyclic_shift(x: np.ndarray, shift_size: int) -> np.ndarray:
    """Undo :func:`cyclic_shift`: roll down and right by ``shift_size``."""
    where = "reverse_cyclic_shift"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where=where)
    s = check_int(shift_size, "shift_size", minimum=0, where=where)
    return np.roll(x, shift=(s, s), axis=(1, 2))


def region_ids(H: int, W: int, window_size: int, shift_size: int) -> np.ndarray:
    """Region label of every token of the *shifted* (H, W) map, as the official ``img_mask``.

    Rows are cut into three bands [0, H-M), [H-M, H-s), [H-s, H) and columns likewise; the label is
    ``3 * row_band + col_band`` (0..8). Two tokens of one window may attend to each other only when
    they carry the same label. With ``shift_size=0`` every token has label 0.
    """
    where = "region_ids"
    H = check_int(H, "H", where=where)
    W = check_int(W, "W", where=where)
    M, s = check_window_shift(window_size, shift_size, where=where)
    if M > H or M > W:
        raise ValueError(f"{where}: window_size={M} must not exceed the map {H}x{W}")
    ids = np.zeros((H, W), dtype=np.int64)
    if s == 0:
        return ids
    bands = (slice(0, -M), slice(-M, -s), slice(-s, None))
    label = 0
    for rows in bands:
        for cols in bands:
            ids[rows, cols] = label
            label += 1
    return ids


def shift_mask(H: int, W: int, window_size: int, shift_size: int) -> np.ndarray:
    """The SW-MSA attention mask: (num_windows, M*M, M*M) of 0 (same region) and -100 (different).

    H and W are the (padded) map size and must be multiples of ``window_size``. It is added to the
    attention logits like the relative position bias, before the softmax. With ``shift_size=0`` it is
    all zeros (the official code then passes no mask at all).
    """
    where = "shift_mask"
    H = check_int(H, "H", where=where)
    W = check_int(W, "W", where=where)
    M, s = check_window_shift(window_size, shift_size, where=where)
    check_divisible(H, M, "H", "window_size", where=where)
    check_divisible(W, M, "W", "window_size", where=where)
    ids = region_ids(H, W, M, s)
    win_ids = window_partition(ids[None, :, :, None], M).reshape(-1, M * M)  # (nW, N)
    different = win_ids[:, None, :] != win_ids[:, :, None]
    return np.where(different, MASK_VALUE, 0.0).astype(np.float32)
