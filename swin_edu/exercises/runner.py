"""The practice self-check: run a student's function on the public cases and explain what went wrong.

A student's function may raise, loop forever, return the wrong shape, a list, NaN, the wrong dtype,
the transposed result, or modify its input. For each of these the check prints one specific, friendly
message (what was tested, expected vs got, the first differing element, a hint tied to the concept)
and returns a falsy :class:`CheckResult`. It never raises and never hangs: every call of the student's
function runs under a time limit, on copies of the inputs (:mod:`~swin_edu.exercises.sandbox`).

This is practice, for learning. Grading does not trust it (it runs in the student's process): the
classroom grader calls the student's function itself, in a sandbox, on hidden cases
(:mod:`swin_edu.classroom`), and reuses the same :mod:`~swin_edu.exercises.diagnostics` messages.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .. import i18n
from ..i18n import Text
from . import diagnostics as dx
from .sandbox import call_with_time_limit, user_line
from .spec import UNSET, Case, Exercise

__all__ = ["CheckResult", "run_check", "practice_cases", "settings", "use_or_reference", "last_result",
           "PRACTICE_SEED"]

#: the public seed of the extra practice cases (``check.x(fn, hidden=True)``); the grader draws its
#: hidden cases from the course's secret seed instead
PRACTICE_SEED = 20260101


@dataclass
class Settings:
    """Knobs of the practice check. ``time_limit``: seconds allowed for one call of a student's function
    (``SWIN_EDU_CHECK_TIME_LIMIT`` overrides the default); ``quiet``: do not print."""

    time_limit: float = float(os.environ.get("SWIN_EDU_CHECK_TIME_LIMIT", "10"))
    quiet: bool = False


settings = Settings()


class CheckResult:
    """Outcome of a self-check: truthy when passed. ``status`` is ``"passed"``, ``"failed"`` or
    ``"unsolved"``; ``message`` is what was printed; ``case`` names the failing case."""

    def __init__(self, name: str, status: str, message: str, case: Optional[str] = None, n_cases: int = 0):
        self.name, self.status, self.message, self.case, self.n_cases = name, status, message, case, n_cases

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"<self-check {self.name}: {self.status}>"


def practice_cases(ex: Exercise, more: bool = False) -> list:
    """The public cases of ``ex``; with ``more``, also cases drawn like the grader's hidden ones, but from
    the public :data:`PRACTICE_SEED` (the grader's own come from the course's secret seed)."""
    cases = list(ex.cases())
    if more and ex.hidden is not None:
        extra = ex.hidden(np.random.default_rng(PRACTICE_SEED))
        cases += [Case(c.label + PRACTICE_SUFFIX, c.args, c.kwargs, c.expected) for c in extra]
    return cases


#: what the label of a practice version of a hidden case ends with
PRACTICE_SUFFIX = Text(" (practice version of a hidden case)", "（隐藏用例的练习版）")
#: what a timeout adds when the student's function is still running
STILL_RUNNING = Text("\n   (it is still running in the background; if the notebook gets slow, restart the kernel)",
                     "\n   （它还在后台运行；如果笔记本变慢了，请重启内核）")

_LAST: dict[int, tuple[Callable, CheckResult]] = {}


def run_check(ex: Exercise, fn: Any, *, hidden: bool = False, time_limit: Optional[float] = None,
              cases: Optional[list] = None) -> CheckResult:
    """Run ``fn`` on the exercise's public cases (``hidden=True``: also the practice versions of the hidden
    cases; ``cases``: exactly these), print the verdict and return a :class:`CheckResult`. Never raises."""
    if not isinstance(ex, Exercise):
        raise TypeError(f"ex must be an Exercise, got {type(ex).__name__}")
    limit = settings.time_limit if time_limit is None else float(time_limit)
    try:
        todo = practice_cases(ex, hidden) if cases is None else list(cases)
        result = _run(ex, fn, todo, limit, more=hidden)
    except Exception as e:  # noqa: BLE001 - a bug in the checker must not look like the student's fault
        result = CheckResult(ex.name, "failed",
                             i18n.t("checker_broke", name=ex.name, error=f"{type(e).__name__}: {e}"))
    if callable(fn):
        _LAST[id(fn)] = (fn, result)
    if not settings.quiet:
        print(result.message)
    if result.passed and not settings.quiet:
        _remember(ex, fn)
    return result


def _remember(ex: Exercise, fn: Any) -> None:
    """A passed answer defined in a notebook is the learner's from now on (:mod:`swin_edu.learner`: this kernel
    and ``my_swin.py``); whatever goes wrong there, the check's verdict stands."""
    try:
        from .. import learner

        learner.record(ex, fn)
    except Exception:  # noqa: BLE001, S110 - remembering is a service, never a reason for a check to fail
        pass


