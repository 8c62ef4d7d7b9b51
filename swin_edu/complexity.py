"""How much Swin computes: MSA vs W-MSA, and whole-model MACs and parameter counts.

Units: **multiply-accumulates (MACs)**. Multiplying an (a x b) matrix by a (b x c) matrix costs
a*b*c MACs (the seed's convention). The paper's "FLOPs" column is in MACs too (4.5G for Swin-T);
a FLOP counter that counts a multiply and an add separately, such as
``torch.utils.flop_counter.FlopCounterMode``, reports twice as many.

Attention of one layer on an h x w map with C channels (softmax and the scaling by 1/sqrt(d) are not
counted, as in the paper):

==========  ================================  ===================
term        MSA (global)                      W-MSA (M x M windows)
==========  ================================  ===================
qkv         3 hw C^2  (X W_q, X W_k, X W_v)   3 hw C^2
qk          (hw)^2 C  (Q K^T)                 M^2 hw C
av          (hw)^2 C  (A V)                   M^2 hw C
proj        hw C^2    (output W_o)            hw C^2
total       4hwC^2 + 2(hw)^2 C                4hwC^2 + 2M^2 hwC
==========  ================================  ===================

The seed's example, h = w = 56, C = 96, M = 7: the *second term* (QK^T and AV) is
2(hw)^2C = 1,888,223,232 for MSA against 2M^2hwC = 29,503,488 for W-MSA, 64x = hw/M^2 less.

Maps that the window does not divide: the official detection code pads the map to multiples of M
before the projections, so :func:`wmsa_macs` and :func:`model_macs` count the padded tokens
(h, w rounded up to multiples of M) for every attention term; the MLP runs on the unpadded map.
"""
from __future__ import annotations

import math

from ._validate import check_bool, check_int
from .config import SwinConfig
from .layout import state_dict_shapes

__all__ = [
    "msa_breakdown",
    "wmsa_breakdown",
    "msa_macs",
    "wmsa_macs",
    "model_macs",
    "param_count",
    "PAPER_TABLE",
    "OFFICIAL_PARAMS",
    "OFFICIAL_MACS_TINY",
    "paper_table_rows",
]

#: Published figures at 224x224: params in millions, "FLOPs" (= MACs) in G, top-1 %, and where each row
#: comes from. Swin-T/S/B: the paper's Table 1 (ImageNet-1K). The paper lists Swin-L only at 384x384;
#: its 224x224 row (pre-trained on ImageNet-22K, fine-tuned on 1K) is from the official model zoo
#: (the README of microsoft/Swin-Transformer).
PAPER_TABLE = {
    "tiny": {"params_M": 28, "flops_G": 4.5, "top1": 81.3, "source": "paper, Table 1"},
    "small": {"params_M": 50, "flops_G": 8.7, "top1": 83.0, "source": "paper, Table 1"},
    "base": {"params_M": 88, "flops_G": 15.4, "top1": 83.5, "source": "paper, Table 1"},
    "large": {"params_M": 197, "flops_G": 34.5, "top1": 86.3, "source": "official model zoo (22K→1K)"},
}
#: Exact parameter counts of the official checkpoints.
OFFICIAL_PARAMS = {"tiny": 28_288_354, "small": 49_606_258, "base": 87_768_224, "large": 196_532_476}
#: ``SwinTransformer.flops()`` of the official repository for Swin-T at 224x224.
OFFICIAL_MACS_TINY = 4_494_405_120


def _hwc(h, w, C, where):
    return (check_int(h, "h", where=where), check_int(w, "w", where=where), check_int(C, "C", where=where))


def msa_breakdown(h: int, w: int, C: int) -> dict[str, int]:
    """MACs of each term of global multi-head self-attention on an h x w x C map."""
    h, w, C = _hwc(h, w, C, "msa_breakdown")
    n = h * w
    return {"qkv": 3 * n * C * C, "qk": n * n * C, "av": n * n * C, "proj": n * C * C}


def wmsa_breakdown(h: int, w: int, C: int, M: int) -> dict[str, int]:
    """MACs of each term of window attention with M x M windows. h and w that M does not divide are
    rounded up to multiples of M (the padding is computed like real tokens)."""
    h, w, C = _hwc(h, w, C, "wmsa_breakdown")
    M = check_int(M, "M", where="wmsa_breakdown")
    hp, wp = math.ceil(h / M) * M, math.ceil(w / M) * M
    n = hp * wp
    return {"qkv": 3 * n * C * C, "qk": M * M * n * C, "av": M * M * n * C, "proj": n * C * C}


def msa_macs(h: int, w: int, C: int) -> int:
    """4hwC^2 + 2(hw)^2 C: global multi-head self-attention (softmax and scaling not counted)."""
    return sum(msa_breakdown(h, w, C).values())


def wmsa_macs(h: int, w: int, C: int, M: int) -> int:
    """4hwC^2 + 2M^2 hwC: window attention with M x M windows (on the padded map when M does not
    divide h or w)."""
    return sum(wmsa_breakdown(h, w, C, M).values())


