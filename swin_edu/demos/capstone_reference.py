"""Notebook 03's capstone: shifted-window attention (SW-MSA) assembled from its pieces, and the classic
mistakes a checker should recognise.

The student writes ``sw_msa_mine(x, params, num_heads, M, s)`` for a (B, H, W, C) map from the pieces of
notebooks 02-03 (their own ``cyclic_shift``, ``window_partition``, the mask, ``window_reverse``) plus the
attention with bias and mask written out. :func:`sw_msa_reference` is that solution, step by step; it
equals ``numpy_ref.shifted_window_attention`` (the package) and ``numpy_ref.padded_window_attention``
(the 9 padded windows) on maps the window divides.

:data:`MISTAKES` holds each classic mistake as a runnable wrong solution with the message a checker
prints when a student's output matches it; :func:`match_mistake` is that matching, :data:`CASES` the
inputs on which every mistake is caught and told apart from the others (tested), and
:data:`ERROR_HINTS` the messages for the exceptions some mistakes raise on other shapes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import numpy_ref as snp
from ..i18n import Text
from .._validate import as_numpy, check_array, check_int

__all__ = ["CASES", "ERROR_HINTS", "MISTAKES", "Mistake", "capstone_case", "match_mistake", "sw_msa_reference"]


def _sw_msa(x, params, num_heads, M, s, mistake=None):
    """The capstone, with one optional classic mistake switched on (None: the correct solution)."""
    B, H, W, C = x.shape
    nH, N = num_heads, M * M
    hd = C // nH
    # 1. cyclic shift: the map moves up-left by s, i.e. the window grid moves down-right
    roll = s if mistake == "roll_plus" else -s
    shifted = np.roll(x, (roll, roll), axis=(1, 2))
    # 2. window partition: (B*nW, N, C), image by image, windows row-major
    windows = snp.window_partition(shifted, M).reshape(-1, N, C)
    nW = windows.shape[0] // B
    # 3. attention with the relative position bias
    qkv = windows @ params["qkv.weight"].T + params["qkv.bias"]
    q, k, v = qkv.reshape(B * nW, N, 3, nH, hd).transpose(2, 0, 3, 1, 4)      # (B*nW, nH, N, hd) each
    logits = q @ k.transpose(0, 1, 3, 2) * hd ** -0.5
    if mistake != "no_bias":
        logits = logits + snp.relative_position_bias(params["relative_position_bias_table"], M)[None]
    # 4. the 0/-100 mask, one per window, the same for every head and every image
    mask = snp.shift_mask(H, W, M, s) if s > 0 and mistake != "no_mask" else None
    if mask is not None and mistake == "mask_over_heads":
        logits = logits + mask                                   # (nW, N, N) lands on the heads axis
    elif mask is not None and mistake == "mask_repeated":
        logits = logits + np.repeat(mask, B, axis=0)[:, None]    # window order broken for B > 1
    elif mask is not None and mistake != "mask_after_softmax":
        logits = (logits.reshape(B, nW, nH, N, N) + mask[None, :, None]).reshape(B * nW, nH, N, N)
    weights = snp.softmax(logits)
    if mask is not None and mistake == "mask_after_softmax":
        weights = (weights.reshape(B, nW, nH, N, N) + mask[None, :, None]).reshape(B * nW, nH, N, N)
    out = (weights @ v).transpose(0, 2, 1, 3).reshape(B * nW, N, C)
    out = out @ params["proj.weight"].T + params["proj.bias"]
    # 5. window reverse, 6. reverse shift (+s: every token back to its place)
    out = snp.window_reverse(out.reshape(-1, M, M, C), M, H, W)
    if mistake != "no_reverse_roll":
        out = np.roll(out, (-roll, -roll), axis=(1, 2))
    return out


def sw_msa_reference(x: np.ndarray, params: Mapping[str, Any], num_heads: int, window_size: int,
                     shift_size: int) -> np.ndarray:
    """SW-MSA on a (B, H, W, C) map (M divides H and W): roll by -s, partition, attention with the relative
    position bias and the shift mask, reverse, roll by +s. ``params``: ``qkv.weight`` (3C, C), ``qkv.bias``,
    ``proj.weight``, ``proj.bias``, ``relative_position_bias_table`` ((2M-1)^2, heads)."""
    where = "sw_msa_reference"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", where=where)
    M = check_int(window_size, "window_size", where=where)
    s = check_int(shift_size, "shift_size", minimum=0, where=where)
    nH = check_int(num_heads, "num_heads", where=where)
    _, H, W, C = x.shape
    if s >= M:
        raise ValueError(f"{where}: shift_size must be smaller than window_size={M}, got {s}")
    if H % M or W % M:
        raise ValueError(f"{where}: window_size={M} must divide the map {H}x{W}")
    if C % nH:
        raise ValueError(f"{where}: num_heads={nH} must divide C={C}")
    if not isinstance(params, Mapping):
        raise TypeError(f"{where}: params must be a mapping of official names -> arrays, got {type(params).__name__}")
    need = {"qkv.weight": (3 * C, C), "qkv.bias": (3 * C,), "proj.weight": (C, C), "proj.bias": (C,),
            "relative_position_bias_table": ((2 * M - 1) ** 2, nH)}
    arrays = {}
    for key, shape in need.items():
        if key not in params:
            raise KeyError(f"{where}: params has no key {key!r} (needs {sorted(need)})")
        arrays[key] = as_numpy(params[key], f"params[{key!r}]", where=where)
        if arrays[key].shape != shape:
            raise ValueError(f"{where}: params[{key!r}] must have shape {shape}, got {arrays[key].shape}")
    return _sw_msa(x, arrays, nH, M, s)


@dataclass(frozen=True)
class Mistake:
    """A classic mistake: ``wrong(x, params, num_heads, M, s)`` computes what it gives; ``message`` is
    what the checker says when the student's output equals it."""

    name: str
    message: str
    wrong: Callable[..., np.ndarray]


