"""Exercises of notebook 07: the PyTorch model (torch is imported lazily, only when these run).

The module exercises (7.1-7.4): the student writes ``WindowAttention``, ``SwinBlock``, ``PatchMerging`` and
``BasicLayer`` as ``nn.Module`` classes; the answer cell ends with a given function that builds the module,
loads official-layout weights strictly (:func:`swin_edu.demos.student_model.load_learned`) and runs it. That
function is what the check (and the grader) calls; the reference is the same function around the classes of
:mod:`swin_edu.demos.student_model`, whose ``forward`` methods the grader forbids. In the grader an answer
cell runs alone after the prelude: the prelude gives the reference versions of the *other* classes (the
student's ``SwinBlock`` is graded with the reference ``WindowAttention``), so one mistake costs one exercise.
"""
from __future__ import annotations

from ..i18n import Text
from ._data import between, draw, pick
from .spec import TORCH_ATTENTION_GUARDS, TORCH_PRELUDE, Case, Exercise, Misconception

__all__ = ["ATTENTION_TORCH", "WINDOW_ATTENTION_MODULE", "SWIN_BLOCK_MODULE", "PATCH_MERGING_MODULE",
           "BASIC_LAYER_MODULE", "STUDENT_SWIN", "MODULE_PRELUDE", "STUDENT_SWIN_PRELUDE", "module_weights",
           "student_swin_test_config"]


def _t(*shape, seed=0, dtype="float32", scale=1.0):
    import torch

    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(getattr(torch, dtype))


def attention_torch_reference(q, k, v, mask):
    """softmax(q k^T / sqrt(d) + mask) v with PyTorch's fused kernel (a float mask is added to the logits)."""
    import torch.nn.functional as F

    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def _explicit(q, k, v, mask, scale=None, dim=-1, sign=1):
    import torch

    scale = q.shape[-1] ** -0.5 if scale is None else scale
    logits = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        logits = logits + sign * mask
    return torch.softmax(logits, dim=dim) @ v


def _mask_cases():
    import torch

    from .. import numpy_ref as snp

    sw = torch.from_numpy(snp.shift_mask(8, 8, 4, 2))  # (4, 16, 16) 0 / -100
    bias = _t(3, 16, 16, seed=5, scale=0.5)
    return sw, bias


def _attention_cases():
    sw, bias = _mask_cases()
    mask = (bias[None, :] + sw[:, None]).reshape(1, 4, 3, 16, 16)   # (1 image, 4 windows, 3 heads, N, N)
    mask = mask.expand(2, 4, 3, 16, 16).reshape(8, 3, 16, 16)         # 2 images x 4 windows
    return [
        Case(Text("8 windows x 3 heads of 16 tokens (d=8) with a relative position bias (3, 16, 16)",
                  "8 个窗口 x 3 个头，每个 16 个 token（d=8），带相对位置偏置 (3, 16, 16)"),
             (_t(8, 3, 16, 8, seed=1), _t(8, 3, 16, 8, seed=2), _t(8, 3, 16, 8, seed=3), bias)),
        Case(Text("the same with bias + the 0/-100 shift mask of an 8x8 map (M=4, s=2), shape (8, 3, 16, 16)",
                  "同上，偏置再加上 8x8 特征图（M=4，s=2）的 0/-100 移位掩码，形状为 (8, 3, 16, 16)"),
             (_t(8, 3, 16, 8, seed=1), _t(8, 3, 16, 8, seed=2), _t(8, 3, 16, 8, seed=3), mask)),
    ]


def _torch_draw(rng, *shape, dtype="float32", scale=1.0):
    import torch

    return torch.from_numpy(draw(rng, *shape, scale=scale)).to(getattr(torch, dtype))


def _attention_hidden(rng):
    w, h, n, d = between(rng, 2, 3), between(rng, 2, 4), pick(rng, (4, 9)), pick(rng, (6, 8))
    t64 = [_torch_draw(rng, w, h, n, d, dtype="float64") for _ in range(3)]
    t32 = [_torch_draw(rng, w, h, n, d) for _ in range(3)]
    mask = _torch_draw(rng, h, n, n, scale=0.5)
    return [
        Case(Text(f"float64 tensors, {w} windows x {h} heads of {n} tokens (d={d}), no mask (None)",
                  f"float64 张量，{w} 个窗口 x {h} 个头，每个 {n} 个 token（d={d}），没有掩码（None）"), (*t64, None)),
        Case(Text(f"float32 tensors, {w} windows x {h} heads of {n} tokens (d={d}), "
                  f"a bias of shape ({h}, {n}, {n})",
                  f"float32 张量，{w} 个窗口 x {h} 个头，每个 {n} 个 token（d={d}），偏置的形状为 ({h}, {n}"
                  f", {n})"),
             (*t32, mask)),
    ]


ATTENTION_TORCH = Exercise(
    name="attention_torch",
    signature="attention_torch_mine(q, k, v, mask)",
    reference=attention_torch_reference,
    kind="torch",
    cases=_attention_cases,
    hidden=_attention_hidden,
    guards=TORCH_ATTENTION_GUARDS,
    prelude=TORCH_PRELUDE,
    rtol=1e-4, atol=1e-5,
    hints=(Text("It is notebook 02's attention with torch tensors: which dimension holds the keys, and where does "
                "an additive mask enter?",
                "这就是笔记本 02 的注意力，只是换成了 torch 张量：哪个维度是键的维度，加性掩码在哪里加进来？"),
           Text("Scale the query-key products by 1/√d (d is the last dimension of q), add the mask when there is "
                "one (it broadcasts), softmax over the keys' dimension, multiply by v; torch operations only.",
                "把查询和键的乘积乘以 1/√d（d 是 q 的最后一个维度），有掩码时加上掩码（它会广播），"
                "沿键的维度做 softmax，再乘以 v；只用 torch 运算。")),
    misconceptions=[
        Misconception(Text("you forgot the scale 1/sqrt(d) (d = q.shape[-1]); scaled_dot_product_attention "
                           "applies it by default.",
                           "你漏了缩放 1/sqrt(d)（d = q.shape[-1]）；scaled_dot_product_attention 默认会做"
                           "这一步。"), lambda q, k, v, m: _explicit(q, k, v, m, scale=1.0)),
        Misconception(Text("the softmax runs over the wrong dimension: each query's weights over the keys sum "
                           "to 1 (dim=-1).",
                           "softmax 的维度不对：每个查询在所有键上的权重之和为 1（dim=-1）。"), lambda q, k, v, m: _explicit(q, k, v, m, dim=-2)),
        Misconception(Text("the float mask is *added* to the logits (bias and 0/-100), not subtracted.",
                           "浮点掩码是*加*到注意力得分上的（偏置和 0/-100），不是减。"),
                      lambda q, k, v, m: _explicit(q, k, v, m, sign=-1) if m is not None else None),
        Misconception(Text("the mask was ignored: add it to the scaled logits before the softmax.",
                           "掩码被忽略了：在 softmax 之前把它加到缩放后的注意力得分上。"),
                      lambda q, k, v, m: _explicit(q, k, v, None) if m is not None else None),
    ],
)



