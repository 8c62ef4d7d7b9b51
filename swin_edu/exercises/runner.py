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
import importlib
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
           "PRACTICE_SEED", "whose", "reference_name", "resolve_name"]

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
        result.checker_broke = True
    if result.status != "passed" and not getattr(result, "checker_broke", False):
        result.message = ask_for_hints(ex, result.message)
    if callable(fn):
        _LAST[id(fn)] = (fn, result)
    if not settings.quiet:
        print(result.message)
    if result.passed and not settings.quiet:
        _remember(ex, fn)
    return result


def ask_for_hints(ex: Exercise, message: str) -> str:
    """``message`` of a failed or unsolved check, ending with the line that says how to ask for a hint
    (``check.<name>.hint()``), in the language in force; unchanged when it already says so or when the exercise
    has no hints."""
    help_lines = dx.more_help(ex)
    if not help_lines or help_lines[0] in message:
        return message
    return message.rstrip("\n") + "\n   " + help_lines[0]


def _remember(ex: Exercise, fn: Any) -> None:
    """A passed answer defined in a notebook is the learner's from now on (:mod:`swin_edu.learner`: this kernel
    and ``my_swin.py``); whatever goes wrong there, the check's verdict stands."""
    try:
        from .. import learner

        learner.record(ex, fn, recheck=_quiet_check)
    except Exception:  # noqa: BLE001, S110 - remembering is a service, never a reason for a check to fail
        pass


def _quiet_check(ex: Exercise, fn: Any) -> CheckResult:
    """The self-check of ``ex`` on ``fn``, printing nothing (the learner's thread checks an answer cell run alone)."""
    quiet = settings.quiet
    settings.quiet = True
    try:
        return run_check(ex, fn)
    finally:
        settings.quiet = quiet


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


#: the names that the course's notebooks give the package's modules (``from swin_edu import numpy_ref as snp``):
#: a name printed with one of them is expanded to the full path, which resolves everywhere
COURSE_ALIASES = {"snp": "swin_edu.numpy_ref"}


def resolve_name(dotted: str) -> Any:
    """The object that the dotted name ``dotted`` names: the longest importable module prefix, then attributes
    (``swin_edu.numpy_ref.window_partition``, ``swin_edu.exercises.nb01.patch_pixel_reference``). A name that
    starts with a course alias (:data:`COURSE_ALIASES`, e.g. ``snp.``) is read with the alias expanded. Raises
    ``LookupError`` naming the part that does not exist."""
    if not isinstance(dotted, str) or not dotted:
        raise TypeError(f"swin_edu.exercises.resolve_name: dotted must be a non-empty str, got {dotted!r}")
    head, _, rest = dotted.partition(".")
    if head in COURSE_ALIASES:
        dotted = COURSE_ALIASES[head] + ("." + rest if rest else "")
    parts = dotted.split(".")
    obj, i = None, len(parts)
    while i > 0:
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            break
        except ImportError:
            i -= 1
    if obj is None:
        raise LookupError(f"{dotted!r}: no module {parts[0]!r}")
    for j in range(i, len(parts)):
        if not hasattr(obj, parts[j]):
            raise LookupError(f"{dotted!r}: {'.'.join(parts[:j])} has no attribute {parts[j]!r}")
        obj = getattr(obj, parts[j])
    return obj


def _names(dotted: str, obj: Any) -> bool:
    try:
        return resolve_name(dotted) is obj
    except (LookupError, TypeError):
        return False


