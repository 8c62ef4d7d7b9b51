"""A ViT block beside a Swin block: what the window costs and what it buys.

The seed's section 2.2 compares the two blocks in a figure: the same pre-norm structure (LayerNorm, multi-head
self-attention, residual; LayerNorm, MLP, residual), but ViT's attention runs over *all* the tokens of the map,
Swin's inside M x M windows (with a relative position bias). :func:`vit_block` is the ViT block on a channels-last
map, in numpy, with the Swin block's weight names minus the bias table; notebook 05's exercise 5.4 asks the learner
to write it. :func:`vit_vs_swin` runs both on the same map with the same weights and measures what the notebook
states: the multiply-accumulates of each (counted on the running code, and by formula), how many tokens a poke
reaches after one block, and the time.
"""
from __future__ import annotations

import time

import numpy as np

from .. import numpy_ref as snp
from .._validate import check_array, check_int

__all__ = ["vit_block", "vit_block_macs", "vit_params", "vit_vs_swin"]


def _get(params, key, where):
    if key not in params:
        raise KeyError(f"{where}: params has no key {key!r} (have {sorted(params)[:8]}...)")
    return np.asarray(params[key])


def _attention(t, params, num_heads, *, scale=None, axis=-1, split_heads=True):
    """Global multi-head self-attention on tokens t (B, N, C) with the official weight names."""
    B, N, C = t.shape
    heads = num_heads if split_heads else 1
    d = C // heads
    qkv = t @ _get(params, "attn.qkv.weight", "vit_block").T
    if params.get("attn.qkv.bias") is not None:
        qkv = qkv + np.asarray(params["attn.qkv.bias"])
    q, k, v = qkv.reshape(B, N, 3, heads, d).transpose(2, 0, 3, 1, 4)         # each (B, heads, N, d)
    logits = (q @ k.transpose(0, 1, 3, 2)) * (d ** -0.5 if scale is None else scale)
    out = snp.softmax(logits, axis=axis) @ v                                   # (B, heads, N, d)
    out = out.transpose(0, 2, 1, 3).reshape(B, N, C) @ _get(params, "attn.proj.weight", "vit_block").T
    if params.get("attn.proj.bias") is not None:
        out = out + np.asarray(params["attn.proj.bias"])
    return out


def _vit(x, params, num_heads, *, pre_norm=True, residual=True, **attention):
    where = "vit_block"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", where=where)
    B, H, W, C = x.shape
    num_heads = check_int(num_heads, "num_heads", where=where)
    if C % num_heads:
        raise ValueError(f"{where}: num_heads={num_heads} must divide the channel count C={C}")

    def ln(t, name):
        return snp.layer_norm(t, _get(params, f"{name}.weight", where), _get(params, f"{name}.bias", where))

    def mlp(t):
        return snp.mlp(t, _get(params, "mlp.fc1.weight", where), params.get("mlp.fc1.bias"),
                       _get(params, "mlp.fc2.weight", where), params.get("mlp.fc2.bias"))

    t = x.reshape(B, H * W, C)
    if not pre_norm:  # post-norm: LN(x + f(x))
        t = ln(t + _attention(t, params, num_heads, **attention), "norm1")
        return ln(t + mlp(t), "norm2").reshape(B, H, W, C)
    a = _attention(ln(t, "norm1"), params, num_heads, **attention)
    t = t + a if residual else a
    return (t + mlp(ln(t, "norm2"))).reshape(B, H, W, C)


def vit_block(x: np.ndarray, params, num_heads: int) -> np.ndarray:
    """A ViT block on a channels-last map ``(B, H, W, C)`` -> ``(B, H, W, C)``: the H·W tokens of each image attend
    to each other, all of them (no windows, no shift, no position bias)::

        x = x + MSA(LN(x));   x = x + MLP(LN(x))

    ``params``: the official names of a Swin block without ``attn.relative_position_bias_table``: ``norm1.weight``,
    ``norm1.bias``, ``attn.qkv.weight`` (3C, C), ``attn.qkv.bias``, ``attn.proj.weight``, ``attn.proj.bias``,
    ``norm2.*``, ``mlp.fc1.*``, ``mlp.fc2.*``. The scale is head_dim ** -0.5, as in Swin."""
    return _vit(x, params, num_heads)


