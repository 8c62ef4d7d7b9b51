"""Before torch loads OpenMP: what the command lines of the package ask of it (no import of the package here)."""
from __future__ import annotations

import os
import sys

__all__ = ["quiet_openmp"]


def quiet_openmp() -> None:
    """Command lines: idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``, unless it
    is set already; only before torch starts). On a machine shared with other jobs, spinning threads that
    lose their core make every barrier wait for a time slice (measured on 2 busy cores: 40-150 images/s
    spinning vs 160-230 sleeping)."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
