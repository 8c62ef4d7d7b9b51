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

from .course import REPO_ROOT

__all__ = [
    "ASSETS",
    "COURSE_CHECKPOINTS",
    "RELEASES",
    "WeightsError",
    "build_course_checkpoint",
    "cache_dir",
    "check_course",
    "course_info",
    "course_result",
    "HISTORY_KEYS",
    "course_model",
    "course_state_dict",
    "evaluate_held_out",
    "fetch",
    "held_out",
    "hf_model",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "imagenet_classes",
    "imagenet_input",
    "load_released",
    "released",
    "show_top_k",
    "top_k",
    "verify_file",
    "verify_state_dict",
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


#: what the recorded history of a course checkpoint holds per epoch (``course_info(name)["history"]``)
HISTORY_KEYS = ("epoch", "step", "lr", "train_loss", "train_acc", "val_loss", "val_acc")


def course_result(name: str) -> dict:
    """A shipped checkpoint as notebook 08 uses a training run's result, without training: ``model`` (the package's
    model with the weights, eval mode), ``history`` (the run's recorded per-epoch history: :data:`HISTORY_KEYS`),
    ``test`` (``acc``, ``correct``, ``count``: measured now on the held-out test split) and ``test_preds`` (a long
    tensor, measured now), ``recorded`` (the test result recorded when it was trained) and ``same_as_recorded``
    (every prediction measured now is the recorded one)."""
    import torch

    name = _course_name(name, "course_result")
    info = course_info(name)
    if "history" not in info:
        raise ValueError(f"course_result: the metadata of {name} records no history (rebuild it with "
                         f"python -m swin_edu.weights build {name})")
    model = course_model(name)
    images, labels = held_out(name)
    with torch.no_grad():
        preds = model(torch.from_numpy(images)).argmax(-1)
    correct = int((preds.numpy() == labels).sum())
    return {"model": model, "history": [dict(h) for h in info["history"]],
            "test": {"acc": correct / len(labels), "correct": correct, "count": len(labels)}, "test_preds": preds,
            "recorded": dict(info["test"]), "same_as_recorded": bool(np.array_equal(preds.numpy(), info["test"]["preds"])),
            "epochs": len(info["history"]), "recipe": dict(info["recipe"])}


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
    root = REPO_ROOT
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "swin_edu"], cwd=root,
                               capture_output=True, text=True, timeout=10)
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
        "history": [{k: h[k] for k in HISTORY_KEYS} for h in result["history"]],
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


# ============================================================================================ the released Swin-T
#: the released checkpoints the course knows: the official repository's release files (no digest is published)
RELEASES: dict[str, dict] = {
    "swin_tiny_patch4_window7_224": {
        "url": "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth",
        "preset": "tiny", "params": 28_288_354, "keys": 190, "data": "ImageNet-1k", "size_mb": 110,
    },
}
#: environment: the cache folder, and "1" to never try the network (the tests, a classroom without internet)
CACHE_ENV, OFFLINE_ENV = "SWIN_EDU_WEIGHTS_DIR", "SWIN_EDU_OFFLINE"

_MESSAGES = {
    "weights.loaded": {"en": "{name}: the released weights, verified ({path}; SHA-256 {digest}... as first recorded).",
                       "zh": "{name}：官方发布的权重，已校验（{path}；SHA-256 {digest}...，与首次记录一致）。"},
    "weights.offline": {"en": "offline: {name} is not in the cache ({cache}) and {why}; this notebook runs on the "
                              "course's own digits checkpoint instead. With a network: python -m swin_edu.weights "
                              "fetch {name}",
                        "zh": "离线：缓存（{cache}）里没有 {name}，而且{why}；本笔记本改用本课程自己的 digits "
                              "checkpoint。联网时运行：python -m swin_edu.weights fetch {name}"},
    "weights.offline_env": {"en": f"{OFFLINE_ENV} is set (no download)", "zh": f"设置了 {OFFLINE_ENV}（不下载）"},
    "weights.no_network": {"en": "the release could not be reached ({error})", "zh": "无法访问发布文件（{error}）"},
    "weights.held_out": {"en": "{who}: {correct} of the {count} held-out test images of {name} right ({acc:.2%}); "
                               "recorded when it was trained: {recorded:.2%}; the same predictions as the package's "
                               "model: {same}",
                         "zh": "{who}：{count} 张留出的 {name} 测试图像中答对 {correct} 张（{acc:.2%}）；训练时记录的是 "
                               "{recorded:.2%}；与本课程 package 模型的预测完全相同：{same}"},
    "weights.yes": {"en": "yes", "zh": "是"},
    "weights.no": {"en": "NO", "zh": "否"},
    "weights.top": {"en": "{who}, top {k} on the photo:", "zh": "{who}，这张照片的前 {k} 个类别："},
    "weights.refused": {"en": "⚠ {error}\n   This notebook runs on the course's own digits checkpoint instead.",
                        "zh": "⚠ {error}\n   本笔记本改用本课程自己的 digits checkpoint。"},
}


