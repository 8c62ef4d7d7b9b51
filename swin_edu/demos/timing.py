"""A small benchmark helper for the notebooks: it returns timings and asserts nothing about them.

Timings depend on the machine, its load and the BLAS threads; a notebook displays them, a test never
compares them. The candidates are run in turn (round robin), so that a slow period of a shared machine
spreads over all of them instead of penalising one.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._validate import check_int

__all__ = ["time_callables"]


def time_callables(fns: Mapping[str, Callable[[], Any]], *, repeats: int = 5, warmup: int = 1,
                   sync: Callable[[], Any] | None = None) -> dict[str, dict[str, Any]]:
    """Time each zero-argument callable of ``fns`` (name -> callable).

    Each runs ``warmup`` times untimed, then ``repeats`` timed runs, interleaved with the others. ``sync``
    (e.g. ``torch.cuda.synchronize``) is called before each clock reading, for asynchronous devices.
    Returns ``{name: {"median_s": float, "best_s": float, "runs_s": [float, ...]}}`` in the order of ``fns``.
    """
    where = "time_callables"
    if not isinstance(fns, Mapping) or not fns:
        raise TypeError(f"{where}: fns must be a non-empty mapping of name -> callable, got {fns!r}")
    for name, fn in fns.items():
        if not isinstance(name, str) or not callable(fn):
            raise TypeError(f"{where}: fns must map str names to zero-argument callables, got {name!r}: {fn!r}")
    repeats = check_int(repeats, "repeats", where=where)
    warmup = check_int(warmup, "warmup", minimum=0, where=where)
    if sync is not None and not callable(sync):
        raise TypeError(f"{where}: sync must be callable or None, got {type(sync).__name__}")
    sync = sync or (lambda: None)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            runs[name].append(time.perf_counter() - start)
    return {name: {"median_s": float(np.median(r)), "best_s": float(min(r)), "runs_s": r} for name, r in runs.items()}
