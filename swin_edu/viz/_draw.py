"""Drawing helpers shared by the static figures and the widgets (not public API).

Token maps are drawn in "cell" coordinates: token (r, c) covers x in [c, c+1], y in [r, r+1], with
the y axis pointing down, so rectangles and labels use the same numbers as array indices.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from .._validate import check_int
from .style import HIGHLIGHT, MASKED_COLOR, MASKED_HATCH, REGION_COLORS, REGION_HATCHES, text_color_for

__all__ = ["annotate_cells", "cell_axes", "fill_labels", "grid_lines", "outline", "pool_image", "sample_image"]


@lru_cache(maxsize=8)
def _sample_image_cached(size: int) -> np.ndarray:
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = Image.open(f)
        img.load()
    img = img.convert("RGB").crop((32, 16, 480, 464))  # 448 x 448 around the face
    if size != 448:
        img = img.resize((size, size), Image.Resampling.BOX)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    arr.setflags(write=False)
    return arr


def sample_image(size: int = 224) -> np.ndarray:
    """A real photo, (size, size, 3) float32 in [0, 1]: Grace Hopper, bundled with matplotlib.

    Cropped to the 448x448 square around the face and box-filtered down to ``size`` (no download).
    """
    size = check_int(size, "size", where="sample_image")
    if size < 4 or size > 448:
        raise ValueError(f"sample_image: size must be between 4 and 448 pixels, got {size}")
    return np.array(_sample_image_cached(size))


def pool_image(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Box-filter an (H, W, 3) float image in [0, 1] to (h, w, 3): what a feature map of h x w "sees"."""
    from PIL import Image

    u8 = Image.fromarray(np.clip(np.round(img * 255), 0, 255).astype(np.uint8))
    return np.asarray(u8.resize((w, h), Image.Resampling.BOX), dtype=np.float32) / 255.0


def cell_axes(ax, H: int, W: int, *, frame: bool = True) -> None:
    """Set ``ax`` to show an H x W token map in cell coordinates (row 0 at the top)."""
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(frame)


def fill_labels(ax, labels: np.ndarray, *, colors=REGION_COLORS, hatches=REGION_HATCHES, alpha: float = 1.0,
                hatch: bool = True, zorder: float = 1) -> None:
    """Colour every cell by its integer label (colour + hatch per label), as horizontal runs.

    Labels < 0 are drawn as "missing" (masked grey, cross-hatched): padding tokens, masked keys.
    """
    labels = np.asarray(labels)
    H, W = labels.shape
    n = len(colors)
    rgba = np.zeros((H, W, 4))
    for lab in np.unique(labels):
        color = MASKED_COLOR if lab < 0 else colors[int(lab) % n]
        rgba[labels == lab] = to_rgba(color, alpha)
    ax.imshow(rgba, extent=(0, W, H, 0), interpolation="nearest", zorder=zorder)
    if not hatch:
        return
    for r in range(H):
        c = 0
        while c < W:
            lab = labels[r, c]
            end = c + 1
            while end < W and labels[r, end] == lab:
                end += 1
            pattern = MASKED_HATCH if lab < 0 else hatches[int(lab) % len(hatches)]
            if pattern:
                edge = "#DDDDDD" if lab < 0 else "#222222"
                ax.add_patch(Rectangle((c, r), end - c, 1, fill=False, hatch=pattern, linewidth=0,
                                       edgecolor=edge, zorder=zorder + 0.1))
            c = end


def grid_lines(ax, H: int, W: int, step: int = 1, *, color="white", lw: float = 0.5, offset: int = 0,
               zorder: float = 3) -> None:
    """Lines every ``step`` cells (shifted by ``offset``), e.g. token borders or window borders."""
    xs = [x for x in range(offset % step if step else 0, W + 1, step) if 0 <= x <= W]
    ys = [y for y in range(offset % step if step else 0, H + 1, step) if 0 <= y <= H]
    if xs:
        ax.vlines(xs, 0, H, colors=color, linewidth=lw, zorder=zorder)
    if ys:
        ax.hlines(ys, 0, W, colors=color, linewidth=lw, zorder=zorder)


def outline(ax, r0: float, c0: float, h: float, w: float, *, color=HIGHLIGHT, lw: float = 2.5,
            ls="-", zorder: float = 5, inset: float = 0.0) -> Rectangle:
    """A rectangle around cells rows [r0, r0+h), cols [c0, c0+w)."""
    rect = Rectangle((c0 + inset, r0 + inset), w - 2 * inset, h - 2 * inset, fill=False, edgecolor=color,
                     linewidth=lw, linestyle=ls, zorder=zorder)
    ax.add_patch(rect)
    return rect


def annotate_cells(ax, values, *, fmt="{}", fontsize: float = 7, colors=None, background=None,
                   zorder: float = 6, bold: bool = False, box: bool = False) -> None:
    """Print ``values[r, c]`` at the centre of each cell; text colour chosen against ``background``."""
    values = np.asarray(values, dtype=object)
    H, W = values.shape[:2]
    for r in range(H):
        for c in range(W):
            v = values[r, c]
            if v is None or v == "":
                continue
            if colors is not None:
                tc = colors[r][c]
            elif background is not None:
                tc = text_color_for(background[r][c])
            else:
                tc = "black"
            ax.text(c + 0.5, r + 0.5, fmt.format(v), ha="center", va="center", fontsize=fontsize, color=tc,
                    zorder=zorder, fontweight="bold" if bold else "normal",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8} if box else None)
