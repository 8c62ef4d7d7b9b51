"""Train a (tiny) Swin Transformer: one process on a laptop CPU, a GPU, or several processes (torchrun).

From Python (the notebook)::

    from swin_edu.train import train
    result = train(epochs=3, out="runs/demo")     # returns the trained model, curves, test accuracy

Command line (``python -m swin_edu.train --help``; the parser lives in :mod:`swin_edu.train_cli`)::

    python -m swin_edu.train --out runs/digits                                 # digits, CPU, about a minute
    python -m swin_edu.train --data straddle --out runs/straddle [--no-shift]  # where the shift matters
    python -m swin_edu.train --data scenes --out runs/scenes [--head last]     # dense prediction (notebook 09)
    python -m swin_edu.train --preset nano --set img_size=32 window_size=2     # any SwinConfig
    python -m swin_edu.train --data path/to/folder --set img_size=64            # your own images
    python -m swin_edu.train --out runs/digits --resume auto                   # go on from the last checkpoint
    torchrun --standalone --nproc_per_node 2 -m swin_edu.train                 # DDP (gloo / nccl)

The data decides the recipe (:data:`RECIPES`) and the model (:data:`MODELS`, over the ``nano`` preset)
unless you set them: ``digits`` (scikit-learn's bundled handwritten digits at 16 x 16), ``straddle``
(two marks on both sides of a window border, same or different colour: :func:`swin_edu.data.load_straddle`),
``scenes`` (digits at two scales on a 64 x 64 canvas, a class per pixel: :func:`swin_edu.dense.load_scenes`; the
model is a Swin backbone with an FPN head, ``head="fpn"``, or the last-stage head, ``head="last"``) or a folder
of images. The recipe follows the paper's (AdamW, cosine schedule with linear warm-up, label
smoothing 0.1, weight decay 0.05 except on norms, biases and position tables, stochastic depth, gradient
clipping at 5) with the augmentations that fit tiny images (:class:`swin_edu.data.Augment`).

The loop is :func:`train` = :func:`setup`, then :func:`run_epoch` for every epoch, then :func:`finish`.
Reproducible: every random number comes from generators re-seeded from ``(seed, epoch, rank)`` at the
start of each epoch, so a run resumed from a checkpoint gives the same weights as the run that never
stopped; on the CPU ``torch.use_deterministic_algorithms(True)`` is on.

Outputs in ``out`` (rank 0 only): ``checkpoint.pth`` (``{"model": state_dict}`` in the official layout,
plus optimizer, scheduler, epoch, arguments and history) at the end and at most every
``checkpoint_every_s`` seconds in between, ``metrics.json`` (history, test result, timings, machine),
``metrics.csv`` (one row per epoch) and ``curves.png`` (loss and accuracy).
"""
from __future__ import annotations

import os
import sys

from .._openmp import quiet_openmp

# `python -m swin_edu.train` imports this package, then runs its __main__ (the command line, swin_edu.train_cli,
# which imports this library: never the other way). While Python locates that module, sys.argv[0] is "-m" (the
# documented behaviour of -m): the one moment to let idle OpenMP threads sleep before torch loads OpenMP.
if sys.argv[:1] == ["-m"]:
    quiet_openmp()

import contextlib
import csv
import dataclasses
import json
import math
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import PRESETS, SwinConfig
from ..data import STRADDLE_MODEL, Augment, DataSplits, ImageSet, batches, check_images, load_data
from ..dense import (
    HEADS,
    SCENES_MODEL,
    DenseSwin,
    SceneSet,
    build_dense_model,
    iou_counts,
    segmentation_scores,
)
from ..device import AMP_MODES, autocast, autocast_dtype, pick_device

__all__ = [
    "CHECKPOINT_NAME",
    "MODELS",
    "RECIPES",
    "ModelEMA",
    "Run",
    "TrainArgs",
    "TrainingInterrupted",
    "build_config",
    "build_model",
    "confusion_matrix",
    "data_kind",
    "evaluate",
    "finish",
    "load_trained",
    "lr_at",
    "make_optimizer",
    "run_epoch",
    "setup",
    "smoothed_cross_entropy",
    "train",
]

CHECKPOINT_NAME = "checkpoint.pth"

#: the model trained on each kind of data unless ``preset`` is given: SwinConfig fields over the nano preset
MODELS: dict[str, dict] = {
    # the architecture of the peer run in docs/training.md: 8 x 8 tokens in 4 x 4 windows, then one global window
    "digits": {"img_size": 16, "patch_size": 2, "in_chans": 1, "embed_dim": 32, "depths": (2, 2),
               "num_heads": (2, 4), "window_size": 4, "mlp_ratio": 2.0},
    "straddle": STRADDLE_MODEL,
    # the backbone of the scenes task: four stages, patch 4 (strides 4, 8, 16, 32), C = 16; the head: HEADS
    "scenes": SCENES_MODEL,
    "folder": {"in_chans": 3},
}

#: the TrainArgs fields left at None take these values, by kind of data (docs/training.md: how they were chosen)
RECIPES: dict[str, dict] = {
    "digits": {"epochs": 160, "batch_size": 64, "lr": 4e-3, "warmup_epochs": 5.0, "drop_path": 0.1, "augment": True,
               "label_smoothing": 0.1},
    # no augmentation: a shift or a rotation would move the marks across the window borders
    "straddle": {"epochs": 6, "batch_size": 64, "lr": 5e-3, "warmup_epochs": 1.0, "drop_path": 0.0,
                 "augment": False, "label_smoothing": 0.1},
    # no augmentation: the augmentations move the image and not its per-pixel labels; the plain per-pixel
    # cross-entropy (notebook 09's exercise); the FPN head unless --head last
    "scenes": {"epochs": 8, "batch_size": 32, "lr": 3e-3, "warmup_epochs": 0.5, "drop_path": 0.0, "augment": False,
               "label_smoothing": 0.0, "head": "fpn"},
    "folder": {"epochs": 40, "batch_size": 64, "lr": 1e-3, "warmup_epochs": 1.0, "drop_path": 0.1, "augment": True,
               "label_smoothing": 0.1},
}

