"""swin_edu.weights: the course's own checkpoints (shipped, offline) and the released Swin-T (fetched, verified).

No test downloads anything (SWIN_EDU_OFFLINE is set for the whole suite, tests/conftest.py). The verification,
digest and error paths are tested fast on a small "release" of the nano model's layout (a test entry of
RELEASES); the real Swin-T layout (a 110 MB file made locally with random weights, in a temporary folder) and the
online path of notebooks 06 and 07 are slow tests."""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from swin_edu import complexity, weights
from swin_edu.config import SwinConfig
from swin_edu.layout import state_dict_shapes
from swin_edu.model import SwinTransformer, save_checkpoint
from swin_edu.train import TrainArgs

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = "swin_tiny_patch4_window7_224"


# ------------------------------------------------------------------------------------------------ shipped
@pytest.mark.parametrize("name", weights.COURSE_CHECKPOINTS)
def test_shipped_checkpoints_load_and_record_how_they_were_made(name):
    sd, cfg = weights.course_state_dict(name)
    info = weights.course_info(name)
    assert set(sd) == set(state_dict_shapes(cfg, buffers=False)) and all(v.dtype == np.float32 for v in sd.values())
    assert sum(v.size for v in sd.values()) == info["params"] == complexity.param_count(cfg)
    assert info["seed"] == 0 and info["recipe"]["data"] == name and info["recipe"]["epochs"] >= 6
    assert info["data"]["split_seed"] == 0 and sum(info["data"]["sizes"].values()) > 1000
    made = info["made_with"]
    assert len(made["commit"]) == 40 and made["torch"] and made["threads"] == 1
    assert info["test"]["correct"] == round(info["test"]["acc"] * info["test"]["count"])
    assert len(info["test"]["preds"]) == info["test"]["count"]
    size = (weights.ASSETS / f"{name}.npz").stat().st_size
    assert size < 1_000_000, "shipped checkpoints stay small"


def test_the_shipped_accuracy_is_the_recipes():
    """digits: the default recipe reaches 98.6-99.2 % over seeds (docs/training.md); straddle: 100 % (every seed)."""
    assert weights.course_info("digits")["test"]["acc"] > 0.98
    assert weights.course_info("straddle")["test"]["acc"] == 1.0


@pytest.mark.parametrize("name", weights.COURSE_CHECKPOINTS)
def test_measured_now_agrees_with_the_record(name):
    r = weights.check_course(name)
    assert r["agree"] and r["measured_acc"] == r["recorded_acc"] and r["changed_preds"] == 0
    # why every prediction is stable: the smallest top-1 margin recorded is far above float32 rounding
    assert weights.course_info(name)["test"]["min_margin"] > 1e-3


def test_command_line_check_prints_both_accuracies_and_exits_0(capsys):
    assert weights.main(["check", "digits"]) == 0
    out = capsys.readouterr().out
    acc = weights.course_info("digits")["test"]["acc"]
    assert f"measured now {acc:.2%}" in out and f"recorded {acc:.2%}" in out and out.strip().endswith("agree")


def test_a_changed_shipped_file_is_refused(monkeypatch, tmp_path):
    for name in ("digits.npz", "digits.json"):
        (tmp_path / name).write_bytes((weights.ASSETS / name).read_bytes())
    monkeypatch.setattr(weights, "ASSETS", tmp_path)
    sd, _ = weights.course_state_dict("digits")
    sd["head.bias"] = sd["head.bias"] + 1
    np.savez_compressed(tmp_path / "digits.npz", **sd)
    with pytest.raises(ValueError, match="was changed after it was made"):
        weights.course_state_dict("digits")
    with pytest.raises(ValueError, match=r"name must be one of \['digits', 'straddle'\]"):
        weights.course_info("mnist")


def test_held_out_is_the_test_split_normalised_as_in_training():
    from swin_edu.data import load_digits

    images, labels = weights.held_out("digits")
    data = load_digits(img_size=16)
    assert images.shape == (359, 1, 16, 16) and images.dtype == np.float32 and labels.dtype == np.int64
    assert np.array_equal(labels, data.test.labels.numpy())
    np.testing.assert_allclose(images, data.normalize(data.test.images).numpy(), rtol=1e-6, atol=1e-6)


