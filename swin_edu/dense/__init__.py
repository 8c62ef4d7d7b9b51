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
- **the comparison** (:mod:`swin_edu.dense.compare`, ``python -m swin_edu.dense``): multi-scale head against
  last-stage head, same backbone and budget, several seeds, paired by seed with the course's rule
  (:func:`swin_edu.ablation.paired_difference`). It trains with :mod:`swin_edu.train`, which uses this module's
  models: so it lives in a module of its own, and this one imports nothing that trains.

The scenes task itself (the data, made by the code) lives with the course's other data in :mod:`swin_edu.data`;
its names are here too.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from .._openmp import quiet_openmp

# `python -m swin_edu.dense` imports this package, then runs its __main__ (the comparison's command line,
# swin_edu.dense.compare): sys.argv[0] is "-m" meanwhile, the moment to let OpenMP's idle threads sleep
if sys.argv[:1] == ["-m"]:
    quiet_openmp()

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_int
from ..data import (IGNORE_INDEX, SCENE_CLASSES, SCENE_DIGITS, SCENES_MODEL, SIZE_GROUPS, SceneSet, load_scenes,
                    make_scenes, parse_scenes)

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
    "digit_iou",
    "iou_counts",
    "load_scenes",
    "make_scenes",
    "mean_iou",
    "parse_scenes",
    "pixel_cross_entropy",
    "predict",
    "segmentation_scores",
    "stage_maps",
]

#: the heads of the comparison: which stage maps (0: stride 4, ..., 3: stride 32) the FPN reads
HEADS = {"fpn": "all four stage maps (strides 4, 8, 16, 32)", "last": "the last stage map only (stride 32)"}

#: the scores of a segmentation (and of the comparison's table, in its order)
METRICS = {"miou": "all digits", "miou_small": "small digits", "miou_large": "large digits"}


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
    from ..config import SwinConfig
    from ..model import SwinTransformer

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