#: the arguments that define a run: resuming with another value of one of them is refused (the weights
#: would continue a run that never was); the others (epochs, device, threads, ...) may change
RUN_FIELDS = ("preset", "overrides", "data", "split_seed", "batch_size", "lr", "min_lr", "warmup_epochs",
              "weight_decay", "label_smoothing", "grad_clip", "drop_path", "augment", "translate", "degrees",
              "scale", "erase", "mixup", "cutmix", "ema", "no_shift", "no_rpb", "ape", "seed", "head")


def data_kind(source) -> str:
    """``"digits"``, ``"straddle"`` (also ``"straddle:distance=3"``, ...), ``"scenes"`` (also
    ``"scenes:small=6"``, ...) or ``"folder"`` (anything else is read as an image folder)."""
    s = str(source)
    if s == "digits":
        return s
    name = s.partition(":")[0]
    return name if name in ("straddle", "scenes") else "folder"


# ============================================================================================ arguments
@dataclass
class TrainArgs:
    """Everything a run depends on. Fields left at ``None`` take the recipe of the data (:data:`RECIPES`)
    when the run starts (:meth:`resolved`); ``preset=None`` trains the model of the data (:data:`MODELS`)."""

    preset: str | None = None                        # a SwinConfig preset; None: MODELS[kind of data]
    overrides: dict = field(default_factory=dict)    # SwinConfig fields, e.g. {"window_size": 2}
    data: str = "digits"                             # "digits", "straddle", "scenes" or an image folder
    split_seed: int = 0
    epochs: int | None = None
    batch_size: int | None = None                    # global batch (split over the processes); None: the recipe's
    lr: float | None = None                          # peak learning rate (for the global batch)
    min_lr: float = 1e-5
    warmup_epochs: float | None = None
    weight_decay: float = 0.05
    label_smoothing: float | None = None             # None: the recipe's (0.1; 0 for the per-pixel loss of scenes)
    grad_clip: float | None = 5.0
    drop_path: float | None = None                   # stochastic depth of the last block (--set drop_path_rate wins)
    # augmentation (see swin_edu.data.Augment); augment=False turns all of them off
    augment: bool | None = None
    translate: float = 0.0625
    degrees: float = 10.0
    scale: tuple = (0.95, 1.05)
    erase: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0
    ema: float = 0.0                                 # decay per step of an exponential moving average (0: off)
    # the paper's ablations: shortcuts for the SwinConfig fields shift_windows=False, rel_pos_bias=False, ape=True
    no_shift: bool = False
    no_rpb: bool = False
    ape: bool = False
    # dense prediction (data "scenes"): the head over the Swin backbone, swin_edu.dense.HEADS (None: the recipe's)
    head: str | None = None
    # machinery
    seed: int = 0
    out: str | None = None                           # output folder (None: write nothing)
    resume: str | None = None                        # a checkpoint path, or "auto" (out/checkpoint.pth if there)
    device: str = "auto"                             # auto | cpu | cuda | cuda:1 | mps
    amp: str = "auto"                                # auto | off | bf16 | fp16 (swin_edu.device.autocast_dtype)
    attn_impl: str = "sdpa"
    threads: int | None = None                       # torch CPU threads (None: torch's choice)
    deterministic: bool = True
    max_steps: int | None = None                     # stop after this many optimizer steps (smoke tests)
    eval_batch_size: int = 512
    eval_every: int = 1                              # validate every k epochs (and after the last); 0: only at the end
    checkpoint_every_s: float | None = 30.0          # save at most this often (s) and at the end; 0: every epoch
    progress: bool = True                            # one progress bar for the run (tqdm)
    verbose: bool = True                             # log lines (stdout), about ten per run
    log_every: int = 0                               # a log line every k epochs (0: about ten lines per run)
    save: bool = True
    plot: bool = True

    def __post_init__(self) -> None:
        where = "TrainArgs"
        if not isinstance(self.overrides, dict):
            raise TypeError(f"{where}: overrides must be a dict of SwinConfig fields, got {self.overrides!r}")
        if self.preset is not None and (not isinstance(self.preset, str) or self.preset.lower() not in PRESETS):
            raise ValueError(f"{where}: unknown preset {self.preset!r}; expected one of {sorted(PRESETS)} "
                             f"(or None: the model recommended for the data)")
        if not isinstance(self.data, (str, os.PathLike)):
            raise TypeError(f"{where}: data must be 'digits', 'straddle' or a folder path, got {self.data!r}")
        self.data = str(self.data)
        for name, minimum in (("epochs", 1), ("batch_size", 1), ("eval_batch_size", 1), ("max_steps", 1),
                              ("threads", 1), ("eval_every", 0), ("log_every", 0), ("seed", 0), ("split_seed", 0)):
            v = getattr(self, name)
            if v is None and name in ("epochs", "max_steps", "threads", "batch_size"):
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
                kind = "a positive int" if minimum == 1 else "an int >= 0"
                extra = " or None" if name in ("epochs", "max_steps", "threads", "batch_size") else ""
                raise ValueError(f"{where}: {name} must be {kind}{extra}, got {v!r}")
        for name in ("lr", "min_lr", "warmup_epochs", "weight_decay", "label_smoothing", "translate", "degrees",
                     "erase", "mixup", "cutmix", "drop_path", "checkpoint_every_s", "grad_clip"):
            v = getattr(self, name)
            if v is None and name in ("lr", "warmup_epochs", "drop_path", "checkpoint_every_s", "grad_clip",
                                      "label_smoothing"):
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{where}: {name} must be a non-negative number, got {v!r}")
        if self.lr is not None and self.lr <= 0:
            raise ValueError(f"{where}: lr must be > 0, got {self.lr}")
        if self.drop_path is not None and self.drop_path >= 1:
            raise ValueError(f"{where}: drop_path must be in [0, 1), got {self.drop_path}")
        if not isinstance(self.ema, (int, float)) or isinstance(self.ema, bool) or not 0 <= self.ema < 1:
            raise ValueError(f"{where}: ema must be a decay in [0, 1) (0: off), got {self.ema!r}")
        if (self.label_smoothing or 0) >= 1 or self.erase > 1:
            raise ValueError(f"{where}: label_smoothing must be < 1 and erase <= 1, got "
                             f"{self.label_smoothing}, {self.erase}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"{where}: amp must be one of {', '.join(AMP_MODES)}, got {self.amp!r}")
        if self.attn_impl not in ("sdpa", "explicit"):
            raise ValueError(f"{where}: attn_impl must be 'sdpa' or 'explicit', got {self.attn_impl!r}")
        for name in ("augment", "no_shift", "no_rpb", "ape", "deterministic", "progress", "verbose", "save", "plot"):
            v = getattr(self, name)
            if not isinstance(v, bool) and not (v is None and name == "augment"):
                raise TypeError(f"{where}: {name} must be True or False, got {v!r}")
        if self.head is not None:
            if data_kind(self.data) != "scenes":
                raise ValueError(f"{where}: head is for dense prediction (data='scenes'), got head={self.head!r} "
                                 f"with data={self.data!r}")
            if self.head not in HEADS:
                raise ValueError(f"{where}: head must be one of {sorted(HEADS)}, got {self.head!r}")
        if not isinstance(self.scale, (tuple, list)) or len(self.scale) != 2:
            raise ValueError(f"{where}: scale must be a pair (min, max), got {self.scale!r}")
        self.scale = tuple(float(s) for s in self.scale)

    def resolved(self) -> TrainArgs:
        """A copy with every field left at None set from the recipe of the data (:data:`RECIPES`)."""
        recipe = RECIPES[data_kind(self.data)]
        changes = {k: v for k, v in recipe.items() if getattr(self, k) is None}
        return dataclasses.replace(self, **changes) if changes else self

    def augmentation(self) -> Augment:
        if not self.resolved().augment:
            return Augment.none()
        return Augment(translate=self.translate, degrees=self.degrees, scale=self.scale, erase=self.erase,
                       mixup=self.mixup, cutmix=self.cutmix)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ============================================================================================ model
def build_config(args: TrainArgs, data: DataSplits | None = None) -> SwinConfig:
    """The model of a run: ``preset`` (or the model of the data, :data:`MODELS`) with the overrides and the
    ablation switches; ``in_chans`` and ``num_classes`` follow ``data`` when it is given."""
    args = args.resolved()
    kind = data_kind(args.data)
    over = dict(args.overrides)
    if args.preset is None:
        preset, over = "nano", {**MODELS[kind], **over}
    else:
        preset = args.preset
        if kind == "digits":
            over.setdefault("in_chans", 1)
    if "drop_path_rate" not in over:
        over["drop_path_rate"] = args.drop_path
    if args.ape:
        over["ape"] = True
    if args.no_shift:
        over["shift_windows"] = False
    if args.no_rpb:
        over["rel_pos_bias"] = False
    cfg = SwinConfig.preset(preset, **over)
    if args.preset is None:
        cfg = cfg.replace(name=kind)
    if data is not None:
        if "num_classes" in args.overrides and args.overrides["num_classes"] != data.num_classes:
            raise ValueError(f"train: num_classes={args.overrides['num_classes']} was set but the data has "
                             f"{data.num_classes} classes ({data.classes})")
        cfg = cfg.replace(in_chans=data.in_chans, num_classes=data.num_classes)
    return cfg


def build_model(cfg: SwinConfig, *, attn_impl: str = "sdpa", head: str | None = None):
    """``SwinTransformer(cfg)`` (the ablations are config fields: ``shift_windows``, ``rel_pos_bias``, ``ape``);
    with ``head`` (``"fpn"`` or ``"last"``), the dense model of the scenes task over that Swin
    (:func:`swin_edu.dense.build_dense_model`: ``cfg.num_classes`` classes per pixel)."""
    from ..model import SwinTransformer

    if head is not None:
        return build_dense_model(cfg, head, attn_impl=attn_impl)
    return SwinTransformer(cfg, attn_impl=attn_impl)


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with two groups, as the official code: no weight decay on 1-d parameters (norms, biases)
    and on the position tables; frozen parameters are left out. The fused implementation (one kernel for
    all parameters; same update) where this torch and device have it."""
    skip = getattr(model, "no_weight_decay_keywords", lambda: set())()
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim <= 1 or name.endswith(".bias") or any(k in name for k in skip):
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    dev = next(iter(decay or no_decay), torch.empty(0)).device.type
    fused = True if dev in ("cpu", "cuda") else None
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=fused)


class ModelEMA:
    """Exponential moving average of a model's floating-point state (Polyak averaging, as timm's
    ``ModelEmaV2`` with a warm-up): after optimizer step ``t`` (1-based),
    ``ema = d * ema + (1 - d) * weights`` with ``d = min(decay, (1 + t) / (10 + t))``, so the first steps
    are not dominated by the random initialisation. :meth:`applied` swaps the averaged weights into the
    model for evaluation and back."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"ModelEMA: decay must be in (0, 1), got {decay!r}")
        self.decay = float(decay)
        self.names = [k for k, v in model.state_dict().items() if v.is_floating_point()]
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items() if k in self.names}

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = min(self.decay, (1.0 + step) / (10.0 + step))
        state = model.state_dict()
        torch._foreach_lerp_([self.shadow[k] for k in self.names], [state[k].detach() for k in self.names], 1.0 - d)

    @contextlib.contextmanager
    def applied(self, model: nn.Module):
        state = model.state_dict()
        saved = {k: state[k].detach().clone() for k in self.names}
        with torch.no_grad():
            for k in self.names:
                state[k].copy_(self.shadow[k])
        try:
            yield model
        finally:
            with torch.no_grad():
                for k in self.names:
                    state[k].copy_(saved[k])

    def state_dict(self) -> dict:
        return {k: v.clone() for k, v in self.shadow.items()}

    def load_state_dict(self, sd: dict) -> None:
        missing = [k for k in self.names if k not in sd]
        if missing:
            raise KeyError(f"ModelEMA.load_state_dict: missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        with torch.no_grad():
            for k in self.names:
                self.shadow[k].copy_(sd[k])


def lr_at(step: int, total_steps: int, warmup_steps: int, base_lr: float, min_lr: float = 0.0) -> float:
    """Learning rate of optimizer step ``step`` (0-based): linear warm-up from ``base_lr/warmup_steps`` to
    ``base_lr`` over ``warmup_steps`` steps, then a half cosine from ``base_lr`` down to ``min_lr`` at
    ``total_steps``.

    >>> [round(lr_at(s, 10, 2, 1.0), 3) for s in range(10)]
    [0.5, 1.0, 1.0, 0.962, 0.854, 0.691, 0.5, 0.309, 0.146, 0.038]
    """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    t = min(max(step - warmup_steps, 0), span) / span
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))


