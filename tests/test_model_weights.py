"""Every way of changing the weights is seen by the next forward, in the plain model and in the model of
optimize_for_inference (which shares the plain model's modules): in-place updates through ``.data``
(the hand-written SGD loop), an optimizer (fused AdamW updates without bumping version counters), a
parametrization, ``load_state_dict`` after a forward, a weight swapped for a new Parameter, a dtype
change. Regression: caches keyed on versions, data pointers and an optimizer-step hook went stale on
``.data`` writes (0.199 off) and on parametrizations.

Each check compares with a fresh model built from the changed weights. Tolerance: the same fp32 ops in
another model object give the same numbers up to summation order (the optimized path sums in chunks and
in SDPA): 1e-5 of the largest logit, as in test_model.py; each change here moves the logits by > 1e-3.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import parametrize

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.model import SwinTransformer, optimize_for_inference

RTOL = 1e-5
KINDS = ["plain", "optimized"]


@pytest.fixture(scope="module")
def nano():
    cfg = SwinConfig.preset("nano")
    return cfg, {k: torch.from_numpy(v) for k, v in snp.random_state_dict(cfg, seed=11).items()}


def start(nano, x, kind):
    """(cfg, plain model, the model under test, its logits before the change)."""
    cfg, sd = nano
    plain = SwinTransformer(cfg).eval()
    plain.load_state_dict(sd)
    model = plain if kind == "plain" else optimize_for_inference(plain)
    with torch.no_grad():
        before = model(x)
    return cfg, plain, model, before


def assert_like_fresh(model, cfg, x, state_dict=None, moved=True, before=None):
    """model(x) equals a fresh plain model loaded with ``state_dict`` (default: model's own)."""
    fresh = SwinTransformer(cfg).eval()
    fresh.load_state_dict({k: v.detach().float() for k, v in (state_dict or model.state_dict()).items()})
    with torch.no_grad():
        out, ref = model(x), fresh(x)
    assert torch.allclose(out.float(), ref, atol=RTOL * ref.abs().max().item(), rtol=0)
    if moved:
        assert (ref - before).abs().max() > 1e-3 * ref.abs().max()  # 100x the tolerance: the change shows


@pytest.fixture
def x():
    return torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32))


@pytest.mark.parametrize("kind", KINDS)
def test_data_updates_are_seen(nano, x, kind):
    """The update loop many courses write: p.data.add_(...) bypasses autograd and version counters."""
    cfg, plain, model, before = start(nano, x, kind)
    g = torch.Generator().manual_seed(1)
    for p in plain.parameters():
        p.data.add_(0.05 * torch.randn(p.shape, generator=g))
    assert_like_fresh(model, cfg, x, before=before)


@pytest.mark.parametrize("kind", KINDS)
def test_optimizer_steps_are_seen(nano, x, kind):
    cfg, plain, model, before = start(nano, x, kind)
    opt = torch.optim.AdamW(plain.parameters(), lr=1e-2, fused=True)  # no version bumps
    plain.train()
    for _ in range(2):
        loss = plain(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        plain.eval()
        with torch.no_grad():
            model(x)  # evaluation between steps
        plain.train()
    plain.eval()
    assert_like_fresh(model, cfg, x, before=before)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", ["layers.0.blocks.1.attn.qkv", "layers.0.blocks.1.attn"])
def test_a_parametrization_is_seen(nano, x, kind, target):
    """torch.nn.utils.parametrize: the weight is computed from the original at every access."""
    cfg, plain, model, before = start(nano, x, kind)

    name = "weight" if target.endswith("qkv") else "relative_position_bias_table"
    module = plain.get_submodule(target)
    delta = torch.randn(getattr(module, name).shape, generator=torch.Generator().manual_seed(2))

    class AddDelta(torch.nn.Module):
        def forward(self, w):
            return w + delta

    parametrize.register_parametrization(module, name, AddDelta())
    expected = {k.replace(f"{target}.parametrizations.{name}.original", f"{target}.{name}"): v
                for k, v in plain.state_dict().items()}
    expected[f"{target}.{name}"] = expected[f"{target}.{name}"] + delta
    assert_like_fresh(model, cfg, x, state_dict=expected, before=before)
    parametrize.remove_parametrizations(module, name, leave_parametrized=False)
    assert_like_fresh(model, cfg, x, moved=False)


@pytest.mark.parametrize("kind", KINDS)
def test_load_state_dict_after_a_forward_is_seen(nano, x, kind):
    cfg, _, model, before = start(nano, x, kind)
    other = {k: torch.from_numpy(v) for k, v in snp.random_state_dict(cfg, seed=12).items()}
    model.load_state_dict(other)  # into the optimized model itself: same keys as the plain one
    assert_like_fresh(model, cfg, x, state_dict=other, before=before)


@pytest.mark.parametrize("kind", KINDS)
def test_a_swapped_weight_is_seen(nano, x, kind):
    cfg, plain, model, before = start(nano, x, kind)
    fc1 = plain.layers[1].blocks[0].mlp.fc1
    fc1.weight = torch.nn.Parameter(torch.randn_like(fc1.weight) * 0.5)
    assert_like_fresh(model, cfg, x, before=before)


@pytest.mark.parametrize("kind", KINDS)
def test_a_dtype_change_after_a_forward(nano, x, kind):
    _, plain, model, ref = start(nano, x, kind)
    plain.to(torch.float64)
    with torch.no_grad():
        out = model(x.double())
    assert out.dtype == torch.float64
    assert torch.allclose(out.float(), ref, atol=RTOL * ref.abs().max().item(), rtol=0)
