"""The mask explorer's model: what it shows for given settings, as plain data (numpy only, no widgets).

>>> st = mask_state(H=8, W=8, window_size=4, shift_size=2, window=3, query=5)
>>> st.allowed.astype(int)
array([[1, 1, 0, 0],
       [1, 1, 0, 0],
       [0, 0, 0, 0],
       [0, 0, 0, 0]])
>>> st.allowed_positions
[(6, 6), (6, 7), (7, 6), (7, 7)]
>>> locate((7, 7), "padded", 8, 8, 4, 2)
(8, 15)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ... import numpy_ref as snp
from ..._validate import check_int
from ...config import window_for_map

__all__ = ["VIEWS", "MaskState", "locate", "mask_state", "mask_text", "mask_title", "mask_validity"]

#: the two ways of computing SW-MSA that the explorer compares
VIEWS = {"cyclic": "cyclic shift + mask", "padded": "padded uneven windows"}


@dataclass
class MaskState:
    """Everything the mask explorer shows, as plain data (see :func:`mask_state`)."""

    H: int
    W: int
    window_size: int
    shift_size: int
    view: str
    window: int
    query: int
    Hp: int
    Wp: int
    num_windows: int
    num_uneven_windows: int
    window_rc: tuple[int, int]          # cyclic: (row, col) in the window grid; padded: top-left of the window
    window_hw: tuple[int, int]          # size of the window's real part (M, M in the cyclic view)
    query_rc: tuple[int, int]           # (row, col) of the query inside the M x M window
    query_pos: tuple[int, int]          # the query's token in the original (unshifted, padded) map
    query_region: int                   # region label (cyclic) or uneven-window index (padded)
    query_is_padding: bool
    allowed: np.ndarray                 # (M, M) bool: keys of the window the query may attend to
    mask: np.ndarray                    # (N, N) float: 0 / -100 (cyclic) or 0 / -inf for padding (padded)
    window_labels: np.ndarray           # (M, M) region labels of the window's slots (-1 = padding slot)
    allowed_positions: list[tuple[int, int]] = field(default_factory=list)  # original-map coordinates
    regions: np.ndarray | None = None   # (Hp, Wp) region labels of the shifted map
    uneven: np.ndarray | None = None    # (Hp, Wp) index of the uneven window of each original token


def mask_validity(H: int, W: int, M: int, s: int) -> str | None:
    """Why these settings cannot be shown (a sentence for the student), or None when they can. The window
    rule is the package's one rule, :func:`swin_edu.config.window_for_map`."""
    if s >= M:
        return f"Shift s={s} must be smaller than the window M={M} (Swin shifts by s = ⌊M/2⌋ = {M // 2})."
    M_used, s_used = window_for_map(H, W, M, s)
    if (M_used, s_used) != (M, s):
        size = "is larger than" if M > min(H, W) else "covers the short side of"
        return (f"Window M={M} {size} the {H}×{W} map. The official code then uses window {M_used} and no shift "
                f"(nothing to shift across); choose M < {min(H, W)} to see a shift.")
    return None


@lru_cache(maxsize=32)
def _layout(Hp: int, Wp: int, M: int, s: int):
    """The package's windows, regions and masks of a padded map (read-only; cached: the explorer asks for the same
    map at every click)."""
    grid = snp.shifted_window_grid(Hp, Wp, M, s)
    uneven = np.zeros((Hp, Wp), dtype=np.int64)
    for k, (rs, cs) in enumerate(grid):
        uneven[rs, cs] = k
    regions, masks = snp.region_ids(Hp, Wp, M, s), snp.shift_mask(Hp, Wp, M, s)
    for a in (uneven, regions, masks):
        a.setflags(write=False)
    return grid, uneven, regions, masks


