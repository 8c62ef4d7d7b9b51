"""swin_edu.train: recipe pieces, a one-epoch smoke run, resume == never stopped (also after a cut-short
epoch), resume safety (other arguments, broken files, Ctrl-C), ablations with the paired rule, attention
maps, and clear errors for bad inputs. Runs use a small model (16x16 digits, C=24) and one thread."""
from __future__ import annotations

import contextlib
import dataclasses
import fractions
import io
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from swin_edu.config import SwinConfig
from swin_edu.data import load_digits
from swin_edu.device import autocast_dtype, cpu_has_native_bf16
from swin_edu.layout import state_dict_shapes
from swin_edu.model import CheckpointError
from swin_edu.train import (
    MODELS,
    RECIPES,
    ModelEMA,
    TrainArgs,
    TrainingInterrupted,
    build_config,
    build_model,
    confusion_matrix,
    data_kind,
    finish,
    load_trained,
    lr_at,
    make_optimizer,
    run_epoch,
    setup,
    smoothed_cross_entropy,
    train,
)
from swin_edu.train_cli import main, parse_overrides
from swin_edu.viz.attention import attention_maps, attention_to, plot_attention
from swin_edu.viz.training import plot_confusion, plot_curves, plot_straddle_examples

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"embed_dim": 24}
FAST = {"overrides": SMALL, "threads": 1, "progress": False, "verbose": False, "batch_size": 64}


def _cli(*args, timeout=120, module="swin_edu.train"):
    """``python -m swin_edu.train ARGS`` in a new process (the smoke run: the entry point itself)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=False,
                          timeout=timeout, cwd=ROOT, env=env)


def _main(*args):
    """The command line's ``main(ARGS)`` in this process: the same parser, messages and exit status as
    ``python -m swin_edu.train ARGS`` (whose entry point the smoke run covers), without a new process that imports
    torch again. A traceback would be an exception here, and fail the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:
            code = e.code
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.fixture(scope="module")
def small_digits():
    return load_digits(img_size=16)


# ----------------------------------------------------------------------------------------- recipe
def test_lr_schedule_warmup_then_cosine():
    total, warm, base, low = 100, 10, 1e-3, 1e-5
    lrs = [lr_at(s, total, warm, base, low) for s in range(total)]
    assert lrs[0] == pytest.approx(base / warm) and lrs[warm - 1] == pytest.approx(base)
    assert all(a < b for a, b in itertools.pairwise(lrs[:warm]))            # rising
    assert all(a >= b for a, b in zip(lrs[warm:], lrs[warm + 1:]))                   # then falling
    assert lrs[warm + (total - warm) // 2] == pytest.approx(low + (base - low) / 2)  # half-way: the middle
    assert lr_at(total, total, warm, base, low) == pytest.approx(low)
    assert lr_at(5, 10, 0, 1.0) == pytest.approx(0.5)                                # no warm-up


def test_smoothed_cross_entropy_equals_torch():
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(7, 10, generator=g), torch.randint(10, (7,), generator=g)
    for eps in (0.0, 0.1, 0.3):
        assert torch.allclose(smoothed_cross_entropy(logits, y, eps),
                              F.cross_entropy(logits, y, label_smoothing=eps), atol=1e-6)


def test_optimizer_groups_skip_norms_biases_and_tables():
    model = build_model(SwinConfig.preset("nano", ape=True))
    opt = make_optimizer(model, 1e-3, 0.05)
    decay, no_decay = opt.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(names[id(p)].endswith("weight") and p.ndim > 1 for p in decay["params"])
    nd = {names[id(p)] for p in no_decay["params"]}
    assert "absolute_pos_embed" in nd and "layers.0.blocks.0.attn.relative_position_bias_table" in nd
    assert "norm.weight" in nd and "head.bias" in nd
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_amp_modes():
    """auto: float32 on the CPU (the small models lose time to autocast's casts) and on MPS; bf16 or fp16
    on CUDA; off / bf16 / fp16 as asked."""
    assert isinstance(cpu_has_native_bf16(), bool)
    assert autocast_dtype("auto", "cpu") is None and autocast_dtype("off", "cpu") is None
    assert autocast_dtype("bf16", "cpu") is torch.bfloat16 and autocast_dtype("fp16", "cpu") is torch.float16
    assert autocast_dtype("auto", torch.device("mps")) is None
    with pytest.raises(ValueError, match="mode must be one of"):
        autocast_dtype("fp8", "cpu")


def test_parse_overrides():
    assert parse_overrides(["window_size=2", "depths=2,2", "num_heads=3,6", "ape=true", "qk_scale=none",
                            "drop_path_rate=0.0"]) == {
        "window_size": 2, "depths": (2, 2), "num_heads": (3, 6), "ape": True, "qk_scale": None,
        "drop_path_rate": 0.0}
    assert parse_overrides(["depths=4"]) == {"depths": (4,)}
    with pytest.raises(ValueError, match="unknown SwinConfig field 'windowsize'"):
        parse_overrides(["windowsize=2"])
    with pytest.raises(ValueError, match="expected FIELD=VALUE"):
        parse_overrides(["window_size"])


def test_confusion_matrix_matches_sklearn():
    from sklearn.metrics import confusion_matrix as sk

    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 5, 50), rng.integers(0, 5, 50)
    assert np.array_equal(confusion_matrix(torch.from_numpy(p), t, 5), sk(t, p, labels=range(5)))


