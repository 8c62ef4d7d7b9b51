"""Exercises of notebook 06: the whole model in numpy."""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import numpy_ref as snp
from ..i18n import Text
from ..config import SwinConfig
from ..layout import is_derived_buffer
from ._data import between, draw, rand
from .diagnostics import NO_RETURN, describe
from .spec import Case, Exercise, Misconception

__all__ = ["STAGE_SHAPES", "BLOCK_PARAM_COUNT", "SWIN_FORWARD", "block_param_count_reference",
           "count_params_reference", "tiny_test_config"]


# ----------------------------------------------------------------------------- stage shapes
def stage_shapes_reference(cfg, img_size):
    """[(H_i, W_i, C_i) for each stage] for images of ``img_size`` (an int or (H, W))."""
    return [(h, w, c) for (h, w), c in zip(cfg.stage_resolutions(img_size), cfg.stage_dims, strict=True)]


def _hw(img_size):
    return (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)


def _shapes_with(cfg, img_size, rnd, patch=True, double=True):
    H, W = _hw(img_size)
    p = cfg.patch_size if patch else 1
    h, w = rnd(H / p), rnd(W / p)
    out = []
    for i in range(cfg.num_layers):
        out.append((h, w, cfg.embed_dim * (2 ** i if double else 1)))
        h, w = rnd(h / 2), rnd(w / 2)
    return out


def _compare_shapes(got, expected, case):
    cfg, img = case.args
    exp_desc = Text(f"a list of {len(expected)} tuples (H, W, C), one per stage",
                    f"{len(expected)} 个 tuple (H, W, C) 组成的 list，每个 stage 一个")
    if got is None:
        return ["expected: " + exp_desc, "got:      None",
                NO_RETURN]
    try:
        norm = [tuple(int(v) for v in t) for t in got]
    except (TypeError, ValueError):
        return ["expected: " + exp_desc, f"got:      {describe(got)}",
                Text("hint: return a list like [(56, 56, 96), (28, 28, 192), ...].",
                     "hint: 请返回形如 [(56, 56, 96), (28, 28, 192), ...] 的 list。")]
    if len(norm) != len(expected):
        return ["expected: " + exp_desc, Text(f"got:      {len(norm)} entries: {norm}", f"got:      {len(norm)} 项：{norm}"),
                Text(f"hint: this config has {cfg.num_layers} stages (len(cfg.depths)).",
                     f"hint: 这个配置有 {cfg.num_layers} 个 stage（len(cfg.depths)）。")]
    if any(len(t) != 3 for t in norm):
        return ["expected: " + exp_desc, f"got:      {norm}", Text("hint: each entry is (H, W, C).",
                                                                   "hint: 每一项都是 (H, W, C)。")]
    if norm == [tuple(t) for t in expected]:
        return None
    i = next(k for k in range(len(norm)) if norm[k] != tuple(expected[k]))
    lines = [f"expected: {[tuple(t) for t in expected]}", f"got:      {norm}",
             Text(f"first difference at stage {i + 1}: expected {tuple(expected[i])}, got {norm[i]}.",
                  f"第一个不同在 stage {i + 1}：期望 {tuple(expected[i])}，实际 {norm[i]}。")]
    if img != cfg.img_size and norm == [tuple(t) for t in stage_shapes_reference(cfg, cfg.img_size)]:
        return lines + [Text(f"hint: these are the shapes for the config's own img_size={cfg.img_size}; use the "
                             f"img_size argument ({img}) instead: the same weights run at other resolutions.",
                             f"hint: 这些是按配置自己的 img_size={cfg.img_size} 算出的形状；"
                             f"请改用参数 img_size（{img}）：同一套权重可以在别的分辨率上运行。")]
    for rnd, patch, double, hint in (
            (lambda v: int(math.floor(v)), True, True,
             Text("odd sizes round *up*: patch embedding and patch merging pad an odd map before cutting it "
                  "(ceil(h / 2), not h // 2).",
                  "奇数尺寸要*向上*取整：图像块嵌入和块合并在切分之前会先把奇数尺寸的特征图填充一下（ceil("
                  "h / 2)，而不是 h // 2）。")),
            (lambda v: int(math.ceil(v)), False, True,
             Text("the patch embedding divides the image size by the patch size (cfg.patch_size) first.",
                  "图像块嵌入先把图像尺寸除以图像块大小（cfg.patch_size）。")),
            (lambda v: int(math.ceil(v)), True, False,
             Text("each patch merging doubles the channels: stage i has embed_dim * 2**i.",
                  "每次块合并都让通道数翻倍：stage i 有 embed_dim * 2**i 个通道。")),
    ):
        if norm == _shapes_with(cfg, img, rnd, patch, double):
            return lines + ["hint: " + hint]
    return lines + [Text("hint: start from ceil(H / patch_size), ceil(W / patch_size) and embed_dim; between two "
                         "stages halve H and W (rounding up) and double C.",
                         "hint: 从 ceil(H / patch_size)、ceil(W / patch_size) 和 embed_dim 开始；"
                         "两个 stage 之间，H 和 W 减半（向上取整），C 翻倍。")]


