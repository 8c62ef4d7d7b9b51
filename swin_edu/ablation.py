"""The paper's ablations (its Table 4) on the course's data, over several seeds, with one honest rule.

    python -m swin_edu.ablation --seeds 0 1 2 3 4 --out runs/ablation --docs docs/training.md
    python -m swin_edu.ablation --data straddle --variants swin "w/o shift" --seeds 0 1 2 --docs docs/training.md

The recorded tables name the command that made them: :func:`recorded_setup` (``["command"]``). The digits table
that ships was made with the ``nano`` preset, not the digits recipe (see docs/training.md).

Variants (only the named switch changes; the model and recipe are those of the data, ``swin_edu.train``):

==========================  =========================================================================
``swin``                    shifted windows + relative position bias (the paper's model)
``w/o shift``               W-MSA in every block (``--no-shift``)
``no pos.``                 no relative position bias and no absolute embedding (``--no-rpb``)
``abs. pos.``               absolute position embedding instead of the relative bias (``--ape --no-rpb``)
``abs. + rel. pos.``        both (``--ape``)
==========================  =========================================================================

**The rule** (:func:`paired_difference`), the same for every variant: each variant is compared with
``swin`` *paired by seed* (the same seed gives both runs the same initial weights where they share
parameters, and the same batches and augmentations), through the mean of the per-seed differences and
its 95 % t-interval (``mean ± t(0.975, n-1) * sd / sqrt(n)``). A variant is called *better* or *worse*
only when the whole interval lies above or below zero; otherwise the table says *not resolved with n
seeds*, whatever the sign of the mean.

Each run is a fresh ``swin_edu.train.train`` call with the seed changed (the data split stays fixed).
Results go to ``OUT/results.json`` (every run: test accuracy, wall time, seed, machine) and, with
``--docs``, to the table between ``<!-- KEY:start -->`` and ``<!-- KEY:end -->`` in that file (KEY:
``ablation`` for digits, ``straddle`` for the straddle task) and to the package's
``swin_edu/results/training_results.json``, which notebook 08 reads (also from an installed wheel).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __name__ == "__main__":  # before torch loads OpenMP: see swin_edu.train_cli.quiet_openmp
    from swin_edu.train_cli import quiet_openmp

    quiet_openmp()

from .train import RECIPES, RUN_FIELDS, TrainArgs, _machine, data_kind, train

__all__ = ["CONFIDENCE", "RESULTS_PATH", "VARIANTS", "build_ablation_parser", "command_line", "load_results", "main", "markdown_table",
           "paired_difference", "recorded_setup", "run_ablation", "summarize", "update_docs", "write_block"]

#: name -> TrainArgs fields that differ from the full model, in the order of the table
VARIANTS: dict[str, dict] = {
    "swin": {},
    "w/o shift": {"no_shift": True},
    "no pos.": {"no_rpb": True},
    "abs. pos.": {"ape": True, "no_rpb": True},
    "abs. + rel. pos.": {"ape": True},
}

DESCRIPTIONS = {
    "swin": "shifted windows + relative position bias (the paper's model)",
    "w/o shift": "W-MSA in every block: no shifted windows",
    "no pos.": "no position information (no relative position bias, no absolute embedding)",
    "abs. pos.": "absolute position embedding instead of the relative bias",
    "abs. + rel. pos.": "absolute embedding and relative bias",
}

#: the confidence level of the interval in the rule
CONFIDENCE = 0.95
RESULTS_NAME = "training_results.json"
#: the recorded results, shipped inside the package (notebook 08 reads them, also from an installed wheel)
RESULTS_PATH = Path(__file__).resolve().parent / "results" / RESULTS_NAME


def paired_difference(values, baseline, confidence: float = CONFIDENCE) -> dict:
    """The rule for comparing a variant with the baseline over seeds: ``values[i]`` and ``baseline[i]``
    come from the same seed. Returns the per-seed differences, their mean, the ``confidence`` t-interval
    of the mean (``low``, ``high``; needs two seeds or more, else infinite) and ``verdict``: ``"better"``
    when ``low > 0``, ``"worse"`` when ``high < 0``, else ``"not resolved"``.

    >>> r = paired_difference([0.98, 0.97, 0.99], [0.97, 0.97, 0.98])
    >>> round(r["mean"], 4), r["verdict"]
    (0.0067, 'not resolved')
    """
    from scipy import stats

    where = "paired_difference"
    v, b = list(values), list(baseline)
    if len(v) != len(b) or not v:
        raise ValueError(f"{where}: values and baseline must be paired (same length, one per seed), got "
                         f"{len(v)} and {len(b)}")
    if not 0 < confidence < 1:
        raise ValueError(f"{where}: confidence must be in (0, 1), got {confidence!r}")
    d = [float(x) - float(y) for x, y in zip(v, b)]
    n = len(d)
    mean = statistics.fmean(d)
    if n < 2:
        low, high, half = -math.inf, math.inf, math.inf
    else:
        sd = statistics.stdev(d)
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    verdict = "better" if low > 0 else "worse" if high < 0 else "not resolved"
    return {"differences": d, "n": n, "mean": mean, "low": low, "high": high, "half_width": half,
            "confidence": confidence, "verdict": verdict}


def run_ablation(base: TrainArgs, seeds: Sequence[int], variants: Sequence[str] | None = None,
                 out: str | os.PathLike = "runs/ablation", log=print) -> dict:
    """Train every variant with every seed; returns ``{"runs": [...], "base": args, "machine": ...}``.
    Results are written to ``out/results.json`` after each run (an interrupted grid keeps what it did)."""
    names = list(variants or VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"run_ablation: unknown variant(s) {unknown}; expected some of {list(VARIANTS)}")
    if not seeds:
        raise ValueError("run_ablation: seeds must name at least one seed")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"base": _plain(dataclasses.asdict(base.resolved())), "machine_start": _machine(), "runs": []}
    for seed in seeds:
        for name in names:
            slug = name.replace("/", "").replace(".", "").replace("+", "plus").replace(" ", "_")
            args = dataclasses.replace(base, seed=int(seed), out=str(out / f"{slug}_seed{seed}"), **VARIANTS[name])
            load_before = _load()
            t0 = time.perf_counter()
            r = train(args)
            wall = time.perf_counter() - t0
            vals = [h["val_acc"] for h in r["history"] if h["val_acc"] is not None]
            run = {"variant": name, "seed": int(seed), "test_acc": r["test"]["acc"],
                   "best_val_acc": max(vals) if vals else None, "final_val_acc": vals[-1] if vals else None,
                   **_run_facts(r, load_before, wall_time_s=wall)}
            _record(results, run, out)
            log(f"{name:>18s}  seed {seed}  test acc {run['test_acc']:.4f}  {wall:6.1f} s  "
                f"(load {load_before} -> {run['load_after']})")
    return results


def _load():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover
        return None


def _run_facts(r: dict, load_before, *, wall_time_s: float) -> dict:
    """What every recorded run says of itself besides its score (one training result ``r`` of ``train``): its time,
    size, length, the machine's load before and after, threads and device."""
    return {"wall_time_s": wall_time_s, "train_time_s": r["train_time_s"], "params": r["params"],
            "epochs": len(r["history"]), "load_before": load_before, "load_after": _load(),
            "threads": r["machine"]["threads"], "device": r["device"]}


