"""Notebook 07's exercise: the Swin modules in PyTorch, small enough to read, that load the official state
dict and give the package model's logits.

The student writes :class:`WindowAttention`, :class:`SwinBlock`, :class:`PatchMerging` and
:class:`BasicLayer` (about 60 lines together, the part between the two ``# ---`` rulers); the notebook
provides :class:`StudentSwin` (patch embedding, stages, head) around them. The module and parameter
names are the official ones, so ``model.load_state_dict(learned_only(official_state_dict))`` works with
``strict=True``. Kept simple on purpose: the map must be a multiple of the window at every stage (no
padding), attention is written out (no fused kernel), derived buffers are rebuilt from numpy_ref.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .. import numpy_ref as snp
from ..config import SwinConfig
from ..layout import is_derived_buffer

__all__ = ["BasicLayer", "PatchMerging", "StudentSwin", "SwinBlock", "WindowAttention", "learned_only",
           "load_learned"]


# ------------------------------------------------------------------------------------------ the student's part
class WindowAttention(nn.Module):
    def __init__(self, dim: int, window_size: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        index = torch.from_numpy(snp.relative_position_index(window_size))
        self.register_buffer("relative_position_index", index, persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B_, N, C = x.shape                                   # (num_windows*B, M*M, C)
        q, k, v = self.qkv(x).view(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = (q * self.scale) @ k.transpose(-2, -1) + bias.permute(2, 0, 1)
        if mask is not None:                                 # (nW, N, N): per window, same for all heads
            nW = mask.shape[0]
            attn = (attn.view(-1, nW, self.num_heads, N, N) + mask[None, :, None]).view(B_, -1, N, N)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))


class SwinBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, window_size: int, shift_size: int, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True):
        super().__init__()
        self.window_size, self.shift_size = window_size, shift_size
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads, qkv_bias)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(OrderedDict(fc1=nn.Linear(dim, hidden), act=nn.GELU(), fc2=nn.Linear(hidden, dim)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (B, H, W, C), channels last
        B, H, W, C = x.shape
        M, s = self.window_size, self.shift_size
        h = torch.roll(self.norm1(x), (-s, -s), (1, 2))
        h = h.view(B, H // M, M, W // M, M, C).transpose(2, 3).reshape(-1, M * M, C)
        mask = torch.from_numpy(snp.shift_mask(H, W, M, s)).to(x) if s else None
        h = self.attn(h, mask).view(B, H // M, W // M, M, M, C).transpose(2, 3).reshape(B, H, W, C)
        x = x + torch.roll(h, (s, s), (1, 2))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (B, H, W, C) -> (B, H/2, W/2, 2C)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    def __init__(self, dim: int, depth: int, num_heads: int, window_size: int, shift_size: int,
                 downsample: bool, mlp_ratio: float = 4.0, qkv_bias: bool = True):
        super().__init__()
        self.blocks = nn.ModuleList(SwinBlock(dim, num_heads, window_size, 0 if j % 2 == 0 else shift_size,
                                              mlp_ratio, qkv_bias) for j in range(depth))
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x if self.downsample is None else self.downsample(x)
# ------------------------------------------------------------------------------------------ given to the student


class StudentSwin(nn.Module):
    """Patch embedding (conv p x p / p + LayerNorm), the stages, final LayerNorm, mean pooling and head,
    with the official names. Supports the configs of the official classification model without the
    ablation switches: ``patch_norm=True``, ``ape=False``, relative bias and shifted windows on."""

    def __init__(self, cfg: SwinConfig, layer_class: type | None = None):
        super().__init__()
        if not isinstance(cfg, SwinConfig):
            raise TypeError(f"StudentSwin: cfg must be a SwinConfig, got {type(cfg).__name__}")
        layer_class = BasicLayer if layer_class is None else layer_class   # notebook 07 passes the student's
        if not (isinstance(layer_class, type) and issubclass(layer_class, nn.Module)):
            raise TypeError(f"StudentSwin: layer_class must be an nn.Module class (a BasicLayer), got {layer_class!r}")
        unsupported = [f for f, ok in (("ape", not cfg.ape), ("patch_norm", cfg.patch_norm),
                                       ("rel_pos_bias", cfg.rel_pos_bias), ("shift_windows", cfg.shift_windows),
                                       ("num_classes", cfg.num_classes > 0)) if not ok]
        if unsupported:
            raise ValueError(f"StudentSwin: the exercise model needs the official defaults of {unsupported}, "
                             f"got {[getattr(cfg, f) for f in unsupported]}")
        for i, ((h, w), (M, _)) in enumerate(zip(cfg.stage_resolutions(), cfg.stage_windows())):
            if h % M or w % M or (i < cfg.num_layers - 1 and (h % 2 or w % 2)):
                raise ValueError(f"StudentSwin: every stage map must be a multiple of its window, and even before "
                                 f"a patch merging (no padding here); img_size={cfg.img_size} gives a {h}x{w} map "
                                 f"at stage {i} with window {M}")
        self.cfg = cfg
        C = cfg.embed_dim
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(cfg.in_chans, C, cfg.patch_size, stride=cfg.patch_size)
        self.patch_embed.norm = nn.LayerNorm(C)
        self.layers = nn.ModuleList(
            layer_class(dim, depth, heads, M, s, downsample=i < cfg.num_layers - 1, mlp_ratio=cfg.mlp_ratio,
                        qkv_bias=cfg.qkv_bias)
            for i, (dim, depth, heads, (M, s)) in enumerate(zip(cfg.stage_dims, cfg.depths, cfg.num_heads,
                                                                cfg.stage_windows())))
        self.norm = nn.LayerNorm(cfg.num_features)
        self.head = nn.Linear(cfg.num_features, cfg.num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:     # (B, in_chans, H, W) -> (B, num_classes)
        expected = (self.cfg.in_chans,) + self.cfg.img_hw
        if not isinstance(images, torch.Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != expected:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"StudentSwin: images must be (B, {expected[0]}, {expected[1]}, {expected[2]}), got {got}")
        x = self.patch_embed.norm(self.patch_embed.proj(images).permute(0, 2, 3, 1))
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x).mean(dim=(1, 2)))


def learned_only(state_dict: Mapping[str, Any]) -> OrderedDict[str, torch.Tensor]:
    """The official state dict without its derived buffers (``relative_position_index``, ``attn_mask``),
    as torch tensors: what :class:`StudentSwin` loads with ``strict=True``."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"learned_only: state_dict must be a mapping, got {type(state_dict).__name__}")
    return OrderedDict((k, v if isinstance(v, torch.Tensor) else torch.as_tensor(v))
                       for k, v in state_dict.items() if not is_derived_buffer(k))