def tiny_test_config() -> SwinConfig:
    """A 2-stage model small enough for self-checks: 16x16 images, patch 2, C=12, window 4."""
    return SwinConfig(img_size=16, patch_size=2, embed_dim=12, depths=(2, 2), num_heads=(3, 6),
                      window_size=4, num_classes=5, name="tiny-test")


def _shapes_hidden(rng):
    H, W, n = 32 * between(rng, 5, 9), 32 * between(rng, 10, 12), 2 * between(rng, 12, 15) + 1
    return [Case(Text(f"Swin-T at another resolution, {H}x{W}",
                      f"Swin-T 换一个分辨率，{H}x{W}"), (SwinConfig.preset("tiny"), (H, W))),
            Case(Text(f"nano at {n}x{n} (the patch does not divide)",
                      f"nano 模型在 {n}x{n} 上（图像块大小除不尽）"), (SwinConfig.preset("nano"), n))]


STAGE_SHAPES = Exercise(
    name="stage_shapes",
    signature="stage_shapes_mine(cfg, img_size)",
    reference=stage_shapes_reference,
    kind="custom",
    compare=_compare_shapes,
    cases=lambda: [
        Case(Text("Swin-T at 224x224",
                  "224x224 的 Swin-T 模型"), (SwinConfig.preset("tiny"), 224)),
        Case(Text("the course's nano model at 32x32",
                  "本课程的 nano 模型，32x32"), (SwinConfig.preset("nano"), 32)),
        Case(Text("Swin-T at 200x200 (odd maps on the way: 25 -> 13 -> 7)",
                  "Swin-T，200x200（途中会出现奇数尺寸：25 -> 13 -> 7）"), (SwinConfig.preset("tiny"), 200)),
    ],
    hidden=_shapes_hidden,
    forbidden=("swin_edu.config:SwinConfig.stage_resolutions",),
    hints=(Text("Follow one axis: what does the patch embedding do to 224, and then each patch merging? What if "
                "the size does not divide?",
                "只看一个轴：图像块嵌入把 224 变成多少，之后每次块合并又怎样？除不尽时怎么办？"),
           Text("Divide by the patch size rounding up (the image is padded), then halve rounding up at each merging; "
                "the channels start at embed_dim and double at each merging; one (H, W, C) per stage.",
                "除以图像块大小并向上取整（图像会被填充），之后每次合并都减半并向上取整；通道数从 embed_di"
                "m 开始，每次合并翻倍；每个 stage 一个 (H, W, C)。")),
)


# ----------------------------------------------------------------------------- count parameters
def count_params_reference(state_dict):
    """Learned numbers in an official state dict: every tensor except the derived buffers."""
    return int(sum(np.asarray(v).size for k, v in state_dict.items() if not is_derived_buffer(k)))


@functools.lru_cache(maxsize=None)
def _sd(name: str, seed: int = 0, std: float = 0.02):
    cfg = tiny_test_config() if name == "tiny-test" else SwinConfig.preset(name)
    return snp.random_state_dict(cfg, seed=seed, buffers=True, std=std)


#: the weights of the forward pass's cases: large enough (N(0, 0.2²)) that a block with the wrong shift moves the
#: logits by far more than float32 rounding
_FORWARD_STD = 0.2


def block_param_count_reference(C, num_heads, M, mlp_ratio=4.0):
    """The learned numbers of one Swin block (dim C, ``num_heads`` heads, window M, MLP hidden int(C * mlp_ratio)):
    norm1 and norm2 (2C each), qkv (3C·C + 3C), proj (C·C + C), the relative position bias table ((2M-1)²·heads) and
    the MLP (C·h + h + h·C + C). The relative position index and the mask are derived buffers, not counted."""
    h = int(C * mlp_ratio)
    return 2 * C + (3 * C * C + 3 * C) + (C * C + C) + (2 * M - 1) ** 2 * num_heads + 2 * C + (C * h + h) + (h * C + C)


