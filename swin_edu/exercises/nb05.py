"""Exercises of notebook 05: the Swin block, how far a poke travels, patch merging and its kernel."""
from __future__ import annotations

import functools

import numpy as np

from .. import numpy_ref as snp
from ..i18n import Text
from ..config import SwinConfig
from ._data import between, counting, draw, rand
from .spec import Case, Exercise, Misconception

__all__ = ["PATCH_MERGING_GATHER", "SWIN_BLOCK", "TOKENS_REACHED", "MERGE_KERNEL", "block_case_params",
           "tokens_reached_reference", "merge_kernel_reference"]


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
    hints=(Text("Each of the four pieces takes one pixel from every 2x2 group: which pixels of the map are the "
                "top-left ones of their group, and which are the ones just below them?",
                "四块中的每一块都从每个 2x2 小组里取一个像素：特征图上哪些像素是各自小组的左上角，"
                "哪些正好在它们下面？"),
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
    hints=(Text("Read the two equations above the exercise: where is the LayerNorm, and what is added back?",
                "读一读练习上方的两个公式：层归一化（LayerNorm）在哪里，加回去的是什么？"),
           Text("Two residual steps, each pre-norm: normalise with norm1, run the (shifted) window attention on its "
                "own weights (the 'attn.' part of params; the shift goes to the attention), add; then normalise with "
                "norm2, run the MLP, add. (When the course assembles your model, snp.shifted_window_attention is your "
                "SW-MSA of notebook 03.)",
                "两个残差步骤，都是先归一化（pre-norm）：用 norm1 归一化，用它自己的权重（params 里 'attn."
                "' 的部分；移位量传给注意力）做（移位）窗口注意力，加回去；再用 norm2 归一化，"
                "过 MLP，加回去。（课程用你的各个部分组装模型时，snp.shifted_window_attention 就是你在笔记本 03 "
                "里写的 SW-MSA。）")),
    misconceptions=[
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