def smoothed_cross_entropy(logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.1,
                           ignore_index: int = -100) -> torch.Tensor:
    """Cross-entropy against the smoothed one-hot target ``(1 - smoothing) * onehot + smoothing / K``,
    averaged over the batch (equal to ``F.cross_entropy(..., label_smoothing=smoothing)``). The classes are on
    axis 1: logits ``(B, K)`` with targets ``(B,)``, or per pixel ``(B, K, H, W)`` with ``(B, H, W)`` (the
    mean over the pixels whose target is not ``ignore_index``)."""
    logp = F.log_softmax(logits.float(), dim=1)
    keep = target != ignore_index
    nll = -logp.gather(1, torch.where(keep, target, 0).unsqueeze(1)).squeeze(1)
    per = (1.0 - smoothing) * nll - smoothing * logp.mean(dim=1)
    return per[keep].mean()


# ============================================================================================ devices
@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    enabled: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(args: TrainArgs) -> tuple[_Dist, torch.device]:
    device = torch.device(pick_device(None if args.device == "auto" else args.device))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), device
    import torch.distributed as dist

    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return _Dist(rank=rank, world=world, local_rank=local_rank, enabled=True), device


def _epoch_seed(seed: int, epoch: int, rank: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, rank, stream]).generate_state(1)[0])


