"""The four explorers in plain pytest: set their values, trigger the update, check what they show."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from swin_edu import complexity
from swin_edu import numpy_ref as snp
from swin_edu.viz.widgets import (
    ComplexityExplorer,
    MaskExplorer,
    PatchExplorer,
    RelativeBiasExplorer,
    mask_state,
)
from swin_edu.viz.widgets.mask_model import locate

PNG = b"\x89PNG\r\n\x1a\n"


# =========================================================================== mask explorer
@pytest.fixture(scope="module")
def mask_ex():
    return MaskExplorer()


def test_mask_explorer_default_is_the_seeds_example(mask_ex):
    ex = mask_ex.set(H=8, W=8, window_size=4, shift_size=2, view="cyclic", window=3, query=5)
    assert ex.message is None
    np.testing.assert_array_equal(ex.allowed, [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(ex.allowed.ravel(), snp.shift_mask(8, 8, 4, 2)[3, 5] == 0)
    assert ex.allowed_positions == [(6, 6), (6, 7), (7, 6), (7, 7)]
    assert "It may attend to 4 of 16 keys; 12 are masked with -100" in ex.text
    assert "token (7, 7) of the map, region 4" in ex.text
    assert "4 windows of 4×4; the naive way: 9 uneven windows" in ex.text
    assert ex.html == ex.picture.html and 'data-state="8x8/M4/s2/cyclic/w3/q5"' in ex.html
    assert ex.html.count("<svg") == 4 and "It may attend to 4 of 16 keys" in ex.html
    assert ex.mask.shape == (16, 16) and set(np.unique(ex.mask)) == {0.0, -100.0}
    np.testing.assert_array_equal(ex.regions, snp.region_ids(8, 8, 4, 2))


def test_moving_a_slider_redraws_once_and_changes_the_mask(mask_ex):
    ex = mask_ex.set(H=8, W=8, window_size=4, shift_size=2, view="cyclic", window=3, query=5)
    before_html, before_allowed, n = ex.html, ex.allowed.copy(), ex.n_updates
    ex.controls["query"].value = 10  # what the browser slider does
    assert ex.n_updates == n + 1
    assert ex.state["query"] == 10
    np.testing.assert_array_equal(ex.allowed.ravel(), snp.shift_mask(8, 8, 4, 2)[3, 10] == 0)
    assert not np.array_equal(ex.allowed, before_allowed)
    assert ex.html != before_html and ex.picture.version == ex.n_updates
    ex.query = 5  # attribute assignment = set()
    assert ex.n_updates == n + 2 and ex.html == before_html  # same settings, same picture


def test_window_and_query_ranges_follow_the_map(mask_ex):
    ex = mask_ex.set(H=16, W=16, window_size=4, shift_size=2, view="cyclic")
    assert ex.controls["window"].max == 15 and ex.controls["query"].max == 15
    ex.set(view="padded")
    assert ex.controls["window"].max == 24  # (16/4 + 1)^2 uneven windows
    ex.set(view="cyclic", H=8, W=8, window_size=2, shift_size=1, window=15, query=3)
    assert ex.controls["window"].max == 15 and ex.controls["query"].max == 3
    ex.set(window_size=4)
    assert ex.controls["window"].max == 3 and ex.state["window"] == 3  # clamped by the slider, no error
    assert ex.message is None
    with pytest.raises(ValueError, match=r"window must be in \[0, 4\)"):
        ex.set(window=4)  # asked for explicitly from code: a clear error
    with pytest.raises(ValueError, match=r"query must be in \[0, 16\)"):
        ex.set(query=16)
    with pytest.raises(ValueError, match=r"window must be in \[0, 9\)"):
        ex.set(view="padded", window=9)
    assert ex.state["view"] == "cyclic" and ex.state["window"] == 3  # nothing changed


@pytest.mark.parametrize("H, W, M, s", [(8, 8, 4, 2), (12, 8, 4, 2), (14, 14, 7, 3), (10, 9, 4, 2), (6, 6, 3, 1)])
def test_cyclic_shift_and_padded_windows_attend_to_the_same_tokens(H, W, M, s):
    """For every real token, roll + mask selects exactly the tokens of its uneven padded window."""
    Hp, Wp = -(-H // M) * M, -(-W // M) * M
    for r in range(H):
        for c in range(W):
            states = [mask_state(H, W, M, s, view, *locate((r, c), view, Hp, Wp, M, s))
                      for view in ("cyclic", "padded")]
            assert states[0].query_pos == states[1].query_pos == (r, c)
            assert states[0].allowed_positions == states[1].allowed_positions, (r, c)


def test_toggling_the_view_keeps_the_selected_token(mask_ex):
    ex = mask_ex.set(H=8, W=8, window_size=4, shift_size=2, view="cyclic", window=3, query=5)
    cyclic = ex.allowed_positions
    ex.controls["view"].value = "padded"  # the toggle button
    assert ex.state["window"] == 8 and ex.state["query"] == 5  # the 2x2 bottom-right uneven window
    assert ex.allowed_positions == cyclic
    assert "Uneven window 8 (rows 6–7, cols 6–7: 2×2 tokens, 12 padding slots)" in ex.text
    assert int(ex.allowed.sum()) == 4 and np.isinf(ex.mask).sum() == 16 * 12
    ex.set(view="cyclic")
    assert ex.state["window"] == 3 and ex.state["query"] == 5


def test_padding_slot_query_in_padded_view(mask_ex):
    ex = mask_ex.set(H=8, W=8, window_size=4, shift_size=2, view="padded", window=0, query=15)
    assert ex.message is None
    assert "is a padding slot" in ex.text
    assert int(ex.allowed.sum()) == 4  # the 2x2 corner window A


def test_shift_zero_is_plain_wmsa(mask_ex):
    ex = mask_ex.set(H=8, W=8, window_size=4, shift_size=0, view="cyclic", window=1, query=0)
    assert ex.allowed.all() and "no mask" in ex.text


def test_map_not_divisible_is_padded_then_shifted(mask_ex):
    ex = mask_ex.set(H=10, W=9, window_size=4, shift_size=2, view="cyclic", window=8, query=0)
    assert "padded to 12×12: pad, then shift" in ex.text
    np.testing.assert_array_equal(ex.allowed.ravel(), snp.shift_mask(12, 12, 4, 2)[8, 0] == 0)


@pytest.mark.parametrize("settings, words", [
    ({"H": 8, "W": 8, "window_size": 9, "shift_size": 2}, "Window M=9 is larger than the 8×8 map"),
    ({"H": 8, "W": 3, "window_size": 4, "shift_size": 2}, "larger than the 8×3 map"),
    ({"H": 8, "W": 8, "window_size": 4, "shift_size": 4}, "Shift s=4 must be smaller than the window M=4"),
    ({"H": 8, "W": 8, "window_size": 4, "shift_size": 7}, "Shift s=7"),
])
def test_invalid_settings_show_a_message_not_a_traceback(mask_ex, settings, words):
    ex = mask_ex.set(**settings)
    assert ex.message is not None and words in ex.message
    assert ex.allowed is None and ex.allowed_positions is None and ex.text == ""
    assert "Invalid settings" in ex.html and words in ex.html.replace("&amp;", "&") and "<svg" not in ex.html
    ex.set(H=8, W=8, window_size=4, shift_size=2)  # and it recovers
    assert ex.message is None and ex.allowed is not None


def test_invalid_slider_moves_do_not_raise(mask_ex):
    """The sliders offer only what the map can show (issue #27 item 7): a value beyond one is clamped into its
    range, never raises and never hides the picture; code that asks for the impossible is told why."""
    ex = mask_ex.set(H=8, W=8, window_size=4, shift_size=2)
    assert ex.controls["shift_size"].max == 3 and ex.controls["window_size"].max == 8
    ex.controls["shift_size"].value = 11  # straight from the UI
    assert ex.message is None and ex.state["shift_size"] == 3
    ex.controls["window_size"].value = 12
    assert ex.message is None and ex.state["window_size"] == 8 and ex.state["shift_size"] == 0
    assert "larger than the 8×8 map" in ex.set(window_size=12).message
    assert "Shift s=11" in ex.set(window_size=4, shift_size=11).message
    ex.set(window_size=4, shift_size=2)
    assert ex.message is None


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"H": 0}, ValueError, "H must be in"),
    ({"H": 65}, ValueError, "H must be in"),
    ({"H": 8.0}, TypeError, "H must be an int"),
    ({"view": "rolled"}, ValueError, "view must be one of"),
    ({"colour": 1}, TypeError, "unknown parameter"),
])
def test_set_validates_arguments(mask_ex, kwargs, exc, words):
    with pytest.raises(exc, match=words):
        mask_ex.set(**kwargs)


def test_mask_explorer_constructor_and_state_function_validate():
    with pytest.raises(ValueError, match="H must be at most 64"):
        MaskExplorer(H=100)
    with pytest.raises(ValueError, match="view must be"):
        MaskExplorer(view="x")
    with pytest.raises(ValueError, match="shift_size must be smaller|Shift s=4"):
        mask_state(8, 8, 4, 4)
    with pytest.raises(ValueError, match="query must be in"):
        mask_state(8, 8, 4, 2, query=16)


def test_widget_displays_in_a_notebook(mask_ex):
    bundle = mask_ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "swin-mask" in mask_ex.widget._dom_classes
    assert "swin-mask-query" in mask_ex.controls["query"]._dom_classes


# =========================================================================== complexity explorer
def test_complexity_explorer_reproduces_the_seed():
    ex = ComplexityExplorer(h=56, w=56, C=96, M=7)
    assert ex.msa == complexity.msa_breakdown(56, 56, 96)
    assert ex.wmsa == complexity.wmsa_breakdown(56, 56, 96, 7)
    assert ex.msa["qk"] + ex.msa["av"] == 1_888_223_232
    assert ex.wmsa["qk"] + ex.wmsa["av"] == 29_503_488
    assert ex.msa_total == complexity.msa_macs(56, 56, 96) and ex.wmsa_total == complexity.wmsa_macs(56, 56, 96, 7)
    assert "64.00× for the attention terms" in ex.text
    assert f"{ex.msa_total:,d}" in ex.text and f"{ex.wmsa_total:,d}" in ex.text
    png = ex.png
    ex.M = 10  # 10 does not divide 56
    assert "does not divide 56×56: W-MSA runs on the padded 60×60 map" in ex.text
    assert ex.wmsa == complexity.wmsa_breakdown(56, 56, 96, 10)
    assert ex.png != png
    ex.set(h=4, w=4, M=7)
    assert "larger than the map" in ex.text
    with pytest.raises(ValueError, match="C must be in"):
        ex.set(C=0)


# =========================================================================== patch explorer
def test_patch_explorer_vector_is_the_patch_row_by_row():
    ex = PatchExplorer(patch_size=4, row=22, col=26)
    img = ex.img
    np.testing.assert_array_equal(ex.vector, img[88:92, 104:108].reshape(-1))
    assert ex.tokens_shape == (56, 56, 48) and ex.embedding.shape == (96,)
    assert "token map 56×56×48" in ex.text and f"{ex.vector[0]:.3f}" in ex.text
    # embedding = the 4x4 stride-4 conv = linear map on the patch vector
    rng = np.random.default_rng(0)
    weight = rng.normal(0.0, 48 ** -0.5, (96, 3, 4, 4)).astype(np.float32)
    # float32, a convolution and a matrix product sum 48 products of size ~0.1 in different orders: rounding up to
    # ~48 * 6e-8 * 5 ~ 1e-5 absolute at worst
    np.testing.assert_allclose(ex.embedding, snp.conv_weight_to_linear(weight) @ ex.vector, rtol=1e-5, atol=1e-5)
    png = ex.png
    ex.set(patch_size=16)
    assert ex.controls["row"].max == 13
    assert (ex.state["row"], ex.state["col"]) == (5, 6)  # the patch holding pixel (90, 106), the old centre
    assert ex.vector.shape == (768,) and ex.png != png
    ex.embed_dim = 8
    assert ex.embedding.shape == (8,)


def test_patch_explorer_takes_another_image_and_validates():
    img = np.linspace(0, 1, 32 * 32 * 3, dtype=np.float32).reshape(32, 32, 3)
    ex = PatchExplorer(patch_size=8, row=1, col=2, image=img)
    np.testing.assert_array_equal(ex.vector, img[8:16, 16:24].reshape(-1))
    with pytest.raises(ValueError, match="patch_size must divide"):
        PatchExplorer(patch_size=5)
    with pytest.raises(ValueError, match="image must have 3 channels"):
        PatchExplorer(image=np.zeros((8, 8, 4), np.float32))
    with pytest.raises(ValueError, match="patch_size must be one of"):
        ex.set(patch_size=3)
    with pytest.raises(ValueError, match=r"col must be in \[0, 2\) for patch_size=16"):
        ex.set(patch_size=16, col=2)


# =========================================================================== relative bias explorer
def test_relative_bias_explorer_index_and_bias():
    ex = RelativeBiasExplorer(window_size=3, query_row=1, query_col=2)
    dy, dx = np.divmod(np.arange(9), 3)
    expected = (1 - dy + 2) * 5 + (2 - dx + 2)
    np.testing.assert_array_equal(ex.index_row, expected)
    np.testing.assert_array_equal(ex.bias.ravel(), ex.table[expected, 0])
    assert "Index row 5: [19, 18, 17, 14, 13, 12, 9, 8, 7]" in ex.text
    png = ex.png
    ex.set(window_size=7, query_row=3, query_col=3)
    assert ex.index_row.shape == (49,) and ex.index_row[24] == 84  # the centre token sees offset (0, 0)
    assert ex.png != png
    ex.set(window_size=2)
    assert ex.state["query_row"] == 1 and ex.controls["query_row"].max == 1


def test_relative_bias_explorer_with_a_given_table():
    table = np.arange(169 * 3, dtype=np.float32).reshape(169, 3)
    ex = RelativeBiasExplorer(table=table, query_row=0, query_col=0, head=2)
    assert ex.state["window_size"] == 7 and ex.controls["window_size"].disabled
    np.testing.assert_array_equal(ex.bias.ravel(), table[snp.relative_position_index(7)[0], 2])
    with pytest.raises(ValueError, match="window_size must be in"):
        ex.set(window_size=3)
    with pytest.raises(ValueError, match="table must have"):
        RelativeBiasExplorer(table=np.zeros((10, 1)))
    with pytest.raises(ValueError, match="head must be in"):
        ex.set(head=3)
    with pytest.raises(ValueError, match=r"query_row must be in \[0, 7\)"):
        ex.set(query_row=7)


# =========================================================================== the redesigned mask explorer
def test_clicking_a_token_chooses_window_and_query(mask_ex):
    ex = mask_ex.set(H=8, W=8, window_size=4, shift_size=2, view="cyclic", window=3, query=5)
    ex.click("map", 2, 5)                       # rolled map: window (0, 1), slot (2, 1)
    assert (ex.state["window"], ex.state["query"]) == (1, 9)
    ex.click("keys", 3, 3)                      # a key of the window becomes the query
    assert (ex.state["window"], ex.state["query"]) == (1, 15)
    ex.click("mask", 4, 0)                      # a row of the mask is a query
    assert ex.state["query"] == 4
    ex.click("orig", 7, 7)                      # a token of the original map: located after the roll
    assert (ex.state["window"], ex.state["query"]) == (3, 5) and ex.allowed_positions[0] == (6, 6)
    ex.set(view="padded")
    ex.click("map", 0, 0)                       # padded view: the map is the original one, cut unevenly
    assert (ex.state["window"], ex.state["query"]) == (0, 0) and int(ex.allowed.sum()) == 4
    n = ex.n_updates
    ex.picture.click = {"panel": "keys", "row": 0, "col": 1, "n": 7}  # what the browser sends
    assert ex.n_updates == n + 1 and ex.state["query"] == 1
    ex.picture.click = {"panel": "keys", "row": 9, "col": 9, "n": 8}  # stale click: ignored, no traceback
    assert ex.n_updates == n + 1
    with pytest.raises(ValueError, match="panel must be one of"):
        ex.click("legend", 0, 0)
    with pytest.raises(ValueError, match="outside the 4x4 'keys' panel"):
        ex.click("keys", 4, 0)
    ex.set(view="cyclic", window=3, query=5)


def test_sliders_update_while_dragging_and_fit_a_laptop_screen(mask_ex):
    for name in ("H", "W", "window_size", "shift_size", "window", "query"):
        assert mask_ex.controls[name].continuous_update
    # one row of sliders in a 1440-px-wide JupyterLab, each growing to a quarter of it (tracks of ~150 px, not ~59;
    # the browser test measures them)
    layouts = [mask_ex.controls[n].layout for n in ("H", "W", "window_size", "shift_size")]
    assert sum(int(lay.min_width.rstrip("px")) for lay in layouts) <= 1100
    assert all(lay.flex.startswith("1 1 ") and lay.width == "auto" for lay in layouts)


def test_shift_zero_says_wmsa_not_rolled_by_minus_zero(mask_ex):
    ex = mask_ex.set(H=8, W=8, window_size=4, shift_size=0, window=1, query=0)
    assert "rolled by −0" not in ex.html and "regions 0–8" not in ex.html
    assert "W-MSA (shift 0: no mask)" in ex.html and "one region" in ex.html
    ex.set(shift_size=2)
    assert "rolled by −2: regions 0–8" in ex.html


def test_every_region_colour_differs_from_masked_and_padding():
    from matplotlib.colors import to_rgb

    from swin_edu.viz.widgets.mask_render import MASKED_FILL, PADDING_FILL, REGION_PALETTE

    assert len(set(REGION_PALETTE)) == 9
    for color in REGION_PALETTE:
        r, g, b = to_rgb(color)
        assert max(r, g, b) - min(r, g, b) > 0.15, f"{color} is too grey: it would read as masked or padding"
        assert color not in (MASKED_FILL, PADDING_FILL)


def test_masked_keys_carry_a_non_colour_cue(mask_ex):
    ex = mask_ex.set(H=8, W=8, window_size=4, shift_size=2, view="cyclic", window=3, query=5)
    keys = ex.html[ex.html.index("swin-mask-panel-keys"):ex.html.index("swin-mask-panel-orig")]
    assert keys.count('fill="url(#swm-x)"') >= 1 and "<text" in keys  # hatch + printed region numbers
    for region in ("4", "5", "7", "8"):
        assert f">{region}</text>" in keys  # masked keys still say which region they are


def test_coordinates_never_wrap_inside():
    from swin_edu.viz.widgets.mask_render import mask_html

    html = mask_html(mask_state(8, 8, 4, 2, window=3, query=5))
    assert "(7,\u00a07)" in html and "(7, 7)" not in html


def test_mask_model_imports_without_ipywidgets():
    import subprocess
    import sys

    code = ("import sys; from swin_edu.viz.widgets import mask_state, locate; "
            "mask_state(8, 8, 4, 2); assert 'ipywidgets' not in sys.modules and 'anywidget' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_explorer_view_assets_are_package_data():
    from importlib.resources import files

    for name in ("mask_view.js", "mask_view.css"):  # listed in pyproject's package-data: they ship in the wheel
        assert len(files("swin_edu.viz.widgets").joinpath(name).read_text()) > 100


# =========================================================================== the other explorers' glitches
def test_patch_explorer_dropdown_keeps_the_place_and_strips_have_integer_ticks():
    ex = PatchExplorer(patch_size=4, row=22, col=26)
    ex.controls["patch_size"].value = 8  # the dropdown, as in the browser
    assert (ex.state["row"], ex.state["col"]) == (11, 13)
    ex.controls["patch_size"].value = 1
    assert (ex.state["row"], ex.state["col"]) == (92, 108) and ex.message is None
    ex.set(patch_size=4, row=22, col=26)
    assert (ex.state["row"], ex.state["col"]) == (22, 26)


def test_complexity_explorer_rows_align_and_says_which_maps():
    ex = ComplexityExplorer(h=224, w=100, C=96, M=7)
    rows = ex.text.splitlines()[:6]
    starts = {line.index(token) for line, token in zip(rows[1:], ["3hwC²", "(hw)²C", "(hw)²C", "hwC²",
                                                                   "4hwC²+2(hw)²C"])}
    assert len(starts) == 1  # the formula column starts at the same place in every row, total included
    assert len({len(line) for line in rows}) == 1, rows  # and every row has the same width
    assert ex.png.startswith(PNG)


def test_relative_bias_explorer_hides_a_one_head_slider():
    one = RelativeBiasExplorer(window_size=7)
    assert one.controls["head"].layout.display == "none"
    three = RelativeBiasExplorer(window_size=3, num_heads=3)
    assert three.controls["head"].layout.display != "none" and three.controls["head"].max == 2
