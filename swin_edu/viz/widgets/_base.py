"""The machinery every explorer shares: validated, scriptable controls -> update() -> what is shown.

Not public API: use the explorers of :mod:`swin_edu.viz.widgets`.
"""
from __future__ import annotations

import html
import sys
from typing import Any

import ipywidgets as widgets

from ... import i18n
from ..._validate import check_int
from ..style import OKABE_ITO, new_figure, png_bytes, use_style

__all__ = ["Explorer", "PngExplorer", "slider"]

#: resolution of the explorers' matplotlib pictures
WIDGET_DPI = 80


class Explorer:
    """Controls (``self.controls``, one per name of ``PARAMS``) -> :meth:`update` -> ``text``/``message`` and
    whatever :meth:`_render` shows. Subclasses set ``controls`` before calling ``super().__init__()``, and
    ``self.widget`` (the box to display) in :meth:`_build`."""

    #: names of the settable parameters, in display order (each has a control in ``self.controls``)
    PARAMS: tuple[str, ...] = ()
    CSS: str = "swin-explorer"
    controls: dict[str, widgets.ValueWidget]

    def __init__(self) -> None:
        self._hold = 0
        self.message: str | None = None
        self.text = ""
        self.n_updates = 0
        for name, ctl in self.controls.items():
            ctl.add_class(f"{self.CSS}-{name.replace('_', '-')}")
            ctl.observe(self._on_change, names="value")
        self.widget = self._build()
        self.widget.add_class(self.CSS)

    def _build(self) -> widgets.Widget:  # pragma: no cover - abstract
        raise NotImplementedError

    def _control_box(self) -> widgets.Widget:
        items = list(self.controls.values())
        half = (len(items) + 1) // 2
        return widgets.HBox([widgets.VBox(items[:half]), widgets.VBox(items[half:])])

    # --------------------------------------------------------------- state
    @property
    def state(self) -> dict[str, Any]:
        """The current settings, ``{name: value}``."""
        return {name: self.controls[name].value for name in self.PARAMS}

    def set(self, **values: Any):
        """Set several parameters at once (validated), then redraw once. Returns the explorer."""
        where = f"{type(self).__name__}.set"
        unknown = sorted(set(values) - set(self.PARAMS))
        if unknown:
            raise TypeError(f"{where}: unknown parameter(s) {unknown}; expected some of {list(self.PARAMS)}")
        checked = {name: self._check_value(name, value, where) for name, value in values.items()}
        self._check_dependent(dict(self.state, **checked), set(checked), where)
        self._hold += 1
        try:
            for name in self.PARAMS:  # in display order, so dependent ranges are widened first
                if name in checked:
                    self._assign(name, checked[name])
        finally:
            self._hold -= 1
        self.update()
        return self

    def _assign(self, name: str, value: Any) -> None:
        ctl = self.controls[name]
        if hasattr(ctl, "max") and isinstance(value, int) and value > ctl.max:
            ctl.max = value  # dependent ranges (window, query...) are re-synchronised by update()
        ctl.value = value

    def _check_value(self, name: str, value: Any, where: str) -> Any:
        ctl = self.controls[name]
        if isinstance(ctl, (widgets.IntSlider, widgets.BoundedIntText)):
            value = check_int(value, name, minimum=None, where=where)
            lo, hi = self._range(name)
            if not lo <= value <= hi:
                raise ValueError(f"{where}: {name} must be in [{lo}, {hi}], got {value}")
            return value
        options = [o[1] if isinstance(o, tuple) else o for o in ctl.options]
        if value not in options:
            raise ValueError(f"{where}: {name} must be one of {options}, got {value!r}")
        return value

    def _check_dependent(self, new: dict[str, Any], given: set[str], where: str) -> None:
        """Check parameters whose range depends on others (e.g. the window index on the map size)."""

    def _range(self, name: str) -> tuple[int, int]:
        """The allowed range of an int parameter (dependent parameters may exceed the slider's max)."""
        ctl = self.controls[name]
        return ctl.min, ctl.max

    def __getattr__(self, name: str) -> Any:
        if name != "PARAMS" and name in type(self).PARAMS and "controls" in self.__dict__:
            return self.controls[name].value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in type(self).PARAMS and "controls" in self.__dict__:
            self.set(**{name: value})
        else:
            object.__setattr__(self, name, value)

    # --------------------------------------------------------------- update
    def _on_change(self, change) -> None:
        if self._hold:
            return
        self.update()

    def update(self):
        """Recompute from the controls and redraw (never raises for invalid settings)."""
        self._hold += 1
        try:
            try:
                self._sync_ranges()
                self.message = self._invalid()
                if self.message is None:
                    self._compute()
            except (ValueError, TypeError) as err:  # a bug or an unforeseen combination: show it, no traceback
                self.message = i18n.t("widget.cannot_show", err=err)
            if self.message is not None:
                self._clear()
                self.text = ""
            self._render()
            self.n_updates += 1
        finally:
            self._hold -= 1
        return self

    def _message_html(self) -> str:
        return (f'<div class="{self.CSS}-message" style="color:#8B0000;background:#FFF3E0;padding:6px;'
                f'border-left:4px solid {OKABE_ITO["vermillion"]}"><b>{i18n.t("widget.invalid")}</b> '
                f"{html.escape(self.message or '')}</div>")

    # hooks
    def _sync_ranges(self) -> None: ...

    def _invalid(self) -> str | None:
        return None

    def _clear(self) -> None: ...

    def _compute(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _render(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # --------------------------------------------------------------- display
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


class PngExplorer(Explorer):
    """An explorer drawn with matplotlib: ``png`` (the bytes shown in ``image``) and ``info`` (the numbers)."""

    def __init__(self) -> None:
        self.png = b""
        self._fig = None
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self.image.add_class(f"{self.CSS}-image")
        self.info = widgets.HTML()
        self.info.add_class(f"{self.CSS}-info")
        super().__init__()

    def _build(self):
        return widgets.VBox([self._control_box(), self.image, self.info])

    def _compute(self) -> None:
        self._fig = self._compute_and_draw()

    def _compute_and_draw(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _render(self) -> None:
        fig = self._fig if self.message is None else _message_figure(self.message)
        self._fig = None
        self.png = png_bytes(fig, dpi=WIDGET_DPI)
        self.image.value = self.png
        self.info.value = self._message_html() if self.message else (
            f'<pre class="{self.CSS}-text" style="font-size:12px;line-height:1.35;white-space:pre-wrap">'
            f"{html.escape(self.text)}</pre>")


def _message_figure(message: str):
    import textwrap

    with use_style():
        fig = new_figure(8, 1.6)
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "\n".join(textwrap.wrap(message, 90)), ha="center", va="center", fontsize=11,
                color="#8B0000", transform=ax.transAxes,
                bbox={"boxstyle": "round", "fc": "#FFF3E0", "ec": OKABE_ITO["vermillion"]})
    return fig


def slider(description: str, value: int, lo: int, hi: int, *, width: str = "420px", label_width: str = "150px",
           continuous: bool = False, **layout: str) -> widgets.IntSlider:
    """An IntSlider in the explorers' style (``continuous``: update while dragging, for fast explorers;
    ``layout``: more of its CSS layout, e.g. ``flex="1 1 230px"`` to share a row)."""
    return widgets.IntSlider(value=value, min=lo, max=hi, step=1, description=description,
                             continuous_update=continuous, style={"description_width": label_width},
                             layout=widgets.Layout(width=width, **layout))


def in_colab() -> bool:
    """True inside Google Colab (where third-party widgets need Colab's custom widget manager)."""
    return "google.colab" in sys.modules
