"""The classroom flow, end to end, by nbgrader's own machinery in a temporary course folder: release
notebook 02, submit (a) the solutions, (b) the untouched student version, (c) a partly wrong version, grade
the class (sandboxed, in parallel), feedback. Plus the pieces: the grading data stays with the instructor,
the sandbox refuses to run without bubblewrap, the plain-data codec, the package copies without references.
Attacks: tests/test_redteam.py."""

from __future__ import annotations

import html
import io
import json
import os
import pathlib
import stat
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from swin_edu import classroom
from swin_edu.classroom import codec
from swin_edu.classroom.autograder import ReleaseError, case_rng, graded_cells
from swin_edu.classroom.bwrap import Limits, Sandbox, SandboxUnavailable
from swin_edu.classroom.grading import GradingSettings
from swin_edu.classroom.stubs import import_closure, make_copy
from swin_edu.exercises import EXERCISES

ROOT = pathlib.Path(__file__).resolve().parents[1]
ASSIGNMENT = "02_window_attention"
NB = f"{ASSIGNMENT}.ipynb"
HAS_BWRAP = __import__("shutil").which("bwrap") is not None
needs_bwrap = pytest.mark.skipif(
    not HAS_BWRAP, reason="bubblewrap is not installed (tools/install_sandbox.sh)"
)

# (c) solves the attention exercise and gets window_partition wrong (windows read straight off the
# memory layout, without the transpose that gathers each window's rows)
WRONG_PARTITION = '''def window_partition_mine(x, M):
    """(B, H, W, C) -> (num_windows*B, M, M, C), windows in row-major order."""
    return x.reshape(-1, M, M, x.shape[-1])
'''


def _cells_by_id(nb):
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in nb.cells
        if "nbgrader" in c.metadata and "grade_id" in c.metadata["nbgrader"]
    }


SETTINGS = GradingSettings(cell_timeout=120, verdict_timeout=60, workers=2)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    out = classroom.release(course, ASSIGNMENT, settings=SETTINGS)
    return course, out


@pytest.fixture(scope="module")
def graded(released):
    course, out = released
    source = nbformat.read(course / "source" / ASSIGNMENT / NB, as_version=4)
    student = nbformat.read(out / NB, as_version=4)

    def submit(who, nb):
        d = course / "submitted" / who / ASSIGNMENT
        d.mkdir(parents=True)
        nbformat.write(nb, d / NB)

    submit("alice", source)  # (a) the solutions
    submit("bob", student)  # (b) the untouched student version
    partial = nbformat.read(out / NB, as_version=4)
    cells, src_cells = _cells_by_id(partial), _cells_by_id(source)
    cells["nb02_attention_answer"].source = src_cells["nb02_attention_answer"].source
    cells["nb02_window_partition_answer"].source = WRONG_PARTITION
    submit("carol", partial)  # (c) one right, one wrong, the rest unsolved
    report = classroom.grade_class(course, ASSIGNMENT, settings=SETTINGS)
    print("\n" + report.table() + f"\n{report.seconds}")
    return (
        course,
        report,
        classroom.scores(course, ASSIGNMENT),
        classroom.points(course / "source" / ASSIGNMENT / NB),
    )


# ------------------------------------------------------------------------------------------------ release
@pytest.mark.slow
def test_release_is_made_by_nbgrader_without_solutions_or_grading_data(released):
    course, out = released
    text = (out / NB).read_text()
    source = (course / "source" / ASSIGNMENT / NB).read_text()
    assert "### BEGIN SOLUTION" in source and "HIDDEN TESTS" not in source
    assert "BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text
    nb = nbformat.reads(text, as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(c.metadata["nbgrader"]["locked"] for c in graded)
    assert all(c.source.startswith("passed = check.") and "\n" not in c.source.strip() for c in graded)
    # the figures travel inside the released notebook
    assert "../figures/" not in text and any(c.get("attachments") for c in nb.cells)
    # the grading data is in the course folder only, readable by the instructor only
    data = course / "autograder" / ASSIGNMENT
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "secret_seed").stat().st_mode) == 0o600
    assert {p.name for p in out.iterdir()} == {NB}


