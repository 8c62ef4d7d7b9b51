"""DistributedDataParallel on the CPU: 2 processes launched by torchrun (gloo) stay in sync and match a
single process that trains on the same global batch (no augmentation, no drop path, same seed)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# one epoch of 4 steps: 1,259 images in global batches of 256 (2 x 128 under DDP: 630 // 128 = 4 per rank)
ARGS = ["--preset", "nano", "--set", "img_size=16", "embed_dim=24", "drop_path_rate=0.0", "--no-augment",
        "--epochs", "1", "--batch-size", "256", "--seed", "1", "--lr", "1e-3",
        "--warmup-epochs", "0", "--threads", "1", "--quiet", "--no-plot", "--amp", "off"]  # float32: exact comparison


def _run(cmd, out: Path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    r = subprocess.run(cmd + ARGS + ["--out", str(out)], capture_output=True, text=True, timeout=240, cwd=ROOT, check=False,
                       env=env)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}"
    return json.loads((out / "metrics.json").read_text()), torch.load(out / "checkpoint.pth", weights_only=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    ddp = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                "-m", "swin_edu.train"], tmp / "ddp")
    single = _run([sys.executable, "-m", "swin_edu.train"], tmp / "single")
    return ddp, single


def test_two_processes_stay_in_sync(runs):
    (m, _ckpt), _ = runs
    assert m["world_size"] == 2 and m["steps"] == 4
    # rank 0 gathered every rank's parameters after training: identical, bit for bit
    assert m["rank_param_max_diff"] == 0.0
    assert m["device"] == "cpu" and m["history"][0]["step"] == 4


def test_ddp_matches_one_process_with_the_same_global_batch(runs):
    (md, cd), (ms, cs) = runs
    assert ms["world_size"] == 1 and ms["steps"] == md["steps"] == 4
    assert cd["model"].keys() == cs["model"].keys()
    worst = max(float((cd["model"][k].float() - cs["model"][k].float()).abs().max()) for k in cd["model"])
    # float sums in another order: measured 5e-6 (batch 32). An Adam step moves a weight by up to lr = 1e-3, so another batch
    # split or a gradient that was summed instead of averaged would show as ~1e-3.
    assert worst < 1e-4, f"largest parameter difference between DDP and one process: {worst:.3g}"
    # the same training loss (reduced over the ranks) and the same evaluation (sharded, then reduced)
    hd, hs = md["history"][0], ms["history"][0]
    assert hd["train_loss"] == pytest.approx(hs["train_loss"], rel=1e-5)
    assert hd["val_loss"] == pytest.approx(hs["val_loss"], rel=1e-4)
    assert hd["val_acc"] == pytest.approx(hs["val_acc"], abs=1 / 179 + 1e-9)
    assert md["test"]["count"] == ms["test"]["count"] == 359
    assert md["test"]["acc"] == pytest.approx(ms["test"]["acc"], abs=1 / 359 + 1e-9)


def test_only_rank_zero_writes(runs, tmp_path):
    (m, _), _ = runs
    out = Path(m["args"]["out"])
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pth", "metrics.csv", "metrics.json"]