# ============================================================================================ evaluation
@torch.no_grad()
def evaluate(model: nn.Module, dataset: ImageSet, normalize, *, batch_size: int = 512, device=None,
             amp_dtype=None, shard: tuple[int, int] = (0, 1), smoothing: float = 0.0, ignore_index: int = -100) -> dict:
    """Loss, accuracy and predictions of ``model`` on ``dataset`` (sums and counts for all-reduce).

    ``shard=(rank, world)`` evaluates every ``world``-th image starting at ``rank`` (no padding). Per-pixel
    labels (dense prediction): the loss and the accuracy are per pixel (``count``: the labelled pixels, those whose
    label is not ``ignore_index``), ``preds`` are maps, and ``inter`` / ``union`` count each class's pixels for
    the mean IoU (:func:`swin_edu.dense.iou_counts`).
    """
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    rank, world = shard
    idx = torch.arange(rank, len(dataset), world)
    dense = dataset.labels.dim() == 3
    loss_sum, correct, count, preds, inter, union = 0.0, 0, 0, [], 0, 0
    for x, y in batches(dataset, idx, batch_size):
        x, y = normalize(x.to(device)), y.to(device)
        with autocast(device, amp_dtype):
            logits = model(x)
        loss_sum += float(F.cross_entropy(logits.float(), y, label_smoothing=smoothing, reduction="sum",
                                          ignore_index=ignore_index))
        p = logits.argmax(dim=1)
        keep = y != ignore_index
        correct += int(((p == y) & keep).sum())
        count += int(keep.sum())
        preds.append(p.cpu())
        if dense:
            i, u = iou_counts(p, y, logits.shape[1], ignore_index)
            inter, union = inter + i, union + u
    model.train(was_training)
    preds = torch.cat(preds) if preds else torch.empty(0, *dataset.labels.shape[1:], dtype=torch.long)
    out = {"loss": loss_sum / max(count, 1), "acc": correct / max(count, 1), "loss_sum": loss_sum,
           "correct": correct, "count": count, "preds": preds, "indices": idx}
    if dense:
        out["inter"], out["union"] = inter, union
    return out