def test_the_data_decides_the_model_and_the_recipe_unless_they_are_given():
    assert data_kind("digits") == "digits" and data_kind("straddle:distance=3") == "straddle"
    assert data_kind("my/images") == "folder"
    args = TrainArgs()
    assert args.epochs is None and args.resolved().epochs == RECIPES["digits"]["epochs"]
    cfg = build_config(args)
    assert (cfg.img_size, cfg.embed_dim, cfg.depths, cfg.num_heads, cfg.in_chans) == (16, 32, (2, 2), (2, 4), 1)
    assert cfg.name == "digits" and cfg.drop_path_rate == RECIPES["digits"]["drop_path"]
    straddle = TrainArgs(data="straddle").resolved()
    assert straddle.augment is False and straddle.epochs == RECIPES["straddle"]["epochs"]
    assert build_config(straddle).depths == MODELS["straddle"]["depths"]
    given = TrainArgs(preset="nano", epochs=3, lr=1e-3, augment=True).resolved()
    assert (given.epochs, given.lr, given.augment) == (3, 1e-3, True)
    assert build_config(given).img_size == 32 and build_config(given).in_chans == 1  # the preset, grey digits
    assert build_config(TrainArgs(overrides={"embed_dim": 48})).embed_dim == 48     # overrides win


# ----------------------------------------------------------------------------------------- smoke run (CLI)
@pytest.mark.slow
def test_one_epoch_smoke_run_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    r = _cli("--preset", "nano", "--set", "img_size=16", "embed_dim=24", "--epochs", "1", "--out", str(out),
             "--threads", "1", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "epoch" not in r.stderr and "test acc" not in r.stderr, r.stderr  # the log goes to stdout
    assert "epoch   1/1" in r.stdout and "test acc" in r.stdout
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert 0.0 <= summary["test_acc"] <= 1.0
    for name in ("checkpoint.pth", "metrics.json", "metrics.csv", "curves.png"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["history"]) == 1 and math.isfinite(m["history"][0]["train_loss"])
    assert m["history"][0]["step"] == 1259 // 64 and m["test"]["count"] == 359  # default batch: 64
    assert m["config"]["in_chans"] == 1 and m["config"]["num_classes"] == 10
    assert (out / "metrics.csv").read_text().splitlines()[0].startswith("epoch,step,lr,train_loss")
    # the checkpoint is the official layout: {"model": state_dict} with exactly the official keys
    ckpt = torch.load(out / "checkpoint.pth", map_location="cpu", weights_only=True)
    cfg = SwinConfig(**ckpt["config"])
    assert {k: tuple(v.shape) for k, v in ckpt["model"].items()} == state_dict_shapes(cfg)
    model, _ = load_trained(out)
    from swin_edu.model import SwinTransformer, load_checkpoint

    fresh = load_checkpoint(SwinTransformer(cfg).eval(), out / "checkpoint.pth")
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(x), fresh(x), atol=1e-6)


