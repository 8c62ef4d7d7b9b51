"""Exercises of notebook 06: the whole model in numpy."""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import numpy_ref as snp
from ..config import SwinConfig
from ..layout import is_derived_buffer
from ._data import between, draw, rand
from .diagnostics import describe
from .spec import Case, Exercise, Misconception

__all__ = ["STAGE_SHAPES", "COUNT_PARAMS", "SWIN_FORWARD", "tiny_test_config"]


# ----------------------------------------------------------------------------- stage shapes
def stage_shapes_reference(cfg, img_size):
    """[(H_i, W_i, C_i) for each stage] for images of ``img_size`` (an int or (H, W))."""
    return [(h, w, c) for (h, w), c in zip(cfg.stage_resolutions(img_size), cfg.stage_dims, strict=True)]


def _hw(img_size):
    return (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)


def _shapes_with(cfg, img_size, rnd, patch=True, double=True):
    H, W = _hw(img_size)
    p = cfg.patch_size if patch else 1
    h, w = rnd(H / p), rnd(W / p)
    out = []
    for i in range(cfg.num_layers):
        out.append((h, w, cfg.embed_dim * (2 ** i if double else 1)))
        h, w = rnd(h / 2), rnd(w / 2)
    return out


def _compare_shapes(got, expected, case):
    cfg, img = case.args
    exp_desc = f"a list of {len(expected)} tuples (H, W, C), one per stage"
    if got is None:
        return [f"expected: {exp_desc}", "got:      None",
                "hint: your function returned nothing. Did you forget the `return` statement?"]
    try:
        norm = [tuple(int(v) for v in t) for t in got]
    except (TypeError, ValueError):
        return [f"expected: {exp_desc}", f"got:      {describe(got)}",
                "hint: return a list like [(56, 56, 96), (28, 28, 192), ...]."]
    if len(norm) != len(expected):
        return [f"expected: {exp_desc}", f"got:      {len(norm)} entries: {norm}",
                f"hint: this config has {cfg.num_layers} stages (len(cfg.depths))."]
    if any(len(t) != 3 for t in norm):
        return [f"expected: {exp_desc}", f"got:      {norm}", "hint: each entry is (H, W, C)."]
    if norm == [tuple(t) for t in expected]:
        return None
    i = next(k for k in range(len(norm)) if norm[k] != tuple(expected[k]))
    lines = [f"expected: {[tuple(t) for t in expected]}", f"got:      {norm}",
             f"first difference at stage {i + 1}: expected {tuple(expected[i])}, got {norm[i]}."]
    if img != cfg.img_size and norm == [tuple(t) for t in stage_shapes_reference(cfg, cfg.img_size)]:
        return lines + [f"hint: these are the shapes for the config's own img_size={cfg.img_size}; use the "
                        f"img_size argument ({img}) instead: the same weights run at other resolutions."]
    for rnd, patch, double, hint in (
            (lambda v: int(math.floor(v)), True, True,
             "odd sizes round *up*: patch embedding and patch merging pad an odd map before cutting it "
             "(ceil(h / 2), not h // 2)."),
            (lambda v: int(math.ceil(v)), False, True,
             "the patch embedding divides the image size by the patch size (cfg.patch_size) first."),
            (lambda v: int(math.ceil(v)), True, False,
             "each patch merging doubles the channels: stage i has embed_dim * 2**i."),
    ):
        if norm == _shapes_with(cfg, img, rnd, patch, double):
            return lines + ["hint: " + hint]
    return lines + ["hint: start from ceil(H / patch_size), ceil(W / patch_size) and embed_dim; between two "
                    "stages halve H and W (rounding up) and double C."]


def tiny_test_config() -> SwinConfig:
    """A 2-stage model small enough for self-checks: 16x16 images, patch 2, C=12, window 4."""
    return SwinConfig(img_size=16, patch_size=2, embed_dim=12, depths=(2, 2), num_heads=(3, 6),
                      window_size=4, num_classes=5, name="tiny-test")


def _shapes_hidden(rng):
    H, W, n = 32 * between(rng, 5, 9), 32 * between(rng, 10, 12), 2 * between(rng, 12, 15) + 1
    return [Case(f"Swin-T at another resolution, {H}x{W}", (SwinConfig.preset("tiny"), (H, W))),
            Case(f"nano at {n}x{n} (the patch does not divide)", (SwinConfig.preset("nano"), n))]


STAGE_SHAPES = Exercise(
    name="stage_shapes",
    signature="stage_shapes_mine(cfg, img_size)",
    reference=stage_shapes_reference,
    kind="custom",
    compare=_compare_shapes,
    cases=lambda: [
        Case("Swin-T at 224x224", (SwinConfig.preset("tiny"), 224)),
        Case("the course's nano model at 32x32", (SwinConfig.preset("nano"), 32)),
        Case("Swin-T at 200x200 (odd maps on the way: 25 -> 13 -> 7)", (SwinConfig.preset("tiny"), 200)),
    ],
    hidden=_shapes_hidden,
    forbidden=("swin_edu.config:SwinConfig.stage_resolutions",),
    hints=("Follow one axis: what does the patch embedding do to 224, and then each patch merging? What if "
           "the size does not divide?",
           "Divide by the patch size rounding up (the image is padded), then halve rounding up at each merging; "
           "the channels start at embed_dim and double at each merging; one (H, W, C) per stage."),
)


# ----------------------------------------------------------------------------- count parameters
def count_params_reference(state_dict):
    """Learned numbers in an official state dict: every tensor except the derived buffers."""
    return int(sum(np.asarray(v).size for k, v in state_dict.items() if not is_derived_buffer(k)))


