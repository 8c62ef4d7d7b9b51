"""The verdict of one graded cell, decided in the grader's process.

The student's answer cell runs in a fresh sandboxed process (:mod:`.bwrap`, :mod:`.child`) with a
package copy in which the exercise's references are stubs (:mod:`.stubs`); the student's function is
called there on the graded cell's cases (public and hidden inputs only). What comes back is plain data
(:mod:`.codec`); here it is compared with the expected outputs of the release, with the same
diagnostics as the practice check (:mod:`swin_edu.exercises.diagnostics`), so that the specific
message (which case, expected vs got, the misconception) reaches the feedback.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Optional

from ..exercises import EXERCISES
from ..exercises import diagnostics as dx
from ..exercises.spec import Case
from .. import i18n
from ..i18n import Text
from . import codec
from .bwrap import Limits, RunResult, Sandbox
from .stubs import PackageCopies

__all__ = ["Verdict", "run_verdict", "judge", "answer_job", "grading_rules"]


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


def grading_rules(spec: dict) -> dict:
    """What the sandbox allows an answer to the graded cell ``spec``: ``prelude``, ``forbidden``, ``allowed``,
    ``guards``. They come from the installed package's exercise (so that a fix of the grader applies to an
    assignment released before it); the release's copy in ``spec`` serves only an exercise the package no
    longer has."""
    ex = EXERCISES.get(spec.get("exercise"))
    if ex is None:
        defaults = (("prelude", ""), ("forbidden", []), ("allowed", []), ("guards", []))
        return {k: spec.get(k, d) for k, d in defaults}
    return {"prelude": ex.prelude, "forbidden": list(ex.forbidden), "allowed": list(ex.allowed),
            "guards": list(ex.guards)}


def answer_job(spec: dict, cells: list[dict]) -> dict:
    """The job of the sandbox: prelude, guards, answer cells, the function, the cases' inputs (never the
    expected outputs)."""
    rules = grading_rules(spec)
    return {
        "prelude": rules["prelude"],
        "guards": rules["guards"],
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
            i18n.text(Text(
                f"❌ {ex.name}: your notebook has no answer cell {', '.join(spec['answer_ids'])} (the cell that "
                f"defines `{spec['function']}`). Keep the cells of the assignment: write your answer in its "
                f"answer cell.",
                f"❌ {ex.name}：你的笔记本里没有答案单元格 {', '.join(spec['answer_ids'])}（定义 "
                f"`{spec['function']}` 的那个单元格）。请保留作业里的单元格，把答案写在它的答案单元格里。")),
        )
    rules = grading_rules(spec)
    package = copies.get(prelude=rules["prelude"], forbidden=rules["forbidden"], allowed=rules["allowed"])
    result = sandbox.run("verdict", answer_job(spec, cells), package=package, limits=limits, slot=slot)
    verdict = judge(spec, result, limits)
    verdict.log = result.log.decode("utf-8", "replace")[-20000:]
    verdict.seconds = round(result.seconds, 3)
    return verdict


def _case(spec_case: dict) -> tuple[Case, object]:
    args, kwargs = codec.decode(spec_case["args"]), codec.decode(spec_case["kwargs"])
    label = str(spec_case["label"])
    if isinstance(spec_case.get("label_zh"), str) and spec_case["label_zh"]:
        label = Text(label, spec_case["label_zh"])  # the feedback's language follows SWIN_EDU_LANG
    if spec_case["hidden"]:
        label = label + HIDDEN_SUFFIX
    return Case(label, tuple(args), dict(kwargs)), codec.decode(spec_case["expected"])


#: what the label of a hidden case ends with in the feedback
HIDDEN_SUFFIX = Text(" (hidden case)", "（隐藏用例）")


def judge(spec: dict, result: RunResult, limits: Limits) -> Verdict:
    """The verdict from what the sandbox returned (``result``) and the release's expected outputs."""
    ex = EXERCISES[spec["exercise"]]
    name, total = ex.name, len(spec["cases"])
    hidden = sum(1 for c in spec["cases"] if c["hidden"])

    def verdict(status: str, message: str, notes=()) -> Verdict:
        if notes and status != "passed":
            message += i18n.text(Text(
                "\n   note: " + "\n   note: ".join(notes)
                + "\n   (the grader runs only your answer cell; it ran the rest of the cell)",
                "\n   注意：" + "\n   注意：".join(notes)
                + "\n   （评分程序只运行你的答案单元格；单元格里的其余代码它也运行了）"))
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
            i18n.text(Text(
                f"❌ {name}: the grader could not run your answer cell: {result.ending(limits)}.\n"
                f"   hint: keep only your function (and its helpers) in the answer cell; code at "
                f"the top level of the cell runs too, under the grader's limits.",
                f"❌ {name}：评分程序无法运行你的答案单元格：{result.ending(limits).zh}。\n"
                f"   提示：答案单元格里只保留你的函数（和它用到的辅助函数）；单元格顶层的代码也会运行，"
                f"同样受评分程序的限制。")),
        )
    notes = (
        [str(n)[:400] for n in ready.get("notes", [])][:10] if isinstance(ready.get("notes"), list) else []
    )
    if not ready.get("callable"):
        what = "does not define" if ready.get("type") == "NoneType" else "does not define a function called"
        return verdict(
            "missing",
            i18n.text(Text(
                f"❌ {name}: your answer cell {what} `{spec['function']}`.\n"
                f"   hint: the grader runs only your answer cell (after `import numpy as np` and "
                f"the course's imports): keep `def {spec['function']}(...)` and any helper it uses "
                f"inside that cell.",
                f"❌ {name}：你的答案单元格没有定义函数 `{spec['function']}`。\n"
                f"   提示：评分程序只运行你的答案单元格（在 `import numpy as np` 和课程的 import 之后）："
                f"把 `def {spec['function']}(...)` 和它用到的辅助函数都留在那个单元格里。")),
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
                        Text("\n   (all the cases together get that long)", "\n   （这是所有用例加起来的时限）"),
                    ),
                    notes,
                )
            return verdict(
                "failed",
                dx.case_head(name, i + 1, total, case.label) + "\n" + i18n.text(Text(
                    f"   while your function ran, {result.ending(limits)}.\n"
                    f"   hint: a function must return its result: no os._exit, no sys.exit, no "
                    f"endless allocation.",
                    f"   你的函数运行时，{result.ending(limits).zh}。\n"
                    f"   提示：函数必须返回结果：不要 os._exit、不要 sys.exit，也不要无休止地分配内存。")),
                notes,
            )
        if "raised" in events:
            e = events["raised"]
            mro = [str(m) for m in e.get("mro", [])][:10] if isinstance(e.get("mro"), list) else []
            text, where = str(e.get("text", ""))[:2000], str(e.get("where", ""))[:300]
            line = re.match(r"line (\d+) of your answer cell", where)
            if line:  # the sandbox says it in English: words only, for the feedback's language
                where = Text(where, f"答案单元格第 {line[1]} 行" + where[line.end():].replace(": ", "：", 1))
            if "ReferenceUnavailable" in mro:
                return verdict(
                    "failed",
                    dx.case_head(name, i + 1, total, case.label) + "\n" + i18n.text(Text(
                        f"   your function used something it may not use while graded: {text}"
                        + (f" (at {where})" if where else ""),
                        f"   你的函数用了评分时不允许用的东西：{text}"
                        + (f"（位置：{i18n.text(where)}）" if where else ""))),
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
                dx.case_head(name, i + 1, total, case.label) + "\n" + i18n.text(Text(
                    f"   the grader could not read what your function returned ({err}).\n"
                    f"   hint: return plain values: a numpy array, a torch tensor, an int, a "
                    f"tuple of ints.",
                    f"   评分程序读不懂你的函数返回的东西（{err}）。\n"
                    f"   提示：请返回普通的值：numpy 数组、torch 张量、int，或由 int 组成的 tuple。")),
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
        message = message.replace("个用例全部通过。", f"个用例全部通过（公开 {total - hidden} 个，隐藏 {hidden} 个）。", 1)
    return verdict("passed", message)
