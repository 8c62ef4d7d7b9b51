"""Exercises of notebook 04: the relative position index and the bias gathered from the table."""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from ._data import between, draw, pick, rand
from .spec import Case, Exercise, Misconception

__all__ = ["RELATIVE_POSITION_INDEX", "BIAS_FROM_TABLE", "PREDICT_TABLE_SHAPE"]


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
    hints=("for query i and key j: (dy, dx) = coords[i] - coords[j]; shift both by M-1 so they start at 0; "
         "then index = (dy + M - 1) * (2M - 1) + (dx + M - 1).",),
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


def _bias_ref(table, M):
    return snp.relative_position_bias(table, M)


def _bias_hidden(rng):
    M, heads, M2 = pick(rng, (6, 7)), between(rng, 2, 6), pick(rng, (4, 5))
    return [Case(f"M={M}, {heads} heads, float32", (draw(rng, (2 * M - 1) ** 2, heads, dtype=np.float32), M)),
            Case(f"M={M2}, one head", (draw(rng, (2 * M2 - 1) ** 2, 1), M2))]


BIAS_FROM_TABLE = Exercise(
    name="bias_from_table",
    signature="bias_from_table_mine(table, M)",
    reference=_bias_ref,
    cases=lambda: [
        Case("M=2 with 2 heads: a (9, 2) table holding 0..17",
             (np.arange(18, dtype=np.float64).reshape(9, 2), 2)),
        Case("M=3 with 3 heads: a random (25, 3) table", (rand(25, 3, seed=60), 3)),
    ],
    hidden=_bias_hidden,
    forbidden=("swin_edu.numpy_ref.attention:relative_position_bias",),
    hints=("look up table[index] with the (N, N) index (N = M*M): that gives (N, N, num_heads); move the "
         "heads first with a transpose to get (num_heads, N, N).",),
    misconceptions=[
        Misconception("the index is used transposed: row i of the bias is query i, column j key j, i.e. "
                      "table[index] with index[i, j] as built (not index.T).",
                      lambda table, M: snp.relative_position_bias(table, M).transpose(0, 2, 1)),
    ],
)


PREDICT_TABLE_SHAPE = Exercise(
    name="predict_table_shape",
    signature="predict_table_shape()",
    reference=None,
    kind="shape",
    cases=lambda: [Case("relative_position_bias_table of a block in Swin-T's stage 3 (M=7, 12 heads)")],
    answer_digests=("279656f11cc11fba84a2c886", "e8404a8580275609dfdd6d19"),  # spec.prediction_digests
    entry_names=("rows", "columns"),
    entry_hints=("one row per possible relative offset (dy, dx): how many values can dy take in a window "
                 "of M=7, and how many pairs (dy, dx)?",
                 "one column per attention head; stage 3 of Swin-T has 12 heads."),
    known_answers={
        (49, 12): "49 = M*M is the number of tokens in a window. The table has one row per possible "
                  "*offset* between two tokens, and dy, dx each take 2M-1 values.",
        (12, 169): "the official layout is ((2M-1)^2, num_heads): offsets are the rows, heads the columns.",
        (169, 384): "one column per head, not per channel: stage 3 has 12 heads.",
        (13, 13): "right number of rows in 2-D, but the table is flat: ((2M-1)^2, num_heads).",
        (196, 12): "(2M)^2 counts offsets from -M to M-1; they run from -(M-1) to M-1: 2M-1 values.",
    },
)
