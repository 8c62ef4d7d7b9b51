"""Why the shift mask's -100 acts as minus infinity: the attention logits of a trained Swin are small (measured),
and the mask leaks once they are not.

A masked key gets the logit ``l - 100`` instead of ``l``. Its softmax weight, next to the best allowed key of the
same row (logit ``l_max``), is at most ``exp(l - 100 - l_max)``: negligible while no masked logit comes near
``l_max + 100``. :func:`logit_stats` measures the logits ``q k^T / sqrt(d) + B`` of every block of a model on real
images (the largest ``|logit|``, and in the shifted blocks the largest gap ``l - l_max`` between a masked key and the
best allowed key of its row) and the weight the masked keys really get. :func:`leak_at_scale` multiplies the
logits by a factor (as if the queries and keys had grown by its square root) and measures how much weight leaks
through the mask then. Everything is computed in float64 from the model's own weights, so that a leak of 1e-40 is
a number and not an underflow.

Notebook 03 runs them on the course's trained digits model (:func:`swin_edu.weights.course_model`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["attention_logits", "leak_at_scale", "logit_stats"]


def _check(model, images, where: str):
    import torch

    if not hasattr(model, "layers") or not all(hasattr(b, "attn") for layer in model.layers for b in layer.blocks):
        raise TypeError(f"{where}: model must be a swin_edu SwinTransformer (with layers[i].blocks[j].attn), got "
                        f"{type(model).__name__}")
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(f"{where}: images must be a torch tensor (B, C, H, W) of normalised images, got {shape}")


def attention_logits(model, images) -> list[dict]:
    """The attention logits of every block of ``model`` on ``images``: one dict per block, in order, with
    ``stage``, ``block``, ``shift`` (the block's shift size), ``logits`` (float64 numpy ``(B*nW, heads, N, N)``:
    ``q k^T * scale + B``, the mask not added) and ``mask`` (float64 ``(nW, N, N)`` of 0 and -100, or None)."""
    import torch

    where = "attention_logits"
    _check(model, images, where)
    caught: list[dict] = []
    handles = []
    for i, layer in enumerate(model.layers):
        for j, blk in enumerate(layer.blocks):
            def hook(module, args, kwargs, i=i, j=j, blk=blk):
                x = args[0]
                mask = kwargs.get("mask", args[1] if len(args) > 1 else None)
                B_, N, C = x.shape
                nH = module.num_heads
                qkv = module.qkv(x).double().reshape(B_, N, 3, nH, C // nH).permute(2, 0, 3, 1, 4)
                q, k = qkv[0], qkv[1]
                logits = (q * module.scale) @ k.transpose(-2, -1)
                bias = module.relative_position_bias()
                if bias is not None:
                    logits = logits + bias.double().unsqueeze(0)
                caught.append({"stage": i, "block": j, "shift": blk.shift_size, "logits": logits.numpy(),
                               "mask": None if mask is None else mask.double().numpy()})
            handles.append(blk.attn.register_forward_pre_hook(hook, with_kwargs=True))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(images)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return caught


def _rows(entry: dict):
    """(logits, mask) broadcast to (B, nW, heads, N, N) for a block with a mask."""
    logits, mask = entry["logits"], entry["mask"]
    nW = mask.shape[0]
    B_, nH, N, _ = logits.shape
    return logits.reshape(B_ // nW, nW, nH, N, N), mask[None, :, None]


def _masked_weight(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Total softmax weight on the masked keys of every row, float64."""
    z = logits + mask
    z = z - z.max(-1, keepdims=True)
    w = np.exp(z)
    w /= w.sum(-1, keepdims=True)
    return (w * (mask < 0)).sum(-1)


def logit_stats(model, images) -> dict:
    """What the logits of ``model`` are on ``images``: ``max_abs`` (the largest ``|q k^T / sqrt(d) + B|`` over every
    block, head, query and key), ``per_block`` (``stage``, ``block``, ``shift``, ``max_abs``, ``spread``: the largest
    difference between two logits of one row), and, over the shifted blocks, ``max_gap`` (the largest ``l - l_max``:
    a masked key's logit minus the best allowed logit of its row; negative when every masked key is below it) and
    ``leak`` (the largest total softmax weight that a row puts on its masked keys, with the -100 mask)."""
    per_block, gaps, leaks = [], [], []
    for entry in attention_logits(model, images):
        logits = entry["logits"]
        per_block.append({"stage": entry["stage"], "block": entry["block"], "shift": entry["shift"],
                          "max_abs": float(np.abs(logits).max()),
                          "spread": float((logits.max(-1) - logits.min(-1)).max())})
        if entry["mask"] is not None:
            lg, mask = _rows(entry)
            allowed = np.where(mask == 0, lg, -np.inf).max(-1, keepdims=True)
            masked = np.where(mask < 0, lg, -np.inf)
            gaps.append(float((masked - allowed).max()))
            leaks.append(float(_masked_weight(lg, mask).max()))
    return {"max_abs": max(b["max_abs"] for b in per_block), "per_block": per_block,
            "max_gap": max(gaps) if gaps else None, "leak": max(leaks) if leaks else None}


def leak_at_scale(model, images, scales: Sequence[float]) -> list[float]:
    """For each factor ``s`` of ``scales``: the largest total softmax weight that a row of a shifted block puts on its
    masked keys when the logits are multiplied by ``s`` and the -100 mask is added (float64). ``s = 1`` is the model
    as it is."""
    where = "leak_at_scale"
    if isinstance(scales, (str, bytes)) or not hasattr(scales, "__iter__"):
        raise TypeError(f"{where}: scales must be a sequence of positive numbers, got {type(scales).__name__}")
    scales = list(scales)
    if not scales or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in scales):
        raise ValueError(f"{where}: scales must be positive numbers, got {scales!r}")
    entries = [e for e in attention_logits(model, images) if e["mask"] is not None]
    if not entries:
        raise ValueError(f"{where}: the model has no shifted block with a mask")
    out = []
    for s in scales:
        worst = 0.0
        for entry in entries:
            lg, mask = _rows(entry)
            worst = max(worst, float(_masked_weight(s * lg, mask).max()))
        out.append(worst)
    return out
