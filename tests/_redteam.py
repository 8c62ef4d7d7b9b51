"""Shared by the red-team tests: an attack's answer cell, cells by grade id, a small assignment made of the course's
own answer and graded cells."""
from __future__ import annotations

import os
import pathlib
import textwrap

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: how much slower than idle this machine runs now: the load average per core when the tests start, at least 1,
#: at most 6. The red team's wall limits are multiplied by it, so that an honest cell keeps its time on a busy CI
#: (issue #28: load averages of 5 to 50 were seen on 2 cores) while a hanging attack still meets its limit.
LOAD = min(6.0, max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1)))


def wall(seconds: float) -> float:
    """A wall-clock limit of the red team's grading runs: ``seconds`` on an idle machine, more on a busy one."""
    return seconds * LOAD


def fn(signature: str, body: str) -> str:
    """The source of ``def signature:`` with ``body`` (dedented) as its body."""
    return f"def {signature}:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


def by_id(nb) -> dict:
    """grade id -> cell, for the cells with nbgrader metadata."""
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


def make_source(path: pathlib.Path, exercises, setup: str, title: str) -> pathlib.Path:
    """An assignment's source notebook: a title, ``setup``, then for each ``(notebook, grade-id stem, points)`` the
    course's own answer and graded cells (ids and metadata kept), and a last cell that prints 'the end'."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = nbformat.read(ROOT / "notebooks" / "02_window_attention.ipynb", as_version=4).metadata
    nb.cells = [nbformat.v4.new_markdown_cell(title), nbformat.v4.new_code_cell(setup)]
    for notebook, stem, _ in exercises:
        cells = by_id(nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4))
        nb.cells += [cells[f"{stem}_answer"], cells[f"{stem}_check"]]
    nb.cells.append(nbformat.v4.new_code_cell("print('the end')"))
    nbformat.write(nb, path)
    return path
