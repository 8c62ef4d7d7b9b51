"""Figures of notebook 09: scenes with their per-pixel labels and predictions, and the comparison of the heads.

Colour never carries a meaning alone: every digit region is also written with its class, void pixels are grey
and cross-hatched, and the bars of the comparison carry their numbers.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["CLASS_COLORS", "label_image", "plot_head_comparison", "plot_scenes"]

#: background black, then one colour per digit 0..9 (Paul Tol's muted scheme and two Okabe-Ito colours)
CLASS_COLORS = ("#000000", "#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99",
                "#999933", "#AA4499", "#E69F00")
VOID_COLOR = "#7F7F7F"


def _maps(x, name: str, where: str) -> np.ndarray:
    a = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)
    if a.ndim != 3 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{where}: {name} must be integer label maps (N, H, W), got shape {a.shape} and dtype "
                         f"{a.dtype}")
    return a.astype(np.int64)


def label_image(labels, ignore_index: int = 255) -> np.ndarray:
    """One label map ``(H, W)`` as an RGB image ``(H, W, 3)`` in [0, 1]: :data:`CLASS_COLORS` by class, void grey."""
    from matplotlib.colors import to_rgb

    lab = np.asarray(labels)
    palette = np.array([to_rgb(c) for c in CLASS_COLORS])
    out = palette[np.clip(lab, 0, len(palette) - 1)]
    out[lab == ignore_index] = to_rgb(VOID_COLOR)
    return out


def _write_classes(ax, lab: np.ndarray, ignore_index: int, classes: Sequence[str]) -> None:
    """Write each digit region's class at its centre (the majority class of each connected group of labelled
    pixels, void included in the grouping so that one digit is one region)."""
    from scipy import ndimage

    from .style import text_color_for

    regions, n = ndimage.label((lab != 0), structure=np.ones((3, 3)))
    for k in range(1, n + 1):
        inside = regions == k
        cls = lab[inside & (lab != ignore_index)]
        if cls.size == 0:
            continue
        c = int(np.bincount(cls).argmax())
        r, q = np.argwhere(inside).mean(axis=0)
        ax.text(q, r, classes[c] if c < len(classes) else str(c), ha="center", va="center", fontsize=7,
                fontweight="bold",
                color=text_color_for(CLASS_COLORS[c]),
                bbox={"boxstyle": "round,pad=0.1", "fc": CLASS_COLORS[c], "ec": "white", "lw": 0.5})


def _row_name(key: str) -> str:
    from .. import i18n

    return i18n.t(f"fig.head_{key}") if key in ("fpn", "last") else key


def plot_scenes(images, labels=None, preds: Mapping[str, object] | None = None, *, ignore_index: int = 255,
                ncols: int = 6, titles: Sequence[str] | None = None, classes: Sequence[str] | None = None):
    """Scenes side by side, one per column: the images (N, C, H, W), then their per-pixel ``labels`` (the truth,
    N x H x W), then one row per entry of ``preds`` (``"fpn"`` and ``"last"`` are named after the heads, any other
    key as it is). Every digit region is labelled with its class name (``classes``, by label; default the scenes
    task's, :data:`swin_edu.dense.SCENE_CLASSES`), void pixels are grey and hatched. ``titles``: one per column
    (e.g. the image's index)."""
    from matplotlib.patches import Patch

    from .. import i18n
    from .style import new_figure, use_style

    from ..dense import SCENE_CLASSES

    where = "plot_scenes"
    classes = list(SCENE_CLASSES if classes is None else classes)
    imgs = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=np.float32)
    if imgs.ndim != 4 or len(imgs) == 0:
        raise ValueError(f"{where}: images must be (N, C, H, W), got shape {imgs.shape}")
    n = min(len(imgs), ncols)
    rows = {} if labels is None else {i18n.t("fig.truth"): labels}
    rows.update({_row_name(k): v for k, v in (preds or {}).items()})
    maps = {name: _maps(m, f"the maps of {name!r}", where)[:n] for name, m in rows.items()}
    for name, m in maps.items():
        if m.shape != (n, *imgs.shape[2:]):
            raise ValueError(f"{where}: the maps of {name!r} must be (N, H, W) of the images' size "
                             f"{imgs.shape[2:]}, got {m.shape}")
    with use_style():
        fig = new_figure(1.45 * n + 1.2, 1.5 * (1 + len(maps)) + 0.4)
        axes = np.asarray(fig.subplots(1 + len(maps), n, squeeze=False))
        for j in range(n):
            axes[0, j].imshow(imgs[j, 0], cmap="gray", vmin=0, vmax=1)
            if titles is not None:
                axes[0, j].set_title(str(titles[j]), fontsize=8)
            for i, m in enumerate(maps.values(), 1):
                lab = m[j]
                axes[i, j].imshow(label_image(lab, ignore_index), interpolation="nearest")
                if (lab == ignore_index).any():
                    axes[i, j].contourf(lab == ignore_index, levels=[0.5, 1.5], colors="none", hatches=["xxxx"])
                _write_classes(axes[i, j], lab, ignore_index, classes)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, 0].set_ylabel(i18n.t("fig.scene"), fontsize=8)
        for i, name in enumerate(maps, 1):
            axes[i, 0].set_ylabel(name, fontsize=8)
        fig.legend(handles=[Patch(fc=CLASS_COLORS[0], label=i18n.t("fig.background")),
                            Patch(fc=VOID_COLOR, hatch="xxxx", label=i18n.t("fig.void"))],
                   loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    return fig


def plot_head_comparison(summary: Mapping[str, Mapping[str, Sequence[float]]], *, metrics=("miou", "miou_small",
                                                                                          "miou_large")):
    """Grouped bars: for every metric (overall, small digits, large digits), the mean over the seeds of each head
    (``summary[head][metric]``: one value per seed), with every seed's value as a dot and the mean written above
    the highest of them."""
    from .. import i18n
    from .style import OKABE_ITO, new_figure, use_style

    heads = list(summary)
    if not heads:
        raise ValueError("plot_head_comparison: summary must name at least one head")
    colours = [OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["bluish_green"]]
    hatches = ["", "///", "..."]
    width = 0.8 / len(heads)
    with use_style():
        fig = new_figure(6.4, 3.2)
        ax = fig.subplots()
        for h, head in enumerate(heads):
            for m, metric in enumerate(metrics):
                vals = np.asarray(summary[head][metric], dtype=float)
                x = m + (h - (len(heads) - 1) / 2) * width
                ax.bar(x, vals.mean(), width * 0.9, color=colours[h % 3], hatch=hatches[h % 3], edgecolor="black",
                       label=_row_name(head) if m == 0 else None)
                ax.plot(np.full(len(vals), x), vals, "o", ms=3, color="black")
                ax.text(x, max(vals.max(), vals.mean()) + 0.03, f"{vals.mean():.2f}", ha="center", va="bottom",
                        fontsize=7)
        ax.set_xticks(range(len(metrics)), [i18n.t(f"fig.{m}") for m in metrics])
        ax.set(ylabel=i18n.t("fig.miou_axis"), ylim=(0, 1))
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    return fig