#: (a name the student's module has, a name the official state dict has) -> what that difference means
_NAME_HINTS = (
    ("mlp.0.", "mlp.fc1.", "the MLP's layers are named: fc1, act, fc2 (give nn.Sequential an OrderedDict), "
                           "not numbered 0, 1, 2"),
    ("relative_position_index", None, "relative_position_index is rebuilt from the window size, not loaded: "
                                      "register it as a buffer with persistent=False"),
    ("attn_mask", None, "the shift mask is rebuilt from the map size, not loaded: do not register it as a "
                        "persistent buffer"),
    (None, "relative_position_bias_table", "the table is an nn.Parameter called relative_position_bias_table "
                                           "inside the attention module (attn.relative_position_bias_table)"),
    (None, "qkv.", "q, k and v come from one nn.Linear(dim, 3 * dim) called qkv (the official fused layer)"),
)


def load_learned(module: nn.Module, state_dict: Mapping[str, Any]) -> nn.Module:
    """Load the learned tensors of ``state_dict`` (official names) into ``module`` strictly and return it
    in eval mode. When the names or shapes differ, raise a ``KeyError``/``ValueError`` that lists the
    differences and says what the usual cause is (the MLP's names, a persistent derived buffer...)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"load_learned: module must be an nn.Module, got {type(module).__name__}")
    wanted = learned_only(state_dict)
    have = module.state_dict()
    missing, unexpected = sorted(set(wanted) - set(have)), sorted(set(have) - set(wanted))
    if missing or unexpected:
        notes = [hint for mine, official, hint in _NAME_HINTS
                 if (mine is None or any(mine in k for k in unexpected))
                 and (official is None or any(official in k for k in missing))]
        raise KeyError(f"your {type(module).__name__} has names the official weights do not have: "
                       f"{unexpected[:6]}; the official weights have names your module lacks: {missing[:6]}. "
                       + (" ".join(notes[:2]) if notes else "Use the official module and parameter names."))
    wrong = [(k, tuple(have[k].shape), tuple(v.shape)) for k, v in wanted.items() if have[k].shape != v.shape]
    if wrong:
        k, mine, official = wrong[0]
        raise ValueError(f"{k}: your module's tensor has shape {mine}, the official one {official}"
                         + (" (nn.Linear stores (out_features, in_features))" if len(mine) == 2 else ""))
    module.load_state_dict(wanted, strict=True)
    return module.eval()