from . import i18n as _i18n  # noqa: E402 - after the texts it registers

_i18n.add_messages(_MESSAGES)


class WeightsError(ValueError):
    """A released-weights file that is not what it claims to be: unreadable, truncated, another layout, other
    shapes or parameter count, non-finite values, or another SHA-256 than the one recorded on first use. The
    message names the file and what did not match."""


def _release(name: Any, where: str) -> dict:
    if not isinstance(name, str) or name not in RELEASES:
        raise ValueError(f"{where}: name must be one of {list(RELEASES)}, got {name!r}")
    return RELEASES[name]


def cache_dir(dir=None) -> Path:
    """Where released weights are kept: ``dir``, else ``$SWIN_EDU_WEIGHTS_DIR``, else
    ``$XDG_CACHE_HOME/swin_edu/weights`` (``~/.cache/swin_edu/weights``)."""
    if dir is not None:
        return Path(dir).expanduser()
    if os.environ.get(CACHE_ENV, "").strip():
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "swin_edu" / "weights"


def _paths(name: str, dir=None) -> tuple[Path, Path]:
    folder = cache_dir(dir)
    return folder / f"{name}.pth", folder / f"{name}.sha256.json"


def verify_state_dict(name: str, state_dict, source: str = "the state dict") -> None:
    """Raise :class:`WeightsError` unless ``state_dict`` has exactly the official layout of ``name``: every key
    and shape (derived buffers included), the published number of learned parameters, float tensors with finite
    values."""
    import torch

    from .config import SwinConfig
    from .layout import is_derived_buffer, state_dict_shapes
    from .model import CheckpointError, detect_layout

    rel = _release(name, "verify_state_dict")
    expected = state_dict_shapes(SwinConfig.preset(rel["preset"]), buffers=True)
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if missing or unexpected:
        try:
            layout = detect_layout(state_dict)
        except CheckpointError:
            layout = "no Swin"
        what = f"; it looks like the {layout} layout" if layout != "official" else ""
        raise WeightsError(f"{source} is not the official {name} file: {len(state_dict)} keys instead of "
                           f"{len(expected)}{what}; missing {missing[:3]}{' ...' if len(missing) > 3 else ''}, "
                           f"unexpected {unexpected[:3]}{' ...' if len(unexpected) > 3 else ''}")
    wrong = [(k, tuple(state_dict[k].shape), tuple(s)) for k, s in expected.items()
             if tuple(state_dict[k].shape) != tuple(s)]
    if wrong:
        k, got, want = wrong[0]
        raise WeightsError(f"{source} is not the official {name} file: {k} has shape {got}, the official one {want}"
                           + (f" ({len(wrong) - 1} more shapes differ)" if len(wrong) > 1 else ""))
    learned = {k: v for k, v in state_dict.items() if not is_derived_buffer(k)}
    not_float = [k for k, v in learned.items() if not v.is_floating_point()]
    if not_float:
        raise WeightsError(f"{source} is not the official {name} file: {not_float[0]} holds "
                           f"{learned[not_float[0]].dtype}, not floating-point weights")
    n = sum(v.numel() for v in learned.values())
    if n != rel["params"]:
        raise WeightsError(f"{source} is not the official {name} file: {n:,} learned parameters, the official "
                           f"{rel['params']:,}")
    bad = [k for k, v in learned.items() if not bool(torch.isfinite(v).all())]
    if bad:
        raise WeightsError(f"{source} holds non-finite values (NaN or inf) in {bad[:3]}"
                           + (f" and {len(bad) - 3} more tensors" if len(bad) > 3 else "")
                           + ": a corrupted file, not usable weights")


