"""Classroom tooling: the student release and grading, by nbgrader's own machinery.

The notebooks in ``notebooks/`` are the single source: solutions sit between nbgrader's
``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers and graded self-check cells carry nbgrader
metadata. This module copies the notebooks of an assignment into the course root's
``source/<assignment>/`` (``classroom/`` by default, configured by ``classroom/nbgrader_config.py``)
and calls ``nbgrader generate_assignment``, ``autograde`` and ``generate_feedback``. Nothing here
strips solutions by hand.

Command line::

    python -m swin_edu.classroom list
    python -m swin_edu.classroom release shift-and-mask        # -> classroom/release/shift-and-mask/
    python -m swin_edu.classroom release --all
    python -m swin_edu.classroom grade shift-and-mask          # autograde + feedback of all submissions
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
from typing import Iterable, Sequence

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

__all__ = [
    "ASSIGNMENTS",
    "REPO_ROOT",
    "EmbedFigures",
    "assignment_notebooks",
    "prepare_course",
    "build_source",
    "release",
    "run_nbgrader",
    "autograde",
    "generate_feedback",
    "scores",
    "points",
    "main",
]

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO_ROOT / "notebooks"

#: The suggested assignments (see docs/instructor.md); any notebook stem is an assignment of its own too.
ASSIGNMENTS: dict[str, tuple[str, ...]] = {
    "windows-and-complexity": ("01_patch_embedding", "02_window_attention"),
    "shift-and-mask": ("03_shifted_windows", "04_relative_position_bias"),
    "whole-model": ("05_block_and_merging", "06_numpy_model", "07_pytorch_model"),
    "swin-course": (
        "00_roadmap", "01_patch_embedding", "02_window_attention", "03_shifted_windows",
        "04_relative_position_bias", "05_block_and_merging", "06_numpy_model", "07_pytorch_model",
        "08_train_tiny_swin",
    ),
}

_FIGURE_LINK = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<path>(?:\.\./)?figures/(?P<name>[\w.-]+\.png))\)")


class EmbedFigures(Preprocessor):
    """nbgrader/nbconvert preprocessor: turn ``![alt](../figures/X.png)`` links in markdown cells into
    cell attachments, so that a released notebook shows its figures wherever it is opened."""

    enabled = Bool(True, help="nbconvert runs a preprocessor only when it is enabled").tag(config=True)
    figures_dir = Unicode(str(REPO_ROOT / "figures"), help="Folder holding the course figures").tag(config=True)

    def preprocess(self, nb, resources):
        self.log.debug("EmbedFigures: embedding figures from %s", self.figures_dir)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "markdown":
            return cell, resources

        def embed(match):
            name = match.group("name")
            path = pathlib.Path(self.figures_dir) / name
            if not path.is_file():
                self.log.warning("EmbedFigures: %s not found; the link is left as it is", path)
                return match.group(0)
            attachments = cell.setdefault("attachments", {})
            attachments[name] = {"image/png": base64.b64encode(path.read_bytes()).decode("ascii")}
            return f"![{match.group('alt')}](attachment:{name})"

        cell.source = _FIGURE_LINK.sub(embed, cell.source)
        return cell, resources


def assignment_notebooks(assignment: str) -> tuple[pathlib.Path, ...]:
    """The notebooks of a suggested assignment, or of a single notebook named by its stem."""
    if not isinstance(assignment, str):
        raise TypeError(f"assignment must be a str, got {assignment!r}")
    stems = ASSIGNMENTS.get(assignment)
    if stems is None:
        if (NOTEBOOKS / f"{assignment}.ipynb").is_file():
            stems = (assignment,)
        else:
            names = sorted(ASSIGNMENTS) + sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
            raise ValueError(f"unknown assignment {assignment!r}; expected one of {names}")
    paths = tuple(NOTEBOOKS / f"{s}.ipynb" for s in stems)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"assignment {assignment!r} needs notebooks that are missing: {missing}")
    return paths


def prepare_course(course_dir: str | os.PathLike) -> pathlib.Path:
    """Make ``course_dir`` an nbgrader course root: copy the course's ``nbgrader_config.py`` there
    (a no-op for the repository's own ``classroom/``) and return its path."""
    course = pathlib.Path(course_dir).resolve()
    course.mkdir(parents=True, exist_ok=True)
    config = REPO_ROOT / "classroom" / "nbgrader_config.py"
    target = course / "nbgrader_config.py"
    if target.resolve() != config.resolve():
        shutil.copyfile(config, target)
    return course


def build_source(course_dir: str | os.PathLike, assignment: str) -> pathlib.Path:
    """Copy the assignment's notebooks into ``<course_dir>/source/<assignment>/`` (replacing old copies)."""
    course = prepare_course(course_dir)
    src = course / "source" / assignment
    paths = assignment_notebooks(assignment)
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for p in paths:
        shutil.copyfile(p, src / p.name)
    return src


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader runs alembic and jupyter from the environment's bin/, and the grading kernel must see swin_edu
    bindir = str(pathlib.Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("NBGRADER_EXECUTION", None)
    return env


def run_nbgrader(course_dir: str | os.PathLike, *args: str, timeout: float | None = None) -> str:
    """Run ``nbgrader ARGS`` in the course root; return its output, raise with the output on failure."""
    course = pathlib.Path(course_dir).resolve()
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course, env=_env(), capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed with exit code {proc.returncode}:\n{out[-4000:]}")
    return out


def release(course_dir: str | os.PathLike, assignment: str) -> pathlib.Path:
    """Build the student version of ``assignment`` with ``nbgrader generate_assignment``; return its folder."""
    build_source(course_dir, assignment)
    run_nbgrader(course_dir, "generate_assignment", assignment, "--force")
    out = pathlib.Path(course_dir).resolve() / "release" / assignment
    if not any(out.glob("*.ipynb")):
        raise RuntimeError(f"nbgrader wrote no notebook into {out}")
    return out


def autograde(course_dir: str | os.PathLike, assignment: str, students: Iterable[str] | None = None) -> str:
    """``nbgrader autograde`` the submissions in ``submitted/<student>/<assignment>/``."""
    args = ["autograde", assignment, "--force"]
    for s in students or ():
        args.append(f"--student={s}")
    return run_nbgrader(course_dir, *args)


def generate_feedback(course_dir: str | os.PathLike, assignment: str) -> str:
    """``nbgrader generate_feedback``: one HTML page per graded notebook, under ``feedback/``."""
    return run_nbgrader(course_dir, "generate_feedback", assignment, "--force")


def points(notebook: str | os.PathLike) -> dict[str, float]:
    """grade_id -> points of every graded cell of a notebook (from its nbgrader metadata)."""
    nb = json.loads(pathlib.Path(notebook).read_text(encoding="utf-8"))
    out = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            out[meta["grade_id"]] = float(meta.get("points", 0))
    return out


def scores(course_dir: str | os.PathLike, assignment: str) -> dict[str, dict[str, float]]:
    """student -> {grade_id: score} for every graded cell, read from the gradebook."""
    from nbgrader.api import Gradebook

    course = pathlib.Path(course_dir).resolve()
    out: dict[str, dict[str, float]] = {}
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        for sub in gb.assignment_submissions(assignment):
            per_cell = out.setdefault(sub.student_id, {})
            for nb in sub.notebooks:
                for grade in nb.grades:
                    per_cell[grade.name] = float(grade.score)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swin_edu.classroom", description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-dir", default=str(REPO_ROOT / "classroom"), help="nbgrader course root")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the suggested assignments")
    rel = sub.add_parser("release", help="build student versions with nbgrader generate_assignment")
    rel.add_argument("assignments", nargs="*", help="assignment names or notebook stems")
    rel.add_argument("--all", action="store_true", help="every suggested assignment")
    grade = sub.add_parser("grade", help="autograde the submissions and write feedback")
    grade.add_argument("assignment")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name, stems in ASSIGNMENTS.items():
            print(f"{name:24s} {', '.join(stems)}")
        return 0
    if args.command == "release":
        names = list(args.assignments) + (list(ASSIGNMENTS) if args.all else [])
        if not names:
            parser.error("name at least one assignment, or use --all")
        for name in names:
            out = release(args.course_dir, name)
            print(f"{name}: student version in {out}")
        return 0
    autograde(args.course_dir, args.assignment)
    generate_feedback(args.course_dir, args.assignment)
    for student, cells in sorted(scores(args.course_dir, args.assignment).items()):
        print(f"{student}: {sum(cells.values()):g} points {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
