"""The harness of exercise 8.3 (one training step): a fresh tiny model, the AdamW of notebook 08, the learner's step
run once per learning rate. The self-check, the grader's sandbox and notebook 08 all run a step through
:func:`run_train_steps`. It lives apart from the exercise's spec (:mod:`swin_edu.exercises.training`, which holds the
reference step, and whose package imports every exercise): a graded answer imports this module and nothing that
defines the answer."""
from __future__ import annotations

import numbers
from typing import Any

__all__ = ["CASE_MAX_NORM", "INITIAL_LR", "run_train_steps", "step_test_config"]

#: the learning rate the harness's optimizer is made with (a step that never sets the lr trains with it)
INITIAL_LR = 0.0123
#: the gradient-norm limit of the check's cases: small, so that clipping changes every step
CASE_MAX_NORM = 0.5


def step_test_config():
    """The tiny model of exercise 8.3: 8x8 grey images, patch 2, C=8, one stage of a W-MSA and an SW-MSA block
    (window 2, shift 1), 3 classes, drop path 0.5 in the second block (so that eval mode shows)."""
    from ..config import SwinConfig

    return SwinConfig(img_size=8, patch_size=2, in_chans=1, embed_dim=8, depths=(2,), num_heads=(2,), window_size=2,
                      mlp_ratio=2.0, num_classes=3, drop_path_rate=0.5, name="step-test")


def _as_float(value: Any) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if type(value).__module__.startswith("torch") and hasattr(value, "numel") and value.numel() == 1:
        return float(value.detach().item())
    return float("nan")


def run_train_steps(step_fn, state_dict, images, labels, lrs, smoothing: float = 0.1,
                    max_norm: float = CASE_MAX_NORM) -> dict:
    """What exercise 8.3's check runs: a fresh tiny model (:func:`step_test_config`, float64) with ``state_dict``,
    left in eval mode as a validation pass leaves it, the AdamW of notebook 08 (``swin_edu.train.make_optimizer``,
    made with ``lr=INITIAL_LR``), then ``step_fn(model, optimizer, images, labels, lr, smoothing=smoothing,
    max_norm=max_norm)`` once per learning rate of ``lrs``, each after ``torch.manual_seed(k)`` (drop path draws).

    Returns float64 tensors: ``loss`` (what each step returned), ``train_mode`` (1 when the model was in training
    mode at the step's first forward, 0 in eval mode, -1 when the step ran no forward) and ``weights`` (every
    parameter after the last step, flattened)."""
    import torch

    from ..model import SwinTransformer, load_checkpoint
    from ..train import make_optimizer

    model = SwinTransformer(step_test_config(), attn_impl="explicit")
    load_checkpoint(model, state_dict)
    model = model.double().eval()
    optimizer = make_optimizer(model, lr=INITIAL_LR, weight_decay=0.05)
    modes: list = []
    hook = model.register_forward_pre_hook(lambda module, args: modes.append(module.training))
    losses, first_mode = [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small runs fastest on one thread, and so on every machine
    try:
        for k, lr in enumerate(lrs):
            torch.manual_seed(k)
            before = len(modes)
            out = step_fn(model, optimizer, images.double(), labels, float(lr), smoothing=smoothing, max_norm=max_norm)
            losses.append(_as_float(out))
            first_mode.append(float(modes[before]) if len(modes) > before else -1.0)
    finally:
        hook.remove()
        torch.set_num_threads(threads)
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return {"loss": torch.tensor(losses, dtype=torch.float64), "train_mode": torch.tensor(first_mode, dtype=torch.float64),
            "weights": weights.to(torch.float64)}
