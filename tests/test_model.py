"""The plain PyTorch Swin model: official layout, equal to the numpy reference block by block and as a
whole, other input sizes, hooks on every module, every way of changing the weights, inference mode,
dtypes, training features, autocast, torch.compile, errors.

Tolerance: RTOL = 1e-5 of the largest reference value. The torch model computes in float32 (unit
roundoff 6e-8); each linear layer sums at most 4C <= 3072 products, and a whole Swin-T is ~50 such
layers with LayerNorms in between that renormalise. Rounding errors grow about like sqrt(#sums) * eps
per layer, so the relative error stays around 1e-6 whatever the BLAS, its blocking and the thread count
(they only change the order of the sums); 1e-5 leaves a 10x margin and is still 100x below what any
real mistake (a wrong gather order, a missing bias, a wrong mask) produces (> 1e-3).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.layout import state_dict_shapes
from swin_edu.model import (
    BasicLayer,
    PatchEmbed,
    PatchMerging,
    SwinBlock,
    SwinTransformer,
    WindowAttention,
    relative_position_index,
    shift_mask,
    window_partition,
    window_reverse,
)

RTOL = 1e-5  # max |torch - numpy| relative to max |numpy| (see the module docstring)


def rel_err(out, ref) -> float:
    out = out.detach().double().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, np.float64)
    ref = np.asarray(ref, np.float64)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    return float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-12))


def model_from_numpy(cfg, sd, **kw) -> SwinTransformer:
    model = SwinTransformer(cfg, **kw).eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    return model


@pytest.fixture(scope="module")
def nano():
    cfg = SwinConfig.preset("nano")
    sd = snp.random_state_dict(cfg, seed=3)
    return cfg, sd


@pytest.fixture(scope="module")
def tiny_ref():
    """Swin-T with random weights at 224x224: the numpy float64 reference, computed once."""
    cfg = SwinConfig.preset("tiny")
    sd = snp.random_state_dict(cfg, seed=7)
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    logits, stages = snp.swin_forward(sd, x, cfg, return_stages=True)
    return cfg, model_from_numpy(cfg, sd), x, logits, stages


# ----------------------------------------------------------------------------------------- layout
@pytest.mark.parametrize("cfg", [
    SwinConfig.preset("tiny"),
    SwinConfig.preset("nano"),
    SwinConfig.preset("nano", ape=True, qkv_bias=False, patch_norm=False, num_classes=0, img_size=(24, 40)),
], ids=["tiny", "nano", "nano-variant"])
def test_state_dict_is_the_official_layout(cfg):
    with torch.device("meta"):  # keys and shapes only: no memory, no init cost
        sd = SwinTransformer(cfg).state_dict()
    expected = state_dict_shapes(cfg, buffers=True)
    assert list(sd) == list(expected)  # same keys, same order
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected


def test_swin_t_has_190_keys_with_17_derived_buffers():
    with torch.device("meta"):
        sd = SwinTransformer(SwinConfig.preset("tiny")).state_dict()
    assert len(sd) == 190
    assert sum(k.endswith("relative_position_index") for k in sd) == 12
    assert sum(k.endswith("attn_mask") for k in sd) == 5
    assert "layers.0.blocks.1.attn.qkv.weight" in sd and "layers.0.downsample.reduction.weight" in sd


def test_module_names_mirror_the_paper():
    model = SwinTransformer(SwinConfig.preset("nano"))
    assert isinstance(model.patch_embed, PatchEmbed)
    assert isinstance(model.layers[0], BasicLayer)
    blk0, blk1 = model.layers[0].blocks
    assert isinstance(blk0, SwinBlock) and isinstance(blk0.attn, WindowAttention)
    assert (blk0.shift_size, blk1.shift_size) == (0, 2)  # W-MSA, then SW-MSA
    assert "W-MSA" in repr(blk0) and "SW-MSA" in repr(blk1)
    assert isinstance(model.layers[0].downsample, PatchMerging) and model.layers[-1].downsample is None
    # the last stage (4x4 map, window 4) does not shift: the official rule
    assert [b.shift_size for b in model.layers[2].blocks] == [0, 0]


def test_init_is_the_official_one():
    torch.manual_seed(0)
    model = SwinTransformer(SwinConfig.preset("nano"))
    w = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, torch.nn.Linear)])
    assert abs(w.std().item() - 0.02) < 0.002
    assert all(torch.all(m.bias == 0) for m in model.modules() if isinstance(m, torch.nn.Linear) and m.bias is not None)
    for m in model.modules():
        if isinstance(m, torch.nn.LayerNorm):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    table = model.layers[0].blocks[0].attn.relative_position_bias_table
    assert 0.01 < table.std().item() < 0.03


# ----------------------------------------------------------------------------------------- ops vs numpy
@pytest.mark.parametrize("M,s,H,W", [(7, 3, 14, 21), (4, 2, 8, 8), (4, 0, 4, 8), (2, 1, 6, 4)])
def test_ops_equal_numpy(M, s, H, W, rng):
    assert np.array_equal(shift_mask(H, W, M, s).numpy(), snp.shift_mask(H, W, M, s))
    assert np.array_equal(relative_position_index(M).numpy(), snp.relative_position_index(M))
    x = rng.standard_normal((2, H, W, 3)).astype(np.float32)
    win = window_partition(torch.from_numpy(x), M)
    assert np.array_equal(win.numpy(), snp.window_partition(x, M))
    assert np.array_equal(window_reverse(win, M, H, W).numpy(), x)


# ----------------------------------------------------------------------------------------- blocks vs numpy
def test_patch_embed_equals_numpy(nano, rng):
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    for H, W in [(32, 32), (31, 17)]:
        x = rng.standard_normal((2, 3, H, W)).astype(np.float32)
        ref = snp.patch_embed(x.transpose(0, 2, 3, 1), sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"],
                              sd["patch_embed.norm.weight"], sd["patch_embed.norm.bias"])
        with torch.no_grad():
            assert rel_err(model.patch_embed(torch.from_numpy(x)), ref) < RTOL


@pytest.mark.parametrize("shift", [False, True])
@pytest.mark.parametrize("impl", ["sdpa", "explicit"])
def test_window_attention_equals_numpy(nano, rng, shift, impl):
    cfg, sd = nano
    model = model_from_numpy(cfg, sd, attn_impl=impl)
    attn = model.layers[0].blocks[1].attn
    p = snp.block_params(sd, "layers.0.blocks.1.attn.")
    M, C = attn.window_size, attn.dim
    x = rng.standard_normal((2 * 16, M * M, C)).astype(np.float32)  # 2 images of 16 windows
    mask = snp.shift_mask(16, 16, M, 2) if shift else None
    ref = snp.window_attention(x, p["qkv.weight"], p["qkv.bias"], p["proj.weight"], p["proj.bias"], attn.num_heads,
                               relative_position_bias_table=p["relative_position_bias_table"], mask=mask)
    caught = []
    attn.softmax.register_forward_hook(lambda mod, args, out: caught.append(out))
    with torch.no_grad():
        out = attn(torch.from_numpy(x), None if mask is None else torch.from_numpy(mask))
    assert rel_err(out, ref) < RTOL
    if impl == "sdpa":  # fused: the weights are never materialised
        assert caught == []
        return
    (weights,) = caught  # the explicit path: a hook on attn.softmax sees the attention weights
    _, ref_weights = snp.window_attention(x, p["qkv.weight"], p["qkv.bias"], p["proj.weight"], p["proj.bias"],
                                          attn.num_heads, relative_position_bias_table=p["relative_position_bias_table"],
                                          mask=mask, return_attn=True)
    assert rel_err(weights, ref_weights) < RTOL
    assert torch.allclose(weights.sum(-1), torch.ones(()), atol=1e-5)  # rows of a softmax: 1 to fp32 rounding
    if shift:  # pairs from different regions get (numerically) zero weight: exp(-100) ~ 4e-44
        blocked = torch.from_numpy(mask < 0).repeat(2, 1, 1)[:, None]
        assert weights.masked_select(blocked.expand_as(weights)).max() < 1e-30


@pytest.mark.parametrize("impl", ["sdpa", "explicit"])
@pytest.mark.parametrize("H,W", [(16, 16), (13, 7), (3, 5), (4, 12)])
def test_every_block_equals_numpy(nano, rng, impl, H, W):
    """Each block of stage 0 (W-MSA and SW-MSA) on maps the window divides and does not divide."""
    cfg, sd = nano
    model = model_from_numpy(cfg, sd, attn_impl=impl)
    layer = model.layers[0]
    x = rng.standard_normal((2, H, W, cfg.embed_dim)).astype(np.float32)
    ref = x.astype(np.float64)
    out = torch.from_numpy(x)
    for j, blk in enumerate(layer.blocks):
        ref = snp.swin_block(ref, snp.block_params(sd, f"layers.0.blocks.{j}."), blk.num_heads, blk.window_size,
                             blk.shift_size)
        with torch.no_grad():
            out = blk(out)
        assert rel_err(out, ref) < RTOL, f"block {j}"
    # the stage (window-order fast path when the window divides the map) gives the same
    with torch.no_grad():
        staged = layer.forward_blocks(torch.from_numpy(x))
    assert rel_err(staged, ref) < RTOL
    merged_ref = snp.patch_merging(ref, sd["layers.0.downsample.reduction.weight"],
                                   sd["layers.0.downsample.norm.weight"], sd["layers.0.downsample.norm.bias"])
    with torch.no_grad():
        assert rel_err(layer(torch.from_numpy(x)), merged_ref) < RTOL
        assert rel_err(layer.downsample(out), merged_ref) < RTOL


# ----------------------------------------------------------------------------------------- whole model vs numpy
@pytest.mark.parametrize("impl", ["sdpa", "explicit"])
def test_swin_t_224_equals_numpy(tiny_ref, impl):
    _, model, x, logits, stages = tiny_ref
    model.set_attn_impl(impl)
    with torch.no_grad():
        out, out_stages = model(torch.from_numpy(x), return_stages=True)
        plain = model(torch.from_numpy(x))
    assert rel_err(out, logits) < RTOL
    assert rel_err(plain, logits) < RTOL
    assert len(out_stages) == len(stages) == 5
    for i, (a, b) in enumerate(zip(out_stages, stages)):
        assert rel_err(a, b) < RTOL, f"stage {i}"


@pytest.mark.parametrize("impl", ["sdpa", "explicit"])
@pytest.mark.parametrize("size", [(32, 32), (27, 45), (50, 20), (5, 3)])
def test_nano_equals_numpy(nano, rng, impl, size):
    cfg, sd = nano
    model = model_from_numpy(cfg, sd, attn_impl=impl)
    x = rng.standard_normal((2, 3) + size).astype(np.float32)
    ref, ref_stages = snp.swin_forward(sd, x, cfg, return_stages=True)
    with torch.no_grad():
        out, stages = model(torch.from_numpy(x), return_stages=True)
    assert rel_err(out, ref) < RTOL
    for a, b in zip(stages, ref_stages):
        assert rel_err(a, b) < RTOL


_HYP = {}


@settings(max_examples=10, deadline=None)
@given(h=st.integers(2, 40), w=st.integers(2, 40), impl=st.sampled_from(["sdpa", "explicit"]))
def test_any_input_size_equals_numpy(h, w, impl):
    """Random sizes, square or not, divisible or not: padded, then shifted, as the numpy reference."""
    if not _HYP:
        _HYP["cfg"] = cfg = SwinConfig.preset("nano")
        _HYP["sd"] = sd = snp.random_state_dict(cfg, seed=5)
        _HYP["model"] = model_from_numpy(cfg, sd)
    cfg, sd, model = _HYP["cfg"], _HYP["sd"], _HYP["model"].set_attn_impl(impl)
    x = np.random.default_rng(h * 100 + w).standard_normal((1, 3, h, w)).astype(np.float32)
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    assert rel_err(out, snp.swin_forward(sd, x, cfg)) < RTOL


def test_config_with_ape_no_bias_no_patch_norm_equals_numpy(rng):
    cfg = SwinConfig.preset("nano", ape=True, qkv_bias=False, patch_norm=False, img_size=(24, 40))
    sd = snp.random_state_dict(cfg, seed=2)
    model = model_from_numpy(cfg, sd)
    x = rng.standard_normal((2, 3, 24, 40)).astype(np.float32)
    with torch.no_grad():
        assert rel_err(model(torch.from_numpy(x)), snp.swin_forward(sd, x, cfg)) < RTOL
    with pytest.raises(ValueError, match="absolute position embedding needs images of img_size"):
        model(torch.zeros(1, 3, 32, 32))


@pytest.mark.parametrize("switches", [{"shift_windows": False}, {"rel_pos_bias": False},
                                      {"shift_windows": False, "rel_pos_bias": False, "ape": True}])
def test_ablation_configs_equal_numpy(rng, switches):
    """The paper's ablations as config fields: the torch model, its state dict and numpy_ref agree."""
    cfg = SwinConfig.preset("nano", **switches)
    model = SwinTransformer(cfg).eval()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == state_dict_shapes(cfg)
    assert all(b.shift_size == 0 for b in model.blocks()) == (not cfg.shift_windows)
    sd = snp.random_state_dict(cfg, seed=3)
    model = model_from_numpy(cfg, sd)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    assert rel_err(out, snp.swin_forward(sd, x, cfg)) < RTOL
    # and the switch matters: the full model with the same weights gives other logits
    full = SwinTransformer(SwinConfig.preset("nano", ape=cfg.ape)).eval()
    full.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    with torch.no_grad():
        for blk in full.blocks():  # a bias that is visibly there
            blk.attn.relative_position_bias_table.normal_(0.0, 1.0)
        assert rel_err(full(torch.from_numpy(x)), out.numpy()) > 1e-3