def mask_state(H: int, W: int, window_size: int, shift_size: int, view: str = "cyclic", window: int = 0,
               query: int = 0) -> MaskState:
    """What the mask explorer shows for these settings (raises ``ValueError`` for invalid ones).

    ``view="cyclic"``: the map is padded to multiples of M (pad, then shift: the official detection
    code), rolled by ``-shift_size``, cut into M x M windows; ``window`` indexes that grid row-major and
    ``allowed`` is ``shift_mask(...)[window, query] == 0``. ``view="padded"``: the naive way, the windows
    of :func:`~swin_edu.numpy_ref.shifted_window_grid` (uneven) each padded to M x M; ``allowed`` marks
    the real tokens of the window. For a real token, both views attend to the same tokens of the map
    (``allowed_positions``), which is why the cyclic shift + mask is exact.
    """
    where = "mask_state"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M = check_int(window_size, "window_size", where=where)
    s = check_int(shift_size, "shift_size", minimum=0, where=where)
    window = check_int(window, "window", minimum=0, where=where)
    query = check_int(query, "query", minimum=0, where=where)
    if view not in VIEWS:
        raise ValueError(f"{where}: view must be 'cyclic' or 'padded', got {view!r}")
    problem = mask_validity(H, W, M, s)
    if problem:
        raise ValueError(f"{where}: {problem}")
    N = M * M
    if query >= N:
        raise ValueError(f"{where}: query must be in [0, {N}) for window_size={M}, got {query}")
    Hp, Wp = math.ceil(H / M) * M, math.ceil(W / M) * M
    nWw = Wp // M
    nW = (Hp // M) * nWw
    grid, uneven, regions, masks = _layout(Hp, Wp, M, s)
    qr, qc = divmod(query, M)
    if view == "cyclic":
        if window >= nW:
            raise ValueError(f"{where}: window must be in [0, {nW}) for a {Hp}x{Wp} (padded) map, got {window}")
        wr, wc = divmod(window, nWw)
        labels = regions[wr * M:(wr + 1) * M, wc * M:(wc + 1) * M].copy()
        mask = masks[window]
        allowed = (mask[query] == 0).reshape(M, M)
        sr, sc = wr * M + qr, wc * M + qc
        qpos = ((sr + s) % Hp, (sc + s) % Wp)
        positions = sorted(((wr * M + i + s) % Hp, (wc * M + j + s) % Wp) for i, j in zip(*np.nonzero(allowed)))
        return MaskState(H, W, M, s, view, window, query, Hp, Wp, nW, len(grid), (wr, wc), (M, M), (qr, qc),
                         qpos, int(regions[sr, sc]), qpos[0] >= H or qpos[1] >= W, allowed, mask, labels,
                         [(int(a), int(b)) for a, b in positions], regions, uneven)
    if window >= len(grid):
        raise ValueError(f"{where}: window must be in [0, {len(grid)}) for the uneven windows, got {window}")
    rs, cs = grid[window]
    h, w = rs.stop - rs.start, cs.stop - cs.start
    valid = np.zeros((M, M), dtype=bool)
    valid[:h, :w] = True
    mask = np.where(valid.ravel()[None, :], 0.0, -np.inf) * np.ones((N, 1))
    labels = np.where(valid, window, -1)
    qpos = (rs.start + qr, cs.start + qc)
    positions = [(r, c) for r in range(rs.start, rs.stop) for c in range(cs.start, cs.stop)]
    pad = not valid[qr, qc]
    return MaskState(H, W, M, s, view, window, query, Hp, Wp, nW, len(grid), (rs.start, cs.start), (h, w),
                     (qr, qc), qpos, window, pad or qpos[0] >= H or qpos[1] >= W, valid.copy(), mask, labels,
                     positions, regions, uneven)


def locate(pos: tuple[int, int], view: str, Hp: int, Wp: int, M: int, s: int) -> tuple[int, int]:
    """(window, query) that select the token ``pos`` of the original (padded) map in ``view``."""
    where = "locate"
    if view not in VIEWS:
        raise ValueError(f"{where}: view must be 'cyclic' or 'padded', got {view!r}")
    if not (isinstance(pos, tuple) and len(pos) == 2):
        raise TypeError(f"{where}: pos must be a (row, col) tuple, got {pos!r}")
    r, c = (check_int(v, n, minimum=0, where=where) for v, n in zip(pos, ("row", "col")))
    if r >= Hp or c >= Wp:
        raise ValueError(f"{where}: token {pos} is outside the {Hp}x{Wp} map")
    if view == "cyclic":
        sr, sc = (r - s) % Hp, (c - s) % Wp
        return (sr // M) * (Wp // M) + sc // M, (sr % M) * M + sc % M
    for k, (rs, cs) in enumerate(snp.shifted_window_grid(Hp, Wp, M, s)):
        if rs.start <= r < rs.stop and cs.start <= c < cs.stop:
            return k, (r - rs.start) * M + (c - cs.start)
    raise AssertionError(f"{where}: the uneven windows do not cover {pos}")  # pragma: no cover


def mask_title(st: MaskState) -> str:
    """One line naming what is shown (plain W-MSA when the shift is 0)."""
    what = f"SW-MSA mask, shift s = {st.shift_size}" if st.shift_size else "W-MSA (shift 0: no mask)"
    return f"{what}: {st.H}×{st.W} map, window M = {st.window_size} — {VIEWS[st.view]}"


def mask_text(st: MaskState) -> str:
    """The numbers the explorer states, one sentence per line."""
    M, s, N = st.window_size, st.shift_size, st.window_size ** 2
    n_allowed = int(st.allowed.sum())
    lines = [f"Map {st.H}×{st.W}, window M = {M}, shift s = {s}"
             + (f" (padded to {st.Hp}×{st.Wp}: pad, then shift)" if (st.Hp, st.Wp) != (st.H, st.W) else "")
             + f"; view: {VIEWS[st.view]}."]
    if s == 0:
        lines.append("Shift 0 is plain W-MSA: no mask, every query sees its whole window.")
    else:
        lines.append(f"Cyclic shift: {st.num_windows} windows of {M}×{M}; the naive way: {st.num_uneven_windows} "
                     f"uneven windows, each padded to {M}×{M}.")
    qr, qc = st.query_rc
    if st.view == "cyclic":
        wr, wc = st.window_rc
        region = f", region {st.query_region}" if s else ""
        lines.append(f"Window {st.window} (row {wr}, col {wc} of the grid), query {st.query} = ({qr}, {qc}) in the "
                     f"window = token {st.query_pos} of the map{region}.")
        if n_allowed < N:
            lines.append(f"It may attend to {n_allowed} of {N} keys; {N - n_allowed} are masked with -100 "
                         f"(softmax weight e^-100 ≈ 3.7e-44, i.e. 0).")
        else:
            lines.append(f"It may attend to {n_allowed} of {N} keys: its whole window is one region.")
    else:
        h, w = st.window_hw
        lines.append(f"Uneven window {st.window} (rows {st.window_rc[0]}–{st.window_rc[0] + h - 1}, cols "
                     f"{st.window_rc[1]}–{st.window_rc[1] + w - 1}: {h}×{w} tokens, {N - h * w} padding slots), "
                     f"query {st.query} = ({qr}, {qc}) in the window"
                     + (" is a padding slot: its output is thrown away." if not st.allowed[qr, qc] else
                        f" = token {st.query_pos} of the map."))
        lines.append(f"It may attend to the {n_allowed} real tokens of its window; the {N - n_allowed} padding "
                     f"slots get -inf.")
    pad = [p for p in st.allowed_positions if p[0] >= st.H or p[1] >= st.W]
    if pad and not st.query_is_padding:
        lines.append(f"{len(pad)} of these keys are padding tokens (zeros; the official code does not mask them).")
    if st.query_is_padding and st.view == "cyclic":
        lines.append("The query itself is a padding token (its output is cropped away).")
    shown = ", ".join(f"({r},{c})" for r, c in st.allowed_positions[:24])
    more = f" … (+{len(st.allowed_positions) - 24})" if len(st.allowed_positions) > 24 else ""
    lines.append(f"Attended tokens of the original map: {shown}{more}")
    return "\n".join(lines)
