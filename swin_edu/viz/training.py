"""Figures of a training run: loss and accuracy curves, a confusion matrix, straddle-task examples."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_confusion", "plot_curves", "plot_straddle_examples"]


def plot_curves(history: Sequence[dict], title: str | None = None):
    """Loss and accuracy per epoch (train and validation), as a matplotlib Figure. Epochs without a
    validation pass (``val_acc`` None: ``eval_every`` > 1) are left out of the validation curves."""
    from .style import new_figure, use_style

    if not isinstance(history, Sequence) or not history or not all(isinstance(h, dict) for h in history):
        raise ValueError("plot_curves: history must be a non-empty list of per-epoch dicts (train()['history'])")
    ep = [h["epoch"] for h in history]
    val = [h for h in history if h.get("val_acc") is not None]
    marker = {"marker": "o", "ms": 3} if len(ep) <= 60 else {}
    with use_style():
        fig = new_figure(8, 3.2)
        ax1, ax2 = fig.subplots(1, 2)
        ax1.plot(ep, [h["train_loss"] for h in history], **marker, label="train (label-smoothed)")
        ax1.plot([h["epoch"] for h in val], [h["val_loss"] for h in val], **marker, ls="--", label="validation")
        ax1.set(xlabel="epoch", ylabel="loss (cross-entropy)", title="loss")
        ax2.plot(ep, [h["train_acc"] for h in history], **marker, label="train (augmented)")
        ax2.plot([h["epoch"] for h in val], [h["val_acc"] for h in val], **marker, ls="--", label="validation")
        ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
        for ax in (ax1, ax2):
            ax.legend()
            ax.grid(alpha=0.3)
        if title:
            fig.suptitle(title)
    return fig


def plot_confusion(cm: np.ndarray, classes: Sequence[str] | None = None, title: str = "confusion matrix (test)"):
    """A confusion matrix with the counts printed in each cell (cividis, readable in grayscale)."""
    from .style import SEQ_CMAP, new_figure, use_style

    n = cm.shape[0]
    classes = list(classes) if classes is not None else [str(i) for i in range(n)]
    with use_style():
        fig = new_figure(4.4, 4.0)
        ax = fig.subplots()
        im = ax.imshow(cm, cmap=SEQ_CMAP)
        vmax = cm.max() if cm.size else 1
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="black" if cm[i, j] > 0.6 * vmax else "white")
        ax.set(xticks=range(n), yticks=range(n), xticklabels=classes, yticklabels=classes,
               xlabel="predicted class", ylabel="true class", title=title)
        fig.colorbar(im, ax=ax, shrink=0.8, label="images")
    return fig




def plot_straddle_examples(images, labels, *, patch: int, region: int, window: int | None = None,
                           classes: Sequence[str] = ("same", "different"), ncols: int = 8):
    """Straddle-task images with the borders that matter: solid lines between the windows that keep the
    two marks apart (every ``region`` pixels), dashed lines at the borders of the shifted windows of the
    first stage (``window`` tokens of ``patch`` pixels, moved by half a window), and the label as title."""
    from .style import new_figure, use_style

    imgs = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=np.float32)
    labs = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels).astype(int).ravel()
    if imgs.ndim != 4 or len(imgs) != len(labs) or len(imgs) == 0:
        raise ValueError(f"plot_straddle_examples: images must be (N, C, H, W) with one label each, got shape "
                         f"{imgs.shape} and {len(labs)} labels")
    n, _, H, W = imgs.shape
    cols = min(ncols, n)
    rows = -(-n // cols)
    win = (window or region // patch) * patch
    with use_style():
        fig = new_figure(1.35 * cols, 1.5 * rows)
        axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
        for ax in axes:
            ax.set_axis_off()
        for i in range(n):
            ax = axes[i]
            img = imgs[i].transpose(1, 2, 0)
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
            for k in range(region, H, region):
                ax.axhline(k - 0.5, color="white", lw=1.2)
            for k in range(region, W, region):
                ax.axvline(k - 0.5, color="white", lw=1.2)
            for k in range(win // 2, H, win):
                ax.axhline(k - 0.5, color="white", lw=0.6, ls=(0, (2, 2)))
            for k in range(win // 2, W, win):
                ax.axvline(k - 0.5, color="white", lw=0.6, ls=(0, (2, 2)))
            ax.set_title(classes[labs[i]], fontsize=8)
    return fig
