"""Where the time of a training epoch goes: ``swin_edu.train``'s loop against a plain loop, one feature at a time.

    python -m swin_edu.train_bench                      # about 5 minutes on 2 CPU cores
    python -m swin_edu.train_bench --docs docs/training.md
    python -m swin_edu.train_bench --busy 1 --variants "plain loop (ours)" "train() defaults (the command line)" \
        "defaults, spinning threads (OMP_WAIT_POLICY=ACTIVE)"      # with one other busy process: a shared machine
    python -m swin_edu.train_bench --peer hf --epochs 250 --seed 0   # the peer's accuracy on our split
    python -m swin_edu.train_bench --svm-splits 20                   # how hard the split is, without a network

Every variant trains the digits model (16 x 16 images, patch 2, C = 32, depths (2, 2), heads (2, 4), window 4,
MLP ratio 2: the architecture of the peer run in ``docs/training.md``) with batch 64 (19 steps per epoch) in a
fresh process, for ``--epochs`` epochs; the variants alternate in ``--rounds`` rounds (the order rotates every
round), so that a change in the machine's load hits them all alike. The figure per variant is the median,
over rounds, of the median wall time of an epoch (epoch 1 left out: warm-up), everything the loop does in an
epoch included (validation, checkpoint, progress bar).

The ladder starts from a plain loop (shuffle, forward, smoothed cross-entropy, backward, clip, AdamW, schedule:
:func:`plain_loop`), then runs :func:`swin_edu.train.train` with every extra off, and adds one feature per
row (determinism, augmentation, validation every epoch, progress bar, sleeping OpenMP threads); ``train()
defaults`` is the command line as shipped, and the rows after it change one thing of the defaults (a checkpoint
every epoch; bf16 autocast, only when asked for with ``--variants``: where the CPU has no native bf16 it is
several times slower). With transformers installed, the same plain loop also trains HF transformers' Swin of
the same architecture (the peer).

``--peer hf`` (or ``--peer ours``) runs the plain loop once, in this process, for ``--epochs`` epochs and prints
the final model's test accuracy on the digits test split that ``swin_edu.train`` reports (the peer run of
issue 17 stated its accuracy without its split; ``--split-seed`` picks another split) and the wall time.

``--svm-splits N`` calibrates the digits test accuracy without a network: an RBF support-vector machine
(scikit-learn; ``gamma`` and ``C`` chosen by 5-fold cross-validation on the training images only) trained on
the same 1,259 training images as the Swin and tested on the 359 test images, for the course's split
(``split_seed`` 0) and the splits that ``split_seed`` 1 .. N-1 make: how hard split 0 is, and how far the
choice of a split alone moves an accuracy (:func:`svm_baseline`).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from ._validate import check_int

__all__ = ["LADDER", "bench", "busy_processes", "main", "markdown", "plain_loop", "svm_baseline"]

#: the digits model (SwinConfig fields over the nano preset), the batch and the peer's learning rate
ARCH = {"img_size": 16, "patch_size": 2, "in_chans": 1, "embed_dim": 32, "depths": (2, 2), "num_heads": (2, 4),
        "window_size": 4, "mlp_ratio": 2.0, "drop_path_rate": 0.1}
BATCH, LR = 64, 4e-3

#: every extra of the loop off (TrainArgs fields)
_BARE = {"eval_every": 0, "checkpoint_every_s": None, "augment": False, "amp": "off", "deterministic": False,
         "progress": False, "verbose": False, "plot": False}

_LOOP = {**_BARE, "deterministic": True, "augment": True, "eval_every": 1, "progress": True}

#: name -> (kind, TrainArgs fields, extra environment); each train() row of the ladder adds one feature to the
#: row above; the rows after the defaults change one thing of the defaults
LADDER: dict[str, tuple[str, dict, dict]] = {
    "plain loop (ours)": ("plain", {}, {}),
    "train(), every extra off": ("train", _BARE, {}),
    "+ deterministic algorithms": ("train", {**_BARE, "deterministic": True}, {}),
    "+ augmentation": ("train", {**_BARE, "deterministic": True, "augment": True}, {}),
    "+ validation every epoch": ("train", {**_BARE, "deterministic": True, "augment": True, "eval_every": 1}, {}),
    "+ progress bar": ("train", _LOOP, {}),
    "+ OMP_WAIT_POLICY=PASSIVE": ("train", _LOOP, {"OMP_WAIT_POLICY": "PASSIVE"}),
    "train() defaults (the command line)": ("cli", {}, {"OMP_WAIT_POLICY": "PASSIVE"}),
    "defaults + a checkpoint every epoch": ("cli", {"checkpoint_every_s": 0.0}, {"OMP_WAIT_POLICY": "PASSIVE"}),
    "defaults + bf16 autocast": ("cli", {"amp": "bf16"}, {"OMP_WAIT_POLICY": "PASSIVE"}),
    "defaults, spinning threads (OMP_WAIT_POLICY=ACTIVE)": ("cli", {}, {"OMP_WAIT_POLICY": "ACTIVE"}),
    "plain loop (HF transformers)": ("plain-hf", {}, {}),
}
#: the rows run unless --variants names others (bf16 autocast is slow where the CPU has no native bf16;
#: spinning threads are the alternative to the defaults' sleeping ones, for --busy)
DEFAULT_ROWS = [n for n in LADDER if "bf16" not in n and "spinning" not in n]


def _hf_model(cfg):
    """HF transformers' Swin with the same architecture (random weights; only the time is compared)."""
    import transformers

    hcfg = transformers.SwinConfig(image_size=cfg.img_size, patch_size=cfg.patch_size, num_channels=cfg.in_chans,
                                   embed_dim=cfg.embed_dim, depths=list(cfg.depths), num_heads=list(cfg.num_heads),
                                   window_size=cfg.window_size, mlp_ratio=cfg.mlp_ratio,
                                   drop_path_rate=cfg.drop_path_rate, num_labels=cfg.num_classes)
    model = transformers.SwinForImageClassification(hcfg)
    return lambda x: model(pixel_values=x).logits, model


