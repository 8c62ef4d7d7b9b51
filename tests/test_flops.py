"""complexity.model_macs / param_count against the real model: MACs counted by
torch.utils.flop_counter.FlopCounterMode on the meta device (no memory, no compute), and parameters.

What the two count (see complexity.model_macs):
* FlopCounterMode counts 2 FLOPs per multiply-accumulate of every matmul and convolution (linear
  layers, Q K^T and A V, the patch-embedding conv, the head) and nothing else, so
  ``FlopCounterMode total / 2 == model_macs(cfg, count_norms=False)`` exactly.
* The default ``model_macs(cfg)`` reproduces the official ``flops()``: it adds one MAC per element of
  every LayerNorm, and counts the final norm on a (H/4/2^L)^2 map (the official quirk). The difference
  is exactly that, and below 0.5% of the total.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from swin_edu import complexity
from swin_edu.config import SwinConfig
from swin_edu.model import SwinTransformer


def count(cfg, img_hw=None, impl="sdpa"):
    """(FlopCounterMode FLOPs per module, LayerNorm elements) for one image, on the meta device."""
    img_hw = img_hw or cfg.img_hw
    with torch.device("meta"):
        model = SwinTransformer(cfg, attn_impl=impl).eval()
        x = torch.empty(1, cfg.in_chans, *img_hw)
    norm_elems = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: norm_elems.append(inp[0].numel()))
             for m in model.modules() if isinstance(m, nn.LayerNorm)]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    for h in hooks:
        h.remove()
    per_module = {name: sum(v.values()) for name, v in counter.get_flop_counts().items()}
    return model, per_module, sum(norm_elems)


@pytest.mark.parametrize("name", ["tiny", "small", "base", "large"])
def test_macs_equal_flop_counter(name):
    cfg = SwinConfig.preset(name)
    _, flops, norm_elems = count(cfg)
    assert flops["Global"] == 2 * complexity.model_macs(cfg, count_norms=False)
    # per stage: the counter's module totals against the calculator's breakdown
    stages = complexity.model_macs(cfg, count_norms=False, per_stage=True)
    assert flops["SwinTransformer.patch_embed"] == 2 * stages["patch_embed"]
    for i in range(cfg.num_layers):
        assert flops[f"SwinTransformer.layers.{i}"] == 2 * stages[f"stage{i}"], f"stage {i}"
    assert flops["SwinTransformer.head"] == 2 * stages["head"]
    # the official number = matmuls + LayerNorm elements (+ the official final-norm quirk)
    official = complexity.model_macs(cfg)
    h, w = cfg.stage_resolutions()[-1]
    h0, w0 = cfg.patches_resolution
    quirk = cfg.num_features * (h0 * w0 // 2 ** cfg.num_layers - h * w)
    assert official - flops["Global"] // 2 == norm_elems + quirk
    assert 0 < (official - flops["Global"] // 2) / official < 0.005


def test_swin_t_official_numbers():
    cfg = SwinConfig.preset("tiny")
    model, _, _ = count(cfg)
    assert complexity.model_macs(cfg) == complexity.OFFICIAL_MACS_TINY == 4_494_405_120
    assert sum(p.numel() for p in model.parameters()) == complexity.param_count(cfg) == 28_288_354


@pytest.mark.parametrize("name", ["tiny", "small", "base", "large", "nano"])
def test_param_count_equals_the_model(name):
    cfg = SwinConfig.preset(name)
    with torch.device("meta"):
        model = SwinTransformer(cfg)
    assert sum(p.numel() for p in model.parameters()) == complexity.param_count(cfg)
    per_stage = complexity.param_count(cfg, per_stage=True)
    for i, layer in enumerate(model.layers):
        assert sum(p.numel() for p in layer.parameters()) == per_stage[f"stage{i}"]


@pytest.mark.parametrize("name,img_hw", [("tiny", (256, 320)), ("nano", (27, 45)), ("nano", (5, 3))])
def test_macs_of_padded_inputs(name, img_hw):
    """Sizes the window does not divide: attention runs on the padded map (qkv, QK^T, AV, proj), the
    MLP on the real one; the calculator counts the same."""
    cfg = SwinConfig.preset(name)
    _, flops, _ = count(cfg, img_hw)
    assert flops["Global"] == 2 * complexity.model_macs(cfg, img_size=img_hw, count_norms=False)


def test_explicit_attention_counts_the_same():
    cfg = SwinConfig.preset("nano")
    assert count(cfg, impl="explicit")[1]["Global"] == count(cfg)[1]["Global"]
