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

from .. import complexity, i18n
from .. import numpy_ref as snp
from .._validate import check_divisible, check_int
from ..course import FIGURES_DIR
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
    "caption",
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
_t = i18n.t

#: every text the figures draw and their alt texts, in each language (:mod:`swin_edu.i18n`'s catalogue);
#: ``python -m swin_edu.viz.figures --lang zh`` draws the Chinese set (figures/zh/) with the packaged CJK font
i18n.add_messages({
    "fig.alt_sep": {"en": "; ", "zh": "；"},
    "fig.list_sep": {"en": ", ", "zh": "、"},
    "fig.key_j": {"en": "key j", "zh": "键 j"},
    "fig.query_i": {"en": "query i", "zh": "查询 i"},
    # 01
    "f01.a": {"en": "(a) photo {size}×{size}×3 → {g}×{g} patches of {p}×{p}",
              "zh": "(a) 照片 {size}×{size}×3 → {g}×{g} 个 {p}×{p} 的图像块"},
    "f01.b": {"en": "(b) zoom: {Z}×{Z} patches, patch ({r}, {c}) outlined",
              "zh": "(b) 放大：{Z}×{Z} 个图像块，框出图像块 ({r}, {c})"},
    "f01.c": {"en": "(c) patch ({r}, {c}): {p}×{p} pixels × 3 channels,\nread row by row",
              "zh": "(c) 图像块 ({r}, {c})：{p}×{p} 个像素 × 3 个通道，\n按行读取"},
    "f01.d": {"en": "(d) patch partition: the patch flattened row by row, pixel by pixel, channel by channel = "
                    "{p}·{p}·3 = {n} numbers (one token of the {g}×{g}×{n} map)",
              "zh": "(d) 图像块分割：把图像块逐行、逐像素、逐通道展平 = {p}·{p}·3 = {n} 个数（{g}×{g}×{n} 特征图中的"
                    "一个 token）"},
    "f01.channel": {"en": "channel", "zh": "通道"},
    "f01.e": {"en": "(e) linear embedding ({p}×{p} conv, stride {p}; random weights, seed {seed}): {n} → C = {C} "
                    "numbers per token, then LayerNorm",
              "zh": "(e) 线性嵌入（{p}×{p} 卷积，步长 {p}；随机权重，种子 {seed}）：每个 token 由 {n} 个数变成 C = {C} "
                    "个数，然后做 LayerNorm"},
    "f01.title": {"en": "Patch partition + linear embedding: image {img} → tokens {tok} → embedded {emb}",
                  "zh": "图像块分割 + 线性嵌入：图像 {img} → token {tok} → 嵌入后 {emb}"},
    "f01.alt": {"en": "Five panels. (a) A {size}x{size} colour photo of Grace Hopper with a grid of {g}x{g} patches of "
                      "{p}x{p} pixels. (b) A zoom on 8x8 patches around her face, with patch ({r}, {c}) outlined. (c) "
                      "That patch enlarged: {pp} pixels numbered px 0 to px {last} row by row. (d) A strip of its {n} "
                      "numbers in the order R, G, B of px 0, then px 1, and so on; the first three are {v0}, {v1}, "
                      "{v2}. (e) A strip of the {C} numbers the linear embedding (a {p}x{p} convolution with stride "
                      "{p}) makes from them. Title: image {img} becomes tokens {tok}, then {emb}.",
                "zh": "五幅小图。(a) 一张 {size}x{size} 的 Grace Hopper 彩色照片，画着 {g}x{g} 个 {p}x{p} 像素的图像块网格。"
                      "(b) 她脸部周围 8x8 个图像块的放大图，框出了图像块 ({r}, {c})。(c) 把这个图像块放大：{pp} 个像素按行"
                      "编号为 px 0 到 px {last}。(d) 它的 {n} 个数排成一条，顺序是 px 0 的 R、G、B，然后是 px 1，依此类推；"
                      "前三个数是 {v0}、{v1}、{v2}。(e) 线性嵌入（一个步长为 {p} 的 {p}x{p} 卷积）由它们算出的 {C} 个数"
                      "排成的一条。标题：图像 {img} 变成 token {tok}，再变成 {emb}。"},
    # 02
    "f02.swin": {"en": "Swin stage {i}: {hw}×{dim}\n{down}× down, windows {M}×{M}",
                 "zh": "Swin stage {i}：{hw}×{dim}\n{down}× 下采样，窗口 {M}×{M}"},
    "f02.no_shift": {"en": ", no shift", "zh": "，不移位"},
    "f02.swin_row": {"en": "Swin: local windows", "zh": "Swin：局部窗口"},
    "f02.vit": {"en": "ViT layers {a}–{b}: {hw}×768\n{vp}× down, one global window",
                "zh": "ViT 第 {a}–{b} 层：{hw}×768\n{vp}× 下采样，一个全局窗口"},
    "f02.vit_row": {"en": "ViT: global attention", "zh": "ViT：全局注意力"},
    "f02.title": {"en": "{model} builds a pyramid of feature maps (windows outlined in vermillion); ViT-B/{vp} keeps "
                        "one map",
                  "zh": "{model} 逐级构建特征图金字塔（朱红色框出窗口）；ViT-B/{vp} 始终只有一张特征图"},
    "f02.alt_stage": {"en": "stage {i}: {h}x{w} tokens with {d} channels, {down} times downsampled, windows of {M}x{M}",
                      "zh": "stage {i} 为 {h}x{w} 个 token、{d} 个通道、{down} 倍下采样、{M}x{M} 窗口"},
    "f02.alt": {"en": "Two rows of pixelated versions of the same photo. Top row, {model}: {stages}. Each map shows its "
                      "token grid and, outlined in vermillion, its attention windows; the maps get coarser from left to "
                      "right. Bottom row, ViT-B/{vp}: the same {gh}x{gw} map in every group of layers, outlined as a "
                      "single global window.",
                "zh": "两行图，都是同一张照片的像素化版本。上行是 {model}：{stages}。每张图都画出了 token 网格，并用朱红色"
                      "框出注意力窗口；从左到右越来越粗。下行是 ViT-B/{vp}：每一组层都是同样的 {gh}x{gw} 特征图，整张图"
                      "只有一个全局窗口。"},
    # 03
    "f03.a": {"en": "(a) MSA: a query attends to all 16 tokens", "zh": "(a) MSA：一个查询关注全部 16 个 token"},
    "f03.b": {"en": "(b) W-MSA, 2×2 windows: only the 4 of its window",
              "zh": "(b) W-MSA，2×2 窗口：只关注自己窗口里的 4 个"},
    "f03.c": {"en": "(c) {h}×{w} map, M = {M}: {nW} windows × {MM} tokens",
              "zh": "(c) {h}×{w} 特征图，M = {M}：{nW} 个窗口 × {MM} 个 token"},
    # (no $mathtext$ in Chinese: matplotlib draws a $...$ label with its math font, which has no CJK glyphs)
    "f03.msa": {"en": "MSA: $4hwC^2 + 2(hw)^2C$ (quadratic in $hw$)", "zh": "MSA：4hwC² + 2(hw)²C（hw 的二次函数）"},
    "f03.wmsa": {"en": "W-MSA: $4hwC^2 + 2M^2hwC$ (linear in $hw$)", "zh": "W-MSA：4hwC² + 2M²hwC（hw 的线性函数）"},
    "f03.msa2": {"en": "MSA second term $2(hw)^2C$", "zh": "MSA 第二项 2(hw)²C"},
    "f03.wmsa2": {"en": "W-MSA second term $2M^2hwC$", "zh": "W-MSA 第二项 2M²hwC"},
    "f03.xlabel": {"en": "tokens hw  (square map; image side = 4·√(hw) px)",
                   "zh": "token 数 hw（正方形特征图；图像边长 = 4·√(hw) 像素）"},
    "f03.ylabel": {"en": "GMACs of one attention layer", "zh": "一层注意力的乘加次数（G）"},
    "f03.point": {"en": "{h}×{w} (224 px image)", "zh": "{h}×{w}（224 像素的图像）"},
    "f03.d": {"en": "(d) C = {C}, M = {M}: MSA grows quadratically, W-MSA linearly",
              "zh": "(d) C = {C}, M = {M}：MSA 二次增长，W-MSA 线性增长"},
    "f03.ratio": {"en": "×{ratio} at {h}×{w} (seed):\n2(hw)²C = {a:,}\n2M²hwC = {b:,}",
                  "zh": "{h}×{w} 处相差 ×{ratio}（原文）：\n2(hw)²C = {a:,}\n2M²hwC = {b:,}"},
    "f03.e": {"en": "(e) log-log: slope 2 vs slope 1; the seed's 64× point",
              "zh": "(e) 双对数坐标：斜率 2 对斜率 1；原文的 64× 就是这个点"},
    "f03.title": {"en": "Window attention (W-MSA) computes self-attention inside M×M windows only",
                  "zh": "窗口注意力（W-MSA）只在 M×M 窗口内部计算自注意力"},
    "f03.alt": {"en": "Top: (a) a 4x4 grid of tokens where one query token q is connected to all 16 (MSA); (b) the same "
                      "grid cut into four 2x2 windows where q only reaches the 4 tokens of its window (W-MSA); (c) a "
                      "{h}x{w} map cut into {nW} windows of {M}x{M} tokens, one highlighted. Bottom: multiply-accumulates "
                      "of one attention layer with C={C} against the number of tokens hw. (d) Linear axes: the MSA "
                      "curve bends upward like a parabola while the W-MSA curve is a straight line close to zero. (e) "
                      "Log-log axes: slopes 2 and 1; at {h}x{w} an arrow marks the ratio of the second terms, "
                      "2(hw)^2C = {a:,} against 2M^2hwC = {b:,}, {ratio} times less.",
                "zh": "上排：(a) 一个 4x4 的 token 网格，一个查询 token q 连向全部 16 个 token（MSA）；(b) 同一个网格切成"
                      "四个 2x2 窗口，q 只能连到自己窗口里的 4 个 token（W-MSA）；(c) 一张 {h}x{w} 的特征图切成 {nW} 个 "
                      "{M}x{M} token 的窗口，其中一个被高亮。下排：C={C} 时一层注意力的乘加次数随 token 数 hw 的变化。"
                      "(d) 线性坐标轴：MSA 的曲线像抛物线一样向上弯，W-MSA 的曲线是一条贴近零的直线。(e) 双对数坐标轴："
                      "斜率分别为 2 和 1；在 {h}x{w} 处，一个箭头标出两者第二项之比，2(hw)^2C = {a:,} 对 2M^2hwC = "
                      "{b:,}，少了 {ratio} 倍。"},
    # 04
    "f04.a": {"en": "(a) W-MSA:\n{nW} windows of {M}×{M}", "zh": "(a) W-MSA：\n{nW} 个 {M}×{M} 的窗口"},
    "f04.b": {"en": "(b) move the grid by ⌊M/2⌋ = {s}\n(right, down): {n} uneven windows",
              "zh": "(b) 把窗口网格移动 ⌊M/2⌋ = {s}\n（向右、向下）：{n} 个大小不一的窗口"},
    "f04.c": {"en": "(c) cyclic shift: roll the map by −{s}\n(up, left): {nW} windows of {M}×{M} again",
              "zh": "(c) 循环移位：把特征图移动 −{s}\n（向上、向左）：又是 {nW} 个 {M}×{M} 的窗口"},
    "f04.d": {"en": "(d) region labels 0–8 (img_mask):\nattend only within one label",
              "zh": "(d) 区域编号 0–8（img_mask）：\n只在同一编号内做注意力"},
    "f04.e": {"en": "(e) after attention: roll by +{s}\nputs every token back",
              "zh": "(e) 注意力之后：再移动 +{s}，\n每个 token 回到原位"},
    "f04.title": {"en": "Shifted windows on a {H}×{W} map, M = {M}: instead of padding {n} uneven windows to {M}×{M}, "
                        "roll the map and mask: {nW} windows, the same result",
                  "zh": "{H}×{W} 特征图上的移位窗口，M = {M}：不必把 {n} 个大小不一的窗口填充到 {M}×{M}，而是循环移位"
                        "再加掩码：{nW} 个窗口，结果相同"},
    "f04.alt": {"en": "Five {H}x{W} token grids from left to right. (a) {nW} regular {M}x{M} windows. (b) The window grid "
                      "moved {s} tokens right and down: {n} windows of uneven sizes, each with its own colour and hatch; "
                      "the top-left corner piece is A ({s}x{s}), the left strip is B (width {s}), the top strip is C "
                      "(height {s}), the bottom-right piece D. (c) The map rolled {s} tokens up and left: A moves to the "
                      "bottom-right corner, B to the right edge, C to the bottom edge, and the regular {M}x{M} grid "
                      "again holds everything in {nW} windows; the bottom-right window now holds A, B, C and D. (d) The "
                      "same rolled map with each token's region label 0 to 8 printed. (e) The reverse roll restores the "
                      "layout of (b).",
                "zh": "从左到右五个 {H}x{W} 的 token 网格。(a) {nW} 个普通的 {M}x{M} 窗口。(b) 窗口网格向右、向下移动 "
                      "{s} 个 token：{n} 个大小不一的窗口，各有自己的颜色和阴影线；左上角一块是 A（{s}x{s}），左侧一条是 "
                      "B（宽 {s}），上方一条是 C（高 {s}），右下一块是 D。(c) 把特征图向上、向左循环移动 {s} 个 token：A "
                      "移到右下角，B 移到右边，C 移到下边，普通的 {M}x{M} 网格又能用 {nW} 个窗口装下全部内容；现在右下角"
                      "的窗口里同时有 A、B、C 和 D。(d) 同一张移位后的特征图，标出每个 token 的区域编号 0 到 8。(e) 反向"
                      "循环移位恢复出 (b) 的布局。"},
    # 05
    "f05.window": {"en": "window {k} (row {r}, col {c})\nregions {regs}: {m}/{NN} masked",
                   "zh": "窗口 {k}（第 {r} 行，第 {c} 列）\n区域 {regs}：{m}/{NN} 被屏蔽"},
    "f05.strip": {"en": "key j  (strip: region label)", "zh": "键 j（色条：区域编号）"},
    "f05.top": {"en": "attn_mask after the cyclic shift ({H}×{W} map, M = {M}, shift {s}): blue = 0 (same region), "
                      "dark hatched = −100",
                "zh": "循环移位后的 attn_mask（{H}×{W} 特征图，M = {M}，移位 {s}）：蓝色 = 0（同一区域），深色阴影 = −100"},
    "f05.e": {"en": "(e) window {w}, query {q}: it may\nattend to {n} of {N} keys",
              "zh": "(e) 窗口 {w}、查询 {q}：\n可以关注 {N} 个键中的 {n} 个"},
    "f05.f": {"en": "(f) softmax(QKᵀ/√d) without the mask", "zh": "(f) 不加掩码：softmax(QKᵀ/√d)"},
    "f05.g": {"en": "(g) softmax(QKᵀ/√d + mask)", "zh": "(g) 加上掩码：softmax(QKᵀ/√d + mask)"},
    "f05.key": {"en": "key j (dark hatched: other region, mask −100)", "zh": "键 j（深色阴影：其他区域，掩码 −100）"},
    "f05.weight": {"en": "attention weight", "zh": "注意力权重"},
    "f05.note": {"en": "masked keys: at most {tiny}\nallowed keys sum to {total}",
                 "zh": "被屏蔽的键：至多 {tiny}\n允许的键之和：{total}"},
    "f05.h": {"en": "(h) the logits of query {q} (seed {seed})", "zh": "(h) 查询 {q} 的注意力得分（种子 {seed}）"},
    "f05.line": {"en": "key {j:2d}: {x:+.2f} {m:+7.1f} = {y:+8.2f}", "zh": "键 {j:2d}: {x:+.2f} {m:+7.1f} = {y:+8.2f}"},
    "f05.bottom": {"en": "What softmax does with the mask: e^(−100) ≈ 3.7e−44, so the other regions get weight 0 and the "
                         "same-region keys share all of it",
                   "zh": "softmax 如何处理掩码：e^(−100) ≈ 3.7e−44，所以其他区域的权重为 0，同一区域的键分掉全部权重"},
    "f05.alt_count": {"en": "window {k}: {n}", "zh": "窗口 {k} 为 {n}"},
    "f05.alt": {"en": "Top: {n} square {N}x{N} matrices, the attention masks of windows {shown} of a {H}x{W} map after "
                      "the cyclic shift (M={M}). Light blue cells are 0 (query and key in the same region), dark "
                      "cross-hatched cells are -100. Coloured strips along the edges give each token's region. Masked "
                      "pairs per window: {counts}; window 0 has none, the bottom-right window is a checkerboard of "
                      "blocks. Bottom: for query {q} of window {w}, (e) its {M}x{M} window with the {allowed} allowed "
                      "keys coloured and the others hatched; (f) a bar chart of softmax weights without the mask, all "
                      "{N} non-zero; (g) with the mask, only the {allowed} same-region keys are non-zero and they sum "
                      "to 1; (h) the numbers: logit + mask = masked logit for each key.",
                "zh": "上排：{n} 个 {N}x{N} 的方阵，是 {H}x{W} 特征图循环移位（M={M}）之后窗口 {shown} 的注意力掩码。"
                      "浅蓝色格子为 0（查询和键在同一区域），深色交叉阴影格子为 -100。沿边的彩色条标出每个 token 的区域。"
                      "每个窗口被屏蔽的对数：{counts}；窗口 0 没有被屏蔽的对，右下角的窗口是一块块组成的棋盘格。下排：以"
                      "窗口 {w} 的查询 {q} 为例，(e) 它所在的 {M}x{M} 窗口，{allowed} 个允许的键涂了颜色，其余画了阴影线；"
                      "(f) 不加掩码时 softmax 权重的柱状图，{N} 个全不为零；(g) 加了掩码后，只有同一区域的 {allowed} 个键"
                      "不为零，且和为 1；(h) 具体数字：每个键的 得分 + 掩码 = 掩码后的得分。"},
    # 06
    "f06.a": {"en": "(a) window of {M}×{M} tokens: (row, col);\nquery {q} outlined",
              "zh": "(a) {M}×{M} 个 token 的窗口：(行, 列)；\n框出查询 {q}"},
    "f06.b": {"en": "(b) relative coords query − key (dy, dx),\neach in [−{m}, {m}]",
              "zh": "(b) 相对坐标 = 查询 − 键 (dy, dx)，\n每个分量都在 [−{m}, {m}] 内"},
    "f06.c": {"en": "(c) index = (dy + {m})·{K} + (dx + {m})\n(shift by M−1, row × (2M−1))",
              "zh": "(c) 索引 = (dy + {m})·{K} + (dx + {m})\n（先加 M−1，再把行乘以 2M−1）"},
    "f06.d": {"en": "(d) relative_position_index ({N}×{N});\nrow {q} is (c) read row by row",
              "zh": "(d) relative_position_index（{N}×{N}）；\n第 {q} 行就是把 (c) 按行读出"},
    "f06.e": {"en": "(e) relative_position_bias_table: (2M−1)² = {KK}\nlearned numbers (one head, seed {seed}); query "
                    "{q} reads the outlined {n}",
              "zh": "(e) relative_position_bias_table：(2M−1)² = {KK}\n个可学习的数（一个头，种子 {seed}）；查询 {q} "
                    "读取框出的 {n} 个"},
    "f06.f": {"en": "(f) bias B[{q}, j] added to query {q}'s logits\n(shaped as the window)",
              "zh": "(f) 加到查询 {q} 注意力得分上的偏置 B[{q}, j]\n（按窗口排列）"},
    "f06.title": {"en": "Relative position bias: SoftMax(QKᵀ/√d + B) V, with B looked up from a (2M−1)×(2M−1) table by "
                        "relative offset",
                  "zh": "相对位置偏置：SoftMax(QKᵀ/√d + B) V，B 按相对偏移从 (2M−1)×(2M−1) 的表中查出"},
    "f06.alt": {"en": "Six panels for a {M}x{M} window. (a) The tokens with their (row, col) coordinates, query {q} at "
                      "({qr}, {qc}) outlined. (b) For each key, the offset query minus key, for example ({dy}, {dx}) "
                      "for key 0. (c) Each offset shifted by {m} and combined as (dy+{m})*{K} + (dx+{m}); query {q}'s "
                      "indices are {idx}. (d) The full {N}x{N} index matrix with row {q} outlined. (e) The {K}x{K} = "
                      "{KK}-entry bias table with numbered entries and the {N} entries query {q} reads outlined. (f) "
                      "The bias those entries give to query {q}'s {N} keys, laid out as the window.",
                "zh": "{M}x{M} 窗口的六幅小图。(a) 各 token 及其（行，列）坐标，框出位于 ({qr}, {qc}) 的查询 {q}。(b) 对"
                      "每个键，查询减去键的偏移，例如键 0 是 ({dy}, {dx})。(c) 每个偏移都加上 {m}，再组合成 "
                      "(dy+{m})*{K} + (dx+{m})；查询 {q} 的索引是 {idx}。(d) 完整的 {N}x{N} 索引矩阵，框出第 {q} 行。"
                      "(e) 有 {K}x{K} = {KK} 个元素的偏置表，元素都标了号，框出查询 {q} 读取的 {N} 个元素。(f) 这些元素"
                      "给查询 {q} 的 {N} 个键的偏置，按窗口的样子排列。"},
    # 07
    "f07.a": {"en": "(a) map {H}×{W}×{C}: 2×2 groups;\ncolour = offset in the group",
              "zh": "(a) 特征图 {H}×{W}×{C}：2×2 的小组；\n颜色 = 在组内的位置"},
    "f07.b": {"en": "(b) concatenate [x0, x1, x2, x3]:\n{h}×{w}×{C4} (patch_merging_gather)",
              "zh": "(b) 拼接 [x0, x1, x2, x3]：\n{h}×{w}×{C4}（patch_merging_gather）"},
    "f07.c": {"en": "(c) Linear {C4}→{C2}, no bias (seed {seed}):\n{h}×{w}×{C2}",
              "zh": "(c) 线性层 {C4}→{C2}，无偏置（种子 {seed}）：\n{h}×{w}×{C2}"},
    "f07.note": {"en": "The real module applies LayerNorm({C4}) first; on this map\nevery group is [a, a+4, a+1, a+5], "
                       "so LayerNorm would\nmake all four tokens equal.",
                 "zh": "真实的模块会先做 LayerNorm({C4})；在这张特征图上\n每组都是 [a, a+4, a+1, a+5]，\n"
                       "LayerNorm 会让四个 token 完全相同。"},
    "f07.title": {"en": "Patch merging: halve the map, double the channels: ({H}, {W}, {C}) → ({h}, {w}, {C4}) → ({h}, "
                        "{w}, {C2}); official gather order x0=(0,0), x1=(1,0), x2=(0,1), x3=(1,1)",
                  "zh": "块合并：特征图边长减半，通道数翻倍：({H}, {W}, {C}) → ({h}, {w}, {C4}) → ({h}, {w}, {C2})；官方的"
                        "取样顺序 x0=(0,0), x1=(1,0), x2=(0,1), x3=(1,1)"},
    "f07.alt": {"en": "(a) A {H}x{W} grid numbered 1 to {n} row by row, cut into 2x2 groups; each cell is coloured and "
                      "hatched by its position in its group, labelled x0 (top-left), x1 (bottom-left), x2 (top-right), "
                      "x3 (bottom-right). Four small grids show x0 to x3, each taking one position from every group. "
                      "(b) Their concatenation: a {h}x{w} grid whose first token is {first}. (c) After a linear layer "
                      "from {C4} to {C2} channels (the real module normalises with LayerNorm first), each token holds "
                      "{C2} numbers.",
                "zh": "(a) 一个 {H}x{W} 的网格，按行编号 1 到 {n}，切成若干 2x2 小组；每个格子按它在组内的位置着色并加上"
                      "阴影，分别标为 x0（左上）、x1（左下）、x2（右上）、x3（右下）。四个小网格展示 x0 到 x3，每个都从"
                      "每组里取一个位置。(b) 它们拼接的结果：一个 {h}x{w} 的网格，第一个 token 是 {first}。(c) 经过一个 "
                      "{C4} 通道到 {C2} 通道的线性层之后（真实的模块会先用 LayerNorm 归一化），每个 token 含 {C2} 个数。"},
    # 08
    "f08.images": {"en": "Images\n{H}×{W}×{c}", "zh": "输入图像\n{H}×{W}×{c}"},
    "f08.partition": {"en": "Patch\nPartition\n{p}×{p} patches\n\n{h}×{w}×{n}",
                      "zh": "图像块\n分割\n{p}×{p} 的图像块\n\n{h}×{w}×{n}"},
    "f08.embedding": {"en": "Linear\nEmbedding", "zh": "线性嵌入"},
    "f08.merging": {"en": "Patch\nMerging", "zh": "块合并"},
    "f08.stage": {"en": "Stage {i}\n\n{first}\n+ Swin Block ×{d}\n\n{h}×{w}×{dim}\n({down}× down)\nheads {nh}\nwindow {M}",
                  "zh": "Stage {i}\n\n{first}\n+ Swin block ×{d}\n\n{h}×{w}×{dim}\n（{down}× 下采样）\n{nh} 个头\n窗口 {M}"},
    "f08.shift": {"en": ", shift {s}", "zh": "，移位 {s}"},
    "f08.no_shift": {"en": ", no shift", "zh": "，不移位"},
    "f08.head": {"en": "Head\n\nLayerNorm\navg pool\nLinear {nf}→{nc}\n\n{nc} classes",
                 "zh": "分类头\n\nLayerNorm\n平均池化\n线性层 {nf}→{nc}\n\n{nc} 类"},
    "f08.title": {"en": "{model}: C = {C}, depths {depths}, heads {heads}, window {ws};  {params:,} parameters, "
                        "{macs:.2f} G MACs (the paper's \"FLOPs\")",
                  "zh": "{model}：C = {C}，深度 {depths}，头数 {heads}，窗口 {ws}；{params:,} 个参数，{macs:.2f} G 次"
                        "乘加（论文里的“FLOPs”）"},
    "f08.pair_note": {"en": "two successive Swin blocks: the first attends in regular windows (W-MSA), the second in "
                            "shifted windows (SW-MSA);\nresidual connections (grey) skip each LayerNorm + module pair; "
                            "MLP = Linear C→4C, GELU, Linear 4C→C",
                      "zh": "两个相继的 Swin block：第一个在普通窗口里做注意力（W-MSA），第二个在移位窗口里做（SW-MSA）；\n"
                            "残差连接（灰色）跳过每一对 LayerNorm + 模块；MLP = 线性层 C→4C、GELU、线性层 4C→C"},
    "f08.pair": {"en": "Swin Transformer block pair (each stage has depth/2 of them)",
                 "zh": "一对 Swin Transformer block（每个 stage 有 depth/2 对）"},
    "f08.embed": {"en": "embed", "zh": "嵌入"},
    "f08.head_row": {"en": "head", "zh": "分类头"},
    "f08.total": {"en": "total", "zh": "合计"},
    "f08.columns": {"en": "stage|tokens|C|heads|M / shift|blocks|params|MACs",
                    "zh": "stage|token|C|头数|M / 移位|block 数|参数量|乘加次数"},
    "f08.table": {"en": "per stage (stage rows include the patch merging that ends them)",
                  "zh": "各 stage 的数字（stage 的行包括结束它的块合并）"},
    "f08.alt_stage": {"en": "stage {i}: {first} and {d} Swin blocks, output {h}x{w}x{c}, {nh} heads, window {M}",
                      "zh": "stage {i}：{first}和 {d} 个 Swin block，输出 {h}x{w}x{c}，{nh} 个头，窗口 {M}"},
    "f08.alt_embedding": {"en": "linear embedding", "zh": "线性嵌入"},
    "f08.alt_merging": {"en": "patch merging", "zh": "块合并"},
    "f08.alt": {"en": "Block diagram of {model}. A row of boxes joined by arrows: images {H}x{W}x{c}; patch partition; "
                      "{stages}; a head with LayerNorm, average pooling and a linear layer to {nc} classes. Title: "
                      "{params:,} parameters and {macs:.2f} G multiply-accumulates. Below, left: two successive Swin "
                      "blocks, LayerNorm then W-MSA then add, LayerNorm then MLP then add, then the same with SW-MSA "
                      "(hatched), with residual connections. Below, right: a table of tokens, channels, heads, window "
                      "and shift, blocks, parameters and MACs per stage.",
                "zh": "{model} 的结构框图。一排用箭头连起来的方框：{H}x{W}x{c} 的图像；图像块分割；{stages}；分类头由 "
                      "LayerNorm、平均池化和一个输出 {nc} 类的线性层组成。标题：{params:,} 个参数，{macs:.2f} G 次乘加。"
                      "下方左侧：两个相邻的 Swin block，先 LayerNorm、W-MSA、相加，再 LayerNorm、MLP、相加，然后是用 "
                      "SW-MSA（带阴影）的同样结构，都有残差连接。下方右侧：一张表，列出每个 stage 的 token 数、通道数、"
                      "头数、窗口与移位、block 数、参数量和乘加次数。"},
    # figures/ALT_TEXT.md
    "fig.alt_head": {"en": "# Figures and their alt text", "zh": "# 图与替代文本"},
    "fig.used_in": {"en": "{caption} Used in notebook(s) {nbs}.", "zh": "{caption}用于笔记本 {nbs}。"},
    "fig.alt_label": {"en": "Alt text: {alt}", "zh": "替代文本：{alt}"},
})

