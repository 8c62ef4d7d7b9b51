"""Baselines next to the Swin, on the same splits: an RBF support-vector machine and a small CNN.

    python -m swin_edu.baselines --seeds 0 1 2 --record      # about 3 minutes on one core; writes the results
    python -m swin_edu.baselines --seeds 0                   # print only

The course's digits (1,259 training and 359 test images, :func:`swin_edu.data.load_digits`) are easy: an RBF SVM on
the 8 x 8 pixels reaches the Swin's accuracy (docs/training.md, *How hard is the course's split?*). So a difference
between architectures on digits is a few test images, within what a seed or a split moves. The *straddle* task
(:func:`swin_edu.data.load_straddle`) was built to separate a Swin with shifted windows from one without (the
no-shift model is capped at 75 %, whatever its weights). :func:`run_baselines` measures both baselines on both
tasks, with the data and splits of the Swin's runs:

* ``svm``: :class:`sklearn.svm.SVC` with an RBF kernel on the raw pixels (digits: the 8 x 8 originals; straddle: the
  16 x 16 x 3 images), ``gamma`` and ``C`` chosen by 5-fold cross-validation on the training images only;
* ``cnn``: :class:`SmallCNN`, four 3 x 3 convolutions (two 2 x 2 max-poolings), global average pooling and a linear
  head, trained by :func:`train_cnn` with the Swin's loop (AdamW with weight decay, linear warm-up and cosine
  schedule, label smoothing, gradient clipping; for digits the same augmentations), on the same images.

``--record`` writes them under ``"baselines"`` in the package's ``swin_edu/results/training_results.json``, which
notebook 08 reads (it retrains them only with ``SWIN_EDU_FULL=1``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

if __name__ == "__main__":  # before torch loads OpenMP: see swin_edu.train_cli.quiet_openmp
    from swin_edu.train_cli import quiet_openmp

    quiet_openmp()

import numpy as np

from ._validate import check_int

__all__ = ["CNN_RECIPES", "load_recorded", "main", "record", "run_baselines", "svm", "train_cnn"]

#: the small CNN's training recipe per task (the loop of swin_edu.train; digits with its augmentations)
CNN_RECIPES: dict[str, dict] = {
    "digits": {"epochs": 40, "lr": 2e-3, "warmup_epochs": 2, "batch_size": 64, "augment": True},
    "straddle": {"epochs": 6, "lr": 2e-3, "warmup_epochs": 1, "batch_size": 64, "augment": False},
}
#: the SVM's grid (chosen by 5-fold cross-validation on the training images)
SVM_GRID = {"gamma": ("scale", 0.01, 0.03, 0.1), "C": (1.0, 3.0, 10.0, 30.0)}


def _data(task: str):
    from . import train as T
    from .data import load_digits, load_straddle

    if task == "digits":
        return load_digits(img_size=16)
    if task == "straddle":
        return load_straddle(T.build_config(T.TrainArgs(data="straddle")))
    raise ValueError(f"baselines: task must be 'digits' or 'straddle', got {task!r}")


def svm(task: str = "digits") -> dict:
    """The RBF SVM on ``task``'s split (0): ``test_acc``, ``params`` (the chosen ``gamma`` and ``C``), ``n_train``,
    ``n_test``, ``seconds``. For digits the pixels are the 8 x 8 originals (as in ``swin_edu.train_bench``)."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    from .data import load_digits

    start = time.perf_counter()
    d = load_digits(img_size=8) if task == "digits" else _data(task)
    x_tr, y_tr = d.train.images.flatten(1).numpy(), d.train.labels.numpy()
    x_te, y_te = d.test.images.flatten(1).numpy(), d.test.labels.numpy()
    grid = GridSearchCV(SVC(kernel="rbf"), {k: list(v) for k, v in SVM_GRID.items()}, cv=5).fit(x_tr, y_tr)
    return {"test_acc": float((grid.predict(x_te) == y_te).mean()), "params": dict(grid.best_params_),
            "n_train": len(y_tr), "n_test": len(y_te), "seconds": time.perf_counter() - start}


def _cnn_class():
    import torch
    from torch import nn

    class SmallCNN(nn.Module):
        """conv3x3(C_in -> w), conv3x3(w -> w), maxpool 2, conv3x3(w -> 2w), conv3x3(2w -> 2w), maxpool 2, each conv
        followed by ReLU; global average pooling; linear 2w -> classes."""

        def __init__(self, in_chans: int = 1, num_classes: int = 10, width: int = 32):
            super().__init__()
            w = width
            conv = lambda a, b: [nn.Conv2d(a, b, 3, padding=1), nn.ReLU()]  # noqa: E731
            self.features = nn.Sequential(*conv(in_chans, w), *conv(w, w), nn.MaxPool2d(2),
                                          *conv(w, 2 * w), *conv(2 * w, 2 * w), nn.MaxPool2d(2))
            self.head = nn.Linear(2 * w, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.features(x).mean(dim=(2, 3)))

    return SmallCNN


def __getattr__(name):  # SmallCNN without importing torch at import time
    if name == "SmallCNN":
        return _cnn_class()
    raise AttributeError(name)


