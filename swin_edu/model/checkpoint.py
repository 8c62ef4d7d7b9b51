"""Load and save Swin weights: the official layout, plus the timm and HF transformers layouts.

``load_checkpoint(model, path_or_dict)`` accepts

* a path to a ``.pth``/``.pt``/``.bin`` file, read with ``torch.load(..., weights_only=True)`` (no
  arbitrary code is unpickled), or to a ``.safetensors`` file;
* a plain state dict, or a wrapper ``{"model": state_dict}`` (the official release files),
  ``{"state_dict": ...}``; ``module.`` (DDP) and ``_orig_mod.`` (``torch.compile``) prefixes are removed;
* any of three key layouts, detected from the keys and converted to the official one:

  - **official** (microsoft/Swin-Transformer, also timm < 0.9): ``patch_embed.proj``,
    ``layers.{i}.blocks.{j}.attn.qkv``, ``layers.{i}.downsample`` (end of stage i), ``norm``, ``head``.
  - **timm** (>= 0.9): the same names, except that patch merging belongs to the start of the *next*
    stage (``layers.{i+1}.downsample``) and the classifier is ``head.fc``; derived buffers are not
    saved. timm's merging gathers ``x.reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5)``, i.e.
    (row, col) offsets (0,0), (1,0), (0,1), (1,1): the official order, so the reduction weight is kept
    as it is.
  - **HF transformers** (``SwinForImageClassification``): ``swin.embeddings.patch_embeddings.projection``,
    ``swin.encoder.layers.{i}.blocks.{j}.layernorm_before``, separate ``query``/``key``/``value`` (hub
    files: ``attention.self.query``; transformers >= 5 in memory: ``attention.q_proj``) concatenated
    into ``qkv`` in that order, ``attention.output.dense``/``o_proj`` -> ``attn.proj``,
    ``intermediate.dense``/``mlp.fc1``, ``output.dense``/``mlp.fc2``, ``swin.layernorm`` -> ``norm``,
    ``classifier`` -> ``head``. Its merging concatenates ``[x[:, r::2, c::2] for c in (0,1) for r in (0,1)]``:
    the official order again.

Missing, unexpected and mis-shaped keys are reported together in one :class:`CheckpointError`. The
derived buffers (``relative_position_index``, ``attn_mask``) may be absent or of another resolution.
A ``relative_position_bias_table`` of another window size is resized by bicubic interpolation, as the
official fine-tuning code does, with a warning.

``save_checkpoint(model, path)`` writes ``{"model": state_dict}`` in the official layout (all keys,
buffers included), which the official code, timm's and HF's conversion scripts read.
"""
from __future__ import annotations

import io
import math
import os
import pickle
import re
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..layout import diff_state_dict, is_derived_buffer

__all__ = [
    "LAYOUTS",
    "CheckpointError",
    "convert_state_dict",
    "detect_layout",
    "from_hf",
    "from_timm",
    "load_checkpoint",
    "read_checkpoint",
    "resize_relative_position_bias_table",
    "save_checkpoint",
    "to_hf",
]

