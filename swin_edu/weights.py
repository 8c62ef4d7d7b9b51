"""Weights for the course: its own trained checkpoints (shipped, always offline) and the released Swin-T
(fetched once, verified).

**The course's checkpoints** are the models that notebook 08's recipes train: ``digits`` (the default recipe,
160 epochs, scikit-learn's bundled digits) and ``straddle`` (the task where the shift matters). Each ships
inside the package as ``swin_edu/assets/<name>.npz`` (the learned tensors under their official keys, float32,
read with ``allow_pickle=False``: no object is unpickled) and ``<name>.json`` (how it was made: recipe, seed,
data split, normalisation, test accuracy and predictions, the commit, the torch version, the file's SHA-256).

>>> from swin_edu import weights
>>> sd, cfg = weights.course_state_dict("digits")       # numpy arrays, official keys; SwinConfig
>>> model = weights.course_model("digits")              # the package's SwinTransformer, eval mode
>>> images, labels = weights.held_out("digits")         # the test split, normalised as in training

**The released Swin-T** (``swin_tiny_patch4_window7_224``, ImageNet-1k, the official repository's release
file) is *not* shipped (110 MB): ``python -m swin_edu.weights fetch swin_tiny_patch4_window7_224`` downloads it
once into a cache (or takes a file you have: ``--file PATH``) and verifies it before any use: the exact
official layout (190 keys and their shapes, 28,288,354 learned parameters, finite values). No digest is
published with the release, so the SHA-256 of the first verified file is recorded next to it in the cache
(trust on first use) and every later load checks it. :func:`released` is what the notebooks call: the verified
state dict, or ``None`` with one line saying why (offline, or a file that does not verify) so that a notebook
goes on with the course's own checkpoint. :func:`imagenet_classes` gives the 1,000 ImageNet-1k class names.

Command line::

    python -m swin_edu.weights check digits        # test accuracy measured now next to the recorded one
    python -m swin_edu.weights fetch swin_tiny_patch4_window7_224 [--dir D] [--file PATH]
    python -m swin_edu.weights build digits --out DIR   # retrain a shipped checkpoint (maintainers)
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ASSETS",
    "COURSE_CHECKPOINTS",
    "build_course_checkpoint",
    "check_course",
    "course_info",
    "course_model",
    "course_state_dict",
    "held_out",
]

#: the folder of the shipped files (package data: a wheel carries them)
ASSETS = Path(__file__).resolve().parent / "assets"
#: the course's own checkpoints: notebook 08's recipes (swin_edu.train.RECIPES) on their data
COURSE_CHECKPOINTS = ("digits", "straddle")


def _course_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or name not in COURSE_CHECKPOINTS:
        raise ValueError(f"{where}: name must be one of {list(COURSE_CHECKPOINTS)} (the course's own checkpoints), "
                         f"got {name!r}")
    return name


# ============================================================================================ the course's own
def course_info(name: str) -> dict:
    """The metadata of a shipped checkpoint (``swin_edu/assets/<name>.json``): ``config``, ``recipe``, ``seed``,
    ``data`` (split and normalisation), ``test`` (accuracy, correct count, predictions, smallest top-1 margin),
    ``made_with`` (commit, torch, numpy, python, platform, threads, date) and ``sha256`` of the ``.npz``."""
    name = _course_name(name, "course_info")
    return json.loads((ASSETS / f"{name}.json").read_text(encoding="utf-8"))


def course_state_dict(name: str) -> tuple[dict[str, np.ndarray], Any]:
    """``(state_dict, cfg)`` of a shipped checkpoint: float32 numpy arrays under the official keys (the learned
    tensors; the derived buffers are rebuilt by whoever needs them) and its :class:`~swin_edu.config.SwinConfig`.
    The file's SHA-256 is checked against the one recorded when it was made."""
    from .config import SwinConfig
    from .layout import state_dict_shapes

    name = _course_name(name, "course_state_dict")
    info = course_info(name)
    path = ASSETS / f"{name}.npz"
    digest = _sha256(path)
    if digest != info["sha256"]:
        raise ValueError(f"course_state_dict: {path} has SHA-256 {digest[:16]}..., its metadata records "
                         f"{info['sha256'][:16]}...: the file was changed after it was made (reinstall the package)")
    with np.load(path, allow_pickle=False) as npz:
        sd = {k: npz[k] for k in npz.files}
    cfg = SwinConfig(**_config_fields(info["config"]))
    expected = state_dict_shapes(cfg, buffers=False)
    if set(sd) != set(expected) or any(tuple(sd[k].shape) != tuple(s) for k, s in expected.items()):
        raise ValueError(f"course_state_dict: {path} does not hold the official layout of its config")
    return {k: sd[k] for k in expected}, cfg


def course_model(name: str, *, attn_impl: str = "explicit"):
    """The package's :class:`~swin_edu.model.SwinTransformer` with a shipped checkpoint loaded, in eval mode."""
    import torch

    from .model import SwinTransformer, load_checkpoint

    sd, cfg = course_state_dict(name)
    model = SwinTransformer(cfg, attn_impl=attn_impl)
    return load_checkpoint(model, {k: torch.from_numpy(v) for k, v in sd.items()}).eval()


