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


# No test downloads anything: the released weights are offline for every test and every notebook a test runs
# (swin_edu.weights.released says "offline" in one line); the online path is tested with a local file.
os.environ["SWIN_EDU_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def _private_learner_file(tmp_path, monkeypatch):
    """The self-checks save passed answers in my_swin.py (swin_edu.learner): each test, and each notebook it runs,
    gets its own file in a temporary folder (never notebooks/my_swin.py), and a kernel's memory starts empty."""
    from swin_edu import learner

    monkeypatch.setenv(learner.ENV, str(tmp_path / learner.FILE_NAME))
    learner.forget()
    yield
    learner.forget()


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