def confusion_matrix(preds, labels, num_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of images of true class ``i`` predicted as class ``j`` (int64)."""
    p = np.asarray(preds.cpu() if isinstance(preds, torch.Tensor) else preds).astype(np.int64).ravel()
    t = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64).ravel()
    if p.shape != t.shape:
        raise ValueError(f"confusion_matrix: preds and labels must have the same length, got {p.shape} and {t.shape}")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


# ============================================================================================ the loop
class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a notebook's interrupt) during :func:`train`; the message says where the last checkpoint is."""


@dataclass
class Run:
    """The state of a training run between :func:`setup` and :func:`finish` (one per process)."""

    args: TrainArgs
    cfg: SwinConfig
    data: DataSplits
    model: nn.Module
    net: nn.Module                       # the model, wrapped in DistributedDataParallel under torchrun
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    ema: ModelEMA | None
    device: torch.device
    amp_dtype: torch.dtype | None
    dist: _Dist
    out: Path | None
    sampler: Any
    train_set: ImageSet
    augment: Augment
    local_batch: int
    steps_per_epoch: int
    start_epoch: int = 0
    step: int = 0
    history: list = field(default_factory=list)
    elapsed_before: float = 0.0          # training seconds of the run before it was resumed
    t_start: float = 0.0
    t_loop: float = 0.0
    saved_epoch: int = 0                 # the epoch of the checkpoint on disk (0: none)
    t_saved: float = 0.0
    stopped: bool = False                # max_steps reached
    bar: Any = None
    notes: list = field(default_factory=list)

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t_loop


def setup(args: TrainArgs, data: DataSplits | None = None, model: nn.Module | None = None) -> Run:
    """Devices, data, model, optimizer, schedule and, with ``args.resume``, the state of a checkpoint.
    ``model``: a model to train instead of the one ``args`` describes (see :func:`train`)."""
    t_start = time.perf_counter()
    args = args.resolved()
    dist_info, device = _init_distributed(args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.deterministic and device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    amp_dtype = autocast_dtype(args.amp, device)
    if data_kind(args.data) == "scenes" and args.augmentation().active:
        raise ValueError("train: the scenes task takes no augmentation (it would move the images and not their "
                         "per-pixel labels): use --no-augment")

    cfg0 = build_config(args)
    if data is None:
        data = load_data(args.data, cfg0.img_size, cfg0.in_chans, split_seed=args.split_seed, cfg=cfg0)
    elif not isinstance(data, DataSplits):
        raise TypeError(f"train: data must be a swin_edu.data.DataSplits (e.g. load_digits()), "
                        f"got {type(data).__name__}")
    cfg = build_config(args, data)
    for name, part in (("train", data.train), ("val", data.val), ("test", data.test)):
        check_images(part.images, cfg.img_size, cfg.in_chans, name=f"data.{name}.images", where="train")
    if len(data.train) < args.batch_size:
        raise ValueError(f"train: the training split has {len(data.train)} images, fewer than "
                         f"batch_size={args.batch_size}")
    if args.batch_size % dist_info.world:
        raise ValueError(f"train: batch_size={args.batch_size} (the global batch) must be divisible by the "
                         f"number of processes ({dist_info.world})")
    local_bs = args.batch_size // dist_info.world

    torch.manual_seed(args.seed)
    if model is None:
        model = build_model(cfg, attn_impl=args.attn_impl, head=args.head)
    elif not isinstance(model, nn.Module):
        raise TypeError(f"train: model must be an nn.Module (or None: the model of args), got {type(model).__name__}")
    model = model.to(device)
    optimizer = make_optimizer(model, args.lr, args.weight_decay)
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(data.train, num_replicas=dist_info.world, rank=dist_info.rank, shuffle=True,
                                 seed=args.seed, drop_last=False)
    steps_per_epoch = len(sampler) // local_bs
    total_steps = args.epochs * steps_per_epoch
    warmup_steps = round(args.warmup_epochs * steps_per_epoch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_at(s, total_steps, warmup_steps, args.lr, args.min_lr) / args.lr)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    ema = ModelEMA(model, args.ema) if args.ema else None
    # the whole training set is a few MB: on a GPU keep it there (augmentations run on the device too)
    train_set = data.train if device.type == "cpu" else ImageSet(data.train.images.to(device),
                                                                 data.train.labels.to(device))
    out = Path(args.out) if args.out else None
    run = Run(args=args, cfg=cfg, data=data, model=model, net=model, optimizer=optimizer, scheduler=scheduler,
              scaler=scaler, ema=ema, device=device, amp_dtype=amp_dtype, dist=dist_info, out=out, sampler=sampler,
              train_set=train_set, augment=args.augmentation(), local_batch=local_bs,
              steps_per_epoch=steps_per_epoch, t_start=t_start)
    if args.resume:
        if args.resume == "auto" and out is None:
            raise ValueError("train: resume='auto' needs an out folder")
        path = (out / CHECKPOINT_NAME) if args.resume == "auto" else Path(args.resume)
        if path.exists():
            _resume(run, path)
        elif args.resume != "auto":
            raise FileNotFoundError(f"train: resume={str(path)!r}: no such checkpoint")
    if dist_info.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        run.net = DDP(model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False)
    if out is not None and dist_info.main and (args.save or args.plot):
        out.mkdir(parents=True, exist_ok=True)
    if args.progress and dist_info.main:
        from tqdm.auto import tqdm

        run.bar = tqdm(total=args.epochs * steps_per_epoch, initial=run.start_epoch * steps_per_epoch,
                       desc=f"{cfg.name} on {data_kind(args.data)}", unit="step", dynamic_ncols=True)
    for note in run.notes:
        _log(run, note)
    run.t_loop = run.t_saved = time.perf_counter()
    return run


def run_epoch(run: Run, epoch: int) -> dict | None:
    """One epoch: shuffle, augment, forward, smoothed cross-entropy, backward, clip, AdamW, schedule; then
    validate (every ``eval_every`` epochs) and save (every ``checkpoint_every_s`` seconds). Returns the
    epoch's history row, or None when ``max_steps`` cut the epoch short (it is not recorded)."""
    args, dist_info = run.args, run.dist
    run.sampler.set_epoch(epoch)
    torch.manual_seed(_epoch_seed(args.seed, epoch, dist_info.rank, 0))  # drop path, dropout
    gen = torch.Generator().manual_seed(_epoch_seed(args.seed, epoch, dist_info.rank, 1))  # augmentation
    run.net.train()
    t0 = time.perf_counter()
    loss_sum = torch.zeros((), dtype=torch.float64, device=run.device)
    correct = torch.zeros((), dtype=torch.int64, device=run.device)
    labelled = torch.zeros((), dtype=torch.int64, device=run.device)  # images, or labelled pixels (dense)
    seen = 0
    ignore = _ignore_index(run.data)
    for x, y in batches(run.train_set, list(run.sampler), run.local_batch, drop_last=True):
        y2, lam = None, 1.0
        if run.augment.active:
            x, y, y2, lam = run.augment(x, y, gen)
        x = run.data.normalize(x.to(run.device, non_blocking=True))
        y = y.to(run.device, non_blocking=True)
        with autocast(run.device, run.amp_dtype):
            logits = run.net(x)
        loss = smoothed_cross_entropy(logits, y, args.label_smoothing, ignore)
        if y2 is not None:
            loss = lam * loss + (1 - lam) * smoothed_cross_entropy(logits, y2.to(run.device), args.label_smoothing)
        run.optimizer.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        if args.grad_clip:
            run.scaler.unscale_(run.optimizer)
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), args.grad_clip)
        run.scaler.step(run.optimizer)
        run.scaler.update()
        run.scheduler.step()
        run.step += 1
        if run.ema is not None:
            run.ema.update(run.model, run.step)
        with torch.no_grad():  # summed on the device: no synchronisation per step
            loss_sum += loss.detach() * len(y)
            keep = y != ignore
            correct += ((logits.detach().argmax(1) == y) & keep).sum()
            labelled += keep.sum()
            seen += len(y)
        if run.bar is not None:
            run.bar.update(1)
        if args.max_steps is not None and run.step >= args.max_steps:
            run.stopped = True
            break
    if run.stopped and seen < run.steps_per_epoch * run.local_batch:
        return None  # a cut-short epoch: not recorded, not saved (a resume redoes it from its start)
    train_time = time.perf_counter() - t0
    last = epoch + 1 == args.epochs or run.stopped
    val_loss = val_acc = val_miou = None
    if last or (args.eval_every and (epoch + 1) % args.eval_every == 0):
        with run.ema.applied(run.model) if run.ema is not None else contextlib.nullcontext():
            val = evaluate(run.model, run.data.val, run.data.normalize, batch_size=args.eval_batch_size,
                           device=run.device, amp_dtype=run.amp_dtype, shard=(dist_info.rank, dist_info.world),
                           ignore_index=ignore)
        vl, vc, vn = _reduce([val["loss_sum"], val["correct"], val["count"]], dist_info, run.device)
        val_loss, val_acc = vl / max(vn, 1), vc / max(vn, 1)
        if "inter" in val:
            val_miou = _miou(val, dist_info, run.device)
    ls, cs, ls_n, ns = _reduce([float(loss_sum), int(correct), int(labelled), seen], dist_info, run.device)
    row = {"epoch": epoch + 1, "step": run.step, "lr": run.optimizer.param_groups[0]["lr"],
           "train_loss": ls / max(ns, 1), "train_acc": cs / max(ls_n, 1), "val_loss": val_loss, "val_acc": val_acc,
           **({"val_miou": val_miou} if val_miou is not None else {}),
           "epoch_time_s": time.perf_counter() - t0, "images_per_s": ns / max(train_time, 1e-9)}
    run.history.append(row)
    row["elapsed_s"] = run.elapsed()
    if dist_info.main:
        every = args.log_every or max(1, round(args.epochs / 10))
        if val_acc is not None and run.bar is not None:
            run.bar.set_postfix(epoch=epoch + 1, loss=f"{row['train_loss']:.3f}", val_acc=f"{val_acc:.3f}",
                                refresh=False)
        if args.verbose and (last or (epoch + 1) % every == 0):
            val = f"val loss {val_loss:.4f} acc {val_acc:.4f}  " if val_acc is not None else ""
            val += f"mIoU {val_miou:.4f}  " if val_miou is not None else ""
            _log(run, f"epoch {epoch + 1:3d}/{args.epochs}  train loss {row['train_loss']:.4f} acc "
                      f"{row['train_acc']:.4f}  {val}{row['images_per_s']:.0f} img/s  {row['elapsed_s']:.1f} s")
        every_s = args.checkpoint_every_s
        if (run.out is not None and args.save
                and (last or (every_s is not None and time.perf_counter() - run.t_saved >= every_s))):
            _save(run)
    return row