def test_setup_epoch_finish_is_train(small_digits):
    """train() is setup, run_epoch per epoch, finish: the pieces give the same weights as the whole."""
    args = TrainArgs(epochs=2, max_steps=None, seed=5, **FAST)
    whole = train(args, data=small_digits)
    run = setup(args, small_digits)
    rows = [run_epoch(run, e) for e in range(2)]
    parts = finish(run)
    assert [r["epoch"] for r in rows] == [1, 2] and parts["epochs_done"] == 2
    for (k, a), b in zip(whole["model"].state_dict().items(), parts["model"].state_dict().values()):
        assert torch.equal(a, b), k
    assert whole["test"] == parts["test"]


def test_validation_every_k_epochs_and_after_the_last(small_digits):
    r = train(data=small_digits, epochs=3, eval_every=2, **FAST)
    assert [h["val_acc"] is not None for h in r["history"]] == [False, True, True]
    r = train(data=small_digits, epochs=2, eval_every=0, max_steps=None, **FAST)
    assert [h["val_acc"] is not None for h in r["history"]] == [False, True]
    assert len(plot_curves(r["history"]).axes) == 2  # a history with gaps plots


# ----------------------------------------------------------------------------------------- resume
@pytest.mark.slow
@pytest.mark.parametrize("ema, cut", [(0.0, 19), (0.9, 19), (0.0, 25)])
def test_resume_gives_the_same_state_as_a_run_that_never_stopped(tmp_path, small_digits, ema, cut):
    """Cut after step 19 (the end of epoch 1) or 25 (inside epoch 2: that epoch is neither recorded nor
    saved, and the resumed run redoes it from its start)."""
    common = dict(FAST, epochs=2, max_steps=None, augment=True, erase=0.25, seed=3, ema=ema, checkpoint_every_s=0.0)
    straight = train(data=small_digits, out=str(tmp_path / "a"), **common)
    first = train(data=small_digits, out=str(tmp_path / "b"), **{**common, "max_steps": cut})
    assert first["epochs_done"] == 1 and first["steps"] == cut and first["stopped_early"]
    saved = torch.load(tmp_path / "b" / "checkpoint.pth", weights_only=True)
    assert saved["epoch"] == 1 and saved["step"] == 19 and len(saved["history"]) == 1
    resumed = train(data=small_digits, out=str(tmp_path / "b"), resume="auto", **common)
    assert resumed["epochs_done"] == 2 and resumed["steps"] == straight["steps"]
    sa, sb = straight["model"].state_dict(), resumed["model"].state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    ca = torch.load(tmp_path / "a" / "checkpoint.pth", weights_only=True)
    cb = torch.load(tmp_path / "b" / "checkpoint.pth", weights_only=True)
    for s1, s2 in zip(ca["optimizer"]["state"].values(), cb["optimizer"]["state"].values()):
        assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert ca["lr_scheduler"] == cb["lr_scheduler"]
    assert ("model_ema" in ca) == bool(ema)
    if ema:
        assert all(torch.equal(ca["model_ema"][k], cb["model_ema"][k]) for k in ca["model_ema"])
    for h1, h2 in zip(straight["history"], resumed["history"]):
        for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "step"):
            assert h1[k] == h2[k], k
    assert straight["test"] == resumed["test"]


def test_model_ema_is_the_warmed_up_average():
    """ema_t = d_t * ema_{t-1} + (1 - d_t) * w_t with d_t = min(decay, (1 + t) / (10 + t)); the swap for
    evaluation puts the weights back exactly."""
    lin = torch.nn.Linear(3, 2)
    ema = ModelEMA(lin, 0.9)
    expect = lin.weight.detach().clone()
    for t in range(1, 40):
        with torch.no_grad():
            lin.weight.add_(1.0)
        d = min(0.9, (1 + t) / (10 + t))
        expect = d * expect + (1 - d) * lin.weight.detach()
        ema.update(lin, t)
    assert torch.allclose(ema.shadow["weight"], expect, atol=1e-5)
    w = lin.weight.detach().clone()
    with ema.applied(lin):
        assert torch.equal(lin.weight, ema.shadow["weight"])
    assert torch.equal(lin.weight, w)
    with pytest.raises(ValueError, match="decay must be in"):
        ModelEMA(lin, 1.0)


