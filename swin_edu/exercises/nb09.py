"""Exercises of notebook 09: the hierarchy at work (an FPN head on the Swin stage maps, the per-pixel loss, the
mean IoU). torch is imported lazily, only when these run.

9.1 is a module exercise like notebook 07's: the student writes ``FPNHead`` as an ``nn.Module``; the answer cell
ends with a given function that builds it, loads weights strictly (:func:`swin_edu.demos.student_model.load_learned`)
and runs it on a list of stage maps. The reference is the same function around :class:`swin_edu.dense.FPNHead`,
whose ``forward`` the grader forbids.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..i18n import Text
from ._data import between, draw, pick
from .diagnostics import NO_RETURN, describe, more_help, wrong_outputs
from .nb07 import module_weights
from .spec import TORCH_PRELUDE, Case, Exercise, Misconception

__all__ = ["FPN_HEAD", "FPN_PRELUDE", "MEAN_IOU", "PIXEL_CROSS_ENTROPY"]

#: the imports of the FPN answer cell (the notebook imports the same names)
FPN_PRELUDE = TORCH_PRELUDE + "from torch import nn\nfrom swin_edu.demos.student_model import load_learned\n"
IGNORE = 255


# ----------------------------------------------------------------------------- 9.1 the FPN head
def fpn_head_reference(features, state_dict, dim, num_classes):
    """The reference of exercise 9.1: :class:`swin_edu.dense.FPNHead` with the weights ``state_dict``, on the
    stage maps ``features`` (channels first, finest first)."""
    from ..dense import FPNHead

    return _run(FPNHead, features, state_dict, dim, num_classes)


def _run(head_class, features, state_dict, dim, num_classes):
    import torch

    from ..demos.student_model import load_learned

    head = load_learned(head_class([f.shape[1] for f in features], dim, num_classes), state_dict)
    with torch.no_grad():
        return head(features)


def _fpn_variant(kind: str):
    """:class:`swin_edu.dense.FPNHead` with one classic mistake (``kind``) in its forward."""
    import torch.nn.functional as F

    from ..dense import FPNHead

    def forward(self, features):
        order = range(len(features) - 2, -1, -1)
        if kind == "finest_first":  # the path runs from the finest map to the coarsest
            x = self.lateral[0](features[0])
            for i in range(1, len(features)):
                x = F.interpolate(x, size=features[i].shape[-2:], mode="nearest") + self.lateral[i](features[i])
            return self.classifier(x)
        x = self.lateral[-1](features[-1])
        for i in order:
            size = features[i].shape[-2:]
            if kind == "bilinear":
                up = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            else:
                up = F.interpolate(x, size=size, mode="nearest")
            x = up if kind == "no_add" else up + self.lateral[i](features[i])
        return self.classifier(x)

    return type(f"FPNHead_{kind}", (FPNHead,), {"forward": forward})


def _fpn_wrong(kind):
    def wrong(features, state_dict, dim, num_classes):
        if len(features) < 2:
            return None  # one map: no top-down path, the mistakes cannot show
        return _run(_fpn_variant(kind), features, state_dict, dim, num_classes)
    return wrong


def _maps(rng_or_seed, batch, dims, sizes):
    import torch

    if isinstance(rng_or_seed, int):
        g = torch.Generator().manual_seed(rng_or_seed)
        return [torch.randn(batch, c, h, w, generator=g, dtype=torch.float64).float() for c, (h, w) in zip(dims, sizes)]
    return [torch.from_numpy(draw(rng_or_seed, batch, c, h, w)).float() for c, (h, w) in zip(dims, sizes)]


def _fpn_case(label, rng_or_seed, batch, dims, sizes, dim, num_classes, wseed):
    from ..dense import FPNHead

    sd = module_weights(FPNHead(list(dims), dim, num_classes), seed=wseed)
    return Case(label, (_maps(rng_or_seed, batch, dims, sizes), sd, dim, num_classes))


def _fpn_cases():
    return [
        _fpn_case(Text("four stage maps like the scenes backbone's: 8x8, 4x4, 2x2, 1x1 with 4, 8, 16, 32 channels "
                       "(2 images), dim=6, 3 classes",
                       "四张像 scenes 主干网络那样的 stage 特征图：8x8、4x4、2x2、1x1，通道数 4、8、16、32（2 张"
                       "图像），dim=6，3 个类别"),
                  91, 2, (4, 8, 16, 32), ((8, 8), (4, 4), (2, 2), (1, 1)), 6, 3, 1),
        _fpn_case(Text("one map only (the last-stage head): 3x3 with 8 channels, dim=4, 5 classes",
                       "只有一张特征图（只读最后一个 stage 的头）：3x3，8 个通道，dim=4，5 个类别"),
                  92, 2, (8,), ((3, 3),), 4, 5, 2),
        _fpn_case(Text("three maps whose sizes do not halve exactly (patch merging pads odd maps): 7x5, 4x3, 2x2",
                       "三张尺寸不是正好减半的特征图（块合并会把奇数尺寸补齐）：7x5、4x3、2x2"),
                  93, 1, (3, 6, 12), ((7, 5), (4, 3), (2, 2)), 5, 4, 3),
    ]


def _fpn_hidden(rng):
    c = between(rng, 2, 5)
    h, w = between(rng, 5, 9), between(rng, 5, 9)
    sizes = [(h, w)]
    for _ in range(3):
        sizes.append((-(-sizes[-1][0] // 2), -(-sizes[-1][1] // 2)))
    dim, k = between(rng, 3, 8), between(rng, 2, 6)
    return [
        _fpn_case(Text(f"four maps from {h}x{w} down (ceil halving), channels {c}, {2 * c}, {4 * c}, {8 * c}, "
                       f"dim={dim}, {k} classes",
                       f"四张特征图，从 {h}x{w} 开始逐级减半（向上取整），通道数 {c}、{2 * c}、{4 * c}、{8 * c}，"
                       f"dim={dim}，{k} 个类别"),
                  rng, pick(rng, (1, 2, 3)), (c, 2 * c, 4 * c, 8 * c), sizes, dim, k, between(rng, 1, 10_000)),
        _fpn_case(Text(f"two maps, {h}x{w} and {sizes[1][0]}x{sizes[1][1]}, dim={dim}, {k} classes",
                       f"两张特征图，{h}x{w} 和 {sizes[1][0]}x{sizes[1][1]}，dim={dim}，{k} 个类别"),
                  rng, 2, (c, 3 * c), sizes[:2], dim, k, between(rng, 1, 10_000)),
    ]


FPN_HEAD = Exercise(
    name="fpn_head",
    signature="fpn_head_mine(features, state_dict, dim, num_classes)",
    reference=fpn_head_reference,
    kind="torch",
    cases=_fpn_cases,
    hidden=_fpn_hidden,
    forbidden=("swin_edu.dense:FPNHead.forward",),
    allowed=("swin_edu.demos.student_model:load_learned",),   # the given function loads the weights with it
    prelude=FPN_PRELUDE,
    rtol=1e-4, atol=1e-5,
    hints=(Text("Three parts: bring every map to the same number of channels, walk from the coarsest map to the "
                "finest adding as you go, then classify every position of the finest map.",
                "三个部分：先把每张特征图变成相同的通道数，再从最粗的特征图走到最细的，边走边相加，最后对最细"
                "特征图的每个位置做分类。"),
           Text("In __init__: an nn.ModuleList called lateral with one nn.Conv2d(in_dims[i], dim, kernel_size=1) per "
                "map, and an nn.Conv2d(dim, num_classes, kernel_size=1) called classifier. In forward: x = the "
                "lateral of the last (coarsest) map; then for i from len(features) - 2 down to 0, x = "
                "F.interpolate(x, size=features[i].shape[-2:], mode=\"nearest\") + lateral[i](features[i]); "
                "return classifier(x).",
                "在 __init__ 里：一个名为 lateral 的 nn.ModuleList，每张特征图一个 nn.Conv2d(in_dims[i], dim, "
                "kernel_size=1)；再加一个名为 classifier 的 nn.Conv2d(dim, num_classes, kernel_size=1)。在 forward "
                "里：x = 最后一张（最粗的）特征图的 lateral；然后 i 从 len(features) - 2 降到 0，x = "
                "F.interpolate(x, size=features[i].shape[-2:], mode=\"nearest\") + lateral[i](features[i])；最后"
                "返回 classifier(x)。")),
    error_hints={
        "must match the size of tensor": Text(
            "the two maps you add have different shapes. Upsample to the size of the next finer map, "
            "F.interpolate(x, size=features[i].shape[-2:], ...), not by scale_factor=2 (patch merging pads an odd "
            "map, so a coarser map is ceil(H/2) x ceil(W/2)); and add maps after their laterals, when both have dim "
            "channels.",
            "你相加的两张特征图形状不同。要上采样到下一张更细特征图的尺寸，F.interpolate(x, "
            "size=features[i].shape[-2:], ...)，而不是 scale_factor=2（块合并会把奇数尺寸补齐，所以更粗的特征图"
            "是 ceil(H/2) x ceil(W/2)）；并且要在经过各自的 lateral 之后再相加，那时两者都是 dim 个通道。"),
        "expected input": Text(
            "a 1x1 convolution got a map with another number of channels than it was built for: lateral[i] takes "
            "in_dims[i] channels (the i-th map's), and the top-down path adds maps after their laterals, when all "
            "have dim channels.",
            "一个 1x1 卷积收到的特征图通道数和它构建时的不一样：lateral[i] 接收 in_dims[i] 个通道（第 i 张特征图"
            "的通道数）；自顶向下的路径是在经过各自的 lateral 之后再相加，那时它们都是 dim 个通道。"),
    },
    misconceptions=[
        Misconception(Text("the top-down path starts at the coarsest map (features[-1]) and ends at the finest "
                           "(features[0]): the logits come out at the finest map's resolution. Yours ran the other "
                           "way.",
                           "自顶向下的路径从最粗的特征图（features[-1]）开始，到最细的（features[0]）结束："
                           "logits 的分辨率是最细特征图的分辨率。你的走反了。"), _fpn_wrong("finest_first")),
        Misconception(Text("the FPN upsamples with mode=\"nearest\" (as the FPN paper and its code do); yours is "
                           "bilinear.",
                           "FPN 用 mode=\"nearest\" 上采样（FPN 论文和它的代码都是这样）；你用的是双线性插值"
                           "（bilinear）。"), _fpn_wrong("bilinear")),
        Misconception(Text("each finer map must be *added*: x = upsample(x) + lateral[i](features[i]). Yours only "
                           "upsamples the coarsest map, so the fine maps never reach the classifier.",
                           "每一张更细的特征图都要*加*进来：x = upsample(x) + lateral[i](features[i])。你的只把最粗的"
                           "特征图上采样了，细的特征图根本没有送到分类器。"), _fpn_wrong("no_add")),
    ],
)


# ----------------------------------------------------------------------------- 9.2 the per-pixel loss
def pixel_ce_reference(logits, target, ignore_index):
    from ..dense import pixel_cross_entropy

    return pixel_cross_entropy(logits, target, ignore_index)


def _ce_parts(logits, target, ignore_index, dim=1):
    import torch

    logp = torch.log_softmax(logits, dim=dim)
    keep = target != ignore_index
    nll = -logp.gather(1, torch.where(keep, target, 0).unsqueeze(1)).squeeze(1)
    return nll, keep


def _ce_wrong_axis(logits, target, ignore_index):
    nll, keep = _ce_parts(logits, target, ignore_index, dim=-1)
    return nll[keep].mean()


def _ce_flat(logits, target, ignore_index):
    import torch

    K = logits.shape[1]
    logp = torch.log_softmax(logits.reshape(-1, K), dim=-1)
    t = target.reshape(-1)
    keep = t != ignore_index
    return -logp[keep].gather(1, t[keep, None]).mean()


def _ce_all_pixels(logits, target, ignore_index):
    nll, keep = _ce_parts(logits, target, ignore_index)
    return (nll * keep).sum() / keep.numel() if not bool(keep.all()) else None


def _ce_per_image(logits, target, ignore_index):
    nll, keep = _ce_parts(logits, target, ignore_index)
    per = (nll * keep).flatten(1).sum(1) / keep.flatten(1).sum(1)
    return per.mean() if len(per) > 1 else None


def _ce_sum(logits, target, ignore_index):
    nll, keep = _ce_parts(logits, target, ignore_index)
    return nll[keep].sum()


def _logits(rng_or_seed, *shape, scale=1.0):
    import torch

    if isinstance(rng_or_seed, int):
        g = torch.Generator().manual_seed(rng_or_seed)
        return scale * torch.randn(*shape, generator=g, dtype=torch.float64).float()
    return torch.from_numpy(draw(rng_or_seed, *shape, scale=scale)).float()


def _targets(rng, shape, k, void=0.0):
    import torch

    t = rng.integers(0, k, size=shape)
    if void:
        t = np.where(rng.random(shape) < void, IGNORE, t)
    return torch.from_numpy(t.astype(np.int64))


def _ce_case(label, rng_or_seed, b, k, h, w, void, scale=1.0):
    rng = np.random.default_rng(rng_or_seed) if isinstance(rng_or_seed, int) else rng_or_seed
    return Case(label, (_logits(rng_or_seed, b, k, h, w, scale=scale), _targets(rng, (b, h, w), k, void), IGNORE))


PIXEL_CROSS_ENTROPY = Exercise(
    name="pixel_cross_entropy",
    signature="pixel_cross_entropy_mine(logits, target, ignore_index)",
    reference=pixel_ce_reference,
    kind="torch",
    dtype="kind",
    rtol=1e-5, atol=1e-6,
    cases=lambda: [
        _ce_case(Text("2 images of 3x4 pixels, 4 classes, no void pixel",
                      "2 张 3x4 像素的图像，4 个类别，没有空白（void）像素"), 1, 2, 4, 3, 4, 0.0),
        _ce_case(Text("2 images of 4x4 pixels, 3 classes, about a third of the pixels void (255)",
                      "2 张 4x4 像素的图像，3 个类别，大约三分之一的像素是空白（255）"), 2, 2, 3, 4, 4, 0.35),
        _ce_case(Text("3 images of 2x5 pixels, 6 classes, some void pixels",
                      "3 张 2x5 像素的图像，6 个类别，有一些空白像素"), 3, 3, 6, 2, 5, 0.2),
    ],
    hidden=lambda rng: [
        _ce_case(Text("large logits (up to ~150): exp() overflows unless you use log_softmax",
                      "很大的 logits（最大约 150）：不用 log_softmax 的话 exp() 会溢出"),
                 rng, 2, between(rng, 3, 6), between(rng, 3, 6), between(rng, 3, 6), 0.2, scale=60.0),
        _ce_case(Text("4 images with different numbers of void pixels, 2 classes",
                      "4 张图像，每张的空白像素数量不同，2 个类别"),
                 rng, 4, 2, between(rng, 3, 5), between(rng, 3, 5), 0.4),
    ],
    guards=("torch.nn.functional:cross_entropy", "torch.nn.functional:nll_loss"),
    prelude=TORCH_PRELUDE,
    hints=(Text("It is notebook 08's cross-entropy at every pixel: the classes are on axis 1 of the logits, and a "
                "void pixel takes no part at all, neither in the sum nor in the count.",
                "这就是笔记本 08 的交叉熵，只是在每个像素上算：类别在 logits 的第 1 轴上；空白像素完全不参与，"
                "既不进总和，也不进计数。"),
           Text("log_softmax over dim=1; at each pixel pick the log-probability of its target class (gather along "
                "dim 1 with the target unsqueezed to (B, 1, H, W); give void pixels any valid class there, e.g. with "
                "torch.where, and drop them afterwards); keep = target != ignore_index; the loss is minus the mean "
                "over the kept pixels.",
                "在 dim=1 上做 log_softmax；在每个像素上取出其目标类别的对数概率（沿 dim 1 做 gather，目标先 "
                "unsqueeze 成 (B, 1, H, W)；空白像素在这里先随便给一个合法类别，比如用 torch.where，之后再去掉）；"
                "keep = target != ignore_index；损失是保留下来的像素上的平均值取负。")),
    nan_hint=Text("softmax of large logits overflows (exp(150) = inf); torch.log_softmax computes log(softmax) "
                  "stably. A mean over no pixel at all is 0/0 too.",
                  "很大的 logits 做 softmax 会溢出（exp(150) = inf）；torch.log_softmax 能稳定地算出 "
                  "log(softmax)。对零个像素求平均也是 0/0。"),
    error_hints={
        "out of bounds": Text("a void pixel's label (ignore_index, 255) is not a class: gather with it fails. Replace "
                              "it by a valid class before gathering (torch.where(keep, target, 0)) and leave those "
                              "pixels out of the mean.",
                              "空白像素的标签（ignore_index，255）不是一个类别：用它做 gather 会出错。先用一个合法类别"
                              "替换它（torch.where(keep, target, 0)），再把这些像素排除在平均值之外。"),
    },
    misconceptions=[
        Misconception(Text("the softmax ran over the last axis (the image's width): the classes of a pixel are on "
                           "axis 1 of (B, K, H, W), so use log_softmax(logits, dim=1).",
                           "softmax 沿着最后一个轴（图像的宽度）做了：一个像素的各个类别在 (B, K, H, W) 的第 1 轴上，"
                           "所以要用 log_softmax(logits, dim=1)。"), _ce_wrong_axis),
        Misconception(Text("you flattened (B, K, H, W) into (-1, K) without moving the classes last: every row then "
                           "mixes classes and pixels. Permute to (B, H, W, K) first (logits.permute(0, 2, 3, 1)), "
                           "or work on axis 1 directly.",
                           "你把 (B, K, H, W) 直接展平成了 (-1, K)，没有先把类别轴移到最后：这样每一行都把类别和像素"
                           "混在了一起。先 permute 成 (B, H, W, K)（logits.permute(0, 2, 3, 1)），或者直接在第 1 轴"
                           "上计算。"), _ce_flat),
        Misconception(Text("void pixels were counted in the mean (as zeros): divide by the number of kept pixels, not "
                           "by all of them.",
                           "空白像素被算进了平均值（当作零）：要除以保留下来的像素数，而不是全部像素数。"),
                      _ce_all_pixels),
        Misconception(Text("you averaged per image, then over the images: the loss is the mean over all kept pixels "
                           "of the batch together (images with more void pixels must not weigh more per pixel).",
                           "你先对每张图像求平均，再对图像求平均：损失应该是整批所有保留像素放在一起的平均值（空白"
                           "像素多的图像，其每个像素的权重不能更大）。"), _ce_per_image),
        Misconception(Text("you summed the loss over the pixels: take the mean, so that the loss does not grow with "
                           "the image size.",
                           "你对像素求了和：要取平均，这样损失才不会随图像大小增长。"), _ce_sum),
    ],
)


# ----------------------------------------------------------------------------- 9.3 the mean IoU
def mean_iou_reference(pred, target, num_classes, ignore_index):
    from ..dense import mean_iou

    return mean_iou(pred, target, num_classes, ignore_index)


def _counts(pred, target, k, ignore_index, drop_void=True):
    p, t = np.asarray(pred).ravel(), np.asarray(target).ravel()
    if drop_void:
        keep = t != ignore_index
        p, t = p[keep], t[keep]
    inter = np.array([np.sum((p == c) & (t == c)) for c in range(k)], dtype=np.float64)
    union = np.array([np.sum((p == c) | (t == c)) for c in range(k)], dtype=np.float64)
    return inter, union, p, t


def _iou_with_background(pred, target, k, ignore_index):
    inter, union, *_ = _counts(pred, target, k, ignore_index)
    return float(np.mean(inter[union > 0] / union[union > 0]))


def _iou_zero_for_absent(pred, target, k, ignore_index):
    inter, union, *_ = _counts(pred, target, k, ignore_index)
    return float(np.mean(np.where(union[1:] > 0, inter[1:] / np.maximum(union[1:], 1), 0.0))) \
        if (union[1:] == 0).any() else None


def _iou_void_kept(pred, target, k, ignore_index):
    p, t = np.asarray(pred), np.asarray(target)
    if not (t == ignore_index).any():
        return None
    inter, union, *_ = _counts(p, t, k, ignore_index, drop_void=False)
    present = union[1:] > 0
    return float(np.mean(inter[1:][present] / union[1:][present]))


def _iou_per_image(pred, target, k, ignore_index):
    p, t = np.asarray(pred), np.asarray(target)
    if p.ndim < 3 or len(p) < 2:
        return None
    vals = [mean_iou_reference(p[i], t[i], k, ignore_index) for i in range(len(p))]
    return float(np.nanmean(vals))


def _dice(pred, target, k, ignore_index):
    inter, _, p, t = _counts(pred, target, k, ignore_index)
    size = np.array([np.sum(p == c) + np.sum(t == c) for c in range(k)], dtype=np.float64)
    present = size[1:] > 0
    return float(np.mean(2 * inter[1:][present] / size[1:][present]))


def _iou_recall(pred, target, k, ignore_index):
    inter, _, _, t = _counts(pred, target, k, ignore_index)
    truth = np.array([np.sum(t == c) for c in range(k)], dtype=np.float64)
    present = truth[1:] > 0
    return float(np.mean(inter[1:][present] / truth[1:][present]))


def _iou_compare(got: Any, expected: float, case: Case) -> list | None:
    if got is None:
        return [Text("expected: a float (the mean IoU)", "expected: 一个 float（平均 IoU）"), "got:      None", NO_RETURN]
    if isinstance(got, np.ndarray) and got.ndim == 0 or type(got).__module__.startswith("torch") and \
            hasattr(got, "numel") and got.numel() == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (numbers.Real, np.floating, np.integer)):
        return [Text("expected: a float (the mean IoU over the digit classes)",
                     "expected: 一个 float（各个数字类别的平均 IoU）"), f"got:      {describe(got)}",
                Text("hint: return one number, the mean of the per-class IoUs.",
                     "hint: 请返回一个数：各个类别 IoU 的平均值。")]
    got = float(got)
    lines = [f"expected: {expected:.6g}", f"got:      {got:.6g}"]
    if math.isnan(got):
        return lines + ["hint: " + MEAN_IOU.nan_hint]
    if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9):
        return None
    for m, wrong in zip(MEAN_IOU.misconceptions, wrong_outputs(MEAN_IOU, case)):
        if wrong is not None and not math.isclose(wrong, expected, rel_tol=1e-9, abs_tol=1e-12) and \
                math.isclose(got, wrong, rel_tol=1e-6, abs_tol=1e-9):
            return lines + ["hint: " + m.hint]
    return lines + more_help(MEAN_IOU)


def _maps_pair(rng, shape, k, void=0.0, agree=0.6, absent=()):
    """A target with classes 0..k-1 (``absent`` never used, ``void`` a fraction of void pixels) and a prediction
    that agrees with it on about ``agree`` of the pixels."""
    classes = np.array([c for c in range(k) if c not in absent])
    t = classes[rng.integers(0, len(classes), size=shape)]
    p = np.where(rng.random(shape) < agree, t, classes[rng.integers(0, len(classes), size=shape)])
    if void:
        t = np.where(rng.random(shape) < void, IGNORE, t)
    return p.astype(np.int64), t.astype(np.int64)


def _iou_case(label, seed_or_rng, shape, k, **kw):
    rng = np.random.default_rng(seed_or_rng) if isinstance(seed_or_rng, int) else seed_or_rng
    p, t = _maps_pair(rng, shape, k, **kw)
    return Case(label, (p, t, k, IGNORE))


def _tiny_case():
    t = np.array([[[0, 1, 1], [0, 2, 2]]])
    p = np.array([[[0, 1, 0], [2, 2, 2]]])
    return Case(Text("one 2x3 image, 3 classes: class 1 IoU 1/2, class 2 IoU 2/3 -> 0.5833",
                     "一张 2x3 的图像，3 个类别：类别 1 的 IoU 是 1/2，类别 2 的 IoU 是 2/3 -> 0.5833"),
                (p.astype(np.int64), t.astype(np.int64), 3, IGNORE))


MEAN_IOU = Exercise(
    name="mean_iou",
    signature="mean_iou_mine(pred, target, num_classes, ignore_index)",
    reference=mean_iou_reference,
    kind="custom",
    compare=_iou_compare,
    cases=lambda: [
        _tiny_case(),
        _iou_case(Text("3 images of 5x6 pixels, 4 classes, some void pixels",
                       "3 张 5x6 像素的图像，4 个类别，有一些空白像素"), 11, (3, 5, 6), 4, void=0.2),
        _iou_case(Text("2 images of 6x6 pixels, 6 classes, class 3 in neither the prediction nor the truth",
                       "2 张 6x6 像素的图像，6 个类别，类别 3 既不在预测里也不在真值里"),
                  12, (2, 6, 6), 6, absent=(3,)),
    ],
    hidden=lambda rng: [
        _iou_case(Text("4 images, 11 classes (ten digits and the background), two classes absent, void pixels",
                       "4 张图像，11 个类别（十个数字加背景），有两个类别没有出现，还有空白像素"),
                  rng, (4, between(rng, 6, 10), between(rng, 6, 10)), 11, void=0.15,
                  absent=(pick(rng, (2, 3, 4)), pick(rng, (6, 7, 8)))),
        _iou_case(Text("2 images of very different class mixes, 3 classes",
                       "2 张类别组成差别很大的图像，3 个类别"),
                  rng, (2, between(rng, 3, 6), between(rng, 3, 6)), 3, agree=0.3),
    ],
    hints=(Text("Per class, count the pixels that are that class in both the prediction and the truth, and those "
                "that are that class in either; the IoU is the first over the second. Which pixels and which classes "
                "take part?",
                "对每个类别，数出预测和真值里都是这个类别的像素，以及任一边是这个类别的像素；IoU 就是前者除以"
                "后者。哪些像素、哪些类别要参与？"),
           Text("Drop the void pixels first (keep = target != ignore_index, in both arrays). Count over all images "
                "together (not image by image). For each class c from 1 to num_classes - 1 (the background, 0, is "
                "not averaged): intersection = ((pred == c) & (target == c)).sum(), union = ((pred == c) | (target "
                "== c)).sum(); skip a class whose union is 0; return the mean of the rest.",
                "先去掉空白像素（keep = target != ignore_index，两个数组都要去）。所有图像放在一起统计（不是一张一张"
                "算）。对每个类别 c，从 1 到 num_classes - 1（背景 0 不参与平均）：intersection = ((pred == c) & "
                "(target == c)).sum()，union = ((pred == c) | (target == c)).sum()；union 为 0 的类别跳过；返回"
                "其余类别的平均值。")),
    nan_hint=Text("a class that is in neither the prediction nor the truth has an empty union: 0/0 is NaN, and one "
                  "NaN makes the whole mean NaN. Leave such classes out of the mean.",
                  "一个既不在预测里也不在真值里的类别，它的并集是空的：0/0 是 NaN，一个 NaN 就会让整个平均值变成 "
                  "NaN。请把这样的类别排除在平均值之外。"),
    misconceptions=[
        Misconception(Text("the background (class 0) was averaged in: it covers most pixels and any model gets it "
                           "nearly right, so it hides what happens to the digits. Average classes 1 .. num_classes - 1.",
                           "背景（类别 0）被算进了平均值：它占了大部分像素，任何模型都能把它分得差不多对，"
                           "于是它掩盖了数字上发生的事。请对类别 1 .. num_classes - 1 求平均。"), _iou_with_background),
        Misconception(Text("a class that is in neither the prediction nor the truth got IoU 0: its union is empty, "
                           "so its IoU says nothing. Leave it out of the mean instead of counting a zero.",
                           "一个既不在预测里也不在真值里的类别被记成了 IoU 0：它的并集是空的，它的 IoU 什么也说明"
                           "不了。请把它排除在平均值之外，而不是记一个零。"), _iou_zero_for_absent),
        Misconception(Text("void pixels (target == ignore_index) were counted: a prediction on a void pixel enlarges "
                           "that class's union. Drop them from both arrays first.",
                           "空白像素（target == ignore_index）被算进去了：空白像素上的预测会让那个类别的并集变大。"
                           "请先从两个数组里都去掉它们。"), _iou_void_kept),
        Misconception(Text("you averaged per image: the IoU of a class is counted over all images together (its "
                           "intersection and union summed over the images), then the classes are averaged.",
                           "你是一张一张图像算的：一个类别的 IoU 要把所有图像放在一起统计（交集和并集在所有图像上"
                           "求和），然后再对类别求平均。"), _iou_per_image),
        Misconception(Text("this is the Dice score, 2|P∩T| / (|P| + |T|); the IoU is |P∩T| / |P∪T|.",
                           "这是 Dice 系数 2|P∩T| / (|P| + |T|)；IoU 是 |P∩T| / |P∪T|。"), _dice),
        Misconception(Text("you divided the intersection by the truth's pixels only (that is the recall): the IoU "
                           "divides by the union of the predicted and the true pixels.",
                           "你只用真值的像素数去除交集（那是召回率）：IoU 要除以预测像素和真值像素的并集。"),
                      _iou_recall),
    ],
)
