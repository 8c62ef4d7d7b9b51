"""Typical wrong answers of the exercises of notebooks 01-04 that issue #16 added (merged into
tests/test_exercises.py's WRONG table): each is a runnable wrong solution and a piece of the message its
check must print."""
from __future__ import annotations

import numpy as np

from swin_edu import numpy_ref as snp
from swin_edu.demos import capstone_reference as capstone
from swin_edu.exercises import nb01, nb02, nb03, nb04


def _mistake(name):
    return next(m.wrong for m in capstone.MISTAKES if m.name == name)


def _sw_msa_float32(x, params, num_heads, M, s):
    return capstone.sw_msa_reference(x, params, num_heads, M, s).astype(np.float32)


def _sw_msa_no_scale(x, params, num_heads, M, s):
    scaled = dict(params)
    C = x.shape[-1]
    hd = C // num_heads
    w = params["qkv.weight"].copy()
    w[:C] = w[:C] / hd ** -0.5  # undo the 1/sqrt(d) by scaling q up
    b = params["qkv.bias"].copy()
    b[:C] = b[:C] / hd ** -0.5
    scaled["qkv.weight"], scaled["qkv.bias"] = w, b
    return capstone.sw_msa_reference(x, scaled, num_heads, M, s)


def _blocked_floats(H, W, M, s):
    return [float(n) for n in nb03.blocked_pairs_reference(H, W, M, s)]


WRONG_NB01_04 = {
    "patch_pixel": [
        (nb01._pp_col_major, "You read them column by column"),
        (nb01._pp_channel_first, "the conv kernel's (C_in, p, p) order"),
        (lambda i, j, k, p=4, C=3: nb01.patch_pixel_reference(0, 0, k, p, C), "add the patch's top-left pixel"),
        (lambda i, j, k, p=4, C=3: nb01.patch_pixel_reference(j, i, k, p, C), "i is the patch row"),
        (nb01._pp_offset_not_scaled, "patches are p pixels wide"),
        (lambda i, j, k, p=4, C=3: list(nb01.patch_pixel_reference(i, j, k, p, C))[:2], "return three numbers"),
        (lambda i, j, k, p=4, C=3: np.array(nb01.patch_pixel_reference(i, j, k, p, C)), "a tuple of three ints"),
        (lambda i, j, k, p=4, C=3: (4 * i, 4 * j, k % C), "stuck? check.patch_pixel.hint()"),  # p fixed to 4
    ],
    "block_macs": [
        (nb02.wmsa_macs_reference, "that is W-MSA alone"),
        (lambda h, w, C, M: nb02.wmsa_macs_reference(h, w, C, M) + 2 * h * w * C * C, "has 4C units"),
        (lambda h, w, C, M: nb02.wmsa_macs_reference(h, w, C, M) + 4 * h * w * C * C, "you counted one"),
        (lambda h, w, C, M: 12 * h * w * C * C + 2 * (h * w) ** 2 * C, "not all hw tokens"),
        (lambda h, w, C, M: 12 * h * w * C * C + M * M * h * w * C, "two products that depend on the window"),
        (lambda h, w, C, M: 12 * h * w * C * C + 2 * M ** 4 * C, "there are hw/M^2 windows"),
        (lambda h, w, C, M: 2 * nb02.block_macs_reference(h, w, C, M), "you counted FLOPs"),
        (lambda h, w, C, M: nb02.block_macs_reference(h, w, C, M) / 1, "avoid `/`"),
        (lambda h, w, C, M: str(nb02.block_macs_reference(h, w, C, M)), "return a Python int"),
    ],
    "padded_macs": [
        (lambda h, w, C, M, s: (h // M) * (w // M) * nb03._window_cost(C, M), "the cost of the cyclic shift"),
        (lambda h, w, C, M, s: (h // M + 1) * (w // M + 1) * nb03._window_cost(C, M), "with s = 0 nothing"),
        (lambda h, w, C, M, s: 4 * h * w * C * C + (h // M + (s > 0)) * (w // M + (s > 0)) * 2 * M ** 4 * C,
         "the padded tokens are computed too"),
        (lambda h, w, C, M, s: 9 * nb03._window_cost(C, M), "9 windows is the seed's"),
        (lambda h, w, C, M, s: (h // M + w // M + 2 * (s > 0)) * nb03._window_cost(C, M), "do not add them"),
    ],
    "blocked_pairs": [
        (lambda H, W, M, s: [n // 2 for n in nb03.blocked_pairs_reference(H, W, M, s)], "count ordered pairs"),
        (lambda H, W, M, s: [(M * M) ** 2 - n for n in nb03.blocked_pairs_reference(H, W, M, s)],
         "those are the pairs that may attend"),
        (lambda H, W, M, s: nb03.blocked_pairs_reference(H, W, M, s)[::-1], "window 0 is the top-left one"),
        (nb03._corner_two_regions, "so it has 4 regions"),
        (nb03._corner_only, "the windows of the last column"),
        (_blocked_floats, "use // rather than /"),
        (lambda H, W, M, s: np.array(nb03.blocked_pairs_reference(H, W, M, s)), "a Python list, not ndarray"),
        (lambda H, W, M, s: nb03.blocked_pairs_reference(H, W, M, s)[:-1], "one count per window"),
    ],
    "sw_msa": [
        (_mistake("no_reverse_roll"), "your output is still shifted"),
        (_mistake("roll_plus"), "you rolled the map by +s"),
        (_mistake("mask_over_heads"), "numpy lined the mask's window axis up with the heads axis"),
        (_mistake("mask_repeated"), "not repeated"),
        (_mistake("mask_after_softmax"), "you added the mask after the softmax"),
        (_mistake("no_mask"), "the mask is missing"),
        (_mistake("no_bias"), "the relative position bias is missing"),
        (_sw_msa_float32, "the dtype differs"),
        (_sw_msa_no_scale, "stuck? check.sw_msa.hint()"),
        (lambda x, params, num_heads, M, s: snp.window_partition(x, M), "the shapes differ"),
    ],
    "row_usage": [
        (lambda M: np.ones((2 * M - 1, 2 * M - 1), dtype=int), "(0, 0) is read by every token"),
        (lambda M: np.repeat(nb04._fits(M)[:, None], 2 * M - 1, axis=1), "you counted one axis only"),
        (lambda M: np.add.outer(nb04._fits(M), nb04._fits(M)), "they do not add"),
        (lambda M: np.outer(M + 1 - nb04._fits(M), M + 1 - nb04._fits(M)), "far offsets are the rare ones"),
        (lambda M: nb04.row_usage_reference(M) ** 2, "not pairs of pairs"),
        (lambda M: nb04.row_usage_reference(M).astype(float) + 0.5, "the dtype differs"),
        (lambda M: nb04.row_usage_reference(M).ravel(), "the shapes differ"),
    ],
    "source_offset": [
        (lambda d, a, b: d * a / b, "not M and M'"),
        (lambda d, a, b: d * (a - 1) / (b - 1), "align_corners=True"),
        (lambda d, a, b: d * (2 * b - 1) / (2 * a - 1), "the factor is below 1"),
        (lambda d, a, b: float(d), "it does not read offset d itself"),
        (lambda d, a, b: d * (2 * a - 1) / (2 * b - 1) + 0.5, "no half-cell shift"),
        (lambda d, a, b: str(nb04.source_offset_reference(d, a, b)), "return one number"),
        (lambda d, a, b: d * 13 / 23, "stuck? check.source_offset.hint()"),  # right for 7 -> 12 only
    ],
}