def held_out(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of a shipped checkpoint's test split, made again from its recorded data source and
    split seed and normalised with its recorded statistics: float32 ``(N, C, H, W)`` and int64 ``(N,)``."""
    from .data import load_data

    name = _course_name(name, "held_out")
    info = course_info(name)
    _, cfg = _config_only(info)
    data = load_data(info["recipe"]["data"], cfg.img_size, cfg.in_chans, split_seed=info["recipe"]["split_seed"],
                     cfg=cfg)
    mean = np.asarray(info["data"]["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(info["data"]["std"], dtype=np.float32).reshape(1, -1, 1, 1)
    if not (np.allclose(data.mean.numpy(), mean.ravel()) and np.allclose(data.std.numpy(), std.ravel())):
        raise ValueError(f"held_out: the {name} data made now has other statistics than the recorded ones "
                         f"(mean {data.mean.tolist()} vs {mean.ravel().tolist()}): another version of the data?")
    images = ((data.test.images.numpy() - mean) / std).astype(np.float32)
    return images, data.test.labels.numpy().astype(np.int64)


def check_course(name: str) -> dict:
    """Measure a shipped checkpoint's test accuracy now (the package model, float32) and compare it with the
    recorded one. ``agree`` when every test prediction is the recorded one (then the accuracies are equal)."""
    import torch

    info = course_info(name)
    model = course_model(name)
    images, labels = held_out(name)
    with torch.no_grad():
        preds = model(torch.from_numpy(images)).argmax(-1).numpy()
    recorded = np.asarray(info["test"]["preds"])
    acc = float((preds == labels).mean())
    return {"name": name, "measured_acc": acc, "recorded_acc": info["test"]["acc"], "count": len(labels),
            "changed_preds": int((preds != recorded).sum()), "agree": bool(np.array_equal(preds, recorded))}


# ============================================================================================ making them
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _config_fields(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _config_only(info: dict):
    from .config import SwinConfig

    return info, SwinConfig(**_config_fields(info["config"]))


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "swin_edu"], cwd=root, capture_output=True,
                               text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if rev.returncode != 0:
        return "unknown"
    return rev.stdout.strip() + ("+uncommitted changes in swin_edu/" if dirty.stdout.strip() else "")


def build_course_checkpoint(name: str, out, *, seed: int = 0, threads: int | None = 1) -> dict:
    """Train a course checkpoint with its recipe (``swin_edu.train``, the defaults of ``data=name``) and write
    ``out/<name>.npz`` and ``out/<name>.json``; returns the metadata. Minutes for digits (160 epochs on one
    thread), seconds for straddle."""
    import time

    import torch

    from . import train as T
    from .layout import is_derived_buffer

    name = _course_name(name, "build_course_checkpoint")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    args = T.TrainArgs(data=name, seed=seed, threads=threads, progress=False, verbose=False, save=False,
                       plot=False).resolved()
    start = time.perf_counter()
    result = T.train(args)
    wall = time.perf_counter() - start
    model, data = result["model"].eval(), result["data_splits"]
    with torch.no_grad():
        logits = model(data.normalize(data.test.images)).double()
    top2 = logits.topk(2, dim=-1).values
    preds = logits.argmax(-1)
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()
          if not is_derived_buffer(k)}
    path = out / f"{name}.npz"
    np.savez_compressed(path, **sd)
    correct = int((preds == data.test.labels).sum())
    info = {
        "name": name,
        "what": f"the model of notebook 08's {name} recipe (swin_edu.train.RECIPES[{name!r}]), seed {seed}",
        "format": "npz: the learned tensors under the official Swin keys, float32 (derived buffers are rebuilt); "
                  "read with numpy.load(allow_pickle=False)",
        "config": result["cfg"].to_dict(),
        "recipe": {k: v for k, v in result["args"].items() if k in T.RUN_FIELDS or k == "epochs"},
        "seed": seed,
        "data": {"source": name, "split_seed": args.split_seed, "describe": data.describe(),
                 "sizes": {"train": len(data.train), "val": len(data.val), "test": len(data.test)},
                 "mean": data.mean.tolist(), "std": data.std.tolist(), "classes": list(data.classes)},
        "test": {"acc": correct / len(preds), "correct": correct, "count": len(preds), "preds": preds.tolist(),
                 "min_margin": float((top2[:, 0] - top2[:, 1]).min()),
                 "val_acc_last_epoch": result["history"][-1]["val_acc"]},
        "params": int(sum(p.numel() for p in model.parameters())),
        "made_with": {"commit": _git_commit(), "torch": torch.__version__, "numpy": np.__version__,
                      "python": platform.python_version(), "platform": platform.platform(),
                      "threads": torch.get_num_threads() if threads is None else threads,
                      "date": datetime.date.today().isoformat(), "train_seconds": round(wall, 1),
                      "command": f"python -m swin_edu.weights build {name} --out {out} --seed {seed}"},
        "sha256": _sha256(path),
    }
    (out / f"{name}.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return info
