"""The practice check's guard around a student's function: a time limit, copies of the inputs, the
student's own line in an error.

This is for learning, in the student's own notebook: it keeps "Run all" going when a function loops
forever or raises, and it is no security boundary (the student's code runs in the same process).
Grading does not rely on it: the classroom grader runs each answer in a separate, sandboxed process
(:mod:`swin_edu.classroom.bwrap`).
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from ..i18n import Text

__all__ = ["Outcome", "call_with_time_limit", "user_line"]


class _TimeLimitExceeded(BaseException):
    """Injected into a student's function that runs past its time limit (a BaseException so that a
    student's ``except Exception`` does not swallow it)."""


@dataclass
class Outcome:
    """What one call gave: a value, an exception, or a time-out (``still_running``: the worker thread
    could not be stopped, e.g. it is inside a long C loop)."""

    value: Any = None
    error: Optional[BaseException] = None
    timed_out: bool = False
    still_running: bool = False


def _async_raise(thread: threading.Thread, exc_type: type) -> None:
    tid = thread.ident
    if tid is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(exc_type))


def call_with_time_limit(fn: Callable, args: tuple, kwargs: dict, limit: float) -> Outcome:
    """Call ``fn(*args, **kwargs)`` in a worker thread; stop it (best effort) after ``limit`` seconds."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not (isinstance(limit, (int, float)) and limit > 0):
        raise ValueError(f"limit must be a positive number of seconds, got {limit!r}")
    out = Outcome()

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


def user_line(exc: BaseException) -> str:
    """The deepest line of the traceback that is the student's code (not numpy, not this package), as a
    :class:`~swin_edu.i18n.Text` ("" when there is none)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    skip = (here, os.path.dirname(np.__file__), sys.prefix, getattr(sys, "base_prefix", sys.prefix))
    best = None
    for fr in traceback.extract_tb(exc.__traceback__):
        path = os.path.abspath(fr.filename) if fr.filename else ""
        if fr.filename.startswith("<") or not path.startswith(skip):
            best = fr
    if best is None:
        return ""
    code = (best.line or "").strip()
    shown = f": `{code}`" if code else ""
    return Text(f"line {best.lineno} of your code{shown}", f"你的代码第 {best.lineno} 行" + shown.replace(": ", "：", 1))
