"""Property tests (hypothesis) and the seed's key equivalence: cyclic shift + mask == 9 padded windows."""
import numpy as np
from hypothesis import given, strategies as st

from swin_edu import numpy_ref as snp


@st.composite
def map_and_window(draw, max_windows=4, max_window=7):
    M = draw(st.integers(1, max_window))
    H = M * draw(st.integers(1, max_windows))
    W = M * draw(st.integers(1, max_windows))
    B = draw(st.integers(1, 2))
    C = draw(st.integers(1, 5))
    s = draw(st.integers(0, M - 1))
    return B, H, W, C, M, s


@given(map_and_window())
def test_window_reverse_inverts_partition(args):
    B, H, W, C, M, _ = args
    x = np.random.default_rng(H * W + C).standard_normal((B, H, W, C))
    win = snp.window_partition(x, M)
    assert win.shape == (B * (H // M) * (W // M), M, M, C)
    np.testing.assert_array_equal(snp.window_reverse(win, M, H, W), x)


@given(map_and_window())
def test_each_window_is_a_contiguous_block(args):
    B, H, W, C, M, _ = args
    x = np.random.default_rng(1).standard_normal((B, H, W, C))
    win = snp.window_partition(x, M)
    nWw = W // M
    i = (H // M) * nWw - 1  # the last window of the first image
    r, c = divmod(i, nWw)
    np.testing.assert_array_equal(win[i], x[0, r * M:(r + 1) * M, c * M:(c + 1) * M])


@given(map_and_window())
def test_shift_then_reverse_is_identity(args):
    B, H, W, C, M, s = args
    x = np.random.default_rng(2).standard_normal((B, H, W, C))
    np.testing.assert_array_equal(snp.reverse_cyclic_shift(snp.cyclic_shift(x, s), s), x)
    np.testing.assert_array_equal(snp.cyclic_shift(x, s)[:, 0, 0], x[:, s % H, s % W])


@given(map_and_window())
def test_shift_mask_structure(args):
    _, H, W, _, M, s = args
    m = snp.shift_mask(H, W, M, s)
    assert m.shape == ((H // M) * (W // M), M * M, M * M)
    assert set(np.unique(m)) <= {0.0, -100.0}
    np.testing.assert_array_equal(m, m.transpose(0, 2, 1))            # symmetric
    assert (np.diagonal(m, axis1=1, axis2=2) == 0).all()               # a token always sees itself
    # exactly the region structure: 0 iff the two tokens of the shifted map carry the same label
    labels = snp.window_partition(snp.region_ids(H, W, M, s)[None, :, :, None], M).reshape(-1, M * M)
    np.testing.assert_array_equal(m == 0, labels[:, :, None] == labels[:, None, :])
    # and the label of a shifted token is the window of the *displaced* grid it came from
    if s:
        ids = snp.reverse_cyclic_shift(snp.region_ids(H, W, M, s)[None, :, :, None], s)[0, :, :, 0]
        rows = np.minimum((np.arange(H) + M - s) // M, H // M)  # band of the original row in the displaced grid
        same = (rows[:, None] == rows[None, :])
        r_ids = ids[:, 0]
        # two original rows share a row band label iff they lie in the same displaced window row, or
        # both in interior rows (interior windows are told apart by the window partition, not by the label)
        interior = (rows > 0) & (rows < H // M)
        band_equal = (r_ids[:, None] // 3) == (r_ids[None, :] // 3)
        assert (band_equal == (same | (interior[:, None] & interior[None, :]))).all()


@given(map_and_window(max_windows=3, max_window=5), st.integers(1, 3))
def test_cyclic_shift_plus_mask_equals_padded_windows(args, heads):
    """The seed's claim: roll + mask computes exactly attention inside the uneven shifted windows."""
    B, H, W, _, M, s = args
    C = 2 * heads
    rng = np.random.default_rng(H + 7 * W + 13 * M + s)
    x = rng.standard_normal((B, H, W, C))
    params = {
        "qkv.weight": rng.standard_normal((3 * C, C)), "qkv.bias": rng.standard_normal(3 * C),
        "proj.weight": rng.standard_normal((C, C)), "proj.bias": rng.standard_normal(C),
        "relative_position_bias_table": rng.standard_normal(((2 * M - 1) ** 2, heads)),
    }
    fast = snp.shifted_window_attention(x, params, heads, M, s)
    naive = snp.padded_window_attention(x, params, heads, M, s)
    np.testing.assert_allclose(fast, naive, rtol=1e-9, atol=1e-9)


def test_equivalence_fails_without_the_mask(rng):
    """The check above can fail: drop the mask and the roll mixes tokens across regions."""
    C, M, s = 4, 4, 2
    x = rng.standard_normal((1, 8, 8, C))
    params = {"qkv.weight": rng.standard_normal((3 * C, C)), "proj.weight": rng.standard_normal((C, C))}
    win = snp.window_partition(snp.cyclic_shift(x, s), M).reshape(-1, M * M, C)
    unmasked = snp.window_attention(win, params["qkv.weight"], None, params["proj.weight"], None, 2)
    unmasked = snp.reverse_cyclic_shift(snp.window_reverse(unmasked.reshape(-1, M, M, C), M, 8, 8), s)
    naive = snp.padded_window_attention(x, params, 2, M, s)
    assert np.abs(unmasked - naive).max() > 1e-2
    np.testing.assert_allclose(snp.shifted_window_attention(x, params, 2, M, s), naive, atol=1e-10)


@given(st.integers(1, 2), st.integers(1, 11), st.integers(1, 11), st.integers(2, 5))
def test_non_divisible_maps_pad_then_shift(B, H, W, M):
    """A map the window does not divide equals the zero-padded map's result, cropped."""
    s = M // 2
    C = 4
    rng = np.random.default_rng(H * 100 + W * 10 + M)
    x = rng.standard_normal((B, H, W, C))
    params = {"qkv.weight": rng.standard_normal((3 * C, C)), "proj.weight": rng.standard_normal((C, C)),
              "relative_position_bias_table": rng.standard_normal(((2 * M - 1) ** 2, 2))}
    out = snp.shifted_window_attention(x, params, 2, M, s)
    assert out.shape == x.shape
    padded = snp.pad_to_multiple(x, M)
    np.testing.assert_allclose(out, snp.shifted_window_attention(padded, params, 2, M, s)[:, :H, :W])
    # padding first, then shifting, is what the padded-window view computes as well
    np.testing.assert_allclose(out, snp.padded_window_attention(padded, params, 2, M, s)[:, :H, :W], atol=1e-10)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4))
def test_patch_partition_roundtrip_and_merging_gather(h, w, C):
    x = np.random.default_rng(h * w * C).standard_normal((1, 2 * h, 2 * w, C))
    p = snp.patch_partition(x, 2)
    assert p.shape == (1, h, w, 4 * C)
    back = p.reshape(1, h, w, 2, 2, C).transpose(0, 1, 3, 2, 4, 5).reshape(x.shape)
    np.testing.assert_array_equal(back, x)
    g = snp.patch_merging_gather(x)
    # the official gather is the patch partition with the two in-patch axes swapped
    np.testing.assert_array_equal(g, p.reshape(1, h, w, 2, 2, C).transpose(0, 1, 2, 4, 3, 5).reshape(1, h, w, 4 * C))


@given(st.integers(1, 9))
def test_relative_position_index_decodes_to_offsets(M):
    idx = snp.relative_position_index(M)
    rel = snp.relative_coords(M)
    dy, dx = np.divmod(idx, 2 * M - 1)
    np.testing.assert_array_equal(dy - (M - 1), rel[..., 0])
    np.testing.assert_array_equal(dx - (M - 1), rel[..., 1])
    np.testing.assert_array_equal(idx + idx.T, 2 * idx[0, 0])  # offset(i,j) = -offset(j,i)


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=20))
def test_softmax_sums_to_one_and_survives_minus_100(vals):
    x = np.array(vals)[None]
    p = snp.softmax(x)
    np.testing.assert_allclose(p.sum(), 1.0)
    masked = snp.softmax(np.concatenate([x, x - 100.0], axis=1))
    # every masked logit is at least 100 below the row maximum: e^-100 ~ 3.7e-44 after softmax
    assert masked[0, len(vals):].max() < 1e-40