def reference_name(fn: Any, name: Optional[str] = None) -> str:
    """A dotted name of ``fn`` that resolves (:func:`resolve_name`) from anywhere: ``name`` when it names ``fn``
    (course aliases expanded), else the shortest public path of ``fn`` (``swin_edu.numpy_ref.window_partition``
    rather than ``swin_edu.numpy_ref.windows.window_partition``), else ``name`` expanded when it resolves (a
    lambda around a package function), else ``name`` or ``fn``'s own name (tests hold the course to the first
    three)."""
    full = None
    if name:
        head, _, rest = name.partition(".")
        full = COURSE_ALIASES[head] + "." + rest if head in COURSE_ALIASES and rest else name
        if _names(full, fn):
            return full
    module, qual = getattr(fn, "__module__", None) or "", getattr(fn, "__qualname__", "") or ""
    if module and qual and "<" not in qual:
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i]) + "." + qual
            if _names(candidate, fn):
                return candidate
    if full:  # e.g. a lambda around the function that ``name`` names
        try:
            resolve_name(full)
            return full
        except LookupError:
            pass
    return name or qual or getattr(fn, "__name__", "reference")


#: the learner's functions (and classes) that :func:`use_or_reference` chose, by id: (object, passed)
_CHOSEN: dict[int, tuple[Any, bool]] = {}


def _is_mine(fn: Any) -> bool:
    entry = _CHOSEN.get(id(fn))
    if entry is not None and entry[0] is fn:
        return entry[1]
    if (getattr(fn, "__module__", None) or "").startswith("swin_edu"):
        return False  # the package's own functions are the reference, even after a demo checked them
    res = last_result(fn)
    return bool(res) if res is not None else False


#: the things :func:`whose` names most often, so that a notebook's code can say ``whose(f, "formula")`` in English
#: and the Chinese edition still reads Chinese
WHOSE_NOUNS = {"function": Text("function", "函数"), "formula": Text("formula", "公式"),
               "model": Text("model", "模型"), "module": Text("module", "模块"), "logits": Text("logits", "logits"),
               "count": Text("count", "计数"), "offsets": Text("offsets", "偏移")}


def whose(fn: Any, what: str = Text("function", "函数")) -> str:
    """Whose work ``fn`` is, in words for a printout: ``"your formula"`` when ``fn`` is the learner's and passed
    its self-check (as :func:`use_or_reference` chose it), else ``"the reference formula"``; in the language in
    force. ``what`` names the thing: a :class:`~swin_edu.i18n.Text` for both languages, or a ``str`` (the words of
    :data:`WHOSE_NOUNS` are translated, others printed as they are). Use it
    wherever a notebook prints a result that may come from the reference: never "your" before a pass.

    >>> whose(len, "formula")
    'the reference formula'
    """
    if not isinstance(what, str):
        raise TypeError(f"swin_edu.exercises.whose: what must be a str, got {type(what).__name__}")
    what = WHOSE_NOUNS.get(what, what)
    return i18n.t("whose.mine" if _is_mine(fn) else "whose.reference", what=i18n.text(what)).strip()


def use_or_reference(student_fn: Callable, reference_fn: Callable, passed: Any = None, *,
                     name: Optional[str] = None, quiet: bool = False) -> Callable:
    """Return the student's function if it passed its self-check, otherwise the reference, and say which.

    ``passed`` may be a bool or a :class:`CheckResult`; by default the latest check of ``student_fn``
    decides. The message names the reference by a dotted name that resolves (:func:`reference_name`;
    ``name``, when given, is used if it names ``reference_fn``). :func:`whose` then tells later printouts whose
    function ran.
    """
    if not callable(reference_fn):
        raise TypeError(f"reference_fn must be a function, got {type(reference_fn).__name__}")
    if passed is None:
        res = last_result(student_fn)
        passed = bool(res) if res is not None else False
    passed = bool(passed)
    _CHOSEN[id(student_fn)] = (student_fn, passed)
    mine = getattr(student_fn, "__name__", "your function")
    ref = reference_name(reference_fn, name)
    if not quiet and not settings.quiet:
        if passed:
            print(i18n.t("uses_mine", mine=mine))
        else:
            print(i18n.t("uses_reference", ref=ref, mine=mine))
    return student_fn if passed else reference_fn
