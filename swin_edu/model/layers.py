"""The building blocks of Swin in PyTorch, named as the paper, the official code and the numpy reference.

=====================  ====================================  =====================================
module                 what it does                          numpy reference
=====================  ====================================  =====================================
``PatchEmbed``         4x4 patches -> C channels (+ LN)       ``numpy_ref.patch_embed``
``WindowAttention``    multi-head attention in each window,   ``numpy_ref.window_attention``
                       relative position bias, shift mask
``Mlp``                Linear C->4C, GELU, Linear 4C->C       ``numpy_ref.mlp``
``DropPath``           stochastic depth                       ``numpy_ref.drop_path``
``SwinBlock``          LN, (S)W-MSA, residual, LN, MLP,       ``numpy_ref.swin_block``
                       residual (W-MSA or SW-MSA)
``PatchMerging``       2x2 gather, LN(4C), Linear 4C->2C      ``numpy_ref.patch_merging``
``BasicLayer``         a stage: blocks, then merging          ``numpy_ref.stage``
=====================  ====================================  =====================================

This is the algorithm as the paper and the official code write it, and nothing else: every module is
called as a module (a forward hook on any of them fires), the block calls ``cyclic_shift``,
``window_partition``, ``WindowAttention`` and ``window_reverse`` by name, and the only tensors kept
between calls are the ones that do not depend on the weights (``relative_position_index`` and
``attn_mask``, registered buffers). Everything that depends on a weight is read from the weight at
every call, so any way of changing the weights (an optimizer, ``.data``, ``load_state_dict``, a
parametrization) is seen by the next forward.

Feature maps are channels-last ``(B, H, W, C)`` between blocks. A map that the window does not divide
is zero-padded at the bottom/right after ``norm1`` and *then* shifted, and the mask is built on the
padded map (the official detection code; the numpy reference does the same).

Speed is a separate, explicit step: :func:`swin_edu.model.optimize_for_inference`.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from enum import Enum

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from .._validate import check_bool, check_float, check_int
from ..config import padded_size, window_for_map
from ..layout import is_derived_buffer
from .ops import (
    cyclic_shift,
    pad_to_multiple,
    relative_position_index,
    reverse_cyclic_shift,
    shift_mask,
    window_partition,
    window_reverse,
)

__all__ = [
    "ATTN_IMPLS",
    "AttnImpl",
    "BasicLayer",
    "DropPath",
    "Mlp",
    "PatchEmbed",
    "PatchMerging",
    "SwinBlock",
    "SwinTransformerBlock",
    "WindowAttention",
    "check_attn_impl",
    "trunc_normal_",
]


class AttnImpl(str, Enum):
    """How :class:`WindowAttention` computes ``softmax(q k^T * scale + B + mask) v`` (the same numbers
    to float rounding):

    * ``EXPLICIT`` (``"explicit"``, the default): step by step as the paper and the official code, the
      softmax an ``nn.Softmax`` module, so a forward hook on ``attn.softmax`` sees the attention weights;
    * ``SDPA`` (``"sdpa"``): :func:`torch.nn.functional.scaled_dot_product_attention` with B + mask as
      one float mask: fused kernels, faster, but the weights are never materialised.
    """

    EXPLICIT = "explicit"
    SDPA = "sdpa"

    def __str__(self) -> str:
        return self.value


#: the accepted names, for messages and command lines
ATTN_IMPLS = tuple(impl.value for impl in AttnImpl)


def check_attn_impl(value, where: str) -> AttnImpl:
    """``value`` (an :class:`AttnImpl` or its name) as an :class:`AttnImpl`; ValueError otherwise."""
    try:
        return AttnImpl(value)
    except ValueError:
        raise ValueError(f"{where}: attn_impl must be one of {ATTN_IMPLS}, got {value!r}") from None


def trunc_normal_(tensor: torch.Tensor, std: float = 0.02) -> torch.Tensor:
    """The official init: normal(0, std) truncated to [-2, 2] (absolute, as timm's trunc_normal_)."""
    return nn.init.trunc_normal_(tensor, mean=0.0, std=std, a=-2.0, b=2.0)


def _rebuild_derived_buffers(module: nn.Module) -> None:
    """Derived buffers (``relative_position_index``, ``attn_mask``) are rebuilt from the config, never
    loaded: whatever a checkpoint holds under those names (nothing, or the buffer of another window or
    resolution) is skipped, and their absence is not reported as missing."""

    def pre_hook(mod, state_dict, prefix, *args):
        for name in list(state_dict):
            if name.startswith(prefix) and "." not in name[len(prefix):] and is_derived_buffer(name):
                state_dict.pop(name)

    def post_hook(mod, incompatible):
        incompatible.missing_keys[:] = [k for k in incompatible.missing_keys if not is_derived_buffer(k)]

    module.register_load_state_dict_pre_hook(pre_hook)
    module.register_load_state_dict_post_hook(post_hook)


# ----------------------------------------------------------------------------------------- patch embed
class PatchEmbed(nn.Module):
    """Patch partition + linear embedding: a ``patch_size`` x ``patch_size`` conv with stride
    ``patch_size``, then LayerNorm. Images (B, C_in, H, W) -> tokens (B, H/p, W/p, C), channels-last.

    Sizes the patch does not divide are zero-padded at the bottom/right first (as the official code).
    """

    def __init__(self, patch_size: int = 4, in_chans: int = 3, embed_dim: int = 96, patch_norm: bool = True):
        super().__init__()
        where = "PatchEmbed"
        self.patch_size = check_int(patch_size, "patch_size", where=where)
        self.in_chans = check_int(in_chans, "in_chans", where=where)
        self.embed_dim = check_int(embed_dim, "embed_dim", where=where)
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim) if check_bool(patch_norm, "patch_norm", where=where) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.patch_size
        H, W = x.shape[-2:]
        if H % p or W % p:
            x = F.pad(x, (0, padded_size(W, p) - W, 0, padded_size(H, p) - H))
        x = self.proj(x).permute(0, 2, 3, 1)  # (B, H/p, W/p, C): channels-last
        if self.norm is not None:
            x = self.norm(x)
        return x.contiguous()

    def extra_repr(self) -> str:
        return f"patch_size={self.patch_size}"


