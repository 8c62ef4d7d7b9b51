"""Hand-worked small examples for every numpy_ref function."""
import numpy as np

from swin_edu import numpy_ref as snp


def grid(H, W, C=1):
    """A (1, H, W, C) map whose value at (r, c, k) is 100*r + 10*c + k: easy to read."""
    r, c, k = np.meshgrid(np.arange(H), np.arange(W), np.arange(C), indexing="ij")
    return (100 * r + 10 * c + k)[None].astype(np.float64)


def test_patch_partition_48_channels_row_major():
    img = grid(8, 8, 3)
    p = snp.patch_partition(img, 4)
    assert p.shape == (1, 2, 2, 48)
    # patch (0, 1): rows 0..3, columns 4..7, flattened row by row, pixel by pixel, channel by channel
    expected = [100 * r + 10 * c + k for r in range(4) for c in range(4, 8) for k in range(3)]
    np.testing.assert_array_equal(p[0, 0, 1], expected)


def test_patch_embed_is_a_linear_map_of_patches_then_layernorm(rng):
    img = rng.standard_normal((2, 8, 12, 3))
    w, b = rng.standard_normal((5, 3, 4, 4)), rng.standard_normal(5)
    out = snp.patch_embed(img, w, b)
    assert out.shape == (2, 2, 3, 5)
    # token (1, 2) of image 0 is the dot product of the kernel with the pixels it covers
    patch = img[0, 4:8, 8:12, :]  # (4, 4, 3)
    # float64, two summation orders of 48 products of size ~1: rounding ~48 * 1e-16, so 1e-12 (atol for values near 0)
    np.testing.assert_allclose(out[0, 1, 2], np.einsum("ochw,hwc->o", w, patch) + b, rtol=1e-12, atol=1e-12)
    normed = snp.patch_embed(img, w, b, np.ones(5), np.zeros(5))
    np.testing.assert_allclose(normed.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(normed.var(-1), 1, atol=1e-4)


def test_patch_embed_pads_like_official(rng):
    img = rng.standard_normal((1, 6, 7, 3))
    w = rng.standard_normal((4, 3, 4, 4))
    out = snp.patch_embed(img, w)
    assert out.shape == (1, 2, 2, 4)
    padded = np.zeros((1, 8, 8, 3))
    padded[:, :6, :7] = img
    np.testing.assert_allclose(out, snp.patch_embed(padded, w))


def test_layer_norm_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 6.0]])
    mean, var = 3.0, (4 + 1 + 0 + 9) / 4
    np.testing.assert_allclose(snp.layer_norm(x, eps=0.0 + 1e-12), (x - mean) / np.sqrt(var), rtol=1e-9)
    np.testing.assert_allclose(snp.layer_norm(x, np.full(4, 2.0), np.ones(4)),
                               2 * (x - mean) / np.sqrt(var + 1e-5) + 1)


def test_window_partition_4x4_window_2():
    x = grid(4, 4)
    win = snp.window_partition(x, 2)
    assert win.shape == (4, 2, 2, 1)
    # windows are row-major over the window grid
    np.testing.assert_array_equal(win[0, ..., 0], [[0, 10], [100, 110]])
    np.testing.assert_array_equal(win[1, ..., 0], [[20, 30], [120, 130]])
    np.testing.assert_array_equal(win[2, ..., 0], [[200, 210], [300, 310]])
    np.testing.assert_array_equal(snp.window_reverse(win, 2, 4, 4), x)


def test_window_partition_batch_major():
    x = np.concatenate([grid(4, 4), grid(4, 4) + 1000])
    win = snp.window_partition(x, 2)
    assert win.shape == (8, 2, 2, 1)
    assert win[4, 0, 0, 0] == 1000  # the windows of image 1 come after the 4 windows of image 0


def test_cyclic_shift_moves_up_left():
    x = grid(4, 4)
    s = snp.cyclic_shift(x, 1)
    # the token at (1, 1) moves to (0, 0); row 0 wraps to the bottom, column 0 to the right
    assert s[0, 0, 0, 0] == 110 and s[0, 3, 3, 0] == 0 and s[0, 3, 0, 0] == 10
    np.testing.assert_array_equal(snp.reverse_cyclic_shift(s, 1), x)


def test_region_ids_8x8_window_4_shift_2():
    ids = snp.region_ids(8, 8, 4, 2)
    expected = np.array([[0] * 4 + [1] * 2 + [2] * 2] * 4 + [[3] * 4 + [4] * 2 + [5] * 2] * 2
                        + [[6] * 4 + [7] * 2 + [8] * 2] * 2)
    np.testing.assert_array_equal(ids, expected)
    assert snp.region_ids(8, 8, 4, 0).max() == 0


