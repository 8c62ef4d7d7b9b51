"""The mask explorer's picture: four SVG panels, a legend and the numbers, as one HTML string.

Pure string building from a :class:`~.mask_model.MaskState` (no widgets), so the picture is crisp at any
width and cheap to redraw. Colour carries the region, and never alone: region numbers are printed in the
cells when they fit, masked keys are white with a grey cross-hatch (no region colour is white or grey),
padding tokens are dotted, the selected window and the query are outlined in black and white.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

import numpy as np

from ... import i18n
from ... import numpy_ref as snp
from ..style import REGION_COLORS
from .mask_model import MaskState, mask_text, mask_title, view_label

__all__ = ["MASKED_FILL", "OUTSIDE_FILL", "PADDING_FILL", "REGION_PALETTE", "mask_html", "message_html"]

#: the regions' colours: the course's one palette (:data:`swin_edu.viz.style.REGION_COLORS`, Paul Tol's "muted":
#: 9 colours distinguishable with the common colour-vision deficiencies, none of them white or grey, which mean
#: "masked" and "padding" here), so the explorer and the static figures colour a region alike
REGION_PALETTE = REGION_COLORS
MASKED_FILL = "#FFFFFF"
PADDING_FILL = "#D9D9D9"
#: tokens of the original map outside the selected window (4th panel): plain, no hatch (masked ones are hatched)
OUTSIDE_FILL = "#EEEEEE"
CELL = 10  # SVG units per token; strokes do not scale (vector-effect), so lines stay 1-3 px at any size

#: the picture's captions, legend and labels, in each language (:mod:`swin_edu.i18n`'s catalogue)
i18n.add_messages({
    "mask.panel.rolled": {"en": "the map rolled by −{s}: regions {names}", "zh": "循环移位 −{s} 后的特征图：区域 {names}"},
    "mask.panel.not_rolled": {"en": "the map (shift 0: nothing rolled, one region)",
                              "zh": "特征图（移位为 0：不移动，只有一个区域）"},
    "mask.panel.map": {"en": "<b>{what}</b><br>window {w} outlined; click a token",
                       "zh": "<b>{what}</b><br>框出的是窗口 {w}；点击一个 token"},
    "mask.panel.uneven": {"en": "<b>the original map cut into {n} uneven windows</b><br>window {w} outlined; click a "
                                "token",
                          "zh": "<b>原特征图切成 {n} 个大小不一的窗口</b><br>框出的是窗口 {w}；点击一个 token"},
    "mask.panel.map_label": {"en": "{Hp} by {Wp} token map, {view}", "zh": "{Hp}×{Wp} 的 token 特征图，{view}"},
    "mask.panel.bad_cyclic": {"en": "−100", "zh": "−100"},
    "mask.panel.bad_padded": {"en": "−inf (padding)", "zh": "−inf（填充）"},
    "mask.panel.mask": {"en": "<b>mask of window {w} ({N}×{N})</b><br>colour: 0 · white ×: {bad}; row {q} = query",
                        "zh": "<b>窗口 {w} 的掩码（{N}×{N}）</b><br>彩色：0 · 白底 ×：{bad}；第 {q} 行 = 查询"},
    "mask.panel.mask_label": {"en": "attention mask of window {w}, {N} by {N}", "zh": "窗口 {w} 的注意力掩码，{N}×{N}"},
    "mask.panel.pad": {"en": "pad", "zh": "填"},
    "mask.panel.region": {"en": "region", "zh": "区域"},
    "mask.panel.window": {"en": "window", "zh": "窗口"},
    "mask.panel.keys": {"en": "<b>query {q} = ({r}, {c}): {n} of {NN} keys</b><br>number = {what}; white × = masked; "
                              "click a key",
                        "zh": "<b>查询 {q} = ({r}, {c})：{NN} 个键中的 {n} 个</b><br>数字 = {what}；白底 × = 被屏蔽；"
                              "点击一个键"},
    "mask.panel.keys_label": {"en": "the keys query {q} may attend to", "zh": "查询 {q} 可以关注的键"},
    "mask.panel.orig": {"en": "<b>the same tokens on the original map</b><br>exactly one uneven window (dashed); click "
                              "a token",
                        "zh": "<b>原特征图上的同一批 token</b><br>恰好是一个不均匀窗口（虚线）；点击一个 token"},
    "mask.panel.orig_label": {"en": "the attended tokens on the original map", "zh": "原特征图上被关注的 token"},
    "mask.legend.what": {"en": "{what}:", "zh": "{what}："},
    "mask.legend.masked": {"en": "masked / not attended", "zh": "被屏蔽 / 不关注"},
    "mask.legend.padding": {"en": "padding", "zh": "填充"},
    "mask.legend.outside": {"en": "not in this window", "zh": "不在这个窗口里"},
    "mask.legend.query": {"en": "query", "zh": "查询"},
})

_DEFS = (
    '<defs>'
    '<pattern id="swm-x" width="5" height="5" patternUnits="userSpaceOnUse">'
    '<path d="M0,0L5,5M5,0L0,5" stroke="#9A9A9A" stroke-width="0.35"/></pattern>'
    '<pattern id="swm-dot" width="4" height="4" patternUnits="userSpaceOnUse">'
    '<circle cx="2" cy="2" r="0.9" fill="#555555"/></pattern>'
    '</defs>'
)
_COORD = re.compile(r"\((-?\d+), ?(-?\d+)\)")


@lru_cache(maxsize=64)
def _text_color(hex_color: str) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#FFFFFF"


def _color(label: int) -> str:
    return REGION_PALETTE[int(label) % len(REGION_PALETTE)]


def _runs(codes: np.ndarray):
    """(row, col0, col1, code) for each horizontal run of equal codes: few rects, even on a 64x64 map."""
    H, W = codes.shape
    start = np.ones((H, W), dtype=bool)
    start[:, 1:] = codes[:, 1:] != codes[:, :-1]
    rows, cols = np.nonzero(start)  # row-major: each run's first cell
    same_row = np.append(rows[1:] == rows[:-1], False)
    ends = np.where(same_row, np.append(cols[1:], W), W)
    return zip(rows.tolist(), cols.tolist(), ends.tolist(), codes[rows, cols].tolist())


def _fill(codes: np.ndarray, fills: dict[int, str]) -> list[str]:
    out = []
    for r, a, b, code in _runs(codes):
        out.append(f'<rect x="{a * CELL}" y="{r * CELL}" width="{(b - a) * CELL}" height="{CELL}" '
                   f'fill="{fills[code]}"/>')
    return out


def _grid(H: int, W: int, step: int, color: str, width: float, dash: str = "") -> str:
    d = [f"M{c * CELL},0V{H * CELL}" for c in range(0, W + 1, step)]
    d += [f"M0,{r * CELL}H{W * CELL}" for r in range(0, H + 1, step)]
    dash = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<path d="{"".join(d)}" stroke="{color}" stroke-width="{width}" fill="none"{dash} '
            f'vector-effect="non-scaling-stroke"/>')


def _box(r: int, c: int, h: int, w: int, *, width: float = 3.0, dash: str = "") -> str:
    """A black outline with a white inner line: visible on every colour."""
    x, y, ww, hh = c * CELL, r * CELL, w * CELL, h * CELL
    dash = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<rect x="{x}" y="{y}" width="{ww}" height="{hh}" fill="none" stroke="#000" stroke-width="{width}"'
            f'{dash} vector-effect="non-scaling-stroke"/>'
            f'<rect x="{x}" y="{y}" width="{ww}" height="{hh}" fill="none" stroke="#FFF" stroke-width="1"'
            f'{dash} vector-effect="non-scaling-stroke"/>')


def _query_mark(r: int, c: int) -> str:
    cx, cy = (c + 0.5) * CELL, (r + 0.5) * CELL
    return (f'<circle cx="{cx}" cy="{cy}" r="{CELL * 0.3}" fill="#FFF" stroke="#000" stroke-width="2" '
            f'vector-effect="non-scaling-stroke" class="swin-mask-querymark"/>')


def _labels(values: np.ndarray, codes: np.ndarray, fills: dict[int, str], size: float) -> list[str]:
    """``values[r][c]`` printed in each cell (skipping ""), black or white against the cell's fill."""
    out = []
    for r, (row, code_row) in enumerate(zip(values.tolist(), codes.tolist())):
        for c, (v, code) in enumerate(zip(row, code_row)):
            if v == "":
                continue
            out.append(f'<text x="{(c + 0.5) * CELL}" y="{(r + 0.5) * CELL}" font-size="{size}" '
                       f'fill="{_text_color(fills[code])}" text-anchor="middle" dominant-baseline="central">{v}</text>')
    return out


