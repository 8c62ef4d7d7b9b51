"""``SwinTransformer(cfg)``: the whole model, with the official state-dict layout.

>>> from swin_edu.config import SwinConfig
>>> model = SwinTransformer(SwinConfig.preset("nano")).eval()
>>> model(torch.zeros(2, 3, 32, 32)).shape
torch.Size([2, 10])
>>> len(SwinTransformer(SwinConfig.preset("tiny")).state_dict())
190
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validate import check_bool
from ..config import SwinConfig
from .layers import AttnImpl, BasicLayer, PatchEmbed, SwinBlock, check_attn_impl, trunc_normal_

__all__ = ["SwinTransformer"]


class SwinTransformer(nn.Module):
    """Swin Transformer for image classification, built from a :class:`~swin_edu.config.SwinConfig`.

    ``attn_impl`` (:class:`~swin_edu.model.AttnImpl`): ``"explicit"`` (the default: the softmax written
    out, as the notebooks teach, an ``nn.Softmax`` module that hooks can watch) or ``"sdpa"`` (fused
    ``scaled_dot_product_attention``). ``use_checkpoint``: gradient checkpointing of the blocks in
    training, ``True``/``False`` for all stages or one bool per stage.

    This is the plain model: the algorithm as written, every module called as a module, nothing that
    depends on the weights kept between calls. For fast inference, :func:`~swin_edu.model.optimize_for_inference`.

    Input: images ``(B, in_chans, H, W)``, float. Any size works: sizes that the patch, the window or
    the 2x2 merging do not divide are zero-padded at the bottom/right (then shifted), as the numpy
    reference and the official detection code do. Output: logits ``(B, num_classes)`` (pooled features
    when ``num_classes=0``).

    The state dict has exactly the official keys (Swin-T: 190), in the official order, so an official
    checkpoint loads with ``load_state_dict(strict=True)``; the derived buffers
    (``relative_position_index``, ``attn_mask``) may be missing or of another resolution.
    """

    def __init__(self, cfg: SwinConfig, attn_impl: str | AttnImpl = AttnImpl.EXPLICIT,
                 use_checkpoint: bool | Sequence[bool] = False):
        super().__init__()
        where = "SwinTransformer"
        if not isinstance(cfg, SwinConfig):
            raise TypeError(f"{where}: cfg must be a SwinConfig (e.g. SwinConfig.preset('tiny')), "
                            f"got {type(cfg).__name__}")
        attn_impl = check_attn_impl(attn_impl, where)
        if isinstance(use_checkpoint, (list, tuple)):
            if len(use_checkpoint) != cfg.num_layers:
                raise ValueError(f"{where}: use_checkpoint must be a bool or one bool per stage "
                                 f"({cfg.num_layers}), got {use_checkpoint!r}")
            flags = [check_bool(v, f"use_checkpoint[{i}]", where=where) for i, v in enumerate(use_checkpoint)]
        else:
            flags = [check_bool(use_checkpoint, "use_checkpoint", where=where)] * cfg.num_layers
        self.cfg = cfg
        self.num_classes = cfg.num_classes
        self.num_layers = cfg.num_layers
        self.embed_dim = cfg.embed_dim
        self.num_features = cfg.num_features

        if cfg.ape:
            ph, pw = cfg.patches_resolution
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, ph * pw, cfg.embed_dim))
            trunc_normal_(self.absolute_pos_embed, std=0.02)
        else:
            self.absolute_pos_embed = None
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.in_chans, cfg.embed_dim, cfg.patch_norm)
        self.pos_drop = nn.Dropout(cfg.drop_rate)

        rates = cfg.drop_path_rates()
        self.layers = nn.ModuleList()
        start = 0
        for i, (depth, heads, dim, res, (M, shift)) in enumerate(zip(
                cfg.depths, cfg.num_heads, cfg.stage_dims, cfg.stage_resolutions(), cfg.stage_windows())):
            self.layers.append(BasicLayer(
                dim, res, depth, heads, window_size=M, shift_size=shift, mlp_ratio=cfg.mlp_ratio,
                qkv_bias=cfg.qkv_bias, qk_scale=cfg.qk_scale, drop=cfg.drop_rate,
                attn_drop=cfg.attn_drop_rate, drop_path=list(rates[start:start + depth]),
                downsample=i < cfg.num_layers - 1, use_checkpoint=flags[i], attn_impl=attn_impl,
                rel_pos_bias=cfg.rel_pos_bias))
            start += depth
        self.norm = nn.LayerNorm(cfg.num_features)
        self.head = nn.Linear(cfg.num_features, cfg.num_classes) if cfg.num_classes > 0 else nn.Identity()
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        """The official init: trunc_normal(std=.02) for Linear weights, zero biases, LayerNorm 1/0."""
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    # ------------------------------------------------------------------ properties / helpers
    @property
    def attn_impl(self) -> AttnImpl:
        return self.layers[0].blocks[0].attn.attn_impl

    def set_attn_impl(self, attn_impl: str | AttnImpl) -> SwinTransformer:
        """Switch every block between ``"explicit"`` and ``"sdpa"`` attention (same weights)."""
        attn_impl = check_attn_impl(attn_impl, "SwinTransformer.set_attn_impl")
        for blk in self.blocks():
            blk.attn.attn_impl = attn_impl
        return self

    def set_grad_checkpointing(self, enable: bool | Sequence[bool] = True) -> SwinTransformer:
        """Turn gradient checkpointing on or off, for all stages or per stage."""
        flags = list(enable) if isinstance(enable, (list, tuple)) else [enable] * self.num_layers
        if len(flags) != self.num_layers:
            raise ValueError(f"SwinTransformer.set_grad_checkpointing: enable must be a bool or one bool per "
                             f"stage ({self.num_layers}), got {enable!r}")
        for layer, flag in zip(self.layers, flags):
            layer.use_checkpoint = check_bool(flag, "enable", where="SwinTransformer.set_grad_checkpointing")
        return self

    def blocks(self) -> list[SwinBlock]:
        """All Swin blocks, stage by stage."""
        return [blk for layer in self.layers for blk in layer.blocks]

    def no_weight_decay_keywords(self) -> set[str]:
        """Parameters the official training excludes from weight decay."""
        return {"relative_position_bias_table", "absolute_pos_embed"}

    # ------------------------------------------------------------------ forward
    def _check_images(self, x) -> None:
        where = "SwinTransformer"
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{where}: images must be a torch.Tensor (B, {self.cfg.in_chans}, H, W), "
                            f"got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"{where}: images must have 4 dimensions (B, {self.cfg.in_chans}, H, W), "
                             f"got shape {tuple(x.shape)}" + (" (add a batch axis: x[None])" if x.dim() == 3 else ""))
        if not x.is_floating_point():
            raise TypeError(f"{where}: images must be a floating-point tensor, got dtype {x.dtype} "
                            f"(convert with x.float() / 255, then normalise)")
        if x.shape[1] != self.cfg.in_chans:
            hint = (" (channels-last input? use x.permute(0, 3, 1, 2))"
                    if x.shape[-1] == self.cfg.in_chans else "")
            raise ValueError(f"{where}: images must have {self.cfg.in_chans} channels in axis 1 "
                             f"(B, C, H, W), got shape {tuple(x.shape)}{hint}")
        if x.shape[0] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
            raise ValueError(f"{where}: images must not be empty, got shape {tuple(x.shape)}")
        weight = self.patch_embed.proj.weight
        if x.device != weight.device and weight.device.type != "meta":
            raise ValueError(f"{where}: images are on {x.device} but the model is on {weight.device}: move one "
                             f"of them (images.to({str(weight.device)!r}) or model.to({str(x.device)!r}))")
        if x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type):
            raise TypeError(f"{where}: images are {x.dtype} but the model's weights are {weight.dtype}: convert "
                            f"the images (images.to({weight.dtype})), the model (model.to({x.dtype})), or run "
                            f"under torch.autocast({x.device.type!r})")

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C_in, H, W), checked -> patch embedding (+ absolute position embedding): (B, h, w, C)."""
        self._check_images(x)
        x = self.patch_embed(x)
        if self.absolute_pos_embed is not None:
            _, h, w, C = x.shape
            if (h, w) != self.cfg.patches_resolution:
                raise ValueError(f"SwinTransformer: an absolute position embedding needs images of "
                                 f"img_size={self.cfg.img_size} ({self.cfg.patches_resolution} patches), "
                                 f"got {(h, w)} patches")
            x = x + self.absolute_pos_embed.view(1, h, w, C)
        return x

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.pos_drop(self.patches(x))

    def forward_stages(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Images -> (last map (B, h, w, C_last) before the final norm, [feature maps]). The list holds the
        map after patch embedding and after each stage's blocks (before merging), channels-last, as
        ``numpy_ref.swin_forward(..., return_stages=True)``."""
        x = self._embed(x)
        stages = [x]
        for layer in self.layers:
            x = layer.forward_blocks(x)
            stages.append(x)
            if layer.downsample is not None:
                x = layer.downsample(x)
        return x, stages

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C_in, H, W) -> pooled features (B, num_features) after the final norm."""
        x = self._embed(x)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x).mean(dim=(1, 2))

    def forward(self, x: torch.Tensor, return_stages: bool = False):
        """Images (B, C_in, H, W) -> logits (B, num_classes). With ``return_stages``, also the list of
        channels-last feature maps of :meth:`forward_stages`."""
        if return_stages:
            x, stages = self.forward_stages(x)
            return self.head(self.norm(x).mean(dim=(1, 2))), stages
        return self.head(self.forward_features(x))

    def extra_repr(self) -> str:
        return f"cfg={self.cfg.name!r}, attn_impl={self.attn_impl.value!r}"