def finish(run: Run) -> dict:
    """Test the model, write metrics.json / metrics.csv / curves.png, close the progress bar; returns the
    result dict of :func:`train`."""
    args, dist_info = run.args, run.dist
    if run.bar is not None:
        run.bar.close()
        run.bar = None
    train_wall = run.elapsed()
    if run.out is not None and args.save and dist_info.main and run.saved_epoch < run.epochs_done:
        _save(run)
    if run.ema is not None:  # from here on the model holds the averaged weights: they are the result
        with torch.no_grad():
            for k, v in run.model.state_dict().items():
                if k in run.ema.shadow:
                    v.copy_(run.ema.shadow[k])
    test = evaluate(run.model, run.data.test, run.data.normalize, batch_size=args.eval_batch_size,
                    device=run.device, amp_dtype=run.amp_dtype, shard=(dist_info.rank, dist_info.world),
                    ignore_index=_ignore_index(run.data))
    tl, tc, tn = _reduce([test["loss_sum"], test["correct"], test["count"]], dist_info, run.device)
    test_preds = _gather_preds(test, len(run.data.test), dist_info, run.device) if dist_info.enabled \
        else test["preds"]
    sync_diff = _ranks_max_diff(run.model, dist_info, run.device)
    scores = {}
    if isinstance(run.data.test, SceneSet):  # dense: the mean IoU, overall and by object size
        scores = segmentation_scores(test_preds, run.data.test, len(run.data.classes))
    wall = time.perf_counter() - run.t_start
    summary = {
        "config": run.cfg.to_dict(), "args": _json_safe(args.to_dict()), "data": run.data.describe(),
        "history": run.history,
        "test": {"loss": tl / max(tn, 1), "acc": tc / max(tn, 1), "count": int(tn), **scores},
        "params": sum(p.numel() for p in run.model.parameters()), "steps": run.step,
        "epochs_done": run.epochs_done, "stopped_early": run.stopped, "train_time_s": train_wall, "wall_time_s": wall,
        "device": str(run.device), "amp": str(run.amp_dtype).replace("torch.", "") if run.amp_dtype else "off",
        "world_size": dist_info.world, "rank_param_max_diff": sync_diff, "machine": _machine(),
        "checkpoint": str(run.out / CHECKPOINT_NAME) if run.out is not None and run.saved_epoch else None,
    }
    if dist_info.main and run.out is not None:
        if args.save:
            _write_metrics(run.out, summary)
        if args.plot and run.history:
            from ..viz.style import save_png
            from ..viz.training import plot_curves

            save_png(plot_curves(run.history, title=f"{run.cfg.name}: test acc {summary['test']['acc']:.4f}"),
                     run.out / "curves.png")
    if dist_info.main and args.verbose:
        miou = (f"mIoU {scores['miou']:.4f} (small digits {scores['miou_small']:.4f}, large "
                f"{scores['miou_large']:.4f})  " if scores else "")
        _log(run, f"test loss {summary['test']['loss']:.4f}  test acc {summary['test']['acc']:.4f}  {miou}"
                  f"({run.epochs_done} epochs, {run.step} steps, train {train_wall:.1f} s, total {wall:.1f} s)")
    run.model.eval()
    return {**summary, "model": run.model, "cfg": run.cfg, "data_splits": run.data, "test_preds": test_preds,
            "out": run.out}


