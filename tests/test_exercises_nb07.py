"""Notebook 07's module exercises (7.1-7.4): the student's nn.Module classes, run through a given function
that loads official-layout weights strictly. Their wrong answers are in tests/test_exercises.py (WRONG); here:
the strict loader's messages, the given StudentSwin around the student's layer class, the notebook's answer
cells in the grader's package copy (prelude + forbidden forward methods), and (slow) a whole classroom
release and grading of notebook 07 in the sandbox."""
from __future__ import annotations

import copy
import os
import pathlib
import subprocess
import sys
from collections import OrderedDict

import nbformat
import pytest

torch = pytest.importorskip("torch")

from swin_edu.config import SwinConfig
from swin_edu.demos import student_model as sm
from swin_edu.exercises import EXERCISES, nb07
from swin_edu.model import SwinTransformer

ROOT = pathlib.Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks" / "07_pytorch_model.ipynb"
MODULES = ("window_attention_module", "swin_block_module", "patch_merging_module", "basic_layer_module",
           "student_swin")


def _answer_cells():
    nb = nbformat.read(NB, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and "nbgrader" in c.metadata}


# ------------------------------------------------------------------------------------ the strict loader
def test_load_learned_names_the_mlp_mistake():
    block = sm.SwinBlock(12, 3, 4, 2)
    official = nb07.module_weights(sm.SwinBlock(12, 3, 4, 2))
    block.mlp = torch.nn.Sequential(torch.nn.Linear(12, 48), torch.nn.GELU(), torch.nn.Linear(48, 12))
    with pytest.raises(KeyError, match=r"mlp\.0\.weight.*mlp\.fc1\.weight.*fc1, act, fc2"):
        sm.load_learned(block, official)


def test_load_learned_names_a_persistent_index_and_a_transposed_weight():
    attn = sm.WindowAttention(8, 4, 2)
    attn.register_buffer("relative_position_index", attn.relative_position_index.clone())  # persistent now
    with pytest.raises(KeyError, match="persistent=False"):
        sm.load_learned(attn, nb07.module_weights(sm.WindowAttention(8, 4, 2)))
    merge = sm.PatchMerging(4)
    merge.reduction = torch.nn.Linear(8, 16, bias=False)
    with pytest.raises(ValueError, match=r"reduction\.weight.*\(16, 8\).*\(8, 16\).*out_features"):
        sm.load_learned(merge, nb07.module_weights(sm.PatchMerging(4)))
    with pytest.raises(TypeError, match="module must be an nn.Module"):
        sm.load_learned("not a module", {})


def test_load_learned_drops_derived_buffers_and_returns_eval_mode():
    cfg = SwinConfig.preset("nano")
    model = sm.load_learned(sm.StudentSwin(cfg).train(), SwinTransformer(cfg).state_dict())
    assert not model.training


# ------------------------------------------------------------------------------------ the student's model
def test_student_swin_uses_the_given_layer_class_and_matches_the_package_logits():
    cfg = SwinConfig.preset("nano")
    calls = []

    class CountingLayer(sm.BasicLayer):
        def forward(self, x):
            calls.append(tuple(x.shape))
            return super().forward(x)

    package = SwinTransformer(cfg).eval()
    mine = sm.load_learned(sm.StudentSwin(cfg, layer_class=CountingLayer), package.state_dict())
    images = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        ours, theirs = mine(images), package(images)
    assert len(calls) == cfg.num_layers
    # float32, the same sums in a different order: rounding only (1e-5 of the largest logit)
    assert (ours - theirs).abs().max() <= 1e-5 * theirs.abs().max()
    with pytest.raises(TypeError, match="layer_class must be an nn.Module class"):
        sm.StudentSwin(cfg, layer_class=len)


def test_the_notebook_solutions_define_the_reference_modules():
    """The answer cells of 7.1-7.4 and 7.6, run together, give the reference classes' outputs on every public case."""
    cells = _answer_cells()
    ns: dict = {}
    exec(nb07.MODULE_PRELUDE, ns)  # noqa: S102 - the course's own notebook
    for name in MODULES:
        exec(cells[f"nb07_{name}_answer"], ns)  # noqa: S102
    for name in MODULES:
        fn = ns[EXERCISES[name].signature.split("(")[0]]
        for case in EXERCISES[name].cases():
            got = fn(*copy.deepcopy(case.args))
            want = EXERCISES[name].reference(*copy.deepcopy(case.args))
            assert torch.allclose(got, want, rtol=1e-4, atol=1e-5), (name, case.label)


