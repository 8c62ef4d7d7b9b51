"""swin_edu.device (device choice for the notebooks) and a smoke run of swin_edu.bench."""
from __future__ import annotations

import json

import pytest
import torch

from swin_edu import bench
from swin_edu.device import amp_dtype, available_devices, describe, describe_device, pick_device, synchronize


def test_pick_device_prefers_cuda_then_mps_then_cpu():
    have = available_devices()
    assert have[-1] == "cpu" and have == [d for d in ("cuda", "mps", "cpu") if d in have]
    assert pick_device().type == have[0]
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")
    assert pick_device(" CPU ") == torch.device("cpu")


def test_pick_device_errors():
    missing = [d for d in ("cuda", "mps") if d not in available_devices()]
    for d in missing:
        with pytest.raises(ValueError, match=rf"'{d}' was asked for but is not available here; available: \["):
            pick_device(d)
    with pytest.raises(ValueError, match="prefer must name a device type"):
        pick_device("gpu0")
    with pytest.raises(ValueError, match="prefer must be one of"):
        pick_device("meta")
    with pytest.raises(TypeError, match="prefer must be None, a str or a torch.device, got int"):
        pick_device(0)


def test_describe_device():
    text = describe_device("cpu")
    assert text.startswith("cpu: ") and torch.__version__ in text and "threads" in text
    info = describe_device("cpu", as_dict=True)
    assert info["device"] == "cpu" and info["threads"] == torch.get_num_threads() and info["text"] == text
    assert isinstance(describe(), str)
    assert amp_dtype("cpu") == torch.bfloat16
    synchronize("cpu")  # a no-op on the CPU


def test_bench_smoke(capsys, tmp_path):
    """One tiny round: the report has the plain and optimized models and HF, the same answer (same
    weights: fp32 rounding, 1e-4 absolute on logits of size ~1), the ratios, and the machine and its load."""
    pytest.importorskip("transformers")
    out = tmp_path / "bench.json"
    assert bench.main(["--model", "nano", "--batch", "2", "--rounds", "2", "--iters", "1", "--warmup", "0",
                       "--impls", "plain,optimized,hf,timm", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for needle in ("| plain |", "| optimized |", "| hf |", "throughput ratio optimized/hf", "throughput ratio plain/hf",
                   "throughput ratio optimized/plain", "median of per-round ratios", "load average", "AMD" if
                   "AMD" in describe_device("cpu") else "cpu", "torch " + torch.__version__):
        assert needle in text, needle
    report = json.loads(out.read_text())
    assert report["results"]["hf"]["max_abs_diff_vs_plain"] < 1e-4
    assert report["results"]["optimized"]["max_abs_diff_vs_plain"] < 1e-4
    assert report["ratios"]["optimized/hf"] > 0 and report["paired_ratios"]["plain/hf"] > 0
    assert report["settings"]["batch"] == 2 and len(report["results"]["plain"]["rounds"]) == 2
    assert len(report["env"]["machine_before"]["load_avg_1_5_15"]) == 3


def test_bench_argument_errors():
    with pytest.raises(ValueError, match="model must be one of"):
        bench.run_benchmark(model="huge")
    with pytest.raises(ValueError, match="batch must be a positive int"):
        bench.run_benchmark(model="nano", batch=0)
    with pytest.raises(ValueError, match="impls must be among"):
        bench.run_benchmark(model="nano", impls=("keras",))
    with pytest.raises(ValueError, match="attn_impl must be one of"):
        bench.run_benchmark(model="nano", attn_impl="flash")
