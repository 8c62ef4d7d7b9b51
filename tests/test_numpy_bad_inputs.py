"""Bad input: every public numpy_ref function rejects it with a clear error that names the argument."""
import numpy as np
import pytest

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig

X4 = np.zeros((1, 8, 8, 4))
CFG = SwinConfig.preset("nano")
SD = snp.random_state_dict(CFG, seed=0)
IMG = np.zeros((1, 3, 32, 32), dtype=np.float32)
P = {"qkv.weight": np.zeros((12, 4)), "proj.weight": np.zeros((4, 4))}


def sd_without(key):
    d = dict(SD)
    del d[key]
    return d


def sd_with(key, value):
    d = dict(SD)
    d[key] = value
    return d


CASES = [
    # (id, call, exception type, words the message must contain)
    ("partition-rank", lambda: snp.patch_partition(np.zeros((8, 8, 3)), 4), ValueError, ["images", "4 dimensions", "(8, 8, 3)"]),
    ("partition-divisible", lambda: snp.patch_partition(np.zeros((1, 10, 8, 3)), 4), ValueError, ["height", "10", "patch_size=4"]),
    ("partition-patch-0", lambda: snp.patch_partition(np.zeros((1, 8, 8, 3)), 0), ValueError, ["patch_size", "positive"]),
    ("partition-patch-float", lambda: snp.patch_partition(np.zeros((1, 8, 8, 3)), 4.0), TypeError, ["patch_size", "int"]),
    ("partition-list", lambda: snp.patch_partition([[1, 2]], 4), TypeError, ["images", "numpy array", "list"]),
    ("embed-channels", lambda: snp.patch_embed(np.zeros((1, 8, 8, 4)), np.zeros((5, 3, 4, 4))), ValueError, ["images", "3 channels", "(1, 8, 8, 4)"]),
    ("embed-int-images", lambda: snp.patch_embed(np.zeros((1, 8, 8, 3), dtype=np.uint8), np.zeros((5, 3, 4, 4))), TypeError, ["images", "floating", "uint8"]),
    ("embed-kernel", lambda: snp.patch_embed(np.zeros((1, 8, 8, 3)), np.zeros((5, 3, 4, 2))), ValueError, ["weight", "square"]),
    ("embed-bias", lambda: snp.patch_embed(np.zeros((1, 8, 8, 3)), np.zeros((5, 3, 4, 4)), np.zeros(4)), ValueError, ["bias", "(5,)"]),
    ("layernorm-weight", lambda: snp.layer_norm(np.zeros((2, 4)), np.ones(5)), ValueError, ["weight", "(4,)", "(5,)"]),
    ("layernorm-eps", lambda: snp.layer_norm(np.zeros((2, 4)), eps=0.0), ValueError, ["eps"]),
    ("wp-divisible", lambda: snp.window_partition(np.zeros((1, 9, 8, 4)), 4), ValueError, ["height", "9", "window_size=4"]),
    ("wp-rank", lambda: snp.window_partition(np.zeros((9, 8, 4)), 4), ValueError, ["x", "4 dimensions", "(B, H, W, C)"]),
    ("wp-negative", lambda: snp.window_partition(X4, -2), ValueError, ["window_size", "-2"]),
    ("wp-bool", lambda: snp.window_partition(X4, True), TypeError, ["window_size"]),
    ("wr-window-shape", lambda: snp.window_reverse(np.zeros((4, 3, 3, 4)), 4, 8, 8), ValueError, ["windows", "window_size=4"]),
    ("wr-count", lambda: snp.window_reverse(np.zeros((3, 4, 4, 4)), 4, 8, 8), ValueError, ["windows.shape[0]=3", "4 windows"]),
    ("wr-H", lambda: snp.window_reverse(np.zeros((4, 4, 4, 4)), 4, 10, 8), ValueError, ["H=10"]),
    ("shift-negative", lambda: snp.cyclic_shift(X4, -1), ValueError, ["shift_size", "-1"]),
    ("shift-rank", lambda: snp.reverse_cyclic_shift(np.zeros((8, 8)), 2), ValueError, ["x", "4 dimensions"]),
    ("region-shift-too-big", lambda: snp.region_ids(8, 8, 4, 4), ValueError, ["shift_size", "smaller than window_size=4"]),
    ("region-window-too-big", lambda: snp.region_ids(8, 8, 16, 2), ValueError, ["window_size=16", "8x8"]),
    ("mask-divisible", lambda: snp.shift_mask(10, 8, 4, 2), ValueError, ["H=10", "window_size=4"]),
    ("mask-H-zero", lambda: snp.shift_mask(0, 8, 4, 2), ValueError, ["H", "positive"]),
    ("rpi-zero", lambda: snp.relative_position_index(0), ValueError, ["window_size"]),
    ("rpb-table-rows", lambda: snp.relative_position_bias(np.zeros((10, 2)), 2), ValueError, ["table", "9 rows"]),
    ("attn-rank", lambda: snp.window_attention(np.zeros((4, 4)), P["qkv.weight"], None, P["proj.weight"], None, 2), ValueError, ["x", "3 dimensions"]),
    ("attn-heads", lambda: snp.window_attention(np.zeros((1, 4, 4)), P["qkv.weight"], None, P["proj.weight"], None, 3), ValueError, ["num_heads=3", "C=4"]),
    ("attn-qkv-shape", lambda: snp.window_attention(np.zeros((1, 4, 4)), np.zeros((4, 4)), None, P["proj.weight"], None, 2), ValueError, ["qkv_weight", "(12, 4)", "(4, 4)"]),
    ("attn-table", lambda: snp.window_attention(np.zeros((1, 4, 4)), P["qkv.weight"], None, P["proj.weight"], None, 2,
                                                relative_position_bias_table=np.zeros((9, 3))), ValueError, ["relative_position_bias_table", "(9, 2)"]),
    ("attn-mask", lambda: snp.window_attention(np.zeros((3, 4, 4)), P["qkv.weight"], None, P["proj.weight"], None, 2,
                                               mask=np.zeros((2, 4, 4))), ValueError, ["mask", "x.shape[0]=3"]),
    ("attn-scale", lambda: snp.window_attention(np.zeros((1, 4, 4)), P["qkv.weight"], None, P["proj.weight"], None, 2, scale=-1.0), ValueError, ["scale"]),
    ("merge-weight", lambda: snp.patch_merging(X4, np.zeros((8, 8))), ValueError, ["reduction_weight", "(8, 16)"]),
    ("mlp-fc1", lambda: snp.mlp(np.zeros((2, 4)), np.zeros((8, 3)), None, np.zeros((4, 8)), None), ValueError, ["fc1_weight", "C=4"]),
    ("softmax-axis", lambda: snp.softmax(np.zeros((2, 3)), axis=2), ValueError, ["axis"]),
    ("drop-path-prob", lambda: snp.drop_path(np.zeros((2, 3)), 1.5), ValueError, ["drop_prob"]),
    ("swa-shift", lambda: snp.shifted_window_attention(X4, P, 2, 4, 4), ValueError, ["shift_size", "window_size=4"]),
    ("block-missing-param", lambda: snp.swin_block(X4, {}, 2, 4, 0), KeyError, ["norm1.weight"]),
    ("forward-missing-key", lambda: snp.swin_forward(sd_without("layers.1.blocks.0.attn.qkv.weight"), IMG, CFG), KeyError,
     ["missing key: layers.1.blocks.0.attn.qkv.weight", "(288, 96)"]),
    ("forward-wrong-shape", lambda: snp.swin_forward(sd_with("head.weight", np.zeros((5, 192))), IMG, CFG), ValueError,
     ["wrong shape: head.weight", "(10, 192)", "(5, 192)"]),
    ("forward-unexpected", lambda: snp.swin_forward(sd_with("layers.9.foo", np.zeros(1)), IMG, CFG), ValueError, ["unexpected key: layers.9.foo"]),
    ("forward-other-arch", lambda: snp.swin_forward(SD, np.zeros((1, 3, 224, 224), np.float32), SwinConfig.preset("tiny")), ValueError,
     ["does not match", "wrong shape: patch_embed.proj.weight"]),
    ("forward-channels", lambda: snp.swin_forward(SD, np.zeros((1, 32, 32, 3), np.float32), CFG), ValueError, ["images", "(B, 3, H, W)", "(1, 32, 32, 3)"]),
    ("forward-int", lambda: snp.swin_forward(SD, np.zeros((1, 3, 32, 32), np.int64), CFG), TypeError, ["images", "floating", "int64"]),
    ("forward-cfg", lambda: snp.swin_forward(SD, IMG, {"embed_dim": 48}), TypeError, ["cfg", "SwinConfig"]),
    ("forward-sd-type", lambda: snp.swin_forward([1, 2], IMG, CFG), TypeError, ["state_dict", "mapping"]),
    ("random-sd-seed", lambda: snp.random_state_dict(CFG, seed=-1), ValueError, ["seed"]),
    ("grid-shift", lambda: snp.shifted_window_grid(8, 8, 4, 5), ValueError, ["shift_size"]),
    ("naive-divisible", lambda: snp.padded_window_attention(np.zeros((1, 9, 8, 4)), P, 2, 4, 2), ValueError, ["height", "window_size=4"]),
]


@pytest.mark.parametrize("call, exc, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_reported_clearly(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) is exc or issubclass(type(info.value), exc)
    msg = str(info.value)
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


def test_there_are_at_least_30_distinct_cases():
    assert len({c[0] for c in CASES}) >= 30