def model_macs(cfg: SwinConfig, *, img_size: int | tuple[int, int] | None = None, count_norms: bool = True,
               per_stage: bool = False):
    """MACs of one forward pass of a Swin model for one image.

    Counted: the patch-embedding convolution, every linear layer (qkv, proj, MLP fc1/fc2, patch-merging
    reduction, head), the two attention matmuls Q K^T and A V, and, with ``count_norms=True``, one MAC
    per element for each LayerNorm, which is how the official ``SwinTransformer.flops()`` counts
    (it gives 4,494,405,120 for Swin-T; so does this function). Not counted: softmax, GELU, the
    bias/mask additions, the residual additions, average pooling, dropout.

    The official code counts the final LayerNorm on a map of (H/4/2^L)^2 tokens, i.e. 14x14 for
    Swin-T instead of the real 7x7; we reproduce that quirk when ``count_norms`` is true so that the
    total equals the official number (150,528 MACs, 0.003%).

    With ``count_norms=False`` only matmuls and convolutions are counted: exactly what
    ``FlopCounterMode`` reports divided by 2.

    ``img_size`` defaults to ``cfg.img_size``. With ``per_stage=True`` a dict is returned:
    ``patch_embed``, ``stage0``..``stageN`` (blocks + that stage's patch merging), ``head``
    (final norm + classifier), and ``total``.
    """
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"model_macs: cfg must be a SwinConfig, got {type(cfg).__name__}")
    count_norms = check_bool(count_norms, "count_norms", where="model_macs")
    per_stage = check_bool(per_stage, "per_stage", where="model_macs")
    p, C0 = cfg.patch_size, cfg.embed_dim
    res = cfg.stage_resolutions(img_size)
    windows = cfg.stage_windows()
    h0, w0 = res[0]
    out: dict[str, int] = {}
    embed = h0 * w0 * C0 * cfg.in_chans * p * p
    if count_norms and cfg.patch_norm:
        embed += h0 * w0 * C0
    out["patch_embed"] = embed
    for i, (depth, dim, (h, w), (M, shift)) in enumerate(zip(cfg.depths, cfg.stage_dims, res, windows)):
        hidden = int(dim * cfg.mlp_ratio)
        block = sum(wmsa_breakdown(h, w, dim, M).values()) + 2 * h * w * dim * hidden
        if count_norms:
            block += 2 * h * w * dim  # norm1, norm2
        stage = depth * block
        if i < cfg.num_layers - 1:
            h2, w2 = math.ceil(h / 2), math.ceil(w / 2)
            stage += h2 * w2 * 4 * dim * 2 * dim
            if count_norms:
                stage += h2 * w2 * 4 * dim
        out[f"stage{i}"] = stage
    head = cfg.num_features * cfg.num_classes
    if count_norms:
        head += cfg.num_features * h0 * w0 // (2 ** cfg.num_layers)  # the official quirk, see above
    out["head"] = head
    total = sum(out.values())
    if per_stage:
        out["total"] = total
        return out
    return total


def param_count(cfg: SwinConfig, *, per_stage: bool = False):
    """Number of learned parameters (buffers such as ``relative_position_index`` not included).

    Summed over the official state-dict layout (:func:`swin_edu.layout.state_dict_shapes`). Equals the
    official checkpoints exactly: tiny 28,288,354; small 49,606,258; base 87,768,224; large 196,532,476.
    With ``per_stage=True``: a dict with ``patch_embed``, ``stage0``.. (incl. that stage's merging),
    ``head`` (final norm + classifier) and ``total``.
    """
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"param_count: cfg must be a SwinConfig, got {type(cfg).__name__}")
    per_stage = check_bool(per_stage, "per_stage", where="param_count")
    groups: dict[str, int] = {}
    for key, shape in state_dict_shapes(cfg, buffers=False).items():
        if key.startswith("layers."):
            group = "stage" + key.split(".")[1]
        elif key.startswith(("patch_embed.", "absolute_pos_embed")):
            group = "patch_embed"
        else:
            group = "head"
        groups[group] = groups.get(group, 0) + math.prod(shape)
    ordered = {"patch_embed": groups.get("patch_embed", 0)}
    ordered.update({f"stage{i}": groups.get(f"stage{i}", 0) for i in range(cfg.num_layers)})
    ordered["head"] = groups.get("head", 0)
    total = sum(ordered.values())
    if per_stage:
        ordered["total"] = total
        return ordered
    return total


def paper_table_rows() -> list[dict]:
    """The published table next to our counts: one dict per model (name, params, MACs, published values and
    their ``source``: the paper's Table 1, or the official model zoo for Swin-L at 224x224)."""
    rows = []
    for name, paper in PAPER_TABLE.items():
        cfg = SwinConfig.preset(name)
        rows.append({
            "model": f"Swin-{name[0].upper()}",
            "params": param_count(cfg),
            "params_M_paper": paper["params_M"],
            "macs": model_macs(cfg),
            "flops_G_paper": paper["flops_G"],
            "top1_paper": paper["top1"],
            "source": paper["source"],
        })
    return rows