def train(args: TrainArgs | None = None, *, data: DataSplits | str | None = None, model: nn.Module | None = None,
          **kwargs) -> dict:
    """Train and evaluate; returns a dict with ``model`` (trained, eval mode), ``cfg``, ``data_splits``,
    ``history`` (one dict per epoch), ``test`` (loss, acc), ``test_preds``, ``wall_time_s`` and ``out``.

    ``args``: a :class:`TrainArgs`, or its fields as keyword arguments (``train(epochs=3)``). ``data``: a
    :class:`~swin_edu.data.DataSplits` to use instead of ``args.data`` (its images must already have the
    model's size), or a data source like ``args.data`` (``"digits"``, ``"straddle"`` or a folder). Under
    ``torchrun`` every process calls this; rank 0 writes. The number of torch threads and the
    deterministic-algorithms switch are restored afterwards. Ctrl-C raises :class:`TrainingInterrupted`,
    whose message says where the last checkpoint is.

    ``model``: train this model (in place) instead of building the one ``args`` describes, e.g. notebook 09's
    dense model with the learner's backbone and head; it must have the architecture ``args`` describes for a
    checkpoint of it to load with :func:`load_trained`, and its initial weights are the caller's (``seed`` still
    decides the batches).
    """
    if args is None:
        if isinstance(data, DataSplits) and "data" not in kwargs:  # the recipe and the model follow the data given
            kwargs["data"] = data.source
        args = TrainArgs(**kwargs)
    elif kwargs:
        args = dataclasses.replace(args, **kwargs)
    if not isinstance(args, TrainArgs):
        raise TypeError(f"train: args must be a TrainArgs, got {type(args).__name__}")
    if isinstance(data, (str, os.PathLike)):  # a data source ("digits", "straddle" or a folder), as TrainArgs.data
        args, data = dataclasses.replace(args, data=str(data)), None
    elif isinstance(data, DataSplits) and data_kind(data.source) != data_kind(args.data):
        args = dataclasses.replace(args, data=data.source)  # the recipe and the model follow the data given
    saved = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())
    run = None
    try:
        run = setup(args, data, model)
        for epoch in range(run.start_epoch, run.args.epochs):
            if run_epoch(run, epoch) is None or run.stopped:
                break
        return finish(run)
    except KeyboardInterrupt as e:
        if run is None or isinstance(e, TrainingInterrupted):
            raise
        if run.bar is not None:
            run.bar.close()
        raise TrainingInterrupted(_interrupted(run)) from None
    finally:
        if torch.get_num_threads() != saved[0]:
            torch.set_num_threads(saved[0])
        torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])


# ============================================================================================ helpers
def _log(run: Run, text: str) -> None:
    """A log line on stdout (above the progress bar when there is one): stdout, so that a notebook shows
    it as plain output and not as an error."""
    if run.bar is not None:
        run.bar.write(text, file=sys.stdout)
    else:
        print(text, flush=True)


def _interrupted(run: Run) -> str:
    where = f"interrupted in epoch {run.epochs_done + 1} of {run.args.epochs} (step {run.step})"
    if run.out is None or not run.args.save:
        return f"{where}; nothing was saved (no out folder)"
    if not run.saved_epoch:
        return f"{where}; no checkpoint was written yet (the first one comes after {run.args.checkpoint_every_s} s)"
    return (f"{where}; the last checkpoint, after epoch {run.saved_epoch}, is {run.out / CHECKPOINT_NAME}: go on "
            f"with `python -m swin_edu.train --out {run.out} --resume auto` and the same arguments")


def _reduce(values: Sequence[float], dist_info: _Dist, device) -> list[float]:
    if not dist_info.enabled:
        return list(values)
    import torch.distributed as dist

    t = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def _ranks_max_diff(model: nn.Module, dist_info: _Dist, device) -> float:
    """Largest difference between any rank's parameters and rank 0's (0.0 for one process)."""
    if not dist_info.enabled:
        return 0.0
    import torch.distributed as dist

    v = torch.cat([p.detach().float().reshape(-1) for p in model.parameters()]).to(device)
    gathered = [torch.empty_like(v) for _ in range(dist_info.world)]
    dist.all_gather(gathered, v)
    return max(float((g - gathered[0]).abs().max()) for g in gathered)


def _ignore_index(data: DataSplits) -> int:
    """The label that marks a pixel to leave out (void; dense data only), else -100 (no label is -100)."""
    return int(data.info.get("ignore_index", -100))


def _miou(val: dict, dist_info: _Dist, device) -> float:
    """The mean IoU over the foreground classes from :func:`evaluate`'s per-class counts, summed over processes."""
    inter, union = (np.asarray(_reduce(np.asarray(val[k], dtype=np.float64).tolist(), dist_info, device))
                    for k in ("inter", "union"))
    present = union[1:] > 0
    return float((inter[1:][present] / union[1:][present]).mean()) if present.any() else float("nan")


def _gather_preds(test: dict, n: int, dist_info: _Dist, device) -> torch.Tensor:
    import torch.distributed as dist

    full = torch.full((n, *test["preds"].shape[1:]), -1, dtype=torch.long, device=device)
    full[test["indices"].to(device)] = test["preds"].to(device)
    # every slot is written by exactly one rank; -1 elsewhere: max over ranks gives the predictions
    dist.all_reduce(full, op=dist.ReduceOp.MAX)
    return full.cpu()


def _write_metrics(out: Path, summary: dict) -> None:
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, default=_json_default))
    os.replace(tmp, out / "metrics.json")
    hist = summary["history"]
    if hist:
        with open(out / "metrics.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(hist[0]))
            w.writeheader()
            w.writerows(hist)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (tuple, set)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, torch.Tensor):
        return o.tolist()
    return str(o)


def _json_safe(d: dict) -> dict:
    return json.loads(json.dumps(d, default=_json_default))


