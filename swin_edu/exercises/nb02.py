"""Exercises of notebook 02: self-attention, window partition/reverse, and counting MACs."""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from ._data import between, counting, draw, pick, rand
from .spec import Case, Exercise, Misconception

__all__ = ["ATTENTION", "WINDOW_PARTITION", "WINDOW_REVERSE", "BLOCK_MACS"]


# ----------------------------------------------------------------------------- attention
def attention_reference(q, k, v):
    """softmax(q k^T / sqrt(d)) v over the last two axes (any leading batch axes)."""
    d = q.shape[-1]
    return snp.softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(d), axis=-1) @ v


def _att(q, k, v, scale, axis=-1):
    return snp.softmax(q @ np.swapaxes(k, -1, -2) * scale, axis=axis) @ v


def _attention_hidden(rng):
    n, d, dv = between(rng, 3, 6), pick(rng, (8, 16)), between(rng, 1, 4)
    b, nq, nk, d2 = between(rng, 2, 4), between(rng, 3, 5), between(rng, 3, 6), pick(rng, (4, 6))
    f32 = np.float32
    return [
        Case(f"large logits (|q.k| in the thousands, d={d}): a softmax without its max trick overflows",
             (draw(rng, n, d, scale=30.0), draw(rng, n, d, scale=30.0), draw(rng, n, dv))),
        Case(f"float32 inputs: a batch of {b}, {nq} queries, {nk} keys, d={d2}",
             (draw(rng, b, nq, d2, dtype=f32), draw(rng, b, nk, d2, dtype=f32),
              draw(rng, b, nk, d2, dtype=f32))),
    ]


ATTENTION = Exercise(
    name="attention",
    signature="attention_mine(q, k, v)",
    reference=attention_reference,
    cases=lambda: [
        Case("6 queries and 6 keys of dimension d=4, values of dimension 3",
             (rand(6, 4, seed=20), rand(6, 4, seed=21), rand(6, 3, seed=22))),
        Case("a batch (2 windows, 3 heads) of 5 tokens with d=8, keys and values from other tokens",
             (rand(2, 3, 5, 8, seed=23), rand(2, 3, 7, 8, seed=24), rand(2, 3, 7, 8, seed=25))),
    ],
    hidden=_attention_hidden,
    rtol=1e-4, atol=1e-6,
    hints=("Three steps: similarities of every query with every key, a normalisation that turns each "
           "query's similarities into weights summing to 1, and a weighted sum of the values. Which axis is "
           "the keys' axis?",
           "The logits are q times k transposed on its last two axes, divided by the square root of the key "
           "dimension d (the last axis of q); the softmax runs over the keys (the last axis); the weights then "
           "multiply v."),
    nan_hint="exp() of a large logit overflows to inf and inf/inf is NaN. Subtract each row's maximum "
             "before exp (softmax is unchanged by that shift), or use snp.softmax.",
    misconceptions=[
        Misconception("you forgot the scale: divide the logits q k^T by sqrt(d), d = q.shape[-1] (the "
                      "√d_k of the seed's formula).", lambda q, k, v: _att(q, k, v, 1.0)),
        Misconception("you divided by d; the scale is 1/sqrt(d).",
                      lambda q, k, v: _att(q, k, v, 1.0 / q.shape[-1])),
        Misconception("the softmax runs over the wrong axis: each query's weights over the keys must sum to "
                      "1, so take the softmax over the last axis (axis=-1).",
                      lambda q, k, v: _att(q, k, v, q.shape[-1] ** -0.5, axis=-2)),
    ],
)