def verify_file(name: str, path) -> OrderedDict:
    """Read ``path`` safely (``weights_only``) and verify it (:func:`verify_state_dict`); returns its state dict.
    Raises :class:`WeightsError` naming the file and what did not match."""
    from .model import CheckpointError, read_checkpoint

    _release(name, "verify_file")
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    try:
        sd = read_checkpoint(path)
    except CheckpointError as e:
        detail = str(e).split(": ", 1)[-1].split(". ", 1)[0]
        raise WeightsError(f"{path} cannot be read as the {name} weights ({path.stat().st_size:,} bytes; the "
                           f"release is about {RELEASES[name]['size_mb']} MB): {detail}") from None
    verify_state_dict(name, sd, source=str(path))
    return sd


def _read_record(record: Path) -> dict | None:
    if not record.is_file():
        return None
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise WeightsError(f"{record}: the digest record cannot be read ({e}); delete it to verify the file again")
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), str):
        raise WeightsError(f"{record}: not a digest record (no 'sha256'); delete it to verify the file again")
    return data


def _check_digest(name: str, path: Path, record: Path, digest: str) -> dict | None:
    known = _read_record(record)
    if known is not None and known["sha256"] != digest:
        raise WeightsError(f"{path} has SHA-256 {digest[:16]}..., but the first verified {name} file had "
                           f"{known['sha256'][:16]}... (recorded in {record}, {known.get('verified_on', '?')}): the "
                           f"file changed. If you trust the new one, delete {record}")
    return known


def fetch(name: str = "swin_tiny_patch4_window7_224", *, dir=None, file=None, progress: bool = True) -> Path:
    """Put the verified release file ``name`` in the cache and return its path: from ``file`` (a copy of a file
    you have), else the cached copy, else a download of the release (with a progress bar). Every file is
    verified (:func:`verify_file`) before it is kept; the SHA-256 of the first verified one is recorded next to
    it (``<name>.sha256.json``) and every later file must have it."""
    import shutil

    rel = _release(name, "fetch")
    dest, record = _paths(name, dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if file is not None:
        src = Path(file).expanduser()
        verify_file(name, src)
        digest = _sha256(src)
        _check_digest(name, src, record, digest)
        if not (dest.exists() and os.path.samefile(src, dest)):
            tmp = dest.with_suffix(".part")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        source = f"file {src.resolve()}"
    elif dest.exists():
        load_released(name, dir=dir)
        return dest
    else:
        tmp = dest.with_suffix(".part")
        _download(rel["url"], tmp, name, progress)
        try:
            verify_file(name, tmp)
            digest = _sha256(tmp)
            _check_digest(name, tmp, record, digest)
        except WeightsError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, dest)
        source = rel["url"]
    if _read_record(record) is None:
        record.write_text(json.dumps({
            "name": name, "sha256": digest, "size": dest.stat().st_size, "source": source,
            "verified_on": datetime.date.today().isoformat(),
            "note": "trust on first use: no digest is published with the release; this is the SHA-256 of the "
                    "first file that verified (official layout, 28,288,354 parameters, finite values)"},
            indent=1) + "\n", encoding="utf-8")
    return dest


def _download(url: str, dest: Path, name: str, progress: bool) -> None:
    import urllib.request

    from tqdm.auto import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "swin-edu"})
    with urllib.request.urlopen(request, timeout=30) as response, open(dest, "wb") as f:  # noqa: S310 - https
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress) as bar:
            while chunk := response.read(1 << 20):
                f.write(chunk)
                bar.update(len(chunk))