def _run(ex: Exercise, fn: Any, cases: list, limit: float, more: bool) -> CheckResult:
    title = ex.name + (i18n.t("more_cases") if more else "")
    if not callable(fn):
        return CheckResult(ex.name, "failed",
                           i18n.t("not_a_function", title=title, signature=ex.signature, got=dx.describe(fn)))
    total = len(cases)
    for i, case in enumerate(cases, 1):
        pristine = copy.deepcopy((case.args, case.kwargs))
        call_args, call_kwargs = copy.deepcopy((case.args, case.kwargs))
        if case.expected is not UNSET:
            expected = case.expected
        elif ex.kind == "shape":
            expected = None  # compared through the answer's digests
        else:
            ref_args, ref_kwargs = copy.deepcopy((case.args, case.kwargs))
            expected = ex.reference(*ref_args, **ref_kwargs)
        outcome = call_with_time_limit(fn, call_args, call_kwargs, limit)
        if outcome.timed_out:
            note = STILL_RUNNING if outcome.still_running else ""
            message = dx.timeout_message(title, i, total, case.label, limit, note)
            return CheckResult(ex.name, "failed", message, case.label, total)
        if outcome.error is not None:
            err = outcome.error
            if isinstance(err, NotImplementedError) and i == 1:
                message = dx.unsolved_message(ex, getattr(fn, "__name__", ex.signature))
                return CheckResult(ex.name, "unsolved", message, case.label, total)
            mro = [c.__name__ for c in type(err).__mro__]
            message = dx.error_message(ex, title, i, total, case.label, mro, str(err), user_line(err))
            return CheckResult(ex.name, "failed", message, case.label, total)
        changed = dx.mutated(pristine, (call_args, call_kwargs))
        if changed:
            return CheckResult(ex.name, "failed", dx.mutation_message(ex, title, i, total, case, changed),
                               case.label, total)
        lines = dx.explain(ex, outcome.value, expected, case)
        if lines:
            return CheckResult(ex.name, "failed", dx.case_failed(ex, title, i, total, case.label, lines),
                               case.label, total)
    return CheckResult(ex.name, "passed", dx.passed_message(ex, title, total), None, total)


# ------------------------------------------------------------------------------- after the check
def last_result(student_fn: Callable) -> Optional[CheckResult]:
    """The latest :class:`CheckResult` of ``student_fn`` (None if it was never checked)."""
    entry = _LAST.get(id(student_fn))
    return entry[1] if entry and entry[0] is student_fn else None


def use_or_reference(student_fn: Callable, reference_fn: Callable, passed: Any = None, *,
                     name: Optional[str] = None, quiet: bool = False) -> Callable:
    """Return the student's function if it passed its self-check, otherwise the reference, and say which.

    ``passed`` may be a bool or a :class:`CheckResult`; by default the latest check of ``student_fn``
    decides.
    """
    if not callable(reference_fn):
        raise TypeError(f"reference_fn must be a function, got {type(reference_fn).__name__}")
    if passed is None:
        res = last_result(student_fn)
        passed = bool(res) if res is not None else False
    passed = bool(passed)
    mine = getattr(student_fn, "__name__", "your function")
    module = getattr(reference_fn, "__module__", "") or ""
    prefix = module.replace("swin_edu.numpy_ref", "snp").split(".")[0]
    ref = name or f"{prefix}.{getattr(reference_fn, '__name__', 'reference')}".lstrip(".")
    if not quiet and not settings.quiet:
        if passed:
            print(i18n.t("uses_mine", mine=mine))
        else:
            print(i18n.t("uses_reference", ref=ref, mine=mine))
    return student_fn if passed else reference_fn
