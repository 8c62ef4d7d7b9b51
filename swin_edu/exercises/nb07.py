"""Exercises of notebook 07: the PyTorch model (torch is imported lazily, only when these run)."""
from __future__ import annotations

from ._data import between, draw, pick
from .spec import TORCH_PRELUDE, Case, Exercise, Misconception

__all__ = ["ATTENTION_TORCH", "MERGE_QKV"]


def _t(*shape, seed=0, dtype="float32", scale=1.0):
    import torch

    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(getattr(torch, dtype))


def attention_torch_reference(q, k, v, mask):
    """softmax(q k^T / sqrt(d) + mask) v with PyTorch's fused kernel (a float mask is added to the logits)."""
    import torch.nn.functional as F

    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def _explicit(q, k, v, mask, scale=None, dim=-1, sign=1):
    import torch

    scale = q.shape[-1] ** -0.5 if scale is None else scale
    logits = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        logits = logits + sign * mask
    return torch.softmax(logits, dim=dim) @ v


def _mask_cases():
    import torch

    from .. import numpy_ref as snp

    sw = torch.from_numpy(snp.shift_mask(8, 8, 4, 2))  # (4, 16, 16) 0 / -100
    bias = _t(3, 16, 16, seed=5, scale=0.5)
    return sw, bias


def _attention_cases():
    sw, bias = _mask_cases()
    mask = (bias[None, :] + sw[:, None]).reshape(1, 4, 3, 16, 16)   # (1 image, 4 windows, 3 heads, N, N)
    mask = mask.expand(2, 4, 3, 16, 16).reshape(8, 3, 16, 16)         # 2 images x 4 windows
    return [
        Case("8 windows x 3 heads of 16 tokens (d=8) with a relative position bias (3, 16, 16)",
             (_t(8, 3, 16, 8, seed=1), _t(8, 3, 16, 8, seed=2), _t(8, 3, 16, 8, seed=3), bias)),
        Case("the same with bias + the 0/-100 shift mask of an 8x8 map (M=4, s=2), shape (8, 3, 16, 16)",
             (_t(8, 3, 16, 8, seed=1), _t(8, 3, 16, 8, seed=2), _t(8, 3, 16, 8, seed=3), mask)),
    ]


def _torch_draw(rng, *shape, dtype="float32", scale=1.0):
    import torch

    return torch.from_numpy(draw(rng, *shape, scale=scale)).to(getattr(torch, dtype))


def _attention_hidden(rng):
    w, h, n, d = between(rng, 2, 3), between(rng, 2, 4), pick(rng, (4, 9)), pick(rng, (6, 8))
    t64 = [_torch_draw(rng, w, h, n, d, dtype="float64") for _ in range(3)]
    t32 = [_torch_draw(rng, w, h, n, d) for _ in range(3)]
    mask = _torch_draw(rng, h, n, n, scale=0.5)
    return [
        Case(f"float64 tensors, {w} windows x {h} heads of {n} tokens (d={d}), no mask (None)", (*t64, None)),
        Case(f"float32 tensors, {w} windows x {h} heads of {n} tokens (d={d}), "
             f"a bias of shape ({h}, {n}, {n})",
             (*t32, mask)),
    ]


ATTENTION_TORCH = Exercise(
    name="attention_torch",
    signature="attention_torch_mine(q, k, v, mask)",
    reference=attention_torch_reference,
    kind="torch",
    cases=_attention_cases,
    hidden=_attention_hidden,
    guards=("torch.nn.functional:scaled_dot_product_attention",),
    prelude=TORCH_PRELUDE,
    rtol=1e-4, atol=1e-5,
    hints=("logits = q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5; add the mask when it is not None "
         "(it broadcasts); torch.softmax(logits, dim=-1) @ v.",),
    misconceptions=[
        Misconception("you forgot the scale 1/sqrt(d) (d = q.shape[-1]); scaled_dot_product_attention "
                      "applies it by default.", lambda q, k, v, m: _explicit(q, k, v, m, scale=1.0)),
        Misconception("the softmax runs over the wrong dimension: each query's weights over the keys sum "
                      "to 1 (dim=-1).", lambda q, k, v, m: _explicit(q, k, v, m, dim=-2)),
        Misconception("the float mask is *added* to the logits (bias and 0/-100), not subtracted.",
                      lambda q, k, v, m: _explicit(q, k, v, m, sign=-1) if m is not None else None),
        Misconception("the mask was ignored: add it to the scaled logits before the softmax.",
                      lambda q, k, v, m: _explicit(q, k, v, None) if m is not None else None),
    ],
)


# ----------------------------------------------------------------------------- q, k, v -> qkv
def merge_qkv_reference(q_weight, k_weight, v_weight):
    """The official fused ``attn.qkv.weight`` (3C, C) from separate q, k, v weights (C, C) each."""
    import torch

    return torch.cat([q_weight, k_weight, v_weight], dim=0)


def _qkv_cases():
    return [
        Case("three (6, 6) weights (C=6)", (_t(6, 6, seed=11), _t(6, 6, seed=12), _t(6, 6, seed=13))),
        Case("three (96, 96) weights of a Swin-T stage-1 block",
             tuple(_t(96, 96, seed=s, scale=0.02) for s in (14, 15, 16))),
    ]


def _qkv_hidden(rng):
    C = pick(rng, (8, 12, 16))
    weights = tuple(_torch_draw(rng, C, C, dtype="float64") for _ in range(3))
    return [Case(f"three ({C}, {C}) float64 weights", weights)]


def _cat(*ts, dim=0):
    import torch

    return torch.cat(ts, dim=dim)


MERGE_QKV = Exercise(
    name="merge_qkv",
    signature="merge_qkv_mine(q_weight, k_weight, v_weight)",
    reference=merge_qkv_reference,
    kind="torch",
    cases=_qkv_cases,
    hidden=_qkv_hidden,
    prelude=TORCH_PRELUDE,
    hints=("nn.Linear weights are (out_features, in_features): qkv produces 3C outputs, so concatenate the "
         "three weights along dim 0, in the order q, k, v (torch.cat).",),
    misconceptions=[
        Misconception("the official order is q, k, v: the forward pass splits the 3C outputs as "
                      "qkv.reshape(B, N, 3, heads, d) and takes [0] as q, [1] as k, [2] as v.",
                      lambda q, k, v: _cat(k, q, v)),
        Misconception("the official order is q, k, v (you have v, k, q).", lambda q, k, v: _cat(v, k, q)),
        Misconception("concatenating along dim 1 gives (C, 3C). nn.Linear stores (out_features, "
                      "in_features): the 3C outputs are rows, so concatenate along dim 0.",
                      lambda q, k, v: _cat(q, k, v, dim=1)),
    ],
)