def load_released(name: str = "swin_tiny_patch4_window7_224", *, dir=None) -> OrderedDict:
    """The state dict of the cached release file, after checking its SHA-256 against the recorded one (a file
    in the cache without a record is verified and recorded now) and its layout (:func:`verify_state_dict`)."""
    _release(name, "load_released")
    path, record = _paths(name, dir)
    if not path.is_file():
        raise FileNotFoundError(f"load_released: {name} is not in the cache ({path.parent}); run "
                                f"`python -m swin_edu.weights fetch {name}` (or --file PATH for a file you have)")
    if _read_record(record) is None:
        fetch(name, dir=dir, file=path)
    _check_digest(name, path, record, _sha256(path))
    return verify_file(name, path)


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def released(name: str = "swin_tiny_patch4_window7_224", *, dir=None) -> OrderedDict | None:
    """What a notebook calls: the verified state dict of the release ``name`` (from the cache, else downloaded
    once), or None with one line that says why (offline; a file that does not verify) so that the notebook goes
    on with the course's own checkpoint. Never raises for a network or file problem."""
    import urllib.error

    from . import i18n

    _release(name, "released")
    path, record = _paths(name, dir)
    try:
        if not path.is_file():
            if _offline():
                print(i18n.t("weights.offline", name=name, cache=path.parent, why=i18n.t("weights.offline_env")))
                return None
            fetch(name, dir=dir)
        sd = load_released(name, dir=dir)
    except WeightsError as e:
        print(i18n.t("weights.refused", error=str(e)))
        return None
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        why = i18n.t("weights.no_network", error=f"{type(e).__name__}: {getattr(e, 'reason', e)}")
        print(i18n.t("weights.offline", name=name, cache=path.parent, why=why))
        return None
    digest = _read_record(record)["sha256"]
    print(i18n.t("weights.loaded", name=name, path=path, digest=digest[:12]))
    return sd


def evaluate_held_out(predict, name: str = "digits", who: str = "the model") -> dict:
    """Run ``predict`` (float32 images ``(N, C, H, W)``, numpy -> logits ``(N, classes)``, numpy or torch) on a
    shipped checkpoint's held-out test images, compare with the package's model and with the recorded accuracy,
    print one line (``who``: what to call the model) and return ``preds``, ``correct``, ``count``, ``acc``,
    ``recorded_correct``, ``same_as_package``."""
    import torch

    if not callable(predict):
        raise TypeError(f"evaluate_held_out: predict must be a function images -> logits, got {type(predict).__name__}")
    info = course_info(name)
    images, labels = held_out(name)
    with torch.no_grad():
        out = predict(images)
        package = course_model(name)(torch.from_numpy(images)).argmax(-1).numpy()
    logits = np.asarray(out.detach().cpu() if hasattr(out, "detach") else out)
    if logits.shape != (len(labels), len(info["data"]["classes"])):
        raise ValueError(f"evaluate_held_out: predict must return logits of shape "
                         f"{(len(labels), len(info['data']['classes']))}, got {logits.shape}")
    preds = logits.argmax(-1)
    correct = int((preds == labels).sum())
    same = bool(np.array_equal(preds, package))
    print(_i18n.t("weights.held_out", who=who, correct=correct, count=len(labels), name=name,
                  acc=correct / len(labels), recorded=info["test"]["acc"],
                  same=_i18n.t("weights.yes" if same else "weights.no")))
    return {"preds": preds, "correct": correct, "count": len(labels), "acc": correct / len(labels),
            "recorded_correct": info["test"]["correct"], "same_as_package": same}


