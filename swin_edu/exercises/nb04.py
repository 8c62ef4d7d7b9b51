"""Exercises of notebook 04: the relative position index and the bias gathered from the table."""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from ._data import between, draw, pick, rand
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
        Case("the paper's 2x2 window, M=2 (an index of shape (4, 4) into a 9-row table)", (2,)),
        Case("a 3x3 window, M=3", (3,)),
    ],
    hidden=lambda rng: [
        Case(f"a {M}x{M} window, M={M}", (M,)) for M in (pick(rng, (6, 7, 8)), pick(rng, (4, 5)))
    ] + [Case("a 1x1 window, M=1", (1,))],
    forbidden=("swin_edu.numpy_ref.attention:relative_position_index",
               "swin_edu.numpy_ref.attention:relative_position_bias"),
    hints=("For a query i and a key j of the window, what are their (row, column) coordinates, and what is "
           "the offset between them? How many values can each component of the offset take?",
           "The offset is coords[query] - coords[key], each component in [-(M-1), M-1]; shift both components "
           "to start at 0, then combine them into one row number the way a 2-D grid of 2M-1 columns is "
           "flattened row by row."),
    misconceptions=[
        Misconception("the row offset is multiplied by 2M; it must be 2M-1, the number of possible column "
                      "offsets (from -(M-1) to M-1), so that every (dy, dx) pair gets its own row of the "
                      "(2M-1)^2 table. With 2M some indices run past the end of the table.",
                      lambda M: _index(M, 2 * M)),
        Misconception("the row offset is multiplied by M-1 (or M): the base must be 2M-1, the number of "
                      "possible column offsets, otherwise different offsets share a table row.",
                      lambda M: _index(M, M - 1) if M > 1 else None),
        Misconception("negative indices: shift both offsets by M-1 so that they lie in [0, 2M-2] before "
                      "combining them.", lambda M: _index(M, 2 * M - 1, False, False)),
        Misconception("only one offset was shifted by M-1: shift both the row and the column offsets.",
                      lambda M: _index(M, 2 * M - 1, True, False)),
        Misconception("rows and columns are swapped: the *row* offset is the one multiplied by 2M-1, "
                      "(dy + M-1) * (2M-1) + (dx + M-1).", lambda M: _index(M, 2 * M - 1, swap=True)),
        Misconception("the offsets have the wrong sign: the official relative coordinate is "
                      "coords[query] - coords[key] (rows i are queries, columns j keys).",
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
    cases=lambda: [Case("a 2x2 window, M=2", (2,)), Case("a 3x3 window, M=3", (3,)),
                   Case("Swin's 7x7 window, M=7", (7,))],
    hidden=lambda rng: [Case(f"a {M}x{M} window, M={M}", (M,)) for M in (pick(rng, (4, 5, 6)), pick(rng, (8, 12)))]
    + [Case("a 1x1 window, M=1 (one offset, read once)", (1,))],
    forbidden=("swin_edu.numpy_ref.attention:relative_position_index",
               "swin_edu.numpy_ref.attention:relative_coords",
               "swin_edu.numpy_ref.attention:relative_position_bias"),
    hints=("In a single row of M tokens, how many ordered pairs are 0 apart? 1 apart to the right? M-1 apart?",
           "An offset d fits M - |d| times along one axis; a 2-D offset (dy, dx) must fit along both axes at "
           "once, and the two axes are independent."),
    misconceptions=[
        Misconception("several pairs share an offset: (0, 0) is read by every token paired with itself, M^2 "
                      "times.", lambda M: np.ones((2 * M - 1, 2 * M - 1), dtype=int) if M > 1 else None),
        Misconception("an offset must fit along the rows *and* along the columns: you counted one axis only.",
                      lambda M: np.repeat(_fits(M)[:, None], 2 * M - 1, axis=1) if M > 1 else None),
        Misconception("the two axes are independent: the counts along them multiply, they do not add.",
                      lambda M: np.add.outer(_fits(M), _fits(M))),
        Misconception("far offsets are the rare ones: (M-1, M-1) fits only once, between two opposite corners.",
                      lambda M: np.outer(M + 1 - _fits(M), M + 1 - _fits(M)) if M > 1 else None),
        Misconception("count the pairs of tokens, not pairs of pairs.",
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
        return "return one number (a float): the offset in the old table, usually not a whole number."
    return None


SOURCE_OFFSET = Exercise(
    name="source_offset",
    signature="source_offset_mine(d, M_old, M_new)",
    reference=source_offset_reference,
    kind="custom",
    compare=lambda got, expected, case: _so_compare(got, expected, case),
    cases=lambda: [
        Case("the 384 models: offset 11 (the largest), window 7 -> 12", (11, 7, 12)),
        Case("offset 5, window 7 -> 12", (5, 7, 12)),
        Case("a negative offset: -3, window 7 -> 12", (-3, 7, 12)),
        Case("offset 2, window 4 -> 8", (2, 4, 8)),
    ],
    hidden=lambda rng: [Case(f"offset {d}, window {a} -> {b}", (d, a, b)) for d, a, b in (
        (int(rng.integers(-9, 10)), pick(rng, (3, 5, 7)), pick(rng, (10, 12, 14))),
        (int(rng.integers(1, 4)), pick(rng, (6, 8)), pick(rng, (4, 5))))]
    + [Case("offset 0 (a token and itself)", (0, 7, 12))],
    forbidden=("swin_edu.demos.bias_resize:resize_bias_table",),
    hints=("Draw both grids on the same interval: the old 13 cells and the new 23 cells cover the same width, "
           "and the centre cell (offset 0) of one lies on the centre cell of the other.",
           "With align_corners=False the outer edges of the two grids coincide, and so do their centres: the "
           "map between offsets is a pure scaling. By how much is one cell of the new grid smaller than one "
           "of the old?"),
    misconceptions=[
        Misconception("the grids have 2M-1 and 2M'-1 cells per axis (one per offset), not M and M'.",
                      lambda d, a, b: d * a / b),
        Misconception("that maps the corner offsets onto each other (align_corners=True); the official resize "
                      "uses the default align_corners=False, which maps the grids' outer edges.",
                      lambda d, a, b: d * (a - 1) / (b - 1)),
        Misconception("the new offsets are closer together in old-table units: the factor is below 1.",
                      lambda d, a, b: d * (2 * b - 1) / (2 * a - 1)),
        Misconception("the old table only has offsets up to +-(M-1): the resize stretches it, it does not read "
                      "offset d itself (that would need extrapolation).", lambda d, a, b: float(d)),
        Misconception("the zero offset must stay at zero (a token and itself): no half-cell shift.",
                      lambda d, a, b: d * (2 * a - 1) / (2 * b - 1) + 0.5),
    ],
)
_so_compare = value_compare(lambda: SOURCE_OFFSET, same=same_float(1e-9), wrong_type=_so_type,
                            expected_desc=lambda e: "one float (an offset in the old table)")
