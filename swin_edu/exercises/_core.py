"""The engine behind every self-check: run a student's function safely and explain what went wrong.

A student's function may raise, loop forever, return the wrong shape, a list, NaN, the wrong dtype,
the transposed result, or modify its input. For each of these the checker prints one specific,
friendly message (what was tested, expected vs got, the first differing element, a hint tied to the
concept) and returns a falsy :class:`CheckResult`. It never lets a traceback escape from inside the
checker, and it never hangs: every call of the student's function runs under a time limit.

While nbgrader grades a notebook (``NBGRADER_EXECUTION`` is set) a failed or unsolved check raises
:class:`CheckFailed` (an ``AssertionError``) carrying the same message, so that the graded cell
scores 0. Set ``SWIN_EDU_STRICT_CHECKS=1`` to get that behaviour outside nbgrader too.
"""
from __future__ import annotations

import copy
import ctypes
import itertools
import math
import numbers
import os
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = [
    "CheckFailed",
    "CheckResult",
    "Case",
    "Exercise",
    "Misconception",
    "run_check",
    "settings",
    "use_or_reference",
    "last_result",
]

_UNSET = object()


class CheckFailed(AssertionError):
    """Raised by a self-check while nbgrader grades (or in strict mode); the message is the feedback."""


class _TimeLimitExceeded(BaseException):
    """Injected into a student's function that runs past its time limit (a BaseException so that a
    student's ``except Exception`` does not swallow it)."""


@dataclass
class Settings:
    """Knobs of the checker. ``time_limit``: seconds allowed for one call of a student's function
    (``SWIN_EDU_CHECK_TIME_LIMIT`` overrides the default); ``quiet``: do not print."""

    time_limit: float = float(os.environ.get("SWIN_EDU_CHECK_TIME_LIMIT", "10"))
    quiet: bool = False


settings = Settings()


def _grading() -> bool:
    return bool(os.environ.get("NBGRADER_EXECUTION")) or os.environ.get("SWIN_EDU_STRICT_CHECKS", "") not in (
        "", "0", "false", "False")


# --------------------------------------------------------------------------------------------- data
@dataclass
class Case:
    """One input of an exercise. ``label`` says in words what is tested; ``expected`` defaults to the
    reference's output on the same input."""

    label: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expected: Any = _UNSET


@dataclass
class Misconception:
    """A typical mistake: ``wrong(*args, **kwargs)`` gives what that mistake returns (or None where it
    does not apply); when the student's output equals it, ``hint`` is shown."""

    hint: str
    wrong: Callable[..., Any]


@dataclass
class Exercise:
    """Everything a check needs to know about one exercise.

    kind: ``"array"`` (numpy array), ``"torch"`` (torch tensor), ``"int"`` (an exact count),
    ``"shape"`` (a predicted tuple of ints; failures never reveal the answer), ``"custom"``
    (``compare`` decides). ``dtype``: ``"same"`` (exactly the expected dtype), ``"kind"`` (the same
    kind: float/int/bool), or None. ``compare(got, expected, case)``: extra or custom comparison that
    returns None when fine, else a list of message lines.
    """

    name: str
    signature: str
    reference: Optional[Callable[..., Any]]
    cases: Callable[[], list]
    hidden_cases: Callable[[], list] = lambda: []
    kind: str = "array"
    dtype: Optional[str] = "same"
    rtol: float = 1e-5
    atol: float = 1e-6
    hint: str = ""
    nan_hint: str = ""
    misconceptions: Sequence[Misconception] = ()
    compare: Optional[Callable[[Any, Any, Case], Optional[list]]] = None
    entry_names: Sequence[str] = ()
    entry_hints: Sequence[str] = ()
    known_answers: dict = field(default_factory=dict)  # for "shape": wrong answer -> hint


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


# ------------------------------------------------------------------------------- running safely
@dataclass
class _Outcome:
    value: Any = None
    error: Optional[BaseException] = None
    timed_out: bool = False
    still_running: bool = False