def test_evaluate_held_out_compares_with_the_package_and_the_record(capsys):
    model = weights.course_model("digits")
    r = weights.evaluate_held_out(lambda x: model(torch.from_numpy(x)), "digits", who="the package model")
    assert r["same_as_package"] and r["correct"] == r["recorded_correct"]
    assert "the package model: " in capsys.readouterr().out
    shuffled = weights.evaluate_held_out(lambda x: model(torch.from_numpy(x)).roll(1, dims=1), "digits")
    assert not shuffled["same_as_package"] and "model: NO" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"predict must return logits of shape \(359, 10\)"):
        weights.evaluate_held_out(lambda x: np.zeros((3, 10)), "digits")
    with pytest.raises(TypeError, match="predict must be a function"):
        weights.evaluate_held_out("model", "digits")


@pytest.mark.slow
def test_rebuilding_the_straddle_checkpoint_gives_its_accuracy_and_predictions(tmp_path):
    """Retrain the straddle checkpoint with its recorded recipe and seed (one thread, seconds). A float-exact
    rebuild is not promised across CPUs (another BLAS or instruction set rounds sums differently and training
    amplifies it), so the comparison is what the recipe guarantees: the recorded test accuracy (100 %: every seed
    of the recipe reaches it, docs/training.md) within one group of four images (0.4 %), and at least 99 % of the
    1,024 test predictions the same. On the machine and torch that made it, the weights are bit-identical."""
    info = weights.build_course_checkpoint("straddle", tmp_path, seed=0, threads=1)
    recorded = weights.course_info("straddle")
    assert abs(info["test"]["acc"] - recorded["test"]["acc"]) <= 4 / 1024
    same = np.mean(np.array(info["test"]["preds"]) == np.array(recorded["test"]["preds"]))
    assert same >= 0.99, same
    assert json.loads(json.dumps(info["config"])) == recorded["config"]        # tuples are lists in the JSON
    recipe = json.loads(json.dumps(info["recipe"]))
    defaults = {f.name: f.default for f in dataclasses.fields(TrainArgs)}
    for name_, value in recipe.items():   # a field added after the checkpoint was made (e.g. "head") has its default
        assert value == recorded["recipe"].get(name_, defaults[name_]), (name_, value)
    assert set(recorded["recipe"]) <= set(recipe)
    assert info["data"]["mean"] == pytest.approx(recorded["data"]["mean"])
    if info["made_with"]["torch"] == recorded["made_with"]["torch"] and info["made_with"]["platform"] == \
            recorded["made_with"]["platform"]:
        assert info["sha256"] == recorded["sha256"] or same == 1.0


# ------------------------------------------------------------------------------------------------ released
@pytest.fixture
def nano_release(monkeypatch, tmp_path):
    """A small stand-in for the release: the nano model's official layout, 'published' with its parameter
    count. Returns (name, cache folder, a function that writes a release file with a given seed)."""
    nano = SwinConfig.preset("nano")
    monkeypatch.setitem(weights.RELEASES, "swin_nano_test", {
        "url": "https://example.invalid/swin_nano_test.pth", "preset": "nano", "params": complexity.param_count(nano),
        "keys": len(state_dict_shapes(nano, buffers=True)), "data": "none", "size_mb": 1})
    cache = tmp_path / "cache"

    def make(seed=0, path=None, mutate=None):
        torch.manual_seed(seed)
        model = SwinTransformer(nano)
        path = path or tmp_path / f"release_{seed}.pth"
        sd = model.state_dict()
        if mutate:
            sd = mutate(dict(sd))
        torch.save({"model": sd}, path)
        return path
    return "swin_nano_test", cache, make


def test_fetch_from_a_file_verifies_copies_and_records_the_digest(nano_release):
    name, cache, make = nano_release
    src = make(0)
    path = weights.fetch(name, dir=cache, file=src, progress=False)
    record = json.loads((cache / f"{name}.sha256.json").read_text())
    assert path == cache / f"{name}.pth" and path.read_bytes() == src.read_bytes()
    assert record["sha256"] == weights._sha256(src) and record["source"].startswith("file ")
    assert "trust on first use" in record["note"]
    sd = weights.load_released(name, dir=cache)
    assert set(sd) == set(state_dict_shapes(SwinConfig.preset("nano"), buffers=True))
    assert weights.fetch(name, dir=cache, progress=False) == path   # in the cache already: verified again


def test_a_different_file_later_is_refused_by_the_recorded_digest(nano_release):
    name, cache, make = nano_release
    weights.fetch(name, dir=cache, file=make(0), progress=False)
    with pytest.raises(weights.WeightsError, match=r"release_1.pth has SHA-256 .* but the first verified .* had"):
        weights.fetch(name, dir=cache, file=make(1), progress=False)
    make(2, path=cache / f"{name}.pth")   # the cached file replaced behind the cache's back
    with pytest.raises(weights.WeightsError, match="the file changed. If you trust the new one, delete"):
        weights.load_released(name, dir=cache)


