"""Typical wrong answers of the exercises that issue #25 added or rewrote in notebooks 05-06 (merged into
tests/test_exercises.py's WRONG table): each is a runnable wrong solution and a piece of the message its check must
print. The debugging exercises' colleagues (05's block, 07's BasicLayer) are here too: a learner who submits the
colleague's code unchanged is told so."""
from __future__ import annotations

import numpy as np

from swin_edu import numpy_ref as snp
from swin_edu.exercises import nb05, nb06


def _drop_unscaled(x, p, training, seed):
    if not training or p == 0:
        return x
    keep = np.random.default_rng(seed).random((x.shape[0],) + (1,) * (x.ndim - 1)) >= p
    return x * keep


def _drop_scale(factor):
    def drop(x, p, training, seed):
        if not training or p == 0:
            return x
        keep = np.random.default_rng(seed).random((x.shape[0],) + (1,) * (x.ndim - 1)) >= p
        return x * keep * factor(p)
    return drop


def _drop_elementwise(x, p, training, seed):
    if not training or p == 0:
        return x
    return x * (np.random.default_rng(seed).random(x.shape) >= p) / (1 - p)


def _drop_keep_p(x, p, training, seed):
    if not training or p == 0:
        return x
    keep = np.random.default_rng(seed).random((x.shape[0],) + (1,) * (x.ndim - 1)) < p
    return x * keep / (1 - p)


def _drop_always(x, p, training, seed):
    keep = np.random.default_rng(seed).random((x.shape[0],) + (1,) * (x.ndim - 1)) >= p
    return x * keep / (1 - p)


def _drop_float32(x, p, training, seed):
    return nb05.drop_path_reference(x, p, training, seed).astype(np.float32)


def _drop_mutates(x, p, training, seed):
    x *= 1.0
    x[0] = 0.0
    return x


def _vit_via_windows(x, params, num_heads):
    """A ViT block through snp.window_attention with the whole map as one window: right (the grader hides it)."""
    B, H, W, C = x.shape
    z = x.reshape(B, H * W, C)
    h = snp.layer_norm(z, params["norm1.weight"], params["norm1.bias"])
    z = z + snp.window_attention(h, params["attn.qkv.weight"], params["attn.qkv.bias"], params["attn.proj.weight"],
                                 params["attn.proj.bias"], num_heads)
    h = snp.layer_norm(z, params["norm2.weight"], params["norm2.bias"])
    z = z + snp.mlp(h, params["mlp.fc1.weight"], params["mlp.fc1.bias"], params["mlp.fc2.weight"], params["mlp.fc2.bias"])
    return z.reshape(B, H, W, C)


def _vit_windows_of_4(x, params, num_heads):
    """A Swin (W-MSA) block instead: attention inside 2 x 2 windows only."""
    return snp.swin_block(x, {**params, "attn.relative_position_bias_table": np.zeros((9, num_heads))}, num_heads, 2, 0)


WRONG_NB05_08 = {
    "drop_path": [
        (_drop_unscaled, "the kept samples are not scaled"),
        (_drop_scale(lambda p: 1 / p), "1/p is the dropped share's inverse"),
        (_drop_scale(lambda p: 1 - p), "multiplying by 1-p"),
        (_drop_scale(lambda p: 2.0), "work out the expectation"),
        (_drop_elementwise, "that is dropout, element by element"),
        (_drop_keep_p, "you drop with probability 1-p"),
        (_drop_always, "at inference DropPath does nothing"),
        (_drop_float32, "expected: a numpy array of shape"),
        (_drop_mutates, "modified its input `x` in place"),
    ],
    "vit_block": [
        (nb05._vit_wrong("post_norm"), "this is post-norm"),
        (nb05._vit_wrong("no_residual"), "lost its residual connection"),
        (nb05._vit_wrong("no_scale"), "the logits are not scaled"),
        (nb05._vit_wrong("scale_C"), "you scaled by 1/√C"),
        (nb05._vit_wrong("softmax_queries"), "the softmax runs over the queries"),
        (nb05._vit_wrong("one_head"), "one head of dimension C"),
        (_vit_windows_of_4, "the values differ"),
        (_vit_via_windows, "passed"),
    ],
    "block_param_count": [(nb06._bpc_wrong(k), hint) for k, hint in (
        ("no_table", "the relative position bias table is learned too"),
        ("table_m2", "a row per relative *offset*"),
        ("table_no_heads", "each head has its own bias"),
        ("index_counted", "you counted the relative_position_index"),
        ("no_biases", "the biases are missing"),
        ("no_norms", "the two LayerNorms are missing"),
        ("hidden_c", "int(C * mlp_ratio) units"),
        ("qkv_one", "qkv is one linear layer"))] + [
        (lambda C, h, M, r=4.0: float(nb06.block_param_count_reference(C, h, M, r)), "avoid `/`"),
    ],
}