LAYOUTS = ("official", "timm", "hf")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or whose keys/shapes do not fit the model."""


# ----------------------------------------------------------------------------------------- reading
def _unwrap(obj: Any, where: str) -> OrderedDict[str, torch.Tensor]:
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{where}: expected a state dict (a mapping of key -> tensor) or a wrapper "
                              f"{{'model': state_dict}}, got {type(obj).__name__}")
    for wrapper in ("model", "state_dict", "model_state_dict", "module"):
        if wrapper in obj and isinstance(obj[wrapper], Mapping):
            obj = obj[wrapper]
            break
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()
    bad = []
    for k, v in obj.items():
        if not isinstance(k, str):
            bad.append(f"{k!r} (key is a {type(k).__name__})")
            continue
        if not isinstance(v, torch.Tensor):
            bad.append(f"{k} ({type(v).__name__})")
            continue
        for prefix in ("module.", "_orig_mod."):
            k = k.removeprefix(prefix)
        sd[k] = v
    if bad:
        raise CheckpointError(f"{where}: a state dict holds tensors only; these entries are not tensors: "
                              + ", ".join(bad[:10]) + (" ..." if len(bad) > 10 else ""))
    if not sd:
        raise CheckpointError(f"{where}: the checkpoint holds no tensors (keys: {list(obj)[:10]})")
    return sd


def read_checkpoint(path_or_dict: Any) -> OrderedDict[str, torch.Tensor]:
    """The state dict of a checkpoint file or object, unwrapped (``{"model": ...}``), keys as saved.

    Files are read with ``torch.load(map_location="cpu", weights_only=True)``; ``.safetensors`` files
    with :mod:`safetensors`. Raises :class:`CheckpointError` for missing, corrupted or unsafe files.
    """
    where = "load_checkpoint"
    if isinstance(path_or_dict, Mapping):
        return _unwrap(path_or_dict, where)
    if not isinstance(path_or_dict, (str, os.PathLike)):
        raise TypeError(f"{where}: path_or_dict must be a path (str or os.PathLike) or a state dict, "
                        f"got {type(path_or_dict).__name__}")
    path = Path(path_or_dict)
    if not path.is_file():
        raise FileNotFoundError(f"{where}: no checkpoint file at {str(path)!r}")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as e:  # pragma: no cover - safetensors comes with transformers
            raise CheckpointError(f"{where}: reading {path.name} needs the 'safetensors' package") from e
        try:
            return _unwrap(load_file(str(path), device="cpu"), where)
        except Exception as e:
            raise CheckpointError(f"{where}: {str(path)!r} is not a valid .safetensors file "
                                  f"(corrupted or truncated?): {e}") from e
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        text = str(e)
        detail = [ln.strip() for ln in text.splitlines()[1:] if ln.strip() and not ln.startswith(("Check the", "Please"))]
        msg = detail[0] if detail else (text.splitlines()[0] if text else type(e).__name__)
        if "GLOBAL" in text or "Unsupported global" in text:
            raise CheckpointError(
                f"{where}: {str(path)!r} contains Python objects other than tensors ({msg}). Loading is "
                f"restricted to weights (weights_only=True) so that no code from the file runs; if you "
                f"trust the file, extract its state dict yourself and pass that dict") from e
        raise CheckpointError(f"{where}: {str(path)!r} is not a readable torch checkpoint (corrupted or "
                              f"truncated?): {msg}") from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, AttributeError,
            io.UnsupportedOperation) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{where}: {str(path)!r} is not a readable torch checkpoint (corrupted or "
                              f"truncated?): {msg}") from e
    return _unwrap(obj, where)


# ----------------------------------------------------------------------------------------- layouts
_TIMM_DOWNSAMPLE = re.compile(r"^layers\.(\d+)\.downsample\.")


def detect_layout(state_dict: Mapping[str, Any]) -> str:
    """``"official"``, ``"timm"`` or ``"hf"``, from the key names; :class:`CheckpointError` when the keys
    look like none of them (e.g. the weights of another architecture)."""
    keys = list(state_dict)
    if any(k.startswith(("swin.", "embeddings.patch_embeddings.")) for k in keys):
        return "hf"
    if "patch_embed.proj.weight" in state_dict and any(k.startswith("layers.") for k in keys):
        if any(k.startswith("head.fc.") for k in keys):
            return "timm"
        stages = sorted({int(m.group(1)) for k in keys if (m := _TIMM_DOWNSAMPLE.match(k))})
        if stages and stages[0] >= 1:
            return "timm"
        return "official"
    sample = ", ".join(keys[:6]) + (", ..." if len(keys) > 6 else "")
    raise CheckpointError(
        "load_checkpoint: this does not look like a Swin Transformer checkpoint: none of the official "
        "('patch_embed.proj.weight', 'layers.0.blocks.0.attn.qkv.weight'), timm ('head.fc.weight') or HF "
        f"transformers ('swin.embeddings...') keys are present. Its {len(keys)} keys start: {sample}")


def from_timm(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """timm (>= 0.9) keys -> official keys: ``layers.{i+1}.downsample`` -> ``layers.{i}.downsample``,
    ``head.fc`` -> ``head``. Tensors are unchanged (same gather order, same qkv layout)."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, v in state_dict.items():
        m = _TIMM_DOWNSAMPLE.match(k)
        if m:
            k = f"layers.{int(m.group(1)) - 1}.downsample." + k[m.end():]
        elif k.startswith("head.fc."):
            k = "head." + k[len("head.fc."):]
        out[k] = v
    return out


