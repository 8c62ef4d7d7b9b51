"""Sliding-window attention, SW-MSA by padding (batched), and the Table-5 comparison (issue #16).

Float64 throughout: the implementations differ only in summation order and in how the excluded keys get a
zero weight (-inf in all of them), so they agree to ~1e-15 relative; 1e-10 leaves room for any BLAS."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swin_edu import numpy_ref as snp
from swin_edu.demos.shift_strategies import (
    padded_shifted_window_attention,
    random_attention_params,
    shift_strategy_costs,
    time_shift_strategies,
)
from swin_edu.numpy_ref.sliding import sliding_window_attention, sliding_window_attention_naive

TOL = dict(rtol=1e-10, atol=1e-10)


def _args(p, heads, M, bias=True):
    return (p["qkv.weight"], p["qkv.bias"], p["proj.weight"], p["proj.bias"], heads, M,
            p["relative_position_bias_table"] if bias else None)


@given(B=st.integers(1, 2), H=st.integers(1, 6), W=st.integers(1, 6), M=st.integers(1, 5),
       heads=st.sampled_from([1, 2]), bias=st.booleans())
def test_sliding_equals_the_naive_loop(B, H, W, M, heads, bias):
    C = 2 * heads
    p = random_attention_params(C, heads, M, seed=H * 7 + W, dtype=np.float64)
    x = np.random.default_rng(M).standard_normal((B, H, W, C))
    got = sliding_window_attention(x, *_args(p, heads, M, bias))
    assert got.shape == x.shape
    np.testing.assert_allclose(got, sliding_window_attention_naive(x, *_args(p, heads, M, bias)), **TOL)


@given(H=st.integers(1, 5), W=st.integers(1, 5), heads=st.sampled_from([1, 3]))
def test_sliding_with_a_window_covering_the_map_is_global_attention(H, W, heads):
    """M >= 2*max(H, W) - 1: every query's neighbourhood holds the whole map; without a bias that is MSA."""
    C, M = 3 * heads, 2 * max(H, W) - 1
    p = random_attention_params(C, heads, M, seed=1, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((2, H, W, C))
    msa = snp.window_attention(x.reshape(2, H * W, C), p["qkv.weight"], p["qkv.bias"], p["proj.weight"],
                               p["proj.bias"], heads).reshape(x.shape)
    np.testing.assert_allclose(sliding_window_attention(x, *_args(p, heads, M, bias=False)), msa, **TOL)


def test_sliding_window_one_is_the_value_projection():
    """M = 1: a query sees only itself, the softmax weight is 1, the output is proj(v)."""
    C, heads = 4, 2
    p = random_attention_params(C, heads, 1, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((1, 3, 3, C))
    v = x @ p["qkv.weight"][2 * C:].T + p["qkv.bias"][2 * C:]
    np.testing.assert_allclose(sliding_window_attention(x, *_args(p, heads, 1)), v @ p["proj.weight"].T + p["proj.bias"], **TOL)


def test_sliding_bias_uses_the_offsets_of_the_centre_query():
    """With q = k = 0 the logits are the bias alone: an interior query's weights are softmax of the bias the
    centre token of an M x M window gives its keys (offsets query - key, as relative_position_index)."""
    C, heads, M = 2, 1, 3
    p = random_attention_params(C, heads, M, dtype=np.float64)
    p["qkv.weight"][: 2 * C] = 0
    p["qkv.bias"][: 2 * C] = 0
    p["qkv.weight"][2 * C:] = np.eye(C)
    p["qkv.bias"][2 * C:] = 0
    p["proj.weight"], p["proj.bias"] = np.eye(C), np.zeros(C)
    x = np.random.default_rng(0).standard_normal((1, 5, 5, C))
    out = sliding_window_attention(x, *_args(p, heads, M))
    bias = p["relative_position_bias_table"][snp.relative_position_index(M)[4], 0]   # centre token 4 of 3x3
    weights = snp.softmax(bias)
    expected = (weights[:, None] * x[0, 1:4, 1:4].reshape(9, C)).sum(0)             # neighbourhood of (2, 2)
    np.testing.assert_allclose(out[0, 2, 2], expected, **TOL)


@st.composite
def shifted_cases(draw):
    M = draw(st.integers(2, 5))
    return (draw(st.integers(1, 2)), M * draw(st.integers(1, 3)), M * draw(st.integers(1, 3)), M,
            draw(st.integers(0, M - 1)))


@given(shifted_cases())
def test_padded_batched_equals_cyclic_shift_and_the_loop(case):
    B, H, W, M, s = case
    C, heads = 6, 2
    p = random_attention_params(C, heads, M, seed=H + W, dtype=np.float64)
    x = np.random.default_rng(M + s).standard_normal((B, H, W, C))
    got = padded_shifted_window_attention(x, p, heads, M, s)
    np.testing.assert_allclose(got, snp.shifted_window_attention(x, p, heads, M, s), **TOL)
    np.testing.assert_allclose(got, snp.padded_window_attention(x, p, heads, M, s), **TOL)


def test_strategy_costs_swin_t_stage1():
    costs = shift_strategy_costs(56, 56, 96, 7)
    assert {k: v["windows"] for k, v in costs.items()} == {"cyclic shift + mask": 64, "padding": 81, "sliding window": 3136}
    assert costs["padding"]["macs"] * 64 == costs["cyclic shift + mask"]["macs"] * 81
    assert costs["sliding window"]["macs"] == costs["cyclic shift + mask"]["macs"] == 145_108_992
    assert shift_strategy_costs(8, 8, 16, 4)["padding"]["windows"] == 9


def test_time_shift_strategies_returns_timings_and_agreement():
    out = time_shift_strategies(8, 8, 12, 4, 3, repeats=1, loop=True)
    assert list(out["timings"]) == ["W-MSA (no shift)", "cyclic shift + mask", "padding (batched)", "sliding window",
                                    "padding (loop over windows)"]
    for t in out["timings"].values():       # shape of the report only: no timing is compared
        assert len(t["runs_s"]) == 1 and t["best_s"] == t["median_s"] >= 0
    assert out["max_abs_difference"] < 1e-5  # float32 maps: both ways agree to float32 rounding
    assert out["costs"] == shift_strategy_costs(8, 8, 12, 4, 2)


@pytest.mark.parametrize("call, error, message", [
    (lambda: sliding_window_attention(np.ones((2, 2, 4)), np.ones((12, 4)), None, np.ones((4, 4)), None, 2, 3),
     ValueError, r"x must have 4 dimensions \(B, H, W, C\)"),
    (lambda: sliding_window_attention(np.ones((1, 2, 2, 4)), np.ones((12, 4)), None, np.ones((4, 4)), None, 3, 3),
     ValueError, "num_heads=3 must divide the channel count C=4"),
    (lambda: sliding_window_attention(np.ones((1, 2, 2, 4)), np.ones((8, 4)), None, np.ones((4, 4)), None, 2, 3),
     ValueError, r"qkv_weight must have shape \(12, 4\)"),
    (lambda: sliding_window_attention(np.ones((1, 2, 2, 4)), np.ones((12, 4)), None, np.ones((4, 4)), None, 2, 3,
                                      np.ones((9, 2))), ValueError, r"relative_position_bias_table must have shape \(25, 2\)"),
    (lambda: padded_shifted_window_attention(np.ones((1, 6, 6, 4)), {}, 2, 4, 2), ValueError, "must divide the map 6x6"),
    (lambda: padded_shifted_window_attention(np.ones((1, 8, 8, 4)), [], 2, 4, 2), TypeError, "params must be a mapping"),
    (lambda: padded_shifted_window_attention(np.ones((1, 8, 8, 4)), {}, 2, 4, 2), KeyError, "no key 'qkv.weight'"),
    (lambda: random_attention_params(6, 4, 3), ValueError, "num_heads=4 must divide C=6"),
    (lambda: shift_strategy_costs(8, 8, 16, 4, 4), ValueError, "s must be smaller than M=4"),
])
def test_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()