def _wrong(name):
    return lambda x, params, num_heads, M, s: _sw_msa(x, params, num_heads, M, s, mistake=name)


MISTAKES: tuple[Mistake, ...] = (
    Mistake("no_reverse_roll",
            Text("your output is still shifted: after window_reverse, roll the map back by +s "
                 "(np.roll(out, (s, s), axis=(1, 2))), so that every token returns to its place.",
                 "你的输出仍是移位后的：window_reverse 之后，要把特征图按 +s 滚回去（np.roll(out, (s, s)"
                 ", axis=(1, 2))），让每个 token 回到原位。"), _wrong("no_reverse_roll")),
    Mistake("roll_plus",
            Text("you rolled the map by +s (down-right) first. The official code rolls it by -s (up-left), which moves "
                 "the window grid down-right; the mask's regions are built for that direction, so with +s they "
                 "separate the wrong pairs. Roll by -s first, by +s at the end.",
                 "你一开始把特征图按 +s（向右下）滚动了。官方代码按 -s（向左上）滚动，相当于把窗口网格向右"
                 "下移；掩码的区域是按这个方向构造的，用 +s 时它隔开的就是错误的那些对。先按 -s 滚动，"
                 "最后按 +s 滚回。"), _wrong("roll_plus")),
    Mistake("mask_over_heads",
            Text("you added the (nW, N, N) mask straight to the (B*nW, heads, N, N) logits: numpy lined the mask's "
                 "window axis up with the heads axis, so head h of every window got window h's mask. Give the mask a "
                 "heads axis and line its windows up with the windows: reshape the logits to (B, nW, heads, N, N) and "
                 "add mask[None, :, None].",
                 "你把 (nW, N, N) 的掩码直接加到了 (B*nW, heads, N, N) 的注意力得分上：numpy 把掩码的窗口轴"
                 "和头轴对齐了，于是每个窗口的第 h 个头拿到的是窗口 h 的掩码。要给掩码加一个头轴，"
                 "并让它的窗口和注意力得分的窗口对齐：把注意力得分 reshape 成 (B, nW, heads, N, N)，"
                 "再加上 mask[None, :, None]。"), _wrong("mask_over_heads")),
    Mistake("mask_repeated",
            Text("with a batch of several images, window w of image b is row b*nW + w of the windows: the mask has "
                 "to be tiled over the batch (np.tile, or a reshape to (B, nW, ...)), not repeated: np.repeat puts two "
                 "copies of window 0's mask next to each other.",
                 "一批有多张图像时，图像 b 的窗口 w 是所有窗口中的第 b*nW + w 行：掩码要在 batch 上整体平铺"
                 "（np.tile，或者 reshape 成 (B, nW, ...)），而不是逐个重复：np.repeat 会把窗口 0 的掩码的"
                 "两份副本挨着放。"), _wrong("mask_repeated")),
    Mistake("mask_after_softmax",
            Text("you added the mask after the softmax. The mask must change the logits *before* the softmax "
                 "(softmax(qk^T/sqrt(d) + B + mask)): -100 there becomes a weight of ~0, while -100 added to the "
                 "weights gives large negative weights.",
                 "你在 softmax 之后才加掩码。掩码必须在 softmax *之前* 改变注意力得分（softmax(qk^T/sqrt(d)"
                 " + B + mask)）：在那里加 -100 会变成约为 0 的权重，而把 -100 加到权重上只会得到很大的负权重。"), _wrong("mask_after_softmax")),
    Mistake("no_mask",
            Text("the mask is missing: in the rolled windows, tokens that came from opposite edges of the map attend "
                 "to each other. Add the 0/-100 mask of each window to the logits.",
                 "缺少掩码：在滚动后的窗口里，来自特征图两端的 token 会相互注意。请把每个窗口的 0/-100 掩码"
                 "加到注意力得分上。"), _wrong("no_mask")),
    Mistake("no_bias",
            Text("the relative position bias is missing: the logits are q k^T / sqrt(d) + B + mask, with B gathered "
                 "from relative_position_bias_table (notebook 04).",
                 "缺少相对位置偏置：注意力得分是 q k^T / sqrt(d) + B + mask，其中 B 从 relative_position_b"
                 "ias_table 中取出（见笔记本 04）。"), _wrong("no_bias")),
)