i18n.add_messages({
    "fig.comma": {"en": ", ", "zh": "，"},
    "f05.shown": {"en": "[{items}]", "zh": "{items}"},
    "fig.alt_intro": {"en": "Generated by `python -m swin_edu.viz.figures --out figures` (do not edit by hand). Each figure is\n"
                            "drawn by the function of the same name in `swin_edu/viz/figures.py` from what `swin_edu` computes.\n"
                            "Embed one in a notebook with `swin_edu.viz.figures.figure_markdown(name)` or\n"
                            "`swin_edu.viz.show_figure(name)`.",
                      "zh": "由 `python -m swin_edu.viz.figures --lang zh --out figures/zh` 生成（请勿手工修改）。每张图都由\n"
                            "`swin_edu/viz/figures.py` 中同名的函数根据 `swin_edu` 的计算结果画出，文字用打包的中文字体（Noto Sans SC）。\n"
                            "在笔记本里嵌入：`swin_edu.viz.figures.figure_markdown(name, lang=\"zh\")` 或\n"
                            "`swin_edu.viz.show_figure(name)`（在 `SWIN_EDU_LANG=zh` 下显示中文版）。"},
})


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


def _mono_family():
    """The monospaced font of the figures' number columns, with the CJK font behind it in Chinese."""
    family = i18n.use_cjk_font(warn=False) if i18n.lang() == "zh" else None
    return ["DejaVu Sans Mono", family] if family else "DejaVu Sans Mono"


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
        ax_img.set_title(_t("f01.a", size=size, g=g, p=p))

        # (b) zoom on Z x Z patches
        crop = img[zr0 * p:(zr0 + Z) * p, zc0 * p:(zc0 + Z) * p]
        ax_zoom.imshow(crop, extent=(0, Z * p, Z * p, 0), interpolation="nearest")
        cell_axes(ax_zoom, Z * p, Z * p)
        grid_lines(ax_zoom, Z * p, Z * p, p, color="white", lw=1.0)
        outline(ax_zoom, (r - zr0) * p, (c - zc0) * p, p, p, color=HIGHLIGHT, lw=3)
        ax_zoom.set_title(_t("f01.b", Z=Z, r=r, c=c))

        # (c) the patch's pixels, numbered in flattening order
        pix = img[r * p:(r + 1) * p, c * p:(c + 1) * p]
        ax_patch.imshow(pix, extent=(0, p, p, 0), interpolation="nearest")
        cell_axes(ax_patch, p, p)
        grid_lines(ax_patch, p, p, 1, color="white", lw=1.5)
        outline(ax_patch, 0, 0, p, p, color=HIGHLIGHT, lw=4)
        if p <= 8:
            annotate_cells(ax_patch, np.arange(p * p).reshape(p, p), fmt="px {}", fontsize=8 if p <= 4 else 6,
                           box=True)
        ax_patch.set_title(_t("f01.c", r=r, c=c, p=p))

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
        ax_vec.set_title(_t("f01.d", p=p, n=n, g=g), loc="left", pad=16 if n <= 64 else 6)

        # (e) the embedding
        lim = float(np.max(np.abs(emb))) or 1.0
        im = ax_emb.imshow(emb[None, :], extent=(0, C, 1, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, aspect="auto",
                           interpolation="nearest")
        ax_emb.set_yticks([])
        ax_emb.set_xticks(np.arange(0, C + 1, max(1, C // 12)))
        ax_emb.set_xlabel(_t("f01.channel"))
        fig.colorbar(im, ax=ax_emb, orientation="vertical", fraction=0.02, pad=0.01)
        ax_emb.set_title(_t("f01.e", p=p, seed=seed, n=n, C=C), loc="left")
        fig.suptitle(_t("f01.title", img=tuple(img.shape), tok=tuple(d["tokens"].shape), emb=tuple(d["emb"].shape)),
                     fontweight="bold")
    return fig


def _cmap_color(name: str, value: float):
    import matplotlib

    return matplotlib.colormaps[name](float(np.clip(value, 0, 1)))


def _alt_patch_partition(patch_size=4, embed_dim=96, patch=(22, 26), image_size=224, seed=0) -> str:
    d = _patch_partition_data(patch_size, embed_dim, patch, image_size, seed)
    p, g, n = d["p"], d["g"], d["tokens"].shape[-1]
    vec = d["tokens"][d["r"], d["c"]]
    return _t("f01.alt", size=d["size"], g=g, p=p, r=d["r"], c=d["c"], pp=p * p, last=p * p - 1, n=n,
              v0=f"{vec[0]:.2f}", v1=f"{vec[1]:.2f}", v2=f"{vec[2]:.2f}", C=d["C"], img=tuple(d["img"].shape),
              tok=tuple(d["tokens"].shape), emb=tuple(d["emb"].shape))


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
            ax.set_title(_t("f02.swin", i=i + 1, hw=_x(h, w), dim=dims[i], down=H // h, M=M)
                         + ("" if s else _t("f02.no_shift")), fontsize=9.5)
            if i == 0:
                ax.set_ylabel(_t("f02.swin_row"), fontsize=10, fontweight="bold")
        per = math.ceil(L / n)
        for i in range(n):
            ax = axes[1, i]
            ax.imshow(pool_image(photo, gh, gw), extent=(0, gw, gh, 0), interpolation="nearest")
            cell_axes(ax, gh, gw)
            grid_lines(ax, gh, gw, 1, color="white", lw=0.5)
            outline(ax, 0, 0, gh, gw, color=HIGHLIGHT, lw=3, inset=0.08)
            a, b = i * per + 1, min(L, (i + 1) * per)
            ax.set_title(_t("f02.vit", a=a, b=b, hw=_x(gh, gw), vp=vp), fontsize=9.5)
            if i == 0:
                ax.set_ylabel(_t("f02.vit_row"), fontsize=10, fontweight="bold")
        fig.suptitle(_t("f02.title", model=_model_name(cfg), vp=vp), fontweight="bold")
    return fig


def _alt_hierarchical_maps(cfg=None, vit_patch=16, vit_layers=12) -> str:
    cfg, vp, _, H, W = _hier_data(cfg, vit_patch, vit_layers)
    parts = [_t("f02.alt_stage", i=i + 1, h=h, w=w, d=d, down=H // h, M=M)
             for i, ((h, w), d, (M, _)) in enumerate(zip(cfg.stage_resolutions(), cfg.stage_dims,
                                                           cfg.stage_windows()))]
    return _t("f02.alt", model=_model_name(cfg), stages=_t("fig.alt_sep").join(parts), vp=vp, gh=H // vp,
              gw=W // vp)


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
        for ax, win, title in ((a1, 4, _t("f03.a")), (a2, 2, _t("f03.b"))):
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
        a3.set_title(_t("f03.c", h=h_, w=w_, M=M, nW=nW, MM=M * M))
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
                    label=_t("f03.msa"))
            ax.plot(hw, wmsa / 1e9, "-", lw=2.2, color=OKABE_ITO["blue"],
                    label=_t("f03.wmsa"))
            if log:
                ax.plot(hw, att_msa / 1e9, "--", lw=1.4, color=OKABE_ITO["vermillion"],
                        label=_t("f03.msa2"))
                ax.plot(hw, att_w / 1e9, ":", lw=1.8, color=OKABE_ITO["blue"],
                        label=_t("f03.wmsa2"))
                ax.set_xscale("log")
                ax.set_yscale("log")
            ax.set_xlabel(_t("f03.xlabel"))
            ax.set_ylabel(_t("f03.ylabel"))
            ax.grid(True, which="major", color="#DDDDDD", lw=0.6)
        # the seed's point
        n0 = h_ * w_
        b1.plot([n0, n0], [complexity.msa_macs(h_, w_, C) / 1e9, complexity.wmsa_macs(h_, w_, C, M) / 1e9], "o",
                color="black", ms=5)
        b1.annotate(_t("f03.point", h=h_, w=w_), (n0, complexity.msa_macs(h_, w_, C) / 1e9), xytext=(12, 8),
                    textcoords="offset points", fontsize=8)
        for series, color in ((msa, OKABE_ITO["vermillion"]), (wmsa, OKABE_ITO["blue"])):
            b1.annotate(f"{series[-1] / 1e9:.1f} G", (hw[-1], series[-1] / 1e9), xytext=(4, 4),
                        textcoords="offset points", fontsize=8, color=color, ha="right", va="bottom")
        b1.set_title(_t("f03.d", C=C, M=M))
        b1.legend(loc="upper left")
        b2.plot([n0], [d["att_msa"] / 1e9], "s", color=OKABE_ITO["vermillion"], ms=7, zorder=5)
        b2.plot([n0], [d["att_wmsa"] / 1e9], "D", color=OKABE_ITO["blue"], ms=7, zorder=5)
        b2.add_patch(FancyArrowPatch((n0, d["att_wmsa"] / 1e9), (n0, d["att_msa"] / 1e9), arrowstyle="<->",
                                     mutation_scale=12, color="black", lw=1.3, zorder=6))
        b2.annotate(_t("f03.ratio", ratio=f"{d['ratio']:g}", h=h_, w=w_, a=d["att_msa"], b=d["att_wmsa"]),
                    (n0, math.sqrt(d["att_msa"] * d["att_wmsa"]) / 1e9), xytext=(14, -10),
                    textcoords="offset points", fontsize=8, va="center",
                    bbox={"boxstyle": "round", "fc": "white", "ec": "#888888"})
        b2.set_title(_t("f03.e"))
        b2.legend(loc="lower right", fontsize=7)
        fig.suptitle(_t("f03.title"), fontweight="bold")
    return fig


def _alt_window_attention(h=56, w=56, C=96, window_size=7) -> str:
    d = _wa_data(h, w, C, window_size)
    M = d["M"]
    return _t("f03.alt", h=d["h"], w=d["w"], nW=(d["h"] // M) * (d["w"] // M), M=M, C=C, a=d["att_msa"],
              b=d["att_wmsa"], ratio=f"{d['ratio']:g}")


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
        ax.set_title(_t("f04.a", nW=nW, M=M))
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
        ax.set_title(_t("f04.b", s=s, n=n_uneven))
        # (c) cyclic shift
        ax = axes[2]
        fill_labels(ax, d["rolled"])
        cell_axes(ax, H, W)
        grid_lines(ax, H, W, 1, color="white", lw=0.5)
        grid_lines(ax, H, W, M, color="black", lw=2.5)
        for k, letter in d["letters"].items():
            _letter(ax, *_centre(d["rolled"] == k), letter)
        ax.set_title(_t("f04.c", s=s, nW=nW, M=M))
        # (d) region labels
        ax = axes[3]
        fill_labels(ax, d["regions"])
        cell_axes(ax, H, W)
        grid_lines(ax, H, W, 1, color="white", lw=0.5)
        grid_lines(ax, H, W, M, color="black", lw=2.5)
        annotate_cells(ax, d["regions"], fontsize=8 if max(H, W) <= 16 else 5, box=True)
        ax.set_title(_t("f04.d"))
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
        ax.set_title(_t("f04.e", s=s))
        fig.suptitle(_t("f04.title", H=H, W=W, M=M, n=n_uneven, nW=nW), fontweight="bold", fontsize=11)
    return fig


def _alt_shifted_windows(H=8, W=8, window_size=4) -> str:
    d = _shift_data(H, W, window_size)
    H, W, M, s = d["H"], d["W"], d["M"], d["s"]
    return _t("f04.alt", H=H, W=W, nW=(H // M) * (W // M), M=M, s=s, n=len(d["grid"]))


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
            ax.set_title(_t("f05.window", k=k, r=k // nWw, c=k % nWw, m=n_masked, NN=N * N,
                            regs=", ".join(map(str, sorted(set(regs.tolist()))))), fontsize=9)
            ax.set_xlabel(_t("f05.strip"))
            ax.set_ylabel(_t("fig.query_i"))
        top.suptitle(_t("f05.top", H=d["H"], W=d["W"], M=M, s=d["s"]), fontweight="bold")
        b0, b1, b2, b3 = bottom.subplots(1, 4, width_ratios=[1.1, 1.5, 1.5, 1.1])
        w, q = d["window"], d["query"]
        regs = d["win_regions"][w]
        allowed = (d["mask"][w, q] == 0).reshape(M, M)
        fill_labels(b0, np.where(allowed, regs, -1))
        cell_axes(b0, M, M)
        grid_lines(b0, M, M, 1, color="white", lw=1)
        outline(b0, q // M, q % M, 1, 1, color=HIGHLIGHT, lw=3, inset=0.05)
        annotate_cells(b0, np.arange(N).reshape(M, M), fontsize=8, box=True)
        b0.set_title(_t("f05.e", w=w, q=q, n=int(allowed.sum()), N=N))
        x = np.arange(N)
        masked_keys = d["mask"][w, q] != 0
        for ax, probs, title in ((b1, d["p_plain"], _t("f05.f")), (b2, d["p_masked"], _t("f05.g"))):
            bars = ax.bar(x, probs, color=[MASKED_COLOR if m else ALLOWED_COLOR for m in masked_keys],
                          edgecolor="black", lw=0.5)
            for bar, m in zip(bars, masked_keys):
                if m:
                    bar.set_hatch(MASKED_HATCH)
                    if hasattr(bar, "set_hatchcolor"):  # matplotlib >= 3.10
                        bar.set_hatchcolor("#BBBBBB")
            ax.set_xticks(x)
            ax.set_xlabel(_t("f05.key"))
            ax.set_ylabel(_t("f05.weight"))
            ax.set_ylim(0, max(0.05, float(d["p_masked"].max()) * 1.15))
            ax.set_title(title)
        tiny = float(d["p_masked"][masked_keys].max()) if masked_keys.any() else 0.0
        b2.text(0.98, 0.97, _t("f05.note", tiny=f"{tiny:.1e}", total=f"{float(d['p_masked'][~masked_keys].sum()):.6f}"),
                transform=b2.transAxes, va="top", ha="right",
                fontsize=8,
                bbox={"boxstyle": "round", "fc": "white", "ec": "#888888"})
        b3.axis("off")
        b3.set_title(_t("f05.h", q=q, seed=seed))
        txt = "\n".join(_t("f05.line", j=j, x=d["logits"][j], m=d["mask"][w, q][j], y=d["masked"][j])
                        for j in range(min(N, 16)))
        b3.text(0.0, 1.0, txt, family=_mono_family(), fontsize=7.5, va="top", transform=b3.transAxes)
        bottom.suptitle(_t("f05.bottom"), fontweight="bold")
    return fig


def _alt_attention_mask(H=8, W=8, window_size=4, window=None, query=5, seed=0) -> str:
    d = _mask_data(H, W, window_size, window, query, seed)
    N, w, q = d["N"], d["window"], d["query"]
    counts = _t("fig.comma").join(_t("f05.alt_count", k=k, n=int((d["mask"][k] != 0).sum())) for k in d["shown"])
    allowed = int((d["mask"][w, q] == 0).sum())
    shown = _t("f05.shown", items=_t("fig.list_sep").join(map(str, d["shown"])))
    return _t("f05.alt", n=len(d["shown"]), N=N, shown=shown, H=d["H"], W=d["W"], M=d["M"], counts=counts, q=q, w=w,
              allowed=allowed)


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
        ax.set_title(_t("f06.a", M=M, q=q))
        # (b) relative coordinates
        ax = axes[0, 1]
        fill_labels(ax, np.zeros((M, M), int), colors=("#F2F2F2",), hatches=("",))
        cell_axes(ax, M, M)
        grid_lines(ax, M, M, 1, color="#888888", lw=1)
        outline(ax, d["qr"], d["qc"], 1, 1, color=HIGHLIGHT, lw=3, inset=0.04)
        annotate_cells(ax, [[f"({rel_q[r, c, 0]:+d}, {rel_q[r, c, 1]:+d})" for c in range(M)] for r in range(M)],
                       fontsize=8.5)
        ax.set_title(_t("f06.b", m=M - 1))
        # (c) index of the query's row
        ax = axes[0, 2]
        fill_labels(ax, np.zeros((M, M), int), colors=("#F2F2F2",), hatches=("",))
        cell_axes(ax, M, M)
        grid_lines(ax, M, M, 1, color="#888888", lw=1)
        outline(ax, d["qr"], d["qc"], 1, 1, color=HIGHLIGHT, lw=3, inset=0.04)
        annotate_cells(ax, [[f"({rel_q[r, c, 0] + M - 1}·{K} + {rel_q[r, c, 1] + M - 1})\n= {idx_q[r, c]}"
                             for c in range(M)] for r in range(M)], fontsize=8)
        ax.set_title(_t("f06.c", m=M - 1, K=K))
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
        ax.set_xlabel(_t("fig.key_j"))
        ax.set_ylabel(_t("fig.query_i"))
        ax.set_title(_t("f06.d", N=N, q=q))
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
        ax.set_title(_t("f06.e", KK=K * K, seed=seed, q=q, n=len(used)))
        # (f) the bias of the query
        ax = axes[1, 2]
        bq = d["bias"][q].reshape(M, M)
        ax.imshow(bq, extent=(0, M, M, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
        cell_axes(ax, M, M)
        annotate_cells(ax, [[f"table[{idx_q[r, c]}]\n= {bq[r, c]:+.2f}" for c in range(M)] for r in range(M)],
                       fontsize=8, background=[[dcm((v + lim) / (2 * lim)) for v in row] for row in bq])
        outline(ax, d["qr"], d["qc"], 1, 1, color=HIGHLIGHT, lw=3, inset=0.04)
        ax.set_title(_t("f06.f", q=q))
        fig.suptitle(_t("f06.title"), fontweight="bold")
    return fig


def _alt_relative_position(window_size=3, query=(1, 2), seed=0) -> str:
    d = _rel_data(window_size, query, seed)
    M, q, K = d["M"], d["q"], d["K"]
    return _t("f06.alt", M=M, q=q, qr=d["qr"], qc=d["qc"], dy=f"{d['rel'][q, 0, 0]:+d}", dx=f"{d['rel'][q, 0, 1]:+d}",
              m=M - 1, K=K, idx=d["index"][q].tolist(), N=M * M, KK=K * K)


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
        ax.set_title(_t("f07.a", H=H, W=W, C=C))
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
        ax.set_title(_t("f07.b", h=h2, w=w2, C4=4 * C))
        ax = fig.add_subplot(gs[:, 6])
        m = d["merged"]
        cell_axes(ax, h2, w2)
        fill_labels(ax, np.zeros((h2, w2), int), colors=("#F7F7F7",), hatches=("",))
        grid_lines(ax, h2, w2, 1, color="black", lw=1.5)
        annotate_cells(ax, [["[" + ", ".join(f"{v:+.2f}" for v in m[i, j]) + "]" for j in range(w2)]
                            for i in range(h2)], fontsize=9)
        ax.set_title(_t("f07.c", C4=4 * C, C2=2 * C, seed=seed, h=h2, w=w2))
        ax.set_xlabel(_t("f07.note", C4=4 * C), fontsize=7.5)
        fig.suptitle(_t("f07.title", H=H, W=W, C=C, h=h2, w=w2, C4=4 * C, C2=2 * C), fontweight="bold")
    return fig


def _alt_patch_merging(H=4, W=4, C=1, seed=0) -> str:
    d = _merge_data(H, W, C, seed)
    g = d["gathered"]
    return _t("f07.alt", H=d["H"], W=d["W"], n=d["H"] * d["W"] * d["C"], h=d["H"] // 2, w=d["W"] // 2,
              first=g[0, 0].astype(int).tolist(), C4=4 * d["C"], C2=2 * d["C"])


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
        _box(ax, xs[0], y, bw, bh, _t("f08.images", H=H, W=W, c=cfg.in_chans), "#FFFFFF")
        h0, w0 = res[0]
        _box(ax, xs[1], y, bw, bh, _t("f08.partition", p=p, h=h0, w=w0, n=p * p * cfg.in_chans), "#F2F2F2")
        stage_colors = (OKABE_ITO["sky_blue"], OKABE_ITO["bluish_green"], OKABE_ITO["yellow"], OKABE_ITO["orange"],
                        OKABE_ITO["reddish_purple"], "#DDDDDD")
        for i in range(n):
            h, w = res[i]
            M, s = wins[i]
            first = _t("f08.embedding") if i == 0 else _t("f08.merging")
            text = (_t("f08.stage", i=i + 1, first=first, d=cfg.depths[i], h=h, w=w, dim=dims[i], down=H // h,
                       nh=cfg.num_heads[i], M=M) + (_t("f08.shift", s=s) if s else _t("f08.no_shift")))
            _box(ax, xs[2 + i], y, bw, bh, text, stage_colors[i % len(stage_colors)], fontsize=9)
        _box(ax, xs[-1], y, bw, bh, _t("f08.head", nf=cfg.num_features, nc=cfg.num_classes), "#FFFFFF")
        for i in range(nb - 1):
            _arrow(ax, xs[i] + bw, y + bh / 2, xs[i + 1], y + bh / 2)
        ax.set_title(_t("f08.title", model=_model_name(cfg), C=cfg.embed_dim, depths=cfg.depths, heads=cfg.num_heads,
                        ws=cfg.window_size, params=d["params"]["total"], macs=d["macs"]["total"] / 1e9), fontsize=11)
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
        b1.text(50, 3, _t("f08.pair_note"), ha="center", fontsize=8)
        b1.set_title(_t("f08.pair"))
        # the table
        b2.axis("off")
        rows = []
        for i in range(n):
            (h, w), (M, s) = res[i], wins[i]
            rows.append([f"{i + 1}", f"{h}×{w}", f"{dims[i]}", f"{cfg.num_heads[i]}", f"{M} / {s}",
                         f"{cfg.depths[i]}", f"{d['params'][f'stage{i}'] / 1e6:.2f} M",
                         f"{d['macs'][f'stage{i}'] / 1e9:.3f} G"])
        rows.append([_t("f08.embed"), f"{res[0][0]}×{res[0][1]}", f"{cfg.embed_dim}", "", "", "",
                     f"{d['params']['patch_embed'] / 1e6:.3f} M", f"{d['macs']['patch_embed'] / 1e9:.3f} G"])
        rows.append([_t("f08.head_row"), "", f"{cfg.num_features}", "", "", "", f"{d['params']['head'] / 1e6:.3f} M",
                     f"{d['macs']['head'] / 1e9:.4f} G"])
        rows.append([_t("f08.total"), "", "", "", "", f"{sum(cfg.depths)}", f"{d['params']['total'] / 1e6:.2f} M",
                     f"{d['macs']['total'] / 1e9:.2f} G"])
        table = b2.table(cellText=rows, colLabels=_t("f08.columns").split("|"), loc="center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1, 1.35)
        for (r, c), cell in table.get_celld().items():
            if r == 0:
                cell.set_text_props(fontweight="bold")
                cell.set_facecolor("#E5E5E5")
        b2.set_title(_t("f08.table"))
    return fig


def _circle(xy, radius):
    from matplotlib.patches import Circle

    return Circle(xy, radius, fc="white", ec="black", lw=1.2, zorder=4)


def _alt_architecture(cfg=None) -> str:
    d = _arch_data(cfg)
    cfg = d["cfg"]
    stages = _t("fig.alt_sep").join(
        _t("f08.alt_stage", i=i + 1, first=_t("f08.alt_embedding" if i == 0 else "f08.alt_merging"), d=cfg.depths[i],
           h=h, w=w, c=c, nh=cfg.num_heads[i], M=M)
        for i, ((h, w), c, (M, _)) in enumerate(zip(d["res"], d["dims"], d["wins"])))
    H, W = cfg.img_hw
    return _t("f08.alt", model=_model_name(cfg), H=H, W=W, c=cfg.in_chans, stages=stages, nc=cfg.num_classes,
              params=d["params"]["total"], macs=d["macs"]["total"] / 1e9)


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

#: the captions in Chinese (the English ones are the specs' ``caption``)
_CAPTIONS = {"zh": {
    "01_patch_partition": "在一张真实照片上做图像块分割和线性嵌入。",
    "02_hierarchical_maps": "Swin 的层级特征图与 ViT 的单一特征图对比。",
    "03_window_attention": "MSA 与 W-MSA：窗口，以及图像变大时的计算复杂度。",
    "04_shifted_windows": "移位窗口：9 个大小不一的窗口，循环移位后又变回 4 个。",
    "05_attention_mask": "每个窗口的 0 / -100 注意力掩码，以及它对 softmax 的作用。",
    "06_relative_position": "相对位置索引、偏置表和一个查询的偏置。",
    "07_patch_merging": "块合并：按 2x2 取样，拼接成 4C，再线性映射到 2C。",
    "08_architecture": "Swin-T 的结构，以及每个 stage 的形状。",
}}
i18n.add_messages({f"cap.{name}": {"en": spec.caption, **{code: texts[name] for code, texts in _CAPTIONS.items()}}
                   for name, spec in FIGURES.items()})


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
    """The alt text of figure ``name`` (for the same parameters as :func:`make_figure`), in the language in
    force (``SWIN_EDU_LANG``)."""
    return _spec(name).alt(**kwargs)


def caption(name: str) -> str:
    """The one-line caption of figure ``name`` in the language in force."""
    return i18n.t(f"cap.{_spec(name).name}")


def figures_dir(lang: str = "en") -> Path:
    """The repository's ``figures/`` folder (next to the ``swin_edu`` package); ``figures/zh/`` for ``lang="zh"``."""
    if lang not in i18n.LANGS:
        raise ValueError(f"figures_dir: lang must be one of {list(i18n.LANGS)}, got {lang!r}")
    return FIGURES_DIR if lang == "en" else FIGURES_DIR / lang


def render_all(out: str | Path, names: Sequence[str] | None = None, verbose: bool = False,
               lang: str = "en") -> dict[str, Path]:
    """Write every figure (or ``names``) to ``out/<name>.png``; with all of them, also ``alt_text.json``,
    ``ALT_TEXT.md`` and ``RENDERED_WITH.txt`` (the matplotlib/FreeType/Pillow versions that drew them).
    ``lang="zh"``: the Chinese set (titles, labels and alt texts from :mod:`swin_edu.i18n`'s catalogue, drawn
    with the system's CJK font, Noto Sans CJK SC; the repository keeps it in ``figures/zh/``).

    Deterministic: the same package and matplotlib give the same bytes. Returns {name: path}.
    """
    if lang not in i18n.LANGS:
        raise ValueError(f"render_all: lang must be one of {list(i18n.LANGS)}, got {lang!r}")
    if lang == "zh" and i18n.cjk_font_path() is None:
        raise RuntimeError(f"render_all: the Chinese figures need a CJK font (fonts-noto-cjk): {i18n.t('font.missing')}")
    with i18n.language(lang):
        return _render_all(Path(out), names, verbose)


def _render_all(out: Path, names: Sequence[str] | None, verbose: bool) -> dict[str, Path]:
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
        meta = {name: {"file": f"{name}.png", "alt": alt_text(name), "caption": caption(name),
                       "notebooks": list(spec.notebooks)} for name, spec in FIGURES.items()}
        (out / "alt_text.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                           encoding="utf-8")
        lines = [i18n.t("fig.alt_head"), "", *i18n.t("fig.alt_intro").split("\n"), ""]
        for name, m in meta.items():
            lines += [f"## {name}", "", i18n.t("fig.used_in", caption=m["caption"], nbs=", ".join(m["notebooks"])),
                      "", i18n.t("fig.alt_label", alt=m["alt"]), ""]
        (out / "ALT_TEXT.md").write_text("\n".join(lines), encoding="utf-8")
        (out / "RENDERED_WITH.txt").write_text(_rendered_with(), encoding="utf-8")
    return paths


def _rendered_with() -> str:
    """The libraries that decide the pixels and the PNG encoding (the tests compare figures/ exactly only
    when these match)."""
    import matplotlib
    import PIL
    from matplotlib import ft2font

    text = (f"matplotlib {matplotlib.__version__}\nFreeType {ft2font.__freetype_version__}\n"
            f"Pillow {PIL.__version__}\n")
    if i18n.lang() == "zh":  # the system's CJK font draws the Chinese set: another font, other pixels
        path = i18n.cjk_font_path()
        text += f"CJK font {i18n.use_cjk_font(warn=False)} ({path.name if path else 'none'})\n"
    return text


def figure_markdown(name: str, relative_to: str = "notebooks", lang: str = "en") -> str:
    """Markdown that embeds figure ``name`` with its alt text, for a notebook in ``relative_to``; ``lang="zh"``:
    the Chinese figure (``figures/zh/``) with its Chinese alt text, as the Chinese notebooks link it."""
    spec = _spec(name)
    if lang not in i18n.LANGS:
        raise ValueError(f"figure_markdown: lang must be one of {list(i18n.LANGS)}, got {lang!r}")
    depth = len([p for p in Path(relative_to).parts if p not in ("", ".")])
    prefix = "../" * depth
    with i18n.language(lang):
        alt = alt_text(spec.name).replace("[", "(").replace("]", ")")
    folder = "figures/" if lang == "en" else f"figures/{lang}/"
    return f"![{alt}]({prefix}{folder}{spec.name}.png)"


def show_figure(name: str, width: int | None = None):
    """Display figure ``name`` in a notebook with its alt text (an ``<img alt=...>``), in the language in force.

    Reads ``figures/<name>.png`` (``figures/zh/<name>.png`` in Chinese) when it exists (the committed file),
    otherwise draws it.
    """
    import base64
    import html

    from IPython.display import HTML

    from .style import png_bytes

    spec = _spec(name)
    path = figures_dir(i18n.lang()) / f"{spec.name}.png"
    data = path.read_bytes() if path.exists() else png_bytes(make_figure(spec.name))
    style = f' width="{check_int(width, "width", where="show_figure")}"' if width is not None else ""
    alt = html.escape(alt_text(spec.name), quote=True)
    b64 = base64.b64encode(data).decode("ascii")
    return HTML(f'<img src="data:image/png;base64,{b64}" alt="{alt}" title="{html.escape(caption(spec.name))}"{style}>')


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m swin_edu.viz.figures [--lang zh] [--out figures] [--only NAME ...] [--check]``."""
    import matplotlib

    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(prog="python -m swin_edu.viz.figures",
                                     description="Regenerate the course's figures (deterministic PNGs + alt text).")
    parser.add_argument("--lang", choices=i18n.LANGS, default="en",
                        help="the figures' language (zh: Chinese titles, labels and alt texts; needs a CJK font: fonts-noto-cjk)")
    parser.add_argument("--out", default=None, help="output folder (default: the repo's figures/, or figures/zh/)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(FIGURES), help="only these figures")
    parser.add_argument("--check", action="store_true",
                        help="render into a temporary folder and fail if any file differs from --out")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = str(figures_dir(args.lang))
    if args.list:
        for name, spec in FIGURES.items():
            print(f"{name:24s} {spec.caption}")
        return 0
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            render_all(tmp, args.only, lang=args.lang)
            bad = []
            for f in sorted(Path(tmp).iterdir()):  # figures/ itself also holds zh/: compare files only
                target = Path(args.out) / f.name
                if not target.exists() or target.read_bytes() != f.read_bytes():
                    bad.append(f.name)
            if bad:
                print(f"figures out of date in {args.out}: {', '.join(bad)} "
                      f"(run python -m swin_edu.viz.figures --out {args.out})", file=sys.stderr)
                return 1
            print(f"figures in {args.out} are up to date")
            return 0
    paths = render_all(args.out, args.only, verbose=True, lang=args.lang)
    print(f"wrote {len(paths)} figures to {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
