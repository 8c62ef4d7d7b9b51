"""Exercises of notebook 05: DropPath, debugging a Swin block, how far a poke travels, a ViT block beside it, patch
merging's gather and its kernel."""
from __future__ import annotations

import functools

import numpy as np

from .. import numpy_ref as snp
from ..i18n import Text
from ._data import between, counting, draw, rand
from .spec import Case, Exercise, Misconception

__all__ = ["DROP_PATH", "PATCH_MERGING_GATHER", "SWIN_BLOCK", "TOKENS_REACHED", "VIT_BLOCK", "MERGE_KERNEL",
           "block_case_params", "drop_path_reference", "swin_block_colleague", "tokens_reached_reference",
           "merge_kernel_reference"]


# ----------------------------------------------------------------------------- patch merging gather
def _gather(x, offsets):
    return np.concatenate([x[:, r::2, c::2, :] for r, c in offsets], axis=-1)


def _gather_hidden(rng):
    C, B, C2 = between(rng, 3, 6), between(rng, 2, 3), between(rng, 1, 3)
    h, w = between(rng, 2, 4), between(rng, 3, 5)
    return [Case(Text(f"a 2x2 map with {C} channels (a single group)",
                      f"一张 2x2 特征图，{C} 个通道（只有一组）"), (counting(1, 2, 2, C),)),
            Case(Text(f"{B} float32 {2 * h}x{2 * w} maps with {C2} channels",
                      f"{B} 张 float32 的 {2 * h}x{2 * w} 特征图，{C2} 个通道"),
                 (draw(rng, B, 2 * h, 2 * w, C2, dtype=np.float32),))]