def test_training_with_ema_evaluates_and_returns_the_average(tmp_path, small_digits):
    r = train(data=small_digits, out=str(tmp_path), epochs=1, max_steps=19, ema=0.8, **FAST)
    ckpt = torch.load(tmp_path / "checkpoint.pth", map_location="cpu", weights_only=True)
    sd = r["model"].state_dict()
    ema_sd, raw = ckpt["model_ema"], ckpt["model"]
    assert all(torch.equal(sd[k], ema_sd[k]) for k in ema_sd)  # the returned model holds the average
    assert any(not torch.equal(raw[k], ema_sd[k]) for k in ema_sd)  # which is not the last weights
    loaded, _ = load_trained(tmp_path)
    x = small_digits.normalize(small_digits.test.images[:4])
    with torch.no_grad():
        assert torch.allclose(loaded(x), r["model"](x), atol=1e-6)


def test_resume_refuses_another_config_or_other_training_arguments(tmp_path, small_digits, capsys):
    train(data=small_digits, out=str(tmp_path), epochs=2, max_steps=19, **FAST)
    with pytest.raises(ValueError, match="another config .*window_size 4 -> 2"):
        train(data=small_digits, out=str(tmp_path), resume="auto", epochs=2,
              **{**FAST, "overrides": {**SMALL, "window_size": 2}})
    with pytest.raises(ValueError, match="another config .*shift_windows True -> False"):  # an ablation
        train(data=small_digits, out=str(tmp_path), resume="auto", epochs=2, no_shift=True, **FAST)
    with pytest.raises(ValueError, match=r"other training arguments: batch_size 64 -> 32, lr 0.004 -> 0.002"):
        train(data=small_digits, out=str(tmp_path), resume="auto", epochs=2, lr=2e-3, **{**FAST, "batch_size": 32})
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        train(data=small_digits, out=None, resume=str(tmp_path / "nope.pth"), epochs=1, **FAST)
    # more epochs may follow: said, not refused
    r = train(data=small_digits, out=str(tmp_path), resume="auto", epochs=3, max_steps=20,
              **{**FAST, "verbose": True})
    text = capsys.readouterr().out
    assert "resumed from" in text and "had 2 epochs, this one 3" in text and r["steps"] == 20


@pytest.fixture(scope="module")
def one_epoch_run(small_digits, tmp_path_factory):
    """A run folder after one epoch (trained once, copied by each test that damages it)."""
    out = tmp_path_factory.mktemp("one_epoch")
    train(data=small_digits, out=str(out), epochs=1, max_steps=19, **FAST)
    return out


