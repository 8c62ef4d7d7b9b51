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

from ... import i18n
from ... import numpy_ref as snp
from ..._validate import check_int
from ...config import window_for_map

__all__ = ["VIEWS", "MaskState", "locate", "mask_state", "mask_text", "mask_title", "mask_validity", "slider_limits",
           "view_label"]

#: the two ways of computing SW-MSA that the explorer compares (keys; the labels in English)
VIEWS = {"cyclic": "cyclic shift + mask", "padded": "padded uneven windows"}

#: what the mask explorer says, in each language (:mod:`swin_edu.i18n`'s catalogue)
i18n.add_messages({
    "mask.view.cyclic": {"en": VIEWS["cyclic"], "zh": "循环移位 + 掩码"},
    "mask.view.padded": {"en": VIEWS["padded"], "zh": "不均匀窗口各自填充"},
    "mask.bad_shift": {"en": "Shift s={s} must be smaller than the window M={M} (Swin shifts by s = ⌊M/2⌋ = {half}).",
                       "zh": "移位 s={s} 必须小于窗口 M={M}（Swin 的移位是 s = ⌊M/2⌋ = {half}）。"},
    "mask.too_large": {"en": "Window M={M} is larger than the {H}×{W} map. The official code then uses window "
                             "{used} and no shift (nothing to shift across); choose M < {short} to see a shift.",
                       "zh": "窗口 M={M} 比 {H}×{W} 的特征图还大。这时官方代码改用窗口 {used}，并且不移位（没有可以"
                             "跨越的窗口边界）；选 M < {short} 才能看到移位。"},
    "mask.covers_short": {"en": "Window M={M} covers the short side of the {H}×{W} map. The official code then uses "
                                "window {used} and no shift (nothing to shift across); choose M < {short} to see a "
                                "shift.",
                          "zh": "窗口 M={M} 盖满了 {H}×{W} 特征图的短边。这时官方代码改用窗口 {used}，并且不移位"
                                "（没有可以跨越的窗口边界）；选 M < {short} 才能看到移位。"},
    "mask.title.shifted": {"en": "SW-MSA mask, shift s = {s}", "zh": "SW-MSA 掩码，移位 s = {s}"},
    "mask.title.plain": {"en": "W-MSA (shift 0: no mask)", "zh": "W-MSA（移位为 0：没有掩码）"},
    "mask.title": {"en": "{what}: {H}×{W} map, window M = {M} — {view}",
                   "zh": "{what}：{H}×{W} 特征图，窗口 M = {M} —— {view}"},
    "mask.text.map": {"en": "Map {H}×{W}, window M = {M}, shift s = {s}", "zh": "特征图 {H}×{W}，窗口 M = {M}，移位 s = {s}"},
    "mask.text.padded_map": {"en": " (padded to {Hp}×{Wp}: pad, then shift)", "zh": "（填充到 {Hp}×{Wp}：先填充，再移位）"},
    "mask.text.view": {"en": "; view: {view}.", "zh": "；视图：{view}。"},
    "mask.text.shift0": {"en": "Shift 0 is plain W-MSA: no mask, every query sees its whole window.",
                         "zh": "移位为 0 就是普通的 W-MSA：没有掩码，每个查询都能看到整个窗口。"},
    "mask.text.counts": {"en": "Cyclic shift: {nW} windows of {M}×{M}; the naive way: {n_uneven} uneven windows, "
                               "each padded to {M}×{M}.",
                         "zh": "循环移位：{nW} 个 {M}×{M} 的窗口；朴素做法：{n_uneven} 个大小不一的窗口，每个都填充到 "
                               "{M}×{M}。"},
    "mask.text.region": {"en": ", region {r}", "zh": "，区域 {r}"},
    "mask.text.window": {"en": "Window {w} (row {wr}, col {wc} of the grid), query {q} = ({qr}, {qc}) in the window "
                               "= token {pos} of the map{region}.",
                         "zh": "窗口 {w}（窗口网格的第 {wr} 行、第 {wc} 列），查询 {q} = 窗口内的 ({qr}, {qc}) = "
                               "特征图上的 token {pos}{region}。"},
    "mask.text.some_masked": {"en": "It may attend to {n} of {N} keys; {m} are masked with -100 (softmax weight "
                                    "e^-100 ≈ 3.7e-44, i.e. 0).",
                              "zh": "它可以关注 {N} 个键中的 {n} 个；其余 {m} 个被掩码加上 -100（softmax 权重 "
                                    "e^-100 ≈ 3.7e-44，也就是 0）。"},
    "mask.text.none_masked": {"en": "It may attend to {n} of {N} keys: its whole window is one region.",
                              "zh": "它可以关注 {N} 个键中的 {n} 个：整个窗口属于同一个区域。"},
    "mask.text.uneven": {"en": "Uneven window {w} (rows {r0}–{r1}, cols {c0}–{c1}: {h}×{ww} tokens, {npad} padding "
                               "slots), query {q} = ({qr}, {qc}) in the window",
                         "zh": "不均匀窗口 {w}（第 {r0}–{r1} 行、第 {c0}–{c1} 列：{h}×{ww} 个 token，{npad} 个填充位），"
                               "查询 {q} = 窗口内的 ({qr}, {qc})"},
    "mask.text.query_padding_slot": {"en": " is a padding slot: its output is thrown away.",
                                     "zh": "，是一个填充位：它的输出会被丢掉。"},
    "mask.text.query_token": {"en": " = token {pos} of the map.", "zh": " = 特征图上的 token {pos}。"},
    "mask.text.real_tokens": {"en": "It may attend to the {n} real tokens of its window; the {m} padding slots get "
                                    "-inf.",
                              "zh": "它可以关注窗口里的 {n} 个真实 token；{m} 个填充位得到 -inf。"},
    "mask.text.padding_keys": {"en": "{k} of these keys are padding tokens (zeros; the official code does not mask "
                                     "them).",
                               "zh": "其中 {k} 个键是填充 token（全为零；官方代码不屏蔽它们）。"},
    "mask.text.query_is_padding": {"en": "The query itself is a padding token (its output is cropped away).",
                                   "zh": "查询本身是一个填充 token（它的输出最后会被裁掉）。"},
    "mask.text.attended": {"en": "Attended tokens of the original map: {shown}{more}",
                           "zh": "原特征图上被关注的 token：{shown}{more}"},
})


