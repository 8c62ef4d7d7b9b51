"""The building blocks of Swin in PyTorch, named as the paper, the official code and the numpy reference.

=====================  ====================================  =====================================
module                 what it does                          numpy reference
=====================  ====================================  =====================================
``PatchEmbed``         4x4 patches -> C channels (+ LN)       ``numpy_ref.patch_embed``
``WindowAttention``    multi-head attention in each window,   ``numpy_ref.window_attention``
                       relative position bias, shift mask
``Mlp``                Linear C->4C, GELU, Linear 4C->C       ``numpy_ref.mlp``
``DropPath``           stochastic depth                       ``numpy_ref.drop_path``
``SwinBlock``          LN, (S)W-MSA, residual, LN, MLP,       ``numpy_ref.swin_block``
                       residual (W-MSA or SW-MSA)
``PatchMerging``       2x2 gather, LN(4C), Linear 4C->2C      ``numpy_ref.patch_merging``
``BasicLayer``         a stage: blocks, then merging          ``numpy_ref.stage``
=====================  ====================================  =====================================

Feature maps are channels-last ``(B, H, W, C)`` between blocks. A map that the window does not divide
is zero-padded at the bottom/right after ``norm1`` and *then* shifted, and the mask is built on the
padded map (the official detection code; the numpy reference does the same).

Speed notes (found with ``torch.profiler``; numbers in ``docs/benchmarks.md``). None of these changes
the numbers beyond float rounding; the tests compare every path with the numpy reference.

* The relative position bias and the shift mask are added to the logits as **one** float mask, handed
  to ``scaled_dot_product_attention``. At inference it is gathered once and cached per input size and
  batch size (:meth:`SwinBlock.attention_bias`); in training it is gathered at every forward, as the
  bias table learns. The 0/-100 masks of other input sizes are built once and cached too.
* A stage keeps its tokens in *window order* (:class:`BasicLayer`): W-MSA needs no partition and no
  reverse, SW-MSA one gather in and one out instead of ``torch.roll`` (slow on the CPU) plus
  partition, and patch merging gathers its 2x2 groups directly.
* At CPU inference (float32, no autograd) each block runs over chunks of whole windows so that its
  intermediates stay in the cache, and the linear layers use oneDNN's fused kernels: bias inside the
  matrix product, GELU fused into fc1, the residual add fused into proj and fc2, weights pre-packed
  (:mod:`swin_edu.model.kernels`). Training, GPUs, autocast and ``torch.compile`` take the plain path.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from .._validate import check_bool, check_float, check_int
from . import kernels
from .ops import relative_position_index, shift_mask

__all__ = [
    "ATTN_IMPLS",
    "BasicLayer",
    "DropPath",
    "Mlp",
    "PatchEmbed",
    "PatchMerging",
    "SwinBlock",
    "SwinTransformerBlock",
    "WindowAttention",
    "trunc_normal_",
    "window_order_indices",
]

ATTN_IMPLS = ("sdpa", "explicit")

#: tokens per chunk of the CPU inference path (the MLP's hidden activation is CHUNK_TOKENS x 4C floats)
CHUNK_TOKENS = 8192


def _compiling() -> bool:
    return bool(torch.compiler.is_compiling())


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype the attention logits will have: autocast's when it is on, else x's. The cached
    bias+mask is stored in it, so that it is not cast again at every call."""
    try:
        if torch.is_autocast_enabled(x.device.type):
            return torch.get_autocast_dtype(x.device.type)
    except RuntimeError:  # a device type without autocast (e.g. meta)
        pass
    return x.dtype


def trunc_normal_(tensor: torch.Tensor, std: float = 0.02) -> torch.Tensor:
    """The official init: normal(0, std) truncated to [-2, 2] (absolute, as timm's trunc_normal_)."""
    return nn.init.trunc_normal_(tensor, mean=0.0, std=std, a=-2.0, b=2.0)


def _check_attn_impl(attn_impl, where):
    if attn_impl not in ATTN_IMPLS:
        raise ValueError(f"{where}: attn_impl must be one of {ATTN_IMPLS}, got {attn_impl!r}")
    return attn_impl