def train_cnn(task: str = "digits", seed: int = 0, *, epochs: int | None = None, threads: int | None = 1) -> dict:
    """Train :class:`SmallCNN` on ``task`` with seed ``seed`` (recipe: :data:`CNN_RECIPES`, ``epochs`` to change its
    length). Returns ``test_acc``, ``params``, ``epochs``, ``seconds`` and the per-epoch ``history`` (training loss,
    validation accuracy)."""
    import torch

    from . import train as T
    from .data import Augment, batches

    where = "train_cnn"
    if task not in CNN_RECIPES:
        raise ValueError(f"{where}: task must be one of {list(CNN_RECIPES)}, got {task!r}")
    seed = check_int(seed, "seed", minimum=0, where=where)
    recipe = dict(CNN_RECIPES[task])
    if epochs is not None:
        recipe["epochs"] = check_int(epochs, "epochs", where=where)
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_int(threads, "threads", where=where))
    try:
        start = time.perf_counter()
        data = _data(task)
        torch.manual_seed(seed)
        model = _cnn_class()(data.in_chans, data.num_classes)
        opt = T.make_optimizer(model, lr=recipe["lr"], weight_decay=0.05)
        bs = recipe["batch_size"]
        per_epoch = len(data.train) // bs
        total, warm = recipe["epochs"] * per_epoch, recipe["warmup_epochs"] * per_epoch
        aug = Augment(translate=0.0625, degrees=10.0, scale=(0.95, 1.05)) if recipe["augment"] else None
        x_val, y_val = data.normalize(data.val.images), data.val.labels
        g, step, history = torch.Generator().manual_seed(seed), 0, []
        for epoch in range(recipe["epochs"]):
            model.train()
            order = torch.randperm(len(data.train), generator=g)
            losses = []
            for x, y in batches(data.train, order, bs, drop_last=True):
                if aug is not None:
                    x = aug(x, y, g)[0]
                for group in opt.param_groups:
                    group["lr"] = T.lr_at(step, total, warm, recipe["lr"], 1e-5)
                loss = T.smoothed_cross_entropy(model(data.normalize(x)), y, 0.1)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                step += 1
                losses.append(loss.item())
            model.eval()
            with torch.no_grad():
                val_acc = float((model(x_val).argmax(-1) == y_val).float().mean())
            history.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "val_acc": val_acc})
        with torch.no_grad():
            preds = model(data.normalize(data.test.images)).argmax(-1)
        acc = float((preds == data.test.labels).float().mean())
        return {"test_acc": acc, "params": sum(p.numel() for p in model.parameters()), "epochs": recipe["epochs"],
                "seconds": time.perf_counter() - start, "history": history, "seed": seed, "recipe": recipe}
    finally:
        torch.set_num_threads(saved)


def run_baselines(seeds: Sequence[int] = (0, 1, 2), tasks: Sequence[str] = ("digits", "straddle"),
                  log=None) -> dict:
    """Both baselines on each task: ``{task: {"svm": svm(task), "cnn": [train_cnn(task, seed) for seed in seeds]}}``
    plus ``"machine"`` (platform, torch, threads, load average)."""
    from .train import _machine

    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"run_baselines: seeds must be a sequence of ints, got {type(seeds).__name__}")
    seeds = [check_int(s, "seeds", minimum=0, where="run_baselines") for s in seeds]
    if not seeds:
        raise ValueError("run_baselines: seeds must name at least one seed")
    out: dict = {}
    for task in tasks:
        out[task] = {"svm": svm(task), "cnn": []}
        if log:
            log(f"{task}: RBF SVM {out[task]['svm']['test_acc']:.4f} ({out[task]['svm']['seconds']:.1f} s)")
        for seed in seeds:
            r = train_cnn(task, seed)
            out[task]["cnn"].append({k: v for k, v in r.items() if k != "history"} | {"final_val_acc":
                                                                                     r["history"][-1]["val_acc"]})
            if log:
                log(f"{task}: small CNN seed {seed}: {r['test_acc']:.4f} ({r['seconds']:.1f} s, {r['params']:,} params)")
    out["machine"] = _machine()
    out["date"] = time.strftime("%Y-%m-%d")
    return out


def record(results: dict, path=None) -> None:
    """Write ``results`` (of :func:`run_baselines`) under ``"baselines"`` in the package's results file (or ``path``)."""
    from pathlib import Path

    from .ablation import RESULTS_PATH

    rp = Path(path) if path is not None else RESULTS_PATH
    existing = json.loads(rp.read_text()) if rp.exists() else {}
    existing["baselines"] = results
    rp.write_text(json.dumps(existing, indent=2) + "\n")


def load_recorded(path=None) -> dict:
    """The recorded baselines (``{}`` when none were recorded)."""
    from .ablation import load_results

    return load_results(path).get("baselines", {})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swin_edu.baselines", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tasks", nargs="+", default=["digits", "straddle"], choices=list(CNN_RECIPES))
    parser.add_argument("--record", action="store_true", help="write the results into the package's results file")
    ns = parser.parse_args(argv)
    if any(s < 0 for s in ns.seeds):
        parser.error(f"--seeds must be ints >= 0, got {ns.seeds}")
    results = run_baselines(ns.seeds, ns.tasks, log=lambda s: print(s, flush=True))
    for task in ns.tasks:
        accs = [r["test_acc"] for r in results[task]["cnn"]]
        print(f"{task}: SVM {100 * results[task]['svm']['test_acc']:.2f} %, small CNN "
              f"{', '.join(f'{100 * a:.2f}' for a in accs)} % (mean {100 * sum(accs) / len(accs):.2f} %)")
    if ns.record:
        record(results)
        print("recorded in swin_edu/results/training_results.json")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