PATCH_MERGING_GATHER = Exercise(
    name="patch_merging_gather",
    signature="patch_merging_gather_mine(x)",
    reference=snp.patch_merging_gather,
    cases=lambda: [
        Case(Text("the seed's single-channel 4x4 map holding 0..15",
                  "原文那张单通道的 4x4 特征图，值为 0..15"), (counting(1, 4, 4, 1),)),
        Case(Text("two random 4x6 maps with 3 channels",
                  "两张随机的 4x6 特征图，3 个通道"), (rand(2, 4, 6, 3, seed=70),)),
    ],
    hidden=_gather_hidden,
    forbidden=("swin_edu.numpy_ref.merging:patch_merging_gather",),
    hints=(Text("Read the seed's example backwards: in the 4x4 map holding 0..15 row by row, the first merged token "
                "is (0, 4, 1, 5). Where in the top-left 2x2 group do 0, 4, 1 and 5 sit, as (row, column) offsets? "
                "Each of the four pieces takes the pixel at one offset from every 2x2 group.",
                "把原文的例子倒过来读：在按行存放 0..15 的 4x4 特征图里，合并后的第一个 token 是 (0, 4, 1, 5)。"
                "0、4、1、5 分别在左上角那个 2x2 小组的哪个位置（用（行，列）偏移表示）？"
                "四块中的每一块都从每个 2x2 小组里取同一个偏移处的像素。"),
           Text("Stride-2 slicing along both spatial axes, starting at the piece's row and column offset; then "
                "concatenate the four pieces along the channels in the official order x0, x1, x2, x3.",
                "沿两个空间轴做步长为 2 的切片，起点是这一块的行偏移和列偏移；然后按官方顺序 x0、"
                "x1、x2、x3 把四块沿通道拼接起来。")),
    misconceptions=[
        Misconception(Text("gather order: the official order is x0=(0,0), x1=(1,0), x2=(0,1), x3=(1,1) as (row, "
                           "column) offsets, so x1 is the pixel *below*, x2 the pixel to the *right*. Your order "
                           "takes the right neighbour second. The order matters: the 4C->2C linear layer of a "
                           "checkpoint expects it.",
                           "取块的顺序：官方顺序按（行，列）偏移是 x0=(0,0)、x1=(1,0)、x2=(0,1)、"
                           "x3=(1,1)，所以 x1 是*下面*的像素，x2 是*右边*的像素。你的顺序把右边的邻居排在了"
                           "第二。顺序很重要：checkpoint 里 4C->2C 的线性层就是按这个顺序训练的。"), lambda x: _gather(x, ((0, 0), (0, 1), (1, 0), (1, 1)))),
        Misconception(Text("your channels are interleaved (pixel-major): concatenate the four (B, H/2, W/2, C) "
                           "pieces along the last axis with np.concatenate so the channels come in 4 blocks of C "
                           "(x0's C channels, then x1's, ...), not np.stack(..., axis=-1).",
                           "你的通道是交错排列的（按像素优先）：用 np.concatenate 沿最后一个轴拼接四个 (B,"
                           " H/2, W/2, C) 块，让通道分成 4 组、每组 C 个（先是 x0 的 C 个通道，"
                           "然后是 x1 的……），而不是 np.stack(..., axis=-1)。"),
                      lambda x: np.stack([x[:, r::2, c::2, :] for r, c in snp.GATHER_OFFSETS], -1).reshape(
                          x.shape[0], x.shape[1] // 2, x.shape[2] // 2, -1)),
        Misconception(Text("a plain reshape does not gather 2x2 squares: it takes 4 consecutive pixels of one "
                           "row. Use the stride-2 slices x[:, r::2, c::2, :].",
                           "直接 reshape 取不出 2x2 的小方块：它取的是同一行里连续的 4 个像素。"
                           "请用步长为 2 的切片 x[:, r::2, c::2, :]。"),
                      lambda x: x.reshape(x.shape[0], x.shape[1] // 2, x.shape[2] // 2, -1)),
    ],
)


# ----------------------------------------------------------------------------- the block
@functools.lru_cache(maxsize=None)
def block_case_params(C: int = 12, heads: int = 3, M: int = 4, shifted: bool = True, seed: int = 0) -> dict:
    """Random weights of one block (official names relative to the block: ``norm1.weight``,
    ``attn.qkv.weight``, ``mlp.fc1.weight``...) for a C-channel map, ``heads`` heads, window M
    (:func:`swin_edu.numpy_ref.random_block_params`)."""
    return snp.random_block_params(C, heads, M, shifted=shifted, seed=seed)


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
        if kind == "colleague":  # notebook 05's swin_block_colleague: both bugs
            h = ln(x, "norm1")
            return x + attn(h, shift) + mlp(h)
        raise ValueError(kind)
    return wrong


def swin_block_colleague(x, params, num_heads, M, shift):
    """The colleague's block that exercise 5.2 debugs (it normalises once and runs both branches on that): the MLP
    branch reads LN1 of the block's input instead of LN2 of the input plus the attention's output."""
    return _block_wrong("colleague")(x, params, num_heads, M, shift)


def _block_hidden(rng):
    seeds = [between(rng, 1, 10_000) for _ in range(2)]
    b = between(rng, 3, 4)
    h, w = between(rng, 5, 7), between(rng, 9, 11)
    return [Case(Text(f"an SW-MSA block on a non-square 8x{4 * b} map, C=12, 3 heads, M=4, shift 2",
                      f"一个 SW-MSA block，非正方形的 8x{4 * b} 特征图，C=12，3 个头，M=4，"
                      "移位 2"),
                 (draw(rng, 1, 8, 4 * b, 12), block_case_params(shifted=True, seed=seeds[0]), 3, 4, 2)),
            Case(Text(f"a map the window does not divide ({h}x{w}, M=4, shift 2: pad, then shift)",
                      f"一张窗口除不尽的特征图（{h}x{w}，M=4，移位 2：先填充，再移位）"),
                 (draw(rng, 1, h, w, 12), block_case_params(shifted=True, seed=seeds[1]), 3, 4, 2))]


SWIN_BLOCK = Exercise(
    name="swin_block",
    signature="swin_block_mine(x, params, num_heads, M, shift)",
    reference=snp.swin_block,
    cases=lambda: [
        Case(Text("a W-MSA block (shift 0): two random 8x8 maps, C=12, 3 heads, M=4",
                  "一个 W-MSA block（移位 0）：两张随机的 8x8 特征图，C=12，3 个头，M=4"),
             (rand(2, 8, 8, 12, seed=72), block_case_params(shifted=False), 3, 4, 0)),
        Case(Text("an SW-MSA block (shift 2): two random 8x8 maps, C=12, 3 heads, M=4",
                  "一个 SW-MSA block（移位 2）：两张随机的 8x8 特征图，C=12，3 个头，M=4"),
             (rand(2, 8, 8, 12, seed=73), block_case_params(shifted=True), 3, 4, 2)),
    ],
    hidden=_block_hidden,
    forbidden=("swin_edu.numpy_ref.model:swin_block",),
    allowed=("swin_edu.numpy_ref.model:block_params", "swin_edu.numpy_ref.patches:layer_norm", "swin_edu.numpy_ref.model:mlp",
             "swin_edu.numpy_ref.model:shifted_window_attention"),
    rtol=1e-5, atol=1e-8,
    hints=(Text("Make one branch vanish and compare the colleague's block with the equations: with attn.proj.weight "
                "and attn.proj.bias set to zero the attention branch adds nothing, so a right block returns "
                "x + MLP(LN2(x)); which LayerNorm does the colleague's MLP see, and which x?",
                "让一个分支消失，再拿同事的 block 和公式对照：把 attn.proj.weight 和 attn.proj.bias 置零，"
                "注意力分支就什么也不加，正确的 block 返回 x + MLP(LN2(x))；同事的 MLP 用的是哪个层归一化，"
                "看到的又是哪个 x？"),
           Text("Two residual steps, each pre-norm: normalise with norm1, run the (shifted) window attention on its "
                "own weights (the 'attn.' part of params; the shift goes to the attention), add; then normalise with "
                "norm2, run the MLP, add. (When the course assembles your model, snp.shifted_window_attention is your "
                "SW-MSA of notebook 03.)",
                "两个残差步骤，都是先归一化（pre-norm）：用 norm1 归一化，用它自己的权重（params 里 'attn."
                "' 的部分；移位量传给注意力）做（移位）窗口注意力，加回去；再用 norm2 归一化，"
                "过 MLP，加回去。（课程用你的各个部分组装模型时，snp.shifted_window_attention 就是你在笔记本 03 "
                "里写的 SW-MSA。）")),
    misconceptions=[
        Misconception(Text("this is still what your colleague's block returns: both of its bugs are in it. Silence "
                           "the attention branch (zero attn.proj) and compare the block with the two equations: which "
                           "LayerNorm does the MLP branch use, and which x does it see?",
                           "这仍然是同事的 block 给出的结果：两个 bug 都还在。让注意力分支不起作用（把 attn.proj 置零），"
                           "再拿这个 block 和那两个公式对照：MLP 分支用的是哪个层归一化，看到的又是哪个 x？"),
                      _block_wrong("colleague")),
        Misconception(Text("this is post-norm, LN(x + f(x)). Swin (like ViT) is pre-norm: the LayerNorm sits "
                           "inside the residual branch, x + f(LN(x)).",
                           "这是后归一化（post-norm），LN(x + f(x))。Swin（和 ViT 一样）是先归一化（pre-no"
                           "rm）：层归一化放在残差分支里面，x + f(LN(x))。"), _block_wrong("post_norm")),
        Misconception(Text("the attention branch lost its residual connection: x = x + attention(LN1(x)).",
                           "注意力分支丢了残差连接：x = x + attention(LN1(x))。"),
                      _block_wrong("no_attn_residual")),
        Misconception(Text("the MLP branch lost its residual connection: return x + MLP(LN2(x)).",
                           "MLP 分支丢了残差连接：return x + MLP(LN2(x))。"),
                      _block_wrong("no_mlp_residual")),
        Misconception(Text("the shift was ignored: pass `shift` to the attention (shift_size), this is what "
                           "makes the block an SW-MSA block.",
                           "移位被忽略了：把 `shift` 传给注意力（shift_size），正是它让这个 block 成为 SW-"
                           "MSA block。"), _block_wrong("no_shift")),
        Misconception(Text("the two branches run one after the other: the MLP sees x after the attention "
                           "residual, not the block's input.",
                           "两个分支是先后执行的：MLP 看到的是加过注意力残差之后的 x，而不是 block 的输入。"), _block_wrong("parallel")),
        Misconception(Text("the MLP branch has its own LayerNorm, norm2 (norm1 belongs to the attention branch).",
                           "MLP 分支有它自己的层归一化 norm2（norm1 属于注意力分支）。"),
                      _block_wrong("norm1_twice")),
    ],
)


# ----------------------------------------------------------------------------- 5.2 how far does a poke travel?
def tokens_reached_reference(blocks: int, M: int, shift: bool) -> int:
    """Far from the borders, how many tokens a poked token can have influenced after ``blocks`` blocks
    (W-MSA first, then SW-MSA with s = M // 2 if ``shift``, alternating): each block carries the information
    to the borders of the windows of its own grid, one window further each time."""
    return (blocks * M) ** 2 if shift else M * M


def _reached_hidden(rng):
    return [Case(Text(f"{b} blocks, M={m}, {'with' if sh else 'without'} the shift",
                      f"{b} 个 block，M={m}，{'有' if sh else '没有'}移位"), (b, m, sh))
            for b, m, sh in ((between(rng, 4, 7), between(rng, 3, 8), True),
                             (between(rng, 2, 7), between(rng, 3, 8), False))]


TOKENS_REACHED = Exercise(
    name="tokens_reached",
    signature="tokens_reached_mine(blocks, M, shift)",
    reference=tokens_reached_reference,
    kind="int",
    cases=lambda: [Case(Text("2 blocks (W-MSA, SW-MSA), M=4, with the shift",
                             "2 个 block（W-MSA、SW-MSA），M=4，有移位"), (2, 4, True)),
                   Case(Text("6 blocks, M=4, with the shift",
                             "6 个 block，M=4，有移位"), (6, 4, True)),
                   Case(Text("3 blocks, M=4, with the shift",
                             "3 个 block，M=4，有移位"), (3, 4, True)),
                   Case(Text("6 blocks, M=7 (Swin-T's window), with the shift",
                             "6 个 block，M=7（Swin-T 的窗口），有移位"), (6, 7, True)),
                   Case(Text("6 blocks, M=4, without the shift (every block W-MSA)",
                             "6 个 block，M=4，没有移位（每个 block 都是 W-MSA）"), (6, 4, False)),
                   Case(Text("1 block (W-MSA), M=7",
                             "1 个 block（W-MSA），M=7"), (1, 7, True))],
    hidden=_reached_hidden,
    forbidden=("swin_edu.demos.connectivity:reach_map", "swin_edu.demos.receptive_field:poke_receptive_field"),
    hints=(Text("Work on one axis first: after the W-MSA block the information fills its window, [0, M). Which "
                "windows of the shifted grid overlap that interval, and where do they end?",
                "先只看一个轴：经过 W-MSA block 之后，信息填满了它所在的窗口 [0, M)。移位后网格里有哪些窗口"
                "和这个区间重叠，它们的边界在哪里？"),
           Text("Track the interval on one axis block by block: each block extends it to the borders of the windows "
                "of its own grid that it overlaps. The 2-D region is the square of the 1-D interval.",
                "在一个轴上逐个 block 跟踪这个区间：每个 block 都把它扩展到自己网格里与之重叠的窗口的边界。"
                "2 维区域就是这个 1 维区间的平方。")),
    misconceptions=[
        Misconception(Text("that is W-MSA only: the information never leaves its window. With the shift, the second "
                           "block's windows straddle 4 windows of the first.",
                           "这是只有 W-MSA 的情况：信息永远出不了自己的窗口。有了移位，第二个 block 的窗口"
                           "横跨第一个 block 的 4 个窗口。"), lambda b, M, sh: M * M if sh else None),
        Misconception(Text("a block does not move the information by s: it spreads it over whole windows of its "
                           "grid, up to the next border, one window further each time.",
                           "一个 block 并不是把信息挪动 s：它把信息扩散到自己网格的整个窗口，"
                           "一直到下一条边界，每次向外多一个窗口。"),
                      lambda b, M, sh: (M + (b - 1) * (M // 2)) ** 2 if sh else None),
        Misconception(Text("the W-MSA blocks grow it too once the information has crossed a border: their windows "
                           "now contain informed tokens on both sides.",
                           "信息一旦越过边界，W-MSA block 也会让它扩大：它们的窗口里两侧都有已经得到信息的"
                           " token。"),
                      lambda b, M, sh: (M * (1 + b // 2)) ** 2 if sh else None),
        Misconception(Text("that is the side of the square; how many tokens does it hold?",
                           "这是正方形的边长；它里面有多少个 token？"),
                      lambda b, M, sh: b * M if sh else M),
    ],
)


# ----------------------------------------------------------------------------- 5.4 the merging kernel
def merge_kernel_reference(C: int) -> np.ndarray:
    """(4C, C, 2, 2) one-hot kernel: ``conv2d(x_nchw, kernel, stride=2)`` is the 2x2 gather in the official
    order (output channels k*C..k*C+C-1 copy the input channels at offset GATHER_OFFSETS[k])."""
    kernel = np.zeros((4 * C, C, 2, 2))
    for k, (r, c) in enumerate(snp.GATHER_OFFSETS):
        kernel[k * C:(k + 1) * C, :, r, c] = np.eye(C)
    return kernel


def _kernel_wrong(kind):
    def wrong(C):
        offsets = {"x1_x2_swapped": ((0, 0), (0, 1), (1, 0), (1, 1)),
                   "reversed": ((1, 1), (0, 1), (1, 0), (0, 0))}.get(kind, snp.GATHER_OFFSETS)
        kernel = np.zeros((4 * C, C, 2, 2))
        for k, (r, c) in enumerate(offsets):
            for ch in range(C):
                out = 4 * ch + k if kind == "interleaved" else k * C + ch
                kernel[out, ch, r, c] = 1
        return kernel.transpose(1, 0, 2, 3) if kind == "transposed" else kernel
    return wrong


MERGE_KERNEL = Exercise(
    name="merge_kernel",
    signature="merge_kernel_mine(C)",
    reference=merge_kernel_reference,
    kind="array",
    dtype=None,  # a kernel of ints or bools is as good as one of floats
    cases=lambda: [Case(Text("C=1 (the seed's single-channel map)",
                             "C=1（原文的单通道特征图）"), (1,)), Case("C=3", (3,))],
    hidden=lambda rng: [Case(f"C={c}", (c,)) for c in (between(rng, 2, 2), between(rng, 4, 6))],
    forbidden=("swin_edu.numpy_ref.merging:patch_merging_gather",),
    hints=(Text("Each output channel copies one input channel from one of the 4 positions of the 2x2 patch: for "
                "that output channel, which single weight must be 1?",
                "每个输出通道从 2x2 图像块的 4 个位置之一复制一个输入通道：对这个输出通道，"
                "哪一个权重必须是 1？"),
           Text("Loop over the four offsets in the official order; for offset k the block of output channels "
                "k·C .. k·C+C-1 takes the identity over the input channels, at that (row, col) of the kernel.",
                "按官方顺序遍历四个偏移；对第 k 个偏移，输出通道 k·C .. k·C+C-1 这一组在卷积核的那个 (row,"
                " col) 位置上取输入通道的单位矩阵。")),
    misconceptions=[
        Misconception(Text("x1 is the pixel *below* (row offset 1, column 0), x2 the one to its right: the official "
                           "order is (0,0), (1,0), (0,1), (1,1).",
                           "x1 是*下面*的像素（行偏移 1，列偏移 0），x2 是它右边的那个：官方顺序是 (0,0)、"
                           "(1,0)、(0,1)、(1,1)。"), _kernel_wrong("x1_x2_swapped")),
        Misconception(Text("the gather concatenates whole blocks of C channels: output channels 0..C-1 are x0, "
                           "C..2C-1 are x1, ...; you interleaved them per channel.",
                           "取块时拼接的是整组的 C 个通道：输出通道 0..C-1 是 x0，C..2C-1 是 x1，"
                           "……；你把它们按通道交错排列了。"), _kernel_wrong("interleaved")),
        Misconception(Text("conv weights are (out_channels, in_channels, kh, kw) = (4C, C, 2, 2).",
                           "卷积权重的形状是 (out_channels, in_channels, kh, kw) = (4C, C, 2, 2)。"),
                      _kernel_wrong("transposed")),
        Misconception(Text("x0 is the top-left pixel (0, 0) of each group: your order is reversed.",
                           "x0 是每组左上角的像素 (0, 0)：你的顺序反了。"),
                      _kernel_wrong("reversed")),
    ],
)


# ----------------------------------------------------------------------------- 5.1 DropPath
def drop_path_reference(x, p, training, seed):
    """The reference of exercise 5.1: :func:`swin_edu.numpy_ref.drop_path` with a generator seeded by ``seed``."""
    return snp.drop_path(x, p, rng=np.random.default_rng(seed), training=training)


def _drop_compare(got, expected, case):
    """DropPath is random: compare what must hold whatever the draws (and, on a large batch, the dropped share)."""
    from .diagnostics import NO_RETURN, describe, more_help

    x, p, training, _ = case.args
    want = Text(f"expected: a numpy array of shape {x.shape}, dtype {x.dtype}",
                f"expected: 形状为 {x.shape}、dtype 为 {x.dtype} 的 numpy 数组")
    if got is None:
        return [want, "got:      None", NO_RETURN]
    if not isinstance(got, np.ndarray) or got.shape != x.shape or got.dtype != x.dtype:
        return [want, f"got:      {describe(got)}"]
    if not np.isfinite(got).all():
        return [want, Text("got:      an array with NaN or inf", "got:      含有 NaN 或 inf 的数组")] + more_help(DROP_PATH)
    if not training or p == 0:
        if np.array_equal(got, x):
            return None
        return [Text("expected: x itself, unchanged" + (" (at inference DropPath does nothing)" if not training
                                                         else " (p = 0: nothing is dropped)"),
                     "expected: x 本身，原样不变" + ("（推理时 DropPath 什么也不做）" if not training
                                                      else "（p = 0：什么也不丢）")),
                Text("got:      other values", "got:      别的值"),
                Text("hint: DropPath only acts while training, and p is the probability of dropping: return x when "
                     "training is False or p is 0.",
                     "hint: DropPath 只在训练时起作用，p 是丢弃的概率：training 为 False 或 p 为 0 时直接返回 x。")]
    B = x.shape[0]
    flat_x, flat_g = x.reshape(B, -1).astype(np.float64), got.reshape(B, -1).astype(np.float64)
    zero = (flat_g == 0).all(axis=1)
    nz = np.abs(flat_x) > 0
    ratio = np.where(nz, flat_g / np.where(nz, flat_x, 1.0), np.nan)
    mixed = ~zero & ~np.all(np.isclose(ratio, np.nanmax(ratio, axis=1, keepdims=True), rtol=1e-5) | ~nz, axis=1)
    if mixed.any():
        b = int(np.flatnonzero(mixed)[0])
        return [Text("expected: each sample either dropped whole (all zeros) or kept whole (every element times one "
                     "factor)", "expected: 每个样本要么整个丢掉（全为零），要么整个保留（每个元素乘同一个因子）"),
                Text(f"got:      sample {b} partly dropped", f"got:      第 {b} 个样本被丢掉了一部分"),
                Text("hint: that is dropout, element by element. DropPath drops a sample's whole residual branch: draw "
                     "one number per sample (shape (B,) or (B, 1, ..., 1)), not one per element.",
                     "hint: 这是逐元素的 dropout。DropPath 丢掉的是一个样本的整个残差分支：每个样本抽一个随机数"
                     "（形状 (B,) 或 (B, 1, ..., 1)），而不是每个元素抽一个。")]
    kept = ~zero
    if kept.any():
        factors = np.nanmax(ratio[kept], axis=1)
        f = float(np.median(factors))
        if not np.allclose(factors, 1.0 / (1.0 - p), rtol=1e-5):
            lines = [Text(f"expected: the kept samples multiplied by 1/(1-p) = {1 / (1 - p):.6g}",
                          f"expected: 保留下来的样本乘以 1/(1-p) = {1 / (1 - p):.6g}"),
                     Text(f"got:      kept samples multiplied by {f:.6g}", f"got:      保留的样本乘以了 {f:.6g}")]
            if np.isclose(f, 1.0):
                hint = Text("the kept samples are not scaled: while training, the branch's expected output is then "
                            "(1-p)·x, while at inference it is x. Which factor makes the two agree?",
                            "保留的样本没有缩放：这样训练时分支输出的期望是 (1-p)·x，而推理时是 x。"
                            "乘以哪个因子才能让两者一致？")
            elif np.isclose(f, 1.0 / p):
                hint = Text("1/p is the dropped share's inverse: a sample is kept with probability 1-p, so the kept "
                            "ones must make up for the dropped share.",
                            "1/p 是被丢掉部分的倒数：一个样本被保留的概率是 1-p，保留的样本要把被丢掉的那份补回来。")
            elif np.isclose(f, 1.0 - p):
                hint = Text("multiplying by 1-p makes the expectation (1-p)²·x: divide by the keep probability "
                            "instead of multiplying.",
                            "乘以 1-p 会让期望变成 (1-p)²·x：应该除以保留的概率，而不是乘以它。")
            else:
                hint = Text("work out the expectation of the output: a sample is kept with probability 1-p; what factor "
                            "on the kept samples makes it equal to x?",
                            "算一算输出的期望：一个样本以 1-p 的概率被保留；保留的样本乘以什么因子，期望才等于 x？")
            return lines + ["hint: " + hint]
    if B >= 1000:
        share = float(zero.mean())
        sigma = (p * (1 - p) / B) ** 0.5
        if abs(share - p) > 6 * sigma:
            hint = (Text("you drop with probability 1-p (keep with p): p is the probability of *dropping*.",
                         "你以 1-p 的概率丢弃（以 p 的概率保留）：p 是*丢弃*的概率。")
                    if abs(share - (1 - p)) <= 6 * sigma else
                    Text("draw one uniform number per sample from the generator and drop the sample when it is below p.",
                         "每个样本从随机数生成器抽一个均匀分布的数，小于 p 时丢掉这个样本。"))
            return [Text(f"expected: about {p:.0%} of the {B} samples dropped", f"expected: {B} 个样本中约 {p:.0%} 被丢掉"),
                    Text(f"got:      {share:.1%} dropped", f"got:      丢掉了 {share:.1%}"), "hint: " + hint]
    return None


def _drop_case(label, shape, p, training, seed, ones=False):
    x = np.ones(shape) if ones else rand(*shape, seed=seed + 100)
    return Case(label, (x, p, training, seed))


def _drop_hidden(rng):
    p = float(_choice(rng, (0.1, 0.2, 0.4)))
    B = between(rng, 3000, 5000)
    return [Case(Text(f"{B} random samples of 3 values, p={p} (the dropped share is measured)",
                      f"{B} 个随机样本，每个 3 个数，p={p}（会统计被丢掉的比例）"),
                 (draw(rng, B, 3), p, True, between(rng, 0, 10_000))),
            Case(Text("at inference (training=False), p=0.5", "推理时（training=False），p=0.5"),
                 (draw(rng, between(rng, 2, 5), 2, 3, 4), 0.5, False, between(rng, 0, 10_000)))]


def _choice(rng, options):
    """One of ``options`` (any values), chosen by ``rng``."""
    return options[int(rng.integers(len(options)))]


DROP_PATH = Exercise(
    name="drop_path",
    signature="drop_path_mine(x, p, training, seed)",
    reference=drop_path_reference,
    kind="custom",
    compare=_drop_compare,
    cases=lambda: [
        _drop_case(Text("20,000 samples of 4 values all 1, p=0.3, training (the dropped share and the factor are measured)",
                        "20,000 个样本，每个是 4 个值为 1 的数，p=0.3，训练时（会统计被丢掉的比例和缩放因子）"),
                   (20_000, 4), 0.3, True, 0, ones=True),
        _drop_case(Text("6 random maps (6, 4, 4, 2), p=0.25, training", "6 张随机特征图 (6, 4, 4, 2)，p=0.25，训练时"),
                   (6, 4, 4, 2), 0.25, True, 1),
        _drop_case(Text("at inference (training=False), p=0.3", "推理时（training=False），p=0.3"),
                   (5, 3, 3, 2), 0.3, False, 2),
        _drop_case(Text("p=0 while training", "训练时 p=0"), (4, 6), 0.0, True, 3),
    ],
    hidden=_drop_hidden,
    forbidden=("swin_edu.numpy_ref.model:drop_path", "swin_edu.exercises.nb05:drop_path_reference"),
    hints=(Text("First the expectation: a sample's branch is kept with probability 1-p and multiplied by some factor "
                "f, dropped (0) otherwise. What is the expected output, and which f makes it x, what the branch gives "
                "at inference?",
                "先算期望：一个样本的分支以 1-p 的概率保留并乘以某个因子 f，否则被丢掉（变成 0）。"
                "输出的期望是多少？f 取多少，期望才等于推理时分支给出的 x？"),
           Text("np.random.default_rng(seed) gives the generator; draw one uniform number per sample (axis 0), keep "
                "the samples whose number is at least p, multiply them by the factor you found, zero the others; "
                "at inference or when p is 0, hand the input back as it is.",
                "用 np.random.default_rng(seed) 得到随机数生成器；每个样本（第 0 轴）抽一个均匀分布的数，"
                "数不小于 p 的样本保留并乘以你找到的因子，其余置零；推理时或 p 为 0 时把输入原样交回。")),
)


# ----------------------------------------------------------------------------- 5.4 a ViT block
def _vit_wrong(kind):
    from ..demos.vit_block import _vit

    flags = {"post_norm": {"pre_norm": False}, "no_residual": {"residual": False}, "no_scale": {"scale": 1.0},
             "softmax_queries": {"axis": -2}, "one_head": {"split_heads": False}}.get(kind, {})

    def wrong(x, params, num_heads):
        if kind == "scale_C":
            return _vit(x, params, num_heads, scale=x.shape[-1] ** -0.5)
        return _vit(x, params, num_heads, **flags)
    return wrong


def _vit_reference(x, params, num_heads):
    from ..demos.vit_block import vit_block

    return vit_block(x, params, num_heads)


def _vit_params(C, heads, seed):
    from ..demos.vit_block import vit_params

    return vit_params(C, heads, 2, seed=seed)


def _vit_hidden(rng):
    heads = _choice(rng, (2, 3))
    C = heads * between(rng, 2, 4)
    h, w = between(rng, 2, 4), between(rng, 3, 6)
    return [Case(Text(f"one non-square {h}x{w} map, C={C}, {heads} heads",
                      f"一张非正方形的 {h}x{w} 特征图，C={C}，{heads} 个头"),
                 (draw(rng, 1, h, w, C), _vit_params(C, heads, between(rng, 1, 10_000)), heads)),
            Case(Text(f"2 float32 maps 3x3, C={2 * heads}, {heads} heads",
                      f"2 张 float32 的 3x3 特征图，C={2 * heads}，{heads} 个头"),
                 (draw(rng, 2, 3, 3, 2 * heads, dtype=np.float32),
                  {k: v.astype(np.float32) for k, v in _vit_params(2 * heads, heads, between(rng, 1, 10_000)).items()},
                  heads))]


VIT_BLOCK = Exercise(
    name="vit_block",
    signature="vit_block_mine(x, params, num_heads)",
    reference=_vit_reference,
    cases=lambda: [
        Case(Text("two random 4x4 maps, C=12, 3 heads", "两张随机的 4x4 特征图，C=12，3 个头"),
             (rand(2, 4, 4, 12, seed=74), _vit_params(12, 3, 0), 3)),
        Case(Text("one non-square 2x6 map, C=8, 2 heads", "一张非正方形的 2x6 特征图，C=8，2 个头"),
             (rand(1, 2, 6, 8, seed=75), _vit_params(8, 2, 1), 2)),
    ],
    hidden=_vit_hidden,
    forbidden=("swin_edu.demos.vit_block:vit_block", "swin_edu.demos.vit_block:_vit",
               "swin_edu.numpy_ref.attention:window_attention", "swin_edu.numpy_ref.model:shifted_window_attention",
               "swin_edu.numpy_ref.model:swin_block"),
    # the block's pieces of notebooks 01-05 (the attention over all tokens is the learner's to write)
    allowed=("swin_edu.numpy_ref.patches:layer_norm", "swin_edu.numpy_ref.attention:softmax",
             "swin_edu.numpy_ref.model:mlp"),
    # the hidden float32 case: two LayerNorms, a softmax and two matrix-product chains on a residual stream of size
    # about 1 leave each output a few float32 ulps (1.2e-7) off, depending on the order of the sums: an entry near
    # 0 differs by about 1e-7 absolute, so the absolute tolerance (not the relative one) decides there; 1e-5 keeps
    # 100x room, as for the other float32 blocks (notebooks 06-07), and every misconception moves entries by 1e-2+
    rtol=1e-4, atol=1e-5,
    hints=(Text("It is the block of exercise 5.2 with another attention: before the attention, turn the map into one "
                "sequence of H·W tokens per image; every token is a query and a key of every other.",
                "它就是练习 5.2 的 block，只是注意力换了：做注意力之前，把每张图的特征图变成一个由 H·W 个 token "
                "组成的序列；每个 token 都是其他每个 token 的查询和键。"),
           Text("Tokens (B, H·W, C); LN1; one qkv projection (x @ W.T + b) reshaped to (B, N, 3, heads, d) and "
                "transposed to q, k, v of shape (B, heads, N, d); softmax(q kᵀ / √d) over the keys, times v; heads "
                "merged back to (B, N, C); proj; add. Then LN2, MLP, add; reshape to (B, H, W, C).",
                "token (B, H·W, C)；LN1；一次 qkv 投影（x @ W.T + b），reshape 成 (B, N, 3, heads, d) 再转置成形状为 "
                "(B, heads, N, d) 的 q、k、v；沿键的方向做 softmax(q kᵀ / √d)，乘以 v；把各个头合并回 (B, N, C)；"
                "proj；加回去。然后 LN2、MLP、加回去；最后 reshape 成 (B, H, W, C)。")),
    misconceptions=[
        Misconception(Text("this is post-norm, LN(x + f(x)); ViT and Swin are pre-norm: x + f(LN(x)).",
                           "这是后归一化 LN(x + f(x))；ViT 和 Swin 都是先归一化：x + f(LN(x))。"),
                      _vit_wrong("post_norm")),
        Misconception(Text("the attention branch lost its residual connection: x = x + attention(LN1(x)).",
                           "注意力分支丢了残差连接：x = x + attention(LN1(x))。"), _vit_wrong("no_residual")),
        Misconception(Text("the logits are not scaled: divide q kᵀ by √d, d the dimension of one head (notebook 02).",
                           "注意力得分没有缩放：q kᵀ 要除以 √d，d 是一个头的维度（笔记本 02）。"),
                      _vit_wrong("no_scale")),
        Misconception(Text("you scaled by 1/√C: d is the dimension of one head, C / num_heads.",
                           "你乘的是 1/√C：d 是一个头的维度，C / num_heads。"), _vit_wrong("scale_C")),
        Misconception(Text("the softmax runs over the queries: each query's weights over the keys must sum to 1 "
                           "(the last axis of q kᵀ).",
                           "softmax 沿查询的方向做了：每个查询对所有键的权重之和应为 1（q kᵀ 的最后一个轴）。"),
                      _vit_wrong("softmax_queries")),
        Misconception(Text("one head of dimension C: split q, k and v into num_heads heads of d = C / num_heads "
                           "channels, attend in each, then concatenate them.",
                           "只用了一个维度为 C 的头：要把 q、k、v 分成 num_heads 个头，每个 d = C / num_heads 个通道，"
                           "各自做注意力，再拼接起来。"), _vit_wrong("one_head")),
    ],
)