def test_qk_scale_in_the_whole_model_equals_numpy(rng):
    cfg = SwinConfig.preset("nano", qk_scale=0.3)
    sd = snp.random_state_dict(cfg, seed=5, std=0.2)  # large weights: the scale changes the logits visibly
    model = model_from_numpy(cfg, sd)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    assert rel_err(out, snp.swin_forward(sd, x, cfg)) < RTOL
    assert rel_err(out, snp.swin_forward(sd, x, cfg.replace(qk_scale=None))) > 1e-3


def test_qk_scale_is_used(rng):
    """cfg.qk_scale replaces head_dim**-0.5 (the attention module against numpy
    window_attention with the scale given)."""
    cfg = SwinConfig.preset("nano", qk_scale=0.3)
    model = SwinTransformer(cfg).eval()
    attn = model.layers[0].blocks[0].attn
    assert attn.scale == 0.3
    x = rng.standard_normal((4, 16, 48)).astype(np.float32)
    p = {k: v.detach().numpy() for k, v in attn.state_dict().items()}
    ref = snp.window_attention(x, p["qkv.weight"], p["qkv.bias"], p["proj.weight"], p["proj.bias"], 3,
                               relative_position_bias_table=p["relative_position_bias_table"], scale=0.3)
    with torch.no_grad():
        assert rel_err(attn(torch.from_numpy(x)), ref) < RTOL


