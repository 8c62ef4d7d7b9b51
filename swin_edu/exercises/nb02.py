"""Exercises of notebook 02: self-attention, window partition/reverse, and counting MACs."""
from __future__ import annotations

import math

import numpy as np

from .. import numpy_ref as snp
from ..i18n import Text
from ._data import between, counting, draw, pick, rand
from .spec import Case, Exercise, Misconception

__all__ = ["ATTENTION", "WINDOW_PARTITION", "WINDOW_REVERSE", "BLOCK_MACS"]


# ----------------------------------------------------------------------------- attention
def attention_reference(q, k, v):
    """softmax(q k^T / sqrt(d)) v over the last two axes (any leading batch axes), in the inputs' dtype (a
    Python float scale: NumPy 2 would promote float32 inputs to float64 for ``/ np.sqrt(d)``)."""
    d = q.shape[-1]
    return snp.softmax(q @ np.swapaxes(k, -1, -2) / math.sqrt(d), axis=-1) @ v


def _att(q, k, v, scale, axis=-1):
    return snp.softmax(q @ np.swapaxes(k, -1, -2) * scale, axis=axis) @ v


def _attention_hidden(rng):
    n, d, dv = between(rng, 3, 6), pick(rng, (8, 16)), between(rng, 1, 4)
    b, nq, nk, d2 = between(rng, 2, 4), between(rng, 3, 5), between(rng, 3, 6), pick(rng, (4, 6))
    f32 = np.float32
    return [
        Case(Text(f"large logits (|q.k| in the thousands, d={d}): a softmax without its max trick overflows",
                  f"很大的 logits（|q.k| 达到几千，d={d}）：不用最大值技巧的 softmax 会溢出"),
             (draw(rng, n, d, scale=30.0), draw(rng, n, d, scale=30.0), draw(rng, n, dv))),
        Case(Text(f"float32 inputs: a batch of {b}, {nq} queries, {nk} keys, d={d2}",
                  f"float32 输入：一批 {b} 组，{nq} 个查询，{nk} 个键，d={d2}"),
             (draw(rng, b, nq, d2, dtype=f32), draw(rng, b, nk, d2, dtype=f32),
              draw(rng, b, nk, d2, dtype=f32))),
    ]