def _async_raise(thread: threading.Thread, exc_type: type) -> None:
    tid = thread.ident
    if tid is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(exc_type))


def call_with_time_limit(fn: Callable, args: tuple, kwargs: dict, limit: float) -> _Outcome:
    """Call ``fn(*args, **kwargs)`` in a worker thread; stop it (best effort) after ``limit`` seconds."""
    out = _Outcome()

    def target():
        try:
            with np.errstate(all="ignore"):  # NaN and overflow are explained by the check's message
                out.value = fn(*args, **kwargs)
        except _TimeLimitExceeded:
            out.timed_out = True
        except BaseException as e:  # noqa: BLE001 - everything the student's code raises is reported
            out.error = e

    old_stack = None
    try:
        old_stack = threading.stack_size(64 * 1024 * 1024)
    except (ValueError, RuntimeError):  # platforms without a settable stack size
        pass
    try:
        worker = threading.Thread(target=target, name="swin-edu-self-check", daemon=True)
        worker.start()
    finally:
        if old_stack is not None:
            threading.stack_size(old_stack)
    worker.join(limit)
    if worker.is_alive():
        out.timed_out = True
        _async_raise(worker, _TimeLimitExceeded)
        worker.join(2.0)
        out.still_running = worker.is_alive()
        out.value, out.error = None, None
    return out


def _user_line(exc: BaseException) -> str:
    """The deepest line of the traceback that is the student's code (not numpy, not this package)."""
    here = os.path.dirname(os.path.abspath(__file__))
    skip = (here, os.path.dirname(np.__file__), sys.prefix, getattr(sys, "base_prefix", sys.prefix))
    frames = traceback.extract_tb(exc.__traceback__)
    best = None
    for fr in frames:
        path = os.path.abspath(fr.filename) if fr.filename else ""
        if fr.filename.startswith("<") or not path.startswith(skip):
            best = fr
    if best is None:
        return ""
    code = (best.line or "").strip()
    return f"line {best.lineno} of your code" + (f": `{code}`" if code else "")


# ------------------------------------------------------------------------------- describing values
def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "shape")


