"""Comparison of plain-Python answers (a tuple, a list of ints, a float) for ``kind="custom"`` exercises.

The engine compares arrays and ints itself and matches them against the misconceptions. Answers that
are a tuple, a list or a float go through ``Exercise.compare``; :func:`value_compare` builds that
function: it checks the type, compares the value, and names the misconception whose output the
student's answer equals (one that gives the right answer on this case is skipped), like the engine does.
"""
from __future__ import annotations

import copy
import math
import numbers
from typing import Any, Callable, Optional

import numpy as np

from .diagnostics import NO_RETURN, describe, more_help

__all__ = ["value_compare", "same_float", "same_ints", "as_int_tuple", "as_float"]


def as_int_tuple(value: Any) -> Optional[tuple]:
    """``value`` as a tuple of Python ints when it is a tuple/list of integers (numpy ints too), else None."""
    if not isinstance(value, (tuple, list)):
        return None
    out = []
    for v in value:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Integral, np.integer)):
            return None
        out.append(int(v))
    return tuple(out)


def as_float(value: Any) -> Optional[float]:
    """``value`` as a finite float when it is a real number (not a bool), else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def same_ints(a: Any, b: Any) -> bool:
    """Both are sequences of the same integers."""
    ta, tb = as_int_tuple(a), as_int_tuple(b)
    return ta is not None and ta == tb


def same_float(tol: float) -> Callable[[Any, Any], bool]:
    """Equality of two real numbers up to ``tol`` (absolute)."""
    def same(a: Any, b: Any) -> bool:
        fa, fb = as_float(a), as_float(b)
        return fa is not None and fb is not None and abs(fa - fb) <= tol
    return same


def value_compare(exercise: Callable[[], Any], *, same: Callable[[Any, Any], bool],
                  wrong_type: Callable[[Any, Any], Optional[str]], expected_desc: Callable[[Any], str]):
    """The ``compare(got, expected, case)`` of a custom exercise whose answer is a plain value.

    ``exercise()`` returns the Exercise (late, so that the compare can be built before it);
    ``wrong_type(got, expected)`` returns a hint when ``got`` has the wrong type or length (None when
    fine); ``expected_desc(expected)`` describes the expected value without giving it away. Both may
    return a :class:`~swin_edu.i18n.Text` (the message is then in the language in force)."""
    def compare(got: Any, expected: Any, case: Any) -> Optional[list]:
        ex = exercise()
        head = "expected: " + expected_desc(expected)
        if got is None:
            return [head, "got:      None", NO_RETURN]
        bad = wrong_type(got, expected)
        if bad:
            return [head, f"got:      {describe(got)}", "hint: " + bad]
        if same(got, expected):
            return None
        lines = [f"expected: {expected!r}", f"got:      {got!r}"]
        for m in ex.misconceptions:
            try:
                args, kwargs = copy.deepcopy((case.args, case.kwargs))
                with np.errstate(all="ignore"):
                    w = m.wrong(*args, **kwargs)
            except Exception:  # noqa: BLE001 - a mistake that does not apply to this case
                continue
            if w is not None and not same(w, expected) and same(got, w):
                return lines + ["hint: " + m.hint]
        return lines + more_help(ex)
    return compare