def _bpc_wrong(kind):
    def wrong(C, num_heads, M, mlp_ratio=4.0):
        h = int(C * mlp_ratio)
        right = block_param_count_reference(C, num_heads, M, mlp_ratio)
        table = (2 * M - 1) ** 2 * num_heads
        return {"no_table": right - table,
                "table_m2": right - table + M * M * num_heads,
                "table_no_heads": right - table + (2 * M - 1) ** 2,
                "index_counted": right + M ** 4,
                "no_biases": right - (3 * C + C + h + C),
                "no_norms": right - 4 * C,
                "hidden_c": block_param_count_reference(C, num_heads, M, 1.0),
                "qkv_one": right - 2 * C * C - 2 * C}[kind]
    return wrong


def _bpc_case(C, heads, M, ratio, what=None):
    label = Text(f"C={C}, {heads} heads, M={M}, mlp_ratio={ratio:g}", f"C={C}，{heads} 个头，M={M}，mlp_ratio={ratio:g}")
    if what is not None:
        label = label + Text(f" ({what})", f"（{what.zh}）")
    return Case(label, (C, heads, M, ratio))


def _bpc_hidden(rng):
    heads = between(rng, 2, 6)
    return [_bpc_case(heads * between(rng, 4, 16), heads, between(rng, 3, 9), float(between(rng, 2, 4))),
            _bpc_case(8, 1, between(rng, 2, 3), 2.0, Text("one head", "一个头"))]


BLOCK_PARAM_COUNT = Exercise(
    name="block_param_count",
    signature="block_param_count_mine(C, num_heads, M, mlp_ratio=4.0)",
    reference=block_param_count_reference,
    kind="int",
    cases=lambda: [
        _bpc_case(96, 3, 7, 4.0, Text("a block of Swin-T's stage 1", "Swin-T stage 1 的一个 block")),
        _bpc_case(768, 24, 7, 4.0, Text("a block of Swin-T's stage 4", "Swin-T stage 4 的一个 block")),
        _bpc_case(32, 2, 4, 2.0, Text("a block of the course's digits model", "课程 digits 模型的一个 block")),
    ],
    hidden=_bpc_hidden,
    forbidden=("swin_edu.exercises.nb06:block_param_count_reference", "swin_edu.complexity:param_count",
               "swin_edu.layout:state_dict_shapes"),
    hints=(Text("List the block's learned tensors by their names (notebook 05's block: norm1, attn.qkv, attn.proj, the "
                "bias table, norm2, mlp.fc1, mlp.fc2) and write down the shape of each, weights and biases.",
                "按名字列出这个 block 里所有学出来的张量（第 05 章的 block：norm1、attn.qkv、attn.proj、偏置表、norm2、"
                "mlp.fc1、mlp.fc2），写下每一个的形状，权重和偏置都要算。"),
           Text("A LayerNorm over C learns a weight and a bias of C each; a linear layer A -> B learns B·A weights and B "
                "biases; qkv is C -> 3C, proj C -> C, fc1 C -> h and fc2 h -> C with h = int(C·mlp_ratio); the bias "
                "table has one row per relative offset, (2M-1)² rows, and one column per head. The index is derived: "
                "it is not counted.",
                "作用在 C 上的层归一化学一个 weight 和一个 bias，各 C 个数；线性层 A -> B 学 B·A 个权重和 B 个偏置；"
                "qkv 是 C -> 3C，proj 是 C -> C，fc1 是 C -> h，fc2 是 h -> C，其中 h = int(C·mlp_ratio)；偏置表每个"
                "相对偏移一行，共 (2M-1)² 行，每个头一列。索引是推导出来的，不计入。")),
    misconceptions=[
        Misconception(Text("the relative position bias table is learned too: (2M-1)² rows (one per relative offset), "
                           "one column per head.",
                           "相对位置偏置表也是学出来的：(2M-1)² 行（每个相对偏移一行），每个头一列。"),
                      _bpc_wrong("no_table")),
        Misconception(Text("the table has a row per relative *offset*, not per token of the window: offsets run from "
                           "-(M-1) to M-1 on each axis, (2M-1)² of them.",
                           "偏置表是每个相对*偏移*一行，而不是窗口里每个 token 一行：每个轴上的偏移从 -(M-1) 到 M-1，"
                           "一共 (2M-1)² 个。"), _bpc_wrong("table_m2")),
        Misconception(Text("each head has its own bias for every offset: the table is (2M-1)² x num_heads.",
                           "每个头对每个偏移都有自己的偏置：偏置表是 (2M-1)² x num_heads。"),
                      _bpc_wrong("table_no_heads")),
        Misconception(Text("you counted the relative_position_index: it is a derived buffer, rebuilt from M, not "
                           "learned.",
                           "你把 relative_position_index 也算进去了：它是派生缓冲区，根据 M 重建，不是学出来的。"),
                      _bpc_wrong("index_counted")),
        Misconception(Text("the biases are missing: qkv, proj, fc1 and fc2 each learn one bias per output.",
                           "漏了偏置：qkv、proj、fc1 和 fc2 每个输出都学一个偏置。"), _bpc_wrong("no_biases")),
        Misconception(Text("the two LayerNorms are missing: norm1 and norm2 each learn a weight and a bias of C "
                           "numbers.",
                           "漏了两个层归一化：norm1 和 norm2 各学一个 weight 和一个 bias，每个 C 个数。"),
                      _bpc_wrong("no_norms")),
        Misconception(Text("the MLP's hidden layer has int(C * mlp_ratio) units, not C.",
                           "MLP 的隐藏层有 int(C * mlp_ratio) 个单元，不是 C 个。"), _bpc_wrong("hidden_c")),
        Misconception(Text("qkv is one linear layer C -> 3C (q, k and v side by side), so 3C·C weights and 3C biases.",
                           "qkv 是一个 C -> 3C 的线性层（q、k、v 并排），所以有 3C·C 个权重和 3C 个偏置。"),
                      _bpc_wrong("qkv_one")),
    ],
)


