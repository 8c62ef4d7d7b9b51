"""Exercise 8.3, the learner's training step: the harness the check runs, the reference, every classic mistake named,
the answer cell alone in the grader's package copy, and (slow) a classroom release graded in the sandbox together
with exercise 7.6 (StudentSwin)."""
from __future__ import annotations

import copy
import os
import pathlib
import pickle
import subprocess
import sys

import nbformat
import pytest
import torch

from swin_edu.exercises import EXERCISES, check, settings
from swin_edu.exercises import training as tr

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr(settings, "quiet", True)


def _cells(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def _steps(kind):
    return lambda *args: tr.run_train_steps(tr._wrong_step(kind), *args)


def test_the_reference_passes_public_and_hidden_cases_and_an_unsolved_step_says_so():
    assert check.train_step(tr.train_steps_reference, hidden=True)
    assert check.train_step.notebook == "08"

    def todo(*a, **k):
        raise NotImplementedError()
    assert check.train_step(lambda *args: tr.run_train_steps(todo, *args)).status == "unsolved"


def test_the_harness_returns_plain_data_and_leaves_its_inputs_alone():
    case = EXERCISES["train_step"].cases()[0]
    args = copy.deepcopy(case.args)
    out = tr.train_steps_reference(*args)
    assert set(out) == {"loss", "train_mode", "weights"} and all(v.dtype == torch.float64 for v in out.values())
    assert out["train_mode"].tolist() == [1.0, 1.0, 1.0] and torch.isfinite(out["loss"]).all()
    assert all(torch.equal(a, b) for a, b in zip(args[0].values(), case.args[0].values()))
    again = tr.train_steps_reference(*copy.deepcopy(case.args))   # deterministic: drop path is seeded per step
    assert all(torch.equal(out[k], again[k]) for k in out)


@pytest.mark.parametrize("kind,expected", [
    ("no_zero_grad", "the gradients add up from step to step"),
    ("zero_after_backward", "the weights never moved"),
    ("step_before_backward", "the weights never moved"),
    ("wrong_axis", "the loss was taken over the wrong axis"),
    ("no_smoothing", "the loss has no label smoothing"),
    ("no_clip", "the step used unclipped gradients"),
    ("clip_after_step", "the step used unclipped gradients"),
    ("lr_not_set", "the learning rate was never set"),
    ("lr_first_group", "only the first parameter group got the learning rate"),
])
def test_every_classic_mistake_is_named(kind, expected):
    res = check.train_step(_steps(kind))
    assert res.status == "failed" and expected in res.message, res.message
    assert "expected: losses" in res.message and "Traceback" not in res.message


def _eval_mode_left_on(model, optimizer, images, labels, lr, smoothing=0.1, max_norm=5.0):
    for group in optimizer.param_groups:
        group["lr"] = lr
    loss = torch.nn.functional.cross_entropy(model(images), labels, label_smoothing=smoothing)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


def test_eval_mode_left_on_no_return_and_no_forward_are_named():
    msg = check.train_step(lambda *a: tr.run_train_steps(_eval_mode_left_on, *a)).message
    assert "call model.train() at the start of the step" in msg
    no_return = check.train_step(lambda *a: tr.run_train_steps(lambda *x, **k: None, *a)).message
    assert "return loss.item()" in no_return
    def no_forward(model, optimizer, images, labels, lr, **kw):
        return 1.0
    assert "each step runs the model once" in check.train_step(lambda *a: tr.run_train_steps(no_forward, *a)).message
    assert "keep the given function as it is" in check.train_step(lambda *a: 3.0).message


def test_a_step_that_returns_the_loss_tensor_or_computes_the_loss_itself_passes():
    def own_loss(model, optimizer, images, labels, lr, smoothing=0.1, max_norm=5.0):
        model.train()
        for group in optimizer.param_groups:
            group["lr"] = lr
        logp = torch.log_softmax(model(images), dim=-1)
        loss = ((1 - smoothing) * -logp.gather(1, labels[:, None]).squeeze(1) - smoothing * logp.mean(-1)).mean()
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        return loss
    assert check.train_step(lambda *a: tr.run_train_steps(own_loss, *a), hidden=True)


def test_the_notebook_answer_passes_and_the_loop_uses_it():
    cell = _cells("08_train_tiny_swin")["nb08_train_step_answer"].source
    ns: dict = {}
    exec(EXERCISES["train_step"].prelude, ns)  # noqa: S102 - the course's own notebook
    exec(cell, ns)  # noqa: S102
    assert check.train_step(ns["train_steps_mine"], hidden=True)
    nb = nbformat.read(ROOT / "notebooks" / "08_train_tiny_swin.ipynb", as_version=4)
    loop = next(c.source for c in nb.cells if c.get("id") == "717754bc")
    assert "train_step(my_model, opt, x_train[idx], y_train[idx], lr)" in loop and "backward" not in loop


def test_the_answer_cell_runs_alone_in_the_graders_copy_and_the_reference_is_forbidden(tmp_path):
    """(7.6's cell: tests/test_exercises_nb07.py.)"""
    from swin_edu.classroom.stubs import make_copy

    ex = EXERCISES["train_step"]
    dest = make_copy(tmp_path, prelude=ex.prelude, forbidden=ex.forbidden)
    cell = _cells("08_train_tiny_swin")["nb08_train_step_answer"].source
    fn = ex.signature.split("(")[0]
    module, _, target = ex.forbidden[0].partition(":")
    code = (f"{ex.prelude}\n{cell}\nimport pickle, sys\ncases = pickle.load(sys.stdin.buffer)\n"
            f"sys.stdout.buffer.write(pickle.dumps([{fn}(*args) for args in cases]))\n"
            f"try:\n    import {module} as m\n    m.{target}(*[None] * 7)\n"
            f"except BaseException as e:\n    sys.stderr.write(type(e).__name__)\n")
    cases = [c.args for c in ex.cases()]
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(cases), capture_output=True,
                         env={**os.environ, "PYTHONPATH": str(dest)}, cwd=tmp_path, timeout=300, check=False)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    # the reference is a stub, or (now that the harness lives in swin_edu.demos) its whole package is out of reach
    assert out.stderr.decode()[-200:].endswith(("ReferenceUnavailable", "ImportError")), out.stderr.decode()[-500:]
    got = pickle.loads(out.stdout)
    for value, case in zip(got, ex.cases()):
        assert ex.compare(value, ex.reference(*copy.deepcopy(case.args)), case) is None


