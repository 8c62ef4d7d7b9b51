import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import matplotlib
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

ROOT = pathlib.Path(__file__).resolve().parents[1]

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


# ------------------------------------------------------------------------------------------------ the tiers
# `make test` runs -m "not slow" and `make test-all` everything, both on 2 pytest-xdist workers with
# `--dist loadgroup --no-loadscope-reorder` (docs/testing.md). Two things keep the wall time near the sum of the work
# divided by two: an expensive module fixture is made once, on one worker (one JupyterLab server for the browser
# tests, one class run for the red team, one release for the classroom tests, the figures drawn once, Swin-T's numpy
# forward once, one kernel for the widgets), and the longest tests start first (a long test that starts last is the
# run's tail).
#
# The groups are kept by the scheduler below, not by `xdist_group` marks: pytest-xdist 3.8 marks a group by
# rewriting `item._nodeid`, which pytest 9 no longer reads (a node's id is `item._id`), so under pytest 9 the marks
# are silently ignored and a group's tests spread over both workers (the second worker then waits on the first
# one's fixture: the red team's class run held both for 3.5 minutes). The scheduler reads only node ids.
XDIST_GROUPS = {"test_browser.py": "browser", "test_redteam.py": "redteam", "test_classroom.py": "classroom",
                "test_redteam_round2.py": "redteam2", "test_viz_figures.py": "figures", "test_model.py": "model",
                "test_widgets_kernel.py": "widgets"}
_FIRST = ("browser", "notebook", "sandbox", "slow")  # what starts first, in this order


def group_of(nodeid: str) -> str | None:
    """The worker group of a test (its file's entry in XDIST_GROUPS), or None: any worker."""
    return XDIST_GROUPS.get(nodeid.split("::", 1)[0].rsplit("/", 1)[-1])


def pytest_xdist_make_scheduler(config, log):
    """With `--dist loadgroup`: every test of a group on one worker, every other test wherever a worker is free
    (pytest-xdist's scope scheduling with a scope per group and one per other test)."""
    if config.getoption("dist", None) != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class CourseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or nodeid

    return CourseScheduling(config, log)


def _start_rank(item) -> tuple:
    marks = {m.name for m in item.iter_markers()}
    tier = next((i for i, name in enumerate(_FIRST) if name in marks), len(_FIRST))
    # among the notebook runs, the later notebooks (training, the dense task) are the long ones
    number = next((int(part[:2]) for part in item.nodeid.replace("[", "/").split("/")
                   if len(part) > 2 and part[:2].isdigit() and part[2] == "_"), -1)
    return tier, -number


def pytest_collection_modifyitems(config, items):
    items.sort(key=_start_rank)  # stable: the same order on every worker, so that the workers' collections agree


# ------------------------------------------------------------------------------------------------ a fresh install
def _source_digest() -> str:
    h = hashlib.sha256()
    for path in sorted((ROOT / "swin_edu").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    h.update((ROOT / "pyproject.toml").read_bytes())
    return h.hexdigest()[:16]


@pytest.fixture(scope="session")
def wheel_env():
    """The python of a fresh virtual environment outside the checkout with this checkout's wheel installed (and the
    classroom extra, nbclient and ipykernel), as Colab or the grader's container has the package: built once for
    the same sources under /tmp (a file lock shares it between the pytest-xdist workers and later runs), torch
    from the index `make` would use (tools/torch_index.py). Used by the tests of a Colab-like install
    (tests/test_repo.py) and of the grader under a non-editable install (tests/test_redteam_install.py)."""
    from filelock import FileLock

    import torch

    base = pathlib.Path(tempfile.gettempdir()) / f"swin-edu-wheel-env-{_source_digest()}"
    python = base / "venv" / "bin" / "python"
    with FileLock(str(base) + ".lock"):
        if not (base / "ready").is_file():
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(parents=True)

            def run(*cmd):
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=base, check=False)
                assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"

            run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                str(base / "dist"), str(ROOT))
            run(getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(base / "venv"))
            index = subprocess.run([sys.executable, str(ROOT / "tools" / "torch_index.py")], capture_output=True,
                                   text=True, check=True).stdout.split()
            run(str(python), "-m", "pip", "install", "-q", *index, f"torch=={torch.__version__.split('+')[0]}")
            wheel = next((base / "dist").glob("swin_edu-*.whl"))
            run(str(python), "-m", "pip", "install", "-q", f"{wheel}[classroom]", "nbclient", "ipykernel")
            (base / "ready").write_text("ok")
    return python
