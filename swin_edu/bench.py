"""Throughput and peak memory of our Swin against peer implementations, side by side in one process.

    python -m swin_edu.bench                                  # CPU fp32, Swin-T 224, batch 8
    python -m swin_edu.bench --device cuda --dtype bf16 --batch 128
    python -m swin_edu.bench --help

Our model runs twice: ``plain`` (the :class:`~swin_edu.model.SwinTransformer` as it is built, the
algorithm as written) and ``optimized`` (:func:`~swin_edu.model.optimize_for_inference` of it, same
weights). Every peer gets **the same weights** (ours, converted to its layout: HF transformers'
``SwinForImageClassification``; timm's ``swin_*`` when timm imports), the same batch, dtype and input.
The runs alternate (plain, optimized, HF, timm, then the order rotates every round) so that a machine
that slows down or speeds up during the benchmark affects every model alike. Reported: the median
images/s over rounds, and each ratio both as the ratio of the medians and as the median of the
per-round ratios (paired: each round's models ran back to back under the same load, so this one is
the steadier figure on a shared machine). Before timing, each model's logits are compared with the
plain model's (same weights must give the same answer). The report names the machine, its load
(``os.getloadavg`` before and after) and the software versions: everything needed to rerun it.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` during one forward minus the memory before
it (activations and workspace; the weights are excluded); on Linux CPUs the growth of the process's
peak resident memory (``VmHWM``, reset through ``/proc/self/clear_refs``, after ``malloc_trim``)
during one forward: what the forward needs beyond the weights already resident.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .config import PRESETS, SwinConfig
from .device import describe_device, pick_device, synchronize

__all__ = ["BenchResult", "main", "run_benchmark"]

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
OURS = ("plain", "optimized", "compiled", "frozen")
PEERS = ("hf", "timm")
IMPLS = OURS + PEERS
#: run unless --impls says otherwise (compiled and frozen compile for minutes on a 2-core CPU)
DEFAULT_IMPLS = ("plain", "optimized", "hf", "timm")


@dataclass
class BenchResult:
    name: str
    images_per_s: float
    ms_per_batch: float
    rounds: list[float] = field(default_factory=list)  # images/s of each round
    peak_mem_MiB: float | None = None
    max_abs_diff_vs_plain: float | None = None
    note: str = ""


# ----------------------------------------------------------------------------------------- models
def _build_ours(cfg: SwinConfig, attn_impl: str):
    from .model import SwinTransformer
    torch.manual_seed(0)
    return SwinTransformer(cfg, attn_impl=attn_impl).eval()


def _build_optimized(plain, chunk_tokens):
    from .model import optimize_for_inference
    return optimize_for_inference(plain, chunk_tokens=chunk_tokens)


def _build_compiled(cfg: SwinConfig, official_sd, freezing: bool):
    """torch.compile (inductor) of a plain model with SDPA attention; with ``freezing`` the weights
    become constants of the compiled graph (prepacked, fused: a snapshot that later weight changes do
    not reach)."""
    from .model import SwinTransformer
    model = SwinTransformer(cfg, attn_impl="sdpa").eval()
    model.load_state_dict(official_sd)
    return torch.compile(model, options={"freezing": True} if freezing else None)


def _build_hf(cfg: SwinConfig, official_sd):
    import transformers

    from .model import to_hf
    hcfg = transformers.SwinConfig(
        image_size=cfg.img_size, patch_size=cfg.patch_size, num_channels=cfg.in_chans,
        embed_dim=cfg.embed_dim, depths=list(cfg.depths), num_heads=list(cfg.num_heads),
        window_size=cfg.window_size, mlp_ratio=cfg.mlp_ratio, qkv_bias=cfg.qkv_bias,
        use_absolute_embeddings=cfg.ape, num_labels=cfg.num_classes)
    model = transformers.SwinForImageClassification(hcfg).eval()
    missing, unexpected = model.load_state_dict(to_hf(official_sd), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"bench: HF weights do not match: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return _LogitsOnly(model)


def _build_timm(cfg: SwinConfig, official_sd):
    import timm  # noqa: F401 - may fail (e.g. a torchvision that does not match torch)
    from timm.models.swin_transformer import SwinTransformer as TimmSwin
    model = TimmSwin(img_size=cfg.img_size, patch_size=cfg.patch_size, in_chans=cfg.in_chans,
                     num_classes=cfg.num_classes, embed_dim=cfg.embed_dim, depths=cfg.depths,
                     num_heads=cfg.num_heads, window_size=cfg.window_size, mlp_ratio=cfg.mlp_ratio,
                     qkv_bias=cfg.qkv_bias).eval()
    sd = {}
    for k, v in official_sd.items():
        if k.endswith(("relative_position_index", "attn_mask")):
            continue
        m = re.match(r"layers\.(\d+)\.downsample\.(.*)", k)
        if m:  # timm: patch merging opens the next stage
            k = f"layers.{int(m.group(1)) + 1}.downsample.{m.group(2)}"
        elif k.startswith("head."):
            k = "head.fc." + k[len("head."):]
        sd[k] = v
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith(("relative_position_index", "attn_mask"))]
    if missing or unexpected:
        raise RuntimeError(f"bench: timm weights do not match: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


class _LogitsOnly(torch.nn.Module):
    """HF returns an output object; the benchmark wants the logits tensor."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(pixel_values=x).logits


