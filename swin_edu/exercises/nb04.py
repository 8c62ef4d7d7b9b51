"""Exercises of notebook 04: the relative position index and the bias gathered from the table."""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from ..i18n import Text
from ._data import pick
from ._values import as_float, same_float, value_compare
from .spec import Case, Exercise, Misconception

__all__ = ["RELATIVE_POSITION_INDEX", "ROW_USAGE", "SOURCE_OFFSET"]


def _rel(M):
    return snp.relative_coords(M)  # (N, N, 2): coord_query - coord_key


def _index(M, base, shift_rows=True, shift_cols=True, swap=False, sign=1):
    rel = sign * _rel(M)
    dy, dx = (rel[..., 1], rel[..., 0]) if swap else (rel[..., 0], rel[..., 1])
    return (dy + (M - 1) * shift_rows) * base + dx + (M - 1) * shift_cols


RELATIVE_POSITION_INDEX = Exercise(
    name="relative_position_index",
    signature="relative_position_index_mine(M)",
    reference=snp.relative_position_index,
    dtype="kind",
    cases=lambda: [
        Case(Text("the paper's 2x2 window, M=2 (an index of shape (4, 4) into a 9-row table)",
                  "论文里的 2x2 窗口，M=2（形状为 (4, 4) 的索引，指向 9 行的表）"), (2,)),
        Case(Text("a 3x3 window, M=3",
                  "一个 3x3 窗口，M=3"), (3,)),
    ],
    hidden=lambda rng: [
        Case(Text(f"a {M}x{M} window, M={M}",
                  f"一个 {M}x{M} 窗口，M={M}"), (M,)) for M in (pick(rng, (6, 7, 8)), pick(rng, (4, 5)))
    ] + [Case(Text("a 1x1 window, M=1",
                   "一个 1x1 窗口，M=1"), (1,))],
    forbidden=("swin_edu.numpy_ref.attention:relative_position_index",
               "swin_edu.numpy_ref.attention:relative_position_bias"),
    hints=(Text("For a query i and a key j of the window, what are their (row, column) coordinates, and what is "
                "the offset between them? How many values can each component of the offset take?",
                "对窗口里的查询 i 和键 j：它们的（行，列）坐标是什么，两者之间的偏移是多少？偏移的每个分量"
                "能取多少种值？"),
           Text("The offset is coords[query] - coords[key], each component in [-(M-1), M-1]; shift both components "
                "to start at 0, then combine them into one row number the way a 2-D grid of 2M-1 columns is "
                "flattened row by row.",
                "偏移是 coords[query] - coords[key]，每个分量都在 [-(M-1), M-1] 之间；把两个分量都平移到从"
                " 0 开始，再像按行展平一个 2M-1 列的 2 维网格那样，把它们合成一个行号。")),
    misconceptions=[
        Misconception(Text("the row offset is multiplied by 2M; it must be 2M-1, the number of possible column "
                           "offsets (from -(M-1) to M-1), so that every (dy, dx) pair gets its own row of the "
                           "(2M-1)^2 table. With 2M some indices run past the end of the table.",
                           "行偏移乘的是 2M；应该是 2M-1，也就是列偏移可能取值的个数（从 -(M-1)"
                           " 到 M-1），这样每个 (dy, dx) 对才在 (2M-1)^2 的表里各占一行。乘 2M 时有些索引会"
                           "超出表的末尾。"),
                      lambda M: _index(M, 2 * M)),
        Misconception(Text("the row offset is multiplied by M-1 (or M): the base must be 2M-1, the number of "
                           "possible column offsets, otherwise different offsets share a table row.",
                           "行偏移乘的是 M-1（或 M）：基数必须是 2M-1，即列偏移可能取值的个数，"
                           "否则不同的偏移会共用表里的同一行。"),
                      lambda M: _index(M, M - 1) if M > 1 else None),
        Misconception(Text("negative indices: shift both offsets by M-1 so that they lie in [0, 2M-2] before "
                           "combining them.",
                           "出现了负索引：先把两个偏移都加上 M-1，让它们落在 [0, 2M-2] 之间，"
                           "再合起来。"), lambda M: _index(M, 2 * M - 1, False, False)),
        Misconception(Text("only one offset was shifted by M-1: shift both the row and the column offsets.",
                           "只有一个偏移加了 M-1：行偏移和列偏移都要加。"),
                      lambda M: _index(M, 2 * M - 1, True, False)),
        Misconception(Text("rows and columns are swapped: the *row* offset is the one multiplied by 2M-1, "
                           "(dy + M-1) * (2M-1) + (dx + M-1).",
                           "行和列对调了：乘以 2M-1 的是*行*偏移，(dy + M-1) * (2M-1) + (dx + M-1)。"), lambda M: _index(M, 2 * M - 1, swap=True)),
        Misconception(Text("the offsets have the wrong sign: the official relative coordinate is "
                           "coords[query] - coords[key] (rows i are queries, columns j keys).",
                           "偏移的符号反了：官方的相对坐标是 coords[query] - coords[key]（第 i 行是查询，"
                           "第 j 列是键）。"),
                      lambda M: _index(M, 2 * M - 1, sign=-1)),
    ],
)


