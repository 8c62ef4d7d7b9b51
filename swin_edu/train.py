"""Train a (tiny) Swin Transformer: one process on a laptop CPU, a GPU, or several processes (torchrun).

Command line (``python -m swin_edu.train --help`` lists every option)::

    python -m swin_edu.train --preset nano --out runs/nano                      # digits, CPU, minutes
    python -m swin_edu.train --preset nano --set window_size=2 depths=2,2 num_heads=3,6
    python -m swin_edu.train --data path/to/folder --set img_size=64 in_chans=3   # your own images
    python -m swin_edu.train --out runs/nano --resume auto                        # go on from the last epoch
    python -m swin_edu.train --no-shift | --no-rpb | --ape                        # the paper's ablations
    torchrun --standalone --nproc_per_node 2 -m swin_edu.train --preset nano      # DDP (gloo / nccl)

From Python (the notebook)::

    from swin_edu.train import train
    result = train(epochs=3, out="runs/demo")       # returns the trained model, curves, test accuracy

The recipe follows the paper's (AdamW, cosine schedule with linear warm-up, label smoothing 0.1, weight
decay 0.05 except on norms, biases and position tables, stochastic depth, gradient clipping at 5) with
the augmentations that fit 32x32 grey digits (see :class:`swin_edu.data.Augment`).

Reproducible: every random number comes from generators re-seeded from ``(seed, epoch, rank)`` at the
start of each epoch, so a run resumed from its epoch-``k`` checkpoint gives the same weights as the
run that never stopped; on the CPU ``torch.use_deterministic_algorithms(True)`` is on.

Outputs in ``--out`` (rank 0 only): ``checkpoint.pth`` after every epoch (``{"model": state_dict}`` in the
official layout, plus optimizer, scheduler, epoch and history), ``metrics.json`` (history, test result,
timings, machine), ``metrics.csv`` (one row per epoch), ``curves.png`` (loss and accuracy).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __name__ == "__main__" and "torch" not in sys.modules:
    # Command line: let idle OpenMP threads sleep instead of spinning. On a machine shared with other
    # jobs, spinning threads that lose their core make every barrier wait for a time slice (measured on
    # 2 busy cores: 40-150 images/s spinning vs 160-230 sleeping). Must be set before torch loads OpenMP.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import PRESETS, SwinConfig
from .data import Augment, DataSplits, ImageSet, batches, check_images, load_data

__all__ = [
    "ModelEMA",
    "TrainArgs",
    "attention_maps",
    "attention_to",
    "build_config",
    "build_model",
    "confusion_matrix",
    "cpu_has_native_bf16",
    "evaluate",
    "load_trained",
    "lr_at",
    "main",
    "make_optimizer",
    "parse_overrides",
    "plot_attention",
    "plot_confusion",
    "plot_curves",
    "smoothed_cross_entropy",
    "train",
]

CHECKPOINT_NAME = "checkpoint.pth"


# ============================================================================================ arguments
@dataclass
class TrainArgs:
    """Everything a run depends on. The defaults are the recorded 3-minute CPU run on digits."""

    preset: str = "nano"
    overrides: dict = field(default_factory=dict)   # SwinConfig fields, e.g. {"window_size": 2}
    data: str = "digits"                             # "digits" or an image folder
    split_seed: int = 0
    epochs: int = 40
    batch_size: int = 64                             # global batch (split over the processes)
    lr: float = 1e-3                                 # peak learning rate (for the global batch)
    min_lr: float = 1e-5
    warmup_epochs: float = 1.0
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    grad_clip: float | None = 5.0
    drop_path: float | None = 0.0                    # stochastic depth; None keeps the preset's (--set wins)
    # augmentation (see swin_edu.data.Augment); augment=False turns all of them off
    augment: bool = True
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
    # machinery
    seed: int = 0
    out: str | None = "runs/nano"
    resume: str | None = None                        # a checkpoint path, or "auto" (out/checkpoint.pth)
    device: str = "auto"                             # auto | cpu | cuda | cuda:1 | mps
    amp: str = "auto"                                # auto (GPU: bf16/fp16; CPU: bf16 where native) | off | bf16 | fp16
    attn_impl: str = "sdpa"
    threads: int | None = None
    deterministic: bool = True
    max_steps: int | None = None                     # stop after this many optimizer steps (smoke tests)
    eval_batch_size: int = 256
    progress: bool = True                            # tqdm progress bars
    verbose: bool = True                             # one log line per epoch (stderr)
    save: bool = True
    plot: bool = True

    def __post_init__(self) -> None:
        where = "TrainArgs"
        if not isinstance(self.overrides, dict):
            raise TypeError(f"{where}: overrides must be a dict of SwinConfig fields, got {self.overrides!r}")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{where}: {name} must be a positive int, got {v!r}")
        if self.max_steps is not None and (isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int)
                                           or self.max_steps < 1):
            raise ValueError(f"{where}: max_steps must be a positive int or None, got {self.max_steps!r}")
        for name in ("lr", "min_lr", "warmup_epochs", "weight_decay", "label_smoothing", "translate", "degrees",
                     "erase", "mixup", "cutmix"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{where}: {name} must be a non-negative number, got {v!r}")
        if self.lr <= 0:
            raise ValueError(f"{where}: lr must be > 0, got {self.lr}")
        if not isinstance(self.ema, (int, float)) or isinstance(self.ema, bool) or not 0 <= self.ema < 1:
            raise ValueError(f"{where}: ema must be a decay in [0, 1) (0: off), got {self.ema!r}")
        if self.label_smoothing >= 1 or self.erase > 1:
            raise ValueError(f"{where}: label_smoothing must be < 1 and erase <= 1, got "
                             f"{self.label_smoothing}, {self.erase}")
        if self.amp not in ("auto", "off", "bf16", "fp16"):
            raise ValueError(f"{where}: amp must be one of auto, off, bf16, fp16, got {self.amp!r}")
        if self.attn_impl not in ("sdpa", "explicit"):
            raise ValueError(f"{where}: attn_impl must be 'sdpa' or 'explicit', got {self.attn_impl!r}")
        if not isinstance(self.preset, str) or self.preset.lower() not in PRESETS:
            raise ValueError(f"{where}: unknown preset {self.preset!r}; expected one of {sorted(PRESETS)}")
        self.scale = tuple(float(s) for s in self.scale)

    def augmentation(self) -> Augment:
        if not self.augment:
            return Augment.none()
        return Augment(translate=self.translate, degrees=self.degrees, scale=self.scale, erase=self.erase,
                       mixup=self.mixup, cutmix=self.cutmix)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _parse_value(text: str):
    t = text.strip()
    low = t.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    if "," in t:
        return tuple(_parse_value(p) for p in t.split(",") if p.strip())
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_overrides(items: Sequence[str] | None) -> dict:
    """``["window_size=2", "depths=2,2"]`` -> ``{"window_size": 2, "depths": (2, 2)}``, checked against
    SwinConfig's fields (a tuple field given one number, e.g. ``depths=2``, becomes ``(2,)``)."""
    fields = {f.name: f for f in dataclasses.fields(SwinConfig)}
    out: dict[str, Any] = {}
    for item in items or ():
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"--set: expected FIELD=VALUE (e.g. window_size=2 or depths=2,2), got {item!r}")
        key, _, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if key not in fields:
            raise ValueError(f"--set: unknown SwinConfig field {key!r}; fields are {sorted(fields)}")
        v = _parse_value(value)
        if key in ("depths", "num_heads") and not isinstance(v, tuple):
            v = (v,)
        out[key] = v
    return out


