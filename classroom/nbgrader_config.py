# nbgrader configuration of the swin-edu course. This folder is the nbgrader course root:
#   source/<assignment>/*.ipynb     filled from ../notebooks by `make student` (one source of truth)
#   release/<assignment>/*.ipynb    the student version, made by `nbgrader generate_assignment`
#   autograder/<assignment>/        the grading data made at release: secret seed, hidden inputs, expected
#                                   outputs (only here: never in the package, never given to students)
#   grader_runs/<assignment>/<student>/   results and full logs of the sandboxed grading
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

# Grading: no student code runs in nbgrader's process. Autograde keeps nbgrader's own sanitizing (graded
# cells restored from the release, their grading metadata too) and bookkeeping (SaveAutoGrades, late
# penalties), but its kernel step is replaced by SandboxedExecute: every graded cell's output is the verdict
# computed outside the student's process (the answer cell runs in a bubblewrap sandbox on hidden cases), and
# the other cells get the outputs of a sandboxed run of the notebook. See docs/instructor.md.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "swin_edu.classroom.DeduplicateGradeIds",  # nbgrader's DeduplicateIds breaks OverwriteCells on a copied cell
    "nbgrader.preprocessors.OverwriteKernelspec",
    "swin_edu.classroom.RestoreGradeCells",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "swin_edu.classroom.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.OverwriteCells.add_missing_cells = True  # a deleted graded cell is put back and graded (from the answer)
# Limits of the sandboxed grading (python -m swin_edu.classroom grade --help overrides some per run)
c.SandboxedExecute.verdict_timeout = 60.0       # seconds for all the cases of one graded cell
c.SandboxedExecute.cell_timeout = 300.0         # seconds for one cell of the notebook's run
c.SandboxedExecute.verdict_memory_mib = 2048
c.SandboxedExecute.kernel_memory_mib = 4096
c.SandboxedExecute.cell_output = 100_000        # bytes of output kept per cell (the rest is left out)
c.SandboxedExecute.notebook_output = 5_000_000  # bytes of output kept per notebook
c.SandboxedExecute.workers = 0                  # parallel sandboxes of `classroom grade` (0: one per core)
c.SandboxedExecute.allow_unsandboxed = False    # never run submissions without bubblewrap
# The budget of one submitted notebook (the feedback says what was left out):
c.SandboxedExecute.notebook_timeout = 900.0     # seconds for its whole run (all cells, kernel restarts included)
c.SandboxedExecute.max_cells = 400              # cells kept (the assignment's own cells always)
c.SandboxedExecute.max_files = 200              # files of the submission folder that its run sees
# Feedback pages show the students' own markdown and outputs: keep scripts out of them. (nbgrader's feedback and
# formgrade templates do not apply this; SandboxedExecute cleans the autograded notebook itself: a student's
# markdown and raw cells are shown as text. See swin_edu/classroom/sanitize.py.)
c.HTMLExporter.sanitize_html = True
