"""Small deterministic inputs for the self-checks."""
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
