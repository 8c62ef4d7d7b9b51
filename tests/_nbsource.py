"""Shared by the notebook tests: a cell's source split at nbgrader's solution markers."""
from __future__ import annotations


def split_solution(source: str) -> tuple[list[str], list[str]]:
    """``(inside, outside)``: the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` and the other lines
    (the marker lines themselves in neither)."""
    inside, outside, within = [], [], False
    for line in source.splitlines():
        if "BEGIN SOLUTION" in line:
            within = True
        elif "END SOLUTION" in line:
            within = False
        else:
            (inside if within else outside).append(line)
    return inside, outside