# ----------------------------------------------------------------------------- 4.2 shared table rows
def _fits(M):
    """How many times an offset d = -(M-1) .. M-1 fits along one axis of an M-wide window: M - |d|."""
    return M - np.abs(np.arange(-(M - 1), M))


def row_usage_reference(M):
    """(2M-1, 2M-1) ints: entry [dy + M-1, dx + M-1] is the number of (query, key) pairs of an M x M window
    whose offset is (dy, dx), i.e. that read that row of the relative position bias table."""
    return np.outer(_fits(M), _fits(M))


ROW_USAGE = Exercise(
    name="row_usage",
    signature="row_usage_mine(M)",
    reference=row_usage_reference,
    dtype="kind",
    rtol=0.0, atol=0.0,  # exact counts
    cases=lambda: [Case(Text("a 2x2 window, M=2",
                             "一个 2x2 窗口，M=2"), (2,)), Case(Text("a 3x3 window, M=3",
                                                              "一个 3x3 窗口，M=3"), (3,)),
                   Case(Text("Swin's 7x7 window, M=7",
                             "Swin 的 7x7 窗口，M=7"), (7,))],
    hidden=lambda rng: [Case(Text(f"a {M}x{M} window, M={M}",
                                  f"一个 {M}x{M} 窗口，M={M}"), (M,)) for M in (pick(rng, (4, 5, 6)), pick(rng, (8, 12)))]
    + [Case(Text("a 1x1 window, M=1 (one offset, read once)",
                 "一个 1x1 窗口，M=1（只有一个偏移，只读一次）"), (1,))],
    forbidden=("swin_edu.numpy_ref.attention:relative_position_index",
               "swin_edu.numpy_ref.attention:relative_coords",
               "swin_edu.numpy_ref.attention:relative_position_bias"),
    hints=(Text("In a single row of M tokens, how many ordered pairs are 0 apart? 1 apart to the right? M-1 apart?",
                "在一行 M 个 token 里，有多少个有序对相距 0？向右相距 1 的呢？相距 M-1 的呢？"),
           Text("An offset d fits M - |d| times along one axis; a 2-D offset (dy, dx) must fit along both axes at "
                "once, and the two axes are independent.",
                "偏移 d 沿一个轴能放下 M - |d| 次；2 维偏移 (dy, dx) 必须同时在两个轴上都放得下，"
                "而两个轴互相独立。")),
    misconceptions=[
        Misconception(Text("several pairs share an offset: (0, 0) is read by every token paired with itself, M^2 "
                           "times.",
                           "好几对会共用同一个偏移：(0, 0) 被每个 token 与自身组成的对读取，"
                           "共 M^2 次。"), lambda M: np.ones((2 * M - 1, 2 * M - 1), dtype=int) if M > 1 else None),
        Misconception(Text("an offset must fit along the rows *and* along the columns: you counted one axis only.",
                           "偏移必须沿行*并且*沿列都放得下：你只数了一个轴。"),
                      lambda M: np.repeat(_fits(M)[:, None], 2 * M - 1, axis=1) if M > 1 else None),
        Misconception(Text("the two axes are independent: the counts along them multiply, they do not add.",
                           "两个轴互相独立：沿两个轴的计数相乘，而不是相加。"),
                      lambda M: np.add.outer(_fits(M), _fits(M))),
        Misconception(Text("far offsets are the rare ones: (M-1, M-1) fits only once, between two opposite corners.",
                           "远的偏移才是少见的：(M-1, M-1) 只出现一次，在两个对角之间。"),
                      lambda M: np.outer(M + 1 - _fits(M), M + 1 - _fits(M)) if M > 1 else None),
        Misconception(Text("count the pairs of tokens, not pairs of pairs.",
                           "数的是 token 对，而不是“对的对”。"),
                      lambda M: row_usage_reference(M) ** 2 if M > 1 else None),
    ],
)