# ----------------------------------------------------------------------------------------- measuring
def _rss_peak_kib() -> tuple[int, int] | None:
    try:
        text = Path("/proc/self/status").read_text()
        return (int(re.search(r"VmRSS:\s+(\d+)", text).group(1)), int(re.search(r"VmHWM:\s+(\d+)", text).group(1)))
    except (OSError, AttributeError):
        return None


def _malloc_trim() -> None:
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _peak_memory_MiB(fn: Callable[[], Any], device: torch.device) -> float | None:
    gc.collect()
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    if device.type == "cpu" and _rss_peak_kib() is not None:
        _malloc_trim()  # give freed heap memory back, so that the growth below is what fn needs
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        except OSError:
            return None
        rss, _ = _rss_peak_kib()
        fn()
        _, hwm = _rss_peak_kib()
        return max(hwm - rss, 0) / 1024
    return None


def _time(fn: Callable[[], Any], iters: int, device: torch.device) -> float:
    synchronize(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    synchronize(device)
    return (time.perf_counter() - t0) / iters


def _machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "load_avg_1_5_15": load}


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        name = re.search(r"model name\s*:\s*(.*)", text).group(1).strip()
        fam = re.search(r"cpu family\s*:\s*(\d+)", text)
        model = re.search(r"^model\s*:\s*(\d+)", text, re.MULTILINE)
        flags = re.search(r"flags\s*:\s*(.*)", text).group(1).split()
        simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
        return (f"{name} (family {fam.group(1) if fam else '?'} model {model.group(1) if model else '?'}; "
                f"{', '.join(simd) or 'no avx2'})")
    except (OSError, AttributeError):
        return platform.processor() or platform.machine()


