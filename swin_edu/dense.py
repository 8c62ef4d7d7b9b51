"""The hierarchy at work: Swin as a backbone for dense prediction (notebook 09).

The paper calls Swin a *general-purpose backbone*: its four stage maps, at strides 4, 8, 16 and 32 of the
image, feed detection and segmentation heads (FPN, UPerNet), which a single-scale ViT cannot do without extra
machinery. This module shows it on a CPU in minutes:

- **the scenes task** (:func:`load_scenes`, ``python -m swin_edu.train --data scenes``): scikit-learn's bundled
  digits pasted onto a larger black canvas at two scales (small and large), with a per-pixel label: the digit's
  class on its strokes, *void* (:data:`IGNORE_INDEX`, counted neither right nor wrong, as Pascal VOC does with
  its object borders) between the strokes inside the digit's square, background everywhere else. Made by the
  code, deterministic by seed, no download;
- **the backbone** (:class:`SwinBackbone`): the four stage maps of a Swin, each through its own LayerNorm and
  channels first, as the official detection backbone returns them;
- **the head** (:class:`FPNHead`): a small FPN: a 1x1 lateral convolution per level, a top-down path that
  upsamples the coarser map (nearest) and adds it, and a per-pixel classifier (1x1 convolution). Given only the
  last stage it is the *last-stage head*: same module, fewer inputs;
- **the model** (:class:`DenseSwin`, :func:`build_dense_model`): backbone + head, logits upsampled (bilinear) to
  the image size;
- **the measures** (:func:`pixel_cross_entropy`, :func:`iou_counts`, :func:`mean_iou`, :func:`segmentation_scores`):
  the mean IoU over the digit classes (the background is not averaged in), overall and inside the boxes of the
  small and of the large digits;
- **the comparison** (:func:`compare_heads`, ``python -m swin_edu.dense``): multi-scale head against last-stage
  head, same backbone and budget, several seeds, paired by seed with the course's rule
  (:func:`swin_edu.ablation.paired_difference`).
"""
from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

if __name__ == "__main__":  # before torch loads OpenMP: see swin_edu.train_cli.quiet_openmp
    from swin_edu.train_cli import quiet_openmp

    quiet_openmp()

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_int
from .data import DataSplits, ImageSet, _split_indices, _stats, parse_options, resize_images

__all__ = [
    "HEADS",
    "IGNORE_INDEX",
    "METRICS",
    "SCENES_MODEL",
    "SCENE_CLASSES",
    "SCENE_DIGITS",
    "SIZE_GROUPS",
    "DenseSwin",
    "FPNHead",
    "SceneSet",
    "SwinBackbone",
    "build_dense_model",
    "compare_heads",
    "digit_iou",
    "heads_table",
    "iou_counts",
    "load_scenes",
    "make_scenes",
    "mean_iou",
    "parse_scenes",
    "pixel_cross_entropy",
    "predict",
    "segmentation_scores",
    "stage_maps",
    "summarize_heads",
    "update_docs",
]

#: the digit classes of the scenes task (four: a segmentation model learns them in a minute on a CPU; all ten
#: take several times longer, docs/training.md)
SCENE_DIGITS = (0, 1, 2, 3)
#: the per-pixel classes of the scenes task: label 0 is the background, label i + 1 the digit SCENE_DIGITS[i]
SCENE_CLASSES = ["background"] + [str(d) for d in SCENE_DIGITS]
#: the label of a void pixel (the faint rim of a stroke): left out of the loss and of the IoU, as in Pascal VOC
IGNORE_INDEX = 255
#: the size groups of the digits; ``SceneSet.regions`` holds 1 inside a small digit's box, 2 inside a large one's
SIZE_GROUPS = ("small", "large")
#: the heads of the comparison: which stage maps (0: stride 4, ..., 3: stride 32) the FPN reads
HEADS = {"fpn": "all four stage maps (strides 4, 8, 16, 32)", "last": "the last stage map only (stride 32)"}

#: the backbone the scenes task is made for (SwinConfig fields over the nano preset): Swin-T's shape at CPU size,
#: patch 4 and four stages, so that the stage maps of a 64 x 64 scene are 16, 8, 4 and 2 tokens wide
SCENES_MODEL = {"img_size": 64, "patch_size": 4, "in_chans": 1, "embed_dim": 16, "depths": (2, 2, 2, 2),
                "num_heads": (1, 2, 4, 8), "window_size": 4, "mlp_ratio": 2.0}


