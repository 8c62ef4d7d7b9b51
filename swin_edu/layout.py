"""The official Swin state-dict layout (microsoft/Swin-Transformer), computed from a config.

One source of truth for key names and shapes: the numpy reference reads weights by these keys, the
torch model produces exactly these keys, and :func:`swin_edu.complexity.param_count` sums them.
Official Swin-T has 190 keys: 173 learned tensors, 12 ``relative_position_index`` and 5 ``attn_mask``
buffers (derived: rebuilt from the config, never required in a checkpoint). The ablation switches of
:class:`~swin_edu.config.SwinConfig` drop keys: ``shift_windows=False`` every ``attn_mask``,
``rel_pos_bias=False`` every ``relative_position_bias_table`` and ``relative_position_index``.
"""
from __future__ import annotations

import math

from .config import SwinConfig

__all__ = ["DERIVED_BUFFERS", "is_derived_buffer", "state_dict_shapes", "block_prefix"]

DERIVED_BUFFERS = ("relative_position_index", "attn_mask")


def is_derived_buffer(key: str) -> bool:
    """True for buffers rebuilt from the config (``relative_position_index``, ``attn_mask``)."""
    return key.rsplit(".", 1)[-1] in DERIVED_BUFFERS


def block_prefix(stage: int, block: int) -> str:
    return f"layers.{stage}.blocks.{block}."


def state_dict_shapes(cfg: SwinConfig, *, buffers: bool = True) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the official state dict for ``cfg``, in the official order.

    With ``buffers=False`` only learned parameters are listed (what :func:`param_count` sums).
    """
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"state_dict_shapes: cfg must be a SwinConfig, got {type(cfg).__name__}")
    C, p = cfg.embed_dim, cfg.patch_size
    shapes: dict[str, tuple[int, ...]] = {}
    if cfg.ape:
        ph, pw = cfg.patches_resolution
        shapes["absolute_pos_embed"] = (1, ph * pw, C)
    shapes["patch_embed.proj.weight"] = (C, cfg.in_chans, p, p)
    shapes["patch_embed.proj.bias"] = (C,)
    if cfg.patch_norm:
        shapes["patch_embed.norm.weight"] = (C,)
        shapes["patch_embed.norm.bias"] = (C,)
    for i, (depth, heads, dim, (h, w), (M, shift)) in enumerate(
        zip(cfg.depths, cfg.num_heads, cfg.stage_dims, cfg.stage_resolutions(), cfg.stage_windows())
    ):
        hidden = int(dim * cfg.mlp_ratio)
        N = M * M
        for j in range(depth):
            pre = block_prefix(i, j)
            block_shift = 0 if j % 2 == 0 else shift
            if buffers and block_shift > 0:
                nW = math.ceil(h / M) * math.ceil(w / M)
                shapes[pre + "attn_mask"] = (nW, N, N)
            shapes[pre + "norm1.weight"] = (dim,)
            shapes[pre + "norm1.bias"] = (dim,)
            if cfg.rel_pos_bias:
                shapes[pre + "attn.relative_position_bias_table"] = ((2 * M - 1) ** 2, heads)
                if buffers:
                    shapes[pre + "attn.relative_position_index"] = (N, N)
            shapes[pre + "attn.qkv.weight"] = (3 * dim, dim)
            if cfg.qkv_bias:
                shapes[pre + "attn.qkv.bias"] = (3 * dim,)
            shapes[pre + "attn.proj.weight"] = (dim, dim)
            shapes[pre + "attn.proj.bias"] = (dim,)
            shapes[pre + "norm2.weight"] = (dim,)
            shapes[pre + "norm2.bias"] = (dim,)
            shapes[pre + "mlp.fc1.weight"] = (hidden, dim)
            shapes[pre + "mlp.fc1.bias"] = (hidden,)
            shapes[pre + "mlp.fc2.weight"] = (dim, hidden)
            shapes[pre + "mlp.fc2.bias"] = (dim,)
        if i < cfg.num_layers - 1:
            shapes[f"layers.{i}.downsample.reduction.weight"] = (2 * dim, 4 * dim)
            shapes[f"layers.{i}.downsample.norm.weight"] = (4 * dim,)
            shapes[f"layers.{i}.downsample.norm.bias"] = (4 * dim,)
    shapes["norm.weight"] = (cfg.num_features,)
    shapes["norm.bias"] = (cfg.num_features,)
    if cfg.num_classes > 0:
        shapes["head.weight"] = (cfg.num_classes, cfg.num_features)
        shapes["head.bias"] = (cfg.num_classes,)
    return shapes
