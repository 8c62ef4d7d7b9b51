"""Small deterministic inputs for the self-checks, and random ones for the hidden cases."""
from __future__ import annotations

import numpy as np


def counting(*shape: int, dtype=np.float64) -> np.ndarray:
    """0, 1, 2, ... in the given shape: every element says where it came from, so a misplaced element
    is easy to trace in a failure message."""
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape).astype(dtype)


def rand(*shape: int, seed: int = 0, dtype=np.float64, scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Seeded standard-normal numbers (times ``scale``, plus ``offset``)."""
    rng = np.random.default_rng(seed)
    return (offset + scale * rng.standard_normal(shape)).astype(dtype)


def draw(rng: np.random.Generator, *shape: int, dtype=np.float64, scale: float = 1.0,
         offset: float = 0.0) -> np.ndarray:
    """Standard-normal numbers from ``rng`` (times ``scale``, plus ``offset``): the inputs of hidden cases."""
    return (offset + scale * rng.standard_normal(shape)).astype(dtype)


def pick(rng: np.random.Generator, options) -> int:
    """One of ``options`` (ints), chosen by ``rng``, as a Python int."""
    return int(options[int(rng.integers(len(options)))])


def between(rng: np.random.Generator, low: int, high: int) -> int:
    """An int in [low, high] (both included), chosen by ``rng``."""
    return int(rng.integers(low, high + 1))
