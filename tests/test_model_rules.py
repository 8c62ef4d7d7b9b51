"""The rules that have one home: swin_edu.config.window_for_map / padded_size / check_window_shift
(used by the config, the torch model and the numpy reference) and the state-dict diff report
(swin_edu.layout.diff_state_dict, used by numpy_ref.swin_forward and load_checkpoint)."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig, check_window_shift, padded_size, window_for_map
from swin_edu.layout import diff_state_dict
from swin_edu.model import SwinBlock, SwinTransformer, pad_to_multiple


@given(H=st.integers(1, 300), W=st.integers(1, 300), M=st.integers(1, 16), data=st.data())
def test_window_for_map_is_the_official_rule(H, W, M, data):
    s = data.draw(st.integers(0, M - 1))
    window, shift = window_for_map(H, W, M, s)
    if min(H, W) <= M:  # the map fits in one window along its short side: shrink, do not shift
        assert (window, shift) == (min(H, W), 0)
    else:
        assert (window, shift) == (M, s)
    assert 1 <= window <= min(M, max(H, W)) and 0 <= shift < window


@given(n=st.integers(1, 10_000), window=st.integers(1, 64))
def test_padded_size_is_the_next_multiple(n, window):
    p = padded_size(n, window)
    assert p % window == 0 and n <= p < n + window


def test_examples_and_errors():
    assert window_for_map(56, 56, 7, 3) == (7, 3)
    assert window_for_map(7, 7, 7, 3) == (7, 0)
    assert window_for_map(6, 8, 7, 3) == (6, 0)  # one short side is enough (HF's crash case)
    assert padded_size(13, 7) == 14 and padded_size(14, 7) == 14
    assert check_window_shift(7, 3) == (7, 3)
    with pytest.raises(ValueError, match="window_for_map: shift_size must be smaller than window_size=7, got 7"):
        window_for_map(56, 56, 7, 7)
    with pytest.raises(ValueError, match="window_for_map: H must be a positive int, got 0"):
        window_for_map(0, 5, 7, 3)
    with pytest.raises(TypeError, match="window_size must be an int, got 7.0"):
        window_for_map(8, 8, 7.0, 3)
    with pytest.raises(ValueError, match="shift_size must be a >= 0 int, got -1"):
        check_window_shift(7, -1, where="here")
    with pytest.raises(ValueError, match="padded_size: window must be a positive int, got 0"):
        padded_size(5, 0)


@pytest.mark.parametrize("name", ["tiny", "nano"])
def test_config_model_and_layout_use_the_rule(name):
    cfg = SwinConfig.preset(name)
    expected = tuple(window_for_map(h, w, cfg.window_size, cfg.window_size // 2) for h, w in cfg.stage_resolutions())
    assert cfg.stage_windows() == expected
    with torch.device("meta"):
        model = SwinTransformer(cfg)
    for layer, res, (M, s) in zip(model.layers, cfg.stage_resolutions(), expected):
        assert [(b.window_size, b.shift_size) for b in layer.blocks] == [(M, 0), (M, s)] * (len(layer.blocks) // 2)
        if s:
            Hp, Wp = padded_size(res[0], M), padded_size(res[1], M)
            assert layer.blocks[1].attn_mask.shape == ((Hp // M) * (Wp // M), M * M, M * M)


def test_a_block_applies_the_rule_to_its_resolution():
    blk = SwinBlock(24, (6, 8), 3, window_size=7, shift_size=3)
    assert (blk.window_size, blk.shift_size) == window_for_map(6, 8, 7, 3) == (6, 0)
    assert blk.attn_mask is None and blk.attn.relative_position_bias_table.shape == (11 * 11, 3)
    with pytest.raises(ValueError, match="SwinBlock: shift_size must be smaller than window_size=4, got 4"):
        SwinBlock(24, (16, 16), 3, window_size=4, shift_size=4)


@given(H=st.integers(1, 30), W=st.integers(1, 30), m=st.integers(1, 8))
def test_numpy_and_torch_pad_to_the_padded_size(H, W, m):
    x = torch.ones(1, H, W, 2)
    assert pad_to_multiple(x, m).shape == (1, padded_size(H, m), padded_size(W, m), 2)
    assert snp.pad_to_multiple(x.numpy(), m).shape == (1, padded_size(H, m), padded_size(W, m), 2)


def test_the_state_dict_report():
    expected = {"a.weight": (2, 3), "b.bias": (4,), "c.attn_mask": (4, 4, 4)}
    found = {"a.weight": (3, 2), "x.weight": (1,), "c.attn_mask": (9, 9, 9), "d.relative_position_index": (1,)}
    diff = diff_state_dict(found, expected)
    assert diff  # derived buffers never count
    assert diff.missing == [("b.bias", (4,))]
    assert diff.unexpected == [("x.weight", (1,))]
    assert diff.wrong == [("a.weight", (2, 3), (3, 2))]
    text = diff.report("head:", "hint")
    assert text.splitlines() == ["head:", "  missing key: b.bias (expected shape (4,))",
                                 "  unexpected key: x.weight (found shape (1,))",
                                 "  wrong shape: a.weight: expected (2, 3), found (3, 2)", "  hint"]
    assert not diff_state_dict({"a.weight": (2, 3), "b.bias": (4,)}, expected)
    with pytest.raises(TypeError, match="found must be a mapping"):
        diff_state_dict([("a", (1,))], expected)
