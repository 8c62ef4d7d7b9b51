"""One self-check per exercise of the course: ``check.<name>(your_function)``.

Each check runs your function on a few small public cases (``hidden=True``: also practice versions of
the kinds of case the grader hides, drawn from a public seed), under a time limit, on copies of the
inputs, and prints either "passed" or one specific message: which case failed, expected vs got, the
first differing element and what that mistake usually is. ``check.<name>.hint()`` reveals the hints
one at a time (a nudge first, then the method; never the code). It returns a
:class:`~swin_edu.exercises.CheckResult` (truthy when passed) and never raises. It is practice: the
classroom grader runs your answer again, on its own.

>>> from swin_edu.exercises import check
>>> from swin_edu import numpy_ref as snp
>>> bool(check.window_partition(snp.window_partition))  # doctest: +ELLIPSIS
✅ window_partition: passed all 2 cases. Well done!
True
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from .. import i18n
from . import nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb09, training
from .runner import CheckResult, run_check
from .spec import Exercise

#: every exercise of the course, by name (the name of its check function)
EXERCISES: dict[str, Exercise] = {}


#: exercise name -> [how many hint tiers were shown] (the state of ``check.<name>.hint()``)
_SHOWN: dict[str, list] = {}


def reset_hints() -> None:
    """Forget which hint tiers were shown: the next ``check.<name>.hint()`` starts again at the nudge (as in a
    fresh kernel)."""
    for shown in _SHOWN.values():
        shown[0] = 0


def _make(ex: Exercise, notebook: str) -> Callable[..., CheckResult]:
    if ex.name in EXERCISES:
        raise ValueError(f"two exercises are called {ex.name!r}")
    EXERCISES[ex.name] = ex
    ex.notebook = ex.notebook or notebook

    def check_fn(student_fn: Any, *, hidden: bool = False, time_limit: Optional[float] = None) -> CheckResult:
        return run_check(ex, student_fn, hidden=hidden, time_limit=time_limit)

    shown = _SHOWN.setdefault(ex.name, [0])  # how many tiers this student has asked for

    def hint(tier: Optional[int] = None) -> None:
        """Print the next hint (``tier``: that one, from 1): a nudge first, then the method."""
        n = len(ex.hints)
        if not n:
            print(i18n.t("hint.none", name=ex.name))
            return
        if tier is None:
            tier = min(shown[0] + 1, n)
        elif isinstance(tier, bool) or not isinstance(tier, int) or not 1 <= tier <= n:
            print(i18n.t("hint.bad_tier", name=ex.name, n=n, tier=repr(tier)))
            return
        shown[0] = max(shown[0], tier)
        more = i18n.t("hint.more", name=ex.name, next=tier + 1) if tier < n else i18n.t("hint.last")
        print(i18n.t("hint.head", name=ex.name, tier=tier, n=n, more=more) + f"\n   {i18n.text(ex.hints[tier - 1])}")

    check_fn.__name__ = check_fn.__qualname__ = ex.name
    check_fn.hint = hint
    check_fn.__doc__ = (f"Self-check of notebook {notebook}'s exercise: your `{ex.signature}`.\n\n"
                        f"Prints the verdict and returns a CheckResult (truthy when passed). "
                        f"``hidden=True`` also runs practice versions of the grader's hidden cases.")
    check_fn.notebook = notebook
    check_fn.exercise = ex
    return check_fn


# notebook 01: patch partition & linear embedding
patch_pixel = _make(nb01.PATCH_PIXEL, "01")
patch_partition = _make(nb01.PATCH_PARTITION, "01")
conv_to_linear = _make(nb01.CONV_TO_LINEAR, "01")
layer_norm = _make(nb01.LAYER_NORM, "01")
# notebook 02: window attention & complexity
attention = _make(nb02.ATTENTION, "02")
window_partition = _make(nb02.WINDOW_PARTITION, "02")
window_reverse = _make(nb02.WINDOW_REVERSE, "02")
block_macs = _make(nb02.BLOCK_MACS, "02")
# notebook 03: shifted windows & the mask
padded_macs = _make(nb03.PADDED_MACS, "03")
blocked_pairs = _make(nb03.BLOCKED_PAIRS, "03")
region_ids = _make(nb03.REGION_IDS, "03")
mask_from_regions = _make(nb03.MASK_FROM_REGIONS, "03")
sw_msa = _make(nb03.SW_MSA, "03")
# notebook 04: relative position bias
relative_position_index = _make(nb04.RELATIVE_POSITION_INDEX, "04")
row_usage = _make(nb04.ROW_USAGE, "04")
source_offset = _make(nb04.SOURCE_OFFSET, "04")
# notebook 05: Swin block & patch merging
drop_path = _make(nb05.DROP_PATH, "05")
swin_block = _make(nb05.SWIN_BLOCK, "05")
tokens_reached = _make(nb05.TOKENS_REACHED, "05")
vit_block = _make(nb05.VIT_BLOCK, "05")
patch_merging_gather = _make(nb05.PATCH_MERGING_GATHER, "05")
merge_kernel = _make(nb05.MERGE_KERNEL, "05")
# notebook 06: the whole model in numpy
stage_shapes = _make(nb06.STAGE_SHAPES, "06")
block_param_count = _make(nb06.BLOCK_PARAM_COUNT, "06")
swin_forward = _make(nb06.SWIN_FORWARD, "06")
# notebook 07: the PyTorch model
attention_torch = _make(nb07.ATTENTION_TORCH, "07")
window_attention_module = _make(nb07.WINDOW_ATTENTION_MODULE, "07")
swin_block_module = _make(nb07.SWIN_BLOCK_MODULE, "07")
patch_merging_module = _make(nb07.PATCH_MERGING_MODULE, "07")
basic_layer_module = _make(nb07.BASIC_LAYER_MODULE, "07")
student_swin = _make(nb07.STUDENT_SWIN, "07")

# notebook 08: train a tiny Swin
lr_schedule = _make(training.LR_SCHEDULE, "08")
smoothed_cross_entropy = _make(training.SMOOTHED_CROSS_ENTROPY, "08")
train_step = _make(training.TRAIN_STEP, "08")
confusion_matrix = _make(training.CONFUSION_MATRIX, "08")
# notebook 09: the hierarchy at work
fpn_head = _make(nb09.FPN_HEAD, "09")
pixel_cross_entropy = _make(nb09.PIXEL_CROSS_ENTROPY, "09")
mean_iou = _make(nb09.MEAN_IOU, "09")

__all__ = ["EXERCISES", "reset_hints"] + list(EXERCISES)
