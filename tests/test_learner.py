"""The learner's thread (swin_edu.learner): a passed answer is remembered in the kernel and in my_swin.py, and the
later notebooks' models are built from the learner's pieces (the references where one is unsolved).

The chain is proved by injection: a wrong window partition (notebook 02) in my_swin.py changes notebook 06's
numpy forward, a wrong relative position index (04) changes notebook 07's PyTorch model; the correct answers of
the source notebooks, saved the same way, give the package's outputs. The whole notebook 06 run on an injected
file is a slow test."""
from __future__ import annotations

import importlib
import os
import pathlib
import re

import nbformat
import numpy as np
import pytest

from swin_edu import learner
from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.exercises import EXERCISES, check, settings

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def shell(monkeypatch):
    """An IPython shell, as a notebook's kernel is (the thread follows notebooks, not scripts)."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setattr(settings, "quiet", False)
    ip = InteractiveShell.instance()
    ip.run_cell("import numpy as np\nfrom swin_edu import numpy_ref as snp\nfrom swin_edu.exercises import check\n")
    yield ip
    InteractiveShell.clear_instance()


def _solutions(*notebooks: str) -> dict[str, learner.Entry]:
    """The answer cells of the source notebooks, as entries of the file (what a learner who solved them has)."""
    out = {}
    for name in notebooks:
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        cells = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "nbgrader" in c.metadata}
        for gid, source in cells.items():
            m = re.search(r"check\.(\w+)\((\w+)\)", source) if gid.endswith("_check") else None
            if m:
                answer = cells[gid.replace("_check", "_answer")]
                out[m.group(1)] = learner.Entry(m.group(1), m.group(2), learner.definitions(answer), "file", {},
                                                "2026-12-07 12:00")
    return out


def _write(entries: dict[str, learner.Entry]) -> pathlib.Path:
    path = learner.mine_path()
    for e in entries.values():
        learner._write_section(path, e)
    return path


WRONG_PARTITION = '''def window_partition_mine(x, M):
    """Windows in column-major order: a wrong answer that a hand edit could put in the file."""
    B, H, W, C = x.shape
    x = x.reshape(B, H // M, M, W // M, M, C)
    return x.transpose(0, 3, 1, 2, 4, 5).reshape(-1, M, M, C)
'''


# ------------------------------------------------------------------------------------------------ remembering
def test_definitions_keeps_imports_functions_and_classes_and_drops_the_rest():
    cell = ("import numpy as np\n%matplotlib inline\nx = np.zeros(3)\nprint('hello')\n\n@staticmethod\n"
            "def f(a):\n    ### BEGIN SOLUTION\n    # a comment\n    return a\n    ### END SOLUTION\n\n"
            "class K:\n    pass\n")
    kept = learner.definitions(cell)
    assert kept.startswith("import numpy as np") and "@staticmethod\ndef f(a):" in kept and "class K:" in kept
    assert "# a comment" in kept and "SOLUTION" not in kept and "print" not in kept and "x = " not in kept
    assert learner.definitions("def broken(:\n") == "" and learner.definitions("x = 1") == ""
    with pytest.raises(TypeError, match="source must be a str"):
        learner.definitions(None)


def test_a_passed_check_saves_the_answer_cell_and_a_new_pass_replaces_it(shell, capsys):
    shell.run_cell("def window_partition_mine(x, M):\n    return snp.window_partition(x, M)\nprint('not kept')\n")
    shell.run_cell("passed = check.window_partition(window_partition_mine)")
    out = capsys.readouterr().out
    assert "saved in my_swin.py (section window_partition)" in out
    text = learner.mine_path().read_text()
    assert text.startswith("# my_swin.py: your answers") and "not kept" not in text
    assert "# === exercise window_partition (notebook 02) · window_partition_mine · passed" in text
    shell.run_cell("def window_partition_mine(x, M):\n    # second version\n    return snp.window_partition(x, M)\n")
    shell.run_cell("passed = check.window_partition(window_partition_mine)")
    sections = learner.read_sections()
    assert list(sections) == ["window_partition"] and "# second version" in sections["window_partition"].source


def test_an_answer_that_needs_another_cell_is_kept_for_the_kernel_only(shell, capsys):
    shell.run_cell("helper = snp.window_partition\ndef window_partition_mine(x, M):\n    return helper(x, M)\n")
    shell.run_cell("passed = check.window_partition(window_partition_mine)")
    out = capsys.readouterr().out
    assert "kept for this kernel only, not saved in my_swin.py" in out and "NameError" in out
    assert not learner.mine_path().exists()
    assert learner.mine("window_partition") is not None  # this kernel still runs it


def test_failed_checks_scripts_and_nbgrader_leave_no_file(shell, monkeypatch):
    shell.run_cell("def window_partition_mine(x, M):\n    return x.reshape(-1, M, M, x.shape[-1])\n")
    shell.run_cell("passed = check.window_partition(window_partition_mine)")
    assert not learner.mine_path().exists() and learner.mine("window_partition") is None
    check.window_partition(snp.window_partition)              # a package function: not the learner's
    assert learner.mine("window_partition") is None
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")      # nbgrader grades a copy: no file, the kernel only
    shell.run_cell("def window_reverse_mine(w, M, H, W):\n    return snp.window_reverse(w, M, H, W)\n")
    shell.run_cell("passed = check.window_reverse(window_reverse_mine)")
    assert not learner.mine_path().exists() and learner.mine("window_reverse") is not None


def test_the_path_follows_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(learner.ENV, str(tmp_path))
    assert learner.mine_path() == tmp_path / "my_swin.py"
    monkeypatch.delenv(learner.ENV)
    monkeypatch.chdir(tmp_path)
    assert learner.mine_path() == tmp_path / "my_swin.py"


# ------------------------------------------------------------------------------------------------ the table
def test_every_reference_named_in_the_table_resolves_as_an_attribute_path():
    for p in learner.PIECES:
        module, _, attr = p.reference.rpartition(".")
        assert hasattr(importlib.import_module(module), attr), p.reference
        assert p.exercise in EXERCISES, p.exercise
    assert {p.exercise for p in learner.pieces("numpy")} >= {"patch_partition", "window_partition", "sw_msa",
                                                              "relative_position_index", "swin_block", "swin_forward"}


def test_opened_alone_the_table_says_how_to_bring_the_file_and_runs_the_references():
    text = learner.table()
    assert "my_swin.py: not found next to this notebook" in text and "upload my_swin.py" in text
    assert "0 of 17 are yours" in text and "the reference swin_edu.numpy_ref.window_partition" in text
    assert learner.model_label("numpy").startswith("the reference numpy Swin")
    _write({"window_partition": _solutions("02_window_attention")["window_partition"]})
    text = learner.table("numpy")
    assert "my_swin.py: 1 of your answers found" in text and "02 window_partition         yours (my_swin.py)" in text
    assert learner.model_label("numpy") == ("your numpy Swin (1 of its 12 pieces yours, the references for the "
                                            "others)")


# ------------------------------------------------------------------------------------------------ numpy chain
def test_without_answers_the_learners_numpy_is_the_package():
    mine = learner.numpy_ref(show=False)
    cfg = SwinConfig.preset("nano")
    sd = snp.random_state_dict(cfg, seed=3)
    images = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    assert np.array_equal(mine.swin_forward(sd, images, cfg), snp.swin_forward(sd, images, cfg))
    assert np.array_equal(mine.shift_mask(8, 12, 4, 2), snp.shift_mask(8, 12, 4, 2))
    assert mine.GATHER_OFFSETS == snp.GATHER_OFFSETS and "window_partition" in dir(mine)


@pytest.fixture(scope="module")
def solved():
    """The source notebooks' answers of 01-06 and 07, as a learner who solved everything has them."""
    return _solutions("01_patch_embedding", "02_window_attention", "03_shifted_windows",
                      "04_relative_position_bias", "05_block_and_merging", "06_numpy_model", "07_pytorch_model")


