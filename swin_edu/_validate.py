"""Argument checks shared by every public function.

Each check raises ``TypeError`` or ``ValueError`` with a message that names the argument, says what
was expected and shows what came, e.g. ``window_partition: x must have 4 dimensions (B, H, W, C),
got shape (8, 8)``.
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

__all__ = [
    "MissingKeyError",
    "check_int",
    "check_float",
    "check_bool",
    "check_array",
    "check_divisible",
    "as_numpy",
]


class MissingKeyError(KeyError):
    """A ``KeyError`` whose message prints as written (``KeyError`` alone would show its repr)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_int(value: Any, name: str, *, minimum: int | None = 1, where: str = "") -> int:
    """Return ``value`` as an ``int``; reject bools, floats, strings and values below ``minimum``."""
    prefix = f"{where}: " if where else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{prefix}{name} must be an int, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        kind = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{prefix}{name} must be a {kind} int, got {value}")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_min: bool = False,
    where: str = "",
) -> float:
    """Return ``value`` as a finite ``float`` within the given bounds."""
    prefix = f"{where}: " if where else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{prefix}{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{prefix}{name} must be finite, got {value}")
    if minimum is not None and (value <= minimum if strict_min else value < minimum):
        op = ">" if strict_min else ">="
        raise ValueError(f"{prefix}{name} must be {op} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{prefix}{name} must be <= {maximum}, got {value}")
    return value


def check_bool(value: Any, name: str, *, where: str = "") -> bool:
    prefix = f"{where}: " if where else ""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{prefix}{name} must be a bool, got {_describe(value)}")
    return bool(value)


def as_numpy(value: Any, name: str, *, where: str = "") -> np.ndarray:
    """Convert numpy arrays and torch tensors (detached, on the CPU) to numpy; reject anything else."""
    prefix = f"{where}: " if where else ""
    if isinstance(value, np.ndarray):
        return value
    # torch tensors, without importing torch
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        tensor = value.detach().cpu()
        if str(tensor.dtype) in ("torch.bfloat16", "torch.float16"):
            tensor = tensor.float()
        return tensor.numpy()
    raise TypeError(f"{prefix}{name} must be a numpy array (or a torch tensor), got {_describe(value)}")


def check_array(
    value: Any,
    name: str,
    *,
    ndim: int | Iterable[int] | None = None,
    layout: str = "",
    floating: bool = True,
    last_dim: int | None = None,
    where: str = "",
) -> np.ndarray:
    """Return ``value`` as a numpy array after checking its rank, dtype and last dimension.

    ``layout`` (e.g. ``"(B, H, W, C)"``) is only used in the message. Torch tensors are accepted.
    """
    prefix = f"{where}: " if where else ""
    arr = as_numpy(value, name, where=where)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(n) for n in allowed)
            lay = f" {layout}" if layout else ""
            raise ValueError(f"{prefix}{name} must have {want} dimensions{lay}, got shape {arr.shape}")
    if floating and not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"{prefix}{name} must be a floating-point array, got dtype {arr.dtype} "
            f"(convert images with x.astype(np.float32) / 255)"
        )
    if last_dim is not None and arr.shape[-1] != last_dim:
        raise ValueError(f"{prefix}{name} must have {last_dim} channels in its last axis, got shape {arr.shape}")
    return arr


def check_divisible(size: int, by: int, name: str, by_name: str, *, where: str = "") -> None:
    prefix = f"{where}: " if where else ""
    if size % by:
        raise ValueError(
            f"{prefix}{name}={size} must be divisible by {by_name}={by} "
            f"(pad the map first, e.g. with pad_to_multiple)"
        )