#: ImageNet's per-channel statistics, with which the released checkpoints were trained
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def imagenet_input(image) -> "torch.Tensor":  # noqa: F821 - torch is imported lazily
    """An RGB image ``(H, W, 3)`` with values in [0, 1] as the released checkpoints expect it: normalised with
    ImageNet's mean and std, channels first, batch of one, float32: ``(1, 3, H, W)``."""
    import torch

    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"imagenet_input: image must be (H, W, 3) with values in [0, 1], got shape {image.shape}")
    x = (image - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


def show_top_k(logits, who: str, k: int = 5) -> list[tuple[str, float]]:
    """Print the ``k`` most probable ImageNet classes of one image's logits, one per line, and return them."""
    top = top_k(logits, k)
    print(_i18n.t("weights.top", who=who, k=k))
    for name, p in top:
        print(f"  {p:6.1%}  {name}")
    return top


def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet-1k class names in the order of the released checkpoints' outputs (short names from
    torchvision 0.29.1, BSD-3-Clause: ``swin_edu/assets/imagenet1k_classes.LICENSE``)."""
    names = (ASSETS / "imagenet1k_classes.txt").read_text(encoding="utf-8").splitlines()
    if len(names) != 1000:
        raise ValueError(f"imagenet_classes: {ASSETS / 'imagenet1k_classes.txt'} holds {len(names)} names, not 1000")
    return names


def top_k(logits, k: int = 5, classes: list[str] | None = None) -> list[tuple[str, float]]:
    """The ``k`` most probable classes of one image's logits (a 1-D array or tensor) as ``(name, probability)``,
    with the ImageNet-1k names unless ``classes`` is given."""
    logits = np.asarray(logits.detach().cpu() if hasattr(logits, "detach") else logits, dtype=np.float64)
    if logits.ndim != 1:
        raise ValueError(f"top_k: logits must be the 1-D logits of one image, got shape {logits.shape}")
    classes = imagenet_classes() if classes is None else list(classes)
    if len(classes) != logits.shape[0]:
        raise ValueError(f"top_k: {logits.shape[0]} logits but {len(classes)} class names")
    p = np.exp(logits - logits.max())
    p /= p.sum()
    order = np.argsort(-p)[:k]
    return [(classes[i], float(p[i])) for i in order]


def hf_model(cfg, state_dict):
    """HF transformers' ``SwinForImageClassification`` with an official-layout ``state_dict`` (returns logits), or
    None when transformers is not installed: an independent implementation to compare logits with."""
    try:
        import transformers  # noqa: F401
    except ImportError:
        return None
    from .bench import _build_hf

    return _build_hf(cfg, state_dict)


# ============================================================================================ command line
def _cmd_check(names: list[str]) -> int:
    ok = True
    for name in names:
        info, r = course_info(name), check_course(name)
        made = info["made_with"]
        verdict = "agree" if r["agree"] else f"DIFFER ({r['changed_preds']} predictions changed)"
        print(f"{name}: test accuracy measured now {r['measured_acc']:.2%} ({round(r['measured_acc'] * r['count'])} "
              f"of {r['count']}), recorded {r['recorded_acc']:.2%} (commit {made['commit'][:12]}, torch "
              f"{made['torch']}, {made['date']}): {verdict}")
        ok = ok and r["agree"]
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m swin_edu.weights", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="measure a shipped checkpoint's test accuracy next to the recorded one")
    c.add_argument("name", choices=list(COURSE_CHECKPOINTS) + ["all"])
    f = sub.add_parser("fetch", help="download (or take --file) a released checkpoint into the cache, verified")
    f.add_argument("name", choices=list(RELEASES))
    f.add_argument("--dir", default=None, help=f"the cache folder (default: ${CACHE_ENV} or ~/.cache/swin_edu/weights)")
    f.add_argument("--file", default=None, help="a copy of the release file you already have")
    f.add_argument("--no-progress", action="store_true")
    b = sub.add_parser("build", help="retrain a shipped checkpoint with its recipe (maintainers)")
    b.add_argument("name", choices=list(COURSE_CHECKPOINTS))
    b.add_argument("--out", required=True)
    b.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.cmd == "check":
        return _cmd_check(list(COURSE_CHECKPOINTS) if args.name == "all" else [args.name])
    if args.cmd == "fetch":
        try:
            path = fetch(args.name, dir=args.dir, file=args.file, progress=not args.no_progress)
        except (WeightsError, FileNotFoundError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except OSError as e:  # the network, a full disk, a folder that cannot be written
            print(f"error: {args.name} could not be fetched: {type(e).__name__}: {getattr(e, 'reason', e)}",
                  file=sys.stderr)
            return 1
        record = json.loads(_paths(args.name, args.dir)[1].read_text(encoding="utf-8"))
        print(f"{args.name}: verified (official layout, {RELEASES[args.name]['params']:,} parameters, finite values): "
              f"{path}\nSHA-256 {record['sha256']} (recorded {record['verified_on']} from {record['source']})")
        return 0
    info = build_course_checkpoint(args.name, args.out, seed=args.seed)
    print(f"{args.name}: test accuracy {info['test']['acc']:.2%}, written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
