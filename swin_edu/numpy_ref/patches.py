"""Patch partition and linear embedding (seed section 2.1), and LayerNorm.

An image (B, H, W, 3) is cut into 4x4 patches; each patch, flattened row by row with its 3 channels
per pixel, is a 4*4*3 = 48-dim token: (B, H/4, W/4, 48). A linear map to C (=96 for Swin-T) follows,
which is exactly a 4x4 convolution with stride 4; then LayerNorm over the C channels.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_array, check_divisible, check_float, check_int
from ..config import padded_size

__all__ = ["patch_partition", "patch_embed", "layer_norm", "pad_to_multiple", "conv_weight_to_linear"]


def pad_to_multiple(x: np.ndarray, multiple: int) -> np.ndarray:
    """Zero-pad a (B, H, W, C) map at the bottom and right so that H and W are multiples of ``multiple``.

    This is what the official detection code does before a window partition or a patch embedding.
    """
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", floating=False, where="pad_to_multiple")
    multiple = check_int(multiple, "multiple", where="pad_to_multiple")
    _, H, W, _ = x.shape
    pad_b, pad_r = padded_size(H, multiple) - H, padded_size(W, multiple) - W
    if pad_b == 0 and pad_r == 0:
        return x
    return np.pad(x, ((0, 0), (0, pad_b), (0, pad_r), (0, 0)))


def patch_partition(images: np.ndarray, patch_size: int = 4) -> np.ndarray:
    """Cut (B, H, W, C) images into non-overlapping ``patch_size`` x ``patch_size`` patches.

    Returns (B, H/p, W/p, p*p*C): each patch flattened row by row, pixel by pixel, channel by channel
    (the seed's "按行展平"). H and W must be multiples of ``patch_size``.
    """
    where = "patch_partition"
    x = check_array(images, "images", ndim=4, layout="(B, H, W, C)", floating=False, where=where)
    p = check_int(patch_size, "patch_size", where=where)
    B, H, W, C = x.shape
    check_divisible(H, p, "images height H", "patch_size", where=where)
    check_divisible(W, p, "images width W", "patch_size", where=where)
    x = x.reshape(B, H // p, p, W // p, p, C)
    x = x.transpose(0, 1, 3, 2, 4, 5)  # (B, H/p, W/p, p_row, p_col, C)
    return x.reshape(B, H // p, W // p, p * p * C)


def conv_weight_to_linear(weight: np.ndarray) -> np.ndarray:
    """Reorder a conv kernel (C_out, C_in, p, p) into a linear map (C_out, p*p*C_in) acting on
    patch vectors in :func:`patch_partition` order (row, column, channel)."""
    w = check_array(weight, "weight", ndim=4, layout="(C_out, C_in, p, p)", where="conv_weight_to_linear")
    C_out, C_in, ph, pw = w.shape
    if ph != pw:
        raise ValueError(f"conv_weight_to_linear: weight must have a square kernel, got shape {w.shape}")
    return w.transpose(0, 2, 3, 1).reshape(C_out, ph * pw * C_in)


def layer_norm(x: np.ndarray, weight: np.ndarray | None = None, bias: np.ndarray | None = None,
               eps: float = 1e-5) -> np.ndarray:
    """LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias (biased variance)."""
    where = "layer_norm"
    x = check_array(x, "x", ndim=range(1, 8), where=where)
    eps = check_float(eps, "eps", minimum=0.0, strict_min=True, where=where)
    C = x.shape[-1]
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None:
            v = check_array(v, name, ndim=1, where=where)
            if v.shape != (C,):
                raise ValueError(f"{where}: {name} must have shape ({C},) to match x's last axis, got {v.shape}")
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out = (x - mean) / np.sqrt(var + eps)
    if weight is not None:
        out = out * np.asarray(weight)
    if bias is not None:
        out = out + np.asarray(bias)
    return out.astype(x.dtype, copy=False)


def patch_embed(images: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
                norm_weight: np.ndarray | None = None, norm_bias: np.ndarray | None = None) -> np.ndarray:
    """Patch partition + linear embedding (+ LayerNorm when ``norm_weight`` is given).

    ``images``: (B, H, W, C_in) channels-last. ``weight``: the conv kernel (C, C_in, p, p) as stored in
    the official checkpoint (``patch_embed.proj.weight``); ``bias``: (C,). Images whose size is not a
    multiple of p are zero-padded at the bottom/right first, as the official code does.
    Returns (B, ceil(H/p), ceil(W/p), C).
    """
    where = "patch_embed"
    x = check_array(images, "images", ndim=4, layout="(B, H, W, C_in)", where=where)
    w = check_array(weight, "weight", ndim=4, layout="(C, C_in, p, p)", where=where)
    C, C_in, p, p2 = w.shape
    if p != p2:
        raise ValueError(f"{where}: weight must have a square kernel (C, C_in, p, p), got shape {w.shape}")
    if x.shape[-1] != C_in:
        raise ValueError(
            f"{where}: images must have {C_in} channels in the last axis to match weight {w.shape}, "
            f"got shape {x.shape} (images are channels-last (B, H, W, C))"
        )
    if bias is not None:
        bias = check_array(bias, "bias", ndim=1, where=where)
        if bias.shape != (C,):
            raise ValueError(f"{where}: bias must have shape ({C},), got {bias.shape}")
    tokens = patch_partition(pad_to_multiple(x, p), p)  # (B, H/p, W/p, p*p*C_in)
    out = tokens @ conv_weight_to_linear(w).T
    if bias is not None:
        out = out + bias
    if norm_weight is not None:
        out = layer_norm(out, norm_weight, norm_bias)
    return out.astype(np.result_type(x.dtype, w.dtype), copy=False)
