"""The official Swin state-dict layout (microsoft/Swin-Transformer), computed from a config.

One source of truth for key names and shapes: the numpy reference reads weights by these keys, the
torch model produces exactly these keys, and :func:`swin_edu.complexity.param_count` sums them.
Official Swin-T has 190 keys: 173 learned tensors, 12 ``relative_position_index`` and 5 ``attn_mask``
buffers (derived: rebuilt from the config, never required in a checkpoint). The ablation switches of
:class:`~swin_edu.config.SwinConfig` drop keys: ``shift_windows=False`` every ``attn_mask``,
``rel_pos_bias=False`` every ``relative_position_bias_table`` and ``relative_position_index``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .config import SwinConfig, padded_size

__all__ = ["DERIVED_BUFFERS", "StateDictDiff", "block_prefix", "diff_state_dict", "is_derived_buffer",
           "state_dict_shapes"]

DERIVED_BUFFERS = ("relative_position_index", "attn_mask")


def is_derived_buffer(key: str) -> bool:
    """True for buffers rebuilt from the config (``relative_position_index``, ``attn_mask``)."""
    return key.rsplit(".", 1)[-1] in DERIVED_BUFFERS


def block_prefix(stage: int, block: int) -> str:
    return f"layers.{stage}.blocks.{block}."


def state_dict_shapes(cfg: SwinConfig, *, buffers: bool = True) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the official state dict for ``cfg``, in the official order.

    With ``buffers=False`` only learned parameters are listed (what :func:`param_count` sums).
    """
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"state_dict_shapes: cfg must be a SwinConfig, got {type(cfg).__name__}")
    C, p = cfg.embed_dim, cfg.patch_size
    shapes: dict[str, tuple[int, ...]] = {}
    if cfg.ape:
        ph, pw = cfg.patches_resolution
        shapes["absolute_pos_embed"] = (1, ph * pw, C)
    shapes["patch_embed.proj.weight"] = (C, cfg.in_chans, p, p)
    shapes["patch_embed.proj.bias"] = (C,)
    if cfg.patch_norm:
        shapes["patch_embed.norm.weight"] = (C,)
        shapes["patch_embed.norm.bias"] = (C,)
    for i, (depth, heads, dim, (h, w), (M, shift)) in enumerate(
        zip(cfg.depths, cfg.num_heads, cfg.stage_dims, cfg.stage_resolutions(), cfg.stage_windows())
    ):
        hidden = int(dim * cfg.mlp_ratio)
        N = M * M
        for j in range(depth):
            pre = block_prefix(i, j)
            block_shift = 0 if j % 2 == 0 else shift
            if buffers and block_shift > 0:
                nW = (padded_size(h, M) // M) * (padded_size(w, M) // M)
                shapes[pre + "attn_mask"] = (nW, N, N)
            shapes[pre + "norm1.weight"] = (dim,)
            shapes[pre + "norm1.bias"] = (dim,)
            if cfg.rel_pos_bias:
                shapes[pre + "attn.relative_position_bias_table"] = ((2 * M - 1) ** 2, heads)
                if buffers:
                    shapes[pre + "attn.relative_position_index"] = (N, N)
            shapes[pre + "attn.qkv.weight"] = (3 * dim, dim)
            if cfg.qkv_bias:
                shapes[pre + "attn.qkv.bias"] = (3 * dim,)
            shapes[pre + "attn.proj.weight"] = (dim, dim)
            shapes[pre + "attn.proj.bias"] = (dim,)
            shapes[pre + "norm2.weight"] = (dim,)
            shapes[pre + "norm2.bias"] = (dim,)
            shapes[pre + "mlp.fc1.weight"] = (hidden, dim)
            shapes[pre + "mlp.fc1.bias"] = (hidden,)
            shapes[pre + "mlp.fc2.weight"] = (dim, hidden)
            shapes[pre + "mlp.fc2.bias"] = (dim,)
        if i < cfg.num_layers - 1:
            shapes[f"layers.{i}.downsample.reduction.weight"] = (2 * dim, 4 * dim)
            shapes[f"layers.{i}.downsample.norm.weight"] = (4 * dim,)
            shapes[f"layers.{i}.downsample.norm.bias"] = (4 * dim,)
    shapes["norm.weight"] = (cfg.num_features,)
    shapes["norm.bias"] = (cfg.num_features,)
    if cfg.num_classes > 0:
        shapes["head.weight"] = (cfg.num_classes, cfg.num_features)
        shapes["head.bias"] = (cfg.num_classes,)
    return shapes


# ----------------------------------------------------------------------------------------- comparing
@dataclass
class StateDictDiff:
    """How a state dict differs from the keys and shapes a model expects (derived buffers ignored):
    ``missing`` (key, expected shape), ``unexpected`` (key, found shape), ``wrong`` (key, expected
    shape, found shape). False when nothing differs. :meth:`report` is the one message that the numpy
    reference and :func:`swin_edu.model.load_checkpoint` both print."""

    missing: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    unexpected: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    wrong: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong)

    def report(self, head: str, hint: str = "") -> str:
        """``head``, then one indented line per difference, then ``hint`` (when given)."""
        lines = [head]
        lines += [f"  missing key: {k} (expected shape {shape})" for k, shape in self.missing]
        lines += [f"  unexpected key: {k} (found shape {shape})" for k, shape in self.unexpected]
        lines += [f"  wrong shape: {k}: expected {want}, found {got}" for k, want, got in self.wrong]
        if hint:
            lines.append(f"  {hint}")
        return "\n".join(lines)


def diff_state_dict(found: Mapping[str, tuple[int, ...]], expected: Mapping[str, tuple[int, ...]]) -> StateDictDiff:
    """Compare key -> shape mappings (``found``: a checkpoint's, ``expected``: the model's). Derived
    buffers (:func:`is_derived_buffer`) are never missing, unexpected or mis-shaped: they are rebuilt."""
    for name, m in (("found", found), ("expected", expected)):
        if not isinstance(m, Mapping):
            raise TypeError(f"diff_state_dict: {name} must be a mapping of key -> shape, got {type(m).__name__}")
    diff = StateDictDiff()
    for k, shape in expected.items():
        if is_derived_buffer(k):
            continue
        if k not in found:
            diff.missing.append((k, tuple(shape)))
        elif tuple(found[k]) != tuple(shape):
            diff.wrong.append((k, tuple(shape), tuple(found[k])))
    diff.unexpected = [(k, tuple(shape)) for k, shape in found.items()
                       if k not in expected and not is_derived_buffer(k)]
    return diff
