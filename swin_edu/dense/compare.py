"""The measurement of notebook 09: the multi-scale (FPN) head against the last-stage head, same backbone and budget,
several seeds, paired by seed with the course's rule (:func:`swin_edu.ablation.paired_difference`), its table and
its recorded results. It trains with :mod:`swin_edu.train` (which uses :mod:`swin_edu.dense`'s models), so it is a
module of its own; ``python -m swin_edu.dense`` is its command line (:mod:`swin_edu.dense.__main__`)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from . import HEADS, METRICS

__all__ = ["compare_heads", "heads_table", "summarize_heads", "update_docs"]


def compare_heads(seeds: Sequence[int], *, heads: Sequence[str] = ("fpn", "last"), out="runs/scenes",
                  log=print, build=None, **train_kwargs) -> dict:
    """Train the scenes task with every head of ``heads`` and every seed of ``seeds`` (``swin_edu.train.train``
    with the scenes recipe; ``train_kwargs``: other :class:`~swin_edu.train.TrainArgs` fields, e.g. ``threads=1``,
    ``data="scenes:small=6"``). The same seed gives both heads the same backbone initialisation and the same
    batches. ``build(cfg, head)``: makes each model (after ``torch.manual_seed(seed)``), e.g. with the learner's
    backbone and head (notebook 09); by default the package's, exactly as ``python -m swin_edu.train`` builds it.
    Returns ``{"runs": [...], "base": args, "machine_start": ..., "machine_end": ...}``; the runs are written to
    ``out/results.json`` after each (an interrupted grid keeps what it did)."""
    import dataclasses
    from pathlib import Path

    from ..ablation import _load, _plain, _record, _run_facts
    from ..train import TrainArgs, _machine, build_config, train

    unknown = [h for h in heads if h not in HEADS]
    if unknown or not heads:
        raise ValueError(f"compare_heads: heads must be some of {sorted(HEADS)}, got {list(heads)!r}")
    if not seeds:
        raise ValueError("compare_heads: seeds must name at least one seed")
    base = TrainArgs(**{"data": "scenes", "progress": False, "verbose": False, **train_kwargs})
    cfg = build_config(base)
    from ..data import load_data

    splits = load_data(base.data, cfg.img_size, cfg.in_chans, split_seed=base.split_seed, cfg=cfg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"base": _plain(dataclasses.asdict(base.resolved())), "data": splits.describe(),
               "machine_start": _machine(), "runs": []}
    for seed in seeds:
        for head in heads:
            args = dataclasses.replace(base, head=head, seed=int(seed), out=str(out / f"{head}_seed{seed}"))
            load_before = _load()
            model = None
            if build is not None:
                torch.manual_seed(int(seed))
                model = build(build_config(args, splits), head)
            r = train(args, data=splits, model=model)
            t = r["test"]
            run = {"head": head, "seed": int(seed), **{k: t[k] for k in METRICS}, "pixel_acc": t["pixel_acc"],
                   "iou": t["iou"], **_run_facts(r, load_before, wall_time_s=r["wall_time_s"])}
            _record(results, run, out)
            log(f"{head:>5s}  seed {seed}  mIoU {run['miou']:.4f}  small {run['miou_small']:.4f}  large "
                f"{run['miou_large']:.4f}  {run['wall_time_s']:6.1f} s  (load {load_before} -> {run['load_after']})")
    return results


def summarize_heads(results: dict) -> dict:
    """Per head, the per-seed scores (``{head: {"seeds": [...], metric: [...], "params": n, "wall": [...]}}``) and,
    under ``"vs"``, each metric of the first head minus the second's by the course's rule
    (:func:`swin_edu.ablation.paired_difference`, over the seeds both ran)."""
    from ..ablation import paired_difference

    heads = list(dict.fromkeys(r["head"] for r in results["runs"]))
    out: dict = {"heads": heads}
    for head in heads:
        runs = sorted((r for r in results["runs"] if r["head"] == head), key=lambda r: r["seed"])
        out[head] = {"seeds": [r["seed"] for r in runs], **{m: [r[m] for r in runs] for m in METRICS},
                     "params": runs[0]["params"], "wall": [r["wall_time_s"] for r in runs]}
    if len(heads) >= 2:
        a, b = out[heads[0]], out[heads[1]]
        seeds = [s for s in a["seeds"] if s in b["seeds"]]
        out["vs"] = {m: paired_difference([a[m][a["seeds"].index(s)] for s in seeds],
                                          [b[m][b["seeds"].index(s)] for s in seeds]) for m in METRICS}
        out["vs"]["seeds"] = seeds
    return out


def heads_table(summary: dict) -> str:
    """The comparison as a Markdown table: the mean ± sd of each score per head, then the paired difference with
    its 95 % interval and the verdict of the rule."""
    import statistics

    heads = summary["heads"]
    lines = ["| head | reads | params | " + " | ".join(f"test mIoU, {v} (%)" for v in METRICS.values())
             + " | wall time per run (s, mean / max) |", "|---|---|---|" + "---|" * len(METRICS) + "---|"]
    for head in heads:
        s = summary[head]

        def cell(m, s=s):
            v = s[m]
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            return f"{100 * statistics.fmean(v):.1f} ± {100 * sd:.1f} ({', '.join(f'{100 * x:.1f}' for x in v)})"
        lines.append(f"| {head} | {HEADS[head]} | {s['params']:,} | " + " | ".join(cell(m) for m in METRICS)
                     + f" | {statistics.fmean(s['wall']):.0f} / {max(s['wall']):.0f} |")
    if "vs" in summary:
        vs = summary["vs"]

        def diff(m):
            c = vs[m]
            word = f"**{c['verdict']}**" if c["verdict"] != "not resolved" else f"not resolved with {c['n']} seeds"
            interval = (f"[{100 * c['low']:+.1f}, {100 * c['high']:+.1f}]" if math.isfinite(c["low"])
                        else "(one seed)")
            return f"{100 * c['mean']:+.1f} {interval}: {word}"
        lines.append(f"| {heads[0]} − {heads[1]}, paired by seed (95 % CI) | | | "
                     + " | ".join(diff(m) for m in METRICS) + " | |")
    return "\n".join(lines)


def update_docs(path, results: dict, *, key: str = "scenes", results_path=None):
    """Write the table between the ``<!-- KEY:start -->`` / ``<!-- KEY:end -->`` markers of the Markdown file
    ``path`` and the summary under ``KEY`` in the results file (default: the package's
    :data:`swin_edu.ablation.RESULTS_PATH`, which notebook 09 reads)."""
    import json
    from pathlib import Path

    from ..ablation import RESULTS_PATH, write_block

    summary = summarize_heads(results)
    m = results.get("machine_end") or results.get("machine_start", {})
    loads = [r["load_before"] for r in results["runs"] if r.get("load_before") is not None]
    threads = sorted({r.get("threads") for r in results["runs"] if r.get("threads")})
    note = (f"\n\n_{len(results['runs'])} runs on {results.get('data', 'scenes')}; machine: {m.get('platform', '?')}, "
            f"{m.get('cpu_count', '?')} CPUs, torch {m.get('torch', '?')}, {'/'.join(map(str, threads)) or '?'} "
            f"thread(s) per run; 1-minute load average before the runs: {min(loads):.2f} to {max(loads):.2f}. "
            f"mIoU: mean IoU over the digit classes (background not averaged), all test pixels, and inside the "
            f"squares of the small / large digits only; a difference is *better* or *worse* only when its 95 % "
            f"t-interval excludes 0._" if loads else "")
    write_block(path, key, heads_table(summary) + note)
    rp = Path(results_path) if results_path is not None else RESULTS_PATH
    existing = json.loads(rp.read_text()) if rp.exists() else {}
    existing[key] = {"summary": summary, "base": results["base"], "data": results.get("data"), "machine": m,
                     "runs": results["runs"]}
    rp.parent.mkdir(parents=True, exist_ok=True)
    rp.write_text(json.dumps(existing, indent=2) + "\n")
    return Path(path)