# ============================================================================================ the data
@dataclass
class SceneSet(ImageSet):
    """Scenes: ``images`` (N, C, H, W) in [0, 1], per-pixel ``labels`` (N, H, W) int64 (0 background, d + 1 the
    strokes of the digit d, :data:`IGNORE_INDEX` void: between the strokes inside a digit's square), and ``regions`` (N, H, W) uint8: 1 inside the box of a small digit, 2
    inside the box of a large one, 0 elsewhere (for the scores by size)."""

    regions: torch.Tensor | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.labels.dim() != 3:
            raise ValueError(f"SceneSet: labels must be per-pixel (N, H, W), got shape {tuple(self.labels.shape)}")
        if self.regions is not None and (not isinstance(self.regions, torch.Tensor)
                                         or self.regions.shape != self.labels.shape):
            got = tuple(self.regions.shape) if isinstance(self.regions, torch.Tensor) else type(self.regions).__name__
            raise ValueError(f"SceneSet: regions must be a tensor of the labels' shape {tuple(self.labels.shape)}, "
                             f"got {got}")

    def only(self, group: str) -> torch.Tensor:
        """The labels with every pixel outside the boxes of the ``group`` digits (``"small"`` or ``"large"``) set
        to :data:`IGNORE_INDEX`: the target of the scores by size."""
        if group not in SIZE_GROUPS:
            raise ValueError(f"SceneSet.only: group must be one of {SIZE_GROUPS}, got {group!r}")
        if self.regions is None:
            raise ValueError("SceneSet.only: these scenes have no regions")
        keep = self.regions == SIZE_GROUPS.index(group) + 1
        return torch.where(keep, self.labels, torch.full_like(self.labels, IGNORE_INDEX))