# ============================================================================================ model
def build_config(args: TrainArgs, data: DataSplits | None = None) -> SwinConfig:
    """The preset with the overrides; ``in_chans`` and ``num_classes`` follow the data unless given."""
    over = dict(args.overrides)
    if args.drop_path is not None and "drop_path_rate" not in over:
        over["drop_path_rate"] = args.drop_path
    if args.ape:
        over["ape"] = True
    if args.no_shift:
        over["shift_windows"] = False
    if args.no_rpb:
        over["rel_pos_bias"] = False
    cfg = SwinConfig.preset(args.preset, **over)
    if data is not None:
        if "num_classes" in over and over["num_classes"] != data.num_classes:
            raise ValueError(f"train: num_classes={over['num_classes']} was set but the data has "
                             f"{data.num_classes} classes ({data.classes})")
        cfg = cfg.replace(in_chans=data.in_chans, num_classes=data.num_classes)
    return cfg


def build_model(cfg: SwinConfig, *, attn_impl: str = "sdpa"):
    """``SwinTransformer(cfg)`` (the ablations are config fields: ``shift_windows``, ``rel_pos_bias``, ``ape``)."""
    from .model import SwinTransformer

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


def smoothed_cross_entropy(logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.1) -> torch.Tensor:
    """Cross-entropy against the smoothed one-hot target ``(1 - smoothing) * onehot + smoothing / K``,
    averaged over the batch (equal to ``F.cross_entropy(..., label_smoothing=smoothing)``)."""
    logp = F.log_softmax(logits.float(), dim=-1)
    nll = -logp.gather(-1, target[:, None]).squeeze(-1)
    return ((1.0 - smoothing) * nll - smoothing * logp.mean(dim=-1)).mean()


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


def _pick_device(name: str) -> torch.device:
    """``"auto"``: CUDA, else MPS, else the CPU (:func:`swin_edu.device.pick_device`); else that device,
    with a ``ValueError`` listing the available ones if it is not here."""
    from .device import pick_device

    return torch.device(pick_device(None if name == "auto" else name))


