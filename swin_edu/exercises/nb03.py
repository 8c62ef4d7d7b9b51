"""Exercises of notebook 03: the cost of the padded windows, the pairs the mask blocks, the regions, the 0/-100
mask, and the capstone: SW-MSA assembled from its pieces."""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from ..i18n import Text
from ..demos import capstone_reference as capstone
from ._data import between, pick
from ._values import as_int_tuple, same_ints, value_compare
from .diagnostics import NO_RETURN, describe
from .spec import Case, Exercise, Misconception

__all__ = ["PADDED_MACS", "BLOCKED_PAIRS", "REGION_IDS", "MASK_FROM_REGIONS", "SW_MSA"]


# ----------------------------------------------------------------------------- 3.1 the padded way
def padded_macs_reference(h, w, C, M, s):
    """MACs of SW-MSA done the naive way: every window of the grid displaced by s padded to M x M and
    computed like a W-MSA window (projections 4M^2C^2 and attention 2M^4C each)."""
    extra = 1 if s > 0 else 0
    return (h // M + extra) * (w // M + extra) * (4 * M * M * C * C + 2 * M ** 4 * C)


def _window_cost(C, M):
    return 4 * M * M * C * C + 2 * M ** 4 * C


def _padded_hidden(rng):
    M = pick(rng, (3, 4, 5))
    a, b, s, C = between(rng, 2, 3), between(rng, 4, 5), between(rng, 1, M - 1), 8 * between(rng, 1, 4)
    M2 = pick(rng, (5, 6, 7))
    return [Case(Text(f"a non-square map: {a * M}x{b * M}, C={C}, M={M}, s={s}",
                      f"一张非正方形特征图：{a * M}x{b * M}，C={C}，M={M}，s={s}"), (a * M, b * M, C, M, s)),
            Case(Text(f"a single window: {M2}x{M2}, C={C}, M={M2}, s={M2 // 2}",
                      f"只有一个窗口：{M2}x{M2}，C={C}，M={M2}，s={M2 // 2}"), (M2, M2, C, M2, M2 // 2)),
            Case(Text(f"a W-MSA block (s=0): {a * M}x{a * M}, C={C}, M={M}",
                      f"一个 W-MSA block（s=0）：{a * M}x{a * M}，C={C}，M={M}"), (a * M, a * M, C, M, 0))]


PADDED_MACS = Exercise(
    name="padded_macs",
    signature="padded_macs_mine(h, w, C, M, s)",
    reference=padded_macs_reference,
    kind="int",
    cases=lambda: [
        Case(Text("the seed's example: 8x8 map, C=16, M=4, s=2",
                  "原文的例子：8x8 特征图，C=16，M=4，s=2"), (8, 8, 16, 4, 2)),
        Case(Text("Swin-T stage 1: 56x56, C=96, M=7, s=3",
                  "Swin-T 的 stage 1：56x56，C=96，M=7，s=3"), (56, 56, 96, 7, 3)),
        Case(Text("a non-square map: 8x12, C=8, M=4, s=1",
                  "一张非正方形特征图：8x12，C=8，M=4，s=1"), (8, 12, 8, 4, 1)),
        Case(Text("a W-MSA block, no shift: 8x8, C=16, M=4, s=0",
                  "一个 W-MSA block，不移位：8x8，C=16，M=4，s=0"), (8, 8, 16, 4, 0)),
    ],
    hidden=_padded_hidden,
    forbidden=("swin_edu.complexity:padded_wmsa_macs", "swin_edu.complexity:padded_wmsa_breakdown",
               "swin_edu.complexity:shifted_window_count", "swin_edu.numpy_ref.naive:shifted_window_grid"),
    hints=(Text("Count windows first: how many windows does one row of the displaced grid hold, and how many rows "
                "of windows are there? Then ask what one padded window costs.",
                "先数窗口：错开后的窗口网格一行有几个窗口，一共有几行窗口？然后再想一个填充后的窗口要花多少。"),
           Text("Per axis, h/M windows become h/M + 1 when s > 0 (a strip of s at the start, a partial window at "
                "the end), and stay h/M when s = 0. A padded window costs exactly what a W-MSA window costs: its "
                "projections on M^2 tokens plus Q K^T and A V inside it.",
                "每个轴上，s > 0 时 h/M 个窗口变成 h/M + 1 个（开头一条宽 s 的窄带，末尾一个不完整的窗口）；"
                "s = 0 时仍是 h/M 个。一个填充后的窗口的代价和一个 W-MSA 窗口完全一样：M^2 个 token 上的投"
                "影，加上窗口内的 Q K^T 和 A V。")),
    misconceptions=[
        Misconception(Text("that is the cost of the cyclic shift (the same windows as W-MSA). The displaced grid has "
                           "one more row and one more column of (partial) windows, each padded to M x M.",
                           "这是循环移位的代价（窗口和 W-MSA 一样）。错开后的网格多出一行和一列（不完整的）"
                           "窗口，每个都要填充到 M x M。"),
                      lambda h, w, C, M, s: (h // M) * (w // M) * _window_cost(C, M) if s else None),
        Misconception(Text("with s = 0 nothing is displaced: no extra windows.",
                           "s = 0 时什么都没有错开：没有多出来的窗口。"),
                      lambda h, w, C, M, s: (h // M + 1) * (w // M + 1) * _window_cost(C, M) if s == 0 else None),
        Misconception(Text("in this variant the padded tokens are computed too: the projections of a padded window "
                           "cost 4M^2C^2 whether its tokens are real or zeros. (Projecting before padding is a valid "
                           "optimisation; it saves the projections, not the attention.)",
                           "在这种做法里，填充出来的 token 也要计算：一个填充窗口的投影无论 token 是真实的"
                           "还是零，都要 4M^2C^2。（先投影再填充是合理的优化；它省下的是投影，"
                           "不是注意力。）"),
                      lambda h, w, C, M, s: 4 * h * w * C * C
                      + (h // M + (s > 0)) * (w // M + (s > 0)) * 2 * M ** 4 * C),
        Misconception(Text("9 windows is the seed's 8x8 map with 4x4 windows; count the rows and columns of the "
                           "displaced grid for this map.",
                           "9 个窗口是原文那张 8x8 特征图配 4x4 窗口的情形；请按这张特征图数一数错开后网格"
                           "的行数和列数。"), lambda h, w, C, M, s: 9 * _window_cost(C, M)),
        Misconception(Text("multiply the windows per column by the windows per row; do not add them.",
                           "把每列的窗口数乘以每行的窗口数；不要相加。"),
                      lambda h, w, C, M, s: (h // M + w // M + 2 * (s > 0)) * _window_cost(C, M)),
    ],
)


# ----------------------------------------------------------------------------- 3.2 blocked pairs
def blocked_pairs_reference(H, W, M, s):
    """How many (query, key) entries of each window's N x N mask are -100, window by window (row-major
    over the rolled map): a window whose tokens form regions of n1, n2, ... tokens allows the sum of the
    ni^2 and blocks the rest of its N^2 pairs."""
    out = []
    rows_of_windows, cols_of_windows = H // M, W // M
    for wr in range(rows_of_windows):
        for wc in range(cols_of_windows):
            rows = [M - s, s] if (wr == rows_of_windows - 1 and s) else [M]  # the last row of windows: 2 bands
            cols = [M - s, s] if (wc == cols_of_windows - 1 and s) else [M]
            out.append((M * M) ** 2 - sum((a * b) ** 2 for a in rows for b in cols))
    return out


def _corner_two_regions(H, W, M, s):
    right = blocked_pairs_reference(H, W, M, s)
    return right[:-1] + [(M * M) ** 2 - (M * (M - s)) ** 2 - (M * s) ** 2] if s else None


def _corner_only(H, W, M, s):
    right = blocked_pairs_reference(H, W, M, s)
    return [0] * (len(right) - 1) + right[-1:]


def _blocked_type(got, expected):
    if as_int_tuple(got) is None:
        return (Text("return a list of ints, one count per window (e.g. [0, 128, ...]); ",
                     "请返回 int 组成的 list，每个窗口一个计数（例如 [0, 128, ...]）；")
                + (Text("counts are exact integers: use // rather than /.", "计数是精确的整数：用 // 而不是 /。")
                   if isinstance(got, (list, tuple)) else
                   Text(f"a Python list, not {type(got).__name__}.", f"要的是 Python list，而不是 {type(got).__name__}。")))
    if len(got) != len(expected):
        return (Text(f"one count per window of the rolled map: {len(expected)} windows here "
                     f"((H/M) x (W/M)), you gave {len(got)}.",
                     f"滚动后的特征图上每个窗口一个计数：这里有 {len(expected)} 个窗口（(H/M)"
                     f" x (W/M)），你给了 {len(got)} 个。"))
    return None


def _blocked_hidden(rng):
    M = pick(rng, (3, 4, 5))
    a, b, s = between(rng, 2, 3), between(rng, 3, 4), between(rng, 1, M - 1)
    M2 = pick(rng, (4, 6))
    return [Case(Text(f"a non-square map: {a * M}x{b * M}, M={M}, s={s}",
                      f"一张非正方形特征图：{a * M}x{b * M}，M={M}，s={s}"), (a * M, b * M, M, s)),
            Case(Text(f"a W-MSA block (s=0): {2 * M}x{2 * M}, M={M}",
                      f"一个 W-MSA block（s=0）：{2 * M}x{2 * M}，M={M}"), (2 * M, 2 * M, M, 0)),
            Case(Text(f"a single window: {M2}x{M2}, M={M2}, s={M2 // 2}",
                      f"只有一个窗口：{M2}x{M2}，M={M2}，s={M2 // 2}"), (M2, M2, M2, M2 // 2))]


BLOCKED_PAIRS = Exercise(
    name="blocked_pairs",
    signature="blocked_pairs_mine(H, W, M, s)",
    reference=blocked_pairs_reference,
    kind="custom",
    compare=lambda got, expected, case: _blocked_compare(got, expected, case),
    cases=lambda: [
        Case(Text("the seed's example: an 8x8 map, M=4, s=2 (4 windows)",
                  "原文的例子：一张 8x8 特征图，M=4，s=2（4 个窗口）"), (8, 8, 4, 2)),
        Case(Text("Swin's window on a 14x14 map: M=7, s=3",
                  "Swin 的窗口，14x14 特征图：M=7，s=3"), (14, 14, 7, 3)),
        Case(Text("a non-square 8x12 map, M=4, s=1",
                  "一张非正方形的 8x12 特征图，M=4，s=1"), (8, 12, 4, 1)),
        Case(Text("a non-square 12x8 map, M=4, s=3",
                  "一张非正方形的 12x8 特征图，M=4，s=3"), (12, 8, 4, 3)),
    ],
    hidden=_blocked_hidden,
    forbidden=("swin_edu.numpy_ref.windows:shift_mask", "swin_edu.numpy_ref.windows:region_ids"),
    hints=(Text("Which windows of the rolled map contain tokens that wrapped around, and into how many separate "
                "pieces (regions) is each of them cut?",
                "滚动后的特征图上，哪些窗口里有绕回来的 token？每个这样的窗口被切成了几块互不相连的区域？"),
           Text("A window whose tokens form regions of n1, n2, ... tokens allows the sum of the ni^2 ordered pairs "
                "of its N^2 and blocks the rest. In the last row of windows the rows split into M - s and s, in "
                "the last column the columns do; a region is one row band times one column band.",
                "如果一个窗口的 token 分成 n1、n2、…… 个 token 的几个区域，那么它的 N^2 个有序对中允许的是"
                "各 ni^2 之和，其余都被屏蔽。最后一行窗口的行分成 M - s 和 s 两段，最后一列窗口的列也一样；"
                "一个区域就是一段行乘一段列。")),
    misconceptions=[
        Misconception(Text("the mask has an entry for (i, j) and one for (j, i): count ordered pairs.",
                           "掩码里 (i, j) 和 (j, i) 各有一项：要数有序对。"),
                      lambda H, W, M, s: [n // 2 for n in blocked_pairs_reference(H, W, M, s)]),
        Misconception(Text("those are the pairs that may attend (0 in the mask); count the -100 entries.",
                           "这些是允许相互注意的对（掩码里为 0）；要数的是 -100 的项。"),
                      lambda H, W, M, s: [(M * M) ** 2 - n for n in blocked_pairs_reference(H, W, M, s)]),
        Misconception(Text("windows are numbered row by row from the top-left of the rolled map: window 0 is the "
                           "top-left one, which holds no wrapped tokens.",
                           "窗口从滚动后特征图的左上角开始按行编号：窗口 0 在左上角，里面没有绕回来的 token。"),
                      lambda H, W, M, s: blocked_pairs_reference(H, W, M, s)[::-1]),
        Misconception(Text("the bottom-right window holds pieces from four corners of the map: its rows and its "
                           "columns are both cut in two, so it has 4 regions.",
                           "右下角的窗口里有来自特征图四个角的碎片：它的行和列都被切成两段，"
                           "所以有 4 个区域。"), _corner_two_regions),
        Misconception(Text("the windows of the last column (and of the last row) hold two regions too: the strip "
                           "that wrapped around and the rest.",
                           "最后一列（以及最后一行）的窗口里也有两个区域：绕回来的那一条和其余部分。"), _corner_only),
    ],
)
_blocked_compare = value_compare(lambda: BLOCKED_PAIRS, same=same_ints, wrong_type=_blocked_type,
                                 expected_desc=lambda e: Text(f"a list of {len(e)} ints (one per window)",
                                                              f"{len(e)} 个 int 组成的 list（每个窗口一个）"))


# ----------------------------------------------------------------------------- region labels
def _pairs_in_windows(ids: np.ndarray, M: int) -> np.ndarray:
    win = snp.window_partition(ids[None, :, :, None], M).reshape(-1, M * M)
    return win[:, :, None] == win[:, None, :]  # (nW, N, N): may attend


def _compare_regions(got, expected, case):
    H, W, M, s = case.args
    exp_desc = Text(f"numpy array of shape ({H}, {W}) holding one integer region label per token",
                    f"形状为 ({H}, {W}) 的 numpy 数组，每个 token 一个整数区域编号")
    if got is None:
        return ["expected: " + exp_desc, "got:      None",
                NO_RETURN]
    if not isinstance(got, np.ndarray):
        return ["expected: " + exp_desc, f"got:      {describe(got)}",
                Text("hint: start from np.zeros((H, W), dtype=int) and fill the bands with labels.",
                     "hint: 从 np.zeros((H, W), dtype=int) 开始，把各条带填上编号。")]
    if got.shape != (H, W):
        return ["expected: " + exp_desc, f"got:      {describe(got)}",
                Text("hint: one label per token of the (H, W) map (no batch or channel axis).",
                     "hint: (H, W) 特征图的每个 token 一个编号（没有 batch 轴或通道轴）。")]
    if got.dtype.kind not in "iub" and not (got.dtype.kind == "f" and np.all(np.isfinite(got))):
        return ["expected: " + exp_desc, f"got:      {describe(got)}", Text("hint: labels are integers 0..8.",
                                                                            "hint: 编号是 0..8 的整数。")]
    same_got, same_exp = _pairs_in_windows(got, M), _pairs_in_windows(expected, M)
    if np.array_equal(same_got, same_exp):
        return None
    w, i, j = np.argwhere(same_got != same_exp)[0]
    gw = W // M
    pos = lambda t: (int(w // gw * M + t // M), int(w % gw * M + t % M))  # noqa: E731
    pi, pj = pos(i), pos(j)
    if same_exp[w, i, j]:
        should = Text("must attend to each other", "应该相互注意")
    else:
        should = Text("must NOT attend to each other", "不能相互注意")
    if same_got[w, i, j]:
        yours = Text(f"your labels are equal (both {_lab(got[pi])})", f"你给的编号却相同（都是 {_lab(got[pi])}）")
    else:
        yours = Text(f"your labels differ ({_lab(got[pi])} and {_lab(got[pj])})",
                     f"你给的编号却不同（{_lab(got[pi])} 和 {_lab(got[pj])}）")
    lines = [Text(f"in window {int(w)} of the shifted {H}x{W} map, the tokens at (row, col) {pi} and {pj} "
                  f"{should}, but {yours}.",
                  f"在移位后的 {H}x{W} 特征图的窗口 {int(w)} 中，(row, col) 为 {pi} 和 {pj} 的两个 token "
                  f"{should.zh}，但{yours.zh}。")]
    if s == 0:
        lines.append(Text("hint: with shift_size=0 nothing was moved: every token may attend to its whole window, "
                          "so all tokens get the same label.",
                          "hint: shift_size=0 时什么都没有移动：每个 token 都可以注意整个窗口，"
                          "所以所有 token 的编号都相同。"))
    else:
        oi, oj = _origin(pi, H, W, s), _origin(pj, H, W, s)
        together = _displaced_window(oi, M, s) == _displaced_window(oj, M, s)
        where = Text("the same window", "同一个窗口") if together else Text("different windows", "不同的窗口")
        lines.append(Text(f"hint: follow them back through the roll: before it they were at the image positions {oi} "
                          f"and {oj}, in {where} of the grid displaced by s={s} (the roll moved the map up and "
                          f"left by s, wrapping around at the edges).",
                          f"hint: 沿着滚动把它们追回去：滚动之前，它们在图像中的位置是 {oi} 和 {oj}，"
                          f"位于按 s={s} 错开的网格中的{where.zh}（滚动把特征图向左上移动了 s，"
                          f"越过边缘的部分绕到另一侧）。"))
    return lines


def _origin(pos, H, W, s):
    """Where the token at ``pos`` of the map rolled by -s was before the roll."""
    return ((pos[0] + s) % H, (pos[1] + s) % W)


def _displaced_window(pos, M, s):
    """(row, column) of the window of the grid displaced by s that holds image position ``pos``."""
    return tuple(0 if v < s else (v - s) // M + 1 for v in pos)


def _lab(v):
    return int(v) if float(v).is_integer() else v


def _regions_hidden(rng):
    M = pick(rng, (4, 5, 6, 7))
    a, b, s = between(rng, 2, 3), between(rng, 3, 4), between(rng, 1, M - 1)
    M2 = pick(rng, (3, 4, 5))
    return [Case(Text(f"a non-square {a * M}x{b * M} map, M={M}, s={s}",
                      f"一张非正方形的 {a * M}x{b * M} 特征图，M={M}，s={s}"), (a * M, b * M, M, s)),
            Case(Text(f"a W-MSA block: {2 * M}x{2 * M} map, M={M}, s=0",
                      f"一个 W-MSA block：{2 * M}x{2 * M} 特征图，M={M}，s=0"), (2 * M, 2 * M, M, 0)),
            Case(Text(f"a single window: {M2}x{M2} map, M={M2}, s={M2 // 2}",
                      f"只有一个窗口：{M2}x{M2} 特征图，M={M2}，s={M2 // 2}"), (M2, M2, M2, M2 // 2))]


REGION_IDS = Exercise(
    name="region_ids",
    signature="region_ids_mine(H, W, M, s)",
    reference=snp.region_ids,
    kind="custom",
    compare=_compare_regions,
    cases=lambda: [
        Case(Text("the seed's example: an 8x8 map, window M=4, shift s=2",
                  "原文的例子：一张 8x8 特征图，窗口 M=4，移位 s=2"), (8, 8, 4, 2)),
        Case(Text("Swin-T stage 1 size: a 56x56 map, M=7, s=3",
                  "Swin-T stage 1 的大小：一张 56x56 特征图，M=7，s=3"), (56, 56, 7, 3)),
    ],
    hidden=_regions_hidden,
    forbidden=("swin_edu.numpy_ref.windows:region_ids",),
    hints=(Text("After the roll, which rows and which columns hold tokens that were far apart before it? Cut the "
                "rows into bands whose tokens were neighbours, and the columns the same way.",
                "滚动之后，哪些行、哪些列里的 token 在滚动前相隔很远？把行切成若干条带，使每条带里的 token"
                " 原本是相邻的；列也同样切。"),
           Text("Row r of the rolled map holds image row (r + s) mod H. Which rows of the rolled map came from the "
                "same row of displaced windows? You should find three bands of rows (the last s rows wrapped around "
                "from the top), three of columns likewise, and one label for each of the 3x3 combinations. With "
                "s = 0 one label for all.",
                "滚动后特征图的第 r 行装的是图像的第 (r + s) mod H 行。滚动后的哪些行来自错开网格中同一行窗口？"
                "你应该会找到三条行带（最后 s 行是从顶部绕回来的），列也同样有三条，3x3 种组合各用一个编号。"
                "s = 0 时全部用同一个编号。")),
)


# ----------------------------------------------------------------------------- mask from labels
def mask_from_regions_reference(window_ids):
    """(nW, N) region labels of each window's tokens -> (nW, N, N) mask: 0 where query and key share a
    label, -100 elsewhere (float32)."""
    different = window_ids[:, :, None] != window_ids[:, None, :]
    return np.where(different, snp.MASK_VALUE, 0.0).astype(np.float32)


def _window_ids(H, W, M, s):
    return snp.window_partition(snp.region_ids(H, W, M, s)[None, :, :, None], M).reshape(-1, M * M)


def _mask_hidden(rng):
    M = pick(rng, (5, 6, 7))
    n, s = M * between(rng, 3, 6), between(rng, 1, M - 1)
    nw, N = between(rng, 2, 5), between(rng, 3, 9)
    return [Case(Text(f"the windows of a {n}x{n} map (M={M}, s={s})",
                      f"一张 {n}x{n} 特征图的窗口（M={M}，s={s}）"), (_window_ids(n, n, M, s),)),
            Case(Text(f"{nw} windows of {N} tokens that all share one label (no masking at all)",
                      f"{nw} 个窗口，每个 {N} 个 token，全部同一个编号（完全不用掩码）"),
                 (np.full((nw, N), between(rng, 0, 8), dtype=np.int64),)),
            Case(Text(f"{nw} made-up windows of {N} tokens with random labels 0..3",
                      f"{nw} 个虚构的窗口，每个 {N} 个 token，编号随机取 0..3"),
                 (rng.integers(0, 4, (nw, N)),))]


MASK_FROM_REGIONS = Exercise(
    name="mask_from_regions",
    signature="mask_from_regions_mine(window_ids)",
    reference=mask_from_regions_reference,
    dtype="kind",
    cases=lambda: [
        Case(Text("the 4 windows of the seed's 8x8 map (M=4, s=2): window_ids of shape (4, 16)",
                  "原文 8x8 特征图的 4 个窗口（M=4，s=2）：window_ids 的形状为 (4, 16)"),
             (_window_ids(8, 8, 4, 2),)),
        Case(Text("two made-up windows of 3 tokens with labels [0, 0, 1] and [2, 1, 2]",
                  "两个虚构的窗口，各 3 个 token，编号分别为 [0, 0, 1] 和 [2, 1, 2]"),
             (np.array([[0, 0, 1], [2, 1, 2]]),)),
    ],
    hidden=_mask_hidden,
    hints=(Text("Compare every label of a window with every other label of the same window: a (nW, N) array "
                "compared with itself should give (nW, N, N).",
                "把一个窗口里的每个编号和同一窗口里的每个编号比较：(nW, N) 的数组和它自己比较，"
                "应该得到 (nW, N, N)。"),
           Text("Insert a new axis once after and once before the token axis, compare the two views (broadcasting "
                "does the pairs), then choose -100 where the labels differ and 0 where they agree.",
                "在 token 轴之后和之前各插入一个新轴，比较这两个视图（广播会生成所有的对），"
                "然后编号不同处取 -100，相同处取 0。")),
    misconceptions=[
        Misconception(Text("you used -inf. In fp32 that gives the same softmax here, but the official code (and "
                           "the seed) uses -100: a row whose logits are all masked then stays finite instead of "
                           "becoming NaN, and the value survives fp16. Use -100.0 (snp.MASK_VALUE).",
                           "你用了 -inf。在 fp32 下这里的 softmax 结果一样，但官方代码（以及原文）"
                           "用的是 -100：一行注意力得分全被屏蔽时，结果仍是有限值而不会变成 NaN，"
                           "而且这个值在 fp16 下也能保留。请用 -100.0（snp.MASK_VALUE）。"),
                      lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -np.inf, 0.0)),
        Misconception(Text("0 and -100 are swapped: a pair of tokens from the same region must get 0 (they may "
                           "attend to each other), a pair from different regions -100.",
                           "0 和 -100 弄反了：来自同一区域的一对 token 应该得 0（它们可以相互注意），"
                           "来自不同区域的得 -100。"),
                      lambda ids: np.where(ids[:, :, None] == ids[:, None, :], -100.0, 0.0)),
        Misconception(Text("the mask value is -100 (it is added to the logits before the softmax), not -1.",
                           "掩码值是 -100（它在 softmax 之前加到注意力得分上），不是 -1。"),
                      lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -1.0, 0.0)),
        Misconception(Text("use -100 (snp.MASK_VALUE), the value of the official code, not a huge number.",
                           "请用 -100（snp.MASK_VALUE），也就是官方代码里的值，而不是一个极大的数。"),
                      lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -1e9, 0.0)),
    ],
)




# ----------------------------------------------------------------------------- 3.5 the capstone: SW-MSA
def _capstone_hidden(rng):
    seeds = [int(v) for v in rng.integers(0, 2 ** 31, 3)]
    B, heads = between(rng, 2, 3), 4
    return [
        Case(Text(f"{B} float64 8x8 maps, C=8, {heads} heads, M=4, s=2 (as many heads as windows)",
                  f"{B} 张 float64 的 8x8 特征图，C=8，{heads} 个头，M=4，s=2（头数和窗口数一样多）"),
             capstone.capstone_case(B, 8, 8, 8, heads, 4, 2, seed=seeds[0])),
        Case(Text("a W-MSA block (s=0): one 8x12 map, C=12, 3 heads, M=4: no mask, no roll",
                  "一个 W-MSA block（s=0）：一张 8x12 特征图，C=12，3 个头，M=4：没有掩码，"
                  "也不滚动"),
             capstone.capstone_case(1, 8, 12, 12, 3, 4, 0, seed=seeds[1])),
        Case(Text("a 9x6 map, C=6, 2 heads, M=3, s=1: the shift is not M/2",
                  "一张 9x6 特征图，C=6，2 个头，M=3，s=1：移位量不是 M/2"),
             capstone.capstone_case(2, 9, 6, 6, 2, 3, 1, seed=seeds[2])),
    ]


SW_MSA = Exercise(
    name="sw_msa",
    signature="sw_msa_mine(x, params, num_heads, M, s)",
    reference=capstone.sw_msa_reference,
    cases=lambda: [Case(label, args) for label, args in capstone.CASES],
    hidden=_capstone_hidden,
    allowed=("swin_edu.numpy_ref.windows:window_partition", "swin_edu.numpy_ref.windows:window_reverse", "swin_edu.numpy_ref.windows:shift_mask",
             "swin_edu.numpy_ref.attention:softmax", "swin_edu.numpy_ref.attention:relative_position_bias"),
    rtol=1e-6, atol=1e-8,  # float64 throughout; every classic mistake moves the output by more than 0.5
    forbidden=("swin_edu.numpy_ref.model:shifted_window_attention", "swin_edu.numpy_ref.model:swin_block",
               "swin_edu.numpy_ref.naive:padded_window_attention",
               "swin_edu.numpy_ref.attention:window_attention",
               "swin_edu.numpy_ref.windows:cyclic_shift", "swin_edu.numpy_ref.windows:reverse_cyclic_shift",
               "swin_edu.demos.capstone_reference:sw_msa_reference",
               "swin_edu.demos.capstone_reference:_sw_msa",
               "swin_edu.demos.shift_strategies:padded_shifted_window_attention"),
    hints=(Text("Six steps: roll, partition, attention with the bias and the mask, reverse, roll back. Which of "
                "them change shapes, and which axis of the logits does the mask belong to?",
                "六步：滚动、切分窗口、带偏置和掩码的注意力、还原窗口、滚回去。其中哪些步骤会改变形状？掩码"
                "属于注意力得分的哪个轴？"),
           Text("The mask is one (N, N) block per window, the same for every head and every image: view the logits "
                "as (B, nW, heads, N, N) before adding it; the softmax comes after every addition; the final roll "
                "undoes the first one (opposite sign).",
                "掩码是每个窗口一个 (N, N) 块，对每个头、每张图像都一样：加掩码之前，把注意力得分看成 (B, "
                "nW, heads, N, N)；softmax 在所有加法之后；最后一次滚动撤销第一次（符号相反）。")),
    misconceptions=[Misconception(m.message, m.wrong) for m in capstone.MISTAKES],
    error_hints=capstone.ERROR_HINTS,
)
