"""What a trained Swin attends to: the attention weights of one block, put back on the token map.

>>> from swin_edu.viz.attention import attention_maps, attention_to, plot_attention
>>> maps = attention_maps(model, images, stage=0, block=1)   # doctest: +SKIP
>>> attention_to(maps, (0, 0)).shape                           # doctest: +SKIP
(16, 16)

:func:`attention_maps` recomputes the block's (S)W-MSA with ``return_attn=True`` from the block's input,
which it gets by running the model stage by stage (``model.forward_stages``, the blocks before it).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..config import padded_size

__all__ = ["attention_maps", "attention_to", "plot_attention"]


@torch.no_grad()
def attention_maps(model: nn.Module, images: torch.Tensor, stage: int, block: int) -> dict:
    """The attention weights of one block for a batch of (normalised) images.

    Takes the stage's input from ``model.forward_stages`` (patch merging applied to the previous stage's
    output), runs the blocks before ``block`` one by one, then recomputes the block's (S)W-MSA with
    ``return_attn=True``. Returns a dict with ``attn`` ``(B, nW, nH, N, N)`` (softmax rows: query ->
    keys inside its window, in the *shifted* frame for SW-MSA), ``window_size``, ``shift_size``,
    ``grid`` (the padded token map ``(Hp, Wp)``) and ``resolution`` (``(H, W)``).
    """
    where = "attention_maps"
    if not hasattr(model, "layers") or not hasattr(model, "forward_stages"):
        raise TypeError(f"{where}: model must be a swin_edu SwinTransformer, got {type(model).__name__}")
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"{where}: images must be a tensor (B, C, H, W), got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if not 0 <= stage < len(model.layers):
        raise ValueError(f"{where}: stage must be in 0..{len(model.layers) - 1}, got {stage}")
    blocks = model.layers[stage].blocks
    if not 0 <= block < len(blocks):
        raise ValueError(f"{where}: block must be in 0..{len(blocks) - 1} for stage {stage}, got {block}")
    was_training = model.training
    model.eval()
    try:
        x = _block_input(model, images, stage, block)
        blk = blocks[block]
        B, H, W, _ = x.shape
        attn = _block_attention(blk, x)
    finally:
        model.train(was_training)
    M = blk.window_size
    Hp, Wp = padded_size(H, M), padded_size(W, M)
    nW = (Hp // M) * (Wp // M)
    return {"attn": attn.view(B, nW, blk.num_heads, M * M, M * M).float().cpu(), "window_size": M,
            "shift_size": blk.shift_size, "grid": (Hp, Wp), "resolution": (H, W)}


def _block_input(model: nn.Module, images: torch.Tensor, stage: int, block: int) -> torch.Tensor:
    """The (B, H, W, C) map that enters ``model.layers[stage].blocks[block]`` (with a model whose blocks are
    called as modules, a forward pre-hook on that block gives the same)."""
    _, stages = model.forward_stages(images)
    x = stages[0] if stage == 0 else model.layers[stage - 1].downsample(stages[stage])
    for blk in model.layers[stage].blocks[:block]:
        x = blk(x)
    return x


def _block_attention(blk: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The softmax weights (B * nW, nH, N, N) of the block's (S)W-MSA on its input ``x``."""
    _, attn = blk.window_msa(blk.norm1(x), return_attn=True)
    return attn


def attention_to(maps: dict, query: tuple[int, int], image: int = 0, head: int | None = None) -> np.ndarray:
    """How much the token at ``query=(row, col)`` of the (unshifted) map attends to every token: an
    ``(H, W)`` array, zero outside the query's window, averaged over heads unless ``head`` is given.

    For SW-MSA the map is rolled back, so the picture is in the image's own coordinates: the window is
    displaced by ``shift_size`` and, at the border, the keys that the cyclic shift brought in from the
    other side get (almost) zero weight from the -100 mask.
    """
    attn = maps["attn"][image]  # (nW, nH, N, N)
    M, s = maps["window_size"], maps["shift_size"]
    Hp, Wp = maps["grid"]
    H, W = maps["resolution"]
    r, c = int(query[0]), int(query[1])
    if not (0 <= r < H and 0 <= c < W):
        raise ValueError(f"attention_to: query must be inside the {H}x{W} token map, got {query}")
    rs, cs = (r - s) % Hp, (c - s) % Wp  # position in the shifted frame
    w = (rs // M) * (Wp // M) + cs // M
    q = (rs % M) * M + cs % M
    row = attn[w, :, q, :] if head is None else attn[w, head:head + 1, q, :]
    row = row.mean(dim=0).numpy()  # (N,)
    out = np.zeros((Hp, Wp), dtype=np.float32)
    wr, wc = (rs // M) * M, (cs // M) * M
    for k in range(M * M):
        kr, kc = wr + k // M, wc + k % M
        out[(kr + s) % Hp, (kc + s) % Wp] = row[k]  # back to the unshifted frame
    return out[:H, :W]



def plot_attention(image: np.ndarray, maps_list: Sequence[dict], labels: Sequence[str],
                   queries: Sequence[tuple[int, int]], patch_size: int, image_index: int = 0):
    """For each query token (rows) and each block (columns): the digit, the query (red square) and the
    attention weights over the token map (cividis), with the windows drawn (dashed)."""
    from matplotlib.patches import Rectangle

    from .style import HIGHLIGHT, SEQ_CMAP, new_figure, use_style

    img = np.asarray(image)
    rows, cols = len(queries), len(maps_list) + 1
    with use_style():
        fig = new_figure(2.1 * cols, 2.1 * rows)
        axes = np.atleast_2d(fig.subplots(rows, cols))
        for i, q in enumerate(queries):
            ax = axes[i, 0]
            ax.imshow(img, cmap="gray_r")
            ax.add_patch(Rectangle((q[1] * patch_size - 0.5, q[0] * patch_size - 0.5), patch_size, patch_size,
                                   fill=False, ec=HIGHLIGHT, lw=2))
            ax.set_title(f"query token {tuple(q)}" if i == 0 else f"{tuple(q)}", fontsize=8)
            for j, (maps, label) in enumerate(zip(maps_list, labels), start=1):
                a = attention_to(maps, q, image=image_index)
                ax = axes[i, j]
                ax.imshow(a, cmap=SEQ_CMAP, vmin=0)
                M, s = maps["window_size"], maps["shift_size"]
                H, W = a.shape
                for k in range(0, H + 1, M):  # window borders of this block, in image coordinates
                    y = (k + s) % H if s else k
                    ax.axhline(y - 0.5, color="white", lw=0.6, ls="--")
                for k in range(0, W + 1, M):
                    x = (k + s) % W if s else k
                    ax.axvline(x - 0.5, color="white", lw=0.6, ls="--")
                ax.add_patch(Rectangle((q[1] - 0.5, q[0] - 0.5), 1, 1, fill=False, ec=HIGHLIGHT, lw=1.5))
                if i == 0:
                    ax.set_title(label, fontsize=8)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
    return fig

