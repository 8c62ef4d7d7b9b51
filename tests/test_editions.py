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
@pytest.mark.parametrize("name", NAMES)  # 08 too since issue #25: its default setting takes seconds
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


def _notebook(*sources: str, language_info: dict | None = None, outputs: list | None = None) -> str:
    cells = [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": outputs or [],
              "source": s} for i, s in enumerate(sources)]
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    if language_info:
        meta["language_info"] = language_info
    return json.dumps({"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def test_workspace_update_after_opening_only_replaces_the_notebook_and_says_so(tmp_path):
    """Issue #27 item 1: JupyterLab rewrites a notebook that was only opened (the kernel fills
    metadata.language_info; autosave writes it, re-indented) and a student may run it (outputs, execution counts):
    none of that is the student's work. A course update replaces such a notebook, says so, and the summary counts
    it; a changed cell still keeps the student's copy."""
    log: list[str] = []
    ws = tmp_path / "lab"
    v1 = _edition(tmp_path / "v1", a=_notebook("x = 1"), b=_notebook("y = 1"))
    editions.sync_workspace(v1, ws, log=log.append)
    opened = json.loads((ws / "a.ipynb").read_text())
    opened["metadata"]["language_info"] = {"name": "python", "version": "3.11.2", "codemirror_mode": {"name": "ipython"},
                                           "pygments_lexer": "ipython3"}
    opened["cells"][0].update(execution_count=3, outputs=[{"output_type": "stream", "name": "stdout", "text": "1\n"}],
                              metadata={"scrolled": True})
    (ws / "a.ipynb").write_text(json.dumps(opened, indent=2))  # opened, run and autosaved: no cell source changed
    worked = json.loads((ws / "b.ipynb").read_text())
    worked["cells"][0]["source"] = "y = 2  # my answer"
    (ws / "b.ipynb").write_text(json.dumps(worked))
    v2 = _edition(tmp_path / "v2", a=_notebook("x = 1", "z = 3"), b=_notebook("y = 1", "z = 3"))
    log.clear()
    assert editions.sync_workspace(v2, ws, log=log.append) == {"a.ipynb": "updated", "b.ipynb": "kept"}
    assert (ws / "a.ipynb").read_text() == (v2 / "a.ipynb").read_text()
    assert not list(ws.glob("a.new-*")) and len(list(ws.glob("b.new-*"))) == 1
    assert "y = 2  # my answer" in (ws / "b.ipynb").read_text()
    assert any(line.startswith(f"{ws / 'a.ipynb'}: updated") for line in log), log
    assert "1 updated" in log[-1] and "0 copied" in log[-1] and "1 kept" in log[-1], log[-1]
    # the digest: what a student can change, nothing the kernel writes
    assert editions.work_digest(ws / "a.ipynb") == editions.work_digest(v2 / "a.ipynb")
    assert editions.work_digest(ws / "b.ipynb") != editions.work_digest(v1 / "b.ipynb")


def test_workspace_summary_in_chinese_and_an_old_manifest_still_works(tmp_path, monkeypatch):
    ws = tmp_path / "lab"
    v1 = _edition(tmp_path / "v1", a=_notebook("x = 1"))
    editions.sync_workspace(v1, ws, log=lambda _: None)
    # a workspace made by an older `make lab`: the manifest holds the file's SHA-256 only
    (ws / editions.MANIFEST).write_text(json.dumps({"notebooks": {"a.ipynb": editions._sha256(v1 / "a.ipynb")}}))
    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    log: list[str] = []
    v2 = _edition(tmp_path / "v2", a=_notebook("x = 2"))
    assert editions.sync_workspace(v2, ws, log=log.append) == {"a.ipynb": "updated"}
    assert "已更新" in log[0] and "更新 1 个" in log[-1], log
    manifest = json.loads((ws / editions.MANIFEST).read_text())
    assert manifest["notebooks"]["a.ipynb"]["work"] == editions.work_digest(v2 / "a.ipynb")