def test_num_classes_zero_gives_pooled_features(rng):
    cfg = SwinConfig.preset("nano", num_classes=0)
    sd = snp.random_state_dict(cfg, seed=4)
    model = model_from_numpy(cfg, sd)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    assert out.shape == (2, cfg.num_features)
    assert rel_err(out, snp.swin_forward(sd, x, cfg)) < RTOL


# ----------------------------------------------------------------------------------------- paths agree
def test_sdpa_and_explicit_give_the_same_logits(nano, rng):
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    x = torch.from_numpy(rng.standard_normal((3, 3, 32, 40)).astype(np.float32))
    with torch.no_grad():
        a = model.set_attn_impl("sdpa")(x)
        b = model.set_attn_impl("explicit")(x)
    assert model.attn_impl == "explicit"
    assert torch.allclose(a, b, rtol=0, atol=1e-5 * b.abs().max().item())


# ----------------------------------------------------------------------------------------- derived buffers, caching
def test_derived_buffers_are_not_required_and_other_resolutions_load(nano):
    cfg, sd = nano
    learned = {k: torch.from_numpy(v) for k, v in sd.items()}
    model = SwinTransformer(cfg).eval()
    model.load_state_dict(learned, strict=True)  # no relative_position_index, no attn_mask
    other = SwinTransformer(cfg.replace(img_size=48)).state_dict()  # attn_mask of another resolution
    mixed = dict(learned)
    mixed.update({k: v for k, v in other.items() if k.endswith(("attn_mask", "relative_position_index"))})
    assert mixed["layers.0.blocks.1.attn_mask"].shape != model.state_dict()["layers.0.blocks.1.attn_mask"].shape
    model.load_state_dict(mixed, strict=True)
    assert model.state_dict()["layers.0.blocks.1.attn_mask"].shape == (16, 16, 16)