def _side(value, name: str, where: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{where}: {name} must be a side in pixels or a range (lo, hi), got {value!r}")
        lo, hi = (check_int(v, name, where=where) for v in value)
    else:
        lo = hi = check_int(value, name, where=where)
    if lo > hi or lo < 4:
        raise ValueError(f"{where}: {name} must be at least 4 pixels with lo <= hi, got {value!r}")
    return lo, hi


def make_scenes(n: int, digits: torch.Tensor, digit_labels: torch.Tensor, *, img_size: int = 64, small=12,
                large=(40, 48), n_small: int = 5, n_large: int = 1, gap: int = 2, seed: int = 0,
                ink: float = 0.5) -> SceneSet:
    """``n`` scenes of ``img_size`` x ``img_size`` pixels, each with ``n_large`` large and ``n_small`` small digits
    drawn from ``digits`` (M, h, w) in [0, 1] with their classes ``digit_labels`` (M,).

    A digit is resized (bilinear) to a square of ``large`` or ``small`` pixels (a side, or a range (lo, hi) drawn
    from uniformly) and pasted at a uniformly drawn place where its box keeps ``gap`` pixels from every other box.
    The pixels of its square with ink >= ``ink`` (its strokes) get the label ``class + 1``; the other pixels of
    its square are void (:data:`IGNORE_INDEX`): whether a pixel between two strokes is "the digit" or "the
    background" is a matter of taste, so neither answer is counted. Everything else is background (0).
    Deterministic: the same arguments give the same scenes.
    """
    where = "make_scenes"
    n = check_int(n, "n", where=where)
    img_size = check_int(img_size, "img_size", where=where)
    n_small = check_int(n_small, "n_small", minimum=0, where=where)
    n_large = check_int(n_large, "n_large", minimum=0, where=where)
    gap = check_int(gap, "gap", minimum=0, where=where)
    seed = check_int(seed, "seed", minimum=0, where=where)
    small, large = _side(small, "small", where), _side(large, "large", where)
    if not (isinstance(digits, torch.Tensor) and digits.dim() == 3 and digits.is_floating_point()):
        raise ValueError(f"{where}: digits must be a float tensor (M, h, w) in [0, 1], got "
                         f"{tuple(digits.shape) if isinstance(digits, torch.Tensor) else type(digits).__name__}")
    if not (isinstance(digit_labels, torch.Tensor) and digit_labels.shape == digits.shape[:1]):
        raise ValueError(f"{where}: digit_labels must be a tensor (M,) with one class per digit, got "
                         f"{tuple(getattr(digit_labels, 'shape', ())) or type(digit_labels).__name__}")
    if n_small + n_large == 0:
        raise ValueError(f"{where}: a scene needs at least one digit (n_small + n_large > 0)")
    if large[1] + 2 * gap > img_size:
        raise ValueError(f"{where}: a large digit of {large[1]} pixels does not fit a canvas of {img_size}")
    if not 0 < ink <= 1:
        raise ValueError(f"{where}: ink must be in (0, 1], got {ink}")
    rng = np.random.default_rng([seed, 0x5CE7E])
    images = np.zeros((n, img_size, img_size), dtype=np.float32)
    labels = np.zeros((n, img_size, img_size), dtype=np.int64)
    regions = np.zeros((n, img_size, img_size), dtype=np.uint8)
    resized: dict[tuple[int, int], np.ndarray] = {}
    for i in range(n):
        boxes = _place(rng, img_size, ((2, large, n_large), (1, small, n_small)), gap)
        if boxes is None:
            raise ValueError(f"{where}: cannot place {n_large} large and {n_small} small digits without overlap on a "
                             f"{img_size} x {img_size} canvas; use fewer or smaller digits")
        for (r, c, side, group), k in zip(boxes, rng.integers(len(digits), size=len(boxes)).tolist()):
            if (k, side) not in resized:
                d = resize_images(digits[k][None, None], side)[0, 0].clamp(0, 1).numpy()
                resized[k, side] = d, np.where(d >= ink, int(digit_labels[k]) + 1, IGNORE_INDEX)
            d, lab = resized[k, side]
            images[i, r:r + side, c:c + side] = d
            labels[i, r:r + side, c:c + side] = lab
            regions[i, r:r + side, c:c + side] = group
    return SceneSet(torch.from_numpy(images)[:, None], torch.from_numpy(labels), torch.from_numpy(regions))


def _place(rng: np.random.Generator, img_size: int, groups, gap: int, tries: int = 100):
    """The squares ``(row, col, side, group)`` of one scene: for each ``(group, (lo, hi), count)`` of ``groups``,
    ``count`` sides drawn from lo..hi, each square at the first of 32 uniformly drawn places that keeps ``gap``
    pixels clear of the squares placed before; a square with no such place starts the scene again (at most
    ``tries`` times; then None)."""
    for _ in range(tries):
        boxes: list[tuple[int, int, int, int]] = []
        for group, (lo, hi), count in groups:
            for _ in range(count):
                side = int(rng.integers(lo, hi + 1))
                for r, c in rng.integers(0, img_size - side + 1, size=(32, 2)).tolist():
                    if all(r + side + gap <= r2 or r2 + s2 + gap <= r or c + side + gap <= c2 or c2 + s2 + gap <= c
                           for r2, c2, s2, _ in boxes):
                        boxes.append((r, c, side, group))
                        break
                else:
                    break
            else:
                continue
            break
        else:
            return boxes
    return None


def parse_scenes(source: str) -> dict:
    """The options of a ``"scenes[:key=value,...]"`` data source: ``small`` and ``large`` (a side in pixels, or
    ``lo-hi``), ``n_small``, ``n_large``, ``n_train``, ``n_val``, ``n_test``, ``digits`` (the digit classes to use,
    e.g. ``0+1+7``) (see :func:`load_scenes`).

    >>> parse_scenes("scenes:small=6-8,n_train=512")
    {'small': (6, 8), 'n_train': 512}
    """
    def side(v):
        lo, _, hi = v.partition("-")
        return (int(lo), int(hi)) if hi else int(lo)

    return parse_options(source, "scenes", {"small": side, "large": side, "n_small": int, "n_large": int,
                                            "n_train": int, "n_val": int, "n_test": int,
                                            "digits": lambda v: tuple(int(d) for d in v.split("+"))},
                         "small=N (or LO-HI), large=N (or LO-HI), n_small=N, n_large=N, n_train=N, n_val=N, "
                         "n_test=N or digits=D+D+...")


def load_scenes(cfg=None, *, split_seed: int = 0, n_train: int = 2048, n_val: int = 256, n_test: int = 512,
                small=12, large=(40, 48), n_small: int = 5, n_large: int = 1, digits=SCENE_DIGITS) -> DataSplits:
    """The scenes task for the backbone ``cfg`` (default: the one ``swin_edu.train`` recommends,
    :data:`SCENES_MODEL`): train / validation / test scenes made by :func:`make_scenes` from the digits of the
    course's fixed split of scikit-learn's digits (``split_seed``, as :func:`swin_edu.data.load_digits`), so
    that no test scene shows a digit image that a training scene shows. ``digits``: the digit classes drawn (label
    ``i + 1`` for ``digits[i]``; the class names are ``["background", *digits]``). The splits are
    :class:`SceneSet`\\ s."""
    where = "load_scenes"
    from sklearn.datasets import load_digits as _sk_load_digits  # bundled with scikit-learn: no download

    from .config import SwinConfig

    if cfg is None:
        cfg = SwinConfig.preset("nano", **SCENES_MODEL)
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"{where}: cfg must be a SwinConfig, got {type(cfg).__name__}")
    H, W = cfg.img_hw
    if H != W:
        raise ValueError(f"{where}: the scenes are square; got img_size={cfg.img_size}")
    split_seed = check_int(split_seed, "split_seed", minimum=0, where=where)
    digits = tuple(check_int(d, "digits[i]", minimum=0, where=where) for d in digits)
    if not digits or len(set(digits)) != len(digits) or max(digits) > 9:
        raise ValueError(f"{where}: digits must be distinct digit classes 0..9, got {digits!r}")
    bunch = _sk_load_digits()
    pool = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)
    lookup = torch.full((10,), -1, dtype=torch.int64)
    lookup[list(digits)] = torch.arange(len(digits))
    classes = lookup[torch.from_numpy(bunch.target.astype(np.int64))]
    kw = {"img_size": H, "small": small, "large": large, "n_small": n_small, "n_large": n_large}
    parts = []
    for k, (idx, n) in enumerate(zip(_split_indices(bunch.target, 0.1, 0.2, split_seed, where),
                                     (n_train, n_val, n_test))):
        idx = idx[(classes[idx] >= 0).numpy()]
        s = make_scenes(n, pool[idx], classes[idx], seed=3 * split_seed + k, **kw)
        parts.append(SceneSet(s.images.expand(-1, cfg.in_chans, -1, -1).contiguous(), s.labels, s.regions))
    mean, std = _stats(parts[0].images)
    return DataSplits(*parts, classes=["background"] + [str(d) for d in digits], mean=mean, std=std, source="scenes",
                      info={"split_seed": split_seed, "ignore_index": IGNORE_INDEX, "digits": list(digits), **kw})


