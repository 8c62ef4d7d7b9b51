"""Notebook 09's graded exercises (9.1 the FPN head as an nn.Module, 9.2 the per-pixel cross-entropy, 9.3 the mean
IoU): the references pass the public and hidden cases, typical wrong answers get their specific diagnosis, the answer
cells run alone in the grader's package copy, and (slow) a whole classroom release and grading of notebook 09 in the
sandbox: the solutions score full marks, the untouched student version zero, a partly right submission exactly the
points of what is right."""
from __future__ import annotations

import copy
import os
import pathlib
import subprocess
import sys

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from swin_edu import dense
from swin_edu.dense import FPNHead
from swin_edu.exercises import EXERCISES

ROOT = pathlib.Path(__file__).resolve().parents[1]
NAME = "09_hierarchy_at_work"
NB = ROOT / "notebooks" / f"{NAME}.ipynb"


@pytest.fixture
def quiet(monkeypatch):
    from swin_edu.exercises import settings as check_settings

    monkeypatch.setattr(check_settings, "quiet", True)


def _run_fpn(head_class):
    from swin_edu.exercises import nb09

    return lambda features, sd, dim, k: nb09._run(head_class, features, sd, dim, k)


@pytest.mark.parametrize("name", ["fpn_head", "pixel_cross_entropy", "mean_iou"])
def test_notebook09_references_pass_public_and_hidden_cases(name, quiet):
    from swin_edu.exercises import EXERCISES, check

    ex = EXERCISES[name]
    assert getattr(check, name).notebook == "09"
    assert getattr(check, name)(ex.reference, hidden=True).passed
    for seed in range(3):  # the grader's hidden cases come from other seeds: the reference passes them all
        cases = ex.hidden(np.random.default_rng(seed))
        assert cases and getattr(check, name)(ex.reference, hidden=False).passed
        from swin_edu.exercises.runner import run_check

        assert run_check(ex, ex.reference, cases=cases).passed

    def unsolved(*args):
        raise NotImplementedError()

    assert getattr(check, name)(unsolved).status == "unsolved"


def _variant_ce(kind):
    """Typical wrong per-pixel losses, written as a student would (each applies to every case)."""
    def fn(logits, target, ignore_index):
        keep = target != ignore_index
        t = torch.where(keep, target, 0)
        if kind == "dim-1":
            logp = torch.log_softmax(logits, dim=-1)
        else:
            logp = torch.log_softmax(logits, dim=1)
        nll = -logp.gather(1, t.unsqueeze(1)).squeeze(1)
        if kind == "flatten":
            K = logits.shape[1]
            lp = torch.log_softmax(logits.reshape(-1, K), dim=-1)
            k = keep.reshape(-1)
            return -lp[k].gather(1, target.reshape(-1)[k, None]).mean()
        if kind == "all_pixels":
            return (nll * keep).sum() / keep.numel()
        if kind == "per_image":
            return ((nll * keep).flatten(1).sum(1) / keep.flatten(1).sum(1)).mean()
        if kind == "sum":
            return nll[keep].sum()
        if kind == "no_ignore":
            return -logp.gather(1, target.unsqueeze(1)).mean()
        if kind == "naive_softmax":
            p = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
            return -torch.log(p.gather(1, t.unsqueeze(1)).squeeze(1))[keep].mean()
        return nll[keep].mean()
    return fn


@pytest.mark.parametrize("kind, words", [
    ("dim-1", "log_softmax(logits, dim=1)"), ("flatten", "without moving the classes last"),
    ("all_pixels", "void pixels were counted in the mean"), ("per_image", "you averaged per image"),
    ("sum", "you summed the loss over the pixels"), ("no_ignore", "a void pixel's label (ignore_index, 255)"),
])
def test_typical_wrong_pixel_losses_get_their_diagnosis(kind, words, quiet):
    from swin_edu.exercises import check

    res = check.pixel_cross_entropy(_variant_ce(kind), hidden=True)
    assert not res and words in res.message, res.message
    assert _variant_ce("right") and check.pixel_cross_entropy(_variant_ce("right"), hidden=True)
    naive = check.pixel_cross_entropy(_variant_ce("naive_softmax"), hidden=True)  # exp overflows on large logits
    assert not naive and "log_softmax" in naive.message, naive.message


