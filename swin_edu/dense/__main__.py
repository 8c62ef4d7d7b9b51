"""``python -m swin_edu.dense``: the comparison of notebook 09's heads (:mod:`swin_edu.dense.compare`), its table and,
with ``--docs``, the recorded results."""
from __future__ import annotations

import sys
from collections.abc import Sequence

from .compare import compare_heads, heads_table, summarize_heads, update_docs
from . import HEADS

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m swin_edu.dense``: the comparison of the heads (:func:`compare_heads`), its table, and with
    ``--docs`` the recorded results (:func:`update_docs`)."""
    import argparse
    import json
    from pathlib import Path

    p = argparse.ArgumentParser(prog="python -m swin_edu.dense",
                                description="Multi-scale (FPN) head against last-stage head on the scenes task: "
                                            "same backbone, same recipe, several seeds, paired by seed.")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--heads", nargs=2, default=["fpn", "last"], choices=sorted(HEADS))
    p.add_argument("--data", default="scenes", help="'scenes' or 'scenes:key=value,...' (swin_edu.dense.parse_scenes)")
    p.add_argument("--epochs", type=int, default=None, help="default: the scenes recipe's")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/scenes")
    p.add_argument("--docs", default=None, help="Markdown file whose <!-- scenes --> table to (re)write, and the "
                   "package's recorded results")
    p.add_argument("--key", default="scenes")
    p.add_argument("--from-results", nargs="+", default=None, metavar="RESULTS_JSON",
                   help="do not train: merge these results.json files and print / write the table")
    ns = p.parse_args(argv)
    if ns.from_results:
        parts = [json.loads(Path(f).read_text()) for f in ns.from_results]
        results = {**parts[0], "runs": [r for q in parts for r in q["runs"]],
                   "machine_end": parts[-1].get("machine_end", parts[-1].get("machine_start", {}))}
    else:
        try:
            results = compare_heads(ns.seeds, heads=ns.heads, out=ns.out, data=ns.data, epochs=ns.epochs,
                                    threads=ns.threads, log=lambda s: print(s, flush=True))
        except (ValueError, TypeError) as e:
            p.error(str(e))
    print(heads_table(summarize_heads(results)))
    if ns.docs:
        print(f"wrote {update_docs(ns.docs, results, key=ns.key)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
