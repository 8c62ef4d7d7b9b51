"""Classroom tooling: the student release and grading an instructor can trust, by nbgrader's own machinery.

:mod:`.course` (assignments, release, grading a class, the command line), :mod:`.autograder` (the grading
data made at release time, kept in the course folder), :mod:`.grading` (the sandboxed phases and the
nbgrader preprocessors), :mod:`.verdict` (one graded cell), :mod:`.bwrap` (the sandbox), :mod:`.child` and
:mod:`.codec` (what runs inside it), :mod:`.stubs` (package copies without the references).
"""

from .course import (
    ASSIGNMENTS,
    REPO_ROOT,
    EmbedFigures,
    assignment_notebooks,
    autograde,
    build_source,
    generate_feedback,
    grade_class,
    main,
    make_autograder,
    nbgrader_api,
    points,
    prepare_course,
    rehearse,
    release,
    run_nbgrader,
    scores,
    students,
)
from .grading import DeduplicateGradeIds, RestoreGradeCells, SandboxedExecute

__all__ = [
    "ASSIGNMENTS",
    "REPO_ROOT",
    "EmbedFigures",
    "DeduplicateGradeIds",
    "RestoreGradeCells",
    "SandboxedExecute",
    "assignment_notebooks",
    "autograde",
    "build_source",
    "generate_feedback",
    "grade_class",
    "main",
    "make_autograder",
    "nbgrader_api",
    "points",
    "prepare_course",
    "rehearse",
    "release",
    "run_nbgrader",
    "scores",
    "students",
]