# ----------------------------------------------------------------------------------------- hooks, dtypes, inference mode
def test_forward_hooks_fire_on_every_module(nano):
    """The plain model calls every module as a module: a forward hook on any of them fires (the
    attention maps of a block are one hook on attn.softmax away)."""
    cfg, sd = nano
    model = model_from_numpy(cfg.replace(drop_path_rate=0.1), sd)
    calls = {}
    for name, module in model.named_modules():
        module.register_forward_hook(lambda mod, args, out, name=name: calls.__setitem__(name, calls.get(name, 0) + 1))
    with torch.no_grad():
        model(torch.zeros(2, 3, 32, 32))
    containers = {name for name, m in model.named_modules() if isinstance(m, torch.nn.ModuleList)}
    assert set(calls) == {name for name, _ in model.named_modules()} - containers  # lists are not callable
    kinds = {type(m).__name__ for m in model.modules()}
    assert {"PatchEmbed", "Conv2d", "LayerNorm", "Dropout", "BasicLayer", "SwinBlock", "WindowAttention", "Linear",
            "Softmax", "Mlp", "GELU", "DropPath", "Identity", "PatchMerging", "SwinTransformer"} <= kinds
    assert all(calls[f"layers.{i}"] == 1 for i in range(len(model.layers)))


def test_attention_maps_through_a_hook_and_window_msa(nano, rng):
    """The softmax module's output is the attention of every window; window_msa(return_attn=True) (kept
    for swin_edu.train) returns the same weights and the same output as the block's own attention."""
    cfg, sd = nano
    model = model_from_numpy(cfg, sd, attn_impl="sdpa")
    blk = model.layers[0].blocks[1]
    x = torch.from_numpy(rng.standard_normal((2, 16, 16, cfg.embed_dim)).astype(np.float32))
    with torch.no_grad():
        out, weights = blk.window_msa(blk.norm1(x), return_attn=True)
        assert blk.attn.attn_impl == "sdpa"  # switched back after the call
        plain = blk.window_msa(blk.norm1(x))
    assert weights.shape == (2 * 16, blk.num_heads, 16, 16)
    assert torch.allclose(out, plain, atol=1e-5 * plain.abs().max().item(), rtol=0)
    with torch.no_grad():
        h = blk.norm1(x).numpy()
    ref, ref_weights = snp.shifted_window_attention(h, snp.block_params(sd, "layers.0.blocks.1.attn."), blk.num_heads,
                                                    blk.window_size, blk.shift_size, return_attn=True)
    assert rel_err(out, ref) < RTOL and rel_err(weights, ref_weights) < RTOL


