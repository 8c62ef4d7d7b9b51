"""Exercises of notebook 03: the cyclic shift, the regions, the 0/-100 mask, the naive window count."""
from __future__ import annotations

import numpy as np

from .. import numpy_ref as snp
from ._data import between, counting, draw, pick, rand
from .diagnostics import describe
from .spec import Case, Exercise, Misconception

__all__ = ["CYCLIC_SHIFT", "REGION_IDS", "MASK_FROM_REGIONS", "COUNT_SHIFTED_WINDOWS"]


# ----------------------------------------------------------------------------- cyclic shift
def _shift_hidden(rng):
    n, H, W, s = between(rng, 3, 6), 2 * between(rng, 3, 5), 2 * between(rng, 6, 8), between(rng, 1, 3)
    return [Case(f"s=0 (a W-MSA block: nothing moves) on a {n}x{n} map", (counting(1, n, n, 2), 0)),
            Case(f"a non-square float32 {H}x{W} map, s={s}", (draw(rng, 1, H, W, 2, dtype=np.float32), s))]


CYCLIC_SHIFT = Exercise(
    name="cyclic_shift",
    signature="cyclic_shift_mine(x, s)",
    reference=snp.cyclic_shift,
    cases=lambda: [
        Case("three 8x8 maps holding 0..191 (1 channel), s=2 (window M=4)", (counting(3, 8, 8, 1), 2)),
        Case("two random 6x6 maps with 3 channels, s=3", (rand(2, 6, 6, 3, seed=50), 3)),
    ],
    hidden=_shift_hidden,
    forbidden=("swin_edu.numpy_ref.windows:cyclic_shift", "swin_edu.numpy_ref.windows:reverse_cyclic_shift"),
    hints=("np.roll the map by -s along both spatial axes at once: np.roll(x, shift=(-s, -s), axis=(1, 2)).",),
    misconceptions=[
        Misconception("you rolled down and right (+s). The official code rolls the *map* up and left, "
                      "shifts=(-s, -s): that moves the *window grid* down-right by s, as the seed describes. "
                      "The reverse shift after attention uses +s.",
                      lambda x, s: np.roll(x, (s, s), axis=(1, 2))),
        Misconception("you rolled only the rows (axis 1). Roll both spatial axes: axis=(1, 2).",
                      lambda x, s: np.roll(x, -s, axis=1)),
        Misconception("you rolled only the columns (axis 2). Roll both spatial axes: axis=(1, 2).",
                      lambda x, s: np.roll(x, -s, axis=2)),
        Misconception("np.roll without `axis` flattens the array and rolls all numbers as one long row. Pass "
                      "axis=(1, 2): the map is (B, H, W, C).", lambda x, s: np.roll(x, -s)),
        Misconception("you rolled the batch and row axes (0, 1). The map is (B, H, W, C): roll axes (1, 2).",
                      lambda x, s: np.roll(x, (-s, -s), axis=(0, 1))),
    ],
)


# ----------------------------------------------------------------------------- region labels
def _pairs_in_windows(ids: np.ndarray, M: int) -> np.ndarray:
    win = snp.window_partition(ids[None, :, :, None], M).reshape(-1, M * M)
    return win[:, :, None] == win[:, None, :]  # (nW, N, N): may attend