# ----------------------------------------------------------------------------- 4.3 the stretched table
def source_offset_reference(d, M_old, M_new):
    """The bias of offset d in the resized table (window M_new) is read at this offset of the old table
    (window M_old): a bicubic resize of the (2M-1)-cell grid to (2M'-1) cells with align_corners=False
    keeps the zero offset and scales offsets by (2M-1)/(2M'-1)."""
    return d * (2 * M_old - 1) / (2 * M_new - 1)


def _so_type(got, expected):
    if as_float(got) is None:
        return Text("return one number (a float): the offset in the old table, usually not a whole number.",
                    "请返回一个数（float）：旧表里的偏移，通常不是整数。")
    return None


SOURCE_OFFSET = Exercise(
    name="source_offset",
    signature="source_offset_mine(d, M_old, M_new)",
    reference=source_offset_reference,
    kind="custom",
    compare=lambda got, expected, case: _so_compare(got, expected, case),
    cases=lambda: [
        Case(Text("the 384 models: offset 11 (the largest), window 7 -> 12",
                  "384 分辨率的模型：偏移 11（最大的），窗口 7 -> 12"), (11, 7, 12)),
        Case(Text("offset 5, window 7 -> 12",
                  "偏移 5，窗口 7 -> 12"), (5, 7, 12)),
        Case(Text("a negative offset: -3, window 7 -> 12",
                  "一个负偏移：-3，窗口 7 -> 12"), (-3, 7, 12)),
        Case(Text("offset 2, window 4 -> 8",
                  "偏移 2，窗口 4 -> 8"), (2, 4, 8)),
    ],
    hidden=lambda rng: [Case(Text(f"offset {d}, window {a} -> {b}",
                                  f"偏移 {d}，窗口 {a} -> {b}"), (d, a, b)) for d, a, b in (
        (int(rng.integers(-9, 10)), pick(rng, (3, 5, 7)), pick(rng, (10, 12, 14))),
        (int(rng.integers(1, 4)), pick(rng, (6, 8)), pick(rng, (4, 5))))]
    + [Case(Text("offset 0 (a token and itself)",
                 "偏移 0（一个 token 和它自己）"), (0, 7, 12))],
    forbidden=("swin_edu.demos.bias_resize:resize_bias_table",),
    hints=(Text("Draw both grids on the same interval: the old 13 cells and the new 23 cells cover the same width, "
                "and the centre cell (offset 0) of one lies on the centre cell of the other.",
                "把两个网格画在同一个区间上：旧的 13 格和新的 23 格覆盖同样的宽度，而且一个网格的中心格（偏"
                "移 0）正好落在另一个的中心格上。"),
           Text("With align_corners=False the outer edges of the two grids coincide, and so do their centres: the "
                "map between offsets is a pure scaling. By how much is one cell of the new grid smaller than one "
                "of the old?",
                "align_corners=False 时，两个网格的外边缘重合，中心也重合：偏移之间的映射是纯粹的缩放。"
                "新网格的一格比旧网格的一格小多少？")),
    misconceptions=[
        Misconception(Text("the grids have 2M-1 and 2M'-1 cells per axis (one per offset), not M and M'.",
                           "两个网格每个轴上分别有 2M-1 和 2M'-1 格（每个偏移一格），而不是 M 和 M'。"),
                      lambda d, a, b: d * a / b),
        Misconception(Text("that maps the corner offsets onto each other (align_corners=True); the official resize "
                           "uses the default align_corners=False, which maps the grids' outer edges.",
                           "这是把角上的偏移对齐（align_corners=True）；官方的缩放用的是默认的 align_corne"
                           "rs=False，对齐的是网格的外边缘。"),
                      lambda d, a, b: d * (a - 1) / (b - 1)),
        Misconception(Text("the new offsets are closer together in old-table units: the factor is below 1.",
                           "以旧表为单位，新偏移之间挨得更近：系数小于 1。"),
                      lambda d, a, b: d * (2 * b - 1) / (2 * a - 1)),
        Misconception(Text("the old table only has offsets up to +-(M-1): the resize stretches it, it does not read "
                           "offset d itself (that would need extrapolation).",
                           "旧表里的偏移只到 +-(M-1)：缩放是把它拉伸，而不是去读偏移 d 本身（那得靠外推）。"), lambda d, a, b: float(d)),
        Misconception(Text("the zero offset must stay at zero (a token and itself): no half-cell shift.",
                           "零偏移必须仍然是零（一个 token 和它自己）：不要平移半格。"),
                      lambda d, a, b: d * (2 * a - 1) / (2 * b - 1) + 0.5),
    ],
)
_so_compare = value_compare(lambda: SOURCE_OFFSET, same=same_float(1e-9), wrong_type=_so_type,
                            expected_desc=lambda e: Text("one float (an offset in the old table)",
                                                         "一个 float（旧表里的一个偏移）"))
