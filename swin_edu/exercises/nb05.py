"""Exercises of notebook 05: patch merging, the Swin block, stage shapes and windows."""
from __future__ import annotations

import functools

import numpy as np

from .. import numpy_ref as snp
from ..config import SwinConfig
from ._data import between, counting, draw, rand
from .spec import Case, Exercise, Misconception

__all__ = ["PATCH_MERGING_GATHER", "SWIN_BLOCK", "PREDICT_STAGE3_SHAPE", "PREDICT_STAGE_WINDOWS",
           "block_case_params"]


# ----------------------------------------------------------------------------- patch merging gather
def _gather(x, offsets):
    return np.concatenate([x[:, r::2, c::2, :] for r, c in offsets], axis=-1)


def _gather_hidden(rng):
    C, B, C2 = between(rng, 3, 6), between(rng, 2, 3), between(rng, 1, 3)
    h, w = between(rng, 2, 4), between(rng, 3, 5)
    return [Case(f"a 2x2 map with {C} channels (a single group)", (counting(1, 2, 2, C),)),
            Case(f"{B} float32 {2 * h}x{2 * w} maps with {C2} channels",
                 (draw(rng, B, 2 * h, 2 * w, C2, dtype=np.float32),))]


PATCH_MERGING_GATHER = Exercise(
    name="patch_merging_gather",
    signature="patch_merging_gather_mine(x)",
    reference=snp.patch_merging_gather,
    cases=lambda: [
        Case("the seed's single-channel 4x4 map holding 0..15", (counting(1, 4, 4, 1),)),
        Case("two random 4x6 maps with 3 channels", (rand(2, 4, 6, 3, seed=70),)),
    ],
    hidden=_gather_hidden,
    forbidden=("swin_edu.numpy_ref.merging:patch_merging_gather",),
    hints=("take the four stride-2 sub-grids x[:, r::2, c::2, :] in the official order (r, c) = (0, 0), "
         "(1, 0), (0, 1), (1, 1) and np.concatenate them along the channel axis (axis=-1).",),
    misconceptions=[
        Misconception("gather order: the official order is x0=(0,0), x1=(1,0), x2=(0,1), x3=(1,1) as (row, "
                      "column) offsets, so x1 is the pixel *below*, x2 the pixel to the *right*. Your order "
                      "takes the right neighbour second. The order matters: the 4C->2C linear layer of a "
                      "checkpoint expects it.", lambda x: _gather(x, ((0, 0), (0, 1), (1, 0), (1, 1)))),
        Misconception("your channels are interleaved (pixel-major): concatenate the four (B, H/2, W/2, C) "
                      "pieces along the last axis with np.concatenate so the channels come in 4 blocks of C "
                      "(x0's C channels, then x1's, ...), not np.stack(..., axis=-1).",
                      lambda x: np.stack([x[:, r::2, c::2, :] for r, c in snp.GATHER_OFFSETS], -1).reshape(
                          x.shape[0], x.shape[1] // 2, x.shape[2] // 2, -1)),
        Misconception("a plain reshape does not gather 2x2 squares: it takes 4 consecutive pixels of one "
                      "row. Use the stride-2 slices x[:, r::2, c::2, :].",
                      lambda x: x.reshape(x.shape[0], x.shape[1] // 2, x.shape[2] // 2, -1)),
    ],
)


# ----------------------------------------------------------------------------- the block
@functools.lru_cache(maxsize=None)
def _block_sd(C: int, heads: int, M: int, seed: int):
    cfg = SwinConfig(img_size=8 * 2, patch_size=2, embed_dim=C, depths=(2,), num_heads=(heads,),
                     window_size=M, num_classes=0)
    return snp.random_state_dict(cfg, seed=seed, dtype=np.float64, std=0.2)


def block_case_params(C: int = 12, heads: int = 3, M: int = 4, shifted: bool = True, seed: int = 0) -> dict:
    """Random weights of one block (official names relative to the block: ``norm1.weight``,
    ``attn.qkv.weight``, ``mlp.fc1.weight``...) for a C-channel map, ``heads`` heads, window M."""
    sd = _block_sd(C, heads, M, seed)
    return snp.block_params(sd, f"layers.0.blocks.{1 if shifted else 0}.")


def _block_wrong(kind):
    def wrong(x, params, num_heads, M, shift):
        ln = lambda t, n: snp.layer_norm(t, params[f"{n}.weight"], params[f"{n}.bias"])  # noqa: E731
        attn = lambda t, s: snp.shifted_window_attention(t, snp.block_params(params, "attn."), num_heads, M, s)  # noqa
        mlp = lambda t: snp.mlp(t, params["mlp.fc1.weight"], params["mlp.fc1.bias"],  # noqa: E731
                                params["mlp.fc2.weight"], params["mlp.fc2.bias"])
        if kind == "post_norm":
            x = ln(x + attn(x, shift), "norm1")
            return ln(x + mlp(x), "norm2")
        if kind == "no_attn_residual":
            x = attn(ln(x, "norm1"), shift)
            return x + mlp(ln(x, "norm2"))
        if kind == "no_mlp_residual":
            x = x + attn(ln(x, "norm1"), shift)
            return mlp(ln(x, "norm2"))
        if kind == "no_shift":
            x = x + attn(ln(x, "norm1"), 0)
            return x + mlp(ln(x, "norm2"))
        if kind == "parallel":
            return x + attn(ln(x, "norm1"), shift) + mlp(ln(x, "norm2"))
        if kind == "norm1_twice":
            x = x + attn(ln(x, "norm1"), shift)
            return x + mlp(ln(x, "norm1"))
        raise ValueError(kind)
    return wrong


def _block_hidden(rng):
    seeds = [between(rng, 1, 10_000) for _ in range(2)]
    b = between(rng, 3, 4)
    h, w = between(rng, 5, 7), between(rng, 9, 11)
    return [Case(f"an SW-MSA block on a non-square 8x{4 * b} map, C=12, 3 heads, M=4, shift 2",
                 (draw(rng, 1, 8, 4 * b, 12), block_case_params(shifted=True, seed=seeds[0]), 3, 4, 2)),
            Case(f"a map the window does not divide ({h}x{w}, M=4, shift 2: pad, then shift)",
                 (draw(rng, 1, h, w, 12), block_case_params(shifted=True, seed=seeds[1]), 3, 4, 2))]


SWIN_BLOCK = Exercise(
    name="swin_block",
    signature="swin_block_mine(x, params, num_heads, M, shift)",
    reference=snp.swin_block,
    cases=lambda: [
        Case("a W-MSA block (shift 0): two random 8x8 maps, C=12, 3 heads, M=4",
             (rand(2, 8, 8, 12, seed=72), block_case_params(shifted=False), 3, 4, 0)),
        Case("an SW-MSA block (shift 2): two random 8x8 maps, C=12, 3 heads, M=4",
             (rand(2, 8, 8, 12, seed=73), block_case_params(shifted=True), 3, 4, 2)),
    ],
    hidden=_block_hidden,
    forbidden=("swin_edu.numpy_ref.model:swin_block",),
    rtol=1e-5, atol=1e-8,
    hints=("two residual steps, each pre-norm: x = x + attention(LN1(x)), then x = x + MLP(LN2(x)); the "
         "attention weights are snp.block_params(params, 'attn.'), and `shift` goes to the attention.",),
    misconceptions=[
        Misconception("this is post-norm, LN(x + f(x)). Swin (like ViT) is pre-norm: the LayerNorm sits "
                      "inside the residual branch, x + f(LN(x)).", _block_wrong("post_norm")),
        Misconception("the attention branch lost its residual connection: x = x + attention(LN1(x)).",
                      _block_wrong("no_attn_residual")),
        Misconception("the MLP branch lost its residual connection: return x + MLP(LN2(x)).",
                      _block_wrong("no_mlp_residual")),
        Misconception("the shift was ignored: pass `shift` to the attention (shift_size), this is what "
                      "makes the block an SW-MSA block.", _block_wrong("no_shift")),
        Misconception("the two branches run one after the other: the MLP sees x after the attention "
                      "residual, not the block's input.", _block_wrong("parallel")),
        Misconception("the MLP branch has its own LayerNorm, norm2 (norm1 belongs to the attention branch).",
                      _block_wrong("norm1_twice")),
    ],
)


# ----------------------------------------------------------------------------- predictions
PREDICT_STAGE3_SHAPE = Exercise(
    name="predict_stage3_shape",
    signature="predict_stage3_shape()",
    reference=None,
    kind="shape",
    cases=lambda: [Case("the feature map that the blocks of stage 3 of Swin-T work on, "
                        "for one 224x224 image")],
    answer_digests=("f70c83f0163f71299c81f210", "86490aac599428a4d81af87c", "852dbb8886a126370712b1f8",
                    "9dd6c39b720723f661f4fb94"),  # spec.prediction_digests
    entry_names=("B", "H", "W", "C"),
    entry_hints=("one image.", "patch embedding divides 224 by 4, each patch merging before stage 3 halves "
                 "it again: two mergings precede stage 3.", "same as H: the image is square.",
                 "C=96 after the embedding; each patch merging doubles it (4C -> 2C)."),
    known_answers={
        (1, 7, 7, 768): "that is stage 4 (after stage 3's patch merging): the blocks of stage 3 see the map "
                        "before it.",
        (1, 28, 28, 192): "that is stage 2: one more patch merging comes before stage 3.",
        (1, 14, 14, 192): "stage 3's resolution is right, but each merging doubles the channels: "
                          "96 -> 192 -> ?",
        (1, 14, 14, 768): "patch merging concatenates 4C then maps it to 2C: the channels double, not "
                          "quadruple.",
    },
)

PREDICT_STAGE_WINDOWS = Exercise(
    name="predict_stage_windows",
    signature="predict_stage_windows()",
    reference=None,
    kind="shape",
    cases=lambda: [Case("(window_size, shift_size) of the SW-MSA blocks in each of Swin-T's 4 stages at "
                        "224x224")],
    answer_digests=("dc1196bb7caadbd7da3a91ac", "6e742195bc902269d0d3601e", "3c18f649c98197bd6faff5db",
                    "1bcdf78c35093fdbfaaa190b"),  # spec.prediction_digests
    entry_names=("stage 1", "stage 2", "stage 3", "stage 4"),
    entry_hints=("stage 1's 56x56 map holds 8x8 windows of 7: shift by floor(7/2).",
                 "stage 2's 28x28 map holds 4x4 windows of 7: shift by floor(7/2).",
                 "stage 3's 14x14 map holds 2x2 windows of 7: shift by floor(7/2).",
                 "stage 4's map is 7x7: a single window covers it. What would shifting it change?"),
    known_answers={
        ((7, 3), (7, 3), (7, 3), (7, 3)): "look at stage 4: its 7x7 map is one single window. A cyclic shift "
                                          "would only roll that window onto itself, and the mask would then "
                                          "forbid tokens to see each other: there is nothing to connect "
                                          "across windows, so the official code does not shift there.",
        ((7, 4), (7, 4), (7, 4), (7, 0)): "the shift is floor(M/2) = floor(7/2).",
    },
)
