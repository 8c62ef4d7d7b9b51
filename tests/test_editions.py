"""The editions: the committed student edition is exactly what nbgrader makes of the source, holds no solution,
embeds every figure, and runs top to bottom on its own; the lab's workspace never loses a student's work."""
from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
from _nbsource import split_solution

from swin_edu import editions

ROOT = Path(__file__).resolve().parents[1]
SOURCE, STUDENT = ROOT / "notebooks", ROOT / "student"
NAMES = sorted(p.stem for p in SOURCE.glob("*.ipynb"))
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _src(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _solution_lines(source: str) -> list[str]:
    return [line.strip() for line in split_solution(source)[0] if line.strip()]


# ---------------------------------------------------------------------------------------------- no drift
@pytest.mark.slow
def test_student_edition_is_exactly_what_nbgrader_makes(tmp_path):
    made = editions.build_student_edition(tmp_path / "student")
    problems = editions.diff_editions(made, STUDENT)
    assert not problems, "student/ drifted from notebooks/: run `make student-edition` and commit student/\n" + \
        "\n".join(problems)


def test_diff_editions_names_the_cell_that_differs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    nb = {"cells": [{"cell_type": "code", "id": "x1", "source": "1", "metadata": {}}], "metadata": {}}
    (a / "n.ipynb").write_text(json.dumps(nb))
    nb["cells"][0]["source"] = "2"
    (b / "n.ipynb").write_text(json.dumps(nb))
    (b / "extra.ipynb").write_text("{}")
    assert editions.diff_editions(a, b) == ["extra.ipynb: not made from the source",
                                            "n.ipynb: cell 0 (x1) differs in ['source']"]
    assert editions.diff_editions(a, a) == []
    with pytest.raises(TypeError, match="expected must be a path"):
        editions.diff_editions(1, a)


# ---------------------------------------------------------------------------------------------- no solution
@pytest.mark.parametrize("name", NAMES)
def test_student_edition_holds_no_solution(name):
    source, student = _nb(SOURCE / f"{name}.ipynb"), _nb(STUDENT / f"{name}.ipynb")
    text = json.dumps(student)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in text
    code = "\n".join(_src(c) for c in student["cells"] if c["cell_type"] == "code")
    answers = [c for c in source["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert (len(answers) > 0) == (name != "00_roadmap")
    by_id = {c["id"]: c for c in student["cells"]}
    elsewhere = "\n".join(_src(c) for c in source["cells"]
                          if c["cell_type"] == "code" and not c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    for cell in answers:
        blank = _src(by_id[cell["id"]])
        assert "# YOUR CODE HERE" in blank and "raise NotImplementedError()" in blank, blank
        for line in _solution_lines(_src(cell)):
            # an answer's line may appear in the student edition only as often as outside the answers
            if len(line) > 12:
                assert line not in blank and code.count(line) == elsewhere.count(line), \
                    f"{name}: the answer line {line!r} is in the student edition"


# ---------------------------------------------------------------------------------------------- figures
def _png_size(data: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(data))) as img:
        img.load()
        return img.size


@pytest.mark.parametrize("name", NAMES)
def test_every_figure_is_an_embedded_attachment(name):
    source, student = _nb(SOURCE / f"{name}.ipynb"), _nb(STUDENT / f"{name}.ipynb")
    linked = [m for c in source["cells"] if c["cell_type"] == "markdown" for m in IMAGE.findall(_src(c))]
    found = 0
    for cell in student["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for alt, target in IMAGE.findall(_src(cell)):
            assert target.startswith("attachment:"), f"{name}: {target} is a link, it breaks in Colab and the lab"
            attachment = cell.get("attachments", {}).get(target.split(":", 1)[1])
            assert attachment and "image/png" in attachment, target
            width, height = _png_size(attachment["image/png"])
            assert width > 100 and height > 100 and len(alt) > 40
            found += 1
    assert found == len(linked)


# ---------------------------------------------------------------------------------------------- runs alone
@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if n != "08_train_tiny_swin"])
def test_student_edition_runs_alone_on_the_reference(name, tmp_path, monkeypatch):
    """As a student opens it (in a folder of its own, exercises unsolved): every cell runs, every self-check
    says "not solved yet", and the notebook goes on with the package's reference implementation. nbgrader's
    variable is set: it changes nothing (self-checks are practice; grading happens in the grader's sandbox)."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(STUDENT / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") + "".join(o.get("data", {}).get("text/plain", ""))
                       for o in cell.get("outputs", []))
        assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), (cell.source, text)
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            assert "not solved yet" in text, (cell.source, text)
        outputs.append(text)
    if name != "00_roadmap":
        assert "uses the reference" in "".join(outputs)


# ---------------------------------------------------------------------------------------------- solutions
def test_solutions_edition_embeds_figures_and_keeps_the_answers(tmp_path):
    out = editions.solutions_edition(tmp_path / "solutions")
    nb = _nb(out / "03_shifted_windows.ipynb")
    text = json.dumps(nb)
    assert "### BEGIN SOLUTION" in text and "../figures/" not in text
    assert any(c.get("attachments") for c in nb["cells"])


# ---------------------------------------------------------------------------------------------- workspace
def _edition(folder: Path, **notebooks: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in notebooks.items():
        (folder / f"{name}.ipynb").write_text(body)
    return folder


def test_workspace_copies_once_and_never_overwrites_the_students_work(tmp_path):
    log: list[str] = []
    shipped = _edition(tmp_path / "v1", a='{"v": 1}', b='{"v": 1}')
    ws = tmp_path / "lab"
    assert editions.sync_workspace(shipped, ws, log=log.append) == {"a.ipynb": "copied", "b.ipynb": "copied"}
    assert (ws / "a.ipynb").read_text() == '{"v": 1}'
    (ws / "a.ipynb").write_text('{"v": 1, "my answer": 42}')  # the student works in a
    assert editions.sync_workspace(shipped, ws, log=log.append) == {"a.ipynb": "unchanged", "b.ipynb": "unchanged"}
    assert (ws / "a.ipynb").read_text() == '{"v": 1, "my answer": 42}'

    shipped = _edition(tmp_path / "v2", a='{"v": 2}', b='{"v": 2}', c='{"v": 2}')  # a course update
    log.clear()
    status = editions.sync_workspace(shipped, ws, log=log.append)
    assert status == {"a.ipynb": "kept", "b.ipynb": "updated", "c.ipynb": "copied"}
    assert (ws / "a.ipynb").read_text() == '{"v": 1, "my answer": 42}'  # the student's work, untouched
    (beside,) = ws.glob("a.new-*.ipynb")
    assert beside.read_text() == '{"v": 2}' and (ws / "b.ipynb").read_text() == '{"v": 2}'
    assert any("Your copy is kept" in line and beside.name in line for line in log)
    # running again changes nothing, and says so again (the student has not merged yet)
    assert editions.sync_workspace(shipped, ws, log=log.append)["a.ipynb"] == "kept"
    assert sorted(p.name for p in ws.glob("*.ipynb")) == ["a.ipynb", beside.name, "b.ipynb", "c.ipynb"]
    (ws / "c.ipynb").unlink()  # deleted by the student: a fresh copy comes back
    assert editions.sync_workspace(shipped, ws, log=log.append)["c.ipynb"] == "copied"


def test_workspace_validates_its_arguments(tmp_path):
    with pytest.raises(TypeError, match="edition must be a path"):
        editions.sync_workspace(None, tmp_path)
    with pytest.raises(FileNotFoundError, match="no notebooks in edition"):
        editions.sync_workspace(tmp_path, tmp_path / "lab")
    with pytest.raises(TypeError, match="log must be callable"):
        editions.sync_workspace(_edition(tmp_path / "e", a="{}"), tmp_path / "lab", log="print")


def test_the_lab_workspaces_are_git_ignored():
    ignored = (ROOT / ".gitignore").read_text().split()
    for folder in ("/lab/", "/lab-solutions/", "/.venv-lab/"):
        assert folder in ignored
