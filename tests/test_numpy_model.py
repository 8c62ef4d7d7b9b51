"""The numpy model: block pair, stages, the whole forward pass."""
import numpy as np
import pytest

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig


@pytest.fixture(scope="module")
def nano():
    cfg = SwinConfig.preset("nano")
    return cfg, snp.random_state_dict(cfg, seed=0, std=0.1)


def test_stage_shapes(nano):
    cfg, sd = nano
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    logits, stages = snp.swin_forward(sd, x, cfg, return_stages=True)
    assert logits.shape == (2, 10)
    assert [s.shape for s in stages] == [(2, 16, 16, 48), (2, 16, 16, 48), (2, 8, 8, 96), (2, 4, 4, 192)]


def test_block_pair_is_wmsa_then_swmsa(nano):
    cfg, sd = nano
    x = np.random.default_rng(1).standard_normal((1, 16, 16, 48))
    p0, p1 = snp.block_params(sd, "layers.0.blocks.0."), snp.block_params(sd, "layers.0.blocks.1.")
    y = snp.swin_block(snp.swin_block(x, p0, 3, 4, 0), p1, 3, 4, 2)
    stage_out = snp.stage(x, snp.block_params(sd, "layers.0."), 2, 3, 4, 2, downsample=False)
    np.testing.assert_allclose(stage_out, y, rtol=1e-12, atol=1e-12)  # float64, the same operations
    # the shift matters: the same weights without shift give another result
    assert np.abs(snp.swin_block(snp.swin_block(x, p0, 3, 4, 0), p1, 3, 4, 0) - y).max() > 1e-3


def test_block_is_residual(nano):
    """With zero output projections the attention and MLP branches vanish: the block is the identity."""
    cfg, sd = nano
    p = dict(snp.block_params(sd, "layers.0.blocks.1."))
    for k in ("attn.proj.weight", "attn.proj.bias", "mlp.fc2.weight", "mlp.fc2.bias"):
        p[k] = np.zeros_like(p[k])
    x = np.random.default_rng(2).standard_normal((1, 16, 16, 48))
    np.testing.assert_array_equal(snp.swin_block(x, p, 3, 4, 2), x)


def test_forward_is_translation_aware_but_deterministic(nano):
    cfg, sd = nano
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32))
    np.testing.assert_array_equal(snp.swin_forward(sd, x, cfg), snp.swin_forward(sd, x, cfg))
    # batch items are independent
    xb = np.concatenate([x, -x])
    # float64: a batch of 2 and of 1 take different BLAS blockings; sums of up to K = 768 terms through 6 blocks
    # round differently by ~K * eps64 ~ 1e-13 relative (mixing the images would change the logits by ~0.1)
    np.testing.assert_allclose(snp.swin_forward(sd, xb, cfg)[:1], snp.swin_forward(sd, x, cfg), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("size", [(32, 32), (36, 44), (30, 18)])
def test_other_input_sizes(nano, size):
    cfg, sd = nano
    x = np.random.default_rng(4).standard_normal((1, 3) + size)
    logits, stages = snp.swin_forward(sd, x, cfg, return_stages=True)
    assert logits.shape == (1, 10) and np.isfinite(logits).all()
    h, w = -(-size[0] // 2), -(-size[1] // 2)
    assert stages[1].shape[1:3] == (h, w)


def test_ape_and_no_patch_norm():
    cfg = SwinConfig.preset("nano", ape=True, patch_norm=False, qkv_bias=False)
    sd = snp.random_state_dict(cfg, seed=1)
    assert "absolute_pos_embed" in sd and "patch_embed.norm.weight" not in sd
    x = np.random.default_rng(5).standard_normal((1, 3, 32, 32))
    assert snp.swin_forward(sd, x, cfg).shape == (1, 10)
    with pytest.raises(ValueError, match="absolute position embedding"):
        snp.swin_forward(sd, np.zeros((1, 3, 36, 36)), cfg)


@pytest.mark.slow
def test_tiny_forward_224():
    cfg = SwinConfig.preset("tiny")
    sd = snp.random_state_dict(cfg, seed=0)
    x = np.random.default_rng(6).standard_normal((1, 3, 224, 224)).astype(np.float32)
    logits, stages = snp.swin_forward(sd, x, cfg, return_stages=True)
    assert logits.shape == (1, 1000) and np.isfinite(logits).all()
    assert [s.shape[1:] for s in stages[1:]] == [(56, 56, 96), (28, 28, 192), (14, 14, 384), (7, 7, 768)]


def test_window_shrinks_and_stops_shifting_on_small_maps():
    """Official rule: a stage whose map is not larger than the window uses one window of min(H, W)
    and no shift; its bias table is sized for that window."""
    cfg = SwinConfig.preset("nano", img_size=(32, 24))  # stage maps 16x12, 8x6, 4x3
    assert cfg.stage_windows() == ((4, 2), (4, 2), (3, 0))
    sd = snp.random_state_dict(cfg, seed=2, buffers=True)
    assert sd["layers.2.blocks.0.attn.relative_position_bias_table"].shape == (25, 12)
    assert "layers.2.blocks.1.attn_mask" not in sd and sd["layers.1.blocks.1.attn_mask"].shape == (4, 16, 16)
    x = np.random.default_rng(7).standard_normal((1, 3, 32, 24))
    logits, stages = snp.swin_forward(sd, x, cfg, return_stages=True)
    assert stages[-1].shape == (1, 4, 3, 192) and np.isfinite(logits).all()
    # the last stage equals its blocks run with window 3 and no shift (a 4x3 map padded to 6x3)
    last_in = snp.patch_merging(stages[-2], sd["layers.1.downsample.reduction.weight"],
                                sd["layers.1.downsample.norm.weight"], sd["layers.1.downsample.norm.bias"])
    p = snp.block_params(sd, "layers.2.")
    np.testing.assert_allclose(stages[-1], snp.stage(last_in, p, 2, 12, 3, 0, downsample=False), rtol=1e-12,
                               atol=1e-12)  # float64, the same operations on a batch of 1