# ----------------------------------------------------------------------------- window partition
def _wp_order(x, M, order):
    B, H, W, C = x.shape
    return x.reshape(B, H // M, M, W // M, M, C).transpose(order).reshape(-1, M, M, C)


def _partition_hidden(rng):
    M, a, b, C = pick(rng, (3, 5, 7)), between(rng, 1, 2), between(rng, 2, 3), between(rng, 1, 4)
    M2, B, C2 = pick(rng, (2, 3, 4)), between(rng, 2, 3), between(rng, 2, 5)
    M3 = pick(rng, (4, 6))
    return [
        Case(f"a {a * M}x{b * M} map, M={M} ({a * b} windows)", (counting(1, a * M, b * M, C), M)),
        Case(f"{B} float32 {3 * M2}x{2 * M2} maps with {C2} channels, M={M2}",
             (draw(rng, B, 3 * M2, 2 * M2, C2, dtype=np.float32), M2)),
        Case(f"M equal to the map size ({M3}x{M3}: one window per image)", (draw(rng, 2, M3, M3, 2), M3)),
    ]


WINDOW_PARTITION = Exercise(
    name="window_partition",
    signature="window_partition_mine(x, M)",
    reference=snp.window_partition,
    cases=lambda: [
        Case("the seed's 4x4 map of 16 tokens (values 0..15, 1 channel), M=2", (counting(1, 4, 4, 1), 2)),
        Case("two random 8x12 maps with 3 channels, M=4", (rand(2, 8, 12, 3, seed=40), 4)),
    ],
    hidden=_partition_hidden,
    forbidden=("swin_edu.numpy_ref.windows:window_partition",),
    hints=("Think of the H axis as (H/M windows) x (M rows inside a window); the same for W. Where must the "
           "two window-grid axes end up so that each window's M x M tokens are contiguous?",
           "One reshape splits both spatial axes into (window index, position in window); a transpose brings "
           "the two window-index axes together, ahead of the within-window axes; a last reshape merges batch "
           "and window grid into one axis of windows."),
    misconceptions=[
        Misconception("a plain reshape does not cut windows: it cuts the row-major map into runs of M*M*C "
                      "numbers, i.e. pieces of image rows. Reshape to (B, H/M, M, W/M, M, C), transpose to "
                      "(B, H/M, W/M, M, M, C), then reshape.",
                      lambda x, M: x.reshape(-1, M, M, x.shape[-1])),
        Misconception("your windows come in column-major order. The official order is row-major over the "
                      "window grid: left to right along the top row of windows, then the next row.",
                      lambda x, M: _wp_order(x, M, (0, 3, 1, 2, 4, 5))),
        Misconception("inside each window rows and columns are swapped: after the transpose the axes must be "
                      "(B, H/M, W/M, row in window, column in window, C).",
                      lambda x, M: _wp_order(x, M, (0, 1, 3, 4, 2, 5))),
    ],
)


# ----------------------------------------------------------------------------- window reverse
def _wr_reshape_only(windows, M, H, W):
    return windows.reshape(-1, H, W, windows.shape[-1])


def _wr_order(windows, M, H, W, order):
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // M) * (W // M))
    return windows.reshape(B, H // M, W // M, M, M, C).transpose(order).reshape(B, H, W, C)


def _reverse_hidden(rng):
    M, a, b = pick(rng, (5, 7)), between(rng, 1, 2), between(rng, 2, 3)
    M2, B, C = pick(rng, (2, 3)), between(rng, 2, 3), between(rng, 2, 5)
    return [
        Case(f"{a * b} windows of a {a * M}x{b * M} map, M={M}",
             (snp.window_partition(counting(1, a * M, b * M, 2), M), M, a * M, b * M)),
        Case(f"float32 windows of {B} {2 * M2}x{4 * M2} maps with {C} channels, M={M2}",
             (snp.window_partition(draw(rng, B, 2 * M2, 4 * M2, C, dtype=np.float32), M2),
              M2, 2 * M2, 4 * M2)),
    ]


WINDOW_REVERSE = Exercise(
    name="window_reverse",
    signature="window_reverse_mine(windows, M, H, W)",
    reference=snp.window_reverse,
    cases=lambda: [
        Case("the 4 windows of the seed's 4x4 map (M=2), values 0..15",
             (snp.window_partition(counting(1, 4, 4, 1), 2), 2, 4, 4)),
        Case("12 windows of two random 8x12 maps with 3 channels, M=4",
             (snp.window_partition(rand(2, 8, 12, 3, seed=42), 4), 4, 8, 12)),
    ],
    hidden=_reverse_hidden,
    forbidden=("swin_edu.numpy_ref.windows:window_reverse",),
    hints=("Undo window_partition's three steps in the opposite order. How many images B were there, given "
           "the number of windows and the map size?",
           "Split the windows axis into (B, H/M, W/M); a transpose interleaves each window-grid axis with its "
           "within-window axis again (grid row, row in window, grid column, column in window); a last reshape "
           "merges each pair into H and W."),
    misconceptions=[
        Misconception("a plain reshape does not put windows back in place: reshape to "
                      "(B, H/M, W/M, M, M, C), transpose to (B, H/M, M, W/M, M, C), then reshape to "
                      "(B, H, W, C).", _wr_reshape_only),
        Misconception("the transpose must interleave grid and window axes: (B, H/M, M, W/M, M, C), i.e. "
                      "transpose(0, 1, 3, 2, 4, 5) of (B, H/M, W/M, M, M, C).",
                      lambda w, M, H, W: _wr_order(w, M, H, W, (0, 1, 4, 2, 3, 5))),
    ],
)


# ----------------------------------------------------------------------------- MACs of a whole block
def wmsa_macs_reference(h, w, C, M):
    """Multiply-accumulates of W-MSA on an h x w x C map with M x M windows: 4hwC^2 + 2M^2hwC."""
    return 4 * h * w * C * C + 2 * M * M * h * w * C


def block_macs_reference(h, w, C, M):
    """MACs of one Swin block: W-MSA (4hwC^2 + 2M^2hwC) plus the MLP C -> 4C -> C (8hwC^2); LayerNorms
    not counted. Equals ``complexity.block_macs(h, w, C, M)`` = 12hwC^2 + 2M^2hwC."""
    return wmsa_macs_reference(h, w, C, M) + 8 * h * w * C * C


def _block_hidden(rng):
    n, C = 7 * pick(rng, (2, 4, 8)), 32 * between(rng, 2, 12)
    M = pick(rng, (2, 4))
    h, w, C2 = M * between(rng, 2, 5), M * between(rng, 6, 9), 16 * between(rng, 1, 6)
    return [Case(f"a Swin-like stage: h=w={n}, C={C}, M=7", (n, n, C, 7)),
            Case(f"a non-square map: h={h}, w={w}, C={C2}, M={M}", (h, w, C2, M)),
            Case(f"one window covers the map: h=w={M}, C={C2}, M={M}", (M, M, C2, M))]


BLOCK_MACS = Exercise(
    name="block_macs",
    signature="block_macs_mine(h, w, C, M)",
    reference=block_macs_reference,
    kind="int",
    cases=lambda: [
        Case("Swin-T stage 1: h=w=56, C=96, M=7", (56, 56, 96, 7)),
        Case("Swin-T stage 2: h=w=28, C=192, M=7", (28, 28, 192, 7)),
        Case("a small non-square map: h=8, w=12, C=16, M=4", (8, 12, 16, 4)),
    ],
    hidden=_block_hidden,
    forbidden=("swin_edu.complexity:block_macs", "swin_edu.complexity:block_breakdown",
               "swin_edu.complexity:wmsa_macs", "swin_edu.complexity:wmsa_breakdown",
               "swin_edu.complexity:count_matmul_macs"),
    hints=("List the matrix products of a block in order: the table above gives attention's; what does the "
           "MLP multiply, and how large is its hidden layer?",
           "Write each product as (rows x inner)(inner x cols), which costs rows * inner * cols. The MLP has hw "
           "rows and two layers, C -> 4C and 4C -> C; add its two products to the attention's."),
    misconceptions=[
        Misconception("that is W-MSA alone. A block also runs the MLP on every token: two linear layers, "
                      "C -> 4C and 4C -> C.", wmsa_macs_reference),
        Misconception("the MLP's hidden layer has 4C units (mlp_ratio = 4): its two layers are an "
                      "(hw x C)(C x 4C) and an (hw x 4C)(4C x C) product.",
                      lambda h, w, C, M: wmsa_macs_reference(h, w, C, M) + 2 * h * w * C * C),
        Misconception("the MLP has two linear layers (C -> 4C, then 4C -> C); you counted one.",
                      lambda h, w, C, M: wmsa_macs_reference(h, w, C, M) + 4 * h * w * C * C),
        Misconception("inside windows each query meets the M^2 keys of its window, not all hw tokens of the "
                      "map (that is global MSA).",
                      lambda h, w, C, M: 12 * h * w * C * C + 2 * (h * w) ** 2 * C),
        Misconception("attention has two products that depend on the window: Q K^T and A V, M^2hwC each.",
                      lambda h, w, C, M: 12 * h * w * C * C + M * M * h * w * C),
        Misconception("2M^4C is the attention of one window; there are hw/M^2 windows.",
                      lambda h, w, C, M: 12 * h * w * C * C + 2 * M ** 4 * C if h * w != M * M else None),
        Misconception("you counted FLOPs (2 per multiply-accumulate): the paper's numbers are "
                      "multiply-accumulates, one per product term.",
                      lambda h, w, C, M: 2 * block_macs_reference(h, w, C, M)),
    ],
)
