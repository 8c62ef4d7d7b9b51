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


def _bench_products():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "tools" / "bench_products.py"
    spec = importlib.util.spec_from_file_location("bench_products", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_products_times_the_linear_layers_the_model_runs():
    """tools/bench_products.py (docs/benchmarks.md, "What packing would buy") lists exactly the linear layers of
    a Swin forward: the shapes nn.Linear sees, each as often as it is called."""
    from swin_edu.config import SwinConfig
    from swin_edu.model import SwinTransformer

    mod = _bench_products()
    model = SwinTransformer(SwinConfig.preset("tiny")).eval()  # Swin-T 224: every map divided by M = 7, no padding
    seen: list[tuple[int, int, int]] = []

    def hook(m, args, out):
        seen.append((args[0].reshape(-1, m.in_features).shape[0], m.in_features, m.out_features))

    for m in model.modules():
        if isinstance(m, torch.nn.Linear):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.randn(1, 3, 224, 224))
    listed = [(rows, k, n) for _, rows, k, n, calls in mod.shapes(batch=1) for _ in range(calls)]
    assert sorted(listed) == sorted(seen)


def test_bench_products_ways_agree_and_the_script_runs(capsys):
    mod = _bench_products()
    x, w, b = torch.randn(50, 24), torch.randn(40, 24), torch.randn(40)
    fns = mod.ways(x, w, b)
    assert "F.linear" in fns
    for fn in fns.values():  # fp32 products of length 24 summed in another order: a few ulps of the result
        torch.testing.assert_close(fn(), x @ w.T + b, rtol=1e-5, atol=1e-5)
    assert mod.main(["--img-size", "32", "--batch", "1", "--rounds", "1", "--iters", "1"]) == 0
    out = capsys.readouterr().out
    assert "| **one forward** |" in out and "stage 4 fc2" in out and "load average" in out
