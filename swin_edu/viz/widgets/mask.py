"""The shifted-window mask explorer (ipywidgets sliders + an anywidget view that shows SVG and reports clicks)."""
from __future__ import annotations

import math
import pathlib
from typing import Any

import anywidget
import ipywidgets as widgets
import numpy as np
import traitlets

from ... import i18n
from ... import numpy_ref as snp
from ..._validate import check_int
from ._base import Explorer, in_colab, slider
from .mask_model import (
    VIEWS,
    MaskState,
    locate,
    mask_state,
    mask_text,
    mask_validity,
    slider_limits,
    view_label,
)
from .mask_render import mask_html, message_html

__all__ = ["MaskExplorer", "MaskView"]

_HERE = pathlib.Path(__file__).parent

#: the controls' labels and tooltips, in each language (:mod:`swin_edu.i18n`'s catalogue)
i18n.add_messages({
    "mask.ctl.H": {"en": "H (height)", "zh": "H（高）"},
    "mask.ctl.W": {"en": "W (width)", "zh": "W（宽）"},
    "mask.ctl.window_size": {"en": "M (window)", "zh": "M（窗口）"},
    "mask.ctl.shift_size": {"en": "s (shift)", "zh": "s（移位）"},
    "mask.ctl.window": {"en": "window", "zh": "窗口"},
    "mask.ctl.query": {"en": "query", "zh": "查询"},
    "mask.tip.cyclic": {"en": "roll by -s, 4 windows, a 0/-100 mask", "zh": "循环移位 -s，4 个窗口，0/-100 掩码"},
    "mask.tip.padded": {"en": "the naive way: uneven windows, each padded",
                        "zh": "朴素做法：大小不一的窗口，各自填充"},
})


class MaskView(anywidget.AnyWidget):
    """Shows ``html`` (drawn by :func:`~.mask_render.mask_html`); a click on a token of a panel sets ``click``
    to ``{"panel", "row", "col", "n"}`` (``n`` counts clicks, so clicking the same token twice is a change)."""

    _esm = _HERE / "mask_view.js"
    _css = _HERE / "mask_view.css"
    html = traitlets.Unicode("").tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)
    click = traitlets.Dict({}).tag(sync=True)


