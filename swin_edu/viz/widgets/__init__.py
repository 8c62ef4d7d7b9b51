"""Interactive explorers (ipywidgets 8) for the hard parts of Swin, drawn from the package's numpy code.

Every explorer is a small class:

* ``explorer.widget`` is the ipywidgets box to display (the explorer itself displays too);
* its state lives in its controls and is scriptable: ``explorer.set(H=8, window_size=4)`` or
  ``explorer.H = 8`` (both redraw once), ``explorer.state`` reads it back;
* ``explorer.update()`` recomputes and redraws; the results are plain data: ``explorer.text`` (the
  numbers shown), ``explorer.message`` (``None``, or why the settings are invalid) and explorer-specific
  arrays (``MaskExplorer.allowed``, ``ComplexityExplorer.msa``, ``PatchExplorer.vector``,
  ``RelativeBiasExplorer.bias``...).

Modules: :mod:`.mask_model` (what the mask explorer shows, as plain data: numpy only, importable without
ipywidgets), :mod:`.mask_render` (its picture as SVG), :mod:`.mask` (:class:`MaskExplorer`: sliders, a toggle
and clickable SVG panels), :mod:`.explorers` (the matplotlib explorers: complexity, patches, relative bias).
Names load on first use, so ``from swin_edu.viz.widgets import mask_state`` needs no widget library.
"""
from ..._lazy import lazy_exports

_LAZY = {
    "MaskState": "mask_model", "mask_state": "mask_model", "mask_text": "mask_model", "locate": "mask_model",
    "mask_validity": "mask_model",
    "mask_html": "mask_render",
    "MaskExplorer": "mask", "MaskView": "mask",
    "ComplexityExplorer": "explorers", "PatchExplorer": "explorers", "RelativeBiasExplorer": "explorers",
}
__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