@pytest.mark.parametrize("mutate,match", [
    (lambda sd: {k: v for k, v in sd.items() if k != "head.bias"}, r"keys instead of .* missing \['head.bias'\]"),
    (lambda sd: {**sd, "head.weight": sd["head.weight"][:5]}, r"head.weight has shape \(5, 192\), the official one \(10, 192\)"),
    (lambda sd: {**sd, "norm.weight": sd["norm.weight"].fill_(float("nan"))}, r"non-finite values .* in \['norm.weight'\]"),
    (lambda sd: {**sd, "norm.bias": sd["norm.bias"].long()}, "norm.bias holds torch.int64, not floating-point"),
    (lambda sd: {("swin." + k): v for k, v in sd.items()}, "it looks like the hf layout"),
])
def test_a_foreign_file_is_one_clear_error_that_names_the_file_and_the_mismatch(nano_release, mutate, match):
    name, cache, make = nano_release
    src = make(0, mutate=mutate)
    with pytest.raises(weights.WeightsError, match=match) as e:
        weights.fetch(name, dir=cache, file=src, progress=False)
    assert str(src) in str(e.value)
    assert not (cache / f"{name}.pth").exists() and not (cache / f"{name}.sha256.json").exists()


def test_a_truncated_or_unsafe_file_is_refused_without_a_traceback(nano_release, tmp_path):
    name, cache, make = nano_release
    src = make(0)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(weights.WeightsError, match=r"cut.pth cannot be read as the swin_nano_test weights \(5,000 "
                                                   r"bytes.*corrupted or truncated"):
        weights.verify_file(name, cut)
    pickled = tmp_path / "pickled.pth"
    torch.save({"model": {"x": object()}}, pickled)
    with pytest.raises(weights.WeightsError, match="pickled.pth cannot be read"):
        weights.verify_file(name, pickled)
    with pytest.raises(weights.WeightsError, match="no such file"):
        weights.verify_file(name, tmp_path / "absent.pth")