def _record(results: dict, run: dict, out: Path) -> None:
    """Append ``run`` and write the results so far to ``out/results.json`` (a stopped grid keeps its runs)."""

    results["runs"].append(run)
    results["machine_end"] = _machine()
    (out / "results.json").write_text(json.dumps(results, indent=2))


def _plain(d):
    return json.loads(json.dumps(d, default=str))


def summarize(results: dict) -> list[dict]:
    """One row per variant: mean and std (sample) of the test accuracy, the wall time, and the comparison
    with ``swin`` by the rule (:func:`paired_difference`, over the seeds both ran)."""
    rows = []
    names = [n for n in VARIANTS if any(r["variant"] == n for r in results["runs"])]
    base = {r["seed"]: r["test_acc"] for r in results["runs"] if r["variant"] == "swin"}
    for name in names:
        runs = sorted((r for r in results["runs"] if r["variant"] == name), key=lambda r: r["seed"])
        acc = [r["test_acc"] for r in runs]
        wall = [r["wall_time_s"] for r in runs]
        row = {"variant": name, "description": DESCRIPTIONS[name], "n": len(runs),
               "seeds": [r["seed"] for r in runs],
               "acc_mean": statistics.fmean(acc), "acc_std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
               "acc_all": acc, "wall_mean": statistics.fmean(wall), "wall_max": max(wall), "params": runs[0]["params"]}
        paired = [(r["test_acc"], base[r["seed"]]) for r in runs if r["seed"] in base]
        if name != "swin" and paired:
            row["vs_swin"] = paired_difference([a for a, _ in paired], [b for _, b in paired])
        rows.append(row)
    return rows


