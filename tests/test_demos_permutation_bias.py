"""Roll + partition as one gather (numpy and torch) and the bias-table resize for 384 inputs (issue #16).
Gathers move numbers without arithmetic: compared exactly."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.demos.bias_resize import bias_grid, bias_resize_demo, resize_bias_table, swin_t_384_windows
from swin_edu.demos.permutation import gather_tokens, inverse_permutation, roll_partition_index
from swin_edu.demos.permutation_torch import (
    roll_partition_index_torch,
    shifted_windows_by_index,
    shifted_windows_by_roll,
    time_roll_vs_index,
    windows_to_map_by_index,
)
from swin_edu.model import SwinTransformer, load_checkpoint


@st.composite
def maps(draw):
    M = draw(st.integers(1, 5))
    return (draw(st.integers(1, 2)), M * draw(st.integers(1, 3)), M * draw(st.integers(1, 3)),
            draw(st.integers(1, 3)), M, draw(st.integers(0, M - 1)))


@given(maps())
def test_numpy_index_is_roll_plus_partition(case):
    B, H, W, C, M, s = case
    x = np.random.default_rng(H * W).standard_normal((B, H, W, C))
    index = roll_partition_index(H, W, M, s)
    assert sorted(index.tolist()) == list(range(H * W))                 # a permutation
    expected = snp.window_partition(snp.cyclic_shift(x, s), M)
    np.testing.assert_array_equal(gather_tokens(x, index).reshape(-1, M, M, C), expected)
    if B == 1:
        np.testing.assert_array_equal(x.reshape(-1, C)[index], expected.reshape(-1, C))   # the form
    # the inverse index is window reverse + reverse shift
    back = expected.reshape(B, H * W, C)[:, inverse_permutation(index)].reshape(B, H, W, C)
    np.testing.assert_array_equal(back, x)


@given(maps())
def test_torch_twin_equals_numpy_and_torch_roll(case):
    B, H, W, C, M, s = case
    index = roll_partition_index_torch(H, W, M, s)
    np.testing.assert_array_equal(index.numpy(), roll_partition_index(H, W, M, s))
    x = torch.randn(B, H, W, C, generator=torch.Generator().manual_seed(H + W + s))
    windows = shifted_windows_by_index(x, index, M)
    assert torch.equal(windows, shifted_windows_by_roll(x, M, s))
    inverse = torch.from_numpy(inverse_permutation(index.numpy()))
    assert torch.equal(windows_to_map_by_index(windows, inverse, H, W), x)


def test_time_roll_vs_index_reports_equal_tensors():
    out = time_roll_vs_index(2, 8, 8, 4, 4, repeats=1)
    assert out["equal"] is True and set(out["timings"]) == {"roll + partition", "index_select"}


@pytest.mark.parametrize("call, error, message", [
    (lambda: roll_partition_index(8, 6, 4, 2), ValueError, "window_size=4 must divide the map 8x6"),
    (lambda: roll_partition_index(8, 8, 4, 5), ValueError, "shift_size must be smaller than window_size=4, got 5"),
    (lambda: inverse_permutation(np.array([0, 0, 2])), ValueError, "must be a permutation of 0..2"),
    (lambda: gather_tokens(np.ones((1, 4, 4, 2)), np.arange(8)), ValueError, "index must have H\\*W = 16 entries"),
    (lambda: roll_partition_index_torch(8, 8, 0, 0), ValueError, "window_size must be a positive int, got 0"),
    (lambda: shifted_windows_by_roll(torch.ones(4, 4, 2), 4, 2), ValueError, "x must be a 4-D tensor"),
    (lambda: shifted_windows_by_index(torch.ones(1, 4, 4, 2), torch.arange(8), 4), ValueError, "16 entries"),
    (lambda: windows_to_map_by_index(torch.ones(1, 4, 4, 2), torch.arange(16), 8, 8), ValueError,
     "covering whole 8x8 maps"),
])
def test_permutation_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------------------- bias table resize
def test_resize_shapes_and_swin_t_at_384():
    table = np.random.default_rng(0).standard_normal((169, 3)).astype(np.float32)
    assert resize_bias_table(table, 12).shape == (529, 3) and resize_bias_table(table, 12).dtype == np.float32
    w = swin_t_384_windows()
    assert w["384"]["windows"] == ((12, 6), (12, 6), (12, 6), (12, 0)) and w["384"]["table_rows"] == 529
    assert w["224"]["windows"] == ((7, 3), (7, 3), (7, 3), (7, 0)) and w["224"]["table_rows"] == 169


def test_resize_keeps_constants_symmetry_and_the_centre():
    rng = np.random.default_rng(1)
    # a constant table stays constant (bicubic weights sum to 1): float32 rounding only
    const = np.full((169, 2), 0.7, dtype=np.float32)
    np.testing.assert_allclose(resize_bias_table(const, 12), 0.7, rtol=1e-6)
    # bias(dy, dx) = bias(-dy, -dx) survives: the resize is symmetric about the zero offset
    grid = rng.standard_normal((13, 13)).astype(np.float32)
    sym = (grid + grid[::-1, ::-1]).reshape(169, 1)
    new = bias_grid(resize_bias_table(sym, 12))
    np.testing.assert_allclose(new, new[::-1, ::-1], atol=1e-5)
    # the zero offset maps onto the zero offset exactly (output pixel 11 of 23 samples input pixel 6 of 13)
    table = rng.standard_normal((169, 3)).astype(np.float32)
    np.testing.assert_allclose(bias_grid(resize_bias_table(table, 12), 1)[11, 11], bias_grid(table, 1)[6, 6],
                               rtol=1e-5, atol=1e-6)


def test_resize_is_what_loading_into_a_bigger_window_does():
    """The numpy front end gives exactly the tables load_checkpoint interpolates (one implementation)."""
    small = SwinConfig.preset("nano")
    big = small.replace(img_size=64, window_size=8)
    sd = SwinTransformer(small).state_dict()
    with pytest.warns(UserWarning):
        model = load_checkpoint(SwinTransformer(big), sd)
    key = "layers.0.blocks.1.attn.relative_position_bias_table"
    np.testing.assert_array_equal(model.state_dict()[key].numpy(), resize_bias_table(sd[key].numpy(), 8))


def test_bias_resize_demo_stretches_the_profile():
    d = bias_resize_demo()
    assert d["old"].shape == (169, 3) and d["new"].shape == (529, 3)
    assert d["old_grid"].shape == (13, 13) and d["new_grid"].shape == (23, 23)
    np.testing.assert_array_equal(d["old_offsets"], np.arange(-6, 7))
    # the far end of the new table carries the far end of the old one (stretched, not extrapolated)
    assert abs(d["new_profile"][0] - d["old_profile"][0]) < 0.1 and d["new_profile"].argmax() == 11


@pytest.mark.parametrize("call, error, message", [
    (lambda: resize_bias_table(np.ones((168, 2)), 12), ValueError, r"\(2M-1\)\^2 rows"),
    (lambda: resize_bias_table(np.ones((169, 2)), 0), ValueError, "new_window_size must be a positive int"),
    (lambda: bias_grid(np.ones((169, 2)), 2), ValueError, "head must be < num_heads=2"),
    (lambda: bias_grid(np.ones(169)), ValueError, "table must have 2 dimensions"),
])
def test_bias_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()