class MaskExplorer(Explorer):
    """The shifted-window mask, live: which tokens may a query attend to, and why.

    Sliders for the map (H, W), the window M and the shift; a toggle between the cyclic shift + mask and the
    padded uneven windows; pick the window and the query with their sliders or by clicking a token in any
    panel. It shows the map (rolled and labelled by region in the cyclic view, cut into uneven windows in the
    padded view), the window's attention mask, the keys the query may attend to, and the same tokens on the
    original map, as SVG (crisp at any size). ``allowed`` (M x M bool), ``allowed_positions`` (tokens of the
    original map), ``mask``, ``regions``, ``text`` and ``html`` hold what is shown; ``message`` says why
    settings are invalid (a window larger than the map, a shift >= M), in which case nothing raises.

    Maps that the window does not divide are padded first (pad, then shift, as the official detection code);
    padding tokens are dotted.

    >>> ex = MaskExplorer(H=8, W=8, window_size=4, shift_size=2, window=3, query=5)
    >>> int(ex.allowed.sum()), ex.allowed_positions
    (4, [(6, 6), (6, 7), (7, 6), (7, 7)])
    >>> ex.click("map", 0, 0).state["window"], ex.state["query"]
    (0, 0)
    >>> ex.set(shift_size=4).message
    'Shift s=4 must be smaller than the window M=4 (Swin shifts by s = ⌊M/2⌋ = 2).'
    """

    PARAMS = ("H", "W", "window_size", "shift_size", "view", "window", "query")
    CSS = "swin-mask"
    MAX_MAP = 64
    MAX_WINDOW = 12
    PANELS = ("map", "mask", "keys", "orig")

    def __init__(self, H: int = 8, W: int = 8, window_size: int = 4, shift_size: int = 2, view: str = "cyclic",
                 window: int = 3, query: int = 5) -> None:
        where = "MaskExplorer"
        H = check_int(H, "H", where=where)
        W = check_int(W, "W", where=where)
        M = check_int(window_size, "window_size", where=where)
        s = check_int(shift_size, "shift_size", minimum=0, where=where)
        for name, v, hi in (("H", H, self.MAX_MAP), ("W", W, self.MAX_MAP), ("window_size", M, self.MAX_WINDOW),
                            ("shift_size", s, self.MAX_WINDOW - 1)):
            if v > hi:
                raise ValueError(f"{where}: {name} must be at most {hi}, got {v}")
        if view not in VIEWS:
            raise ValueError(f"{where}: view must be 'cyclic' or 'padded', got {view!r}")
        window = check_int(window, "window", minimum=0, where=where)
        query = check_int(query, "query", minimum=0, where=where)
        self.state_data: MaskState | None = None
        self.html = ""
        # four in a row, each growing to a quarter of the row, wrapping on a narrow screen; with the narrow readout
        # of mask_view.css, tracks of about 125 px at 1440x900 (they were 59 px)
        small = {"width": "auto", "label_width": "74px", "continuous": True,
                 "flex": "1 1 230px", "min_width": "230px", "max_width": "420px"}
        self.controls = {
            "H": slider(i18n.t("mask.ctl.H"), H, 1, self.MAX_MAP, **small),
            "W": slider(i18n.t("mask.ctl.W"), W, 1, self.MAX_MAP, **small),
            "window_size": slider(i18n.t("mask.ctl.window_size"), M, 1, self.MAX_WINDOW, **small),
            "shift_size": slider(i18n.t("mask.ctl.shift_size"), s, 0, self.MAX_WINDOW - 1, **small),
            "view": widgets.ToggleButtons(options=[(view_label(key), key) for key in VIEWS], value=view,
                                          tooltips=[i18n.t(f"mask.tip.{key}") for key in VIEWS],
                                          style={"description_width": "0px", "button_width": "185px"}),
            "window": slider(i18n.t("mask.ctl.window"), 0, 0, max(window, 1), **small),
            "query": slider(i18n.t("mask.ctl.query"), 0, 0, max(query, M * M - 1), **small),
        }
        self.controls["window"].value = window
        self.controls["query"].value = query
        self._programmatic = 1  # the constructor's settings are kept as given (invalid ones say why)
        self.picture = MaskView()
        self.picture.add_class("swin-mask-picture-view")
        super().__init__()
        self.controls["view"].unobserve(self._on_change, names="value")
        self.controls["view"].observe(self._on_view, names="value")
        self.picture.observe(self._on_click, names="click")
        self.update()
        self._programmatic = 0

    def _build(self):
        c = self.controls
        row1 = widgets.HBox([c["H"], c["W"], c["window_size"], c["shift_size"]],
                            layout=widgets.Layout(flex_flow="row wrap"))
        row2 = widgets.HBox([c["view"], c["window"], c["query"]], layout=widgets.Layout(flex_flow="row wrap"))
        return widgets.VBox([row1, row2, self.picture])

    def _ipython_display_(self):
        if in_colab():  # Colab shows third-party widgets (this view is an anywidget) only with this switched on
            from google.colab import output  # type: ignore[import-not-found]

            output.enable_custom_widget_manager()
        super()._ipython_display_()

    def _range(self, name):
        if name in ("window", "query"):
            return 0, 10_000  # checked against the map by _check_dependent
        if name == "window_size":
            return 1, self.MAX_WINDOW  # the slider offers only what the map allows; set() may ask for more
        if name == "shift_size":
            return 0, self.MAX_WINDOW - 1
        return super()._range(name)

    def _check_dependent(self, new, given, where):
        H, W, M, s = new["H"], new["W"], new["window_size"], new["shift_size"]
        if mask_validity(H, W, M, s):
            return  # the explorer will show why; window and query are clamped once the settings are valid
        n = self._n_windows(H, W, M, s, new["view"])
        if "window" in given and new["window"] >= n:
            raise ValueError(f"{where}: window must be in [0, {n}) for these settings ({n} windows), "
                             f"got {new['window']}")
        if "query" in given and new["query"] >= M * M:
            raise ValueError(f"{where}: query must be in [0, {M * M}) for window_size={M}, got {new['query']}")

    @staticmethod
    def _n_windows(H: int, W: int, M: int, s: int, view: str) -> int:
        Hp, Wp = math.ceil(H / M) * M, math.ceil(W / M) * M
        return (Hp // M) * (Wp // M) if view == "cyclic" else len(snp.shifted_window_grid(Hp, Wp, M, s))

    # results ---------------------------------------------------------------
    @property
    def allowed(self) -> np.ndarray | None:
        """(M, M) bool: the keys of the selected window that the query may attend to (None if invalid)."""
        return None if self.state_data is None else self.state_data.allowed

    @property
    def allowed_positions(self) -> list[tuple[int, int]] | None:
        """The tokens of the original (unshifted) map that the query attends to."""
        return None if self.state_data is None else self.state_data.allowed_positions

    @property
    def mask(self) -> np.ndarray | None:
        """(N, N) attention mask of the selected window (0 / -100; 0 / -inf for padding slots)."""
        return None if self.state_data is None else self.state_data.mask

    @property
    def regions(self) -> np.ndarray | None:
        return None if self.state_data is None else self.state_data.regions

    # clicks ----------------------------------------------------------------
    def click(self, panel: str, row: int, col: int):
        """Choose the window and the query by a token of a panel, as a click in the browser does: ``"map"``
        (the first panel), ``"mask"`` (a row = a query), ``"keys"`` (a key of the window = a query) or
        ``"orig"`` (a token of the original map). Returns the explorer."""
        where = "MaskExplorer.click"
        if panel not in self.PANELS:
            raise ValueError(f"{where}: panel must be one of {list(self.PANELS)}, got {panel!r}")
        row = check_int(row, "row", minimum=0, where=where)
        col = check_int(col, "col", minimum=0, where=where)
        st = self.state_data
        if st is None:
            raise ValueError(f"{where}: the explorer shows no picture (invalid settings: {self.message})")
        M = st.window_size
        rows, cols = {"map": (st.Hp, st.Wp), "orig": (st.Hp, st.Wp), "mask": (M * M, M * M),
                      "keys": (M, M)}[panel]
        if row >= rows or col >= cols:
            raise ValueError(f"{where}: ({row}, {col}) is outside the {rows}x{cols} {panel!r} panel")
        if panel == "mask":
            return self.set(query=row)
        if panel == "keys":
            return self.set(query=row * M + col)
        if panel == "map" and st.view == "cyclic":  # the rolled map: its regular grid is the window grid
            window, query = (row // M) * (st.Wp // M) + col // M, (row % M) * M + col % M
        else:  # the original map (both views' 'orig', and 'map' in the padded view)
            window, query = locate((row, col), st.view, st.Hp, st.Wp, M, st.shift_size)
        return self.set(window=window, query=query)

    def _on_click(self, change) -> None:
        data = change["new"] or {}
        try:
            self.click(data.get("panel"), data.get("row"), data.get("col"))
        except (TypeError, ValueError):  # a stale click (the picture changed meanwhile): ignore it
            pass

    # machinery ------------------------------------------------------------
    def set(self, **values: Any):
        """Set several parameters at once, then redraw once. Changing only ``view`` keeps the same token
        of the map selected (as the toggle does)."""
        if "view" in values and "window" not in values and "query" not in values:
            target = self._check_value("view", values["view"], "MaskExplorer.set")
            keep = self._keep_token(target)
            if keep is not None:
                values = dict(values, window=keep[0], query=keep[1])
        self._programmatic += 1  # what code asks for is shown as asked, or says why it cannot be
        try:
            return super().set(**values)
        finally:
            self._programmatic -= 1

    def _keep_token(self, view: str) -> tuple[int, int] | None:
        """(window, query) that select the current query's token in ``view`` (None if not applicable)."""
        st = self.state_data
        if st is None or st.query_is_padding or view == st.view:
            return None
        c = self.controls
        if (c["H"].value, c["W"].value, c["window_size"].value, c["shift_size"].value) != (
                st.H, st.W, st.window_size, st.shift_size):
            return None
        return locate(st.query_pos, view, st.Hp, st.Wp, st.window_size, st.shift_size)

    def _on_view(self, change) -> None:
        """Switching views keeps the same token of the map selected."""
        if self._hold:
            return
        keep = self._keep_token(change["new"])
        if keep is not None:
            self._hold += 1
            try:
                self.controls["window"].max = max(self.controls["window"].max, keep[0])
                self.controls["window"].value, self.controls["query"].value = keep
            finally:
                self._hold -= 1
        self.update()

    def _invalid(self):
        c = self.controls
        return mask_validity(c["H"].value, c["W"].value, c["window_size"].value, c["shift_size"].value)

    def _sync_ranges(self):
        c = self.controls
        # the window and shift sliders offer only what this map can show (slider_limits); a slider moved by the
        # learner clamps the others into range, a value set by code (set()) stays and the picture says why not
        m_max, _ = slider_limits(c["H"].value, c["W"].value, c["window_size"].value, self.MAX_WINDOW)
        keep = bool(getattr(self, "_programmatic", 0))
        c["window_size"].max = max(m_max, c["window_size"].value) if keep else m_max
        _, s_max = slider_limits(c["H"].value, c["W"].value, c["window_size"].value, self.MAX_WINDOW)
        c["shift_size"].max = max(s_max, c["shift_size"].value) if keep else s_max
        c["shift_size"].disabled = c["shift_size"].max == 0
        c["window_size"].disabled = c["window_size"].max == 1
        H, W, M, s = c["H"].value, c["W"].value, c["window_size"].value, c["shift_size"].value
        if mask_validity(H, W, M, s):
            return
        n = self._n_windows(H, W, M, s, c["view"].value)
        c["window"].max = max(n - 1, 0)
        c["query"].max = M * M - 1
        c["window"].disabled = n == 1

    def _clear(self):
        self.state_data = None

    def _compute(self):
        c = self.controls
        st = mask_state(c["H"].value, c["W"].value, c["window_size"].value, c["shift_size"].value,
                        c["view"].value, c["window"].value, c["query"].value)
        self.state_data = st
        self.text = mask_text(st)

    def _render(self):
        self.html = message_html(self.message) if self.message else mask_html(self.state_data, self.text)
        with self.picture.hold_sync():  # one message, one redraw in the browser
            self.picture.html = self.html
            self.picture.version = self.n_updates + 1
