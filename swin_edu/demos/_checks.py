"""Argument checks shared by the demos (a map, its window and shift; a poked token)."""
from __future__ import annotations

from .._validate import check_int


def map_window_shift(H, W, window_size, shift_size, where: str) -> tuple[int, int, int, int]:
    """(H, W, M, s) checked: positive ints, 0 <= s < M, M divides H and W."""
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M = check_int(window_size, "window_size", where=where)
    s = check_int(shift_size, "shift_size", minimum=0, where=where)
    if s >= M:
        raise ValueError(f"{where}: shift_size must be smaller than window_size={M}, got {s}")
    if H % M or W % M:
        raise ValueError(f"{where}: window_size={M} must divide the map {H}x{W} (pad the map first)")
    return H, W, M, s


def token_position(poke, H: int, W: int, where: str) -> tuple[int, int]:
    """A (row, col) pair inside an H x W map."""
    if not (isinstance(poke, (tuple, list)) and len(poke) == 2):
        raise TypeError(f"{where}: poke must be a pair (row, col), got {poke!r}")
    r = check_int(poke[0], "poke[0]", minimum=0, where=where)
    c = check_int(poke[1], "poke[1]", minimum=0, where=where)
    if r >= H or c >= W:
        raise ValueError(f"{where}: poke must lie inside the {H}x{W} map, got {(r, c)}")
    return (r, c)
