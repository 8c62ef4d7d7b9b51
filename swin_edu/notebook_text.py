"""What the code cells of notebooks 00-08 print and plot, in both languages.

A code cell is the same in the English and the Chinese notebook (the Chinese edition translates the prose only,
docs/translation.md), so the words it prints or puts on a figure come from the course's message catalogue:
``t("nb01.zoom")`` is "zoom: 8 x 8 patches of 4 x 4 pixels" in English and "放大：8 x 8 个图像块，每块 4 x 4 像素"
with ``SWIN_EDU_LANG=zh`` (which the Chinese notebooks' language cell sets). Code names, numbers and formulas
stay as they are in both languages.

:func:`you_predicted` ends the line of a "predict, then run" cell: the learner's prediction, or, when the
prediction cell still holds ``None``, a request to write one first.
"""
from __future__ import annotations

from typing import Any

from .i18n import MESSAGES, add_messages, t

__all__ = ["describe_data", "number", "t", "you_predicted"]


def number(value: Any) -> str:
    """An int with thousands separators (``1,267,972``), a float as it is, or "—" for None (a count that was not
    made): for the numbers a notebook prints next to a formula."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return f"{int(value):,}"
    return str(value)


def describe_data(data) -> str:
    """One line about a :class:`swin_edu.data.DataSplits` in the language in force: its kind of data, the sizes of
    the three splits, the image shape and the number of classes (``DataSplits.describe()`` says it in English)."""
    if not all(hasattr(data, k) for k in ("train", "val", "test", "classes")):
        raise TypeError(f"describe_data: data must be a swin_edu.data.DataSplits (train, val, test, classes), got "
                        f"{type(data).__name__}")
    source = str(getattr(data, "source", "?"))
    kind = "straddle" if source.partition(":")[0] == "straddle" else source
    name = t(f"nb08.task.{kind}") if f"nb08.task.{kind}" in MESSAGES else source
    return t("nb08.data", name=name, train=len(data.train), val=len(data.val), test=len(data.test),
             shape="x".join(str(n) for n in data.train.images.shape[1:]), classes=len(data.classes))


def you_predicted(value: Any, fmt: str = "{}") -> str:
    """" (you predicted <value>)" in the language in force, ``value`` formatted with ``fmt``; when ``value`` is
    None (the learner wrote no prediction), a request to write one before running the cell again."""
    if not isinstance(fmt, str) or "{" not in fmt:
        raise TypeError(f"you_predicted: fmt must be a format string such as '{{:.0%}}', got {fmt!r}")
    if value is None:
        return t("nb.no_prediction")
    try:
        shown = fmt.format(value)
    except (TypeError, ValueError):
        shown = repr(value)  # a prediction of an unexpected type is echoed as it is
    return t("nb.you_predicted", value=shown)


add_messages({
    # --------------------------------------------------------------------------------- every notebook
    "nb.you_predicted": {"en": " (you predicted {value})", "zh": "（你预测的是 {value}）"},
    "nb.no_prediction": {"en": " (you wrote no prediction: write yours in the prediction cell above, then run this "
                               "cell again)",
                         "zh": "（你还没有写预测：先在上面的预测单元格里写下你的预测，再运行一次这个单元格）"},
    # --------------------------------------------------------------------------------- 00 roadmap
    "nb00.stages": {"en": "Swin-T stages (H, W, C): {shapes}", "zh": "Swin-T 各 stage 的 (H, W, C)：{shapes}"},
    "nb00.devices": {"en": "\navailable devices: {devices}\nnotebook 07 will use: {device}",
                     "zh": "\n可用的设备：{devices}\n第 07 章将使用：{device}"},
    "nb00.cores": {"en": "CPU cores: {cores}   full-size examples: {full}", "zh": "CPU 核数：{cores}   完整尺寸的示例：{full}"},
    "nb00.passed": {"en": "\npassed? {passed}", "zh": "\n通过了吗？{passed}"},
    "nb00.vit_growth": {"en": "ViT-B/16 attention (C = 768), 224 -> 448 pixels, 14x14 -> 28x28 tokens: the (hw)^2 "
                              "terms x{quadratic:g}, the projections x{projections:g}, the whole layer x{whole:.1f}",
                        "zh": "ViT-B/16 的注意力层（C = 768），224 -> 448 像素，14x14 -> 28x28 个 token："
                              "(hw)^2 项 x{quadratic:g}，投影 x{projections:g}，整层 x{whole:.1f}"},
    # --------------------------------------------------------------------------------- 01 patch embedding
    "nb01.image": {"en": "image {shape}", "zh": "图像 {shape}"},
    "nb01.zoom": {"en": "zoom: 8 x 8 patches of 4 x 4 pixels", "zh": "放大：8 x 8 个图像块，每块 4 x 4 像素"},
    "nb01.tokens": {"en": "tokens: {shape}   4*4*3 = {n}", "zh": "token：{shape}   4*4*3 = {n}"},
    "nb01.first_pixel": {"en": "token {ij}, first pixel (R, G, B): {token} == image[104, 88]: {pixel}",
                         "zh": "token {ij} 的第一个像素 (R, G, B)：{token} == image[104, 88]：{pixel}"},
    "nb01.entries": {"en": "token {ij}, entries 0..5 come from image {where}",
                     "zh": "token {ij} 的第 0..5 项来自图像的 {where}"},
    "nb01.linear_vs_conv": {"en": "linear: {linear}  conv: {conv}  max difference: {diff:.1e}",
                            "zh": "线性层：{linear}  卷积：{conv}  最大差：{diff:.1e}"},
    "nb01.three_ways": {"en": "conv 4x4/4 on pixels == 1x1 conv on patches == token @ W.T + b",
                        "zh": "像素上的 4x4/4 卷积 == 图像块上的 1x1 卷积 == token @ W.T + b"},
    "nb01.colleague": {"en": "your colleague's LayerNorm on the photo: max |mean| = {mean:.1e}, per-token std "
                             "{lo:.3f} .. {hi:.3f}; largest difference from F.layer_norm: {diff:.4f}",
                       "zh": "同事的 LayerNorm 作用在照片上：|均值| 的最大值 = {mean:.1e}，逐 token 的标准差 "
                             "{lo:.3f} .. {hi:.3f}；和 F.layer_norm 的最大差：{diff:.4f}"},
    "nb01.probe": {"en": "a flat token, colleague: {theirs}   F.layer_norm: {torch}",
                   "zh": "一个平坦的 token，同事的版本：{theirs}   F.layer_norm：{torch}"},
    "nb01.ln_stats": {"en": "per-token mean: max |mean| = {mean:.1e};  per-token std: {lo:.3f} .. {hi:.3f}",
                      "zh": "逐 token 的均值：|均值| 的最大值 = {mean:.1e}；逐 token 的标准差：{lo:.3f} .. {hi:.3f}"},
    "nb01.kernels": {"en": "the trained digits model's {n} patch-embedding kernels: {edges} put more than half of their "
                           "weight on differences between pixels (edges); on average {share:.0%}",
                     "zh": "训练好的手写数字模型的 {n} 个图像块嵌入卷积核：其中 {edges} 个一半以上的权重落在像素之间的差上"
                           "（边缘）；平均 {share:.0%}"},
    "nb01.kernels_title": {"en": "trained patch embedding (digits model): 2 x 2 kernels, white > 0 > black",
                           "zh": "训练好的图像块嵌入（手写数字模型）：2 x 2 卷积核，白 > 0 > 黑"},
    "nb01.channel": {"en": "channel {c}", "zh": "通道 {c}"},
    "nb01.token_map": {"en": "56 x 56 token map after the embedding (random weights)",
                       "zh": "嵌入之后的 56 x 56 token 特征图（随机权重）"},
    # --------------------------------------------------------------------------------- 02 window attention
    "nb02.unscaled": {"en": "q.k (no scale)", "zh": "q.k（不缩放）"},
    "nb02.scaled": {"en": "q.k / sqrt(d)", "zh": "q.k / sqrt(d)"},
    "nb02.logit_std": {"en": "standard deviation of the logits", "zh": "注意力得分的标准差"},
    "nb02.max_weight": {"en": "largest softmax weight (mean over queries, 49 keys)",
                        "zh": "最大的 softmax 权重（对查询取平均，49 个键）"},
    "nb02.dim": {"en": "d, the dimension of q and k", "zh": "d：q 和 k 的维度"},
    "nb02.saturation": {"en": "d = {d}: logits' std {raw:.1f} unscaled, {scaled:.2f} scaled; largest weight "
                              "{wraw:.2f} unscaled, {wscaled:.2f} scaled",
                        "zh": "d = {d}：注意力得分的标准差，不缩放 {raw:.1f}，缩放后 {scaled:.2f}；最大权重，"
                              "不缩放 {wraw:.2f}，缩放后 {wscaled:.2f}"},
    "nb02.heads": {"en": "3 heads of d=4 concatenated + W_o == window_attention: {shape}",
                   "zh": "3 个 d=4 的头拼接后乘 W_o == window_attention：{shape}"},
    "nb02.colleague_square": {"en": "the colleague's window_reverse puts the seed's 4 x 4 map back exactly",
                              "zh": "同事写的 window_reverse 能把原文那张 4 x 4 特征图原样拼回去"},
    "nb02.map": {"en": "4 x 4 map", "zh": "4 x 4 特征图"},
    "nb02.window": {"en": "window {n}", "zh": "窗口 {n}"},
    "nb02.moved": {"en": "outputs that moved", "zh": "变化了的输出"},
    "nb02.second_terms": {"en": "2(hw)^2C = {msa:,}  vs  2M^2hwC = {wmsa:,}: {ratio}x less",
                          "zh": "2(hw)^2C = {msa:,} 对 2M^2hwC = {wmsa:,}：少了 {ratio} 倍"},
    "nb02.block_counted": {"en": "14x14x48 block: counted {counted:,} MACs, {who} {formula:,}",
                           "zh": "14x14x48 的 block：数出 {counted:,} 次乘加，{who}给出 {formula:,}"},
    "nb02.shares": {"en": "QK^T + AV {attn:.1%}, projections {proj:.1%}, MLP {mlp:.1%} of {total:,} MACs",
                    "zh": "在 {total:,} 次乘加中，QK^T + AV 占 {attn:.1%}，投影占 {proj:.1%}，MLP 占 {mlp:.1%}"},
    "nb02.flops": {"en": "{ops}  total FLOPs: {total:,}", "zh": "{ops}  FLOPs 总数：{total:,}"},
    # --------------------------------------------------------------------------------- 03 shifted windows
    "nb03.shift": {"en": "shift_size = floor(M/2): {shift}", "zh": "shift_size = ⌊M/2⌋：{shift}"},
    "nb03.shift_s": {"en": "shift s", "zh": "移位量 s"},
    "nb03.best_shifts": {"en": "shifts that maximise both the new pairs and the worst-direction reach: {best}",
                         "zh": "同时让新增的对数和最差方向上的传播距离最大的移位量：{best}"},
    "nb03.n_windows": {"en": "{n} windows: {sizes}", "zh": "{n} 个窗口：{sizes}"},
    "nb03.displaced_grid": {"en": "displaced grid: 9 windows", "zh": "错开的网格：9 个窗口"},
    "nb03.three_ways": {"en": "windows to compute, Swin-T stage 1: cyclic shift + mask {cyclic}, padding {padded}, "
                              "sliding window {sliding} (one per query)",
                        "zh": "Swin-T stage 1 要算的窗口数：循环移位 + 掩码 {cyclic}，填充 {padded}，"
                              "滑动窗口基线 {sliding}（每个查询一个）"},
    "nb03.padding_terms": {"en": "padding, as exercise 3.1 counts it (padded tokens projected too): {every:.0%} more "
                                 "of every term, {padded:,} MACs vs {cyclic:,}. Projecting only the real tokens keeps "
                                 "the projections at the cyclic shift's cost; QK^T and AV stay {attn:.0%} larger: "
                                 "{lean:.1%} more in all, on uneven windows.",
                           "zh": "按练习 3.1 的算法（填充出来的 token 也做投影）：每一项都多 {every:.0%}，"
                                 "{padded:,} 次乘加对 {cyclic:,}。只投影真实的 token 时，投影的开销和循环移位"
                                 "一样；QK^T 和 AV 仍然多 {attn:.0%}：总共多 {lean:.1%}，而且窗口大小不一。"},
    "nb03.real_logits": {"en": "trained digits model, 359 test digits: largest |logit| {max_abs:.1f}; masked minus best "
                                "allowed logit at most {gap:.1f}; weight on masked keys at most {leak:.1e}",
                         "zh": "训练好的手写数字模型，359 张测试数字：|注意力得分| 最大 {max_abs:.1f}；被屏蔽的得分减去允许的最大"
                               "得分，最多 {gap:.1f}；被屏蔽的键分到的权重最多 {leak:.1e}"},
    "nb03.leak": {"en": "weight through the -100 mask with the logits times   {table}",
                  "zh": "注意力得分乘以不同倍数时，穿过 -100 掩码的权重   {table}"},
    "nb03.first_window": {"en": "labels in the 1st window, roll -s: {minus}   roll +s: {plus}",
                          "zh": "第 1 个窗口里的编号，滚动 -s：{minus}   滚动 +s：{plus}"},
    "nb03.labels": {"en": "displaced windows (labels)", "zh": "错开的窗口（编号）"},
    "nb03.rolled_minus": {"en": "rolled by -s (official)", "zh": "滚动 -s（官方）"},
    "nb03.rolled_plus": {"en": "rolled by +s (wrong direction)", "zh": "滚动 +s（方向错了）"},
    "nb03.one_gather": {"en": "roll + partition == one gather; first window's tokens come from map positions {index}",
                        "zh": "滚动 + 划分 == 一次按索引取值；第一个窗口的 token 来自特征图的位置 {index}"},
    "nb03.predicted_blocked": {"en": "predicted -100 entries per window of the {H}x{W} map (M={M}, s={s}): {counts}",
                               "zh": "预测 {H}x{W} 特征图（M={M}，s={s}）每个窗口里 -100 的项数：{counts}"},
    "nb03.region_ids": {"en": "region ids of the rolled map", "zh": "滚动后特征图的区域编号"},
    "nb03.mask": {"en": "mask: {shape} values: {values}", "zh": "掩码：{shape} 取值：{values}"},
    "nb03.blocked": {"en": "-100 entries per window, counted in the mask: {counted}   predicted: {predicted}",
                     "zh": "在掩码里数出的每个窗口的 -100 项数：{counted}   预测：{predicted}"},
    "nb03.discarded": {"en": "pairs discarded by the mask, Swin-T stages 1-3 (56, 28, 14): {shares}",
                       "zh": "被掩码丢弃的对所占比例，Swin-T 的 stage 1-3（56、28、14）：{shares}"},
    "nb03.softmax_masks": {"en": "softmax without mask: {plain}\nsoftmax with mask:    {masked}",
                           "zh": "不加掩码的 softmax：{plain}\n加掩码的 softmax：  {masked}"},
    "nb03.exp_minus_100": {"en": "exp(-100) in fp32 = {value} ; 1 + exp(-100) == 1: {same}",
                           "zh": "fp32 中 exp(-100) = {value}；1 + exp(-100) == 1：{same}"},
    "nb03.fp_head": {"en": "   dtype  mask value  stored as  exp(value)  softmax of a fully masked row",
                     "zh": "   dtype      掩码值     存储为      exp(值)  整行都被屏蔽时的 softmax"},
    "nb03.proof": {"en": "{size}x{size} map, M={M}, s={s}: max |SW-MSA - 9 padded windows| = {err:.2e}",
                   "zh": "{size}x{size} 特征图，M={M}，s={s}：max |SW-MSA - 9 个填充窗口| = {err:.2e}"},
    "nb03.windows_computed": {"en": "windows computed: {cyclic} (cyclic shift) vs {padded} (padded)",
                              "zh": "要算的窗口数：{cyclic}（循环移位）对 {padded}（填充）"},
    "nb03.does_not_broadcast": {"en": "ValueError (the mask does not broadcast)", "zh": "ValueError（掩码无法广播）"},
    "nb03.mistake": {"en": "{name:>20}: max |difference| = {error}", "zh": "{name:>20}：最大 |差| = {error}"},
    "nb03.padded_counted": {"en": "MACs counted in the padded code: {counted:,}   {who}: {formula:,}",
                            "zh": "在填充版代码里数出的乘加次数：{counted:,}   {who}：{formula:,}"},
    "nb03.sliding_batched": {"en": "sliding window, batched == one query at a time: max difference {diff:.1e}",
                             "zh": "滑动窗口基线，批量计算 == 逐个查询计算：最大差 {diff:.1e}"},
    "nb03.timing_axis": {"en": "milliseconds (median of 3), numpy on this CPU",
                         "zh": "毫秒（3 次的中位数），本机 CPU 上的 numpy"},
    "nb03.way.W-MSA (no shift)": {"en": "W-MSA (no shift)", "zh": "W-MSA（不移位）"},
    "nb03.way.cyclic shift + mask": {"en": "cyclic shift + mask", "zh": "循环移位 + 掩码"},
    "nb03.way.padding (batched)": {"en": "padding (batched)", "zh": "填充（批量）"},
    "nb03.way.padding (loop over windows)": {"en": "padding (loop over windows)", "zh": "填充（逐窗口循环）"},
    "nb03.way.sliding window": {"en": "sliding window", "zh": "滑动窗口基线"},
    "nb03.far_pairs": {"en": "7x7 map, M=4, s=2:  pad then shift: {pad_first}   shift then pad: {shift_first}",
                       "zh": "7x7 特征图，M=4，s=2：先填充再移位：{pad_first}   先移位再填充：{shift_first}"},
    "nb03.padded_map": {"en": "7x10 map, M=4: pad -> shift -> mask == padded windows: {shape}",
                        "zh": "7x10 特征图，M=4：填充 -> 移位 -> 掩码 == 填充窗口：{shape}"},
    # --------------------------------------------------------------------------------- 04 relative position bias
    "nb04.shuffle": {"en": "shuffling tokens shuffles the outputs (no bias); with the relative bias it does not",
                     "zh": "打乱 token，输出也跟着同样打乱（没有偏置时）；加上相对位置偏置就不是这样了"},
    "nb04.dy": {"en": "dy (query rows i, key columns j):\n{dy}", "zh": "dy（行 i 是查询，列 j 是键）：\n{dy}"},
    "nb04.dx": {"en": "dx:\n{dx}", "zh": "dx：\n{dx}"},
    "nb04.base_head": {"en": " M  base  distinct indices  largest index  table rows",
                       "zh": " M  基数  不同的索引数  最大索引  表的行数"},
    "nb04.same_offset": {"en": "B: {shape}  same offset -> same bias: checked", "zh": "B：{shape}  偏移相同 -> 偏置相同：已验证"},
    "nb04.centre_bias": {"en": "bias of the centre query, head 0 (7 x 7)", "zh": "中心查询的偏置，第 0 个头（7 x 7）"},
    "nb04.pairs_per_row": {"en": "pairs reading each table row, M = 7", "zh": "读取表中每一行的对数，M = 7"},
    "nb04.centre_corner": {"en": "row (0, 0): {centre} pairs per window; a corner row (-6, -6): {corner}",
                           "zh": "第 (0, 0) 行：每个窗口 {centre} 对；角上的行 (-6, -6)：{corner} 对"},
    "nb04.swin_t_tables": {"en": "Swin-T: {tables} tables, {biases:,} learned biases; {buffers} index buffers "
                                 "(derived, not learned)",
                           "zh": "Swin-T：{tables} 张表，{biases:,} 个可学习的偏置；{buffers} 个索引缓冲区"
                                 "（推导出来的，不是学出来的）"},
    "nb04.by_hand": {"en": "SoftMax(QK^T/sqrt(d) + B)V by hand == snp.window_attention with the table",
                     "zh": "手算的 SoftMax(QK^T/sqrt(d) + B)V == 带偏置表的 snp.window_attention"},
    "nb04.windows_384": {"en": "(window, shift) per stage: {before} -> {after}",
                         "zh": "每个 stage 的（窗口，移位）：{before} -> {after}"},
    "nb04.table_rows": {"en": "table rows: {before} -> {after}", "zh": "表的行数：{before} -> {after}"},
    "nb04.ramp": {"en": "resized ramp, dx = 0..11: {ramp}\n{who:25} {offsets}",
                  "zh": "缩放后的斜坡，dx = 0..11：{ramp}\n{who}：  {offsets}"},
    "nb04.old_grid": {"en": "M = 7: 13 x 13 grid (head 0)", "zh": "M = 7：13 x 13 的网格（第 0 个头）"},
    "nb04.new_grid": {"en": "resized for M = 12: 23 x 23", "zh": "为 M = 12 缩放后：23 x 23"},
    "nb04.old_profile": {"en": "old table, dy = 0", "zh": "旧表，dy = 0"},
    "nb04.new_profile": {"en": "new, at its source", "zh": "新表，画在它的取值位置"},
    "nb04.offset_axis": {"en": "offset dx, in old-table units", "zh": "偏移 dx（以旧表为单位）"},
    # --------------------------------------------------------------------------------- 05 block and merging
    "nb05.activation": {"en": "the MLP's activation", "zh": "MLP 的激活函数"},
    "nb05.drop_path": {"en": "dropped samples: {dropped:.3f}   kept value: {kept:.4f}   mean: {mean:.3f}",
                       "zh": "被丢掉的样本比例：{dropped:.3f}   保留下来的值：{kept:.4f}   均值：{mean:.3f}"},
    "nb05.colleague": {"en": "the colleague's block runs: output {shape}, moved up to {diff:.2f} from its input",
                       "zh": "同事的 block 能跑：输出 {shape}，与输入最多相差 {diff:.2f}"},
    "nb05.reached": {"en": "reached: {w} after W-MSA (predicted {w_pred}), {pair} after the pair (predicted {pair_pred} far "
                           "from the borders)",
                     "zh": "影响到的 token：W-MSA 之后 {w} 个（预测 {w_pred}），一对 block 之后 {pair} 个（远离边界时预测 "
                           "{pair_pred}）"},
    "nb05.after_w": {"en": "after the W-MSA block", "zh": "W-MSA block 之后"},
    "nb05.after_pair": {"en": "after the W-MSA/SW-MSA pair", "zh": "W-MSA/SW-MSA 这一对之后"},
    "nb05.tokens_reached": {"en": "tokens reached, with the shift: {shift} | without: {no_shift}",
                            "zh": "影响到的 token 数，有移位：{shift} | 没有移位：{no_shift}"},
    "nb05.blocks_shift": {"en": "{d} blocks, shift", "zh": "{d} 个 block，有移位"},
    "nb05.blocks_no_shift": {"en": "{d} blocks, no shift", "zh": "{d} 个 block，没有移位"},
    "nb05.block_row.vit": {"en": "ViT block:  {macs:,} MACs ({counted} counted while it ran); a poke reaches {reach} of "
                                 "{tokens} tokens; {ms:.0f} ms",
                           "zh": "ViT block：{macs:,} 次乘加（运行时数出 {counted}）；戳一下影响 {tokens} 个 token 中的 "
                                 "{reach} 个；{ms:.0f} 毫秒"},
    "nb05.block_row.swin": {"en": "Swin block: {macs:,} MACs ({counted} counted while it ran); a poke reaches {reach} of "
                                  "{tokens} tokens; {ms:.0f} ms",
                            "zh": "Swin block：{macs:,} 次乘加（运行时数出 {counted}）；戳一下影响 {tokens} 个 token 中的 "
                                  "{reach} 个；{ms:.0f} 毫秒"},
    "nb05.vit_ratio": {"en": "one ViT block / one Swin block (C = 96, M = 7): {r224:.1f}x the MACs for 224 x 224 images "
                             "(56 x 56 tokens), {r448:.1f}x for 448 x 448",
                       "zh": "一个 ViT block / 一个 Swin block（C = 96，M = 7）：224 x 224 的图像（56 x 56 个 token）"
                             "乘加次数是 {r224:.1f} 倍，448 x 448 时是 {r448:.1f} 倍"},
    "nb05.maps": {"en": "maps: {maps}\n(window, shift): {windows}", "zh": "特征图：{maps}\n（窗口，移位）：{windows}"},
    "nb05.stage4_shift": {"en": "stage 4 with a shift: {n} window, only {allowed:.0%} of the token pairs allowed",
                          "zh": "stage 4 如果移位：只有 {n} 个窗口，只允许 {allowed:.0%} 的 token 对"},
    "nb05.folded": {"en": "gather = conv with a one-hot kernel; gather + linear = a 2x2 stride-2 conv with kernel {shape}",
                    "zh": "取块 = 卷积核为 one-hot 的卷积；取块 + 线性层 = 一个 2x2、步长 2、卷积核形状为 {shape} 的卷积"},
    "nb05.stage": {"en": "stage {i}: blocks on {before} (window {M}, shift {s}) -> {after}",
                   "zh": "stage {i}：block 作用在 {before} 上（窗口 {M}，移位 {s}）-> {after}"},
    # --------------------------------------------------------------------------------- 06 numpy model
    "nb06.keys": {"en": "{n} keys, e.g. {first} ... {last}", "zh": "{n} 个键，例如 {first} ... {last}"},
    "nb06.shapes_at": {"en": "Swin-T at {size}: {shapes}", "zh": "Swin-T，输入 {size}：{shapes}"},
    "nb06.stage_params": {"en": "stage {i}: {depth} blocks {blocks:,} + patch merging {merging:,} parameters",
                          "zh": "stage {i}：{depth} 个 block 共 {blocks:,} 个参数 + 块合并 {merging:,} 个"},
    "nb06.total_params": {"en": "Swin-T: {n:,} parameters (the paper: 28M)", "zh": "Swin-T：{n:,} 个参数（论文：28M）"},
    "nb06.shares": {"en": "params share per stage: {shares}", "zh": "各 stage 的参数占比：{shares}"},
    "nb06.macs": {"en": "MACs per block (M): {per_block} | per stage (M): {per_stage}",
                  "zh": "每个 block 的乘加次数（百万）：{per_block} | 每个 stage（百万）：{per_stage}"},
    "nb06.you_predicted": {"en": "you predicted stage {stage} ({share}) and stage {macs_stage} per block",
                           "zh": "你预测的是 stage {stage}（{share}），每个 block 最贵的是 stage {macs_stage}"},
    "nb06.logits_in": {"en": "logits {shape} in {seconds:.2f} s", "zh": "logits {shape}，用时 {seconds:.2f} 秒"},
    "nb06.maps": {"en": "maps: {maps}", "zh": "各 stage 的特征图：{maps}"},
    "nb06.batch_independent": {"en": "batch-independent: checked", "zh": "与 batch 无关：已验证"},
    "nb06.size": {"en": "{size}: logits {shape}; maps {maps}", "zh": "{size}：logits {shape}；特征图 {maps}"},
    "nb06.stored_masks": {"en": "stored attn_mask buffers (for 32x32): {shapes}",
                          "zh": "checkpoint 里存的 attn_mask 缓冲区（对应 32x32）：{shapes}"},
    "nb06.padded": {"en": "map {h:2d} x {w:2d} x {c:3d}  window {M}, shift {s}  -> padded {hp} x {wp}: {n} windows",
                    "zh": "特征图 {h:2d} x {w:2d} x {c:3d}  窗口 {M}，移位 {s}  -> 填充到 {hp} x {wp}：{n} 个窗口"},
    "nb06.built_for": {"en": "a classification model built for 256 x 320 would use (window, shift) {windows}",
                       "zh": "按 256 x 320 构建的分类模型会用的（窗口，移位）：{windows}"},
    "nb06.numpy_torch": {"en": "max |numpy - torch| = {diff:.1e} (logits up to {top:.2f})",
                         "zh": "max |numpy - torch| = {diff:.1e}（logits 最大 {top:.2f}）"},
    "nb06.digits_model": {"en": "{name} model: {depths} blocks, {px} px, {classes} classes",
                          "zh": "{name} 模型：{depths} 个 block，{px} 像素，{classes} 个类别"},
    "nb06.released_diff": {"en": "max |numpy - torch| logit difference: {diff:.1e}",
                           "zh": "numpy 与 torch 的 logits 最大差：{diff:.1e}"},
    "nb06.full_forward": {"en": "Swin-T numpy forward: {shape} in {seconds:.1f} s",
                          "zh": "Swin-T 的 numpy 前向传播：{shape}，用时 {seconds:.1f} 秒"},
    "nb06.full_skipped": {"en": "skipped (set SWIN_EDU_FULL=1 to run Swin-T at 224 x 224)",
                          "zh": "已跳过（设置 SWIN_EDU_FULL=1 才会在 224 x 224 上运行 Swin-T）"},
    # --------------------------------------------------------------------------------- 07 PyTorch model
    "nb07.device": {"en": "{device} | autocast: {amp}", "zh": "{device} | autocast：{amp}"},
    "nb07.amp_off": {"en": "off (float32)", "zh": "关闭（float32）"},
    "nb07.child": {"en": "{name:12s} {kind:12s} {n:>9,} parameters", "zh": "{name:12s} {kind:12s} {n:>9,} 个参数"},
    "nb07.torch_numpy": {"en": "{size}: max |torch - numpy| = {diff:.1e}", "zh": "{size}：max |torch - numpy| = {diff:.1e}"},
    "nb07.colleague_layer": {"en": "the colleague's layer loaded strictly: the stage's weights hold {weights:,} numbers, "
                                   "the layer {held:,}; its blocks shift by {shifts}",
                             "zh": "同事的这一层严格加载成功：这个 stage 的权重有 {weights:,} 个数，这一层只持有 {held:,} "
                                   "个；它的各个 block 的移位量是 {shifts}"},
    "nb07.colleague_merging": {"en": "the colleague's PatchMerging has names the official weights do not have: {extra}; "
                                     "the official weights have names it lacks: {missing}",
                               "zh": "同事的 PatchMerging 有官方权重里没有的名字：{extra}；官方权重里有、它却没有的名字：{missing}"},
    "nb07.timing.roll + partition": {"en": "roll + partition", "zh": "滚动 + 划分"},
    "nb07.timing.index_select": {"en": "index_select", "zh": "index_select"},
    "nb07.kernel_ran": {"en": "{name:>9}: runs with the float mask (max difference from the explicit softmax {diff:.1e})",
                        "zh": "{name:>9}：接受浮点掩码，能运行（与显式 softmax 的最大差 {diff:.1e}）"},
    "nb07.kernel_refused": {"en": "{name:>9}: refuses it, or is not built for this device",
                            "zh": "{name:>9}：不接受这个掩码，或者这个设备上没有这个 kernel"},
    "nb07.kernel_picked": {"en": "SDPA's own choice for these inputs on {device}: {name}",
                           "zh": "对这些输入，SDPA 在 {device} 上自己选的是：{name}"},
    "nb07.sdpa_explicit": {"en": "sdpa vs explicit: max difference {diff:.1e}", "zh": "sdpa 与显式实现：最大差 {diff:.1e}"},
    "nb07.bf16": {"en": "{who:8s} {device}: bf16 autocast vs float32, relative difference {rel:.1e}; same top class: "
                        "{same:.0%}",
                  "zh": "{who:8s} {device}：bf16 autocast 与 float32 相比，相对差 {rel:.1e}；最高类别相同的比例：{same:.0%}"},
    "nb07.table_head": {"en": "model         params  publ.            MACs  publ.  published in",
                        "zh": "模型          参数量  发表值     乘加次数  发表值  出处"},
    "nb07.source.paper, Table 1": {"en": "paper, Table 1", "zh": "论文，表 1"},
    "nb07.source.official model zoo (22K→1K)": {"en": "official model zoo (22K→1K)", "zh": "官方模型库（22K→1K）"},
    "nb07.flop_counter": {"en": "FlopCounterMode: {flops:,} FLOPs = 2 x {macs:,} MACs;  formula: {formula:,}",
                          "zh": "FlopCounterMode：{flops:,} FLOPs = 2 x {macs:,} 次乘加；公式：{formula:,}"},
    "nb07.with_norms": {"en": "+ LayerNorms as the official flops() counts them: {macs:,} = 4.5G 'FLOPs'",
                        "zh": "+ 按官方 flops() 的算法计入 LayerNorm：{macs:,} = 4.5G 'FLOPs'"},
    "nb07.saved": {"en": "{name} {mb:.1f} MB, {n} keys: {first} ...", "zh": "{name} {mb:.1f} MB，{n} 个键：{first} ..."},
    "nb07.loaded_64": {"en": "loaded at 64x64: {shapes}", "zh": "按 64x64 加载：{shapes}"},
    "nb07.throughput": {"en": "{name} on {device}, batch {batch}: {rates} img/s",
                        "zh": "{name}，{device}，batch {batch}：{rates} 张/秒"},
    "nb07.images_per_s": {"en": "images / s", "zh": "图像数 / 秒"},
    "nb07.bench_title": {"en": "{name}, {device}, batch {batch}", "zh": "{name}，{device}，batch {batch}"},
    "nb07.yours_vs_package": {"en": "{dev}: {label}: max |logits - package logits| = {err:.1e} (max |logit| {top:.2f})",
                              "zh": "{dev}：{label}：与 package 模型 logits 的最大差 = {err:.1e}（logits 最大 {top:.2f}）"},
    "nb07.first_window": {"en": "index of the first window: {index}", "zh": "第一个窗口的索引：{index}"},
    "nb07.roll_vs_index": {"en": "{times} | index_select faster: {faster}", "zh": "{times} | index_select 更快：{faster}"},
    "nb07.released_vs_package": {"en": "max |logit difference| against the package model: {diff:.1e}",
                                 "zh": "与 package 模型的 logits 最大差：{diff:.1e}"},
    "nb07.released_vs_hf": {"en": "max |logit difference| against HF transformers: {diff:.1e}",
                            "zh": "与 HF transformers 的 logits 最大差：{diff:.1e}"},
    "nb07.stride": {"en": "{shape}: stride {stride}", "zh": "{shape}：步长 {stride}"},
    # --------------------------------------------------------------------------------- 08 training
    "nb08.data": {"en": "{name}: {train} train / {val} validation / {test} test images, {shape}, {classes} classes",
                  "zh": "{name}：训练 {train} 张 / 验证 {val} 张 / 测试 {test} 张图像，{shape}，{classes} 个类别"},
    "nb08.label": {"en": "label {label}", "zh": "标签 {label}"},
    "nb08.stage": {"en": "stage {i}: {h} x {w} tokens, C = {C:3d}, window {M}, shift {s}",
                   "zh": "stage {i}：{h} x {w} 个 token，C = {C:3d}，窗口 {M}，移位 {s}"},
    "nb08.parameters": {"en": "{n:,} parameters", "zh": "{n:,} 个参数"},
    "nb08.step": {"en": "optimizer step", "zh": "优化器步数"},
    "nb08.lr": {"en": "learning rate", "zh": "学习率"},
    "nb08.schedule": {"en": "warm-up, then cosine", "zh": "先预热，再余弦"},
    "nb08.untrained": {"en": "untrained model: loss {loss:.3f}, ln 10 = {ln10:.3f}",
                       "zh": "未训练的模型：损失 {loss:.3f}，ln 10 = {ln10:.3f}"},
    "nb08.floor": {"en": "best possible loss with smoothing 0.1: {floor:.3f}",
                   "zh": "标签平滑 0.1 时损失的最小可能值：{floor:.3f}"},
    "nb08.original": {"en": "original", "zh": "原图"},
    "nb08.augmented": {"en": "augmented (seed {seed})", "zh": "增强后（种子 {seed}）"},
    "nb08.my_loop": {"en": "my loop", "zh": "我的循环"},
    "nb08.my_loop_done": {"en": "my loop: validation accuracy {acc:.2%} after {epochs} epochs ({steps} steps)",
                          "zh": "我的循环：{epochs} 个 epoch（{steps} 步）之后，验证集准确率 {acc:.2%}"},
    "nb08.written": {"en": "written to {out} (removed after this cell): {files}",
                     "zh": "写入了 {out}（这个单元格结束后删除）：{files}"},
    "nb08.live": {"en": "trained now, {seconds:.0f} s", "zh": "刚刚训练，用时 {seconds:.0f} 秒"},
    "nb08.recorded": {"en": "recorded: the shipped weights of the recipe's run and its history; the test set evaluated "
                            "now",
                      "zh": "记录值：随包提供的、这个配方那次运行的权重及其训练历史；测试集是刚刚评估的"},
    "nb08.test_acc": {"en": "test accuracy {acc:.2%} after {epochs} epochs ({where})",
                      "zh": "{epochs} 个 epoch 之后测试集准确率 {acc:.2%}（{where}）"},
    "nb08.curves_title": {"en": "{name} model, 16 x 16 digits", "zh": "{name} 模型，16 x 16 的手写数字"},
    "nb08.confusion_title": {"en": "test set: {right} of {total} right", "zh": "测试集：{total} 张中答对 {right} 张"},
    "nb08.misclassified": {"en": "misclassified test digits (true → predicted)", "zh": "分错的测试数字（真实 → 预测）"},
    "nb08.block0": {"en": "stage 1, block 0: W-MSA", "zh": "stage 1，block 0：W-MSA"},
    "nb08.block1": {"en": "stage 1, block 1: SW-MSA", "zh": "stage 1，block 1：SW-MSA"},
    "nb08.corner": {"en": "corner query, SW-MSA: weight on its own 2x2 region {own:.6f}, on the wrapped-in tokens "
                          "{wrapped:.1e}",
                    "zh": "角上的查询，SW-MSA：在它自己那块 2x2 区域上的权重 {own:.6f}，在循环移位卷进来的 token 上 "
                          "{wrapped:.1e}"},
    "nb08.straddle_data": {"en": "{data} | the marks are {distance} tokens apart",
                           "zh": "{data} | 两个标记相隔 {distance} 个 token"},
    "nb08.residual": {"en": "shift {shift!s:5}: largest |s(o,o) + s(b,b) - s(o,b) - s(b,o)| = {residual:.1e} (scores up to "
                            "{scale:.2f}); at most {best} of each 4 right",
                      "zh": "移位 {shift!s:5}：|s(o,o) + s(b,b) - s(o,b) - s(b,o)| 的最大值 = {residual:.1e}（得分最大 "
                            "{scale:.2f}）；每组 4 张最多对 {best} 张"},
    "nb08.straddle_bar": {"en": "straddle, 3 seeds x 2 models", "zh": "跨界任务，3 个种子 x 2 个模型"},
    "nb08.straddle_shipped": {"en": "the shipped straddle checkpoint (the shifted model, seed 0), evaluated now: test "
                                    "accuracy {acc:.1%}; every prediction the recorded one: {same}",
                              "zh": "随包提供的跨界任务检查点（有移位的模型，种子 0），刚刚评估：测试集准确率 {acc:.1%}；"
                                    "每个预测都与记录一致：{same}"},
    "nb08.straddle_acc": {"en": "{name:>10s}: test accuracy {accs} ({n} seeds, {where})",
                          "zh": "{name:>10s}：测试集准确率 {accs}（{n} 个种子，{where}）"},
    "nb08.live_short": {"en": "trained now", "zh": "刚刚训练"},
    "nb08.recorded_short": {"en": "recorded", "zh": "记录值"},
    "nb08.paired": {"en": "shift - no shift, paired by seed: {mean:+.1%}, 95 % CI [{low:+.1%}, {high:+.1%}]: {verdict}",
                    "zh": "有移位 - 无移位，按种子配对：{mean:+.1%}，95% 置信区间 [{low:+.1%}, {high:+.1%}]：{verdict}"},
    "nb08.verdict.better": {"en": "better", "zh": "更好"},
    "nb08.verdict.worse": {"en": "worse", "zh": "更差"},
    "nb08.verdict.not resolved": {"en": "not resolved", "zh": "无法分辨"},
    "nb08.reach": {"en": "{depth} blocks, shift {shift!s:5}: a token sees both marks k = 1, 2, 3 windows apart: {seen}",
                   "zh": "{depth} 个 block，移位 {shift!s:5}：两个标记相隔 k = 1、2、3 个窗口时，是否有 token 同时看到两者："
                         "{seen}"},
    "nb08.seen.both": {"en": "both", "zh": "看到"},
    "nb08.seen.never": {"en": "never", "zh": "看不到"},
    "nb08.task.digits": {"en": "digits", "zh": "手写数字"},
    "nb08.task.straddle": {"en": "straddle", "zh": "跨界任务"},
    "nb08.baselines.digits": {"en": "digits:   RBF SVM {svm:.2%} | small CNN {cnn} (seeds 0, 1, 2) | Swin {swin} (seed 0)",
                              "zh": "手写数字：RBF SVM {svm:.2%} | 小 CNN {cnn}（种子 0、1、2）| Swin {swin}（种子 0）"},
    "nb08.baselines.straddle": {"en": "straddle: RBF SVM {svm:.2%} | small CNN {cnn} (seeds 0, 1, 2) | Swin {swin} | Swin "
                                      "without the shift {no_shift}",
                                "zh": "跨界任务：RBF SVM {svm:.2%} | 小 CNN {cnn}（种子 0、1、2）| Swin {swin} | 不移位的 "
                                      "Swin {no_shift}"},
    "nb08.digits_spread": {"en": "on digits the three models are within {images} test images of each other ({points:.2%})",
                           "zh": "在手写数字上，三个模型彼此相差不超过 {images} 张测试图像（{points:.2%}）"},
    "nb08.ablation_setup": {"en": "the recorded ablation: preset {preset} ({params:,} parameters), {epochs} epochs, lr "
                                  "{lr:g} ({warmup:g} warm-up epoch), drop path {drop_path:g}, seeds {seeds}\nto repeat "
                                  "it: {command}",
                            "zh": "记录下来的消融实验：预设 {preset}（{params:,} 个参数），{epochs} 个 epoch，学习率 {lr:g}"
                                  "（预热 {warmup:g} 个 epoch），随机深度 {drop_path:g}，种子 {seeds}\n重做一遍的命令："
                                  "{command}"},
    "nb08.ablation_row": {"en": "{name:>18s}: {mean:6.2f} ± {std:.2f} % ({n} seeds)",
                          "zh": "{name:>18s}：{mean:6.2f} ± {std:.2f} %（{n} 个种子）"},
    "nb08.vs_swin": {"en": "   vs swin {mean:+.2f} [{low:+.2f}, {high:+.2f}]  {verdict}",
                     "zh": "   与完整模型相比 {mean:+.2f} [{low:+.2f}, {high:+.2f}]  {verdict}"},
    "nb08.verdicts": {"en": "verdicts: {verdicts}", "zh": "结论：{verdicts}"},
    "nb08.variant.swin": {"en": "swin", "zh": "完整模型"},
    "nb08.variant.w/o shift": {"en": "w/o shift", "zh": "不移位"},
    "nb08.variant.no pos.": {"en": "no pos.", "zh": "无位置信息"},
    "nb08.variant.abs. pos.": {"en": "abs. pos.", "zh": "绝对位置编码"},
    "nb08.variant.abs. + rel. pos.": {"en": "abs. + rel. pos.", "zh": "绝对 + 相对位置"},
})