def _variant_iou(kind):
    def fn(pred, target, k, ignore_index):
        keep = target != ignore_index
        p, t = (pred, target) if kind == "void_kept" else (pred[keep], target[keep])
        if kind == "per_image":
            return float(np.nanmean([dense.mean_iou(pred[i], target[i], k, ignore_index) for i in range(len(pred))]))
        vals = []
        for c in range(0 if kind == "background" else 1, k):
            inter, union = np.sum((p == c) & (t == c)), np.sum((p == c) | (t == c))
            if kind == "dice":
                inter, union = 2 * inter, np.sum(p == c) + np.sum(t == c)
            if kind == "recall":
                union = np.sum(t == c)
            if kind == "nan":
                vals.append(inter / union if union else float("nan"))
            elif kind == "zero":
                vals.append(inter / union if union else 0.0)
            elif union:
                vals.append(inter / union)
        return float(np.mean(vals))
    return fn


@pytest.mark.parametrize("kind, words", [
    ("background", "the background (class 0) was averaged in"), ("nan", "0/0 is NaN"),
    ("zero", "got IoU 0"), ("void_kept", "void pixels (target == ignore_index) were counted"),
    ("per_image", "you averaged per image"), ("dice", "this is the Dice score"), ("recall", "that is the recall"),
])
def test_typical_wrong_mean_ious_get_their_diagnosis(kind, words, quiet):
    from swin_edu.exercises import check

    with np.errstate(all="ignore"):
        res = check.mean_iou(_variant_iou(kind), hidden=True)
    assert not res and words in res.message, res.message
    assert check.mean_iou(_variant_iou("right"), hidden=True)
    assert "return one number" in check.mean_iou(lambda p, t, k, i: [0.5]).message


def _fpn_class(kind):
    class Head(FPNHead):
        def forward(self, features):
            if kind == "scale2":  # upsamples by a factor 2: wrong where patch merging padded a map
                x = self.lateral[-1](features[-1])
                for i in range(len(features) - 2, -1, -1):
                    x = F.interpolate(x, scale_factor=2, mode="nearest") + self.lateral[i](features[i])
                return self.classifier(x)
            if kind == "raw_add":  # adds the maps before their laterals
                x = features[-1]
                for i in range(len(features) - 2, -1, -1):
                    x = F.interpolate(x, size=features[i].shape[-2:], mode="nearest") + features[i]
                return self.classifier(self.lateral[0](x))
            return super().forward(features)
    return Head


def test_typical_wrong_fpn_heads_get_their_diagnosis(quiet):
    from swin_edu.exercises import check, nb09

    for kind, words in (("finest_first", "the top-down path starts at the coarsest map"),
                        ("bilinear", "mode=\"nearest\""), ("no_add", "each finer map must be *added*")):
        res = check.fpn_head(_run_fpn(nb09._fpn_variant(kind)))
        assert not res and words in res.message, (kind, res.message)
    res = check.fpn_head(_run_fpn(_fpn_class("scale2")))
    assert not res and "not by scale_factor=2" in res.message, res.message
    res = check.fpn_head(_run_fpn(_fpn_class("raw_add")))
    assert not res and "add maps after their laterals" in res.message, res.message
    assert check.fpn_head(_run_fpn(_fpn_class("right")), hidden=True)

    class Renamed(nn.Module):  # official names matter: the weights load strictly
        def __init__(self, in_dims, dim, k):
            super().__init__()
            self.lat = nn.ModuleList(nn.Conv2d(c, dim, 1) for c in in_dims)
            self.classifier = nn.Conv2d(dim, k, 1)
    res = check.fpn_head(_run_fpn(Renamed))
    assert not res and "names the official weights do not have" in res.message, res.message