_HF_BLOCK_RENAMES = (
    # (HF suffix, official suffix); hub files (transformers < 5) and transformers >= 5 names
    ("layernorm_before.", "norm1."),
    ("layernorm_after.", "norm2."),
    ("attention.self.relative_position_bias_table", "attn.relative_position_bias_table"),
    ("attention.relative_position_bias.relative_position_bias_table", "attn.relative_position_bias_table"),
    ("attention.self.relative_position_index", "attn.relative_position_index"),
    ("attention.relative_position_bias.relative_position_index", "attn.relative_position_index"),
    ("attention.output.dense.", "attn.proj."),
    ("attention.o_proj.", "attn.proj."),
    ("intermediate.dense.", "mlp.fc1."),
    ("output.dense.", "mlp.fc2."),
    ("mlp.fc1.", "mlp.fc1."),
    ("mlp.fc2.", "mlp.fc2."),
)
_HF_QKV = {"attention.self.query.": 0, "attention.self.key.": 1, "attention.self.value.": 2,
           "attention.q_proj.": 0, "attention.k_proj.": 1, "attention.v_proj.": 2}
_HF_BLOCK = re.compile(r"^encoder\.layers\.(\d+)\.blocks\.(\d+)\.(.*)$")
_HF_DOWNSAMPLE = re.compile(r"^encoder\.layers\.(\d+)\.downsample\.(.*)$")