def _svg(panel: str, H: int, W: int, body: list[str], title: str, label: str) -> str:
    return (f'<figure class="swin-mask-panel swin-mask-panel-{panel}">'
            f'<figcaption>{title}</figcaption>'
            f'<svg class="swin-mask-svg" data-panel="{panel}" data-rows="{H}" data-cols="{W}" data-cell="{CELL}" '
            f'viewBox="-1 -1 {W * CELL + 2} {H * CELL + 2}" preserveAspectRatio="xMidYMin meet" role="img" '
            f'aria-label="{html.escape(label)}">'
            + "".join(body) + "</svg></figure>")


def _pad_mask(st: MaskState, rolled: bool) -> np.ndarray:
    pad = np.zeros((st.Hp, st.Wp), dtype=bool)
    pad[st.H:, :] = True
    pad[:, st.W:] = True
    return np.roll(pad, (-st.shift_size, -st.shift_size), axis=(0, 1)) if rolled else pad


def _overlay(where: np.ndarray, pattern: str) -> list[str]:
    if not where.any():
        return []
    return [f'<rect x="{a * CELL}" y="{r * CELL}" width="{(b - a) * CELL}" height="{CELL}" fill="url(#{pattern})"/>'
            for r, a, b, code in _runs(where.astype(np.int64)) if code]


