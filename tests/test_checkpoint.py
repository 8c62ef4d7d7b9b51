"""load_checkpoint / save_checkpoint: official, timm and HF layouts, wrappers, files, clear errors."""
from __future__ import annotations

import os
import pickle
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.layout import is_derived_buffer, state_dict_shapes
from swin_edu.model import (
    CheckpointError,
    PatchMerging,
    SwinTransformer,
    convert_state_dict,
    detect_layout,
    from_hf,
    load_checkpoint,
    read_checkpoint,
    resize_relative_position_bias_table,
    save_checkpoint,
)


@pytest.fixture(scope="module")
def cfg():
    return SwinConfig.preset("nano")


@pytest.fixture(scope="module")
def official(cfg):
    """Random weights in the official layout, with the derived buffers (as the released files)."""
    return OrderedDict((k, torch.from_numpy(np.ascontiguousarray(v)))
                       for k, v in snp.random_state_dict(cfg, seed=11, buffers=True).items())


@pytest.fixture(scope="module")
def images():
    return torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32))


@pytest.fixture(scope="module")
def reference_logits(cfg, official, images):
    model = SwinTransformer(cfg).eval()
    model.load_state_dict(official, strict=True)
    with torch.no_grad():
        return model(images)


def logits_of(model, images):
    with torch.no_grad():
        return model.eval()(images)


def to_timm_layout(sd):
    """What timm >= 0.9's SwinTransformer.state_dict() holds: merging at the start of the next stage,
    ``head.fc``, no derived buffers (written here from timm's documented layout, independently of the
    converter under test)."""
    out = OrderedDict()
    for k, v in sd.items():
        if is_derived_buffer(k):
            continue
        m = re.match(r"layers\.(\d+)\.downsample\.(.*)", k)
        if m:
            k = f"layers.{int(m.group(1)) + 1}.downsample.{m.group(2)}"
        elif k.startswith("head."):
            k = "head.fc." + k[5:]
        out[k] = v
    return out


def to_hf_hub_layout(sd):
    """The key names of the HF hub files (transformers < 5 module names), written out by hand."""
    out = OrderedDict()
    for k, v in sd.items():
        if is_derived_buffer(k):
            continue
        m = re.match(r"layers\.(\d+)\.blocks\.(\d+)\.(.*)", k)
        if m:
            pre = f"swin.encoder.layers.{m.group(1)}.blocks.{m.group(2)}."
            rest = m.group(3)
            if rest.startswith("attn.qkv."):
                leaf = rest.split(".")[-1]
                for name, part in zip(("query", "key", "value"), v.chunk(3)):
                    out[f"{pre}attention.self.{name}.{leaf}"] = part.clone()
                continue
            rest = (rest.replace("norm1.", "layernorm_before.").replace("norm2.", "layernorm_after.")
                    .replace("attn.relative_position_bias_table", "attention.self.relative_position_bias_table")
                    .replace("attn.proj.", "attention.output.dense.").replace("mlp.fc1.", "intermediate.dense.")
                    .replace("mlp.fc2.", "output.dense."))
            out[pre + rest] = v
        elif k.startswith("layers."):
            out["swin.encoder." + k] = v
        elif k.startswith("patch_embed.proj."):
            out["swin.embeddings.patch_embeddings.projection." + k.split(".")[-1]] = v
        elif k.startswith("patch_embed.norm."):
            out["swin.embeddings.norm." + k.split(".")[-1]] = v
        elif k.startswith("norm."):
            out["swin.layernorm." + k.split(".")[-1]] = v
        elif k.startswith("head."):
            out["classifier." + k.split(".")[-1]] = v
    return out


# ----------------------------------------------------------------------------------------- sources
@pytest.mark.parametrize("wrap", ["plain", "model", "state_dict", "ddp", "no-buffers"])
def test_official_dicts_and_wrappers(cfg, official, images, reference_logits, wrap):
    sd = OrderedDict(official)
    if wrap == "model":
        sd = {"model": sd}
    elif wrap == "state_dict":
        sd = {"state_dict": sd, "epoch": 3}
    elif wrap == "ddp":
        sd = OrderedDict(("module." + k, v) for k, v in sd.items())
    elif wrap == "no-buffers":
        sd = OrderedDict((k, v) for k, v in sd.items() if not is_derived_buffer(k))
    model = load_checkpoint(SwinTransformer(cfg), sd)
    assert torch.equal(logits_of(model, images), reference_logits)