def view_label(view: str) -> str:
    """The label of a view (``"cyclic"`` or ``"padded"``) in the language in force."""
    if view not in VIEWS:
        raise ValueError(f"view_label: view must be 'cyclic' or 'padded', got {view!r}")
    return i18n.t(f"mask.view.{view}")


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
        return i18n.t("mask.bad_shift", s=s, M=M, half=M // 2)
    M_used, s_used = window_for_map(H, W, M, s)
    if (M_used, s_used) != (M, s):
        key = "mask.too_large" if M > min(H, W) else "mask.covers_short"
        return i18n.t(key, M=M, H=H, W=W, used=M_used, short=min(H, W))
    return None


def slider_limits(H: int, W: int, M: int, max_window: int = 12) -> tuple[int, int]:
    """The largest window size and shift that the explorer's sliders offer on an ``H`` x ``W`` map with window
    ``M``: ``(M_max, s_max)``, so that every value a slider offers can be shown (:func:`mask_validity` is None
    for every M <= M_max and, with M, every s <= s_max). A window may be as large as the short side (then it
    covers it and does not shift: s_max = 0), and a shift is smaller than the window."""
    where = "slider_limits"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M = check_int(M, "M", where=where)
    max_window = check_int(max_window, "max_window", where=where)
    m_max = min(max_window, H, W)
    M = min(M, m_max)
    return m_max, (M - 1 if M < min(H, W) else 0)


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
    what = i18n.t("mask.title.shifted", s=st.shift_size) if st.shift_size else i18n.t("mask.title.plain")
    return i18n.t("mask.title", what=what, H=st.H, W=st.W, M=st.window_size, view=view_label(st.view))


def mask_text(st: MaskState) -> str:
    """The numbers the explorer states, one sentence per line."""
    t = i18n.t
    M, s, N = st.window_size, st.shift_size, st.window_size ** 2
    n_allowed = int(st.allowed.sum())
    lines = [t("mask.text.map", H=st.H, W=st.W, M=M, s=s)
             + (t("mask.text.padded_map", Hp=st.Hp, Wp=st.Wp) if (st.Hp, st.Wp) != (st.H, st.W) else "")
             + t("mask.text.view", view=view_label(st.view))]
    if s == 0:
        lines.append(t("mask.text.shift0"))
    else:
        lines.append(t("mask.text.counts", nW=st.num_windows, M=M, n_uneven=st.num_uneven_windows))
    qr, qc = st.query_rc
    if st.view == "cyclic":
        wr, wc = st.window_rc
        region = t("mask.text.region", r=st.query_region) if s else ""
        lines.append(t("mask.text.window", w=st.window, wr=wr, wc=wc, q=st.query, qr=qr, qc=qc, pos=st.query_pos,
                       region=region))
        if n_allowed < N:
            lines.append(t("mask.text.some_masked", n=n_allowed, N=N, m=N - n_allowed))
        else:
            lines.append(t("mask.text.none_masked", n=n_allowed, N=N))
    else:
        h, w = st.window_hw
        lines.append(t("mask.text.uneven", w=st.window, r0=st.window_rc[0], r1=st.window_rc[0] + h - 1,
                       c0=st.window_rc[1], c1=st.window_rc[1] + w - 1, h=h, ww=w, npad=N - h * w, q=st.query,
                       qr=qr, qc=qc)
                     + (t("mask.text.query_padding_slot") if not st.allowed[qr, qc] else
                        t("mask.text.query_token", pos=st.query_pos)))
        lines.append(t("mask.text.real_tokens", n=n_allowed, m=N - n_allowed))
    pad = [p for p in st.allowed_positions if p[0] >= st.H or p[1] >= st.W]
    if pad and not st.query_is_padding:
        lines.append(t("mask.text.padding_keys", k=len(pad)))
    if st.query_is_padding and st.view == "cyclic":
        lines.append(t("mask.text.query_is_padding"))
    shown = ", ".join(f"({r},{c})" for r, c in st.allowed_positions[:24])
    more = f" … (+{len(st.allowed_positions) - 24})" if len(st.allowed_positions) > 24 else ""
    lines.append(t("mask.text.attended", shown=shown, more=more))
    return "\n".join(lines)
