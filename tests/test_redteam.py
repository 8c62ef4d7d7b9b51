"""The grader, attacked. Every attack of issue #14 (and more) is a submission, graded with the honest ones in
one class run by ``python -m swin_edu.classroom grade``: each attack scores 0 on the exercise it attacks, the
exercises it leaves alone keep their points, every other student's score is what their own work earns, and the
course folder is unchanged.

The assignment is notebook 02's four exercises and notebook 01's shape prediction, in one small notebook made
of the course's own cells (the full notebooks run in tests/test_classroom.py): the suite stays fast.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import pathlib
import shutil
import socket

import nbformat
import pytest
from _redteam import by_id, fn, wall
from _redteam import make_source as _make_source

from swin_edu import classroom
from swin_edu.classroom.grading import GradingSettings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sandbox,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="bubblewrap is not installed (tools/install_sandbox.sh)"
    ),
]

ROOT = pathlib.Path(__file__).resolve().parents[1]
ASSIGNMENT = "redteam"
NB = "exercises.ipynb"
CELL_TIMEOUT, VERDICT_TIMEOUT = wall(10.0), wall(15.0)  # seconds on an idle machine, more on a busy one

#: (notebook, grade id of the answer cell, of the graded cell, points)
EXERCISES = {
    "P": ("01_patch_embedding", "nb01_patch_pixel", 2),
    "A": ("02_window_attention", "nb02_attention", 2),
    "WP": ("02_window_attention", "nb02_window_partition", 2),
    "WR": ("02_window_attention", "nb02_window_reverse", 1),
    "M": ("02_window_attention", "nb02_block_macs", 2),
}
SETUP = (
    "import os\nimport numpy as np\nfrom swin_edu import numpy_ref as snp\n"
    "from swin_edu.exercises import check, use_or_reference\n"
)


_by_id = by_id


def make_source(path: pathlib.Path) -> pathlib.Path:
    """The assignment's source notebook: the course's own answer and graded cells (ids and metadata kept)."""
    return _make_source(path, EXERCISES.values(), SETUP, "# Red-team assignment")


# ----------------------------------------------------------------------------------------------- attacks
WRONG_WP = fn("window_partition_mine(x, M)", "return x.reshape(-1, M, M, x.shape[-1])")
UNSOLVED = "raise NotImplementedError()"

#: student -> (answers: exercise -> answer cell source or "solution" / "unsolved", extra cells after setup)
#: exercises not named keep the solution
ATTACKS: dict[str, tuple[dict, list]] = {
    # the environment variable and module switches of the old checker
    "env_switch": (
        {
            "WP": "import os\nos.environ.pop('NBGRADER_EXECUTION', None)\nos.environ['SWIN_EDU_STRICT_CHECKS'] = '0'\n"
            + WRONG_WP,
            "WR": "import swin_edu.exercises.runner as r\nr.run_check = lambda *a, **k: True\nr._grading = lambda: False\n"
            + fn("window_reverse_mine(windows, M, H, W)", UNSOLVED),
        },
        ["import os\nos.environ.pop('NBGRADER_EXECUTION', None)"],
    ),
    # rebinding `check`, an IPython input transformer that turns every check into `passed = True`
    "check_rebind": (
        {k: "unsolved" for k in EXERCISES},
        [
            "class Yes:\n    def __getattr__(self, name):\n        return lambda *a, **k: True\ncheck = Yes()",
            "get_ipython().input_transformers_cleanup.append(\n"
            "    lambda lines: ['passed = True\\n'] if any('check.' in l for l in lines) else lines)",
        ],
    ),
    # an ndarray subclass with fake shape/dtype and __array_function__; a tuple of always-equal objects
    "fake_types": (
        {
            "WP": fn(
                "window_partition_mine(x, M)",
                """
            class Fake(np.ndarray):
                shape = property(lambda self: (4, 2, 2, 1))
                dtype = property(lambda self: np.dtype('float64'))
                def __array_function__(self, *a, **k):
                    return True
                def __eq__(self, other):
                    return True
            return np.zeros(16).view(Fake)
        """,
            ),
            "P": fn(
                "patch_pixel_mine(i, j, k, p=4, C=3)",
                """
            class Eq(int):
                def __eq__(self, other):
                    return True
                __hash__ = int.__hash__
            return (Eq(0), Eq(0), Eq(0))
        """,
            ),
        },
        [],
    ),
    # monkeypatched numpy comparisons; reading `expected` from the checker's frames
    "numpy_frames": (
        {
            "A": "np.allclose = np.array_equal = np.isclose = lambda *a, **k: True\n"
            + fn("attention_mine(q, k, v)", "return np.zeros((q.shape[0], v.shape[-1]))"),
            "WP": fn(
                "window_partition_mine(x, M)",
                """
            import sys
            for frame in sys._current_frames().values():
                while frame is not None:
                    if 'expected' in frame.f_locals:
                        return frame.f_locals['expected']
                    frame = frame.f_back
            return x
        """,
            ),
        },
        ["np.allclose = np.array_equal = lambda *a, **k: True"],
    ),
    # emptying the cases of the check, in a plain cell and inside the answer cell
    "empty_cases": (
        {
            "WP": "from swin_edu.exercises import check as c\nc.window_partition.exercise.cases = lambda: []\n"
            + WRONG_WP,
        },
        ["check.window_partition.exercise.cases = lambda: []\ncheck.window_partition.exercise.hidden = None"],
    ),
    # the package's own references (and a reload of the package to get them back)
    "references": (
        {
            "WP": fn("window_partition_mine(x, M)", "return snp.window_partition(x, M)"),
            "A": "from swin_edu.exercises.nb02 import attention_reference\n"
            + fn("attention_mine(q, k, v)", "return attention_reference(q, k, v)"),
            "M": "from swin_edu import complexity\n"
            + fn("block_macs_mine(h, w, C, M)", "return complexity.block_macs(h, w, C, M)"),
            "WR": "import importlib\nimportlib.reload(snp.windows)\nimportlib.reload(snp)\n"
            + fn("window_reverse_mine(windows, M, H, W)", "return snp.window_reverse(windows, M, H, W)"),
        },
        [],
    ),
    # reading the instructor's source, solutions, secret seed and grading data; /proc of the parent
    "snoop": (
        {
            "WP": fn(
                "window_partition_mine(x, M)",
                """
            import glob, json
            for path in glob.glob('{course}/autograder/*/*.json'):
                return json.load(open(path))['cells'][0]['cases'][0]['expected']
            return open('{course}/source/redteam/exercises.ipynb').read()
        """,
            ),
        },
        [
            "import glob, os\n"
            "for pattern in ['{course}/*', '{course}/*/*/*', '{repo}/notebooks/*', '/proc/*/cmdline', '/proc/1/root/*',"
            " '/work/*', '/root/*', '/home/*/*', '/tmp/*']:\n"
            "    print(pattern, sorted(glob.glob(pattern))[:20])\n"
            "for path in ['{course}/source/redteam/exercises.ipynb', '{course}/autograder/redteam/secret_seed',"
            " '{repo}/notebooks/02_window_attention.ipynb', '/proc/1/environ']:\n"
            "    try:\n"
            "        print(path, open(path).read()[:2000])\n"
            "    except OSError as e:\n"
            "        print(path, type(e).__name__)"
        ],
    ),
    # writing into the course folder; rewriting another student's submission; the gradebook
    "vandal": (
        {k: "unsolved" for k in EXERCISES},
        [
            "import os\n"
            "for path in ['{course}/pwned.txt', '{course}/submitted/dave/redteam/exercises.ipynb', '{course}/gradebook.db',"
            " '{course}/autograder/redteam/exercises.json', '/home/student/../../{course}/x']:\n"
            "    try:\n"
            "        with open(path, 'w') as f:\n"
            "            f.write('{{}}')\n"
            "        print('WROTE', path)\n"
            "    except OSError as e:\n"
            "        print('refused', path, type(e).__name__)",
        ],
    ),
    # a C loop that holds the GIL, in a graded function and in a plain cell
    "hang": (
        {
            "WP": fn("window_partition_mine(x, M)", "return sum(range(10**13))"),
        },
        ["sum(range(10**13))"],
    ),
    # the process ends: os._exit in a function, in a plain cell; killing the sandbox's first process
    "exiter": (
        {
            "WR": fn("window_reverse_mine(windows, M, H, W)", "import os\nos._exit(1)"),
            "M": fn(
                "block_macs_mine(h, w, C, M)",
                "import os, signal\nos.kill(1, signal.SIGKILL)\nos.kill(os.getppid(), 9)",
            ),
        },
        ["import os\nos._exit(3)"],
    ),
    # memory: one huge allocation, one that grows until it fails
    "memory": (
        {
            "WP": fn("window_partition_mine(x, M)", "return np.ones(1 << 38)"),
            "A": fn(
                "attention_mine(q, k, v)", "blocks = []\nwhile True:\n    blocks.append(bytearray(1 << 26))"
            ),
        },
        ["blocks = []\nwhile True:\n    blocks.append(bytearray(1 << 26))"],
    ),
    # 10 MB of output, in a graded function and in a plain cell
    "printer": (
        {
            "WP": fn("window_partition_mine(x, M)", "print('x' * 10_000_000)\nreturn x"),
        },
        ["print('x' * 10_000_000)"],
    ),
    # fork bombs (and threads)
    "forkbomb": (
        {
            "WR": fn(
                "window_reverse_mine(windows, M, H, W)",
                """
            import os
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        """,
            ),
        },
        [
            "import os, time\npids = []\nfor _ in range(100000):\n    try:\n        pid = os.fork()\n"
            "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n"
            "    pids.append(pid)\nprint('forked', len(pids))"
        ],
    ),
    # the network: a listener on the grader's machine, a DNS lookup
    "network": (
        {
            "M": fn(
                "block_macs_mine(h, w, C, M)",
                """
            import socket
            s = socket.create_connection(('127.0.0.1', {port}), timeout=2)
            s.sendall(b'grade me')
            return int(s.recv(100))
        """,
            ),
        },
        [
            "import socket\nfor target in [('127.0.0.1', {port}), ('pypi.org', 443)]:\n    try:\n"
            "        socket.create_connection(target, timeout=2)\n        print('CONNECTED', target)\n"
            "    except OSError as e:\n        print('no network', target, type(e).__name__)"
        ],
    ),
    # huge files: in the private /tmp, in the home folder
    "bigfile": (
        {
            "WR": fn(
                "window_reverse_mine(windows, M, H, W)",
                """
            with open('/tmp/big', 'wb') as f:
                for _ in range(64):
                    f.write(b'0' * (1 << 26))
            return windows
        """,
            ),
        },
        ["with open('big', 'wb') as f:\n    for _ in range(64):\n        f.write(b'0' * (1 << 26))"],
    ),
    # forging the grader's result stream (its file descriptor is reachable through /proc/self/fd)
    "forger": (
        {
            "WP": fn(
                "window_partition_mine(x, M)",
                """
            import json, os
            fake = json.dumps({'event': 'result', 'case': 0, 'value': {'t': 'int', 'v': 1}, 'after': {'t': 'none'}})
            for fd in os.listdir('/proc/self/fd'):
                try:
                    os.write(int(fd), (fake + '\\n').encode())
                except OSError:
                    pass
            return x
        """,
            ),
        },
        [],
    ),
}

#: students with a modified notebook (not only answers): the flag flipper deletes a graded cell too
SPECIAL = ("flipper", "symlinker", "mirror", "alice", "bob", "carol", "dave")


def expected_scores() -> dict[str, int]:
    full = sum(p for _, _, p in EXERCISES.values())
    out = {
        "alice": full,
        "dave": full,
        "bob": 0,
        "carol": EXERCISES["A"][2],
        "flipper": full - EXERCISES["WP"][2],
        "symlinker": 0,
        "mirror": 0,
    }
    for student, (answers, _) in ATTACKS.items():
        out[student] = sum(p for key, (_, _, p) in EXERCISES.items() if key not in answers)
    return out


# ------------------------------------------------------------------------------------------- the class run
def _tree_digest(folder: pathlib.Path, skip=()) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            continue
        out[rel] = (
            "link"
            if path.is_symlink()
            else hashlib.sha256(path.read_bytes()).hexdigest()
            if path.is_file()
            else "dir"
        )
    return out


#: what the grader itself writes into the course folder
GRADER_WRITES = ("gradebook.db", "autograded", "feedback", "grader_runs", ".nbgrader.log")


def _run_class(course: pathlib.Path, src_dir: pathlib.Path) -> dict:
    """Release, submit every attack and the honest students, grade the class; what the tests read, as JSON."""
    source = make_source(src_dir / NB)
    release = classroom.release(course, ASSIGNMENT, notebooks=[source])
    src_nb = nbformat.read(course / "source" / ASSIGNMENT / NB, as_version=4)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    fill = {"course": str(course), "repo": str(ROOT), "port": listener.getsockname()[1]}

    def student_nb():
        return nbformat.read(release / NB, as_version=4)

    def answer(key, how):
        notebook, stem, _ = EXERCISES[key]
        if how == "solution":  # the solution as a student would write it (without nbgrader's markers)
            return "\n".join(
                line
                for line in _by_id(src_nb)[f"{stem}_answer"].source.splitlines()
                if "SOLUTION" not in line
            )
        if how == "unsolved":
            return _by_id(student_nb())[f"{stem}_answer"].source
        return how.format(**fill) if "{course}" in how or "{port}" in how else how

    def submit(student, nb):
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NB)
        return folder

    for student, (answers, extra) in ATTACKS.items():
        nb = student_nb()
        cells = _by_id(nb)
        for key, (_, stem, _) in EXERCISES.items():
            cells[f"{stem}_answer"].source = answer(key, answers.get(key, "solution"))
        for i, source in enumerate(extra):
            nb.cells.insert(
                2 + i, nbformat.v4.new_code_cell(source.format(**fill) if "{" in source else source)
            )
        submit(student, nb)
    submit("alice", src_nb)
    submit("dave", src_nb)
    submit("bob", student_nb())
    carol = student_nb()
    cells = _by_id(carol)
    cells["nb02_attention_answer"].source = answer("A", "solution")
    cells["nb02_window_partition_answer"].source = WRONG_WP
    submit("carol", carol)
    flipper = student_nb()
    cells = _by_id(flipper)
    for key, (_, stem, _) in EXERCISES.items():
        cells[f"{stem}_answer"].source = answer(key, "solution")
    cells["nb02_window_partition_answer"].source = WRONG_WP
    cells["nb02_window_partition_check"].metadata["nbgrader"]["grade"] = False
    flipper.cells.remove(cells["nb02_block_macs_check"])  # a deleted graded cell is put back and graded
    submit("flipper", flipper)
    folder = course / "submitted" / "symlinker" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NB).symlink_to(course / "source" / ASSIGNMENT / NB)
    (folder / "course").symlink_to(course)
    (course / "submitted" / "snoop" / ASSIGNMENT / "course").symlink_to(course)
    (course / "submitted" / "mirror").symlink_to(course / "submitted" / "dave")  # another student's folder

    before = _tree_digest(course, GRADER_WRITES)
    settings = GradingSettings(
        cell_timeout=CELL_TIMEOUT,
        verdict_timeout=VERDICT_TIMEOUT,
        workers=2,
        verdict_memory=1024 << 20,
        kernel_memory=1536 << 20,
    )
    report = classroom.grade_class(course, ASSIGNMENT, settings=settings)
    after = _tree_digest(course, GRADER_WRITES)
    try:
        conn, _ = listener.accept()
        reached = True
        conn.close()
    except BlockingIOError:
        reached = False
    listener.close()
    return {
        "course": str(course),
        "table": report.table(),
        "seconds": report.seconds,
        "students": {
            s.student: {"problems": s.problems, "log": s.log, "scores": s.scores} for s in report.students
        },
        "scores": classroom.scores(course, ASSIGNMENT),
        "before": before,
        "after": after,
        "reached": reached,
    }


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """One class run for the whole suite, shared by the pytest-xdist workers (the first one runs it)."""
    from filelock import FileLock

    shared = (
        tmp_path_factory.getbasetemp().parent
        if os.environ.get("PYTEST_XDIST_WORKER")
        else tmp_path_factory.getbasetemp()
    )
    with FileLock(str(shared / "redteam.lock")):
        done = shared / "redteam.json"
        if not done.is_file():
            data = _run_class(tmp_path_factory.mktemp("course"), tmp_path_factory.mktemp("src"))
            done.write_text(json.dumps(data), encoding="utf-8")
            print("\n" + data["table"] + f"\n{data['seconds']}")
        data = json.loads(done.read_text(encoding="utf-8"))
    data["course"] = pathlib.Path(data["course"])
    return data


def _score(scores, student):
    return sum(scores.get(student, {}).values())


def _feedback(course, student) -> str:
    path = course / "feedback" / student / ASSIGNMENT / NB.replace(".ipynb", ".html")
    return html.unescape(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------- the tests
def test_the_class_finishes_with_every_student_in_the_table(graded):
    assert set(graded["students"]) == set(expected_scores())
    assert set(graded["scores"]) == set(expected_scores())
    for student in expected_scores():
        assert student in graded["table"]


@pytest.mark.parametrize("student", sorted(expected_scores()))
def test_each_student_scores_exactly_what_their_own_work_earns(graded, student):
    scores = graded["scores"]
    assert _score(scores, student) == expected_scores()[student], scores.get(student)


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_each_attack_scores_zero_on_the_attacked_exercises_only(graded, student):
    scores = graded["scores"]
    answers, _ = ATTACKS[student]
    for key, (_, stem, pts) in EXERCISES.items():
        got = scores[student][f"{stem}_check"]
        assert got == (0 if key in answers else pts), (student, key, got)


def test_the_course_folder_is_unchanged(graded):
    assert graded["after"] == graded["before"]
    assert not (graded["course"] / "pwned.txt").exists()


def test_feedback_for_everyone_with_the_specific_message(graded):
    course = graded["course"]
    for student in expected_scores():
        assert (course / "feedback" / student / ASSIGNMENT / "exercises.html").is_file(), student
    assert "a plain reshape does not cut windows" in _feedback(course, "carol")
    assert "not solved yet" in _feedback(course, "bob")


def test_references_are_stubs_while_graded(graded):
    course = graded["course"]
    text = _feedback(course, "references")
    assert "snp.window_partition is the reference for this exercise" in text
    assert "not available while your answer is graded" in text


def test_nothing_of_the_instructor_reaches_a_student(graded):
    course = graded["course"]
    seed = (course / "autograder" / ASSIGNMENT / "secret_seed").read_text().strip()
    for student in ("snoop", "vandal", "symlinker"):
        text = _feedback(course, student)
        assert "BEGIN SOLUTION" not in text and seed not in text and "WROTE /" not in text
        assert "SQLite format 3" not in text and '"nbgrader": {' not in text
    assert "FileNotFoundError" in _feedback(course, "snoop")


def test_no_network_inside_the_sandbox(graded):
    assert not graded["reached"]
    text = _feedback(graded["course"], "network")
    assert "CONNECTED (" not in text and "no network ('127.0.0.1'" in text


def test_hangs_exits_and_memory_cost_their_cell_only(graded):
    course = graded["course"]
    assert "did not finish within" in _feedback(course, "hang")
    assert "the end" in _feedback(course, "hang")  # the notebook went on after the stopped cell
    assert "the end" in _feedback(course, "exiter") and "the end" in _feedback(course, "memory")
    assert "MemoryError" in _feedback(course, "memory") or "out of memory" in _feedback(course, "memory")


def test_output_is_capped(graded):
    course = graded["course"]
    for folder in ("autograded", "feedback"):
        for path in (course / folder / "printer").rglob("*"):
            if path.is_file():
                assert path.stat().st_size < 3_000_000, path


def test_a_symlinked_submission_is_refused_and_named(graded):
    symlinker = graded["students"]["symlinker"]
    assert "symbolic link" in " ".join(symlinker["problems"])
    assert pathlib.Path(symlinker["log"]).is_dir()
    assert "symlinker: " in graded["table"] and "symbolic link" in graded["table"]
    failed = sorted(s for s, v in graded["students"].items() if v["problems"])
    assert failed == ["mirror", "symlinker"], failed
