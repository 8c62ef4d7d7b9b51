"""Which of PyTorch's attention kernels run Swin's attention: a float mask (the relative position bias plus the
0/-100 shift mask) added to the logits.

``torch.nn.functional.scaled_dot_product_attention`` (SDPA) dispatches to one of several backends: FlashAttention
(fused, tiled: the N x N weights are never stored), memory-efficient attention (fused as well), cuDNN's, and the
*math* backend, which is the unfused composition written in C++ (a matmul, a softmax, a matmul: the same passes
over the logits as the explicit code). On CUDA the FlashAttention kernel takes no additive mask, so Swin's
attention goes to another kernel (the memory-efficient one, cuDNN's where it applies, or math). On the CPU,
PyTorch's FlashAttention kernel (``_scaled_dot_product_flash_attention_for_cpu``) does take a float mask: Swin's
attention runs fused there.

:func:`masked_attention_backends` measures this on a device instead of quoting it: each backend alone (with
``torch.nn.attention.sdpa_kernel``), with a float mask, against the explicit softmax; and the backend SDPA picks
by itself. Notebook 07 calls it.
"""
from __future__ import annotations

__all__ = ["BACKENDS", "masked_attention_backends"]

#: the backends tried, by the name this module reports
BACKENDS = ("flash", "efficient", "cudnn", "math")


def masked_attention_backends(device="cpu", dtype=None, *, heads: int = 3, tokens: int = 49, head_dim: int = 32,
                              seed: int = 0) -> dict:
    """Run attention with a float mask (a random bias plus a 0/-100 mask, Swin's shapes: ``tokens`` = 49 is a 7 x 7
    window) through each SDPA backend alone on ``device``.

    Returns ``{"runs": {backend: bool}, "max_diff": {backend: float or None}, "picked": name or None}``: whether
    each backend accepted the mask (and its largest difference from the explicit softmax, computed in float64), and
    the backend SDPA chooses for these inputs when all are allowed (None where this torch does not say)."""
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from ..device import pick_device

    where = "masked_attention_backends"
    dev = torch.device(pick_device(device) if isinstance(device, str) else device)
    dtype = torch.float32 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{where}: dtype must be a floating torch.dtype, got {dtype!r}")
    for name, v in (("heads", heads), ("tokens", tokens), ("head_dim", head_dim)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{where}: {name} must be a positive int, got {v!r}")
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(4, heads, tokens, head_dim, generator=g) for _ in range(3))
    mask = torch.randn(1, heads, tokens, tokens, generator=g)
    mask[..., : tokens // 2, tokens // 2:] -= 100.0  # a shift mask's -100 block
    scale = head_dim ** -0.5
    ref = torch.softmax(q.double() @ k.double().transpose(-2, -1) * scale + mask.double(), -1) @ v.double()
    q, k, v, mask = (t.to(dev, dtype) for t in (q, k, v, mask))
    members = {"flash": "FLASH_ATTENTION", "efficient": "EFFICIENT_ATTENTION", "cudnn": "CUDNN_ATTENTION",
               "math": "MATH"}
    runs, diffs = {}, {}
    for name in BACKENDS:
        backend = getattr(SDPBackend, members[name], None)
        if backend is None:
            runs[name], diffs[name] = False, None
            continue
        try:
            with sdpa_kernel(backend):
                out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
            runs[name], diffs[name] = True, float((out.double().cpu() - ref).abs().max())
        except RuntimeError:
            runs[name], diffs[name] = False, None
    picked = None
    choose = getattr(torch, "_fused_sdp_choice", None)  # private: what SDPA would dispatch to
    if choose is not None:
        try:
            code = choose(q, k, v, mask, 0.0, False, scale=scale)
            picked = next((n for n, m in members.items() if getattr(SDPBackend, m, None) == SDPBackend(code)), None)
        except (RuntimeError, TypeError, ValueError):
            picked = None
    return {"runs": runs, "max_diff": diffs, "picked": picked, "device": str(dev)}
