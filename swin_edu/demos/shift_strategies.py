"""Three ways to let windows talk, compared (the paper's Table 5): cyclic shift + mask, padding the
displaced windows, and sliding windows.

- **cyclic shift + mask** (Swin): roll the map by -s, the same (h/M)(w/M) windows as W-MSA, a 0/-100
  mask, roll back. ``numpy_ref.shifted_window_attention``.
- **padding** (the naive baseline): the window grid displaced by s cuts the map into (h/M + 1)(w/M + 1)
  uneven windows; pad each to M x M and mask the padded keys. :func:`padded_shifted_window_attention`
  does it batched (pad the map by M - s before and s after, one window partition), the way one would
  implement it for speed; ``numpy_ref.padded_window_attention`` loops over the windows and is the check.
- **sliding windows**: every query attends to the M x M neighbourhood centred on it
  (``numpy_ref.sliding.sliding_window_attention``); not the same function as the other two (different
  neighbourhoods), the paper's slower alternative.

:func:`shift_strategy_costs` counts windows and MACs (exact, asserted by the notebook);
:func:`time_shift_strategies` times the numpy implementations (displayed only).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import complexity
from .. import numpy_ref as snp
from .._validate import check_array, check_int
from ..numpy_ref.model import _get  # the official-name lookup of numpy_ref (one copy)
from ..numpy_ref.sliding import sliding_window_attention
from ._checks import map_window_shift
from .timing import time_callables

__all__ = ["padded_shifted_window_attention", "random_attention_params", "shift_strategy_costs", "time_shift_strategies"]


def padded_shifted_window_attention(x: np.ndarray, params: Mapping[str, Any], num_heads: int, window_size: int,
                                    shift_size: int) -> np.ndarray:
    """SW-MSA by padding, batched: zero-pad the (B, H, W, C) map by M - s at the top/left and s at the
    bottom/right, so that the displaced grid becomes a regular grid of (H/M + 1)(W/M + 1) windows, and run
    window attention on all of them at once with the padded keys masked out (-inf). ``params`` as
    ``numpy_ref.shifted_window_attention`` (official names ``qkv.weight``, ...). M must divide H and W.
    With ``shift_size=0`` there is nothing to pad: plain W-MSA. Equals the cyclic shift + mask."""
    where = "padded_shifted_window_attention"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", where=where)
    _, H, W, C = x.shape
    _, _, M, s = map_window_shift(H, W, window_size, shift_size, where)
    if not isinstance(params, Mapping):
        raise TypeError(f"{where}: params must be a mapping of official names -> arrays, got {type(params).__name__}")
    if s == 0:
        return snp.shifted_window_attention(x, params, num_heads, M, 0)
    pad = ((0, 0), (M - s, s), (M - s, s), (0, 0))
    windows = snp.window_partition(np.pad(x, pad), M).reshape(-1, M * M, C)
    real = snp.window_partition(np.pad(np.ones((1, H, W, 1)), pad), M).reshape(-1, 1, M * M) > 0
    nW = real.shape[0]
    mask = np.broadcast_to(np.where(real, 0.0, -np.inf), (nW, M * M, M * M))   # padded keys: weight 0
    out = snp.window_attention(
        windows, _get(params, "qkv.weight", where), _get(params, "qkv.bias", where, optional=True),
        _get(params, "proj.weight", where), _get(params, "proj.bias", where, optional=True), num_heads,
        relative_position_bias_table=_get(params, "relative_position_bias_table", where, optional=True), mask=mask)
    out = snp.window_reverse(out.reshape(-1, M, M, C), M, H + M, W + M)
    return out[:, M - s:M - s + H, M - s:M - s + W]


def shift_strategy_costs(h: int, w: int, C: int, M: int, s: int | None = None) -> dict[str, dict[str, int]]:
    """Windows and MACs of one shifted-window attention layer on an h x w x C map, done three ways.

    Returns ``{"cyclic shift + mask": {...}, "padding": {...}, "sliding window": {...}}``, each with
    ``windows`` (attention windows computed; for sliding windows, one neighbourhood per query) and
    ``macs`` (``complexity.wmsa_macs``, ``padded_wmsa_macs``, ``sliding_window_macs``). ``s`` defaults to
    floor(M/2). Swin-T stage 1 (56, 56, 96, 7): 64 / 81 / 3136 windows; the padding costs 81/64 = 1.27x
    the MACs, the sliding window the same MACs as the cyclic shift."""
    where = "shift_strategy_costs"
    M = check_int(M, "M", where=where)
    s = M // 2 if s is None else check_int(s, "s", minimum=0, where=where)
    h, w = check_int(h, "h", where=where), check_int(w, "w", where=where)
    rows, cols = complexity.shifted_window_count(h, w, M, 0)
    padded = complexity.padded_wmsa_breakdown(h, w, C, M, s)
    return {
        "cyclic shift + mask": {"windows": rows * cols, "macs": complexity.wmsa_macs(h, w, C, M)},
        "padding": {"windows": padded["windows"], "macs": complexity.padded_wmsa_macs(h, w, C, M, s)},
        "sliding window": {"windows": h * w, "macs": complexity.sliding_window_macs(h, w, C, M)},
    }


def random_attention_params(C: int, num_heads: int, window_size: int, *, seed: int = 0,
                            dtype=np.float32) -> dict[str, np.ndarray]:
    """Random attention weights with the official names (``qkv.weight`` (3C, C), ``qkv.bias``,
    ``proj.weight``, ``proj.bias``, ``relative_position_bias_table`` ((2M-1)^2, heads)), seeded."""
    where = "random_attention_params"
    C = check_int(C, "C", where=where)
    nH = check_int(num_heads, "num_heads", where=where)
    M = check_int(window_size, "window_size", where=where)
    seed = check_int(seed, "seed", minimum=0, where=where)
    if C % nH:
        raise ValueError(f"{where}: num_heads={nH} must divide C={C}")
    rng = np.random.default_rng(seed)
    shapes = {"qkv.weight": (3 * C, C), "qkv.bias": (3 * C,), "proj.weight": (C, C), "proj.bias": (C,),
              "relative_position_bias_table": ((2 * M - 1) ** 2, nH)}
    scale = {"qkv.weight": C ** -0.5, "proj.weight": C ** -0.5}
    return {k: (scale.get(k, 0.1) * rng.standard_normal(shape)).astype(dtype) for k, shape in shapes.items()}


def time_shift_strategies(H: int = 28, W: int = 28, C: int = 48, window_size: int = 7, num_heads: int = 3, *,
                          batch: int = 1, repeats: int = 3, seed: int = 0, loop: bool = False) -> dict[str, Any]:
    """Time the numpy implementations on one random (batch, H, W, C) float32 map (displayed, never
    asserted). Returns ``{"timings": {name: {"median_s", "best_s", "runs_s"}}, "costs": shift_strategy_costs,
    "max_abs_difference": |cyclic - padded|}``. Names: ``"W-MSA (no shift)"``, ``"cyclic shift + mask"``,
    ``"padding (batched)"``, ``"sliding window"`` and, with ``loop=True``, ``"padding (loop over windows)"``.
    The default 28 x 28 x 48 map (M = 7: 16 windows, 25 padded) takes about 0.5 s on the course's 2-core CPU
    with 3 repeats; Swin-T's stage 1 (56, 56, 96) about 8x longer."""
    where = "time_shift_strategies"
    M = check_int(window_size, "window_size", where=where)
    B = check_int(batch, "batch", where=where)
    params = random_attention_params(C, num_heads, M, seed=seed)
    x = np.random.default_rng(check_int(seed, "seed", minimum=0, where=where)).standard_normal(
        (B, check_int(H, "H", where=where), check_int(W, "W", where=where), C)).astype(np.float32)
    s = M // 2
    sliding_args = (params["qkv.weight"], params["qkv.bias"], params["proj.weight"], params["proj.bias"],
                    num_heads, M, params["relative_position_bias_table"])
    fns = {
        "W-MSA (no shift)": lambda: snp.shifted_window_attention(x, params, num_heads, M, 0),
        "cyclic shift + mask": lambda: snp.shifted_window_attention(x, params, num_heads, M, s),
        "padding (batched)": lambda: padded_shifted_window_attention(x, params, num_heads, M, s),
        "sliding window": lambda: sliding_window_attention(x, *sliding_args),
    }
    if loop:
        fns["padding (loop over windows)"] = lambda: snp.padded_window_attention(x, params, num_heads, M, s)
    timings = time_callables(fns, repeats=repeats)
    diff = float(np.abs(fns["cyclic shift + mask"]() - fns["padding (batched)"]()).max())
    return {"timings": timings, "costs": shift_strategy_costs(H, W, C, M, s), "max_abs_difference": diff}
