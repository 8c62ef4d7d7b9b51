import dataclasses

import pytest

from swin_edu.config import PRESETS, SwinConfig


def test_paper_presets():
    t = SwinConfig.preset("tiny")
    assert (t.embed_dim, t.depths, t.num_heads, t.window_size, t.img_hw) == (96, (2, 2, 6, 2), (3, 6, 12, 24), 7, (224, 224))
    assert SwinConfig.preset("small").depths == (2, 2, 18, 2)
    assert SwinConfig.preset("base").embed_dim == 128 and SwinConfig.preset("base").num_heads == (4, 8, 16, 32)
    assert SwinConfig.preset("large").embed_dim == 192 and SwinConfig.preset("large").num_heads == (6, 12, 24, 48)
    assert t.stage_resolutions() == ((56, 56), (28, 28), (14, 14), (7, 7))
    assert t.stage_dims == (96, 192, 384, 768) and t.num_features == 768


def test_last_stage_of_tiny_does_not_shift():
    # the 7x7 map of stage 4 is not larger than the 7x7 window: one window, no shift (official rule)
    assert SwinConfig.preset("tiny").stage_windows() == ((7, 3), (7, 3), (7, 3), (7, 0))
    assert SwinConfig.preset("nano").stage_windows() == ((4, 2), (4, 2), (4, 0))


def test_window_shrinks_to_small_maps():
    cfg = SwinConfig.preset("tiny", img_size=(160, 96))  # stage maps 40x24, 20x12, 10x6, 5x3
    assert cfg.stage_windows()[-2:] == ((6, 0), (3, 0))


def test_preset_overrides_and_frozen():
    cfg = SwinConfig.preset("nano", num_classes=3, img_size=(32, 48))
    assert cfg.num_classes == 3 and cfg.img_hw == (32, 48) and cfg.name == "nano"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.embed_dim = 1
    assert cfg.replace(embed_dim=24).embed_dim == 24
    assert set(PRESETS) == {"tiny", "small", "base", "large", "nano"}


def test_drop_path_rates_rise_linearly():
    r = SwinConfig.preset("tiny").drop_path_rates()
    assert len(r) == 12 and r[0] == 0.0 and r[-1] == pytest.approx(0.2)


def test_ablation_switches():
    """shift_windows=False: every shift 0, windows unchanged; rel_pos_bias=False: no table/index keys."""
    from swin_edu.complexity import param_count
    from swin_edu.layout import state_dict_shapes

    tiny = SwinConfig.preset("tiny")
    no_shift = tiny.replace(shift_windows=False)
    assert no_shift.stage_windows() == tuple((M, 0) for M, _ in tiny.stage_windows())
    full, ns = state_dict_shapes(tiny), state_dict_shapes(no_shift)
    assert set(full) - set(ns) == {k for k in full if k.endswith("attn_mask")} and len(set(full) - set(ns)) == 5
    no_rpb = tiny.replace(rel_pos_bias=False)
    gone = set(full) - set(state_dict_shapes(no_rpb))
    assert len(gone) == 24 and all("relative_position" in k for k in gone)
    assert param_count(tiny) - param_count(no_rpb) == 2 * 169 * 3 + 2 * 169 * 6 + 6 * 169 * 12 + 2 * 169 * 24
    assert tiny != no_shift and SwinConfig.preset("tiny", shift_windows=True) == tiny


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(embed_dim=-1), ValueError, ["embed_dim", "-1"]),
        (dict(embed_dim=0), ValueError, ["embed_dim", "positive"]),
        (dict(embed_dim=96.0), TypeError, ["embed_dim", "int"]),
        (dict(embed_dim=True), TypeError, ["embed_dim"]),
        (dict(window_size="7"), TypeError, ["window_size"]),
        (dict(patch_size=0), ValueError, ["patch_size"]),
        (dict(img_size=(224,)), ValueError, ["img_size"]),
        (dict(img_size=(224, -3)), ValueError, ["img_size[1]"]),
        (dict(img_size=2), ValueError, ["img_size", "patch_size"]),
        (dict(depths=(2, 2)), ValueError, ["num_heads", "depths"]),
        (dict(depths=()), ValueError, ["depths"]),
        (dict(depths="2262"), TypeError, ["depths"]),
        (dict(num_heads=(5, 6, 12, 24)), ValueError, ["num_heads[0]", "96"]),
        (dict(mlp_ratio=0), ValueError, ["mlp_ratio"]),
        (dict(drop_path_rate=1.5), ValueError, ["drop_path_rate"]),
        (dict(drop_rate=-0.1), ValueError, ["drop_rate"]),
        (dict(qkv_bias=1), TypeError, ["qkv_bias", "bool"]),
        (dict(qk_scale=-1.0), ValueError, ["qk_scale"]),
        (dict(num_classes=-1), ValueError, ["num_classes"]),
        (dict(in_chans=0), ValueError, ["in_chans"]),
        (dict(shift_windows="no"), TypeError, ["shift_windows", "bool"]),
        (dict(rel_pos_bias=0), TypeError, ["rel_pos_bias", "bool"]),
    ],
)
def test_bad_values_name_the_field(kwargs, exc, words):
    with pytest.raises(exc) as info:
        SwinConfig.preset("tiny", **kwargs)
    for w in words:
        assert w in str(info.value)


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="unknown preset 'huge'.*tiny"):
        SwinConfig.preset("huge")
    with pytest.raises(TypeError, match="embed_dims"):
        SwinConfig.preset("tiny", embed_dims=96)
    with pytest.raises(TypeError, match="name must be a str"):
        SwinConfig.preset(3)