def vit_params(C: int = 12, num_heads: int = 3, M: int = 4, seed: int = 0) -> dict:
    """Random weights of one block, official names (:func:`swin_edu.numpy_ref.random_block_params`: the W-MSA
    block of a random state dict), without the relative position bias table: a ViT block's weights."""
    params = snp.random_block_params(C, num_heads, M, shifted=False, seed=seed)
    return {k: v for k, v in params.items() if not k.endswith("relative_position_bias_table")}


def vit_block_macs(h: int, w: int, C: int, *, mlp_ratio: float = 4.0) -> int:
    """12hwC^2 + 2(hw)^2 C at ``mlp_ratio=4``: a ViT block (global attention, :func:`swin_edu.complexity.msa_macs`,
    plus the MLP's 2·mlp_ratio·hwC^2), counted like :func:`swin_edu.complexity.block_macs`."""
    from .._validate import check_float
    from ..complexity import msa_macs

    mlp_ratio = check_float(mlp_ratio, "mlp_ratio", minimum=0.0, strict_min=True, where="vit_block_macs")
    hidden = int(C * mlp_ratio)
    return msa_macs(h, w, C) + 2 * h * w * C * hidden


def _reach(block, x, params, at):
    poked = x.copy()
    poked[(0,) + at + (0,)] += 1.0
    return int((np.abs(block(poked, params) - block(x, params)).max(-1)[0] > 1e-9).sum())


def vit_vs_swin(vit_fn=vit_block, swin_fn=snp.swin_block, *, h: int = 28, w: int = 28, C: int = 96, M: int = 7,
                num_heads: int = 3, repeats: int = 3, seed: int = 0) -> dict:
    """Run a ViT block (``vit_fn(x, params, num_heads)``) and a W-MSA Swin block (``swin_fn(x, params, num_heads, M,
    0)``) on the same random ``(1, h, w, C)`` float32 map with the same weights (the Swin block has its bias table
    too). Returns, per block (``"vit"``, ``"swin"``): ``macs_counted`` (the matrix products the code ran, counted by
    :func:`swin_edu.complexity.count_matmul_macs`; None when the code uses a product the counter does not see),
    ``macs_formula`` (:func:`vit_block_macs`, :func:`swin_edu.complexity.block_macs`), ``reach`` (the tokens whose
    output moves when one token in the middle is poked) and ``seconds`` (the median of ``repeats`` runs)."""
    from ..complexity import block_macs, count_matmul_macs

    where = "vit_vs_swin"
    h, w, C, M = (check_int(v, n, where=where) for v, n in ((h, "h"), (w, "w"), (C, "C"), (M, "M")))
    num_heads = check_int(num_heads, "num_heads", where=where)
    repeats = check_int(repeats, "repeats", where=where)
    if h % M or w % M:
        raise ValueError(f"{where}: M={M} must divide h={h} and w={w} (no padding in this comparison)")
    sw = {k: v.astype(np.float32) for k, v in snp.random_block_params(C, num_heads, M, shifted=False, seed=seed).items()}
    vit = {k: v for k, v in sw.items() if not k.endswith("relative_position_bias_table")}
    x = np.random.default_rng(seed).standard_normal((1, h, w, C)).astype(np.float32)
    runs = {"vit": (lambda z, p: vit_fn(z, p, num_heads), vit, vit_block_macs(h, w, C)),
            "swin": (lambda z, p: swin_fn(z, p, num_heads, M, 0), sw, block_macs(h, w, C, M))}
    out = {}
    for name, (fn, params, formula) in runs.items():
        try:
            counted = count_matmul_macs(fn, x, params).total
        except TypeError:
            counted = None
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(x, params)
            times.append(time.perf_counter() - start)
        out[name] = {"macs_counted": counted, "macs_formula": formula, "reach": _reach(fn, x, params, (h // 2, w // 2)),
                     "seconds": float(np.median(times))}
    out["tokens"] = h * w
    return out