def _font(n: int) -> float:
    """Font size (SVG units) for numbers in an n-cell-wide panel: about 10-20 px whatever n is."""
    return CELL * min(0.55, 0.25 + 0.02 * n)


def _map_panel(st: MaskState) -> str:
    M, Hp, Wp = st.window_size, st.Hp, st.Wp
    show_numbers = max(Hp, Wp) <= 16
    if st.view == "cyclic":
        labels = st.regions
        wr, wc = st.window_rc
        r0, c0, h, w = wr * M, wc * M, M, M
        codes = labels.copy()
        masked = np.zeros((Hp, Wp), dtype=bool)
        masked[r0:r0 + M, c0:c0 + M] = ~st.allowed
        codes[masked] = -1
        pad = _pad_mask(st, rolled=True)
        qy, qx = r0 + st.query_rc[0], c0 + st.query_rc[1]
        found = sorted(set(np.unique(labels).tolist()))
        names = f"{found[0]}–{found[-1]}" if found == list(range(found[0], found[-1] + 1)) else ", ".join(map(str, found))
        what = (i18n.t("mask.panel.rolled", s=st.shift_size, names=names) if st.shift_size
                else i18n.t("mask.panel.not_rolled"))
        title = i18n.t("mask.panel.map", what=what, w=st.window)
        lines = [_grid(Hp, Wp, M, "#000", 2.0)]
    else:
        labels = st.uneven
        r0, c0 = st.window_rc
        h, w = st.window_hw
        codes = labels.copy()
        pad = _pad_mask(st, rolled=False)
        qy, qx = r0 + st.query_rc[0], c0 + st.query_rc[1]
        title = i18n.t("mask.panel.uneven", n=st.num_uneven_windows, w=st.window)
        lines = [_box(rs.start, cs.start, rs.stop - rs.start, cs.stop - cs.start, width=2.0)
                 for rs, cs in snp.shifted_window_grid(Hp, Wp, M, st.shift_size)]
    fills = {int(k): _color(k) for k in np.unique(labels)}
    fills[-1] = MASKED_FILL
    body = [_DEFS] + _fill(codes, fills) + _overlay(codes == -1, "swm-x") + _overlay(pad, "swm-dot")
    if max(Hp, Wp) <= 32:
        body.append(_grid(Hp, Wp, 1, "#FFFFFF", 0.6))
    body += lines
    if show_numbers:
        body += _labels(np.where(codes >= 0, labels, "").astype(object), codes, fills, _font(Hp))
    body.append(_box(r0, c0, h, w, width=3.5))
    if 0 <= qy < Hp and 0 <= qx < Wp and not (st.view == "padded" and not st.allowed[st.query_rc]):
        body.append(_query_mark(qy, qx))
    return _svg("map", Hp, Wp, body, title, i18n.t("mask.panel.map_label", Hp=Hp, Wp=Wp, view=view_label(st.view)))


