"""Exercises of notebook 02: self-attention, window partition/reverse, and counting MACs."""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from ._core import Case, Exercise, Misconception
from ._data import counting, rand

__all__ = ["ATTENTION", "WINDOW_PARTITION", "WINDOW_REVERSE", "WMSA_MACS"]


# ----------------------------------------------------------------------------- attention
def attention_reference(q, k, v):
    """softmax(q k^T / sqrt(d)) v over the last two axes (any leading batch axes)."""
    d = q.shape[-1]
    return snp.softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(d), axis=-1) @ v


def _att(q, k, v, scale, axis=-1):
    return snp.softmax(q @ np.swapaxes(k, -1, -2) * scale, axis=axis) @ v


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
    hidden_cases=lambda: [
        Case("large logits (|q.k| in the thousands): a softmax without its max trick overflows",
             (rand(4, 16, seed=26, scale=30.0), rand(4, 16, seed=27, scale=30.0), rand(4, 2, seed=28))),
        Case("float32 inputs of shape (3, 4, 4)",
             tuple(rand(3, 4, 4, seed=s, dtype=np.float32) for s in (29, 30, 31))),
    ],
    rtol=1e-4, atol=1e-6,
    hint="compute the logits q @ k^T (swap the last two axes of k: np.swapaxes(k, -1, -2)), divide by "
         "sqrt(d) with d = q.shape[-1], take a softmax over the last axis (over the keys), multiply by v.",
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


WINDOW_PARTITION = Exercise(
    name="window_partition",
    signature="window_partition_mine(x, M)",
    reference=snp.window_partition,
    cases=lambda: [
        Case("the seed's 4x4 map of 16 tokens (values 0..15, 1 channel), M=2", (counting(1, 4, 4, 1), 2)),
        Case("two random 8x12 maps with 3 channels, M=4", (rand(2, 8, 12, 3, seed=40), 4)),
    ],
    hidden_cases=lambda: [
        Case("a 7x14 map, M=7 (two windows side by side)", (counting(1, 7, 14, 2), 7)),
        Case("three float32 6x6 maps with 4 channels, M=3", (rand(3, 6, 6, 4, seed=41, dtype=np.float32), 3)),
        Case("M equal to the map size (one window per image)", (counting(2, 4, 4, 2), 4)),
    ],
    hint="reshape to (B, H/M, M, W/M, M, C), transpose to (B, H/M, W/M, M, M, C) so the window-grid axes "
         "come first, then reshape to (-1, M, M, C).",
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
    hidden_cases=lambda: [
        Case("2 windows of a 7x14 map, M=7", (snp.window_partition(counting(1, 7, 14, 2), 7), 7, 7, 14)),
        Case("float32 windows of three 6x6 maps, M=3",
             (snp.window_partition(rand(3, 6, 6, 4, seed=43, dtype=np.float32), 3), 3, 6, 6)),
    ],
    hint="undo window_partition step by step: reshape to (B, H/M, W/M, M, M, C) with "
         "B = windows.shape[0] // ((H/M) * (W/M)), transpose to (B, H/M, M, W/M, M, C), reshape to "
         "(B, H, W, C).",
    misconceptions=[
        Misconception("a plain reshape does not put windows back in place: reshape to "
                      "(B, H/M, W/M, M, M, C), transpose to (B, H/M, M, W/M, M, C), then reshape to "
                      "(B, H, W, C).", _wr_reshape_only),
        Misconception("the transpose must interleave grid and window axes: (B, H/M, M, W/M, M, C), i.e. "
                      "transpose(0, 1, 3, 2, 4, 5) of (B, H/M, W/M, M, M, C).",
                      lambda w, M, H, W: _wr_order(w, M, H, W, (0, 1, 4, 2, 3, 5))),
    ],
)


# ----------------------------------------------------------------------------- MACs of W-MSA
def wmsa_macs_reference(h, w, C, M):
    """Multiply-accumulates of W-MSA on an h x w x C map with M x M windows: 4hwC^2 + 2M^2hwC."""
    return 4 * h * w * C * C + 2 * M * M * h * w * C


WMSA_MACS = Exercise(
    name="wmsa_macs",
    signature="wmsa_macs_mine(h, w, C, M)",
    reference=wmsa_macs_reference,
    kind="int",
    cases=lambda: [
        Case("the paper's stage 1: h=w=56, C=96, M=7", (56, 56, 96, 7)),
        Case("a small map: h=w=4, C=8, M=2", (4, 4, 8, 2)),
    ],
    hidden_cases=lambda: [
        Case("stage 2 of Swin-T: h=w=28, C=192, M=7", (28, 28, 192, 7)),
        Case("a non-square map: h=8, w=16, C=48, M=4", (8, 16, 48, 4)),
    ],
    hint="count every matmul as rows x inner x columns: Q, K, V projections (3hwC^2), Q K^T and A V inside "
         "each of the hw/M^2 windows (each M^2 x C x M^2, so M^2hwC in total each), and the output "
         "projection W_o (hwC^2).",
    misconceptions=[
        Misconception("you counted FLOPs (2 per multiply-accumulate): the paper's numbers are "
                      "multiply-accumulates, one per product term.",
                      lambda h, w, C, M: 2 * wmsa_macs_reference(h, w, C, M)),
        Misconception("you forgot the output projection W_o (hwC^2): 3hwC^2 for Q, K, V plus hwC^2 for W_o.",
                      lambda h, w, C, M: 3 * h * w * C * C + 2 * M * M * h * w * C),
        Misconception("a window holds M^2 tokens, so Q K^T in one window is M^2 x C x M^2; summed over the "
                      "hw/M^2 windows that is M^2hwC (not MhwC).",
                      lambda h, w, C, M: 4 * h * w * C * C + 2 * M * h * w * C),
        Misconception("that is global MSA, 4hwC^2 + 2(hw)^2C: in W-MSA each token attends only to the M^2 "
                      "tokens of its window.",
                      lambda h, w, C, M: 4 * h * w * C * C + 2 * (h * w) ** 2 * C),
        Misconception("count both attention matmuls: Q K^T and A V each cost M^2hwC.",
                      lambda h, w, C, M: 4 * h * w * C * C + M * M * h * w * C),
    ],
)