def from_hf(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """HF transformers ``SwinForImageClassification`` / ``SwinModel`` keys -> official keys.

    query, key and value weights (and biases) are concatenated into ``qkv`` in that order; everything
    else is a rename. Keys that have no official counterpart are kept unchanged, so that they are
    reported as unexpected."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    qkv: dict[str, list] = {}
    for k, v in state_dict.items():
        name = k.removeprefix("swin.")
        if name.startswith("embeddings."):
            rest = name[len("embeddings."):]
            if rest.startswith("patch_embeddings.projection."):
                out["patch_embed.proj." + rest[len("patch_embeddings.projection."):]] = v
            elif rest.startswith("norm."):
                out["patch_embed.norm." + rest[len("norm."):]] = v
            elif rest == "position_embeddings":
                out["absolute_pos_embed"] = v
            else:
                out[k] = v
            continue
        m = _HF_BLOCK.match(name)
        if m:
            i, j, rest = m.groups()
            prefix = f"layers.{i}.blocks.{j}."
            for hf, part in _HF_QKV.items():
                if rest.startswith(hf):
                    leaf = rest[len(hf):]  # weight / bias
                    slot = qkv.setdefault(prefix + "attn.qkv." + leaf, [None, None, None])
                    slot[part] = v
                    if all(t is not None for t in slot):
                        out[prefix + "attn.qkv." + leaf] = torch.cat(slot, dim=0)
                    break
            else:
                for hf, official in _HF_BLOCK_RENAMES:
                    if rest.startswith(hf):
                        out[prefix + official + rest[len(hf):]] = v
                        break
                else:
                    out[k] = v
            continue
        m = _HF_DOWNSAMPLE.match(name)
        if m:
            out[f"layers.{m.group(1)}.downsample.{m.group(2)}"] = v
        elif name.startswith("layernorm."):
            out["norm." + name[len("layernorm."):]] = v
        elif k.startswith("classifier."):
            out["head." + k[len("classifier."):]] = v
        else:
            out[k] = v
    incomplete = [k for k, slot in qkv.items() if any(t is None for t in slot)]
    if incomplete:
        raise CheckpointError("load_checkpoint: HF checkpoint with incomplete query/key/value for "
                              + ", ".join(incomplete[:6]))
    return out


def to_hf(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Official keys -> HF transformers (>= 5) ``SwinForImageClassification`` keys (qkv split into
    q_proj/k_proj/v_proj); derived buffers are dropped. Used to give a peer the same weights."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, v in state_dict.items():
        if is_derived_buffer(k):
            continue
        if k.startswith("patch_embed.proj."):
            out["swin.embeddings.patch_embeddings.projection." + k.split(".")[-1]] = v
        elif k.startswith("patch_embed.norm."):
            out["swin.embeddings.norm." + k.split(".")[-1]] = v
        elif k == "absolute_pos_embed":
            out["swin.embeddings.position_embeddings"] = v
        elif k.startswith("layers.") and ".blocks." in k:
            m = re.match(r"^layers\.(\d+)\.blocks\.(\d+)\.(.*)$", k)
            i, j, rest = m.groups()
            prefix = f"swin.encoder.layers.{i}.blocks.{j}."
            if rest.startswith("attn.qkv."):
                leaf = rest[len("attn.qkv."):]
                for name, part in zip(("q_proj", "k_proj", "v_proj"), v.chunk(3, dim=0)):
                    out[f"{prefix}attention.{name}.{leaf}"] = part.contiguous()
                continue
            renames = {"norm1.": "layernorm_before.", "norm2.": "layernorm_after.",
                       "attn.proj.": "attention.o_proj.", "mlp.": "mlp.",
                       "attn.relative_position_bias_table":
                           "attention.relative_position_bias.relative_position_bias_table"}
            for ours, hf in renames.items():
                if rest.startswith(ours):
                    out[prefix + hf + rest[len(ours):]] = v
                    break
            else:
                raise CheckpointError(f"to_hf: no HF counterpart for {k!r}")
        elif k.startswith("layers.") and ".downsample." in k:
            out["swin.encoder." + k] = v
        elif k.startswith("norm."):
            out["swin.layernorm." + k[len("norm."):]] = v
        elif k.startswith("head."):
            out["classifier." + k[len("head."):]] = v
        else:
            raise CheckpointError(f"to_hf: no HF counterpart for {k!r}")
    return out


def convert_state_dict(state_dict: Mapping[str, torch.Tensor], layout: str = "auto"
                       ) -> tuple[OrderedDict[str, torch.Tensor], str]:
    """Convert a state dict of ``layout`` (``"auto"``: detected) to the official layout.
    Returns ``(official_state_dict, layout)``."""
    if layout not in ("auto",) + LAYOUTS:
        raise ValueError(f"convert_state_dict: layout must be 'auto' or one of {LAYOUTS}, got {layout!r}")
    if layout == "auto":
        layout = detect_layout(state_dict)
    if layout == "timm":
        return from_timm(state_dict), layout
    if layout == "hf":
        return from_hf(state_dict), layout
    return OrderedDict(state_dict), layout


# ----------------------------------------------------------------------------------------- resizing
def resize_relative_position_bias_table(table: torch.Tensor, new_window_size: int) -> torch.Tensor:
    """Resize a ((2M-1)^2, num_heads) bias table to window ``new_window_size`` by bicubic interpolation
    of its (2M-1) x (2M-1) grid of offsets, as the official fine-tuning code (``utils.load_pretrained``)."""
    L, nH = table.shape
    S1 = round(math.sqrt(L))
    if S1 * S1 != L:
        raise CheckpointError(f"resize_relative_position_bias_table: table has {L} rows, not a square "
                              f"(2M-1)^2")
    S2 = 2 * new_window_size - 1
    grid = table.detach().float().permute(1, 0).reshape(1, nH, S1, S1)
    resized = F.interpolate(grid, size=(S2, S2), mode="bicubic")
    return resized.reshape(nH, S2 * S2).permute(1, 0).contiguous().to(table.dtype)


def _resize_absolute_pos_embed(pe: torch.Tensor, new_hw: tuple[int, int], old_hw: tuple[int, int]) -> torch.Tensor:
    C = pe.shape[2]
    grid = pe.detach().float().reshape(1, old_hw[0], old_hw[1], C).permute(0, 3, 1, 2)
    resized = F.interpolate(grid, size=new_hw, mode="bicubic")
    return resized.permute(0, 2, 3, 1).reshape(1, new_hw[0] * new_hw[1], C).to(pe.dtype)


# ----------------------------------------------------------------------------------------- load / save
def _unwrap_model(model: Any, where: str) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{where}: model must be a torch.nn.Module (a SwinTransformer), got {type(model).__name__}")
    while hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):  # torch.compile
        model = model._orig_mod
    if hasattr(model, "module") and isinstance(model.module, nn.Module) and not hasattr(model, "layers"):
        model = model.module  # DistributedDataParallel / DataParallel
    return model


def load_checkpoint(model: nn.Module, path_or_dict: Any, *, strict: bool = True, layout: str = "auto"):
    """Load weights into a :class:`~swin_edu.model.SwinTransformer` (in place) and return the model.

    ``path_or_dict``: a file path (``torch.load(weights_only=True)`` or ``.safetensors``), a state dict,
    or ``{"model": state_dict}``. ``layout``: ``"auto"`` (detected), ``"official"``, ``"timm"`` or
    ``"hf"``. With ``strict=True`` (default) every missing, unexpected or mis-shaped key is listed in
    one :class:`CheckpointError`; with ``strict=False`` those keys are skipped with a warning that lists
    them (e.g. to fine-tune with a new head). Derived buffers are never required. A bias table for
    another window size, and an absolute position embedding for another image size, are interpolated
    (bicubic) with a warning.
    """
    where = "load_checkpoint"
    model = _unwrap_model(model, where)
    if not isinstance(strict, bool):
        raise TypeError(f"{where}: strict must be a bool, got {strict!r}")
    sd, detected = convert_state_dict(read_checkpoint(path_or_dict), layout)
    own = model.state_dict()
    resized = []
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for k, v in sd.items():
        if is_derived_buffer(k):
            continue  # rebuilt by the model
        want = tuple(own[k].shape) if k in own else None
        if want is not None and tuple(v.shape) != want:
            if k.endswith("relative_position_bias_table") and v.dim() == 2 and v.shape[1] == want[1]:
                v = resize_relative_position_bias_table(v, (round(math.sqrt(want[0])) + 1) // 2)
            elif (k == "absolute_pos_embed" and v.dim() == 3 and v.shape[2] == want[2] and hasattr(model, "cfg")
                  and round(math.sqrt(v.shape[1])) ** 2 == v.shape[1]):
                old = round(math.sqrt(v.shape[1]))
                v = _resize_absolute_pos_embed(v, model.cfg.patches_resolution, (old, old))
            if tuple(v.shape) == want:
                resized.append(f"{k}: {tuple(sd[k].shape)} -> {want}")
        out[k] = v
    diff = diff_state_dict({k: tuple(v.shape) for k, v in out.items()}, {k: tuple(v.shape) for k, v in own.items()})
    if diff:
        name = getattr(getattr(model, "cfg", None), "name", type(model).__name__)
        report = diff.report(
            f"{where}: the checkpoint ({detected} layout, {len(sd)} keys) does not fit the model "
            f"({name}, {len(own)} keys):",
            "(a checkpoint of another model size or architecture? pass strict=False to load the keys that "
            "fit, e.g. to fine-tune with a new head)" if strict else "these keys were skipped (strict=False)")
        if strict:
            raise CheckpointError(report)
        warnings.warn(report, stacklevel=2)
        for k, *_ in diff.unexpected + diff.wrong:
            out.pop(k)
    if resized:
        warnings.warn(f"{where}: interpolated (bicubic, as the official fine-tuning code) "
                      f"{len(resized)} tensor(s) for another window or image size:\n  "
                      + "\n  ".join(resized), stacklevel=2)
    with torch.no_grad():
        result = model.load_state_dict(out, strict=False)
    skipped = {k for k, *_ in diff.missing + diff.wrong}
    leftover = [k for k in result.missing_keys if not is_derived_buffer(k) and k not in skipped]
    if leftover or result.unexpected_keys:  # pragma: no cover - guarded by the checks above
        raise CheckpointError(f"{where}: internal mismatch: missing {leftover}, unexpected {result.unexpected_keys}")
    return model


def save_checkpoint(model: nn.Module, path: str | os.PathLike, *, extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``{"model": state_dict}`` (the official release format and layout, buffers included; CPU
    tensors) to ``path``, creating its folder. ``extra``: more entries for the wrapper dict (e.g.
    ``{"epoch": 3}``; keep them to tensors, numbers and strings so that ``weights_only`` loading works).
    Returns the path."""
    where = "save_checkpoint"
    model = _unwrap_model(model, where)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{where}: path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    sd = OrderedDict((k, v.detach().to("cpu").contiguous()) for k, v in model.state_dict().items())
    obj: dict[str, Any] = {"model": sd}
    if extra is not None:
        if not isinstance(extra, Mapping) or "model" in extra:
            raise ValueError(f"{where}: extra must be a mapping without a 'model' key, got {extra!r}")
        obj.update(extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path
