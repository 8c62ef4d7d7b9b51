"""Whole-block, padded-shifted-window and sliding-window MACs (issue #16), and the matmul counter that checks
them on the real numpy code. Counts are integers: every comparison is exact."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from swin_edu import complexity as cx
from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.demos.shift_strategies import padded_shifted_window_attention, random_attention_params
from swin_edu.demos.student_model import SwinBlock
from swin_edu.numpy_ref.sliding import sliding_window_attention, sliding_window_attention_naive


def _block_params(C, heads, M, seed=0):
    cfg = SwinConfig(img_size=2 * M, patch_size=1, embed_dim=C, depths=(2,), num_heads=(heads,), window_size=M,
                     num_classes=0)
    return snp.block_params(snp.random_state_dict(cfg, seed=seed), "layers.0.blocks.1.")


def test_block_formula_at_mlp_ratio_4():
    h, w, C, M = 56, 56, 96, 7
    parts = cx.block_breakdown(h, w, C, M)
    assert parts["fc1"] + parts["fc2"] == 8 * h * w * C**2
    assert cx.block_macs(h, w, C, M) == 12 * h * w * C**2 + 2 * M**2 * h * w * C == cx.wmsa_macs(h, w, C, M) + 8 * h * w * C**2
    assert cx.block_macs(h, w, C, M, count_norms=True) == cx.block_macs(h, w, C, M) + 2 * h * w * C
    assert cx.block_macs(h, w, C, M, mlp_ratio=2.0) == cx.block_macs(h, w, C, M) - 4 * h * w * C**2


def test_model_macs_still_official_after_using_block_macs():
    tiny = SwinConfig.preset("tiny")
    assert cx.model_macs(tiny) == cx.OFFICIAL_MACS_TINY
    stages = cx.model_macs(tiny, per_stage=True, count_norms=False)
    # stage 3 of Swin-T: 6 blocks on 14x14x384 plus its patch merging (7x7 tokens, 4C -> 2C)
    assert stages["stage2"] == 6 * cx.block_macs(14, 14, 384, 7) + 7 * 7 * 4 * 384 * 2 * 384


@pytest.mark.parametrize("shift", [0, 2])
def test_block_macs_equal_counted_numpy_block(shift):
    C, heads, M = 12, 3, 4
    params = _block_params(C, heads, M)
    x = np.random.default_rng(0).standard_normal((1, 8, 12, C))
    counted = cx.count_matmul_macs(snp.swin_block, x, params, heads, M, shift)
    assert counted.total == cx.block_macs(8, 12, C, M)
    np.testing.assert_array_equal(counted.result, snp.swin_block(x, params, heads, M, shift))  # same code path
    assert type(counted.result) is np.ndarray


@pytest.mark.parametrize("shift", [0, 3])
def test_block_macs_equal_flop_counter_on_a_torch_block(shift):
    h = w = 14
    C, heads, M = 48, 3, 7
    block = SwinBlock(C, heads, M, shift).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        block(torch.randn(1, h, w, C))
    assert counter.get_total_flops() == 2 * cx.block_macs(h, w, C, M)  # FLOPs = 2 x MACs


def test_padded_wmsa_numbers():
    # the seed's 8x8 map with 4x4 windows: 9 padded windows instead of 4
    assert cx.shifted_window_count(8, 8, 4, 2) == (3, 3)
    assert cx.padded_wmsa_breakdown(8, 8, 16, 4, 2)["windows"] == 9
    assert cx.padded_wmsa_macs(8, 8, 16, 4, 2) * 4 == 9 * cx.wmsa_macs(8, 8, 16, 4)
    # Swin-T stage 1: 81 windows instead of 64
    assert cx.padded_wmsa_macs(56, 56, 96, 7, 3) == 81 * (4 * 49 * 96**2 + 2 * 7**4 * 96)
    assert cx.padded_wmsa_macs(56, 56, 96, 7, 0) == cx.wmsa_macs(56, 56, 96, 7)


@given(h=st.integers(1, 40), w=st.integers(1, 40), M=st.integers(1, 9), data=st.data())
def test_shifted_window_count_matches_the_grid(h, w, M, data):
    s = data.draw(st.integers(0, M - 1))
    rows, cols = cx.shifted_window_count(h, w, M, s)
    assert rows * cols == len(snp.shifted_window_grid(h, w, M, s))


@pytest.mark.parametrize("impl", ["loop", "batched"])
def test_padded_macs_equal_counted_numpy_code(impl):
    B, H, W, C, heads, M, s = 2, 8, 12, 6, 2, 4, 2
    params = random_attention_params(C, heads, M, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((B, H, W, C))
    fn = snp.padded_window_attention if impl == "loop" else padded_shifted_window_attention
    assert cx.count_matmul_macs(fn, x, params, heads, M, s).total == B * cx.padded_wmsa_macs(H, W, C, M, s)


def test_cyclic_shift_costs_what_wmsa_costs():
    B, H, W, C, heads, M = 1, 8, 8, 6, 2, 4
    params = random_attention_params(C, heads, M, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((B, H, W, C))
    for s in (0, 2):
        assert cx.count_matmul_macs(snp.shifted_window_attention, x, params, heads, M, s).total == \
            cx.wmsa_macs(H, W, C, M)


@pytest.mark.parametrize("M", [1, 3, 4, 7])
def test_sliding_macs_equal_counted_code(M):
    B, H, W, C, heads = 2, 5, 6, 6, 2
    p = random_attention_params(C, heads, M, dtype=np.float64)
    x = np.random.default_rng(M).standard_normal((B, H, W, C))
    args = (p["qkv.weight"], p["qkv.bias"], p["proj.weight"], p["proj.bias"], heads, M, p["relative_position_bias_table"])
    assert cx.count_matmul_macs(sliding_window_attention, x, *args).total == B * cx.sliding_window_macs(H, W, C, M)
    # the same MACs as W-MSA: 4hwC^2 + 2M^2hwC
    assert cx.sliding_window_macs(56, 56, 96, 7) == cx.wmsa_macs(56, 56, 96, 7)


@given(h=st.integers(1, 12), w=st.integers(1, 12), M=st.integers(1, 8))
def test_sliding_macs_without_padding_count_the_in_map_neighbours(h, w, M):
    rows, cols = np.divmod(np.arange(h * w), w)
    before, after = M // 2, M - 1 - M // 2
    dr = rows[:, None] - rows[None, :]
    dc = cols[:, None] - cols[None, :]
    # key j is in the neighbourhood of query i when its offset lies in [-before, after] on both axes
    pairs = int(((-dr >= -before) & (-dr <= after) & (-dc >= -before) & (-dc <= after)).sum())
    parts = cx.sliding_window_breakdown(h, w, 4, M, count_padding=False)
    assert parts["qk"] == parts["av"] == pairs * 4
    assert cx.sliding_window_macs(h, w, 4, M, count_padding=False) <= cx.sliding_window_macs(h, w, 4, M)


def test_naive_sliding_macs_equal_the_batched_ones():
    B, H, W, C, heads, M = 1, 4, 5, 4, 2, 3
    p = random_attention_params(C, heads, M, dtype=np.float64)
    x = np.random.default_rng(3).standard_normal((B, H, W, C))
    args = (p["qkv.weight"], p["qkv.bias"], p["proj.weight"], p["proj.bias"], heads, M)
    # the naive loop computes only the in-map neighbours: its count is the count_padding=False one
    assert cx.count_matmul_macs(sliding_window_attention_naive, x, *args).total == \
        cx.sliding_window_macs(H, W, C, M, count_padding=False)


def test_counter_shapes_and_refusals():
    a, b = np.ones((5, 2, 3)), np.ones((3, 4))
    counted = cx.count_matmul_macs(lambda a, b: (a @ b, np.dot(b.T, b)), a, b)
    assert counted.calls == (((5, 2, 3), (3, 4), 5 * 2 * 3 * 4), ((4, 3), (3, 4), 4 * 3 * 4))
    assert counted.total == 120 + 48
    assert cx.count_matmul_macs(lambda v: v @ v, np.ones(7)).total == 7       # a dot product of two vectors
    assert cx.count_matmul_macs(lambda d: d["w"] @ d["x"], {"w": np.ones((2, 3)), "x": np.ones(3)}).total == 6
    with pytest.raises(TypeError, match="einsum"):
        cx.count_matmul_macs(lambda a: np.einsum("ij,jk->ik", a, a.T), np.ones((2, 3)))
    with pytest.raises(TypeError, match="fn must be callable"):
        cx.count_matmul_macs(3)
    with pytest.raises(RuntimeError, match="nested"):
        cx.count_matmul_macs(lambda: cx.count_matmul_macs(lambda: None))
    # after counting, the arrays are plain again and nothing is recorded
    assert cx._TALLY is None


@pytest.mark.parametrize("call, message", [
    (lambda: cx.block_macs(56, 56, 96, 0), "M must be a positive int, got 0"),
    (lambda: cx.block_macs(56, 56, 96, 7, mlp_ratio=0), "mlp_ratio must be > 0"),
    (lambda: cx.block_macs(56, 56, 2, 7, mlp_ratio=0.1), "empty MLP hidden layer"),
    (lambda: cx.block_macs(56, 56, 96, 7, count_norms=1), "count_norms must be a bool"),
    (lambda: cx.shifted_window_count(8, 8, 4, 4), "s must be smaller than M=4, got 4"),
    (lambda: cx.padded_wmsa_macs(8, 8, 16, 4, -1), "s must be a >= 0 int, got -1"),
    (lambda: cx.sliding_window_macs(8, 8.0, 16, 4), "w must be an int, got 8.0"),
])
def test_arguments_are_validated(call, message):
    with pytest.raises((TypeError, ValueError), match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_mlp_ratio_int_is_accepted():
    assert cx.block_macs(7, 7, 8, 7, mlp_ratio=4) == cx.block_macs(7, 7, 8, 7)
    assert math.isclose(cx.block_macs(7, 7, 8, 7), 12 * 49 * 64 + 2 * 49 * 49 * 8)