def test_with_every_answer_the_numpy_model_is_all_the_learners_and_gives_the_package_logits(solved):
    _write(solved)
    mine = learner.numpy_ref(show=False)
    assert all(mine.whose(p.name) == "file" for p in learner.pieces("numpy"))
    assert learner.model_label("numpy") == "your numpy Swin"
    cfg = SwinConfig(img_size=(24, 40), patch_size=2, embed_dim=12, depths=(2, 2), num_heads=(3, 6), window_size=4,
                     num_classes=5)   # 12x20 then 6x10 tokens: the padded, shifted stage and an odd merging
    sd = snp.random_state_dict(cfg, seed=1, std=0.2)
    images = np.random.default_rng(1).standard_normal((2, 3, 24, 40)).astype(np.float32)
    # float32 weights through the learner's float32 pieces against the package's float64 reference
    np.testing.assert_allclose(mine.swin_forward(sd, images, cfg), snp.swin_forward(sd, images, cfg),
                               rtol=1e-4, atol=1e-5)


def test_a_wrong_window_partition_in_02_changes_the_forward_of_06(solved):
    """The chain: the 06 forward (the learner's) runs the learner's SW-MSA (03), which calls the learner's window
    partition (02): a wrong one, injected in the file, changes the logits and the digits predictions."""
    from swin_edu import weights

    entries = dict(solved)
    entries["window_partition"] = learner.Entry("window_partition", "window_partition_mine", WRONG_PARTITION, "file")
    _write(entries)
    mine = learner.numpy_ref(show=False)
    sd, cfg = weights.course_state_dict("digits")
    images, labels = weights.held_out("digits")
    wrong = mine.swin_forward(sd, images, cfg)
    right = snp.swin_forward(sd, images, cfg)
    assert np.abs(wrong - right).max() > 1.0
    assert (wrong.argmax(-1) != right.argmax(-1)).sum() > 10
    entries["window_partition"] = solved["window_partition"]
    _write(entries)
    fixed = learner.numpy_ref(show=False).swin_forward(sd, images, cfg)
    assert (fixed.argmax(-1) == right.argmax(-1)).all()


