"""The Swin block pair, a stage and the whole forward pass in numpy (seed sections 2 and 2.2).

Weights are read from a state dict in the official key layout (numpy arrays or torch tensors), so
the same checkpoint drives this reference and the PyTorch model. Inference only: dropout and
DropPath are the identity here (:func:`drop_path` shows what they do in training).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from scipy.special import erf

from .._validate import MissingKeyError, as_numpy, check_array, check_float, check_int
from ..config import SwinConfig, check_window_shift, padded_size
from ..layout import diff_state_dict, state_dict_shapes
from .attention import relative_position_index, window_attention
from .merging import patch_merging
from .patches import layer_norm, pad_to_multiple, patch_embed
from .windows import cyclic_shift, reverse_cyclic_shift, shift_mask, window_partition, window_reverse

__all__ = [
    "gelu",
    "mlp",
    "drop_path",
    "shifted_window_attention",
    "swin_block",
    "stage",
    "swin_forward",
    "random_state_dict",
    "random_block_params",
    "block_params",
]


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), as ``torch.nn.GELU()``."""
    x = check_array(x, "x", where="gelu")
    return (0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))).astype(x.dtype, copy=False)


def mlp(x: np.ndarray, fc1_weight: np.ndarray, fc1_bias: np.ndarray | None,
        fc2_weight: np.ndarray, fc2_bias: np.ndarray | None) -> np.ndarray:
    """The block's MLP: Linear C -> 4C, GELU, Linear 4C -> C (weights in ``nn.Linear`` layout)."""
    where = "mlp"
    x = check_array(x, "x", where=where)
    w1 = check_array(fc1_weight, "fc1_weight", ndim=2, layout="(hidden, C)", where=where)
    w2 = check_array(fc2_weight, "fc2_weight", ndim=2, layout="(C, hidden)", where=where)
    C = x.shape[-1]
    if w1.shape[1] != C:
        raise ValueError(f"{where}: fc1_weight must have shape (hidden, {C}) for x with C={C}, got {w1.shape}")
    if w2.shape != (C, w1.shape[0]):
        raise ValueError(f"{where}: fc2_weight must have shape {(C, w1.shape[0])}, got {w2.shape}")
    h = x @ w1.T
    if fc1_bias is not None:
        h = h + as_numpy(fc1_bias, "fc1_bias", where=where)
    h = gelu(h)
    out = h @ w2.T
    if fc2_bias is not None:
        out = out + as_numpy(fc2_bias, "fc2_bias", where=where)
    return out.astype(x.dtype, copy=False)


def drop_path(x: np.ndarray, drop_prob: float, rng: np.random.Generator | None = None,
              training: bool = True) -> np.ndarray:
    """Stochastic depth: drop the whole residual branch of a sample with probability ``drop_prob``
    and scale the kept ones by 1 / (1 - drop_prob), so the expectation is unchanged."""
    x = check_array(x, "x", ndim=range(1, 8), where="drop_path")
    p = check_float(drop_prob, "drop_prob", minimum=0.0, maximum=1.0, where="drop_path")
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return np.zeros_like(x)
    rng = np.random.default_rng() if rng is None else rng
    keep = rng.random((x.shape[0],) + (1,) * (x.ndim - 1)) >= p
    return x * keep / (1.0 - p)


def _get(params: Mapping[str, Any], key: str, where: str, optional: bool = False):
    if key not in params:
        if optional:
            return None
        raise MissingKeyError(f"{where}: params has no key {key!r} (have {sorted(params)[:8]}...)")
    return as_numpy(params[key], f"params[{key!r}]", where=where)


def shifted_window_attention(x: np.ndarray, params: Mapping[str, Any], num_heads: int, window_size: int,
                             shift_size: int = 0, return_attn: bool = False, scale: float | None = None):
    """(S)W-MSA on a (B, H, W, C) map: pad, cyclic shift, partition, masked window attention, merge,
    reverse shift, crop. ``scale`` multiplies q (default head_dim ** -0.5; the config's ``qk_scale``).

    ``params``: the attention weights with the official names (``qkv.weight``, ``qkv.bias``,
    ``proj.weight``, ``proj.bias``, ``relative_position_bias_table``). A map the window does not divide
    is zero-padded at the bottom/right first and *then* shifted; the mask is built on the padded map.
    """
    where = "shifted_window_attention"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", where=where)
    M, s = check_window_shift(window_size, shift_size, where=where)
    B, H, W, C = x.shape
    xp = pad_to_multiple(x, M)
    Hp, Wp = xp.shape[1:3]
    mask = None
    if s > 0:
        xp = cyclic_shift(xp, s)
        mask = shift_mask(Hp, Wp, M, s)
    windows = window_partition(xp, M).reshape(-1, M * M, C)
    result = window_attention(
        windows, _get(params, "qkv.weight", where), _get(params, "qkv.bias", where, optional=True),
        _get(params, "proj.weight", where), _get(params, "proj.bias", where, optional=True), num_heads,
        relative_position_bias_table=_get(params, "relative_position_bias_table", where, optional=True),
        mask=mask, scale=scale, return_attn=return_attn,
    )
    out, attn = result if return_attn else (result, None)
    out = window_reverse(out.reshape(-1, M, M, C), M, Hp, Wp)
    if s > 0:
        out = reverse_cyclic_shift(out, s)
    out = out[:, :H, :W, :]
    return (out, attn) if return_attn else out