#: hints for the exceptions that some mistakes raise (text in numpy's message -> hint): the shapes that must line up
ERROR_HINTS = {
    "could not be broadcast": Text("two arrays you add do not line up. The logits are (B*nW, heads, N, N); the "
                                   "bias B is (heads, N, N), the same for every window; the mask is (nW, N, N), one "
                                   "block per window, the same for every head and every image. Print the shapes "
                                   "just before the line that raised, and give the logits the axes that the mask "
                                   "needs.",
                                   "你相加的两个数组对不齐。注意力得分是 (B*nW, heads, N, N)；偏置 B 是 (heads, N, N)，"
                                   "每个窗口都一样；掩码是 (nW, N, N)，每个窗口一块，对每个头、每张图像都一样。"
                                   "在报错的那一行之前打印各个形状，再让注意力得分具有掩码所需要的那些轴。"),
    "cannot reshape array": Text("a reshape got the wrong number of elements. The windows are (B*nW, N, C) with "
                                 "nW = (H/M)*(W/M) windows per image and N = M*M tokens per window; the logits "
                                 "(B*nW, heads, N, N). Check which of B, nW, heads and N that reshape used.",
                                 "某次 reshape 的元素个数不对。窗口是 (B*nW, N, C)，其中每张图像有 nW = "
                                 "(H/M)*(W/M) 个窗口，每个窗口有 N = M*M 个 token；注意力得分是 "
                                 "(B*nW, heads, N, N)。检查那次 reshape 用的是 B、nW、heads、N 中的哪几个。"),
}


def capstone_case(B: int, H: int, W: int, C: int, num_heads: int, window_size: int, shift_size: int,
                  seed: int = 0) -> tuple:
    """Arguments ``(x, params, num_heads, M, s)`` of one check case: a float64 map with values ~N(0, 1) and
    attention weights scaled so that the softmax is far from uniform (every mistake moves the output)."""
    where = "capstone_case"
    B, H, W, C = (check_int(v, n, where=where) for v, n in ((B, "B"), (H, "H"), (W, "W"), (C, "C")))
    nH, M = check_int(num_heads, "num_heads", where=where), check_int(window_size, "window_size", where=where)
    s = check_int(shift_size, "shift_size", minimum=0, where=where)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0, where=where))
    params = {"qkv.weight": rng.standard_normal((3 * C, C)) * C ** -0.5 * 2, "qkv.bias": 0.1 * rng.standard_normal(3 * C),
              "proj.weight": rng.standard_normal((C, C)) * C ** -0.5, "proj.bias": 0.1 * rng.standard_normal(C),
              "relative_position_bias_table": rng.standard_normal(((2 * M - 1) ** 2, nH))}
    return (rng.standard_normal((B, H, W, C)), params, nH, M, s)


#: the check cases: (label, args). The first two have as many heads as windows, so that the
#: "mask over heads" mistake runs (and is wrong) instead of raising; B = 2 catches the repeated mask.
CASES = (
    (Text("two 8x8 maps, C=8, 4 heads, M=4, s=2 (4 windows per map)",
          "两张 8x8 特征图，C=8，4 个头，M=4，s=2（每张图 4 个窗口）"), capstone_case(2, 8, 8, 8, 4, 4, 2, seed=1)),
    (Text("one 8x12 map, C=12, 6 heads, M=4, s=2 (6 windows)",
          "一张 8x12 特征图，C=12，6 个头，M=4，s=2（6 个窗口）"), capstone_case(1, 8, 12, 12, 6, 4, 2, seed=2)),
    (Text("Swin's window: one 14x14 map, C=12, 3 heads, M=7, s=3",
          "Swin 的窗口：一张 14x14 特征图，C=12，3 个头，M=7，s=3"), capstone_case(1, 14, 14, 12, 3, 7, 3, seed=3)),
)


def match_mistake(got: Any, args: tuple, *, rtol: float = 1e-6, atol: float = 1e-8) -> str | None:
    """The name of the mistake whose output equals ``got`` on ``args`` (None: none of them). Mistakes that
    raise on ``args``, or that give the right answer on them, are skipped."""
    got = as_numpy(got, "got", where="match_mistake")
    right = _sw_msa(*args)
    for m in MISTAKES:
        try:
            wrong = m.wrong(*args)
        except ValueError:
            continue
        if np.allclose(wrong, right, rtol=rtol, atol=atol):
            continue  # this mistake makes no difference on these inputs (e.g. the batch one with B = 1)
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=rtol, atol=atol):
            return m.name
    return None