# ============================================================================================ the model
def stage_maps(model: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    """The output of every stage's blocks (before its patch merging), channels last ``(B, H_i, W_i, C_i)``, finest
    first. ``model``: a :class:`~swin_edu.model.SwinTransformer` (anything with ``forward_stages``) or a model
    built like notebook 07's ``StudentSwin`` (``patch_embed.proj`` / ``patch_embed.norm``, then ``layers`` with
    ``blocks`` and ``downsample``)."""
    if hasattr(model, "forward_stages"):
        return list(model.forward_stages(images)[1][1:])
    try:
        x = model.patch_embed.norm(model.patch_embed.proj(images).permute(0, 2, 3, 1))
        layers = list(model.layers)
    except AttributeError as e:
        raise TypeError(f"stage_maps: model must be a SwinTransformer or shaped like StudentSwin (patch_embed.proj, "
                        f"patch_embed.norm, layers[i].blocks, layers[i].downsample); {type(model).__name__}: {e}") \
            from None
    out = []
    for layer in layers:
        for block in layer.blocks:
            x = block(x)
        out.append(x)
        if layer.downsample is not None:
            x = layer.downsample(x)
    return out


class SwinBackbone(nn.Module):
    """A Swin as a backbone: the stage maps ``levels`` (0: stride ``patch``, then 2x coarser per stage), each
    through its own LayerNorm (``norms``) and channels first ``(B, C_i, H_i, W_i)``, as the official detection
    backbone returns them. The classification model's final norm and head are dropped (replaced by identities):
    a backbone has neither. ``out_dims``: the channels of the maps returned."""

    def __init__(self, swin: nn.Module, levels: Sequence[int] | None = None):
        super().__init__()
        cfg = getattr(swin, "cfg", None)
        if not isinstance(swin, nn.Module) or cfg is None:
            raise TypeError(f"SwinBackbone: swin must be a Swin model with a cfg (SwinTransformer or StudentSwin), "
                            f"got {type(swin).__name__}")
        n = cfg.num_layers
        levels = tuple(range(n)) if levels is None else tuple(levels)
        if not levels or any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < n for i in levels) \
                or list(levels) != sorted(set(levels)):
            raise ValueError(f"SwinBackbone: levels must be increasing stage indices in 0..{n - 1}, got {levels!r}")
        self.body = swin
        for name in ("norm", "head"):
            if isinstance(getattr(swin, name, None), nn.Module):
                setattr(swin, name, nn.Identity())
        self.levels = levels
        self.out_dims = tuple(cfg.stage_dims[i] for i in levels)
        self.strides = tuple(cfg.patch_size * 2 ** i for i in levels)
        self.norms = nn.ModuleList(nn.LayerNorm(c) for c in self.out_dims)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        maps = stage_maps(self.body, images)
        return [norm(maps[i]).permute(0, 3, 1, 2) for i, norm in zip(self.levels, self.norms)]


