"""How far information travels through a stack of Swin blocks, with and without the shifted windows.

Poke one token (add a random vector to it), run the map through numpy Swin blocks with random weights
(no training is needed: the question is which outputs *can* change) and see which tokens changed after
2, 4, 6 blocks. Without the shift (every block W-MSA) nothing ever leaves the poked token's window. With
the shift (W-MSA, SW-MSA, W-MSA, ...) the changed region grows by about a window per pair of blocks.

:func:`receptive_field_experiment` returns both the measured change (the numeric poke) and the reach
predicted from the attention groups (:mod:`.connectivity`), which the tests check are the same set of
tokens.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import numpy_ref as snp
from .._validate import check_bool, check_float, check_int
from ..config import SwinConfig
from ._checks import token_position
from .connectivity import reach_map

__all__ = ["CHANGED_TOL", "poke_receptive_field", "receptive_field_experiment"]

#: a token counts as changed when its output moved by more than this (the poke has norm ~ sqrt(C)).
#: Masked pairs leak exp(-100) ~ 4e-44 of a value, far below float64's rounding of O(1) numbers
#: (~1e-16); real influence after 6 blocks of weights with std 0.2 stays above 1e-6.
CHANGED_TOL = 1e-10


def _depths(depths, where):
    if isinstance(depths, (str, bytes)) or not isinstance(depths, Sequence) or not depths:
        raise TypeError(f"{where}: depths must be a non-empty sequence of block counts, got {depths!r}")
    out = [check_int(d, f"depths[{i}]", where=where) for i, d in enumerate(depths)]
    if sorted(set(out)) != out:
        raise ValueError(f"{where}: depths must be increasing without repeats, got {tuple(out)}")
    return out


def _check_poke(poke, H, W, where):
    return (H // 2 - 1, W // 2 - 1) if poke is None else token_position(poke, H, W, where)


def _block_schedule(depth: int, M: int, shift: bool) -> list[tuple[int, int]]:
    return [(M, M // 2 if shift and j % 2 == 1 else 0) for j in range(depth)]


def poke_receptive_field(H: int = 16, W: int = 16, window_size: int = 4, depths: Sequence[int] = (2, 4, 6), *,
                         shift: bool = True, poke: tuple[int, int] | None = None, embed_dim: int = 12,
                         num_heads: int = 3, std: float = 0.2, seed: int = 0) -> dict[int, np.ndarray]:
    """{depth: (H, W) array} of how much each token's output moved, |poked - original| (L2 over channels),
    after ``depth`` blocks, for every depth in ``depths``.

    The blocks are ``numpy_ref.swin_block`` with random weights (``random_state_dict``, ``std``, ``seed``)
    of ``embed_dim`` channels and ``num_heads`` heads, float64, alternating W-MSA and SW-MSA with shift
    floor(M/2) when ``shift`` (else all W-MSA, with the same weights). ``poke`` = (row, col), default the
    token at (H/2 - 1, W/2 - 1). 16 x 16 x 12, 6 blocks: about 20 ms.
    """
    where = "poke_receptive_field"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M = check_int(window_size, "window_size", where=where)
    if H % M or W % M:
        raise ValueError(f"{where}: window_size={M} must divide the map {H}x{W}")
    depths = _depths(depths, where)
    shift = check_bool(shift, "shift", where=where)
    poke = _check_poke(poke, H, W, where)
    C = check_int(embed_dim, "embed_dim", where=where)
    heads = check_int(num_heads, "num_heads", where=where)
    std = check_float(std, "std", minimum=0, strict_min=True, where=where)
    seed = check_int(seed, "seed", minimum=0, where=where)
    cfg = SwinConfig(img_size=(H, W), patch_size=1, in_chans=1, num_classes=0, embed_dim=C,
                     depths=(depths[-1],), num_heads=(heads,), window_size=M, drop_path_rate=0.0)
    sd = snp.random_state_dict(cfg, seed=seed, std=std, dtype=np.float64)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, H, W, C))
    poked = x.copy()
    poked[0, poke[0], poke[1]] += rng.standard_normal(C)
    out = {}
    for j, (Mj, s) in enumerate(_block_schedule(depths[-1], M, shift)):
        params = snp.block_params(sd, f"layers.0.blocks.{j}.")
        x, poked = (snp.swin_block(t, params, heads, Mj, s) for t in (x, poked))
        if j + 1 in depths:
            out[j + 1] = np.linalg.norm(poked - x, axis=-1)[0]
    return out


def receptive_field_experiment(H: int = 16, W: int = 16, window_size: int = 4, depths: Sequence[int] = (2, 4, 6),
                               *, poke: tuple[int, int] | None = None, seed: int = 0) -> dict:
    """The poke test with and without the shift. Returns plain data::

        {"poke": (row, col), "depths": [2, 4, 6],
         "change":  {"shift": {depth: (H, W) float}, "no_shift": {...}},   # measured |output change|
         "reached": {"shift": {depth: (H, W) bool},  "no_shift": {...}},   # change > CHANGED_TOL
         "predicted": {"shift": {depth: (H, W) bool}, "no_shift": {...}},  # from the attention groups
         "tokens": {"shift": [n2, n4, n6], "no_shift": [...]}}             # how many tokens were reached

    On the default 16 x 16 map with 4 x 4 windows and the poke at (7, 7): without the shift 16 tokens
    (one window) at every depth; with it 64, 196, 256 (the whole map) after 2, 4, 6 blocks.
    """
    where = "receptive_field_experiment"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M = check_int(window_size, "window_size", where=where)
    depths = _depths(depths, where)
    poke = _check_poke(poke, H, W, where)
    out: dict = {"poke": poke, "depths": depths, "change": {}, "reached": {}, "predicted": {}, "tokens": {}}
    for name, shift in (("shift", True), ("no_shift", False)):
        change = poke_receptive_field(H, W, M, depths, shift=shift, poke=poke, seed=seed)
        out["change"][name] = change
        out["reached"][name] = {d: change[d] > CHANGED_TOL for d in depths}
        out["predicted"][name] = {d: reach_map(H, W, _block_schedule(d, M, shift), poke) for d in depths}
        out["tokens"][name] = [int(out["reached"][name][d].sum()) for d in depths]
    return out
