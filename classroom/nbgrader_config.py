# nbgrader configuration of the swin-edu course. This folder is the nbgrader course root:
#   source/<assignment>/*.ipynb     filled from ../notebooks by `make student` (one source of truth)
#   release/<assignment>/*.ipynb    the student version, made by `nbgrader generate_assignment`
#   submitted/<student>/<assignment>/, autograded/, feedback/, gradebook.db: nbgrader's own
# Run nbgrader commands from this folder (cd classroom && nbgrader autograde shift-and-mask), with the
# course's virtual environment active (its bin/ must be on PATH: nbgrader runs alembic from there).
import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "swin-edu"
c.CourseDirectory.root = here
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")

# The stub that replaces each solution region in the student version. A check of an unsolved exercise
# reports "not solved yet"; the notebook goes on with the reference implementation.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The student version embeds the course figures (../figures/*.png) as attachments, so that a released
# notebook is self-contained wherever it is opened.
c.GenerateAssignment.preprocessors = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearSolutions",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
    "swin_edu.classroom.EmbedFigures",
]
# (EmbedFigures reads the repository's figures/ folder; set c.EmbedFigures.figures_dir to use another one)

# Grading executes whole notebooks: give slow cells (model forward passes) time.
c.Execute.timeout = 600
c.ExecutePreprocessor.timeout = 600