def _compare_regions(got, expected, case):
    H, W, M, s = case.args
    exp_desc = f"numpy array of shape ({H}, {W}) holding one integer region label per token"
    if got is None:
        return [f"expected: {exp_desc}", "got:      None",
                "hint: your function returned nothing. Did you forget the `return` statement?"]
    if not isinstance(got, np.ndarray):
        return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                "hint: start from np.zeros((H, W), dtype=int) and fill the bands with labels."]
    if got.shape != (H, W):
        return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                "hint: one label per token of the (H, W) map (no batch or channel axis)."]
    if got.dtype.kind not in "iub" and not (got.dtype.kind == "f" and np.all(np.isfinite(got))):
        return [f"expected: {exp_desc}", f"got:      {describe(got)}", "hint: labels are integers 0..8."]
    same_got, same_exp = _pairs_in_windows(got, M), _pairs_in_windows(expected, M)
    if np.array_equal(same_got, same_exp):
        return None
    w, i, j = np.argwhere(same_got != same_exp)[0]
    gw = W // M
    pos = lambda t: (int(w // gw * M + t // M), int(w % gw * M + t % M))  # noqa: E731
    pi, pj = pos(i), pos(j)
    should = "must NOT attend to each other" if not same_exp[w, i, j] else "must attend to each other"
    yours = f"your labels are equal (both {_lab(got[pi])})" if same_got[w, i, j] else \
        f"your labels differ ({_lab(got[pi])} and {_lab(got[pj])})"
    lines = [f"in window {int(w)} of the shifted {H}x{W} map, the tokens at (row, col) {pi} and {pj} "
             f"{should}, but {yours}."]
    if s == 0:
        lines.append("hint: with shift_size=0 nothing was moved: every token may attend to its whole window, "
                     "so all tokens get the same label.")
    else:
        lines.append(f"hint: after the shift the last M rows and the last M columns hold pieces from far "
                     f"apart. Cut rows into the bands [0, H-M), [H-M, H-s), [H-s, H) — here [0, {H - M}), "
                     f"[{H - M}, {H - s}), [{H - s}, {H}) — and columns the same way; each of the 3x3 band "
                     f"combinations gets its own label.")
    return lines


def _lab(v):
    return int(v) if float(v).is_integer() else v


def _regions_hidden(rng):
    M = pick(rng, (4, 5, 6, 7))
    a, b, s = between(rng, 2, 3), between(rng, 3, 4), between(rng, 1, M - 1)
    M2 = pick(rng, (3, 4, 5))
    return [Case(f"a non-square {a * M}x{b * M} map, M={M}, s={s}", (a * M, b * M, M, s)),
            Case(f"a W-MSA block: {2 * M}x{2 * M} map, M={M}, s=0", (2 * M, 2 * M, M, 0)),
            Case(f"a single window: {M2}x{M2} map, M={M2}, s={M2 // 2}", (M2, M2, M2, M2 // 2))]


REGION_IDS = Exercise(
    name="region_ids",
    signature="region_ids_mine(H, W, M, s)",
    reference=snp.region_ids,
    kind="custom",
    compare=_compare_regions,
    cases=lambda: [
        Case("the seed's example: an 8x8 map, window M=4, shift s=2", (8, 8, 4, 2)),
        Case("Swin-T stage 1 size: a 56x56 map, M=7, s=3", (56, 56, 7, 3)),
    ],
    hidden=_regions_hidden,
    forbidden=("swin_edu.numpy_ref.windows:region_ids",),
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
    return [Case(f"the windows of a {n}x{n} map (M={M}, s={s})", (_window_ids(n, n, M, s),)),
            Case(f"{nw} windows of {N} tokens that all share one label (no masking at all)",
                 (np.full((nw, N), between(rng, 0, 8), dtype=np.int64),)),
            Case(f"{nw} made-up windows of {N} tokens with random labels 0..3",
                 (rng.integers(0, 4, (nw, N)),))]


MASK_FROM_REGIONS = Exercise(
    name="mask_from_regions",
    signature="mask_from_regions_mine(window_ids)",
    reference=mask_from_regions_reference,
    dtype="kind",
    cases=lambda: [
        Case("the 4 windows of the seed's 8x8 map (M=4, s=2): window_ids of shape (4, 16)",
             (_window_ids(8, 8, 4, 2),)),
        Case("two made-up windows of 3 tokens with labels [0, 0, 1] and [2, 1, 2]",
             (np.array([[0, 0, 1], [2, 1, 2]]),)),
    ],
    hidden=_mask_hidden,
    hints=("compare every pair of labels with broadcasting: window_ids[:, :, None] != window_ids[:, None, :] "
         "is (nW, N, N); np.where(that, -100.0, 0.0).",),
    misconceptions=[
        Misconception("you used -inf. In fp32 that gives the same softmax here, but the official code (and "
                      "the seed) uses -100: a row whose logits are all masked then stays finite instead of "
                      "becoming NaN, and the value survives fp16. Use -100.0 (snp.MASK_VALUE).",
                      lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -np.inf, 0.0)),
        Misconception("0 and -100 are swapped: a pair of tokens from the same region must get 0 (they may "
                      "attend to each other), a pair from different regions -100.",
                      lambda ids: np.where(ids[:, :, None] == ids[:, None, :], -100.0, 0.0)),
        Misconception("the mask value is -100 (it is added to the logits before the softmax), not -1.",
                      lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -1.0, 0.0)),
        Misconception("use -100 (snp.MASK_VALUE), the value of the official code, not a huge number.",
                      lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -1e9, 0.0)),
    ],
)


# ----------------------------------------------------------------------------- naive window count
def count_shifted_windows_reference(H, W, M, s):
    """How many (unequal) windows the window grid displaced by s cuts an H x W map into."""
    return len(snp.shifted_window_grid(H, W, M, s))


def _count_hidden(rng):
    M = pick(rng, (3, 4, 5))
    a, b, s = between(rng, 2, 3), between(rng, 4, 5), between(rng, 1, M - 1)
    M2 = pick(rng, (5, 6, 7))
    return [Case(f"a non-square map: {a * M}x{b * M}, M={M}, s={s}", (a * M, b * M, M, s)),
            Case(f"one window: {M2}x{M2}, M={M2}, s={M2 // 2}", (M2, M2, M2, M2 // 2))]


COUNT_SHIFTED_WINDOWS = Exercise(
    name="count_shifted_windows",
    signature="count_shifted_windows_mine(H, W, M, s)",
    reference=count_shifted_windows_reference,
    kind="int",
    cases=lambda: [
        Case("the seed's example: 8x8 map, M=4, s=2", (8, 8, 4, 2)),
        Case("Swin-T stage 1: 56x56, M=7, s=3", (56, 56, 7, 3)),
        Case("a W-MSA block, no shift: 8x8, M=4, s=0", (8, 8, 4, 0)),
    ],
    hidden=_count_hidden,
    forbidden=("swin_edu.numpy_ref.naive:shifted_window_grid",),
    hints=("count the windows per column and per row and multiply: with s > 0 the displaced grid cuts a strip "
         "of s at the start and leaves a partial window at the end, so H/M windows per column become "
         "H/M + 1.",),
    misconceptions=[
        Misconception("that is the count before the shift, (H/M)(W/M). Draw the displaced grid: each row of "
                      "windows gains one partial window.",
                      lambda H, W, M, s: (H // M) * (W // M) if s else None),
        Misconception("with s = 0 nothing is displaced: the count stays (H/M)(W/M).",
                      lambda H, W, M, s: (H // M + 1) * (W // M + 1) if s == 0 else None),
        Misconception("multiply the counts per row and per column, do not add them.",
                      lambda H, W, M, s: (H // M + (s > 0)) + (W // M + (s > 0))),
    ],
)