def test_shift_mask_8x8_window_4_shift_2():
    m = snp.shift_mask(8, 8, 4, 2)
    assert m.shape == (4, 16, 16) and m.dtype == np.float32
    assert set(np.unique(m)) == {0.0, -100.0}
    assert (m[0] == 0).all()  # the top-left window holds one region only
    # top-right window: columns 4-5 (region 1) and 6-7 (region 2) of the shifted map
    labels = np.array([1, 1, 2, 2] * 4)
    np.testing.assert_array_equal(m[1] == 0, labels[:, None] == labels[None, :])
    # bottom-right window: the four regions A, B, C, D of the seed (labels 4, 5, 7, 8), 4 tokens each
    labels = np.array([4, 4, 5, 5] * 2 + [7, 7, 8, 8] * 2)
    np.testing.assert_array_equal(m[3] == 0, labels[:, None] == labels[None, :])
    assert ((m[3] == 0).sum(1) == 4).all()


def test_relative_position_index_window_2():
    idx = snp.relative_position_index(2)
    # tokens (0,0),(0,1),(1,0),(1,1); offsets dy, dx in {-1,0,1}; index (dy+1)*3 + (dx+1)
    expected = np.array([[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]])
    np.testing.assert_array_equal(idx, expected)
    big = snp.relative_position_index(7)
    assert big.shape == (49, 49) and big.min() == 0 and big.max() == 13**2 - 1
    assert len(np.unique(big)) == 169 and (np.diag(big) == 84).all()


def test_relative_position_bias_gathers_table(rng):
    table = rng.standard_normal((9, 2))
    b = snp.relative_position_bias(table, 2)
    assert b.shape == (2, 4, 4)
    assert b[1, 0, 3] == table[0, 1]  # query (0,0), key (1,1): offset (-1,-1) -> row 0


def test_window_attention_single_head_by_hand(rng):
    x = rng.standard_normal((1, 4, 2))
    eye = np.eye(2)
    qkv_w = np.concatenate([eye, eye, eye])
    out, attn = snp.window_attention(x, qkv_w, None, eye, None, 1, return_attn=True)
    logits = x[0] @ x[0].T / np.sqrt(2)
    a = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(attn[0, 0], a, rtol=1e-12)
    np.testing.assert_allclose(out[0], a @ x[0], rtol=1e-12, atol=1e-14)  # float64, sums of 4 terms


def test_window_attention_mask_blocks_other_regions(rng):
    C = 4
    x = rng.standard_normal((4, 16, C))
    w = rng.standard_normal((3 * C, C))
    mask = snp.shift_mask(8, 8, 4, 2)
    _, attn = snp.window_attention(x, w, None, np.eye(C), None, 2, mask=mask, return_attn=True)
    assert attn[3][:, mask[3] != 0].max() < 1e-30  # -100 before softmax: ~3.7e-44 after
    np.testing.assert_allclose(attn.sum(-1), 1)


def test_patch_merging_gather_order():
    x = grid(4, 4)
    g = snp.patch_merging_gather(x)
    assert g.shape == (1, 2, 2, 4)
    # x0=(0,0), x1=(1,0), x2=(0,1), x3=(1,1) of the group at (0, 1): rows 0-1, columns 2-3
    np.testing.assert_array_equal(g[0, 0, 1], [20, 120, 30, 130])


def test_patch_merging_4c_to_2c(rng):
    x = rng.standard_normal((2, 8, 8, 6))
    w = rng.standard_normal((12, 24))
    out = snp.patch_merging(x, w, np.ones(24), np.zeros(24))
    assert out.shape == (2, 4, 4, 12)
    # float64, sums of 24 terms of size ~1 in another order: ~1e-15 absolute, also for outputs near 0
    np.testing.assert_allclose(out, snp.layer_norm(snp.patch_merging_gather(x)) @ w.T, rtol=1e-12, atol=1e-12)


def test_mlp_and_gelu():
    np.testing.assert_allclose(snp.gelu(np.array([0.0, 1.0, -1.0])), [0.0, 0.8413447460685429, -0.15865525393145707])
    x = np.ones((1, 2))
    out = snp.mlp(x, np.ones((3, 2)), np.zeros(3), np.ones((2, 3)), np.full(2, 0.5))
    np.testing.assert_allclose(out, 3 * snp.gelu(np.array(2.0)) + 0.5)


def test_drop_path():
    x = np.ones((1000, 3))
    out = snp.drop_path(x, 0.25, np.random.default_rng(0))
    kept = (out[:, 0] != 0).mean()
    assert 0.7 < kept < 0.8 and np.allclose(out[out != 0], 1 / 0.75)
    assert snp.drop_path(x, 0.5, training=False) is x


def test_shifted_window_grid_nine_windows():
    g = snp.shifted_window_grid(8, 8, 4, 2)
    assert len(g) == 9
    sizes = [(r.stop - r.start, c.stop - c.start) for r, c in g]
    assert sizes == [(2, 2), (2, 4), (2, 2), (4, 2), (4, 4), (4, 2), (2, 2), (2, 4), (2, 2)]
    assert len(snp.shifted_window_grid(56, 56, 7, 3)) == 9**2  # 8x8 windows become 9x9