@pytest.mark.parametrize("damage", ["truncated", "pickled", "weights only"])
def test_resume_from_a_broken_or_foreign_checkpoint_is_a_clear_error(tmp_path, small_digits, one_epoch_run, damage):
    shutil.copytree(one_epoch_run, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "checkpoint.pth"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
        match = "not a readable torch checkpoint .corrupted or truncated"
    elif damage == "pickled":
        ckpt = torch.load(path, weights_only=True)
        ckpt["share"] = fractions.Fraction(1, 3)  # a Python object other than a tensor: unpickling could run code
        torch.save(ckpt, path)
        match = "contains Python objects other than tensors"
    else:
        torch.save({"model": torch.load(path, weights_only=True)["model"]}, path)
        match = "no 'config': it was not written by swin_edu.train"
    with pytest.raises(CheckpointError, match=match):
        train(data=small_digits, out=str(tmp_path), resume="auto", epochs=2, **FAST)
    r = _main("--set", "embed_dim=24", "--out", str(tmp_path), "--resume", "auto", "--epochs", "2", "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr and match.split(" ")[0] in r.stderr, r.stderr


def test_ctrl_c_says_where_the_last_checkpoint_is(tmp_path, small_digits, monkeypatch):
    import swin_edu.train as T

    calls = {"n": 0}

    def interrupt_at_step_25(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 25:
            raise KeyboardInterrupt
        return smoothed_cross_entropy(*a, **kw)

    monkeypatch.setattr(T, "smoothed_cross_entropy", interrupt_at_step_25)
    with pytest.raises(TrainingInterrupted, match=r"epoch 2 of 3 \(step 24\).*after epoch 1, is .*checkpoint.pth") as e:
        train(data=small_digits, out=str(tmp_path), epochs=3, checkpoint_every_s=0.0, **FAST)
    assert isinstance(e.value, KeyboardInterrupt) and "--resume auto" in str(e.value)
    calls["n"] = 0
    with pytest.raises(TrainingInterrupted, match="nothing was saved"):
        train(data=small_digits, out=None, epochs=3, **FAST)


@pytest.mark.slow
def test_ctrl_c_on_the_command_line_prints_no_traceback(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "swin_edu.train", "--set", "embed_dim=24", "--epochs", "200",
                          "--out", str(tmp_path), "--checkpoint-every", "0", "--threads", "1", "--no-progress"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
                         # a pytest-xdist worker ignores SIGINT and a child inherits that: give it the default back,
                         # as a terminal's Ctrl-C finds it
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # generous limits: on a loaded 2-core machine (the whole suite on 2 workers) an epoch can take 50x its quiet time
    deadline = time.monotonic() + 600
    while not (tmp_path / "checkpoint.pth").exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "checkpoint.pth").exists() and p.poll() is None, "no checkpoint after an epoch"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 130, (out, err)
    assert "Traceback" not in err and "the last checkpoint, after epoch" in err and "--resume auto" in err, err


def test_train_restores_global_torch_settings(small_digits):
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    train(data=small_digits, out=None, epochs=1, max_steps=1, **FAST)
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before


# ----------------------------------------------------------------------------------------- ablations
def test_ablation_flags_are_config_fields():
    """--no-shift / --no-rpb / --ape are the SwinConfig fields shift_windows / rel_pos_bias / ape."""
    base = TrainArgs(preset="nano")
    cfg = build_config(dataclasses.replace(base, no_shift=True, no_rpb=True, ape=True))
    assert (cfg.shift_windows, cfg.rel_pos_bias, cfg.ape) == (False, False, True)
    model = build_model(cfg)
    assert all(b.shift_size == 0 and b.attn.relative_position_bias_table is None for b in model.blocks())
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == state_dict_shapes(cfg)
    default = build_config(base)
    assert (default.shift_windows, default.rel_pos_bias, default.ape) == (True, True, False)


@pytest.mark.parametrize("flags", [{"no_shift": True}, {"no_rpb": True}, {"ape": True}])
def test_ablation_runs_train(flags, small_digits):
    r = train(data=small_digits, out=None, epochs=1, max_steps=3, **FAST, **flags)
    sd = r["model"].state_dict()
    if flags.get("no_shift"):
        assert not any(k.endswith("attn_mask") for k in sd)
    if flags.get("no_rpb"):
        assert not r["cfg"].rel_pos_bias
        assert not any("relative_position" in k for k in sd)
    if flags.get("ape"):
        assert sd["absolute_pos_embed"].shape == (1, 64, 24) and r["cfg"].ape


def test_the_paired_rule():
    """The rule of every ablation: paired differences by seed, a 95 % t-interval of their mean, and a
    verdict only when the interval excludes 0."""
    from scipy import stats

    from swin_edu.ablation import paired_difference

    a, b = [0.98, 0.97, 0.99, 0.96], [0.97, 0.97, 0.98, 0.97]
    r = paired_difference(a, b)
    d = np.subtract(a, b)
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert r["mean"] == pytest.approx(d.mean()) and r["high"] - r["low"] == pytest.approx(2 * half)
    assert r["verdict"] == "not resolved" and r["low"] < 0 < r["high"]
    assert paired_difference([1.0, 1.0, 0.99], [0.75, 0.74, 0.76])["verdict"] == "better"
    assert paired_difference([0.5, 0.52, 0.49], [0.9, 0.91, 0.9])["verdict"] == "worse"
    one = paired_difference([0.9], [0.8])
    assert one["verdict"] == "not resolved" and math.isinf(one["half_width"])  # one seed resolves nothing
    # pairing matters: a one-point gain on every seed, under a seed-to-seed spread of 19 points, is resolved
    # when the runs are paired by seed; two unpaired samples (Welch's t-test) cannot tell it from noise
    base = [0.90, 0.95, 0.85, 0.99, 0.80]
    better = [x + 0.01 + 0.002 * (i % 2) for i, x in enumerate(base)]
    assert paired_difference(better, base)["verdict"] == "better"
    assert stats.ttest_ind(better, base, equal_var=False).pvalue > 0.5
    with pytest.raises(ValueError, match="paired"):
        paired_difference([0.9, 0.8], [0.9])


def test_ablation_grid_table_and_docs(tmp_path):
    from swin_edu import ablation

    base = TrainArgs(epochs=1, max_steps=1, **FAST)
    res = ablation.run_ablation(base, seeds=[0, 1], variants=["swin", "no pos."], out=tmp_path / "grid",
                                log=lambda s: None)
    assert [(r["variant"], r["seed"]) for r in res["runs"]] == [("swin", 0), ("no pos.", 0), ("swin", 1),
                                                                ("no pos.", 1)]
    assert json.loads((tmp_path / "grid" / "results.json").read_text())["runs"] == res["runs"]
    rows = ablation.summarize(res)
    assert [r["variant"] for r in rows] == ["swin", "no pos."] and all(r["n"] == 2 for r in rows)
    c = rows[1]["vs_swin"]
    assert c["n"] == 2 and c["verdict"] in ("better", "worse", "not resolved")
    table = ablation.markdown_table(rows)
    assert table.count("\n") == 3 and " ± " in table and "Δ vs swin, paired by seed (95 % CI)" in table
    if c["verdict"] == "not resolved":
        assert "not resolved with 2 seeds" in table
    doc, results = tmp_path / "training.md", tmp_path / "results.json"
    doc.write_text("# results\n\nbefore\n\n<!-- ablation:start -->\nold table\n<!-- ablation:end -->\n\nafter\n")
    ablation.update_docs(doc, res, results_path=results)
    text = doc.read_text()
    assert "old table" not in text and "before" in text and "after" in text and "| no pos. |" in text
    assert ablation.load_results(results)["ablation"]["rows"][1]["variant"] == "no pos."
    with pytest.raises(ValueError, match="unknown variant"):
        ablation.run_ablation(base, seeds=[0], variants=["no shift"], out=tmp_path / "x")


def test_the_recorded_results_ship_inside_the_package():
    """Notebook 08 reads the recorded results from the package (an installed wheel has no docs/ folder)."""
    from swin_edu import ablation

    assert ablation.RESULTS_PATH.is_file() and ablation.RESULTS_PATH.parent.parent == Path(ablation.__file__).parent
    recorded = ablation.load_results()
    assert {"ablation", "straddle"} <= set(recorded), sorted(recorded)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'swin_edu = ["results/*.json",' in pyproject


# ----------------------------------------------------------------------------------------- attention
def test_attention_maps_and_the_shifted_window_picture(small_digits):
    torch.manual_seed(0)
    model = build_model(SwinConfig.preset("nano", in_chans=1)).eval()
    x = small_digits.normalize(load_digits(img_size=32).test.images[:2])
    w = attention_maps(model, x, stage=0, block=0)
    sw = attention_maps(model, x, stage=0, block=1)
    assert w["attn"].shape == (2, 16, 3, 16, 16) and (w["shift_size"], sw["shift_size"]) == (0, 2)
    assert torch.allclose(sw["attn"].sum(-1), torch.ones(2, 16, 3, 16), atol=1e-5)
    # W-MSA: the query (5, 5) sees exactly its 4x4 window, rows 4..7 and columns 4..7
    a = attention_to(w, (5, 5))
    assert a.shape == (16, 16) and a.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(np.argwhere(a > 0).min(0), [4, 4]) and np.array_equal(np.argwhere(a > 0).max(0), [7, 7])
    # SW-MSA: the window moved by 2, rows 2..5 and columns 2..5
    b = attention_to(sw, (5, 5))
    assert np.array_equal(np.argwhere(b > 1e-12).min(0), [2, 2]) and np.array_equal(np.argwhere(b > 1e-12).max(0), [5, 5])
    # at the corner the cyclic shift wraps the window around; the mask zeroes the keys from far away
    c = attention_to(sw, (0, 0))
    assert c.sum() == pytest.approx(1.0, abs=1e-5)
    assert c[0:2, 0:2].sum() == pytest.approx(1.0, abs=1e-5)
    assert c[14:, 14:].max() < 1e-30
    fig = plot_attention(x[0, 0].numpy(), [w, sw], ["W-MSA", "SW-MSA"], [(5, 5), (0, 0)], patch_size=2)
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match="query must be inside"):
        attention_to(w, (16, 0))
    with pytest.raises(ValueError, match="block must be in 0..1"):
        attention_maps(model, x, stage=0, block=2)


def test_figures():
    hist = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "train_acc": 1 - 1 / (e + 1),
             "val_acc": 1 - 1 / (e + 2)} for e in range(1, 4)]
    assert len(plot_curves(hist, title="t").axes) == 2
    assert len(plot_confusion(np.eye(3, dtype=int) * 5).axes) == 2
    with pytest.raises(ValueError, match="history must be a non-empty list"):
        plot_curves([])
    from swin_edu.data import make_straddle

    s = make_straddle(12, seed=0)
    fig = plot_straddle_examples(s.images, s.labels, patch=2, region=8, ncols=4)
    assert len(fig.axes) == 12 and [ax.get_title() for ax in fig.axes[:4]] == ["same", "same", "different", "different"]
    with pytest.raises(ValueError, match="one label each"):
        plot_straddle_examples(s.images, s.labels[:3], patch=2, region=8)


