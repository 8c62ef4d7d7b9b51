"""Issue #16: the new exercises of /work/plan/e16_exercises.md as tested drafts.

For each exercise: the reference solution (checked against the package), the typical wrong answers (each a
runnable function), the check cases, and two tests: the reference passes every case, and every wrong answer
is caught on some case and can be told apart from every other wrong answer (so its specific message can be
shown). The lead moves these into swin_edu/exercises/ once the new grading format lands.

Integers and shapes are compared exactly; floats with the tolerance named at each exercise."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from swin_edu import complexity as cx
from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.demos.connectivity import reach_map
from swin_edu.demos.student_model import PatchMerging, StudentSwin, SwinBlock, WindowAttention, learned_only
from swin_edu.model import from_hf

DRAFTS = {}


def draft(name, reference, wrong, cases, same=lambda a, b: a == b):
    DRAFTS[name] = dict(reference=reference, wrong=wrong, cases=cases, same=same)


# ----------------------------------------------------------------------------------------- 1.1 which pixel?
def patch_pixel_reference(i, j, k, p=4, C=3):
    """Entry k of the token at patch-grid position (i, j) holds image[row, col, channel]: which one?"""
    r, rest = divmod(k, p * C)           # row inside the patch: p*C numbers per row
    c, ch = divmod(rest, C)              # then the pixel in that row, then its channel
    return (p * i + r, p * j + c, ch)


def _pp_col_major(i, j, k, p=4, C=3):
    c, rest = divmod(k, p * C)
    r, ch = divmod(rest, C)
    return (p * i + r, p * j + c, ch)


def _pp_channel_first(i, j, k, p=4, C=3):
    ch, rest = divmod(k, p * p)
    r, c = divmod(rest, p)
    return (p * i + r, p * j + c, ch)


draft("patch_pixel", patch_pixel_reference, {
    "col_major": _pp_col_major,                                        # column by column inside the patch
    "channel_first": _pp_channel_first,                                # all R, then all G, then all B
    "no_patch_offset": lambda i, j, k, p=4, C=3: patch_pixel_reference(0, 0, k, p, C),
    "grid_swapped": lambda i, j, k, p=4, C=3: patch_pixel_reference(j, i, k, p, C),
    "offset_not_scaled": lambda i, j, k, p=4, C=3: (
        i + divmod(k, p * C)[0], j + divmod(k % (p * C), C)[0], k % C),
}, [(26, 22, 0), (26, 22, 5), (3, 2, 13), (10, 7, 30), (0, 1, 47), (5, 9, 17, 2, 5)])


def test_patch_pixel_reference_reads_the_package_tokens():
    H, W, C = 24, 40, 3
    code = np.arange(H * W * C).reshape(1, H, W, C)                  # each number says where it came from
    tokens = snp.patch_partition(code, 4)
    for i, j, k in [(0, 0, 0), (5, 9, 47), (2, 3, 13)]:
        r, c, ch = np.unravel_index(tokens[0, i, j, k], (H, W, C))
        assert patch_pixel_reference(i, j, k) == (r, c, ch)
    tokens2 = snp.patch_partition(np.arange(12 * 20 * 5).reshape(1, 12, 20, 5), 2)
    assert np.unravel_index(tokens2[0, 5, 9, 17], (12, 20, 5)) == patch_pixel_reference(5, 9, 17, 2, 5)


# ----------------------------------------------------------------------------------------- 2.4 a whole block
def block_macs_reference(h, w, C, M):
    """MACs of one Swin block: W-MSA (4hwC^2 + 2M^2hwC) and the MLP C -> 4C -> C (8hwC^2); no norms."""
    return 4 * h * w * C * C + 2 * M * M * h * w * C + 8 * h * w * C * C


draft("block_macs", block_macs_reference, {
    "attention_only": lambda h, w, C, M: 4 * h * w * C * C + 2 * M * M * h * w * C,
    "mlp_hidden_C": lambda h, w, C, M: 4 * h * w * C * C + 2 * M * M * h * w * C + 2 * h * w * C * C,
    "mlp_one_layer": lambda h, w, C, M: 4 * h * w * C * C + 2 * M * M * h * w * C + 4 * h * w * C * C,
    "global_attention": lambda h, w, C, M: 12 * h * w * C * C + 2 * (h * w) ** 2 * C,
    "one_attention_matmul": lambda h, w, C, M: 12 * h * w * C * C + M * M * h * w * C,
    "one_window": lambda h, w, C, M: 12 * h * w * C * C + 2 * M**4 * C,
}, [(56, 56, 96, 7), (28, 28, 192, 7), (8, 12, 16, 4)])


def test_block_macs_reference_is_the_package_and_the_counted_code():
    for h, w, C, M in DRAFTS["block_macs"]["cases"]:
        assert block_macs_reference(h, w, C, M) == cx.block_macs(h, w, C, M)
    cfg = SwinConfig(img_size=(8, 12), patch_size=1, embed_dim=16, depths=(2,), num_heads=(2,), window_size=4,
                     num_classes=0)
    params = snp.block_params(snp.random_state_dict(cfg), "layers.0.blocks.1.")
    x = np.random.default_rng(0).standard_normal((1, 8, 12, 16))
    assert cx.count_matmul_macs(snp.swin_block, x, params, 2, 4, 2).total == block_macs_reference(8, 12, 16, 4)


# ----------------------------------------------------------------------------------------- 3.1 the padded way
def padded_macs_reference(h, w, C, M, s):
    """MACs of SW-MSA done by padding every window of the displaced grid to M x M (computed in full)."""
    extra = 1 if s > 0 else 0
    windows = (h // M + extra) * (w // M + extra)
    return windows * (4 * M * M * C * C + 2 * M**4 * C)


draft("padded_macs", padded_macs_reference, {
    "no_extra_window": lambda h, w, C, M, s: (h // M) * (w // M) * (4 * M * M * C * C + 2 * M**4 * C),
    "extra_even_without_shift": lambda h, w, C, M, s: (h // M + 1) * (w // M + 1) * (4 * M * M * C * C + 2 * M**4 * C),
    "projections_on_real_tokens": lambda h, w, C, M, s: 4 * h * w * C * C + padded_macs_reference(h, w, C, M, s)
    - (h // M + (s > 0)) * (w // M + (s > 0)) * 4 * M * M * C * C,
    "always_nine": lambda h, w, C, M, s: 9 * (4 * M * M * C * C + 2 * M**4 * C),
    "added_counts": lambda h, w, C, M, s: (h // M + w // M + 2 * (s > 0)) * (4 * M * M * C * C + 2 * M**4 * C),
}, [(8, 8, 16, 4, 2), (56, 56, 96, 7, 3), (8, 12, 8, 4, 1), (8, 8, 16, 4, 0)])


def test_padded_macs_reference_is_the_package():
    for case in DRAFTS["padded_macs"]["cases"]:
        assert padded_macs_reference(*case) == cx.padded_wmsa_macs(*case)


# ----------------------------------------------------------------------------------------- 3.2 blocked pairs
def blocked_pairs_reference(H, W, M, s):
    """How many (query, key) pairs the mask blocks in each window of the rolled map, in window order."""
    out = []
    nWr, nWc = H // M, W // M
    for wr in range(nWr):
        for wc in range(nWc):
            rows = [M - s, s] if (wr == nWr - 1 and s) else [M]       # the last row of windows holds 2 bands
            cols = [M - s, s] if (wc == nWc - 1 and s) else [M]
            sizes = [a * b for a in rows for b in cols]                # one region per band combination
            out.append((M * M) ** 2 - sum(n * n for n in sizes))
    return out


draft("blocked_pairs", blocked_pairs_reference, {
    "unordered": lambda H, W, M, s: [n // 2 for n in blocked_pairs_reference(H, W, M, s)],
    "allowed_instead": lambda H, W, M, s: [(M * M) ** 2 - n for n in blocked_pairs_reference(H, W, M, s)],
    "window_order_reversed": lambda H, W, M, s: blocked_pairs_reference(H, W, M, s)[::-1],
    "corner_two_regions": lambda H, W, M, s: blocked_pairs_reference(H, W, M, s)[:-1] + (
        [(M * M) ** 2 - (M * (M - s)) ** 2 - (M * s) ** 2] if s else [0]),
    "corner_only": lambda H, W, M, s: [0] * ((H // M) * (W // M) - 1) + blocked_pairs_reference(H, W, M, s)[-1:],
}, [(8, 8, 4, 2), (14, 14, 7, 3), (8, 12, 4, 1), (12, 8, 4, 3)])


def test_blocked_pairs_reference_is_the_mask():
    for H, W, M, s in DRAFTS["blocked_pairs"]["cases"] + [(8, 8, 4, 0)]:
        mask = snp.shift_mask(H, W, M, s)
        assert blocked_pairs_reference(H, W, M, s) == [int((m != 0).sum()) for m in mask]
    assert blocked_pairs_reference(8, 8, 4, 2) == [0, 128, 128, 192]      # the seed's figure


# ----------------------------------------------------------------------------------------- 4.2 shared table rows
def row_usage_reference(M):
    """(2M-1, 2M-1): how many (query, key) pairs of an M x M window read each row of the bias table."""
    d = M - np.abs(np.arange(-(M - 1), M))
    return np.outer(d, d)


draft("row_usage", row_usage_reference, {
    "ones": lambda M: np.ones((2 * M - 1, 2 * M - 1), dtype=int),
    "one_axis": lambda M: np.repeat((M - np.abs(np.arange(-(M - 1), M)))[:, None], 2 * M - 1, axis=1),
    "sum_of_axes": lambda M: np.add.outer(M - np.abs(np.arange(-(M - 1), M)), M - np.abs(np.arange(-(M - 1), M))),
    "far_is_common": lambda M: np.outer(1 + np.abs(np.arange(-(M - 1), M)), 1 + np.abs(np.arange(-(M - 1), M))),
    "pairs_of_pairs": lambda M: row_usage_reference(M) ** 2,
}, [(2,), (3,), (7,)], same=np.array_equal)


def test_row_usage_reference_counts_the_index():
    for (M,) in DRAFTS["row_usage"]["cases"]:
        counts = np.bincount(snp.relative_position_index(M).ravel(), minlength=(2 * M - 1) ** 2)
        np.testing.assert_array_equal(row_usage_reference(M), counts.reshape(2 * M - 1, 2 * M - 1))
    assert row_usage_reference(7)[6, 6] == 49 and row_usage_reference(7)[0, 0] == 1


# ----------------------------------------------------------------------------------------- 4.3 stretched bias
def source_offset_reference(d, M_old, M_new):
    """The resized table's offset d (window M_new) is read at this offset of the old table (window M_old):
    bicubic resize of a (2M-1)-cell grid to (2M'-1) cells with align_corners=False keeps the zero offset
    and scales by (2M-1)/(2M'-1)."""
    return d * (2 * M_old - 1) / (2 * M_new - 1)


draft("source_offset", source_offset_reference, {
    "window_ratio": lambda d, a, b: d * a / b,
    "align_corners": lambda d, a, b: d * (a - 1) / (b - 1),
    "inverted": lambda d, a, b: d * (2 * b - 1) / (2 * a - 1),
    "no_stretch": lambda d, a, b: float(d),
    "half_cell": lambda d, a, b: d * (2 * a - 1) / (2 * b - 1) + 0.5,
}, [(11, 7, 12), (5, 7, 12), (-3, 7, 12), (2, 4, 8)], same=lambda a, b: abs(a - b) < 1e-9)


def test_source_offset_reference_is_where_the_resize_samples():
    """Resizing a ramp (bias = dx) shows the sampling positions; bicubic adds a small overshoot (< 0.15)."""
    from swin_edu.demos.bias_resize import bias_grid, resize_bias_table
    ramp = np.broadcast_to(np.arange(-6, 7, dtype=np.float32), (13, 13)).reshape(169, 1).copy()
    resized = bias_grid(resize_bias_table(ramp, 12))[11]                  # the dy = 0 row
    expected = np.array([source_offset_reference(d, 7, 12) for d in range(-11, 12)])
    np.testing.assert_allclose(resized, expected, atol=0.15)
    assert resized[11] == 0


# ----------------------------------------------------------------------------------------- 5.2 predict the poke
def tokens_reached_reference(blocks, M, shift):
    """Tokens a poke can have reached after `blocks` blocks (W-MSA first) far from the map's borders."""
    return (blocks * M) ** 2 if shift else M * M


draft("tokens_reached", tokens_reached_reference, {
    "no_growth": lambda b, M, shift: M * M,
    "grows_by_s": lambda b, M, shift: (M + (b - 1) * (M // 2)) ** 2 if shift else M * M,
    "grows_at_shifted_blocks_only": lambda b, M, shift: ((1 + b // 2) * M) ** 2 if shift else M * M,
    "side_not_squared": lambda b, M, shift: b * M if shift else M,
}, [(2, 4, True), (3, 4, True), (6, 4, True), (6, 7, True), (6, 4, False), (1, 7, True)])


def test_tokens_reached_reference_is_the_poke():
    for blocks, M, shift in DRAFTS["tokens_reached"]["cases"]:
        schedule = [(M, M // 2 if shift and j % 2 else 0) for j in range(blocks)]
        assert reach_map(8 * M, 8 * M, schedule, (4 * M - 1, 4 * M - 1)).sum() == \
            tokens_reached_reference(blocks, M, shift)


# ----------------------------------------------------------------------------------------- 5.4 merging as a conv
def merge_kernel_reference(C):
    """(4C, C, 2, 2) one-hot kernel: conv2d(x, kernel, stride=2) == the 2x2 gather in the official order."""
    kernel = np.zeros((4 * C, C, 2, 2))
    for k, (r, c) in enumerate(snp.GATHER_OFFSETS):
        kernel[k * C:(k + 1) * C, :, r, c] = np.eye(C)
    return kernel


def _mk_offsets(C, offsets, interleave=False):
    kernel = np.zeros((4 * C, C, 2, 2))
    for k, (r, c) in enumerate(offsets):
        for ch in range(C):
            kernel[ch * 4 + k if interleave else k * C + ch, ch, r, c] = 1
    return kernel


draft("merge_kernel", merge_kernel_reference, {
    "x1_x2_swapped": lambda C: _mk_offsets(C, ((0, 0), (0, 1), (1, 0), (1, 1))),
    "channels_interleaved": lambda C: _mk_offsets(C, snp.GATHER_OFFSETS, interleave=True),
    "in_out_transposed": lambda C: merge_kernel_reference(C).transpose(1, 0, 2, 3),
    "raster_order": lambda C: _mk_offsets(C, ((0, 0), (0, 1), (1, 0), (1, 1))[::-1]),
}, [(1,), (3,)], same=lambda a, b: a.shape == b.shape and np.array_equal(a, b))


def test_merge_kernel_reference_is_the_gather():
    x = np.random.default_rng(0).standard_normal((2, 6, 8, 3))
    conv = F.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(merge_kernel_reference(3)), stride=2)
    np.testing.assert_array_equal(conv.permute(0, 2, 3, 1).numpy(), snp.patch_merging_gather(x))  # one-hot: exact


# ----------------------------------------------------------------------------------------- 7.1 HF hub names
HUB_PREFIX = "swin.encoder.layers.0.blocks.0."


def _hub_block(C=12, heads=3, M=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=g)
    names = {"layernorm_before": (C,), "attention.self.query": (C, C), "attention.self.key": (C, C),
             "attention.self.value": (C, C), "attention.output.dense": (C, C), "layernorm_after": (C,),
             "intermediate.dense": (4 * C, C), "output.dense": (C, 4 * C)}
    block = OrderedDict()
    for name, shape in names.items():
        block[name + ".weight"] = r(*shape)
        block[name + ".bias"] = r(shape[0])
    block["attention.self.relative_position_bias_table"] = r((2 * M - 1) ** 2, heads)
    block["attention.self.relative_position_index"] = torch.from_numpy(snp.relative_position_index(M))
    return block


def hf_block_to_official_reference(hub_block):
    """One block's weights with Hugging Face hub names -> the official names (q, k, v fused into qkv)."""
    renames = {"layernorm_before.": "norm1.", "layernorm_after.": "norm2.",
               "attention.output.dense.": "attn.proj.",          # before "output.dense.": it contains it
               "intermediate.dense.": "mlp.fc1.", "output.dense.": "mlp.fc2.",
               "attention.self.relative_position_bias_table": "attn.relative_position_bias_table"}
    out = OrderedDict()
    for key, value in hub_block.items():
        for hub, official in renames.items():
            if key.startswith(hub):
                out[official + key[len(hub):]] = value
                break
    for leaf in ("weight", "bias"):
        out["attn.qkv." + leaf] = torch.cat([hub_block[f"attention.self.{p}.{leaf}"] for p in ("query", "key", "value")])
    return out


def _hf_variant(**change):
    def convert(hub_block):
        out = hf_block_to_official_reference(hub_block)
        parts = [hub_block[f"attention.self.{p}.weight"] for p in change.get("order", ("query", "key", "value"))]
        out["attn.qkv.weight"] = torch.cat(parts, dim=change.get("dim", 0))
        if change.get("no_qkv_bias"):
            del out["attn.qkv.bias"]
        if change.get("swap_norms"):
            out["norm1.weight"], out["norm2.weight"] = out["norm2.weight"], out["norm1.weight"]
            out["norm1.bias"], out["norm2.bias"] = out["norm2.bias"], out["norm1.bias"]
        if change.get("output_dense_first"):      # "output.dense." matched inside "attention.output.dense."
            out["mlp.fc2.weight"], out["mlp.fc2.bias"] = out.pop("attn.proj.weight"), out.pop("attn.proj.bias")
        return out
    return convert


draft("hf_block_to_official", hf_block_to_official_reference, {
    "qkv_along_dim1": _hf_variant(dim=1),
    "qkv_order_kqv": _hf_variant(order=("key", "query", "value")),
    "no_qkv_bias": _hf_variant(no_qkv_bias=True),
    "norms_swapped": _hf_variant(swap_norms=True),
    "output_dense_first": _hf_variant(output_dense_first=True),
}, [(_hub_block(),), (_hub_block(C=8, heads=2, M=2, seed=1),)],
    same=lambda a, b: set(a) == set(b) and all(a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a))


def test_hf_block_reference_agrees_with_the_package_converter():
    for (hub,) in DRAFTS["hf_block_to_official"]["cases"]:
        package = from_hf({HUB_PREFIX + k: v for k, v in hub.items()})
        package = {k[len("layers.0.blocks.0."):]: v for k, v in package.items()
                   if not k.endswith("relative_position_index")}
        mine = hf_block_to_official_reference(hub)
        assert set(mine) == set(package) and all(torch.equal(mine[k], package[k]) for k in mine)
        block = SwinBlock(hub["layernorm_before.weight"].shape[0], hub["attention.self.relative_position_bias_table"].shape[1],
                          int(round(hub["attention.self.relative_position_bias_table"].shape[0] ** 0.5) + 1) // 2, 0)
        block.load_state_dict(mine, strict=True)                          # the official block layout


# ----------------------------------------------------------------------------------------- the two generic tests
@pytest.mark.parametrize("name", sorted(DRAFTS))
def test_reference_is_deterministic_and_wrong_answers_are_caught(name):
    d = DRAFTS[name]
    outputs = {}
    for n, args in enumerate(d["cases"]):
        outputs["reference", n] = d["reference"](*args)
        assert d["same"](d["reference"](*args), outputs["reference", n])
        for wrong, fn in d["wrong"].items():
            outputs[wrong, n] = fn(*args)
    for wrong in d["wrong"]:
        assert any(not d["same"](outputs[wrong, n], outputs["reference", n]) for n in range(len(d["cases"]))), \
            f"{name}: the wrong answer {wrong!r} passes every case"
    names = list(d["wrong"])
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert any(not d["same"](outputs[a, n], outputs[b, n]) for n in range(len(d["cases"]))), \
                f"{name}: {a!r} and {b!r} give the same answers: one message cannot tell them apart"


# ----------------------------------------------------------------------------------------- 07: the torch modules' classic mistakes
class _ScaleAfterBias(WindowAttention):
    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).view(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = (q @ k.transpose(-2, -1) + bias.permute(2, 0, 1)) * self.scale
        if mask is not None:
            nW = mask.shape[0]
            attn = (attn.view(-1, nW, self.num_heads, N, N) + mask[None, :, None]).view(B_, -1, N, N)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))


class _BiasNotPermuted(WindowAttention):
    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).view(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(-1, N, N)
        attn = (q * self.scale) @ k.transpose(-2, -1) + bias       # (heads, N, N) read from (N, N, heads) memory
        if mask is not None:
            nW = mask.shape[0]
            attn = (attn.view(-1, nW, self.num_heads, N, N) + mask[None, :, None]).view(B_, -1, N, N)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))


class _NoReverseRoll(SwinBlock):
    def forward(self, x):
        return _shifted_forward(self, x, reverse=False, sign=-1)


class _RollPlus(SwinBlock):
    def forward(self, x):
        return _shifted_forward(self, x, reverse=True, sign=+1)


def _shifted_forward(block, x, reverse, sign):
    B, H, W, C = x.shape
    M, s = block.window_size, block.shift_size
    h = torch.roll(block.norm1(x), (sign * s, sign * s), (1, 2))
    h = h.view(B, H // M, M, W // M, M, C).transpose(2, 3).reshape(-1, M * M, C)
    mask = torch.from_numpy(snp.shift_mask(H, W, M, s)).to(x) if s else None
    h = block.attn(h, mask).view(B, H // M, W // M, M, M, C).transpose(2, 3).reshape(B, H, W, C)
    x = x + (torch.roll(h, (-sign * s, -sign * s), (1, 2)) if reverse else h)
    return x + block.mlp(block.norm2(x))


class _MergeX1X2Swapped(PatchMerging):
    def forward(self, x):
        x = torch.cat([x[:, 0::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 0::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))


@pytest.mark.parametrize("module, wrong", [("attn", _ScaleAfterBias), ("attn", _BiasNotPermuted),
                                           ("block", _NoReverseRoll), ("block", _RollPlus),
                                           ("merge", _MergeX1X2Swapped)])
def test_torch_module_mistakes_change_the_logits(module, wrong):
    cfg = SwinConfig.preset("nano")
    torch.manual_seed(0)
    right = StudentSwin(cfg).eval()
    with torch.no_grad():                  # weights large enough that every mistake shows (bias tables too)
        for p in right.parameters():
            p.normal_(0, 0.3)
    sd = right.state_dict()
    bad = StudentSwin(cfg).eval()
    for layer in bad.layers:
        for j, blk in enumerate(layer.blocks):
            if module == "attn":
                blk.attn.__class__ = wrong
            elif module == "block" and j % 2:
                blk.__class__ = wrong
        if module == "merge" and layer.downsample is not None:
            layer.downsample.__class__ = wrong
    bad.load_state_dict(sd)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (bad(images) - right(images)).abs().max() > 1e-3


def test_unnamed_mlp_fails_to_load_with_the_key_names():
    class UnnamedMlp(SwinBlock):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.mlp = torch.nn.Sequential(torch.nn.Linear(12, 48), torch.nn.GELU(), torch.nn.Linear(48, 12))
    official = SwinBlock(12, 3, 4, 2).state_dict()
    with pytest.raises(RuntimeError, match=r"(?s)Missing key\(s\).*mlp\.0\.weight.*Unexpected key\(s\).*mlp\.fc1\.weight"):
        UnnamedMlp(12, 3, 4, 2).load_state_dict(official)


def test_student_swin_loads_a_converted_state_dict():
    """Round trip: the package's official state dict -> learned_only -> StudentSwin, strict."""
    from swin_edu.model import SwinTransformer
    cfg = SwinConfig.preset("nano")
    StudentSwin(cfg).load_state_dict(learned_only(SwinTransformer(cfg).state_dict()), strict=True)
