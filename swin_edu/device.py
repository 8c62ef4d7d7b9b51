"""Pick the best available torch device and describe it (used by the notebooks and the benchmark).

>>> dev = pick_device()          # cuda if available, else mps, else cpu
>>> print(describe_device(dev))  # doctest: +SKIP
cpu: AMD EPYC (2 threads), torch 2.13.0
"""
from __future__ import annotations

import contextlib
import platform
from typing import Any

import torch

from .i18n import add_messages, t

__all__ = [
    "AMP_MODES",
    "DEVICE_TYPES",
    "amp_dtype",
    "autocast",
    "autocast_dtype",
    "available_devices",
    "cpu_has_native_bf16",
    "describe",
    "describe_device",
    "pick_device",
    "synchronize",
]

DEVICE_TYPES = ("cuda", "mps", "cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """The device types usable here, best first (a subset of ``("cuda", "mps", "cpu")``)."""
    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    if _mps_available():
        out.append("mps")
    out.append("cpu")
    return out


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device to run on: CUDA if available, then Apple MPS, then the CPU.

    ``prefer`` (``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"`` or a ``torch.device``) asks for a
    specific one; ``ValueError`` if it is not available here (the message lists what is).
    """
    where = "pick_device"
    if prefer is None:
        return torch.device(available_devices()[0])
    if isinstance(prefer, torch.device):
        dev = prefer
    elif isinstance(prefer, str):
        try:
            dev = torch.device(prefer.strip().lower())
        except RuntimeError as e:
            raise ValueError(f"{where}: prefer must name a device type {DEVICE_TYPES} (e.g. 'cuda:0'), "
                             f"got {prefer!r}") from e
    else:
        raise TypeError(f"{where}: prefer must be None, a str or a torch.device, got {type(prefer).__name__}")
    if dev.type not in DEVICE_TYPES:
        raise ValueError(f"{where}: prefer must be one of {DEVICE_TYPES}, got {prefer!r}")
    have = available_devices()
    if dev.type not in have:
        raise ValueError(f"{where}: {dev.type!r} was asked for but is not available here; available: {have}")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"{where}: {str(dev)!r} was asked for but there are only "
                         f"{torch.cuda.device_count()} CUDA device(s)")
    return dev


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


add_messages({
    "device.cuda": {"en": "{dev}: {name}, {gib} GiB, compute capability {cc}, bf16 {bf16}, CUDA {cuda}, torch {torch}",
                    "zh": "{dev}：{name}，{gib} GiB，计算能力 {cc}，bf16 {bf16}，CUDA {cuda}，torch {torch}"},
    "device.mps": {"en": "mps: Apple GPU (Metal), macOS {macos}, torch {torch}",
                   "zh": "mps：Apple GPU（Metal），macOS {macos}，torch {torch}"},
    "device.cpu": {"en": "cpu: {name} (torch threads: {threads}), torch {torch}",
                   "zh": "cpu：{name}（torch 线程数：{threads}），torch {torch}"},
    "device.yes": {"en": "yes", "zh": "支持"},
    "device.no": {"en": "no", "zh": "不支持"},
})


def describe_device(device: str | torch.device | None = None, *, as_dict: bool = False) -> Any:
    """A one-line description of ``device`` (default: :func:`pick_device`) for notebooks and reports:
    the hardware, its memory, bf16 support, and the torch version. ``as_dict=True`` returns the
    fields as a dict instead."""
    dev = pick_device(device)
    info: dict[str, Any] = {"device": str(dev), "torch": torch.__version__}
    if dev.type == "cuda":
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        info.update(name=props.name, memory_GiB=round(props.total_memory / 2**30, 1),
                    capability=f"{props.major}.{props.minor}", bf16=torch.cuda.is_bf16_supported(),
                    cuda=torch.version.cuda)
        text = t("device.cuda", dev=dev, name=props.name, gib=info["memory_GiB"], cc=info["capability"],
                 bf16=t("device.yes" if info["bf16"] else "device.no"), cuda=torch.version.cuda, torch=torch.__version__)
    elif dev.type == "mps":
        info.update(name=f"Apple GPU ({platform.machine()})", bf16=True)
        text = t("device.mps", macos=platform.mac_ver()[0] or "?", torch=torch.__version__)
    else:
        info.update(name=_cpu_name(), threads=torch.get_num_threads(), bf16=True)
        text = t("device.cpu", name=info["name"], threads=info["threads"], torch=torch.__version__)
    info["text"] = text
    return info if as_dict else text


def amp_dtype(device: str | torch.device | None = None) -> torch.dtype:
    """The dtype for ``torch.autocast`` on ``device``: bfloat16 where supported, else float16."""
    dev = pick_device(device)
    if dev.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


#: the mixed-precision modes of training (``--amp``): see :func:`autocast_dtype`
AMP_MODES = ("auto", "off", "bf16", "fp16")


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bfloat16 matrix products natively (x86 AVX512-BF16 or AMX). Elsewhere
    bf16 on the CPU is emulated and slower than float32."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - other torch builds / platforms
        return False


def autocast_dtype(mode: str, device: str | torch.device) -> torch.dtype | None:
    """The ``torch.autocast`` dtype of an AMP ``mode`` (one of :data:`AMP_MODES`) on ``device``, or
    ``None`` for float32.

    ``"off"``: float32. ``"bf16"`` / ``"fp16"``: that dtype (on a CPU without native bf16, bf16 is
    emulated: correct but slow). ``"auto"``: on CUDA bf16 where supported, else fp16 (with loss
    scaling); on MPS float32; on a CPU float32 as well: for the small models this course trains on a
    CPU, autocast's casts cost more than bf16 matrix products save (``docs/training.md``).
    """
    if mode not in AMP_MODES:
        raise ValueError(f"autocast_dtype: mode must be one of {AMP_MODES}, got {mode!r}")
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    if mode == "off":
        return None
    if mode == "bf16":
        return torch.bfloat16
    if mode == "fp16":
        return torch.float16
    if dev.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def autocast(device: str | torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` on ``device`` with ``dtype``, or a no-op context when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    return torch.autocast(device_type=dev.type, dtype=dtype)


def synchronize(device: str | torch.device | None = None) -> None:
    """Wait for queued work on ``device`` to finish (for timing); a no-op on the CPU."""
    dev = torch.device(device) if device is not None else pick_device()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()

#: short alias for notebooks: ``print(describe())``
describe = describe_device
