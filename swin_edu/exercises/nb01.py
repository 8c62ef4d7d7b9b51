"""Exercises of notebook 01: patch partition and linear embedding."""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from ._data import between, counting, draw, pick, rand
from ._values import as_int_tuple, same_ints, value_compare
from .spec import Case, Exercise, Misconception

__all__ = ["PATCH_PIXEL", "PATCH_PARTITION", "CONV_TO_LINEAR", "LAYER_NORM"]


# ----------------------------------------------------------------------------- patch partition
def _split(images, p):
    B, H, W, C = images.shape
    return images.reshape(B, H // p, p, W // p, p, C)


def _partition_in_order(images, p, order):
    B, H, W, C = images.shape
    return _split(images, p).transpose(order).reshape(B, H // p, W // p, p * p * C)


def _partition_hidden(rng):
    p, B, C = pick(rng, (2, 3, 4, 5)), between(rng, 2, 3), between(rng, 1, 5)
    h, w = between(rng, 2, 4), between(rng, 1, 3)
    q, C1 = pick(rng, (2, 4)), between(rng, 2, 5)
    return [
        Case(f"{B} random {h * p}x{w * p} float32 images with {C} channels, patch_size={p}",
             (draw(rng, B, h * p, w * p, C, dtype=np.float32), p)),
        Case(f"a {q}x{q} image with {C1} channels that is a single patch", (counting(1, q, q, C1), q)),
        Case(f"one {w * 2}x{h * 2} image with {C} channels, patch_size=2",
             (draw(rng, 1, w * 2, h * 2, C), 2)),
    ]


PATCH_PARTITION = Exercise(
    name="patch_partition",
    signature="patch_partition_mine(images, patch_size)",
    reference=snp.patch_partition,
    cases=lambda: [
        Case("one 8x8 image with 3 channels holding 0, 1, 2, ..., patch_size=4", (counting(1, 8, 8, 3), 4)),
        Case("two random 8x12 RGB images, patch_size=4", (rand(2, 8, 12, 3, seed=1), 4)),
        Case("one 6x6 image with 2 channels, patch_size=2", (counting(1, 6, 6, 2), 2)),
    ],
    hidden=_partition_hidden,
    forbidden=("swin_edu.numpy_ref.patches:patch_partition",),
    hints=("Think of the H axis as (H/p patches) x (p rows inside a patch); the same for W.",
           "One reshape splits both spatial axes into (patch index, position in patch); a transpose brings the "
           "two patch-index axes next to each other, ahead of the within-patch axes; a last reshape merges "
           "(row, column, channel) into one axis of p*p*C."),
    misconceptions=[
        Misconception("a plain reshape does not cut patches: it takes p*p*C consecutive numbers of the "
                      "row-major image, i.e. pixels from one image row. Split H and W into (H/p, p) and "
                      "(W/p, p) first, then transpose to (B, H/p, W/p, p, p, C), then reshape.",
                      lambda images, p: images.reshape(images.shape[0], images.shape[1] // p,
                                                       images.shape[2] // p, -1)),
        Misconception("your patches are flattened channel by channel (all reds, then all greens...). "
                      "The seed flattens a patch row by row, pixel by pixel (按行展平): the C channels of "
                      "one pixel stay together, order (row, column, channel).",
                      lambda images, p: _partition_in_order(images, p, (0, 1, 3, 5, 2, 4))),
        Misconception("your patches are flattened column by column. Flatten row by row (按行展平): the "
                      "within-patch axes must come in the order (row, column, channel).",
                      lambda images, p: _partition_in_order(images, p, (0, 1, 3, 4, 2, 5))),
    ],
)


# ----------------------------------------------------------------------------- conv weight -> linear
def _conv_hidden(rng):
    c_out, c_in, p = between(rng, 3, 8), between(rng, 2, 4), pick(rng, (2, 3, 4))
    a, b = between(rng, 2, 6), between(rng, 2, 7)
    return [Case(f"a float32 kernel ({c_out}, {c_in}, {p}, {p})",
                 (draw(rng, c_out, c_in, p, p, dtype=np.float32),)),
            Case(f"a 1x1 conv ({a}, {b}, 1, 1)", (draw(rng, a, b, 1, 1),))]


CONV_TO_LINEAR = Exercise(
    name="conv_to_linear",
    signature="conv_to_linear_mine(weight)",
    reference=snp.conv_weight_to_linear,
    cases=lambda: [
        Case("a conv kernel (C_out=2, C_in=3, 4, 4) holding 0, 1, 2, ...", (counting(2, 3, 4, 4),)),
        Case("a random Swin-T-like kernel (96, 3, 4, 4)", (rand(96, 3, 4, 4, seed=4, scale=0.02),)),
    ],
    hidden=_conv_hidden,
    forbidden=("swin_edu.numpy_ref.patches:conv_weight_to_linear",),
    hints=("The conv kernel and the token list the same p*p*C_in numbers in different orders: write down "
           "the order of each (which counter changes fastest?).",
           "The kernel's axes are (C_out, C_in, row, column); the token's order is (row, column, channel). "
           "Move the input-channel axis to the end, then merge the last three axes; the output channels stay "
           "first, as in nn.Linear's (out, in) layout."),
    misconceptions=[
        Misconception("`weight.reshape(C_out, -1)` keeps the conv's (C_in, row, column) order, but "
                      "patch_partition orders a patch's numbers (row, column, channel). Move C_in last "
                      "first: weight.transpose(0, 2, 3, 1).reshape(C_out, -1).",
                      lambda w: w.reshape(w.shape[0], -1)),
        Misconception("rows and columns of the kernel are swapped: after moving C_in last the axes must be "
                      "(C_out, row, column, C_in), i.e. transpose(0, 2, 3, 1).",
                      lambda w: w.transpose(0, 3, 2, 1).reshape(w.shape[0], -1)),
        Misconception("this is the matrix transposed: like nn.Linear, the weight is stored as (out_features, "
                      "in_features) = (C_out, p*p*C_in), and applied as tokens @ weight.T.",
                      lambda w: w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1).T),
    ],
)


# ----------------------------------------------------------------------------- LayerNorm
def _ln_unbiased(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, ddof=1, keepdims=True) + eps) * weight + bias


def _ln_axis0(x, weight, bias, eps=1e-5):
    return (x - x.mean(0, keepdims=True)) / np.sqrt(x.var(0, keepdims=True) + eps) * weight + bias


def _ln_all(x, weight, bias, eps=1e-5):
    return (x - x.mean()) / np.sqrt(x.var() + eps) * weight + bias


def _ln_eps_outside(x, weight, bias, eps=1e-5):
    return (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + eps) * weight + bias


def _ln_no_affine(x, weight, bias, eps=1e-5):
    return snp.layer_norm(x, eps=eps)


def _ln_hidden(rng):
    C, n, C2 = pick(rng, (8, 12, 16)), between(rng, 2, 5), between(rng, 4, 8)
    f32 = np.float32
    return [
        Case(f"a float32 feature map (1, 2, 2, {C})",
             (draw(rng, 1, 2, 2, C, dtype=f32), draw(rng, C, dtype=f32, offset=1.0),
              draw(rng, C, dtype=f32))),
        Case(f"{n} constant tokens of {C2} channels (variance 0: only eps avoids 0/0), eps=1e-3",
             (np.full((n, C2), float(rng.uniform(-3, 3))), draw(rng, C2), draw(rng, C2)), {"eps": 1e-3}),
        Case(f"{n} tokens of {C} channels far from zero (mean about -50)",
             (draw(rng, n, C, offset=-50.0), draw(rng, C, offset=1.0), draw(rng, C))),
    ]


LAYER_NORM = Exercise(
    name="layer_norm",
    signature="layer_norm_mine(x, weight, bias, eps=1e-5)",
    reference=lambda x, weight, bias, eps=1e-5: snp.layer_norm(x, weight, bias, eps),
    cases=lambda: [
        Case("tokens (2, 3, 4), C=4 channels, random weight and bias",
             (rand(2, 3, 4, seed=6, scale=2.0), rand(4, seed=7, offset=1.0), rand(4, seed=8))),
        Case("5 tokens of 8 channels far from zero (mean about 100)",
             (rand(5, 8, seed=9, offset=100.0), np.ones(8), np.zeros(8))),
        Case("4 tokens of 16 channels that vary very little (std 0.01): eps matters",
             (rand(4, 16, seed=15, scale=0.01), rand(16, seed=16, offset=1.0), rand(16, seed=17))),
    ],
    hidden=_ln_hidden,
    forbidden=("swin_edu.numpy_ref.patches:layer_norm",),
    rtol=1e-4, atol=1e-5,
    hints=("Each token is normalised on its own: over which axis are the mean and the variance taken, and "
           "what must their shape be to broadcast back against x?",
           "Mean and (biased) variance over the last axis, keeping that axis; subtract the mean, divide by the "
           "square root of (variance + eps), then scale by weight and shift by bias."),
    nan_hint="a constant token has variance 0: eps goes inside the square root, sqrt(var + eps), so the "
             "division is never 0/0.",
    misconceptions=[
        Misconception("you used the unbiased variance (dividing by C-1). LayerNorm divides by C: np.var and "
                      "x.var() do that by default (ddof=0).", _ln_unbiased),
        Misconception("you normalised over the wrong axis. Each token is normalised over its own channels: "
                      "axis=-1 (the last axis), with keepdims=True so the result broadcasts.", _ln_axis0),
        Misconception("you normalised over the whole array at once. Each token is normalised over its own "
                      "channels only: mean and var along axis=-1, keepdims=True.", _ln_all),
        Misconception("eps goes inside the square root: (x - mean) / sqrt(var + eps), not / (std + eps).",
                      _ln_eps_outside),
        Misconception("you forgot the learned affine part: after normalising, multiply by weight and "
                      "add bias.",
                      _ln_no_affine),
    ],
)


# ----------------------------------------------------------------------------- which pixel is where?
def patch_pixel_reference(i, j, k, p=4, C=3):
    """Entry k of the token at patch-grid position (i, j) holds image[row, col, channel]: which one?
    A patch is flattened row by row, pixel by pixel, channel by channel."""
    r, rest = divmod(k, p * C)  # row inside the patch: p*C numbers per row
    c, ch = divmod(rest, C)     # then the pixel in that row, then its channel
    return (p * i + r, p * j + c, ch)


def _pp_col_major(i, j, k, p=4, C=3):
    c, rest = divmod(k, p * C)
    r, ch = divmod(rest, C)
    return (p * i + r, p * j + c, ch)


def _pp_channel_first(i, j, k, p=4, C=3):
    ch, rest = divmod(k, p * p)
    r, c = divmod(rest, p)
    return (p * i + r, p * j + c, ch)


def _pp_offset_not_scaled(i, j, k, p=4, C=3):
    r, c, ch = patch_pixel_reference(0, 0, k, p, C)
    return (i + r, j + c, ch)


def _pp_type(got, expected):
    if as_int_tuple(got) is None:
        return "return a tuple of three ints (row, col, channel), e.g. (0, 0, 0)."
    if len(got) != 3:
        return f"return three numbers, (row, col, channel); you returned {len(got)}."
    return None


def _pp_hidden(rng):
    p, C = pick(rng, (2, 3)), between(rng, 4, 6)
    i, j, k = between(rng, 3, 9), between(rng, 3, 9), between(rng, p * C + 1, p * p * C - 1)
    return [Case(f"patch size {p}, {C} channels: token ({i}, {j}), entry {k}", (i, j, k), {"p": p, "C": C}),
            Case(f"the last entry of token ({j}, {i}), patch 4, RGB", (j, i, 47)),
            Case("the first entry of token (0, 0)", (0, 0, 0))]


PATCH_PIXEL = Exercise(
    name="patch_pixel",
    signature="patch_pixel_mine(i, j, k, p=4, C=3)",
    reference=patch_pixel_reference,
    kind="custom",
    compare=lambda got, expected, case: _pp_compare(got, expected, case),
    cases=lambda: [
        Case("token (26, 22), entry 0", (26, 22, 0)),
        Case("token (26, 22), entry 5", (26, 22, 5)),
        Case("token (3, 2), entry 13", (3, 2, 13)),
        Case("token (10, 7), entry 30", (10, 7, 30)),
        Case("token (0, 1), entry 47 (the last)", (0, 1, 47)),
        Case("patch size 2, 5 channels: token (5, 9), entry 17", (5, 9, 17), {"p": 2, "C": 5}),
    ],
    hidden=_pp_hidden,
    forbidden=("swin_edu.numpy_ref.patches:patch_partition",),
    hints=("Write the 48 numbers of one patch as a 4 x 4 grid of pixels, each with 3 channels: which of the "
           "three counters (row in patch, column in patch, channel) changes fastest, which slowest?",
           "k = (row_in_patch * p + col_in_patch) * C + channel. Undo it with two integer divisions with "
           "remainder, then add where the patch starts in the image."),
    misconceptions=[
        Misconception("inside a patch the pixels are read row by row (按行展平): the 12 numbers of the patch's top "
                      "row come first. You read them column by column.", _pp_col_major),
        Misconception("each pixel brings its C channels together (R, G, B of pixel 0, then of pixel 1...). You "
                      "listed all the R values first: that is the conv kernel's (C_in, p, p) order, not the "
                      "token's.", _pp_channel_first),
        Misconception("that is the position inside the patch; add the patch's top-left pixel (p*i, p*j).",
                      lambda i, j, k, p=4, C=3: patch_pixel_reference(0, 0, k, p, C)),
        Misconception("i is the patch row (vertical), j the patch column: row = p*i + ..., col = p*j + ...",
                      lambda i, j, k, p=4, C=3: patch_pixel_reference(j, i, k, p, C)),
        Misconception("patch (i, j) starts at pixel (p*i, p*j), not (i, j): patches are p pixels wide.",
                      _pp_offset_not_scaled),
    ],
)
_pp_compare = value_compare(lambda: PATCH_PIXEL, same=same_ints, wrong_type=_pp_type,
                            expected_desc=lambda e: "a tuple of three ints (row, col, channel)")
