"""The course's static figures, one function per figure, every one drawn from what ``swin_edu`` computes.

Each ``fig_*`` function returns a pyplot-free :class:`matplotlib.figure.Figure`; each has an alt text
(:func:`alt_text`) computed from the same numbers. ``python -m swin_edu.viz.figures --out figures``
regenerates all of them (PNG, no timestamps or versions in the files: the same bytes on every run),
plus ``alt_text.json`` and ``ALT_TEXT.md`` next to them.

============================  ===========================================================  ========
name                          what it shows                                                notebook
============================  ===========================================================  ========
``01_patch_partition``        a real photo cut into 4x4 patches, one patch's 48 numbers,    01
                              the embedding to C channels
``02_hierarchical_maps``      Swin's 4x/8x/16x/32x maps and windows vs ViT's single 16x map 00, 05
``03_window_attention``       MSA vs W-MSA, 7x7 windows on 56x56, MACs vs image size (64x)  02
``04_shifted_windows``        the 9 uneven windows, the cyclic shift back to 4, A/B/C, labels 03
``05_attention_mask``         the 0/-100 mask of each window and what softmax does with it  03
``06_relative_position``      coordinates, index matrix, (2M-1)^2 table, one query's bias   04
``07_patch_merging``          2x2 gather (official order), concat to 4C, linear to 2C       05
``08_architecture``           Swin-T's stages with their shapes, the block pair, the counts 00, 06, 07
============================  ===========================================================  ========
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from .. import complexity
from .. import numpy_ref as snp
from .._validate import check_divisible, check_int
from ..config import SwinConfig
from ._draw import annotate_cells, cell_axes, fill_labels, grid_lines, outline, pool_image, sample_image
from .style import (
    ALLOWED_COLOR,
    DIV_CMAP,
    HIGHLIGHT,
    MASKED_COLOR,
    MASKED_HATCH,
    OKABE_ITO,
    REGION_COLORS,
    REGION_HATCHES,
    SEQ_CMAP,
    new_figure,
    save_png,
    text_color_for,
    use_style,
)

__all__ = [
    "FIGURES",
    "FigureSpec",
    "alt_text",
    "fig_architecture",
    "fig_attention_mask",
    "fig_hierarchical_maps",
    "fig_patch_merging",
    "fig_patch_partition",
    "fig_relative_position",
    "fig_shifted_windows",
    "fig_window_attention",
    "figure_markdown",
    "figures_dir",
    "main",
    "make_figure",
    "render_all",
    "show_figure",
]

_WHERE = "swin_edu.viz.figures"


def _pair_arg(value: Any, name: str, where: str) -> tuple[int, int]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{where}: {name} must be a pair (row, col) of ints, got {value!r}")
    return (check_int(value[0], f"{name}[0]", minimum=0, where=where),
            check_int(value[1], f"{name}[1]", minimum=0, where=where))


def _check_cfg(cfg: Any, where: str) -> SwinConfig:
    if cfg is None:
        return SwinConfig.preset("tiny")
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"{where}: cfg must be a SwinConfig (or None for Swin-T), got {type(cfg).__name__}")
    return cfg


def _model_name(cfg: SwinConfig) -> str:
    names = {"tiny": "Swin-T", "small": "Swin-S", "base": "Swin-B", "large": "Swin-L", "nano": "Swin-nano"}
    return names.get(cfg.name, f"Swin ({cfg.name})")


def _x(a: int, b: int) -> str:
    return f"{a}×{b}"


# ====================================================================== 1. patch partition
def _patch_partition_data(patch_size, embed_dim, patch, image_size, seed):
    where = "fig_patch_partition"
    p = check_int(patch_size, "patch_size", where=where)
    C = check_int(embed_dim, "embed_dim", where=where)
    size = check_int(image_size, "image_size", minimum=4, where=where)
    seed = check_int(seed, "seed", minimum=0, where=where)
    if size > 448:
        raise ValueError(f"{where}: image_size must be at most 448, got {size}")
    check_divisible(size, p, "image_size", "patch_size", where=where)
    r, c = _pair_arg(patch, "patch", where)
    g = size // p
    if r >= g or c >= g:
        raise ValueError(f"{where}: patch must lie in the {g}x{g} patch grid, got {(r, c)}")
    img = sample_image(size)
    tokens = snp.patch_partition(img[None], p)[0]
    rng = np.random.default_rng(seed)
    weight = rng.normal(0.0, (p * p * 3) ** -0.5, (C, 3, p, p)).astype(np.float32)
    emb = snp.patch_embed(img[None], weight)[0]
    return {"p": p, "C": C, "size": size, "r": r, "c": c, "g": g, "img": img, "tokens": tokens, "emb": emb}


def fig_patch_partition(patch_size: int = 4, embed_dim: int = 96, patch: tuple[int, int] = (22, 26),
                        image_size: int = 224, seed: int = 0) -> Figure:
    """Patch partition on a real photo: the 4x4 patch grid, one patch's 16 pixels, its 48 numbers
    (:func:`swin_edu.numpy_ref.patch_partition`), and its embedding to C channels
    (:func:`swin_edu.numpy_ref.patch_embed` with seeded random weights)."""
    d = _patch_partition_data(patch_size, embed_dim, patch, image_size, seed)
    p, C, size, r, c, g = d["p"], d["C"], d["size"], d["r"], d["c"], d["g"]
    img, vec, emb = d["img"], d["tokens"][r, c], d["emb"][r, c]
    n = vec.size
    with use_style():
        fig = new_figure(11, 6.2)
        gs = fig.add_gridspec(3, 3, height_ratios=[3.2, 0.95, 0.75])
        ax_img, ax_zoom, ax_patch = (fig.add_subplot(gs[0, i]) for i in range(3))
        ax_vec, ax_emb = fig.add_subplot(gs[1, :]), fig.add_subplot(gs[2, :])

        # (a) the photo with the patch grid and the zoom box
        ax_img.imshow(img, extent=(0, size, size, 0), interpolation="nearest")
        cell_axes(ax_img, size, size)
        grid_lines(ax_img, size, size, p, color="white", lw=0.25 if g > 32 else 0.6)
        Z = min(8, g)
        zr0, zc0 = min(max(r - Z // 2, 0), g - Z), min(max(c - Z // 2, 0), g - Z)
        outline(ax_img, zr0 * p, zc0 * p, Z * p, Z * p, color=OKABE_ITO["yellow"], lw=2)
        outline(ax_img, zr0 * p, zc0 * p, Z * p, Z * p, color="black", lw=0.8, ls="--")
        ax_img.set_title(f"(a) photo {size}×{size}×3 → {g}×{g} patches of {p}×{p}")

        # (b) zoom on Z x Z patches
        crop = img[zr0 * p:(zr0 + Z) * p, zc0 * p:(zc0 + Z) * p]
        ax_zoom.imshow(crop, extent=(0, Z * p, Z * p, 0), interpolation="nearest")
        cell_axes(ax_zoom, Z * p, Z * p)
        grid_lines(ax_zoom, Z * p, Z * p, p, color="white", lw=1.0)
        outline(ax_zoom, (r - zr0) * p, (c - zc0) * p, p, p, color=HIGHLIGHT, lw=3)
        ax_zoom.set_title(f"(b) zoom: {Z}×{Z} patches, patch ({r}, {c}) outlined")

        # (c) the patch's pixels, numbered in flattening order
        pix = img[r * p:(r + 1) * p, c * p:(c + 1) * p]
        ax_patch.imshow(pix, extent=(0, p, p, 0), interpolation="nearest")
        cell_axes(ax_patch, p, p)
        grid_lines(ax_patch, p, p, 1, color="white", lw=1.5)
        outline(ax_patch, 0, 0, p, p, color=HIGHLIGHT, lw=4)
        if p <= 8:
            annotate_cells(ax_patch, np.arange(p * p).reshape(p, p), fmt="px {}", fontsize=8 if p <= 4 else 6,
                           box=True)
        ax_patch.set_title(f"(c) patch ({r}, {c}): {p}×{p} pixels × 3 channels,\nread row by row")

        # (d) the p*p*3 numbers of the token
        ax_vec.imshow(vec[None, :], extent=(0, n, 1, 0), cmap=SEQ_CMAP, vmin=0, vmax=1, aspect="auto",
                      interpolation="nearest")
        ax_vec.set_xlim(0, n)
        ax_vec.set_ylim(1, 0)
        ax_vec.vlines(np.arange(0, n + 1, 3), 0, 1, colors="white", linewidth=1.6)
        ax_vec.set_yticks([])
        if n <= 64:
            for k, v in enumerate(vec):
                ax_vec.text(k + 0.5, 0.5, f"{v:.2f}", rotation=90, ha="center", va="center", fontsize=6.5,
                            color=text_color_for(_cmap_color(SEQ_CMAP, v)))
            ax_vec.set_xticks(np.arange(n) + 0.5, ["RGB"[k % 3] for k in range(n)], fontsize=6.5)
            sec = ax_vec.secondary_xaxis("top")
            sec.set_xticks(np.arange(0, n, 3) + 1.5, [f"px {k}" for k in range(n // 3)], fontsize=6.5)
            sec.tick_params(length=0)
        else:
            ax_vec.set_xticks(np.arange(0, n + 1, 3 * p))
        ax_vec.set_title(f"(d) patch partition: the patch flattened row by row, pixel by pixel, channel by "
                         f"channel = {p}·{p}·3 = {n} numbers (one token of the {g}×{g}×{n} map)",
                         loc="left", pad=16 if n <= 64 else 6)

        # (e) the embedding
        lim = float(np.max(np.abs(emb))) or 1.0
        im = ax_emb.imshow(emb[None, :], extent=(0, C, 1, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, aspect="auto",
                           interpolation="nearest")
        ax_emb.set_yticks([])
        ax_emb.set_xticks(np.arange(0, C + 1, max(1, C // 12)))
        ax_emb.set_xlabel("channel")
        fig.colorbar(im, ax=ax_emb, orientation="vertical", fraction=0.02, pad=0.01)
        ax_emb.set_title(f"(e) linear embedding ({p}×{p} conv, stride {p}; random weights, seed {seed}):"
                         f" {n} → C = {C} numbers per token, then LayerNorm", loc="left")
        fig.suptitle(f"Patch partition + linear embedding: image {tuple(img.shape)} → tokens "
                     f"{tuple(d['tokens'].shape)} → embedded {tuple(d['emb'].shape)}", fontweight="bold")
    return fig


def _cmap_color(name: str, value: float):
    import matplotlib

    return matplotlib.colormaps[name](float(np.clip(value, 0, 1)))


def _alt_patch_partition(patch_size=4, embed_dim=96, patch=(22, 26), image_size=224, seed=0) -> str:
    d = _patch_partition_data(patch_size, embed_dim, patch, image_size, seed)
    p, g, n = d["p"], d["g"], d["tokens"].shape[-1]
    vec = d["tokens"][d["r"], d["c"]]
    return (f"Five panels. (a) A {d['size']}x{d['size']} colour photo of Grace Hopper with a grid of {g}x{g} "
            f"patches of {p}x{p} pixels. (b) A zoom on 8x8 patches around her face, with patch "
            f"({d['r']}, {d['c']}) outlined. (c) That patch enlarged: {p*p} pixels numbered px 0 to px "
            f"{p*p-1} row by row. (d) A strip of its {n} numbers in the order R, G, B of px 0, then px 1, and "
            f"so on; the first three are {vec[0]:.2f}, {vec[1]:.2f}, {vec[2]:.2f}. (e) A strip of the "
            f"{d['C']} numbers the linear embedding (a {p}x{p} convolution with stride {p}) makes from them. "
            f"Title: image {tuple(d['img'].shape)} becomes tokens {tuple(d['tokens'].shape)}, then "
            f"{tuple(d['emb'].shape)}.")


# ====================================================================== 2. hierarchical maps
def _hier_data(cfg, vit_patch, vit_layers):
    where = "fig_hierarchical_maps"
    cfg = _check_cfg(cfg, where)
    vp = check_int(vit_patch, "vit_patch", where=where)
    L = check_int(vit_layers, "vit_layers", where=where)
    H, W = cfg.img_hw
    if H % vp or W % vp:
        raise ValueError(f"{where}: vit_patch={vp} must divide the image size {H}x{W}")
    return cfg, vp, L, H, W


def fig_hierarchical_maps(cfg: SwinConfig | None = None, vit_patch: int = 16, vit_layers: int = 12) -> Figure:
    """Swin's hierarchical feature maps (one per stage, from ``cfg.stage_resolutions()`` and
    ``cfg.stage_windows()``) next to ViT's single map: the photo pooled to each map's resolution."""
    cfg, vp, L, H, W = _hier_data(cfg, vit_patch, vit_layers)
    res, wins, dims, n = cfg.stage_resolutions(), cfg.stage_windows(), cfg.stage_dims, cfg.num_layers
    photo = sample_image(448)
    gh, gw = H // vp, W // vp
    with use_style():
        fig = new_figure(2.9 * n + 0.4, 6.6)
        axes = fig.subplots(2, n, squeeze=False)
        for i in range(n):
            h, w = res[i]
            M, s = wins[i]
            ax = axes[0, i]
            ax.imshow(pool_image(photo, h, w), extent=(0, w, h, 0), interpolation="nearest")
            cell_axes(ax, h, w)
            grid_lines(ax, h, w, 1, color="white", lw=0.2 if max(h, w) > 30 else 0.5)
            grid_lines(ax, h, w, M, color=HIGHLIGHT, lw=1.8, zorder=4)
            ax.set_title(f"Swin stage {i + 1}: {_x(h, w)}×{dims[i]}\n{H // h}× down, "
                         f"windows {M}×{M}" + ("" if s else ", no shift"), fontsize=9.5)
            if i == 0:
                ax.set_ylabel("Swin: local windows", fontsize=10, fontweight="bold")
        per = math.ceil(L / n)
        for i in range(n):
            ax = axes[1, i]
            ax.imshow(pool_image(photo, gh, gw), extent=(0, gw, gh, 0), interpolation="nearest")
            cell_axes(ax, gh, gw)
            grid_lines(ax, gh, gw, 1, color="white", lw=0.5)
            outline(ax, 0, 0, gh, gw, color=HIGHLIGHT, lw=3, inset=0.08)
            a, b = i * per + 1, min(L, (i + 1) * per)
            ax.set_title(f"ViT layers {a}–{b}: {_x(gh, gw)}×768\n{vp}× down, one global window", fontsize=9.5)
            if i == 0:
                ax.set_ylabel("ViT: global attention", fontsize=10, fontweight="bold")
        fig.suptitle(f"{_model_name(cfg)} builds a pyramid of feature maps (windows outlined in vermillion); "
                     f"ViT-B/{vp} keeps one map", fontweight="bold")
    return fig


def _alt_hierarchical_maps(cfg=None, vit_patch=16, vit_layers=12) -> str:
    cfg, vp, _, H, W = _hier_data(cfg, vit_patch, vit_layers)
    parts = [f"stage {i + 1}: {h}x{w} tokens with {d} channels, {H // h} times downsampled, windows of {M}x{M}"
             for i, ((h, w), d, (M, _)) in enumerate(zip(cfg.stage_resolutions(), cfg.stage_dims,
                                                           cfg.stage_windows()))]
    return (f"Two rows of pixelated versions of the same photo. Top row, {_model_name(cfg)}: "
            + "; ".join(parts) + ". Each map shows its token grid and, outlined in vermillion, its attention "
            f"windows; the maps get coarser from left to right. Bottom row, ViT-B/{vp}: the same "
            f"{H // vp}x{W // vp} map in every group of layers, outlined as a single global window.")


# ====================================================================== 3. window attention + complexity
def _wa_data(h, w, C, window_size):
    where = "fig_window_attention"
    h, w = check_int(h, "h", where=where), check_int(w, "w", where=where)
    C, M = check_int(C, "C", where=where), check_int(window_size, "window_size", where=where)
    check_divisible(h, M, "h", "window_size", where=where)
    check_divisible(w, M, "w", "window_size", where=where)
    msa, wmsa = complexity.msa_breakdown(h, w, C), complexity.wmsa_breakdown(h, w, C, M)
    att_msa, att_wmsa = msa["qk"] + msa["av"], wmsa["qk"] + wmsa["av"]
    return {"h": h, "w": w, "C": C, "M": M, "msa": msa, "wmsa": wmsa, "att_msa": att_msa, "att_wmsa": att_wmsa,
                "ratio": att_msa / att_wmsa}


def fig_window_attention(h: int = 56, w: int = 56, C: int = 96, window_size: int = 7) -> Figure:
    """MSA vs W-MSA: who a query attends to (the seed's 4x4 example), 7x7 windows on a 56x56 map, and
    the MACs of both as the image grows (:mod:`swin_edu.complexity`), with the seed's 64x point."""
    d = _wa_data(h, w, C, window_size)
    M = d["M"]
    with use_style():
        fig = new_figure(12, 7.2)
        top, bottom = fig.subfigures(2, 1, height_ratios=[0.8, 1.2])
        a1, a2, a3 = top.subplots(1, 3, width_ratios=[1, 1, 1.3])
        # (a) MSA on 4x4 tokens: the query sees all 16
        q = (1, 2)
        for ax, win, title in ((a1, 4, "(a) MSA: a query attends to all 16 tokens"),
                               (a2, 2, "(b) W-MSA, 2×2 windows: only the 4 of its window")):
            lab = np.full((4, 4), -2)
            r0, c0 = (q[0] // win) * win, (q[1] // win) * win
            lab[r0:r0 + win, c0:c0 + win] = 0
            fill_labels(ax, np.where(lab == 0, 0, 1), colors=(ALLOWED_COLOR, "white"), hatches=("", ""))
            cell_axes(ax, 4, 4)
            grid_lines(ax, 4, 4, 1, color="#888888", lw=0.8)
            grid_lines(ax, 4, 4, win, color="black", lw=2.5)
            outline(ax, q[0], q[1], 1, 1, color=HIGHLIGHT, lw=3, inset=0.06)
            ax.text(q[1] + 0.5, q[0] + 0.5, "q", ha="center", va="center", fontsize=12, fontweight="bold")
            ax.set_title(title)
        # (c) the real map with M x M windows
        h_, w_ = d["h"], d["w"]
        wid = (np.arange(h_)[:, None] // M) * (w_ // M) + (np.arange(w_)[None, :] // M)
        checker = ((np.arange(h_)[:, None] // M) + (np.arange(w_)[None, :] // M)) % 2
        fill_labels(a3, checker, colors=("#F2F2F2", "#BFBFBF"), hatches=("", ""))
        cell_axes(a3, h_, w_)
        grid_lines(a3, h_, w_, 1, color="white", lw=0.25)
        grid_lines(a3, h_, w_, M, color="black", lw=1.2)
        k = (h_ // M // 2) * (w_ // M) + (w_ // M // 2)
        wr, wc = divmod(k, w_ // M)
        a3.add_patch(Rectangle((wc * M, wr * M), M, M, facecolor=ALLOWED_COLOR, edgecolor=HIGHLIGHT, lw=2.5,
                               zorder=5))
        nW = int(wid.max()) + 1
        a3.set_title(f"(c) {h_}×{w_} map, M = {M}: {nW} windows × {M * M} tokens")
        # (d), (e) MACs as the image grows
        b1, b2 = bottom.subplots(1, 2)
        sides = np.arange(M, 4 * max(h_, w_) + 1, M)
        hw = sides.astype(float) ** 2
        msa = np.array([complexity.msa_macs(int(s), int(s), C) for s in sides], dtype=float)
        wmsa = np.array([complexity.wmsa_macs(int(s), int(s), C, M) for s in sides], dtype=float)
        att_msa = np.array([sum(complexity.msa_breakdown(int(s), int(s), C)[t] for t in ("qk", "av"))
                            for s in sides], dtype=float)
        att_w = np.array([sum(complexity.wmsa_breakdown(int(s), int(s), C, M)[t] for t in ("qk", "av"))
                          for s in sides], dtype=float)
        for ax, log in ((b1, False), (b2, True)):
            ax.plot(hw, msa / 1e9, "-", lw=2.2, color=OKABE_ITO["vermillion"],
                    label=r"MSA: $4hwC^2 + 2(hw)^2C$ (quadratic in $hw$)")
            ax.plot(hw, wmsa / 1e9, "-", lw=2.2, color=OKABE_ITO["blue"],
                    label=r"W-MSA: $4hwC^2 + 2M^2hwC$ (linear in $hw$)")
            if log:
                ax.plot(hw, att_msa / 1e9, "--", lw=1.4, color=OKABE_ITO["vermillion"],
                        label=r"MSA second term $2(hw)^2C$")
                ax.plot(hw, att_w / 1e9, ":", lw=1.8, color=OKABE_ITO["blue"],
                        label=r"W-MSA second term $2M^2hwC$")
                ax.set_xscale("log")
                ax.set_yscale("log")
            ax.set_xlabel("tokens hw  (square map; image side = 4·√(hw) px)")
            ax.set_ylabel("GMACs of one attention layer")
            ax.grid(True, which="major", color="#DDDDDD", lw=0.6)
        # the seed's point
        n0 = h_ * w_
        b1.plot([n0, n0], [complexity.msa_macs(h_, w_, C) / 1e9, complexity.wmsa_macs(h_, w_, C, M) / 1e9], "o",
                color="black", ms=5)
        b1.annotate(f"{h_}×{w_} (224 px image)", (n0, complexity.msa_macs(h_, w_, C) / 1e9), xytext=(12, 8),
                    textcoords="offset points", fontsize=8)
        for series, color in ((msa, OKABE_ITO["vermillion"]), (wmsa, OKABE_ITO["blue"])):
            b1.annotate(f"{series[-1] / 1e9:.1f} G", (hw[-1], series[-1] / 1e9), xytext=(4, 4),
                        textcoords="offset points", fontsize=8, color=color, ha="right", va="bottom")
        b1.set_title(f"(d) C = {C}, M = {M}: MSA grows quadratically, W-MSA linearly")
        b1.legend(loc="upper left")
        b2.plot([n0], [d["att_msa"] / 1e9], "s", color=OKABE_ITO["vermillion"], ms=7, zorder=5)
        b2.plot([n0], [d["att_wmsa"] / 1e9], "D", color=OKABE_ITO["blue"], ms=7, zorder=5)
        b2.add_patch(FancyArrowPatch((n0, d["att_wmsa"] / 1e9), (n0, d["att_msa"] / 1e9), arrowstyle="<->",
                                     mutation_scale=12, color="black", lw=1.3, zorder=6))
        b2.annotate(f"×{d['ratio']:g} at {h_}×{w_} (seed):\n"
                    f"2(hw)²C = {d['att_msa']:,}\n2M²hwC = {d['att_wmsa']:,}",
                    (n0, math.sqrt(d["att_msa"] * d["att_wmsa"]) / 1e9), xytext=(14, -10),
                    textcoords="offset points", fontsize=8, va="center",
                    bbox={"boxstyle": "round", "fc": "white", "ec": "#888888"})
        b2.set_title("(e) log-log: slope 2 vs slope 1; the seed's 64× point")
        b2.legend(loc="lower right", fontsize=7)
        fig.suptitle("Window attention (W-MSA) computes self-attention inside M×M windows only", fontweight="bold")
    return fig


def _alt_window_attention(h=56, w=56, C=96, window_size=7) -> str:
    d = _wa_data(h, w, C, window_size)
    M = d["M"]
    return (f"Top: (a) a 4x4 grid of tokens where one query token q is connected to all 16 (MSA); (b) the same "
            f"grid cut into four 2x2 windows where q only reaches the 4 tokens of its window (W-MSA); (c) a "
            f"{d['h']}x{d['w']} map cut into {(d['h'] // M) * (d['w'] // M)} windows of {M}x{M} tokens, one "
            f"highlighted. Bottom: multiply-accumulates of one attention layer with C={C} against the number of "
            f"tokens hw. (d) Linear axes: the MSA curve bends upward like a parabola while the W-MSA curve is a "
            f"straight line close to zero. (e) Log-log axes: slopes 2 and 1; at {d['h']}x{d['w']} an arrow "
            f"marks the ratio of the second terms, 2(hw)^2C = {d['att_msa']:,} against 2M^2hwC = "
            f"{d['att_wmsa']:,}, {d['ratio']:g} times less.")


# ====================================================================== 4. shifted windows
def _shift_data(H, W, window_size):
    where = "fig_shifted_windows"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M = check_int(window_size, "window_size", minimum=2, where=where)
    check_divisible(H, M, "H", "window_size", where=where)
    check_divisible(W, M, "W", "window_size", where=where)
    s = M // 2
    grid = snp.shifted_window_grid(H, W, M, s)
    win_id = np.zeros((H, W), dtype=np.int64)
    letters = {}
    for k, (rs, cs) in enumerate(grid):
        win_id[rs, cs] = k
        if rs.start == 0 and cs.start == 0:
            letters[k] = "A"
        elif cs.start == 0:
            letters[k] = "B"
        elif rs.start == 0:
            letters[k] = "C"
        elif rs.stop == H and cs.stop == W:
            letters[k] = "D"
    rolled = snp.cyclic_shift(win_id[None, :, :, None], s)[0, :, :, 0]
    back = snp.reverse_cyclic_shift(rolled[None, :, :, None], s)[0, :, :, 0]
    assert np.array_equal(back, win_id)
    regions = snp.region_ids(H, W, M, s)
    return {"H": H, "W": W, "M": M, "s": s, "grid": grid, "win_id": win_id, "letters": letters, "rolled": rolled, "regions": regions}


def _centre(mask: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(mask)
    return (rows.min() + rows.max() + 1) / 2, (cols.min() + cols.max() + 1) / 2


def _letter(ax, r, c, text, size=13):
    ax.text(c, r, text, ha="center", va="center", fontsize=size, fontweight="bold", zorder=8,
            bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "black", "lw": 0.8})


def fig_shifted_windows(H: int = 8, W: int = 8, window_size: int = 4) -> Figure:
    """Shifted windows step by step (the seed's 8x8 map with 4x4 windows): the regular partition, the
    grid shifted by floor(M/2) (:func:`~swin_edu.numpy_ref.shifted_window_grid`: 9 uneven windows),
    the cyclic shift that brings them back to 4 windows with the pieces A, B, C moved
    (:func:`~swin_edu.numpy_ref.cyclic_shift`), the region labels of the mask
    (:func:`~swin_edu.numpy_ref.region_ids`), and the reverse shift."""
    d = _shift_data(H, W, window_size)
    H, W, M, s = d["H"], d["W"], d["M"], d["s"]
    nW, n_uneven = (H // M) * (W // M), len(d["grid"])
    with use_style():
        fig = new_figure(15, 3.9)
        axes = fig.subplots(1, 5)
        # (a) regular windows
        ax = axes[0]
        reg = (np.arange(H)[:, None] // M + np.arange(W)[None, :] // M) % 2
        fill_labels(ax, reg, colors=("#F2F2F2", "#CCCCCC"), hatches=("", ""))
        cell_axes(ax, H, W)
        grid_lines(ax, H, W, 1, color="#888888", lw=0.5)
        grid_lines(ax, H, W, M, color="black", lw=2.5)
        ax.set_title(f"(a) W-MSA:\n{nW} windows of {M}×{M}")
        # (b) shifted grid: 9 uneven windows
        ax = axes[1]
        fill_labels(ax, d["win_id"])
        cell_axes(ax, H, W)
        grid_lines(ax, H, W, 1, color="white", lw=0.5)
        grid_lines(ax, H, W, M, color="#555555", lw=1.0, zorder=3.5)
        for rs, cs in d["grid"]:
            outline(ax, rs.start, cs.start, rs.stop - rs.start, cs.stop - cs.start, color="black", lw=2.5)
        for k, letter in d["letters"].items():
            rs, cs = d["grid"][k]
            _letter(ax, (rs.start + rs.stop) / 2, (cs.start + cs.stop) / 2, letter)
        ax.set_title(f"(b) move the grid by ⌊M/2⌋ = {s}\n(right, down): {n_uneven} uneven windows")
        # (c) cyclic shift
        ax = axes[2]
        fill_labels(ax, d["rolled"])
        cell_axes(ax, H, W)
        grid_lines(ax, H, W, 1, color="white", lw=0.5)
        grid_lines(ax, H, W, M, color="black", lw=2.5)
        for k, letter in d["letters"].items():
            _letter(ax, *_centre(d["rolled"] == k), letter)
        ax.set_title(f"(c) cyclic shift: roll the map by −{s}\n(up, left): {nW} windows of {M}×{M} again")
        # (d) region labels
        ax = axes[3]
        fill_labels(ax, d["regions"])
        cell_axes(ax, H, W)
        grid_lines(ax, H, W, 1, color="white", lw=0.5)
        grid_lines(ax, H, W, M, color="black", lw=2.5)
        annotate_cells(ax, d["regions"], fontsize=8 if max(H, W) <= 16 else 5, box=True)
        ax.set_title("(d) region labels 0–8 (img_mask):\nattend only within one label")
        # (e) reverse
        ax = axes[4]
        fill_labels(ax, d["win_id"])
        cell_axes(ax, H, W)
        grid_lines(ax, H, W, 1, color="white", lw=0.5)
        for rs, cs in d["grid"]:
            outline(ax, rs.start, cs.start, rs.stop - rs.start, cs.stop - cs.start, color="black", lw=1.5,
                    ls="--")
        for k, letter in d["letters"].items():
            rs, cs = d["grid"][k]
            _letter(ax, (rs.start + rs.stop) / 2, (cs.start + cs.stop) / 2, letter)
        ax.set_title(f"(e) after attention: roll by +{s}\nputs every token back")
        fig.suptitle(f"Shifted windows on a {H}×{W} map, M = {M}: instead of padding {n_uneven} uneven windows "
                     f"to {M}×{M}, roll the map and mask: {nW} windows, the same result", fontweight="bold",
                     fontsize=11)
    return fig


def _alt_shifted_windows(H=8, W=8, window_size=4) -> str:
    d = _shift_data(H, W, window_size)
    H, W, M, s = d["H"], d["W"], d["M"], d["s"]
    return (f"Five {H}x{W} token grids from left to right. (a) {(H // M) * (W // M)} regular {M}x{M} windows. "
            f"(b) The window grid moved {s} tokens right and down: {len(d['grid'])} windows of uneven sizes, "
            f"each with its own colour and hatch; the top-left corner piece is A ({s}x{s}), the left strip is B "
            f"(width {s}), the top strip is C (height {s}), the bottom-right piece D. (c) The map rolled {s} "
            f"tokens up and left: A moves to the bottom-right corner, B to the right edge, C to the bottom edge, "
            f"and the regular {M}x{M} grid again holds everything in {(H // M) * (W // M)} windows; the "
            f"bottom-right window now holds A, B, C and D. (d) The same rolled map with each token's region label "
            f"0 to 8 printed. (e) The reverse roll restores the layout of (b).")


# ====================================================================== 5. attention mask
def _mask_data(H, W, window_size, window, query, seed):
    where = "fig_attention_mask"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M = check_int(window_size, "window_size", minimum=2, where=where)
    seed = check_int(seed, "seed", minimum=0, where=where)
    s = M // 2
    mask = snp.shift_mask(H, W, M, s)
    nW, N = mask.shape[0], M * M
    nWw = W // M
    window = nW - 1 if window is None else check_int(window, "window", minimum=0, where=where)
    query = check_int(query, "query", minimum=0, where=where)
    if window >= nW:
        raise ValueError(f"{where}: window must be in [0, {nW}) for a {H}x{W} map with M={M}, got {window}")
    if query >= N:
        raise ValueError(f"{where}: query must be in [0, {N}) for M={M}, got {query}")
    regions = snp.region_ids(H, W, M, s)
    win_regions = snp.window_partition(regions[None, :, :, None], M).reshape(nW, M, M)
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.0, N)
    masked = logits + mask[window, query]
    shown = sorted({0, nWw - 1, nW - nWw, nW - 1} | {window})
    return {"H": H, "W": W, "M": M, "s": s, "mask": mask, "nW": nW, "N": N, "nWw": nWw, "window": window, "query": query,
                "regions": regions, "win_regions": win_regions, "logits": logits, "masked": masked,
                "p_plain": snp.softmax(logits), "p_masked": snp.softmax(masked), "shown": shown}


def _draw_mask_matrix(ax, mask_w, regs, query=None):
    N = mask_w.shape[0]
    # hatching a large matrix cell by cell is slow and unreadable: above 5x5 windows the (strongly
    # different) luminance of the two colours carries the meaning alone
    fill_labels(ax, np.where(mask_w == 0, 0, -1), colors=(ALLOWED_COLOR,), hatch=N <= 25)
    for j, lab in enumerate(regs):
        for rect in (Rectangle((j, -1.4), 1, 1, fc=REGION_COLORS[lab], ec="white", lw=0.5,
                               hatch=REGION_HATCHES[lab]),
                     Rectangle((-1.4, j), 1, 1, fc=REGION_COLORS[lab], ec="white", lw=0.5,
                               hatch=REGION_HATCHES[lab])):
            rect.set_clip_on(False)
            ax.add_patch(rect)
    ax.set_xlim(-1.5, N)
    ax.set_ylim(N, -1.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    grid_lines(ax, N, N, 1, color="white", lw=0.3)
    if query is not None:
        outline(ax, query, 0, 1, N, color=HIGHLIGHT, lw=2)


def fig_attention_mask(H: int = 8, W: int = 8, window_size: int = 4, window: int | None = None,
                       query: int = 5, seed: int = 0) -> Figure:
    """The SW-MSA mask (:func:`~swin_edu.numpy_ref.shift_mask`) of the windows after the cyclic shift
    (0 = same region, allowed; -100 = masked), and what softmax does with it for one query."""
    d = _mask_data(H, W, window_size, window, query, seed)
    M, N, nWw = d["M"], d["N"], d["nWw"]
    with use_style():
        fig = new_figure(12.6, 8.2)
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.15, 1])
        axes = top.subplots(1, len(d["shown"]), squeeze=False)[0]
        for ax, k in zip(axes, d["shown"]):
            regs = d["win_regions"][k].ravel()
            _draw_mask_matrix(ax, d["mask"][k], regs, query=d["query"] if k == d["window"] else None)
            n_masked = int((d["mask"][k] != 0).sum())
            ax.set_title(f"window {k} (row {k // nWw}, col {k % nWw})\nregions "
                         f"{', '.join(map(str, sorted(set(regs.tolist()))))}: {n_masked}/{N * N} masked", fontsize=9)
            ax.set_xlabel("key j  (strip: region label)")
            ax.set_ylabel("query i")
        top.suptitle(f"attn_mask after the cyclic shift ({d['H']}×{d['W']} map, M = {M}, shift {d['s']}): "
                     f"blue = 0 (same region), dark hatched = −100", fontweight="bold")
        b0, b1, b2, b3 = bottom.subplots(1, 4, width_ratios=[1.1, 1.5, 1.5, 1.1])
        w, q = d["window"], d["query"]
        regs = d["win_regions"][w]
        allowed = (d["mask"][w, q] == 0).reshape(M, M)
        fill_labels(b0, np.where(allowed, regs, -1))
        cell_axes(b0, M, M)
        grid_lines(b0, M, M, 1, color="white", lw=1)
        outline(b0, q // M, q % M, 1, 1, color=HIGHLIGHT, lw=3, inset=0.05)
        annotate_cells(b0, np.arange(N).reshape(M, M), fontsize=8, box=True)
        b0.set_title(f"(e) window {w}, query {q}: it may\nattend to {int(allowed.sum())} of {N} keys")
        x = np.arange(N)
        masked_keys = d["mask"][w, q] != 0
        for ax, probs, title in ((b1, d["p_plain"], "(f) softmax(QKᵀ/√d) without the mask"),
                                 (b2, d["p_masked"], "(g) softmax(QKᵀ/√d + mask)")):
            bars = ax.bar(x, probs, color=[MASKED_COLOR if m else ALLOWED_COLOR for m in masked_keys],
                          edgecolor="black", lw=0.5)
            for bar, m in zip(bars, masked_keys):
                if m:
                    bar.set_hatch(MASKED_HATCH)
                    if hasattr(bar, "set_hatchcolor"):  # matplotlib >= 3.10
                        bar.set_hatchcolor("#BBBBBB")
            ax.set_xticks(x)
            ax.set_xlabel("key j (dark hatched: other region, mask −100)")
            ax.set_ylabel("attention weight")
            ax.set_ylim(0, max(0.05, float(d["p_masked"].max()) * 1.15))
            ax.set_title(title)
        tiny = float(d["p_masked"][masked_keys].max()) if masked_keys.any() else 0.0
        b2.text(0.98, 0.97, f"masked keys: at most {tiny:.1e}\nallowed keys sum to "
                f"{float(d['p_masked'][~masked_keys].sum()):.6f}", transform=b2.transAxes, va="top", ha="right",
                fontsize=8,
                bbox={"boxstyle": "round", "fc": "white", "ec": "#888888"})
        b3.axis("off")
        b3.set_title(f"(h) the logits of query {q} (seed {seed})")
        txt = "\n".join(f"key {j:2d}: {d['logits'][j]:+.2f} {d['mask'][w, q][j]:+7.1f} = {d['masked'][j]:+8.2f}"
                        for j in range(min(N, 16)))
        b3.text(0.0, 1.0, txt, family="DejaVu Sans Mono", fontsize=7.5, va="top", transform=b3.transAxes)
        bottom.suptitle("What softmax does with the mask: e^(−100) ≈ 3.7e−44, so the other regions get weight 0 "
                        "and the same-region keys share all of it", fontweight="bold")
    return fig


def _alt_attention_mask(H=8, W=8, window_size=4, window=None, query=5, seed=0) -> str:
    d = _mask_data(H, W, window_size, window, query, seed)
    N, w, q = d["N"], d["window"], d["query"]
    counts = ", ".join(f"window {k}: {int((d['mask'][k] != 0).sum())}" for k in d["shown"])
    allowed = int((d["mask"][w, q] == 0).sum())
    return (f"Top: {len(d['shown'])} square {N}x{N} matrices, the attention masks of windows {d['shown']} of a "
            f"{d['H']}x{d['W']} map after the cyclic shift (M={d['M']}). Light blue cells are 0 (query and key in the "
            f"same region), dark cross-hatched cells are -100. Coloured strips along the edges give each token's "
            f"region. Masked pairs per window: {counts}; window 0 has none, the bottom-right window is a "
            f"checkerboard of blocks. Bottom: for query {q} of window {w}, (e) its {d['M']}x{d['M']} window with the "
            f"{allowed} allowed keys coloured and the others hatched; (f) a bar chart of softmax weights without the "
            f"mask, all {N} non-zero; (g) with the mask, only the {allowed} same-region keys are non-zero and they "
            f"sum to 1; (h) the numbers: logit + mask = masked logit for each key.")


# ====================================================================== 6. relative position
def _rel_data(window_size, query, seed):
    where = "fig_relative_position"
    M = check_int(window_size, "window_size", minimum=2, where=where)
    if M > 4:
        raise ValueError(f"{where}: window_size must be at most 4 for a readable figure, got {M}")
    qr, qc = _pair_arg(query, "query", where)
    if qr >= M or qc >= M:
        raise ValueError(f"{where}: query must lie in the {M}x{M} window, got {(qr, qc)}")
    seed = check_int(seed, "seed", minimum=0, where=where)
    q = qr * M + qc
    rel = snp.relative_coords(M)
    index = snp.relative_position_index(M)
    rng = np.random.default_rng(seed)
    table = np.round(rng.normal(0.0, 1.0, ((2 * M - 1) ** 2, 1)), 2)
    bias = snp.relative_position_bias(table, M)[0]
    return {"M": M, "qr": qr, "qc": qc, "q": q, "rel": rel, "index": index, "table": table, "bias": bias, "N": M * M, "K": 2 * M - 1}


def fig_relative_position(window_size: int = 3, query: tuple[int, int] = (1, 2), seed: int = 0) -> Figure:
    """Relative position bias, step by step for one query: token coordinates, relative coordinates
    (:func:`~swin_edu.numpy_ref.relative_coords`), the index (:func:`~swin_edu.numpy_ref.relative_position_index`),
    the (2M-1)^2 table and the query's bias (:func:`~swin_edu.numpy_ref.relative_position_bias`)."""
    d = _rel_data(window_size, query, seed)
    M, q, N, K = d["M"], d["q"], d["N"], d["K"]
    rel_q = d["rel"][q].reshape(M, M, 2)
    idx_q = d["index"][q].reshape(M, M)
    with use_style():
        fig = new_figure(13, 8.4)
        axes = fig.subplots(2, 3)
        # (a) coordinates
        ax = axes[0, 0]
        fill_labels(ax, np.zeros((M, M), int), colors=("#F2F2F2",), hatches=("",))
        cell_axes(ax, M, M)
        grid_lines(ax, M, M, 1, color="#888888", lw=1)
        outline(ax, d["qr"], d["qc"], 1, 1, color=HIGHLIGHT, lw=3, inset=0.04)
        annotate_cells(ax, [[f"token {r * M + c}\n({r}, {c})" for c in range(M)] for r in range(M)], fontsize=8)
        ax.set_title(f"(a) window of {M}×{M} tokens: (row, col);\nquery {q} outlined")
        # (b) relative coordinates
        ax = axes[0, 1]
        fill_labels(ax, np.zeros((M, M), int), colors=("#F2F2F2",), hatches=("",))
        cell_axes(ax, M, M)
        grid_lines(ax, M, M, 1, color="#888888", lw=1)
        outline(ax, d["qr"], d["qc"], 1, 1, color=HIGHLIGHT, lw=3, inset=0.04)
        annotate_cells(ax, [[f"({rel_q[r, c, 0]:+d}, {rel_q[r, c, 1]:+d})" for c in range(M)] for r in range(M)],
                       fontsize=8.5)
        ax.set_title(f"(b) relative coords query − key (dy, dx),\neach in [−{M - 1}, {M - 1}]")
        # (c) index of the query's row
        ax = axes[0, 2]
        fill_labels(ax, np.zeros((M, M), int), colors=("#F2F2F2",), hatches=("",))
        cell_axes(ax, M, M)
        grid_lines(ax, M, M, 1, color="#888888", lw=1)
        outline(ax, d["qr"], d["qc"], 1, 1, color=HIGHLIGHT, lw=3, inset=0.04)
        annotate_cells(ax, [[f"({rel_q[r, c, 0] + M - 1}·{K} + {rel_q[r, c, 1] + M - 1})\n= {idx_q[r, c]}"
                             for c in range(M)] for r in range(M)], fontsize=8)
        ax.set_title(f"(c) index = (dy + {M - 1})·{K} + (dx + {M - 1})\n(shift by M−1, row × (2M−1))")
        # (d) full index matrix
        ax = axes[1, 0]
        ax.imshow(d["index"], extent=(0, N, N, 0), cmap=SEQ_CMAP, vmin=0, vmax=K * K - 1, interpolation="nearest")
        cell_axes(ax, N, N)
        import matplotlib

        cm = matplotlib.colormaps[SEQ_CMAP]
        annotate_cells(ax, d["index"], fontsize=7 if N <= 9 else 5,
                       background=[[cm(v / (K * K - 1)) for v in row] for row in d["index"]])
        outline(ax, q, 0, 1, N, color=HIGHLIGHT, lw=2.5)
        ax.set_xticks(np.arange(N) + 0.5, range(N), fontsize=7)
        ax.set_yticks(np.arange(N) + 0.5, range(N), fontsize=7)
        ax.set_xlabel("key j")
        ax.set_ylabel("query i")
        ax.set_title(f"(d) relative_position_index ({N}×{N});\nrow {q} is (c) read row by row")
        # (e) the table
        ax = axes[1, 1]
        tab = d["table"][:, 0].reshape(K, K)
        lim = float(np.abs(tab).max())
        ax.imshow(tab, extent=(0, K, K, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
        cell_axes(ax, K, K)
        dcm = matplotlib.colormaps[DIV_CMAP]
        annotate_cells(ax, [[f"#{r * K + c}\n{tab[r, c]:+.2f}" for c in range(K)] for r in range(K)],
                       fontsize=7, background=[[dcm((v + lim) / (2 * lim)) for v in row] for row in tab])
        used = sorted(set(d["index"][q].tolist()))
        for k in used:
            outline(ax, k // K, k % K, 1, 1, color=HIGHLIGHT, lw=2, inset=0.05)
        ax.set_xticks(np.arange(K) + 0.5, [f"{v:+d}" for v in range(-(M - 1), M)])
        ax.set_yticks(np.arange(K) + 0.5, [f"{v:+d}" for v in range(-(M - 1), M)])
        ax.set_xlabel("dx")
        ax.set_ylabel("dy")
        ax.set_title(f"(e) relative_position_bias_table: (2M−1)² = {K * K}\nlearned numbers (one head, seed {seed});"
                     f" query {q} reads the outlined {len(used)}")
        # (f) the bias of the query
        ax = axes[1, 2]
        bq = d["bias"][q].reshape(M, M)
        ax.imshow(bq, extent=(0, M, M, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
        cell_axes(ax, M, M)
        annotate_cells(ax, [[f"table[{idx_q[r, c]}]\n= {bq[r, c]:+.2f}" for c in range(M)] for r in range(M)],
                       fontsize=8, background=[[dcm((v + lim) / (2 * lim)) for v in row] for row in bq])
        outline(ax, d["qr"], d["qc"], 1, 1, color=HIGHLIGHT, lw=3, inset=0.04)
        ax.set_title(f"(f) bias B[{q}, j] added to query {q}'s logits\n(shaped as the window)")
        fig.suptitle("Relative position bias: SoftMax(QKᵀ/√d + B) V, with B looked up from a (2M−1)×(2M−1) "
                     "table by relative offset", fontweight="bold")
    return fig


def _alt_relative_position(window_size=3, query=(1, 2), seed=0) -> str:
    d = _rel_data(window_size, query, seed)
    M, q, K = d["M"], d["q"], d["K"]
    return (f"Six panels for a {M}x{M} window. (a) The tokens with their (row, col) coordinates, query {q} at "
            f"({d['qr']}, {d['qc']}) outlined. (b) For each key, the offset query minus key, for example "
            f"({d['rel'][q, 0, 0]:+d}, {d['rel'][q, 0, 1]:+d}) for key 0. (c) Each offset shifted by {M - 1} and "
            f"combined as (dy+{M - 1})*{K} + (dx+{M - 1}); query {q}'s indices are {d['index'][q].tolist()}. "
            f"(d) The full {M * M}x{M * M} index matrix with row {q} outlined. (e) The {K}x{K} = {K * K}-entry "
            f"bias table with numbered entries and the {M * M} entries query {q} reads outlined. (f) The bias "
            f"those entries give to query {q}'s {M * M} keys, laid out as the window.")


# ====================================================================== 7. patch merging
def _merge_data(H, W, C, seed):
    where = "fig_patch_merging"
    H, W = check_int(H, "H", minimum=2, where=where), check_int(W, "W", minimum=2, where=where)
    C = check_int(C, "C", where=where)
    seed = check_int(seed, "seed", minimum=0, where=where)
    if H > 8 or W > 8 or C > 2:
        raise ValueError(f"{where}: use a small map for a readable figure (H, W <= 8, C <= 2), got "
                         f"H={H}, W={W}, C={C}")
    check_divisible(H, 2, "H", "2", where=where)
    check_divisible(W, 2, "W", "2", where=where)
    x = np.arange(1, H * W * C + 1, dtype=np.float32).reshape(1, H, W, C)
    gathered = snp.patch_merging_gather(x)[0]  # (H/2, W/2, 4C)
    rng = np.random.default_rng(seed)
    weight = np.round(rng.normal(0.0, 0.5, (2 * C, 4 * C)), 2).astype(np.float32)
    # the figure shows the linear map on the gathered numbers; the real module puts LayerNorm(4C) first
    # (on the map 1..16 every 2x2 group is [a, a+4, a+1, a+5], so LayerNorm would make all tokens equal)
    merged = snp.patch_merging(x, weight)[0]
    merged_ln = snp.patch_merging(x, weight, np.ones(4 * C, np.float32), np.zeros(4 * C, np.float32))[0]
    offset = np.zeros((H, W), dtype=np.int64)
    for k, (r, c) in enumerate(snp.GATHER_OFFSETS):
        offset[r::2, c::2] = k
    return {"H": H, "W": W, "C": C, "x": x[0], "gathered": gathered, "merged": merged, "merged_ln": merged_ln, "weight": weight,
                "offset": offset}


def fig_patch_merging(H: int = 4, W: int = 4, C: int = 1, seed: int = 0) -> Figure:
    """Patch merging on the seed's 4x4 single-channel map: the 2x2 gather in the official order
    x0=(0,0), x1=(1,0), x2=(0,1), x3=(1,1) (:data:`~swin_edu.numpy_ref.GATHER_OFFSETS`), the
    concatenation to 4C (:func:`~swin_edu.numpy_ref.patch_merging_gather`), and LayerNorm + linear to 2C
    (:func:`~swin_edu.numpy_ref.patch_merging`, seeded weights)."""
    d = _merge_data(H, W, C, seed)
    H, W, C = d["H"], d["W"], d["C"]
    h2, w2 = H // 2, W // 2

    def fmt(v):
        return f"{v:g}"

    with use_style():
        fig = new_figure(14, 4.9)
        gs = fig.add_gridspec(2, 7, width_ratios=[2, 0.35, 1, 1, 0.35, 2.2, 2.2], height_ratios=[1, 1])
        ax = fig.add_subplot(gs[:, 0])
        fill_labels(ax, d["offset"], colors=REGION_COLORS[:4], hatches=REGION_HATCHES[:4])
        cell_axes(ax, H, W)
        grid_lines(ax, H, W, 1, color="white", lw=1)
        grid_lines(ax, H, W, 2, color="black", lw=2.5)
        labels = [[f"{', '.join(fmt(v) for v in d['x'][r, c])}\nx{d['offset'][r, c]}" for c in range(W)]
                  for r in range(H)]
        annotate_cells(ax, labels, fontsize=9, box=True)
        ax.set_title(f"(a) map {H}×{W}×{C}: 2×2 groups;\ncolour = offset in the group")
        for k, (r, c) in enumerate(snp.GATHER_OFFSETS):
            sub = fig.add_subplot(gs[k % 2, 2 + k // 2])
            part = d["x"][r::2, c::2]
            fill_labels(sub, np.full((h2, w2), k), colors=REGION_COLORS[:4], hatches=REGION_HATCHES[:4])
            cell_axes(sub, h2, w2)
            grid_lines(sub, h2, w2, 1, color="white", lw=1)
            annotate_cells(sub, [[", ".join(fmt(v) for v in part[i, j]) for j in range(w2)] for i in range(h2)],
                           fontsize=9, box=True)
            sub.set_title(f"x{k} = x[{r}::2, {c}::2]", fontsize=8.5, fontfamily="DejaVu Sans Mono")
        ax = fig.add_subplot(gs[:, 5])
        g = d["gathered"]
        cell_axes(ax, h2, w2)
        fill_labels(ax, np.zeros((h2, w2), int), colors=("#F7F7F7",), hatches=("",))
        grid_lines(ax, h2, w2, 1, color="black", lw=1.5)
        annotate_cells(ax, [["[" + ", ".join(fmt(v) for v in g[i, j]) + "]" for j in range(w2)] for i in range(h2)],
                       fontsize=9)
        ax.set_title(f"(b) concatenate [x0, x1, x2, x3]:\n{h2}×{w2}×{4 * C} (patch_merging_gather)")
        ax = fig.add_subplot(gs[:, 6])
        m = d["merged"]
        cell_axes(ax, h2, w2)
        fill_labels(ax, np.zeros((h2, w2), int), colors=("#F7F7F7",), hatches=("",))
        grid_lines(ax, h2, w2, 1, color="black", lw=1.5)
        annotate_cells(ax, [["[" + ", ".join(f"{v:+.2f}" for v in m[i, j]) + "]" for j in range(w2)]
                            for i in range(h2)], fontsize=9)
        ax.set_title(f"(c) Linear {4 * C}→{2 * C}, no bias (seed {seed}):\n{h2}×{w2}×{2 * C}")
        ax.set_xlabel(f"The real module applies LayerNorm({4 * C}) first; on this map\nevery group is "
                      f"[a, a+4, a+1, a+5], so LayerNorm would\nmake all four tokens equal.", fontsize=7.5)
        fig.suptitle(f"Patch merging: halve the map, double the channels: ({H}, {W}, {C}) → ({h2}, {w2}, {4 * C})"
                     f" → ({h2}, {w2}, {2 * C}); official gather order x0=(0,0), x1=(1,0), x2=(0,1), x3=(1,1)",
                     fontweight="bold")
    return fig


def _alt_patch_merging(H=4, W=4, C=1, seed=0) -> str:
    d = _merge_data(H, W, C, seed)
    g = d["gathered"]
    return (f"(a) A {d['H']}x{d['W']} grid numbered 1 to {d['H'] * d['W'] * d['C']} row by row, cut into 2x2 "
            f"groups; each cell is coloured and hatched by its position in its group, labelled x0 (top-left), x1 "
            f"(bottom-left), x2 (top-right), x3 (bottom-right). Four small grids show x0 to x3, each taking one "
            f"position from every group. (b) Their concatenation: a {d['H'] // 2}x{d['W'] // 2} grid whose first "
            f"token is {g[0, 0].astype(int).tolist()}. (c) After a linear layer from {4 * d['C']} to "
            f"{2 * d['C']} channels (the real module normalises with LayerNorm first), each token holds "
            f"{2 * d['C']} numbers.")


# ====================================================================== 8. architecture
def _arch_data(cfg):
    cfg = _check_cfg(cfg, "fig_architecture")
    return {"cfg": cfg, "res": cfg.stage_resolutions(), "wins": cfg.stage_windows(), "dims": cfg.stage_dims,
                "macs": complexity.model_macs(cfg, per_stage=True), "params": complexity.param_count(cfg, per_stage=True)}


def _box(ax, x, y, w, h, text, fc, hatch="", fontsize=8, ec="black", lw=1.2, bold=False):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.0,rounding_size=0.6", fc=fc, ec=ec, lw=lw,
                                hatch=hatch, zorder=2))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, zorder=4,
            fontweight="bold" if bold else "normal",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85} if hatch else None)


def _arrow(ax, x0, y0, x1, y1, **kw):
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=12, color="black", lw=1.2,
                                 zorder=3, **kw))


def fig_architecture(cfg: SwinConfig | None = None) -> Figure:
    """The architecture drawn from a :class:`~swin_edu.config.SwinConfig` (Swin-T by default): the stages
    with their output shapes, heads and windows, the W-MSA/SW-MSA block pair, and the parameters and
    MACs of each stage from :mod:`swin_edu.complexity`."""
    d = _arch_data(cfg)
    cfg, res, wins, dims = d["cfg"], d["res"], d["wins"], d["dims"]
    n = cfg.num_layers
    H, W = cfg.img_hw
    p = cfg.patch_size
    with use_style():
        fig = new_figure(14, 6.6)
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 0.9])
        ax = top.subplots()
        ax.set_xlim(0, 100)
        ax.set_ylim(3, 25)
        ax.axis("off")
        nb = n + 3
        gap = 2.2
        bw = (100 - gap * (nb - 1)) / nb
        xs = [i * (bw + gap) for i in range(nb)]
        y, bh = 4, 20
        _box(ax, xs[0], y, bw, bh, f"Images\n{H}×{W}×{cfg.in_chans}", "#FFFFFF")
        h0, w0 = res[0]
        _box(ax, xs[1], y, bw, bh, f"Patch\nPartition\n{p}×{p} patches\n\n{h0}×{w0}×{p * p * cfg.in_chans}",
             "#F2F2F2")
        stage_colors = (OKABE_ITO["sky_blue"], OKABE_ITO["bluish_green"], OKABE_ITO["yellow"], OKABE_ITO["orange"],
                        OKABE_ITO["reddish_purple"], "#DDDDDD")
        for i in range(n):
            h, w = res[i]
            M, s = wins[i]
            first = "Linear\nEmbedding" if i == 0 else "Patch\nMerging"
            text = (f"Stage {i + 1}\n\n{first}\n+ Swin Block ×{cfg.depths[i]}\n\n{h}×{w}×{dims[i]}\n"
                    f"({H // h}× down)\nheads {cfg.num_heads[i]}\nwindow {M}" + (f", shift {s}" if s else ", no shift"))
            _box(ax, xs[2 + i], y, bw, bh, text, stage_colors[i % len(stage_colors)], fontsize=9)
        _box(ax, xs[-1], y, bw, bh, f"Head\n\nLayerNorm\navg pool\nLinear {cfg.num_features}→{cfg.num_classes}\n\n"
                                    f"{cfg.num_classes} classes", "#FFFFFF")
        for i in range(nb - 1):
            _arrow(ax, xs[i] + bw, y + bh / 2, xs[i + 1], y + bh / 2)
        ax.set_title(f"{_model_name(cfg)}: C = {cfg.embed_dim}, depths {cfg.depths}, heads {cfg.num_heads}, "
                     f"window {cfg.window_size};  {d['params']['total']:,} parameters, "
                     f"{d['macs']['total'] / 1e9:.2f} G MACs (the paper's \"FLOPs\")", fontsize=11)
        b1, b2 = bottom.subplots(1, 2, width_ratios=[1.35, 1])
        # the block pair
        b1.set_xlim(0, 100)
        b1.set_ylim(0, 30)
        b1.axis("off")
        chain = [("LN", "#FFFFFF", ""), ("W-MSA", OKABE_ITO["sky_blue"], ""), ("+", None, ""),
                 ("LN", "#FFFFFF", ""), ("MLP", OKABE_ITO["bluish_green"], ""), ("+", None, ""),
                 ("LN", "#FFFFFF", ""), ("SW-MSA", OKABE_ITO["orange"], "///"), ("+", None, ""),
                 ("LN", "#FFFFFF", ""), ("MLP", OKABE_ITO["bluish_green"], ""), ("+", None, "")]
        x, yc = 2.0, 17.0
        prev_end, res_start = None, x
        for k, (label, fc, hatch) in enumerate(chain):
            if label == "+":
                b1.add_patch(_circle((x + 1.6, yc), 1.6))
                b1.text(x + 1.6, yc, "+", ha="center", va="center", fontsize=11, zorder=5)
                _arrow(b1, prev_end, yc, x, yc)
                # residual connection from the start of this half-block to the "+"
                b1.plot([res_start, res_start, x + 1.6], [yc, yc + 9, yc + 9], color="#555555", lw=1.2, zorder=1)
                b1.add_patch(FancyArrowPatch((x + 1.6, yc + 9), (x + 1.6, yc + 1.6), arrowstyle="-|>",
                                             mutation_scale=10, color="#555555", lw=1.2, zorder=3))
                prev_end = x + 3.2
                res_start = x + 4.2
                x += 5.2
                continue
            wbox = 9.5 if "MSA" in label else 6.0
            _box(b1, x, yc - 4, wbox, 8, label, fc, hatch=hatch, fontsize=8.5, bold="MSA" in label)
            if prev_end is not None:
                _arrow(b1, prev_end, yc, x, yc)
            prev_end = x + wbox
            x += wbox + 1.5
        b1.text(50, 3, "two successive Swin blocks: the first attends in regular windows (W-MSA), the second in "
                "shifted windows (SW-MSA);\nresidual connections (grey) skip each LayerNorm + module pair; "
                "MLP = Linear C→4C, GELU, Linear 4C→C", ha="center", fontsize=8)
        b1.set_title("Swin Transformer block pair (each stage has depth/2 of them)")
        # the table
        b2.axis("off")
        rows = []
        for i in range(n):
            (h, w), (M, s) = res[i], wins[i]
            rows.append([f"{i + 1}", f"{h}×{w}", f"{dims[i]}", f"{cfg.num_heads[i]}", f"{M} / {s}",
                         f"{cfg.depths[i]}", f"{d['params'][f'stage{i}'] / 1e6:.2f} M",
                         f"{d['macs'][f'stage{i}'] / 1e9:.3f} G"])
        rows.append(["embed", f"{res[0][0]}×{res[0][1]}", f"{cfg.embed_dim}", "", "", "",
                     f"{d['params']['patch_embed'] / 1e6:.3f} M", f"{d['macs']['patch_embed'] / 1e9:.3f} G"])
        rows.append(["head", "", f"{cfg.num_features}", "", "", "", f"{d['params']['head'] / 1e6:.3f} M",
                     f"{d['macs']['head'] / 1e9:.4f} G"])
        rows.append(["total", "", "", "", "", f"{sum(cfg.depths)}", f"{d['params']['total'] / 1e6:.2f} M",
                     f"{d['macs']['total'] / 1e9:.2f} G"])
        table = b2.table(cellText=rows, colLabels=["stage", "tokens", "C", "heads", "M / shift", "blocks",
                                                   "params", "MACs"], loc="center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1, 1.35)
        for (r, c), cell in table.get_celld().items():
            if r == 0:
                cell.set_text_props(fontweight="bold")
                cell.set_facecolor("#E5E5E5")
        b2.set_title("per stage (stage rows include the patch merging that ends them)")
    return fig


def _circle(xy, radius):
    from matplotlib.patches import Circle

    return Circle(xy, radius, fc="white", ec="black", lw=1.2, zorder=4)


def _alt_architecture(cfg=None) -> str:
    d = _arch_data(cfg)
    cfg = d["cfg"]
    stages = "; ".join(
        f"stage {i + 1}: {'linear embedding' if i == 0 else 'patch merging'} and {cfg.depths[i]} Swin blocks, "
        f"output {h}x{w}x{c}, {cfg.num_heads[i]} heads, window {M}"
        for i, ((h, w), c, (M, _)) in enumerate(zip(d["res"], d["dims"], d["wins"])))
    H, W = cfg.img_hw
    return (f"Block diagram of {_model_name(cfg)}. A row of boxes joined by arrows: images {H}x{W}x{cfg.in_chans}; "
            f"patch partition; {stages}; a head with LayerNorm, average pooling and a linear layer to "
            f"{cfg.num_classes} classes. Title: {d['params']['total']:,} parameters and "
            f"{d['macs']['total'] / 1e9:.2f} G multiply-accumulates. Below, left: two successive Swin blocks, "
            f"LayerNorm then W-MSA then add, LayerNorm then MLP then add, then the same with SW-MSA (hatched), with "
            f"residual connections. Below, right: a table of tokens, channels, heads, window and shift, blocks, "
            f"parameters and MACs per stage.")


# ====================================================================== registry and command line
@dataclass(frozen=True)
class FigureSpec:
    """One figure of the course: how to draw it, its alt text, which notebooks use it."""

    name: str
    make: Callable[..., Figure]
    alt: Callable[..., str]
    caption: str
    notebooks: tuple[str, ...]


FIGURES: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in (
        FigureSpec("01_patch_partition", fig_patch_partition, _alt_patch_partition,
                   "Patch partition and linear embedding on a real photo.", ("01",)),
        FigureSpec("02_hierarchical_maps", fig_hierarchical_maps, _alt_hierarchical_maps,
                   "Swin's hierarchical feature maps next to ViT's single map.", ("00", "05")),
        FigureSpec("03_window_attention", fig_window_attention, _alt_window_attention,
                   "MSA vs W-MSA: windows and complexity as the image grows.", ("02",)),
        FigureSpec("04_shifted_windows", fig_shifted_windows, _alt_shifted_windows,
                   "Shifted windows: 9 uneven windows and the cyclic shift back to 4.", ("03",)),
        FigureSpec("05_attention_mask", fig_attention_mask, _alt_attention_mask,
                   "The 0 / -100 attention mask of each window and its effect on softmax.", ("03",)),
        FigureSpec("06_relative_position", fig_relative_position, _alt_relative_position,
                   "Relative position index, bias table and one query's bias.", ("04",)),
        FigureSpec("07_patch_merging", fig_patch_merging, _alt_patch_merging,
                   "Patch merging: 2x2 gather, concatenation to 4C, linear to 2C.", ("05",)),
        FigureSpec("08_architecture", fig_architecture, _alt_architecture,
                   "The Swin-T architecture with the shape of each stage.", ("00", "06", "07")),
    )
}


def _spec(name: str) -> FigureSpec:
    if not isinstance(name, str):
        raise TypeError(f"{_WHERE}: name must be a str, got {type(name).__name__}")
    if name not in FIGURES:
        raise ValueError(f"{_WHERE}: unknown figure {name!r}; expected one of {sorted(FIGURES)}")
    return FIGURES[name]


def make_figure(name: str, **kwargs: Any) -> Figure:
    """Draw the figure ``name`` (see :data:`FIGURES`), optionally with other parameters."""
    return _spec(name).make(**kwargs)


def alt_text(name: str, **kwargs: Any) -> str:
    """The alt text of figure ``name`` (for the same parameters as :func:`make_figure`)."""
    return _spec(name).alt(**kwargs)


def figures_dir() -> Path:
    """The repository's ``figures/`` folder (next to the ``swin_edu`` package)."""
    return Path(__file__).resolve().parents[2] / "figures"


def render_all(out: str | Path, names: Sequence[str] | None = None, verbose: bool = False) -> dict[str, Path]:
    """Write every figure (or ``names``) to ``out/<name>.png``; with all of them, also ``alt_text.json``,
    ``ALT_TEXT.md`` and ``RENDERED_WITH.txt`` (the matplotlib/FreeType/Pillow versions that drew them).

    Deterministic: the same package and matplotlib give the same bytes. Returns {name: path}.
    """
    out = Path(out)
    names = list(FIGURES) if names is None else [_spec(n).name for n in names]
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    np.random.seed(0)  # nothing here uses the global RNG; belt and braces
    for name in names:
        fig = make_figure(name)
        paths[name] = save_png(fig, out / f"{name}.png")
        if verbose:
            data = paths[name].read_bytes()
            print(f"{name}.png  {len(data) / 1024:6.1f} KB  sha256 {hashlib.sha256(data).hexdigest()[:12]}")
    if names == list(FIGURES):
        meta = {name: {"file": f"{name}.png", "alt": alt_text(name), "caption": spec.caption,
                       "notebooks": list(spec.notebooks)} for name, spec in FIGURES.items()}
        (out / "alt_text.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                           encoding="utf-8")
        lines = ["# Figures and their alt text", "",
                 "Generated by `python -m swin_edu.viz.figures --out figures` (do not edit by hand). Each figure is",
                 "drawn by the function of the same name in `swin_edu/viz/figures.py` from what `swin_edu` computes.",
                 "Embed one in a notebook with `swin_edu.viz.figures.figure_markdown(name)` or",
                 "`swin_edu.viz.show_figure(name)`.", ""]
        for name, m in meta.items():
            lines += [f"## {name}", "", f"{m['caption']} Used in notebook(s) {', '.join(m['notebooks'])}.", "",
                      f"Alt text: {m['alt']}", ""]
        (out / "ALT_TEXT.md").write_text("\n".join(lines), encoding="utf-8")
        (out / "RENDERED_WITH.txt").write_text(_rendered_with(), encoding="utf-8")
    return paths


def _rendered_with() -> str:
    """The libraries that decide the pixels and the PNG encoding (the tests compare figures/ exactly only
    when these match)."""
    import matplotlib
    import PIL
    from matplotlib import ft2font

    return (f"matplotlib {matplotlib.__version__}\nFreeType {ft2font.__freetype_version__}\n"
            f"Pillow {PIL.__version__}\n")


def figure_markdown(name: str, relative_to: str = "notebooks") -> str:
    """Markdown that embeds figure ``name`` with its alt text, for a notebook in ``relative_to``."""
    spec = _spec(name)
    depth = len([p for p in Path(relative_to).parts if p not in ("", ".")])
    prefix = "../" * depth
    alt = alt_text(spec.name).replace("[", "(").replace("]", ")")
    return f"![{alt}]({prefix}figures/{spec.name}.png)"


def show_figure(name: str, width: int | None = None):
    """Display figure ``name`` in a notebook with its alt text (an ``<img alt=...>``).

    Reads ``figures/<name>.png`` when it exists (the committed file), otherwise draws it.
    """
    import base64
    import html

    from IPython.display import HTML

    from .style import png_bytes

    spec = _spec(name)
    path = figures_dir() / f"{spec.name}.png"
    data = path.read_bytes() if path.exists() else png_bytes(make_figure(spec.name))
    style = f' width="{check_int(width, "width", where="show_figure")}"' if width is not None else ""
    alt = html.escape(alt_text(spec.name), quote=True)
    b64 = base64.b64encode(data).decode("ascii")
    return HTML(f'<img src="data:image/png;base64,{b64}" alt="{alt}" title="{html.escape(spec.caption)}"{style}>')


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m swin_edu.viz.figures [--out figures] [--only NAME ...] [--check]``."""
    import matplotlib

    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(prog="python -m swin_edu.viz.figures",
                                     description="Regenerate the course's figures (deterministic PNGs + alt text).")
    parser.add_argument("--out", default=str(figures_dir()), help="output folder (default: the repo's figures/)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(FIGURES), help="only these figures")
    parser.add_argument("--check", action="store_true",
                        help="render into a temporary folder and fail if any file differs from --out")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, spec in FIGURES.items():
            print(f"{name:24s} {spec.caption}")
        return 0
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            render_all(tmp, args.only)
            bad = []
            for f in sorted(Path(tmp).iterdir()):
                target = Path(args.out) / f.name
                if not target.exists() or target.read_bytes() != f.read_bytes():
                    bad.append(f.name)
            if bad:
                print(f"figures out of date in {args.out}: {', '.join(bad)} "
                      f"(run python -m swin_edu.viz.figures --out {args.out})", file=sys.stderr)
                return 1
            print(f"figures in {args.out} are up to date")
            return 0
    paths = render_all(args.out, args.only, verbose=True)
    print(f"wrote {len(paths)} figures to {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