# ----------------------------------------------------------------------------- the forward pass
def _block_shift(kind: str, j: int, s: int) -> int:
    """The shift of block j of a stage whose SW-MSA shift is s: W-MSA (0) for even j, s for odd j, or a mistake."""
    return {"all_shifted": s, "none_shifted": 0, "even_shifted": 0 if j % 2 else s}.get(kind, s if j % 2 else 0)


def _forward_wrong(kind):
    def wrong(state_dict, images, cfg):
        sd = {k: np.asarray(v, dtype=np.float64) for k, v in state_dict.items()}
        x = snp.patch_embed(images.transpose(0, 2, 3, 1).astype(np.float64), sd["patch_embed.proj.weight"],
                            sd["patch_embed.proj.bias"], sd["patch_embed.norm.weight"],
                            sd["patch_embed.norm.bias"])
        stages = zip(cfg.depths, cfg.num_heads, cfg.stage_windows(), strict=True)
        for i, (depth, heads, (M, s)) in enumerate(stages):
            if kind == "always_shift":
                s = cfg.window_size // 2 if M == cfg.window_size else M // 2
            for j in range(depth):
                x = snp.swin_block(x, snp.block_params(sd, f"layers.{i}.blocks.{j}."), heads, M, _block_shift(kind, j, s))
            if i < cfg.num_layers - 1:
                x = snp.patch_merging(x, sd[f"layers.{i}.downsample.reduction.weight"],
                                      sd[f"layers.{i}.downsample.norm.weight"], sd[f"layers.{i}.downsample.norm.bias"])
        if kind != "no_norm":
            x = snp.layer_norm(x, sd["norm.weight"], sd["norm.bias"])
        pooled = x.max(axis=(1, 2)) if kind == "max_pool" else x.mean(axis=(1, 2))
        return pooled if kind == "no_head" else pooled @ sd["head.weight"].T + sd["head.bias"]
    return wrong


