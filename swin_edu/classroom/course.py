"""The course folder: assignments, the student release, grading a class, scores (the command line).

The notebooks in ``notebooks/`` are the single source: solutions sit between nbgrader's
``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers and graded cells (``passed = check.<name>(<fn>)``)
carry nbgrader metadata. A release copies an assignment's notebooks into the course root's
``source/<assignment>/`` (``classroom/`` by default, configured by ``classroom/nbgrader_config.py``),
calls ``nbgrader generate_assignment`` (nothing here strips solutions by hand) and writes the grading
data that only the instructor has (:mod:`.autograder`). Grading runs every submission in a sandbox and
keeps nbgrader as the bookkeeper (:mod:`.grading`).

Command line::

    python -m swin_edu.classroom list
    python -m swin_edu.classroom release shift-and-mask        # -> classroom/release/shift-and-mask/
    python -m swin_edu.classroom release --all
    python -m swin_edu.classroom grade shift-and-mask          # the whole class: scores table + feedback
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import concurrent.futures
import itertools
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

from ..course import CLASSROOM_DIR, FIGURES_DIR, REPO_ROOT, SOURCE_DIR
from ..course import NOTEBOOKS as COURSE_NOTEBOOKS

if TYPE_CHECKING:
    from .grading import ClassReport

__all__ = [
    "ASSIGNMENTS",
    "REPO_ROOT",
    "EmbedFigures",
    "assignment_notebooks",
    "prepare_course",
    "build_source",
    "release",
    "make_autograder",
    "run_nbgrader",
    "nbgrader_api",
    "autograde",
    "generate_feedback",
    "grade_class",
    "rehearse",
    "students",
    "scores",
    "points",
    "main",
]

NOTEBOOKS = SOURCE_DIR

#: The suggested assignments (see docs/instructor.md); any notebook stem is an assignment of its own too.
ASSIGNMENTS: dict[str, tuple[str, ...]] = {
    "windows-and-complexity": ("01_patch_embedding", "02_window_attention"),
    "shift-and-mask": ("03_shifted_windows", "04_relative_position_bias"),
    "whole-model": ("05_block_and_merging", "06_numpy_model", "07_pytorch_model"),
    "hierarchy-at-work": ("09_hierarchy_at_work",),
    "swin-course": COURSE_NOTEBOOKS,
}

# a course figure, English (figures/NAME.png) or translated (figures/zh/NAME.png, the Chinese edition's)
_FIGURE_LINK = re.compile(r"!\[(?P<alt>[^\]]*)\]\("
                          r"(?P<path>(?:\.\./)?figures/(?:(?P<lang>zh)/)?(?P<name>[\w.-]+\.png))\)")


class EmbedFigures(Preprocessor):
    """nbgrader/nbconvert preprocessor: turn ``![alt](../figures/X.png)`` links in markdown cells into
    cell attachments, so that a released notebook shows its figures wherever it is opened. The Chinese
    edition's links, ``../figures/zh/X.png``, embed the Chinese figure (as attachment ``X.png`` too)."""

    enabled = Bool(True, help="nbconvert runs a preprocessor only when it is enabled").tag(config=True)
    figures_dir = Unicode(str(FIGURES_DIR), help="Folder holding the course figures").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        self.log.debug("EmbedFigures: embedding figures from %s", self.figures_dir)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "markdown":
            return cell, resources

        def embed(match):
            name = match.group("name")
            path = pathlib.Path(self.figures_dir) / (match.group("lang") or "") / name
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
    config = CLASSROOM_DIR / "nbgrader_config.py"
    target = course / "nbgrader_config.py"
    if target.resolve() != config.resolve():
        shutil.copyfile(config, target)
    return course