# ----------------------------------------------------------------------------------------- patch embed
class PatchEmbed(nn.Module):
    """Patch partition + linear embedding: a ``patch_size`` x ``patch_size`` conv with stride
    ``patch_size``, then LayerNorm. Images (B, C_in, H, W) -> tokens (B, H/p, W/p, C), channels-last.

    Sizes the patch does not divide are zero-padded at the bottom/right first (as the official code).
    """

    def __init__(self, patch_size: int = 4, in_chans: int = 3, embed_dim: int = 96, patch_norm: bool = True):
        super().__init__()
        where = "PatchEmbed"
        self.patch_size = check_int(patch_size, "patch_size", where=where)
        self.in_chans = check_int(in_chans, "in_chans", where=where)
        self.embed_dim = check_int(embed_dim, "embed_dim", where=where)
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim) if check_bool(patch_norm, "patch_norm", where=where) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.patch_size
        H, W = x.shape[-2:]
        if H % p or W % p:
            x = F.pad(x, (0, (-W) % p, 0, (-H) % p))
        x = self.proj(x).permute(0, 2, 3, 1)  # (B, H/p, W/p, C): a view of the conv output
        if self.norm is not None:
            x = self.norm(x)
        return x.contiguous()

    def extra_repr(self) -> str:
        return f"patch_size={self.patch_size}"


