"""The model on a GPU (CUDA; MPS where noted): equal to the CPU, autocast, fused attention kernels,
torch.compile with inductor, a training step. Skipped without a GPU."""
from __future__ import annotations

import pytest
import torch

from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.device import amp_dtype, describe_device, pick_device
from swin_edu.model import SwinTransformer, load_checkpoint, optimize_for_inference

pytestmark = pytest.mark.gpu

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
GPUS = [pytest.param("cuda", marks=needs_cuda),
        pytest.param("mps", marks=pytest.mark.skipif(
            not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
            reason="needs an Apple MPS device"))]


@pytest.fixture(autouse=True)
def _exact_fp32():
    """fp32 on the GPU without TF32 (cuDNN convolutions use TF32 by default)."""
    if not torch.cuda.is_available():
        yield
        return
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def nano_pair(device):
    cfg = SwinConfig.preset("nano")
    sd = {k: torch.from_numpy(v) for k, v in snp.random_state_dict(cfg, seed=1).items()}
    cpu = load_checkpoint(SwinTransformer(cfg), sd).eval()
    gpu = load_checkpoint(SwinTransformer(cfg), sd).eval().to(device)
    return cfg, cpu, gpu


@pytest.mark.parametrize("device", GPUS)
@pytest.mark.parametrize("impl", ["sdpa", "explicit", "optimized"])
@pytest.mark.parametrize("size", [(32, 32), (27, 45)])
def test_gpu_fp32_equals_cpu(device, impl, size):
    """fp32 without TF32: the same numbers to float32 rounding (1e-4 of the largest logit: GPU kernels sum
    in other orders and SDPA's kernels differ from the CPU's)."""
    _, cpu, gpu = nano_pair(device)
    if impl == "optimized":
        gpu = optimize_for_inference(gpu)
    else:
        cpu.set_attn_impl(impl)
        gpu.set_attn_impl(impl)
    x = torch.randn(4, 3, *size)
    with torch.no_grad():
        ref = cpu(x)
        out = gpu(x.to(device)).cpu()
    assert (out - ref).abs().max() <= 1e-4 * ref.abs().max()


@pytest.mark.parametrize("device", GPUS)
def test_pick_device_finds_the_gpu(device):
    assert pick_device().type == device or device == "mps"
    assert pick_device(device).type == device
    assert device in describe_device(device)


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_cuda_autocast(dtype):
    if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        pytest.skip("no bf16 on this GPU")
    _, cpu, gpu = nano_pair("cuda")
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        ref = cpu(x)
        with torch.autocast("cuda", dtype=dtype):
            out = gpu(x.cuda())
    assert torch.isfinite(out).all()
    assert (out.float().cpu() - ref).abs().max() < 0.05 * ref.abs().max()
    assert amp_dtype("cuda") in (torch.bfloat16, torch.float16)


@needs_cuda
def test_cuda_sdpa_runs_a_fused_kernel_with_the_float_mask():
    """bias+mask is a float mask: FlashAttention cannot take it, the memory-efficient kernel can. Run
    with only that backend allowed (it raises if the inputs do not fit it)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    cfg = SwinConfig.preset("tiny")
    model = SwinTransformer(cfg, attn_impl="sdpa").eval().cuda()
    x = torch.randn(4, 3, 224, 224, device="cuda")
    with torch.no_grad(), torch.autocast("cuda", dtype=amp_dtype("cuda")):
        ref = model(x)
        with sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION]):
            out = model(x)
            fast = optimize_for_inference(model)(x)
    assert torch.allclose(out.float(), ref.float(), atol=1e-2)
    assert torch.allclose(fast.float(), ref.float(), atol=1e-2)


@needs_cuda
def test_cuda_compile_inductor_equals_eager():
    torch._dynamo.reset()
    *_, gpu = nano_pair("cuda")
    x = torch.randn(8, 3, 32, 32, device="cuda")
    compiled = torch.compile(gpu, fullgraph=True)
    with torch.no_grad():
        ref = gpu(x)
        assert torch.allclose(compiled(x), ref, atol=1e-4 * ref.abs().max().item())
        gpu.head.weight.data.mul_(2.0)  # a .data write after compiling: seen (weights are graph inputs)
        ref = gpu(x)
        assert torch.allclose(compiled(x), ref, atol=1e-4 * ref.abs().max().item())


@needs_cuda
def test_cuda_training_step_with_amp_and_checkpointing():
    cfg = SwinConfig.preset("tiny", num_classes=10)
    model = SwinTransformer(cfg, use_checkpoint=True).cuda().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(16, 3, 224, 224, device="cuda")
    y = torch.randint(0, 10, (16,), device="cuda")
    table = model.layers[0].blocks[1].attn.relative_position_bias_table
    before = table.detach().clone()
    for _ in range(2):
        with torch.autocast("cuda", dtype=amp_dtype("cuda")):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.isfinite(loss)
    assert not torch.equal(table.detach(), before)


@needs_cuda
def test_cuda_memory_is_reasonable():
    """Swin-T bf16 inference at batch 64: activations well under 2 GiB, for the plain model (explicit and
    SDPA) and the optimized one; and nothing stays allocated after a forward (no cache keyed on batch)."""
    plain = SwinTransformer(SwinConfig.preset("tiny")).eval().cuda()
    x = torch.randn(64, 3, 224, 224, device="cuda")
    for kind in ("explicit", "optimized", "sdpa"):
        model = optimize_for_inference(plain) if kind == "optimized" else plain.set_attn_impl(kind)
        with torch.no_grad(), torch.autocast("cuda", dtype=amp_dtype("cuda")):
            model(x)
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            out = model(x)
            peak = torch.cuda.max_memory_allocated() - base
        del out
        torch.cuda.synchronize()
        assert torch.cuda.memory_allocated() == base
        assert peak < 2 * 2**30, f"{kind}: peak activation memory {peak / 2**20:.0f} MiB"