class FPNHead(nn.Module):
    """A small FPN head (Lin et al., 2017) with a per-pixel classifier: ``lateral[i]`` (a 1x1 convolution
    ``in_dims[i] -> dim``) brings every map to ``dim`` channels; the top-down path starts at the coarsest map and,
    level by level, upsamples the running map (nearest) to the next finer map's size and adds that map's lateral;
    ``classifier`` (a 1x1 convolution ``dim -> num_classes``) gives the logits at the finest map's resolution.

    ``forward(features)``: the maps channels first, finest first, each at most as large as the one before;
    returns ``(B, num_classes, H_0, W_0)``. With one map it is the *last-stage head*: lateral, then classifier.
    """

    def __init__(self, in_dims: Sequence[int], dim: int, num_classes: int):
        super().__init__()
        where = "FPNHead"
        if isinstance(in_dims, (str, bytes)) or not isinstance(in_dims, Sequence) or not in_dims:
            raise ValueError(f"{where}: in_dims must be a non-empty list of channel counts, got {in_dims!r}")
        in_dims = [check_int(c, "in_dims[i]", where=where) for c in in_dims]
        dim = check_int(dim, "dim", where=where)
        num_classes = check_int(num_classes, "num_classes", where=where)
        self.lateral = nn.ModuleList(nn.Conv2d(c, dim, kernel_size=1) for c in in_dims)
        self.classifier = nn.Conv2d(dim, num_classes, kernel_size=1)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        if isinstance(features, torch.Tensor) or len(features) != len(self.lateral):
            got = "one tensor" if isinstance(features, torch.Tensor) else f"{len(features)} maps"
            raise ValueError(f"FPNHead: features must be a list of {len(self.lateral)} maps (B, C, H, W), finest "
                             f"first, got {got}")
        x = self.lateral[-1](features[-1])
        for i in range(len(features) - 2, -1, -1):
            x = F.interpolate(x, size=features[i].shape[-2:], mode="nearest") + self.lateral[i](features[i])
        return self.classifier(x)


class DenseSwin(nn.Module):
    """Backbone, head, and the logits upsampled (bilinear) to the image size: ``(B, num_classes, H, W)``."""

    def __init__(self, backbone: SwinBackbone, head: nn.Module):
        super().__init__()
        if not isinstance(backbone, SwinBackbone) or not isinstance(head, nn.Module):
            raise TypeError(f"DenseSwin: expected a SwinBackbone and a head module, got {type(backbone).__name__} "
                            f"and {type(head).__name__}")
        self.backbone, self.head = backbone, head
        self.cfg = backbone.body.cfg  # the backbone's; build_dense_model sets the number of classes per pixel

    def no_weight_decay_keywords(self) -> set[str]:
        return {"relative_position_bias_table", "absolute_pos_embed"}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.backbone(images))
        return F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)


def build_dense_model(cfg, head: str = "fpn", *, dim: int = 32, num_classes: int | None = None,
                      attn_impl: str = "sdpa", head_class: type | None = None, backbone: nn.Module | None = None):
    """A :class:`DenseSwin` over ``SwinTransformer(cfg)`` (or the given ``backbone`` model, e.g. notebook 07's
    ``StudentSwin``) with the head ``head``: ``"fpn"`` reads all four stage maps, ``"last"`` only the last one
    (:data:`HEADS`). ``num_classes``: default ``cfg.num_classes``. ``head_class``: the FPN class to use (default
    :class:`FPNHead`; notebook 09 passes the learner's). The classification head of the Swin is dropped."""
    from .config import SwinConfig
    from .model import SwinTransformer

    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"build_dense_model: cfg must be a SwinConfig, got {type(cfg).__name__}")
    if head not in HEADS:
        raise ValueError(f"build_dense_model: head must be one of {sorted(HEADS)}, got {head!r}")
    num_classes = cfg.num_classes if num_classes is None else num_classes
    body = SwinTransformer(cfg, attn_impl=attn_impl) if backbone is None else backbone
    n = cfg.num_layers
    levels = tuple(range(n)) if head == "fpn" else (n - 1,)
    bb = SwinBackbone(body, levels)
    model = DenseSwin(bb, (head_class or FPNHead)(list(bb.out_dims), dim, num_classes))
    model.cfg = cfg.replace(num_classes=num_classes)
    return model


# ============================================================================================ loss and scores
def pixel_cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """The per-pixel cross-entropy: logits ``(B, K, H, W)`` (classes on axis 1), integer targets ``(B, H, W)``;
    the mean over every pixel whose target is not ``ignore_index``."""
    return F.cross_entropy(logits, target, ignore_index=ignore_index)


def _int_array(x, name: str, where: str) -> np.ndarray:
    a = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{where}: {name} must hold integer class labels, got dtype {a.dtype}")
    return a.astype(np.int64)


