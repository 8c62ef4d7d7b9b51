"""Fused CPU kernels for inference: linear (+ GELU) (+ residual add) in one oneDNN call.

On the CPU, at inference (no autograd), in float32, the linear layers of the model go through
``torch.ops.mkldnn._linear_pointwise``: the oneDNN kernel that ``torch.compile``'s CPU backend uses
(with ``freezing``). It adds the bias inside the matrix product (``nn.Linear`` on the CPU first copies
the bias into the output, one more pass over it), applies GELU in the same pass (``attr="gelu"``,
exact erf form) and adds the residual (``.binary(..., "add")``). The weights are used in oneDNN's
blocked layout (``torch.ops.mkldnn._reorder_linear_weight``), packed once and cached per weight
(keyed on its version counter and on the optimizer-step generation below, so a changed weight is packed
again): 5-25% faster matrix products on the 2-core benchmark machine, for one more copy of the weights in
memory. The results equal
``F.linear`` to float rounding.

Invalidation. An in-place change of a tensor bumps its version counter, but the fused optimizers
(``torch.optim.AdamW(fused=True)``, on CPU and CUDA) update parameters without bumping it. So this module
registers a global optimizer step post-hook (:func:`torch.optim.optimizer.register_optimizer_step_post_hook`)
that counts every ``step()`` of every ``torch.optim`` optimizer; the packed weights here and the cached
attention bias of the blocks are keyed on that count too (:func:`weights_generation`). Writes that bypass
both (through ``.data``, or a hand-written update loop) are not seen: call ``model.clear_cache()`` after those.

Everywhere else (training, CUDA, MPS, autocast, ``torch.compile``, or a torch build without the op)
the plain ``F.linear`` path runs. :func:`use_fused_cpu_kernels` switches the fused path off, e.g. to
compare both.
"""
from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_post_hook

__all__ = ["clear_packed_weights", "fused_cpu_available", "fused_ok", "linear", "linear_add",
           "use_fused_cpu_kernels", "weights_generation"]

_STATE = {"enabled": True, "available": None, "pack": True, "generation": 0}


def _count_step(optimizer, args, kwargs) -> None:
    _STATE["generation"] += 1


register_optimizer_step_post_hook(_count_step)


def weights_generation() -> int:
    """How many ``torch.optim`` optimizer steps this process has taken (any optimizer): part of every
    cache key, because fused optimizers change parameters without bumping their version counters."""
    return _STATE["generation"]


#: id(weight) -> ((version, generation, data_ptr, shape), packed weight, weakref to the weight); an entry
#: goes away with its weight
_PACKED: dict[int, tuple] = {}


def _op():
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        return None


def _pack_op():
    try:
        return torch.ops.mkldnn._reorder_linear_weight
    except (AttributeError, RuntimeError):  # pragma: no cover
        return None


def _weight(weight: torch.Tensor, rows: int) -> torch.Tensor:
    """The oneDNN-packed copy of ``weight`` (cached), or ``weight`` itself when packing is off."""
    if not _STATE["pack"]:
        return weight
    wid = id(weight)
    key = (weight._version, _STATE["generation"], weight.data_ptr(), tuple(weight.shape))
    entry = _PACKED.get(wid)
    if entry is None or entry[0] != key or entry[2]() is not weight:
        if entry is None or entry[2]() is not weight:
            weakref.finalize(weight, _PACKED.pop, wid, None)
        entry = (key, torch.ops.mkldnn._reorder_linear_weight(weight.detach(), rows), weakref.ref(weight))
        _PACKED[wid] = entry
    return entry[1]


def clear_packed_weights() -> None:
    """Drop the cached packed weights (they are packed again when next used)."""
    _PACKED.clear()


def fused_cpu_available() -> bool:
    """True when this torch build has the oneDNN fused linear and it gives ``F.linear``'s results
    (checked once, on a tiny example)."""
    if _STATE["available"] is None:
        op, pack = _op(), _pack_op()
        ok = False
        if op is not None and pack is not None and torch.backends.mkldnn.is_available():
            try:
                with torch.no_grad():
                    g = torch.Generator().manual_seed(0)
                    x = torch.randn(5, 8, generator=g)
                    w = torch.randn(6, 8, generator=g)
                    b = torch.randn(6, generator=g)
                    o = torch.randn(5, 6, generator=g)
                    ok = True
                    for wt in (w, pack(w, 5)):
                        ok = ok and (
                            torch.allclose(op(x, wt, b, "none", [], ""), F.linear(x, w, b), atol=1e-5)
                            and torch.allclose(op(x, wt, b, "gelu", [], "none"), F.gelu(F.linear(x, w, b)),
                                               atol=1e-5)
                            and torch.allclose(op.binary(x, o, wt, b, "add"), o + F.linear(x, w, b), atol=1e-5))
            except Exception:  # noqa: BLE001 - any failure means: do not use it
                ok = False
        _STATE["available"] = ok
    return bool(_STATE["available"])


@contextlib.contextmanager
def use_fused_cpu_kernels(enabled: bool, *, packed_weights: bool = True) -> Iterator[None]:
    """Context manager: turn the fused CPU inference kernels on or off inside the block, and with
    them the packed-weight cache (``packed_weights=False`` keeps the fused kernels on plain weights)."""
    for name, v in (("enabled", enabled), ("packed_weights", packed_weights)):
        if not isinstance(v, bool):
            raise TypeError(f"use_fused_cpu_kernels: {name} must be a bool, got {v!r}")
    old = (_STATE["enabled"], _STATE["pack"])
    _STATE["enabled"], _STATE["pack"] = enabled, packed_weights
    try:
        yield
    finally:
        _STATE["enabled"], _STATE["pack"] = old


def fused_ok(x: torch.Tensor) -> bool:
    """Whether the fused kernels apply to ``x``: a float32 CPU tensor, autograd off, no autocast, not
    being compiled, and the kernels available and enabled."""
    return (_STATE["enabled"] and x.device.type == "cpu" and x.dtype == torch.float32
            and not torch.is_grad_enabled() and not torch.is_autocast_enabled("cpu")
            and not torch.compiler.is_compiling() and fused_cpu_available())


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, gelu: bool = False) -> torch.Tensor:
    """``F.linear(x, weight, bias)``, followed by exact GELU when ``gelu``."""
    if fused_ok(x):
        w = _weight(weight, x.numel() // x.shape[-1])
        if gelu:
            return torch.ops.mkldnn._linear_pointwise(x, w, bias, "gelu", [], "none")
        return torch.ops.mkldnn._linear_pointwise(x, w, bias, "none", [], "")
    y = F.linear(x, weight, bias)
    return F.gelu(y) if gelu else y


def linear_add(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, other: torch.Tensor) -> torch.Tensor:
    """``other + F.linear(x, weight, bias)`` (a residual connection after a linear layer)."""
    if (fused_ok(x) and other.dtype == torch.float32 and other.shape[:-1] == x.shape[:-1]
            and other.shape[-1] == weight.shape[0] and other.is_contiguous()):
        w = _weight(weight, x.numel() // x.shape[-1])
        return torch.ops.mkldnn._linear_pointwise.binary(x, other, w, bias, "add")
    return other + F.linear(x, weight, bias)
