"""The practice self-checks of the course: the reference passes every exercise, and typical wrong answers are
each caught with one specific message (never a traceback from inside the checker, never a hang, never a raise).
The grading fields of each exercise (hidden-case generators, forbidden references) are checked here too; the
grader itself is tested in tests/test_classroom.py and tests/test_redteam.py."""
from __future__ import annotations

import time

import numpy as np
import pytest

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.exercises import EXERCISES as ALL_EXERCISES
from swin_edu.exercises import check, last_result, nb01, nb02, nb03, nb06, nb07, settings, use_or_reference
from swin_edu.exercises.runner import PRACTICE_SEED
from swin_edu.exercises.spec import prediction_digests

from _wrong_nb01_04 import WRONG_NB01_04
from _wrong_nb05_08 import WRONG_NB05_08

FAST_LIMIT = 0.5  # seconds: the time limit used for the looping implementations below
#: the exercises of notebooks 01-07 (other notebooks may register theirs in the same registry)
COURSE_NOTEBOOKS = {f"0{i}" for i in range(1, 8)}
EXERCISES = {n: e for n, e in ALL_EXERCISES.items() if getattr(check, n).notebook in COURSE_NOTEBOOKS}


#: the answers of the "shape"-kind prediction exercises (the package holds only their digests). None is left in the
#: course since issue #16 (its predictions are counts and offsets, checked by value, before the cell that shows them)
PREDICTIONS: dict = {}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr(settings, "quiet", True)


def _answer(name):
    """A correct answer for each exercise (predictions: the expected tuple)."""
    ex = EXERCISES[name]
    if ex.kind == "shape":
        return lambda: PREDICTIONS[name]
    return ex.reference


def run(name, fn, **kw):
    return getattr(check, name)(fn, **kw)


# ------------------------------------------------------------------------------------------ references
@pytest.mark.parametrize("name", sorted(EXERCISES))
@pytest.mark.parametrize("hidden", [False, True])
def test_correct_answer_passes(name, hidden):
    res = run(name, _answer(name), hidden=hidden)
    assert res.passed, res.message
    assert res.message.startswith("✅")


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_unsolved_says_not_solved_yet(name):
    def stub(*args, **kwargs):
        # YOUR CODE HERE
        raise NotImplementedError()

    res = run(name, stub)
    assert res.status == "unsolved" and not res
    assert "not solved yet" in res.message


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_every_exercise_has_visible_and_hidden_cases_or_is_a_prediction(name):
    ex = EXERCISES[name]
    assert ex.cases(), name
    if ex.kind == "shape":
        assert ex.hidden is None and len(ex.answer_digests) == len(PREDICTIONS[name])
        return
    drawn = [ex.hidden(np.random.default_rng(seed)) for seed in range(4)]
    assert all(len(cases) >= 1 for cases in drawn), f"{name} has no hidden cases"
    assert all(c.label for c in ex.cases() + drawn[0])
    # a seed decides the hidden cases: the same seed gives the same inputs, other seeds (mostly) others
    again = ex.hidden(np.random.default_rng(0))
    assert _fingerprint(again) == _fingerprint(drawn[0])
    assert len({_fingerprint(d) for d in drawn}) > 1, name


def _fingerprint(cases) -> str:
    import hashlib
    import pickle

    def plain(v):
        if type(v).__module__.startswith("torch"):
            return ("tensor", str(v.dtype), v.numpy().tobytes())
        if isinstance(v, (tuple, list)):
            return tuple(plain(x) for x in v)
        if isinstance(v, dict):
            return tuple((k, plain(x)) for k, x in v.items())
        return v

    return hashlib.sha256(pickle.dumps([(c.label, plain(c.args), plain(c.kwargs)) for c in cases])).hexdigest()


@pytest.mark.parametrize("name", sorted(n for n in EXERCISES if EXERCISES[n].hidden is not None))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reference_passes_hidden_cases_drawn_from_any_seed(name, seed):
    ex = EXERCISES[name]
    res = check_with(name, ex.reference, ex.hidden(np.random.default_rng(seed)))
    assert res.passed, res.message