def iou_counts(pred, target, num_classes: int, ignore_index: int = IGNORE_INDEX) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the pixels that are that class in both (``intersection``) and in either (``union``), counted
    over every pixel of ``pred`` and ``target`` (arrays or tensors of the same shape) whose target is not
    ``ignore_index``. Returns two int64 arrays of length ``num_classes``."""
    where = "iou_counts"
    p, t = _int_array(pred, "pred", where), _int_array(target, "target", where)
    if p.shape != t.shape:
        raise ValueError(f"{where}: pred and target must have the same shape, got {p.shape} and {t.shape}")
    num_classes = check_int(num_classes, "num_classes", where=where)
    keep = t != ignore_index
    p, t = p[keep], t[keep]
    if ((p < 0) | (p >= num_classes) | (t < 0) | (t >= num_classes)).any():
        raise ValueError(f"{where}: labels must be in 0..{num_classes - 1} (or ignore_index={ignore_index} in "
                         f"target)")
    inter = np.bincount(t[p == t], minlength=num_classes)
    union = np.bincount(t, minlength=num_classes) + np.bincount(p, minlength=num_classes) - inter
    return inter, union


def mean_iou(pred, target, num_classes: int, ignore_index: int = IGNORE_INDEX) -> float:
    """The mean IoU over the foreground classes (1 .. num_classes - 1; the background, class 0, is left out: it
    covers most pixels and any model gets it nearly right). IoU = intersection / union of the class's pixels,
    counted over all images together; a class that is in neither ``pred`` nor ``target`` is left out of the mean
    (0 / 0 says nothing). NaN when no foreground class is present at all."""
    inter, union = iou_counts(pred, target, num_classes, ignore_index)
    present = union[1:] > 0
    return float((inter[1:][present] / union[1:][present]).mean()) if present.any() else float("nan")


def digit_iou(preds, scenes: SceneSet, group: str | None = None) -> float:
    """Where the digits are, whatever their class: the IoU of "any digit" (label > 0) against the background, over
    the non-void pixels of ``scenes`` (only inside the squares of the ``"small"`` or ``"large"`` digits when ``group``
    is given). Against :func:`mean_iou` it tells a head that cannot place a digit from one that places it and gets
    its class wrong."""
    if not isinstance(scenes, SceneSet):
        raise TypeError(f"digit_iou: scenes must be a SceneSet, got {type(scenes).__name__}")
    target = scenes.labels if group is None else scenes.only(group)
    p = torch.as_tensor(np.asarray(preds.cpu() if isinstance(preds, torch.Tensor) else preds))
    if p.shape != target.shape:
        raise ValueError(f"digit_iou: preds must have the scenes' labels' shape {tuple(target.shape)}, got "
                         f"{tuple(p.shape)}")
    keep = target != IGNORE_INDEX
    pd, td = (p > 0)[keep], (target > 0)[keep]
    union = int((pd | td).sum())
    return float(int((pd & td).sum()) / union) if union else float("nan")


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, normalize=None, *, batch_size: int = 128) -> torch.Tensor:
    """The per-pixel arg-max class of ``model`` on ``images`` (N, C, H, W), in evaluation mode, in batches:
    ``(N, H, W)`` int64 on the CPU. ``normalize``: applied to each batch first (``DataSplits.normalize``)."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].to(device)
            out.append(model(normalize(x) if normalize is not None else x).argmax(1).cpu())
    finally:
        model.train(was)
    return torch.cat(out) if out else torch.empty(0, *images.shape[-2:], dtype=torch.long)


def segmentation_scores(preds, scenes: SceneSet, num_classes: int = len(SCENE_CLASSES)) -> dict:
    """The scores of per-pixel predictions ``preds`` (N, H, W) on ``scenes``: ``miou`` (all pixels), ``miou_small``
    and ``miou_large`` (inside the boxes of the small / large digits only), ``pixel_acc`` (non-void pixels) and
    ``iou`` (per class, background first; NaN for a class absent from both)."""
    if not isinstance(scenes, SceneSet):
        raise TypeError(f"segmentation_scores: scenes must be a SceneSet, got {type(scenes).__name__}")
    inter, union = iou_counts(preds, scenes.labels, num_classes)
    t = scenes.labels.numpy()
    p = np.asarray(preds.cpu() if isinstance(preds, torch.Tensor) else preds)
    valid = t != IGNORE_INDEX
    out = {"miou": mean_iou(p, t, num_classes),
           "pixel_acc": float((p[valid] == t[valid]).mean()) if valid.any() else float("nan"),
           "iou": [float(i / u) if u else float("nan") for i, u in zip(inter, union)]}
    if scenes.regions is not None:
        for group in SIZE_GROUPS:
            out[f"miou_{group}"] = mean_iou(p, scenes.only(group).numpy(), num_classes)
    return out


# ============================================================================================ the comparison
#: the scores of the comparison, in the order of the table
METRICS = {"miou": "all digits", "miou_small": "small digits", "miou_large": "large digits"}