# ----------------------------------------------------------------------------- the modules (7.1-7.4)
#: the imports of the module exercises' answer cells (the notebook imports the same names)
MODULE_PRELUDE = TORCH_PRELUDE + (
    "from collections import OrderedDict\nfrom torch import nn\nfrom swin_edu import numpy_ref as snp\n"
    "from swin_edu.demos.student_model import WindowAttention, SwinBlock, PatchMerging, load_learned\n")

_SM = "swin_edu.demos.student_model"


def module_weights(module, seed: int = 0, std: float = 0.3) -> dict:
    """The learned tensors of ``module`` (official names) drawn at random with a fixed seed: weights
    N(0, std²), relative position bias tables N(0, 1), LayerNorm weights 1 + N(0, std²); large enough
    that every classic mistake moves the output far beyond float32 rounding."""
    import torch

    from ..demos.student_model import learned_only

    g = torch.Generator().manual_seed(int(seed))
    out = {}
    for name, t in learned_only(module.state_dict()).items():
        noise = torch.randn(t.shape, generator=g, dtype=torch.float64)
        if name.endswith("relative_position_bias_table"):
            value = noise
        elif "norm" in name.rsplit(".", 2)[-2] and name.endswith(".weight"):
            value = 1 + std * noise
        else:
            value = std * noise
        out[name] = value.to(torch.float32)
    return out


def _run(module, state_dict, *inputs):
    import torch

    from ..demos.student_model import load_learned

    load_learned(module, state_dict)
    with torch.no_grad():
        return module(*inputs)