# ----------------------------------------------------------------------------------------- bad inputs
def test_unknown_preset_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"unknown preset 'huge'.*'nano'"):
        TrainArgs(preset="huge")
    r = _main("--preset", "huge", "--out", str(tmp_path))
    assert r.returncode == 2 and "unknown preset 'huge'" in r.stderr and "Traceback" not in r.stderr


def test_empty_folder_is_a_clear_error_from_the_command_line(tmp_path):
    (tmp_path / "empty").mkdir()
    r = _main("--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "is an empty folder" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_threads_zero_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="threads must be a positive int or None, got 0"):
        TrainArgs(threads=0)
    r = _main("--threads", "0", "--out", str(tmp_path))
    assert r.returncode == 2 and "threads must be a positive int" in r.stderr and "Traceback" not in r.stderr


def test_training_on_an_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, (name, bright) in enumerate((("dark", 40), ("light", 200))):
        (tmp_path / "pics" / name).mkdir(parents=True)
        for i in range(20):
            arr = np.clip(bright + rng.normal(0, 20, (10 + i % 3, 12, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(tmp_path / "pics" / name / f"{i}.png")
    r = train(data=str(tmp_path / "pics"), out=str(tmp_path / "run"), epochs=3, lr=3e-3, warmup_epochs=0.0,
              **{**FAST, "batch_size": 8, "overrides": {"img_size": 16, "embed_dim": 24}})
    assert r["cfg"].in_chans == 3 and r["cfg"].num_classes == 2 and r["data_splits"].classes == ["dark", "light"]
    assert r["test"]["count"] == 8 and r["test"]["acc"] >= 0.75, r["test"]  # dark vs light: easy
    assert (tmp_path / "run" / "checkpoint.pth").is_file()


def test_images_of_the_wrong_size_are_a_clear_error(small_digits):
    with pytest.raises(ValueError, match=r"must be 32x32 to match the model's img_size=32, got 16x16"):
        train(data=small_digits, preset="nano", out=None, epochs=1, threads=1, progress=False)  # nano: 32x32


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs must be a positive int"),
    ({"lr": -1.0}, "lr must be a non-negative number"),
    ({"amp": "fp8"}, "amp must be one of"),
    ({"attn_impl": "flash"}, "attn_impl must be 'sdpa' or 'explicit'"),
    ({"overrides": [("window_size", 2)]}, "overrides must be a dict"),
    ({"ema": 1.0}, r"ema must be a decay in \[0, 1\)"),
    ({"ema": -0.5}, r"ema must be a decay in \[0, 1\)"),
    ({"eval_every": -1}, "eval_every must be an int >= 0"),
    ({"checkpoint_every_s": -5.0}, "checkpoint_every_s must be a non-negative number"),
    ({"augment": "yes"}, "augment must be True or False"),
])
def test_bad_arguments(kwargs, match):
    error = TypeError if ("overrides" in kwargs or "augment" in kwargs) else ValueError
    with pytest.raises(error, match=match):
        TrainArgs(**kwargs)


def test_bad_arguments_from_the_command_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--set", "window=2", "--out", "/nonexistent/x"])
    assert e.value.code == 2 and "unknown SwinConfig field 'window'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--set", "num_heads=5", "--out", "/nonexistent/x"])
    assert "num_heads" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for CUDA where there is none")