ATTENTION = Exercise(
    name="attention",
    signature="attention_mine(q, k, v)",
    reference=attention_reference,
    cases=lambda: [
        Case(Text("6 queries and 6 keys of dimension d=4, values of dimension 3",
                  "6 个查询和 6 个键，维度 d=4，值的维度为 3"),
             (rand(6, 4, seed=20), rand(6, 4, seed=21), rand(6, 3, seed=22))),
        Case(Text("a batch (2 windows, 3 heads) of 5 tokens with d=8, keys and values from other tokens",
                  "一批（2 个窗口，3 个头）5 个 token，d=8，键和值来自另外的 token"),
             (rand(2, 3, 5, 8, seed=23), rand(2, 3, 7, 8, seed=24), rand(2, 3, 7, 8, seed=25))),
    ],
    hidden=_attention_hidden,
    allowed=("swin_edu.numpy_ref.attention:softmax",),
    # the statement asks for the values, not a dtype: a float32 input may give float32 (``/ math.sqrt(d)``) or
    # float64 (``/ np.sqrt(d)`` promotes, as the course's own solution does); both agree to this tolerance
    dtype="kind",
    rtol=1e-4, atol=1e-6,
    hints=(Text("The scale first: q.k is a sum of d products q_i k_i, each of mean 0 and variance 1, and independent "
                "of the others. What is the variance of such a sum, and by what must you multiply it to get "
                "variance 1?",
                "先定缩放系数：q.k 是 d 个乘积 q_i k_i 之和，每个乘积均值为 0、方差为 1，而且彼此独立。"
                "这样一个和的方差是多少？要乘以多少才能让方差变回 1？"),
           Text("Variances of independent terms add up. Then three steps: similarities of every query with every "
                "key times that scale, a softmax over the keys (the last axis) that turns each query's similarities "
                "into weights summing to 1, and a weighted sum of the values.",
                "独立项的方差可以相加。然后分三步：每个查询与每个键的相似度乘以这个缩放系数；沿键的轴（最后一个"
                "轴）做 softmax，把每个查询的相似度变成和为 1 的权重；对值做加权求和。")),
    nan_hint=Text("exp() of a large logit overflows to inf and inf/inf is NaN. Subtract each row's maximum "
                  "before exp (softmax is unchanged by that shift), or use snp.softmax.",
                  "很大的 logit 取 exp() 会溢出成 inf，而 inf/inf 是 NaN。先减去每行的最大值再取 exp（这样"
                  "平移不改变 softmax），或者直接用 snp.softmax。"),
    misconceptions=[
        Misconception(Text("you forgot the scale: the logits q k^T then have a variance that grows with d, and the "
                           "softmax saturates. Work out the variance of q.k for independent unit-variance entries, "
                           "and scale the logits back to variance 1.",
                           "你漏了缩放：这样 q k^T 的方差会随 d 增大，softmax 会饱和。"
                           "算一算各分量独立且都是单位方差时 q.k 的方差，再把注意力得分缩放回方差 1。"),
                      lambda q, k, v: _att(q, k, v, 1.0)),
        Misconception(Text("you divided by d: that makes the variance of the logits 1/d, not 1. Dividing by d "
                           "divides the variance by d squared.",
                           "你除的是 d：这样注意力得分的方差是 1/d，而不是 1。除以 d 会让方差除以 d 的平方。"),
                      lambda q, k, v: _att(q, k, v, 1.0 / q.shape[-1])),
        Misconception(Text("you scaled by the values' dimension: the scale belongs to the logits q k^T, so it "
                           "depends on the dimension of q and k (the last axis of q), not on that of v.",
                           "你按值的维度做了缩放：缩放的对象是注意力得分 q k^T，所以它取决于 q 和 k 的维度"
                           "（q 的最后一个轴），而不是 v 的维度。"),
                      lambda q, k, v: _att(q, k, v, v.shape[-1] ** -0.5) if v.shape[-1] != q.shape[-1] else None),
        Misconception(Text("the softmax runs over the wrong axis: each query's weights over the keys must sum to "
                           "1, so take the softmax over the last axis (axis=-1).",
                           "softmax 的轴不对：每个查询在所有键上的权重之和必须为 1，所以 softmax 要沿最后一"
                           "个轴（axis=-1）计算。"),
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
        Case(Text(f"a {a * M}x{b * M} map, M={M} ({a * b} windows)",
                  f"一张 {a * M}x{b * M} 的特征图，M={M}（{a * b} 个窗口）"), (counting(1, a * M, b * M, C), M)),
        Case(Text(f"{B} float32 {3 * M2}x{2 * M2} maps with {C2} channels, M={M2}",
                  f"{B} 张 float32 的 {3 * M2}x{2 * M2} 特征图，{C2} 个通道，M={M2}"),
             (draw(rng, B, 3 * M2, 2 * M2, C2, dtype=np.float32), M2)),
        Case(Text(f"M equal to the map size ({M3}x{M3}: one window per image)",
                  f"M 等于特征图大小（{M3}x{M3}：每张图只有一个窗口）"), (draw(rng, 2, M3, M3, 2), M3)),
    ]


#: the images interleaved among the windows (the batch axis moved behind the window grid)
BATCH_FIRST = Text("the images are interleaved: the batch axis must stay first. The official order is image by "
                   "image (all of image 0's windows, then image 1's), so after the transpose the axes are "
                   "(B, H/M, W/M, M, M, C) with B still in front.",
                   "各张图像的窗口交错在一起了：batch 轴必须留在最前面。官方的顺序是一张图像接一张图像（先是图像 0 "
                   "的全部窗口，然后是图像 1 的），所以 transpose 之后轴的顺序是 (B, H/M, W/M, M, M, C)，B 仍在最前。")

WINDOW_PARTITION = Exercise(
    name="window_partition",
    signature="window_partition_mine(x, M)",
    reference=snp.window_partition,
    cases=lambda: [
        Case(Text("the seed's 4x4 map of 16 tokens (values 0..15, 1 channel), M=2",
                  "原文那张 16 个 token 的 4x4 特征图（值为 0..15，1 个通道），M=2"), (counting(1, 4, 4, 1), 2)),
        Case(Text("two random 8x12 maps with 3 channels, M=4",
                  "两张随机的 8x12 特征图，3 个通道，M=4"), (rand(2, 8, 12, 3, seed=40), 4)),
    ],
    hidden=_partition_hidden,
    forbidden=("swin_edu.numpy_ref.windows:window_partition",),
    hints=(Text("An M x M window is an M x M patch of the map: which reshape and which transpose did your patch "
                "partition (exercise 1.2) use to bring each patch's pixels together? They carry over with p = M.",
                "一个 M x M 的窗口就是特征图上的一个 M x M 图像块：你的图像块分割（练习 1.2）用了哪一次 reshape、"
                "哪一次 transpose 把每个图像块的像素聚到一起？取 p = M，它们可以照搬过来。"),
           Text("Split each of H and W into (window, position inside the window), move the two window axes next to "
                "the image axis, and stop before patch partition's last step: instead of flattening a window's "
                "pixels, merge the three axes (image, window row, window column) into one, in row-major order, "
                "which is the official order.",
                "把 H 和 W 各拆成（窗口，窗口内的位置）两个轴，把两个窗口轴挪到图像轴旁边，然后在图像块分割"
                "的最后一步之前停下：不要展平窗口里的像素，而是把（图像，窗口行，窗口列）这三个轴按行优先"
                "合并成一个轴，这正是官方的顺序。")),
    misconceptions=[
        Misconception(Text("a plain reshape does not cut windows: it cuts the row-major map into runs of M*M*C "
                           "consecutive numbers, i.e. pieces of image rows, while the M*M tokens of a window sit in "
                           "M different rows of the map. They have to be brought together before the last reshape "
                           "(which operation of notebook 01 does exactly that for patches?).",
                           "直接 reshape 切不出窗口：它把按行优先排列的特征图切成一段段连续的 M*M*C 个数，"
                           "也就是图像行的片段；而一个窗口的 M*M 个 token 分布在特征图的 M 个不同的行里。"
                           "最后一次 reshape 之前，得先把它们聚到一起（第 01 章的哪个操作对图像块正是这样做的？）。"),
                      lambda x, M: x.reshape(-1, M, M, x.shape[-1])),
        Misconception(Text("you cut patches of H/M pixels: a window is an M x M patch of the map, so the patch "
                           "size is the window size M.",
                           "你切的是边长 H/M 的图像块：一个窗口就是特征图上一个 M x M 的图像块，"
                           "所以图像块大小就是窗口大小 M。"),
                      lambda x, M: snp.patch_partition(x, x.shape[1] // M).reshape(-1, M, M, x.shape[-1])),
        Misconception(Text("your windows come in column-major order. The official order is row-major over the "
                           "window grid: left to right along the top row of windows, then the next row.",
                           "你的窗口是按列优先的顺序排的。官方顺序是在窗口网格上按行优先："
                           "先沿最上面一行窗口从左到右，再到下一行。"),
                      lambda x, M: _wp_order(x, M, (0, 3, 1, 2, 4, 5))),
        Misconception(BATCH_FIRST, lambda x, M: _wp_order(x, M, (1, 3, 0, 2, 4, 5))),
        Misconception(BATCH_FIRST, lambda x, M: _wp_order(x, M, (1, 0, 3, 2, 4, 5))),
        Misconception(Text("inside each window rows and columns are swapped: after the transpose the axes must be "
                           "(B, H/M, W/M, row in window, column in window, C).",
                           "每个窗口内部的行和列对调了：transpose 之后轴的顺序必须是 (B, H/M, W/M, 窗口内的"
                           "行, 窗口内的列, C)。"),
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


def _wr_batch_last(windows, M, H, W):
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // M) * (W // M))
    if B < 2:
        return None  # one image: the order of the batch axis cannot show
    return windows.reshape(H // M, W // M, B, M, M, C).transpose(2, 0, 3, 1, 4, 5).reshape(B, H, W, C)


def _wr_colleague(windows, M, H, W):
    """Notebook 02's ``window_reverse_colleague`` (exercise 2.3 debugs it): the window grid read as (W/M, H/M)."""
    C = windows.shape[-1]
    grid = windows.reshape(-1, W // M, H // M, M, M, C)
    return grid.transpose(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)


def _reverse_hidden(rng):
    M, a, b = pick(rng, (5, 7)), between(rng, 1, 2), between(rng, 2, 3)
    M2, B, C = pick(rng, (2, 3)), between(rng, 2, 3), between(rng, 2, 5)
    return [
        Case(Text(f"{a * b} windows of a {a * M}x{b * M} map, M={M}",
                  f"一张 {a * M}x{b * M} 特征图的 {a * b} 个窗口，M={M}"),
             (snp.window_partition(counting(1, a * M, b * M, 2), M), M, a * M, b * M)),
        Case(Text(f"float32 windows of {B} {2 * M2}x{4 * M2} maps with {C} channels, M={M2}",
                  f"{B} 张 {2 * M2}x{4 * M2} 特征图（{C} 个通道）的 float32 窗口，M={M2}"),
             (snp.window_partition(draw(rng, B, 2 * M2, 4 * M2, C, dtype=np.float32), M2),
              M2, 2 * M2, 4 * M2)),
    ]


WINDOW_REVERSE = Exercise(
    name="window_reverse",
    signature="window_reverse_mine(windows, M, H, W)",
    reference=snp.window_reverse,
    cases=lambda: [
        Case(Text("the 4 windows of the seed's 4x4 map (M=2), values 0..15",
                  "原文 4x4 特征图的 4 个窗口（M=2），值为 0..15"),
             (snp.window_partition(counting(1, 4, 4, 1), 2), 2, 4, 4)),
        Case(Text("12 windows of two random 8x12 maps with 3 channels, M=4",
                  "两张随机的 8x12 特征图（3 个通道）的 12 个窗口，M=4"),
             (snp.window_partition(rand(2, 8, 12, 3, seed=42), 4), 4, 8, 12)),
    ],
    hidden=_reverse_hidden,
    forbidden=("swin_edu.numpy_ref.windows:window_reverse",),
    hints=(Text("The colleague's version is right on the seed's 4 x 4 map. What is special about that map? Try "
                "one whose height and width differ, e.g. 8 x 12 with M = 4, and compare with the map you started "
                "from.",
                "同事的版本在原文那张 4 x 4 特征图上是对的。那张图有什么特别之处？换一张高和宽不同的图试试，"
                "例如 8 x 12、M = 4，再和原来的特征图对照。"),
           Text("Split the windows axis into (B, H/M, W/M); a transpose interleaves each window-grid axis with its "
                "within-window axis again (grid row, row in window, grid column, column in window); a last reshape "
                "merges each pair into H and W.",
                "把窗口轴拆成 (B, H/M, W/M)；再用一次 transpose 让每个窗口网格轴重新和它的窗口内轴交错排列"
                "（网格行，窗口内的行，网格列，窗口内的列）；最后一次 reshape 把每一对合并成 H 和 W。")),
    misconceptions=[
        Misconception(Text("a plain reshape does not put windows back in place: reshape to "
                           "(B, H/M, W/M, M, M, C), transpose to (B, H/M, M, W/M, M, C), then reshape to "
                           "(B, H, W, C).",
                           "直接 reshape 不能把窗口放回原位：先 reshape 成 (B, H/M, W/M, M, M, C)，"
                           "再 transpose 成 (B, H/M, M, W/M, M, C)，最后 reshape 成 (B, H, W, C)。"), _wr_reshape_only),
        Misconception(Text("the windows axis splits as (B, H/M, W/M): the windows come image by image, so the "
                           "batch axis is the first (slowest) part of it, not the last.",
                           "窗口轴要拆成 (B, H/M, W/M)：窗口是一张图像接一张图像排列的，所以 batch 轴是其中最前"
                           "（变化最慢）的部分，而不是最后。"), _wr_batch_last),
        Misconception(Text("the transpose must interleave grid and window axes: (B, H/M, M, W/M, M, C), i.e. "
                           "transpose(0, 1, 3, 2, 4, 5) of (B, H/M, W/M, M, M, C).",
                           "transpose 必须让网格轴和窗口轴交错排列：(B, H/M, M, W/M, M, C)，"
                           "即对 (B, H/M, W/M, M, M, C) 做 transpose(0, 1, 3, 2, 4, 5)。"),
                      lambda w, M, H, W: _wr_order(w, M, H, W, (0, 1, 4, 2, 3, 5))),
        Misconception(Text("this is what your colleague's version returns: right on square maps, wrong here, "
                           "where H and W differ. In which order does window_partition list the windows of one "
                           "image, and which grid axis has H/M entries?",
                           "这正是同事的版本给出的结果：在正方形特征图上是对的，这里 H 和 W 不同，就错了。"
                           "window_partition 按什么顺序列出一张图像的窗口？哪个网格轴有 H/M 个元素？"),
                      lambda w, M, H, W: _wr_colleague(w, M, H, W) if H != W else None),
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
    return [Case(Text(f"a Swin-like stage: h=w={n}, C={C}, M=7",
                      f"一个类似 Swin 的 stage：h=w={n}，C={C}，M=7"), (n, n, C, 7)),
            Case(Text(f"a non-square map: h={h}, w={w}, C={C2}, M={M}",
                      f"一张非正方形特征图：h={h}，w={w}，C={C2}，M={M}"), (h, w, C2, M)),
            Case(Text(f"one window covers the map: h=w={M}, C={C2}, M={M}",
                      f"一个窗口覆盖整张特征图：h=w={M}，C={C2}，M={M}"), (M, M, C2, M))]


BLOCK_MACS = Exercise(
    name="block_macs",
    signature="block_macs_mine(h, w, C, M)",
    reference=block_macs_reference,
    kind="int",
    cases=lambda: [
        Case(Text("Swin-T stage 1: h=w=56, C=96, M=7",
                  "Swin-T 的 stage 1：h=w=56，C=96，M=7"), (56, 56, 96, 7)),
        Case(Text("Swin-T stage 2: h=w=28, C=192, M=7",
                  "Swin-T 的 stage 2：h=w=28，C=192，M=7"), (28, 28, 192, 7)),
        Case(Text("a small non-square map: h=8, w=12, C=16, M=4",
                  "一张小的非正方形特征图：h=8，w=12，C=16，M=4"), (8, 12, 16, 4)),
    ],
    hidden=_block_hidden,
    forbidden=("swin_edu.complexity:block_macs", "swin_edu.complexity:block_breakdown",
               "swin_edu.complexity:wmsa_macs", "swin_edu.complexity:wmsa_breakdown",
               "swin_edu.complexity:count_matmul_macs"),
    hints=(Text("List the matrix products of a block in order: the table above gives attention's; what does the "
                "MLP multiply, and how large is its hidden layer?",
                "按顺序列出一个 block 里的矩阵乘法：上面的表给出了注意力部分的；多层感知机（MLP）"
                "乘的是什么，它的隐藏层有多大？"),
           Text("Write each product as (rows x inner)(inner x cols), which costs rows * inner * cols. The MLP has hw "
                "rows and two layers, C -> 4C and 4C -> C; add its two products to the attention's.",
                "把每个乘法写成 (rows x inner)(inner x cols)，它的代价是 rows * inner * cols。"
                "MLP 有 hw 行、两层，C -> 4C 和 4C -> C；把这两个乘法加到注意力的乘法上。")),
    misconceptions=[
        Misconception(Text("that is W-MSA alone. A block also runs the MLP on every token: two linear layers, "
                           "C -> 4C and 4C -> C.",
                           "这只是 W-MSA。一个 block 还要在每个 token 上运行 MLP：两个线性层，"
                           "C -> 4C 和 4C -> C。"), wmsa_macs_reference),
        Misconception(Text("the MLP's hidden layer has 4C units (mlp_ratio = 4): its two layers are an "
                           "(hw x C)(C x 4C) and an (hw x 4C)(4C x C) product.",
                           "MLP 的隐藏层有 4C 个单元（mlp_ratio = 4）：它的两层分别是 (hw x C)"
                           "(C x 4C) 和 (hw x 4C)(4C x C) 的乘法。"),
                      lambda h, w, C, M: wmsa_macs_reference(h, w, C, M) + 2 * h * w * C * C),
        Misconception(Text("the MLP has two linear layers (C -> 4C, then 4C -> C); you counted one.",
                           "MLP 有两个线性层（C -> 4C，然后 4C -> C）；你只算了一个。"),
                      lambda h, w, C, M: wmsa_macs_reference(h, w, C, M) + 4 * h * w * C * C),
        Misconception(Text("inside windows each query meets the M^2 keys of its window, not all hw tokens of the "
                           "map (that is global MSA).",
                           "在窗口里，每个查询只和本窗口的 M^2 个键相乘，而不是特征图上全部 hw 个 token（那"
                           "是全局 MSA）。"),
                      lambda h, w, C, M: 12 * h * w * C * C + 2 * (h * w) ** 2 * C),
        Misconception(Text("attention has two products that depend on the window: Q K^T and A V, M^2hwC each.",
                           "注意力里有两个乘法和窗口有关：Q K^T 和 A V，各 M^2hwC。"),
                      lambda h, w, C, M: 12 * h * w * C * C + M * M * h * w * C),
        Misconception(Text("2M^4C is the attention of one window; there are hw/M^2 windows.",
                           "2M^4C 是一个窗口的注意力；一共有 hw/M^2 个窗口。"),
                      lambda h, w, C, M: 12 * h * w * C * C + 2 * M ** 4 * C if h * w != M * M else None),
        Misconception(Text("you counted FLOPs (2 per multiply-accumulate): the paper's numbers are "
                           "multiply-accumulates, one per product term.",
                           "你数的是 FLOPs（每次乘加算 2 次）：论文里的数字是乘加次数（MACs），"
                           "每个乘积项算一次。"),
                      lambda h, w, C, M: 2 * block_macs_reference(h, w, C, M)),
    ],
)
