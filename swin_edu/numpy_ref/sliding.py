"""Sliding-window attention, the slower baseline of the paper (its Table 5): every query attends to the
M x M neighbourhood centred on it.

For odd M the neighbourhood is centred exactly (M//2 tokens on each side); for even M it holds M//2
tokens above / left of the query and M//2 - 1 below / right. Neighbours outside the map are left out
(their logits are -inf before the softmax), so border queries attend to fewer keys. The relative position
bias uses Swin's ((2M-1)^2, heads) table with Swin's offsets (query - key), so a window-attention
checkpoint's tables fit.

Each query has its *own* set of keys: there is no shared key matrix per window, which is why this is
slow on real hardware although it costs the same MACs as W-MSA (``complexity.sliding_window_macs``).
:func:`sliding_window_attention` gathers every neighbourhood with ``sliding_window_view`` (a copy of
M^2 keys per query); :func:`sliding_window_attention_naive` loops over the queries and is the check.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_array, check_float, check_int
from .attention import relative_position_index, softmax

__all__ = ["sliding_window_attention", "sliding_window_attention_naive"]


def _prepare(x, qkv_weight, qkv_bias, proj_weight, proj_bias, num_heads, window_size, table, scale, where):
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", where=where)
    C = x.shape[-1]
    nH = check_int(num_heads, "num_heads", where=where)
    if C % nH:
        raise ValueError(f"{where}: num_heads={nH} must divide the channel count C={C}")
    M = check_int(window_size, "window_size", where=where)
    shapes = {"qkv_weight": (qkv_weight, (3 * C, C)), "proj_weight": (proj_weight, (C, C)),
              "qkv_bias": (qkv_bias, (3 * C,)), "proj_bias": (proj_bias, (C,)),
              "relative_position_bias_table": (table, ((2 * M - 1) ** 2, nH))}
    arrays = {}
    for name, (value, shape) in shapes.items():
        if value is None and name in ("qkv_bias", "proj_bias", "relative_position_bias_table"):
            arrays[name] = None
            continue
        value = check_array(value, name, ndim=len(shape), where=where)
        if value.shape != shape:
            raise ValueError(f"{where}: {name} must have shape {shape} for C={C}, num_heads={nH}, "
                             f"window_size={M}, got {value.shape}")
        arrays[name] = value
    scale = (C // nH) ** -0.5 if scale is None else check_float(scale, "scale", minimum=0, strict_min=True,
                                                                 where=where)
    return x, arrays, nH, M, scale, _project(x, arrays, nH)


def _project(x, arrays, nH):
    B, H, W, C = x.shape
    qkv = x @ arrays["qkv_weight"].T
    if arrays["qkv_bias"] is not None:
        qkv = qkv + arrays["qkv_bias"]
    return qkv.reshape(B, H, W, 3, nH, C // nH)


def _bias(arrays, M):
    """(heads, M*M): the bias the centre query of an M x M neighbourhood gives each of its keys."""
    table = arrays["relative_position_bias_table"]
    if table is None:
        return None
    centre = (M // 2) * M + M // 2
    return table[relative_position_index(M)[centre]].T


def _output(out, arrays, dtype):
    out = out @ arrays["proj_weight"].T
    if arrays["proj_bias"] is not None:
        out = out + arrays["proj_bias"]
    return out.astype(dtype, copy=False)


def sliding_window_attention(x: np.ndarray, qkv_weight: np.ndarray, qkv_bias: np.ndarray | None,
                             proj_weight: np.ndarray, proj_bias: np.ndarray | None, num_heads: int,
                             window_size: int, relative_position_bias_table: np.ndarray | None = None,
                             scale: float | None = None) -> np.ndarray:
    """Multi-head attention of every token of a (B, H, W, C) map over its M x M neighbourhood.

    Weights in ``nn.Linear`` layout as :func:`~swin_edu.numpy_ref.window_attention` (``qkv_weight``
    (3C, C), ``proj_weight`` (C, C), biases optional); ``relative_position_bias_table``
    ((2M-1)^2, num_heads) optional; ``scale`` defaults to head_dim ** -0.5. Any H, W (no divisibility
    needed). Returns (B, H, W, C). Memory: M^2 copies of the keys and values.
    """
    x, arrays, nH, M, scale, qkv = _prepare(x, qkv_weight, qkv_bias, proj_weight, proj_bias, num_heads,
                                            window_size, relative_position_bias_table, scale, "sliding_window_attention")
    B, H, W, C = x.shape
    hd = C // nH
    q, k, v = qkv[:, :, :, 0] * scale, qkv[:, :, :, 1], qkv[:, :, :, 2]          # (B, H, W, nH, hd)
    before, after = M // 2, M - 1 - M // 2
    pad = ((0, 0), (before, after), (before, after), (0, 0), (0, 0))
    inside = np.pad(np.ones((1, H, W, 1, 1), dtype=bool), pad)
    view = lambda t: np.lib.stride_tricks.sliding_window_view(t, (M, M), axis=(1, 2))
    # (B, H, W, nH, hd, M, M): the neighbourhood of every query, then flattened to M*M keys
    keys = view(np.pad(k, pad)).reshape(B, H, W, nH, hd, M * M)
    values = view(np.pad(v, pad)).reshape(B, H, W, nH, hd, M * M)
    valid = view(inside).reshape(1, H, W, 1, 1, M * M)
    logits = q[..., None, :] @ keys                                             # (B, H, W, nH, 1, M*M)
    bias = _bias(arrays, M)
    if bias is not None:
        logits = logits + bias[:, None, :]
    logits = np.where(valid, logits, -np.inf)
    out = softmax(logits) @ np.swapaxes(values, -1, -2)                         # (B, H, W, nH, 1, hd)
    return _output(out.reshape(B, H, W, C), arrays, x.dtype)


def sliding_window_attention_naive(x: np.ndarray, qkv_weight: np.ndarray, qkv_bias: np.ndarray | None,
                                   proj_weight: np.ndarray, proj_bias: np.ndarray | None, num_heads: int,
                                   window_size: int, relative_position_bias_table: np.ndarray | None = None,
                                   scale: float | None = None) -> np.ndarray:
    """The same as :func:`sliding_window_attention`, one query at a time with explicit loops over the
    in-map neighbours and their offsets (the check; slow: use maps of a few dozen tokens)."""
    x, arrays, nH, M, scale, qkv = _prepare(x, qkv_weight, qkv_bias, proj_weight, proj_bias, num_heads,
                                            window_size, relative_position_bias_table, scale, "sliding_window_attention_naive")
    B, H, W, C = x.shape
    hd = C // nH
    table = arrays["relative_position_bias_table"]
    out = np.zeros((B, H, W, C), dtype=np.result_type(x.dtype, qkv.dtype))
    for b in range(B):
        for i in range(H):
            for j in range(W):
                nbrs = [(u, w) for u in range(i - M // 2, i + M - M // 2) for w in range(j - M // 2, j + M - M // 2)
                        if 0 <= u < H and 0 <= w < W]
                for h in range(nH):
                    q = qkv[b, i, j, 0, h] * scale
                    logits = np.stack([q @ qkv[b, u, w, 1, h] for u, w in nbrs])
                    if table is not None:  # offset query - key, read in base 2M-1 after shifting by M-1
                        logits = logits + np.stack([table[(i - u + M - 1) * (2 * M - 1) + (j - w + M - 1), h]
                                                    for u, w in nbrs])
                    values = np.stack([qkv[b, u, w, 2, h] for u, w in nbrs])     # (neighbours, hd)
                    out[b, i, j, h * hd:(h + 1) * hd] = softmax(logits) @ values
    return _output(out, arrays, x.dtype)
