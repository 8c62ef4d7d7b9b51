"""The command line of :mod:`swin_edu.train`: ``python -m swin_edu.train --help``.

Options follow :class:`swin_edu.train.TrainArgs` field by field. A bad argument ends with a one-line
message and exit status 2 (no traceback); Ctrl-C with a message that says where the last checkpoint is
and how to go on, exit status 130.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from ._openmp import quiet_openmp

__all__ = ["args_from_namespace", "build_parser", "main", "parse_overrides", "quiet_openmp", "run_from_command_line"]


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
    from .config import SwinConfig

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


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for on/off flags (where "default: True" would read backwards) and the
    options whose default comes from the recipe of the data."""

    def _get_help_string(self, action):
        if action.nargs == 0 or action.default is None:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    from .config import PRESETS
    from .dense import HEADS
    from .device import AMP_MODES
    from .train import RECIPES, TrainArgs

    d = TrainArgs()
    recipe = "; ".join(f"{k}: " + ", ".join(f"{f} {v}" for f, v in r.items()) for k, r in RECIPES.items())
    p = argparse.ArgumentParser(
        prog="python -m swin_edu.train",
        description="Train a Swin Transformer on scikit-learn's bundled digits, on the straddle task (two marks "
                    "across a window border: same colour or not), on the scenes task (digits at two scales on a "
                    "canvas, a class per pixel: a Swin backbone with an FPN head) or on your own image folder. "
                    "Options without a "
                    f"default take the recipe of the data ({recipe}). Several processes: torchrun --standalone "
                    "--nproc_per_node N -m swin_edu.train ...",
        formatter_class=_Help)
    g = p.add_argument_group("model")
    g.add_argument("--preset", default=None, help=f"SwinConfig preset ({', '.join(sorted(PRESETS))}); default: the "
                   "model of the data (swin_edu.train.MODELS)")
    g.add_argument("--set", dest="overrides", nargs="+", metavar="FIELD=VALUE", default=[],
                   help="override SwinConfig fields, e.g. --set window_size=2 depths=2,2 num_heads=3,6")
    g.add_argument("--attn-impl", default=d.attn_impl, choices=("sdpa", "explicit"))
    g.add_argument("--no-shift", action="store_true",
                   help="ablation: W-MSA in every block, no shifted windows (SwinConfig shift_windows=False)")
    g.add_argument("--no-rpb", action="store_true",
                   help="ablation: no relative position bias (SwinConfig rel_pos_bias=False)")
    g.add_argument("--ape", action="store_true", help="ablation: add the absolute position embedding")
    g.add_argument("--head", default=None, choices=sorted(HEADS),
                   help="scenes only: the head over the Swin backbone, " + "; ".join(f"{k}: {v}" for k, v in
                                                                                   HEADS.items()) + " (default fpn)")
    g = p.add_argument_group("data")
    g.add_argument("--data", default=d.data, help="'digits' (bundled with scikit-learn), 'straddle' or 'scenes' (made "
                   "by the code) or an image folder root/<class>/<images> (or root/{train,val,test}/<class>/...)")
    g.add_argument("--split-seed", type=int, default=d.split_seed, help="seed of the train/val/test split")
    g.add_argument("--augment", dest="augment", action="store_true", default=None,
                   help="turn the augmentations on (default: the recipe's)")
    g.add_argument("--no-augment", dest="augment", action="store_false", help="turn every augmentation off")
    g.add_argument("--translate", type=float, default=d.translate, help="max shift, fraction of the side")
    g.add_argument("--degrees", type=float, default=d.degrees, help="max rotation")
    g.add_argument("--scale", type=float, nargs=2, default=list(d.scale), metavar=("MIN", "MAX"))
    g.add_argument("--erase", type=float, default=d.erase, help="random erasing probability")
    g.add_argument("--mixup", type=float, default=d.mixup, help="mixup Beta alpha (0: off)")
    g.add_argument("--cutmix", type=float, default=d.cutmix, help="cutmix Beta alpha (0: off)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=int, default=None)
    g.add_argument("--batch-size", type=int, default=d.batch_size, help="global batch (all processes; default: the "
                   "recipe's)")
    g.add_argument("--lr", type=float, default=None, help="peak learning rate")
    g.add_argument("--min-lr", type=float, default=d.min_lr)
    g.add_argument("--warmup-epochs", type=float, default=None)
    g.add_argument("--weight-decay", type=float, default=d.weight_decay)
    g.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="label smoothing of the cross-entropy (default: the recipe's, 0.1; 0 for scenes)")
    g.add_argument("--grad-clip", type=float, default=d.grad_clip, help="max gradient norm (0: off)")
    g.add_argument("--drop-path", type=float, default=None, help="stochastic depth rate of the last block")
    g.add_argument("--ema", type=float, default=d.ema,
                   help="evaluate and keep an exponential moving average of the weights with this decay per step "
                        "(0: off)")
    g.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke tests)")
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--out", default="runs/train", help="output folder (checkpoint, metrics.json/csv, curves.png)")
    g.add_argument("--resume", default=None, metavar="PATH|auto",
                   help="go on from a checkpoint ('auto': OUT/checkpoint.pth if it exists); the training arguments "
                        "must be the saved ones (--epochs may grow)")
    g.add_argument("--device", default=d.device, help="auto | cpu | cuda | cuda:N | mps")
    g.add_argument("--amp", default=d.amp, choices=AMP_MODES,
                   help="autocast dtype (auto: bf16, else fp16, on CUDA; float32 on a CPU and on MPS)")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads, >= 1 (default: torch's choice)")
    g.add_argument("--nondeterministic", dest="deterministic", action="store_false",
                   help="do not call torch.use_deterministic_algorithms on the CPU")
    g.add_argument("--eval-batch-size", type=int, default=d.eval_batch_size)
    g.add_argument("--eval-every", type=int, default=d.eval_every,
                   help="validate every k epochs and after the last (0: only after the last)")
    g.add_argument("--checkpoint-every", dest="checkpoint_every_s", type=float, default=d.checkpoint_every_s,
                   metavar="SECONDS", help="write the checkpoint at most this often, and at the end (0: every epoch)")
    g.add_argument("--log-every", type=int, default=d.log_every,
                   help="a log line every k epochs (0: about ten lines per run)")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    g.add_argument("--quiet", dest="verbose", action="store_false", help="no log lines (implies --no-progress)")
    g.add_argument("--no-plot", dest="plot", action="store_false", help="do not write curves.png")
    return p


def args_from_namespace(ns: argparse.Namespace):
    """The :class:`~swin_edu.train.TrainArgs` of parsed command-line options."""
    from .train import TrainArgs

    kw = vars(ns).copy()
    kw["overrides"] = parse_overrides(kw.pop("overrides"))
    kw["scale"] = tuple(kw["scale"])
    kw["grad_clip"] = kw["grad_clip"] or None
    if not kw["verbose"]:
        kw["progress"] = False
    return TrainArgs(**kw)


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, train, print one JSON line (test accuracy, wall time, out folder). Returns the exit status."""
    from .model import CheckpointError
    from .train import TrainingInterrupted, build_config, train

    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        try:
            args = args_from_namespace(ns)
            build_config(args)  # validate the model before loading data
            result = train(args)
        except (ValueError, TypeError, FileNotFoundError, NotADirectoryError, CheckpointError) as e:
            parser.error(str(e))
    except (TrainingInterrupted, KeyboardInterrupt) as e:
        if _rank() == 0:
            print(f"\n{e}" if str(e) else "\ninterrupted before training started", file=sys.stderr)
        return 130
    finally:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
    if _rank() == 0:
        dense = {f"test_{k}": result["test"][k] for k in ("miou", "miou_small", "miou_large") if k in result["test"]}
        print(json.dumps({"test_acc": result["test"]["acc"], **dense, "wall_time_s": round(result["wall_time_s"], 2),
                          "out": str(result["out"]) if result["out"] is not None else None}))
    return 0


def run_from_command_line() -> int:
    """``python -m swin_edu.train``: :func:`quiet_openmp`, then :func:`main`."""
    quiet_openmp()
    return main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_from_command_line())
