"""Why the shifted block moves the windows by floor(M/2), and not by another amount.

:func:`shift_choice_experiment` tries every shift s = 0..M-1 for a W-MSA block followed by an SW-MSA block
(shift s, the real cyclic shift and mask) on a map of ``map_windows`` x ``map_windows`` windows, and
measures, for each s:

``cross_pairs``
    the number of ordered (query, key) pairs that the SW-MSA block lets attend to each other although
    they lie in *different* windows of the W-MSA block before it: the new connections the shift buys.
    Per interior window it is M^4 - (s^2 + (M-s)^2)^2 = 2s(M-s)(M^2 + s^2 + (M-s)^2): 0 at s = 0, largest
    when s(M-s) is, i.e. at s = M/2 (s = 3 and 4 tie for M = 7).
``worst_reach``
    after the pair, how far (in tokens) information from a window gets past its border, in the worst
    direction: the W-MSA block spreads a token over its window, the SW-MSA block then carries that s
    tokens past the bottom and right borders but M - s past the top and left ones. The worst direction
    gets min(s, M - s), largest at s = floor(M/2) (tied with ceil(M/2) for odd M).
    ``reach`` gives the four directions.
``smallest_window``
    the size (tokens) of the smallest window of the displaced grid (the naive view of the shifted
    windows): strips of s and M - s tokens meet, so the smallest window holds min(s, M - s)^2 tokens;
    with s = 1 some windows hold a single token, which can only attend to itself.
``masked_fraction``
    the share of the (query, key) pairs computed in the SW-MSA block that the mask discards (the price
    of the cyclic shift: the work is done and thrown away).
``window_shapes``
    how many windows of each (height, width) the displaced grid has.

All four measures are read off the code (``attention_groups`` of :mod:`.connectivity`, the package's
``shift_mask`` and ``shifted_window_grid``), not computed from the formulas above; the tests check that
they agree with the formulas. ``best_shifts`` lists the shifts that maximise both ``cross_pairs`` and
``worst_reach``: it contains floor(M/2) for every M >= 2.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from .. import numpy_ref as snp
from .._validate import check_int
from .connectivity import attention_groups

__all__ = ["shift_choice_experiment"]


def _reach_by_direction(g1: np.ndarray, g2: np.ndarray, M: int) -> dict[str, int]:
    """Worst case over the windows that have a neighbour in a direction of how far past their border the
    information of a W-MSA window travels in the SW-MSA block after it."""
    H, W = g1.shape
    n1, n2 = g1.max() + 1, g2.max() + 1
    overlap = np.zeros((n2, n1), dtype=bool)             # SW-MSA group a holds tokens of W-MSA window b
    overlap[g2.ravel(), g1.ravel()] = True
    rows, cols = np.divmod(np.arange(H * W), W)
    worst = {"down": None, "up": None, "right": None, "left": None}
    nWr, nWc = H // M, W // M
    for wr in range(nWr):
        for wc in range(nWc):
            b = g1[wr * M, wc * M]
            reached = overlap[g2.ravel(), b]               # tokens whose SW-MSA group saw window b
            r, c = rows[reached], cols[reached]
            top, left = wr * M, wc * M
            past = {"down": (wr < nWr - 1, r.max() - (top + M - 1)), "up": (wr > 0, top - r.min()),
                    "right": (wc < nWc - 1, c.max() - (left + M - 1)), "left": (wc > 0, left - c.min())}
            for d, (has_neighbour, amount) in past.items():
                if has_neighbour:
                    worst[d] = int(amount) if worst[d] is None else min(worst[d], int(amount))
    return worst


def shift_choice_experiment(window_size: int = 7, map_windows: int = 3) -> dict:
    """Every shift s = 0..M-1 of a W-MSA + SW-MSA pair on a map of ``map_windows`` x ``map_windows``
    windows of ``window_size`` x ``window_size`` tokens. Returns plain data, one list entry per s:
    ``shift``, ``cross_pairs``, ``worst_reach``, ``reach`` (dicts down/up/right/left), ``smallest_window``,
    ``masked_fraction``, ``window_shapes``; and ``window_size``, ``map`` (H, W), ``best_shifts``.
    See the module's docstring for what each measures. M = 7, 3 x 3 windows: about 0.1 s.
    """
    where = "shift_choice_experiment"
    M = check_int(window_size, "window_size", where=where)
    k = check_int(map_windows, "map_windows", where=where)
    if M < 2:
        raise ValueError(f"{where}: window_size must be at least 2 (a 1x1 window has no shift), got {M}")
    if k < 3:
        raise ValueError(f"{where}: map_windows must be at least 3 so that a window has neighbours on all "
                         f"four sides, got {k}")
    H = W = k * M
    g1 = attention_groups(H, W, M, 0)
    out: dict = {"window_size": M, "map": (H, W), "shift": [], "cross_pairs": [], "worst_reach": [],
                 "reach": [], "smallest_window": [], "masked_fraction": [], "window_shapes": []}
    for s in range(M):
        g2 = attention_groups(H, W, M, s)
        same2 = g2.ravel()[:, None] == g2.ravel()[None, :]
        diff1 = g1.ravel()[:, None] != g1.ravel()[None, :]
        reach = _reach_by_direction(g1, g2, M)
        shapes = Counter((r.stop - r.start, c.stop - c.start) for r, c in snp.shifted_window_grid(H, W, M, s))
        mask = snp.shift_mask(H, W, M, s)
        out["shift"].append(s)
        out["cross_pairs"].append(int((same2 & diff1).sum()))
        out["reach"].append(reach)
        out["worst_reach"].append(min(reach.values()))
        out["smallest_window"].append(min(h * w for h, w in shapes))
        out["masked_fraction"].append(float((mask != 0).mean()))
        out["window_shapes"].append(dict(sorted(shapes.items())))
    best_cross, best_reach = max(out["cross_pairs"]), max(out["worst_reach"])
    out["best_shifts"] = [s for s in out["shift"]
                          if out["cross_pairs"][s] == best_cross and out["worst_reach"][s] == best_reach]
    return out
