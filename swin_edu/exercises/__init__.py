"""Self-checks for the course's exercises.

In a notebook::

    from swin_edu.exercises import check, use_or_reference

    def window_partition_mine(x, M):
        ...                                   # the student's answer

    check.window_partition(window_partition_mine)        # prints "passed" or what went wrong
    window_partition = use_or_reference(window_partition_mine, snp.window_partition)

A check never raises in normal use (so "Run all" goes on); an unsolved exercise (the function still
raises ``NotImplementedError``) reports "not solved yet" and later cells fall back to the reference
implementation through :func:`use_or_reference`. While nbgrader grades (``NBGRADER_EXECUTION`` is
set) a failed or unsolved check raises :class:`CheckFailed` with the same friendly message.
"""
from . import check
from ._core import CheckFailed, CheckResult, last_result, settings, use_or_reference
from .check import EXERCISES

__all__ = ["check", "use_or_reference", "last_result", "CheckResult", "CheckFailed", "settings", "EXERCISES"]
