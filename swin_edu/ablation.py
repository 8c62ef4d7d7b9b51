"""The paper's ablations (its Table 4) on digits, on the same budget as the full run, over several seeds.

    python -m swin_edu.ablation --seeds 0 1 2 --out runs/ablation --docs docs/training.md

Variants (the model is the nano preset; only the named switch changes):

==========================  =========================================================================
``swin``                    shifted windows + relative position bias (the paper's model)
``w/o shift``               W-MSA in every block (``--no-shift``)
``no pos.``                 no relative position bias and no absolute embedding (``--no-rpb``)
``abs. pos.``               absolute position embedding instead of the relative bias (``--ape --no-rpb``)
``abs. + rel. pos.``        both (``--ape``)
==========================  =========================================================================

Each run is a fresh ``swin_edu.train.train`` call with the seed changed (the data split stays fixed).
Results go to ``OUT/results.json`` (every run: test accuracy, wall time, seed, machine) and, with
``--docs``, to the table between ``<!-- ablation:start -->`` and ``<!-- ablation:end -->`` in that file
(plus a ``docs/training_results.json`` next to it that notebook 08 reads).
"""
from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __name__ == "__main__" and "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see swin_edu/train.py: before torch loads OpenMP

from .train import TrainArgs, _machine, args_from_namespace, build_parser, train

__all__ = ["VARIANTS", "load_results", "main", "markdown_table", "run_ablation", "summarize", "update_docs"]

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

START, END = "<!-- ablation:start -->", "<!-- ablation:end -->"
RESULTS_NAME = "training_results.json"


