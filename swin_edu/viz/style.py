"""One look for every figure and widget: colour-vision-safe colours, hatches, deterministic output.

* Categorical colours come from the Okabe-Ito palette (safe for the common colour-vision
  deficiencies), the 9 regions from Paul Tol's "muted" palette (figures and mask explorer alike);
  continuous values use ``cividis`` (perceptually uniform, readable in grayscale).
* Wherever a colour carries meaning (a region, a window, masked vs allowed), a hatch pattern or a
  printed label carries it too, so the figure survives grayscale printing.
* :func:`use_style` fixes fonts, sizes and the SVG hash salt; :func:`save_png` writes PNGs without
  a software/version/date tag, so the same code gives the same bytes on every run.

>>> with use_style():
...     fig = new_figure(2, 2)
>>> REGION_COLORS[0], len(REGION_HATCHES)
('#CC6677', 9)
"""
from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import matplotlib.colors
from matplotlib.figure import Figure

from .._validate import check_float

__all__ = [
    "ALLOWED_COLOR",
    "DIV_CMAP",
    "DPI",
    "HIGHLIGHT",
    "MASKED_COLOR",
    "CourseFigure",
    "OKABE_ITO",
    "RC",
    "REGION_COLORS",
    "REGION_HATCHES",
    "SEQ_CMAP",
    "new_figure",
    "png_bytes",
    "save_png",
    "text_color_for",
    "use_style",
]

#: Okabe & Ito (2008), "Color Universal Design": 8 colours distinguishable with any common CVD.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}

#: one colour per region label 0..8 of :func:`swin_edu.numpy_ref.region_ids` (and per window of the
#: 9 uneven windows), the same in the static figures and the mask explorer: Paul Tol's "muted" qualitative
#: palette, 9 colours distinguishable with the common colour-vision deficiencies and none of them white or grey
#: (grey means "masked" or "padding", white "not attended"; Okabe-Ito has only 8 hues and needed a grey 9th).
REGION_COLORS = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933", "#AA4499")

#: one hatch per region label, so the regions stay distinct in grayscale
REGION_HATCHES = ("", "///", "\\\\\\", "xxx", "...", "ooo", "---", "|||", "+++")

#: allowed (mask 0) and masked (mask -100) pairs
ALLOWED_COLOR = OKABE_ITO["sky_blue"]
MASKED_COLOR = "#4D4D4D"
MASKED_HATCH = "xxx"
#: outline of the selected window / query / patch
HIGHLIGHT = OKABE_ITO["vermillion"]
#: continuous data
SEQ_CMAP = "cividis"
#: signed data (weights, biases): a diverging map that stays ordered in grayscale is not possible,
#: so signed values are always printed or shown with a colour bar; PuOr is CVD-safe.
DIV_CMAP = "PuOr_r"

#: resolution of every saved PNG
DPI = 110

#: the rc settings of :func:`use_style`
RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": SEQ_CMAP,
    "hatch.linewidth": 0.6,
    "hatch.color": "#222222",
    "svg.hashsalt": "swin-edu",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "path.simplify": True,
    "axes.prop_cycle": matplotlib.cycler(color=[
        OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["bluish_green"], OKABE_ITO["orange"],
        OKABE_ITO["reddish_purple"], OKABE_ITO["sky_blue"], OKABE_ITO["black"],
    ]),
}


@contextlib.contextmanager
def use_style() -> Iterator[None]:
    """Context manager: the course's rc settings (fonts, palette, cividis, fixed SVG salt)."""
    from .. import i18n

    with matplotlib.rc_context({**RC, **i18n.style_overrides()}):  # English: exactly RC
        yield


class CourseFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that shows itself as a PNG when a notebook cell returns it, also where
    pyplot's inline backend was never loaded (a notebook that draws only with the package: notebook 09)."""

    def _repr_png_(self) -> bytes:
        return png_bytes(self)


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free :class:`~matplotlib.figure.Figure` (no global state, safe in widgets and tests) that a notebook
    shows when a cell returns it (:class:`CourseFigure`)."""
    width = check_float(width, "width", minimum=0, strict_min=True, where="new_figure")
    height = check_float(height, "height", minimum=0, strict_min=True, where="new_figure")
    return CourseFigure(figsize=(width, height), dpi=DPI, layout="constrained")


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes without metadata (same input, same bytes)."""
    if not isinstance(fig, Figure):
        raise TypeError(f"png_bytes: fig must be a matplotlib Figure, got {type(fig).__name__}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def save_png(fig: Figure, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` as a metadata-free PNG and return the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"save_png: path must end in .png, got {str(path)!r}")
    data = png_bytes(fig, dpi=dpi)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def text_color_for(color) -> str:
    """Black or white, whichever reads better on ``color`` (relative luminance)."""
    r, g, b, _ = matplotlib.colors.to_rgba(color)
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if lum > 0.45 else "white"