def test_float64_model_equals_the_float64_reference(nano, rng):
    """.to(torch.float64) converts every parameter and buffer: the model then agrees with the float64
    numpy reference to float64 rounding (the fp32 tolerance would hide nothing here: 1e-10)."""
    cfg, sd = nano
    model = model_from_numpy(cfg, sd).to(torch.float64)
    x = rng.standard_normal((2, 3, 27, 45))
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    assert out.dtype == torch.float64
    assert rel_err(out, snp.swin_forward(sd, x, cfg, dtype=np.float64)) < 1e-10


@pytest.mark.parametrize("dtype,tol", [(torch.float16, 1e-2), (torch.bfloat16, 5e-2)])
@pytest.mark.parametrize("impl", ["explicit", "sdpa"])
def test_half_and_bfloat16_models(nano, rng, dtype, tol, impl):
    """A model converted with .half() / .bfloat16() runs inputs of its dtype and gives the float32
    logits to that dtype's precision (fp16: 11-bit mantissa, bf16: 8-bit, so a few units of 2^-11 and
    2^-8 after ~20 layers); the -100 mask is representable in both. An input of another dtype than the
    model's weights is refused with a message that says what to convert."""
    cfg, sd = nano
    ref_model = model_from_numpy(cfg, sd, attn_impl=impl)
    model = model_from_numpy(cfg, sd, attn_impl=impl).to(dtype)
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    with torch.no_grad():
        ref = ref_model(x)
        out = model(x.to(dtype))
    assert out.dtype == dtype
    assert (out.float() - ref).abs().max() < tol * ref.abs().max()
    with pytest.raises(TypeError, match=rf"images are {dtype} but the model's weights are torch.float32"):
        ref_model(x.to(dtype))


