"""The classroom flow, end to end, by nbgrader's own machinery in a temporary course directory:
release, submit (a) the solutions, (b) the untouched student version, (c) a partly wrong version,
autograde, feedback."""
import html

import nbformat
import pytest

from swin_edu import classroom
from swin_edu.exercises import check

ASSIGNMENT = "02_window_attention"
NB = f"{ASSIGNMENT}.ipynb"

# (c) solves the attention exercise and gets window_partition wrong (windows read straight off the
# memory layout, without the transpose that gathers each window's rows)
WRONG_PARTITION = '''def window_partition_mine(x, M):
    """(B, H, W, C) -> (num_windows*B, M, M, C), windows in row-major order."""
    return x.reshape(-1, M, M, x.shape[-1])
'''


def _wrong_partition(x, M):
    return x.reshape(-1, M, M, x.shape[-1])


def _cells_by_id(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata
            and "grade_id" in c.metadata["nbgrader"]}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    out = classroom.release(course, ASSIGNMENT)
    source = nbformat.read(course / "source" / ASSIGNMENT / NB, as_version=4)
    student = nbformat.read(out / NB, as_version=4)

    def submit(who, nb):
        d = course / "submitted" / who / ASSIGNMENT
        d.mkdir(parents=True)
        nbformat.write(nb, d / NB)

    submit("alice", source)                       # (a) the solutions
    submit("bob", student)                        # (b) the untouched student version
    partial = nbformat.read(out / NB, as_version=4)
    cells, src_cells = _cells_by_id(partial), _cells_by_id(source)
    cells["nb02_attention_answer"].source = src_cells["nb02_attention_answer"].source
    cells["nb02_window_partition_answer"].source = WRONG_PARTITION
    submit("carol", partial)                      # (c) one right, one wrong, the rest unsolved
    classroom.autograde(course, ASSIGNMENT)
    classroom.generate_feedback(course, ASSIGNMENT)
    return course, classroom.scores(course, ASSIGNMENT), classroom.points(course / "source" / ASSIGNMENT / NB)


def test_release_is_made_by_nbgrader_without_solutions(tmp_path):
    out = classroom.release(tmp_path, ASSIGNMENT)
    text = (out / NB).read_text()
    source = (tmp_path / "source" / ASSIGNMENT / NB).read_text()
    assert "### BEGIN SOLUTION" in source and "### BEGIN HIDDEN TESTS" in source
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text
    nb = nbformat.reads(text, as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(c.metadata["nbgrader"]["locked"] for c in graded)
    # the figures travel inside the released notebook
    assert "../figures/" not in text and any(c.get("attachments") for c in nb.cells)


def test_solutions_get_full_marks(graded):
    _, scores, points = graded
    print(f"\nalice (solutions): {sum(scores['alice'].values()):g} / {sum(points.values()):g}")
    assert scores["alice"] == points and sum(points.values()) > 0


def test_untouched_student_version_gets_zero_on_every_graded_cell(graded):
    _, scores, points = graded
    print(f"\nbob (untouched): {sum(scores['bob'].values()):g} / {sum(points.values()):g}")
    assert set(scores["bob"]) == set(points) and all(v == 0 for v in scores["bob"].values())


def test_partly_wrong_submission_gets_exactly_the_points_of_what_is_right(graded):
    _, scores, points = graded
    expected = {k: (points[k] if k == "nb02_attention_check" else 0.0) for k in points}
    print(f"\ncarol (partly wrong): {sum(scores['carol'].values()):g} / {sum(points.values()):g}")
    assert scores["carol"] == expected


def test_feedback_carries_the_specific_self_check_message(graded):
    course, _, _ = graded
    page = (course / "feedback" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    text = html.unescape(page)
    result = check.window_partition(_wrong_partition)
    assert not result
    # the first line of what the student would have read in the notebook is in the feedback too
    first = next(line for line in result.message.splitlines() if line.strip())
    assert first.strip() in text
    assert "not solved yet" in html.unescape(
        (course / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text())