def test_official_checkpoint_loads_with_strict_load_state_dict(cfg, official):
    model = SwinTransformer(cfg)
    assert len(official) == len(state_dict_shapes(cfg))
    result = model.load_state_dict(official, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_files(cfg, official, images, reference_logits, tmp_path, suffix):
    path = tmp_path / f"swin{suffix}"
    if suffix == ".pth":
        torch.save({"model": official}, path)
    else:
        safetensors = pytest.importorskip("safetensors.torch")
        safetensors.save_file({k: v.contiguous() for k, v in official.items()}, str(path))
    model = load_checkpoint(SwinTransformer(cfg), path)
    assert torch.equal(logits_of(model, images), reference_logits)
    model2 = load_checkpoint(SwinTransformer(cfg), str(path))
    assert torch.equal(logits_of(model2, images), reference_logits)


def test_timm_layout(cfg, official, images, reference_logits):
    timm_sd = to_timm_layout(official)
    assert "layers.1.downsample.reduction.weight" in timm_sd and "layers.0.downsample.norm.weight" not in timm_sd
    assert detect_layout(timm_sd) == "timm"
    model = load_checkpoint(SwinTransformer(cfg), timm_sd)
    assert torch.equal(logits_of(model, images), reference_logits)


def test_timm_patch_merging_gathers_in_the_official_order(rng):
    """timm gathers with reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5): the same order as
    the official x0, x1, x2, x3, so its reduction weight needs no reordering."""
    x = torch.from_numpy(rng.standard_normal((2, 6, 8, 5)).astype(np.float32))
    B, H, W, C = x.shape
    timm = x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)
    official = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    assert torch.equal(timm, official)
    assert torch.equal(PatchMerging.gather(x), official)
    assert np.array_equal(snp.patch_merging_gather(x.numpy()), official.numpy())


def test_hf_hub_layout(cfg, official, images, reference_logits):
    hf = to_hf_hub_layout(official)
    assert "swin.encoder.layers.0.blocks.0.attention.self.query.weight" in hf
    assert detect_layout(hf) == "hf"
    model = load_checkpoint(SwinTransformer(cfg), hf)
    assert torch.allclose(logits_of(model, images), reference_logits, atol=1e-6)
    converted, layout = convert_state_dict(hf)
    assert layout == "hf"
    assert torch.equal(converted["layers.0.blocks.1.attn.qkv.weight"], official["layers.0.blocks.1.attn.qkv.weight"])


def test_incomplete_hf_qkv_is_reported(official):
    hf = to_hf_hub_layout(official)
    del hf["swin.encoder.layers.0.blocks.0.attention.self.value.bias"]
    with pytest.raises(CheckpointError, match="incomplete query/key/value"):
        from_hf(hf)


# ----------------------------------------------------------------------------------------- mismatches
def test_all_mismatches_are_listed_in_one_error(cfg, official):
    sd = OrderedDict(official)
    del sd["layers.1.blocks.0.mlp.fc1.weight"]
    del sd["norm.bias"]
    sd["layers.0.blocks.0.attn.qkv.bias"] = torch.zeros(7)
    sd["extra.weight"] = torch.zeros(3)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(SwinTransformer(cfg), sd)
    msg = str(info.value)
    assert "missing key: layers.1.blocks.0.mlp.fc1.weight (expected shape (384, 96))" in msg
    assert "missing key: norm.bias (expected shape (192,))" in msg
    assert "unexpected key: extra.weight (found shape (3,))" in msg
    assert "wrong shape: layers.0.blocks.0.attn.qkv.bias: expected (144,), found (7,)" in msg


def test_another_model_size_is_refused_and_strict_false_skips(cfg, official, images):
    bigger = SwinConfig.preset("nano", depths=(2, 4, 2), num_classes=5)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(SwinTransformer(bigger), official)
    msg = str(info.value)
    assert "missing key: layers.1.blocks.3.norm1.weight" in msg
    assert "wrong shape: head.weight: expected (5, 192), found (10, 192)" in msg
    assert "strict=False" in msg
    model = SwinTransformer(bigger)
    with pytest.warns(UserWarning, match="skipped"):
        load_checkpoint(model, official, strict=False)
    assert torch.equal(model.layers[0].blocks[0].attn.qkv.weight, official["layers.0.blocks.0.attn.qkv.weight"])


def test_checkpoint_of_another_architecture(cfg):
    resnet_like = {"conv1.weight": torch.zeros(64, 3, 7, 7), "bn1.weight": torch.ones(64),
                   "fc.weight": torch.zeros(1000, 2048)}
    with pytest.raises(CheckpointError, match="does not look like a Swin Transformer checkpoint.*conv1.weight"):
        load_checkpoint(SwinTransformer(cfg), resnet_like)