def test_a_reference_that_stands_in_still_runs_the_learners_pieces():
    """Only the window partition is solved (wrongly, by injection): the reference forward, block and SW-MSA that
    stand in for 03-06 call it, so the forward changes."""
    _write({"window_partition": learner.Entry("window_partition", "window_partition_mine", WRONG_PARTITION, "file")})
    mine = learner.numpy_ref(show=False)
    cfg = SwinConfig.preset("nano")
    sd = snp.random_state_dict(cfg, seed=0, std=0.2)
    images = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    assert mine.whose("swin_forward") is None and mine.whose("window_partition") == "file"
    assert np.abs(mine.swin_forward(sd, images, cfg) - snp.swin_forward(sd, images, cfg)).max() > 1e-2
    assert snp.window_partition(np.arange(16.0).reshape(1, 4, 4, 1), 2)[1, 0, 0, 0] == 2  # the package untouched


def test_an_edited_section_that_does_not_run_falls_back_to_the_reference_and_says_so():
    _write({"window_partition": learner.Entry("window_partition", "window_partition_mine",
                                              "def window_partition_mine(x, M):\n    return x\n\nraise ValueError('oops')",
                                              "file")})
    text = learner.table("numpy")
    assert "could not run (ValueError: oops); the reference stands in" in text
    assert learner.mine("window_partition") is None


# ------------------------------------------------------------------------------------------------ torch chain
def test_the_learners_torch_model_is_built_from_their_classes_and_gives_the_package_logits(solved):
    import torch

    from swin_edu.model import SwinTransformer

    cfg = SwinConfig.preset("nano")
    package = SwinTransformer(cfg).eval()
    images = torch.randn(2, 3, 32, 32)
    ref = learner.torch_model(cfg, package.state_dict(), show=False)    # nothing solved: the references, rebound
    assert type(ref).__module__ == "swin_edu.demos.student_model"
    _write(solved)
    classes = learner.torch_classes(show=False)
    assert all(getattr(classes, p.name).__module__ == "my_swin" for p in learner.pieces("torch"))
    mine = learner.torch_model(cfg, package.state_dict(), show=False)
    blocks = [m for m in mine.modules() if type(m).__name__ == "SwinBlock"]
    assert blocks and all(type(b).__module__ == "my_swin" for b in blocks)
    with torch.no_grad():
        ours, theirs, refs = mine(images), package(images), ref(images)
    # float32, the same sums in another order: rounding only
    assert (ours - theirs).abs().max() <= 1e-5 * theirs.abs().max()
    assert (refs - theirs).abs().max() <= 1e-5 * theirs.abs().max()
    assert learner.model_label() == "your PyTorch Swin"