def block_params(state_dict: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The entries of ``state_dict`` under ``prefix`` (e.g. ``"layers.0.blocks.1."``), prefix removed."""
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def random_block_params(C: int = 12, num_heads: int = 3, window_size: int = 4, *, shifted: bool = True,
                        seed: int = 0, std: float = 0.2) -> dict[str, np.ndarray]:
    """Random float64 weights of one block (official names relative to the block: ``norm1.weight``,
    ``attn.qkv.weight``, ``mlp.fc1.weight``, ...) for a ``C``-channel map with ``num_heads`` heads and window
    ``window_size``: the W-MSA block (``shifted=False``) or the SW-MSA block of a random one-stage state dict
    (:func:`random_state_dict` with ``std``). For tests, exercises and demos of a single block."""
    where = "random_block_params"
    C, num_heads = check_int(C, "C", minimum=1, where=where), check_int(num_heads, "num_heads", minimum=1, where=where)
    window_size = check_int(window_size, "window_size", minimum=1, where=where)
    if not isinstance(shifted, bool):
        raise TypeError(f"{where}: shifted must be a bool, got {type(shifted).__name__}")
    cfg = SwinConfig(img_size=8 * 2, patch_size=2, embed_dim=C, depths=(2,), num_heads=(num_heads,),
                     window_size=window_size, num_classes=0)
    sd = random_state_dict(cfg, seed=seed, dtype=np.float64, std=std)
    return block_params(sd, f"layers.0.blocks.{1 if shifted else 0}.")


def swin_block(x: np.ndarray, params: Mapping[str, Any], num_heads: int, window_size: int,
               shift_size: int = 0, qk_scale: float | None = None) -> np.ndarray:
    """One Swin block, (B, H, W, C) -> (B, H, W, C):

        x = x + (S)W-MSA(LN(x));   x = x + MLP(LN(x))

    ``shift_size=0`` gives the W-MSA block, ``shift_size=window_size//2`` the SW-MSA block. ``params``
    holds the block's weights with the official names relative to the block (``norm1.weight``,
    ``attn.qkv.weight``, ``mlp.fc1.weight``, ...; see :func:`block_params`). Without
    ``attn.relative_position_bias_table`` (the ablation ``rel_pos_bias=False``) no bias is added.
    ``qk_scale``: the attention scale (default head_dim ** -0.5).
    """
    where = "swin_block"
    x = check_array(x, "x", ndim=4, layout="(B, H, W, C)", where=where)
    shortcut = x
    h = layer_norm(x, _get(params, "norm1.weight", where), _get(params, "norm1.bias", where))
    h = shifted_window_attention(h, block_params(params, "attn."), num_heads, window_size, shift_size,
                                 scale=qk_scale)
    x = shortcut + h
    h = layer_norm(x, _get(params, "norm2.weight", where), _get(params, "norm2.bias", where))
    h = mlp(h, _get(params, "mlp.fc1.weight", where), _get(params, "mlp.fc1.bias", where, optional=True),
            _get(params, "mlp.fc2.weight", where), _get(params, "mlp.fc2.bias", where, optional=True))
    return x + h


def stage(x: np.ndarray, params: Mapping[str, Any], depth: int, num_heads: int, window_size: int,
          shift_size: int, downsample: bool, qk_scale: float | None = None) -> np.ndarray:
    """A stage (``BasicLayer``): ``depth`` blocks alternating W-MSA (even) and SW-MSA (odd), then
    patch merging when ``downsample``. ``params``: the stage's weights, names relative to
    ``layers.i.`` (``blocks.0.norm1.weight``, ``downsample.reduction.weight``...)."""
    where = "stage"
    depth = check_int(depth, "depth", where=where)
    for j in range(depth):
        x = swin_block(x, block_params(params, f"blocks.{j}."), num_heads, window_size,
                       0 if j % 2 == 0 else shift_size, qk_scale=qk_scale)
    if downsample:
        x = patch_merging(x, _get(params, "downsample.reduction.weight", where),
                          _get(params, "downsample.norm.weight", where),
                          _get(params, "downsample.norm.bias", where))
    return x


def _checked_state_dict(state_dict: Mapping[str, Any], cfg: SwinConfig, dtype) -> dict[str, np.ndarray]:
    where = "swin_forward"
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"{where}: state_dict must be a mapping of key -> array, got {type(state_dict).__name__}")
    expected = state_dict_shapes(cfg, buffers=False)
    arrays = {k: as_numpy(v, f"state_dict[{k!r}]", where=where) for k, v in state_dict.items()}
    diff = diff_state_dict({k: a.shape for k, a in arrays.items()}, expected)
    if diff:
        err = MissingKeyError if (diff.missing and not diff.unexpected and not diff.wrong) else ValueError
        raise err(diff.report(f"{where}: state_dict does not match the official layout of this config "
                              f"({cfg.name}, embed_dim={cfg.embed_dim}, depths={cfg.depths}):"))
    out = {k: arrays[k].astype(dtype, copy=False) for k in expected}
    return out


def swin_forward(state_dict: Mapping[str, Any], images: np.ndarray, cfg: SwinConfig, *,
                 return_stages: bool = False, dtype=np.float64):
    """The whole Swin forward pass in numpy: images (B, in_chans, H, W) -> logits (B, num_classes).

    ``images`` are NCHW like the PyTorch model's input (floats, e.g. normalised pixels); inside,
    feature maps are channels-last. The state dict uses the official layout (numpy arrays or torch
    tensors; derived buffers are ignored and rebuilt). Sizes that the patch or the window does not
    divide are padded, then shifted, as the official detection code does. Computed in ``dtype``
    (float64 by default: this is the reference). With ``return_stages`` also returns the list of
    feature maps (B, H_i, W_i, C_i) after patch embedding and after each stage's blocks.
    With ``num_classes=0`` the pooled features (B, num_features) are returned instead of logits.
    """
    where = "swin_forward"
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"{where}: cfg must be a SwinConfig, got {type(cfg).__name__}")
    images = check_array(images, "images", ndim=4, layout="(B, in_chans, H, W)", where=where)
    if images.shape[1] != cfg.in_chans:
        raise ValueError(
            f"{where}: images must be (B, {cfg.in_chans}, H, W) (channels first, like the torch model), "
            f"got shape {images.shape}"
        )
    sd = _checked_state_dict(state_dict, cfg, dtype)
    x = patch_embed(images.transpose(0, 2, 3, 1).astype(dtype), sd["patch_embed.proj.weight"],
                    sd["patch_embed.proj.bias"], sd.get("patch_embed.norm.weight"),
                    sd.get("patch_embed.norm.bias"))
    if cfg.ape:
        B, h, w, C = x.shape
        if (h, w) != cfg.patches_resolution:
            raise ValueError(f"{where}: an absolute position embedding needs inputs of img_size={cfg.img_size}, "
                             f"got images of {images.shape[2:]}")
        x = x + sd["absolute_pos_embed"].reshape(1, h, w, C)
    stages = [x]
    for i, (depth, heads, (M, shift)) in enumerate(zip(cfg.depths, cfg.num_heads, cfg.stage_windows())):
        x = stage(x, block_params(sd, f"layers.{i}."), depth, heads, M, shift, downsample=False,
                  qk_scale=cfg.qk_scale)
        stages.append(x)
        if i < cfg.num_layers - 1:
            x = patch_merging(x, sd[f"layers.{i}.downsample.reduction.weight"],
                              sd[f"layers.{i}.downsample.norm.weight"], sd[f"layers.{i}.downsample.norm.bias"])
    x = layer_norm(x, sd["norm.weight"], sd["norm.bias"])
    pooled = x.mean(axis=(1, 2))
    out = pooled @ sd["head.weight"].T + sd["head.bias"] if cfg.num_classes > 0 else pooled
    return (out, stages) if return_stages else out


def random_state_dict(cfg: SwinConfig, seed: int = 0, *, std: float = 0.02, buffers: bool = False,
                      dtype=np.float32) -> dict[str, np.ndarray]:
    """Random weights in the official layout, for tests and demos (seeded: the same seed, the same weights).

    Linear/conv weights, biases and bias tables ~ N(0, std); LayerNorm weights ~ 1 + N(0, 0.1) and
    biases ~ N(0, 0.1), so that a mix-up of any two tensors changes the output. With ``buffers=True``
    the derived ``relative_position_index`` and ``attn_mask`` buffers are added (the full official file).
    """
    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"random_state_dict: cfg must be a SwinConfig, got {type(cfg).__name__}")
    seed = check_int(seed, "seed", minimum=0, where="random_state_dict")
    std = check_float(std, "std", minimum=0.0, where="random_state_dict")
    rng = np.random.default_rng(seed)
    sd: dict[str, np.ndarray] = {}
    windows = cfg.stage_windows()
    resolutions = cfg.stage_resolutions()
    for k, shape in state_dict_shapes(cfg, buffers=buffers).items():
        leaf = k.rsplit(".", 1)[-1]
        is_norm = ".norm" in k or k.startswith("norm.")
        if k.endswith("relative_position_index"):
            M = int(round(shape[0] ** 0.5))
            sd[k] = relative_position_index(M)
        elif k.endswith("attn_mask"):
            i = int(k.split(".")[1])
            (h, w), (M, s) = resolutions[i], windows[i]
            sd[k] = shift_mask(padded_size(h, M), padded_size(w, M), M, s)
        elif is_norm and leaf == "weight":
            sd[k] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(dtype)
        elif is_norm and leaf == "bias":
            sd[k] = (0.1 * rng.standard_normal(shape)).astype(dtype)
        else:
            sd[k] = (std * rng.standard_normal(shape)).astype(dtype)
    return sd