def test_a_device_that_is_not_here(small_digits):
    with pytest.raises(ValueError, match="'cuda' was asked for but is not available"):
        train(data=small_digits, out=None, epochs=1, device="cuda", **FAST)


def test_batch_larger_than_the_data_and_wrong_num_classes(small_digits):
    with pytest.raises(ValueError, match="fewer than batch_size=4096"):
        train(data=small_digits, out=None, epochs=1, **{**FAST, "batch_size": 4096})
    with pytest.raises(ValueError, match="num_classes=5 was set but the data has 10 classes"):
        train(data=small_digits, out=None, epochs=1, **{**FAST, "overrides": {**SMALL, "num_classes": 5}})
    with pytest.raises(TypeError, match="data must be a swin_edu.data.DataSplits"):
        train(data=(1, 2), out=None, epochs=1, **FAST)


# ----------------------------------------------------------------------------------------- notebook 08's self-checks
def test_notebook08_checks_pass_the_references_and_explain_typical_mistakes(monkeypatch):
    from swin_edu.exercises import EXERCISES, check, settings
    from swin_edu.exercises.training import _buggy_fancy, _cos

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("SWIN_EDU_STRICT_CHECKS", raising=False)
    monkeypatch.setattr(settings, "quiet", True)
    assert {"lr_schedule", "smoothed_cross_entropy", "confusion_matrix"} <= set(EXERCISES)
    assert check.lr_schedule.notebook == "08"
    for hidden in (False, True):
        assert check.lr_schedule(lr_at, hidden=hidden)
        assert check.smoothed_cross_entropy(smoothed_cross_entropy, hidden=hidden)
        assert check.confusion_matrix(confusion_matrix, hidden=hidden)

    def stub(*args):
        raise NotImplementedError()

    assert check.lr_schedule(stub).status == "unsolved"
    msg = check.lr_schedule(lambda *a: _cos(*a, warm_from_zero=True)).message
    assert "case 1 of 7" in msg and "warm-up starts at 0" in msg
    assert "half a period" in check.lr_schedule(lambda *a: _cos(*a, full_period=True)).message
    assert "return one number" in check.lr_schedule(lambda *a: [lr_at(*a)]).message

    def naive(logits, target, eps):  # log of softmax: fine on small logits, inf on large ones
        p = torch.softmax(logits, -1)
        q = torch.full_like(p, eps / p.shape[-1])
        q[torch.arange(len(target)), target] += 1 - eps
        return -(q * torch.log(p)).sum(-1).mean()

    assert check.smoothed_cross_entropy(naive)
    assert "log_softmax" in check.smoothed_cross_entropy(naive, hidden=True).message
    plain = check.smoothed_cross_entropy(lambda lg, t, eps: F.cross_entropy(lg, t))
    assert "smoothing was not applied" in plain.message
    swapped = check.confusion_matrix(lambda p, t, k: confusion_matrix(t, p, k))
    assert "rows and columns are swapped" in swapped.message
    assert "np.add.at" in check.confusion_matrix(_buggy_fancy).message