def _verdict(c: dict) -> str:
    if c["verdict"] == "not resolved":
        return f"not resolved with {c['n']} seeds"
    return f"**{c['verdict']}**"


def markdown_table(rows: list[dict]) -> str:
    """The rows as a Markdown table (accuracy in %, mean ± std over the seeds; the difference to swin as the
    mean of the per-seed differences with its 95 % t-interval, and the verdict of the rule)."""
    lines = [("| variant | what changes | test accuracy (%) | Δ vs swin, paired by seed (95 % CI) | verdict "
              "| per-seed accuracy (%) | wall time per run (s, mean / max) | params |"),
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        c = r.get("vs_swin")
        delta = (f"{100 * c['mean']:+.2f} [{100 * c['low']:+.2f}, {100 * c['high']:+.2f}]"
                 if c and math.isfinite(c["low"]) else f"{100 * c['mean']:+.2f} (one seed)" if c else "")
        verdict = _verdict(c) if c else ""
        per_seed = ", ".join(f"{100 * a:.2f}" for a in r["acc_all"])
        lines.append(f"| {r['variant']} | {r['description']} | {100 * r['acc_mean']:.2f} ± {100 * r['acc_std']:.2f} "
                     f"| {delta} | {verdict} | {per_seed} (seeds {', '.join(map(str, r['seeds']))}) "
                     f"| {r['wall_mean']:.0f} / {r['wall_max']:.0f} | {r['params']:,} |")
    return "\n".join(lines)


def update_docs(path: str | os.PathLike, results: dict, *, key: str = "ablation",
                results_path: str | os.PathLike | None = None) -> Path:
    """Write the table between the ``<!-- KEY:start -->`` / ``<!-- KEY:end -->`` markers of ``path``
    (appended with the markers if they are missing) and the summary under ``KEY`` in the results file
    (default: the package's :data:`RESULTS_PATH`)."""
    path = Path(path)
    rows = summarize(results)
    m = results.get("machine_end") or results.get("machine_start", {})
    loads = [r.get("load_before") for r in results["runs"] if r.get("load_before") is not None]
    threads = sorted({r.get("threads") for r in results["runs"] if r.get("threads")})
    note = (f"\n\n_{len(results['runs'])} runs; machine: {m.get('platform', '?')}, {m.get('cpu_count', '?')} CPUs, "
            f"torch {m.get('torch', '?')}, {'/'.join(map(str, threads)) or '?'} thread(s) per run; 1-minute load "
            f"average before the runs: {min(loads):.2f} to {max(loads):.2f}. Δ: mean of the per-seed differences "
            f"to swin with its {100 * CONFIDENCE:.0f} % t-interval; a variant is better or worse only when the "
            f"interval excludes 0._" if loads else "")
    write_block(path, key, f"{markdown_table(rows)}{note}")
    rp = Path(results_path) if results_path is not None else RESULTS_PATH
    existing = json.loads(rp.read_text()) if rp.exists() else {}
    existing[key] = {"rows": rows, "base": results["base"], "machine": m, "runs": results["runs"]}
    rp.parent.mkdir(parents=True, exist_ok=True)
    rp.write_text(json.dumps(existing, indent=2) + "\n")
    return path


def write_block(path: str | os.PathLike, key: str, text: str) -> Path:
    """Replace what lies between ``<!-- KEY:start -->`` and ``<!-- KEY:end -->`` in the Markdown file
    ``path`` by ``text`` (the markers are appended when missing)."""
    path = Path(path)
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    block = f"{start}\n{text}\n{end}"
    old = path.read_text() if path.exists() else ""
    if start in old and end in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + ("\n\n" if old else "") + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)
    return path