def test_built_and_loaded_inside_inference_mode(nano, rng):
    """Regression: a model built (and loaded) inside torch.inference_mode() used to fail at its first
    forward (inference tensors have no version counter). Nothing is keyed on versions any more."""
    cfg, sd = nano
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    with torch.inference_mode():
        model = SwinTransformer(cfg).eval()
        model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
        out = model(x)
        again = model(x)
    with torch.no_grad():
        ref = model_from_numpy(cfg, sd)(x)
    assert torch.equal(out, again)
    assert torch.allclose(out, ref, atol=RTOL * ref.abs().max().item(), rtol=0)
    assert rel_err(out, snp.swin_forward(sd, x.numpy(), cfg)) < RTOL


def test_only_weight_independent_tensors_are_kept(nano):
    """Between calls the model holds its parameters and the derived buffers (relative_position_index,
    attn_mask), nothing else: no tensor grows with the batch or appears after a forward."""
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)

    def held():
        out = {}
        for name, m in model.named_modules():
            for k, v in vars(m).items():
                if isinstance(v, torch.Tensor):
                    out[f"{name}.{k}"] = tuple(v.shape)
            for k, v in list(m._buffers.items()) + list(m._parameters.items()):
                if v is not None:
                    out[f"{name}.{k}"] = tuple(v.shape)
        return out

    before = held()
    with torch.no_grad():
        for batch, size in ((1, 32), (16, 32), (3, 40)):
            model(torch.zeros(batch, 3, size, size))
            assert held() == before
    assert {k.rsplit(".", 1)[-1] for k in before if not any(k.endswith(p) for p in ("weight", "bias", "_table"))} \
        == {"relative_position_index", "attn_mask"}


# ----------------------------------------------------------------------------------------- training features
def test_dropout_and_drop_path_act_in_train_mode_only(rng):
    cfg = SwinConfig.preset("nano", drop_rate=0.1, attn_drop_rate=0.1, drop_path_rate=0.3)
    model = SwinTransformer(cfg)
    rates = [blk.drop_path.drop_prob if hasattr(blk.drop_path, "drop_prob") else 0.0 for blk in model.blocks()]
    assert rates == pytest.approx(cfg.drop_path_rates())
    assert model.layers[0].blocks[0].attn.attn_drop.p == 0.1 and model.pos_drop.p == 0.1
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    model.train()
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    b = model(x)
    assert not torch.allclose(a, b)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


def test_drop_path_keeps_the_expectation():
    from swin_edu.model import DropPath
    dp = DropPath(0.25).train()
    torch.manual_seed(0)
    out = dp(torch.ones(20000, 3))
    kept = (out[:, 0] > 0).float().mean().item()
    assert abs(kept - 0.75) < 0.02 and torch.allclose(out[out > 0], torch.tensor(1 / 0.75))
    assert abs(out.mean().item() - 1.0) < 0.03
    assert torch.equal(dp.eval()(torch.ones(4, 3)), torch.ones(4, 3))


@pytest.mark.parametrize("flags", [True, [True, False, True]])
def test_gradient_checkpointing_gives_the_same_gradients(rng, flags):
    cfg = SwinConfig.preset("nano", drop_path_rate=0.0)
    torch.manual_seed(0)
    ref = SwinTransformer(cfg).train()
    ckpt = SwinTransformer(cfg, use_checkpoint=flags).train()
    ckpt.load_state_dict(ref.state_dict())
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    for m in (ref, ckpt):
        m(x).pow(2).sum().backward()
    for (n, p), (_, q) in zip(ref.named_parameters(), ckpt.named_parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-6, rtol=1e-4), n
    assert [layer.use_checkpoint for layer in ckpt.layers] == (
        [True] * 3 if flags is True else flags)
    ckpt.set_grad_checkpointing(False)
    assert not any(layer.use_checkpoint for layer in ckpt.layers)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_cpu_autocast(nano, rng, dtype):
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    with torch.no_grad():
        ref = model(x)
        with torch.autocast("cpu", dtype=dtype):
            out = model(x)
    assert torch.isfinite(out).all()
    assert (out.float() - ref).abs().max() < 0.05 * ref.abs().max()


