"""The PyTorch Swin model: official layout, equal to the numpy reference block by block and as a whole,
other input sizes, caching of the derived buffers, training features, autocast, torch.compile, errors."""
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
    kernels,
    relative_position_index,
    shift_mask,
    window_partition,
    window_reverse,
)
from swin_edu.model.layers import window_order_indices

RTOL = 1e-5  # max |torch - numpy| relative to max |numpy|


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


@pytest.mark.parametrize("H,W,M,s", [(8, 8, 4, 2), (14, 21, 7, 3), (4, 8, 4, 0)])
def test_window_order_indices_are_permutations(H, W, M, s):
    idx = window_order_indices(H, W, M, s)
    L = H * W
    grid = torch.arange(L).view(1, H, W, 1).float()
    order = window_partition(grid, M).reshape(-1).long()
    assert torch.equal(idx["window_order"], order)
    if s:
        shifted = window_partition(torch.roll(grid, (-s, -s), (1, 2)), M).reshape(-1).long()
        assert torch.equal(order[idx["to_shifted"]], shifted)  # window order -> shifted windows
        assert torch.equal(idx["to_shifted"][idx["from_shifted"]], torch.arange(L))
    if H % 2 == 0 and W % 2 == 0:
        merged = PatchMerging.gather(grid).reshape(-1).long()
        assert torch.equal(order[idx["merge"]], merged)


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
    with torch.no_grad():
        out = attn(torch.from_numpy(x), None if mask is None else torch.from_numpy(mask))
        out2, weights = attn(torch.from_numpy(x), None if mask is None else torch.from_numpy(mask), return_attn=True)
    assert rel_err(out, ref) < RTOL and rel_err(out2, ref) < RTOL
    assert torch.allclose(weights.sum(-1), torch.ones(()), atol=1e-5)
    if shift:  # pairs from different regions get (numerically) zero weight
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
        full.clear_cache()
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


def test_fast_paths_equal_the_plain_paths(nano, rng):
    """Window-order stage, fused CPU kernels and cached masks (inference) against the straightforward
    per-block path with autograd on (no cache, no fused kernel)."""
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    x = torch.from_numpy(rng.standard_normal((4, 3, 32, 32)).astype(np.float32))
    with torch.no_grad():
        fast = model(x)
        with kernels.use_fused_cpu_kernels(False):
            unfused = model(x)
    for layer in model.layers:
        layer.window_order = False
    plain = model(x).detach()  # grad enabled: plain linear, bias gathered every call
    assert torch.allclose(fast, plain, atol=1e-5 * plain.abs().max().item(), rtol=0)
    assert torch.allclose(unfused, plain, atol=1e-5 * plain.abs().max().item(), rtol=0)


@pytest.mark.parametrize("chunk", [40, 100, 10_000])
def test_chunked_inference_equals_the_plain_path(nano, rng, monkeypatch, chunk):
    """The CPU inference path runs each block over chunks of whole windows: chunk boundaries that cut
    the batch anywhere give the same result."""
    from swin_edu.model import layers
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    x = torch.from_numpy(rng.standard_normal((3, 3, 32, 32)).astype(np.float32))
    plain = model(x).detach()
    monkeypatch.setattr(layers, "CHUNK_TOKENS", chunk)
    with torch.no_grad():
        out = model(x)
    assert torch.allclose(out, plain, atol=1e-5 * plain.abs().max().item(), rtol=0)


def test_fused_kernels_are_used_at_cpu_inference_only():
    x = torch.zeros(2, 3)
    with torch.no_grad():
        assert kernels.fused_ok(x) == kernels.fused_cpu_available()
        assert not kernels.fused_ok(x.double())
        with kernels.use_fused_cpu_kernels(False):
            assert not kernels.fused_ok(x)
    assert not kernels.fused_ok(x)  # autograd on
    with pytest.raises(TypeError, match="enabled must be a bool"), kernels.use_fused_cpu_kernels(1):
        pass


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