def test_bias_table_of_another_window_is_interpolated_with_a_warning(cfg, official, images):
    sd = OrderedDict(official)
    key = "layers.0.blocks.0.attn.relative_position_bias_table"
    sd[key] = torch.arange(3, dtype=torch.float32).repeat(13 * 13, 1)  # window 7, one constant per head
    model = SwinTransformer(cfg)
    with pytest.warns(UserWarning, match=r"interpolated \(bicubic.*\n.*relative_position_bias_table: \(169, 3\) -> \(49, 3\)"):
        load_checkpoint(model, sd)
    table = model.layers[0].blocks[0].attn.relative_position_bias_table
    assert torch.allclose(table, torch.arange(3, dtype=torch.float32).repeat(49, 1), atol=1e-6)


def test_resize_matches_the_official_fine_tuning_formula(rng):
    table = torch.from_numpy(rng.standard_normal((13 * 13, 4)).astype(np.float32))
    # utils.load_pretrained of the official repository:
    S1, S2 = 13, 23
    expected = F.interpolate(table.permute(1, 0).view(1, 4, S1, S1), size=(S2, S2), mode="bicubic")
    expected = expected.view(4, S2 * S2).permute(1, 0)
    assert torch.allclose(resize_relative_position_bias_table(table, 12), expected)
    assert torch.allclose(resize_relative_position_bias_table(table, 7), table, atol=1e-6)


# ----------------------------------------------------------------------------------------- bad files
def test_missing_file(cfg, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint file at"):
        load_checkpoint(SwinTransformer(cfg), tmp_path / "nope.pth")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncated"])
def test_corrupted_files(cfg, official, tmp_path, content):
    path = tmp_path / "bad.pth"
    if content == "truncated":
        torch.save({"model": official}, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        load_checkpoint(SwinTransformer(cfg), path)


def test_corrupted_safetensors(cfg, tmp_path):
    pytest.importorskip("safetensors")
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(CheckpointError, match="not a valid .safetensors file"):
        load_checkpoint(SwinTransformer(cfg), path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch EVIL_MARKER_FILE",))


def test_pickled_code_is_never_run(cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"model": {"patch_embed.proj.weight": torch.zeros(1)}, "payload": _Evil()}, f, protocol=2)
    with pytest.raises(CheckpointError):
        load_checkpoint(SwinTransformer(cfg), path)
    path2 = tmp_path / "evil2.pth"
    torch.save({"model": {"x": torch.zeros(1)}, "config": _Evil()}, path2)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_checkpoint(SwinTransformer(cfg), path2)
    assert not (tmp_path / "EVIL_MARKER_FILE").exists()


def test_bad_arguments(cfg, official):
    with pytest.raises(TypeError, match="path_or_dict must be a path .* or a state dict, got int"):
        load_checkpoint(SwinTransformer(cfg), 42)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        load_checkpoint("model", official)
    with pytest.raises(CheckpointError, match="not tensors: patch_embed.proj.weight \\(list\\)"):
        load_checkpoint(SwinTransformer(cfg), {"patch_embed.proj.weight": [1, 2]})
    with pytest.raises(ValueError, match="layout must be 'auto' or one of"):
        load_checkpoint(SwinTransformer(cfg), official, layout="keras")
    with pytest.raises(CheckpointError, match="holds no tensors"):
        read_checkpoint({})


# ----------------------------------------------------------------------------------------- saving
def test_save_writes_the_official_layout(cfg, official, images, reference_logits, tmp_path):
    model = SwinTransformer(cfg)
    model.load_state_dict(official)
    path = save_checkpoint(model, tmp_path / "sub" / "nano.pth", extra={"epoch": 5})
    obj = torch.load(path, weights_only=True)  # readable by plain torch, no pickled code
    assert set(obj) == {"model", "epoch"}
    assert {k: tuple(v.shape) for k, v in obj["model"].items()} == state_dict_shapes(cfg)
    assert list(obj["model"]) == list(state_dict_shapes(cfg))
    reloaded = load_checkpoint(SwinTransformer(cfg), path)
    assert torch.equal(logits_of(reloaded, images), reference_logits)
    with pytest.raises(ValueError, match="without a 'model' key"):
        save_checkpoint(model, tmp_path / "x.pth", extra={"model": 1})
    with pytest.raises(TypeError, match="path must be a str"):
        save_checkpoint(model, 3)


def test_wrapped_models_are_unwrapped(cfg, official, tmp_path):
    class Compiled(torch.nn.Module):  # what torch.compile returns keeps the model as _orig_mod
        def __init__(self, m):
            super().__init__()
            self._orig_mod = m

    inner = SwinTransformer(cfg)
    load_checkpoint(Compiled(inner), official)
    assert torch.equal(inner.norm.weight, official["norm.weight"])
    path = save_checkpoint(Compiled(inner), tmp_path / "c.pth")
    assert "norm.weight" in torch.load(path, weights_only=True)["model"]
