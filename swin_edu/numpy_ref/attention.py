"""Window multi-head self-attention with relative position bias (seed 2.2.1) and the mask (2.2.2).

    Attention(Q, K, V) = SoftMax(Q K^T / sqrt(d) + B + Mask) V

computed independently inside every M x M window.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_array, check_bool, check_float, check_int

__all__ = [
    "softmax",
    "relative_coords",
    "relative_position_index",
    "relative_position_bias",
    "window_attention",
]


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax (the maximum is subtracted first, so -100 or -inf never overflow)."""
    x = check_array(x, "x", where="softmax")
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"softmax: axis must be an int in [{-x.ndim}, {x.ndim}), got {axis!r}")
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def relative_coords(window_size: int) -> np.ndarray:
    """(M*M, M*M, 2) relative (row, col) offsets between every query i and key j: coord_i - coord_j.

    Each offset lies in [-(M-1), M-1].
    """
    M = check_int(window_size, "window_size", where="relative_coords")
    rows, cols = np.meshgrid(np.arange(M), np.arange(M), indexing="ij")
    coords = np.stack([rows.ravel(), cols.ravel()], axis=-1)  # (N, 2)
    return coords[:, None, :] - coords[None, :, :]


def relative_position_index(window_size: int) -> np.ndarray:
    """(M*M, M*M) index into the ((2M-1)^2, num_heads) bias table, as the official buffer.

    Shift both offsets by M-1 so they start at 0, then read the 2-D offset as one number in base
    2M-1: ``(dy + M - 1) * (2M - 1) + (dx + M - 1)``.
    """
    M = check_int(window_size, "window_size", where="relative_position_index")
    rel = relative_coords(M) + (M - 1)
    return (rel[..., 0] * (2 * M - 1) + rel[..., 1]).astype(np.int64)


def relative_position_bias(table: np.ndarray, window_size: int) -> np.ndarray:
    """Gather the bias B (num_heads, M*M, M*M) from the ((2M-1)^2, num_heads) table."""
    where = "relative_position_bias"
    table = check_array(table, "table", ndim=2, layout="((2M-1)^2, num_heads)", where=where)
    M = check_int(window_size, "window_size", where=where)
    if table.shape[0] != (2 * M - 1) ** 2:
        raise ValueError(
            f"{where}: table must have (2*window_size-1)^2 = {(2 * M - 1) ** 2} rows for window_size={M}, "
            f"got shape {table.shape}"
        )
    idx = relative_position_index(M)
    return table[idx.ravel()].reshape(M * M, M * M, -1).transpose(2, 0, 1)


def window_attention(
    x: np.ndarray,
    qkv_weight: np.ndarray,
    qkv_bias: np.ndarray | None,
    proj_weight: np.ndarray,
    proj_bias: np.ndarray | None,
    num_heads: int,
    relative_position_bias_table: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    scale: float | None = None,
    return_attn: bool = False,
):
    """Multi-head self-attention inside each window.

    x: (num_windows*B, N, C) tokens of each window (N = M*M). Weights in torch ``nn.Linear`` layout:
    ``qkv_weight`` (3C, C), ``proj_weight`` (C, C). ``relative_position_bias_table``:
    ((2M-1)^2, num_heads), optional. ``mask``: (num_windows, N, N) added to the logits of each
    window's heads (0 / -100 from :func:`shift_mask`), optional. ``scale`` defaults to
    head_dim ** -0.5. Returns (num_windows*B, N, C), and the attention weights
    (num_windows*B, num_heads, N, N) when ``return_attn`` is true.
    """
    where = "window_attention"
    x = check_array(x, "x", ndim=3, layout="(num_windows*B, N, C)", where=where)
    B_, N, C = x.shape
    nH = check_int(num_heads, "num_heads", where=where)
    if C % nH:
        raise ValueError(f"{where}: num_heads={nH} must divide the channel count C={C}")
    hd = C // nH
    scale = hd ** -0.5 if scale is None else check_float(scale, "scale", minimum=0, strict_min=True,
                                                         where=where)
    return_attn = check_bool(return_attn, "return_attn", where=where)
    qkv_weight = check_array(qkv_weight, "qkv_weight", ndim=2, layout="(3C, C)", where=where)
    proj_weight = check_array(proj_weight, "proj_weight", ndim=2, layout="(C, C)", where=where)
    if qkv_weight.shape != (3 * C, C):
        raise ValueError(f"{where}: qkv_weight must have shape (3C, C) = {(3 * C, C)}, got {qkv_weight.shape}")
    if proj_weight.shape != (C, C):
        raise ValueError(f"{where}: proj_weight must have shape (C, C) = {(C, C)}, got {proj_weight.shape}")
    for name, b, n in (("qkv_bias", qkv_bias, 3 * C), ("proj_bias", proj_bias, C)):
        if b is not None:
            b = check_array(b, name, ndim=1, where=where)
            if b.shape != (n,):
                raise ValueError(f"{where}: {name} must have shape ({n},), got {b.shape}")

    qkv = x @ qkv_weight.T
    if qkv_bias is not None:
        qkv = qkv + qkv_bias
    qkv = qkv.reshape(B_, N, 3, nH, hd).transpose(2, 0, 3, 1, 4)  # (3, B_, nH, N, hd)
    q, k, v = qkv[0] * scale, qkv[1], qkv[2]
    attn = q @ k.transpose(0, 1, 3, 2)  # (B_, nH, N, N)

    if relative_position_bias_table is not None:
        table = check_array(relative_position_bias_table, "relative_position_bias_table", ndim=2,
                            layout="((2M-1)^2, num_heads)", where=where)
        M = int(round(N ** 0.5))
        if M * M != N:
            raise ValueError(f"{where}: a relative position bias needs square windows; N={N} is not M*M")
        if table.shape != ((2 * M - 1) ** 2, nH):
            raise ValueError(
                f"{where}: relative_position_bias_table must have shape ((2M-1)^2, num_heads) = "
                f"{((2 * M - 1) ** 2, nH)} for windows of {M}x{M} tokens, got {table.shape}"
            )
        attn = attn + relative_position_bias(table, M)[None]
    if mask is not None:
        mask = check_array(mask, "mask", ndim=3, layout="(num_windows, N, N)", where=where)
        nW = mask.shape[0]
        if mask.shape[1:] != (N, N) or B_ % nW:
            raise ValueError(
                f"{where}: mask must have shape (num_windows, {N}, {N}) with num_windows dividing "
                f"x.shape[0]={B_}, got {mask.shape}"
            )
        attn = (attn.reshape(B_ // nW, nW, nH, N, N) + mask[None, :, None]).reshape(B_, nH, N, N)
    attn = softmax(attn, axis=-1)
    out = (attn @ v).transpose(0, 2, 1, 3).reshape(B_, N, C)
    out = out @ proj_weight.T
    if proj_bias is not None:
        out = out + proj_bias
    out = out.astype(x.dtype, copy=False)
    return (out, attn) if return_attn else out