def run_benchmark(*, model: str = "tiny", device: str | None = None, dtype: str = "fp32", batch: int = 8,
                  rounds: int = 5, iters: int = 3, warmup: int = 2, impls: tuple[str, ...] = DEFAULT_IMPLS,
                  attn_impl: str = "explicit", chunk_tokens: int | None = None, compile: bool = False,
                  autocast: bool = False, img_size: int | None = None,
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the benchmark; returns a dict with the settings, the environment (machine, load, versions)
    and one :class:`BenchResult` per implementation (``results``), plus ``ratios`` (ratio of the
    median throughputs) and ``paired_ratios`` (median of the per-round ratios) for optimized and plain
    against each peer and optimized against plain. ``impls``: among ``plain``, ``optimized``, ``compiled``
    (``torch.compile`` of the plain model with SDPA), ``frozen`` (the same with ``freezing``), ``hf``,
    ``timm`` (``plain`` is always run: it is the reference). ``chunk_tokens``: the optimized model's
    (None: its default). The first call of each model is timed apart (``first_call_s``: the compile time
    of ``compiled`` and ``frozen``)."""
    from .model import ATTN_IMPLS
    from .model.inference import CHUNK_TOKENS

    if model not in PRESETS:
        raise ValueError(f"run_benchmark: model must be one of {sorted(PRESETS)}, got {model!r}")
    if dtype not in DTYPES:
        raise ValueError(f"run_benchmark: dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    if attn_impl not in ATTN_IMPLS:
        raise ValueError(f"run_benchmark: attn_impl must be one of {ATTN_IMPLS}, got {attn_impl!r}")
    for name, v in (("batch", batch), ("rounds", rounds), ("iters", iters)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"run_benchmark: {name} must be a positive int, got {v!r}")
    if isinstance(impls, str) or not all(isinstance(i, str) for i in impls):
        raise TypeError(f"run_benchmark: impls must be a tuple of names among {IMPLS}, got {impls!r}")
    unknown = [i for i in impls if i not in IMPLS]
    if unknown:
        raise ValueError(f"run_benchmark: impls must be among {IMPLS}, got {unknown}")
    impls = ("plain",) + tuple(i for i in IMPLS[1:] if i in impls)
    dev = pick_device(device)
    cfg = SwinConfig.preset(model, **({"img_size": img_size} if img_size else {}))
    tdtype = DTYPES[dtype]
    H, W = cfg.img_hw
    machine_before = _machine()

    plain = _build_ours(cfg, attn_impl)
    official_sd = {k: v.clone() for k, v in plain.state_dict().items()}
    models: dict[str, torch.nn.Module] = {"plain": plain}
    if "optimized" in impls:
        models["optimized"] = _build_optimized(plain, CHUNK_TOKENS if chunk_tokens is None else chunk_tokens)
    for name, freezing in (("compiled", False), ("frozen", True)):
        if name in impls:
            models[name] = _build_compiled(cfg, official_sd, freezing)
    notes: dict[str, str] = {}
    for peer, build in (("hf", _build_hf), ("timm", _build_timm)):
        if peer not in impls:
            continue
        try:
            models[peer] = build(cfg, official_sd)
        except Exception as e:  # noqa: BLE001 - a peer that cannot be built is reported, not fatal
            notes[peer] = f"not run: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
            log(f"[bench] {peer}: {notes[peer]}")

    cast = not autocast and tdtype != torch.float32
    for m in models.values():  # (optimized shares plain's modules: moving them again changes nothing)
        m.to(dev)
        if cast:
            m.to(tdtype)
    x = torch.randn(batch, cfg.in_chans, H, W, generator=torch.Generator().manual_seed(0)).to(dev)
    if cast:
        x = x.to(tdtype)

    def ctx():
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        if autocast and tdtype != torch.float32:
            stack.enter_context(torch.autocast(dev.type, dtype=tdtype))
        return stack

    runners: dict[str, Callable[[], Any]] = {}
    compile_s: dict[str, float] = {}
    for name, m in models.items():
        fn = torch.compile(m) if compile else m
        runners[name] = (lambda fn=fn: fn(x))

    # correctness: same weights, same answer (this first call also compiles, with --compile)
    diffs = {}
    with ctx():
        for name, run in runners.items():
            t0 = time.perf_counter()
            out = run().float()
            compile_s[name] = time.perf_counter() - t0
            if name == "plain":
                ref = out
            diffs[name] = (out - ref).abs().max().item()
    # warm-up (caches, allocator), then alternating timed rounds
    with ctx():
        for _ in range(warmup):
            for fn in runners.values():
                fn()
    names = list(runners)
    per_round: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            with ctx():
                dt = _time(runners[name], iters, dev)
            per_round[name].append(batch / dt)
        log(f"[bench] round {r + 1}/{rounds}: "
            + ", ".join(f"{n} {per_round[n][-1]:.2f} img/s" for n in names))
    results = {}
    for name in names:
        with ctx():
            mem = _peak_memory_MiB(runners[name], dev)
        ips = statistics.median(per_round[name])
        results[name] = BenchResult(name=name, images_per_s=ips, ms_per_batch=1000 * batch / ips,
                                    rounds=[round(v, 2) for v in per_round[name]], peak_mem_MiB=mem,
                                    max_abs_diff_vs_plain=None if name == "plain" else diffs[name],
                                    note=notes.get(name, ""))
    for name, note in notes.items():
        results[name] = BenchResult(name=name, images_per_s=float("nan"), ms_per_batch=float("nan"), note=note)
    ours = [n for n in OURS if n in names]
    pairs = [(a, b) for a in ours for b in names if b in PEERS] + [(a, "plain") for a in ours[1:]]
    ratios = {f"{a}/{b}": results[a].images_per_s / results[b].images_per_s for a, b in pairs}
    paired = {f"{a}/{b}": statistics.median(u / v for u, v in zip(per_round[a], per_round[b])) for a, b in pairs}
    env = {
        "device": describe_device(dev), "python": platform.python_version(), "torch": torch.__version__,
        "threads": torch.get_num_threads() if dev.type == "cpu" else None,
        "machine_before": machine_before, "machine_after": _machine(),
    }
    for mod in ("transformers", "timm"):
        try:
            env[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            env[mod] = None
    settings = {"model": model, "device": str(dev), "dtype": dtype, "batch": batch, "rounds": rounds,
                "iters": iters, "warmup": warmup, "attn_impl": attn_impl, "compile": compile,
                "chunk_tokens": chunk_tokens, "autocast": autocast, "img_size": (H, W),
                "first_call_s": {k: round(v, 2) for k, v in compile_s.items()}}
    return {"settings": settings, "env": env, "results": results, "ratios": ratios, "paired_ratios": paired}


def format_report(report: dict[str, Any]) -> str:
    s, env = report["settings"], report["env"]
    title = (f"Swin-{s['model'][0].upper()} {s['img_size'][0]}x{s['img_size'][1]}, batch {s['batch']}, "
             f"{s['dtype']}{' (autocast)' if s['autocast'] else ''}{', torch.compile' if s['compile'] else ''}, "
             f"plain attention {s['attn_impl']}; {s['rounds']} rounds x {s['iters']} iterations")
    before, after = env["machine_before"], env["machine_after"]
    fmt_load = (lambda m: "n/a" if m["load_avg_1_5_15"] is None
                else ", ".join(f"{v:.2f}" for v in m["load_avg_1_5_15"]))
    lines = [
        title,
        f"{env['device']}; {before['cpu']}, {before['cores']} cores",
        f"python {env['python']}, torch {env['torch']}, transformers {env['transformers']}, timm {env['timm']}",
        f"load average (1, 5, 15 min): before {fmt_load(before)}; after {fmt_load(after)}",
        "first call (s, includes compilation with --compile): "
        + ", ".join(f"{k} {v}" for k, v in s["first_call_s"].items()),
        "",
        "| implementation | images/s | ms/batch | peak memory (MiB) | max abs logit diff vs plain | rounds (img/s) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in report["results"].values():
        if r.note:
            lines.append(f"| {r.name} | - | - | - | - | {r.note} |")
            continue
        mem = "n/a" if r.peak_mem_MiB is None else f"{r.peak_mem_MiB:.0f}"
        diff = "-" if r.max_abs_diff_vs_plain is None else f"{r.max_abs_diff_vs_plain:.1e}"
        lines.append(f"| {r.name} | {r.images_per_s:.2f} | {r.ms_per_batch:.0f} | {mem} | {diff} | "
                     f"{', '.join(f'{v:.2f}' for v in r.rounds)} |")
    lines.append("")
    lines += [f"throughput ratio {k}: {v:.2f}x (median of per-round ratios: {report['paired_ratios'][k]:.2f}x)"
              for k, v in report["ratios"].items()]
    return "\n".join(lines)


def _attn_impls() -> tuple[str, ...]:
    from .model import ATTN_IMPLS
    return ATTN_IMPLS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m swin_edu.bench", description=(
        "Throughput (images/s) and peak memory of our Swin (plain and optimize_for_inference) against HF "
        "transformers' and timm's: same weights, batch and dtype, alternating runs in one process. For a "
        "figure worth recording, run it on a quiet machine (the report prints the load average)."))
    p.add_argument("--model", default="tiny", choices=sorted(PRESETS), help="preset (default: tiny)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the best available)")
    p.add_argument("--dtype", default="fp32", choices=sorted(DTYPES), help="default: fp32")
    p.add_argument("--autocast", action="store_true",
                   help="bf16/fp16 through torch.autocast instead of casting the weights")
    p.add_argument("--batch", type=int, default=8, help="images per batch (default: 8)")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (default: 5)")
    p.add_argument("--iters", type=int, default=3, help="timed batches per model per round (default: 3)")
    p.add_argument("--warmup", type=int, default=2, help="untimed batches per model first (default: 2)")
    p.add_argument("--impls", default=",".join(DEFAULT_IMPLS),
                   help=f"comma-separated, among {', '.join(IMPLS)} (default: {','.join(DEFAULT_IMPLS)}; plain "
                        "always runs; compiled / frozen: torch.compile of the plain model with SDPA, without / "
                        "with freezing, minutes of compilation on a small CPU)")
    p.add_argument("--attn", default="explicit", choices=list(_attn_impls()),
                   help="the plain model's attention (default: explicit, the plain model's default)")
    p.add_argument("--chunk-tokens", type=int, default=None, help="the optimized model's chunk size")
    p.add_argument("--compile", action="store_true", help="torch.compile every model")
    p.add_argument("--img-size", type=int, default=None, help="input size (default: the preset's)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    impls = tuple(x.strip() for x in args.impls.split(",") if x.strip())
    report = run_benchmark(model=args.model, device=args.device, dtype=args.dtype, batch=args.batch,
                           rounds=args.rounds, iters=args.iters, warmup=args.warmup, impls=impls,
                           attn_impl=args.attn, chunk_tokens=args.chunk_tokens, compile=args.compile,
                           autocast=args.autocast,
                           img_size=args.img_size, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"command: python -m swin_edu.bench {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(format_report(report))
    if args.json:
        out = dict(report, results={k: asdict(v) for k, v in report["results"].items()})
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