def _save(run: Run) -> None:
    """The checkpoint of the last complete epoch (written to a temporary file, then renamed)."""
    from ..model import save_checkpoint

    path = run.out / CHECKPOINT_NAME
    tmp = path.with_suffix(".tmp")
    data = run.data
    save_checkpoint(run.model, tmp, extra={
        "optimizer": run.optimizer.state_dict(), "lr_scheduler": run.scheduler.state_dict(),
        "epoch": run.epochs_done, "step": run.step, "config": run.cfg.to_dict(), "args": _json_safe(run.args.to_dict()),
        "history": run.history, "elapsed_s": run.elapsed(), "scaler": run.scaler.state_dict(),
        **({"model_ema": run.ema.state_dict()} if run.ema is not None else {}),
        "data_stats": {"mean": data.mean.tolist(), "std": data.std.tolist(), "classes": data.classes},
    })
    os.replace(tmp, path)
    run.saved_epoch, run.t_saved = run.epochs_done, time.perf_counter()


def _machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "threads": torch.get_num_threads()}
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - Windows
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _read_training_checkpoint(path: Path, where: str) -> dict:
    """A checkpoint written by :func:`train`, read with the model's safe loader (tensors and plain data
    only; a :class:`~swin_edu.model.CheckpointError` for a truncated, corrupted or pickled file)."""
    from ..model import CheckpointError, read_checkpoint

    read_checkpoint(path)  # the safe loader: raises CheckpointError with a clear message
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "config" not in ckpt:
        raise CheckpointError(f"{where}: {str(path)!r} holds weights but no 'config': it was not written by "
                              f"swin_edu.train (use swin_edu.model.load_checkpoint with a model you build yourself)")
    return ckpt


def _load_weights(model: nn.Module, state_dict: dict) -> None:
    """The weights of a training checkpoint into ``model``: a Swin through :func:`~swin_edu.model.load_checkpoint`
    (official layout, derived buffers rebuilt), a dense model (backbone and head) strictly as it was saved."""
    from ..model import load_checkpoint

    if isinstance(model, DenseSwin):
        model.load_state_dict(state_dict, strict=True)
    else:
        load_checkpoint(model, state_dict)


def _resume(run: Run, path: Path) -> None:
    """Load the state of a checkpoint into ``run``; refuses one of another model or another run."""
    where = "train: resume"
    ckpt = _read_training_checkpoint(path, where)
    missing = [k for k in ("optimizer", "lr_scheduler", "epoch", "step") if k not in ckpt]
    if missing:
        raise ValueError(f"{where}: {str(path)!r} is not a training checkpoint (it lacks {missing}); load its "
                         f"weights with swin_edu.train.load_trained instead")
    saved_cfg = SwinConfig(**ckpt["config"])
    if saved_cfg != run.cfg:
        diff = {f.name: (getattr(saved_cfg, f.name), getattr(run.cfg, f.name)) for f in dataclasses.fields(SwinConfig)
                if f.compare and getattr(saved_cfg, f.name) != getattr(run.cfg, f.name)}
        raise ValueError(f"{where}: cannot resume from {str(path)!r}: it was trained with another config ("
                         + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in diff.items()) + ")")
    saved_args, now = ckpt.get("args", {}), _json_safe(run.args.to_dict())
    changed = [k for k in RUN_FIELDS if k in saved_args and saved_args[k] != now[k]]
    if changed:
        raise ValueError(f"{where}: cannot resume from {str(path)!r} with other training arguments: "
                         + ", ".join(f"{k} {saved_args[k]!r} -> {now[k]!r}" for k in changed)
                         + " (use the saved values, or another --out to start a new run)")
    if run.ema is not None and "model_ema" not in ckpt:
        raise ValueError(f"{where}: cannot resume from {str(path)!r} with ema={run.args.ema}: it holds no model_ema "
                         f"(it was trained without --ema)")
    _load_weights(run.model, ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    run.scheduler.load_state_dict(ckpt["lr_scheduler"])
    if ckpt.get("scaler"):
        run.scaler.load_state_dict(ckpt["scaler"])
    if run.ema is not None:
        run.ema.load_state_dict(ckpt["model_ema"])
    run.start_epoch, run.step = int(ckpt["epoch"]), int(ckpt["step"])
    run.history, run.elapsed_before = list(ckpt.get("history", [])), float(ckpt.get("elapsed_s", 0.0))
    run.saved_epoch = run.start_epoch
    run.notes.append(f"resumed from {path} after epoch {run.start_epoch} (step {run.step})")
    if saved_args.get("epochs") not in (None, run.args.epochs):
        run.notes.append(f"note: the checkpoint's run had {saved_args['epochs']} epochs, this one {run.args.epochs}: "
                         f"the cosine schedule is recomputed over {run.args.epochs} epochs from here (learning rate "
                         f"now {run.optimizer.param_groups[0]['lr']:.3g}; a run of {run.args.epochs} epochs from the "
                         f"start would differ)")
    for k in ("amp", "attn_impl", "deterministic"):
        if k in saved_args and saved_args[k] != now[k]:
            run.notes.append(f"note: {k} {saved_args[k]!r} -> {now[k]!r}: the numbers round differently from here")
    if run.start_epoch >= run.args.epochs:
        run.notes.append(f"the checkpoint is complete ({run.start_epoch} of {run.args.epochs} epochs): nothing "
                         f"to train; evaluating it")


def load_trained(path, *, attn_impl: str = "sdpa") -> tuple[nn.Module, dict]:
    """Rebuild the model of a training checkpoint (config and ablations included) and load its weights.
    Returns ``(model in eval mode, checkpoint dict)``."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise FileNotFoundError(f"load_trained: no checkpoint at {str(path)!r}")
    ckpt = _read_training_checkpoint(path, "load_trained")
    cfg = SwinConfig(**ckpt["config"])
    model = build_model(cfg, attn_impl=attn_impl, head=ckpt.get("args", {}).get("head"))
    _load_weights(model, ckpt["model"])
    if "model_ema" in ckpt:  # trained with --ema: the averaged weights are the ones that were evaluated
        model.load_state_dict(ckpt["model_ema"], strict=False)
    return model.eval(), ckpt