def _variant(base_name: str, kind: str):
    """A reference module class with one classic mistake (``kind``) in its forward."""
    import torch

    from .. import numpy_ref as snp
    from ..demos import student_model as sm

    base = getattr(sm, base_name)

    def attn_forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).view(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        table = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = table.view(-1, N, N) if kind == "bias_not_permuted" else table.view(N, N, -1).permute(2, 0, 1)
        if kind == "no_bias":
            bias = 0
        if kind == "scale_after_bias":
            attn = (q @ k.transpose(-2, -1) + bias) * self.scale
        else:
            attn = (q * self.scale) @ k.transpose(-2, -1) + bias
        if mask is not None:
            nW = mask.shape[0]
            if kind == "mask_over_heads":
                attn = attn + mask                     # (nW, N, N) lined up with the heads axis
            elif kind == "mask_interleaved":
                attn = attn + mask.repeat_interleave(B_ // nW, 0)[:, None]
            elif kind != "mask_no_mask":
                attn = (attn.view(-1, nW, self.num_heads, N, N) + mask[None, :, None]).view(B_, -1, N, N)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C))

    def block_forward(self, x):
        B, H, W, C = x.shape
        M, s = self.window_size, self.shift_size
        sign = 1 if kind == "roll_plus" else -1
        n1, n2 = (self.norm2, self.norm1) if kind == "norms_swapped" else (self.norm1, self.norm2)
        h = torch.roll(n1(x), (sign * s, sign * s), (1, 2))
        h = h.view(B, H // M, M, W // M, M, C).transpose(2, 3).reshape(-1, M * M, C)
        mask = torch.from_numpy(snp.shift_mask(H, W, M, s)).to(x) if s and kind != "no_mask" else None
        h = self.attn(h, mask).view(B, H // M, W // M, M, M, C).transpose(2, 3).reshape(B, H, W, C)
        x = x + (h if kind == "no_reverse_roll" else torch.roll(h, (-sign * s, -sign * s), (1, 2)))
        return x + self.mlp(n2(x))

    def merge_forward(self, x):
        offsets = {"x1_x2_swapped": ((0, 0), (0, 1), (1, 0), (1, 1)),
                   "raster_reversed": ((1, 1), (0, 1), (1, 0), (0, 0))}.get(kind, ((0, 0), (1, 0), (0, 1), (1, 1)))
        parts = [x[:, r::2, c::2] for r, c in offsets]
        if kind == "interleaved":
            x = torch.stack(parts, dim=-1).flatten(-2)
        else:
            x = torch.cat(parts, dim=-1)
        return self.reduction(self.norm(x))

    def layer_init(self, dim, depth, num_heads, window_size, shift_size, downsample, mlp_ratio=4.0,
                   qkv_bias=True):
        torch.nn.Module.__init__(self)
        self.downsample = sm.PatchMerging(dim) if downsample else None
        if kind == "colleague":  # notebook 07's BasicLayer of the colleague: one block object, repeated, always shifted
            block = sm.SwinBlock(dim, num_heads, window_size, shift_size, mlp_ratio, qkv_bias)
            self.blocks = torch.nn.ModuleList([block] * depth)
            return
        if kind == "shared":  # the shift alternates, but every W-MSA block is one object, every SW-MSA block another
            pair = [sm.SwinBlock(dim, num_heads, window_size, s, mlp_ratio, qkv_bias) for s in (0, shift_size)]
            self.blocks = torch.nn.ModuleList(pair[j % 2] for j in range(depth))
            return
        shifted = {"all_shifted": lambda j: True, "none_shifted": lambda j: False,
                   "even_shifted": lambda j: j % 2 == 0}[kind]
        self.blocks = torch.nn.ModuleList(
            sm.SwinBlock(dim, num_heads, window_size, shift_size if shifted(j) else 0, mlp_ratio, qkv_bias)
            for j in range(depth))

    def swin_init(self, cfg, layer_class=None):
        base.__init__(self, cfg)
        M = cfg.window_size   # the mistake: the configuration's window and shift at every stage
        self.layers = torch.nn.ModuleList(
            sm.BasicLayer(dim, depth, heads, M, M // 2, downsample=i < cfg.num_layers - 1, mlp_ratio=cfg.mlp_ratio,
                          qkv_bias=cfg.qkv_bias)
            for i, (dim, depth, heads) in enumerate(zip(cfg.stage_dims, cfg.depths, cfg.num_heads)))

    def swin_forward(self, images):
        x = self.patch_embed.proj(images)
        x = x if kind == "no_permute" else x.permute(0, 2, 3, 1)
        x = x if kind == "no_patch_norm" else self.patch_embed.norm(x)
        for layer in self.layers:
            x = layer(x)
        if kind == "pool_then_norm":
            return self.head(self.norm(x.mean(dim=(1, 2))))
        x = x if kind == "no_final_norm" else self.norm(x)
        return self.head(x.amax(dim=(1, 2)) if kind == "max_pool" else x.mean(dim=(1, 2)))

    body = {"WindowAttention": {"forward": attn_forward}, "SwinBlock": {"forward": block_forward},
            "PatchMerging": {"forward": merge_forward}, "BasicLayer": {"__init__": layer_init},
            "StudentSwin": {"__init__": swin_init} if kind == "config_windows" else {"forward": swin_forward}}[base_name]
    return type(f"{base_name}_{kind}", (base,), body)


def _torch_map(rng_or_seed, *shape):
    import torch

    if isinstance(rng_or_seed, int):
        return _t(*shape, seed=rng_or_seed)
    return torch.from_numpy(draw(rng_or_seed, *shape)).to(torch.float32)


def _mask(H, W, M, s):
    import torch

    from .. import numpy_ref as snp

    return torch.from_numpy(snp.shift_mask(H, W, M, s)).to(torch.float32)


# --- 7.1 WindowAttention
def window_attention_module_reference(x, mask, state_dict, window_size, num_heads):
    """The reference of exercise 7.1: :class:`swin_edu.demos.student_model.WindowAttention` on ``x``
    (nW*B, N, C) with the weights ``state_dict`` and the (nW, N, N) ``mask`` (or None)."""
    from ..demos.student_model import WindowAttention

    return _run(WindowAttention(x.shape[-1], window_size, num_heads), state_dict, x, mask)


def _attn_wrong(kind, always=False):
    """The output of a WindowAttention with mistake ``kind`` (None where the mistake cannot show, unless
    ``always``: then it is what a student's module with that mistake returns)."""
    def wrong(x, mask, state_dict, window_size, num_heads):
        if mask is None and kind.startswith("mask") and not always:
            return None
        return _run(_variant("WindowAttention", kind)(x.shape[-1], window_size, num_heads), state_dict, x, mask)
    return wrong


def _attn_case(label, seed_or_rng, B, H, W, M, s, C, heads, wseed):
    from ..demos.student_model import WindowAttention

    nW, N = (H // M) * (W // M), M * M
    sd = module_weights(WindowAttention(C, M, heads), seed=wseed)
    return Case(label, (_torch_map(seed_or_rng, nW * B, N, C), _mask(H, W, M, s) if s else None, sd, M, heads))


def _attn_cases():
    return [_attn_case(Text("6 windows of 3x3 tokens (C=8, 2 heads), no mask (a W-MSA block)",
                            "6 个 3x3 token 的窗口（C=8，2 个头），没有掩码（一个 W-MSA block）"), 31, 2, 3, 9, 3, 0, 8, 2, 1),
            _attn_case(Text("2 images x 4 windows of 4x4 tokens (C=16, 4 heads) with the 0/-100 mask of an 8x8 map, "
                            "M=4, s=2",
                            "2 张图像 x 4 个 4x4 token 的窗口（C=16，4 个头），带 8x8 特征图的 0/-100 掩码，"
                            "M=4，s=2"), 32, 2, 8, 8, 4, 2, 16, 4, 2)]


def _attn_hidden(rng):
    heads = between(rng, 2, 3)
    wa, wb = between(rng, 1, 10_000), between(rng, 1, 10_000)
    return [_attn_case(Text(f"2 images x 6 windows (an 8x12 map, M=4, s=2), C={4 * heads}, {heads} heads, with the "
                            f"mask",
                            f"2 张图像 x 6 个窗口（一张 8x12 特征图，M=4，s=2），C={4 * heads}，"
                            f"{heads} 个头，带掩码"), rng, 2, 8, 12, 4, 2, 4 * heads, heads, wa),
            _attn_case(Text(f"3 images x 4 windows (a 6x6 map, M=3, s=1), C={4 * heads}, {heads} heads, with the mask",
                            f"3 张图像 x 4 个窗口（一张 6x6 特征图，M=3，s=1），C={4 * heads}，"
                            f"{heads} 个头，带掩码"),
                       rng, 3, 6, 6, 3, 1, 4 * heads, heads, wb)]


WINDOW_ATTENTION_MODULE = Exercise(
    name="window_attention_module",
    signature="window_attention_mine(x, mask, state_dict, window_size, num_heads)",
    reference=window_attention_module_reference,
    kind="torch",
    cases=_attn_cases,
    hidden=_attn_hidden,
    forbidden=(f"{_SM}:WindowAttention.forward",),
    allowed=(f"{_SM}:load_learned", "swin_edu.numpy_ref.attention:relative_position_index"),
    guards=TORCH_ATTENTION_GUARDS,
    prelude=MODULE_PRELUDE,
    error_hints={
        "relative_position_bias_table: your module's tensor has shape": Text(
            "the mistake is in __init__: the table is an nn.Parameter of shape ((2M-1)², heads): one row per "
            "relative offset, one column per head.",
            "错误在 __init__ 里：偏置表是形状为 ((2M-1)², heads) 的 nn.Parameter：每个相对偏移一行，每个头一列。"),
        "qkv.weight: your module's tensor has shape": Text(
            "the mistake is in __init__: qkv is one fused nn.Linear(dim, 3 * dim) (q, k and v of all heads).",
            "错误在 __init__ 里：qkv 是一个合并的 nn.Linear(dim, 3 * dim)（所有头的 q、k、v）。"),
    },
    rtol=1e-4, atol=1e-5,
    hints=(Text("The numpy window attention of notebooks 02-04 is the recipe: which of its lines becomes which "
                "torch call, and which of its arrays become parameters (learned, loaded) or buffers (rebuilt)?",
                "笔记本 02-04 的 numpy 窗口注意力就是配方：它的哪一行对应哪个 torch 调用？它的哪些数组变成"
                "参数（学出来、加载进来），哪些变成缓冲区（重建出来）？"),
           Text("In __init__: the fused qkv layer, proj, the bias table ((2M-1)², heads) as a parameter and the "
                "index from snp.relative_position_index as a non-persistent buffer. In forward: qkv, then view and "
                "permute so that q, k, v lead and heads come before tokens; gather the bias by the index and move "
                "its heads axis first; scale q·k only, add the bias, add the mask per window (view the logits as "
                "(B, nW, heads, N, N)), softmax, times v, merge the heads back, proj.",
                "在 __init__ 里：合并的 qkv 层、proj、作为参数的偏置表 ((2M-1)², heads)，以及作为非持久缓冲"
                "区、由 snp.relative_position_index 得到的索引。在 forward 里：qkv，然后 view 和 permute，"
                "让 q、k、v 排在最前、头排在 token 前面；按索引取出偏置，把它的头轴移到最前；"
                "只缩放 q·k，加偏置，按窗口加掩码（把注意力得分看成 (B, nW, heads, N, N)），"
                "softmax，乘以 v，把各个头合并回去，proj。")),
    misconceptions=[
        Misconception(Text("only q·kᵀ is scaled by 1/√d; the relative position bias is added after the scaling "
                           "(you scaled the bias too).",
                           "只有 q·kᵀ 要乘以 1/√d；相对位置偏置在缩放之后再加（你把偏置也缩放了）。"), _attn_wrong("scale_after_bias")),
        Misconception(Text("the gathered table is (N, N, heads): view it as (N, N, heads) and move the heads "
                           "first (permute(2, 0, 1)); viewing it directly as (heads, N, N) scrambles the offsets.",
                           "取出的表是 (N, N, heads)：把它看成 (N, N, heads)，再把头移到最前（permute(2, 0"
                           ", 1)）；直接把它看成 (heads, N, N) 会把偏移打乱。"),
                      _attn_wrong("bias_not_permuted")),
        Misconception(Text("the relative position bias is missing: add the table's values, gathered by "
                           "relative_position_index, to the scaled logits.",
                           "缺少相对位置偏置：把按 relative_position_index 从表中取出的值加到缩放后的注意力"
                           "得分上。"), _attn_wrong("no_bias")),
        Misconception(Text("the mask's window axis was lined up with the heads axis (logits + mask broadcasts "
                           "(nW, N, N) against (B·nW, heads, N, N)): view the logits as (B, nW, heads, N, N) and "
                           "add mask[None, :, None].",
                           "掩码的窗口轴和头轴对齐了（logits + mask 把 (nW, N, N) 和 (B·nW, heads, N, N)"
                           " 广播在一起）：把注意力得分看成 (B, nW, heads, N, N)，再加上 mask[None, :, None]。"), _attn_wrong("mask_over_heads")),
        Misconception(Text("windows are ordered image by image (image 0's nW windows, then image 1's): the mask "
                           "repeats as a whole for each image (tile), not window by window (repeat_interleave).",
                           "窗口是一张图像接一张图像排列的（先是图像 0 的 nW 个窗口，然后是图像 1 的）："
                           "掩码要对每张图像整体重复（tile），而不是逐个窗口重复（repeat_interleave）。"),
                      _attn_wrong("mask_interleaved")),
        Misconception(Text("the mask was ignored: add it to the logits (per window, the same for every head) "
                           "before the softmax.",
                           "掩码被忽略了：在 softmax 之前把它加到注意力得分上（按窗口加，每个头都一样）。"), _attn_wrong("mask_no_mask")),
    ],
)


# --- 7.2 SwinBlock
def swin_block_module_reference(x, state_dict, num_heads, window_size, shift_size):
    """The reference of exercise 7.2: :class:`swin_edu.demos.student_model.SwinBlock` on a (B, H, W, C) map."""
    from ..demos.student_model import SwinBlock

    return _run(SwinBlock(x.shape[-1], num_heads, window_size, shift_size), state_dict, x)


def _block_wrong(kind, always=False):
    def wrong(x, state_dict, num_heads, window_size, shift_size):
        if shift_size == 0 and kind != "norms_swapped" and not always:
            return None
        return _run(_variant("SwinBlock", kind)(x.shape[-1], num_heads, window_size, shift_size), state_dict, x)
    return wrong


def _block_case(label, seed_or_rng, B, H, W, M, s, C, heads, wseed):
    from ..demos.student_model import SwinBlock

    sd = module_weights(SwinBlock(C, heads, M, s), seed=wseed)
    return Case(label, (_torch_map(seed_or_rng, B, H, W, C), sd, heads, M, s))


def _block_cases():
    return [_block_case(Text("a W-MSA block (shift 0): two 8x8 maps, C=16, 4 heads, M=4",
                             "一个 W-MSA block（移位 0）：两张 8x8 特征图，C=16，4 个头，M=4"), 41, 2, 8, 8, 4, 0, 16, 4, 3),
            _block_case(Text("an SW-MSA block (shift 2): two 8x8 maps, C=16, 4 heads, M=4",
                             "一个 SW-MSA block（移位 2）：两张 8x8 特征图，C=16，4 个头，M=4"), 42, 2, 8, 8, 4, 2, 16, 4, 4)]


def _block_hidden(rng):
    heads = between(rng, 2, 3)
    return [_block_case(Text(f"an SW-MSA block on a non-square 8x12 map, C={4 * heads}, {heads} heads, M=4, s=2",
                             f"一个 SW-MSA block，非正方形的 8x12 特征图，C={4 * heads}，{heads} 个头，"
                             "M=4，s=2"), rng,
                        2, 8, 12, 4, 2, 4 * heads, heads, between(rng, 1, 10_000)),
            _block_case(Text(f"an SW-MSA block on a 9x9 map, C={4 * heads}, {heads} heads, M=3, s=1",
                             f"一个 SW-MSA block，9x9 特征图，C={4 * heads}，{heads} 个头，"
                             "M=3，s=1"), rng,
                        1, 9, 9, 3, 1, 4 * heads, heads, between(rng, 1, 10_000))]


SWIN_BLOCK_MODULE = Exercise(
    name="swin_block_module",
    signature="swin_block_torch_mine(x, state_dict, num_heads, window_size, shift_size)",
    reference=swin_block_module_reference,
    kind="torch",
    cases=_block_cases,
    hidden=_block_hidden,
    forbidden=(f"{_SM}:SwinBlock.forward",),
    allowed=(f"{_SM}:load_learned", f"{_SM}:WindowAttention", "swin_edu.numpy_ref.windows:shift_mask"),
    prelude=MODULE_PRELUDE,
    rtol=1e-4, atol=1e-5,
    hints=(Text("It is notebook 05's swin_block with modules: which parts hold weights (and so need the official "
                "names norm1, attn, norm2, mlp.fc1, mlp.fc2) and which are plain tensor operations?",
                "这就是笔记本 05 的 swin_block，只是换成了模块：哪些部分带权重（因此要用官方名字 norm1、"
                "attn、norm2、mlp.fc1、mlp.fc2），哪些只是普通的张量运算？"),
           Text("Two pre-norm residual steps on a channels-last map. The attention step: norm1, roll by -s, cut into "
                "windows of M·M tokens, your WindowAttention with snp.shift_mask (only when s > 0, as a tensor), "
                "put the windows back, roll by +s, add. The MLP step: norm2, fc1, GELU, fc2, add.",
                "在通道在后（channels-last）的特征图上做两个先归一化（pre-norm）的残差步骤。"
                "注意力这一步：norm1，按 -s 滚动，切成每个 M·M 个 token 的窗口，用你的 WindowAttention 加 "
                "snp.shift_mask（只在 s > 0 时，转成张量），把窗口放回去，按 +s 滚回，加回去。"
                "MLP 这一步：norm2、fc1、GELU、fc2，加回去。")),
    misconceptions=[
        Misconception(Text("your output is still shifted: after putting the windows back, roll the map by +s to "
                           "undo the first roll.",
                           "你的输出仍是移位后的：把窗口放回去之后，要按 +s 滚动特征图，撤销第一次滚动。"), _block_wrong("no_reverse_roll")),
        Misconception(Text("you rolled the map by +s first. The official code rolls by -s (up-left); the mask's "
                           "regions are built for that direction, and the final roll by +s undoes it.",
                           "你一开始按 +s 滚动了特征图。官方代码按 -s（向左上）滚动；掩码的区域是按这个方向"
                           "构造的，最后按 +s 滚动把它撤销。"),
                      _block_wrong("roll_plus")),
        Misconception(Text("the norms are swapped: norm1 comes before the attention, norm2 before the MLP.",
                           "两个归一化弄反了：norm1 在注意力之前，norm2 在 MLP 之前。"),
                      _block_wrong("norms_swapped")),
        Misconception(Text("the shift mask is missing: after the roll, windows hold tokens that were far apart; "
                           "pass snp.shift_mask(H, W, M, s) (as a tensor) to the attention when s > 0.",
                           "缺少移位掩码：滚动之后，窗口里有原本相隔很远的 token；s > 0 时要把 snp.shift_m"
                           "ask(H, W, M, s)（转成张量）传给注意力。"),
                      _block_wrong("no_mask")),
    ],
)


# --- 7.3 PatchMerging
def patch_merging_module_reference(x, state_dict):
    """The reference of exercise 7.3: :class:`swin_edu.demos.student_model.PatchMerging` on (B, H, W, C)."""
    from ..demos.student_model import PatchMerging

    return _run(PatchMerging(x.shape[-1]), state_dict, x)


def _merge_wrong(kind):
    def wrong(x, state_dict):
        return _run(_variant("PatchMerging", kind)(x.shape[-1]), state_dict, x)
    return wrong


def _merge_case(label, seed_or_rng, B, H, W, C, wseed):
    from ..demos.student_model import PatchMerging

    return Case(label, (_torch_map(seed_or_rng, B, H, W, C), module_weights(PatchMerging(C), seed=wseed)))


PATCH_MERGING_MODULE = Exercise(
    name="patch_merging_module",
    signature="patch_merging_torch_mine(x, state_dict)",
    reference=patch_merging_module_reference,
    kind="torch",
    cases=lambda: [_merge_case(Text("two 4x4 maps with 3 channels",
                                    "两张 4x4 特征图，3 个通道"), 51, 2, 4, 4, 3, 5),
                   _merge_case(Text("one 8x6 map with 8 channels",
                                    "一张 8x6 特征图，8 个通道"), 52, 1, 8, 6, 8, 6)],
    hidden=lambda rng: [_merge_case(Text("two 6x10 maps with 5 channels",
                                         "两张 6x10 特征图，5 个通道"), rng, 2, 6, 10, 5, between(rng, 1, 10_000))],
    forbidden=(f"{_SM}:PatchMerging.forward",),
    allowed=(f"{_SM}:load_learned",),
    prelude=MODULE_PRELUDE,
    error_hints={
        "norm.weight: your module's tensor has shape": Text(
            "the mistake is in __init__: the norm runs after the gather, on the 4C concatenated channels, so it is "
            "nn.LayerNorm(4 * dim), not nn.LayerNorm(dim).",
            "错误在 __init__ 里：norm 在取块之后运行，作用在拼接后的 4C 个通道上，所以它是 nn.LayerNorm(4 * dim)，"
            "不是 nn.LayerNorm(dim)。"),
        "reduction.weight: your module's tensor has shape": Text(
            "the mistake is in __init__: reduction maps the 4C gathered channels to 2C: "
            "nn.Linear(4 * dim, 2 * dim, bias=False).",
            "错误在 __init__ 里：reduction 把取块得到的 4C 个通道映射到 2C：nn.Linear(4 * dim, 2 * dim, bias=False)。"),
        "['reduction.bias']": Text(
            "the mistake is in __init__: Swin's reduction has no bias: nn.Linear(4 * dim, 2 * dim, bias=False).",
            "错误在 __init__ 里：Swin 的 reduction 没有偏置：nn.Linear(4 * dim, 2 * dim, bias=False)。"),
        "normalized_shape": Text(
            "the norm met a tensor whose last axis is not the 4C gathered channels: concatenate the four pieces "
            "along the channels (dim=-1), then norm, then reduction (in that order).",
            "norm 收到的张量最后一个轴不是拼接后的 4C 个通道：先沿通道（dim=-1）拼接四块，再 norm，再 reduction"
            "（按这个顺序）。"),
    },
    rtol=1e-4, atol=1e-5,
    hints=(Text("The colleague's module fails loudly once (read the load error: which name does the checkpoint not "
                "have?) and then quietly: put the seed's 4x4 map 0..15 through its gather and compare the first token "
                "with notebook 05's (0, 4, 1, 5).",
                "同事的模块先是大声地出错一次（读一读加载时的报错：checkpoint 里没有哪个名字？），然后是悄无声息地错："
                "把原文那张存放 0..15 的 4x4 特征图送进它的取块步骤，拿第一个 token 和第 05 章的 (0, 4, 1, 5) 对比。"),
           Text("Gather the four stride-2 sub-maps in the official order (row, col) = (0,0), (1,0), (0,1), (1,1) and "
                "concatenate them along the channels; then a LayerNorm over 4C called norm and a 4C -> 2C linear "
                "layer without bias called reduction.",
                "按官方顺序 (row, col) = (0,0)、(1,0)、(0,1)、(1,1) 取出四个步长为 2 的子图，"
                "沿通道拼接；然后是一个名为 norm、作用在 4C 上的层归一化，和一个名为 reduction、"
                "不带偏置的 4C -> 2C 线性层。")),
    misconceptions=[
        Misconception(Text("your gather takes each 2x2 group row by row, (0,0), (0,1), (1,0), (1,1), which is what a "
                           "reshape to (B, H/2, 2, W/2, 2, C) gives; the official order is column by column: x1 is the "
                           "pixel *below* (row offset 1, column 0), x2 the one to the right. The checkpoint's reduction "
                           "layer expects it.",
                           "你的取块按行读每个 2x2 小组：(0,0)、(0,1)、(1,0)、(1,1)，reshape 成 (B, H/2, 2, W/2, 2, C) "
                           "得到的正是这个顺序；官方顺序是按列：x1 是*下面*的像素（行偏移 1，列偏移 0），x2 是右边的那个。"
                           "checkpoint 里的 reduction 层就是按这个顺序训练的。"),
                      _merge_wrong("x1_x2_swapped")),
        Misconception(Text("the gather concatenates whole blocks of C channels (x0's C, then x1's...); stacking the "
                           "four pieces on a new last axis interleaves them channel by channel.",
                           "取块时拼接的是整组的 C 个通道（先是 x0 的 C 个，然后是 x1 的……）；"
                           "把四块堆叠到一个新的最后轴上，会把它们按通道交错排列。"),
                      _merge_wrong("interleaved")),
        Misconception(Text("x0 is the top-left pixel (0, 0) of each 2x2 group: your order is reversed.",
                           "x0 是每个 2x2 小组左上角的像素 (0, 0)：你的顺序反了。"),
                      _merge_wrong("raster_reversed")),
    ],
)


# --- 7.4 BasicLayer
def basic_layer_module_reference(x, state_dict, depth, num_heads, window_size, shift_size, downsample):
    """The reference of exercise 7.4: :class:`swin_edu.demos.student_model.BasicLayer` (one stage)."""
    from ..demos.student_model import BasicLayer

    return _run(BasicLayer(x.shape[-1], depth, num_heads, window_size, shift_size, downsample), state_dict, x)


def _layer_wrong(kind):
    def wrong(x, state_dict, depth, num_heads, window_size, shift_size, downsample):
        module = _variant("BasicLayer", kind)(x.shape[-1], depth, num_heads, window_size, shift_size, downsample)
        return _run(module, state_dict, x)
    return wrong


def _layer_case(label, seed_or_rng, H, W, depth, downsample, wseed):
    from ..demos.student_model import BasicLayer

    sd = module_weights(BasicLayer(8, depth, 2, 4, 2, downsample), seed=wseed)
    return Case(label, (_torch_map(seed_or_rng, 2, H, W, 8), sd, depth, 2, 4, 2, downsample))


BASIC_LAYER_MODULE = Exercise(
    name="basic_layer_module",
    signature="basic_layer_mine(x, state_dict, depth, num_heads, window_size, shift_size, downsample)",
    reference=basic_layer_module_reference,
    kind="torch",
    cases=lambda: [_layer_case(Text("a stage of 2 blocks and a patch merging: two 8x8 maps, C=8, 2 heads, M=4, s=2",
                                    "一个 stage，2 个 block 加一次块合并：两张 8x8 特征图，"
                                    "C=8，2 个头，M=4，s=2"),
                               61, 8, 8, 2, True, 7),
                   _layer_case(Text("a stage of 3 blocks without patch merging: two 8x8 maps, C=8, 2 heads, M=4, s=2",
                                    "一个 stage，3 个 block，没有块合并：两张 8x8 特征图，"
                                    "C=8，2 个头，M=4，s=2"),
                               62, 8, 8, 3, False, 8)],
    hidden=lambda rng: [_layer_case(Text("a stage of 4 blocks and a patch merging on 8x12 maps, C=8, 2 heads, M=4, s=2",
                                         "一个 stage，4 个 block 加一次块合并，8x12 特征图，"
                                         "C=8，2 个头，M=4，s=2"),
                                    rng, 8, 12, 4, True, between(rng, 1, 10_000))],
    forbidden=(f"{_SM}:BasicLayer.forward", f"{_SM}:BasicLayer.__init__"),
    allowed=(f"{_SM}:load_learned", f"{_SM}:SwinBlock", f"{_SM}:PatchMerging"),
    prelude=MODULE_PRELUDE,
    rtol=1e-4, atol=1e-5,
    hints=(Text("Two questions to the colleague's layer: which of its blocks shift (notebook 05's stage alternates), "
                "and how many learned numbers does it hold against the weights it loads? "
                "sum(p.numel() for p in layer.parameters()) counts each parameter object once.",
                "向同事的这一层问两个问题：它的哪些 block 移位（第 05 章的 stage 是交替的）？它持有的可学习参数，"
                "和它加载的权重相比有多少？sum(p.numel() for p in layer.parameters()) 对每个参数对象只计一次。"),
           Text("An nn.ModuleList called blocks whose block j shifts by shift_size when j is odd and by 0 when j is "
                "even (W-MSA, SW-MSA, W-MSA, ...); downsample is your PatchMerging or None; forward runs the blocks "
                "in order, then downsample.",
                "一个名为 blocks 的 nn.ModuleList，其中 block j 在 j 为奇数时移位 shift_size，"
                "为偶数时移位 0（W-MSA、SW-MSA、W-MSA、……）；downsample 是你的 PatchMerging 或 None；"
                "forward 依次运行各个 block，再运行 downsample。")),
    misconceptions=[
        Misconception(Text("this is still what your colleague's layer computes: both of its bugs are in it. Count the "
                           "parameters it really holds, and look at which of its blocks shift.",
                           "这仍然是同事那一层算出来的结果：两个 bug 都还在。数一数它真正持有多少个参数，"
                           "再看看它的哪些 block 移位。"), _layer_wrong("colleague")),
        Misconception(Text("your blocks share their weights: `[block] * depth` (or repeating a pair) puts the same "
                           "module object in several places of the list, so loading the checkpoint writes block 0's "
                           "and block 2's weights into one tensor, and the last one wins. Make a new SwinBlock for "
                           "every j.",
                           "你的 block 共享了权重：`[block] * depth`（或重复同一对 block）把同一个模块对象放进列表的"
                           "好几个位置，加载检查点时 block 0 和 block 2 的权重写进的是同一个张量，最后写的那个说了算。"
                           "每个 j 都要新建一个 SwinBlock。"), _layer_wrong("shared")),
        Misconception(Text("every block shifted: the blocks alternate, W-MSA (shift 0) first, then SW-MSA "
                           "(shift_size), and so on.",
                           "每个 block 都移位了：block 是交替的，先是 W-MSA（移位 0），然后是 SW-MSA（shif"
                           "t_size），依此类推。"), _layer_wrong("all_shifted")),
        Misconception(Text("no block shifted: the odd blocks (1, 3, ...) are SW-MSA blocks with shift_size.",
                           "没有一个 block 移位：奇数号的 block（1, 3, ...）是移位 shift_size 的 SW-MSA bl"
                           "ock。"),
                      _layer_wrong("none_shifted")),
        Misconception(Text("the alternation starts with W-MSA: block 0 does not shift, block 1 does.",
                           "交替从 W-MSA 开始：block 0 不移位，block 1 移位。"),
                      _layer_wrong("even_shifted")),
    ],
)


# --- 7.6 StudentSwin: the whole model from the learner's classes
#: the imports of exercise 7.6's answer cell: the module prelude and the reference BasicLayer (in the notebook: yours)
STUDENT_SWIN_PRELUDE = MODULE_PRELUDE + ("from swin_edu.demos.student_model import BasicLayer\n"
                                         "from swin_edu.config import SwinConfig\n")


def student_swin_test_config(stages: int = 2):
    """The small models of exercise 7.6: 16x16 RGB images, C=8 (2 stages: 8x8 then 4x4 tokens, window 4, the last
    stage one window and no shift), or 32x32 grey images and 3 stages (16x16, 8x8, 4x4 tokens)."""
    from ..config import SwinConfig

    if stages == 2:
        return SwinConfig(img_size=16, patch_size=2, in_chans=3, embed_dim=8, depths=(2, 2), num_heads=(2, 4),
                          window_size=4, mlp_ratio=2.0, num_classes=5, name="student-test-2")
    return SwinConfig(img_size=32, patch_size=2, in_chans=1, embed_dim=8, depths=(2, 2, 2), num_heads=(2, 2, 4),
                      window_size=4, mlp_ratio=2.0, num_classes=3, name="student-test-3")


def student_swin_reference(images, state_dict, cfg):
    """The reference of exercise 7.6: :class:`swin_edu.demos.student_model.StudentSwin` with ``state_dict``."""
    from ..demos.student_model import StudentSwin

    return _run(StudentSwin(cfg), state_dict, images)


def _swin_wrong(kind):
    def wrong(images, state_dict, cfg):
        return _run(_variant("StudentSwin", kind)(cfg), state_dict, images)
    return wrong


def _swin_case(label, seed_or_rng, stages, B, wseed):
    from ..demos.student_model import StudentSwin

    cfg = student_swin_test_config(stages)
    sd = module_weights(StudentSwin(cfg), seed=wseed)
    return Case(label, (_torch_map(seed_or_rng, B, cfg.in_chans, *cfg.img_hw), sd, cfg))


STUDENT_SWIN = Exercise(
    name="student_swin",
    signature="student_swin_mine(images, state_dict, cfg)",
    reference=student_swin_reference,
    kind="torch",
    cases=lambda: [_swin_case(Text("2 stages: three 16x16 RGB images, C=8 (8x8 tokens, then 4x4 in one window)",
                                   "2 个 stage：三张 16x16 的 RGB 图像，C=8（8x8 个 token，然后是一个窗口里的 4x4 个 token）"),
                              71, 2, 3, 11),
                   _swin_case(Text("3 stages: two 32x32 grey images, C=8 (16x16, 8x8, 4x4 tokens)",
                                   "3 个 stage：两张 32x32 的灰度图像，C=8（16x16、8x8、4x4 个 token）"), 72, 3, 2, 12)],
    hidden=lambda rng: [_swin_case(Text("2 stages, other weights and images",
                                        "2 个 stage，换一套权重和图像"), rng, 2, 2, between(rng, 1, 10_000)),
                        _swin_case(Text("3 stages, other weights and images",
                                        "3 个 stage，换一套权重和图像"), rng, 3, 1, between(rng, 1, 10_000))],
    forbidden=(f"{_SM}:StudentSwin.forward", f"{_SM}:StudentSwin.__init__"),
    # the stages are exercise 7.4's BasicLayer (the prelude imports the reference's); the rest is the learner's
    allowed=(f"{_SM}:load_learned", f"{_SM}:BasicLayer"),
    prelude=STUDENT_SWIN_PRELUDE,
    rtol=1e-4, atol=1e-5,
    error_hints={"normalized_shape": Text(
        "a LayerNorm normalises the last axis, so the map must be channels-last there: the conv's output is "
        "(B, C, h, w); permute(0, 2, 3, 1) makes it (B, h, w, C).",
        "层归一化作用在最后一个轴上，所以那里的特征图必须是通道在后（channels-last）：卷积的输出是 (B, C, h, w)；"
        "permute(0, 2, 3, 1) 把它变成 (B, h, w, C)。")},
    hints=(Text("Follow notebook 06's forward: which of its steps hold weights, and what are the official names of "
                "the modules that hold them (patch_embed.proj, patch_embed.norm, layers, norm, head)?",
                "照着笔记本 06 的前向传播来：哪些步骤带权重，带权重的模块的官方名字是什么（patch_embed.proj、"
                "patch_embed.norm、layers、norm、head）？"),
           Text("In __init__: patch_embed = nn.Module() holding proj (a p x p stride-p Conv2d, in_chans -> embed_dim) "
                "and norm (LayerNorm); layers = an nn.ModuleList of your BasicLayer, one per stage, with that stage's "
                "dim, depth, heads and (window, shift) from cfg.stage_windows(), a patch merging after every stage but "
                "the last; norm over cfg.num_features; head = Linear(num_features, num_classes). In forward: conv, "
                "permute to channels-last, norm, the layers, the final norm, the mean over the tokens, the head.",
                "在 __init__ 里：patch_embed = nn.Module()，里面有 proj（p x p、步长 p 的 Conv2d，in_chans -> "
                "embed_dim）和 norm（LayerNorm）；layers = 由你的 BasicLayer 组成的 nn.ModuleList，每个 stage "
                "一个，用这个 stage 的 dim、depth、heads 和 cfg.stage_windows() 里的（窗口，移位），除最后一个"
                " stage 外每个 stage 之后都做块合并；norm 作用在 cfg.num_features 上；head = Linear(num_features, "
                "num_classes)。在 forward 里：卷积，permute 成通道在后，norm，各个 layer，最后的 norm，"
                "对 token 求平均，head。")),
    misconceptions=[
        Misconception(Text("the patch embedding's LayerNorm (patch_embed.norm) is missing after the conv.",
                           "卷积之后缺了图像块嵌入的层归一化（patch_embed.norm）。"), _swin_wrong("no_patch_norm")),
        Misconception(Text("the final LayerNorm (norm) is missing before the pooling.",
                           "池化之前缺了最后的层归一化（norm）。"), _swin_wrong("no_final_norm")),
        Misconception(Text("Swin pools by averaging the tokens (mean over H and W), not by their maximum.",
                           "Swin 的池化是对 token 求平均（对 H 和 W 求平均），不是取最大值。"), _swin_wrong("max_pool")),
        Misconception(Text("the final LayerNorm acts on every token, before the pooling: norm(x).mean(dim=(1, 2)), "
                           "not norm(x.mean(dim=(1, 2))).",
                           "最后的层归一化作用在每个 token 上，在池化之前：norm(x).mean(dim=(1, 2))，"
                           "而不是 norm(x.mean(dim=(1, 2)))。"), _swin_wrong("pool_then_norm")),
        Misconception(Text("the conv's output is channels-first (B, C, h, w): permute(0, 2, 3, 1) to channels-last "
                           "before the LayerNorm and the blocks (here C = h = w, so nothing raised).",
                           "卷积的输出是通道在前（B, C, h, w）：在层归一化和各个 block 之前要 permute(0, 2, 3, 1)"
                           " 成通道在后（这里 C = h = w，所以没有报错）。"), _swin_wrong("no_permute")),
        Misconception(Text("each stage takes its (window, shift) from cfg.stage_windows(): a stage whose map is not "
                           "larger than the window does not shift (the last stage here, and Swin-T's).",
                           "每个 stage 的（窗口，移位）要取自 cfg.stage_windows()：特征图不比窗口大的 stage 不移位"
                           "（这里的最后一个 stage，Swin-T 的也是）。"), _swin_wrong("config_windows")),
    ],
)
