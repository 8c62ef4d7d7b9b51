"""The matplotlib explorers: MSA vs W-MSA complexity, patch partition, relative position bias."""
from __future__ import annotations

import math
import unicodedata

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from ... import complexity, i18n
from ... import numpy_ref as snp
from ..._validate import check_array, check_int
from ...config import window_for_map
from .._draw import annotate_cells, cell_axes, grid_lines, outline, sample_image
from ..style import DIV_CMAP, OKABE_ITO, SEQ_CMAP, new_figure, text_color_for, use_style
from ._base import PngExplorer, slider

__all__ = ["ComplexityExplorer", "PatchExplorer", "RelativeBiasExplorer"]

#: what the explorers say (controls, numbers, figure labels), in each language (:mod:`swin_edu.i18n`'s catalogue)
i18n.add_messages({
    # complexity explorer
    "cx.ctl.h": {"en": "h (map height)", "zh": "h（特征图的高）"},
    "cx.ctl.w": {"en": "w (map width)", "zh": "w（特征图的宽）"},
    "cx.ctl.C": {"en": "C (channels)", "zh": "C（通道数）"},
    "cx.ctl.M": {"en": "M (window size)", "zh": "M（窗口大小）"},
    "cx.term": {"en": "term", "zh": "项"},
    "cx.msa_formula": {"en": "MSA formula", "zh": "MSA 公式"},
    "cx.msa_macs": {"en": "MSA MACs", "zh": "MSA 乘加次数"},
    "cx.wmsa_formula": {"en": "W-MSA formula", "zh": "W-MSA 公式"},
    "cx.wmsa_macs": {"en": "W-MSA MACs", "zh": "W-MSA 乘加次数"},
    "cx.total": {"en": "total", "zh": "合计"},
    "cx.ratio": {"en": "MSA / W-MSA: {ratio}× in total, {att}× for the attention terms (hw/M² = {hw} when M divides h "
                       "and w).",
                 "zh": "MSA / W-MSA：总计相差 {ratio}×，注意力两项相差 {att}×（M 整除 h 和 w 时 hw/M² = {hw}）。"},
    "cx.padded": {"en": "M = {M} does not divide {h}×{w}: W-MSA runs on the padded {hp}×{wp} map.",
                  "zh": "M = {M} 不能整除 {h}×{w}：W-MSA 在填充后的 {hp}×{wp} 特征图上计算。"},
    "cx.too_large": {"en": "M = {M} is larger than the map: one padded window (the official code would shrink the "
                           "window to {m} instead).",
                     "zh": "M = {M} 比特征图还大：只有一个填充后的窗口（官方代码则会把窗口缩小到 {m}）。"},
    "cx.macs_log": {"en": "MACs (log scale)", "zh": "乘加次数（对数坐标）"},
    "cx.terms_title": {"en": "terms at h={h}, w={w}, C={C}, M={M}", "zh": "各项乘加次数：h={h}, w={w}, C={C}, M={M}"},
    "cx.this_map": {"en": "this map ({h}×{w})", "zh": "当前特征图（{h}×{w}）"},
    "cx.square": {"en": "square maps", "zh": "正方形特征图"},
    "cx.shape": {"en": "maps of the shape {h}×{w}, scaled", "zh": "形如 {h}×{w} 的特征图，按比例缩放"},
    "cx.tokens_axis": {"en": "tokens hw ({shape}; log scale)", "zh": "token 数 hw（{shape}；对数坐标）"},
    "cx.growth": {"en": "growth with the map (C={C}, M={M}): ×{ratio} here",
                  "zh": "随特征图增大的增长（C={C}, M={M}）：当前相差 ×{ratio}"},
    # patch explorer
    "px.ctl.patch_size": {"en": "patch size p", "zh": "图像块大小 p"},
    "px.ctl.row": {"en": "patch row", "zh": "图像块所在行"},
    "px.ctl.col": {"en": "patch col", "zh": "图像块所在列"},
    "px.ctl.embed_dim": {"en": "C (embedding)", "zh": "C（嵌入维度）"},
    "px.text": {"en": "Image {H}×{W}×3, patch size {p}: token map {th}×{tw}×{n} ({p}·{p}·3 = {n} numbers per "
                      "patch).\nPatch ({r}, {c}): pixel rows {r0}–{r1}, cols {c0}–{c1}.\nIts vector (R, G, B of pixel "
                      "0, then pixel 1, … row by row): [{head}{more}]\nLinear embedding ({p}×{p} conv, stride {p}, "
                      "seed {seed}) → C = {C}: first values [{emb}{emb_more}]",
                "zh": "图像 {H}×{W}×3，图像块大小 {p}：token 特征图 {th}×{tw}×{n}（每个图像块 {p}·{p}·3 = {n} 个数）。"
                      "\n图像块 ({r}, {c})：像素第 {r0}–{r1} 行、第 {c0}–{c1} 列。\n它的向量（像素 0 的 R、G、B，然后是"
                      "像素 1……逐行展开）：[{head}{more}]\n线性嵌入（{p}×{p} 卷积，步长 {p}，随机种子 {seed}）→ "
                      "C = {C}：前几个值 [{emb}{emb_more}]"},
    "px.photo": {"en": "{H}×{W} photo, {p}×{p} patches: a {gh}×{gw} grid",
                 "zh": "{H}×{W} 的照片，{p}×{p} 的图像块：{gh}×{gw} 的网格"},
    "px.patch": {"en": "patch ({r}, {c}): {p}×{p} pixels × 3", "zh": "图像块 ({r}, {c})：{p}×{p} 个像素 × 3"},
    "px.vector": {"en": "patch vector: {p}·{p}·3 = {n} numbers (RGB of each pixel, row by row)",
                  "zh": "图像块向量：{p}·{p}·3 = {n} 个数（每个像素的 RGB，逐行展开）"},
    "px.embedding": {"en": "linear embedding → C = {C} numbers", "zh": "线性嵌入 → C = {C} 个数"},
    # relative position bias explorer
    "rb.ctl.window_size": {"en": "M (window size)", "zh": "M（窗口大小）"},
    "rb.ctl.query_row": {"en": "query row", "zh": "查询所在行"},
    "rb.ctl.query_col": {"en": "query col", "zh": "查询所在列"},
    "rb.ctl.head": {"en": "head", "zh": "注意力头"},
    "rb.given": {"en": "given", "zh": "给定"},
    "rb.random": {"en": "random, seed {seed}", "zh": "随机，种子 {seed}"},
    "rb.text": {"en": "Window {M}×{M} ({N} tokens), table {shape} ({source}), head {head}.\nQuery ({qr}, {qc}) = "
                      "token {q}. Offsets to key 0: (dy, dx) = ({dy}, {dx}); index = (dy + {m1})·{K} + (dx + {m1})."
                      "\nIndex row {q}: [{pairs}{more}]\nBias row (first keys): [{bias}{bias_more}]",
                "zh": "窗口 {M}×{M}（{N} 个 token），偏置表 {shape}（{source}），第 {head} 个头。\n查询 ({qr}, {qc}) = "
                      "token {q}。到键 0 的偏移：(dy, dx) = ({dy}, {dx})；索引 = (dy + {m1})·{K} + (dx + {m1})。"
                      "\n索引矩阵第 {q} 行：[{pairs}{more}]\n偏置行（前几个键）：[{bias}{bias_more}]"},
    "rb.index_title": {"en": "relative_position_index {N}×{N}\nrow {q} = query ({qr}, {qc})",
                       "zh": "relative_position_index {N}×{N}\n第 {q} 行 = 查询 ({qr}, {qc})"},
    "rb.bias": {"en": "bias", "zh": "偏置"},
    "rb.table_title": {"en": "bias table ({K}×{K} = {KK} entries, head {head})\noutlined: read by this query",
                       "zh": "偏置表（{K}×{K} = {KK} 个元素，第 {head} 个头）\n框出的：这个查询读取的元素"},
    "rb.bias_title": {"en": "bias B[{q}, j] for every key j\n(laid out as the window)",
                      "zh": "每个键 j 的偏置 B[{q}, j]\n（按窗口排列）"},
})


