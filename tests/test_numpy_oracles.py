"""Independent oracles: torch's own functional ops (torch is used in tests only, never in numpy_ref)."""
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig


def test_numpy_ref_never_imports_torch():
    src = pathlib.Path(snp.__file__).parent
    for f in src.glob("*.py"):
        text = f.read_text()
        assert "import torch" not in text and "from torch" not in text, f


def test_patch_embed_equals_conv2d_4x4_stride_4(rng):
    img = rng.standard_normal((2, 3, 16, 24)).astype(np.float64)
    w, b = rng.standard_normal((96, 3, 4, 4)), rng.standard_normal(96)
    ref = F.conv2d(torch.from_numpy(img), torch.from_numpy(w), torch.from_numpy(b), stride=4)
    ours = snp.patch_embed(img.transpose(0, 2, 3, 1), w, b)
    np.testing.assert_allclose(ours, ref.permute(0, 2, 3, 1).numpy(), rtol=1e-10, atol=1e-10)


def test_layer_norm_equals_torch(rng):
    x = rng.standard_normal((3, 5, 7))
    w, b = rng.standard_normal(7), rng.standard_normal(7)
    ref = F.layer_norm(torch.from_numpy(x), (7,), torch.from_numpy(w), torch.from_numpy(b), eps=1e-5)
    np.testing.assert_allclose(snp.layer_norm(x, w, b), ref.numpy(), rtol=1e-10, atol=1e-12)


def test_patch_merging_equals_fixed_2x2_stride_2_conv(rng):
    """The gather is a conv with a one-hot kernel: output channel 4c'+... picks one pixel of the 2x2 group."""
    C = 3
    x = rng.standard_normal((2, 6, 10, C))
    kernel = np.zeros((4 * C, C, 2, 2))
    for g, (dr, dc) in enumerate(snp.GATHER_OFFSETS):
        for c in range(C):
            kernel[g * C + c, c, dr, dc] = 1.0
    ref = F.conv2d(torch.from_numpy(x.transpose(0, 3, 1, 2)), torch.from_numpy(kernel), stride=2)
    np.testing.assert_array_equal(snp.patch_merging_gather(x), ref.permute(0, 2, 3, 1).numpy())
    # and the same with torch's pixel-unshuffle-free slicing, as the official code writes it
    t = torch.from_numpy(x)
    official = torch.cat([t[:, 0::2, 0::2], t[:, 1::2, 0::2], t[:, 0::2, 1::2], t[:, 1::2, 1::2]], -1)
    np.testing.assert_array_equal(snp.patch_merging_gather(x), official.numpy())


def test_window_attention_equals_sdpa_with_float_mask(rng):
    C, heads, M = 12, 3, 4
    N = M * M
    x = rng.standard_normal((2 * 4, N, C))  # B=2, 4 windows
    wqkv, bqkv = rng.standard_normal((3 * C, C)), rng.standard_normal(3 * C)
    wp, bp = rng.standard_normal((C, C)), rng.standard_normal(C)
    table = rng.standard_normal(((2 * M - 1) ** 2, heads))
    mask = snp.shift_mask(8, 8, M, 2)
    ours = snp.window_attention(x, wqkv, bqkv, wp, bp, heads, relative_position_bias_table=table, mask=mask)

    t = lambda a: torch.from_numpy(np.asarray(a))  # noqa: E731
    qkv = (t(x) @ t(wqkv).T + t(bqkv)).reshape(8, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    bias = t(table)[t(snp.relative_position_index(M)).reshape(-1)].reshape(N, N, heads).permute(2, 0, 1)
    float_mask = (bias[None, None] + t(mask)[None, :, None]).expand(2, -1, -1, -1, -1).reshape(8, heads, N, N)
    out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=float_mask)
    ref = out.transpose(1, 2).reshape(8, N, C) @ t(wp).T + t(bp)
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-9, atol=1e-9)


def test_gelu_and_mlp_equal_torch(rng):
    x = rng.standard_normal((4, 6))
    np.testing.assert_allclose(snp.gelu(x), F.gelu(torch.from_numpy(x)).numpy(), rtol=1e-12)


def test_swin_forward_accepts_torch_tensors_and_buffers():
    cfg = SwinConfig.preset("nano")
    sd = snp.random_state_dict(cfg, seed=3, buffers=True)
    images = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    a = snp.swin_forward(sd, images, cfg)
    b = snp.swin_forward({k: torch.from_numpy(v) for k, v in sd.items()}, torch.from_numpy(images), cfg)
    np.testing.assert_allclose(a, b)
    assert a.shape == (2, 10) and a.dtype == np.float64
