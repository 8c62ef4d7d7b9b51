"""The course notebooks (the nbgrader source): each runs top to bottom in a fresh kernel with its answers, and
follows the course's structure rules. The student edition made from them is tested in test_editions.py.

One test per notebook and version, so that pytest-xdist spreads them over the cores.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from _nbsource import split_solution

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
COURSE = [
    "00_roadmap", "01_patch_embedding", "02_window_attention", "03_shifted_windows",
    "04_relative_position_bias", "05_block_and_merging", "06_numpy_model", "07_pytorch_model",
    "08_train_tiny_swin", "09_hierarchy_at_work",
]
WITH_EXERCISES = COURSE[1:]
MAX_CODE_LINES = 15
TIMEOUT = 600  # seconds per cell; the whole course runs in about a minute on 2 cores
TIMINGS = ROOT / ".pytest_cache" / "notebook_timings.json"


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _execute(nb: nbformat.NotebookNode, *, env: dict | None = None, allow_errors: bool = False) -> float:
    from nbclient import NotebookClient

    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", allow_errors=allow_errors,
                                resources={"metadata": {"path": str(NB_DIR)}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _record(key: str, seconds: float) -> None:
    """Keep the measured execution times (docs/notebooks.md reports them)."""
    try:
        TIMINGS.parent.mkdir(exist_ok=True)
        data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
        data[key] = round(seconds, 1)
        TIMINGS.write_text(json.dumps(data, indent=1, sort_keys=True))
    except (OSError, ValueError):
        pass


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
        elif o.get("output_type") == "error":
            out.append(f"{o.get('ename')}: {o.get('evalue')}")
        elif "data" in o and "text/plain" in o["data"]:
            out.append(o["data"]["text/plain"])
    return "".join(out)


def _errors(nb) -> list[tuple[int, str]]:
    return [(i, _text(c)) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            and any(o.get("output_type") == "error" for o in c.get("outputs", []))]


# ----------------------------------------------------------------------------------------------- execution
@pytest.mark.notebook  # the fast tier's one run of every notebook (the editions: tests/test_browser.py, test_zh.py)
@pytest.mark.parametrize("name", COURSE)
def test_notebook_runs_top_to_bottom(name):
    nb = _read(name)
    seconds = _execute(nb, env={"SWIN_EDU_FULL": "0"})
    _record(name, seconds)
    assert not _errors(nb), _errors(nb)
    graded = [c for c in nb.cells if _nbgrader(c).get("grade")]
    for cell in graded:  # the reference answers pass their visible and hidden checks
        text = _text(cell)
        assert "✅" in text and "❌" not in text and "⏳" not in text, text
    # no time limit here: on a shared 2-core machine the time says more about the neighbours than the notebook
    # (recorded in .pytest_cache/notebook_timings.json; docs/notebooks.md reports the measured times)


# ----------------------------------------------------------------------------------------------- structure
def _solution_free_lines(source: str) -> list[str]:
    return split_solution(source)[1]


@pytest.mark.parametrize("name", COURSE)
def test_notebook_structure(name):
    nb = _read(name)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "## Learning goals" in first.source and "Time:" in first.source and "Prerequisites" in first.source
    assert "## Recap" in "".join(c.source for c in nb.cells if c.cell_type == "markdown")

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert 'if "google.colab" in sys.modules' in code[0].source           # installs only on Colab
    assert not re.search(r"\b(torch|numpy)\s*[=<>~]", code[0].source)    # never re-pins torch or numpy there
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, "commit notebooks without outputs"
        n = len([ln for ln in _solution_free_lines(c.source) if ln.strip()])
        assert n <= MAX_CODE_LINES, f"a code cell of {n} lines (max {MAX_CODE_LINES}):\n{c.source}"
    assert any('os.environ.get("SWIN_EDU_FULL"' in c.source for c in code), "the full-size flag"

    images = re.findall(r"!\[([^\]]*)\]\(\.\./figures/([^)]+)\)", "".join(c.source for c in nb.cells
                                                                            if c.cell_type == "markdown"))
    plots = [c for c in code if re.search(r"plt\.(show|subplots|figure)|Explorer\(", c.source)]
    assert images or plots, "at least one figure"
    for alt, file in images:
        assert len(alt) > 40, f"alt text for {file}"
        assert (ROOT / "figures" / file).exists(), f"figures/{file} is referenced but missing"


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_exercises_have_solutions_and_graded_self_checks(name):
    from swin_edu.exercises import EXERCISES

    nb = _read(name)
    ids = [_nbgrader(c)["grade_id"] for c in nb.cells if _nbgrader(c)]
    assert len(ids) == len(set(ids)), "grade_id must be unique"
    solutions = [i for i, c in enumerate(nb.cells) if _nbgrader(c).get("solution")]
    assert len(solutions) >= 2, "at least two exercises"
    for i in solutions:
        sol, graded = nb.cells[i], nb.cells[i + 1]
        meta, gmeta = _nbgrader(sol), _nbgrader(graded)
        assert sol.cell_type == "code" and meta == {"grade": False, "solution": True, "locked": False,
                                                    "grade_id": meta["grade_id"], "schema_version": 3}
        assert "### BEGIN SOLUTION" in sol.source and "### END SOLUTION" in sol.source
        begin = [ln for ln in sol.source.splitlines() if "BEGIN SOLUTION" in ln][0]
        assert begin.startswith("    "), "the answer lives inside a function body"
        # an exercise is a function to complete, or (07) an nn.Module class whose cell ends with the given function
        assert re.match(r"(def|class) \w+\(", sol.source), "an exercise is a function or a class to complete"
        assert gmeta["grade"] is True and gmeta["locked"] is True and gmeta["solution"] is False
        assert gmeta["points"] > 0 and gmeta["schema_version"] == 3
        m = re.search(r"check\.(\w+)\((\w+)\)", graded.source)
        assert m and m.group(1) in EXERCISES, graded.source
        # the check runs a function of the answer cell: the first one, or one given after the part to write (a class
        # of 07, the training step of 08)
        assert re.search(rf"^def {m.group(2)}\(", sol.source, re.MULTILINE), "the check runs the function just defined"
        assert graded.source.strip() == f"passed = check.{m.group(1)}({m.group(2)})", "hidden cases live with " \
            "the instructor (classroom/autograder), not in the notebook"
    for c in nb.cells:  # nbgrader treats these words as markers anywhere
        if not _nbgrader(c).get("solution"):
            assert "BEGIN SOLUTION" not in c.source and "END SOLUTION" not in c.source
        if not _nbgrader(c).get("grade"):
            assert "HIDDEN TESTS" not in c.source


def test_every_exercise_is_used_in_a_notebook():
    from swin_edu.exercises import EXERCISES

    used = set()
    for name in WITH_EXERCISES:
        used |= set(re.findall(r"check\.(\w+)\(", json.dumps(_read(name).cells)))
    assert set(EXERCISES) <= used


def test_course_map_links_every_notebook():
    roadmap = "".join(c.source for c in _read("00_roadmap").cells)
    for name in COURSE[1:]:
        assert f"({name}.ipynb)" in roadmap
    for term in ("窗口注意力", "移位窗口", "相对位置偏置", "块合并", "线性嵌入"):
        assert term in roadmap, term


@pytest.mark.parametrize("name", COURSE)
def test_every_notebook_links_the_paper_the_code_and_the_seed(name):
    """Issue #16: each notebook links the paper, the official repository and the seed article's section it follows;
    notebooks 01-08 end with open questions (discussion notes in docs/instructor.md)."""
    text = "\n".join(c.source for c in _read(name).cells if c.cell_type == "markdown")
    assert "arxiv.org/abs/2103.14030" in text and "github.com/microsoft/Swin-Transformer" in text, name
    assert "【图像识别】Swin Transformer" in text or "seed" in text.lower(), name
    if not name.startswith("00"):
        assert "## Open questions" in text, name
        number = name[:2]
        assert f"### {number} ·" in (ROOT / "docs" / "instructor.md").read_text(), f"no discussion notes for {name}"


def test_the_course_list_is_the_notebooks_folder():
    """swin_edu.course.NOTEBOOKS (used by the classroom's assignments and the translations) names every source
    notebook, in order."""
    from swin_edu.course import NOTEBOOKS

    assert NOTEBOOKS == tuple(sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb")))