def test_command_line_fetch_errors_are_one_line_and_exit_1(tmp_path):
    cut = tmp_path / "cut.pth"
    cut.write_bytes(b"not a checkpoint")
    out = subprocess.run([sys.executable, "-m", "swin_edu.weights", "fetch", TINY, "--dir", str(tmp_path / "c"),
                          "--file", str(cut)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr and out.stdout == ""
    assert out.stderr.startswith(f"error: {cut} cannot be read as the {TINY} weights") and out.stderr.count("\n") == 1


def test_released_offline_says_so_in_one_line_and_returns_none(capsys, tmp_path):
    assert os.environ.get("SWIN_EDU_OFFLINE") == "1"   # tests/conftest.py: no test downloads
    assert weights.released(TINY, dir=tmp_path) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(f"offline: {TINY} is not in the cache")
    assert "SWIN_EDU_OFFLINE is set" in out and f"python -m swin_edu.weights fetch {TINY}" in out


def test_released_uses_the_verified_cache_offline_and_refuses_a_bad_one(nano_release, capsys):
    name, cache, make = nano_release
    weights.fetch(name, dir=cache, file=make(0), progress=False)
    sd = weights.released(name, dir=cache)
    assert sd is not None and "the released weights, verified" in capsys.readouterr().out
    (cache / f"{name}.pth").write_bytes(b"garbage")
    assert weights.released(name, dir=cache) is None
    out = capsys.readouterr().out
    assert out.startswith("⚠ ") and "has SHA-256" in out and "course's own digits checkpoint" in out


def test_the_download_path_verifies_before_keeping(nano_release, monkeypatch):
    """The network is replaced by a function that writes a file: a good one is kept and recorded, a foreign one
    is deleted and refused."""
    name, cache, make = nano_release
    good = make(0)
    monkeypatch.setattr(weights, "_download", lambda url, dest, n, progress: dest.write_bytes(good.read_bytes()))
    assert weights.fetch(name, dir=cache, progress=False).read_bytes() == good.read_bytes()
    assert json.loads((cache / f"{name}.sha256.json").read_text())["source"].startswith("https://")
    (cache / f"{name}.pth").unlink()
    (cache / f"{name}.sha256.json").unlink()
    monkeypatch.setattr(weights, "_download", lambda url, dest, n, progress: dest.write_bytes(b"<html>404</html>"))
    with pytest.raises(weights.WeightsError, match="cannot be read"):
        weights.fetch(name, dir=cache, progress=False)
    assert not list(cache.glob("*.pth*"))


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path / "w"))
    assert weights.cache_dir() == tmp_path / "w" and weights.cache_dir(tmp_path) == tmp_path
    monkeypatch.delenv(weights.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert weights.cache_dir() == tmp_path / "swin_edu" / "weights"
    with pytest.raises(ValueError, match="name must be one of"):
        weights.fetch("swin_huge", dir=tmp_path)


def test_imagenet_classes_and_top_k():
    classes = weights.imagenet_classes()
    assert len(classes) == len(set(classes)) == 1000 and classes[0] == "tench" and classes[-1] == "toilet tissue"
    assert "BSD 3-Clause" in (weights.ASSETS / "imagenet1k_classes.LICENSE").read_text()
    logits = torch.zeros(1000)
    logits[[652, 3]] = torch.tensor([5.0, 4.0])
    top = weights.top_k(logits, 2)
    assert [n for n, _ in top] == [classes[652], classes[3]] and top[0][1] > top[1][1]
    with pytest.raises(ValueError, match="logits must be the 1-D logits of one image"):
        weights.top_k(torch.zeros(2, 1000))
    x = weights.imagenet_input(np.full((8, 8, 3), 0.485, np.float32))
    assert tuple(x.shape) == (1, 3, 8, 8) and abs(float(x[0, 0, 0, 0])) < 1e-6
    with pytest.raises(ValueError, match=r"image must be \(H, W, 3\)"):
        weights.imagenet_input(np.zeros((8, 8)))


# ------------------------------------------------------------------------------------------------ Swin-T (slow)
@pytest.fixture(scope="module")
def swin_t_file(tmp_path_factory):
    """A file in the official release's layout with random weights (110 MB, in a temporary folder)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("swin_t") / "swin_tiny_patch4_window7_224.pth"
    save_checkpoint(SwinTransformer(SwinConfig.preset("tiny")), path)
    return path


@pytest.mark.slow
def test_the_official_layout_of_swin_t_verifies(swin_t_file, tmp_path):
    out = subprocess.run([sys.executable, "-m", "swin_edu.weights", "fetch", TINY, "--dir", str(tmp_path),
                          "--file", str(swin_t_file), "--no-progress"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "verified (official layout, 28,288,354 parameters, finite values)" in out.stdout
    sd = weights.load_released(TINY, dir=tmp_path)
    assert len(sd) == 190 and sum(v.numel() for k, v in sd.items() if not k.endswith(("index", "mask"))) == 28_288_354


@pytest.mark.slow
def test_notebooks_06_and_07_run_the_online_path_with_a_local_file(swin_t_file, tmp_path):
    """`fetch --file` with a locally made official-layout file, then notebooks 06 and 07 (source editions) with that
    cache: the learner's numpy and torch Swin-T load the verified weights, classify the photo (top 5), agree with
    the package model (and with HF transformers where installed), and 07 draws the stage maps of those weights.
    Still offline: SWIN_EDU_OFFLINE stays set, the cache is what makes the path online."""
    from nbclient import NotebookClient
    import nbformat

    cache = tmp_path / "cache"
    assert weights.main(["fetch", TINY, "--dir", str(cache), "--file", str(swin_t_file), "--no-progress"]) == 0
    old = os.environ.get(weights.CACHE_ENV)
    os.environ[weights.CACHE_ENV] = str(cache)
    try:
        for name, cells in (("06_numpy_model", ("c06-53",)), ("07_pytorch_model", ("c07-77", "c07-78", "c07-80"))):
            nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
            NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
            errors = [c.get("id") for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
            assert not errors, (name, errors)
            text = {c.get("id"): "".join(o.get("text", "") for o in c.get("outputs", [])) for c in nb.cells}
            first = text[cells[0]]
            assert f"{TINY}: the released weights, verified" in first and "top 5 on the photo" in first, first
            if name.startswith("07"):
                assert "against the package model" in first
                assert "against HF transformers" in text["c07-78"]
                assert "(7, 7, 768): stride 32" in text["c07-80"]
    finally:
        if old is None:
            os.environ.pop(weights.CACHE_ENV, None)
        else:
            os.environ[weights.CACHE_ENV] = old