def plain_loop(epochs: int, *, hf: bool = False, seed: int = 0, split_seed: int = 0) -> dict:
    """The plain loop: shuffle, forward, smoothed cross-entropy, backward, clip, AdamW, cosine schedule;
    no augmentation, no validation, float32, on the training split of ``load_digits``. Returns ``ends``, the
    wall time at the end of every epoch (s), and ``test_acc``, the final model's accuracy on the test split
    (the same 359 images as ``swin_edu.train``'s with the same ``split_seed``), so that the peer's accuracy can be
    compared on our split."""
    import torch
    import torch.nn.functional as F

    from .config import SwinConfig
    from .data import load_digits
    from .model import SwinTransformer
    from .train import lr_at

    cfg = SwinConfig.preset("nano", **ARCH)
    data = load_digits(img_size=cfg.img_size, split_seed=split_seed)
    torch.manual_seed(seed)
    if hf:
        forward, model = _hf_model(cfg)
    else:
        model = SwinTransformer(cfg)
        forward = model
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.05)
    x_all, y_all = data.normalize(data.train.images), data.train.labels
    steps = len(x_all) // BATCH
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_at(s, epochs * steps, steps, LR, 1e-5) / LR)
    model.train()
    t0, ends = time.perf_counter(), []
    for _ in range(epochs):
        perm = torch.randperm(len(x_all))
        for i in range(steps):
            j = perm[i * BATCH:(i + 1) * BATCH]
            loss = F.cross_entropy(forward(x_all[j]), y_all[j], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
        ends.append(time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        pred = forward(data.normalize(data.test.images)).argmax(-1)
    return {"ends": ends, "test_acc": float((pred == data.test.labels).float().mean())}


#: the grid the SVM baseline's cross-validation chooses from (images scaled to [0, 1], 64 pixels)
SVM_GRID = {"gamma": (0.02, 0.05, 0.1), "C": (3.0, 10.0, 30.0)}


def svm_baseline(split_seeds: Sequence[int] = range(20)) -> list[dict]:
    """Test accuracy of an RBF SVM on the digits split of each ``split_seed`` (``load_digits``'s split: the
    Swin's training images to train on, its test images to test on; the 8 x 8 pixels, no upsampling).
    ``gamma`` and ``C`` are chosen from :data:`SVM_GRID` by 5-fold cross-validation on the training images,
    so no test image takes part in any choice. Returns one dict per split: ``split_seed``, ``test_acc``,
    ``params`` (the chosen ``gamma`` and ``C``) and ``n_train`` / ``n_test``."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    from ._validate import check_int
    from .data import load_digits

    if isinstance(split_seeds, (str, bytes)) or not hasattr(split_seeds, "__iter__"):
        raise TypeError(f"svm_baseline: split_seeds must be a sequence of ints, got {type(split_seeds).__name__}")
    seeds = [check_int(s, "split_seeds", minimum=0, where="svm_baseline") for s in split_seeds]
    if not seeds:
        raise ValueError("svm_baseline: split_seeds must name at least one split, got none")
    out = []
    for seed in seeds:
        d = load_digits(img_size=8, split_seed=seed)
        x_tr, y_tr = d.train.images.flatten(1).numpy(), d.train.labels.numpy()
        x_te, y_te = d.test.images.flatten(1).numpy(), d.test.labels.numpy()
        grid = GridSearchCV(SVC(kernel="rbf"), {k: list(v) for k, v in SVM_GRID.items()}, cv=5).fit(x_tr, y_tr)
        out.append({"split_seed": seed, "test_acc": float((grid.predict(x_te) == y_te).mean()),
                    "params": dict(grid.best_params_), "n_train": len(y_tr), "n_test": len(y_te)})
    return out


def _svm(n: int) -> int:
    res = svm_baseline(range(n))
    for r in res:
        print(f"split_seed {r['split_seed']:2d}: RBF SVM test accuracy {100 * r['test_acc']:.2f} % "
              f"({r['n_train']} training / {r['n_test']} test images; gamma {r['params']['gamma']}, "
              f"C {r['params']['C']})")
    accs = [100 * r["test_acc"] for r in res]
    line = f"the course's split (split_seed 0): {accs[0]:.2f} %"
    if len(accs) > 1:
        others = accs[1:]
        line += (f"; split_seed 1-{len(accs) - 1}: mean {statistics.mean(others):.2f} %, min {min(others):.2f} %, "
                 f"max {max(others):.2f} %")
    print(line)
    return 0


def _worker(name: str, epochs: int) -> dict:
    kind, fields, _ = LADDER[name]
    t0 = time.perf_counter()
    if kind.startswith("plain"):
        res = plain_loop(epochs, hf=kind == "plain-hf")
        return {**res, "process_s": time.perf_counter() - t0}
    from .train import train

    with tempfile.TemporaryDirectory() as tmp:
        if kind == "cli":
            r = train(epochs=epochs, out=tmp, **fields)
        else:
            r = train(epochs=epochs, out=tmp, lr=LR, warmup_epochs=1.0, drop_path=0.1, **fields)
    return {"ends": [h["elapsed_s"] for h in r["history"]], "process_s": time.perf_counter() - t0,
            "train_s": r["train_time_s"], "test_acc": r["test"]["acc"]}


def _epoch_times(ends: Sequence[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(ends)]  # epoch 1 (warm-up) is left out


@contextlib.contextmanager
def busy_processes(n: int):
    """``n`` processes that each keep one core busy (a Python loop) while the block runs: the other jobs of
    a shared machine, made on purpose (``--busy``). Yields their pids; they are killed when the block ends."""
    n = check_int(n, "busy", minimum=0, where="busy_processes")
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def bench(names: Sequence[str] | None = None, *, epochs: int = 12, rounds: int = 3, threads: int = 2,
          busy: int = 0, log=print) -> dict:
    """Run the variants (each in its own process) ``rounds`` times, alternating, while ``busy`` other
    processes each keep a core busy; returns per-variant per-epoch times and the machine's load before and
    after."""
    busy = check_int(busy, "busy", minimum=0, where="train_bench.bench")
    names = list(names or DEFAULT_ROWS)
    unknown = [n for n in names if n not in LADDER]
    if unknown:
        raise ValueError(f"train_bench: unknown variant(s) {unknown}; expected some of {list(LADDER)}")
    if "plain loop (HF transformers)" in names:
        try:
            import transformers  # noqa: F401
        except ImportError:
            names.remove("plain loop (HF transformers)")
            log("transformers is not installed: the HF row is left out")
    runs: dict[str, list] = {n: [] for n in names}
    loads = [os.getloadavg()[0]]
    with busy_processes(busy):
        _rounds(names, runs, loads, epochs=epochs, rounds=rounds, threads=threads, log=log)
    rows = []
    base = None
    for name in names:
        per = [statistics.median(_epoch_times(x["ends"])) for x in runs[name]]
        row = {"variant": name, "epoch_s": statistics.median(per), "rounds": per,
               "process_s": statistics.median(x["wall_s"] for x in runs[name])}
        base = base or row["epoch_s"]
        row["vs_plain"] = row["epoch_s"] / base
        rows.append(row)
    from .train import _machine

    return {"rows": rows, "epochs": epochs, "rounds": rounds, "threads": threads, "busy": busy, "load": loads,
            "machine": _machine()}


def _rounds(names, runs, loads, *, epochs, rounds, threads, log) -> None:
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            env = {**os.environ, **LADDER[name][2], "OMP_NUM_THREADS": str(threads)}
            if "OMP_WAIT_POLICY" not in LADDER[name][2]:
                env.pop("OMP_WAIT_POLICY", None)
            cmd = [sys.executable, "-m", "swin_edu.train_bench", "--worker", name, "--epochs", str(epochs)]
            t0 = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            wall = time.perf_counter() - t0
            if p.returncode != 0:
                raise RuntimeError(f"train_bench: {name!r} failed:\n{p.stderr[-2000:]}")
            res = json.loads(p.stdout.strip().splitlines()[-1])
            res["wall_s"] = wall
            runs[name].append(res)
            med = statistics.median(_epoch_times(res["ends"]))
            log(f"round {r + 1}  {name:<38s} {med:.3f} s/epoch  (process {wall:.1f} s)")
        loads.append(os.getloadavg()[0])


def markdown(result: dict) -> str:
    """The result as a Markdown table with the machine and its load."""
    lines = ["| variant | s per epoch (median) | vs plain loop | per round | whole process (s) |",
             "|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['variant']} | {r['epoch_s']:.3f} | {r['vs_plain']:.2f}x | "
                     f"{', '.join(f'{v:.3f}' for v in r['rounds'])} | {r['process_s']:.1f} |")
    m = result["machine"]
    lines.append("")
    busy = result.get("busy", 0)
    competing = f", {busy} busy process(es) competing for the cores" if busy else ""
    lines.append(f"_{result['rounds']} rounds x {result['epochs']} epochs per variant, {result['threads']} thread(s)"
                 f"{competing}; "
                 f"{m['platform']}, {m['cpu_count']} CPUs, torch {m['torch']}; 1-minute load average "
                 f"{', '.join(f'{v:.2f}' for v in result['load'])} (before the first round, then after each)._")
    return "\n".join(lines)


def _peer(which: str, epochs: int, seed: int, threads: int, split_seed: int = 0) -> int:
    import torch

    from .train import _machine

    torch.set_num_threads(threads)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = plain_loop(epochs, hf=which == "hf", seed=seed, split_seed=split_seed)
    wall = time.perf_counter() - t0
    m = _machine()
    name = "HF transformers' Swin" if which == "hf" else "swin_edu's SwinTransformer"
    print(f"plain loop, {name}, no augmentation: {epochs} epochs, seed {seed}: test accuracy "
          f"{100 * res['test_acc']:.2f} % (digits test split of split_seed {split_seed}, 359 images), "
          f"{wall:.0f} s with {threads} thread(s) "
          f"({res['ends'][-1]:.0f} s of training); {m['platform']}, {m['cpu_count']} CPUs, torch {m['torch']}; "
          f"1-minute load average {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m swin_edu.train_bench", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--variants", nargs="+", default=None, metavar="NAME", help=f"some of {list(LADDER)}")
    p.add_argument("--busy", type=int, default=0, metavar="N",
                   help="keep N other processes busy (one core each) during the benchmark: a shared machine")
    p.add_argument("--docs", default=None, help="Markdown file whose <!-- loop-bench:start/end --> block to rewrite")
    p.add_argument("--peer", choices=("hf", "ours"), default=None,
                   help="run the plain loop once with HF transformers' Swin or ours; print its test accuracy")
    p.add_argument("--seed", type=int, default=0, help="seed of --peer")
    p.add_argument("--split-seed", type=int, default=0, help="digits split of --peer (swin_edu.train's --split-seed)")
    p.add_argument("--svm-splits", type=int, default=0, metavar="N",
                   help="print an RBF SVM's digits test accuracy on the splits of split_seed 0 .. N-1 (calibration)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ns = p.parse_args(argv)
    if ns.epochs < 2 or ns.rounds < 1 or ns.threads < 1:
        p.error("--epochs must be >= 2, --rounds and --threads >= 1")
    if ns.worker:
        print(json.dumps(_worker(ns.worker, ns.epochs)))
        return 0
    if ns.svm_splits < 0:
        p.error(f"--svm-splits must be >= 0, got {ns.svm_splits}")
    if ns.svm_splits:
        return _svm(ns.svm_splits)
    if ns.peer:
        return _peer(ns.peer, ns.epochs, ns.seed, ns.threads, ns.split_seed)
    if ns.busy < 0:
        p.error(f"--busy must be >= 0, got {ns.busy}")
    result = bench(ns.variants, epochs=ns.epochs, rounds=ns.rounds, threads=ns.threads, busy=ns.busy,
                   log=lambda s: print(s, flush=True))
    table = markdown(result)
    print(table)
    if ns.docs:
        from .ablation import write_block

        write_block(ns.docs, "loop-bench", table)
        print(f"wrote {ns.docs}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
