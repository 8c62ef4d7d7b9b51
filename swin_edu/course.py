"""The course's notebooks, in order: the one list that the classroom's assignments and the translations refer to."""
from __future__ import annotations

__all__ = ["NOTEBOOKS"]

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