SWIN_FORWARD = Exercise(
    name="swin_forward",
    signature="swin_forward_mine(state_dict, images, cfg)",
    reference=lambda state_dict, images, cfg: snp.swin_forward(state_dict, images, cfg),
    dtype="kind",
    cases=lambda: [
        Case(Text("a 2-stage test model (16x16 images, C=12, window 4) on two random images",
                  "一个 2 个 stage 的测试模型（16x16 图像，C=12，窗口 4），输入两张随机图像"),
             (dict(_sd("tiny-test", 1, _FORWARD_STD)), rand(2, 3, 16, 16, seed=80), tiny_test_config())),
    ],
    hidden=lambda rng: [
        Case(Text(f"the same model with other weights at another resolution, {h}x{w} (pad, then shift)",
                  f"同一个模型换一套权重、换一个分辨率，{h}x{w}（先填充，再移位）"),
             (dict(_sd("tiny-test", between(rng, 1, 10_000), _FORWARD_STD)), draw(rng, 1, 3, h, w),
              tiny_test_config()))
        for h, w in [(2 * between(rng, 5, 7), 2 * between(rng, 9, 11))]
    ],
    forbidden=("swin_edu.numpy_ref.model:swin_forward", "swin_edu.numpy_ref.model:stage"),
    # the pieces of notebooks 01-05 that the forward assembles; the stage loop (snp.stage) is the learner's to write
    allowed=("swin_edu.numpy_ref.model:block_params", "swin_edu.numpy_ref.patches:layer_norm",
             "swin_edu.numpy_ref.patches:patch_embed", "swin_edu.numpy_ref.model:swin_block",
             "swin_edu.numpy_ref.merging:patch_merging"),
    # a float32 answer is accepted (dtype "kind"): eps 1.2e-7 through two stages of O(1) activations (LayerNorm
    # after every block, sums over at most 24 channels and 16 tokens) stays within 1e-4 relative + 1e-5 absolute on
    # logits of ~1; every typical mistake of tests/test_exercises.py is still caught at this tolerance
    rtol=1e-4, atol=1e-5,
    hints=(Text("Follow the diagram: which function of notebooks 01-05 handles each box, and which layout "
                "(channels-first or channels-last) does each expect? Which blocks of a stage shift?",
                "对照结构图：每个方框由笔记本 01-05 里的哪个函数负责，每个函数要求的布局是通道在前（channe"
                "ls-first）还是通道在后（channels-last）？一个 stage 里哪些 block 要移位？"),
           Text("Embed the patches of the channels-last images; for each stage (window and shift from "
                "cfg.stage_windows()) run its blocks yourself, block j with the weights under `layers.{i}.blocks.{j}.` "
                "and shift 0 for even j, the stage's shift for odd j; then its patch merging (the keys under "
                "`layers.{i}.downsample.`) except after the last stage; then the final LayerNorm, the mean over all "
                "tokens and the linear head.",
                "对通道在后（channels-last）的图像做图像块嵌入；每个 stage（窗口和移位取自 cfg.stage_windows()）"
                "自己逐个运行它的 block：block j 的权重在 `layers.{i}.blocks.{j}.` 之下，j 为偶数时移位 0，"
                "为奇数时用这个 stage 的移位；然后做它的块合并（键在 `layers.{i}.downsample.` 之下），"
                "最后一个 stage 之后不做；最后是末尾的层归一化、对所有 token 求平均，以及线性分类头。")),
    misconceptions=[
        Misconception(Text("the final LayerNorm (`norm.weight`, `norm.bias`) is missing before the pooling.",
                           "池化之前缺了最后的层归一化（`norm.weight`、`norm.bias`）。"),
                      _forward_wrong("no_norm")),
        Misconception(Text("Swin pools by averaging the tokens (x.mean(axis=(1, 2))), not by their maximum.",
                           "Swin 的池化是对 token 求平均（x.mean(axis=(1, 2))），不是取最大值。"),
                      _forward_wrong("max_pool")),
        Misconception(Text("use cfg.stage_windows() for each stage's (window, shift): a stage whose map is not "
                           "larger than the window does not shift (the last stage of Swin-T, the second stage "
                           "here).",
                           "每个 stage 的（窗口，移位）要用 cfg.stage_windows()：特征图不比窗口大的 stage "
                           "不移位（Swin-T 的最后一个 stage，这里的第二个 stage）。"), _forward_wrong("always_shift")),
        Misconception(Text("every block shifted: the blocks of a stage alternate, W-MSA (shift 0) for block 0, 2, ... "
                           "and SW-MSA (the stage's shift) for block 1, 3, ...",
                           "每个 block 都移位了：一个 stage 里的 block 是交替的，block 0、2、……是 W-MSA（移位 0），"
                           "block 1、3、……是 SW-MSA（这个 stage 的移位）。"), _forward_wrong("all_shifted")),
        Misconception(Text("no block shifted: the odd blocks (1, 3, ...) are SW-MSA blocks with the stage's shift.",
                           "没有一个 block 移位：奇数号的 block（1, 3, ...）是带这个 stage 移位的 SW-MSA block。"),
                      _forward_wrong("none_shifted")),
        Misconception(Text("the alternation starts with W-MSA: block 0 does not shift, block 1 does.",
                           "交替从 W-MSA 开始：block 0 不移位，block 1 移位。"), _forward_wrong("even_shifted")),
    ],
)