def _init_distributed(args: TrainArgs) -> tuple[_Dist, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), _pick_device(args.device)
    import torch.distributed as dist

    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = _pick_device(args.device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return _Dist(rank=rank, world=world, local_rank=local_rank, enabled=True), device


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bfloat16 matrix products natively (x86 AVX512-BF16 or AMX): there,
    bf16 autocast trains the nano model 1.2-1.7x faster; elsewhere bf16 is emulated and slower."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - other torch builds / platforms
        return False


def _amp_dtype(args: TrainArgs, device: torch.device):
    if args.amp == "off":
        return None
    if args.amp == "auto" and device.type == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16() else None
    if args.amp == "bf16":
        return torch.bfloat16
    if args.amp == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None  # MPS: float32 unless --amp bf16 / fp16 is asked for


def _autocast(device: torch.device, dtype):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _epoch_seed(seed: int, epoch: int, rank: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, rank, stream]).generate_state(1)[0])


def _set_determinism(args: TrainArgs, device: torch.device) -> None:
    if args.threads is not None:
        torch.set_num_threads(int(args.threads))
    if args.deterministic and device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)


# ============================================================================================ evaluation
@torch.no_grad()
def evaluate(model: nn.Module, dataset: ImageSet, normalize, *, batch_size: int = 256, device=None,
             amp_dtype=None, shard: tuple[int, int] = (0, 1), smoothing: float = 0.0) -> dict:
    """Loss, accuracy and predictions of ``model`` on ``dataset`` (sums and counts for all-reduce).

    ``shard=(rank, world)`` evaluates every ``world``-th image starting at ``rank`` (no padding).
    """
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    rank, world = shard
    idx = torch.arange(rank, len(dataset), world)
    loss_sum, correct, preds = 0.0, 0, []
    for x, y in batches(dataset, idx, batch_size):
        x, y = normalize(x.to(device)), y.to(device)
        with _autocast(device, amp_dtype):
            logits = model(x)
        loss_sum += float(F.cross_entropy(logits.float(), y, label_smoothing=smoothing, reduction="sum"))
        p = logits.argmax(dim=-1)
        correct += int((p == y).sum())
        preds.append(p.cpu())
    model.train(was_training)
    n = len(idx)
    preds = torch.cat(preds) if preds else torch.empty(0, dtype=torch.long)
    return {"loss": loss_sum / max(n, 1), "acc": correct / max(n, 1), "loss_sum": loss_sum, "correct": correct,
            "count": n, "preds": preds, "indices": idx}


