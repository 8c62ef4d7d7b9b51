#!/usr/bin/env python3
"""Would packed weights make Swin-T's matrix products faster on this CPU? Times every linear layer of one
Swin-T forward (qkv, proj, fc1, fc2 of each block, the patch-merging reductions, the head; batch 8, 224 x 224,
fp32) three ways, alternating over rounds, and sums them weighted by how often the forward calls each shape:

* ``F.linear``: MKL's sgemm on the weight as it is. What the plain and the optimized model run.
* ``oneDNN packed``: the weight reordered once into oneDNN's blocked layout (``torch.ops.mkldnn._reorder_linear_weight``)
  and multiplied with ``torch.ops.mkldnn._linear_pointwise``: what ``torch.compile(..., freezing=True)`` and the
  course's previous, removed fast path use.
* ``MKL packed``: the weight packed once by MKL (``torch.ops.mkl._mkl_reorder_linear_weight`` /
  ``torch.ops.mkl._mkl_linear``): inductor's fp32 choice where MKL is available.

The packed ways use private torch operators and a *copy* of each weight (stale after any weight change); this
script only measures what they would buy (docs/benchmarks.md, "Why not 1.5x"). Not a test: timings depend on
the machine; run it on a quiet one.

    flock /tmp/swin-edu-bench.lock .venv/bin/python tools/bench_products.py
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def shapes(img_size: int = 224, batch: int = 8, patch: int = 4, embed_dim: int = 96,
           depths: tuple[int, ...] = (2, 2, 6, 2), mlp_ratio: int = 4, classes: int = 1000) -> list[tuple]:
    """``(name, rows, in_features, out_features, calls per forward)`` of every linear layer of a Swin model."""
    out = []
    side = img_size // patch
    for i, depth in enumerate(depths):
        c, rows = embed_dim * 2 ** i, batch * side * side
        out += [(f"stage {i + 1} qkv", rows, c, 3 * c, depth), (f"stage {i + 1} proj", rows, c, c, depth),
                (f"stage {i + 1} fc1", rows, c, mlp_ratio * c, depth),
                (f"stage {i + 1} fc2", rows, mlp_ratio * c, c, depth)]
        if i < len(depths) - 1:
            side //= 2
            out.append((f"merge {i + 1}", batch * side * side, 4 * c, 2 * c, 1))
    out.append(("head", batch, embed_dim * 2 ** (len(depths) - 1), classes, 1))
    return out


def ways(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> dict:
    """The three ways of computing ``F.linear(x, w, b)``, as functions of no argument (packing done here)."""
    rows = x.shape[0]
    out = {"F.linear": lambda: F.linear(x, w, b)}
    try:
        pw = torch.ops.mkldnn._reorder_linear_weight(w, rows)
        out["oneDNN packed"] = lambda: torch.ops.mkldnn._linear_pointwise(x, pw, b, "none", [], "")
    except (AttributeError, RuntimeError):
        pass
    try:
        pm = torch.ops.mkl._mkl_reorder_linear_weight(w, rows)
        out["MKL packed"] = lambda: torch.ops.mkl._mkl_linear(x, pm, w, b, rows)
    except (AttributeError, RuntimeError):
        pass
    ref = out["F.linear"]()
    for name, fn in out.items():  # every way computes the same product (fp32 sums in another order)
        torch.testing.assert_close(fn(), ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item(), msg=name)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iters", type=int, default=3, help="timed calls per way per round")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load0 = os.getloadavg()[0]
    rows_out, totals = [], {}
    for name, rows, k, n, calls in shapes(args.img_size, args.batch):
        x, w, b = torch.randn(rows, k), torch.randn(n, k) * k ** -0.5, torch.randn(n)
        fns = ways(x, w, b)
        times: dict[str, list[float]] = {m: [] for m in fns}
        for fn in fns.values():
            fn()
        for _ in range(args.rounds):
            for m, fn in fns.items():
                t = time.perf_counter()
                for _ in range(args.iters):
                    fn()
                times[m].append((time.perf_counter() - t) / args.iters * 1e3)
        med = {m: statistics.median(v) for m, v in times.items()}
        for m, v in med.items():
            totals[m] = totals.get(m, 0.0) + v * calls
        rows_out.append((name, rows, k, n, calls, med))
    names = list(totals)
    print("| layer | rows x in -> out | calls | " + " | ".join(f"{m} (ms)" for m in names) + " |")
    print("|---|---|---:|" + "---:|" * len(names))
    for name, rows, k, n, calls, med in rows_out:
        print(f"| {name} | {rows} x {k} -> {n} | {calls} | " + " | ".join(f"{med.get(m, float('nan')):.2f}"
                                                                       for m in names) + " |")
    print("| **one forward** | | | " + " | ".join(f"**{totals[m]:.0f}**" for m in names) + " |")
    print()
    base = totals["F.linear"]
    print("; ".join(f"{m}: {base / totals[m]:.2f}x F.linear" for m in names[1:]) or "no packed way available")
    print(f"_median of {args.rounds} rounds x {args.iters} calls per way and shape, batch {args.batch}, "
          f"{args.img_size} x {args.img_size}, fp32, {torch.get_num_threads()} thread(s); {platform.platform()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}; 1-minute load average {load0:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after._")
    return 0


if __name__ == "__main__":
    sys.exit(main())
