"""The hierarchy at work: a Swin's four stage maps drawn side by side on the image they come from."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import i18n

__all__ = ["plot_stage_maps", "stage_summary"]

i18n.add_messages({
    "fig.stage_panel": {"en": "stage {i}: {h}x{w}x{c}\nstride {stride}", "zh": "stage {i}：{h}x{w}x{c}\n步长 {stride}"},
    "fig.stage_image": {"en": "the image {h}x{w}", "zh": "图像 {h}x{w}"},
    "fig.stage_title": {"en": "what each stage hands to a head (first principal component of its channels)",
                        "zh": "每个 stage 交给检测/分割头的特征图（其通道的第一主成分）"},
})


def stage_summary(maps: Sequence, image_hw: tuple[int, int]) -> list[dict]:
    """Shape and stride of each stage map (channels-last ``(B, H, W, C)``) of an image of ``image_hw`` pixels."""
    rows = []
    for i, m in enumerate(maps):
        _, h, w, c = tuple(m.shape)
        rows.append({"stage": i + 1, "h": h, "w": w, "channels": c, "stride": image_hw[0] // h})
    return rows


def _first_component(m: np.ndarray) -> np.ndarray:
    h, w, c = m.shape
    x = m.reshape(-1, c).astype(np.float64)
    x = x - x.mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    pc = (x @ vt[0]).reshape(h, w)
    if pc.ravel()[np.argmax(np.abs(pc))] < 0:  # a sign that does not depend on the SVD's choice
        pc = -pc
    return (pc - pc.min()) / (np.ptp(pc) or 1.0)


def plot_stage_maps(image: np.ndarray, maps: Sequence, title: str | None = None):
    """The image and its stage maps (the first image of the batch), each map shown by the first principal
    component of its channels at its own resolution, with its shape and stride. Returns the Figure."""
    from .style import SEQ_CMAP, new_figure, use_style

    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"plot_stage_maps: image must be (H, W, 3) or (H, W, 1), got shape {image.shape}")
    if not maps:
        raise ValueError("plot_stage_maps: maps must be a non-empty list of (B, H, W, C) maps")
    arrays = [np.asarray(m.detach().cpu() if hasattr(m, "detach") else m)[0] for m in maps]
    rows = stage_summary([a[None] for a in arrays], image.shape[:2])
    with use_style():
        fig = new_figure(2.3 * (len(arrays) + 1), 2.9)
        axes = fig.subplots(1, len(arrays) + 1)
        axes[0].imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None)
        axes[0].set_title(i18n.t("fig.stage_image", h=image.shape[0], w=image.shape[1]), fontsize=9)
        for ax, a, r in zip(axes[1:], arrays, rows):
            ax.imshow(_first_component(a), cmap=SEQ_CMAP, interpolation="nearest")
            ax.set_title(i18n.t("fig.stage_panel", i=r["stage"], h=r["h"], w=r["w"], c=r["channels"],
                                stride=r["stride"]), fontsize=9)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(i18n.t("fig.stage_title") if title is None else title, fontsize=10)
    return fig
