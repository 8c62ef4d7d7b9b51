"""The naive shifted windows that Swin avoids: pad every partial window to M x M and mask the padding.

Shifting the window grid by s = floor(M/2) cuts an h x w map into (h/M + 1) * (w/M + 1) windows of
unequal sizes (9 for a map of 2x2 windows). The naive way pads each of them to M x M, which costs
more windows than W-MSA. The cyclic shift + mask gives the same result with the original number of
windows; :func:`padded_window_attention` is the independent check of that claim.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .._validate import as_numpy, check_array, check_divisible, check_int
from ..config import check_window_shift
from .attention import relative_position_bias, softmax

__all__ = ["shifted_window_grid", "padded_window_attention"]


def shifted_window_grid(H: int, W: int, window_size: int, shift_size: int) -> list[tuple[slice, slice]]:
    """The windows of a grid displaced by ``shift_size`` towards the bottom-right, without any roll:
    a list of (row slice, column slice), row-major. Their sizes differ at the borders."""
    where = "shifted_window_grid"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M, s = check_window_shift(window_size, shift_size, where=where)

    def cuts(n):
        edges = [0] + [e for e in range(s, n, M) if e > 0] + [n]
        return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]

    return [(r, c) for r in cuts(H) for c in cuts(W)]


def padded_window_attention(x: np.ndarray, params: Mapping[str, Any], num_heads: int, window_size: int,
                            shift_size: int) -> np.ndarray:
    """SW-MSA the naive way: every window of :func:`shifted_window_grid` is padded to M x M, the
    padded keys are excluded from the softmax, and attention runs per window. x: (B, H, W, C) with
    H, W multiples of M. Returns (B, H, W, C)."""
    where = "padded_window_attention"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", where=where)
    M = check_int(window_size, "window_size", where=where)
    B, H, W, C = x.shape
    check_divisible(H, M, "x height H", "window_size", where=where)
    check_divisible(W, M, "x width W", "window_size", where=where)
    nH = check_int(num_heads, "num_heads", where=where)
    hd = C // nH
    Wqkv = as_numpy(params["qkv.weight"], "qkv.weight", where=where)
    bqkv = as_numpy(params["qkv.bias"], "qkv.bias", where=where) if "qkv.bias" in params else 0.0
    Wp = as_numpy(params["proj.weight"], "proj.weight", where=where)
    bp = as_numpy(params["proj.bias"], "proj.bias", where=where) if "proj.bias" in params else 0.0
    table = params.get("relative_position_bias_table")
    bias = relative_position_bias(as_numpy(table, "table"), M) if table is not None else np.zeros((nH, M * M, M * M))

    out = np.zeros_like(x)
    for rows, cols in shifted_window_grid(H, W, M, shift_size):
        h, w = rows.stop - rows.start, cols.stop - cols.start
        padded = np.zeros((B, M, M, C), dtype=x.dtype)
        padded[:, :h, :w] = x[:, rows, cols]
        valid = np.zeros((M, M), dtype=bool)
        valid[:h, :w] = True
        tokens = padded.reshape(B, M * M, C)
        qkv = (tokens @ Wqkv.T + bqkv).reshape(B, M * M, 3, nH, hd).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * hd ** -0.5, qkv[1], qkv[2]
        logits = q @ k.transpose(0, 1, 3, 2) + bias[None]
        logits = np.where(valid.ravel()[None, None, None, :], logits, -np.inf)
        o = (softmax(logits) @ v).transpose(0, 2, 1, 3).reshape(B, M, M, C) @ Wp.T + bp
        out[:, rows, cols] = o[:, :h, :w]
    return out
