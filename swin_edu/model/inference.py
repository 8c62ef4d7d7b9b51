"""Speed as one explicit step: ``fast = optimize_for_inference(model)``.

The plain :class:`~swin_edu.model.SwinTransformer` is the algorithm as written. This module runs the
same weights faster at inference, with public torch operations only, and reads every weight at every
call (nothing that depends on a weight is kept between calls), so the returned model stays equal to the
plain one whatever changes the weights: an optimizer step, ``.data``, ``load_state_dict``, a
parametrization. It shares the modules (and so the parameters and buffers) of the model it was made
from, as ``torch.compile`` does: train the plain model, evaluate with the fast one.

What it does differently (each measured on the 2-core benchmark machine; see ``docs/benchmarks.md``):

* **Window order.** A stage keeps its tokens in the order of ``window_partition`` from its first block
  to its last: W-MSA needs no partition and no reverse, SW-MSA one gather into the shifted windows and
  one back (the composition of ``cyclic_shift`` and ``window_partition``, computed once per stage from
  a grid of token numbers) instead of roll + partition + reverse + roll. LayerNorm, the MLP and the
  residual adds do not care about token order. A map the window does not divide is padded once per
  stage; its padding tokens are set to zero after ``norm1`` in every block, which is exactly what the
  plain block's pad-after-norm does.
* **Chunks of windows.** Each block runs over chunks of about ``chunk_tokens`` tokens (whole windows),
  so that its intermediates (LN output, qkv, attention, the 4C-wide MLP hidden layer) stay in the CPU
  cache instead of making a round trip to memory between every two operations.
* **Fused attention.** :func:`~torch.nn.functional.scaled_dot_product_attention` with B + mask as one
  float mask (built once per block call from the bias table, never stored).
* **Fewer passes.** The residual add is folded into the output projection and fc2
  (``(x + bias).addmm_(a, weight.T)``: the bias pass that ``nn.Linear`` makes anyway carries the
  residual too).

It is for inference only: ``.train()`` raises, and so does a backward pass through its output.
Forward hooks of the blocks do not fire in it (the plain model is the one to inspect).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_int
from ..config import padded_size
from .layers import BasicLayer, SwinBlock
from .ops import cyclic_shift, pad_to_multiple, window_partition
from .swin import SwinTransformer

__all__ = ["CHUNK_TOKENS", "InferenceSwin", "optimize_for_inference", "window_order_indices"]

#: default tokens per chunk on the CPU (the MLP's hidden activation is about CHUNK_TOKENS x 4C floats)
CHUNK_TOKENS = 8192

_TRAINING_REFUSED = ("{what}: a model from optimize_for_inference is for inference only. Train the "
                     "plain SwinTransformer it was made from (they share their weights), then use this one "
                     "to evaluate.")


def window_order_indices(H: int, W: int, window_size: int, shift_size: int, device=None) -> dict:
    """Token permutations of an H x W map (multiples of the window), used to keep a stage in window order.

    ``order``: for each position of the window-ordered sequence, the row-major index of its token in the
    map (``window_partition`` of a grid of token numbers). ``inverse``: the way back. With a shift,
    ``to_shifted`` / ``from_shifted``: gather indices from the window order to the order of the shifted
    windows (``cyclic_shift`` + ``window_partition``) and back.
    """
    where = "window_order_indices"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    grid = torch.arange(H * W, device=device).view(1, H, W, 1)
    order = window_partition(grid, window_size).reshape(-1)  # window-order position -> map index
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(H * W, device=device)  # map index -> window-order position
    out = {"order": order, "inverse": inverse}
    if shift_size:
        shifted = window_partition(cyclic_shift(grid, shift_size), window_size).reshape(-1)
        to_shifted = inverse[shifted]  # shifted-window position -> window-order position
        from_shifted = torch.empty_like(to_shifted)
        from_shifted[to_shifted] = torch.arange(H * W, device=device)
        out["to_shifted"], out["from_shifted"] = to_shifted, from_shifted
    return out


class _RefuseBackward(torch.autograd.Function):
    """Passes the output through; its backward raises the clear error."""

    @staticmethod
    def forward(ctx, out, anchor):
        return out.clone()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(_TRAINING_REFUSED.format(what="backward"))


def _linear_add(a: torch.Tensor, lin: nn.Linear, res: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``res + lin(a)`` with the residual riding on the bias pass: ``(res + bias).addmm_(a, W^T)``."""
    weight, bias = lin.weight, lin.bias
    if out is None:
        out = torch.empty_like(res)
    if a.dtype != res.dtype or weight.dtype != res.dtype or torch.is_autocast_enabled(a.device.type):
        return out.copy_(res + F.linear(a, weight, bias))
    if bias is None:
        out.copy_(res)
    else:
        torch.add(res, bias, out=out)
    return out.addmm_(a, weight.t())


