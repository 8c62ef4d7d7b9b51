"""The instructor's grading data, made at release time from the source notebooks.

For every graded cell of an assignment (``passed = check.<exercise>(<function>)``) the release writes
into the course folder, never into the package::

    <course>/autograder/<assignment>/secret_seed          128 random bits, made once (mode 600)
    <course>/autograder/<assignment>/<notebook>.json      per graded cell: the exercise, the function,
                                                          the answer cell(s), prelude, forbidden
                                                          references, and its cases: inputs and
                                                          expected outputs

The hidden cases come from the exercise's public generator (``Exercise.hidden``) fed with a random
generator seeded by the secret seed and the cell's grade id, so a student who reads the generator
still cannot know the inputs. Expected outputs come from the package's reference, on the
instructor's side; a prediction's expected answer comes from the source notebook's own solution (run
in the sandbox like a student's answer). The release then grades the source's solutions with the
real grader and refuses to finish unless every graded cell passes.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import pathlib
import re
import secrets
import zlib
from dataclasses import dataclass
from typing import Any, Optional

import nbformat
import numpy as np

from ..exercises import EXERCISES
from ..i18n import Text
from . import codec

__all__ = [
    "GRADE_CELL",
    "GradedCell",
    "ReleaseError",
    "autograder_dir",
    "graded_cells",
    "answer_cells",
    "secret_seed",
    "case_rng",
    "write_spec",
    "load_spec",
    "spec_path",
]

#: the only form a graded cell may take
GRADE_CELL = re.compile(r"passed = check\.(?P<exercise>\w+)\((?P<function>\w+)\)")


class ReleaseError(RuntimeError):
    """The source notebooks or the exercises are not consistent (names the cell and what is wrong)."""


@dataclass
class GradedCell:
    grade_id: str
    points: float
    exercise: str
    function: str
    answer_ids: list


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _defines(source: str) -> set:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def graded_cells(nb, where: str = "the notebook") -> list[GradedCell]:
    """The graded cells of a source notebook, each with the answer cell(s) that define its function."""
    cells = []
    solutions = [c for c in nb.cells if c.cell_type == "code" and _meta(c).get("solution")]
    for cell in nb.cells:
        meta = _meta(cell)
        if not meta.get("grade"):
            continue
        gid = meta.get("grade_id", "?")
        if cell.cell_type != "code" or meta.get("solution"):
            raise ReleaseError(f"{where}: graded cell {gid} must be a code cell that is not an answer cell")
        m = GRADE_CELL.fullmatch(cell.source.strip())
        if not m:
            raise ReleaseError(
                f"{where}: graded cell {gid} must read exactly `passed = check.<exercise>(<function>)`"
                f", got {cell.source.strip()[:200]!r}"
            )
        if m["exercise"] not in EXERCISES:
            raise ReleaseError(
                f"{where}: graded cell {gid} checks {m['exercise']!r}, which is not an exercise of "
                f"swin_edu.exercises (known: {sorted(EXERCISES)})"
            )
        answers = [_meta(c)["grade_id"] for c in solutions if m["function"] in _defines(c.source)]
        if not answers:
            raise ReleaseError(
                f"{where}: no answer cell (nbgrader solution cell) defines `{m['function']}`, which "
                f"graded cell {gid} checks"
            )
        cells.append(GradedCell(gid, float(meta.get("points", 0)), m["exercise"], m["function"], answers))
    return cells


def answer_cells(nb, answer_ids) -> list[dict]:
    """``[{"id", "source"}]`` of the answer cells with these grade ids (the first cell of each id)."""
    out = []
    for gid in answer_ids:
        cell = next((c for c in nb.cells if c.cell_type == "code" and _meta(c).get("grade_id") == gid), None)
        if cell is not None:
            out.append({"id": gid, "source": str(cell.source)})
    return out


def autograder_dir(course: os.PathLike | str, assignment: str) -> pathlib.Path:
    return pathlib.Path(course).resolve() / "autograder" / assignment


def spec_path(course: os.PathLike | str, assignment: str, notebook: str) -> pathlib.Path:
    return autograder_dir(course, assignment) / f"{notebook}.json"


def secret_seed(course: os.PathLike | str, assignment: str) -> int:
    """The assignment's secret seed: read, or made once (``secrets``) and kept (mode 600)."""
    folder = autograder_dir(course, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / "secret_seed"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{secrets.randbits(128):032x}\n")
    text = path.read_text().strip()
    if not re.fullmatch(r"[0-9a-f]{32}", text):
        raise ReleaseError(f"{path} must hold 32 hex digits; delete it to make a new seed")
    return int(text, 16)


def case_rng(seed: int, grade_id: str) -> np.random.Generator:
    """The random generator of one graded cell's hidden cases."""
    return np.random.default_rng(
        np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(grade_id.encode()),))
    )


