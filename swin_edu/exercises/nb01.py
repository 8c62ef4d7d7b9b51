"""Exercises of notebook 01: patch partition and linear embedding."""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from ..i18n import Text
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
        Case(Text(f"{B} random {h * p}x{w * p} float32 images with {C} channels, patch_size={p}",
                  f"{B} 张随机的 {h * p}x{w * p} float32 图像，{C} 个通道，patch_size={p}"),
             (draw(rng, B, h * p, w * p, C, dtype=np.float32), p)),
        Case(Text(f"a {q}x{q} image with {C1} channels that is a single patch",
                  f"一张 {q}x{q}、{C1} 个通道的图像，整张就是一个图像块"), (counting(1, q, q, C1), q)),
        Case(Text(f"one {w * 2}x{h * 2} image with {C} channels, patch_size=2",
                  f"一张 {w * 2}x{h * 2}、{C} 个通道的图像，patch_size=2"),
             (draw(rng, 1, w * 2, h * 2, C), 2)),
    ]


PATCH_PARTITION = Exercise(
    name="patch_partition",
    signature="patch_partition_mine(images, patch_size)",
    reference=snp.patch_partition,
    cases=lambda: [
        Case(Text("one 8x8 image with 3 channels holding 0, 1, 2, ..., patch_size=4",
                  "一张 8x8、3 个通道的图像，依次存放 0, 1, 2, ...，patch_size=4"), (counting(1, 8, 8, 3), 4)),
        Case(Text("two random 8x12 RGB images, patch_size=4",
                  "两张随机的 8x12 RGB 图像，patch_size=4"), (rand(2, 8, 12, 3, seed=1), 4)),
        Case(Text("one 6x6 image with 2 channels, patch_size=2",
                  "一张 6x6、2 个通道的图像，patch_size=2"), (counting(1, 6, 6, 2), 2)),
    ],
    hidden=_partition_hidden,
    forbidden=("swin_edu.numpy_ref.patches:patch_partition",),
    hints=(Text("Think of the H axis as (H/p patches) x (p rows inside a patch); the same for W.",
                "把 H 轴看成（H/p 个图像块）x（每块内的 p 行）；W 轴同理。"),
           Text("One reshape splits both spatial axes into (patch index, position in patch); a transpose brings the "
                "two patch-index axes next to each other, ahead of the within-patch axes; a last reshape merges "
                "(row, column, channel) into one axis of p*p*C.",
                "先用一次 reshape 把两个空间轴都拆成（图像块编号，块内位置）；再用一次 transpose 把两个图像"
                "块编号轴排到一起，放在块内的轴前面；最后一次 reshape 把（行，列，通道）合并成长度为 p*p*C"
                " 的一个轴。")),
    misconceptions=[
        Misconception(Text("a plain reshape does not cut patches: it takes p*p*C consecutive numbers of the "
                           "row-major image, i.e. pixels from one image row. Split H and W into (H/p, p) and "
                           "(W/p, p) first, then transpose to (B, H/p, W/p, p, p, C), then reshape.",
                           "直接 reshape 切不出图像块：它取的是按行优先排列的图像中连续的 p*p*C 个数，"
                           "也就是图像同一行里的像素。先把 H 和 W 拆成 (H/p, p) 和 (W/p, p)，"
                           "再 transpose 成 (B, H/p, W/p, p, p, C)，最后 reshape。"),
                      lambda images, p: images.reshape(images.shape[0], images.shape[1] // p,
                                                       images.shape[2] // p, -1)),
        Misconception(Text("your patches are flattened channel by channel (all reds, then all greens...). "
                           "The seed flattens a patch row by row, pixel by pixel (按行展平): the C channels of "
                           "one pixel stay together, order (row, column, channel).",
                           "你的图像块是按通道展平的（先是所有红色，再是所有绿色……）。原文把一个图像块按行、"
                           "逐像素展平（按行展平）：同一个像素的 C 个通道挨在一起，顺序是（行，"
                           "列，通道）。"),
                      lambda images, p: _partition_in_order(images, p, (0, 1, 3, 5, 2, 4))),
        Misconception(Text("your patches are flattened column by column. Flatten row by row (按行展平): the "
                           "within-patch axes must come in the order (row, column, channel).",
                           "你的图像块是按列展平的。要按行展平：块内的轴必须按（行，列，通道）"
                           "的顺序排列。"),
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
        Case(Text("a conv kernel (C_out=2, C_in=3, 4, 4) holding 0, 1, 2, ...",
                  "一个卷积核 (C_out=2, C_in=3, 4, 4)，依次存放 0, 1, 2, ..."), (counting(2, 3, 4, 4),)),
        Case(Text("a random Swin-T-like kernel (96, 3, 4, 4)",
                  "一个与 Swin-T 相仿的随机卷积核 (96, 3, 4, 4)"), (rand(96, 3, 4, 4, seed=4, scale=0.02),)),
    ],
    hidden=_conv_hidden,
    forbidden=("swin_edu.numpy_ref.patches:conv_weight_to_linear",),
    hints=(Text("The conv kernel and the token list the same p*p*C_in numbers in different orders: write down "
                "the order of each (which counter changes fastest?).",
                "卷积核和 token 列出的是同样的 p*p*C_in 个数，只是顺序不同：把两边的顺序各写下来（哪个计数"
                "器变得最快？）。"),
           Text("The kernel's axes are (C_out, C_in, row, column); the token's order is (row, column, channel). "
                "Move the input-channel axis to the end, then merge the last three axes; the output channels stay "
                "first, as in nn.Linear's (out, in) layout.",
                "卷积核的轴是 (C_out, C_in, row, column)；token 的顺序是（行，列，通道）。"
                "把输入通道轴挪到最后，再合并最后三个轴；输出通道仍在最前面，和 nn.Linear 的 (out, in)"
                " 布局一样。")),
    misconceptions=[
        Misconception(Text("`weight.reshape(C_out, -1)` keeps the conv's (C_in, row, column) order, but "
                           "patch_partition orders a patch's numbers (row, column, channel). Move C_in last "
                           "first: weight.transpose(0, 2, 3, 1).reshape(C_out, -1).",
                           "`weight.reshape(C_out, -1)` 保留的是卷积的 (C_in, row, column)"
                           " 顺序，而 patch_partition 里一个图像块的数是按（行，列，通道）"
                           "排的。先把 C_in 挪到最后：weight.transpose(0, 2, 3, 1).reshape(C_out, -1)。"),
                      lambda w: w.reshape(w.shape[0], -1)),
        Misconception(Text("rows and columns of the kernel are swapped: after moving C_in last the axes must be "
                           "(C_out, row, column, C_in), i.e. transpose(0, 2, 3, 1).",
                           "卷积核的行和列对调了：把 C_in 挪到最后之后，轴的顺序必须是 (C_out, row, column"
                           ", C_in)，即 transpose(0, 2, 3, 1)。"),
                      lambda w: w.transpose(0, 3, 2, 1).reshape(w.shape[0], -1)),
        Misconception(Text("this is the matrix transposed: like nn.Linear, the weight is stored as (out_features, "
                           "in_features) = (C_out, p*p*C_in), and applied as tokens @ weight.T.",
                           "这是转置后的矩阵：和 nn.Linear 一样，权重按 (out_features, in_features)"
                           " = (C_out, p*p*C_in) 存放，用法是 tokens @ weight.T。"),
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


def _ln_both_bugs(x, weight, bias, eps=1e-5):
    """Notebook 01's ``layer_norm_colleague`` (exercise 1.4 debugs it): the unbiased spread, eps outside the root."""
    centred = x - x.mean(-1, keepdims=True)
    return centred / (np.sqrt(x.var(-1, ddof=1, keepdims=True)) + eps) * weight + bias


def _ln_hidden(rng):
    C, n, C2 = pick(rng, (8, 12, 16)), between(rng, 2, 5), between(rng, 4, 8)
    f32 = np.float32
    return [
        Case(Text(f"a float32 feature map (1, 2, 2, {C})",
                  f"一张 float32 特征图 (1, 2, 2, {C})"),
             (draw(rng, 1, 2, 2, C, dtype=f32), draw(rng, C, dtype=f32, offset=1.0),
              draw(rng, C, dtype=f32))),
        Case(Text(f"{n} constant tokens of {C2} channels (variance 0: only eps avoids 0/0), eps=1e-3",
                  f"{n} 个常数 token，每个 {C2} 个通道（方差为 0：只有 eps 能避免 0/0），eps=1e-3"),
             (np.full((n, C2), float(rng.uniform(-3, 3))), draw(rng, C2), draw(rng, C2)), {"eps": 1e-3}),
        Case(Text(f"{n} tokens of {C} channels far from zero (mean about -50)",
                  f"{n} 个 token，每个 {C} 个通道，数值远离零（均值约为 -50）"),
             (draw(rng, n, C, offset=-50.0), draw(rng, C, offset=1.0), draw(rng, C))),
        Case(Text(f"{n} tokens of {C2} channels with a tiny spread (std about 1e-3): where eps goes matters",
                  f"{n} 个 token，每个 {C2} 个通道，离散程度极小（std 约为 1e-3）：eps 放在哪里很关键"),
             (draw(rng, n, C2, scale=1e-3, offset=float(rng.uniform(-1, 1))), draw(rng, C2, offset=1.0),
              draw(rng, C2))),
    ]


LAYER_NORM = Exercise(
    name="layer_norm",
    signature="layer_norm_mine(x, weight, bias, eps=1e-5)",
    reference=lambda x, weight, bias, eps=1e-5: snp.layer_norm(x, weight, bias, eps),
    cases=lambda: [
        Case(Text("4 tokens of 16 channels that vary very little (std 0.01): eps matters",
                  "4 个 token，每个 16 个通道，数值变化很小（std 0.01）：eps 起作用"),
             (rand(4, 16, seed=15, scale=0.01), rand(16, seed=16, offset=1.0), rand(16, seed=17))),
        Case(Text("tokens (2, 3, 4), C=4 channels, random weight and bias",
                  "token 张量 (2, 3, 4)，C=4 个通道，随机的 weight 和 bias"),
             (rand(2, 3, 4, seed=6, scale=2.0), rand(4, seed=7, offset=1.0), rand(4, seed=8))),
        Case(Text("5 tokens of 8 channels far from zero (mean about 100)",
                  "5 个 token，每个 8 个通道，数值远离零（均值约为 100）"),
             (rand(5, 8, seed=9, offset=100.0), np.ones(8), np.zeros(8))),
    ],
    hidden=_ln_hidden,
    forbidden=("swin_edu.numpy_ref.patches:layer_norm",),
    guards=("torch.nn.functional:layer_norm",),  # the notebook's yardstick, not an answer
    rtol=1e-4, atol=1e-5,
    hints=(Text("Test before you read: compare the colleague's function with F.layer_norm on a token of only two "
                "channels, and on a token whose channels differ only in the third decimal. Each of these inputs "
                "shows one bug.",
                "先测试，再读代码：在只有两个通道的 token 上，以及在各通道只在小数点后第三位才有差别的 token 上，"
                "把同事的函数和 F.layer_norm 对照。这两种输入各暴露一个 bug。"),
           Text("Which variance does LayerNorm divide by: the one that divides the sum of squares by C, or by C-1? "
                "And is eps added to the variance or to the standard deviation? Check both against F.layer_norm.",
                "LayerNorm 除以的是哪种方差：平方和除以 C 的，还是除以 C-1 的？eps 加在方差上，"
                "还是加在标准差上？两件事都拿 F.layer_norm 验证一下。")),
    nan_hint=Text("a constant token has variance 0: eps goes inside the square root, sqrt(var + eps), so the "
                  "division is never 0/0.",
                  "常数 token 的方差是 0：eps 要放在平方根里面，sqrt(var + eps)，这样除法永远不会是 0/0。"),
    misconceptions=[
        Misconception(Text("you used the unbiased variance (dividing by C-1). LayerNorm divides by C: np.var and "
                           "x.var() do that by default (ddof=0).",
                           "你用的是无偏方差（除以 C-1）。层归一化（LayerNorm）除以 C：np.var 和 x.var()"
                           " 默认就是这样（ddof=0）。"), _ln_unbiased),
        Misconception(Text("you normalised over the wrong axis. Each token is normalised over its own channels: "
                           "axis=-1 (the last axis), with keepdims=True so the result broadcasts.",
                           "你沿错了轴做归一化。每个 token 只在自己的通道上归一化：axis=-1（最后一个轴），"
                           "并且 keepdims=True，这样结果才能广播。"), _ln_axis0),
        Misconception(Text("you normalised over the whole array at once. Each token is normalised over its own "
                           "channels only: mean and var along axis=-1, keepdims=True.",
                           "你对整个数组一次性做了归一化。每个 token 只在自己的通道上归一化："
                           "沿 axis=-1 求 mean 和 var，keepdims=True。"), _ln_all),
        Misconception(Text("eps goes inside the square root: (x - mean) / sqrt(var + eps), not / (std + eps).",
                           "eps 要放在平方根里面：(x - mean) / sqrt(var + eps)，而不是 / (std + eps)。"),
                      _ln_eps_outside),
        Misconception(Text("you forgot the learned affine part: after normalising, multiply by weight and "
                           "add bias.",
                           "你漏了可学习的仿射变换：归一化之后，还要乘以 weight、加上 bias。"),
                      _ln_no_affine),
        Misconception(Text("this is still what your colleague's function returns: both of its bugs are in it. "
                           "Compare it with F.layer_norm on a token of two channels, then on a token with a tiny "
                           "spread.",
                           "这仍然是同事的函数给出的结果：两个 bug 都还在。先在只有两个通道的 token 上，"
                           "再在离散程度极小的 token 上，把它和 F.layer_norm 对照。"), _ln_both_bugs),
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
        return Text("return a tuple of three ints (row, col, channel), e.g. (0, 0, 0).",
                    "请返回三个 int 组成的 tuple（row, col, channel），例如 (0, 0, 0)。")
    if len(got) != 3:
        return Text(f"return three numbers, (row, col, channel); you returned {len(got)}.",
                    f"请返回三个数（row, col, channel）；你返回了 {len(got)} 个。")
    return None


def _pp_hidden(rng):
    p, C = pick(rng, (2, 3)), between(rng, 4, 6)
    i, j, k = between(rng, 3, 9), between(rng, 3, 9), between(rng, p * C + 1, p * p * C - 1)
    return [Case(Text(f"patch size {p}, {C} channels: token ({i}, {j}), entry {k}",
                      f"图像块大小 {p}，{C} 个通道：token ({i}, {j}) 的第 {k} 项"), (i, j, k), {"p": p, "C": C}),
            Case(Text(f"the last entry of token ({j}, {i}), patch 4, RGB",
                      f"token ({j}, {i}) 的最后一项，图像块大小 4，RGB"), (j, i, 47)),
            Case(Text("the first entry of token (0, 0)",
                      "token (0, 0) 的第一项"), (0, 0, 0))]


PATCH_PIXEL = Exercise(
    name="patch_pixel",
    signature="patch_pixel_mine(i, j, k, p=4, C=3)",
    reference=patch_pixel_reference,
    kind="custom",
    compare=lambda got, expected, case: _pp_compare(got, expected, case),
    cases=lambda: [
        Case(Text("token (26, 22), entry 0",
                  "token (26, 22) 的第 0 项"), (26, 22, 0)),
        Case(Text("token (26, 22), entry 5",
                  "token (26, 22) 的第 5 项"), (26, 22, 5)),
        Case(Text("token (3, 2), entry 13",
                  "token (3, 2) 的第 13 项"), (3, 2, 13)),
        Case(Text("token (10, 7), entry 30",
                  "token (10, 7) 的第 30 项"), (10, 7, 30)),
        Case(Text("token (0, 1), entry 47 (the last)",
                  "token (0, 1) 的第 47 项（最后一项）"), (0, 1, 47)),
        Case(Text("patch size 2, 5 channels: token (5, 9), entry 17",
                  "图像块大小 2，5 个通道：token (5, 9) 的第 17 项"), (5, 9, 17), {"p": 2, "C": 5}),
    ],
    hidden=_pp_hidden,
    forbidden=("swin_edu.numpy_ref.patches:patch_partition",),
    hints=(Text("Write the 48 numbers of one patch as a 4 x 4 grid of pixels, each with 3 channels: which of the "
                "three counters (row in patch, column in patch, channel) changes fastest, which slowest?",
                "把一个图像块的 48 个数写成 4 x 4 的像素网格，每个像素 3 个通道：三个计数器（块内的行、"
                "块内的列、通道）中，哪个变得最快，哪个最慢？"),
           Text("k = (row_in_patch * p + col_in_patch) * C + channel. Undo it with two integer divisions with "
                "remainder, then add where the patch starts in the image.",
                "k = (row_in_patch * p + col_in_patch) * C + channel。用两次带余数的整数除法把它拆回来，"
                "再加上这个图像块在图像中的起点。")),
    misconceptions=[
        Misconception(Text("inside a patch the pixels are read row by row (按行展平): the 12 numbers of the patch's top "
                           "row come first. You read them column by column.",
                           "图像块内的像素是按行读的（按行展平）：块内最上面一行的 12 个数排在最前面。"
                           "你是按列读的。"), _pp_col_major),
        Misconception(Text("each pixel brings its C channels together (R, G, B of pixel 0, then of pixel 1...). You "
                           "listed all the R values first: that is the conv kernel's (C_in, p, p) order, not the "
                           "token's.",
                           "每个像素的 C 个通道挨在一起（像素 0 的 R、G、B，然后是像素 1 的……）。"
                           "你先列出了所有 R 值：那是卷积核的 (C_in, p, p) 顺序，不是 token 的顺序。"), _pp_channel_first),
        Misconception(Text("that is the position inside the patch; add the patch's top-left pixel (p*i, p*j).",
                           "这是块内的位置；还要加上图像块左上角像素的坐标 (p*i, p*j)。"),
                      lambda i, j, k, p=4, C=3: patch_pixel_reference(0, 0, k, p, C)),
        Misconception(Text("i is the patch row (vertical), j the patch column: row = p*i + ..., col = p*j + ...",
                           "i 是图像块所在的行（竖直方向），j 是所在的列：row = p*i + ...，"
                           "col = p*j + ..."),
                      lambda i, j, k, p=4, C=3: patch_pixel_reference(j, i, k, p, C)),
        Misconception(Text("patch (i, j) starts at pixel (p*i, p*j), not (i, j): patches are p pixels wide.",
                           "图像块 (i, j) 从像素 (p*i, p*j) 开始，而不是 (i, j)：每个图像块宽 p 个像素。"),
                      _pp_offset_not_scaled),
    ],
)
_pp_compare = value_compare(lambda: PATCH_PIXEL, same=same_ints, wrong_type=_pp_type,
                            expected_desc=lambda e: Text("a tuple of three ints (row, col, channel)",
                                                         "三个 int 组成的 tuple（row, col, channel）"))