@pytest.mark.slow
@pytest.mark.parametrize("train", [False, True])
def test_torch_compile_fullgraph(nano, rng, train):
    """The model traces into one graph (no graph breaks), in inference and in training. The backend
    is aot_eager here (inductor's compile takes minutes on this CPU; the GPU tests use inductor)."""
    torch._dynamo.reset()
    cfg, sd = nano
    model = model_from_numpy(cfg, sd).train(train)
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True, dynamic=False)
    if train:
        cfg0 = dataclasses.replace(cfg, drop_path_rate=0.0)
        model = model_from_numpy(cfg0, sd).train()
        compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
        compiled(x).sum().backward()
        g = model.layers[0].blocks[1].attn.relative_position_bias_table.grad
        assert g is not None and g.abs().sum() > 0
    else:
        with torch.no_grad():
            ref = model(x)
            assert torch.allclose(compiled(x), ref, atol=RTOL * ref.abs().max().item(), rtol=0)


@pytest.mark.slow
def test_torch_compile_with_dynamic_sizes(rng):
    """Regression: with dynamic shapes, a padded size computed as -(-n // M) * M made dynamo fail on its
    own guard ("Guard failed on the same frame it was created"); config.padded_size now rounds up with
    non-negative floor divisions only. A one-stage model keeps the tracing short."""
    torch._dynamo.reset()
    cfg = SwinConfig.preset("nano", depths=(2,), num_heads=(3,), img_size=16)
    model = model_from_numpy(cfg, snp.random_state_dict(cfg, seed=1))
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True, dynamic=True)
    with torch.no_grad():
        for size in ((13, 10), (20, 27)):  # sizes the window does not divide: padded, then shifted
            x = torch.from_numpy(rng.standard_normal((2, 3) + size).astype(np.float32))
            ref = model(x)
            assert torch.allclose(compiled(x), ref, atol=RTOL * ref.abs().max().item(), rtol=0)


# ----------------------------------------------------------------------------------------- errors
def test_bad_inputs_give_clear_errors():
    model = SwinTransformer(SwinConfig.preset("nano")).eval()
    with pytest.raises(ValueError, match=r"3 channels in axis 1 .*got shape \(2, 4, 32, 32\)"):
        model(torch.zeros(2, 4, 32, 32))
    with pytest.raises(ValueError, match=r"channels-last input\? use x.permute\(0, 3, 1, 2\)"):
        model(torch.zeros(2, 32, 32, 3))
    with pytest.raises(ValueError, match=r"4 dimensions .*got shape \(3, 32, 32\).*add a batch axis"):
        model(torch.zeros(3, 32, 32))
    with pytest.raises(TypeError, match=r"floating-point tensor, got dtype torch.uint8 .*x.float\(\) / 255"):
        model(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        model(np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(ValueError, match="must not be empty"):
        model(torch.zeros(0, 3, 32, 32))


def test_bad_construction_arguments():
    cfg = SwinConfig.preset("nano")
    with pytest.raises(TypeError, match="cfg must be a SwinConfig"):
        SwinTransformer({"embed_dim": 48})
    with pytest.raises(ValueError, match=r"attn_impl must be one of \('explicit', 'sdpa'\), got 'flash'"):
        SwinTransformer(cfg, attn_impl="flash")
    with pytest.raises(ValueError, match="one bool per stage"):
        SwinTransformer(cfg, use_checkpoint=[True, False])
    with pytest.raises(TypeError, match="use_checkpoint must be a bool"):
        SwinTransformer(cfg, use_checkpoint="yes")
    with pytest.raises(ValueError, match="attn_impl must be one of"):
        SwinTransformer(cfg).set_attn_impl("math")
    with pytest.raises(ValueError, match="num_heads=5 must divide dim=48"):
        WindowAttention(48, 4, 5)
    with pytest.raises(ValueError, match="shift_size must be smaller than window_size=4"):
        SwinBlock(48, (16, 16), 3, window_size=4, shift_size=4)
    with pytest.raises(ValueError, match=r"the mask must be \(num_windows, 16, 16\)"):
        WindowAttention(48, 4, 3)(torch.zeros(5, 16, 48), torch.zeros(2, 16, 16))
    with pytest.raises(ValueError, match=r"x must be \(num_windows\*B, 16, 48\), got shape \(5, 9, 48\)"):
        WindowAttention(48, 4, 3)(torch.zeros(5, 9, 48))
    with pytest.raises(ValueError, match="window_size=4 must divide the map"):
        window_partition(torch.zeros(1, 6, 8, 2), 4)