def build_source(
    course_dir: str | os.PathLike, assignment: str, notebooks: Optional[Sequence[os.PathLike | str]] = None
) -> pathlib.Path:
    """Copy the assignment's notebooks (``notebooks``, by default those of :func:`assignment_notebooks`)
    into ``<course_dir>/source/<assignment>/``, replacing old copies."""
    course = prepare_course(course_dir)
    src = course / "source" / assignment
    paths = (
        [pathlib.Path(p) for p in notebooks] if notebooks is not None else assignment_notebooks(assignment)
    )
    if not re.fullmatch(r"[\w.-]+", assignment):
        raise ValueError(f"assignment must be a name of letters, digits, '.', '_' or '-', got {assignment!r}")
    if not paths or not all(p.is_file() and p.suffix == ".ipynb" for p in paths):
        raise ValueError(f"notebooks must be existing .ipynb files, got {[str(p) for p in paths]}")
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for p in paths:
        shutil.copyfile(p, src / p.name)
    return src


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader runs alembic and jupyter from the environment's bin/
    bindir = str(pathlib.Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.pop("NBGRADER_EXECUTION", None)
    return env


def run_nbgrader(course_dir: str | os.PathLike, *args: str, timeout: float | None = None) -> str:
    """Run ``nbgrader ARGS`` in the course root; return its output, raise with the output on failure."""
    course = pathlib.Path(course_dir).resolve()
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course, env=_env(), capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed with exit code {proc.returncode}:\n{out}")
    return out


def nbgrader_api(course_dir: str | os.PathLike, settings=None, *, staged: bool = False):
    """nbgrader's own API on the course folder, configured by its ``nbgrader_config.py`` (and, when given,
    the grading ``settings``, which take precedence over the file's ``c.SandboxedExecute`` values).
    ``staged``: nbgrader reads the submissions that phase 1 staged (:func:`.grading.staged_dir`: only the
    assignment's notebooks, within the budget of cells) instead of ``submitted/``."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    course = pathlib.Path(course_dir).resolve()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    if settings is not None:
        config.merge(Config({"SandboxedExecute": _settings_config(settings)}))
    if staged:
        from .grading import STAGED

        config.merge(Config({"CourseDirectory": {"submitted_directory": STAGED}}))
    os.environ["PATH"] = _env()["PATH"]  # nbgrader runs alembic from the environment's bin/
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course)
    return NbGraderAPI(coursedir=coursedir, config=config)


def _settings_config(settings) -> dict:
    from .bwrap import MiB

    return {
        "verdict_timeout": float(settings.verdict_timeout),
        "cell_timeout": float(settings.cell_timeout),
        "verdict_memory_mib": int(settings.verdict_memory // MiB),
        "kernel_memory_mib": int(settings.kernel_memory // MiB),
        "cell_output": int(settings.cell_output),
        "notebook_output": int(settings.notebook_output),
        "workers": int(settings.workers),
        "allow_unsandboxed": bool(settings.allow_unsandboxed),
        "bwrap": settings.bwrap,
        "notebook_timeout": float(settings.notebook_timeout),
        "max_cells": int(settings.max_cells),
        "max_files": int(settings.max_files),
    }


def grading_settings(course_dir: str | os.PathLike, **overrides):
    """The course's grading settings (``c.SandboxedExecute`` in its nbgrader_config.py), with overrides."""
    from .grading import GradingSettings, SandboxedExecute

    api = nbgrader_api(course_dir)
    values = SandboxedExecute(config=api.config).settings().__dict__
    values.update({k: v for k, v in overrides.items() if v is not None})
    return GradingSettings(**values)


# ----------------------------------------------------------------------------------------- release
def release(
    course_dir: str | os.PathLike, assignment: str, *, notebooks=None, settings=None, grading: bool = True
) -> pathlib.Path:
    """Build the student version of ``assignment`` (``nbgrader generate_assignment``) and the grading data
    that stays with the instructor (:func:`make_autograder`); return the student version's folder.
    ``notebooks``: the source notebooks of an assignment of your own (default: the course's);
    ``grading=False``: the student version only (e.g. for a self-study edition that nobody grades)."""
    build_source(course_dir, assignment, notebooks)
    run_nbgrader(course_dir, "generate_assignment", assignment, "--force")
    out = pathlib.Path(course_dir).resolve() / "release" / assignment
    if not any(out.glob("*.ipynb")):
        raise RuntimeError(f"nbgrader wrote no notebook into {out}")
    if grading:
        make_autograder(course_dir, assignment, settings=settings)
    return out


def make_autograder(course_dir: str | os.PathLike, assignment: str, *, settings=None) -> pathlib.Path:
    """Write ``<course>/autograder/<assignment>/`` from the source notebooks (see :mod:`.autograder`), then
    grade the source's own solutions with the real grader: every graded cell must pass."""
    from .autograder import ReleaseError, answer_cells, autograder_dir, graded_cells, write_spec
    from .bwrap import SandboxUnavailable
    from .grading import Grader, GradingSettings
    from .verdict import answer_job, run_verdict

    course = pathlib.Path(course_dir).resolve()
    settings = settings or GradingSettings()
    try:
        grader = Grader(course, settings)
    except SandboxUnavailable:  # the release runs only the instructor's own solutions
        grader = Grader(course, GradingSettings(**{**settings.__dict__, "allow_unsandboxed": True}))
    with grader:
        sources = sorted((course / "source" / assignment).glob("*.ipynb"))
        for path in sources:
            nb = nbformat.read(str(path), as_version=4)
            predictions = {}
            for cell in graded_cells(nb, f"{assignment}/{path.stem}"):
                from ..exercises import EXERCISES

                ex = EXERCISES[cell.exercise]
                if ex.kind != "shape":
                    continue
                spec = {
                    "prelude": ex.prelude,
                    "guards": [],
                    "function": cell.function,
                    "cases": [{"args": {"t": "tuple", "v": []}, "kwargs": {"t": "dict", "v": []}}],
                }
                run = grader.sandbox.run(
                    "verdict",
                    answer_job(spec, answer_cells(nb, cell.answer_ids)),
                    package=grader.copies.get(prelude=ex.prelude),
                    limits=settings.verdict_limits(),
                )
                value = [e for e in run.events if e.get("event") == "result"]
                if not value:
                    raise ReleaseError(
                        f"{path.name}: the solution of {cell.grade_id} did not return a prediction "
                        f"({run.ending(settings.verdict_limits())}):\n{run.log.decode()[-2000:]}"
                    )
                from .codec import decode

                predictions[cell.grade_id] = decode(value[0]["value"])
            write_spec(course, assignment, path.stem, nb, predictions)
        # the source's solutions must pass the grader itself
        jobs = []
        for path in sources:
            nb = nbformat.read(str(path), as_version=4)
            spec = grader.spec(assignment, path.stem)
            jobs += [(path.stem, cell, answer_cells(nb, cell["answer_ids"])) for cell in spec["cells"]]
        grader.prepare(assignment)
        slots = itertools.count()
        local = threading.local()

        def check(job):
            if not hasattr(local, "slot"):
                local.slot = next(slots)
            stem, cell, cells = job
            v = run_verdict(
                cell,
                cells,
                sandbox=grader.sandbox,
                copies=grader.copies,
                limits=settings.verdict_limits(),
                slot=local.slot,
            )
            return stem, v

        with concurrent.futures.ThreadPoolExecutor(settings.n_workers) as pool:
            failures = [
                f"{stem}/{v.grade_id}: {v.message}\n{v.log[-1500:]}"
                for stem, v in pool.map(check, jobs)
                if not v.passed
            ]
        if failures:
            raise ReleaseError("the source's own solutions do not pass the grader:\n" + "\n".join(failures))
    return autograder_dir(course, assignment)


# ----------------------------------------------------------------------------------------- grading
def students(course_dir: str | os.PathLike, assignment: str) -> list[str]:
    """The students who submitted ``assignment`` (``submitted/<student>/<assignment>/``)."""
    root = pathlib.Path(course_dir).resolve() / "submitted"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir())  # links: refused when graded