# ----------------------------------------------------------------------------------------- attention
class WindowAttention(nn.Module):
    r"""Window multi-head self-attention (W-MSA / SW-MSA) with relative position bias:

        Attention(Q, K, V) = SoftMax(Q K^T / sqrt(d) + B + Mask) V

    ``forward(x, mask)`` takes the tokens of each window ``(num_windows*B, N, C)`` and the optional
    0/-100 shift mask ``(num_windows, N, N)``, exactly as the official ``WindowAttention``. The blocks
    pass a pre-fused ``attn_bias`` (bias + mask, cached) instead.

    ``attn_impl="sdpa"`` uses :func:`torch.nn.functional.scaled_dot_product_attention` with the bias and
    mask as one float mask; ``"explicit"`` computes ``softmax(q k^T * scale + bias + mask) v`` step by
    step, as the notebooks teach. Both give the same logits (to float rounding).

    ``rel_pos_bias=False`` (the paper's ablation) drops B: no ``relative_position_bias_table``, no
    ``relative_position_index``; only the mask is added.
    """

    def __init__(self, dim: int, window_size: int, num_heads: int, qkv_bias: bool = True,
                 qk_scale: float | None = None, attn_drop: float = 0.0, proj_drop: float = 0.0,
                 attn_impl: str = "sdpa", rel_pos_bias: bool = True):
        super().__init__()
        where = "WindowAttention"
        self.dim = check_int(dim, "dim", where=where)
        self.window_size = check_int(window_size, "window_size", where=where)
        self.num_heads = check_int(num_heads, "num_heads", where=where)
        if dim % num_heads:
            raise ValueError(f"{where}: num_heads={num_heads} must divide dim={dim}")
        head_dim = dim // num_heads
        self.scale = float(qk_scale) if qk_scale is not None else head_dim ** -0.5
        self.attn_impl = _check_attn_impl(attn_impl, where)
        M = self.window_size
        self.rel_pos_bias = check_bool(rel_pos_bias, "rel_pos_bias", where=where)
        if self.rel_pos_bias:
            # learned: one bias per head for each of the (2M-1)^2 relative offsets
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * M - 1) ** 2, num_heads))
            # derived: which table row each (query, key) pair of a window reads
            self.register_buffer("relative_position_index", relative_position_index(M))
        else:
            self.register_parameter("relative_position_bias_table", None)
            self.relative_position_index = None
        self.qkv = nn.Linear(dim, 3 * dim, bias=check_bool(qkv_bias, "qkv_bias", where=where))
        self.attn_drop = nn.Dropout(check_float(attn_drop, "attn_drop", minimum=0.0, maximum=1.0, where=where))
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(check_float(proj_drop, "proj_drop", minimum=0.0, maximum=1.0, where=where))
        if self.rel_pos_bias:
            trunc_normal_(self.relative_position_bias_table, std=0.02)

    # -- derived buffers: rebuilt, never required in a checkpoint
    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # The index is derived from the window size: whatever the checkpoint holds (nothing, or the
        # index of another window size), keep ours.
        if self.relative_position_index is not None:
            state_dict[prefix + "relative_position_index"] = self.relative_position_index
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def relative_position_bias(self) -> torch.Tensor:
        """B: (num_heads, N, N), gathered from the table with ``relative_position_index`` (zeros when
        the model has no relative position bias)."""
        N = self.window_size ** 2
        if self.relative_position_bias_table is None:
            return self.qkv.weight.new_zeros(self.num_heads, N, N)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(N, N, self.num_heads).permute(2, 0, 1)

    def attention_bias(self, mask: torch.Tensor | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The float mask added to the logits: B + Mask, shape (num_windows or 1, num_heads, N, N)."""
        bias = self.relative_position_bias().unsqueeze(0)  # (1, nH, N, N)
        if mask is not None:
            bias = bias + mask.to(bias.dtype).unsqueeze(1)  # (nW, nH, N, N)
        bias = bias.contiguous()
        return bias if dtype is None else bias.to(dtype)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *,
                attn_bias: torch.Tensor | None = None, return_attn: bool = False):
        """x: (num_windows*B, N, C). ``mask``: (num_windows, N, N) 0/-100 or None (official API).
        ``attn_bias``: the fused (num_windows or 1, num_heads, N, N) mask, instead of ``mask``.
        With ``return_attn`` also returns the attention weights (num_windows*B, num_heads, N, N)
        (computed by the explicit path)."""
        if attn_bias is None:
            attn_bias = self.attention_bias(mask)
        result = self.attend(x, attn_bias, return_attn=return_attn)
        out, attn = result if return_attn else (result, None)
        out = self.proj_drop(self.proj(out))
        return (out, attn) if return_attn else out

    def attend(self, x: torch.Tensor, attn_bias: torch.Tensor, return_attn: bool = False):
        """Everything but the output projection: qkv, softmax(q k^T * scale + bias + mask), times v.

        x: (num_windows*B, N, C) -> (num_windows*B, N, C), heads concatenated. ``attn_bias``:
        (1, nH, N, N) (W-MSA: one bias for every window), (num_windows, nH, N, N) (one per window of an
        image, repeated over the batch) or (num_windows*B, nH, N, N) (one per window of the batch).
        """
        B_, N, C = x.shape
        nH = self.num_heads
        hd = C // nH
        nW = attn_bias.shape[0]
        if B_ % nW or tuple(attn_bias.shape[1:]) != (nH, N, N):
            raise ValueError(f"WindowAttention: the mask must be (num_windows, {N}, {N}) with num_windows "
                             f"dividing x.shape[0]={B_}; got a bias+mask of shape {tuple(attn_bias.shape)}")
        qkv = kernels.linear(x, self.qkv.weight, self.qkv.bias)  # (B_, N, 3C)
        q, k, v = qkv.view(B_, N, 3, nH, hd).permute(2, 0, 3, 1, 4).unbind(0)  # strided views, no copy
        if attn_bias.dtype != q.dtype:  # SDPA wants the mask in the dtype of q (autocast: bf16/fp16)
            attn_bias = attn_bias.to(q.dtype)
        if self.attn_impl == "sdpa" and not return_attn:
            if 1 < nW < B_:  # one mask per window of an image: repeat it over the batch
                attn_bias = attn_bias.unsqueeze(0).expand(B_ // nW, -1, -1, -1, -1).reshape(B_, nH, N, N)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias,
                                                 dropout_p=self.attn_drop.p if self.training else 0.0,
                                                 scale=self.scale)
            return out.transpose(1, 2).reshape(B_, N, C)
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (B_, nH, N, N) logits
        attn = (attn.view(-1, nW, nH, N, N) + attn_bias).view(B_, nH, N, N)
        attn = attn.softmax(dim=-1)
        out = (self.attn_drop(attn) @ v).transpose(1, 2).reshape(B_, N, C)
        return (out, attn) if return_attn else out

    def extra_repr(self) -> str:
        return (f"window_size={self.window_size}, num_heads={self.num_heads}, attn_impl={self.attn_impl!r}"
                + ("" if self.rel_pos_bias else ", rel_pos_bias=False"))


# ----------------------------------------------------------------------------------------- MLP, DropPath
class Mlp(nn.Module):
    """Linear C -> hidden, GELU, dropout, Linear hidden -> C, dropout (official ``Mlp``).

    At CPU inference, long token sequences are processed in chunks of ``CHUNK_TOKENS`` tokens
    (:meth:`residual_chunked`): the result is the same, but the hidden activation stays in cache.
    """

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))

    def residual_chunked(self, x: torch.Tensor, norm: nn.LayerNorm, chunk: int | None = None) -> torch.Tensor:
        """``x + MLP(norm(x))`` at inference, over chunks of ``chunk`` tokens, with the fused kernels
        of :mod:`~swin_edu.model.kernels` (fc1+GELU, fc2+residual). Same result as the plain path
        (dropout is the identity at inference). x: (..., C), contiguous."""
        C = x.shape[-1]
        chunk = chunk or CHUNK_TOKENS
        x2 = x.reshape(-1, C)
        out = torch.empty_like(x2)
        for i in range(0, x2.shape[0], chunk):
            xc = x2[i:i + chunk]
            h = F.layer_norm(xc, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
            h = kernels.linear(h, self.fc1.weight, self.fc1.bias, gelu=True)
            out[i:i + chunk] = kernels.linear_add(h, self.fc2.weight, self.fc2.bias, xc)
        return out.view(x.shape)


class DropPath(nn.Module):
    """Stochastic depth: in training, drop a sample's whole residual branch with probability
    ``drop_prob`` and scale the kept ones by 1 / (1 - drop_prob). Identity at inference."""

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = check_float(drop_prob, "drop_prob", minimum=0.0, maximum=1.0, where="DropPath")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:.3f}"


# ----------------------------------------------------------------------------------------- block
class SwinBlock(nn.Module):
    """One Swin block on a channels-last map, (B, H, W, C) -> (B, H, W, C)::

        x = x + DropPath((S)W-MSA(LN(x)));   x = x + DropPath(MLP(LN(x)))

    ``shift_size=0`` gives W-MSA, ``shift_size=window_size//2`` SW-MSA. The official rule applies:
    when ``min(input_resolution) <= window_size`` the window shrinks to that size and the block does not
    shift. ``input_resolution`` (from the config) fixes the ``attn_mask`` buffer of the official state
    dict; other input sizes work: their mask is built once and cached.
    """

    def __init__(self, dim: int, input_resolution: tuple[int, int], num_heads: int, window_size: int = 7,
                 shift_size: int = 0, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 qk_scale: float | None = None, drop: float = 0.0, attn_drop: float = 0.0,
                 drop_path: float = 0.0, attn_impl: str = "sdpa", rel_pos_bias: bool = True):
        super().__init__()
        where = "SwinBlock"
        self.dim = check_int(dim, "dim", where=where)
        if not isinstance(input_resolution, (tuple, list)) or len(input_resolution) != 2:
            raise ValueError(f"{where}: input_resolution must be a pair (H, W), got {input_resolution!r}")
        self.input_resolution = (check_int(input_resolution[0], "input_resolution[0]", where=where),
                                 check_int(input_resolution[1], "input_resolution[1]", where=where))
        self.num_heads = check_int(num_heads, "num_heads", where=where)
        M = check_int(window_size, "window_size", where=where)
        s = check_int(shift_size, "shift_size", minimum=0, where=where)
        if min(self.input_resolution) <= M:  # the official rule: no partition, no shift
            M, s = min(self.input_resolution), 0
        if s >= M:
            raise ValueError(f"{where}: shift_size must be smaller than window_size={M}, got {shift_size}")
        self.window_size, self.shift_size = M, s
        self.mlp_ratio = check_float(mlp_ratio, "mlp_ratio", minimum=0.0, strict_min=True, where=where)

        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, M, num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale,
                                    attn_drop=attn_drop, proj_drop=drop, attn_impl=attn_impl,
                                    rel_pos_bias=rel_pos_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

        if s > 0:
            H, W = self.input_resolution
            self.register_buffer("attn_mask", shift_mask(-(-H // M) * M, -(-W // M) * M, M, s))
        else:
            self.attn_mask = None
        self._mask_cache: dict = {}
        self._bias_cache: OrderedDict = OrderedDict()

    # -- derived buffers and caches
    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # attn_mask is derived from the map size: absent, of another resolution or present, keep ours.
        key = prefix + "attn_mask"
        if self.attn_mask is not None:
            state_dict[key] = self.attn_mask
        else:
            state_dict.pop(key, None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def _apply(self, fn, *args, **kwargs):  # .to(), .cuda(), .half(): drop the caches
        self.clear_cache()
        return super()._apply(fn, *args, **kwargs)

    def clear_cache(self) -> None:
        """Forget the cached masks (they are rebuilt on the next forward)."""
        self._mask_cache.clear()
        self._bias_cache.clear()

    def shift_mask_for(self, Hp: int, Wp: int, device: torch.device) -> torch.Tensor | None:
        """The 0/-100 mask (num_windows, N, N) of a padded Hp x Wp map, or None for W-MSA."""
        if self.shift_size == 0:
            return None
        mask = self.attn_mask
        if mask is not None and tuple(mask.shape) == ((Hp // self.window_size) * (Wp // self.window_size),
                                                       self.window_size ** 2, self.window_size ** 2) \
                and mask.device == device and self._is_config_size(Hp, Wp):
            return mask
        if _compiling():
            return shift_mask(Hp, Wp, self.window_size, self.shift_size, device=device)
        key = (Hp, Wp, device)
        if key not in self._mask_cache:
            self._mask_cache[key] = shift_mask(Hp, Wp, self.window_size, self.shift_size, device=device)
        return self._mask_cache[key]

    def _is_config_size(self, Hp, Wp):
        M = self.window_size
        H, W = self.input_resolution
        return Hp == -(-H // M) * M and Wp == -(-W // M) * M

    def attention_bias(self, Hp: int, Wp: int, dtype: torch.dtype, device: torch.device,
                       batch: int | None = None) -> torch.Tensor:
        """Bias + mask for a padded Hp x Wp map, as one float tensor: (1, nH, N, N) for W-MSA,
        (num_windows, nH, N, N) for SW-MSA, or, given ``batch``, (batch * num_windows, nH, N, N): the
        mask repeated for every image (what the fused attention kernels take).

        When the bias table needs a gradient (training) it is gathered at every call. Otherwise the
        result is cached per (size, batch, dtype, device), keyed on the table's version counter and
        storage and on the count of optimizer steps (:func:`~swin_edu.model.kernels.weights_generation`:
        fused optimizers do not bump version counters), so that an optimizer step or ``load_state_dict``
        invalidates it. (Writes through ``.data`` are not seen: call :meth:`clear_cache` after those.)
        """
        table = self.attn.relative_position_bias_table
        mask = self.shift_mask_for(Hp, Wp, device)
        batch = batch if mask is not None else None
        if (table is not None and torch.is_grad_enabled() and table.requires_grad) or _compiling():
            return self._fused_bias(mask, dtype, device, batch)
        version = (table._version, kernels.weights_generation(), table.data_ptr()) if table is not None else None
        key = (Hp, Wp, batch, dtype, device, version, torch.is_inference_mode_enabled())
        bias = self._bias_cache.get(key)
        if bias is None:
            bias = self._fused_bias(mask, dtype, device, batch)
            self._bias_cache[key] = bias
            while len(self._bias_cache) > 2:
                self._bias_cache.popitem(last=False)
        return bias

    def _fused_bias(self, mask, dtype, device, batch):
        bias = self.attn.attention_bias(mask, dtype)  # (1 or nW, nH, N, N)
        if batch is not None and bias.shape[0] > 1:
            nW, nH, N, _ = bias.shape
            bias = bias.unsqueeze(0).expand(batch, -1, -1, -1, -1).reshape(batch * nW, nH, N, N)
        if device.type == "cuda" and bias.shape[-1] % 8:
            # the memory-efficient kernel wants rows aligned to 8 elements; store them so (else SDPA
            # pads a copy at every call)
            N = bias.shape[-1]
            bias = F.pad(bias, (0, (-N) % 8))[..., :N]
        return bias

    # -- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        x = x + self.drop_path(self.window_msa(self.norm1(x)))
        return self.mlp_residual(x)

    def _inference(self, x: torch.Tensor) -> bool:
        return not self.training and kernels.fused_ok(x)

    def mlp_residual(self, x: torch.Tensor) -> torch.Tensor:
        """``x + DropPath(MLP(LN(x)))``; at CPU inference the chunked, fused form of it."""
        if self._inference(x) and x.is_contiguous():
            return self.mlp.residual_chunked(x, self.norm2)
        return x + self.drop_path(self.mlp(self.norm2(x)))

    def forward_windows(self, x: torch.Tensor, H: int, W: int, to_shifted: torch.Tensor | None = None,
                        from_shifted: torch.Tensor | None = None) -> torch.Tensor:
        """The block on a token sequence kept in *window order* (see :class:`BasicLayer`): x is
        (B, H*W, C) listing the tokens of window 0, then window 1, ... of the unshifted grid (H and W
        multiples of the window). W-MSA needs no partition at all; SW-MSA gathers the tokens into the
        shifted windows with ``to_shifted`` (one copy, instead of roll + partition) and back with
        ``from_shifted``. The output projection is token-wise, so it runs after the gather back."""
        if self._inference(x) and x.is_contiguous():
            return self._forward_windows_chunked(x, H, W, to_shifted, from_shifted)
        B, L, C = x.shape
        N = self.window_size ** 2
        h = self.norm1(x)
        if self.shift_size:
            h = h.index_select(1, to_shifted)
        bias = self.attention_bias(H, W, _compute_dtype(h), h.device, batch=B)
        h = self.attn.attend(h.view(-1, N, C), bias).view(B, L, C)
        if self.shift_size:
            h = h.index_select(1, from_shifted)
        x = x + self.drop_path(self.attn.proj_drop(self.attn.proj(h)))
        return x + self.drop_path(self.mlp(self.norm2(x)))

    def _forward_windows_chunked(self, x, H, W, to_shifted, from_shifted):
        """:meth:`forward_windows` at CPU inference: the block runs over chunks of whole windows
        (about ``CHUNK_TOKENS`` tokens), so that every intermediate (LN output, qkv, attention,
        MLP hidden layer) stays in the CPU cache, with the fused kernels (bias inside the matmul,
        fc1+GELU, proj+residual, fc2+residual). W-MSA does the whole block chunk by chunk; SW-MSA
        attends chunk by chunk in the shifted order, gathers back, then finishes chunk by chunk."""
        B, L, C = x.shape
        N = self.window_size ** 2
        T = B * L
        per_chunk = max(1, CHUNK_TOKENS // N)  # windows per chunk
        bias = self.attention_bias(H, W, x.dtype, x.device, batch=B)  # (1 or B*nW, nH, N, N)
        x2 = x.view(T, C)
        n1, attn = self.norm1, self.attn
        out = torch.empty_like(x2)
        src = x2 if not self.shift_size else x.index_select(1, to_shifted).view(T, C)
        att = out if not self.shift_size else torch.empty_like(x2)
        for w0 in range(0, T // N, per_chunk):
            rows = slice(w0 * N, min(T, (w0 + per_chunk) * N))
            h = F.layer_norm(src[rows], n1.normalized_shape, n1.weight, n1.bias, n1.eps).view(-1, N, C)
            a = attn.attend(h, bias if bias.shape[0] == 1 else bias[w0:w0 + per_chunk]).view(-1, C)
            if self.shift_size:
                att[rows] = a
            else:  # finish the block on this chunk
                out[rows] = self._proj_mlp(a, x2[rows])
        if self.shift_size:
            att = att.view(B, L, C).index_select(1, from_shifted).view(T, C)
            for t0 in range(0, T, per_chunk * N):
                rows = slice(t0, t0 + per_chunk * N)
                out[rows] = self._proj_mlp(att[rows], x2[rows])
        return out.view(B, L, C)

    def _proj_mlp(self, a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Inference, one chunk of tokens: y = x + proj(a); return y + fc2(GELU(fc1(LN(y))))."""
        proj, n2, mlp = self.attn.proj, self.norm2, self.mlp
        y = kernels.linear_add(a, proj.weight, proj.bias, x)
        h = F.layer_norm(y, n2.normalized_shape, n2.weight, n2.bias, n2.eps)
        h = kernels.linear(h, mlp.fc1.weight, mlp.fc1.bias, gelu=True)
        return kernels.linear_add(h, mlp.fc2.weight, mlp.fc2.bias, y)

    def window_msa(self, x: torch.Tensor, return_attn: bool = False):
        """(S)W-MSA on a normalised (B, H, W, C) map: pad, cyclic shift, partition, attention with bias and
        mask, merge, reverse shift, crop."""
        B, H, W, C = x.shape
        M, s = self.window_size, self.shift_size
        pad_b, pad_r = (-H) % M, (-W) % M
        if pad_b or pad_r:
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        Hp, Wp = H + pad_b, W + pad_r
        if s:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
        # window partition: (B, Hp, Wp, C) -> (B * nW, M * M, C)
        windows = x.view(B, Hp // M, M, Wp // M, M, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, M * M, C)
        attn_bias = self.attention_bias(Hp, Wp, _compute_dtype(x), x.device, batch=B)
        result = self.attn(windows, attn_bias=attn_bias, return_attn=return_attn)
        out, attn = result if return_attn else (result, None)
        # window reverse: (B * nW, M * M, C) -> (B, Hp, Wp, C)
        out = out.view(B, Hp // M, Wp // M, M, M, C).permute(0, 1, 3, 2, 4, 5).reshape(B, Hp, Wp, C)
        if s:
            out = torch.roll(out, shifts=(s, s), dims=(1, 2))
        if pad_b or pad_r:
            out = out[:, :H, :W, :]
        return (out, attn) if return_attn else out

    def extra_repr(self) -> str:
        kind = "SW-MSA" if self.shift_size else "W-MSA"
        return (f"{kind}, dim={self.dim}, input_resolution={self.input_resolution}, "
                f"window_size={self.window_size}, shift_size={self.shift_size}")


SwinTransformerBlock = SwinBlock  # the official name


# ----------------------------------------------------------------------------------------- merging
class PatchMerging(nn.Module):
    """Patch merging: (B, H, W, C) -> (B, ceil(H/2), ceil(W/2), 2C).

    Each 2x2 group is gathered into 4C channels in the official order x0=(0,0), x1=(1,0), x2=(0,1),
    x3=(1,1) (row, column offsets), normalised, and mapped to 2C by a linear layer without bias.
    Odd sizes are zero-padded at the bottom/right first.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = check_int(dim, "dim", where="PatchMerging")
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    @staticmethod
    def gather(x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) -> (B, H/2, W/2, 4C) in the official order, with one copy: viewing the map as
        (B, H/2, 2[row], W/2, 2[col], C) and moving the column offset before the row offset lists
        (0,0), (1,0), (0,1), (1,1)."""
        B, H, W, C = x.shape
        if H % 2 or W % 2:
            x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
            H, W = H + H % 2, W + W % 2
        return x.view(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).reshape(B, H // 2, W // 2, 4 * C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reduction(self.norm(self.gather(x)))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


# ----------------------------------------------------------------------------------------- stage
def window_order_indices(H: int, W: int, window_size: int, shift_size: int, device=None) -> dict:
    """Token permutations of an H x W map (multiples of the window) used by :class:`BasicLayer`.

    ``window_order``: for each position of the window-ordered sequence, the row-major index of its token
    in the map (what ``window_partition`` does). ``to_shifted`` / ``from_shifted``: gather indices from
    the window order to the order of the *shifted* windows (``roll(-s)`` + partition) and back.
    ``merge``: gather indices that list, for each output token of patch merging (row-major over the
    half-size map), the window-order positions of its 2x2 group in the official order x0..x3
    (only when H and W are even).
    """
    M, s = window_size, shift_size
    L = H * W
    grid = torch.arange(L, device=device).view(H, W)

    def partition(g):
        return g.view(H // M, M, W // M, M).permute(0, 2, 1, 3).reshape(-1)

    order = partition(grid)  # window-order position -> map index
    where = torch.empty_like(order)
    where[order] = torch.arange(L, device=device)  # map index -> window-order position
    out = {"window_order": order}
    if s:
        shifted = partition(torch.roll(grid, shifts=(-s, -s), dims=(0, 1)))  # shifted-window pos -> map index
        to_shifted = where[shifted]
        from_shifted = torch.empty_like(to_shifted)
        from_shifted[to_shifted] = torch.arange(L, device=device)
        out["to_shifted"], out["from_shifted"] = to_shifted, from_shifted
    if H % 2 == 0 and W % 2 == 0:
        # official order x0=(0,0), x1=(1,0), x2=(0,1), x3=(1,1): (row, col) offsets
        g = grid.view(H // 2, 2, W // 2, 2).permute(0, 2, 3, 1)  # (H/2, W/2, col, row)
        out["merge"] = where[g.reshape(-1)]
    return out


class BasicLayer(nn.Module):
    """A stage: ``depth`` Swin blocks alternating W-MSA (even) and SW-MSA (odd), then patch merging
    when ``downsample``. Input and output are channels-last maps (B, H, W, C).

    With ``use_checkpoint`` each block is recomputed in the backward pass (gradient checkpointing:
    less activation memory for about one more forward of compute).

    Speed: when the window divides the map, the stage keeps its tokens in *window order* (the order of
    ``window_partition``) from the first block to the patch merging. LayerNorm, the MLP and the
    residual adds do not care about token order, W-MSA then needs no partition and no reverse, SW-MSA
    one gather in and one out (instead of pad/roll/partition and reverse/roll), and patch merging
    gathers its 2x2 groups straight from the window order. Maps that need padding take the
    straightforward path of :meth:`SwinBlock.forward`. Both paths give the same numbers.
    """

    def __init__(self, dim: int, input_resolution: tuple[int, int], depth: int, num_heads: int,
                 window_size: int, shift_size: int | None = None, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, qk_scale: float | None = None, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float | Sequence[float] = 0.0, downsample: bool = False,
                 use_checkpoint: bool = False, attn_impl: str = "sdpa", rel_pos_bias: bool = True):
        super().__init__()
        where = "BasicLayer"
        depth = check_int(depth, "depth", where=where)
        shift_size = window_size // 2 if shift_size is None else shift_size
        rates = list(drop_path) if isinstance(drop_path, (list, tuple)) else [drop_path] * depth
        if len(rates) != depth:
            raise ValueError(f"{where}: drop_path must give one rate per block ({depth}), got {len(rates)}")
        self.dim, self.input_resolution, self.depth = dim, tuple(input_resolution), depth
        self.use_checkpoint = check_bool(use_checkpoint, "use_checkpoint", where=where)
        self.blocks = nn.ModuleList([
            SwinBlock(dim, input_resolution, num_heads, window_size=window_size,
                      shift_size=0 if i % 2 == 0 else shift_size, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                      qk_scale=qk_scale, drop=drop, attn_drop=attn_drop, drop_path=rates[i],
                      attn_impl=attn_impl, rel_pos_bias=rel_pos_bias)
            for i in range(depth)
        ])
        self.downsample = PatchMerging(dim) if downsample else None
        #: use the window-order fast path when the window divides the map
        self.window_order = True
        self._index_cache: dict = {}

    @property
    def window_size(self) -> int:
        return self.blocks[0].window_size

    @property
    def shift_size(self) -> int:
        return max(blk.shift_size for blk in self.blocks)

    def _apply(self, fn, *args, **kwargs):
        self._index_cache.clear()
        return super()._apply(fn, *args, **kwargs)

    def _indices(self, H: int, W: int, device) -> dict:
        if _compiling():
            return window_order_indices(H, W, self.window_size, self.shift_size, device)
        key = (H, W, self.window_size, self.shift_size, device)
        if key not in self._index_cache:
            self._index_cache[key] = window_order_indices(H, W, self.window_size, self.shift_size, device)
        return self._index_cache[key]

    def _run(self, blk: SwinBlock, fn, *args):
        if self.use_checkpoint and torch.is_grad_enabled() and not _compiling():
            return checkpoint(fn, *args, use_reentrant=False)
        return fn(*args)

    def _blocks_window_order(self, x: torch.Tensor):
        """Blocks in window order: returns (tokens (B, H*W, C) in window order, index dict)."""
        B, H, W, C = x.shape
        M = self.window_size
        idx = self._indices(H, W, x.device)
        xw = x.view(B, H // M, M, W // M, M, C).permute(0, 1, 3, 2, 4, 5).reshape(B, H * W, C)
        for blk in self.blocks:
            xw = self._run(blk, blk.forward_windows, xw, H, W, idx.get("to_shifted"), idx.get("from_shifted"))
        return xw, idx

    def _fast(self, x: torch.Tensor) -> bool:
        M = self.window_size
        return self.window_order and x.shape[1] % M == 0 and x.shape[2] % M == 0

    def forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        """The blocks only (no merging): (B, H, W, C) -> (B, H, W, C)."""
        if self._fast(x):
            B, H, W, C = x.shape
            M = self.window_size
            xw, _ = self._blocks_window_order(x)  # window reverse:
            return xw.view(B, H // M, W // M, M, M, C).permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)
        for blk in self.blocks:
            x = self._run(blk, blk, x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None and self._fast(x) and x.shape[1] % 2 == 0 and x.shape[2] % 2 == 0:
            B, H, W, C = x.shape
            xw, idx = self._blocks_window_order(x)
            merged = xw.index_select(1, idx["merge"]).view(B, H // 2, W // 2, 4 * C)
            return kernels.linear(self.downsample.norm(merged), self.downsample.reduction.weight, None)
        x = self.forward_blocks(x)
        return self.downsample(x) if self.downsample is not None else x

    def extra_repr(self) -> str:
        return f"dim={self.dim}, input_resolution={self.input_resolution}, depth={self.depth}"
