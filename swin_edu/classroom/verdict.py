"""The verdict of one graded cell, decided in the grader's process.

The student's answer cell runs in a fresh sandboxed process (:mod:`.bwrap`, :mod:`.child`) with a
package copy in which the exercise's references are stubs (:mod:`.stubs`); the student's function is
called there on the graded cell's cases (public and hidden inputs only). What comes back is plain data
(:mod:`.codec`); here it is compared with the expected outputs of the release, with the same
diagnostics as the practice check (:mod:`swin_edu.exercises.diagnostics`), so that the specific
message (which case, expected vs got, the misconception) reaches the feedback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from ..exercises import EXERCISES
from ..exercises import diagnostics as dx
from ..exercises.spec import Case
from . import codec
from .bwrap import Limits, RunResult, Sandbox
from .stubs import PackageCopies

__all__ = ["Verdict", "run_verdict", "judge", "answer_job"]


@dataclass
class Verdict:
    """``status``: ``passed``, ``failed``, ``unsolved`` or ``missing`` (no answer cell / function)."""

    grade_id: str
    exercise: str
    points: float
    status: str
    message: str
    log: str = ""
    seconds: float = 0.0
    cases: int = 0
    notes: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def score(self) -> float:
        return self.points if self.passed else 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Verdict":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def answer_job(spec: dict, cells: list[dict]) -> dict:
    """The job of the sandbox: prelude, guards, answer cells, the function, the cases' inputs (never the
    expected outputs)."""
    return {
        "prelude": spec["prelude"],
        "guards": spec["guards"],
        "cells": cells,
        "function": spec["function"],
        "cases": [{"args": c["args"], "kwargs": c["kwargs"]} for c in spec["cases"]],
    }


def run_verdict(
    spec: dict, cells: list[dict], *, sandbox: Sandbox, copies: PackageCopies, limits: Limits, slot: int = 0
) -> Verdict:
    """Run the answer ``cells`` (``[{"id", "source"}]`` from the submission) for the graded cell ``spec``."""
    ex = EXERCISES[spec["exercise"]]
    if not cells:
        return Verdict(
            spec["grade_id"],
            ex.name,
            spec["points"],
            "missing",
            f"❌ {ex.name}: your notebook has no answer cell {', '.join(spec['answer_ids'])} (the cell that "
            f"defines `{spec['function']}`). Keep the cells of the assignment: write your answer in its "
            f"answer cell.",
        )
    package = copies.get(prelude=spec["prelude"], forbidden=spec["forbidden"])
    result = sandbox.run("verdict", answer_job(spec, cells), package=package, limits=limits, slot=slot)
    verdict = judge(spec, result, limits)
    verdict.log = result.log.decode("utf-8", "replace")[-20000:]
    verdict.seconds = round(result.seconds, 3)
    return verdict


def _case(spec_case: dict) -> tuple[Case, object]:
    args, kwargs = codec.decode(spec_case["args"]), codec.decode(spec_case["kwargs"])
    label = spec_case["label"] + (" (hidden case)" if spec_case["hidden"] else "")
    return Case(label, tuple(args), dict(kwargs)), codec.decode(spec_case["expected"])


def judge(spec: dict, result: RunResult, limits: Limits) -> Verdict:
    """The verdict from what the sandbox returned (``result``) and the release's expected outputs."""
    ex = EXERCISES[spec["exercise"]]
    name, total = ex.name, len(spec["cases"])
    hidden = sum(1 for c in spec["cases"] if c["hidden"])

    def verdict(status: str, message: str, notes=()) -> Verdict:
        if notes and status != "passed":
            message += (
                "\n   note: "
                + "\n   note: ".join(notes)
                + "\n   (the grader runs only your answer cell; it ran the rest of the cell)"
            )
        return Verdict(
            spec["grade_id"], name, spec["points"], status, message, cases=total, notes=list(notes)
        )

    by_case: dict[int, dict] = {}
    ready: Optional[dict] = None
    for event in result.events:
        if event["event"] == "ready" and ready is None:
            ready = event
        elif event["event"] in ("start", "result", "raised") and isinstance(event.get("case"), int):
            by_case.setdefault(event["case"], {}).setdefault(event["event"], event)
    if ready is None:
        return verdict(
            "failed",
            f"❌ {name}: the grader could not run your answer cell: {result.ending(limits)}.\n"
            f"   hint: keep only your function (and its helpers) in the answer cell; code at "
            f"the top level of the cell runs too, under the grader's limits.",
        )
    notes = (
        [str(n)[:400] for n in ready.get("notes", [])][:10] if isinstance(ready.get("notes"), list) else []
    )
    if not ready.get("callable"):
        what = "does not define" if ready.get("type") == "NoneType" else "does not define a function called"
        return verdict(
            "missing",
            f"❌ {name}: your answer cell {what} `{spec['function']}`.\n"
            f"   hint: the grader runs only your answer cell (after `import numpy as np` and "
            f"the course's imports): keep `def {spec['function']}(...)` and any helper it uses "
            f"inside that cell.",
            notes,
        )
    for i, spec_case in enumerate(spec["cases"]):
        case, expected = _case(spec_case)
        events = by_case.get(i, {})
        if "result" not in events and "raised" not in events:
            if result.timed_out:
                return verdict(
                    "failed",
                    dx.timeout_message(
                        name,
                        i + 1,
                        total,
                        case.label,
                        limits.wall,
                        "\n   (all the cases together get that long)",
                    ),
                    notes,
                )
            return verdict(
                "failed",
                f"❌ {name}: case {i + 1} of {total} failed — {case.label}\n"
                f"   while your function ran, {result.ending(limits)}.\n"
                f"   hint: a function must return its result: no os._exit, no sys.exit, no "
                f"endless allocation.",
                notes,
            )
        if "raised" in events:
            e = events["raised"]
            mro = [str(m) for m in e.get("mro", [])][:10] if isinstance(e.get("mro"), list) else []
            text, where = str(e.get("text", ""))[:2000], str(e.get("where", ""))[:300]
            if "ReferenceUnavailable" in mro:
                return verdict(
                    "failed",
                    f"❌ {name}: case {i + 1} of {total} failed — {case.label}\n"
                    f"   your function called a reference: {text}" + (f" (at {where})" if where else ""),
                    notes,
                )
            if mro[:1] == ["NotImplementedError"] and i == 0:
                return verdict("unsolved", dx.unsolved_message(ex, spec["function"]), notes)
            return verdict(
                "failed", dx.error_message(ex, name, i + 1, total, case.label, mro, text, where), notes
            )
        e = events["result"]
        try:
            got = codec.decode(e.get("value"))
            after = codec.decode(e.get("after"))
            if not (type(after) is tuple and len(after) == 2 and type(after[1]) is dict):
                raise codec.DecodeError("the arguments after the call are missing")
        except (codec.DecodeError, RecursionError) as err:
            return verdict(
                "failed",
                f"❌ {name}: case {i + 1} of {total} failed — {case.label}\n"
                f"   the grader could not read what your function returned ({err}).\n"
                f"   hint: return plain values: a numpy array, a torch tensor, an int, a "
                f"tuple of ints.",
                notes,
            )
        changed = dx.mutated((case.args, case.kwargs), after)
        if changed:
            return verdict("failed", dx.mutation_message(ex, name, i + 1, total, case, changed), notes)
        lines = dx.explain(ex, got, expected, case)
        if lines:
            return verdict("failed", dx.case_failed(ex, name, i + 1, total, case.label, lines), notes)
    message = dx.passed_message(ex, name, total)
    if ex.kind != "shape" and hidden:
        message = message.replace("cases.", f"cases ({total - hidden} public, {hidden} hidden).", 1)
    return verdict("passed", message)