def _to_numpy_from_torch(x: Any) -> np.ndarray:
    t = x.detach().cpu()
    if str(t.dtype) in ("torch.bfloat16", "torch.float16"):
        t = t.float()
    return t.numpy()


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value: Any) -> str:
    """One line saying what ``value`` is: type, shape and dtype for arrays and tensors."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"numpy array of shape {tuple(value.shape)}, dtype {value.dtype}"
    if _is_torch(value):
        return f"torch.Tensor of shape {tuple(value.shape)}, dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        nested = len(value) and not isinstance(value[0], numbers.Number)
        inner = f" (first item: {describe(value[0])})" if nested else ""
        return f"{type(value).__name__} of length {len(value)}{inner}" if inner else \
            f"{type(value).__name__} {_short(value)}"
    if isinstance(value, (bool, np.bool_)):
        return f"bool {value}"
    if isinstance(value, numbers.Number):
        return f"{type(value).__name__} {value!r}"
    return f"{type(value).__name__} {_short(value)}"


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, (np.integer,)):
        return str(int(v))
    if isinstance(v, (np.bool_,)):
        return str(bool(v))
    return repr(v)


def _index(idx: tuple) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _same_values(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    if a.shape != b.shape:
        return False
    try:
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol,
                                    equal_nan=True))
        return bool(np.array_equal(a, b))
    except (TypeError, ValueError):
        return False


def _as_comparable(value: Any) -> Optional[np.ndarray]:
    """numpy view of an output for misconception matching (None when it is not array-like)."""
    if isinstance(value, np.ndarray):
        return value
    if _is_torch(value):
        return _to_numpy_from_torch(value)
    if isinstance(value, numbers.Number):
        return np.asarray(value)
    return None


# ------------------------------------------------------------------------------- comparisons
def _compare_array(ex: Exercise, got: Any, expected: Any, case: Case, wrongs: list) -> Optional[list]:
    """Lines that explain why ``got`` is not ``expected`` (arrays or tensors), or None if equal."""
    want_torch = ex.kind == "torch"
    exp = _to_numpy_from_torch(expected) if _is_torch(expected) else np.asarray(expected)
    exp_desc = describe(expected)
    if got is None:
        return [f"expected: {exp_desc}", "got:      None",
                "hint: your function returned nothing. Did you forget the `return` statement?"]
    if want_torch:
        if isinstance(got, np.ndarray):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    "hint: this exercise is about the PyTorch model: keep the computation in torch "
                    "(torch.cat, torch.softmax, @) and return a torch.Tensor, not a numpy array."]
        if not _is_torch(got):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    "hint: return a torch.Tensor built with torch operations."]
        got_dtype_str, arr = str(got.dtype), _to_numpy_from_torch(got)
        exp_dtype_str = str(expected.dtype) if _is_torch(expected) else str(exp.dtype)
    else:
        if _is_torch(got):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    "hint: this exercise is pure numpy: use numpy operations and return a numpy array "
                    "(np.ndarray), not a torch tensor."]
        if isinstance(got, (list, tuple)):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    "hint: you returned a Python " + type(got).__name__ + ", not one numpy array. Build the "
                    "result with numpy operations (reshape, transpose, concatenate), or combine the pieces "
                    "with np.stack / np.concatenate before returning."]
        if not isinstance(got, np.ndarray):
            return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                    "hint: return a numpy array (np.ndarray)."]
        arr = got
        got_dtype_str, exp_dtype_str = str(got.dtype), str(exp.dtype)

    lines_head = [f"expected: {exp_desc}", f"got:      {describe(got)}"]

    def hint_for_match() -> Optional[str]:
        for m, w in zip(ex.misconceptions, wrongs, strict=True):
            if w is not None and _same_values(arr, w, ex.rtol, ex.atol):
                return m.hint
        return None

    # --- shape
    if tuple(arr.shape) != tuple(exp.shape):
        lines = lines_head + [f"the shapes differ: expected {tuple(exp.shape)}, got {tuple(arr.shape)}."]
        h = hint_for_match()
        if h:
            return lines + ["hint: " + h]
        if arr.ndim == exp.ndim and sorted(arr.shape) == sorted(exp.shape):
            for perm in itertools.permutations(range(arr.ndim)):
                if tuple(arr.shape[p] for p in perm) == tuple(exp.shape) and \
                        _same_values(arr.transpose(perm), exp, ex.rtol, ex.atol):
                    return lines + [f"hint: your numbers are right but the axes are in another order: "
                                    f"your result transposed with axes {perm} would match. Check which axis "
                                    f"is which: the expected layout is {tuple(exp.shape)}."]
        if arr.size == exp.size and arr.size and _same_multiset(arr, exp, ex):
            return lines + ["hint: all the right numbers are there, in the wrong shape. A reshape alone "
                            "cannot move elements between axes: split the axes, transpose, then reshape."
                            + (" " + _cap(ex.hint) if ex.hint else "")]
        return lines + (["hint: " + ex.hint] if ex.hint else [])

    # --- dtype
    if ex.dtype is not None:
        bad = False
        gk, ek = arr.dtype.kind, exp.dtype.kind
        if ex.dtype == "same":
            bad = got_dtype_str != exp_dtype_str
        elif ex.dtype == "kind":
            kind = lambda k: {"f": "float", "c": "float", "i": "int", "u": "int", "b": "bool"}.get(k, k)  # noqa
            bad = kind(gk) != kind(ek)
        if bad:
            lines = lines_head + [f"the dtype differs: expected {exp_dtype_str}, got {got_dtype_str}."]
            if gk == "b":
                lines.append("hint: you returned booleans; the expected values are numbers "
                             "(use np.where(condition, a, b) or .astype(...)).")
            elif ek in "iu" and gk == "f":
                lines.append("hint: this result is used as an index, so it must hold integers: keep the "
                             "arithmetic in integers or finish with .astype(np.int64).")
            elif ek == "f" and gk in "iu":
                lines.append("hint: integer arithmetic lost the fractions: work in floating point.")
            else:
                lines.append(f"hint: keep the dtype of the input ({exp_dtype_str}): a new array made with "
                             f"np.zeros(...) or np.array(...) is float64 unless you pass dtype=x.dtype, and "
                             f"mixing in float64 constants or arrays upcasts the result.")
            return lines

    # --- NaN / inf
    if arr.dtype.kind in "fc":
        exp_float = exp.dtype.kind in "fc"
        bad_nan = np.isnan(arr) & ~np.isnan(exp.astype(np.float64)) if exp_float else np.isnan(arr)
        if bad_nan.any():
            idx = tuple(np.argwhere(bad_nan)[0])
            h = hint_for_match()
            return lines_head + [
                f"your result contains NaN ({int(bad_nan.sum())} of {arr.size} elements), the first at index "
                f"{_index(idx)} where {_fmt(exp[idx])} was expected.",
                "hint: " + (h or ex.nan_hint or "NaN comes from 0/0, inf - inf, or exp() of a huge number; "
                            "look for a division or an exp without a guard.")]
        bad_inf = np.isinf(arr) & ~np.isinf(exp.astype(np.float64)) if exp_float else np.isinf(arr)
        if bad_inf.any():
            idx = tuple(np.argwhere(bad_inf)[0])
            h = hint_for_match()
            return lines_head + [f"your result contains infinite values, the first at index {_index(idx)} "
                                 f"where {_fmt(exp[idx])} was expected.",
                                 "hint: " + (h or ex.nan_hint or
                                             "look for a division by zero or an overflow.")]

    # --- values
    if _same_values(arr, exp, ex.rtol, ex.atol):
        if ex.compare is not None:
            return ex.compare(got, expected, case)
        return None
    a64, e64 = arr.astype(np.float64), exp.astype(np.float64)
    close = np.isclose(a64, e64, rtol=ex.rtol, atol=ex.atol, equal_nan=True)
    idx = tuple(np.argwhere(~close)[0]) if arr.ndim else ()
    n_bad = int((~close).sum())
    where = f"at index {_index(idx)}" if idx else ""
    lines = lines_head + [f"the values differ: first difference {where}: expected {_fmt(exp[idx])}, got "
                          f"{_fmt(arr[idx])} ({n_bad} of {arr.size} elements differ)."]
    h = hint_for_match()
    if h:
        return lines + ["hint: " + h]
    if arr.ndim >= 2:
        for perm in itertools.permutations(range(arr.ndim)):
            if perm != tuple(range(arr.ndim)) and tuple(exp.shape[p] for p in perm) == tuple(exp.shape) and \
                    _same_values(arr, exp.transpose(perm), ex.rtol, ex.atol):
                return lines + [f"hint: your result is the expected one transposed (axes {perm}): two "
                                f"axes of the same length are swapped."
                                + (" " + _cap(ex.hint) if ex.hint else "")]
    if _same_multiset(arr, exp, ex):
        return lines + ["hint: all the right numbers are there, but some are in the wrong places (the order "
                        "of the elements is wrong)." + (" " + _cap(ex.hint) if ex.hint else "")]
    return lines + (["hint: " + ex.hint] if ex.hint else [])


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _same_multiset(a: np.ndarray, b: np.ndarray, ex: Exercise) -> bool:
    if a.size != b.size or a.size < 2:
        return False
    try:
        sa, sb = np.sort(a.astype(np.float64).ravel()), np.sort(b.astype(np.float64).ravel())
    except (TypeError, ValueError):
        return False
    if not np.allclose(sa, sb, rtol=ex.rtol, atol=ex.atol, equal_nan=True):
        return False
    # a rearrangement only means something when the values are not all alike
    return len(np.unique(sb)) > 1


def _is_int(v: Any) -> bool:
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _compare_int(ex: Exercise, got: Any, expected: int, case: Case, wrongs: list) -> Optional[list]:
    if got is None:
        return [f"expected: the int {expected:,}", "got:      None",
                "hint: your function returned nothing. Did you forget the `return` statement?"]
    if not _is_int(got):
        if isinstance(got, (float, np.floating)) and math.isfinite(float(got)) and float(got) == expected:
            return [f"expected: the int {expected:,}",
                    f"got:      {describe(got)} (the right value as a float)",
                    "hint: a count is an exact integer: avoid `/` (true division gives a float), use `//` "
                    "or integer arithmetic, or wrap the result in int()."]
        return [f"expected: the int {expected:,}", f"got:      {describe(got)}",
                "hint: return a Python int (the count itself)."]
    got = int(got)
    if got == expected:
        return None
    lines = [f"expected: {expected:,}", f"got:      {got:,}"]
    for m, w in zip(ex.misconceptions, wrongs, strict=True):
        if w is not None and _is_int(w) and int(w) == got:
            return lines + ["hint: " + m.hint]
    if expected and got == 2 * expected:
        return lines + ["hint: you got exactly twice the answer: did you count FLOPs (a multiply and an add) "
                        "instead of multiply-accumulates?"]
    return lines + (["hint: " + ex.hint] if ex.hint else [])


def _compare_shape(ex: Exercise, got: Any, expected: tuple, case: Case, wrongs: list) -> Optional[list]:
    """Predictions: say which entry is wrong, never what the answer is."""
    n = len(expected)
    names = list(ex.entry_names) or [f"entry {i}" for i in range(n)]
    if got is None:
        return ["got: None", "hint: your function must return your prediction, e.g. `return (1, 2, 3)`."]
    if isinstance(got, np.ndarray) or _is_torch(got):
        return [f"got: {describe(got)}",
                f"hint: return the prediction itself as a tuple of {n} ints, not an array."]
    if not isinstance(got, (tuple, list)) and not (hasattr(got, "__len__") and hasattr(got, "__iter__")):
        return [f"got: {describe(got)}", f"hint: return a tuple of {n} values: ({', '.join(names)})."]
    got = tuple(got)
    if len(got) != n:
        return [f"got: {_short(got)} ({len(got)} entries)",
                f"hint: the prediction has {n} entries: ({', '.join(names)})."]
    norm = []
    for v in got:
        if isinstance(v, (tuple, list)):
            v = tuple(int(x) if _is_int(x) else x for x in v)
        elif _is_int(v):
            v = int(v)
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        norm.append(v)
    got = tuple(norm)
    if got == tuple(expected):
        return None
    lines = [f"your prediction: {got}"]
    if got in ex.known_answers:
        return lines + ["hint: " + ex.known_answers[got]]
    wrong_entries = [i for i in range(n) if got[i] != expected[i]]
    lines.append("to fix: " + ", ".join(f"{names[i]} (you said {got[i]})" for i in wrong_entries) + ".")
    hints = [ex.entry_hints[i] for i in wrong_entries if i < len(ex.entry_hints) and ex.entry_hints[i]]
    if hints:
        lines.append("hint: " + " ".join(dict.fromkeys(hints)))
    elif ex.hint:
        lines.append("hint: " + ex.hint)
    return lines


def _mutated(before: Any, after: Any, path: str = "") -> Optional[str]:
    """The name of the first input that changed, or None."""
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or before.shape != after.shape:
            return path or "an input"
        if not np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"):
            return path or "an input"
        return None
    if _is_torch(before):
        b, a = _to_numpy_from_torch(before), _to_numpy_from_torch(after)
        if b.shape != a.shape or not np.array_equal(b, a, equal_nan=b.dtype.kind in "fc"):
            return path or "an input"
        return None
    if isinstance(before, dict):
        if not isinstance(after, dict) or set(before) != set(after):
            return path or "a dict input"
        for k in before:
            r = _mutated(before[k], after[k], f"{path}[{k!r}]")
            if r:
                return r
        return None
    if isinstance(before, (list, tuple)):
        if not isinstance(after, (list, tuple)) or len(before) != len(after):
            return path or "a list input"
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            r = _mutated(b, a, f"{path}[{i}]")
            if r:
                return r
    return None


# ------------------------------------------------------------------------------- the check
_LAST: dict[int, tuple[Callable, CheckResult]] = {}


def _param_names(signature: str) -> list[str]:
    inside = signature[signature.find("(") + 1: signature.rfind(")")]
    return [p.split("=")[0].strip() for p in inside.split(",") if p.strip()]


def _arg_names(ex: Exercise, n: int) -> list[str]:
    names = _param_names(ex.signature)
    return names[:n] + [f"argument {i}" for i in range(len(names), n)]


def _finish(ex: Exercise, fn: Any, result: CheckResult, raise_on_fail: Optional[bool]) -> CheckResult:
    if callable(fn):
        _LAST[id(fn)] = (fn, result)
    strict = _grading() if raise_on_fail is None else raise_on_fail
    if strict and not result.passed:
        raise CheckFailed(result.message)
    if not settings.quiet:
        print(result.message)
    return result


def run_check(ex: Exercise, fn: Any, *, hidden: bool = False, time_limit: Optional[float] = None,
              raise_on_fail: Optional[bool] = None) -> CheckResult:
    """Run ``fn`` on the exercise's cases (the hidden ones with ``hidden=True``), print the verdict and
    return a :class:`CheckResult`. Never raises, except :class:`CheckFailed` while nbgrader grades."""
    try:
        result = _run(ex, fn, hidden, settings.time_limit if time_limit is None else float(time_limit))
    except Exception as e:  # noqa: BLE001 - a bug in the checker must not look like the student's fault
        result = CheckResult(ex.name, "failed",
                             f"❌ {ex.name}: the checker itself could not finish ({type(e).__name__}: {e}). "
                             f"This is not your fault; please report it. Your function was not graded.")
    return _finish(ex, fn, result, raise_on_fail)


def _run(ex: Exercise, fn: Any, hidden: bool, limit: float) -> CheckResult:
    title = f"{ex.name}" + (" (hidden tests)" if hidden else "")
    if not callable(fn):
        return CheckResult(ex.name, "failed",
                           f"❌ {title}: expected your function `{ex.signature}`, got {describe(fn)}.\n"
                           f"   hint: pass the function itself, without calling it (no parentheses).")
    cases = (ex.hidden_cases() if hidden else []) or ex.cases()
    total = len(cases)
    for i, case in enumerate(cases, 1):
        pristine = copy.deepcopy((case.args, case.kwargs))
        call_args, call_kwargs = copy.deepcopy((case.args, case.kwargs))
        if case.expected is not _UNSET:
            expected = case.expected
        else:
            ref_args, ref_kwargs = copy.deepcopy((case.args, case.kwargs))
            expected = ex.reference(*ref_args, **ref_kwargs)
        head = f"❌ {title}: case {i} of {total} failed — {case.label}"
        outcome = call_with_time_limit(fn, call_args, call_kwargs, limit)
        if outcome.timed_out:
            extra = ("\n   (it is still running in the background; if the notebook gets slow, restart the "
                     "kernel)") if outcome.still_running else ""
            return CheckResult(ex.name, "failed",
                               f"{head}\n   your function did not finish within {limit:g} s.\n"
                               f"   hint: is there a loop whose condition never changes, or a function that "
                               f"calls itself without end? The cases are small: the answer takes well under "
                               f"a second.{extra}", case.label, total)
        if outcome.error is not None:
            err = outcome.error
            if isinstance(err, NotImplementedError) and i == 1:
                fn_name = getattr(fn, "__name__", ex.signature)
                return CheckResult(ex.name, "unsolved",
                                   f"⏳ {ex.name}: not solved yet — `{fn_name}` "
                                   f"still raises NotImplementedError. Replace `raise NotImplementedError()` "
                                   f"with your code and run this check again.", case.label, total)
            where = _user_line(err)
            msg = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            hint = "read the error above; print the shapes of your intermediate arrays to find the step " \
                   "that goes wrong."
            if isinstance(err, TypeError) and ("argument" in str(err) or "positional" in str(err)):
                hint = f"check your function's signature: it is called as `{ex.signature}`."
            elif isinstance(err, RecursionError):
                hint = "your function calls itself without end (did you call your own function instead " \
                       "of the numpy one?)."
            elif isinstance(err, NameError):
                hint = "a name is not defined: did you run the cell that defines it, or mistype it?"
            lines = [head, f"   your function raised {msg}" + (f" (at {where})" if where else ""),
                     f"   hint: {hint}"]
            return CheckResult(ex.name, "failed", "\n".join(lines), case.label, total)
        changed = _mutated(pristine, (call_args, call_kwargs))
        if changed:
            arg = changed
            names = _arg_names(ex, len(case.args))
            if changed.startswith("[0]["):
                j = int(changed[4:changed.index("]", 4)])
                arg = f"`{names[j]}`" + changed[changed.index("]", 4) + 1:] if j < len(names) else changed
            return CheckResult(ex.name, "failed",
                               f"{head}\n   your function modified its input {arg} in place.\n"
                               f"   hint: the caller still needs its input unchanged. Avoid in-place updates "
                               f"(`x += ...`, `x[...] = ...`, `np.random.shuffle(x)`) on the input or on a "
                               f"view of it; work on a copy (`x = x.copy()`) or build a new array.",
                               case.label, total)
        wrongs = []
        for m in ex.misconceptions:
            try:
                a, k = copy.deepcopy((case.args, case.kwargs))
                w = m.wrong(*a, **k)
                wrongs.append(_as_comparable(w) if ex.kind in ("array", "torch") else w)
            except Exception:  # noqa: BLE001 - a mistake that does not apply to this case
                wrongs.append(None)
        if ex.kind in ("array", "torch"):
            lines = _compare_array(ex, outcome.value, expected, case, wrongs)
        elif ex.kind == "int":
            lines = _compare_int(ex, outcome.value, int(expected), case, wrongs)
        elif ex.kind == "shape":
            lines = _compare_shape(ex, outcome.value, tuple(expected), case, wrongs)
        else:
            lines = ex.compare(outcome.value, expected, case)
        if lines:
            if ex.kind == "shape":
                head = f"❌ {title}: not right yet — {case.label}"
            return CheckResult(ex.name, "failed", head + "\n" + "\n".join("   " + ln for ln in lines),
                               case.label, total)
    what = ("your prediction is right" if ex.kind == "shape" else
            f"passed all {total} cases" if total > 1 else "passed")
    return CheckResult(ex.name, "passed", f"✅ {title}: {what}. Well done!", None, total)


# ------------------------------------------------------------------------------- after the check
def last_result(student_fn: Callable) -> Optional[CheckResult]:
    """The latest :class:`CheckResult` of ``student_fn`` (None if it was never checked)."""
    entry = _LAST.get(id(student_fn))
    return entry[1] if entry and entry[0] is student_fn else None


def use_or_reference(student_fn: Callable, reference_fn: Callable, passed: Any = None, *,
                     name: Optional[str] = None, quiet: bool = False) -> Callable:
    """Return the student's function if it passed its self-check, otherwise the reference, and say which.

    ``passed`` may be a bool or a :class:`CheckResult`; by default the latest check of ``student_fn``
    decides (so this works even when the check cell raised under nbgrader).
    """
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
            print(f"→ From here on this notebook uses your `{mine}`.")
        else:
            print(f"→ From here on this notebook uses the reference `{ref}` "
                  f"(your `{mine}` has not passed its self-check yet).")
    return student_fn if passed else reference_fn