def _cases(cell: GradedCell, seed: int) -> list[tuple[Any, bool]]:
    ex = EXERCISES[cell.exercise]
    public = [(c, False) for c in ex.cases()]
    hidden = [(c, True) for c in (ex.hidden(case_rng(seed, cell.grade_id)) if ex.hidden else [])]
    return public + hidden


def write_spec(
    course: os.PathLike | str, assignment: str, notebook: str, nb, predictions: dict
) -> pathlib.Path:
    """Write the grading data of one source notebook. ``predictions``: grade_id -> the expected answer
    of each prediction exercise (from the source's own solution)."""
    seed = secret_seed(course, assignment)
    cells = []
    for cell in graded_cells(nb, f"{assignment}/{notebook}"):
        ex = EXERCISES[cell.exercise]
        cases = []
        for case, hidden in _cases(cell, seed):
            if ex.kind == "shape":
                expected = predictions[cell.grade_id]
            else:
                args, kwargs = copy.deepcopy((case.args, case.kwargs))
                with np.errstate(all="ignore"):
                    expected = ex.reference(*args, **kwargs)
            cases.append(
                {
                    "label": str(case.label),
                    # the Chinese label, for feedback graded with SWIN_EDU_LANG=zh (words only: no verdict reads it)
                    "label_zh": case.label.zh if isinstance(case.label, Text) else str(case.label),
                    "hidden": hidden,
                    "args": codec.encode(tuple(case.args)),
                    "kwargs": codec.encode(dict(case.kwargs)),
                    "expected": codec.encode(expected),
                }
            )
            for part in ("args", "kwargs", "expected"):
                if _has_foreign(cases[-1][part]):
                    raise ReleaseError(
                        f"{notebook}: a case of {ex.name} has a value the codec cannot carry "
                        f"({part} of {case.label!r})"
                    )
        cells.append(
            {
                "grade_id": cell.grade_id,
                "points": cell.points,
                "exercise": ex.name,
                "function": cell.function,
                "answer_ids": cell.answer_ids,
                "prelude": ex.prelude,
                "forbidden": list(ex.forbidden),
                "allowed": list(ex.allowed),
                "guards": list(ex.guards),
                "cases": cases,
            }
        )
    path = spec_path(course, assignment, notebook)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"assignment": assignment, "notebook": notebook, "cells": cells}, f)
    os.replace(tmp, path)
    return path


def _has_foreign(tree: Any) -> bool:
    if isinstance(tree, dict):
        return tree.get("t") == "other" or any(_has_foreign(v) for v in tree.values())
    if isinstance(tree, list):
        return any(_has_foreign(v) for v in tree)
    return False


def load_spec(course: os.PathLike | str, assignment: str, notebook: str) -> Optional[dict]:
    """The grading data of one notebook (None when the assignment was released without it)."""
    path = spec_path(course, assignment, notebook)
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_notebook(path: os.PathLike | str):
    return nbformat.read(str(path), as_version=4)
