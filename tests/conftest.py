import os

import matplotlib
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile(
    "ci", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _fresh_hint_tiers():
    """``check.<name>.hint()`` remembers the tiers shown (per kernel): each test starts from the first one."""
    from swin_edu.exercises.check import reset_hints

    reset_hints()


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_xdist_worker():
    """Under pytest-xdist every worker would start one torch thread per core: on a 2-core machine that
    oversubscribes the CPU (OpenMP threads spin) and the tests run 3x slower. One thread per worker."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    import torch

    old = torch.get_num_threads()
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    yield
    torch.set_num_threads(old)
