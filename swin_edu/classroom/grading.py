"""Grading a class: sandboxed runs in parallel, then nbgrader's bookkeeping in sequence.

``grade_class`` works in three phases:

1. **Sandboxed work, in parallel** (workers = cores): for each submission and notebook, every graded
   cell gets its verdict (:mod:`.verdict`: the answer cell runs in its own sandbox, the grader compares),
   and the whole notebook runs cell by cell in a sandboxed kernel for the feedback's outputs. A cell that
   hangs, exits or runs out of memory costs that cell only (the kernel, or the sandbox, restarts at the
   next cell). The results are kept in ``<course>/grader_runs/<assignment>/<student>/``.
2. **nbgrader autograde, one student after the other** (the gradebook is one sqlite file):
   nbgrader's own Autograde runs with :class:`SandboxedExecute` in place of its kernel preprocessor; it
   writes the outputs of phase 1 into the notebook (each graded cell: the verdict, an error output when it
   failed) so that nbgrader's own grading counts the points. Without phase 1 (a plain
   ``nbgrader autograde``) the preprocessor does the sandboxed work itself.
3. **Feedback** for every student, then a table of scores; each submission that failed is named with its
   reason and the path of its full log.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Iterable, Optional

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer, Unicode

from .. import i18n
from ..i18n import Text
from ..course import REPO_ROOT
from .autograder import answer_cells, load_spec
from .bwrap import MiB, Limits, Sandbox
from .sanitize import clean_image, sanitize_submission
from .stubs import PackageCopies
from .verdict import Verdict, grading_rules, run_verdict

__all__ = [
    "GradingSettings",
    "Grader",
    "SandboxedExecute",
    "RestoreGradeCells",
    "DeduplicateGradeIds",
    "bound_notebook",
    "ClassReport",
    "StudentReport",
    "verdict_output",
    "run_dir",
]


@dataclass(frozen=True)
class GradingSettings:
    """How the grader runs student code. Times in seconds, sizes in bytes."""

    verdict_timeout: float = 60.0
    cell_timeout: float = 300.0
    verdict_memory: int = 2048 * MiB
    kernel_memory: int = 4096 * MiB
    cell_output: int = 100_000
    notebook_output: int = 5_000_000
    workers: int = 0  # 0: one per core
    allow_unsandboxed: bool = False
    bwrap: str = ""  # "" finds bwrap on PATH
    # the budget of one submitted notebook: its sandboxed run (all cells, kernel restarts included), its
    # cells, the files of its submission folder that the run sees
    notebook_timeout: float = 900.0
    max_cells: int = 400
    max_files: int = 200

    def __post_init__(self):
        for name in (
            "verdict_timeout",
            "cell_timeout",
            "verdict_memory",
            "kernel_memory",
            "cell_output",
            "notebook_output",
            "notebook_timeout",
            "max_cells",
            "max_files",
        ):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"GradingSettings.{name} must be a positive number, got {value!r}")
        if not (isinstance(self.workers, int) and self.workers >= 0):
            raise ValueError(f"GradingSettings.workers must be an int >= 0, got {self.workers!r}")

    @property
    def n_workers(self) -> int:
        if self.workers:
            return self.workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:
            return max(1, os.cpu_count() or 1)

    def verdict_limits(self) -> Limits:
        return Limits(
            wall=self.verdict_timeout,
            cpu=int(self.verdict_timeout) + 5,
            memory=self.verdict_memory,
            processes=32,
            results=64 * MiB,
        )

    def display_limits(self, n_cells: int, budget: Optional[float] = None) -> Limits:
        """Limits of one sandboxed notebook run of ``n_cells`` cells; ``budget``: the seconds left of the
        notebook's time budget (the run is killed a little after it: the kernel's start is not counted)."""
        wall = self.cell_timeout * max(n_cells, 1) + 180
        if budget is not None:
            wall = min(wall, max(budget, 1.0) + 60)
        return Limits(
            wall=wall,
            cpu=int(wall),
            memory=self.kernel_memory,
            processes=64,
            results=self.notebook_output + 4 * MiB,
        )


def run_dir(course: os.PathLike | str, assignment: str, student: str) -> pathlib.Path:
    """Where the grader keeps the results and the log of one submission."""
    return pathlib.Path(course).resolve() / "grader_runs" / assignment / student


# ----------------------------------------------------------------------------------------- notebooks
def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _has_task(cell) -> bool:
    meta = _meta(cell)
    return bool(meta.get("grade") or meta.get("solution") or meta.get("locked"))


def deduplicate(nb) -> dict:
    """Keep the grading metadata on the *last* cell of each grade id (as the notebook runs, the last
    definition wins) and remove it from the earlier copies, which stay as plain cells. Returns grade id ->
    number of cells that had it, for the ids that were duplicated. (nbgrader's own DeduplicateIds empties
    the copies' metadata instead, which its OverwriteCells then fails on: ``KeyError: 'grade_id'``.)"""
    seen: dict = {}
    for cell in reversed(nb.cells):
        if not _has_task(cell):
            continue
        gid = _meta(cell).get("grade_id")
        seen[gid] = seen.get(gid, 0) + 1
        if seen[gid] > 1:
            del cell.metadata["nbgrader"]
    return {gid: n for gid, n in seen.items() if n > 1}


def _note_text(text: str) -> str:
    """Text for a markdown cell that the grader writes: shown as text, never as markup, links or math."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text)[:2000])
    text = text.replace("$", "\uff04").replace("\\", "\u29f5")  # no math for MathJax, no escapes
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + ch if ch in "`*_[]()#!|~{}" else ch for ch in text)


def grader_note(lines: Iterable[str]):
    """A markdown cell with the grader's notes about a submission (written as plain text)."""
    body = "\n".join(f"- {_note_text(line)}" for line in lines)
    cell = nbformat.v4.new_markdown_cell(
        i18n.text(Text("**Notes from the grader**", "**评分程序的说明**")) + "\n\n" + body
    )
    cell.metadata["swin_edu"] = {"grader_note": True}
    return cell


def bound_notebook(nb, max_cells: int, known_ids: Iterable[str]) -> tuple:
    """(notebook, note): at most ``max_cells`` cells. The cells of the assignment (the last cell of each grade
    id the release knows) are always kept; of the others the first ones are kept. A notebook within the
    budget comes back as it is (note None); otherwise the note says what was left out."""
    if len(nb.cells) <= max_cells:
        return nb, None
    known = set(known_ids)
    last = {}
    for i, cell in enumerate(nb.cells):
        gid = _meta(cell).get("grade_id")
        if _has_task(cell) and gid in known:
            last[gid] = i
    keep = set(last.values())
    room = max_cells - len(keep)
    for i in range(len(nb.cells)):
        if room <= 0:
            break
        if i not in keep:
            keep.add(i)
            room -= 1
    dropped = len(nb.cells) - len(keep)
    first = min(i for i in range(len(nb.cells)) if i not in keep)
    note = i18n.text(Text(
        f"this notebook has {len(nb.cells):,} cells; the grader keeps at most {max_cells:,} (the cells of "
        f"the assignment always): {dropped:,} cells from cell {first + 1} on were left out (not run, not "
        f"shown)",
        f"这个笔记本有 {len(nb.cells):,} 个单元格；评分程序最多保留 {max_cells:,} 个"
        f"（作业本身的单元格总会保留）：从第 {first + 1} 个单元格起，有 {dropped:,} 个被略去了"
        f"（没有运行，也不显示）"))
    out = nbformat.from_dict(json.loads(json.dumps(nb)))
    out.cells = [cell for i, cell in enumerate(out.cells) if i in keep]
    return out, note


def sanitized(nb, source_nb, graded_ids: Iterable[str]):
    """What nbgrader's sanitizing makes of a submission (same cells, the locked cells' sources and the
    graded cells' metadata restored from the source notebook), for the notebook run of phase 1."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    deduplicate(nb)
    source_cells = {_meta(c).get("grade_id"): c for c in source_nb.cells if _meta(c).get("grade_id")}
    graded_ids = set(graded_ids)
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        src = source_cells.get(gid)
        if src is None:
            continue
        if gid in graded_ids:
            cell.metadata["nbgrader"] = dict(_meta(src))
        if _meta(src).get("locked") and cell.cell_type == src.cell_type:
            cell.source = src.source
    return nb


def _is_graded(cell, graded_ids) -> bool:
    return cell.cell_type == "code" and _meta(cell).get("grade_id") in graded_ids and _meta(cell).get("grade")


def plain_code(nb, graded_ids) -> list[str]:
    """The sources of the code cells that are not graded cells, in order (the key of the notebook run)."""
    return [str(c.source) for c in nb.cells if c.cell_type == "code" and not _is_graded(c, graded_ids)]


def verdict_output(verdict: Verdict) -> dict:
    """The output nbgrader reads: a stream when passed, an error (0 points) otherwise."""
    if verdict.passed:
        return nbformat.v4.new_output("stream", name="stdout", text=verdict.message + "\n")
    lines = verdict.message.splitlines() or ["failed"]
    return nbformat.v4.new_output("error", ename="GradedCheckFailed", evalue=lines[0], traceback=lines)


_KEEP_MIME = ("text/plain", "image/png", "image/jpeg")


def _clean_outputs(outputs, cap: int) -> list:
    """Outputs that came back from the sandbox, checked field by field (only text and bitmaps)."""
    clean, size = [], 0
    if not isinstance(outputs, list):
        return clean
    for out in outputs[:200]:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        try:
            if (
                kind == "stream"
                and out.get("name") in ("stdout", "stderr")
                and isinstance(out.get("text"), str)
            ):
                item = nbformat.v4.new_output("stream", name=out["name"], text=out["text"])
            elif kind in ("display_data", "execute_result") and isinstance(out.get("data"), dict):
                data = {k: v for k, v in out["data"].items() if k in _KEEP_MIME and isinstance(v, str)
                        and (k == "text/plain" or clean_image(v) is not None)}
                if not data:
                    continue
                item = nbformat.v4.new_output(kind, data=data)
                if kind == "execute_result":
                    count = out.get("execution_count")
                    item.execution_count = count if isinstance(count, int) else None
            elif kind == "error":
                tb = out.get("traceback") if isinstance(out.get("traceback"), list) else []
                item = nbformat.v4.new_output(
                    "error",
                    ename=str(out.get("ename", ""))[:200],
                    evalue=str(out.get("evalue", ""))[:2000],
                    traceback=[str(t)[:5000] for t in tb[:100]],
                )
            else:
                continue
        except (ValueError, TypeError):
            continue
        n = len(json.dumps(item))
        if size + n > cap:
            clean.append(
                nbformat.v4.new_output(
                    "stream", name="stdout", text=f"[the grader left out {n:,} bytes of output here]\n"
                )
            )
            break
        clean.append(item)
        size += n
    return clean


def _stopped(text: str) -> list:
    return [nbformat.v4.new_output("error", ename="CellStopped", evalue=text, traceback=[text])]


# ----------------------------------------------------------------------------------------- the grader
@dataclass
class NotebookResult:
    notebook: str
    verdicts: dict = field(default_factory=dict)  # grade_id -> Verdict
    plain: list = field(default_factory=list)  # sources of the non-graded code cells
    outputs: list = field(default_factory=list)  # per non-graded code cell: {"outputs", "count"}
    problem: str = ""
    notes: list = field(default_factory=list)  # what the grader left out, and why (the feedback says)

    def to_dict(self) -> dict:
        return {
            "notebook": self.notebook,
            "verdicts": {k: v.to_dict() for k, v in self.verdicts.items()},
            "plain": self.plain,
            "outputs": self.outputs,
            "problem": self.problem,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "NotebookResult":
        return cls(
            d["notebook"],
            {k: Verdict.from_dict(v) for k, v in d["verdicts"].items()},
            d["plain"],
            d["outputs"],
            d.get("problem", ""),
            list(d.get("notes", [])),
        )


class Grader:
    """The sandboxed work of grading, for one course folder (shared by the threads of phase 1)."""

    def __init__(self, course: os.PathLike | str, settings: Optional[GradingSettings] = None):
        self.course = pathlib.Path(course).resolve()
        self.settings = settings or GradingSettings()
        hidden = [self.course]
        if (REPO_ROOT / "notebooks").is_dir():
            hidden.append(REPO_ROOT)
        self.sandbox = Sandbox(
            allow_unsandboxed=self.settings.allow_unsandboxed,
            bwrap=self.settings.bwrap or None,
            hidden_paths=hidden,
        )
        self._work = tempfile.mkdtemp(prefix="swin-edu-packages-")
        self.copies = PackageCopies(self._work)
        self._specs: dict = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.sandbox.close()
        shutil.rmtree(self._work, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def spec(self, assignment: str, notebook: str) -> Optional[dict]:
        key = (assignment, notebook)
        with self._lock:
            if key not in self._specs:
                self._specs[key] = load_spec(self.course, assignment, notebook)
            return self._specs[key]

    def prepare(self, assignment: str) -> None:
        """Make the package copies of every graded cell of ``assignment`` now, before the parallel phase
        (the threads then only read them)."""
        self.copies.get(full=True)
        for notebook in self.submission_notebooks(assignment):
            for cell in (self.spec(assignment, notebook) or {"cells": []})["cells"]:
                rules = grading_rules(cell)
                self.copies.get(
                    prelude=rules["prelude"], forbidden=rules["forbidden"], allowed=rules["allowed"]
                )

    def _stand_in(self, assignment: str, notebook: str) -> pathlib.Path:
        """The release's notebook (the source's when there is no release folder)."""
        release = self.course / "release" / assignment / f"{notebook}.ipynb"
        return release if release.is_file() else self.course / "source" / assignment / f"{notebook}.ipynb"

    def source_notebook(self, assignment: str, notebook: str):
        return nbformat.read(str(self.course / "source" / assignment / f"{notebook}.ipynb"), as_version=4)

    # --------------------------------------------------------------------------- one notebook
    def known_ids(self, assignment: str, notebook: str) -> set:
        """The grade ids of the source notebook's nbgrader cells."""
        key = ("ids", assignment, notebook)
        with self._lock:
            if key not in self._specs:
                self._specs[key] = {
                    _meta(c).get("grade_id")
                    for c in self.source_notebook(assignment, notebook).cells
                    if _meta(c).get("grade_id")
                }
            return self._specs[key]

    def grade_notebook(
        self,
        assignment: str,
        notebook: str,
        nb,
        *,
        submission_dir: Optional[pathlib.Path],
        slot: int = 0,
        sanitize: bool = True,
        notes: Iterable[str] = (),
    ) -> NotebookResult:
        """Verdicts of every graded cell and the sandboxed run of the notebook, for the feedback."""
        spec = self.spec(assignment, notebook)
        if spec is None:
            raise RuntimeError(
                f"no grading data for {assignment}/{notebook}: release the assignment with "
                f"`python -m swin_edu.classroom release {assignment}` first"
            )
        graded = {c["grade_id"]: c for c in spec["cells"]}
        result = NotebookResult(notebook, notes=list(notes))
        nb, note = bound_notebook(nb, int(self.settings.max_cells), self.known_ids(assignment, notebook))
        if note:
            result.notes.append(note)
        copies = {}
        for cell in nb.cells:
            if _has_task(cell):
                gid = _meta(cell).get("grade_id")
                copies[gid] = copies.get(gid, 0) + 1
        if sanitize:
            nb = sanitized(nb, self.source_notebook(assignment, notebook), graded)
        limits = self.settings.verdict_limits()
        for gid, cell_spec in graded.items():
            cells = answer_cells(nb, cell_spec["answer_ids"])
            verdict = run_verdict(
                cell_spec, cells, sandbox=self.sandbox, copies=self.copies, limits=limits, slot=slot
            )
            twice = [(i, copies[i]) for i in [*cell_spec["answer_ids"], gid] if copies.get(i, 0) > 1]
            if twice:
                verdict.message += "\n" + i18n.text(Text(
                    "   note: your notebook has " + ", ".join(f"{n} cells with the id {i}" for i, n in twice)
                    + " (a copied cell?); the grader graded the last one, as a run of the notebook uses "
                    "the last definition. Delete the other copies.",
                    "   注意：你的笔记本里有" + "、".join(f" {n} 个 id 为 {i} 的单元格" for i, n in twice)
                    + "（是复制出来的吗？）；评分程序评的是最后一个，就像运行笔记本时最后的定义生效一样。"
                    "请删掉其余的副本。"))
            result.verdicts[gid] = verdict
        result.plain = plain_code(nb, graded)
        code = [(i, str(c.source)) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        outputs = self.run_notebook(code, submission_dir, slot)
        result.outputs = [
            outputs.get(i, {"outputs": [], "count": None})
            for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and not _is_graded(c, graded)
        ]
        if any(o.get("status") == "budget" for o in outputs.values()):
            result.notes.append(i18n.text(Text(
                f"the run of this notebook used up its time budget ({self.settings.notebook_timeout:g} s for "
                f"all its cells): the cells after that were not run (each says so)",
                f"这个笔记本的运行用完了它的时间预算（所有单元格一共 "
                f"{self.settings.notebook_timeout:g} 秒）：之后的单元格都没有运行（每个单元格里都写明了）")))
        return result

    def run_notebook(self, code: list[tuple[int, str]], submission_dir, slot: int) -> dict:
        """cell index -> {"outputs", "count"}: the code cells run in a sandboxed kernel, one by one; after a
        run that stops (the kernel's process killed, out of time), a new sandbox goes on at the next cell.
        All the runs of one notebook share its time budget (``notebook_timeout``): once it is used up, the
        remaining cells are not run and say why."""
        results: dict = {}
        todo = list(code)
        budget = self.settings.notebook_output
        package = self.copies.get(full=True)
        deadline = time.monotonic() + self.settings.notebook_timeout
        while todo:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            job = {
                "cells": [{"index": i, "source": s} for i, s in todo],
                "cell_timeout": self.settings.cell_timeout,
                "cell_output": self.settings.cell_output,
                "budget": left,
            }
            limits = self.settings.display_limits(len(todo), left)
            run = self.sandbox.run(
                "display", job, package=package, limits=limits, slot=slot, submission=submission_dir
            )
            running, finished = None, False
            indices = {i for i, _ in todo}
            for event in run.events:
                cell = event.get("cell")
                if event["event"] == "end":
                    finished = True
                elif cell not in indices:
                    continue
                elif event["event"] == "start":
                    running = cell
                elif event["event"] == "done":
                    outs = _clean_outputs(
                        event.get("outputs"), min(self.settings.cell_output, max(budget, 0))
                    )
                    budget -= len(json.dumps(outs))
                    status = event.get("status")
                    if status == "timeout":
                        outs += _stopped(
                            f"this cell did not finish within {self.settings.cell_timeout:g} s; the "
                            f"grader stopped it and went on with a fresh kernel"
                        )
                    elif status == "budget":
                        outs += _stopped(self._budget_text(stopped=True))
                    elif status == "died":
                        outs += _stopped(
                            "the kernel died while this cell ran (os._exit, out of memory?); the "
                            "grader went on with a fresh kernel"
                        )
                    count, seconds = event.get("count"), event.get("seconds")
                    results[cell] = {
                        "outputs": outs,
                        "count": count if isinstance(count, int) else None,
                        "seconds": float(seconds) if isinstance(seconds, (int, float)) else None,
                        "status": str(status),
                    }
                    running = None
                    if status == "budget":
                        finished = True
            if finished:
                break
            done_up_to = max([i for i in results if i in indices], default=-1)
            if running is not None and running not in results:
                over = deadline - time.monotonic() <= 0
                results[running] = {
                    "outputs": _stopped(
                        self._budget_text(stopped=True)
                        if over
                        else f"the grader stopped this cell: {run.ending(limits)}; "
                        f"the next cells ran in a fresh kernel"
                    ),
                    "count": None,
                    "status": "budget" if over else "stopped",
                }
                done_up_to = max(done_up_to, running)
            remaining = [(i, s) for i, s in todo if i > done_up_to]
            if len(remaining) == len(todo):  # no progress at all: the kernel does not even start
                for i, _ in todo:
                    results[i] = {
                        "outputs": _stopped(f"the grader could not run this notebook: {run.ending(limits)}"),
                        "count": None,
                    }
                break
            todo = remaining
        for i, _ in code:  # not reached within the notebook's time budget
            if i not in results:
                results[i] = {"outputs": _stopped(self._budget_text(stopped=False)), "count": None,
                              "status": "budget"}
        return results

    def _budget_text(self, stopped: bool) -> str:
        t = self.settings.notebook_timeout
        if stopped:
            return i18n.text(Text(
                f"the grader stopped this cell: the notebook's time budget ({t:g} s for all its cells) was "
                f"used up; the cells after it were not run",
                f"评分程序停止了这个单元格：笔记本的时间预算（所有单元格一共 {t:g} 秒）已经用完；"
                f"它后面的单元格都没有运行"))
        return i18n.text(Text(
            f"the grader did not run this cell: the notebook's time budget ({t:g} s for all its cells) was "
            f"used up before it",
            f"评分程序没有运行这个单元格：在它之前，笔记本的时间预算（所有单元格一共 {t:g} 秒）已经用完了"))

    # --------------------------------------------------------------------------- one submission
    def submission_notebooks(self, assignment: str) -> list[str]:
        return sorted(p.stem for p in (self.course / "source" / assignment).glob("*.ipynb"))

    def grade_submission(self, assignment: str, student: str, slot: int = 0) -> dict:
        """Phase 1 for one student: every notebook of the assignment; results and log on disk. The notebooks
        are staged for nbgrader (:func:`staged_dir`): only the assignment's notebooks, within the budget of
        cells; a notebook that cannot be graded (a link, unreadable) is staged as the release's, which
        :class:`SandboxedExecute` empties and grades 0 with the reason; a missing one is left missing (0)."""
        out = run_dir(self.course, assignment, student)
        out.mkdir(parents=True, exist_ok=True)
        stage = staged_dir(self.course, assignment, student)
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        log = []
        folder = self.course / "submitted" / student / assignment
        stamp = folder / "timestamp.txt"
        if stamp.is_file() and not stamp.is_symlink() and stamp.stat().st_size < 1000:
            shutil.copyfile(stamp, stage / "timestamp.txt")
        summary = {"student": student, "notebooks": {}, "problems": []}
        copy, file_notes = None, []
        try:
            for notebook in self.submission_notebooks(assignment):
                (out / f"{notebook}.json").unlink(missing_ok=True)  # never the results of an earlier run
                try:
                    nb, problem = read_submission(self.course, student, assignment, notebook)
                    if nb is None:
                        summary["problems"].append(f"{notebook}: {problem}")
                        log.append(f"[{notebook}] {problem}")
                        if problem != NO_NOTEBOOK:  # the release's cells: SandboxedExecute empties them
                            shutil.copyfile(self._stand_in(assignment, notebook), stage / f"{notebook}.ipynb")
                        continue
                    nb, note = bound_notebook(
                        nb, int(self.settings.max_cells), self.known_ids(assignment, notebook)
                    )
                    _plain_ids(nb)
                    nbformat.write(nb, str(stage / f"{notebook}.ipynb"))
                    if copy is None:
                        copy, file_notes = _submission_copy(folder, max_files=int(self.settings.max_files))
                    result = self.grade_notebook(
                        assignment, notebook, nb, submission_dir=copy, slot=slot,
                        notes=[*([note] if note else []), *file_notes],
                    )
                    (out / f"{notebook}.json").write_text(json.dumps(result.to_dict()), encoding="utf-8")
                    summary["notebooks"][notebook] = {gid: v.score() for gid, v in result.verdicts.items()}
                    for gid, v in result.verdicts.items():
                        log.append(
                            f"[{notebook}] {gid}: {v.status} ({v.score():g}/{v.points:g}) in "
                            f"{v.seconds:.1f} s\n"
                            f"{v.message}\n--- log of the sandbox (stderr, last 20 kB) ---\n{v.log}"
                        )
                    timed = [(o.get("seconds") or 0.0, i) for i, o in enumerate(result.outputs)]
                    total = sum(t for t, _ in timed)
                    stopped = [i for i, o in enumerate(result.outputs) if o.get("status") not in (None, "ok")]
                    log.append(
                        f"[{notebook}] notebook run: {len(timed)} plain code cells in {total:.1f} s"
                        f" (slowest: {max(timed, default=(0.0, -1))[0]:.1f} s); cells stopped or not run by "
                        f"the grader (counted among plain code cells): {stopped or 'none'}"
                        + "".join(f"\n[{notebook}] note: {n}" for n in result.notes)
                    )
                except Exception:  # noqa: BLE001 - one notebook's failure must not stop the class
                    summary["problems"].append(
                        f"{notebook}: the grader failed: {traceback.format_exc(limit=3)}"
                    )
                    log.append(f"[{notebook}] the grader failed:\n{traceback.format_exc()}")
        finally:
            if copy is not None:
                shutil.rmtree(copy, ignore_errors=True)
        (out / "sandbox.log").write_text("\n\n".join(log), encoding="utf-8")
        return summary


def _plain_ids(nb) -> None:
    """Cell ids that nbformat accepts (unique, ``[A-Za-z0-9_-]``): a notebook with odd ids is graded all the
    same (nbgrader validates the notebook after each of its steps)."""
    from .sanitize import SAFE_ID

    seen = set()
    for cell in nb.cells:
        cid = cell.get("id")
        if not (isinstance(cid, str) and SAFE_ID.fullmatch(cid)) or cid in seen:
            cell["id"] = nbformat.v4.new_code_cell().id
        seen.add(cell["id"])


#: where ``classroom grade`` stages the submissions for nbgrader (no assignment has this name: it has a space)
STAGED = "grader_runs/staged submissions"


def staged_dir(course: os.PathLike | str, assignment: str, student: str) -> pathlib.Path:
    """The staged copy of one submission that nbgrader's autograde reads (while ``classroom grade`` runs,
    ``CourseDirectory.submitted_directory`` points here): the assignment's notebooks only, bounded, no
    links."""
    return pathlib.Path(course).resolve() / STAGED / student / assignment


NO_NOTEBOOK = "no such notebook in the submission"


def read_submission(course: pathlib.Path, student: str, assignment: str, notebook: str):
    """(notebook, None), or (None, why it cannot be graded): missing, reached through a symbolic link (the
    notebook or a folder on its way), not a regular file, too large, not a notebook."""
    course = pathlib.Path(course).resolve()
    folder = course / "submitted" / student / assignment
    path = folder / f"{notebook}.ipynb"
    if not path.exists() and not path.is_symlink():
        return None, NO_NOTEBOOK
    if os.path.realpath(path) != str(path) or path.is_symlink() or not path.is_file():
        return (
            None,
            "the submitted notebook is a symbolic link (or reached through one, or not a file); submit "
            "the notebook itself",
        )
    if path.stat().st_size > 200 * MiB:
        return None, "the submitted notebook is larger than 200 MiB"
    try:
        return nbformat.read(str(path), as_version=4), None
    except Exception as e:  # noqa: BLE001 - whatever makes it unreadable is reported
        return None, f"the submitted notebook cannot be read ({type(e).__name__}: {str(e)[:200]})"


def _submission_copy(folder: pathlib.Path, max_bytes: int = 200 * MiB, max_files: int = 200) -> tuple:
    """(a private copy of a submission folder's regular files (no links) for the notebook run, notes): at most
    ``max_files`` files and ``max_bytes`` bytes, the top folder first; the notes say what was left out."""
    dest = pathlib.Path(tempfile.mkdtemp(prefix="swin-edu-submission-"))
    total, count, left_out = 0, 0, False
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel = pathlib.Path(root).relative_to(folder)
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(root, d)))
        for name in sorted(files):
            src = pathlib.Path(root) / name
            if src.is_symlink() or not src.is_file():
                continue
            size = src.stat().st_size
            if count >= max_files or total + size > max_bytes:
                left_out = True
                break
            total += size
            count += 1
            (dest / rel).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / rel / name)
        if left_out:
            break
    for path in [dest, *dest.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    notes = []
    if left_out:
        notes.append(i18n.text(Text(
            f"the submission folder holds more than {max_files:,} files or {max_bytes // MiB} MiB: the run "
            f"of the notebook saw only the first {count:,} files ({total // 1024:,} kB)",
            f"提交的文件夹里有超过 {max_files:,} 个文件或 {max_bytes // MiB} MiB：运行笔记本时只能看到前 "
            f"{count:,} 个文件（{total // 1024:,} kB）")))
    return dest, notes


# ----------------------------------------------------------------------------------------- nbgrader
class RestoreGradeCells(NbGraderPreprocessor):
    """Sanitize step: a graded cell keeps the grading metadata of the release, whatever the submission says
    (a flipped ``grade: false`` flag is restored, so the cell is graded like any other)."""

    def preprocess(self, nb, resources):
        course = resources["nbgrader"].get("course_root") or _course_root(self)
        spec = load_spec(course, resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"])
        if spec is None:
            return nb, resources
        graded = {c["grade_id"]: c for c in spec["cells"]}
        seen = set()
        for cell in nb.cells:
            gid = _meta(cell).get("grade_id")
            if gid in graded and gid not in seen and cell.cell_type == "code":
                seen.add(gid)
                meta = cell.metadata.setdefault("nbgrader", {})
                meta.update(
                    {"grade": True, "solution": False, "locked": True, "points": graded[gid]["points"]}
                )
        return nb, resources


class DeduplicateGradeIds(NbGraderPreprocessor):
    """Sanitize step, in place of nbgrader's DeduplicateIds: of several cells with one grade id (a copied
    answer cell, a copied graded cell), the last keeps the grading metadata and the earlier ones become plain
    cells (nbgrader's own step leaves them an empty ``nbgrader`` entry, on which its OverwriteCells fails)."""

    def preprocess(self, nb, resources):
        for gid, n in deduplicate(nb).items():
            self.log.warning("Cell with id '%s' exists %d times: the last one is graded", gid, n)
        return nb, resources


def _course_root(pp) -> str:
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=pp.config).root


class SandboxedExecute(NbGraderPreprocessor):
    """nbgrader's Autograde without a kernel in the grader's process: each graded cell's output is the
    verdict of :class:`Grader` (an error output when it failed), every other code cell gets the output of
    the sandboxed notebook run. Uses the results of ``classroom grade``'s phase 1 when they match the
    notebook, and does the sandboxed work itself otherwise."""

    verdict_timeout = Float(60.0, help="seconds for all the cases of one graded cell").tag(config=True)
    cell_timeout = Float(300.0, help="seconds for one cell of the notebook run").tag(config=True)
    verdict_memory_mib = Integer(2048, help="address space of a graded cell's process (MiB)").tag(config=True)
    kernel_memory_mib = Integer(4096, help="address space of the notebook's kernel (MiB)").tag(config=True)
    cell_output = Integer(100_000, help="bytes of output kept per cell").tag(config=True)
    notebook_output = Integer(5_000_000, help="bytes of output kept per notebook").tag(config=True)
    workers = Integer(0, help="parallel sandboxes of `classroom grade` (0: one per core)").tag(config=True)
    allow_unsandboxed = Bool(
        False, help="run student code without bubblewrap when it is missing (UNSAFE: only for code you trust)"
    ).tag(config=True)
    bwrap = Unicode("", help="path of bwrap (default: found on PATH)").tag(config=True)
    notebook_timeout = Float(
        900.0, help="seconds for the whole run of one submitted notebook (all its cells, restarts included)"
    ).tag(config=True)
    max_cells = Integer(
        400, help="cells of a submitted notebook that the grader keeps (the assignment's always)"
    ).tag(config=True)
    max_files = Integer(
        200, help="files of a submission folder that the notebook's run sees"
    ).tag(config=True)

    def settings(self) -> GradingSettings:
        return GradingSettings(
            verdict_timeout=self.verdict_timeout,
            cell_timeout=self.cell_timeout,
            verdict_memory=self.verdict_memory_mib * MiB,
            kernel_memory=self.kernel_memory_mib * MiB,
            cell_output=self.cell_output,
            notebook_output=self.notebook_output,
            workers=self.workers,
            allow_unsandboxed=self.allow_unsandboxed,
            bwrap=self.bwrap,
            notebook_timeout=self.notebook_timeout,
            max_cells=self.max_cells,
            max_files=self.max_files,
        )

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        course = pathlib.Path(_course_root(self)).resolve()
        assignment, student, notebook = info["assignment"], info["student"], info["notebook"]
        spec = load_spec(course, assignment, notebook)
        if spec is None:
            raise RuntimeError(
                f"no grading data for {assignment}/{notebook} in {course}/autograder: release the "
                f"assignment with `python -m swin_edu.classroom release {assignment}`"
            )
        graded = {c["grade_id"]: c for c in spec["cells"]}
        folder = course / "submitted" / student / assignment
        release_path = course / "release" / assignment / f"{notebook}.ipynb"
        source_path = course / "source" / assignment / f"{notebook}.ipynb"
        release_nb = nbformat.read(str(release_path if release_path.is_file() else source_path), as_version=4)
        sanitize_submission(nb, release_nb)  # nothing of the student's is rendered as HTML in any page
        _, problem = read_submission(course, student, assignment, notebook)
        if problem:  # what nbgrader read is not the student's own notebook: grade nothing, show nothing of it
            for cell in nb.cells:
                cell.source = ""
                cell.pop("attachments", None)
                if cell.cell_type == "code":
                    cell.outputs = []
            self._apply(nb, graded, NotebookResult(notebook, problem=problem))
            why = i18n.text(Text(f"Not graded: {problem}.", f"没有评分：{problem}。"))
            nb.cells.insert(0, grader_note([why]))
            return nb, resources
        settings = self.settings()
        source = nbformat.read(str(source_path), as_version=4)
        bounded, note = bound_notebook(
            nb,
            int(settings.max_cells),
            {_meta(c).get("grade_id") for c in source.cells if _meta(c).get("grade_id")},
        )
        nb.cells = bounded.cells
        result = None
        cached = run_dir(course, assignment, student) / f"{notebook}.json"
        if cached.is_file():
            result = NotebookResult.from_dict(json.loads(cached.read_text(encoding="utf-8")))
            if result.plain != plain_code(nb, graded):
                self.log.warning(
                    "%s/%s: the notebook differs from the one phase 1 ran; running it again",
                    student,
                    notebook,
                )
                result = None
        if result is None:
            with Grader(course, settings) as grader:
                copy, file_notes = _submission_copy(folder, max_files=int(settings.max_files))
                try:
                    result = grader.grade_notebook(
                        assignment, notebook, nb, submission_dir=copy, sanitize=False,
                        notes=[*([note] if note else []), *file_notes],
                    )
                finally:
                    shutil.rmtree(copy, ignore_errors=True)
        self._apply(nb, graded, result)
        if result.notes:
            nb.cells.insert(0, grader_note(result.notes))
        return nb, resources

    @staticmethod
    def _apply(nb, graded: dict, result: NotebookResult) -> None:
        plain = iter(result.outputs)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            gid = _meta(cell).get("grade_id")
            if _is_graded(cell, graded):
                verdict = result.verdicts.get(gid)
                if verdict is None:
                    why = result.problem or "this graded cell was not graded"
                    verdict = Verdict(
                        gid, graded[gid]["exercise"], graded[gid]["points"], "failed", f"❌ {why}"
                    )
                cell.outputs = [verdict_output(verdict)]
                cell.execution_count = None
            else:
                got = next(plain, {"outputs": [], "count": None})
                cell.outputs = [nbformat.from_dict(o) for o in got["outputs"]]
                cell.execution_count = got["count"]


# ----------------------------------------------------------------------------------------- the class
@dataclass
class StudentReport:
    student: str
    scores: dict = field(default_factory=dict)  # notebook -> points
    problems: list = field(default_factory=list)
    log: str = ""
    skipped: bool = False  # not graded at all (a folder name that is no student id)

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    @property
    def shown(self) -> str:
        """The student's name for the table: as it is, or quoted when it is no valid id (a newline, a ';')."""
        return ascii(self.student) if self.skipped else self.student


@dataclass
class ClassReport:
    assignment: str
    max_points: dict
    students: list
    seconds: dict

    def table(self) -> str:
        notebooks = list(self.max_points)
        total = sum(self.max_points.values())
        head = ["student"] + [n[:18] for n in notebooks] + [f"total / {total:g}", "status"]
        rows = []
        for s in self.students:
            cells = ["-" if s.skipped else f"{s.scores.get(n, 0.0):g}" for n in notebooks]
            status = "NOT GRADED: see below" if s.skipped else "FAILED: see below" if s.failed else "ok"
            rows.append([s.shown] + cells + ["-" if s.skipped else f"{sum(s.scores.values()):g}", status])
        widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
        fmt = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True))  # noqa: E731
        lines = [fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]
        failed = [s for s in self.students if s.failed]
        if failed:
            lines += ["", f"{len(failed)} submission(s) could not be graded completely:"]
            for s in failed:
                lines += [f"  {s.shown}: {p.splitlines()[0][:300]}" for p in s.problems]
                lines += [f"    full log: {s.log}"] if s.log else []
        return "\n".join(lines)
