"""Notebook 03's capstone (SW-MSA from its pieces, its classic mistakes) and notebook 07's student torch
modules (issue #16).

Capstone: float64; the reference and the package differ only in summation order (~1e-15), every mistake
moves the output by more than 0.5 somewhere, so rtol=1e-6/atol=1e-8 separates right from wrong.
Torch: float32 against the package model; different op orders give ~1e-7 relative, 1e-5 (the course's
bar) relative to the logits' size holds on any BLAS."""
import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from swin_edu import complexity as cx
from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.demos.capstone_reference import (
    CASES,
    ERROR_HINTS,
    MISTAKES,
    capstone_case,
    match_mistake,
    sw_msa_reference,
)
from swin_edu.demos.student_model import StudentSwin, SwinBlock, learned_only
from swin_edu.layout import state_dict_shapes
from swin_edu.model import SwinTransformer


@pytest.mark.parametrize("label, args", CASES, ids=[c[0] for c in CASES])
def test_capstone_reference_equals_package_and_padded_windows(label, args):
    ref = sw_msa_reference(*args)
    x, params, heads, M, s = args
    np.testing.assert_allclose(ref, snp.shifted_window_attention(x, params, heads, M, s), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ref, snp.padded_window_attention(x, params, heads, M, s), rtol=1e-10, atol=1e-10)
    assert match_mistake(ref, args) is None


def test_every_mistake_is_caught_and_told_apart():
    outputs = {}
    for m in MISTAKES:
        for n, (label, args) in enumerate(CASES):
            try:
                outputs[m.name, n] = m.wrong(*args)
            except ValueError as err:            # e.g. the mask over heads with 3 heads and 4 windows
                assert any(key in str(err) for key in ERROR_HINTS), err
                continue
        caught = [n for n in range(len(CASES)) if (m.name, n) in outputs
                  and not np.allclose(outputs[m.name, n], sw_msa_reference(*CASES[n][1]), rtol=1e-6, atol=1e-8)]
        assert caught, f"{m.name} is never caught"
        assert all(match_mistake(outputs[m.name, n], CASES[n][1]) == m.name for n in caught), m.name
    names = [m.name for m in MISTAKES]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = [n for n in range(len(CASES)) if (a, n) in outputs and (b, n) in outputs]
            assert any(not np.allclose(outputs[a, n], outputs[b, n], rtol=1e-6, atol=1e-8) for n in both), (a, b)


def test_the_classic_four_are_there():
    assert {"no_reverse_roll", "roll_plus", "mask_over_heads", "mask_after_softmax"} <= {m.name for m in MISTAKES}
    assert all(m.message and m.message[0].islower() for m in MISTAKES)


def test_capstone_without_shift_is_wmsa():
    x, params, heads, M, _ = capstone_case(1, 8, 8, 8, 2, 4, 0, seed=5)
    np.testing.assert_allclose(sw_msa_reference(x, params, heads, M, 0),
                               snp.shifted_window_attention(x, params, heads, M, 0), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("call, error, message", [
    (lambda: sw_msa_reference(np.ones((8, 8, 4)), {}, 2, 4, 2), ValueError, "x must have 4 dimensions"),
    (lambda: sw_msa_reference(np.ones((1, 8, 8, 4)), {}, 2, 4, 4), ValueError, "shift_size must be smaller"),
    (lambda: sw_msa_reference(np.ones((1, 8, 6, 4)), {}, 2, 4, 2), ValueError, "must divide the map 8x6"),
    (lambda: sw_msa_reference(np.ones((1, 8, 8, 4)), {}, 3, 4, 2), ValueError, "num_heads=3 must divide C=4"),
    (lambda: sw_msa_reference(np.ones((1, 8, 8, 4)), {}, 2, 4, 2), KeyError, "no key 'qkv.weight'"),
    (lambda: sw_msa_reference(*capstone_case(1, 8, 8, 4, 2, 4, 2)[:1], {**capstone_case(1, 8, 8, 4, 2, 4, 2)[1],
                              "qkv.bias": np.ones(3)}, 2, 4, 2), ValueError, r"params\['qkv.bias'\] must have shape \(12,\)"),
])
def test_capstone_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------------------- notebook 07's modules
def _compare(cfg, batch, seed=0):
    torch.manual_seed(seed)
    package = SwinTransformer(cfg).eval()
    student = StudentSwin(cfg).eval()
    official = package.state_dict()
    assert set(learned_only(official)) == set(state_dict_shapes(cfg, buffers=False))
    student.load_state_dict(learned_only(official), strict=True)          # the official layout, strict
    images = torch.randn(batch, cfg.in_chans, *cfg.img_hw, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        want, got = package(images), student(images)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5 * max(1.0, want.abs().max().item()))
    return want


def test_student_modules_match_the_package_nano():
    _compare(SwinConfig.preset("nano"), batch=3)


def test_student_modules_match_the_package_swin_t_small_input():
    """Swin-T's widths and depths at 64 x 64 with window 4: maps 16, 8, 4, 2 exercise the window rule
    (stage 3 does not shift, stage 4's window shrinks to 2)."""
    cfg = SwinConfig.preset("tiny", img_size=64, window_size=4)
    assert cfg.stage_windows() == ((4, 2), (4, 2), (4, 0), (2, 0))
    _compare(cfg, batch=2)


@pytest.mark.slow
def test_student_modules_match_the_package_swin_t_224():
    _compare(SwinConfig.preset("tiny"), batch=1)


def test_student_model_flops_at_224_equal_the_formula():
    cfg = SwinConfig.preset("tiny")
    with torch.device("meta"):
        model = StudentSwin(cfg)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, 224, 224, device="meta"))
    assert counter.get_total_flops() == 2 * cx.model_macs(cfg, count_norms=False)


def test_student_block_keys_are_official():
    keys = set(SwinBlock(12, 3, 4, 2).state_dict())
    assert keys == {"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                    "attn.proj.bias", "attn.relative_position_bias_table", "norm2.weight", "norm2.bias",
                    "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_student_modules_match_on_a_gpu():
    cfg = SwinConfig.preset("nano")
    package = SwinTransformer(cfg).eval()
    student = StudentSwin(cfg).eval()
    student.load_state_dict(learned_only(package.state_dict()))
    images = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        want = package(images)
        got = student.cuda()(images.cuda()).cpu()
    torch.testing.assert_close(got, want, rtol=0, atol=1e-4 * max(1.0, want.abs().max().item()))  # TF32 matmuls


@pytest.mark.parametrize("call, error, message", [
    (lambda: StudentSwin("nano"), TypeError, "cfg must be a SwinConfig"),
    (lambda: StudentSwin(SwinConfig.preset("nano", ape=True)), ValueError, r"official defaults of \['ape'\]"),
    (lambda: StudentSwin(SwinConfig.preset("tiny", img_size=112)), ValueError, "even before a patch merging"),
    (lambda: StudentSwin(SwinConfig.preset("nano"))(torch.ones(1, 3, 16, 16)), ValueError,
     r"images must be \(B, 3, 32, 32\)"),
    (lambda: learned_only([1]), TypeError, "state_dict must be a mapping"),
])
def test_student_model_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()