def _to64(value):
    import torch

    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return value.astype(np.float64)
    if isinstance(value, torch.Tensor) and value.dtype == torch.float32:
        return value.double()
    if isinstance(value, dict):
        return {k: _to64(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to64(v) for v in value)
    return value


def _to32(value):
    import torch

    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.astype(np.float32)
    if isinstance(value, torch.Tensor) and value.dtype == torch.float64:
        return value.float()
    if isinstance(value, (list, tuple)):
        return type(value)(_to32(v) for v in value)
    return value


def _has32(value) -> bool:
    import torch

    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.dtype in (np.float32, torch.float32)
    if isinstance(value, dict):
        return any(_has32(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has32(v) for v in value)
    return False


def _float32_cases(ex):
    """The hidden cases of 20 seeds with float32 inputs."""
    out = []
    for seed in range(20):
        for case in ex.hidden(np.random.default_rng(seed)):
            if _has32(case.args):
                out.append(case)
    return out


#: the exercises whose hidden cases include float32 inputs (those of seed 0 say which)
FLOAT32_EXERCISES = sorted(n for n, ex in ALL_EXERCISES.items() if ex.hidden is not None and ex.kind in ("array", "torch")
                           and any(_has32(c.args) for c in ex.hidden(np.random.default_rng(0))))


def test_the_float32_exercises_are_found():
    assert {"attention", "vit_block", "layer_norm", "fpn_head", "student_swin"} <= set(FLOAT32_EXERCISES)


@pytest.mark.parametrize("name", FLOAT32_EXERCISES)
def test_the_float32_tolerance_admits_any_order_of_the_sums(name):
    """A correct float32 answer may sum in another order than the reference (issue #26 item 8: a correct answer
    must never lose marks to rounding). The same reference computed in float64 and rounded once to float32 is
    such an answer, the most accurate one: it must pass every float32 hidden case of many seeds with the
    exercise's tolerance. (5.4's hidden float32 case once failed the course's own solution at rtol 1e-5, atol 1e-8:
    an output near 0 differed by 3e-8 absolute.)"""
    from swin_edu.exercises.runner import run_check

    ex = ALL_EXERCISES[name]
    cases = _float32_cases(ex)

    def in_float64(*args, **kwargs):
        import torch

        old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)  # the modules a torch reference builds hold float64 weights
        try:
            return _to32(ex.reference(*_to64(args), **_to64(kwargs)))
        finally:
            torch.set_default_dtype(old)

    res = run_check(ex, in_float64, cases=cases)
    assert res.passed, res.message


@pytest.mark.parametrize("name", sorted(PREDICTIONS))
def test_predictions_are_stored_as_digests_only(name):
    import inspect

    from swin_edu.exercises import nb01, nb04, nb05

    ex = EXERCISES[name]
    assert ex.answer_digests == prediction_digests(name, PREDICTIONS[name])
    source = "".join(inspect.getsource(m) for m in (nb01, nb04, nb05))
    assert repr(tuple(PREDICTIONS[name])) not in source and str(list(PREDICTIONS[name])) not in source
    assert all(c.expected is not None for c in ex.cases())
    assert not hasattr(ex.cases()[0], "answer")


def check_with(name, fn, cases, **kw):
    from swin_edu.exercises.runner import run_check

    return run_check(EXERCISES[name], fn, cases=cases, **kw)


# ------------------------------------------------------------------------------------------ wrong answers
def loops_forever(*args, **kwargs):
    while True:
        pass


def raises_inside(*args, **kwargs):
    return np.zeros(3).reshape(2, 2)


def returns_none(*args, **kwargs):
    return None


def _roll(x, s, axis=(1, 2)):
    return np.roll(x, s, axis=axis)


def _wp_loop_list(x, M):
    B, H, W, C = x.shape
    return [x[b, i:i + M, j:j + M] for b in range(B) for i in range(0, H, M) for j in range(0, W, M)]


def _wp_mutates(x, M):
    x -= 1.0
    return snp.window_partition(x + 1.0, M)


def _wp_float32(x, M):
    return snp.window_partition(x, M).astype(np.float32 if x.dtype == np.float64 else np.float64)


def _wp_nan(x, M):
    out = snp.window_partition(x, M)
    out[0, 0, 0, 0] = np.nan
    return out


def _wp_torch(x, M):
    import torch

    return torch.from_numpy(snp.window_partition(x, M))


def _pp_grid_transposed(images, p):
    return snp.patch_partition(images, p).transpose(0, 2, 1, 3)


def _ln_int(x, weight, bias, eps=1e-5):
    return snp.layer_norm(x, weight, bias, eps).astype(np.int64)


def _ln_no_eps(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True)) * weight + bias


def _att_naive_softmax(q, k, v):
    logits = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    e = np.exp(logits)
    return e / e.sum(-1, keepdims=True) @ v


def _att_kT_missing(q, k, v):
    return snp.softmax(q @ k / np.sqrt(q.shape[-1])) @ v


def _macs_float(h, w, C, M):
    return 4 * h * w * C ** 2 + 2 * (h * w / M ** 2) * M ** 4 * C


def _macs_off_by_one(h, w, C, M):
    return 4 * h * w * C * C + 2 * (M - 1) ** 2 * h * w * C


def _region_two_bands(H, W, M, s):
    ids = np.zeros((H, W), dtype=int)
    if s:
        ids[-s:, :] += 1
        ids[:, -s:] += 2
    return ids


def _region_wrong_bands(H, W, M, s):
    ids = np.zeros((H, W), dtype=int)
    bands = (slice(0, s), slice(s, M), slice(M, None))
    for a, r in enumerate(bands):
        for b, c in enumerate(bands):
            ids[r, c] = 3 * a + b
    return ids


def _rpi_float(M):
    return snp.relative_position_index(M).astype(np.float64)


def _rpi_loop_forever_for_big(M):
    while M > 3:
        pass
    return snp.relative_position_index(M)


def _merge_mutates(x):
    x[:, ::2] = 0
    return snp.patch_merging_gather(x)


def _stage_shapes_floor(cfg, img_size):
    H, W = (img_size, img_size) if isinstance(img_size, int) else img_size
    h, w = H // cfg.patch_size, W // cfg.patch_size
    out = []
    for i in range(cfg.num_layers):
        out.append((h, w, cfg.embed_dim * 2 ** i))
        h, w = h // 2, w // 2
    return out


def _stage_shapes_no_patch(cfg, img_size):
    p = cfg.patch_size
    return [(h * p, w * p, c) for h, w, c in nb06.stage_shapes_reference(cfg, img_size)]


def _stage_shapes_same_c(cfg, img_size):
    return [(h, w, cfg.embed_dim) for h, w, c in nb06.stage_shapes_reference(cfg, img_size)]


def _forward_nchw(state_dict, images, cfg):
    return snp.swin_forward(state_dict, images.transpose(0, 1, 3, 2), cfg)


def _forward_features(state_dict, images, cfg):
    """Forgot the head: returns the pooled features (B, num_features) instead of logits."""
    return snp.swin_forward({k: v for k, v in state_dict.items() if not k.startswith("head")}, images,
                            cfg.replace(num_classes=0))