def load_results(path: str | os.PathLike | None = None) -> dict:
    """The recorded results (default: the package's :data:`RESULTS_PATH`), or ``{}`` when absent."""
    path = Path(path) if path is not None else RESULTS_PATH
    return json.loads(path.read_text()) if path.exists() else {}


#: command-line flag of each TrainArgs field that a recorded run may set (the others keep their defaults)
_FLAGS = {"preset": "--preset", "data": "--data", "split_seed": "--split-seed", "epochs": "--epochs",
          "batch_size": "--batch-size", "lr": "--lr", "min_lr": "--min-lr", "warmup_epochs": "--warmup-epochs",
          "weight_decay": "--weight-decay", "label_smoothing": "--label-smoothing", "grad_clip": "--grad-clip",
          "drop_path": "--drop-path", "translate": "--translate", "degrees": "--degrees", "erase": "--erase",
          "mixup": "--mixup", "cutmix": "--cutmix", "ema": "--ema", "threads": "--threads"}


def command_line(base: dict, seeds: Sequence[int], variants: Sequence[str] | None = None) -> str:
    """The ``python -m swin_edu.ablation`` command that trains the grid whose recorded base arguments are ``base``
    (a dict of :class:`~swin_edu.train.TrainArgs` fields, as ``results.json`` stores them) with ``seeds`` and
    ``variants``: every field that differs from what the command line would use by itself is given as a flag."""
    if not isinstance(base, dict):
        raise TypeError(f"command_line: base must be a dict of TrainArgs fields, got {type(base).__name__}")
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__") or not list(seeds) or \
            not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"command_line: seeds must be a non-empty sequence of ints >= 0, got {seeds!r}")
    unknown = [v for v in (variants or ()) if v not in VARIANTS]
    if unknown:
        raise ValueError(f"command_line: unknown variant(s) {unknown}; expected some of {list(VARIANTS)}")
    defaults = dataclasses.asdict(TrainArgs(data=base.get("data", "digits")))
    recipe = RECIPES[data_kind(base.get("data", "digits"))]
    parts = ["python -m swin_edu.ablation"]
    for field, flag in _FLAGS.items():
        if field not in base:
            continue
        value, default = base[field], recipe.get(field, "digits" if field == "data" else defaults[field])
        if value is None or value == default or (field == "threads" and value is None):
            continue
        parts.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    if "augment" in base and base["augment"] != recipe.get("augment", defaults["augment"]):
        parts.append("--augment" if base["augment"] else "--no-augment")
    if "scale" in base and tuple(base["scale"]) != tuple(defaults["scale"]):
        parts.append(f"--scale {base['scale'][0]:g} {base['scale'][1]:g}")
    for field, flag in (("no_shift", "--no-shift"), ("no_rpb", "--no-rpb"), ("ape", "--ape")):
        if base.get(field):
            parts.append(flag)
    parts.append("--seeds " + " ".join(str(int(s)) for s in seeds))
    if variants is not None and list(variants) != list(VARIANTS):
        parts.append("--variants " + " ".join(f'"{v}"' for v in variants))
    return " ".join(parts)