def _mask_panel(st: MaskState) -> str:
    M, N = st.window_size, st.window_size ** 2
    flat = st.window_labels.reshape(-1)
    codes = np.where(st.mask == 0, np.broadcast_to(flat[None, :], (N, N)), -1)
    codes = np.where(np.isinf(st.mask), -2, codes)
    fills = {int(k): _color(k) for k in np.unique(flat) if k >= 0}
    fills[-1], fills[-2] = MASKED_FILL, PADDING_FILL
    body = [_DEFS] + _fill(codes, fills) + _overlay(codes == -1, "swm-x") + _overlay(codes == -2, "swm-dot")
    if N <= 49:
        body.append(_grid(N, N, 1, "#FFFFFF", 0.5))
    body.append(_grid(N, N, M, "#777777", 1.0))
    body.append(_box(st.query, 0, 1, N, width=3.0))
    bad = i18n.t("mask.panel.bad_cyclic" if st.view == "cyclic" else "mask.panel.bad_padded")
    title = i18n.t("mask.panel.mask", w=st.window, N=N, bad=bad, q=st.query)
    return _svg("mask", N, N, body, title, i18n.t("mask.panel.mask_label", w=st.window, N=N))


def _keys_panel(st: MaskState) -> str:
    M = st.window_size
    labels = st.window_labels
    codes = np.where(st.allowed, labels, -1)
    codes = np.where(labels < 0, -2, codes)
    fills = {int(k): _color(k) for k in np.unique(labels) if k >= 0}
    fills[-1], fills[-2] = MASKED_FILL, PADDING_FILL
    body = [_DEFS] + _fill(codes, fills) + _overlay(codes == -1, "swm-x") + _overlay(codes == -2, "swm-dot")
    body.append(_grid(M, M, 1, "#FFFFFF" if M > 12 else "#444444", 0.8))
    if M <= 12:
        text = np.where(labels < 0, i18n.t("mask.panel.pad"), labels.astype(str)).astype(object)
        body += _labels(text, codes, fills, _font(M))
    body.append(_box(st.query_rc[0], st.query_rc[1], 1, 1, width=3.0))
    what = i18n.t("mask.panel.region" if st.view == "cyclic" else "mask.panel.window")
    title = i18n.t("mask.panel.keys", q=st.query, r=st.query_rc[0], c=st.query_rc[1], n=int(st.allowed.sum()),
                   NN=M * M, what=what)
    return _svg("keys", M, M, body, title, i18n.t("mask.panel.keys_label", q=st.query))


def window_tokens(st: MaskState) -> np.ndarray:
    """(Hp, Wp) bool: the tokens of the original (padded) map that the selected window holds: the rolled window
    rolled back (cyclic view) or the uneven window itself (padded view)."""
    Hp, Wp, M, s = st.Hp, st.Wp, st.window_size, st.shift_size
    inside = np.zeros((Hp, Wp), dtype=bool)
    if st.view == "cyclic":
        wr, wc = st.window_rc
        rows, cols = (np.arange(wr * M, wr * M + M) + s) % Hp, (np.arange(wc * M, wc * M + M) + s) % Wp
        inside[np.ix_(rows, cols)] = True
    else:
        inside[st.uneven == st.window] = True
    return inside