@contextlib.contextmanager
def _quiet_sqlalchemy():
    """nbgrader's gradebook makes SQLAlchemy warn about its own session handling; it is not ours to fix."""
    with warnings.catch_warnings():
        try:
            from sqlalchemy.exc import SAWarning

            warnings.simplefilter("ignore", SAWarning)
        except ImportError:
            pass
        yield


def _phase1(grader, assignment: str, names: list[str]) -> dict:
    """The sandboxed work of every submission, in parallel (one slot per worker thread)."""
    grader.prepare(assignment)
    slots = itertools.count()
    local = threading.local()

    def work(student):
        if not hasattr(local, "slot"):
            local.slot = next(slots)
        try:
            return student, grader.grade_submission(assignment, student, slot=local.slot)
        except Exception as e:  # noqa: BLE001 - reported in the table; the class goes on
            return student, {"student": student, "notebooks": {}, "problems": [f"the grader failed: {e!r}"]}

    with concurrent.futures.ThreadPoolExecutor(grader.settings.n_workers) as pool:
        return dict(pool.map(work, names))


#: what a student id (the name of a folder in ``submitted/``) may be made of
STUDENT_ID = re.compile(r"[\w.@+-]{1,100}")


def _invalid_student(name) -> str:
    """Why ``name`` cannot be graded as a student id ("" when it can)."""
    if isinstance(name, str) and STUDENT_ID.fullmatch(name) and name not in (".", ".."):
        return ""
    return (f"not graded: the folder name {name!r} is not a student id (letters, digits, . _ @ + -, at most "
            f"100); rename the folder to grade this submission")


