"""Exercises of notebook 08: training a tiny Swin (learning-rate schedule, label smoothing, confusion matrix).

The :class:`Exercise` objects are registered in :mod:`swin_edu.exercises.check` like every other
notebook's: ``check.lr_schedule(fn)``, ``check.smoothed_cross_entropy(fn)``, ``check.confusion_matrix(fn)``.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ._data import between, draw, pick
from .diagnostics import describe, more_help
from .spec import TORCH_PRELUDE, Case, Exercise, Misconception

__all__ = ["CONFUSION_MATRIX", "LR_SCHEDULE", "SMOOTHED_CROSS_ENTROPY"]


# ----------------------------------------------------------------------------- learning-rate schedule
def lr_reference(step, total_steps, warmup_steps, base_lr, min_lr):
    from ..train import lr_at

    return lr_at(step, total_steps, warmup_steps, base_lr, min_lr)


def _cos(step, total, warm, base, low, *, span_from_zero=False, full_period=False, ignore_min=False,
         warm_from_zero=False, no_warmup=False):
    if step < warm and not no_warmup:
        return base * (step if warm_from_zero else step + 1) / warm
    span = total if span_from_zero else max(total - warm, 1)
    t = min(max(step if span_from_zero else step - warm, 0), span) / span
    lo = 0.0 if ignore_min else low
    return lo + (base - lo) * 0.5 * (1.0 + math.cos((2 if full_period else 1) * math.pi * t))


_LR_MISTAKES = [
    (("your warm-up starts at 0: the first step (step=0) would not train at all. Count the step as "
     "step + 1: lr = base_lr * (step + 1) / warmup_steps."), {"warm_from_zero": True}),
    (("the cosine must start when the warm-up ends: use t = (step - warmup_steps) / (total_steps - "
     "warmup_steps), so that lr = base_lr right after the warm-up and min_lr at the end."),
     {"span_from_zero": True}),
    (("your cosine goes down and up again: it should be half a period, 0.5 * (1 + cos(pi * t)), not "
     "cos(2 * pi * t)."), {"full_period": True}),
    ("the schedule ends at 0 instead of min_lr: lr = min_lr + (base_lr - min_lr) * 0.5 * (1 + cos(pi * t)).",
     {"ignore_min": True}),
    ("there is no warm-up: for step < warmup_steps the rate rises linearly, base_lr * (step + 1) / warmup_steps.",
     {"no_warmup": True}),
]


def _lr_compare(got: Any, expected: float, case: Case) -> list | None:
    if got is None:
        return ["expected: a float", "got:      None",
                "hint: your function returned nothing. Did you forget the `return` statement?"]
    zero_dim_array = isinstance(got, np.ndarray) and got.ndim == 0
    one_element_tensor = type(got).__module__.startswith("torch") and hasattr(got, "numel") and got.numel() == 1
    if isinstance(got, np.generic) or zero_dim_array or one_element_tensor:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        return ["expected: a float (the learning rate of this step)", f"got:      {describe(got)}",
                "hint: return one number, e.g. `return base_lr * (step + 1) / warmup_steps`."]
    got = float(got)
    if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12):
        return None
    lines = [f"expected: {expected:.6g}", f"got:      {got:.6g}"]
    for hint, flags in _LR_MISTAKES:
        try:
            wrong = _cos(*case.args, **flags)
        except Exception:  # noqa: BLE001, S112 - a mistake that does not apply to this case
            continue
        if not math.isclose(wrong, expected, rel_tol=1e-9) and math.isclose(got, wrong, rel_tol=1e-6, abs_tol=1e-12):
            return lines + ["hint: " + hint]
    return lines + more_help(LR_SCHEDULE)


def _lr_case(step, total=100, warm=10, base=1e-3, low=1e-5, what=""):
    return Case(f"step={step} of total_steps={total}, warmup_steps={warm}, base_lr={base:g}, min_lr={low:g}"
                + (f" ({what})" if what else ""), (step, total, warm, base, low))


def _lr_hidden(rng):
    total, warm = 10 * between(rng, 3, 8), between(rng, 3, 8)
    base, low = float(pick(rng, (1, 2, 5))) * 1e-3, float(pick(rng, (0, 1, 5))) * 1e-5
    return [
        _lr_case(0, total=between(rng, 20, 60), warm=0, base=0.5, low=0.0, what="no warm-up at all"),
        _lr_case(between(rng, warm + 1, total - 1), total=total, warm=warm, base=base, low=low),
        _lr_case(total, total=total, warm=warm, base=base, low=low, what="at total_steps: min_lr"),
        _lr_case(between(rng, 0, warm - 1), total=total, warm=warm, base=base, low=low, what="inside the warm-up"),
    ]


LR_SCHEDULE = Exercise(
    name="lr_schedule",
    signature="lr_schedule_mine(step, total_steps, warmup_steps, base_lr, min_lr)",
    reference=lr_reference,
    kind="custom",
    compare=_lr_compare,
    cases=lambda: [
        _lr_case(0, what="the first step of the warm-up"),
        _lr_case(4, what="inside the warm-up"),
        _lr_case(9, what="the last warm-up step: the peak"),
        _lr_case(10, what="the cosine starts"),
        _lr_case(55, what="half-way through the cosine"),
        _lr_case(80, what="late in the cosine"),
        _lr_case(99, what="the last step"),
    ],
    hidden=_lr_hidden,
    prelude=TORCH_PRELUDE,
    hints=("Two phases: during the warm-up the rate climbs in a straight line up to base_lr; after it, the rate "
           "follows half a cosine wave from base_lr down to min_lr, reached exactly at total_steps.",
           "Warm-up: step k (counting from 0) gets the fraction (k + 1) / warmup_steps of base_lr. After it, "
           "measure the progress t from 0 at the end of the warm-up to 1 at total_steps; cos(pi t) runs from 1 to "
           "-1, so shift and scale it onto the interval from min_lr to base_lr."),
)


# ----------------------------------------------------------------------------- label smoothing
def smoothed_ce_reference(logits, target, smoothing):
    import torch.nn.functional as F

    return F.cross_entropy(logits, target, label_smoothing=smoothing)


def _t(*shape, seed=0, scale=1.0, dtype="float32"):
    import torch

    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(getattr(torch, dtype))


def _labels(n, k, seed=0):
    import torch

    return torch.randint(k, (n,), generator=torch.Generator().manual_seed(seed))


def _ce_other_convention(logits, target, smoothing):
    import torch

    K = logits.shape[-1]
    logp = torch.log_softmax(logits, -1)
    q = torch.full_like(logp, smoothing / (K - 1))
    q.scatter_(-1, target[:, None], 1 - smoothing)
    return -(q * logp).sum(-1).mean()


def _ce_sum(logits, target, smoothing):
    import torch.nn.functional as F

    return F.cross_entropy(logits, target, label_smoothing=smoothing, reduction="sum")


def _ce_plain(logits, target, smoothing):
    import torch.nn.functional as F

    return F.cross_entropy(logits, target) if smoothing else None


def _ce_hidden(rng):
    import torch

    n, k = between(rng, 4, 8), between(rng, 5, 10)
    eps = float(pick(rng, (1, 2, 3))) / 10
    return [
        Case(f"large logits (up to ~200): exp() overflows unless you use log_softmax "
             f"({n} images, {k} classes)",
             (torch.from_numpy(draw(rng, n, k, scale=80.0, dtype=np.float32)),
              torch.from_numpy(rng.integers(0, k, n)), eps)),
        Case("one image, 2 classes, smoothing=0.5",
             (torch.from_numpy(draw(rng, 1, 2, dtype=np.float32)), torch.from_numpy(rng.integers(0, 2, 1)),
              0.5)),
    ]


SMOOTHED_CROSS_ENTROPY = Exercise(
    name="smoothed_cross_entropy",
    signature="smoothed_cross_entropy_mine(logits, target, smoothing)",
    reference=smoothed_ce_reference,
    kind="torch",
    dtype="kind",
    rtol=1e-5, atol=1e-6,
    cases=lambda: [
        Case("a batch of 4 images, 3 classes, smoothing=0.1", (_t(4, 3, seed=1), _labels(4, 3, 1), 0.1)),
        Case("8 images, 10 classes, smoothing=0 (plain cross-entropy)", (_t(8, 10, seed=2), _labels(8, 10, 2), 0.0)),
        Case("8 images, 10 classes, smoothing=0.3", (_t(8, 10, seed=3), _labels(8, 10, 3), 0.3)),
    ],
    hidden=_ce_hidden,
    guards=("torch.nn.functional:cross_entropy?label_smoothing",),
    prelude=TORCH_PRELUDE,
    hints=("It is still a cross-entropy, minus the sum over classes of target times log-probability; only the "
           "target is no longer one-hot.",
           "Per image, the target gives smoothing/K to every class and 1 - smoothing more to the true class (it "
           "sums to 1). Take log-probabilities with a numerically stable log-softmax, weight them by the target, "
           "sum over the classes, negate, and average over the batch."),
    nan_hint="softmax of large logits overflows (exp(200) = inf); torch.log_softmax computes log(softmax) "
             "stably.",
    misconceptions=[
        Misconception("you spread smoothing / (K - 1) over the wrong classes only. The paper's recipe (timm, "
                      "torch's label_smoothing) spreads smoothing / K over *all* K classes, the true one "
                      "included: the true class gets 1 - smoothing + smoothing / K.", _ce_other_convention),
        Misconception("you summed the loss over the batch: average it (.mean()) so that the loss does not "
                      "grow with the batch size.", _ce_sum),
        Misconception("this is the plain cross-entropy: the smoothing was not applied.", _ce_plain),
    ],
)


# ----------------------------------------------------------------------------- confusion matrix
def confusion_reference(preds, labels, num_classes):
    from ..train import confusion_matrix

    return confusion_matrix(preds, labels, num_classes)


def _ints(*vals):
    return np.array(vals, dtype=np.int64)


CONFUSION_MATRIX = Exercise(
    name="confusion_matrix",
    signature="confusion_matrix_mine(preds, labels, num_classes)",
    reference=confusion_reference,
    kind="array",
    dtype=None,  # counts: ints expected, floats with the right values are accepted
    cases=lambda: [
        Case("preds=[0, 1, 1, 2], labels=[0, 1, 2, 2], 3 classes", (_ints(0, 1, 1, 2), _ints(0, 1, 2, 2), 3)),
        Case("every image right: 5 images, 4 classes", (_ints(3, 1, 0, 2, 2), _ints(3, 1, 0, 2, 2), 4)),
        Case("20 random predictions, 5 classes (one class never predicted)",
             (np.random.default_rng(0).integers(0, 4, 20), np.random.default_rng(1).integers(0, 5, 20), 5)),
    ],
    hidden=lambda rng: [
        Case(f"{n} random predictions, {k} classes", (rng.integers(0, k, n), rng.integers(0, k, n), k))
        for n, k in [(between(rng, 60, 120), between(rng, 6, 10))]
    ] + [Case("a single image of class 1 predicted as 0, 2 classes", (_ints(0), _ints(1), 2))],
    guards=("sklearn.metrics:confusion_matrix",),
    prelude=TORCH_PRELUDE,
    hints=("Rows are what each image really is, columns what the model said: the diagonal counts the right "
           "answers.",
           "Start from a K x K table of integer zeros and add one, for every image, at the cell (its true label, "
           "its prediction); each row then sums to the number of images of that class. numpy has an unbuffered "
           "'add at these indices' that does it without a Python loop."),
    misconceptions=[
        Misconception("rows and columns are swapped: C[i, j] counts images of *true* class i predicted as j, "
                      "so index with [label, pred].",
                      lambda p, t, k: confusion_reference(t, p, k)),
        Misconception("a fancy-index assignment `C[labels, preds] += 1` counts repeated pairs only once; use "
                      "np.add.at(C, (labels, preds), 1) or a loop.",
                      lambda p, t, k: _buggy_fancy(p, t, k)),
    ],
)


def _buggy_fancy(p, t, k):
    c = np.zeros((k, k), dtype=np.int64)
    c[np.asarray(t), np.asarray(p)] += 1
    return c
