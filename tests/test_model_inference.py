"""optimize_for_inference: the fast inference step equals the plain model on every path (window order,
padding tokens, chunks that split an image or hold several, masks per window, ablations), shares the
plain model's weights and state-dict keys, keeps no tensor between calls, and refuses training.

Tolerance: both models compute in float32; the optimized one sums in other orders (chunks, SDPA's
blocked softmax, the residual inside the matrix product), so they agree to float32 rounding: 1e-5 of
the largest logit (see test_model.py for why that holds on any BLAS and thread count).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.model import (
    InferenceSwin,
    PatchMerging,
    SwinTransformer,
    optimize_for_inference,
    window_partition,
)
from swin_edu.model.inference import window_order_indices

RTOL = 1e-5


def close(out, ref):
    return torch.allclose(out, ref, atol=RTOL * ref.abs().max().item(), rtol=0)


def plain_from_numpy(cfg, seed=3, **kw):
    model = SwinTransformer(cfg, **kw).eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in snp.random_state_dict(cfg, seed=seed).items()})
    return model


@pytest.fixture(scope="module")
def nano():
    cfg = SwinConfig.preset("nano")
    return cfg, plain_from_numpy(cfg)


def images(batch, h, w, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((batch, 3, h, w)).astype(np.float32))


# ----------------------------------------------------------------------------------------- equal to plain
@pytest.mark.parametrize("chunk", [None, 16, 40, 100, 8192])
@pytest.mark.parametrize("size", [(32, 32), (27, 45), (50, 20), (5, 3)])
def test_equals_the_plain_model(nano, chunk, size):
    """Chunks of one window (16 tokens), of part of an image, of several images, or none; maps that the
    window divides, that need padding tokens, and that are smaller than a window."""
    _, plain = nano
    fast = optimize_for_inference(plain, chunk_tokens=chunk)
    x = images(3, *size)
    with torch.no_grad():
        assert close(fast(x), plain(x))


@settings(max_examples=8, deadline=None)
@given(h=st.integers(2, 40), w=st.integers(2, 40), batch=st.integers(1, 4), chunk=st.integers(16, 600))
def test_any_size_batch_and_chunk(h, w, batch, chunk):
    cfg = SwinConfig.preset("nano")
    plain = plain_from_numpy(cfg, seed=5)
    fast = optimize_for_inference(plain, chunk_tokens=chunk)
    x = images(batch, h, w, seed=h * 100 + w)
    with torch.no_grad():
        assert close(fast(x), plain(x))


@pytest.mark.parametrize("overrides", [
    {"shift_windows": False}, {"rel_pos_bias": False}, {"ape": True, "qkv_bias": False, "patch_norm": False},
    {"num_classes": 0}, {"qk_scale": 0.3}, {"img_size": (24, 40), "window_size": 3},
], ids=lambda d: ",".join(d))
def test_equals_the_plain_model_for_every_config(overrides):
    cfg = SwinConfig.preset("nano", **overrides)
    plain = plain_from_numpy(cfg, seed=4)
    fast = optimize_for_inference(plain, chunk_tokens=40)
    x = images(2, *cfg.img_hw)
    with torch.no_grad():
        out = fast(x)
        assert close(out, plain(x))
    assert np.allclose(out.numpy(), snp.swin_forward(snp.random_state_dict(cfg, seed=4), x.numpy(), cfg),
                       atol=RTOL * out.abs().max().item(), rtol=0)


def test_swin_t_equals_the_plain_model():
    cfg = SwinConfig.preset("tiny")
    torch.manual_seed(0)
    plain = SwinTransformer(cfg).eval()
    with torch.no_grad():
        for p in plain.parameters():  # weights of visible size (the init leaves biases at 0)
            p.add_(0.05 * torch.randn_like(p))
        x = images(2, 224, 224)
        assert close(optimize_for_inference(plain)(x), plain(x))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_other_dtypes(nano, dtype):
    cfg, _ = nano
    plain = plain_from_numpy(cfg).to(dtype)
    fast = optimize_for_inference(plain)
    x = images(2, 32, 32).to(dtype)
    with torch.no_grad():
        out, ref = fast(x), plain(x)
    assert out.dtype == dtype
    tol = 1e-12 if dtype == torch.float64 else 1e-2  # float64 rounding; fp16's 11-bit mantissa over ~20 layers
    assert torch.allclose(out.float(), ref.float(), atol=tol * ref.abs().max().item(), rtol=0)


def test_cpu_autocast(nano):
    _, plain = nano
    fast = optimize_for_inference(plain)
    x = images(2, 32, 32)
    with torch.no_grad():
        ref = plain(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = fast(x)
    assert (out.float() - ref).abs().max() < 5e-2 * ref.abs().max()  # bf16: 8-bit mantissa


# ----------------------------------------------------------------------------------------- the window order
@pytest.mark.parametrize("H,W,M,s", [(8, 8, 4, 2), (14, 21, 7, 3), (4, 8, 4, 0)])
def test_window_order_indices_are_permutations(H, W, M, s):
    idx = window_order_indices(H, W, M, s)
    L = H * W
    grid = torch.arange(L).view(1, H, W, 1).float()
    order = window_partition(grid, M).reshape(-1).long()
    assert torch.equal(idx["order"], order)
    assert torch.equal(order[idx["inverse"]], torch.arange(L))
    if s:
        shifted = window_partition(torch.roll(grid, (-s, -s), (1, 2)), M).reshape(-1).long()
        assert torch.equal(order[idx["to_shifted"]], shifted)  # window order -> shifted windows
        assert torch.equal(idx["to_shifted"][idx["from_shifted"]], torch.arange(L))
    assert PatchMerging.gather(grid).shape[-1] == 4


# ----------------------------------------------------------------------------------------- shares, keeps nothing
def test_shares_modules_weights_and_keys(nano):
    _, plain = nano
    fast = optimize_for_inference(plain)
    assert isinstance(fast, InferenceSwin) and isinstance(fast, SwinTransformer)
    assert list(fast.state_dict()) == list(plain.state_dict())
    assert all(a is b for a, b in zip(fast.parameters(), plain.parameters()))
    assert fast.layers is plain.layers
    with torch.device("meta"):
        tiny = optimize_for_inference(SwinTransformer(SwinConfig.preset("tiny")))
    assert len(tiny.state_dict()) == 190


def test_keeps_no_tensor_between_calls(nano):
    """Nothing grows with the batch: the only tensors held are the plain model's parameters and
    derived buffers, before and after forwards of any batch size."""
    _, plain = nano
    fast = optimize_for_inference(plain)

    def held():
        return {(name, k): tuple(v.shape) for name, m in fast.named_modules() for k, v in vars(m).items()
                if isinstance(v, torch.Tensor)} | {k: tuple(v.shape) for k, v in fast.state_dict().items()}

    before = held()
    with torch.no_grad():
        for batch in (1, 16, 3):
            fast(images(batch, 32, 32))
            assert held() == before


def test_the_plain_model_in_train_mode_does_not_change_it(nano):
    """Shared modules keep their own train/eval flags; the fast path never reads them (no dropout)."""
    cfg = SwinConfig.preset("nano", drop_rate=0.3, drop_path_rate=0.3)
    plain = plain_from_numpy(cfg)
    fast = optimize_for_inference(plain)
    x = images(2, 32, 32)
    with torch.no_grad():
        ref = plain.eval()(x)
        plain.train()
        assert close(fast(x), ref)
    assert plain.training and all(m.training for m in plain.modules())


# ----------------------------------------------------------------------------------------- refuses training
def test_refuses_training(nano):
    _, plain = nano
    fast = optimize_for_inference(plain)
    with pytest.raises(RuntimeError, match=r"\.train\(\): a model from optimize_for_inference is for inference only"):
        fast.train()
    assert fast.eval() is fast and not fast.training
    x = images(2, 32, 32)
    out = fast(x)  # autograd on: the forward works ...
    assert close(out.detach(), plain(x).detach())
    with pytest.raises(RuntimeError, match="backward: a model from optimize_for_inference is for inference only"):
        out.sum().backward()  # ... the backward does not


def test_errors(nano):
    _, plain = nano
    with pytest.raises(TypeError, match="model must be a swin_edu.model.SwinTransformer, got Linear"):
        optimize_for_inference(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="already optimized"):
        optimize_for_inference(optimize_for_inference(plain))
    with pytest.raises(ValueError, match="chunk_tokens must be a positive int, got 0"):
        optimize_for_inference(plain, chunk_tokens=0)
    fast = optimize_for_inference(plain)
    with pytest.raises(ValueError, match="return_stages is not available"):
        fast(images(1, 32, 32), return_stages=True)
    with pytest.raises(ValueError, match="3 channels in axis 1"):
        fast(torch.zeros(1, 4, 32, 32))