def confusion_matrix(preds, labels, num_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of images of true class ``i`` predicted as class ``j`` (int64)."""
    p = np.asarray(preds.cpu() if isinstance(preds, torch.Tensor) else preds).astype(np.int64).ravel()
    t = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64).ravel()
    if p.shape != t.shape:
        raise ValueError(f"confusion_matrix: preds and labels must have the same length, got {p.shape} and {t.shape}")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


# ============================================================================================ the loop
def _reduce(values: Sequence[float], dist_info: _Dist, device) -> list[float]:
    if not dist_info.enabled:
        return list(values)
    import torch.distributed as dist

    t = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def _param_vector(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().float().reshape(-1) for p in model.parameters()])


def _ranks_max_diff(model: nn.Module, dist_info: _Dist, device) -> float:
    """Largest difference between any rank's parameters and rank 0's (0.0 for one process)."""
    if not dist_info.enabled:
        return 0.0
    import torch.distributed as dist

    v = _param_vector(model).to(device)
    gathered = [torch.empty_like(v) for _ in range(dist_info.world)]
    dist.all_gather(gathered, v)
    return max(float((g - gathered[0]).abs().max()) for g in gathered)


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


def _save(model, optimizer, scheduler, path: Path, extra: dict) -> None:
    from .model import save_checkpoint

    tmp = path.with_suffix(".tmp")
    save_checkpoint(model, tmp, extra={"optimizer": optimizer.state_dict(), "lr_scheduler": scheduler.state_dict(),
                                       **extra})
    os.replace(tmp, path)


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


def train(args: TrainArgs | None = None, *, data: DataSplits | None = None, **kwargs) -> dict:
    """Train and evaluate; returns a dict with ``model`` (trained, eval mode), ``cfg``, ``data_splits``,
    ``history`` (one dict per epoch), ``test`` (loss, acc), ``test_preds``, ``wall_time_s`` and ``out``.

    ``args``: a :class:`TrainArgs`, or its fields as keyword arguments (``train(epochs=3, out=None)``).
    ``data``: a :class:`~swin_edu.data.DataSplits` to use instead of ``args.data`` (its images must
    already have the model's size), or a data source like ``args.data`` (``"digits"`` or a folder). Under ``torchrun`` every process calls this; rank 0 writes.
    The number of torch threads and the deterministic-algorithms switch are restored afterwards.
    """
    if args is None:
        args = TrainArgs(**kwargs)
    elif kwargs:
        args = dataclasses.replace(args, **kwargs)
    if not isinstance(args, TrainArgs):
        raise TypeError(f"train: args must be a TrainArgs, got {type(args).__name__}")
    if isinstance(data, (str, os.PathLike)):  # a data source ("digits" or a folder), as TrainArgs.data
        args, data = dataclasses.replace(args, data=str(data)), None
    saved = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        return _train(args, data)
    finally:
        if torch.get_num_threads() != saved[0]:
            torch.set_num_threads(saved[0])
        torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])


def _train(args: TrainArgs, data: DataSplits | None) -> dict:
    t_start = time.perf_counter()
    dist_info, device = _init_distributed(args)
    _set_determinism(args, device)
    amp_dtype = _amp_dtype(args, device)

    # ---- data and model
    cfg0 = SwinConfig.preset(args.preset, **args.overrides)
    if data is None:
        in_chans = args.overrides.get("in_chans", 1 if args.data == "digits" else 3)
        data = load_data(args.data, cfg0.img_size, in_chans, split_seed=args.split_seed)
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
    model = build_model(cfg, attn_impl=args.attn_impl).to(device)
    n_params = sum(p.numel() for p in model.parameters())
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

    # ---- resume
    out = Path(args.out) if args.out else None
    history: list[dict] = []
    start_epoch, step = 0, 0
    elapsed_before = 0.0
    if args.resume:
        path = (out / CHECKPOINT_NAME) if args.resume == "auto" and out else Path(args.resume)
        if args.resume == "auto" and out is None:
            raise ValueError("train: resume='auto' needs an out folder")
        if path.exists():
            start_epoch, step, history, elapsed_before = _resume(model, optimizer, scheduler, scaler, path, args, cfg,
                                                                 ema)
        elif args.resume != "auto":
            raise FileNotFoundError(f"train: resume={str(path)!r}: no such checkpoint")
    if dist_info.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False)
    else:
        net = model
    if out is not None and dist_info.main and (args.save or args.plot):
        out.mkdir(parents=True, exist_ok=True)

    augment = args.augmentation()
    # the whole training set is a few MB: on a GPU keep it there (augmentations run on the device too)
    train_set = data.train if device.type == "cpu" else ImageSet(data.train.images.to(device), data.train.labels.to(device))
    bar_ok = args.progress and dist_info.main
    if bar_ok:
        from tqdm.auto import tqdm
    summary: dict[str, Any] = {}
    stop = False
    t_loop = time.perf_counter()
    for epoch in range(start_epoch, args.epochs):
        sampler.set_epoch(epoch)
        torch.manual_seed(_epoch_seed(args.seed, epoch, dist_info.rank, 0))  # drop path, dropout
        gen = torch.Generator().manual_seed(_epoch_seed(args.seed, epoch, dist_info.rank, 1))  # augmentation
        net.train()
        t0 = time.perf_counter()
        loss_sum, correct, seen = 0.0, 0, 0
        it = batches(train_set, list(sampler), local_bs, drop_last=True)
        if bar_ok:
            it = tqdm(it, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                      dynamic_ncols=True)
        for x, y in it:
            if augment.active:
                x, y, y2, lam = augment(x, y, gen)
            else:
                y2, lam = None, 1.0
            x = data.normalize(x.to(device, non_blocking=True))
            y = y.to(device, non_blocking=True)
            with _autocast(device, amp_dtype):
                logits = net(x)
            loss = smoothed_cross_entropy(logits, y, args.label_smoothing)
            if y2 is not None:
                loss = lam * loss + (1 - lam) * smoothed_cross_entropy(logits, y2.to(device), args.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if args.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            if ema is not None:
                ema.update(model, step)
            with torch.no_grad():
                loss_sum += float(loss.detach()) * len(y)
                correct += int((logits.detach().argmax(-1) == y).sum())
                seen += len(y)
            if bar_ok:
                it.set_postfix(loss=f"{float(loss.detach()):.3f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
            if args.max_steps is not None and step >= args.max_steps:
                stop = True
                break
        train_time = time.perf_counter() - t0
        with ema.applied(model) if ema is not None else contextlib.nullcontext():
            val = evaluate(model, data.val, data.normalize, batch_size=args.eval_batch_size, device=device,
                           amp_dtype=amp_dtype, shard=(dist_info.rank, dist_info.world))
        ls, cs, ns, vl, vc, vn = _reduce([loss_sum, correct, seen, val["loss_sum"], val["correct"], val["count"]],
                                         dist_info, device)
        row = {"epoch": epoch + 1, "step": step, "lr": optimizer.param_groups[0]["lr"],
               "train_loss": ls / max(ns, 1), "train_acc": cs / max(ns, 1),
               "val_loss": vl / max(vn, 1), "val_acc": vc / max(vn, 1),
               "epoch_time_s": time.perf_counter() - t0, "images_per_s": ns / max(train_time, 1e-9)}
        history.append(row)
        elapsed = elapsed_before + time.perf_counter() - t_loop
        if dist_info.main:
            if args.verbose:
                print(f"epoch {epoch + 1:3d}/{args.epochs}  train loss {row['train_loss']:.4f} acc "
                      f"{row['train_acc']:.4f}  val loss {row['val_loss']:.4f} acc {row['val_acc']:.4f}  "
                      f"{row['images_per_s']:.0f} img/s  {elapsed:.1f} s", file=sys.stderr, flush=True)
            if out is not None and args.save:
                _save(model, optimizer, scheduler, out / CHECKPOINT_NAME, {
                    "epoch": epoch + 1, "step": step, "config": cfg.to_dict(),
                    "args": _json_safe(args.to_dict()), "history": history,
                    "elapsed_s": elapsed, "scaler": scaler.state_dict(),
                    **({"model_ema": ema.state_dict()} if ema is not None else {}),
                    "data_stats": {"mean": data.mean.tolist(), "std": data.std.tolist(), "classes": data.classes},
                })
        if stop:
            break

    # ---- test, summary
    train_wall = elapsed_before + time.perf_counter() - t_loop
    if ema is not None:  # from here on the model holds the averaged weights: they are the result
        with torch.no_grad():
            for k, v in model.state_dict().items():
                if k in ema.shadow:
                    v.copy_(ema.shadow[k])
    test = evaluate(model, data.test, data.normalize, batch_size=args.eval_batch_size, device=device,
                    amp_dtype=amp_dtype, shard=(dist_info.rank, dist_info.world))
    tl, tc, tn = _reduce([test["loss_sum"], test["correct"], test["count"]], dist_info, device)
    if dist_info.enabled:  # every rank's predictions, in test order
        test_preds = _gather_preds(test, len(data.test), dist_info, device)
    else:
        test_preds = test["preds"]
    sync_diff = _ranks_max_diff(model, dist_info, device)
    wall = time.perf_counter() - t_start
    summary = {
        "config": cfg.to_dict(), "args": _json_safe(args.to_dict()), "data": data.describe(),
        "history": history, "test": {"loss": tl / max(tn, 1), "acc": tc / max(tn, 1), "count": int(tn)},
        "params": n_params, "steps": step, "epochs_done": len(history),
        "train_time_s": train_wall, "wall_time_s": wall,
        "device": str(device), "amp": str(amp_dtype).replace("torch.", "") if amp_dtype else "off",
        "world_size": dist_info.world, "rank_param_max_diff": sync_diff, "machine": _machine(),
    }
    if dist_info.main and out is not None:
        if args.save:
            _write_metrics(out, summary)
        if args.plot and history:
            from .viz.style import save_png

            save_png(plot_curves(history, title=f"{cfg.name}: test acc {summary['test']['acc']:.4f}"),
                     out / "curves.png")
    if dist_info.main and args.verbose:
        print(f"test loss {summary['test']['loss']:.4f}  test acc {summary['test']['acc']:.4f}  "
              f"({len(history)} epochs, {step} steps, train {train_wall:.1f} s, total {wall:.1f} s)",
              file=sys.stderr, flush=True)
    model.eval()
    return {**summary, "model": model, "cfg": cfg, "data_splits": data, "test_preds": test_preds, "out": out}


def _gather_preds(test: dict, n: int, dist_info: _Dist, device) -> torch.Tensor:
    import torch.distributed as dist

    full = torch.full((n,), -1, dtype=torch.long, device=device)
    full[test["indices"].to(device)] = test["preds"].to(device)
    # every slot is written by exactly one rank; -1 elsewhere: max over ranks gives the predictions
    dist.all_reduce(full, op=dist.ReduceOp.MAX)
    return full.cpu()


def _json_safe(d: dict) -> dict:
    return json.loads(json.dumps(d, default=_json_default))


def _resume(model, optimizer, scheduler, scaler, path: Path, args: TrainArgs, cfg: SwinConfig,
            ema: ModelEMA | None = None):
    from .model import load_checkpoint

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    saved_cfg = ckpt.get("config")
    if saved_cfg is not None and SwinConfig(**saved_cfg) != cfg:
        raise ValueError(f"train: cannot resume from {str(path)!r}: it was trained with another config "
                         f"({SwinConfig(**saved_cfg)}) than this run ({cfg})")
    load_checkpoint(model, ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["lr_scheduler"])
    if ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    if ema is not None:
        if "model_ema" not in ckpt:
            raise ValueError(f"train: cannot resume from {str(path)!r} with ema={args.ema}: it holds no model_ema "
                             f"(it was trained without --ema)")
        ema.load_state_dict(ckpt["model_ema"])
    return int(ckpt["epoch"]), int(ckpt["step"]), list(ckpt.get("history", [])), float(ckpt.get("elapsed_s", 0.0))


def load_trained(path, *, attn_impl: str = "sdpa") -> tuple[nn.Module, dict]:
    """Rebuild the model of a training checkpoint (config and ablations included) and load its weights.
    Returns ``(model in eval mode, checkpoint dict)``."""
    from .model import load_checkpoint

    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise FileNotFoundError(f"load_trained: no checkpoint at {str(path)!r}")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if "config" not in ckpt:
        raise ValueError(f"load_trained: {str(path)!r} holds no 'config' (not written by swin_edu.train); use "
                         f"swin_edu.model.load_checkpoint with a model you build yourself")
    cfg = SwinConfig(**ckpt["config"])
    model = build_model(cfg, attn_impl=attn_impl)
    load_checkpoint(model, ckpt["model"])
    if "model_ema" in ckpt:  # trained with --ema: the averaged weights are the ones that were evaluated
        model.load_state_dict(ckpt["model_ema"], strict=False)
    return model.eval(), ckpt


# ============================================================================================ attention
@torch.no_grad()
def attention_maps(model: nn.Module, images: torch.Tensor, stage: int, block: int) -> dict:
    """The attention weights of one block for a batch of (normalised) images.

    Takes the stage's input from ``model.forward_stages`` (patch merging applied to the previous stage's
    output), runs the blocks before ``block`` one by one, then recomputes the block's (S)W-MSA with
    ``return_attn=True``. Returns a dict with ``attn`` ``(B, nW, nH, N, N)`` (softmax rows: query ->
    keys inside its window, in the *shifted* frame for SW-MSA), ``window_size``, ``shift_size``,
    ``grid`` (the padded token map ``(Hp, Wp)``) and ``resolution`` (``(H, W)``).
    """
    if not 0 <= stage < len(model.layers):
        raise ValueError(f"attention_maps: stage must be in 0..{len(model.layers) - 1}, got {stage}")
    blocks = model.layers[stage].blocks
    if not 0 <= block < len(blocks):
        raise ValueError(f"attention_maps: block must be in 0..{len(blocks) - 1} for stage {stage}, got {block}")
    was_training = model.training
    model.eval()
    try:
        _, stages = model.forward_stages(images)
        x = stages[0] if stage == 0 else model.layers[stage - 1].downsample(stages[stage])
        for blk in blocks[:block]:
            x = blk(x)
        blk = blocks[block]
        B, H, W, _ = x.shape
        _, attn = blk.window_msa(blk.norm1(x), return_attn=True)
    finally:
        model.train(was_training)
    M = blk.window_size
    Hp, Wp = -(-H // M) * M, -(-W // M) * M
    nW = (Hp // M) * (Wp // M)
    return {"attn": attn.view(B, nW, blk.num_heads, M * M, M * M).float().cpu(), "window_size": M,
            "shift_size": blk.shift_size, "grid": (Hp, Wp), "resolution": (H, W)}


def attention_to(maps: dict, query: tuple[int, int], image: int = 0, head: int | None = None) -> np.ndarray:
    """How much the token at ``query=(row, col)`` of the (unshifted) map attends to every token: an
    ``(H, W)`` array, zero outside the query's window, averaged over heads unless ``head`` is given.

    For SW-MSA the map is rolled back, so the picture is in the image's own coordinates: the window is
    displaced by ``shift_size`` and, at the border, the keys that the cyclic shift brought in from the
    other side get (almost) zero weight from the -100 mask.
    """
    attn = maps["attn"][image]  # (nW, nH, N, N)
    M, s = maps["window_size"], maps["shift_size"]
    Hp, Wp = maps["grid"]
    H, W = maps["resolution"]
    r, c = int(query[0]), int(query[1])
    if not (0 <= r < H and 0 <= c < W):
        raise ValueError(f"attention_to: query must be inside the {H}x{W} token map, got {query}")
    rs, cs = (r - s) % Hp, (c - s) % Wp  # position in the shifted frame
    w = (rs // M) * (Wp // M) + cs // M
    q = (rs % M) * M + cs % M
    row = attn[w, :, q, :] if head is None else attn[w, head:head + 1, q, :]
    row = row.mean(dim=0).numpy()  # (N,)
    out = np.zeros((Hp, Wp), dtype=np.float32)
    wr, wc = (rs // M) * M, (cs // M) * M
    for k in range(M * M):
        kr, kc = wr + k // M, wc + k % M
        out[(kr + s) % Hp, (kc + s) % Wp] = row[k]  # back to the unshifted frame
    return out[:H, :W]


# ============================================================================================ figures
def plot_curves(history: Sequence[dict], title: str | None = None):
    """Loss and accuracy per epoch (train and validation), as a matplotlib Figure."""
    from .viz.style import new_figure, use_style

    ep = [h["epoch"] for h in history]
    with use_style():
        fig = new_figure(8, 3.2)
        ax1, ax2 = fig.subplots(1, 2)
        ax1.plot(ep, [h["train_loss"] for h in history], marker="o", ms=3, label="train (label-smoothed)")
        ax1.plot(ep, [h["val_loss"] for h in history], marker="s", ms=3, ls="--", label="validation")
        ax1.set(xlabel="epoch", ylabel="loss (cross-entropy)", title="loss")
        ax2.plot(ep, [h["train_acc"] for h in history], marker="o", ms=3, label="train (augmented)")
        ax2.plot(ep, [h["val_acc"] for h in history], marker="s", ms=3, ls="--", label="validation")
        ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
        for ax in (ax1, ax2):
            ax.legend()
            ax.grid(alpha=0.3)
        if title:
            fig.suptitle(title)
    return fig


def plot_confusion(cm: np.ndarray, classes: Sequence[str] | None = None, title: str = "confusion matrix (test)"):
    """A confusion matrix with the counts printed in each cell (cividis, readable in grayscale)."""
    from .viz.style import SEQ_CMAP, new_figure, use_style

    n = cm.shape[0]
    classes = list(classes) if classes is not None else [str(i) for i in range(n)]
    with use_style():
        fig = new_figure(4.4, 4.0)
        ax = fig.subplots()
        im = ax.imshow(cm, cmap=SEQ_CMAP)
        vmax = cm.max() if cm.size else 1
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="black" if cm[i, j] > 0.6 * vmax else "white")
        ax.set(xticks=range(n), yticks=range(n), xticklabels=classes, yticklabels=classes,
               xlabel="predicted class", ylabel="true class", title=title)
        fig.colorbar(im, ax=ax, shrink=0.8, label="images")
    return fig


def plot_attention(image: np.ndarray, maps_list: Sequence[dict], labels: Sequence[str],
                   queries: Sequence[tuple[int, int]], patch_size: int, image_index: int = 0):
    """For each query token (rows) and each block (columns): the digit, the query (red square) and the
    attention weights over the token map (cividis), with the windows drawn (dashed)."""
    from matplotlib.patches import Rectangle

    from .viz.style import HIGHLIGHT, SEQ_CMAP, new_figure, use_style

    img = np.asarray(image)
    rows, cols = len(queries), len(maps_list) + 1
    with use_style():
        fig = new_figure(2.1 * cols, 2.1 * rows)
        axes = np.atleast_2d(fig.subplots(rows, cols))
        for i, q in enumerate(queries):
            ax = axes[i, 0]
            ax.imshow(img, cmap="gray_r")
            ax.add_patch(Rectangle((q[1] * patch_size - 0.5, q[0] * patch_size - 0.5), patch_size, patch_size,
                                   fill=False, ec=HIGHLIGHT, lw=2))
            ax.set_title(f"query token {tuple(q)}" if i == 0 else f"{tuple(q)}", fontsize=8)
            for j, (maps, label) in enumerate(zip(maps_list, labels), start=1):
                a = attention_to(maps, q, image=image_index)
                ax = axes[i, j]
                ax.imshow(a, cmap=SEQ_CMAP, vmin=0)
                M, s = maps["window_size"], maps["shift_size"]
                H, W = a.shape
                for k in range(0, H + 1, M):  # window borders of this block, in image coordinates
                    y = (k + s) % H if s else k
                    ax.axhline(y - 0.5, color="white", lw=0.6, ls="--")
                for k in range(0, W + 1, M):
                    x = (k + s) % W if s else k
                    ax.axvline(x - 0.5, color="white", lw=0.6, ls="--")
                ax.add_patch(Rectangle((q[1] - 0.5, q[0] - 0.5), 1, 1, fill=False, ec=HIGHLIGHT, lw=1.5))
                if i == 0:
                    ax.set_title(label, fontsize=8)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
    return fig


# ============================================================================================ CLI
class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for on/off flags (where "default: True" would read backwards)."""

    def _get_help_string(self, action):
        if action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    d = TrainArgs()
    p = argparse.ArgumentParser(
        prog="python -m swin_edu.train",
        description="Train a Swin Transformer on scikit-learn's bundled digits (or your own image folder). "
                    "Several processes: torchrun --standalone --nproc_per_node N -m swin_edu.train ...",
        formatter_class=_Help)
    g = p.add_argument_group("model")
    g.add_argument("--preset", default=d.preset, help=f"SwinConfig preset: {', '.join(sorted(PRESETS))}")
    g.add_argument("--set", dest="overrides", nargs="+", metavar="FIELD=VALUE", default=[],
                   help="override SwinConfig fields, e.g. --set window_size=2 depths=2,2 num_heads=3,6")
    g.add_argument("--attn-impl", default=d.attn_impl, choices=("sdpa", "explicit"))
    g.add_argument("--no-shift", action="store_true",
                   help="ablation: W-MSA in every block, no shifted windows (SwinConfig shift_windows=False)")
    g.add_argument("--no-rpb", action="store_true",
                   help="ablation: no relative position bias (SwinConfig rel_pos_bias=False)")
    g.add_argument("--ape", action="store_true", help="ablation: add the absolute position embedding")
    g = p.add_argument_group("data")
    g.add_argument("--data", default=d.data, help="'digits' (bundled with scikit-learn) or an image folder "
                   "root/<class>/<images> (or root/{train,val,test}/<class>/...)")
    g.add_argument("--split-seed", type=int, default=d.split_seed, help="seed of the train/val/test split")
    g.add_argument("--no-augment", dest="augment", action="store_false", help="turn every augmentation off")
    g.add_argument("--translate", type=float, default=d.translate, help="max shift, fraction of the side")
    g.add_argument("--degrees", type=float, default=d.degrees, help="max rotation")
    g.add_argument("--scale", type=float, nargs=2, default=list(d.scale), metavar=("MIN", "MAX"))
    g.add_argument("--erase", type=float, default=d.erase, help="random erasing probability")
    g.add_argument("--mixup", type=float, default=d.mixup, help="mixup Beta alpha (0: off)")
    g.add_argument("--cutmix", type=float, default=d.cutmix, help="cutmix Beta alpha (0: off)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=int, default=d.epochs)
    g.add_argument("--batch-size", type=int, default=d.batch_size, help="global batch (all processes)")
    g.add_argument("--lr", type=float, default=d.lr, help="peak learning rate")
    g.add_argument("--min-lr", type=float, default=d.min_lr)
    g.add_argument("--warmup-epochs", type=float, default=d.warmup_epochs)
    g.add_argument("--weight-decay", type=float, default=d.weight_decay)
    g.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    g.add_argument("--grad-clip", type=float, default=d.grad_clip, help="max gradient norm (0: off)")
    g.add_argument("--drop-path", type=float, default=d.drop_path,
                   help="stochastic depth rate of the last block (a negative value keeps the preset's)")
    g.add_argument("--ema", type=float, default=d.ema,
                   help="evaluate and keep an exponential moving average of the weights with this decay per step "
                        "(0: off)")
    g.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke tests)")
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--out", default=d.out, help="output folder (checkpoint, metrics.json/csv, curves.png)")
    g.add_argument("--resume", default=None, metavar="PATH|auto",
                   help="go on from a checkpoint ('auto': OUT/checkpoint.pth if it exists)")
    g.add_argument("--device", default=d.device, help="auto | cpu | cuda | cuda:N | mps")
    g.add_argument("--amp", default=d.amp, choices=("auto", "off", "bf16", "fp16"),
                   help="autocast dtype (auto: bf16 or fp16 on a GPU; bf16 on a CPU with native bf16 "
                        "(AVX512-BF16, AMX), else float32)")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    g.add_argument("--nondeterministic", dest="deterministic", action="store_false",
                   help="do not call torch.use_deterministic_algorithms on the CPU")
    g.add_argument("--eval-batch-size", type=int, default=d.eval_batch_size)
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    g.add_argument("--quiet", dest="verbose", action="store_false", help="no log line per epoch (implies --no-progress)")
    g.add_argument("--no-plot", dest="plot", action="store_false", help="do not write curves.png")
    return p


def args_from_namespace(ns: argparse.Namespace) -> TrainArgs:
    kw = vars(ns).copy()
    kw["overrides"] = parse_overrides(kw.pop("overrides"))
    kw["scale"] = tuple(kw["scale"])
    kw["grad_clip"] = kw["grad_clip"] or None
    if kw["drop_path"] is not None and kw["drop_path"] < 0:
        kw["drop_path"] = None
    if not kw["verbose"]:
        kw["progress"] = False
    return TrainArgs(**kw)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        args = args_from_namespace(ns)
        SwinConfig.preset(args.preset, **args.overrides)  # validate before loading data
        result = train(args)
    except (ValueError, TypeError, FileNotFoundError, NotADirectoryError) as e:
        parser.error(str(e))
    if result["out"] is not None and (int(os.environ.get("RANK", "0")) == 0):
        print(json.dumps({"test_acc": result["test"]["acc"], "wall_time_s": round(result["wall_time_s"], 2),
                          "out": str(result["out"])}))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