# ----------------------------------------------------------------------------------------------- the grader's copy
def _answer_cells():
    nb = nbformat.read(NB, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and "nbgrader" in c.metadata}


@pytest.mark.parametrize("name", ["fpn_head", "pixel_cross_entropy", "mean_iou"])
def test_each_answer_cell_runs_alone_in_the_graders_copy(name, tmp_path):
    """In the grader an answer cell runs after the prelude only, in a package copy that holds the prelude's import
    closure: the notebook's solution passes every public case there, and the package's reference is out of reach."""
    import pickle

    from swin_edu.classroom.stubs import make_copy

    ex = EXERCISES[name]
    dest = make_copy(tmp_path, prelude=ex.prelude, forbidden=ex.forbidden)
    cell = _answer_cells()[f"nb09_{name}_answer"]
    fn = ex.signature.split("(")[0]
    code = (f"{ex.prelude}\n{cell}\nimport pickle, sys\ncases = pickle.load(sys.stdin.buffer)\n"
            f"sys.stdout.buffer.write(pickle.dumps([{fn}(*args) for args in cases]))\n")
    cases = [c.args for c in ex.cases()]
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(cases), capture_output=True,
                         env={**os.environ, "PYTHONPATH": str(dest)}, cwd=tmp_path, timeout=300, check=False)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    for got, case in zip(pickle.loads(out.stdout), ex.cases(), strict=True):
        want = ex.reference(*copy.deepcopy(case.args))
        assert np.allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-5), case.label
    probe = subprocess.run([sys.executable, "-c", "import swin_edu.dense"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(dest)}, cwd=tmp_path, timeout=300, check=False)
    assert probe.returncode != 0 and "not available while your answer is graded" in probe.stderr


# ----------------------------------------------------------------------------------------------- the whole grader
@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(__import__("shutil").which("bwrap") is None, reason="bubblewrap is not installed")
def test_release_and_grade_notebook_09_in_the_sandbox(tmp_path):
    """Release 09 (the release itself grades the source's solutions with the real grader and refuses unless all
    pass), then grade the solutions (full marks), the untouched student version (0) and a student who solved 9.1
    and 9.3 and took the softmax over the wrong axis in 9.2: exactly the points of 9.1 and 9.3, and the specific
    message in the feedback."""
    from swin_edu import classroom
    from swin_edu.classroom.grading import GradingSettings

    settings = GradingSettings(cell_timeout=600, verdict_timeout=120, workers=2)
    out = classroom.release(tmp_path, NAME, settings=settings)
    source = nbformat.read(tmp_path / "source" / NAME / f"{NAME}.ipynb", as_version=4)
    student = nbformat.read(out / f"{NAME}.ipynb", as_version=4)
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in source.cells}
    partial = copy.deepcopy(student)
    for c in partial.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in ("nb09_fpn_head_answer", "nb09_mean_iou_answer"):
            c.source = answers[gid]
        if gid == "nb09_pixel_cross_entropy_answer":
            c.source = answers[gid].replace("torch.log_softmax(logits, dim=1)", "torch.log_softmax(logits, dim=-1)")
            assert c.source != answers[gid]
    for who, nb in (("alice", source), ("bob", student), ("carol", partial)):
        d = tmp_path / "submitted" / who / NAME
        d.mkdir(parents=True)
        nbformat.write(nb, d / f"{NAME}.ipynb")
    report = classroom.grade_class(tmp_path, NAME, settings=settings)
    scores, points = classroom.scores(tmp_path, NAME), classroom.points(tmp_path / "source" / NAME / f"{NAME}.ipynb")
    assert scores["alice"] == points and sum(points.values()) == 7, report.table()
    assert sum(scores["bob"].values()) == 0
    assert {k for k, v in scores["carol"].items() if v} == {"nb09_fpn_head_check", "nb09_mean_iou_check"}
    feedback = (tmp_path / "feedback" / "carol" / NAME / f"{NAME}.html").read_text()
    assert "the softmax ran over the last axis" in feedback