def _pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` columns of a monospaced font (a CJK character takes two)."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    fill = " " * max(width - cols, 0)
    return fill + text if right else text + fill

# =========================================================================== complexity explorer
class ComplexityExplorer(PngExplorer):
    """MSA vs W-MSA multiply-accumulates for an h x w x C map and M x M windows, term by term.

    ``msa`` and ``wmsa`` hold the breakdowns (``{"qkv", "qk", "av", "proj"}`` from
    :func:`swin_edu.complexity.msa_breakdown` / :func:`~swin_edu.complexity.wmsa_breakdown`),
    ``msa_total``/``wmsa_total`` their sums and ``ratio`` = msa_total / wmsa_total.
    """

    PARAMS = ("h", "w", "C", "M")
    CSS = "swin-complexity"

    def __init__(self, h: int = 56, w: int = 56, C: int = 96, M: int = 7) -> None:
        where = "ComplexityExplorer"
        vals = {"h": h, "w": w, "C": C, "M": M}
        limits = {"h": 256, "w": 256, "C": 1024, "M": 32}
        for k, v in vals.items():
            vals[k] = check_int(v, k, where=where)
            if vals[k] > limits[k]:
                raise ValueError(f"{where}: {k} must be at most {limits[k]}, got {vals[k]}")
        self.msa: dict[str, int] | None = None
        self.wmsa: dict[str, int] | None = None
        self.msa_total = self.wmsa_total = 0
        self.ratio = float("nan")
        self.controls = {
            "h": slider(i18n.t("cx.ctl.h"), vals["h"], 1, limits["h"]),
            "w": slider(i18n.t("cx.ctl.w"), vals["w"], 1, limits["w"]),
            "C": slider(i18n.t("cx.ctl.C"), vals["C"], 1, limits["C"]),
            "M": slider(i18n.t("cx.ctl.M"), vals["M"], 1, limits["M"]),
        }
        super().__init__()
        self.update()

    def _clear(self):
        self.msa = self.wmsa = None

    def _compute_and_draw(self):
        h, w, C, M = (self.controls[k].value for k in self.PARAMS)
        self.msa = complexity.msa_breakdown(h, w, C)
        self.wmsa = complexity.wmsa_breakdown(h, w, C, M)
        self.msa_total, self.wmsa_total = sum(self.msa.values()), sum(self.wmsa.values())
        self.ratio = self.msa_total / self.wmsa_total
        hp, wp = math.ceil(h / M) * M, math.ceil(w / M) * M
        formulas = {"qkv": ("3hwC²", "3hwC²"), "qk": ("(hw)²C", "M²hwC"), "av": ("(hw)²C", "M²hwC"),
                    "proj": ("hwC²", "hwC²")}
        fm, fw = 14, 13  # widths of the formula columns: the longest formulas are the totals
        t = i18n.t
        head = (f"{_pad(t('cx.term'), 6)} {_pad(t('cx.msa_formula'), fm)} {_pad(t('cx.msa_macs'), 18, True)}   "
                f"{_pad(t('cx.wmsa_formula'), fw)} {_pad(t('cx.wmsa_macs'), 16, True)}")
        rows = [head]
        for term in ("qkv", "qk", "av", "proj"):
            rows.append(f"{term:6s} {formulas[term][0]:{fm}s} {self.msa[term]:>18,d}   {formulas[term][1]:{fw}s} "
                        f"{self.wmsa[term]:>16,d}")
        rows.append(f"{_pad(t('cx.total'), 6)} {'4hwC²+2(hw)²C':{fm}s} {self.msa_total:>18,d}   "
                    f"{'4hwC²+2M²hwC':{fw}s} {self.wmsa_total:>16,d}")
        att_m, att_w = self.msa["qk"] + self.msa["av"], self.wmsa["qk"] + self.wmsa["av"]
        rows.append(t("cx.ratio", ratio=f"{self.ratio:,.2f}", att=f"{att_m / att_w:,.2f}", hw=f"{h * w / M ** 2:,.2f}"))
        if (hp, wp) != (h, w):
            rows.append(t("cx.padded", M=M, h=h, w=w, hp=hp, wp=wp))
        if window_for_map(h, w, M, 0)[0] != M:
            rows.append(t("cx.too_large", M=M, m=window_for_map(h, w, M, 0)[0]))
        self.text = "\n".join(rows)
        return self._figure(h, w, C, M)

    def _figure(self, h, w, C, M):
        with use_style():
            fig = new_figure(11, 4.2)
            a_bar, a_curve = fig.subplots(1, 2)
            terms = ("qkv", "qk", "av", "proj")
            x = np.arange(len(terms))
            for off, data, color, hatch, label in ((-0.2, self.msa, OKABE_ITO["vermillion"], "", "MSA"),
                                                   (0.2, self.wmsa, OKABE_ITO["blue"], "///", "W-MSA")):
                vals = [data[t] for t in terms]
                a_bar.bar(x + off, vals, 0.4, color=color, hatch=hatch, edgecolor="black", lw=0.6, label=label)
            a_bar.set_yscale("log")
            a_bar.set_xticks(x, ["qkv\n3hwC²", "QKᵀ\n(hw)²C | M²hwC", "AV\n(hw)²C | M²hwC", "proj\nhwC²"])
            a_bar.set_ylabel(i18n.t("cx.macs_log"))
            a_bar.legend()
            a_bar.set_title(i18n.t("cx.terms_title", h=h, w=w, C=C, M=M))
            # maps of the same shape as h x w, from one token (or a tenth of the map) to twice its size; on
            # log-log axes MSA is a line of slope 2 and W-MSA of slope 1, and the current map is always visible
            factors = np.geomspace(max(1 / max(h, w), 0.1), 2.0, 40)
            shapes = sorted({(max(1, round(f * h)), max(1, round(f * w))) for f in factors}, key=lambda t: t[0] * t[1])
            n = [a * b for a, b in shapes]
            a_curve.loglog(n, [complexity.msa_macs(a, b, C) for a, b in shapes], "-", lw=2,
                           color=OKABE_ITO["vermillion"], label="MSA 4hwC² + 2(hw)²C")
            a_curve.loglog(n, [complexity.wmsa_macs(a, b, C, M) for a, b in shapes], "--", lw=2,
                           color=OKABE_ITO["blue"], label="W-MSA 4hwC² + 2M²hwC")
            a_curve.plot([h * w], [self.msa_total], "o", color=OKABE_ITO["vermillion"], ms=8, markeredgecolor="k",
                         label=i18n.t("cx.this_map", h=h, w=w))
            a_curve.plot([h * w], [self.wmsa_total], "D", color=OKABE_ITO["blue"], ms=8, markeredgecolor="k")
            shape = i18n.t("cx.square") if h == w else i18n.t("cx.shape", h=h, w=w)
            a_curve.set_xlabel(i18n.t("cx.tokens_axis", shape=shape))
            a_curve.set_ylabel(i18n.t("cx.macs_log"))
            a_curve.legend(loc="upper left")
            a_curve.grid(True, which="major", color="#DDDDDD")
            a_curve.set_title(i18n.t("cx.growth", C=C, M=M, ratio=f"{self.ratio:,.1f}"))
        return fig


# =========================================================================== patch explorer
class PatchExplorer(PngExplorer):
    """Patch partition on a real photo: choose the patch size and a patch; see its vector and embedding.

    ``vector`` is the patch's ``p*p*3`` numbers (:func:`swin_edu.numpy_ref.patch_partition`),
    ``embedding`` its C numbers after :func:`~swin_edu.numpy_ref.patch_embed` with seeded random weights,
    ``tokens_shape`` the shape of the whole token map. Pass ``image`` (H, W, 3 floats in [0, 1]) to use
    another picture; the default is matplotlib's bundled photo at 224x224.
    """

    PARAMS = ("patch_size", "row", "col", "embed_dim")
    CSS = "swin-patch"

    def __init__(self, patch_size: int = 4, row: int = 22, col: int = 26, embed_dim: int = 96,
                 image: np.ndarray | None = None, seed: int = 0) -> None:
        where = "PatchExplorer"
        if image is None:
            image = sample_image(224)
        image = check_array(image, "image", ndim=3, layout="(H, W, 3)", last_dim=3, where=where)
        self.img = np.asarray(image, dtype=np.float32)
        self.seed = check_int(seed, "seed", minimum=0, where=where)
        H, W = self.img.shape[:2]
        sizes = [p for p in (1, 2, 4, 7, 8, 14, 16, 28, 32, 56) if H % p == 0 and W % p == 0]
        if not sizes:
            raise ValueError(f"{where}: image height and width {H}x{W} share no patch size in 1..56")
        p = check_int(patch_size, "patch_size", where=where)
        if p not in sizes:
            raise ValueError(f"{where}: patch_size must divide the image {H}x{W}: one of {sizes}, got {p}")
        self.vector: np.ndarray | None = None
        self.embedding: np.ndarray | None = None
        self.tokens_shape: tuple[int, ...] | None = None
        self.controls = {
            "patch_size": widgets.Dropdown(options=sizes, value=p, description=i18n.t("px.ctl.patch_size"),
                                           style={"description_width": "150px"}),
            "row": slider(i18n.t("px.ctl.row"), 0, 0, H // min(sizes) - 1),
            "col": slider(i18n.t("px.ctl.col"), 0, 0, W // min(sizes) - 1),
            "embed_dim": slider(i18n.t("px.ctl.embed_dim"), check_int(embed_dim, "embed_dim", where=where), 1, 192),
        }
        self.controls["row"].value = check_int(row, "row", minimum=0, where=where)
        self.controls["col"].value = check_int(col, "col", minimum=0, where=where)
        self._patch_size = p
        super().__init__()
        self.controls["patch_size"].unobserve(self._on_change, names="value")
        self.controls["patch_size"].observe(self._on_patch_size, names="value")
        self.update()

    def _same_place(self, new_p: int) -> dict[str, int]:
        """row, col of the patch of size ``new_p`` that holds the centre of the selected patch."""
        old_p = self._patch_size
        return {k: (self.controls[k].value * old_p + old_p // 2) // new_p for k in ("row", "col")}

    def set(self, **values):
        """Set several parameters at once, then redraw once. Changing only ``patch_size`` keeps the same place
        of the photo selected (as the dropdown does)."""
        if "patch_size" in values and "row" not in values and "col" not in values:
            p = self._check_value("patch_size", values["patch_size"], "PatchExplorer.set")
            values = dict(values, **self._same_place(p))
        return super().set(**values)

    def _on_patch_size(self, change) -> None:
        if self._hold:
            return
        self._hold += 1
        try:
            place = self._same_place(change["new"])
            self._sync_ranges()
            self.controls["row"].value, self.controls["col"].value = place["row"], place["col"]
        finally:
            self._hold -= 1
        self.update()

    def _range(self, name):
        if name in ("row", "col"):
            return 0, self.img.shape[0 if name == "row" else 1] - 1
        return super()._range(name)

    def _check_dependent(self, new, given, where):
        p = new["patch_size"]
        for name, axis in (("row", 0), ("col", 1)):
            n = self.img.shape[axis] // p
            if name in given and new[name] >= n:
                raise ValueError(f"{where}: {name} must be in [0, {n}) for patch_size={p}, got {new[name]}")

    def _sync_ranges(self):
        p = self.controls["patch_size"].value
        self._patch_size = p
        H, W = self.img.shape[:2]
        self.controls["row"].max = H // p - 1
        self.controls["col"].max = W // p - 1

    def _clear(self):
        self.vector = self.embedding = None

    def _compute_and_draw(self):
        p, r, c, C = (self.controls[k].value for k in self.PARAMS)
        tokens = snp.patch_partition(self.img[None], p)[0]
        rng = np.random.default_rng(self.seed)
        weight = rng.normal(0.0, (p * p * 3) ** -0.5, (C, 3, p, p)).astype(np.float32)
        emb = snp.patch_embed(self.img[None], weight)[0]
        self.tokens_shape = tuple(tokens.shape)
        self.vector = tokens[r, c].copy()
        self.embedding = emb[r, c].copy()
        n = self.vector.size
        head = ", ".join(f"{v:.3f}" for v in self.vector[:12])
        self.text = i18n.t("px.text", H=self.img.shape[0], W=self.img.shape[1], p=p, th=self.tokens_shape[0],
                           tw=self.tokens_shape[1], n=n, r=r, c=c, r0=r * p, r1=(r + 1) * p - 1, c0=c * p,
                           c1=(c + 1) * p - 1, head=head, more=", …" if n > 12 else "", seed=self.seed, C=C,
                           emb=", ".join(f"{v:+.3f}" for v in self.embedding[:6]), emb_more=", …" if C > 6 else "")
        return self._figure(p, r, c, C)

    def _figure(self, p, r, c, C):
        H, W = self.img.shape[:2]
        with use_style():
            fig = new_figure(11, 6.4)
            gs = fig.add_gridspec(3, 2, height_ratios=[3, 0.8, 0.6], width_ratios=[1.2, 1])
            a_img, a_patch = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1])
            a_vec, a_emb = fig.add_subplot(gs[1, :]), fig.add_subplot(gs[2, :])
            a_img.imshow(self.img, extent=(0, W, H, 0), interpolation="nearest")
            cell_axes(a_img, H, W)
            if max(H, W) // p <= 64:
                grid_lines(a_img, H, W, p, color="white", lw=0.3 if max(H, W) // p > 28 else 0.7)
            outline(a_img, r * p, c * p, p, p, lw=2.5)
            a_img.set_title(i18n.t("px.photo", H=H, W=W, p=p, gh=H // p, gw=W // p))
            pix = self.img[r * p:(r + 1) * p, c * p:(c + 1) * p]
            a_patch.imshow(pix, extent=(0, p, p, 0), interpolation="nearest")
            cell_axes(a_patch, p, p)
            if p <= 16:
                grid_lines(a_patch, p, p, 1, color="white", lw=0.8)
            a_patch.set_title(i18n.t("px.patch", r=r, c=c, p=p))
            vec = self.vector
            a_vec.imshow(vec[None], extent=(0, vec.size, 1, 0), aspect="auto", cmap=SEQ_CMAP, vmin=0, vmax=1,
                         interpolation="nearest")
            a_vec.set_yticks([])
            a_vec.xaxis.set_major_locator(MaxNLocator(integer=True))
            if vec.size <= 48:
                for k, v in enumerate(vec):
                    a_vec.text(k + 0.5, 0.5, f"{v:.2f}", rotation=90, ha="center", va="center", fontsize=7,
                               color=text_color_for(_cmap(SEQ_CMAP, v)))
            a_vec.set_title(i18n.t("px.vector", p=p, n=vec.size), loc="left")
            e = self.embedding
            lim = float(np.abs(e).max()) or 1.0
            a_emb.imshow(e[None], extent=(0, C, 1, 0), aspect="auto", cmap=DIV_CMAP, vmin=-lim, vmax=lim,
                         interpolation="nearest")
            a_emb.set_yticks([])
            a_emb.xaxis.set_major_locator(MaxNLocator(integer=True))
            a_emb.set_title(i18n.t("px.embedding", C=C), loc="left")
        return fig


def _cmap(name, value):
    import matplotlib

    return matplotlib.colormaps[name](float(np.clip(value, 0, 1)))


# =========================================================================== relative bias explorer
class RelativeBiasExplorer(PngExplorer):
    """Relative position bias: pick a query in an M x M window, see its index row and its bias.

    ``index_row`` ((M*M,) ints: the query's row of ``relative_position_index``), ``bias`` ((M, M): the
    bias added to the query's logits, as the window), ``table`` (the ((2M-1)^2, num_heads) table used).
    Pass ``table`` (e.g. a checkpoint's ``layers.0.blocks.0.attn.relative_position_bias_table``) to
    explore learned biases; M then follows the table. Without it, a seeded random table is used.
    """

    PARAMS = ("window_size", "query_row", "query_col", "head")
    CSS = "swin-relbias"

    def __init__(self, window_size: int = 3, query_row: int = 1, query_col: int = 2, head: int = 0,
                 table: np.ndarray | None = None, num_heads: int = 1, seed: int = 0) -> None:
        where = "RelativeBiasExplorer"
        self.seed = check_int(seed, "seed", minimum=0, where=where)
        self._fixed_table = None
        if table is not None:
            t = np.asarray(check_array(table, "table", ndim=2, layout="((2M-1)^2, num_heads)", where=where),
                           dtype=np.float64)
            K = math.isqrt(t.shape[0])
            if K * K != t.shape[0] or K % 2 == 0:
                raise ValueError(f"{where}: table must have (2M-1)^2 rows for some window size M, got shape "
                                 f"{t.shape}")
            self._fixed_table = t
            window_size = (K + 1) // 2
            num_heads = t.shape[1]
        M = check_int(window_size, "window_size", minimum=2, where=where)
        nH = check_int(num_heads, "num_heads", where=where)
        if M > 12:
            raise ValueError(f"{where}: window_size must be at most 12, got {M}")
        self.num_heads = nH
        self.index_row: np.ndarray | None = None
        self.bias: np.ndarray | None = None
        self.table: np.ndarray | None = None
        self.controls = {
            "window_size": slider(i18n.t("rb.ctl.window_size"), M, 2, 12),
            "query_row": slider(i18n.t("rb.ctl.query_row"), 0, 0, M - 1),
            "query_col": slider(i18n.t("rb.ctl.query_col"), 0, 0, M - 1),
            "head": slider(i18n.t("rb.ctl.head"), 0, 0, max(nH - 1, 0)),
        }
        self.controls["window_size"].disabled = self._fixed_table is not None
        if nH == 1:  # one head: nothing to choose (a 0..0 slider only confuses)
            self.controls["head"].layout.display = "none"
        self.controls["query_row"].value = check_int(query_row, "query_row", minimum=0, where=where)
        self.controls["query_col"].value = check_int(query_col, "query_col", minimum=0, where=where)
        self.controls["head"].value = check_int(head, "head", minimum=0, where=where)
        super().__init__()
        self.update()

    def _range(self, name):
        if name in ("query_row", "query_col"):
            return 0, 11
        if name == "window_size" and self._fixed_table is not None:
            M = self.controls["window_size"].value
            return M, M
        return super()._range(name)

    def _check_dependent(self, new, given, where):
        M = new["window_size"]
        for name in ("query_row", "query_col"):
            if name in given and new[name] >= M:
                raise ValueError(f"{where}: {name} must be in [0, {M}) for window_size={M}, got {new[name]}")

    def _sync_ranges(self):
        M = self.controls["window_size"].value
        self.controls["query_row"].max = M - 1
        self.controls["query_col"].max = M - 1

    def _clear(self):
        self.index_row = self.bias = None

    def _get_table(self, M):
        if self._fixed_table is not None:
            return self._fixed_table
        rng = np.random.default_rng(self.seed)  # the same table as fig_relative_position for one head
        return np.round(rng.normal(0.0, 1.0, ((2 * M - 1) ** 2, self.num_heads)), 2)

    def _compute_and_draw(self):
        M, qr, qc, head = (self.controls[k].value for k in self.PARAMS)
        K, N = 2 * M - 1, M * M
        q = qr * M + qc
        self.table = self._get_table(M)
        index = snp.relative_position_index(M)
        self.index_row = index[q].copy()
        self.bias = snp.relative_position_bias(self.table, M)[head, q].reshape(M, M)
        rel = snp.relative_coords(M)[q]
        pairs = ", ".join(f"{int(k)}" for k in self.index_row[: min(N, 25)])
        source = i18n.t("rb.given") if self._fixed_table is not None else i18n.t("rb.random", seed=self.seed)
        self.text = i18n.t("rb.text", M=M, N=N, shape=(K * K, self.table.shape[1]), source=source, head=head, qr=qr,
                           qc=qc, q=q, dy=f"{rel[0, 0]:+d}", dx=f"{rel[0, 1]:+d}", m1=M - 1, K=K, pairs=pairs,
                           more=", …" if N > 25 else "",
                           bias=", ".join(f"{v:+.2f}" for v in self.bias.ravel()[:9]),
                           bias_more=", …" if N > 9 else "")
        return self._figure(M, qr, qc, head, index)

    def _figure(self, M, qr, qc, head, index):
        import matplotlib

        K, N, q = 2 * M - 1, M * M, qr * M + qc
        tab = self.table[:, head].reshape(K, K)
        lim = float(np.abs(tab).max()) or 1.0
        dcm = matplotlib.colormaps[DIV_CMAP]
        with use_style():
            fig = new_figure(12, 4.9)
            a_idx, a_tab, a_bias = fig.subplots(1, 3)
            a_idx.imshow(index, extent=(0, N, N, 0), cmap=SEQ_CMAP, interpolation="nearest")
            cell_axes(a_idx, N, N)
            if N <= 16:
                cm = matplotlib.colormaps[SEQ_CMAP]
                annotate_cells(a_idx, index, fontsize=7, background=[[cm(v / (K * K - 1)) for v in row]
                                                                     for row in index])
            outline(a_idx, q, 0, 1, N, lw=2)
            a_idx.set_title(i18n.t("rb.index_title", N=N, q=q, qr=qr, qc=qc))
            im = a_tab.imshow(tab, extent=(0, K, K, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
            cell_axes(a_tab, K, K)
            background = [[dcm((v + lim) / (2 * lim)) for v in row] for row in tab]
            if K <= 7:
                annotate_cells(a_tab, [[f"#{i * K + j}\n{tab[i, j]:+.2f}" for j in range(K)] for i in range(K)],
                               fontsize=7, background=background)
            elif K <= 13:  # M = 7 (Swin's window): the values only, smaller
                annotate_cells(a_tab, [[f"{tab[i, j]:+.1f}" for j in range(K)] for i in range(K)], fontsize=4.5,
                               background=background)
            fig.colorbar(im, ax=a_tab, shrink=0.8, label=i18n.t("rb.bias"))
            for k in sorted(set(self.index_row.tolist())):
                outline(a_tab, k // K, k % K, 1, 1, lw=1.8, inset=0.05)
            a_tab.set_title(i18n.t("rb.table_title", K=K, KK=K * K, head=head))
            bq = self.bias
            im = a_bias.imshow(bq, extent=(0, M, M, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
            cell_axes(a_bias, M, M)
            if M <= 8:
                annotate_cells(a_bias, [[f"{bq[i, j]:+.2f}" for j in range(M)] for i in range(M)],
                               fontsize=9 if M <= 5 else 6,
                               background=[[dcm((v + lim) / (2 * lim)) for v in row] for row in bq])
            fig.colorbar(im, ax=a_bias, shrink=0.8, label=i18n.t("rb.bias"))
            outline(a_bias, qr, qc, 1, 1, lw=3, inset=0.04)
            a_bias.set_title(i18n.t("rb.bias_title", q=q))
        return fig
