"""Against an independent implementation: HF transformers' SwinForImageClassification (a test-only
dependency). Random weights of the peer, converted into our layout, give the peer's logits."""
from __future__ import annotations

import warnings

import pytest
import torch

transformers = pytest.importorskip("transformers")

from swin_edu.config import SwinConfig
from swin_edu.model import SwinTransformer, from_hf, load_checkpoint, optimize_for_inference, to_hf

TOL = 1e-4  # max |ours - HF| relative to max |HF|: two fp32 implementations with different op orders
# (HF: separate q/k/v products, its own padding); 10x the in-house 1e-5, still 10x below a real mistake


def random_hf(size, *, embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), window_size=7, patch_size=4,
              num_labels=10, seed=0):
    """An HF Swin with every parameter random (its own init leaves the bias tables at zero)."""
    cfg = transformers.SwinConfig(image_size=size, patch_size=patch_size, embed_dim=embed_dim, depths=list(depths),
                                  num_heads=list(num_heads), window_size=window_size, num_labels=num_labels)
    torch.manual_seed(seed)
    model = transformers.SwinForImageClassification(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:  # LayerNorms: around 1 / 0, so that a mix-up shows
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.02)
    return model


def ours_from(hf_model, cfg, attn_impl="sdpa"):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to interpolate, nothing skipped
        return load_checkpoint(SwinTransformer(cfg, attn_impl=attn_impl), hf_model.state_dict()).eval()


def relative(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.fixture(scope="module")
def hf_tiny():
    return random_hf(224)


@pytest.mark.parametrize("impl", ["sdpa", "explicit", "optimized"])
def test_swin_t_224_matches_hf(hf_tiny, impl):
    cfg = SwinConfig.preset("tiny", num_classes=10)
    ours = ours_from(hf_tiny, cfg, "explicit" if impl == "optimized" else impl)
    if impl == "optimized":
        ours = optimize_for_inference(ours)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = hf_tiny(pixel_values=x).logits
        out = ours(x)
        pooled_ref = hf_tiny.swin(pixel_values=x).pooler_output
        pooled = ours.forward_features(x)
    assert relative(out, ref) < TOL
    assert relative(pooled, pooled_ref) < TOL


def test_swin_t_256x320_matches_hf():
    """A size the window does not divide (64x80 -> padded to 70x84 ...): both pad, then shift.
    Our windows are decided from cfg.img_size, so the config names the size (at 256x320 no stage map
    is smaller than the window, and every stage shifts, as in HF)."""
    hf = random_hf((256, 320), seed=2)
    cfg = SwinConfig.preset("tiny", num_classes=10, img_size=(256, 320))
    assert cfg.stage_windows()[-1] == (7, 3)
    ours = ours_from(hf, cfg)
    x = torch.randn(1, 3, 256, 320, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = hf(pixel_values=x).logits
        assert relative(ours(x), ref) < TOL
        assert relative(optimize_for_inference(ours)(x), ref) < TOL


def test_small_swin_matches_hf():
    """A nano-sized configuration (patch 2, window 4; the last stage's 4x4 map does not shift)."""
    hf = random_hf(32, embed_dim=48, depths=(2, 2, 2), num_heads=(3, 6, 12), window_size=4, patch_size=2, seed=4)
    cfg = SwinConfig.preset("nano")
    ours = ours_from(hf, cfg)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref = hf(pixel_values=x).logits
        assert relative(ours(x), ref) < TOL
        assert relative(optimize_for_inference(ours, chunk_tokens=100)(x), ref) < TOL


def test_conversion_round_trip(hf_tiny):
    cfg = SwinConfig.preset("tiny", num_classes=10)
    ours = ours_from(hf_tiny, cfg)
    back = to_hf(ours.state_dict())
    hf_sd = hf_tiny.state_dict()
    assert set(back) == set(hf_sd)
    assert all(torch.equal(back[k], hf_sd[k]) for k in hf_sd)
    assert set(from_hf(hf_sd)) | {k for k in ours.state_dict() if k.endswith(("_index", "attn_mask"))} \
        == set(ours.state_dict())