def recorded_setup(key: str = "ablation", results: dict | None = None) -> dict:
    """What produced a recorded table (``key``: ``"ablation"`` or ``"straddle"``), read from the recorded results:
    ``preset`` (None: the model of the data, ``swin_edu.train.MODELS``), ``data``, ``epochs``, ``lr``,
    ``warmup_epochs``, ``drop_path``, ``batch_size``, ``augment``, ``seeds``, ``variants``, ``cfg`` (the full model's
    :class:`~swin_edu.config.SwinConfig`), ``params`` (its parameter count, computed from ``cfg``; the table's
    ``swin`` row must agree), ``command`` (:func:`command_line`) and ``same_recipe_as_data`` (whether every run field
    is the data's default recipe and model: then plain ``python -m swin_edu.train`` trains its ``swin`` runs)."""
    from .complexity import param_count
    from .train import build_config

    results = load_results() if results is None else results
    if key not in results:
        raise KeyError(f"recorded_setup: no recorded results under {key!r} (have {sorted(results)})")
    rec = results[key]
    base = rec["base"]
    fields = {f.name for f in dataclasses.fields(TrainArgs)}
    args = TrainArgs(**{k: (tuple(v) if k == "scale" else v) for k, v in base.items()
                        if k in fields and k not in ("out", "resume")}).resolved()
    cfg = build_config(args)
    if data_kind(args.data) == "digits":
        cfg = cfg.replace(in_chans=1, num_classes=10)
    seeds = sorted({r["seed"] for r in rec["runs"]})
    variants = [n for n in VARIANTS if any(r["variant"] == n for r in rec["runs"])]
    default = TrainArgs(data=args.data, seed=args.seed).resolved()
    same = all(getattr(args, f) == getattr(default, f) for f in RUN_FIELDS if f != "seed") and args.epochs == default.epochs
    return {"preset": args.preset, "data": args.data, "epochs": args.epochs, "lr": args.lr,
            "warmup_epochs": args.warmup_epochs, "drop_path": args.drop_path, "batch_size": args.batch_size,
            "augment": args.augment, "seeds": seeds, "variants": variants, "cfg": cfg, "params": param_count(cfg),
            "command": command_line(base, seeds, variants), "same_recipe_as_data": same}


def build_ablation_parser():
    """The command line of ``python -m swin_edu.ablation``: ``swin_edu.train``'s options and the grid's."""
    from .train_cli import build_parser

    parser = build_parser()
    parser.prog = "python -m swin_edu.ablation"
    parser.description = ("Run the ablation grid (variants x seeds) with the training options below and "
                          "write the table. " + (__doc__ or "").split("\n")[0])
    g = parser.add_argument_group("ablation")
    g.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    g.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), metavar="NAME",
                   help=f"some of: {', '.join(repr(v) for v in VARIANTS)}")
    g.add_argument("--docs", default=None, help="Markdown file whose table to (re)write (and the package's "
                   "results file)")
    g.add_argument("--key", default=None, help="the table's marker and results key (default: 'ablation' for "
                   "digits, else the kind of data)")
    g.add_argument("--from-results", nargs="+", default=None, metavar="RESULTS_JSON",
                   help="do not train: merge these results.json files (e.g. of grids run in parallel) and "
                        "print / write the table")
    parser.set_defaults(out="runs/ablation", progress=False, verbose=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .train_cli import args_from_namespace

    parser = build_ablation_parser()
    ns = parser.parse_args(argv)
    key = ns.key or ("ablation" if data_kind(ns.data) == "digits" else data_kind(ns.data))
    if ns.from_results:
        parts = [json.loads(Path(f).read_text()) for f in ns.from_results]
        results = {**parts[0], "runs": [r for p in parts for r in p["runs"]],
                   "machine_end": parts[-1].get("machine_end", parts[-1].get("machine_start", {}))}
    else:
        seeds, variants, docs = ns.seeds, ns.variants, ns.docs
        for k in ("seeds", "variants", "docs", "from_results", "key"):
            delattr(ns, k)
        out = ns.out
        try:
            base = args_from_namespace(ns)
        except (ValueError, TypeError) as e:
            parser.error(str(e))
        results = run_ablation(base, seeds, variants, out, log=lambda s: print(s, flush=True))
        ns.docs = docs
    print(markdown_table(summarize(results)))
    if ns.docs:
        print(f"wrote {update_docs(ns.docs, results, key=key)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