# ------------------------------------------------------------------------------------ the grader's copy
@pytest.mark.parametrize("name", MODULES)
def test_each_answer_cell_runs_alone_in_the_graders_copy_and_the_reference_forward_is_forbidden(name, tmp_path):
    """In the grader an answer cell runs after the prelude only, in a package copy made with the exercise's
    allow-list, whose forbidden methods are stubs: the solution still passes (it uses the prelude's other
    classes), and calling the reference's own forward raises ReferenceUnavailable."""
    from swin_edu.classroom.stubs import make_copy

    ex = EXERCISES[name]
    dest = make_copy(tmp_path, prelude=ex.prelude, forbidden=ex.forbidden, allowed=ex.allowed)
    cell = _answer_cells()[f"nb07_{name}_answer"]
    fn = ex.signature.split("(")[0]
    base = ex.forbidden[0].split(":")[1].split(".")[0]
    code = (f"{ex.prelude}\n{cell}\nimport pickle, sys\ncases = pickle.load(sys.stdin.buffer)\n"
            f"print([tuple({fn}(*args).shape) for args in cases])\n"
            f"from swin_edu.demos import student_model as sm\n"
            f"try:\n    sm.{base}.forward(None, None)\nexcept BaseException as e:\n    print(type(e).__name__)\n")
    import pickle

    cases = [c.args for c in ex.cases()]
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(cases), capture_output=True,
                         env={**os.environ, "PYTHONPATH": str(dest)}, cwd=tmp_path, timeout=300, check=False)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert "ReferenceUnavailable" in text
    want = [tuple(ex.reference(*copy.deepcopy(c.args)).shape) for c in ex.cases()]
    assert str(want) in text


# ------------------------------------------------------------------------------------ the whole grader (slow)
@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(__import__("shutil").which("bwrap") is None, reason="bubblewrap is not installed")
def test_release_and_grade_notebook_07_in_the_sandbox(tmp_path):
    """Release 07 (the release itself grades the source's solutions and refuses unless all pass), then grade
    the untouched student version (0) and a student who solved 7.1 and 7.3 and rolls by +s in 7.2: exactly
    the points of 7.1 and 7.3, and the roll's specific message in the feedback."""
    from swin_edu import classroom
    from swin_edu.classroom.grading import GradingSettings

    settings = GradingSettings(cell_timeout=300, verdict_timeout=120, workers=2)
    name = "07_pytorch_model"
    out = classroom.release(tmp_path, name, settings=settings)
    source = nbformat.read(tmp_path / "source" / name / f"{name}.ipynb", as_version=4)
    student = nbformat.read(out / f"{name}.ipynb", as_version=4)
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in source.cells}
    partial = copy.deepcopy(student)
    for c in partial.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in ("nb07_window_attention_module_answer", "nb07_patch_merging_module_answer"):
            c.source = answers[gid]
        if gid == "nb07_swin_block_module_answer":
            c.source = (answers[gid].replace("torch.roll(self.norm1(x), (-s, -s)", "torch.roll(self.norm1(x), (s, s)")
                        .replace("torch.roll(h, (s, s)", "torch.roll(h, (-s, -s)"))
    for who, nb in (("bob", student), ("carol", partial)):
        d = tmp_path / "submitted" / who / name
        d.mkdir(parents=True)
        nbformat.write(nb, d / f"{name}.ipynb")
    classroom.grade_class(tmp_path, name, settings=settings)
    scores = classroom.scores(tmp_path, name)
    assert sum(scores["bob"].values()) == 0
    assert scores["carol"] == OrderedDict(scores["carol"]) and {k for k, v in scores["carol"].items() if v} == {
        "nb07_window_attention_module_check", "nb07_patch_merging_module_check"}
    feedback = (tmp_path / "feedback" / "carol" / name / f"{name}.html").read_text()
    assert "rolled the map by +s first" in feedback


# ------------------------------------------------------------------------------------ hints of 05-07
def test_hints_of_notebooks_05_to_07_come_in_tiers_without_code():
    """A nudge first, then the method: at least two tiers, and no tier dictates code (no slicing, no calls
    with arguments such as `.view(`, `np.concatenate(`, `torch.cat(`)."""
    from swin_edu.exercises import check

    for name, ex in EXERCISES.items():
        if getattr(check, name).notebook not in ("05", "06", "07"):
            continue
        assert len(ex.hints) >= 2, name
        for hint in ex.hints:
            for code in ("[:, ", "::2", ".view(", ".permute(", "np.concatenate(", "torch.cat(", "return x", "= x"):
                assert code not in hint, (name, code, hint)
