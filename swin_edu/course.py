"""The course's notebooks, in order, and the repository's folders: the one place that the classroom's assignments,
the editions, the translations and the figures ask for them (it imports nothing of the package)."""
from __future__ import annotations

from pathlib import Path

__all__ = ["CLASSROOM_DIR", "FIGURES_DIR", "NOTEBOOKS", "REPO_ROOT", "SOURCE_DIR", "STUDENT_DIR"]

#: the folder that holds ``swin_edu/``: a checkout of the course (in an installed wheel it is site-packages, where
#: the folders below do not exist; whoever needs one checks that it is there)
REPO_ROOT = Path(__file__).resolve().parents[1]
#: the nbgrader source of the course (``notebooks/NN_name.ipynb``), the committed student edition, the figures, and
#: the classroom's course folder (``nbgrader_config.py``)
SOURCE_DIR = REPO_ROOT / "notebooks"
STUDENT_DIR = REPO_ROOT / "student"
FIGURES_DIR = REPO_ROOT / "figures"
CLASSROOM_DIR = REPO_ROOT / "classroom"

#: every notebook of the course (the stem of ``notebooks/NN_name.ipynb``), in reading order
NOTEBOOKS: tuple[str, ...] = (
    "00_roadmap",
    "01_patch_embedding",
    "02_window_attention",
    "03_shifted_windows",
    "04_relative_position_bias",
    "05_block_and_merging",
    "06_numpy_model",
    "07_pytorch_model",
    "08_train_tiny_swin",
    "09_hierarchy_at_work",
)