def _attn_persistent_index(x, mask, state_dict, window_size, num_heads):
    """A WindowAttention whose relative_position_index is a persistent buffer: the strict load refuses it."""
    from swin_edu.demos import student_model as sm

    class Persistent(sm.WindowAttention):
        def __init__(self, *args):
            super().__init__(*args)
            self.register_buffer("relative_position_index", self.relative_position_index.clone())

    return nb07._run(Persistent(x.shape[-1], window_size, num_heads), state_dict, x, mask)


def _block_unnamed_mlp(x, state_dict, num_heads, window_size, shift_size):
    """A SwinBlock whose MLP is an unnamed nn.Sequential (keys mlp.0.weight, mlp.2.weight)."""
    import torch

    from swin_edu.demos import student_model as sm

    block = sm.SwinBlock(x.shape[-1], num_heads, window_size, shift_size)
    C = x.shape[-1]
    block.mlp = torch.nn.Sequential(torch.nn.Linear(C, 4 * C), torch.nn.GELU(), torch.nn.Linear(4 * C, C))
    return nb07._run(block, state_dict, x)


def _merge_transposed_reduction(x, state_dict):
    """PatchMerging with its linear layer declared (2C -> 4C): the weight's shape is transposed."""
    import torch

    from swin_edu.demos import student_model as sm

    merge = sm.PatchMerging(x.shape[-1])
    C = x.shape[-1]
    merge.reduction = torch.nn.Linear(2 * C, 4 * C, bias=False)
    return nb07._run(merge, state_dict, x)


def _swin_unnamed_embedding(images, state_dict, cfg):
    """A StudentSwin whose patch embedding is an nn.Sequential (patch_embed.0, patch_embed.1): loading fails."""
    from swin_edu.demos import student_model as sm

    model = sm.StudentSwin(cfg)
    import torch

    model.patch_embed = torch.nn.Sequential(model.patch_embed.proj, model.patch_embed.norm)
    sm.load_learned(model, state_dict)
    return model(images)


def _att_torch_bool(q, k, v, mask):
    import torch.nn.functional as F

    return F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else mask == 0)


def _att_torch_mutates(q, k, v, mask):
    q.mul_(q.shape[-1] ** -0.5)
    return nb07._explicit(q, k, v, mask, scale=1.0)


def nb05_kernel(kind):
    from swin_edu.exercises import nb05

    return nb05._kernel_wrong(kind) if kind else nb05.merge_kernel_reference