def run_ablation(base: TrainArgs, seeds: Sequence[int], variants: Sequence[str] | None = None,
                 out: str | os.PathLike = "runs/ablation", log=print) -> dict:
    """Train every variant with every seed; returns ``{"runs": [...], "base": args, "machine": ...}``.
    Results are written to ``out/results.json`` after each run (an interrupted grid keeps what it did)."""
    names = list(variants or VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"run_ablation: unknown variant(s) {unknown}; expected some of {list(VARIANTS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"base": _plain(dataclasses.asdict(base)), "machine_start": _machine(), "runs": []}
    for seed in seeds:
        for name in names:
            slug = name.replace("/", "").replace(".", "").replace("+", "plus").replace(" ", "_")
            args = dataclasses.replace(base, seed=int(seed), out=str(out / f"{slug}_seed{seed}"), **VARIANTS[name])
            load_before = _load()
            t0 = time.perf_counter()
            r = train(args)
            wall = time.perf_counter() - t0
            run = {"variant": name, "seed": int(seed), "test_acc": r["test"]["acc"],
                   "best_val_acc": max(h["val_acc"] for h in r["history"]),
                   "final_val_acc": r["history"][-1]["val_acc"], "wall_time_s": wall,
                   "train_time_s": r["train_time_s"], "params": r["params"], "epochs": len(r["history"]),
                   "load_before": load_before, "load_after": _load(), "threads": r["machine"]["threads"],
                   "device": r["device"]}
            results["runs"].append(run)
            results["machine_end"] = _machine()
            (out / "results.json").write_text(json.dumps(results, indent=2))
            log(f"{name:>18s}  seed {seed}  test acc {run['test_acc']:.4f}  {wall:6.1f} s  "
                f"(load {load_before} -> {run['load_after']})")
    return results


def _load():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover
        return None


def _plain(d):
    return json.loads(json.dumps(d, default=str))


def summarize(results: dict) -> list[dict]:
    """One row per variant: mean and std (sample) of the test accuracy and of the wall time."""
    rows = []
    names = [n for n in VARIANTS if any(r["variant"] == n for r in results["runs"])]
    for name in names:
        runs = [r for r in results["runs"] if r["variant"] == name]
        acc = [r["test_acc"] for r in runs]
        wall = [r["wall_time_s"] for r in runs]
        rows.append({"variant": name, "description": DESCRIPTIONS[name], "n": len(runs),
                     "seeds": [r["seed"] for r in runs],
                     "acc_mean": statistics.fmean(acc), "acc_std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                     "acc_all": acc, "wall_mean": statistics.fmean(wall),
                     "wall_max": max(wall), "params": runs[0]["params"]})
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The rows as a Markdown table (accuracy in %, mean ± std over the seeds)."""
    base = next((r for r in rows if r["variant"] == "swin"), None)
    lines = [("| variant | what changes | test accuracy (%) | Δ vs swin | runs (seeds) | per-seed accuracy (%) "
             "| wall time per run (s, mean / max) | params |"),
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        delta = "" if base is None or r is base else f"{100 * (r['acc_mean'] - base['acc_mean']):+.2f}"
        per_seed = ", ".join(f"{100 * a:.2f}" for a in r["acc_all"])
        lines.append(f"| {r['variant']} | {r['description']} | {100 * r['acc_mean']:.2f} ± {100 * r['acc_std']:.2f} "
                     f"| {delta} | {r['n']} ({', '.join(map(str, r['seeds']))}) | {per_seed} "
                     f"| {r['wall_mean']:.0f} / {r['wall_max']:.0f} | {r['params']:,} |")
    return "\n".join(lines)


def update_docs(path: str | os.PathLike, results: dict) -> Path:
    """Write the table between the markers of ``path`` (appended with the markers if they are missing)
    and the summary to ``training_results.json`` beside it."""
    path = Path(path)
    rows = summarize(results)
    m = results.get("machine_end") or results.get("machine_start", {})
    loads = [r.get("load_before") for r in results["runs"] if r.get("load_before") is not None]
    threads = sorted({r.get("threads") for r in results["runs"] if r.get("threads")})
    note = (f"\n\n_{len(results['runs'])} runs; machine: {m.get('platform', '?')}, {m.get('cpu_count', '?')} CPUs, "
            f"torch {m.get('torch', '?')}, {'/'.join(map(str, threads)) or '?'} thread(s) per run; 1-minute load "
            f"average before the runs: {min(loads):.2f} to {max(loads):.2f}._" if loads else "")
    block = f"{START}\n{markdown_table(rows)}{note}\n{END}"
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + ("\n\n" if text else "") + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    summary = {"ablation": rows, "base": results["base"], "machine": m, "runs": results["runs"]}
    existing = {}
    rp = path.parent / RESULTS_NAME
    if rp.exists():
        existing = json.loads(rp.read_text())
    existing.update(summary)
    rp.write_text(json.dumps(existing, indent=2) + "\n")
    return path


def load_results(path: str | os.PathLike | None = None) -> dict:
    """The recorded results (``docs/training_results.json`` of the repository), or ``{}`` when absent."""
    if path is None:
        path = Path(__file__).resolve().parents[1] / "docs" / RESULTS_NAME
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.prog = "python -m swin_edu.ablation"
    parser.description = ("Run the ablation grid (variants x seeds) with the training options below and "
                          "write the table. " + (__doc__ or "").split("\n")[0])
    g = parser.add_argument_group("ablation")
    g.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    g.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), metavar="NAME",
                   help=f"some of: {', '.join(repr(v) for v in VARIANTS)}")
    g.add_argument("--docs", default=None, help="Markdown file whose ablation table to (re)write")
    g.add_argument("--from-results", nargs="+", default=None, metavar="RESULTS_JSON",
                   help="do not train: merge these results.json files (e.g. of grids run in parallel) and "
                        "print / write the table")
    parser.set_defaults(out="runs/ablation", progress=False, verbose=False)
    ns = parser.parse_args(argv)
    if ns.from_results:
        parts = [json.loads(Path(f).read_text()) for f in ns.from_results]
        results = {**parts[0], "runs": [r for p in parts for r in p["runs"]],
                   "machine_end": parts[-1].get("machine_end", parts[-1].get("machine_start", {}))}
    else:
        seeds, variants, docs = ns.seeds, ns.variants, ns.docs
        for k in ("seeds", "variants", "docs", "from_results"):
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
        print(f"wrote {update_docs(ns.docs, results)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