@functools.lru_cache(maxsize=None)
def _sd(name: str, seed: int = 0):
    cfg = tiny_test_config() if name == "tiny-test" else SwinConfig.preset(name)
    return snp.random_state_dict(cfg, seed=seed, buffers=True)


COUNT_PARAMS = Exercise(
    name="count_params",
    signature="count_params_mine(state_dict)",
    reference=count_params_reference,
    kind="int",
    cases=lambda: [
        Case("the full state dict (with buffers) of the nano model", (dict(_sd("nano")),)),
        Case("the full state dict of a 2-stage test model", (dict(_sd("tiny-test")),)),
    ],
    hidden=lambda rng: [
        Case("a state dict without the derived buffers",
             ({k: v for k, v in _sd("nano", between(rng, 1, 10_000)).items() if not is_derived_buffer(k)},)),
        Case("the full state dict of a 2-stage test model with other weights",
             (dict(_sd("tiny-test", between(rng, 1, 10_000))),)),
    ],
    hints=("Which entries of a checkpoint are learned, and which are rebuilt from the configuration?",
           "Add up the number of elements of every entry whose key is not a derived buffer (the layout module "
           "has a function that tells); return an int."),
    misconceptions=[
        Misconception("you counted the derived buffers relative_position_index and attn_mask too. They are "
                      "rebuilt from the config, not learned: skip them (swin_edu.layout.is_derived_buffer).",
                      lambda sd: int(sum(np.asarray(v).size for v in sd.values()))),
        Misconception("you counted tensors, not numbers: add up each tensor's size (v.size), not 1 per key.",
                      lambda sd: sum(1 for k in sd if not is_derived_buffer(k))),
        Misconception("only the weight matrices? Biases, LayerNorm weights and the bias tables are learned "
                      "parameters too.",
                      lambda sd: int(sum(np.asarray(v).size for k, v in sd.items()
                                         if k.endswith(".weight") and not is_derived_buffer(k)))),
    ],
)


# ----------------------------------------------------------------------------- the forward pass
def _forward_wrong(kind):
    def wrong(state_dict, images, cfg):
        sd = {k: np.asarray(v, dtype=np.float64) for k, v in state_dict.items()}
        x = snp.patch_embed(images.transpose(0, 2, 3, 1).astype(np.float64), sd["patch_embed.proj.weight"],
                            sd["patch_embed.proj.bias"], sd["patch_embed.norm.weight"],
                            sd["patch_embed.norm.bias"])
        stages = zip(cfg.depths, cfg.num_heads, cfg.stage_windows(), strict=True)
        for i, (depth, heads, (M, s)) in enumerate(stages):
            if kind == "always_shift":
                s = cfg.window_size // 2 if M == cfg.window_size else M // 2
            x = snp.stage(x, snp.block_params(sd, f"layers.{i}."), depth, heads, M, s,
                          downsample=i < cfg.num_layers - 1)
        if kind != "no_norm":
            x = snp.layer_norm(x, sd["norm.weight"], sd["norm.bias"])
        pooled = x.max(axis=(1, 2)) if kind == "max_pool" else x.mean(axis=(1, 2))
        return pooled if kind == "no_head" else pooled @ sd["head.weight"].T + sd["head.bias"]
    return wrong


SWIN_FORWARD = Exercise(
    name="swin_forward",
    signature="swin_forward_mine(state_dict, images, cfg)",
    reference=lambda state_dict, images, cfg: snp.swin_forward(state_dict, images, cfg),
    dtype="kind",
    cases=lambda: [
        Case("a 2-stage test model (16x16 images, C=12, window 4) on two random images",
             (dict(_sd("tiny-test", 1)), rand(2, 3, 16, 16, seed=80), tiny_test_config())),
    ],
    hidden=lambda rng: [
        Case(f"the same model with other weights at another resolution, {h}x{w} (pad, then shift)",
             (dict(_sd("tiny-test", between(rng, 1, 10_000))), draw(rng, 1, 3, h, w), tiny_test_config()))
        for h, w in [(2 * between(rng, 5, 7), 2 * between(rng, 9, 11))]
    ],
    forbidden=("swin_edu.numpy_ref.model:swin_forward",),
    # a float32 answer is accepted (dtype "kind"): eps 1.2e-7 through two stages of O(1) activations (LayerNorm
    # after every block, sums over at most 24 channels and 16 tokens) stays within 1e-5 absolute on logits of ~0.1;
    # every typical mistake of tests/test_exercises.py is still caught at this tolerance
    rtol=1e-4, atol=1e-5,
    hints=("Follow the diagram: which function of notebooks 01-05 handles each box, and which layout "
           "(channels-first or channels-last) does each expect?",
           "Embed the patches of the channels-last images; for each stage run its blocks (the window and shift of "
           "cfg.stage_windows(), that stage's weights by their prefix) and its patch merging except after the "
           "last; then the final LayerNorm, the mean over all tokens and the linear head."),
    misconceptions=[
        Misconception("the final LayerNorm (`norm.weight`, `norm.bias`) is missing before the pooling.",
                      _forward_wrong("no_norm")),
        Misconception("Swin pools by averaging the tokens (x.mean(axis=(1, 2))), not by their maximum.",
                      _forward_wrong("max_pool")),
        Misconception("use cfg.stage_windows() for each stage's (window, shift): a stage whose map is not "
                      "larger than the window does not shift (the last stage of Swin-T, the second stage "
                      "here).", _forward_wrong("always_shift")),
    ],
)