WRONG = {
    "patch_partition": [
        (raises_inside, "raised ValueError"),
        (loops_forever, "did not finish within"),
        (returns_none, "Did you forget the `return`"),
        (lambda images, p: list(snp.patch_partition(images, p)), "you returned a Python list"),
        (lambda images, p: images.reshape(images.shape[0], images.shape[1] // p, images.shape[2] // p, -1),
         "a plain reshape does not cut patches"),
        (lambda images, p: snp.patch_partition(images, p).astype(np.float32), "the dtype differs"),
        (_pp_grid_transposed, "the expected one transposed"),
        (lambda images, p: snp.patch_partition(images.transpose(0, 1, 2, 3)[..., ::-1], p),
         "the values differ"),
        (lambda images, p: snp.patch_partition(images, p).reshape(images.shape[0], -1,
                                                                  images.shape[-1] * p * p),
         "the shapes differ"),
        (lambda images, p: images.reshape(images.shape[0], images.shape[1] // p, p, images.shape[2] // p, p,
                                          -1).transpose(0, 1, 3, 5, 2, 4).reshape(
            images.shape[0], images.shape[1] // p, images.shape[2] // p, -1), "channel by channel"),
        (lambda images, p: images.reshape(images.shape[0], images.shape[1] // p, p, images.shape[2] // p, p,
                                          -1).transpose(0, 1, 3, 4, 2, 5).reshape(
            images.shape[0], images.shape[1] // p, images.shape[2] // p, -1), "column by column"),
        (lambda images, patch_size, extra: None, "check your function's signature"),
    ],
    "conv_to_linear": [
        (lambda w: w.reshape(w.shape[0], -1), "keeps the conv's (C_in, row, column) order"),
        (lambda w: w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1).T, "the matrix transposed"),
        (lambda w: w.transpose(0, 3, 2, 1).reshape(w.shape[0], -1),
         "rows and columns of the kernel are swapped"),
        (lambda w: w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1).tolist(), "you returned a Python list"),
    ],
    "layer_norm": [
        (lambda x, weight, bias, eps=1e-5: (x - x.mean(-1, keepdims=True)) / np.sqrt(
            x.var(-1, ddof=1, keepdims=True) + eps) * weight + bias, "unbiased variance"),
        (lambda x, weight, bias, eps=1e-5: (x - x.mean(0)) / np.sqrt(x.var(0) + eps) * weight + bias,
         "wrong axis"),
        (lambda x, weight, bias, eps=1e-5: (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + eps)
         * weight + bias, "eps goes inside the square root"),
        (lambda x, weight, bias, eps=1e-5: snp.layer_norm(x, eps=eps), "affine part"),
        (_ln_int, "the dtype differs"),
        (lambda x, weight, bias, eps=1e-5: (x - x.mean()) / np.sqrt(x.var() + eps) * weight + bias,
         "over the whole array"),
        (nb01._ln_both_bugs, "still what your colleague's function returns"),  # notebook 01's layer_norm_colleague
    ],
    "attention": [
        (lambda q, k, v: snp.softmax(q @ np.swapaxes(k, -1, -2)) @ v, "you forgot the scale"),
        (lambda q, k, v: snp.softmax(q @ np.swapaxes(k, -1, -2) / q.shape[-1]) @ v, "you divided by d"),
        (lambda q, k, v: snp.softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(v.shape[-1])) @ v,
         "you scaled by the values' dimension"),
        (lambda q, k, v: snp.softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), axis=-2) @ v,
         "the softmax runs over the wrong axis"),
        (_att_kT_missing, "raised ValueError"),
        (returns_none, "Did you forget the `return`"),
    ],
    "window_partition": [
        (lambda x, M: x.reshape(-1, M, M, x.shape[-1]), "a plain reshape does not cut windows"),
        (lambda x, M: snp.patch_partition(x, x.shape[1] // M).reshape(-1, M, M, x.shape[-1]), "patches of H/M pixels"),
        (lambda x, M: snp.patch_partition(x, M).reshape(-1, M, M, x.shape[-1]).astype(np.float32), "the dtype differs"),
        (lambda x, M: nb02._wp_order(x, M, (0, 3, 1, 2, 4, 5)), "column-major order"),
        (lambda x, M: nb02._wp_order(x, M, (0, 1, 3, 4, 2, 5)), "rows and columns are swapped"),
        (lambda x, M: nb02._wp_order(x, M, (1, 3, 0, 2, 4, 5)), "the batch axis must stay first"),  # issue #27
        (lambda x, M: nb02._wp_order(x, M, (1, 0, 3, 2, 4, 5)), "the batch axis must stay first"),
        (_wp_loop_list, "you returned a Python list"),
        (_wp_mutates, "modified its input `x` in place"),
        (_wp_float32, "the dtype differs"),
        (_wp_nan, "contains NaN"),
        (_wp_torch, "this exercise is pure numpy"),
        (loops_forever, "did not finish within"),
        (lambda x, M: snp.window_partition(x, M)[:-1], "the shapes differ"),
        (lambda x, M: snp.window_partition(x, M).transpose(0, 3, 1, 2), "the axes are in another order"),
        (lambda x, M: snp.window_partition(x, M + 1), "raised ValueError"),
        (lambda x, M: window_partition_mine(x, M), "a name is not defined"),  # noqa: F821
        (lambda x, M: snp.window_partition(x, M) + 1e-3, "the values differ"),
    ],
    "window_reverse": [
        (lambda w, M, H, W: w.reshape(-1, H, W, w.shape[-1]), "a plain reshape does not put windows back"),
        (lambda w, M, H, W: nb02._wr_order(w, M, H, W, (0, 1, 4, 2, 3, 5)),
         "interleave grid and window axes"),
        (lambda w, M, H, W: snp.window_reverse(w, M, W, H),
         "the shapes differ: expected (2, 8, 12, 3), got (2, 12, 8, 3)"),
        (lambda w, M, H, W: nb02._wr_batch_last(w, M, H, W) if w.shape[0] > (H // M) * (W // M)
         else snp.window_reverse(w, M, H, W), "the batch axis is the first"),  # issue #27
        (lambda w, M, H, W: snp.window_reverse(w, M, H, W)[0], "the shapes differ"),
        (nb02._wr_colleague, "what your colleague's version returns"),  # notebook 02's window_reverse_colleague
    ],
    "region_ids": [
        (lambda H, W, M, s: np.zeros((H, W), dtype=int), "must NOT attend to each other"),
        (_region_wrong_bands, "before it they were at the image positions (2, 2) and (2, 4), in the same window"),
        (lambda H, W, M, s: np.arange(H * W).reshape(H, W), "must attend to each other"),
        (lambda H, W, M, s: snp.region_ids(H, W, M, s)[None], "one label per token"),
        (lambda H, W, M, s: snp.region_ids(H, W, M, s).tolist(), "start from np.zeros"),
        (lambda H, W, M, s: snp.region_ids(W + 1, H, M, s), "one label per token"),
    ],
    "mask_from_regions": [
        (lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -np.inf, 0.0), "you used -inf"),
        (lambda ids: np.where(ids[:, :, None] == ids[:, None, :], -100.0, 0.0), "0 and -100 are swapped"),
        (lambda ids: ids[:, :, None] != ids[:, None, :], "you returned booleans"),
        (lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -1.0, 0.0), "not -1"),
        (lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -1e9, 0.0), "not a huge number"),
        (lambda ids: np.where(ids[:, :, None] != ids[:, None, :], -100, 0), "the dtype differs"),
        (lambda ids: np.where(ids != ids[:, :1], -100.0, 0.0), "the shapes differ"),
    ],
    "relative_position_index": [
        (lambda M: nb_rpi(M, base=2 * M), "multiplied by 2M"),
        (lambda M: nb_rpi(M, base=M - 1), "multiplied by M-1"),
        (lambda M: nb_rpi(M, base=M), "the values differ"),
        (lambda M: nb_rpi(M, shift=False), "negative indices"),
        (lambda M: nb_rpi(M, swap=True), "rows and columns are swapped"),
        (lambda M: nb_rpi(M, sign=-1), "the offsets have the wrong sign"),
        (lambda M: nb_rpi(M, shift_cols=False), "only one offset was shifted"),
        (_rpi_float, "must hold integers"),
        (lambda M: snp.relative_coords(M), "the shapes differ"),
    ],
    "patch_merging_gather": [
        (lambda x: nb05_gather(x, ((0, 0), (0, 1), (1, 0), (1, 1))), "gather order"),
        (lambda x: np.stack([x[:, r::2, c::2] for r, c in snp.GATHER_OFFSETS], -1).reshape(
            x.shape[0], x.shape[1] // 2, x.shape[2] // 2, -1), "interleaved"),
        (lambda x: x.reshape(x.shape[0], x.shape[1] // 2, x.shape[2] // 2, -1),
         "a plain reshape does not gather"),
        (lambda x: np.stack([x[:, r::2, c::2] for r, c in snp.GATHER_OFFSETS], 3), "the shapes differ"),
        (_merge_mutates, "modified its input `x` in place"),
        (lambda x: snp.patch_merging(x, np.ones((2 * x.shape[-1], 4 * x.shape[-1]))), "the shapes differ"),
    ],
    "swin_block": [
        (lambda x, p, n, M, s: nb05_wrong("post_norm")(x, p, n, M, s), "post-norm"),
        (lambda x, p, n, M, s: nb05_wrong("no_attn_residual")(x, p, n, M, s),
         "attention branch lost its residual"),
        (lambda x, p, n, M, s: nb05_wrong("no_mlp_residual")(x, p, n, M, s), "MLP branch lost its residual"),
        (lambda x, p, n, M, s: nb05_wrong("no_shift")(x, p, n, M, s), "the shift was ignored"),
        (lambda x, p, n, M, s: nb05_wrong("parallel")(x, p, n, M, s), "one after the other"),
        (lambda x, p, n, M, s: nb05_wrong("norm1_twice")(x, p, n, M, s), "its own LayerNorm, norm2"),
        (lambda x, p, n, M, s: nb05_wrong("colleague")(x, p, n, M, s), "this is still what your colleague's block returns"),
        (lambda x, params, num_heads, M, shift: params.pop("norm1.weight"), "modified its input `params`"),
        (lambda x, params, num_heads, M, shift: snp.swin_block(x, params, num_heads, M, M),
         "raised ValueError"),
    ],
    "tokens_reached": [
        (lambda b, M, sh: M * M, "that is W-MSA only"),
        (lambda b, M, sh: (M + (b - 1) * (M // 2)) ** 2 if sh else M * M, "does not move the information by s"),
        (lambda b, M, sh: (M * (1 + b // 2)) ** 2 if sh else M * M, "the W-MSA blocks grow it too"),
        (lambda b, M, sh: b * M if sh else M, "the side of the square"),
        (lambda b, M, sh: float((b * M) ** 2 if sh else M * M), "avoid `/`"),
    ],
    "merge_kernel": [
        (nb05_kernel("x1_x2_swapped"), "x1 is the pixel *below*"),
        (nb05_kernel("interleaved"), "you interleaved them per channel"),
        (nb05_kernel("transposed"), "(4C, C, 2, 2)"),
        (nb05_kernel("reversed"), "your order is reversed"),
        (lambda C: nb05_kernel(None)(C).astype(np.int64), "passed"),
    ],
    "stage_shapes": [
        (_stage_shapes_floor, "odd sizes round *up*"),
        (_stage_shapes_no_patch, "divides the image size by the patch size"),
        (_stage_shapes_same_c, "doubles the channels"),
        (lambda cfg, img: nb06.stage_shapes_reference(cfg, img)[:-1], "stages (len(cfg.depths))"),
        (lambda cfg, img: [(h, w) for h, w, c in nb06.stage_shapes_reference(cfg, img)],
         "each entry is (H, W, C)"),
        (lambda cfg, img: 42, "return a list like"),
        (lambda cfg, img: nb06.stage_shapes_reference(cfg, cfg.img_size), "use the img_size argument"),
    ],
    "swin_forward": [
        (lambda sd, images, cfg: nb06._forward_wrong("no_norm")(sd, images, cfg), "the final LayerNorm"),
        (lambda sd, images, cfg: nb06._forward_wrong("max_pool")(sd, images, cfg), "not by their maximum"),
        (lambda sd, images, cfg: nb06._forward_wrong("always_shift")(sd, images, cfg), "cfg.stage_windows()"),
        (nb06._forward_wrong("all_shifted"), "every block shifted"),
        (nb06._forward_wrong("none_shifted"), "no block shifted"),
        (nb06._forward_wrong("even_shifted"), "block 0 does not shift"),
        (_forward_features, "the shapes differ"),
        (lambda sd, images, cfg: snp.swin_forward(sd, images.transpose(0, 2, 3, 1), cfg),
         "raised ValueError"),
        (_forward_nchw, "the values differ"),
    ],
    "attention_torch": [
        (lambda q, k, v, m: nb07._explicit(q, k, v, m, scale=1.0), "you forgot the scale"),
        (lambda q, k, v, m: nb07._explicit(q, k, v, m, dim=-2), "the softmax runs over the wrong dimension"),
        (lambda q, k, v, m: nb07._explicit(q, k, v, m, sign=-1), "*added* to the logits"),
        (lambda q, k, v, m: nb07._explicit(q, k, v, None), "the mask was ignored"),
        (lambda q, k, v, m: nb07._explicit(q, k, v, m).numpy(), "return a torch.Tensor, not a numpy array"),
        (_att_torch_bool, "the values differ"),
        (_att_torch_mutates, "modified its input `q` in place"),
        (lambda q, k, v, m: nb07._explicit(q, k, v, m).double(), "the dtype differs"),
    ],
    "window_attention_module": [
        (nb07._attn_wrong("scale_after_bias", True), "added after the scaling"),
        (nb07._attn_wrong("bias_not_permuted", True), "permute(2, 0, 1)"),
        (nb07._attn_wrong("no_bias", True), "relative position bias is missing"),
        (nb07._attn_wrong("mask_over_heads", True), "lined up with the heads axis"),
        (nb07._attn_wrong("mask_interleaved", True), "not window by window"),
        (nb07._attn_wrong("mask_no_mask", True), "the mask was ignored"),
        (_attn_persistent_index, "persistent=False"),
        (lambda x, mask, sd, M, heads: nb07.window_attention_module_reference(x, mask, sd, M, heads).numpy(),
         "return a torch.Tensor, not a numpy array"),
    ],
    "swin_block_module": [
        (nb07._block_wrong("no_reverse_roll", True), "still shifted"),
        (nb07._block_wrong("roll_plus", True), "rolled the map by +s first"),
        (nb07._block_wrong("norms_swapped", True), "the norms are swapped"),
        (nb07._block_wrong("no_mask", True), "the shift mask is missing"),
        (_block_unnamed_mlp, "fc1, act, fc2"),
    ],
    "patch_merging_module": [
        (nb07._merge_wrong("x1_x2_swapped"), "x1 is the pixel *below*"),
        (nb07._merge_wrong("interleaved"), "whole blocks of C channels"),
        (nb07._merge_wrong("raster_reversed"), "your order is reversed"),
        (_merge_transposed_reduction, "nn.Linear stores (out_features, in_features)"),
    ],
    "basic_layer_module": [
        (nb07._layer_wrong("colleague"), "this is still what your colleague's layer computes"),
        (nb07._layer_wrong("shared"), "your blocks share their weights"),
        (nb07._layer_wrong("all_shifted"), "every block shifted"),
        (nb07._layer_wrong("none_shifted"), "no block shifted"),
        (nb07._layer_wrong("even_shifted"), "block 0 does not shift"),
    ],
    "student_swin": [
        (nb07._swin_wrong("no_patch_norm"), "patch_embed.norm) is missing"),
        (nb07._swin_wrong("no_final_norm"), "the final LayerNorm (norm) is missing"),
        (nb07._swin_wrong("max_pool"), "not by their maximum"),
        (nb07._swin_wrong("pool_then_norm"), "before the pooling: norm(x).mean"),
        (nb07._swin_wrong("no_permute"), "channels-first (B, C, h, w)"),
        (nb07._swin_wrong("config_windows"), "cfg.stage_windows()"),
        (_swin_unnamed_embedding, "names the official weights do not have"),
        (lambda images, sd, cfg: nb07.student_swin_reference(images, sd, cfg).numpy(),
         "return a torch.Tensor, not a numpy array"),
    ],
}


def nb_rpi(M, base=None, shift=True, shift_cols=True, swap=False, sign=1):
    from swin_edu.exercises import nb04

    base = 2 * M - 1 if base is None else base
    return nb04._index(M, base, shift, shift and shift_cols, swap, sign)


def nb05_gather(x, offsets):
    from swin_edu.exercises import nb05

    return nb05._gather(x, offsets)


def nb05_wrong(kind):
    from swin_edu.exercises import nb05

    return nb05._block_wrong(kind)


WRONG.update(WRONG_NB01_04)  # the exercises of notebooks 01-04 added by issue #16
WRONG.update(WRONG_NB05_08)  # the exercises of notebooks 05-06 added by issue #25

CASES = [(name, i) for name in sorted(WRONG) for i in range(len(WRONG[name]))]


@pytest.mark.parametrize("name,i", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_wrong_answer_is_caught_with_a_specific_message(name, i):
    fn, expected = WRONG[name][i]
    start = time.process_time()  # CPU seconds: what the check costs, whatever else the machine runs
    res = run(name, fn, time_limit=FAST_LIMIT)
    if res.passed:  # some mistakes only show on the hidden cases of the graded version
        res = run(name, fn, time_limit=FAST_LIMIT, hidden=True)
    elapsed = time.process_time() - start
    if expected == "passed":
        assert res.passed, res.message
        return
    assert res.status == "failed", res.message
    assert expected in res.message, f"expected {expected!r} in:\n{res.message}"
    assert "Traceback" not in res.message
    assert "hint:" in res.message or "stuck? check." in res.message or name.startswith("predict"), res.message
    assert elapsed < FAST_LIMIT + 5, elapsed


def test_every_exercise_has_a_list_of_wrong_answers():
    assert set(WRONG) == set(EXERCISES)
    for name, wrongs in WRONG.items():
        assert len(wrongs) >= 3, name


def test_every_misconception_is_reachable():
    """Each misconception hint of each exercise is shown for at least one wrong answer above."""
    for name, ex in EXERCISES.items():
        messages = [run(name, fn, time_limit=FAST_LIMIT, hidden=h).message
                    for fn, exp in WRONG[name] if exp != "passed" for h in (False, True)]
        for m in ex.misconceptions:
            assert any(m.hint in msg for msg in messages), f"{name}: hint never shown: {m.hint[:60]}"


# ------------------------------------------------------------------------------------------ the engine
def test_message_names_case_expected_got_and_first_difference():
    res = check.window_partition(lambda x, M: snp.window_partition(x, M) * 2)
    msg = res.message
    assert "case 1 of 2 failed" in msg and "the seed's 4x4 map" in msg
    assert "expected: numpy array of shape (4, 2, 2, 1), dtype float64" in msg
    assert "first difference at index [0, 0, 1, 0]: expected 1, got 2" in msg
    assert "15 of 16 elements differ" in msg


def test_error_message_points_at_the_students_line():
    def window_partition_mine(x, M):
        y = x.reshape(7, -1)
        return y

    res = check.window_partition(window_partition_mine)
    assert "raised ValueError" in res.message
    assert "`y = x.reshape(7, -1)`" in res.message


def test_an_exercise_can_name_what_an_exception_means():
    """The capstone's error_hints: numpy's broadcast and reshape errors get the shapes that must line up
    instead of the general advice, in the student's language; other errors keep the general advice."""
    from swin_edu import i18n
    from swin_edu.demos import capstone_reference

    def sw_msa_mine(x, params, num_heads, M, s):
        logits = np.zeros((8, num_heads, 16, 16))
        return logits + np.zeros((3, 16, 16))  # a mask with the wrong number of windows

    def sw_msa_reshape(x, params, num_heads, M, s):
        return np.zeros(10).reshape(3, -1)

    def sw_msa_other(x, params, num_heads, M, s):
        raise KeyError("qkv")

    hints = capstone_reference.ERROR_HINTS
    res = check.sw_msa(sw_msa_mine)
    assert "could not be broadcast" in res.message and hints["could not be broadcast"] in res.message
    assert "print the shapes of your intermediate arrays" not in res.message
    assert hints["cannot reshape array"] in check.sw_msa(sw_msa_reshape).message
    other = check.sw_msa(sw_msa_other).message
    assert "print the shapes of your intermediate arrays" in other and not any(h in other for h in hints.values())
    with i18n.language("zh"):
        zh = check.sw_msa(sw_msa_mine).message
    assert hints["could not be broadcast"].zh in zh and hints["could not be broadcast"] not in zh
    # the other exercises do not borrow the capstone's hints
    assert nb03.SW_MSA.error_hints is hints and not check.window_partition.exercise.error_hints


def test_the_grader_names_what_an_exception_means_too(monkeypatch):
    """The grader builds its feedback from the same trusted spec: a sandboxed answer that raised numpy's broadcast
    error gets the capstone's hint (the text comes from the sandbox, the hint from the grader's own EXERCISES)."""
    import json

    from swin_edu.classroom import codec
    from swin_edu.classroom.bwrap import VERDICT_LIMITS, RunResult
    from swin_edu.classroom.verdict import judge
    from swin_edu.demos import capstone_reference

    monkeypatch.delenv("SWIN_EDU_LANG", raising=False)
    ex = nb03.SW_MSA
    (c,) = ex.cases()[:1]
    spec = {"grade_id": "cap", "exercise": ex.name, "points": 4.0, "function": "sw_msa_mine",
            "cases": [{"label": str(c.label), "label_zh": c.label.zh, "hidden": False,
                       "args": codec.encode(tuple(c.args)), "kwargs": codec.encode(dict(c.kwargs)),
                       "expected": codec.encode(ex.reference(*c.args))}]}
    events = [{"event": "ready", "callable": True, "type": "function"},
              {"event": "raised", "case": 0, "mro": ["ValueError", "Exception"], "where": "line 7 of your answer cell",
               "text": "operands could not be broadcast together with shapes (8,4,16,16) (3,16,16)"}]
    v = judge(spec, RunResult(0, "\n".join(json.dumps(e) for e in events).encode(), b"", 0.1), VERDICT_LIMITS)
    assert v.status == "failed" and capstone_reference.ERROR_HINTS["could not be broadcast"] in v.message


def test_error_hints_are_checked():
    with pytest.raises(ValueError, match="error_hints must map non-empty strings"):
        nb03.Exercise(name="x", signature="x()", reference=lambda: 0, cases=list, error_hints={"": "hint"})
    with pytest.raises(ValueError, match="error_hints must map non-empty strings"):
        nb03.Exercise(name="x", signature="x()", reference=lambda: 0, cases=list, error_hints={"boom": " "})


def test_time_limit_stops_an_infinite_loop_and_the_thread():
    import threading

    start = time.perf_counter()
    res = check.window_partition(loops_forever, time_limit=0.3)
    assert time.perf_counter() - start < 30  # it returns (a loop that was not stopped never would); room for a busy CI
    assert "did not finish within 0.3 s" in res.message
    time.sleep(0.2)
    assert not any(t.name == "swin-edu-self-check" and t.is_alive() for t in threading.enumerate())


def test_loop_that_swallows_exceptions_still_times_out():
    def stubborn(x, s):
        while True:
            try:
                while True:
                    pass
            except Exception:  # the time limit is a BaseException: not caught here
                pass

    res = check.window_partition(stubborn, time_limit=0.3)
    assert "did not finish" in res.message


def test_not_a_function():
    res = check.window_partition(snp.window_partition(np.zeros((1, 4, 4, 1)), 2))
    assert "pass the function itself" in res.message


def test_wrong_only_in_hidden_cases_passes_visible_and_fails_hidden():
    def only_float64(x, M):
        if x.dtype != np.float64:
            return x
        return snp.window_partition(x, M)

    assert check.window_partition(only_float64, time_limit=FAST_LIMIT)
    res = check.window_partition(only_float64, hidden=True)
    assert not res and "(more cases)" in res.message and "(practice version of a hidden case)" in res.message


def test_hanging_only_for_a_big_case_is_reported_for_that_case():
    res = check.relative_position_index(_rpi_loop_forever_for_big, hidden=True, time_limit=0.3)
    assert "case 3 of 5" in res.message and "did not finish" in res.message


def test_not_implemented_in_a_later_case_is_a_failure_not_unsolved():
    def partial(x, M):
        if x.shape[0] > 1:
            raise NotImplementedError("batches")
        return snp.window_partition(x, M)

    res = check.window_partition(partial)
    assert res.status == "failed" and "NotImplementedError: batches" in res.message


@pytest.mark.parametrize("env", ["NBGRADER_EXECUTION", "SWIN_EDU_STRICT_CHECKS"])
def test_no_environment_variable_changes_what_a_check_does(monkeypatch, env):
    """A check is practice: it never raises, whatever the environment says (grading happens elsewhere)."""
    wrong = lambda x, M: x.reshape(-1, M, M, x.shape[-1])  # noqa: E731
    before = check.window_partition(wrong).message
    monkeypatch.setenv(env, "1")
    res = check.window_partition(wrong)
    assert not res and res.message == before and "a plain reshape does not cut windows" in res.message
    assert check.window_partition(lambda x, M: (_ for _ in ()).throw(NotImplementedError())).status == "unsolved"


def test_the_package_has_no_grading_switch():
    import swin_edu.exercises as ex_pkg
    from swin_edu.exercises import diagnostics, runner, sandbox

    for module in (ex_pkg, runner, diagnostics, sandbox):
        assert not hasattr(module, "_grading") and not hasattr(module, "CheckFailed")
        assert "NBGRADER_EXECUTION" not in open(module.__file__).read()


def test_prints_the_verdict(monkeypatch, capsys):
    monkeypatch.setattr(settings, "quiet", False)
    check.block_macs(nb02.block_macs_reference)
    assert "✅ block_macs: passed all 3 cases" in capsys.readouterr().out


def test_use_or_reference_follows_the_last_check(monkeypatch, capsys):
    monkeypatch.setattr(settings, "quiet", False)

    def window_partition_mine(x, M):
        raise NotImplementedError()

    check.window_partition(window_partition_mine)
    chosen = use_or_reference(window_partition_mine, snp.window_partition)
    assert chosen is snp.window_partition
    assert "uses the reference `swin_edu.numpy_ref.window_partition`" in capsys.readouterr().out

    def window_partition_mine(x, M):  # noqa: F811 - the student fixes the function and re-runs the cells
        return snp.window_partition(x.copy(), M)

    assert last_result(window_partition_mine) is None
    assert use_or_reference(window_partition_mine, snp.window_partition) is snp.window_partition  # not checked
    assert check.window_partition(window_partition_mine)
    assert use_or_reference(window_partition_mine, snp.window_partition) is window_partition_mine
    assert "uses your `window_partition_mine`" in capsys.readouterr().out
    assert use_or_reference(window_partition_mine, snp.window_partition, False) is snp.window_partition


def test_a_bug_in_the_checker_is_reported_not_raised(monkeypatch):
    from swin_edu.exercises import diagnostics

    monkeypatch.setattr(diagnostics, "compare_array", lambda *a: 1 / 0)
    res = check.window_partition(snp.window_partition)
    assert not res and "the checker itself could not finish" in res.message


def test_student_function_that_exits_or_interrupts_is_reported():
    def exits(x, M):
        raise SystemExit(3)

    res = check.window_partition(exits)
    assert "raised SystemExit" in res.message


def test_checks_are_fast():
    """The numpy checks cost little CPU (measured in CPU seconds, not wall time: it holds on a busy machine)."""
    start = time.process_time()
    for name in EXERCISES:
        if EXERCISES[name].kind != "torch":
            run(name, _answer(name))
            run(name, _answer(name), hidden=True)
    assert time.process_time() - start < 5


def test_region_ids_accepts_any_labelling_that_gives_the_same_mask():
    def relabelled(H, W, M, s):
        return 10 * snp.region_ids(H, W, M, s) + 7

    assert check.region_ids(relabelled).passed
    assert check.region_ids(_region_two_bands, hidden=True).passed  # 4 labels give the same mask as 9


def test_layer_norm_nan_without_eps():
    res = check_with("layer_norm", _ln_no_eps, EXERCISES["layer_norm"].hidden(np.random.default_rng(PRACTICE_SEED)))
    assert "contains NaN" in res.message and "eps goes inside the square root" in res.message


def test_attention_overflow_gives_nan_hint():
    res = check.attention(_att_naive_softmax, hidden=True)
    assert "contains NaN" in res.message and "Subtract each row's maximum" in res.message


def test_mask_from_regions_is_exercised_on_the_seed_windows():
    ids = nb03._window_ids(8, 8, 4, 2)
    assert ids.shape == (4, 16)
    assert (nb03.mask_from_regions_reference(ids) == snp.shift_mask(8, 8, 4, 2)).all()


def test_swin_forward_exercise_uses_a_config_with_a_non_shifting_last_stage():
    cfg = nb06.tiny_test_config()
    assert cfg.stage_windows() == ((4, 2), (4, 0))
    assert SwinConfig.preset("tiny").stage_windows()[-1] == (7, 0)


# ------------------------------------------------------------------------------------- tiered hints
def test_hints_are_revealed_one_tier_at_a_time(monkeypatch, capsys):
    """A failing check only says that hints exist; ``hint()`` reveals them in order, a nudge first, and a
    tier out of range is answered in words, not with an exception."""
    from swin_edu.exercises import check as chk

    monkeypatch.setattr(settings, "quiet", False)
    fn = chk.window_partition
    ex = fn.exercise
    assert ex.hints, "every exercise has at least one hint"
    fn(lambda x, M: x[:, :M, :M])
    out = capsys.readouterr().out
    assert "check.window_partition.hint()" in out and not any(h in out for h in ex.hints), out
    for tier in range(1, len(ex.hints) + 1):
        fn.hint()
        out = capsys.readouterr().out
        assert ex.hints[tier - 1] in out and f"hint {tier} of {len(ex.hints)}" in out, out
    fn.hint(len(ex.hints) + 1)
    assert "takes a tier from 1" in capsys.readouterr().out


def test_every_exercise_has_hints_and_hints_are_validated():
    from swin_edu.exercises.spec import Exercise

    for name, ex in ALL_EXERCISES.items():
        assert len(ex.hints) >= 2 and all(isinstance(h, str) and h.strip() for h in ex.hints), name  # tiers
    with pytest.raises(ValueError, match="hints must be a tuple"):
        Exercise(name="x", signature="x()", reference=abs, cases=list, hints="one string")