def autograde(
    course_dir: str | os.PathLike, assignment: str, students_: Iterable[str] | None = None, *, settings=None
) -> "ClassReport":
    """Phases 1 and 2 of :mod:`.grading` for ``students_`` (default: every submission): sandboxed work in
    parallel, then ``nbgrader autograde`` of each student in turn. Never raises for one submission: a folder
    whose name is not a student id is skipped and named in the report with the reason."""
    from .grading import ClassReport, Grader, StudentReport, run_dir

    course = pathlib.Path(course_dir).resolve()
    names = sorted(set(students_), key=str) if students_ is not None else students(course, assignment)
    skipped = [StudentReport(str(n), problems=[_invalid_student(n)]) for n in names if _invalid_student(n)]
    names = [name for name in names if not _invalid_student(name)]
    settings = settings or grading_settings(course)
    seconds = {}
    start = time.perf_counter()
    with Grader(course, settings) as grader:
        notebooks = grader.submission_notebooks(assignment)
        phase1 = _phase1(grader, assignment, names)
    seconds["sandboxed (parallel)"] = time.perf_counter() - start
    start = time.perf_counter()
    api = nbgrader_api(course, settings, staged=True)
    reports = []
    for name in names:
        report = StudentReport(name, problems=list(phase1[name]["problems"]))
        log_dir = run_dir(course, assignment, name)
        log_dir.mkdir(parents=True, exist_ok=True)
        with _quiet_sqlalchemy():
            result = api.autograde(assignment, name)
        text = result.get("log", "") + ("\n" + result["error"] if result.get("error") else "")
        (log_dir / "nbgrader.log").write_text(text, encoding="utf-8")
        if not result.get("success"):
            last = (result.get("error") or "").strip().splitlines()[-1:] or ["unknown error"]
            report.problems.append(f"nbgrader autograde failed: {last[0]}")
        report.log = str(log_dir)
        reports.append(report)
    seconds["nbgrader autograde (sequential)"] = time.perf_counter() - start
    got = scores(course, assignment)
    pts = {nb: sum(points(course / "source" / assignment / f"{nb}.ipynb").values()) for nb in notebooks}
    for report in reports:
        cells = got.get(report.student, {})
        for nb in notebooks:
            ids = points(course / "source" / assignment / f"{nb}.ipynb")
            report.scores[nb] = sum(cells.get(gid, 0.0) for gid in ids)
    for report in skipped:
        report.skipped = True
    return ClassReport(assignment, pts, reports + skipped, seconds)


def generate_feedback(
    course_dir: str | os.PathLike, assignment: str, students_: Iterable[str] | None = None, api=None
) -> dict[str, str]:
    """nbgrader's feedback (one HTML page per graded notebook, under ``feedback/``) for each student;
    returns student -> problem for the students whose feedback failed."""
    course = pathlib.Path(course_dir).resolve()
    names = sorted(students_) if students_ is not None else students(course, assignment)
    api = api or nbgrader_api(course)
    problems = {}
    for name in names:
        with _quiet_sqlalchemy():
            result = api.generate_feedback(assignment, name)
        if not result.get("success"):
            problems[name] = ((result.get("error") or "").strip().splitlines()[-1:] or ["unknown error"])[0]
    return problems


def grade_class(
    course_dir: str | os.PathLike, assignment: str, students_: Iterable[str] | None = None, *, settings=None
) -> "ClassReport":
    """Grade the whole class: :func:`autograde` (sandboxed, parallel; then nbgrader), feedback for everyone.
    Always finishes: a submission that cannot be graded is named in the report with its reason."""
    course = pathlib.Path(course_dir).resolve()
    settings = settings or grading_settings(course)
    report = autograde(course, assignment, students_, settings=settings)
    start = time.perf_counter()
    problems = generate_feedback(
        course,
        assignment,
        [s.student for s in report.students if not s.skipped],
        api=nbgrader_api(course, settings),
    )
    report.seconds["feedback (sequential)"] = time.perf_counter() - start
    for s in report.students:
        if s.student in problems:
            s.problems.append(f"nbgrader generate_feedback failed: {problems[s.student]}")
    return report


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


