"""Figures and interactive widgets, drawn from what ``swin_edu`` computes.

* :mod:`swin_edu.viz.figures`: one function per static figure; ``python -m swin_edu.viz.figures
  --out figures`` regenerates the course's ``figures/`` (deterministic PNGs + alt text).
* :mod:`swin_edu.viz.widgets`: ipywidgets explorers (mask, complexity, patches, relative bias).
* :mod:`swin_edu.viz.style`: the colour-vision-safe palette, hatches and ``use_style()``.
* :mod:`swin_edu.viz.attention`: what a trained model attends to (``attention_maps``, ``plot_attention``).
* :mod:`swin_edu.viz.training`: training curves, confusion matrix, straddle-task examples.
* :mod:`swin_edu.viz.stages`: a Swin's four stage maps on their image (the hierarchy a detection head reads).

Names are loaded on first use, so ``import swin_edu.viz`` stays cheap and ``python -m
swin_edu.viz.figures`` does not import the module twice.
"""
from .._lazy import lazy_exports

_LAZY = {
    "OKABE_ITO": "style", "REGION_COLORS": "style", "REGION_HATCHES": "style", "use_style": "style",
    "png_bytes": "style", "save_png": "style",
    "sample_image": "_draw",
    "FIGURES": "figures", "make_figure": "figures", "alt_text": "figures", "render_all": "figures",
    "figure_markdown": "figures", "show_figure": "figures",
    "MaskExplorer": "widgets", "ComplexityExplorer": "widgets", "PatchExplorer": "widgets",
    "RelativeBiasExplorer": "widgets",
    "attention_maps": "attention", "attention_to": "attention", "plot_attention": "attention",
    "plot_curves": "training", "plot_confusion": "training", "plot_straddle_examples": "training",
    "plot_stage_maps": "stages", "stage_summary": "stages",
}
__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