def test_a_wrong_relative_position_index_in_04_changes_the_torch_model_of_07(solved):
    import torch

    from swin_edu.model import SwinTransformer

    entries = dict(solved)
    entries["relative_position_index"] = learner.Entry(
        "relative_position_index", "relative_position_index_mine",
        "def relative_position_index_mine(M):\n    return snp.relative_position_index(M).T.copy()\n", "file")
    _write(entries)
    cfg = SwinConfig.preset("nano")
    package = SwinTransformer(cfg).eval()
    with torch.no_grad():
        for p in package.parameters():   # a bias table that is not symmetric, so that the transposed index shows
            if p.dim() == 2 and p.shape[0] == 49:
                p.copy_(torch.randn_like(p))
    images = torch.randn(2, 3, 32, 32)
    mine = learner.torch_model(cfg, package.state_dict(), show=False)
    with torch.no_grad():
        assert (mine(images) - package(images)).abs().max() > 1e-3


def test_stage_maps_are_the_maps_after_each_stages_blocks():
    import torch

    from swin_edu.model import SwinTransformer

    cfg = SwinConfig.preset("nano")
    model = SwinTransformer(cfg).eval()
    images = torch.randn(2, 3, 32, 32)
    maps = learner.stage_maps(model, images)
    _, stages = model(images, return_stages=True)
    assert len(maps) == cfg.num_layers and all(torch.equal(a, b) for a, b in zip(maps, stages[1:]))
    backbone, maps2 = learner.backbone(cfg, model.state_dict(), images, show=False)
    assert [m.shape for m in maps2] == [m.shape for m in maps]
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(maps2, maps))
    with pytest.raises(TypeError, match="model must be a Swin nn.Module"):
        learner.stage_maps("model", images)
    with pytest.raises(ValueError, match=r"images must be a tensor \(B, C, H, W\)"):
        learner.stage_maps(model, images[0])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="exercise must be one of"):
        learner.mine("nope")
    with pytest.raises(ValueError, match="kind must be None, 'numpy' or 'torch'"):
        learner.table("jax")
    with pytest.raises(TypeError, match="cfg must be a SwinConfig"):
        learner.torch_model("tiny")


# ------------------------------------------------------------------------------------------------ notebook 06 (slow)
@pytest.mark.slow
def test_notebook_06_runs_the_injected_wrong_partition_and_its_assertion_catches_it(solved, tmp_path):
    """Notebook 06 (source edition) with a my_swin.py holding 01-05's answers but a wrong window partition: the
    table lists the pieces as the learner's and the forward's check against the package fails right there; with
    the right partition the notebook runs to the end on the learner's pieces only."""
    from nbclient import NotebookClient

    def run(entries):
        path = tmp_path / f"run{len(list(tmp_path.iterdir()))}" / "my_swin.py"
        path.parent.mkdir()
        for e in entries.values():
            learner._write_section(path, e)
        nb = nbformat.read(ROOT / "notebooks" / "06_numpy_model.ipynb", as_version=4)
        os.environ[learner.ENV] = str(path)
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
        return {c.get("id"): c for c in nb.cells}

    def text(cell):
        return "".join(o.get("text", "") + o.get("evalue", "") for o in cell.get("outputs", []))

    wrong = {k: v for k, v in solved.items() if k not in ("swin_forward", "stage_shapes", "block_param_count")}
    wrong["window_partition"] = learner.Entry("window_partition", "window_partition_mine", WRONG_PARTITION, "file")
    cells = run(wrong)
    out = text(cells["c06-23"])
    assert "02 window_partition         yours (my_swin.py)" in out and "(12 of 12 are yours)" in out
    assert any(o.get("ename") == "AssertionError" for o in cells["c06-23"]["outputs"]), out
    right = {k: v for k, v in solved.items() if k not in ("swin_forward", "stage_shapes", "block_param_count")}
    cells = run(right)
    errors = [cid for cid, c in cells.items() if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not errors, errors
    from swin_edu import weights

    recorded = weights.course_info("digits")["test"]
    assert (f"your numpy Swin: {recorded['correct']} of the {recorded['count']} held-out test images of digits right"
            in text(cells["c06-51"]))
