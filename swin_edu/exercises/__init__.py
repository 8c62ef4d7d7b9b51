"""Self-checks for the course's exercises.

In a notebook::

    from swin_edu.exercises import check, use_or_reference

    def window_partition_mine(x, M):
        ...                                   # the student's answer

    check.window_partition(window_partition_mine)        # prints "passed" or what went wrong
    window_partition = use_or_reference(window_partition_mine, snp.window_partition)

A check never raises (so "Run all" goes on); an unsolved exercise (the function still raises
``NotImplementedError``) reports "not solved yet" and later cells fall back to the reference
implementation through :func:`use_or_reference`. Checks are practice: grading does not trust them.
The classroom grader (:mod:`swin_edu.classroom`) runs each answer again, in a sandbox, on hidden cases.

Modules: :mod:`.spec` (what an exercise is), :mod:`.diagnostics` (why an output is wrong),
:mod:`.sandbox` (the practice check's time limit), :mod:`.runner` (the practice check itself),
:mod:`.check` (one check per exercise), ``nbNN`` / ``training`` (the exercises of each notebook).
"""
from . import check
from .check import EXERCISES
from .runner import CheckResult, last_result, reference_name, resolve_name, settings, use_or_reference, whose

__all__ = ["check", "use_or_reference", "last_result", "CheckResult", "settings", "EXERCISES", "whose",
           "reference_name", "resolve_name"]