def test_bias_and_mask_are_cached_per_input_size_and_rebuilt(nano, rng):
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    blk = model.layers[0].blocks[1]
    x32 = torch.from_numpy(rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
    x48 = torch.from_numpy(rng.standard_normal((1, 3, 48, 40)).astype(np.float32))
    with torch.no_grad():
        a = model(x32)
        bias = blk.attention_bias(16, 16, torch.float32, torch.device("cpu"))
        assert blk.attention_bias(16, 16, torch.float32, torch.device("cpu")) is bias  # cached
        assert bias.shape == (16, blk.num_heads, 16, 16)
        b = model(x48)
        assert blk.attention_bias(24, 20, torch.float32, torch.device("cpu")).shape == (30, blk.num_heads, 16, 16)
        assert torch.equal(model(x32), a)  # back to the first size: same result
    fresh = model_from_numpy(cfg, sd)
    with torch.no_grad():
        assert torch.equal(fresh(x48), b)


def test_cache_follows_parameter_updates(nano, rng):
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    x = torch.from_numpy(rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
    delta = torch.from_numpy(rng.standard_normal((49, 3)).astype(np.float32))  # not a constant per head:
    with torch.no_grad():                                                       # softmax ignores those
        before = model(x)
        model.layers[0].blocks[1].attn.relative_position_bias_table.add_(delta)  # in place: version bumps
        after = model(x)
    assert not torch.allclose(before, after)
    sd2 = {k: torch.from_numpy(v) for k, v in sd.items()}
    sd2["layers.0.blocks.1.attn.relative_position_bias_table"] = sd2[
        "layers.0.blocks.1.attn.relative_position_bias_table"] + delta
    with torch.no_grad():
        assert torch.allclose(model_from_numpy(cfg, {k: v.numpy() for k, v in sd2.items()})(x), after, atol=1e-6)


def test_packed_cpu_weights_follow_weight_updates(nano, rng):
    """The fused CPU path packs each weight once; a weight changed in place (optimizer step,
    load_state_dict) is packed again."""
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    with torch.no_grad():
        model(x)
        w = model.layers[0].blocks[0].mlp.fc1.weight
        w.mul_(1.5)
        after = model(x)
    with torch.enable_grad():  # plain path, no packing
        expected = model(x).detach()
    assert torch.allclose(after, expected, atol=1e-5 * expected.abs().max().item(), rtol=0)
    if kernels.fused_cpu_available():
        assert id(w) in kernels._PACKED
        model.clear_cache()
        assert id(w) not in kernels._PACKED


@pytest.mark.parametrize("optimizer", ["AdamW-fused", "AdamW-foreach", "SGD"])
def test_inference_caches_follow_every_optimizer_step(nano, rng, optimizer):
    """Regression: fused optimizers update parameters without bumping their version counters, so caches
    keyed on versions alone went stale (evaluation saw the weights of the first eval: a training run on
    digits stayed at 30 % validation accuracy). After steps of any torch.optim optimizer, inference equals
    a fresh model built from the same weights."""
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    params = list(model.parameters())
    opt = {"AdamW-fused": lambda: torch.optim.AdamW(params, lr=1e-2, fused=True),
           "AdamW-foreach": lambda: torch.optim.AdamW(params, lr=1e-2, foreach=True),
           "SGD": lambda: torch.optim.SGD(params, lr=1.0)}[optimizer]()
    for _ in range(2):
        model.eval()
        with torch.no_grad():
            before = model(x)  # fills the bias cache and the packed weights
        model.train()
        loss = model(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after = model(x)
        fresh = model_from_numpy(cfg, {k: v.detach().numpy() for k, v in model.state_dict().items()}).eval()
        expected = fresh(x)
    assert not torch.allclose(before, after)
    assert torch.allclose(after, expected, atol=1e-5 * expected.abs().max().item(), rtol=0)


def test_cuda_masks_are_stored_with_aligned_rows(nano):
    """On CUDA the memory-efficient SDPA kernel wants mask rows aligned to 8 elements, else it pads a
    copy at every call; the cached masks are stored padded (checked here on CPU tensors)."""
    cfg, sd = nano
    blk = model_from_numpy(cfg, sd).layers[0].blocks[1]
    mask = blk.shift_mask_for(16, 16, torch.device("cpu"))
    plain = blk._fused_bias(mask, torch.float32, torch.device("cpu"), batch=3)
    aligned = blk._fused_bias(mask, torch.float32, torch.device("cuda"), batch=3)
    assert plain.shape == aligned.shape == (3 * 16, 3, 16, 16)  # N = 16: aligned already
    blk7 = SwinBlock(24, (14, 14), 3, window_size=7, shift_size=3)
    mask7 = blk7.shift_mask_for(14, 14, torch.device("cpu"))
    a7 = blk7._fused_bias(mask7, torch.float32, torch.device("cuda"), batch=2)
    assert a7.shape == (8, 3, 49, 49) and all(st % 8 == 0 for st in a7.stride()[:-1]) and a7.stride(-1) == 1
    assert torch.equal(a7, blk7._fused_bias(mask7, torch.float32, torch.device("cpu"), batch=2))


def test_training_gathers_the_bias_every_step_and_learns_it(rng):
    cfg = SwinConfig.preset("nano", drop_path_rate=0.0)
    model = SwinTransformer(cfg).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    table = model.layers[0].blocks[1].attn.relative_position_bias_table
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = model(x).logsumexp(-1).sum()
        loss.backward()
        assert table.grad is not None and table.grad.abs().sum() > 0
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():  # eval after training: the cache sees the updated table
        cached = model(x)
    with torch.enable_grad():
        assert torch.allclose(model(x), cached, atol=1e-5)


def test_device_move_clears_caches(nano):
    cfg, sd = nano
    model = model_from_numpy(cfg, sd)
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    assert model.layers[0].blocks[1]._bias_cache
    model.to(torch.float64)
    assert not model.layers[0].blocks[1]._bias_cache
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 32, 32, dtype=torch.float64))
    assert out.dtype == torch.float64


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


@pytest.mark.parametrize("train", [False, True])
def test_torch_compile_fullgraph(nano, rng, train):
    """The model traces into one graph (no graph breaks), in inference and in training. The backend
    is aot_eager here (inductor's compile takes minutes on this CPU; the GPU tests use inductor)."""
    torch._dynamo.reset()
    cfg, sd = nano
    model = model_from_numpy(cfg, sd).train(train)
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    if train:
        cfg0 = dataclasses.replace(cfg, drop_path_rate=0.0)
        model = model_from_numpy(cfg0, sd).train()
        compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
        compiled(x).sum().backward()
        g = model.layers[0].blocks[1].attn.relative_position_bias_table.grad
        assert g is not None and g.abs().sum() > 0
    else:
        with torch.no_grad():
            assert torch.allclose(compiled(x), model(x), atol=1e-5)


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
    with pytest.raises(ValueError, match=r"attn_impl must be one of \('sdpa', 'explicit'\), got 'flash'"):
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
    with pytest.raises(ValueError, match="window_size=4 must divide the map"):
        window_partition(torch.zeros(1, 6, 8, 2), 4)