# ----------------------------------------------------------------------------------------- attention
class WindowAttention(nn.Module):
    r"""Window multi-head self-attention (W-MSA / SW-MSA) with relative position bias:

        Attention(Q, K, V) = SoftMax(Q K^T / sqrt(d) + B + Mask) V

    ``forward(x, mask)`` takes the tokens of each window ``(num_windows*B, N, C)`` and the optional
    0/-100 shift mask ``(num_windows, N, N)``, exactly as the official ``WindowAttention``.

    ``attn_impl`` (:class:`AttnImpl`): ``"explicit"`` computes the softmax step by step with the
    ``self.softmax`` module (hook it to see the attention weights); ``"sdpa"`` hands B + mask to
    :func:`torch.nn.functional.scaled_dot_product_attention` as one float mask.

    ``rel_pos_bias=False`` (the paper's ablation) drops B: no ``relative_position_bias_table``, no
    ``relative_position_index``; only the mask is added.
    """

    def __init__(self, dim: int, window_size: int, num_heads: int, qkv_bias: bool = True,
                 qk_scale: float | None = None, attn_drop: float = 0.0, proj_drop: float = 0.0,
                 attn_impl: str | AttnImpl = AttnImpl.EXPLICIT, rel_pos_bias: bool = True):
        super().__init__()
        where = "WindowAttention"
        self.dim = check_int(dim, "dim", where=where)
        self.window_size = check_int(window_size, "window_size", where=where)
        self.num_heads = check_int(num_heads, "num_heads", where=where)
        if dim % num_heads:
            raise ValueError(f"{where}: num_heads={num_heads} must divide dim={dim}")
        head_dim = dim // num_heads
        self.scale = (check_float(qk_scale, "qk_scale", minimum=0.0, strict_min=True, where=where)
                      if qk_scale is not None else head_dim ** -0.5)
        self.attn_impl = check_attn_impl(attn_impl, where)
        M = self.window_size
        self.rel_pos_bias = check_bool(rel_pos_bias, "rel_pos_bias", where=where)
        if self.rel_pos_bias:
            # learned: one bias per head for each of the (2M-1)^2 relative offsets
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * M - 1) ** 2, num_heads))
            # derived: which table row each (query, key) pair of a window reads
            self.register_buffer("relative_position_index", relative_position_index(M))
        else:
            self.register_parameter("relative_position_bias_table", None)
            self.register_buffer("relative_position_index", None)
        self.qkv = nn.Linear(dim, 3 * dim, bias=check_bool(qkv_bias, "qkv_bias", where=where))
        self.attn_drop = nn.Dropout(check_float(attn_drop, "attn_drop", minimum=0.0, maximum=1.0, where=where))
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(check_float(proj_drop, "proj_drop", minimum=0.0, maximum=1.0, where=where))
        self.softmax = nn.Softmax(dim=-1)
        if self.rel_pos_bias:
            trunc_normal_(self.relative_position_bias_table, std=0.02)
        _rebuild_derived_buffers(self)

    def relative_position_bias(self) -> torch.Tensor | None:
        """B: (num_heads, N, N), gathered from the table with ``relative_position_index`` (None when
        the model has no relative position bias)."""
        if self.relative_position_bias_table is None:
            return None
        N = self.window_size ** 2
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(N, N, self.num_heads).permute(2, 0, 1).contiguous()

    def attention_bias(self, mask: torch.Tensor | None = None) -> torch.Tensor | None:
        """B + Mask as one float tensor, (1 or num_windows, num_heads, N, N), or None when there is
        neither (what :func:`~torch.nn.functional.scaled_dot_product_attention` takes)."""
        bias = self.relative_position_bias()
        bias = None if bias is None else bias.unsqueeze(0)  # (1, nH, N, N)
        if mask is not None:
            mask = mask.unsqueeze(1)  # (nW, 1, N, N)
            bias = mask if bias is None else bias + mask.to(bias.dtype)
        return bias

    def _check_mask(self, x: torch.Tensor, mask: torch.Tensor | None) -> None:
        B_, N, C = x.shape
        if C != self.dim or N != self.window_size ** 2:
            raise ValueError(f"WindowAttention: x must be (num_windows*B, {self.window_size ** 2}, {self.dim}), "
                             f"got shape {tuple(x.shape)}")
        if mask is not None and (mask.dim() != 3 or tuple(mask.shape[1:]) != (N, N) or B_ % mask.shape[0]):
            raise ValueError(f"WindowAttention: the mask must be (num_windows, {N}, {N}) with num_windows "
                             f"dividing x.shape[0]={B_}; got a mask of shape {tuple(mask.shape)}")

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: (num_windows*B, N, C) -> (num_windows*B, N, C). ``mask``: (num_windows, N, N) 0/-100 or None."""
        self._check_mask(x, mask)
        B_, N, C = x.shape
        nH = self.num_heads
        qkv = self.qkv(x).reshape(B_, N, 3, nH, C // nH).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B_, nH, N, head_dim)

        if self.attn_impl is AttnImpl.SDPA:
            bias = self.attention_bias(mask)  # (1 or nW, nH, N, N)
            if bias is not None:
                if bias.shape[0] > 1:  # one mask per window of an image: the same for every image
                    bias = bias.repeat(B_ // bias.shape[0], 1, 1, 1)
                bias = bias.to(q.dtype)
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale,
                                               dropout_p=self.attn_drop.p if self.training else 0.0)
        else:
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)  # (B_, nH, N, N) logits
            bias = self.relative_position_bias()
            if bias is not None:
                attn = attn + bias.unsqueeze(0)
            if mask is not None:
                nW = mask.shape[0]
                attn = attn.view(B_ // nW, nW, nH, N, N) + mask.unsqueeze(1).unsqueeze(0)
                attn = attn.view(-1, nH, N, N)
            attn = self.softmax(attn)
            attn = self.attn_drop(attn)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B_, N, C)  # heads concatenated
        x = self.proj(x)
        x = self.proj_drop(x)
        return x

    @contextlib.contextmanager
    def using(self, attn_impl: str | AttnImpl) -> Iterator[WindowAttention]:
        """Context manager: run with ``attn_impl`` inside the block, then switch back."""
        old, self.attn_impl = self.attn_impl, check_attn_impl(attn_impl, "WindowAttention.using")
        try:
            yield self
        finally:
            self.attn_impl = old

    def extra_repr(self) -> str:
        return (f"window_size={self.window_size}, num_heads={self.num_heads}, attn_impl={self.attn_impl.value!r}"
                + ("" if self.rel_pos_bias else ", rel_pos_bias=False"))


# ----------------------------------------------------------------------------------------- MLP, DropPath
class Mlp(nn.Module):
    """Linear C -> hidden, GELU, dropout, Linear hidden -> C, dropout (official ``Mlp``)."""

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc1(x)
        x = self.act(x)
        x = self.drop(x)
        x = self.fc2(x)
        x = self.drop(x)
        return x


class DropPath(nn.Module):
    """Stochastic depth: in training, drop a sample's whole residual branch with probability
    ``drop_prob`` and scale the kept ones by 1 / (1 - drop_prob). Identity at inference."""

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = check_float(drop_prob, "drop_prob", minimum=0.0, maximum=1.0, where="DropPath")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:.3f}"


# ----------------------------------------------------------------------------------------- block
class SwinBlock(nn.Module):
    """One Swin block on a channels-last map, (B, H, W, C) -> (B, H, W, C)::

        x = x + DropPath((S)W-MSA(LN(x)));   x = x + DropPath(MLP(LN(x)))

    ``shift_size=0`` gives W-MSA, ``shift_size=window_size//2`` SW-MSA. The window and the shift are
    :func:`swin_edu.config.window_for_map` of ``input_resolution`` (a map not larger than the window
    gets a window of its size and no shift). ``input_resolution`` also fixes the ``attn_mask`` buffer of
    the official state dict; other input sizes work too (their mask is built at each call: it is cheap).
    """

    def __init__(self, dim: int, input_resolution: tuple[int, int], num_heads: int, window_size: int = 7,
                 shift_size: int = 0, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 qk_scale: float | None = None, drop: float = 0.0, attn_drop: float = 0.0,
                 drop_path: float = 0.0, attn_impl: str | AttnImpl = AttnImpl.EXPLICIT, rel_pos_bias: bool = True):
        super().__init__()
        where = "SwinBlock"
        self.dim = check_int(dim, "dim", where=where)
        if not isinstance(input_resolution, (tuple, list)) or len(input_resolution) != 2:
            raise ValueError(f"{where}: input_resolution must be a pair (H, W), got {input_resolution!r}")
        H = check_int(input_resolution[0], "input_resolution[0]", where=where)
        W = check_int(input_resolution[1], "input_resolution[1]", where=where)
        self.input_resolution = (H, W)
        self.num_heads = check_int(num_heads, "num_heads", where=where)
        try:
            M, s = window_for_map(H, W, window_size, shift_size)  # the official rule
        except (TypeError, ValueError) as e:
            raise type(e)(str(e).replace("window_for_map", where)) from None
        self.window_size, self.shift_size = M, s
        self.mlp_ratio = check_float(mlp_ratio, "mlp_ratio", minimum=0.0, strict_min=True, where=where)

        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, M, num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale,
                                    attn_drop=attn_drop, proj_drop=drop, attn_impl=attn_impl,
                                    rel_pos_bias=rel_pos_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

        #: the padded map size the ``attn_mask`` buffer is for
        self.mask_resolution = (padded_size(H, M), padded_size(W, M))
        self.register_buffer("attn_mask", shift_mask(*self.mask_resolution, M, s) if s > 0 else None)
        _rebuild_derived_buffers(self)

    def shift_mask_for(self, Hp: int, Wp: int, like: torch.Tensor) -> torch.Tensor | None:
        """The 0/-100 mask (num_windows, N, N) of a padded Hp x Wp map (None for W-MSA): the
        ``attn_mask`` buffer for the configured size, else built now on ``like``'s device."""
        if self.shift_size == 0:
            return None
        if (Hp, Wp) == self.mask_resolution and self.attn_mask is not None:
            return self.attn_mask
        return shift_mask(Hp, Wp, self.window_size, self.shift_size, device=like.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        shortcut = x
        x = self.norm1(x)
        x = self.shifted_window_attention(x)
        x = shortcut + self.drop_path(x)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x

    def shifted_window_attention(self, x: torch.Tensor) -> torch.Tensor:
        """(S)W-MSA on a normalised (B, H, W, C) map, as ``numpy_ref.shifted_window_attention``: pad,
        cyclic shift, window partition, attention with bias and mask, window reverse, reverse shift, crop."""
        _, H, W, C = x.shape
        M, s = self.window_size, self.shift_size
        x = pad_to_multiple(x, M)
        Hp, Wp = x.shape[1], x.shape[2]
        if s > 0:
            x = cyclic_shift(x, s)
        windows = window_partition(x, M)  # (num_windows*B, M, M, C)
        nWB = windows.shape[0]
        windows = self.attn(windows.reshape(nWB, M * M, C), mask=self.shift_mask_for(Hp, Wp, x))
        x = window_reverse(windows.reshape(nWB, M, M, C), M, Hp, Wp)
        if s > 0:
            x = reverse_cyclic_shift(x, s)
        return x[:, :H, :W, :]

    def window_msa(self, x: torch.Tensor, return_attn: bool = False):
        """:meth:`shifted_window_attention`; with ``return_attn`` also the attention weights
        (num_windows*B, num_heads, N, N), caught by a forward hook on ``attn.softmax`` (the explicit path
        runs for this call)."""
        if not return_attn:
            return self.shifted_window_attention(x)
        caught: list[torch.Tensor] = []
        handle = self.attn.softmax.register_forward_hook(lambda mod, args, out: caught.append(out))
        try:
            with self.attn.using(AttnImpl.EXPLICIT):
                out = self.shifted_window_attention(x)
        finally:
            handle.remove()
        return out, caught[0]

    def extra_repr(self) -> str:
        kind = "SW-MSA" if self.shift_size else "W-MSA"
        return (f"{kind}, dim={self.dim}, input_resolution={self.input_resolution}, "
                f"window_size={self.window_size}, shift_size={self.shift_size}")


SwinTransformerBlock = SwinBlock  # the official name


# ----------------------------------------------------------------------------------------- merging
class PatchMerging(nn.Module):
    """Patch merging: (B, H, W, C) -> (B, ceil(H/2), ceil(W/2), 2C).

    Each 2x2 group is gathered into 4C channels in the official order x0=(0,0), x1=(1,0), x2=(0,1),
    x3=(1,1) (row, column offsets), normalised, and mapped to 2C by a linear layer without bias.
    Odd sizes are zero-padded at the bottom/right first.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = check_int(dim, "dim", where="PatchMerging")
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    @staticmethod
    def gather(x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) -> (B, H/2, W/2, 4C) in the official order, with one copy: viewing the map as
        (B, H/2, 2[row], W/2, 2[col], C) and moving the column offset before the row offset lists
        (0,0), (1,0), (0,1), (1,1) (the official ``torch.cat([x0, x1, x2, x3], -1)``)."""
        x = pad_to_multiple(x, 2)
        B, H, W, C = x.shape
        return x.view(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).reshape(B, H // 2, W // 2, 4 * C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gather(x)
        x = self.norm(x)
        x = self.reduction(x)
        return x

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


# ----------------------------------------------------------------------------------------- stage
class BasicLayer(nn.Module):
    """A stage: ``depth`` Swin blocks alternating W-MSA (even) and SW-MSA (odd), then patch merging
    when ``downsample``. Input and output are channels-last maps (B, H, W, C).

    With ``use_checkpoint`` each block is recomputed in the backward pass (gradient checkpointing:
    less activation memory for about one more forward of compute).
    """

    def __init__(self, dim: int, input_resolution: tuple[int, int], depth: int, num_heads: int,
                 window_size: int, shift_size: int | None = None, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, qk_scale: float | None = None, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float | Sequence[float] = 0.0, downsample: bool = False,
                 use_checkpoint: bool = False, attn_impl: str | AttnImpl = AttnImpl.EXPLICIT,
                 rel_pos_bias: bool = True):
        super().__init__()
        where = "BasicLayer"
        depth = check_int(depth, "depth", where=where)
        shift_size = window_size // 2 if shift_size is None else shift_size
        rates = list(drop_path) if isinstance(drop_path, (list, tuple)) else [drop_path] * depth
        if len(rates) != depth:
            raise ValueError(f"{where}: drop_path must give one rate per block ({depth}), got {len(rates)}")
        self.dim, self.input_resolution, self.depth = dim, tuple(input_resolution), depth
        self.use_checkpoint = check_bool(use_checkpoint, "use_checkpoint", where=where)
        self.blocks = nn.ModuleList([
            SwinBlock(dim, input_resolution, num_heads, window_size=window_size,
                      shift_size=0 if i % 2 == 0 else shift_size, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                      qk_scale=qk_scale, drop=drop, attn_drop=attn_drop, drop_path=rates[i],
                      attn_impl=attn_impl, rel_pos_bias=rel_pos_bias)
            for i in range(depth)
        ])
        self.downsample = PatchMerging(dim) if downsample else None

    @property
    def window_size(self) -> int:
        return self.blocks[0].window_size

    @property
    def shift_size(self) -> int:
        return max(blk.shift_size for blk in self.blocks)

    def forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        """The blocks only (no merging): (B, H, W, C) -> (B, H, W, C)."""
        for blk in self.blocks:
            if self.use_checkpoint and torch.is_grad_enabled():
                x = checkpoint(blk, x, use_reentrant=False)
            else:
                x = blk(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_blocks(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return x

    def extra_repr(self) -> str:
        return f"dim={self.dim}, input_resolution={self.input_resolution}, depth={self.depth}"
