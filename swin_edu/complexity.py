"""How much Swin computes: MSA vs W-MSA, and whole-model MACs and parameter counts.

Units: **multiply-accumulates (MACs)**. Multiplying an (a x b) matrix by a (b x c) matrix costs
a*b*c MACs (the seed's convention). The paper's "FLOPs" column is in MACs too (4.5G for Swin-T);
a FLOP counter that counts a multiply and an add separately, such as
``torch.utils.flop_counter.FlopCounterMode``, reports twice as many.

Attention of one layer on an h x w map with C channels (softmax and the scaling by 1/sqrt(d) are not
counted, as in the paper):

==========  ================================  ===================
term        MSA (global)                      W-MSA (M x M windows)
==========  ================================  ===================
qkv         3 hw C^2  (X W_q, X W_k, X W_v)   3 hw C^2
qk          (hw)^2 C  (Q K^T)                 M^2 hw C
av          (hw)^2 C  (A V)                   M^2 hw C
proj        hw C^2    (output W_o)            hw C^2
total       4hwC^2 + 2(hw)^2 C                4hwC^2 + 2M^2 hwC
==========  ================================  ===================

The seed's example, h = w = 56, C = 96, M = 7: the *second term* (QK^T and AV) is
2(hw)^2C = 1,888,223,232 for MSA against 2M^2hwC = 29,503,488 for W-MSA, 64x = hw/M^2 less.

Maps that the window does not divide: the official detection code pads the map to multiples of M
before the projections, so :func:`wmsa_macs` and :func:`model_macs` count the padded tokens
(h, w rounded up to multiples of M) for every attention term; the MLP runs on the unpadded map.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._validate import check_bool, check_float, check_int
from .config import SwinConfig
from .layout import state_dict_shapes

__all__ = [
    "msa_breakdown",
    "wmsa_breakdown",
    "msa_macs",
    "wmsa_macs",
    "model_macs",
    "param_count",
    "PAPER_TABLE",
    "OFFICIAL_PARAMS",
    "OFFICIAL_MACS_TINY",
    "paper_table_rows",
    "block_breakdown",
    "block_macs",
    "shifted_window_count",
    "padded_wmsa_breakdown",
    "padded_wmsa_macs",
    "sliding_window_breakdown",
    "sliding_window_macs",
    "MacCount",
    "count_matmul_macs",
]

#: Published figures at 224x224: params in millions, "FLOPs" (= MACs) in G, top-1 %, and where each row
#: comes from. Swin-T/S/B: the paper's Table 1 (ImageNet-1K). The paper lists Swin-L only at 384x384;
#: its 224x224 row (pre-trained on ImageNet-22K, fine-tuned on 1K) is from the official model zoo
#: (the README of microsoft/Swin-Transformer).
PAPER_TABLE = {
    "tiny": {"params_M": 28, "flops_G": 4.5, "top1": 81.3, "source": "paper, Table 1"},
    "small": {"params_M": 50, "flops_G": 8.7, "top1": 83.0, "source": "paper, Table 1"},
    "base": {"params_M": 88, "flops_G": 15.4, "top1": 83.5, "source": "paper, Table 1"},
    "large": {"params_M": 197, "flops_G": 34.5, "top1": 86.3, "source": "official model zoo (22K→1K)"},
}
#: Exact parameter counts of the official checkpoints.
OFFICIAL_PARAMS = {"tiny": 28_288_354, "small": 49_606_258, "base": 87_768_224, "large": 196_532_476}
#: ``SwinTransformer.flops()`` of the official repository for Swin-T at 224x224.
OFFICIAL_MACS_TINY = 4_494_405_120


def _hwc(h, w, C, where):
    return (check_int(h, "h", where=where), check_int(w, "w", where=where), check_int(C, "C", where=where))


def msa_breakdown(h: int, w: int, C: int) -> dict[str, int]:
    """MACs of each term of global multi-head self-attention on an h x w x C map."""
    h, w, C = _hwc(h, w, C, "msa_breakdown")
    n = h * w
    return {"qkv": 3 * n * C * C, "qk": n * n * C, "av": n * n * C, "proj": n * C * C}


def wmsa_breakdown(h: int, w: int, C: int, M: int) -> dict[str, int]:
    """MACs of each term of window attention with M x M windows. h and w that M does not divide are
    rounded up to multiples of M (the padding is computed like real tokens)."""
    h, w, C = _hwc(h, w, C, "wmsa_breakdown")
    M = check_int(M, "M", where="wmsa_breakdown")
    hp, wp = math.ceil(h / M) * M, math.ceil(w / M) * M
    n = hp * wp
    return {"qkv": 3 * n * C * C, "qk": M * M * n * C, "av": M * M * n * C, "proj": n * C * C}


def msa_macs(h: int, w: int, C: int) -> int:
    """4hwC^2 + 2(hw)^2 C: global multi-head self-attention (softmax and scaling not counted)."""
    return sum(msa_breakdown(h, w, C).values())


def wmsa_macs(h: int, w: int, C: int, M: int) -> int:
    """4hwC^2 + 2M^2 hwC: window attention with M x M windows (on the padded map when M does not
    divide h or w)."""
    return sum(wmsa_breakdown(h, w, C, M).values())


def model_macs(cfg: SwinConfig, *, img_size: int | tuple[int, int] | None = None, count_norms: bool = True,
               per_stage: bool = False):
    """MACs of one forward pass of a Swin model for one image.

    Counted: the patch-embedding convolution, every linear layer (qkv, proj, MLP fc1/fc2, patch-merging
    reduction, head), the two attention matmuls Q K^T and A V, and, with ``count_norms=True``, one MAC
    per element for each LayerNorm, which is how the official ``SwinTransformer.flops()`` counts
    (it gives 4,494,405,120 for Swin-T; so does this function). Not counted: softmax, GELU, the
    bias/mask additions, the residual additions, average pooling, dropout.

    The official code counts the final LayerNorm on a map of (H/4/2^L)^2 tokens, i.e. 14x14 for
    Swin-T instead of the real 7x7; we reproduce that quirk when ``count_norms`` is true so that the
    total equals the official number (150,528 MACs, 0.003%).

    With ``count_norms=False`` only matmuls and convolutions are counted: exactly what
    ``FlopCounterMode`` reports divided by 2.

    ``img_size`` defaults to ``cfg.img_size``. With ``per_stage=True`` a dict is returned:
    ``patch_embed``, ``stage0``..``stageN`` (blocks + that stage's patch merging), ``head``
    (final norm + classifier), and ``total``.
    """
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"model_macs: cfg must be a SwinConfig, got {type(cfg).__name__}")
    count_norms = check_bool(count_norms, "count_norms", where="model_macs")
    per_stage = check_bool(per_stage, "per_stage", where="model_macs")
    p, C0 = cfg.patch_size, cfg.embed_dim
    res = cfg.stage_resolutions(img_size)
    windows = cfg.stage_windows()
    h0, w0 = res[0]
    out: dict[str, int] = {}
    embed = h0 * w0 * C0 * cfg.in_chans * p * p
    if count_norms and cfg.patch_norm:
        embed += h0 * w0 * C0
    out["patch_embed"] = embed
    for i, (depth, dim, (h, w), (M, shift)) in enumerate(zip(cfg.depths, cfg.stage_dims, res, windows)):
        stage = depth * block_macs(h, w, dim, M, mlp_ratio=cfg.mlp_ratio, count_norms=count_norms)
        if i < cfg.num_layers - 1:
            h2, w2 = math.ceil(h / 2), math.ceil(w / 2)
            stage += h2 * w2 * 4 * dim * 2 * dim
            if count_norms:
                stage += h2 * w2 * 4 * dim
        out[f"stage{i}"] = stage
    head = cfg.num_features * cfg.num_classes
    if count_norms:
        head += cfg.num_features * h0 * w0 // (2 ** cfg.num_layers)  # the official quirk, see above
    out["head"] = head
    total = sum(out.values())
    if per_stage:
        out["total"] = total
        return out
    return total


def param_count(cfg: SwinConfig, *, per_stage: bool = False):
    """Number of learned parameters (buffers such as ``relative_position_index`` not included).

    Summed over the official state-dict layout (:func:`swin_edu.layout.state_dict_shapes`). Equals the
    official checkpoints exactly: tiny 28,288,354; small 49,606,258; base 87,768,224; large 196,532,476.
    With ``per_stage=True``: a dict with ``patch_embed``, ``stage0``.. (incl. that stage's merging),
    ``head`` (final norm + classifier) and ``total``.
    """
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"param_count: cfg must be a SwinConfig, got {type(cfg).__name__}")
    per_stage = check_bool(per_stage, "per_stage", where="param_count")
    groups: dict[str, int] = {}
    for key, shape in state_dict_shapes(cfg, buffers=False).items():
        if key.startswith("layers."):
            group = "stage" + key.split(".")[1]
        elif key.startswith(("patch_embed.", "absolute_pos_embed")):
            group = "patch_embed"
        else:
            group = "head"
        groups[group] = groups.get(group, 0) + math.prod(shape)
    ordered = {"patch_embed": groups.get("patch_embed", 0)}
    ordered.update({f"stage{i}": groups.get(f"stage{i}", 0) for i in range(cfg.num_layers)})
    ordered["head"] = groups.get("head", 0)
    total = sum(ordered.values())
    if per_stage:
        ordered["total"] = total
        return ordered
    return total


def paper_table_rows() -> list[dict]:
    """The published table next to our counts: one dict per model (name, params, MACs, published values and
    their ``source``: the paper's Table 1, or the official model zoo for Swin-L at 224x224)."""
    rows = []
    for name, paper in PAPER_TABLE.items():
        cfg = SwinConfig.preset(name)
        rows.append({
            "model": f"Swin-{name[0].upper()}",
            "params": param_count(cfg),
            "params_M_paper": paper["params_M"],
            "macs": model_macs(cfg),
            "flops_G_paper": paper["flops_G"],
            "top1_paper": paper["top1"],
            "source": paper["source"],
        })
    return rows


# ----------------------------------------------------------------------------------------- a whole block
def block_breakdown(h: int, w: int, C: int, M: int, *, mlp_ratio: float = 4.0,
                    count_norms: bool = False) -> dict[str, int]:
    """MACs of each term of one Swin block on an h x w x C map with M x M windows.

    The attention terms of :func:`wmsa_breakdown` (``qkv``, ``qk``, ``av``, ``proj``) and the MLP's two
    linear layers, ``fc1`` (C -> hidden) and ``fc2`` (hidden -> C) with hidden = int(C * mlp_ratio), each
    hw * C * hidden. At the paper's ``mlp_ratio=4`` the MLP costs 8hwC^2, so a block costs
    **12hwC^2 + 2M^2hwC**. A shifted block (SW-MSA) costs the same: the roll and the mask add no MACs.
    With ``count_norms`` the two LayerNorms add one MAC per element each (``norm1``, ``norm2``: hwC), as
    the official ``flops()`` counts them. Maps that M does not divide: the attention terms count the
    padded map (see :func:`wmsa_breakdown`), the MLP and the norms the real one.
    """
    where = "block_breakdown"
    h, w, C = _hwc(h, w, C, where)
    M = check_int(M, "M", where=where)
    mlp_ratio = check_float(mlp_ratio, "mlp_ratio", minimum=0, strict_min=True, where=where)
    count_norms = check_bool(count_norms, "count_norms", where=where)
    hidden = int(C * mlp_ratio)
    if hidden < 1:
        raise ValueError(f"{where}: mlp_ratio={mlp_ratio} gives an empty MLP hidden layer for C={C}")
    out = wmsa_breakdown(h, w, C, M)
    out["fc1"] = h * w * C * hidden
    out["fc2"] = h * w * hidden * C
    if count_norms:
        out["norm1"] = out["norm2"] = h * w * C
    return out


def block_macs(h: int, w: int, C: int, M: int, *, mlp_ratio: float = 4.0, count_norms: bool = False) -> int:
    """12hwC^2 + 2M^2hwC at ``mlp_ratio=4``: one whole Swin block, attention and MLP (see
    :func:`block_breakdown`; ``count_norms`` adds the two LayerNorms, 2hwC)."""
    return sum(block_breakdown(h, w, C, M, mlp_ratio=mlp_ratio, count_norms=count_norms).values())


# ----------------------------------------------------------------------------------------- shifted windows, naively
def shifted_window_count(h: int, w: int, M: int, s: int) -> tuple[int, int]:
    """(rows, columns) of windows of the window grid displaced by s on an h x w map, as
    ``numpy_ref.shifted_window_grid`` cuts it: with s > 0 a strip of s tokens, then windows of M, the last
    one partial; with s = 0 the ordinary ceil(h/M) x ceil(w/M) grid. 8x8, M=4, s=2: (3, 3), the seed's 9."""
    where = "shifted_window_count"
    h, w = check_int(h, "h", where=where), check_int(w, "w", where=where)
    M = check_int(M, "M", where=where)
    s = check_int(s, "s", minimum=0, where=where)
    if s >= M:
        raise ValueError(f"{where}: s must be smaller than M={M}, got {s}")

    def count(n: int) -> int:
        if s == 0 or s >= n:
            return math.ceil(n / M)
        return 1 + math.ceil((n - s) / M)

    return count(h), count(w)


def padded_wmsa_breakdown(h: int, w: int, C: int, M: int, s: int) -> dict[str, int]:
    """MACs of SW-MSA done the naive way (the paper's "padding" baseline of its Table 5): the window grid
    displaced by s cuts the map into uneven windows (:func:`shifted_window_count`), each is padded to M x M
    and computed as a full window, projections included. Each window costs what a W-MSA window costs,
    4M^2C^2 + 2M^4C; there are (h/M + 1)(w/M + 1) of them instead of (h/M)(w/M) when s > 0 and M divides
    the map: 9 instead of 4 on 8x8 with M=4 (2.25x), 81 instead of 64 in Swin-T's stage 1 (1.27x).
    Keys: ``windows`` (the count) and the terms ``qkv``, ``qk``, ``av``, ``proj``."""
    where = "padded_wmsa_breakdown"
    h, w, C = _hwc(h, w, C, where)
    rows, cols = shifted_window_count(h, w, M, s)
    n_windows = rows * cols
    per_window = wmsa_breakdown(M, M, C, M)
    out = {"windows": n_windows}
    out.update({term: n_windows * macs for term, macs in per_window.items()})
    return out


def padded_wmsa_macs(h: int, w: int, C: int, M: int, s: int) -> int:
    """(windows of the displaced grid) x (4M^2C^2 + 2M^4C): SW-MSA by padding every uneven window to
    M x M (see :func:`padded_wmsa_breakdown`). The cyclic shift + mask costs :func:`wmsa_macs` instead."""
    parts = padded_wmsa_breakdown(h, w, C, M, s)
    return sum(v for k, v in parts.items() if k != "windows")


# ----------------------------------------------------------------------------------------- sliding windows
def _neighbours_per_axis(n: int, M: int) -> int:
    """Sum over the n positions of one axis of how many of the M neighbourhood positions (M//2 before,
    M-1-M//2 after) lie inside [0, n)."""
    before, after = M // 2, M - 1 - M // 2
    return sum(min(i + after, n - 1) - max(i - before, 0) + 1 for i in range(n))


def sliding_window_breakdown(h: int, w: int, C: int, M: int, *, count_padding: bool = True) -> dict[str, int]:
    """MACs of sliding-window attention (every query attends to the M x M neighbourhood centred on it),
    term by term, as :func:`swin_edu.numpy_ref.sliding.sliding_window_attention` computes it.

    The projections cost what they cost in W-MSA (3hwC^2 + hwC^2). Each query compares itself with M^2
    keys and mixes M^2 values: M^2 hw C each, also as in W-MSA. So with ``count_padding=True`` (the
    out-of-map neighbours of border queries are computed as zero keys and then masked, which is how a
    batched implementation works) sliding windows cost **exactly** what W-MSA costs,
    4hwC^2 + 2M^2hwC: the paper's sliding windows are slower not by MACs but because every query has its
    own set of keys, so the work is hw small matrix-vector products instead of a few large matrix products.
    With ``count_padding=False`` only the in-map neighbours are counted (fewer at the borders).
    """
    where = "sliding_window_breakdown"
    h, w, C = _hwc(h, w, C, where)
    M = check_int(M, "M", where=where)
    count_padding = check_bool(count_padding, "count_padding", where=where)
    pairs = h * w * M * M if count_padding else _neighbours_per_axis(h, M) * _neighbours_per_axis(w, M)
    n = h * w
    return {"qkv": 3 * n * C * C, "qk": pairs * C, "av": pairs * C, "proj": n * C * C}


def sliding_window_macs(h: int, w: int, C: int, M: int, *, count_padding: bool = True) -> int:
    """4hwC^2 + 2M^2hwC with ``count_padding=True``, the same as W-MSA (see
    :func:`sliding_window_breakdown`)."""
    return sum(sliding_window_breakdown(h, w, C, M, count_padding=count_padding).values())


# ----------------------------------------------------------------------------------------- counting real numpy code
@dataclass(frozen=True)
class MacCount:
    """What :func:`count_matmul_macs` counted: ``total`` MACs, ``calls`` (one ``(shape_a, shape_b, macs)``
    per matrix product, in order) and the function's ``result``."""

    total: int
    calls: tuple
    result: Any


_TALLY: list | None = None
# functions that multiply matrices but that the counter does not count: refusing them keeps it honest
_NOT_COUNTED = {np.einsum, np.tensordot, np.inner, np.outer, np.vdot, np.kron}


def _matmul_macs(a_shape: tuple, b_shape: tuple) -> int:
    a = (1,) + tuple(a_shape) if len(a_shape) == 1 else tuple(a_shape)
    b = tuple(b_shape) + (1,) if len(b_shape) == 1 else tuple(b_shape)
    batch = np.broadcast_shapes(a[:-2], b[:-2])
    return math.prod(batch) * a[-2] * a[-1] * b[-1]


def _dot_macs(a_shape: tuple, b_shape: tuple) -> int:
    if len(a_shape) == 0 or len(b_shape) == 0:
        return math.prod(a_shape) * math.prod(b_shape)
    if len(a_shape) <= 2 and len(b_shape) <= 2:
        return _matmul_macs(a_shape, b_shape)
    k = a_shape[-1]
    other = b_shape[:-2] + b_shape[-1:] if len(b_shape) >= 2 else ()
    return math.prod(a_shape[:-1]) * math.prod(other) * k


class _CountingArray(np.ndarray):
    """An ndarray that reports every ``@`` / ``np.matmul`` / ``np.dot`` it takes part in to the active tally
    and passes its type on to the results, so that everything computed from it is counted too."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain = tuple(i.view(np.ndarray) if isinstance(i, _CountingArray) else i for i in inputs)
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, _CountingArray) else o for o in out)
        if ufunc is np.matmul and method == "__call__" and _TALLY is not None:
            a, b = np.shape(plain[0]), np.shape(plain[1])
            _TALLY.append((a, b, _matmul_macs(a, b)))
        result = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _counting(result)

    def __array_function__(self, func, types, args, kwargs):
        if func in _NOT_COUNTED:
            raise TypeError(f"count_matmul_macs: the counted function called np.{func.__name__}, which this "
                            f"counter does not count; write the product with @ (np.matmul) or np.dot")
        if func is np.dot and _TALLY is not None:
            a, b = np.shape(args[0]), np.shape(args[1])
            _TALLY.append((a, b, _dot_macs(a, b)))
        # numpy functions written in C (np.where, np.pad's internals...) may hand back plain arrays: keep counting
        return _counting(super().__array_function__(func, types, args, kwargs))


def _map_arrays(obj, convert):
    """``convert`` applied to every ndarray in ``obj``, also inside tuples, lists and mappings."""
    if isinstance(obj, np.ndarray):
        return convert(obj)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map_arrays(o, convert) for o in obj)
    if isinstance(obj, Mapping):
        return {k: _map_arrays(v, convert) for k, v in obj.items()}
    return obj


def _counting(obj):
    return _map_arrays(obj, lambda a: a if isinstance(a, _CountingArray) else a.view(_CountingArray))


def _plain(obj):
    return _map_arrays(obj, lambda a: a.view(np.ndarray) if isinstance(a, _CountingArray) else a)


def count_matmul_macs(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> MacCount:
    """Run ``fn(*args, **kwargs)`` and count the multiply-accumulates of every matrix product it computes
    with numpy: a ``(..., n, k) @ (..., k, m)`` costs (broadcast batch) x n x k x m, as in the seed.

    The numpy arrays among the arguments (also inside dicts, lists and tuples, e.g. a state dict) are
    given a counting array type that spreads to everything computed from them, so the products inside
    ``fn`` are seen without changing its code (numpy functions called on them, such as ``np.pad`` or
    ``np.where``, return counting arrays too). Counted: ``@``, ``np.matmul``, ``np.dot``. Not counted:
    element-wise work (softmax, norms, bias and mask additions), as in the paper. ``np.einsum`` and its
    relatives raise ``TypeError`` rather than being missed. A product of two arrays that were both made
    inside ``fn`` from scratch (e.g. by ``np.zeros``), not from an argument, is not seen.

    >>> import numpy as np
    >>> count_matmul_macs(lambda a, b: a @ b, np.ones((2, 3)), np.ones((3, 4))).total
    24
    """
    global _TALLY
    if not callable(fn):
        raise TypeError(f"count_matmul_macs: fn must be callable, got {type(fn).__name__}")
    if _TALLY is not None:
        raise RuntimeError("count_matmul_macs: already counting (calls cannot be nested)")
    calls: list = []
    _TALLY = calls
    try:
        result = fn(*_counting(args), **_counting(kwargs))
    finally:
        _TALLY = None
    return MacCount(total=sum(c[2] for c in calls), calls=tuple(calls), result=_plain(result))