class _Block:
    """One block's weights and derived tensors, read once per call (so that a parametrized weight is
    computed once, not once per chunk)."""

    def __init__(self, blk: SwinBlock, Hp: int, Wp: int, like: torch.Tensor):
        attn = blk.attn
        self.blk, self.attn = blk, attn
        self.N, self.nH, self.scale = blk.window_size ** 2, attn.num_heads, attn.scale
        bias = attn.attention_bias(blk.shift_mask_for(Hp, Wp, like))  # (1 or nW, nH, N, N), or None
        self.bias = None if bias is None else bias.to(like.dtype)
        self.n1, self.n2 = (blk.norm1.weight, blk.norm1.bias, blk.norm1.eps), (blk.norm2.weight, blk.norm2.bias,
                                                                                 blk.norm2.eps)
        self.qkv_w, self.qkv_b = attn.qkv.weight, attn.qkv.bias
        self.fc1_w, self.fc1_b = blk.mlp.fc1.weight, blk.mlp.fc1.bias

    def bias_for(self, w0: int, n: int, nW: int, repeated: torch.Tensor | None) -> torch.Tensor | None:
        """B + mask for windows w0 .. w0+n of the batch (chunks hold whole images or divide one)."""
        if self.bias is None or self.bias.shape[0] == 1:
            return self.bias
        if n <= nW and (w0 % nW) + n <= nW:
            return self.bias[w0 % nW:w0 % nW + n]
        return repeated[:n]

    def attend(self, h: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """(n*N, C) normalised tokens of n windows -> attention output before proj, (n*N, C)."""
        C = h.shape[-1]
        n = h.shape[0] // self.N
        qkv = F.linear(h, self.qkv_w, self.qkv_b).view(n, self.N, 3, self.nH, C // self.nH)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (n, nH, N, hd) strided views, no copy
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
        return out.transpose(1, 2).reshape(n * self.N, C)

    def proj_mlp(self, a: torch.Tensor, x: torch.Tensor, out: torch.Tensor) -> None:
        """One chunk: y = x + proj(a); out = y + fc2(GELU(fc1(LN(y))))."""
        y = _linear_add(a, self.attn.proj, x)
        h = F.layer_norm(y, y.shape[-1:], *self.n2)
        h = F.gelu(F.linear(h, self.fc1_w, self.fc1_b))
        _linear_add(h, self.blk.mlp.fc2, y, out=out)


class InferenceSwin(SwinTransformer):
    """What :func:`optimize_for_inference` returns: a :class:`SwinTransformer` that shares the modules
    of the model it was made from (same state-dict keys, same parameters) and runs them with the fast
    inference path of this module. ``.train()`` and backward raise; ``chunk_tokens`` is the chunk size
    (None: no chunking)."""

    def __init__(self, model: SwinTransformer, chunk_tokens: int | None = CHUNK_TOKENS):
        nn.Module.__init__(self)
        for name in ("cfg", "num_classes", "num_layers", "embed_dim", "num_features"):
            setattr(self, name, getattr(model, name))
        # the same parameters and modules, registered in the same order: the same state dict
        self.absolute_pos_embed = model.absolute_pos_embed
        self.patch_embed, self.pos_drop, self.layers = model.patch_embed, model.pos_drop, model.layers
        self.norm, self.head = model.norm, model.head
        self.chunk_tokens = chunk_tokens
        self.training = False

    def train(self, mode: bool = True) -> InferenceSwin:
        if mode:
            raise RuntimeError(_TRAINING_REFUSED.format(what=".train()"))
        self.training = False  # the shared modules keep their own flags: this path never reads them
        return self

    # ------------------------------------------------------------------ forward
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        anchor = next((p for p in self.parameters() if p.requires_grad), None)
        if torch.is_grad_enabled() and anchor is not None:
            with torch.no_grad():
                out = self.forward_features(x)
            return _RefuseBackward.apply(out, anchor)
        x = self.patches(x)  # conv + LayerNorm: no train/eval difference (pos_drop is the identity here)
        for layer in self.layers:
            x = self._stage(layer, x)
        return self.norm(x).mean(dim=(1, 2))

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        if return_stages:
            raise ValueError("InferenceSwin: return_stages is not available on the optimized model; "
                             "call the plain model (it shares the weights) to look inside")
        return self.head(self.forward_features(x))

    def forward_stages(self, x):
        return self.forward(x, return_stages=True)

    def _chunk_windows(self, n_windows: int, nW: int, N: int, device: torch.device) -> int:
        """Windows per chunk: whole images (a multiple of nW) or a divisor of nW, about chunk_tokens."""
        if self.chunk_tokens is None or device.type != "cpu":
            return n_windows
        want = max(1, self.chunk_tokens // N)
        if want >= nW:
            return min(n_windows, (want // nW) * nW)
        return max(d for d in range(1, want + 1) if nW % d == 0)

    def _stage(self, layer: BasicLayer, x: torch.Tensor) -> torch.Tensor:
        """A stage on a (B, H, W, C) map, in window order; returns the (merged) map."""
        B, H, W, C = x.shape
        M = layer.window_size
        Hp, Wp = padded_size(H, M), padded_size(W, M)
        L, N = Hp * Wp, M * M
        nW = L // N
        idx = window_order_indices(Hp, Wp, M, layer.shift_size, x.device)
        x = pad_to_multiple(x, M).reshape(B, L, C).index_select(1, idx["order"]).view(B * L, C)
        keep = {}
        if (Hp, Wp) != (H, W):  # padding tokens: zero after norm1, as the plain block's pad-after-norm
            real = torch.zeros(Hp, Wp, dtype=x.dtype, device=x.device)
            real[:H, :W] = 1
            real = real.view(-1)[idx["order"]]
            keep = {0: real.view(L, 1)}
            if "to_shifted" in idx:
                keep[1] = real[idx["to_shifted"]].view(L, 1)
        per_chunk = self._chunk_windows(B * nW, nW, N, x.device)
        for blk in layer.blocks:
            x = self._block(_Block(blk, Hp, Wp, x), x, B, L, nW, per_chunk, idx,
                            keep.get(1 if blk.shift_size else 0))
        x = x.view(B, L, C).index_select(1, idx["inverse"]).view(B, Hp, Wp, C)[:, :H, :W]
        if layer.downsample is not None:
            d = layer.downsample
            x = F.linear(d.norm(d.gather(x)), d.reduction.weight)  # LayerNorm module: no train/eval difference
        return x

    @staticmethod
    def _block(b: _Block, x: torch.Tensor, B: int, L: int, nW: int, per_chunk: int, idx: dict,
               keep: torch.Tensor | None) -> torch.Tensor:
        """One block on (B*L, C) tokens in window order, chunk by chunk of ``per_chunk`` windows. SW-MSA
        runs the whole block in the order of the shifted windows (LayerNorm, the MLP and the residuals
        do not care about token order): one gather in, one gather out."""
        C = x.shape[-1]
        N = b.N
        shifted = b.blk.shift_size > 0
        if shifted:
            x = x.view(B, L, C).index_select(1, idx["to_shifted"]).view(B * L, C)
        out = torch.empty_like(x)
        repeated = None
        if b.bias is not None and b.bias.shape[0] > 1 and per_chunk > nW:
            repeated = b.bias.repeat(per_chunk // nW, 1, 1, 1)
        total = B * L // N
        for w0 in range(0, total, per_chunk):
            n = min(per_chunk, total - w0)
            rows = slice(w0 * N, (w0 + n) * N)
            h = F.layer_norm(x[rows], (C,), *b.n1)
            if keep is not None:  # zero the padding tokens, as the plain block pads after norm1
                h = (h.view(-1, L, C).mul_(keep).view(-1, C) if n * N >= L
                     else h.mul_(keep[(w0 * N) % L:(w0 * N) % L + n * N]))
            a = b.attend(h, b.bias_for(w0, n, nW, repeated))
            b.proj_mlp(a, x[rows], out[rows])
        if shifted:
            out = out.view(B, L, C).index_select(1, idx["from_shifted"]).view(B * L, C)
        return out

    def extra_repr(self) -> str:
        return f"cfg={self.cfg.name!r}, optimized for inference, chunk_tokens={self.chunk_tokens}"


def optimize_for_inference(model: SwinTransformer, *, chunk_tokens: int | None = CHUNK_TOKENS) -> InferenceSwin:
    """The fast inference step: a model that computes what ``model`` computes in eval mode (to float
    rounding), faster, sharing ``model``'s modules and weights.

    ``chunk_tokens``: tokens per chunk on the CPU (None: whole batches; GPUs never chunk). The result
    refuses ``.train()`` and backward with a clear error; it follows every change of the weights.
    """
    where = "optimize_for_inference"
    if isinstance(model, InferenceSwin):
        raise TypeError(f"{where}: model is already optimized for inference")
    if not isinstance(model, SwinTransformer):
        raise TypeError(f"{where}: model must be a swin_edu.model.SwinTransformer, got {type(model).__name__}")
    if chunk_tokens is not None:
        chunk_tokens = check_int(chunk_tokens, "chunk_tokens", where=where)
    return InferenceSwin(model, chunk_tokens=chunk_tokens)