def _orig_panel(st: MaskState) -> str:
    Hp, Wp, M = st.Hp, st.Wp, st.window_size
    att = np.zeros((Hp, Wp), dtype=bool)
    for r, c in st.allowed_positions:
        att[r, c] = True
    region = st.query_region if st.view == "padded" or st.shift_size else 0
    # in the window but masked: white, cross-hatched (as in the other panels); not in this window at all: plain grey
    codes = np.where(att, region, np.where(window_tokens(st), -1, -3))
    fills = {int(region): _color(region), -1: MASKED_FILL, -3: OUTSIDE_FILL}
    body = [_DEFS] + _fill(codes, fills) + _overlay(codes == -1, "swm-x") + _overlay(_pad_mask(st, False), "swm-dot")
    if max(Hp, Wp) <= 32:
        body.append(_grid(Hp, Wp, 1, "#BBBBBB", 0.5))
    body += [_box(rs.start, cs.start, rs.stop - rs.start, cs.stop - cs.start, width=1.5, dash="4 3")
             for rs, cs in snp.shifted_window_grid(Hp, Wp, M, st.shift_size)]
    qr, qc = st.query_pos
    if not (st.view == "padded" and not st.allowed[st.query_rc]):
        body.append(_query_mark(qr, qc))
    return _svg("orig", Hp, Wp, body, i18n.t("mask.panel.orig"), i18n.t("mask.panel.orig_label"))


def _legend(st: MaskState) -> str:
    shown = sorted({int(k) for k in np.unique(st.regions if st.view == "cyclic" else st.uneven)})
    what = i18n.t("mask.panel.region" if st.view == "cyclic" else "mask.panel.window")
    items = [f'<span class="swin-mask-swatch" style="background:{_color(k)};color:{_text_color(_color(k))}">{k}'
             f"</span>" for k in shown]
    return (f'<div class="swin-mask-legend"><span>{i18n.t("mask.legend.what", what=what)}</span>{"".join(items)}'
            f'<span class="swin-mask-swatch swin-mask-masked">×</span><span>{i18n.t("mask.legend.masked")}</span>'
            f'<span class="swin-mask-swatch swin-mask-padding"></span><span>{i18n.t("mask.legend.padding")}</span>'
            f'<span class="swin-mask-swatch swin-mask-outside"></span><span>{i18n.t("mask.legend.outside")}</span>'
            f'<span class="swin-mask-swatch swin-mask-q">○</span><span>{i18n.t("mask.legend.query")}</span></div>')


def _nowrap_coordinates(text: str) -> str:
    return _COORD.sub(lambda m: f"({m.group(1)},\u00a0{m.group(2)})", text)


def mask_html(st: MaskState, text: str | None = None) -> str:
    """The whole picture for ``st``: title, four clickable SVG panels, legend, the numbers (``mask_text``)."""
    if not isinstance(st, MaskState):
        raise TypeError(f"mask_html: st must be a MaskState, got {type(st).__name__}")
    text = mask_text(st) if text is None else text
    lines = "".join(f"<div>{html.escape(_nowrap_coordinates(line))}</div>" for line in text.splitlines())
    state = f"{st.H}x{st.W}/M{st.window_size}/s{st.shift_size}/{st.view}/w{st.window}/q{st.query}"
    return (f'<div class="swin-mask-picture" data-state="{state}">'
            f'<div class="swin-mask-title">{html.escape(mask_title(st))}</div>'
            f'<div class="swin-mask-panels">{_map_panel(st)}{_mask_panel(st)}{_keys_panel(st)}{_orig_panel(st)}'
            f"</div>{_legend(st)}"
            f'<div class="swin-mask-text">{lines}</div></div>')


def message_html(message: str) -> str:
    """What the explorer shows instead of the picture when the settings are invalid."""
    if not isinstance(message, str):
        raise TypeError(f"message_html: message must be a str, got {type(message).__name__}")
    return (f'<div class="swin-mask-picture" data-state="invalid"><div class="swin-mask-message">'
            f"<b>{i18n.t('widget.invalid')}</b> {html.escape(message)}</div></div>")
