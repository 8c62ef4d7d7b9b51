"""Exercises of notebook 08: training a tiny Swin (learning-rate schedule, label smoothing, the training step,
confusion matrix).

The :class:`Exercise` objects are registered in :mod:`swin_edu.exercises.check` like every other
notebook's: ``check.lr_schedule(fn)``, ``check.smoothed_cross_entropy(fn)``, ``check.train_step(fn)``,
``check.confusion_matrix(fn)``.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..i18n import Text
from ._data import between, draw, pick
from .diagnostics import NO_RETURN, describe, more_help
from .spec import TORCH_PRELUDE, Case, Exercise, Misconception
from ..demos.train_step import CASE_MAX_NORM, INITIAL_LR, run_train_steps, step_test_config  # noqa: F401 (re-exported)

__all__ = ["CONFUSION_MATRIX", "LR_SCHEDULE", "SMOOTHED_CROSS_ENTROPY", "TRAIN_STEP", "run_train_steps",
           "step_test_config", "train_step_reference"]


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
    ((Text("your warm-up starts at 0: the first step (step=0) would not train at all. Count the step as "
          "step + 1: lr = base_lr * (step + 1) / warmup_steps.",
           "你的预热从 0 开始：第一步（step=0）根本不会训练。把这一步算作 step + 1：lr = base_lr * (step +"
           " 1) / warmup_steps。")), {"warm_from_zero": True}),
    ((Text("the cosine must start when the warm-up ends: use t = (step - warmup_steps) / (total_steps - "
          "warmup_steps), so that lr = base_lr right after the warm-up and min_lr at the end.",
           "余弦要在预热结束时开始：用 t = (step - warmup_steps) / (total_steps - warmup_steps)，"
           "这样预热刚结束时 lr = base_lr，到最后是 min_lr。")),
     {"span_from_zero": True}),
    ((Text("your cosine goes down and up again: it should be half a period, 0.5 * (1 + cos(pi * t)), not "
          "cos(2 * pi * t).",
           "你的余弦降下去又升回来了：应该是半个周期，0.5 * (1 + cos(pi * t))，而不是 cos(2 * pi * t)。")), {"full_period": True}),
    (Text("the schedule ends at 0 instead of min_lr: lr = min_lr + (base_lr - min_lr) * 0.5 * (1 + cos(pi * t)).",
          "学习率调度最后停在 0，而不是 min_lr：lr = min_lr + (base_lr - min_lr) * 0.5 * (1 + cos(pi * t))。"),
     {"ignore_min": True}),
    (Text("there is no warm-up: for step < warmup_steps the rate rises linearly, base_lr * (step + 1) / warmup_steps.",
          "没有预热：step < warmup_steps 时，学习率线性上升，base_lr * (step + 1) / warmup_steps。"),
     {"no_warmup": True}),
]


def _lr_compare(got: Any, expected: float, case: Case) -> list | None:
    if got is None:
        return [Text("expected: a float", "expected: 一个 float"), "got:      None",
                NO_RETURN]
    zero_dim_array = isinstance(got, np.ndarray) and got.ndim == 0
    one_element_tensor = type(got).__module__.startswith("torch") and hasattr(got, "numel") and got.numel() == 1
    if isinstance(got, np.generic) or zero_dim_array or one_element_tensor:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        return [Text("expected: a float (the learning rate of this step)",
                     "expected: 一个 float（这一步的学习率）"), f"got:      {describe(got)}",
                Text("hint: return one number, e.g. `return base_lr * (step + 1) / warmup_steps`.",
                     "hint: 请返回一个数，例如 `return base_lr * (step + 1) / warmup_steps`。")]
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
    label = Text(f"step={step} of total_steps={total}, warmup_steps={warm}, base_lr={base:g}, min_lr={low:g}",
                 f"step={step}（共 total_steps={total}），warmup_steps={warm}，base_lr={base:g}，min_lr={low:g}")
    if what:
        label = label + Text(f" ({what})", f"（{what.zh}）")  # ``what`` is a Text
    return Case(label, (step, total, warm, base, low))


def _lr_hidden(rng):
    total, warm = 10 * between(rng, 3, 8), between(rng, 3, 8)
    base, low = float(pick(rng, (1, 2, 5))) * 1e-3, float(pick(rng, (0, 1, 5))) * 1e-5
    return [
        _lr_case(0, total=between(rng, 20, 60), warm=0, base=0.5, low=0.0, what=Text("no warm-up at all",
                                                                                     "完全没有预热")),
        _lr_case(between(rng, warm + 1, total - 1), total=total, warm=warm, base=base, low=low),
        _lr_case(total, total=total, warm=warm, base=base, low=low, what=Text("at total_steps: min_lr",
                                                                              "在 total_steps 处："
                                                                              "min_lr")),
        _lr_case(between(rng, 0, warm - 1), total=total, warm=warm, base=base, low=low, what=Text("inside the warm-up",
                                                                                                  "预热期间")),
    ]


LR_SCHEDULE = Exercise(
    name="lr_schedule",
    signature="lr_schedule_mine(step, total_steps, warmup_steps, base_lr, min_lr)",
    reference=lr_reference,
    kind="custom",
    compare=_lr_compare,
    cases=lambda: [
        _lr_case(0, what=Text("the first step of the warm-up",
                              "预热的第一步")),
        _lr_case(4, what=Text("inside the warm-up",
                              "预热期间")),
        _lr_case(9, what=Text("the last warm-up step: the peak",
                              "预热的最后一步：峰值")),
        _lr_case(10, what=Text("the cosine starts",
                               "余弦开始")),
        _lr_case(55, what=Text("half-way through the cosine",
                               "余弦走到一半")),
        _lr_case(80, what=Text("late in the cosine",
                               "余弦的后段")),
        _lr_case(99, what=Text("the last step",
                               "最后一步")),
    ],
    hidden=_lr_hidden,
    prelude=TORCH_PRELUDE,
    hints=(Text("Two phases: during the warm-up the rate climbs in a straight line up to base_lr; after it, the rate "
                "follows half a cosine wave from base_lr down to min_lr, reached exactly at total_steps.",
                "分两个阶段：预热期间，学习率沿直线升到 base_lr；之后按半个余弦波从 base_lr 降到 min_lr，"
                "正好在 total_steps 处到达。"),
           Text("Warm-up: step k (counting from 0) gets the fraction (k + 1) / warmup_steps of base_lr. After it, "
                "measure the progress t from 0 at the end of the warm-up to 1 at total_steps; cos(pi t) runs from 1 to "
                "-1, so shift and scale it onto the interval from min_lr to base_lr.",
                "预热：第 k 步（从 0 数起）取 base_lr 的 (k + 1) / warmup_steps。之后，用进度 t 表示从预热"
                "结束（0）到 total_steps（1）走了多少；cos(pi t) 从 1 变到 -1，把它平移、缩放到 min_lr 和 "
                "base_lr 之间的区间上。")),
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
        Case(Text(f"large logits (up to ~200): exp() overflows unless you use log_softmax "
                  f"({n} images, {k} classes)",
                  f"很大的 logits（最大约 200）：不用 log_softmax 的话 exp() 会溢出（{n} 张图像，"
                  f"{k} 个类别）"),
             (torch.from_numpy(draw(rng, n, k, scale=80.0, dtype=np.float32)),
              torch.from_numpy(rng.integers(0, k, n)), eps)),
        Case(Text("one image, 2 classes, smoothing=0.5",
                  "一张图像，2 个类别，smoothing=0.5"),
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
        Case(Text("a batch of 4 images, 3 classes, smoothing=0.1",
                  "一批 4 张图像，3 个类别，smoothing=0.1"), (_t(4, 3, seed=1), _labels(4, 3, 1), 0.1)),
        Case(Text("8 images, 10 classes, smoothing=0 (plain cross-entropy)",
                  "8 张图像，10 个类别，smoothing=0（普通的交叉熵）"), (_t(8, 10, seed=2), _labels(8, 10, 2), 0.0)),
        Case(Text("8 images, 10 classes, smoothing=0.3",
                  "8 张图像，10 个类别，smoothing=0.3"), (_t(8, 10, seed=3), _labels(8, 10, 3), 0.3)),
    ],
    hidden=_ce_hidden,
    guards=("aten::cross_entropy_loss?label_smoothing",),
    prelude=TORCH_PRELUDE,
    hints=(Text("It is still a cross-entropy, minus the sum over classes of target times log-probability; only the "
                "target is no longer one-hot.",
                "它仍然是交叉熵：对所有类别求 目标 乘以 对数概率 之和，再取负；只是目标不再是 one-hot。"),
           Text("Per image, the target gives smoothing/K to every class and 1 - smoothing more to the true class (it "
                "sums to 1). Take log-probabilities with a numerically stable log-softmax, weight them by the target, "
                "sum over the classes, negate, and average over the batch.",
                "对每张图像，目标给每个类别 smoothing/K，再给真实类别额外的 1 - smoothing（总和为 1）。"
                "用数值稳定的 log-softmax 求对数概率，按目标加权，对类别求和，取负，再对整批求平均。")),
    nan_hint=Text("softmax of large logits overflows (exp(200) = inf); torch.log_softmax computes log(softmax) "
                  "stably.",
                  "很大的 logits 做 softmax 会溢出（exp(200) = inf）；torch.log_softmax 能稳定地算出 log(s"
                  "oftmax)。"),
    misconceptions=[
        Misconception(Text("you spread smoothing / (K - 1) over the wrong classes only. The paper's recipe (timm, "
                           "torch's label_smoothing) spreads smoothing / K over *all* K classes, the true one "
                           "included: the true class gets 1 - smoothing + smoothing / K.",
                           "你只把 smoothing / (K - 1) 分给了错误的类别。论文的做法（timm、"
                           "torch 的 label_smoothing）把 smoothing / K 分给*全部* K 个类别，"
                           "包括真实类别：真实类别得到 1 - smoothing + smoothing / K。"), _ce_other_convention),
        Misconception(Text("you summed the loss over the batch: average it (.mean()) so that the loss does not "
                           "grow with the batch size.",
                           "你对整批的损失求了和：要求平均（.mean()），这样损失才不会随 batch 大小增长。"), _ce_sum),
        Misconception(Text("this is the plain cross-entropy: the smoothing was not applied.",
                           "这是普通的交叉熵：没有做标签平滑。"), _ce_plain),
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
        Case(Text("preds=[0, 1, 1, 2], labels=[0, 1, 2, 2], 3 classes",
                  "preds=[0, 1, 1, 2]，labels=[0, 1, 2, 2]，3 个类别"), (_ints(0, 1, 1, 2), _ints(0, 1, 2, 2), 3)),
        Case(Text("every image right: 5 images, 4 classes",
                  "每张图像都对：5 张图像，4 个类别"), (_ints(3, 1, 0, 2, 2), _ints(3, 1, 0, 2, 2), 4)),
        Case(Text("20 random predictions, 5 classes (one class never predicted)",
                  "20 个随机预测，5 个类别（有一个类别从未被预测）"),
             (np.random.default_rng(0).integers(0, 4, 20), np.random.default_rng(1).integers(0, 5, 20), 5)),
    ],
    hidden=lambda rng: [
        Case(Text(f"{n} random predictions, {k} classes",
                  f"{n} 个随机预测，{k} 个类别"), (rng.integers(0, k, n), rng.integers(0, k, n), k))
        for n, k in [(between(rng, 60, 120), between(rng, 6, 10))]
    ] + [Case(Text("a single image of class 1 predicted as 0, 2 classes",
                   "只有一张图像，类别 1 被预测成 0，2 个类别"), (_ints(0), _ints(1), 2))],
    guards=("sklearn.metrics:confusion_matrix", "sklearn.metrics:multilabel_confusion_matrix"),
    prelude=TORCH_PRELUDE,
    hints=(Text("Rows are what each image really is, columns what the model said: the diagonal counts the right "
                "answers.",
                "行是每张图像真正的类别，列是模型给出的类别：对角线数的是答对的。"),
           Text("Start from a K x K table of integer zeros and add one, for every image, at the cell (its true label, "
                "its prediction); each row then sums to the number of images of that class. numpy has an unbuffered "
                "'add at these indices' that does it without a Python loop.",
                "从一张全是整数零的 K x K 表开始，对每张图像，在（它的真实标签，它的预测）"
                "那一格加一；这样每一行的和就是该类别的图像数。numpy 有一个不带缓冲的“在这些下标处相加”，"
                "不用 Python 循环就能做到。")),
    misconceptions=[
        Misconception(Text("rows and columns are swapped: C[i, j] counts images of *true* class i predicted as j, "
                           "so index with [label, pred].",
                           "行和列对调了：C[i, j] 数的是*真实*类别为 i、被预测成 j 的图像，"
                           "所以要用 [label, pred] 索引。"),
                      lambda p, t, k: confusion_reference(t, p, k)),
        Misconception(Text("a fancy-index assignment `C[labels, preds] += 1` counts repeated pairs only once; use "
                           "np.add.at(C, (labels, preds), 1) or a loop.",
                           "花式索引赋值 `C[labels, preds] += 1` 对重复的对只计一次；请用 np.add.at(C, (la"
                           "bels, preds), 1) 或者循环。"),
                      lambda p, t, k: _buggy_fancy(p, t, k)),
    ],
)


def _buggy_fancy(p, t, k):
    c = np.zeros((k, k), dtype=np.int64)
    c[np.asarray(t), np.asarray(p)] += 1
    return c


# ----------------------------------------------------------------------------- the training step
def train_step_reference(model, optimizer, images, labels, lr, smoothing=0.1, max_norm=5.0):
    """One optimizer step of notebook 08's loop: training mode, this step's learning rate in every parameter
    group, forward, label-smoothed cross-entropy over the classes, zero_grad, backward, clip the gradient norm at
    ``max_norm``, AdamW step. Returns the loss (a float)."""
    import torch
    import torch.nn.functional as F

    model.train()
    for group in optimizer.param_groups:
        group["lr"] = lr
    loss = F.cross_entropy(model(images), labels, label_smoothing=smoothing)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


def train_steps_reference(state_dict, images, labels, lrs):
    """The reference of exercise 8.3 (the given function of its answer cell around :func:`train_step_reference`)."""
    return run_train_steps(train_step_reference, state_dict, images, labels, lrs)


def _wrong_step(kind: str):
    """A training step with one classic mistake."""
    import torch
    import torch.nn.functional as F

    if kind == "colleague":  # notebook 08's train_step_colleague: three bugs
        def colleague(model, optimizer, images, labels, lr, smoothing=0.1, max_norm=5.0):
            optimizer.param_groups[0]["lr"] = lr
            loss = F.cross_entropy(model(images), labels, label_smoothing=smoothing)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            return loss.item()
        return colleague

    def step(model, optimizer, images, labels, lr, smoothing=0.1, max_norm=5.0):
        model.train()
        groups = optimizer.param_groups[:1] if kind == "lr_first_group" else optimizer.param_groups
        for group in ([] if kind == "lr_not_set" else groups):
            group["lr"] = lr
        logits = model(images)
        if kind == "wrong_axis":  # the classes are dim 1; the softmax ran over the batch (dim 0)
            logp = torch.log_softmax(logits, dim=0)
            loss = ((1 - smoothing) * -logp.gather(1, labels[:, None]).squeeze(1) - smoothing * logp.mean(1)).mean()
        else:
            loss = F.cross_entropy(logits, labels, label_smoothing=0.0 if kind == "no_smoothing" else smoothing)
        if kind == "step_before_backward":
            optimizer.zero_grad()
            optimizer.step()
            loss.backward()
            return loss.item()
        if kind not in ("no_zero_grad", "zero_after_backward"):
            optimizer.zero_grad()
        loss.backward()
        if kind == "zero_after_backward":
            optimizer.zero_grad()
        if kind not in ("no_clip", "clip_after_step"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        if kind == "clip_after_step":
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        return loss.item()
    return step


_STEP_MISTAKES = [
    ("no_zero_grad", Text("the gradients add up from step to step: call optimizer.zero_grad() before "
                          "loss.backward() (backward adds to the .grad of every parameter).",
                          "梯度在一步一步之间累加了：在 loss.backward() 之前调用 optimizer.zero_grad()"
                          "（backward 会把梯度加到每个参数的 .grad 上）。")),
    ("zero_after_backward", Text("the weights never moved: optimizer.step() found no gradients. Either zero_grad() came "
                                 "between backward() and step() and cleared them, or step() ran before backward(). The "
                                 "order is zero_grad, backward, clip, step.",
                                 "权重一直没有动：optimizer.step() 找不到梯度。要么 zero_grad() 放在了 backward() 和 "
                                 "step() 之间、把梯度清掉了，要么 step() 在 backward() 之前运行了。顺序是 zero_grad、"
                                 "backward、clip、step。")),
    ("wrong_axis", Text("the loss was taken over the wrong axis: the logits are (batch, classes), so the softmax and "
                        "the smoothing run over dim 1 (the classes), and the mean over dim 0 (the batch).",
                        "损失沿错了轴：logits 是 (batch, classes)，所以 softmax 和标签平滑沿 dim 1（类别），"
                        "求平均沿 dim 0（批）。")),
    ("no_smoothing", Text("the loss has no label smoothing: use F.cross_entropy(logits, labels, "
                          "label_smoothing=smoothing) (or your exercise 8.2).",
                          "损失没有做标签平滑：请用 F.cross_entropy(logits, labels, label_smoothing=smoothing)"
                          "（或者你在练习 8.2 中写的函数）。")),
    ("no_clip", Text("the step used unclipped gradients: call torch.nn.utils.clip_grad_norm_(model.parameters(), "
                     "max_norm) between backward() and step() (not after the step, and with max_norm, the argument: "
                     "the check uses 0.5).",
                     "这一步用的是没有裁剪的梯度：在 backward() 和 step() 之间调用 torch.nn.utils.clip_grad_norm_("
                     "model.parameters(), max_norm)（不要放在 step 之后，并且用参数 max_norm：自检用的是 0.5）。")),
    ("lr_not_set", Text(f"the learning rate was never set: the optimizer kept the lr it was made with "
                        f"({INITIAL_LR}). Write this step's lr into every group: `for group in "
                        f"optimizer.param_groups: group[\"lr\"] = lr`.",
                        f"学习率从来没有设置：优化器一直用它创建时的 lr（{INITIAL_LR}）。请把这一步的 lr "
                        f"写进每个参数组：`for group in optimizer.param_groups: group[\"lr\"] = lr`。")),
    ("lr_first_group", Text("only the first parameter group got the learning rate: the optimizer has two groups "
                            "(with and without weight decay); set group[\"lr\"] = lr in every one.",
                            "只有第一个参数组拿到了学习率：优化器有两个参数组（有权重衰减的和没有的）；"
                            "每一个都要设置 group[\"lr\"] = lr。")),
]


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in values.tolist()) + "]"


def _step_compare(got: Any, expected: dict, case: Case) -> list | None:
    import torch

    want = Text("expected: the dict that run_train_steps returns (keep the given function as it is)",
                "expected: run_train_steps 返回的 dict（给定的函数请保持原样）")
    if not isinstance(got, dict) or set(got) != set(expected) or not all(isinstance(got[k], torch.Tensor)
                                                                         for k in expected):
        return [want, f"got:      {describe(got)}"]
    loss, mode, w = (got[k].detach().to(torch.float64) for k in ("loss", "train_mode", "weights"))
    if loss.shape != expected["loss"].shape or w.shape != expected["weights"].shape:
        return [want, f"got:      {describe(got)}"]
    if torch.isnan(loss).any():
        return [Text("expected: each step returns its loss, a float", "expected: 每一步都返回它的损失（一个 float）"),
                f"got:      {_fmt(loss)}",
                Text("hint: end the step with `return loss.item()`.", "hint: 在这一步的最后写 `return loss.item()`。")]
    def close(a, b):
        return bool(torch.allclose(a, b, rtol=1e-6, atol=1e-9))

    theirs = run_train_steps(_wrong_step("colleague"), *case.args)
    if close(loss, theirs["loss"]) and close(w, theirs["weights"]):
        return [Text(f"expected: losses {_fmt(expected['loss'])}", f"expected: 各步损失 {_fmt(expected['loss'])}"),
                Text(f"got:      losses {_fmt(loss)}", f"got:      各步损失 {_fmt(loss)}"),
                Text("hint: this is still your colleague's step: its three bugs are all in it. Compare it, line by "
                     "line, with what one step of the loop must do: the model's mode, the learning rate of each "
                     "parameter group, and what .grad holds when backward() runs.",
                     "hint: 这仍然是同事写的那一步：三个 bug 都还在。把它和循环里一步必须做的事逐行对照："
                     "模型处于什么模式，每个参数组的学习率，以及 backward() 运行时 .grad 里存着什么。")]
    if (mode < 0).any():
        return [Text("expected: each step runs the model once (the forward)",
                     "expected: 每一步都运行一次模型（前向传播）"),
                Text("got:      a step that never called the model", "got:      有一步根本没有调用模型"),
                Text("hint: logits = model(images).", "hint: logits = model(images)。")]
    if (mode == 0).any():
        return [Text("expected: the forward in training mode", "expected: 前向传播在训练模式下运行"),
                Text("got:      the model in eval mode (the validation of the epoch before left it there)",
                     "got:      模型处于评估模式（上一个 epoch 的验证把它留在了那里）"),
                Text("hint: call model.train() at the start of the step: in eval mode drop path (and dropout) are "
                     "off, so the model trains as another model.",
                     "hint: 在这一步开头调用 model.train()：评估模式下 drop path（和 dropout）是关闭的，"
                     "模型就变成了另一个模型在训练。")]

    if close(loss, expected["loss"]) and close(w, expected["weights"]):
        return None
    lines = [Text(f"expected: losses {_fmt(expected['loss'])}", f"expected: 各步损失 {_fmt(expected['loss'])}"),
             Text(f"got:      losses {_fmt(loss)}", f"got:      各步损失 {_fmt(loss)}")]
    if close(loss[:1], expected["loss"][:1]):
        lines.append(Text(f"the first loss is right; the weights after the steps differ by up to "
                          f"{(w - expected['weights']).abs().max().item():.3g}",
                          f"第一步的损失是对的；这几步之后的权重最多相差 "
                          f"{(w - expected['weights']).abs().max().item():.3g}"))
    for kind, hint in _STEP_MISTAKES:
        wrong = run_train_steps(_wrong_step(kind), *case.args)
        if close(loss, wrong["loss"]) and close(w, wrong["weights"]):
            return lines + ["hint: " + hint]
    return lines + more_help(TRAIN_STEP)


def _step_case(label, seed_or_rng, B, lrs, wseed):
    import torch

    from ..model import SwinTransformer
    from .nb07 import module_weights

    g = np.random.default_rng(seed_or_rng) if isinstance(seed_or_rng, int) else seed_or_rng
    images = torch.from_numpy(draw(g, B, 1, 8, 8)).to(torch.float32)
    labels = torch.from_numpy(g.integers(0, 3, size=B)).to(torch.int64)
    return Case(label, (module_weights(SwinTransformer(step_test_config()), seed=wseed), images, labels, list(lrs)))


TRAIN_STEP = Exercise(
    name="train_step",
    signature="train_steps_mine(state_dict, images, labels, lrs)",
    reference=train_steps_reference,
    kind="custom",
    compare=_step_compare,
    cases=lambda: [_step_case(Text("3 steps of a batch of 8 grey 8x8 images, lr 0.05, 0.02, 0.01",
                                   "一批 8 张 8x8 灰度图像，走 3 步，lr 为 0.05、0.02、0.01"), 81, 8, (0.05, 0.02, 0.01), 13)],
    hidden=lambda rng: [_step_case(Text("4 steps of another batch of 6 images, other weights",
                                        "另一批 6 张图像走 4 步，换一套权重"), rng, 6,
                                   tuple(float(v) for v in pick(rng, (0.03, 0.04)) * np.array([1.0, 0.8, 0.5, 0.2])),
                                   between(rng, 1, 10_000))],
    forbidden=("swin_edu.exercises.training:train_step_reference",
               "swin_edu.exercises.training:train_steps_reference"),
    # the answer cell's given function runs the learner's step through the harness (a fresh model and optimizer)
    allowed=("swin_edu.demos.train_step:run_train_steps",),
    prelude=TORCH_PRELUDE + "from swin_edu.demos.train_step import run_train_steps\n",
    hints=(Text("Three things the colleague's step leaves to chance: the model's mode (the validation of the epoch "
                "before left it in evaluation mode), the learning rate of the optimizer's *second* parameter group, "
                "and the gradients of the step before (backward() adds to .grad, it does not replace it).",
                "同事写的那一步有三件事全凭运气：模型的模式（上一个 epoch 的验证把它留在了评估模式），优化器*第二个*"
                "参数组的学习率，以及上一步留下的梯度（backward() 是往 .grad 上加，而不是替换它）。"),
           Text("Training mode; this step's lr in every parameter group; logits = model(images); the label-smoothed "
                "cross-entropy over the classes; zero_grad, backward, clip_grad_norm_ at max_norm, step; return "
                "loss.item().",
                "训练模式；把这一步的 lr 写进每个参数组；logits = model(images)；沿类别做标签平滑的交叉熵；"
                "zero_grad、backward、按 max_norm 做 clip_grad_norm_、step；返回 loss.item()。")),
)