def compare_heads(seeds: Sequence[int], *, heads: Sequence[str] = ("fpn", "last"), out="runs/scenes",
                  log=print, build=None, **train_kwargs) -> dict:
    """Train the scenes task with every head of ``heads`` and every seed of ``seeds`` (``swin_edu.train.train``
    with the scenes recipe; ``train_kwargs``: other :class:`~swin_edu.train.TrainArgs` fields, e.g. ``threads=1``,
    ``data="scenes:small=6"``). The same seed gives both heads the same backbone initialisation and the same
    batches. ``build(cfg, head)``: makes each model (after ``torch.manual_seed(seed)``), e.g. with the learner's
    backbone and head (notebook 09); by default the package's, exactly as ``python -m swin_edu.train`` builds it.
    Returns ``{"runs": [...], "base": args, "machine_start": ..., "machine_end": ...}``; the runs are written to
    ``out/results.json`` after each (an interrupted grid keeps what it did)."""
    import dataclasses
    import json
    from pathlib import Path

    from .ablation import _load, _plain
    from .train import TrainArgs, _machine, build_config, train

    unknown = [h for h in heads if h not in HEADS]
    if unknown or not heads:
        raise ValueError(f"compare_heads: heads must be some of {sorted(HEADS)}, got {list(heads)!r}")
    if not seeds:
        raise ValueError("compare_heads: seeds must name at least one seed")
    base = TrainArgs(**{"data": "scenes", "progress": False, "verbose": False, **train_kwargs})
    cfg = build_config(base)
    from .data import load_data

    splits = load_data(base.data, cfg.img_size, cfg.in_chans, split_seed=base.split_seed, cfg=cfg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"base": _plain(dataclasses.asdict(base.resolved())), "data": splits.describe(),
               "machine_start": _machine(), "runs": []}
    for seed in seeds:
        for head in heads:
            args = dataclasses.replace(base, head=head, seed=int(seed), out=str(out / f"{head}_seed{seed}"))
            load_before = _load()
            model = None
            if build is not None:
                torch.manual_seed(int(seed))
                model = build(build_config(args, splits), head)
            r = train(args, data=splits, model=model)
            t = r["test"]
            run = {"head": head, "seed": int(seed), **{k: t[k] for k in METRICS}, "pixel_acc": t["pixel_acc"],
                   "iou": t["iou"], "wall_time_s": r["wall_time_s"], "train_time_s": r["train_time_s"],
                   "params": r["params"], "epochs": len(r["history"]), "load_before": load_before,
                   "load_after": _load(), "threads": r["machine"]["threads"], "device": r["device"]}
            results["runs"].append(run)
            results["machine_end"] = _machine()
            (out / "results.json").write_text(json.dumps(results, indent=2))
            log(f"{head:>5s}  seed {seed}  mIoU {run['miou']:.4f}  small {run['miou_small']:.4f}  large "
                f"{run['miou_large']:.4f}  {run['wall_time_s']:6.1f} s  (load {load_before} -> {run['load_after']})")
    return results


def summarize_heads(results: dict) -> dict:
    """Per head, the per-seed scores (``{head: {"seeds": [...], metric: [...], "params": n, "wall": [...]}}``) and,
    under ``"vs"``, each metric of the first head minus the second's by the course's rule
    (:func:`swin_edu.ablation.paired_difference`, over the seeds both ran)."""
    from .ablation import paired_difference

    heads = list(dict.fromkeys(r["head"] for r in results["runs"]))
    out: dict = {"heads": heads}
    for head in heads:
        runs = sorted((r for r in results["runs"] if r["head"] == head), key=lambda r: r["seed"])
        out[head] = {"seeds": [r["seed"] for r in runs], **{m: [r[m] for r in runs] for m in METRICS},
                     "params": runs[0]["params"], "wall": [r["wall_time_s"] for r in runs]}
    if len(heads) >= 2:
        a, b = out[heads[0]], out[heads[1]]
        seeds = [s for s in a["seeds"] if s in b["seeds"]]
        out["vs"] = {m: paired_difference([a[m][a["seeds"].index(s)] for s in seeds],
                                          [b[m][b["seeds"].index(s)] for s in seeds]) for m in METRICS}
        out["vs"]["seeds"] = seeds
    return out