@pytest.mark.slow
def test_grading_data_has_public_and_hidden_cases_with_expected_outputs(released):
    course, _ = released
    spec = json.loads((course / "autograder" / ASSIGNMENT / f"{ASSIGNMENT}.json").read_text())
    ids = [c["grade_id"] for c in spec["cells"]]
    assert ids == [
        "nb02_attention_check",
        "nb02_window_partition_check",
        "nb02_window_reverse_check",
        "nb02_block_macs_check",
    ]
    for cell in spec["cells"]:
        ex = EXERCISES[cell["exercise"]]
        assert [c["label"] for c in cell["cases"] if not c["hidden"]] == [c.label for c in ex.cases()]
        hidden = [c for c in cell["cases"] if c["hidden"]]
        assert hidden and all("expected" in c for c in cell["cases"])
        assert cell["answer_ids"] == [cell["grade_id"].replace("_check", "_answer")]
    partition = spec["cells"][1]
    assert partition["forbidden"] == ["swin_edu.numpy_ref.windows:window_partition"]
    case = partition["cases"][-1]
    args = codec.decode(case["args"])
    from swin_edu import numpy_ref as snp

    assert np.array_equal(codec.decode(case["expected"]), snp.window_partition(*args))


def test_hidden_cases_come_from_the_secret_seed():
    ex = EXERCISES["window_partition"]
    draw = lambda seed: [
        codec.dumps(c.args) for c in ex.hidden(case_rng(seed, "nb02_window_partition_check"))
    ]  # noqa
    assert draw(1) == draw(1) and draw(1) != draw(2)
    assert draw(1) != [codec.dumps(c.args) for c in ex.hidden(case_rng(1, "another_cell"))]


def test_grading_data_is_not_in_the_package():
    from swin_edu.weights import ASSETS, COURSE_CHECKPOINTS

    package = ROOT / "swin_edu"
    # the course's trained checkpoints (swin_edu.weights: model weights with how they were made) are the only arrays
    shipped = {ASSETS / f"{name}.npz" for name in COURSE_CHECKPOINTS}
    for path in package.rglob("*"):
        if path in shipped:
            continue
        assert path.suffix not in (".npy", ".npz") and path.name != "secret_seed", path
    text = "".join(p.read_text() for p in (package / "exercises").glob("*.py"))
    assert "hidden_cases" not in text and "expected=(" not in text


def test_a_graded_cell_must_be_a_bare_check_call():
    nb = nbformat.read(ROOT / "notebooks" / NB, as_version=4)
    cells = graded_cells(nb)
    assert [c.exercise for c in cells] == ["attention", "window_partition", "window_reverse", "block_macs"]
    _cells_by_id(nb)["nb02_attention_check"].source += "\n_ = check.attention(attention_mine, hidden=True)"
    with pytest.raises(ReleaseError, match="nb02_attention_check must read exactly"):
        graded_cells(nb)


# ------------------------------------------------------------------------------------------------ grading
@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_solutions_get_full_marks(graded):
    _, _, scores, points = graded
    print(f"\nalice (solutions): {sum(scores['alice'].values()):g} / {sum(points.values()):g}")
    assert scores["alice"] == points and sum(points.values()) > 0


@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_untouched_student_version_gets_zero_on_every_graded_cell(graded):
    _, _, scores, points = graded
    assert set(scores["bob"]) == set(points) and all(v == 0 for v in scores["bob"].values())


@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_partly_wrong_submission_gets_exactly_the_points_of_what_is_right(graded):
    _, report, scores, points = graded
    expected = {k: (points[k] if k == "nb02_attention_check" else 0.0) for k in points}
    assert scores["carol"] == expected
    assert not any(s.failed for s in report.students), report.table()


