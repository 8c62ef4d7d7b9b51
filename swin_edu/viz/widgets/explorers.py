"""The matplotlib explorers: MSA vs W-MSA complexity, patch partition, relative position bias."""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from ... import complexity
from ... import numpy_ref as snp
from ..._validate import check_array, check_int
from ...config import window_for_map
from .._draw import annotate_cells, cell_axes, grid_lines, outline, sample_image
from ..style import DIV_CMAP, OKABE_ITO, SEQ_CMAP, new_figure, text_color_for, use_style
from ._base import PngExplorer, slider

__all__ = ["ComplexityExplorer", "PatchExplorer", "RelativeBiasExplorer"]

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
            "h": slider("h (map height)", vals["h"], 1, limits["h"]),
            "w": slider("w (map width)", vals["w"], 1, limits["w"]),
            "C": slider("C (channels)", vals["C"], 1, limits["C"]),
            "M": slider("M (window size)", vals["M"], 1, limits["M"]),
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
        rows = [f"{'term':6s} {'MSA formula':{fm}s} {'MSA MACs':>18s}   {'W-MSA formula':{fw}s} {'W-MSA MACs':>16s}"]
        for t in ("qkv", "qk", "av", "proj"):
            rows.append(f"{t:6s} {formulas[t][0]:{fm}s} {self.msa[t]:>18,d}   {formulas[t][1]:{fw}s} "
                        f"{self.wmsa[t]:>16,d}")
        rows.append(f"{'total':6s} {'4hwC²+2(hw)²C':{fm}s} {self.msa_total:>18,d}   {'4hwC²+2M²hwC':{fw}s} "
                    f"{self.wmsa_total:>16,d}")
        att_m, att_w = self.msa["qk"] + self.msa["av"], self.wmsa["qk"] + self.wmsa["av"]
        rows.append(f"MSA / W-MSA: {self.ratio:,.2f}× in total, {att_m / att_w:,.2f}× for the attention terms "
                    f"(hw/M² = {h * w / M ** 2:,.2f} when M divides h and w).")
        if (hp, wp) != (h, w):
            rows.append(f"M = {M} does not divide {h}×{w}: W-MSA runs on the padded {hp}×{wp} map.")
        if window_for_map(h, w, M, 0)[0] != M:
            rows.append(f"M = {M} is larger than the map: one padded window (the official code would shrink the "
                        f"window to {window_for_map(h, w, M, 0)[0]} instead).")
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
            a_bar.set_ylabel("MACs (log scale)")
            a_bar.legend()
            a_bar.set_title(f"terms at h={h}, w={w}, C={C}, M={M}")
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
                         label=f"this map ({h}×{w})")
            a_curve.plot([h * w], [self.wmsa_total], "D", color=OKABE_ITO["blue"], ms=8, markeredgecolor="k")
            shape = "square maps" if h == w else f"maps of the shape {h}×{w}, scaled"
            a_curve.set_xlabel(f"tokens hw ({shape}; log scale)")
            a_curve.set_ylabel("MACs (log scale)")
            a_curve.legend(loc="upper left")
            a_curve.grid(True, which="major", color="#DDDDDD")
            a_curve.set_title(f"growth with the map (C={C}, M={M}): ×{self.ratio:,.1f} here")
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
            "patch_size": widgets.Dropdown(options=sizes, value=p, description="patch size p",
                                           style={"description_width": "150px"}),
            "row": slider("patch row", 0, 0, H // min(sizes) - 1),
            "col": slider("patch col", 0, 0, W // min(sizes) - 1),
            "embed_dim": slider("C (embedding)", check_int(embed_dim, "embed_dim", where=where), 1, 192),
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
        self.text = (f"Image {self.img.shape[0]}×{self.img.shape[1]}×3, patch size {p}: token map "
                     f"{self.tokens_shape[0]}×{self.tokens_shape[1]}×{n} ({p}·{p}·3 = {n} numbers per patch).\n"
                     f"Patch ({r}, {c}): pixel rows {r * p}–{(r + 1) * p - 1}, cols {c * p}–{(c + 1) * p - 1}.\n"
                     f"Its vector (R, G, B of pixel 0, then pixel 1, … row by row): [{head}"
                     f"{', …' if n > 12 else ''}]\n"
                     f"Linear embedding ({p}×{p} conv, stride {p}, seed {self.seed}) → C = {C}: first values "
                     f"[{', '.join(f'{v:+.3f}' for v in self.embedding[:6])}{', …' if C > 6 else ''}]")
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
            a_img.set_title(f"{H}×{W} photo, {p}×{p} patches: a {H // p}×{W // p} grid")
            pix = self.img[r * p:(r + 1) * p, c * p:(c + 1) * p]
            a_patch.imshow(pix, extent=(0, p, p, 0), interpolation="nearest")
            cell_axes(a_patch, p, p)
            if p <= 16:
                grid_lines(a_patch, p, p, 1, color="white", lw=0.8)
            a_patch.set_title(f"patch ({r}, {c}): {p}×{p} pixels × 3")
            vec = self.vector
            a_vec.imshow(vec[None], extent=(0, vec.size, 1, 0), aspect="auto", cmap=SEQ_CMAP, vmin=0, vmax=1,
                         interpolation="nearest")
            a_vec.set_yticks([])
            a_vec.xaxis.set_major_locator(MaxNLocator(integer=True))
            if vec.size <= 48:
                for k, v in enumerate(vec):
                    a_vec.text(k + 0.5, 0.5, f"{v:.2f}", rotation=90, ha="center", va="center", fontsize=7,
                               color=text_color_for(_cmap(SEQ_CMAP, v)))
            a_vec.set_title(f"patch vector: {p}·{p}·3 = {vec.size} numbers (RGB of each pixel, row by row)",
                            loc="left")
            e = self.embedding
            lim = float(np.abs(e).max()) or 1.0
            a_emb.imshow(e[None], extent=(0, C, 1, 0), aspect="auto", cmap=DIV_CMAP, vmin=-lim, vmax=lim,
                         interpolation="nearest")
            a_emb.set_yticks([])
            a_emb.xaxis.set_major_locator(MaxNLocator(integer=True))
            a_emb.set_title(f"linear embedding → C = {C} numbers", loc="left")
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
            "window_size": slider("M (window size)", M, 2, 12),
            "query_row": slider("query row", 0, 0, M - 1),
            "query_col": slider("query col", 0, 0, M - 1),
            "head": slider("head", 0, 0, max(nH - 1, 0)),
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
        self.text = (f"Window {M}×{M} ({N} tokens), table {(K * K, self.table.shape[1])} "
                     f"({'given' if self._fixed_table is not None else f'random, seed {self.seed}'}), head {head}.\n"
                     f"Query ({qr}, {qc}) = token {q}. Offsets to key 0: (dy, dx) = ({rel[0, 0]:+d}, {rel[0, 1]:+d}); "
                     f"index = (dy + {M - 1})·{K} + (dx + {M - 1}).\n"
                     f"Index row {q}: [{pairs}{', …' if N > 25 else ''}]\n"
                     f"Bias row (first keys): [{', '.join(f'{v:+.2f}' for v in self.bias.ravel()[:9])}"
                     f"{', …' if N > 9 else ''}]")
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
            a_idx.set_title(f"relative_position_index {N}×{N}\nrow {q} = query ({qr}, {qc})")
            im = a_tab.imshow(tab, extent=(0, K, K, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
            cell_axes(a_tab, K, K)
            background = [[dcm((v + lim) / (2 * lim)) for v in row] for row in tab]
            if K <= 7:
                annotate_cells(a_tab, [[f"#{i * K + j}\n{tab[i, j]:+.2f}" for j in range(K)] for i in range(K)],
                               fontsize=7, background=background)
            elif K <= 13:  # M = 7 (Swin's window): the values only, smaller
                annotate_cells(a_tab, [[f"{tab[i, j]:+.1f}" for j in range(K)] for i in range(K)], fontsize=4.5,
                               background=background)
            fig.colorbar(im, ax=a_tab, shrink=0.8, label="bias")
            for k in sorted(set(self.index_row.tolist())):
                outline(a_tab, k // K, k % K, 1, 1, lw=1.8, inset=0.05)
            a_tab.set_title(f"bias table ({K}×{K} = {K * K} entries, head {head})\noutlined: read by this query")
            bq = self.bias
            im = a_bias.imshow(bq, extent=(0, M, M, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
            cell_axes(a_bias, M, M)
            if M <= 8:
                annotate_cells(a_bias, [[f"{bq[i, j]:+.2f}" for j in range(M)] for i in range(M)],
                               fontsize=9 if M <= 5 else 6,
                               background=[[dcm((v + lim) / (2 * lim)) for v in row] for row in bq])
            fig.colorbar(im, ax=a_bias, shrink=0.8, label="bias")
            outline(a_bias, qr, qc, 1, 1, lw=3, inset=0.04)
            a_bias.set_title(f"bias B[{q}, j] for every key j\n(laid out as the window)")
        return fig