def rehearse(
    course_dir: str | os.PathLike, assignment: str, n_students: int, *, settings=None
) -> "ClassReport":
    """A dress rehearsal of grading: release ``assignment`` into a fresh course folder, make ``n_students``
    submissions (in turn: the solutions, the untouched student version, one exercise solved) and grade them
    like a class. Tells whether the sandbox works here and how long a class takes (``report.seconds``)."""
    from .autograder import graded_cells

    course = pathlib.Path(course_dir).resolve()
    if course.exists() and any(course.iterdir()):
        raise ValueError(f"course_dir must be a new or empty folder, got {course}")
    if not (isinstance(n_students, int) and n_students > 0):
        raise ValueError(f"n_students must be a positive int, got {n_students!r}")
    out = release(course, assignment, settings=settings)
    for path in sorted((course / "source" / assignment).glob("*.ipynb")):
        source = nbformat.read(str(path), as_version=4)
        student = nbformat.read(str(out / path.name), as_version=4)
        first = next(iter(graded_cells(source)), None)
        for i in range(n_students):
            nb = [source, student, student][i % 3]
            if i % 3 == 2 and first is not None:  # one exercise solved
                nb = nbformat.from_dict(json.loads(json.dumps(student)))
                ids = set(first.answer_ids)
                solved = {
                    c.metadata["nbgrader"]["grade_id"]: c.source
                    for c in source.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") in ids
                }
                for cell in nb.cells:
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                    if gid in solved:
                        cell.source = solved[gid]
            folder = course / "submitted" / f"student{i + 1:03d}" / assignment
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(folder / path.name))
    return grade_class(course, assignment, settings=settings)


# ----------------------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m swin_edu.classroom", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--course-dir", default=str(CLASSROOM_DIR), help="nbgrader course root")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the suggested assignments")
    rel = sub.add_parser(
        "release",
        help="build student versions with nbgrader generate_assignment, and the "
        "grading data (hidden cases) that stays in the course folder",
    )
    rel.add_argument("assignments", nargs="*", help="assignment names or notebook stems")
    rel.add_argument("--all", action="store_true", help="every suggested assignment")
    grade = sub.add_parser(
        "grade", help="grade every submission (sandboxed, in parallel), write feedback, print the scores"
    )
    grade.add_argument("assignment")
    grade.add_argument("--student", action="append", dest="students", help="only these students (repeatable)")
    grade.add_argument("--workers", type=int, help="parallel sandboxes (default: one per core)")
    grade.add_argument("--cell-timeout", type=float, help="seconds per notebook cell (default 300)")
    grade.add_argument(
        "--verdict-timeout", type=float, help="seconds per graded cell, all cases (default 60)"
    )
    grade.add_argument(
        "--notebook-timeout",
        type=float,
        help="seconds for the whole run of one submitted notebook (default 900)",
    )
    grade.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run submissions WITHOUT bubblewrap when it is missing (only for code you trust)",
    )
    rehearsal = sub.add_parser(
        "rehearse",
        help="grade a made-up class in a new course folder (--course-dir): "
        "checks the sandbox and measures the time a class takes",
    )
    rehearsal.add_argument("assignment")
    rehearsal.add_argument("--students", type=int, default=30)
    rehearsal.add_argument("--workers", type=int, help="parallel sandboxes (default: one per core)")
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
            print(
                f"{name}: student version in {out}; grading data in "
                f"{pathlib.Path(args.course_dir).resolve() / 'autograder' / name}"
            )
        return 0
    from .bwrap import SandboxUnavailable
    from .grading import GradingSettings

    try:
        if args.command == "rehearse":
            settings = GradingSettings(workers=args.workers or 0)
            report = rehearse(args.course_dir, args.assignment, args.students, settings=settings)
        else:
            settings = grading_settings(
                args.course_dir,
                workers=args.workers,
                cell_timeout=args.cell_timeout,
                verdict_timeout=args.verdict_timeout,
                notebook_timeout=args.notebook_timeout,
                allow_unsandboxed=True if args.unsafe_no_sandbox else None,
            )
            report = grade_class(args.course_dir, args.assignment, args.students, settings=settings)
    except SandboxUnavailable as e:
        print(f"refusing to grade: {e}", file=sys.stderr)
        return 3
    print(report.table())
    print(
        f"\ntime ({settings.n_workers} workers, {len(report.students)} submissions): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    )
    print(f"feedback: {pathlib.Path(args.course_dir).resolve() / 'feedback'}")
    return 2 if any(s.failed for s in report.students) else 0


if __name__ == "__main__":
    sys.exit(main())