# ------------------------------------------------------------------------------------------------ the grader (slow)
@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(__import__("shutil").which("bwrap") is None, reason="bubblewrap is not installed")
def test_the_classroom_grades_the_training_step_and_studentswin_in_the_sandbox(tmp_path):
    """A small assignment made of the course's own cells (exercise 7.6 and 8.3, with the imports of their
    notebooks), released and graded by the real classroom: the solutions get every point, the untouched student
    version none, and a student whose step forgets zero_grad gets 7.6's points only, with the message."""
    from swin_edu import classroom
    from swin_edu.classroom.grading import GradingSettings

    c07, c08 = _cells("07_pytorch_model"), _cells("08_train_tiny_swin")
    nb = nbformat.v4.new_notebook()
    nb.metadata = nbformat.read(ROOT / "notebooks" / "08_train_tiny_swin.ipynb", as_version=4).metadata
    setup = ("import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
             "from swin_edu.exercises import check, use_or_reference\n"
             "from swin_edu.demos.student_model import BasicLayer, load_learned\n"
             "from swin_edu.exercises.training import run_train_steps\n")
    nb.cells = [nbformat.v4.new_markdown_cell("# Your model and your training step"), nbformat.v4.new_code_cell(setup),
                c07["nb07_student_swin_answer"], c07["nb07_student_swin_check"],
                c08["nb08_train_step_answer"], c08["nb08_train_step_check"]]
    src = tmp_path / "src" / "mymodel.ipynb"
    src.parent.mkdir()
    nbformat.write(nb, src)
    course = tmp_path / "course"
    settings_ = GradingSettings(cell_timeout=300, verdict_timeout=180, workers=2)
    out = classroom.release(course, "mymodel", notebooks=[src], settings=settings_)
    student = nbformat.read(out / "mymodel.ipynb", as_version=4)
    partial = copy.deepcopy(nb)
    for c in partial.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "nb08_train_step_answer":
            c.source = c.source.replace("    optimizer.zero_grad()                             # clear the gradients "
                                        "of the step before\n", "")
            assert "zero_grad" not in c.source
    for who, book in (("alice", nb), ("bob", student), ("carol", partial)):
        d = course / "submitted" / who / "mymodel"
        d.mkdir(parents=True)
        nbformat.write(book, d / "mymodel.ipynb")
    classroom.grade_class(course, "mymodel", settings=settings_)
    scores = classroom.scores(course, "mymodel")
    assert scores["alice"] == {"nb07_student_swin_check": 2.0, "nb08_train_step_check": 3.0}
    assert sum(scores["bob"].values()) == 0
    assert scores["carol"] == {"nb07_student_swin_check": 2.0, "nb08_train_step_check": 0.0}
    feedback = (course / "feedback" / "carol" / "mymodel" / "mymodel.html").read_text()
    assert "the gradients add up from step to step" in feedback