def heads_table(summary: dict) -> str:
    """The comparison as a Markdown table: the mean ± sd of each score per head, then the paired difference with
    its 95 % interval and the verdict of the rule."""
    import statistics

    heads = summary["heads"]
    lines = ["| head | reads | params | " + " | ".join(f"test mIoU, {v} (%)" for v in METRICS.values())
             + " | wall time per run (s, mean / max) |", "|---|---|---|" + "---|" * len(METRICS) + "---|"]
    for head in heads:
        s = summary[head]

        def cell(m, s=s):
            v = s[m]
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            return f"{100 * statistics.fmean(v):.1f} ± {100 * sd:.1f} ({', '.join(f'{100 * x:.1f}' for x in v)})"
        lines.append(f"| {head} | {HEADS[head]} | {s['params']:,} | " + " | ".join(cell(m) for m in METRICS)
                     + f" | {statistics.fmean(s['wall']):.0f} / {max(s['wall']):.0f} |")
    if "vs" in summary:
        vs = summary["vs"]

        def diff(m):
            c = vs[m]
            word = f"**{c['verdict']}**" if c["verdict"] != "not resolved" else f"not resolved with {c['n']} seeds"
            interval = (f"[{100 * c['low']:+.1f}, {100 * c['high']:+.1f}]" if math.isfinite(c["low"])
                        else "(one seed)")
            return f"{100 * c['mean']:+.1f} {interval}: {word}"
        lines.append(f"| {heads[0]} − {heads[1]}, paired by seed (95 % CI) | | | "
                     + " | ".join(diff(m) for m in METRICS) + " | |")
    return "\n".join(lines)


def update_docs(path, results: dict, *, key: str = "scenes", results_path=None):
    """Write the table between the ``<!-- KEY:start -->`` / ``<!-- KEY:end -->`` markers of the Markdown file
    ``path`` and the summary under ``KEY`` in the results file (default: the package's
    :data:`swin_edu.ablation.RESULTS_PATH`, which notebook 09 reads)."""
    import json
    from pathlib import Path

    from .ablation import RESULTS_PATH, write_block

    summary = summarize_heads(results)
    m = results.get("machine_end") or results.get("machine_start", {})
    loads = [r["load_before"] for r in results["runs"] if r.get("load_before") is not None]
    threads = sorted({r.get("threads") for r in results["runs"] if r.get("threads")})
    note = (f"\n\n_{len(results['runs'])} runs on {results.get('data', 'scenes')}; machine: {m.get('platform', '?')}, "
            f"{m.get('cpu_count', '?')} CPUs, torch {m.get('torch', '?')}, {'/'.join(map(str, threads)) or '?'} "
            f"thread(s) per run; 1-minute load average before the runs: {min(loads):.2f} to {max(loads):.2f}. "
            f"mIoU: mean IoU over the digit classes (background not averaged), all test pixels, and inside the "
            f"squares of the small / large digits only; a difference is *better* or *worse* only when its 95 % "
            f"t-interval excludes 0._" if loads else "")
    write_block(path, key, heads_table(summary) + note)
    rp = Path(results_path) if results_path is not None else RESULTS_PATH
    existing = json.loads(rp.read_text()) if rp.exists() else {}
    existing[key] = {"summary": summary, "base": results["base"], "data": results.get("data"), "machine": m,
                     "runs": results["runs"]}
    rp.parent.mkdir(parents=True, exist_ok=True)
    rp.write_text(json.dumps(existing, indent=2) + "\n")
    return Path(path)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m swin_edu.dense``: the comparison of the heads (:func:`compare_heads`), its table, and with
    ``--docs`` the recorded results (:func:`update_docs`)."""
    import argparse
    import json
    from pathlib import Path

    p = argparse.ArgumentParser(prog="python -m swin_edu.dense",
                                description="Multi-scale (FPN) head against last-stage head on the scenes task: "
                                            "same backbone, same recipe, several seeds, paired by seed.")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--heads", nargs=2, default=["fpn", "last"], choices=sorted(HEADS))
    p.add_argument("--data", default="scenes", help="'scenes' or 'scenes:key=value,...' (swin_edu.dense.parse_scenes)")
    p.add_argument("--epochs", type=int, default=None, help="default: the scenes recipe's")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/scenes")
    p.add_argument("--docs", default=None, help="Markdown file whose <!-- scenes --> table to (re)write, and the "
                   "package's recorded results")
    p.add_argument("--key", default="scenes")
    p.add_argument("--from-results", nargs="+", default=None, metavar="RESULTS_JSON",
                   help="do not train: merge these results.json files and print / write the table")
    ns = p.parse_args(argv)
    if ns.from_results:
        parts = [json.loads(Path(f).read_text()) for f in ns.from_results]
        results = {**parts[0], "runs": [r for q in parts for r in q["runs"]],
                   "machine_end": parts[-1].get("machine_end", parts[-1].get("machine_start", {}))}
    else:
        try:
            results = compare_heads(ns.seeds, heads=ns.heads, out=ns.out, data=ns.data, epochs=ns.epochs,
                                    threads=ns.threads, log=lambda s: print(s, flush=True))
        except (ValueError, TypeError) as e:
            p.error(str(e))
    print(heads_table(summarize_heads(results)))
    if ns.docs:
        print(f"wrote {update_docs(ns.docs, results, key=ns.key)}")
    return 0


if __name__ == "__main__":  # pragma: no cover - the package's module, not a second copy of it (swin_edu.train imports it)
    from swin_edu.dense import main as _main

    sys.exit(_main())
