"""Why attention divides its logits by sqrt(d): the variance argument, measured.

For a query q and a key k whose d entries are independent with mean 0 and variance 1, the dot product
q.k = q_1 k_1 + ... + q_d k_d is a sum of d independent products of mean 0 and variance 1: its variance is
d, its standard deviation sqrt(d). :func:`softmax_saturation` draws such queries and keys for several d and
measures, with and without the factor 1/sqrt(d):

``logit_std``
    the standard deviation of the logits q.k (times the scale): about sqrt(d) unscaled, about 1 scaled.
``max_weight``
    the mean over queries of the largest softmax weight over ``n_keys`` keys: how saturated the softmax
    is. Near 1, each query puts almost all of its weight on one key, and the softmax passes almost no
    gradient back (its Jacobian diag(p) - p p^T vanishes when p is one-hot).

Notebook 02 plots them after exercise 2.1 (where the learner derives the scale) and asserts what its text
says.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_int
from ..numpy_ref import softmax

__all__ = ["softmax_saturation"]


def softmax_saturation(dims=(4, 16, 64, 256), n_keys: int = 49, n_queries: int = 2000, seed: int = 0) -> dict:
    """Logit spread and softmax saturation of random unit-variance queries and keys, for each d in ``dims``.

    Returns ``{"dims": [...], "logit_std": {"unscaled": [...], "scaled": [...]}, "max_weight": {...}}`` (one
    float per d; ``scaled`` divides the logits by sqrt(d)). ``n_keys`` = 49 is a
    7 x 7 window."""
    where = "softmax_saturation"
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        raise TypeError(f"{where}: dims must be a sequence of positive ints, got {type(dims).__name__}")
    dims = [check_int(d, f"dims[{i}]", where=where) for i, d in enumerate(dims)]
    if not dims:
        raise ValueError(f"{where}: dims must hold at least one dimension, got an empty sequence")
    n_keys = check_int(n_keys, "n_keys", minimum=2, where=where)
    n_queries = check_int(n_queries, "n_queries", minimum=2, where=where)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0, where=where))
    out = {"dims": dims, "logit_std": {"unscaled": [], "scaled": []}, "max_weight": {"unscaled": [], "scaled": []}}
    for d in dims:
        q = rng.standard_normal((n_queries, 1, d))
        k = rng.standard_normal((n_queries, n_keys, d))
        logits = (q * k).sum(-1)                                   # (n_queries, n_keys): q.k per key
        for way, scale in (("unscaled", 1.0), ("scaled", d ** -0.5)):
            p = softmax(logits * scale, axis=-1)
            out["logit_std"][way].append(float((logits * scale).std()))
            out["max_weight"][way].append(float(p.max(-1).mean()))
    return out