@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_feedback_carries_the_specific_message(graded):
    course, *_ = graded
    text = html.unescape((course / "feedback" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text())
    assert "❌ window_partition: case 1 of" in text and "a plain reshape does not cut windows" in text
    assert "✅ attention: passed all" in text and "hidden)" in text
    bob = html.unescape((course / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text())
    assert "not solved yet" in bob
    # the notebook's other cells ran too (in the sandbox): their outputs are in the feedback
    assert "uses the reference `swin_edu.numpy_ref.window_partition`" in text


@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_grading_again_gives_the_same_scores_and_several_students_at_once(graded):
    course, _, scores, _ = graded
    report = classroom.autograde(course, ASSIGNMENT, ["carol", "bob"], settings=SETTINGS)
    assert [s.student for s in report.students] == ["bob", "carol"]
    again = classroom.scores(course, ASSIGNMENT)
    assert again == scores


@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_plain_nbgrader_autograde_grades_in_the_sandbox_too(graded):
    """Without `classroom grade`'s first phase (the results removed), nbgrader's own command does the
    sandboxed work in SandboxedExecute."""
    course, _, scores, _ = graded
    runs = course / "grader_runs" / ASSIGNMENT / "carol"
    for path in runs.glob("*.json"):
        path.unlink()
    classroom.run_nbgrader(
        course, "autograde", ASSIGNMENT, "--student=carol", "--force", "--SandboxedExecute.cell_timeout=120"
    )
    assert classroom.scores(course, ASSIGNMENT)["carol"] == scores["carol"]


@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_command_line_prints_the_table(graded, capsys):
    course, *_ = graded
    code = classroom.main(
        [
            "--course-dir",
            str(course),
            "grade",
            ASSIGNMENT,
            "--student",
            "bob",
            "--cell-timeout",
            "120",
            "--workers",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "bob" in out and "total / 7" in out and "feedback:" in out


def test_grading_refuses_without_bubblewrap(tmp_path, capsys):
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        Sandbox(bwrap="")
    course = classroom.prepare_course(tmp_path)
    (course / "nbgrader_config.py").write_text(
        (course / "nbgrader_config.py").read_text() + "\nc.SandboxedExecute.bwrap = '/nonexistent/bwrap'\n"
    )
    code = classroom.main(["--course-dir", str(course), "grade", ASSIGNMENT])
    assert code == 3 and "refusing to grade" in capsys.readouterr().err


def test_unsafe_mode_runs_without_the_sandbox_when_told():
    box = Sandbox(bwrap="", allow_unsandboxed=True)
    try:
        assert not box.sandboxed and "NO SANDBOX" in box.description
    finally:
        box.close()


# ------------------------------------------------------------------------------------------------ pieces
@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_sandbox_runs_an_answer_and_sees_nothing_of_the_host(tmp_path):
    package = make_copy(tmp_path / "pkg", prelude="import numpy as np\n")
    box = Sandbox(hidden_paths=[ROOT])
    paths = [
        str(ROOT / "notebooks"),
        str(ROOT / "classroom"),
        str(tmp_path / "pkg"),
        str(ROOT / "pyproject.toml"),
    ]
    job = {
        "prelude": "import numpy as np\n",
        "guards": [],
        "function": "f",
        "cells": [
            {
                "id": "a",
                "source": "import os, socket\ndef f(paths):\n"
                "    return (os.getuid(), [os.path.exists(p) for p in paths],"
                " len([p for p in os.listdir('/proc') if p.isdigit()]) < 10)",
            }
        ],
        "cases": [{"args": codec.encode((paths,)), "kwargs": codec.encode({})}],
    }
    try:
        run = box.run("verdict", job, package=package, limits=Limits(wall=60))
    finally:
        box.close()
    uid, seen, few_processes = codec.decode(next(e for e in run.events if e["event"] == "result")["value"])
    assert uid != 0 or os.geteuid() != 0
    assert seen == [False, False, False, False] and few_processes


@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_guards_make_library_shortcuts_unavailable(tmp_path):
    package = make_copy(tmp_path / "pkg", prelude="import torch\n")
    box = Sandbox()
    source = (
        "import torch\nimport torch.nn.functional as F\ndef f(x):\n    try:\n"
        "        F.cross_entropy(x, torch.tensor([0]), label_smoothing=0.1)\n    except BaseException as e:\n"
        "        a = type(e).__name__\n    b = float(F.cross_entropy(x, torch.tensor([0])))\n"
        "    try:\n        F.scaled_dot_product_attention(x, x, x)\n    except BaseException as e:\n"
        "        return a, b, type(e).__name__\n"
    )
    job = {
        "prelude": "import torch\n",
        "function": "f",
        "cells": [{"id": "a", "source": source}],
        "guards": [
            "torch.nn.functional:scaled_dot_product_attention",
            "aten::cross_entropy_loss?label_smoothing",
        ],
        "cases": [{"args": codec.encode((__import__("torch").zeros(1, 3),)), "kwargs": codec.encode({})}],
    }
    try:
        run = box.run("verdict", job, package=package, limits=Limits(wall=120))
    finally:
        box.close()
    value = codec.decode(next(e for e in run.events if e["event"] == "result")["value"])
    assert value[0] == "ReferenceUnavailable" and value[2] == "ReferenceUnavailable"
    assert abs(value[1] - __import__("math").log(3)) < 1e-6  # without smoothing, cross_entropy still works
    assert abs(value[1] - np.log(3)) < 1e-6


def test_codec_round_trips_plain_data_exactly():
    import torch

    from swin_edu.config import SwinConfig

    value = (
        1,
        2.5,
        float("nan"),
        True,
        None,
        "s",
        np.arange(6, dtype=np.int32).reshape(2, 3),
        np.float32(1.5),
        [1, (2, 3)],
        {"w": np.ones(2)},
        torch.arange(3, dtype=torch.bfloat16),
        SwinConfig.preset("nano"),
    )
    back = codec.loads(codec.dumps(value))
    assert (
        type(back) is tuple and back[:2] == (1, 2.5) and np.isnan(back[2]) and back[3:6] == (True, None, "s")
    )
    assert back[6].dtype == np.int32 and np.array_equal(back[6], value[6])
    assert type(back[7]) is np.float32 and back[8] == [1, (2, 3)] and np.array_equal(back[9]["w"], np.ones(2))
    assert back[10].dtype == torch.bfloat16 and back[11] == SwinConfig.preset("nano")


def test_codec_accepts_only_exact_types():
    class Fake(np.ndarray):
        def __array_function__(self, *a, **k):
            return True

    class AlwaysEqual(int):
        def __eq__(self, other):
            return True

    for value in (np.zeros(3).view(Fake), AlwaysEqual(1), np.array([object()]), {1: 2}, object()):
        back = codec.decode(codec.encode(value))
        assert isinstance(back, codec.Foreign) and back != back and back != 1


def test_codec_refuses_what_is_not_plain_data():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    pickled = {"t": "ndarray", "npy": __import__("base64").b64encode(buf.getvalue()).decode()}
    for tree in (
        pickled,
        {"t": "eval", "v": "1"},
        {"t": "int", "v": 1.5},
        [],
        {"t": "tuple", "v": 3},
        {"t": "dict", "v": [[1, {"t": "none"}]]},
    ):
        with pytest.raises(codec.DecodeError):
            codec.decode(tree)


def test_package_copies_keep_only_what_the_prelude_needs(tmp_path):
    closure = import_closure(["swin_edu.numpy_ref"])
    assert "swin_edu.numpy_ref.windows" in closure and "swin_edu.config" in closure
    assert not any(
        m.startswith(("swin_edu.model", "swin_edu.exercises", "swin_edu.train", "swin_edu.classroom"))
        for m in closure
    )
    copy = make_copy(
        tmp_path,
        prelude="from swin_edu import numpy_ref as snp\n",
        forbidden=[
            "swin_edu.numpy_ref.windows:window_partition",
            "swin_edu.config:SwinConfig.stage_resolutions",
        ],
    )
    code = (
        "import numpy as np\nfrom swin_edu import numpy_ref as snp\nfrom swin_edu.config import SwinConfig\n"
        "for call in (lambda: snp.window_partition(np.zeros((1, 4, 4, 1)), 2),\n"
        "             lambda: SwinConfig().stage_resolutions(),\n"
        "             lambda: __import__('swin_edu.model')):\n"
        "    try:\n        call()\n    except BaseException as e:\n        print(type(e).__name__, e)\n"
        "print(snp.cyclic_shift(np.arange(4.).reshape(1, 2, 2, 1), 1).ravel())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(copy)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ReferenceUnavailable snp.window_partition is the reference for this exercise" in out
    assert "ReferenceUnavailable config.SwinConfig.stage_resolutions" in out
    assert "ImportError swin_edu.model is not available while your answer is graded" in out
    assert "[3. 2. 1. 0.]" in out


def test_every_forbidden_reference_exists():
    from swin_edu.classroom.stubs import _stub_source, module_files

    files = module_files()
    for ex in EXERCISES.values():
        for entry in ex.forbidden:
            module, _, qualname = entry.partition(":")
            assert module in files, entry
            _stub_source(files[module].read_text(), qualname, "x")  # raises when it is missing


@pytest.mark.slow
@pytest.mark.sandbox
@needs_bwrap
def test_a_read_only_folder_under_tmp_stays_visible_above_the_private_tmp(tmp_path):
    """CI clones the repository under /tmp, so the grader's virtual environment lives there: the sandbox's private
    /tmp must not hide a read-only bind below it (a regression: 'execvp .../.venv/bin/python: No such file')."""
    from swin_edu.classroom.bwrap import VERDICT_LIMITS

    assert str(tmp_path).startswith("/tmp/"), tmp_path
    (tmp_path / "venv_marker").write_text("visible")
    box = Sandbox()
    try:
        binds = box._system_binds() + [(str(tmp_path), str(tmp_path))]
        args = box._bwrap_args(binds, VERDICT_LIMITS, {"PATH": "/usr/bin"}, "/")
        proc = subprocess.run(args + [box.python, "-c", f"print(open({str(tmp_path / 'venv_marker')!r}).read())"],
                              capture_output=True, text=True, timeout=120, check=False)
    finally:
        box.close()
    assert proc.returncode == 0 and proc.stdout.strip() == "visible", proc.stderr[-2000:]
