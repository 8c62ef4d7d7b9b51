"""Interactive explorers (ipywidgets 8) for the hard parts of Swin, drawn with the package's numpy code.

Every explorer is a small class:

* ``explorer.widget`` is the ipywidgets box to display (the explorer itself displays too);
* its state lives in its controls and is scriptable: ``explorer.set(H=8, window_size=4)`` or
  ``explorer.H = 8`` (both redraw once), ``explorer.state`` reads it back;
* ``explorer.update()`` recomputes and redraws; the results are plain data: ``explorer.text`` (the
  numbers shown), ``explorer.message`` (``None``, or why the settings are invalid), ``explorer.png``
  (the PNG bytes shown in ``explorer.image``) and explorer-specific arrays (``MaskExplorer.allowed``,
  ``ComplexityExplorer.msa``, ``PatchExplorer.vector``, ``RelativeBiasExplorer.bias``...).

>>> ex = MaskExplorer(H=8, W=8, window_size=4, shift_size=2, window=3, query=5)
>>> ex.allowed.astype(int)
array([[1, 1, 0, 0],
       [1, 1, 0, 0],
       [0, 0, 0, 0],
       [0, 0, 0, 0]])
>>> ex.set(shift_size=4).message
'Shift s=4 must be smaller than the window M=4 (Swin shifts by s = ⌊M/2⌋ = 2).'
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import numpy as np

from .. import complexity
from .. import numpy_ref as snp
from .._validate import check_array, check_int
from ._draw import annotate_cells, cell_axes, fill_labels, grid_lines, outline, sample_image
from .style import (
    ALLOWED_COLOR,
    DIV_CMAP,
    OKABE_ITO,
    REGION_COLORS,
    SEQ_CMAP,
    new_figure,
    png_bytes,
    text_color_for,
    use_style,
)

__all__ = [
    "ComplexityExplorer",
    "MaskExplorer",
    "MaskState",
    "PatchExplorer",
    "RelativeBiasExplorer",
    "mask_state",
]

WIDGET_DPI = 80


class _Explorer:
    """Common machinery: controls -> update() -> (text, message, png) shown in an Image + HTML."""

    #: names of the settable parameters, in display order (each has a control in ``self.controls``)
    PARAMS: tuple[str, ...] = ()
    CSS: str = "swin-explorer"

    def __init__(self) -> None:
        self._hold = 0
        self.message: str | None = None
        self.text = ""
        self.png = b""
        self.n_updates = 0
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self.image.add_class(f"{self.CSS}-image")
        self.info = widgets.HTML()
        self.info.add_class(f"{self.CSS}-info")
        for name, ctl in self.controls.items():
            ctl.add_class(f"{self.CSS}-{name.replace('_', '-')}")
            ctl.observe(self._on_change, names="value")
        self.widget = widgets.VBox([self._control_box(), self.image, self.info])
        self.widget.add_class(self.CSS)

    # --------------------------------------------------------------- state
    controls: dict[str, widgets.ValueWidget]

    def _control_box(self) -> widgets.Widget:
        items = list(self.controls.values())
        half = (len(items) + 1) // 2
        return widgets.HBox([widgets.VBox(items[:half]), widgets.VBox(items[half:])])

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
                    fig = self._compute_and_draw()
                else:
                    self._clear()
                    self.text = ""
                    fig = _message_figure(self.message)
            except (ValueError, TypeError) as err:  # a bug or an unforeseen combination: show it, no traceback
                self.message = f"Cannot show these settings: {err}"
                self._clear()
                self.text = ""
                fig = _message_figure(self.message)
            self.png = png_bytes(fig, dpi=WIDGET_DPI)
            self.image.value = self.png
            self.info.value = self._info_html()
            self.n_updates += 1
        finally:
            self._hold -= 1
        return self

    def _info_html(self) -> str:
        if self.message:
            return (f'<div class="{self.CSS}-message" style="color:#8B0000;background:#FFF3E0;padding:6px;'
                    f'border-left:4px solid {OKABE_ITO["vermillion"]}"><b>Invalid settings:</b> '
                    f"{html.escape(self.message)}</div>")
        return f'<pre class="{self.CSS}-text" style="font-size:12px;line-height:1.35">{html.escape(self.text)}</pre>'

    # hooks
    def _sync_ranges(self) -> None: ...

    def _invalid(self) -> str | None:
        return None

    def _clear(self) -> None: ...

    def _compute_and_draw(self):  # pragma: no cover - abstract
        raise NotImplementedError

    # --------------------------------------------------------------- display
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


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


def _slider(description: str, value: int, lo: int, hi: int, step: int = 1) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=lo, max=hi, step=step, description=description,
                             continuous_update=False, style={"description_width": "150px"},
                             layout=widgets.Layout(width="420px"))


# =========================================================================== mask explorer
@dataclass
class MaskState:
    """Everything the mask explorer shows, as plain data (see :func:`mask_state`)."""

    H: int
    W: int
    window_size: int
    shift_size: int
    view: str
    window: int
    query: int
    Hp: int
    Wp: int
    num_windows: int
    num_uneven_windows: int
    window_rc: tuple[int, int]          # cyclic: (row, col) in the window grid; padded: top-left of the window
    window_hw: tuple[int, int]          # size of the window's real part (M, M in the cyclic view)
    query_rc: tuple[int, int]           # (row, col) of the query inside the M x M window
    query_pos: tuple[int, int]          # the query's token in the original (unshifted, padded) map
    query_region: int                   # region label (cyclic) or uneven-window index (padded)
    query_is_padding: bool
    allowed: np.ndarray                 # (M, M) bool: keys of the window the query may attend to
    mask: np.ndarray                    # (N, N) float: 0 / -100 (cyclic) or 0 / -inf for padding (padded)
    window_labels: np.ndarray           # (M, M) region labels of the window's slots (-1 = padding slot)
    allowed_positions: list[tuple[int, int]] = field(default_factory=list)  # original-map coordinates
    regions: np.ndarray | None = None   # (Hp, Wp) region labels of the shifted map
    uneven: np.ndarray | None = None    # (Hp, Wp) index of the uneven window of each original token


def _mask_validity(H: int, W: int, M: int, s: int) -> str | None:
    if M > H or M > W:
        return (f"Window M={M} is larger than the {H}×{W} map. The official code then shrinks the window to "
                f"min(H, W) = {min(H, W)} and does not shift; choose M ≤ {min(H, W)}.")
    if s >= M:
        return f"Shift s={s} must be smaller than the window M={M} (Swin shifts by s = ⌊M/2⌋ = {M // 2})."
    return None


def mask_state(H: int, W: int, window_size: int, shift_size: int, view: str = "cyclic", window: int = 0,
               query: int = 0) -> MaskState:
    """What the mask explorer shows for these settings (raises ``ValueError`` for invalid ones).

    ``view="cyclic"``: the map is padded to multiples of M (pad, then shift: the official detection
    code), rolled by ``-shift_size``, cut into M x M windows; ``window`` indexes that grid row-major and
    ``allowed`` is ``shift_mask(...)[window, query] == 0``. ``view="padded"``: the naive way, the windows
    of :func:`~swin_edu.numpy_ref.shifted_window_grid` (uneven) each padded to M x M; ``allowed`` marks
    the real tokens of the window. For a real token, both views attend to the same tokens of the map
    (``allowed_positions``), which is why the cyclic shift + mask is exact.
    """
    where = "mask_state"
    H, W = check_int(H, "H", where=where), check_int(W, "W", where=where)
    M = check_int(window_size, "window_size", where=where)
    s = check_int(shift_size, "shift_size", minimum=0, where=where)
    window = check_int(window, "window", minimum=0, where=where)
    query = check_int(query, "query", minimum=0, where=where)
    if view not in ("cyclic", "padded"):
        raise ValueError(f"{where}: view must be 'cyclic' or 'padded', got {view!r}")
    problem = _mask_validity(H, W, M, s)
    if problem:
        raise ValueError(f"{where}: {problem}")
    N = M * M
    if query >= N:
        raise ValueError(f"{where}: query must be in [0, {N}) for window_size={M}, got {query}")
    Hp, Wp = math.ceil(H / M) * M, math.ceil(W / M) * M
    nWw = Wp // M
    nW = (Hp // M) * nWw
    grid = snp.shifted_window_grid(Hp, Wp, M, s)
    uneven = np.zeros((Hp, Wp), dtype=np.int64)
    for k, (rs, cs) in enumerate(grid):
        uneven[rs, cs] = k
    regions = snp.region_ids(Hp, Wp, M, s)
    qr, qc = divmod(query, M)
    if view == "cyclic":
        if window >= nW:
            raise ValueError(f"{where}: window must be in [0, {nW}) for a {Hp}x{Wp} (padded) map, got {window}")
        wr, wc = divmod(window, nWw)
        mask = snp.shift_mask(Hp, Wp, M, s)[window]
        allowed = (mask[query] == 0).reshape(M, M)
        labels = regions[wr * M:(wr + 1) * M, wc * M:(wc + 1) * M].copy()
        sr, sc = wr * M + qr, wc * M + qc
        qpos = ((sr + s) % Hp, (sc + s) % Wp)
        positions = sorted(((wr * M + i + s) % Hp, (wc * M + j + s) % Wp) for i, j in zip(*np.nonzero(allowed)))
        return MaskState(H, W, M, s, view, window, query, Hp, Wp, nW, len(grid), (wr, wc), (M, M), (qr, qc),
                         qpos, int(regions[sr, sc]), qpos[0] >= H or qpos[1] >= W, allowed, mask, labels,
                         [(int(a), int(b)) for a, b in positions], regions, uneven)
    if window >= len(grid):
        raise ValueError(f"{where}: window must be in [0, {len(grid)}) for the uneven windows, got {window}")
    rs, cs = grid[window]
    h, w = rs.stop - rs.start, cs.stop - cs.start
    valid = np.zeros((M, M), dtype=bool)
    valid[:h, :w] = True
    mask = np.where(valid.ravel()[None, :], 0.0, -np.inf) * np.ones((N, 1))
    labels = np.where(valid, window, -1)
    qpos = (rs.start + qr, cs.start + qc)
    positions = [(r, c) for r in range(rs.start, rs.stop) for c in range(cs.start, cs.stop)]
    pad = not valid[qr, qc]
    return MaskState(H, W, M, s, view, window, query, Hp, Wp, nW, len(grid), (rs.start, cs.start), (h, w),
                     (qr, qc), qpos, window, pad or qpos[0] >= H or qpos[1] >= W, valid.copy(), mask, labels,
                     positions, regions, uneven)


def _locate(pos: tuple[int, int], view: str, Hp: int, Wp: int, M: int, s: int) -> tuple[int, int]:
    """(window, query) of the original-map token ``pos`` in ``view``."""
    r, c = pos
    if view == "cyclic":
        sr, sc = (r - s) % Hp, (c - s) % Wp
        return (sr // M) * (Wp // M) + sc // M, (sr % M) * M + sc % M
    for k, (rs, cs) in enumerate(snp.shifted_window_grid(Hp, Wp, M, s)):
        if rs.start <= r < rs.stop and cs.start <= c < cs.stop:
            return k, (r - rs.start) * M + (c - cs.start)
    raise ValueError(f"token {pos} is outside the {Hp}x{Wp} map")  # pragma: no cover


class MaskExplorer(_Explorer):
    """The shifted-window mask, live: which tokens may a query attend to, and why.

    Sliders for the map (H, W), the window M and the shift; pick a window and a query token. It shows
    the map (rolled and labelled by region in the cyclic-shift view, cut into uneven windows in the
    padded view), the window's attention mask, the keys the query may attend to, and the same tokens on
    the original map. ``allowed`` (M x M bool), ``allowed_positions`` (tokens of the original map),
    ``mask``, ``regions`` and ``text`` hold what is shown; ``message`` says why settings are invalid
    (a window larger than the map, a shift >= M), in which case nothing raises.

    Maps that the window does not divide are padded first (pad, then shift, as the official detection
    code); the padding tokens are drawn hatched grey.
    """

    PARAMS = ("H", "W", "window_size", "shift_size", "view", "window", "query")
    CSS = "swin-mask"
    MAX_MAP = 64
    MAX_WINDOW = 12

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
        if view not in ("cyclic", "padded"):
            raise ValueError(f"{where}: view must be 'cyclic' or 'padded', got {view!r}")
        window = check_int(window, "window", minimum=0, where=where)
        query = check_int(query, "query", minimum=0, where=where)
        self.state_data: MaskState | None = None
        self.controls = {
            "H": _slider("H (map height)", H, 1, self.MAX_MAP),
            "W": _slider("W (map width)", W, 1, self.MAX_MAP),
            "window_size": _slider("M (window size)", M, 1, self.MAX_WINDOW),
            "shift_size": _slider("shift s", s, 0, self.MAX_WINDOW - 1),
            "view": widgets.ToggleButtons(options=[("cyclic shift + mask", "cyclic"),
                                                   ("padded uneven windows", "padded")],
                                          value=view, description="view",
                                          style={"description_width": "150px", "button_width": "190px"}),
            "window": _slider("window", 0, 0, max(window, 1)),
            "query": _slider("query token", 0, 0, max(query, M * M - 1)),
        }
        self.controls["window"].value = window
        self.controls["query"].value = query
        super().__init__()
        self.controls["view"].unobserve(self._on_change, names="value")
        self.controls["view"].observe(self._on_view, names="value")
        self.update()

    def _control_box(self):
        c = self.controls
        return widgets.VBox([widgets.HBox([widgets.VBox([c["H"], c["W"]]), widgets.VBox([c["window_size"],
                                                                                          c["shift_size"]])]),
                             c["view"], widgets.HBox([c["window"], c["query"]])])

    def _range(self, name):
        if name in ("window", "query"):
            return 0, 10_000  # checked against the map by _check_dependent
        return super()._range(name)

    def _check_dependent(self, new, given, where):
        H, W, M, s = new["H"], new["W"], new["window_size"], new["shift_size"]
        if _mask_validity(H, W, M, s):
            return  # the explorer will show why; window and query are clamped once the settings are valid
        Hp, Wp = math.ceil(H / M) * M, math.ceil(W / M) * M
        n = (Hp // M) * (Wp // M) if new["view"] == "cyclic" else len(snp.shifted_window_grid(Hp, Wp, M, s))
        if "window" in given and new["window"] >= n:
            raise ValueError(f"{where}: window must be in [0, {n}) for these settings ({n} windows), "
                             f"got {new['window']}")
        if "query" in given and new["query"] >= M * M:
            raise ValueError(f"{where}: query must be in [0, {M * M}) for window_size={M}, got {new['query']}")

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

    # machinery ------------------------------------------------------------
    def set(self, **values: Any):
        """Set several parameters at once, then redraw once. Changing only ``view`` keeps the same token
        of the map selected (as the toggle does)."""
        if "view" in values and "window" not in values and "query" not in values:
            target = self._check_value("view", values["view"], "MaskExplorer.set")
            keep = self._keep_token(target)
            if keep is not None:
                values = dict(values, window=keep[0], query=keep[1])
        return super().set(**values)

    def _keep_token(self, view: str) -> tuple[int, int] | None:
        """(window, query) that select the current query's token in ``view`` (None if not applicable)."""
        st = self.state_data
        if st is None or st.query_is_padding or view == st.view:
            return None
        c = self.controls
        if (c["H"].value, c["W"].value, c["window_size"].value, c["shift_size"].value) != (
                st.H, st.W, st.window_size, st.shift_size):
            return None
        return _locate(st.query_pos, view, st.Hp, st.Wp, st.window_size, st.shift_size)

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
        return _mask_validity(c["H"].value, c["W"].value, c["window_size"].value, c["shift_size"].value)

    def _sync_ranges(self):
        c = self.controls
        H, W, M, s = c["H"].value, c["W"].value, c["window_size"].value, c["shift_size"].value
        if _mask_validity(H, W, M, s):
            return
        Hp, Wp = math.ceil(H / M) * M, math.ceil(W / M) * M
        n = (Hp // M) * (Wp // M) if c["view"].value == "cyclic" else len(snp.shifted_window_grid(Hp, Wp, M, s))
        c["window"].max = max(n - 1, 0)
        c["query"].max = M * M - 1
        c["window"].disabled = n == 1

    def _clear(self):
        self.state_data = None

    def _compute_and_draw(self):
        c = self.controls
        st = mask_state(c["H"].value, c["W"].value, c["window_size"].value, c["shift_size"].value,
                        c["view"].value, c["window"].value, c["query"].value)
        self.state_data = st
        self.text = _mask_text(st)
        return _mask_figure(st)


def _mask_text(st: MaskState) -> str:
    M, s, N = st.window_size, st.shift_size, st.window_size ** 2
    n_allowed = int(st.allowed.sum())
    lines = [f"Map {st.H}×{st.W}, window M = {M}, shift s = {s}"
             + (f" (padded to {st.Hp}×{st.Wp}: pad, then shift)" if (st.Hp, st.Wp) != (st.H, st.W) else "")
             + f"; view: {'cyclic shift + mask' if st.view == 'cyclic' else 'padded uneven windows'}."]
    if s == 0:
        lines.append("Shift 0 is plain W-MSA: no mask, every query sees its whole window.")
    lines.append(f"Cyclic shift: {st.num_windows} windows of {M}×{M}; the naive way: {st.num_uneven_windows} "
                 f"uneven windows, each padded to {M}×{M}.")
    qr, qc = st.query_rc
    if st.view == "cyclic":
        wr, wc = st.window_rc
        lines.append(f"Window {st.window} (row {wr}, col {wc} of the grid), query {st.query} = ({qr}, {qc}) in the "
                     f"window = token {st.query_pos} of the map, region {st.query_region}.")
        lines.append(f"It may attend to {n_allowed} of {N} keys; {N - n_allowed} are masked with -100 "
                     f"(softmax weight e^-100 ≈ 3.7e-44, i.e. 0).")
    else:
        h, w = st.window_hw
        lines.append(f"Uneven window {st.window} (rows {st.window_rc[0]}–{st.window_rc[0] + h - 1}, cols "
                     f"{st.window_rc[1]}–{st.window_rc[1] + w - 1}: {h}×{w} tokens, {N - h * w} padding slots), "
                     f"query {st.query} = ({qr}, {qc}) in the window"
                     + (" is a padding slot: its output is thrown away." if not st.allowed[qr, qc] else
                        f" = token {st.query_pos} of the map."))
        lines.append(f"It may attend to the {n_allowed} real tokens of its window; the {N - n_allowed} padding "
                     f"slots get -inf.")
    pad = [p for p in st.allowed_positions if p[0] >= st.H or p[1] >= st.W]
    if pad and not st.query_is_padding:
        lines.append(f"{len(pad)} of these keys are padding tokens (zeros; the official code does not mask them).")
    if st.query_is_padding and st.view == "cyclic":
        lines.append("The query itself is a padding token (its output is cropped away).")
    shown = ", ".join(f"({r},{c})" for r, c in st.allowed_positions[:24])
    more = f" … (+{len(st.allowed_positions) - 24})" if len(st.allowed_positions) > 24 else ""
    lines.append(f"Attended tokens of the original map: {shown}{more}")
    return "\n".join(lines)


def _mask_figure(st: MaskState):
    M, s, N, Hp, Wp = st.window_size, st.shift_size, st.window_size ** 2, st.Hp, st.Wp
    big = max(Hp, Wp) > 24
    pad = np.zeros((Hp, Wp), dtype=bool)
    pad[st.H:, :] = True
    pad[:, st.W:] = True
    with use_style():
        fig = new_figure(11, 8.2)
        (a_map, a_mask), (a_keys, a_orig) = fig.subplots(2, 2)
        if st.view == "cyclic":
            shifted_pad = np.roll(pad, (-s, -s), axis=(0, 1))
            fill_labels(a_map, st.regions, hatch=not big)
            cell_axes(a_map, Hp, Wp)
            _overlay(a_map, shifted_pad, "padding")
            grid_lines(a_map, Hp, Wp, 1, color="white", lw=0.3)
            grid_lines(a_map, Hp, Wp, M, color="black", lw=2)
            wr, wc = st.window_rc
            dim = np.zeros((Hp, Wp), dtype=bool)
            dim[wr * M:(wr + 1) * M, wc * M:(wc + 1) * M] = ~st.allowed
            _overlay(a_map, dim, "dim")
            outline(a_map, wr * M, wc * M, M, M, lw=3)
            qy, qx = wr * M + st.query_rc[0], wc * M + st.query_rc[1]
            a_map.set_title(f"map rolled by −{s} (cyclic shift): regions 0–8\nwindow {st.window} outlined; "
                            f"masked keys dimmed")
        else:
            fill_labels(a_map, st.uneven, hatch=not big)
            cell_axes(a_map, Hp, Wp)
            _overlay(a_map, pad, "padding")
            grid_lines(a_map, Hp, Wp, 1, color="white", lw=0.3)
            for rs, cs in snp.shifted_window_grid(Hp, Wp, M, s):
                outline(a_map, rs.start, cs.start, rs.stop - rs.start, cs.stop - cs.start, color="black", lw=2,
                        zorder=4)
            r0, c0 = st.window_rc
            h, w = st.window_hw
            outline(a_map, r0, c0, h, w, lw=3)
            qy, qx = r0 + st.query_rc[0], c0 + st.query_rc[1]
            a_map.set_title(f"original map, grid moved by {s}: {st.num_uneven_windows} uneven windows\n"
                            f"window {st.window} outlined")
        if 0 <= qy < Hp and 0 <= qx < Wp:
            a_map.plot(qx + 0.5, qy + 0.5, marker="*", ms=14 if not big else 8, color="white",
                       markeredgecolor="black", zorder=9)

        # the window's mask
        allowed_mat = np.isfinite(st.mask) & (st.mask == 0)
        fill_labels(a_mask, np.where(allowed_mat, 0, -1), colors=(ALLOWED_COLOR,), hatch=N <= 49)
        cell_axes(a_mask, N, N)
        if N <= 49:
            grid_lines(a_mask, N, N, 1, color="white", lw=0.3)
        grid_lines(a_mask, N, N, M, color="#777777", lw=0.8)
        outline(a_mask, st.query, 0, 1, N, lw=2)
        a_mask.set_xlabel("key j")
        a_mask.set_ylabel("query i")
        bad = "−100" if st.view == "cyclic" else "−inf (padding)"
        a_mask.set_title(f"mask of window {st.window} ({N}×{N}): blue 0, dark {bad};\nrow {st.query} = the query")

        # the query's keys
        labels = np.where(st.allowed, st.window_labels, -1)
        fill_labels(a_keys, labels)
        cell_axes(a_keys, M, M)
        grid_lines(a_keys, M, M, 1, color="white", lw=1.5)
        outline(a_keys, st.query_rc[0], st.query_rc[1], 1, 1, lw=3, inset=0.04)
        if M <= 8:
            vals = [[("pad" if st.window_labels[i, j] < 0 else str(st.window_labels[i, j])) for j in range(M)]
                    for i in range(M)]
            annotate_cells(a_keys, vals, fontsize=10 if M <= 5 else 7, box=True)
        what = "region" if st.view == "cyclic" else "window"
        a_keys.set_title(f"query {st.query} = {st.query_rc}: may attend to {int(st.allowed.sum())} of {N}\n"
                         f"(number = {what}; hatched dark = masked)")

        # the original map
        att = np.zeros((Hp, Wp), dtype=np.int64) - 1
        for r, c in st.allowed_positions:
            att[r, c] = 0
        fill_labels(a_orig, np.where(att == 0, 1, 7), colors=REGION_COLORS, hatch=False)
        cell_axes(a_orig, Hp, Wp)
        _overlay(a_orig, pad, "padding")
        grid_lines(a_orig, Hp, Wp, 1, color="white", lw=0.3)
        for rs, cs in snp.shifted_window_grid(Hp, Wp, M, s):
            outline(a_orig, rs.start, cs.start, rs.stop - rs.start, cs.stop - cs.start, color="#333333", lw=1.2,
                    ls="--", zorder=4)
        qr0, qc0 = st.query_pos
        if not (st.view == "padded" and not st.allowed[st.query_rc]):
            a_orig.plot(qc0 + 0.5, qr0 + 0.5, marker="*", ms=14 if not big else 8, color="white",
                        markeredgecolor="black", zorder=9)
        a_orig.set_title("the same tokens on the original map: exactly one\nuneven window (dashed); star = query")
        fig.suptitle(f"{'SW-MSA mask' if s else 'W-MSA (no shift)'}: {st.H}×{st.W} map, M = {M}, s = {s}"
                     f" — {'cyclic shift + mask' if st.view == 'cyclic' else 'padded uneven windows'}",
                     fontweight="bold")
    return fig


def _overlay(ax, where: np.ndarray, kind: str) -> None:
    """Dim (kind='dim') or hatch grey (kind='padding') the cells where ``where`` is true."""
    H, W = where.shape
    rgba = np.zeros((H, W, 4))
    if kind == "dim":
        rgba[where] = (0.0, 0.0, 0.0, 0.6)
    else:
        rgba[where] = (0.55, 0.55, 0.55, 0.85)
    ax.imshow(rgba, extent=(0, W, H, 0), interpolation="nearest", zorder=2.5)
    if kind == "padding" and where.any():
        from matplotlib.patches import Rectangle

        for r in range(H):
            cols = np.nonzero(where[r])[0]
            if cols.size:
                ax.add_patch(Rectangle((cols[0], r), cols[-1] - cols[0] + 1, 1, fill=False, hatch="xxx",
                                       linewidth=0, edgecolor="white", zorder=2.6))


# =========================================================================== complexity explorer
class ComplexityExplorer(_Explorer):
    """MSA vs W-MSA multiply-accumulates for an h x w x C map and M x M windows, term by term.

    ``msa`` and ``wmsa`` hold the breakdowns (``{"qkv", "qk", "av", "proj"}`` from
    :func:`swin_edu.complexity.msa_breakdown` / :func:`~swin_edu.complexity.wmsa_breakdown`),
    ``msa_total``/``wmsa_total`` their sums and ``ratio`` = msa_total / wmsa_total.
    """

    PARAMS = ("h", "w", "C", "M")
    CSS = "swin-complexity"

    def __init__(self, h: int = 56, w: int = 56, C: int = 96, M: int = 7) -> None:
        where = "ComplexityExplorer"
        vals = {"h": h, "w": w, "C": C, "M": M}
        limits = {"h": 256, "w": 256, "C": 1024, "M": 32}
        for k, v in vals.items():
            vals[k] = check_int(v, k, where=where)
            if vals[k] > limits[k]:
                raise ValueError(f"{where}: {k} must be at most {limits[k]}, got {vals[k]}")
        self.msa: dict[str, int] | None = None
        self.wmsa: dict[str, int] | None = None
        self.msa_total = self.wmsa_total = 0
        self.ratio = float("nan")
        self.controls = {
            "h": _slider("h (map height)", vals["h"], 1, limits["h"]),
            "w": _slider("w (map width)", vals["w"], 1, limits["w"]),
            "C": _slider("C (channels)", vals["C"], 1, limits["C"]),
            "M": _slider("M (window size)", vals["M"], 1, limits["M"]),
        }
        super().__init__()
        self.update()

    def _clear(self):
        self.msa = self.wmsa = None

    def _compute_and_draw(self):
        h, w, C, M = (self.controls[k].value for k in self.PARAMS)
        self.msa = complexity.msa_breakdown(h, w, C)
        self.wmsa = complexity.wmsa_breakdown(h, w, C, M)
        self.msa_total, self.wmsa_total = sum(self.msa.values()), sum(self.wmsa.values())
        self.ratio = self.msa_total / self.wmsa_total
        hp, wp = math.ceil(h / M) * M, math.ceil(w / M) * M
        formulas = {"qkv": ("3hwC²", "3hwC²"), "qk": ("(hw)²C", "M²hwC"), "av": ("(hw)²C", "M²hwC"),
                    "proj": ("hwC²", "hwC²")}
        rows = [f"{'term':6s} {'MSA formula':12s} {'MSA MACs':>18s}   {'W-MSA formula':13s} {'W-MSA MACs':>16s}"]
        for t in ("qkv", "qk", "av", "proj"):
            rows.append(f"{t:6s} {formulas[t][0]:12s} {self.msa[t]:>18,d}   {formulas[t][1]:13s} {self.wmsa[t]:>16,d}")
        rows.append(f"{'total':6s} {'4hwC²+2(hw)²C':12s} {self.msa_total:>18,d}   {'4hwC²+2M²hwC':13s} "
                    f"{self.wmsa_total:>16,d}")
        att_m, att_w = self.msa["qk"] + self.msa["av"], self.wmsa["qk"] + self.wmsa["av"]
        rows.append(f"MSA / W-MSA: {self.ratio:,.2f}× in total, {att_m / att_w:,.2f}× for the attention terms "
                    f"(hw/M² = {h * w / M ** 2:,.2f} when M divides h and w).")
        if (hp, wp) != (h, w):
            rows.append(f"M = {M} does not divide {h}×{w}: W-MSA runs on the padded {hp}×{wp} map.")
        if M > min(h, w):
            rows.append(f"M = {M} is larger than the map: one padded window (the official code would shrink the "
                        f"window to {min(h, w)} instead).")
        self.text = "\n".join(rows)
        return self._figure(h, w, C, M)

    def _figure(self, h, w, C, M):
        with use_style():
            fig = new_figure(11, 4.2)
            a_bar, a_curve = fig.subplots(1, 2)
            terms = ("qkv", "qk", "av", "proj")
            x = np.arange(len(terms))
            for off, data, color, hatch, label in ((-0.2, self.msa, OKABE_ITO["vermillion"], "", "MSA"),
                                                   (0.2, self.wmsa, OKABE_ITO["blue"], "///", "W-MSA")):
                vals = [data[t] for t in terms]
                a_bar.bar(x + off, vals, 0.4, color=color, hatch=hatch, edgecolor="black", lw=0.6, label=label)
            a_bar.set_yscale("log")
            a_bar.set_xticks(x, ["qkv\n3hwC²", "QKᵀ\n(hw)²C | M²hwC", "AV\n(hw)²C | M²hwC", "proj\nhwC²"])
            a_bar.set_ylabel("MACs (log scale)")
            a_bar.legend()
            a_bar.set_title(f"terms at h={h}, w={w}, C={C}, M={M}")
            side = max(h, w)
            sides = np.unique(np.linspace(max(1, M), max(2 * side, 4 * M), 60).astype(int))
            n = sides.astype(float) ** 2
            a_curve.plot(n, [complexity.msa_macs(int(s_), int(s_), C) for s_ in sides], "-", lw=2,
                         color=OKABE_ITO["vermillion"], label="MSA 4hwC² + 2(hw)²C")
            a_curve.plot(n, [complexity.wmsa_macs(int(s_), int(s_), C, M) for s_ in sides], "--", lw=2,
                         color=OKABE_ITO["blue"], label="W-MSA 4hwC² + 2M²hwC")
            a_curve.plot([h * w], [self.msa_total], "o", color=OKABE_ITO["vermillion"], ms=8, markeredgecolor="k")
            a_curve.plot([h * w], [self.wmsa_total], "D", color=OKABE_ITO["blue"], ms=8, markeredgecolor="k")
            a_curve.set_xlabel("tokens hw (square maps)")
            a_curve.set_ylabel("MACs")
            a_curve.legend(loc="upper left")
            a_curve.grid(True, color="#DDDDDD")
            a_curve.set_title(f"growth with the map (C={C}, M={M}): ×{self.ratio:,.1f} here")
        return fig


# =========================================================================== patch explorer
class PatchExplorer(_Explorer):
    """Patch partition on a real photo: choose the patch size and a patch; see its vector and embedding.

    ``vector`` is the patch's ``p*p*3`` numbers (:func:`swin_edu.numpy_ref.patch_partition`),
    ``embedding`` its C numbers after :func:`~swin_edu.numpy_ref.patch_embed` with seeded random weights,
    ``tokens_shape`` the shape of the whole token map. Pass ``image`` (H, W, 3 floats in [0, 1]) to use
    another picture; the default is matplotlib's bundled photo at 224x224.
    """

    PARAMS = ("patch_size", "row", "col", "embed_dim")
    CSS = "swin-patch"

    def __init__(self, patch_size: int = 4, row: int = 22, col: int = 26, embed_dim: int = 96,
                 image: np.ndarray | None = None, seed: int = 0) -> None:
        where = "PatchExplorer"
        if image is None:
            image = sample_image(224)
        image = check_array(image, "image", ndim=3, layout="(H, W, 3)", last_dim=3, where=where)
        self.img = np.asarray(image, dtype=np.float32)
        self.seed = check_int(seed, "seed", minimum=0, where=where)
        H, W = self.img.shape[:2]
        sizes = [p for p in (1, 2, 4, 7, 8, 14, 16, 28, 32, 56) if H % p == 0 and W % p == 0]
        if not sizes:
            raise ValueError(f"{where}: image height and width {H}x{W} share no patch size in 1..56")
        p = check_int(patch_size, "patch_size", where=where)
        if p not in sizes:
            raise ValueError(f"{where}: patch_size must divide the image {H}x{W}: one of {sizes}, got {p}")
        self.vector: np.ndarray | None = None
        self.embedding: np.ndarray | None = None
        self.tokens_shape: tuple[int, ...] | None = None
        self.controls = {
            "patch_size": widgets.Dropdown(options=sizes, value=p, description="patch size p",
                                           style={"description_width": "150px"}),
            "row": _slider("patch row", 0, 0, H // min(sizes) - 1),
            "col": _slider("patch col", 0, 0, W // min(sizes) - 1),
            "embed_dim": _slider("C (embedding)", check_int(embed_dim, "embed_dim", where=where), 1, 192),
        }
        self.controls["row"].value = check_int(row, "row", minimum=0, where=where)
        self.controls["col"].value = check_int(col, "col", minimum=0, where=where)
        super().__init__()
        self.update()

    def _range(self, name):
        if name in ("row", "col"):
            return 0, self.img.shape[0 if name == "row" else 1] - 1
        return super()._range(name)

    def _check_dependent(self, new, given, where):
        p = new["patch_size"]
        for name, axis in (("row", 0), ("col", 1)):
            n = self.img.shape[axis] // p
            if name in given and new[name] >= n:
                raise ValueError(f"{where}: {name} must be in [0, {n}) for patch_size={p}, got {new[name]}")

    def _sync_ranges(self):
        p = self.controls["patch_size"].value
        H, W = self.img.shape[:2]
        self.controls["row"].max = H // p - 1
        self.controls["col"].max = W // p - 1

    def _clear(self):
        self.vector = self.embedding = None

    def _compute_and_draw(self):
        p, r, c, C = (self.controls[k].value for k in self.PARAMS)
        tokens = snp.patch_partition(self.img[None], p)[0]
        rng = np.random.default_rng(self.seed)
        weight = rng.normal(0.0, (p * p * 3) ** -0.5, (C, 3, p, p)).astype(np.float32)
        emb = snp.patch_embed(self.img[None], weight)[0]
        self.tokens_shape = tuple(tokens.shape)
        self.vector = tokens[r, c].copy()
        self.embedding = emb[r, c].copy()
        n = self.vector.size
        head = ", ".join(f"{v:.3f}" for v in self.vector[:12])
        self.text = (f"Image {self.img.shape[0]}×{self.img.shape[1]}×3, patch size {p}: token map "
                     f"{self.tokens_shape[0]}×{self.tokens_shape[1]}×{n} ({p}·{p}·3 = {n} numbers per patch).\n"
                     f"Patch ({r}, {c}): pixel rows {r * p}–{(r + 1) * p - 1}, cols {c * p}–{(c + 1) * p - 1}.\n"
                     f"Its vector (R, G, B of pixel 0, then pixel 1, … row by row): [{head}"
                     f"{', …' if n > 12 else ''}]\n"
                     f"Linear embedding ({p}×{p} conv, stride {p}, seed {self.seed}) → C = {C}: first values "
                     f"[{', '.join(f'{v:+.3f}' for v in self.embedding[:6])}{', …' if C > 6 else ''}]")
        return self._figure(p, r, c, C)

    def _figure(self, p, r, c, C):
        H, W = self.img.shape[:2]
        with use_style():
            fig = new_figure(11, 6.4)
            gs = fig.add_gridspec(3, 2, height_ratios=[3, 0.8, 0.6], width_ratios=[1.2, 1])
            a_img, a_patch = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1])
            a_vec, a_emb = fig.add_subplot(gs[1, :]), fig.add_subplot(gs[2, :])
            a_img.imshow(self.img, extent=(0, W, H, 0), interpolation="nearest")
            cell_axes(a_img, H, W)
            if max(H, W) // p <= 64:
                grid_lines(a_img, H, W, p, color="white", lw=0.3 if max(H, W) // p > 28 else 0.7)
            outline(a_img, r * p, c * p, p, p, lw=2.5)
            a_img.set_title(f"{H}×{W} photo, {p}×{p} patches: a {H // p}×{W // p} grid")
            pix = self.img[r * p:(r + 1) * p, c * p:(c + 1) * p]
            a_patch.imshow(pix, extent=(0, p, p, 0), interpolation="nearest")
            cell_axes(a_patch, p, p)
            if p <= 16:
                grid_lines(a_patch, p, p, 1, color="white", lw=0.8)
            a_patch.set_title(f"patch ({r}, {c}): {p}×{p} pixels × 3")
            vec = self.vector
            a_vec.imshow(vec[None], extent=(0, vec.size, 1, 0), aspect="auto", cmap=SEQ_CMAP, vmin=0, vmax=1,
                         interpolation="nearest")
            a_vec.set_yticks([])
            if vec.size <= 48:
                for k, v in enumerate(vec):
                    a_vec.text(k + 0.5, 0.5, f"{v:.2f}", rotation=90, ha="center", va="center", fontsize=7,
                               color=text_color_for(_cmap(SEQ_CMAP, v)))
            a_vec.set_title(f"patch vector: {p}·{p}·3 = {vec.size} numbers (RGB of each pixel, row by row)",
                            loc="left")
            e = self.embedding
            lim = float(np.abs(e).max()) or 1.0
            a_emb.imshow(e[None], extent=(0, C, 1, 0), aspect="auto", cmap=DIV_CMAP, vmin=-lim, vmax=lim,
                         interpolation="nearest")
            a_emb.set_yticks([])
            a_emb.set_title(f"linear embedding → C = {C} numbers", loc="left")
        return fig


def _cmap(name, value):
    import matplotlib

    return matplotlib.colormaps[name](float(np.clip(value, 0, 1)))


# =========================================================================== relative bias explorer
class RelativeBiasExplorer(_Explorer):
    """Relative position bias: pick a query in an M x M window, see its index row and its bias.

    ``index_row`` ((M*M,) ints: the query's row of ``relative_position_index``), ``bias`` ((M, M): the
    bias added to the query's logits, as the window), ``table`` (the ((2M-1)^2, num_heads) table used).
    Pass ``table`` (e.g. a checkpoint's ``layers.0.blocks.0.attn.relative_position_bias_table``) to
    explore learned biases; M then follows the table. Without it, a seeded random table is used.
    """

    PARAMS = ("window_size", "query_row", "query_col", "head")
    CSS = "swin-relbias"

    def __init__(self, window_size: int = 3, query_row: int = 1, query_col: int = 2, head: int = 0,
                 table: np.ndarray | None = None, num_heads: int = 1, seed: int = 0) -> None:
        where = "RelativeBiasExplorer"
        self.seed = check_int(seed, "seed", minimum=0, where=where)
        self._fixed_table = None
        if table is not None:
            t = np.asarray(check_array(table, "table", ndim=2, layout="((2M-1)^2, num_heads)", where=where),
                           dtype=np.float64)
            K = math.isqrt(t.shape[0])
            if K * K != t.shape[0] or K % 2 == 0:
                raise ValueError(f"{where}: table must have (2M-1)^2 rows for some window size M, got shape "
                                 f"{t.shape}")
            self._fixed_table = t
            window_size = (K + 1) // 2
            num_heads = t.shape[1]
        M = check_int(window_size, "window_size", minimum=2, where=where)
        nH = check_int(num_heads, "num_heads", where=where)
        if M > 12:
            raise ValueError(f"{where}: window_size must be at most 12, got {M}")
        self.num_heads = nH
        self.index_row: np.ndarray | None = None
        self.bias: np.ndarray | None = None
        self.table: np.ndarray | None = None
        self.controls = {
            "window_size": _slider("M (window size)", M, 2, 12),
            "query_row": _slider("query row", 0, 0, M - 1),
            "query_col": _slider("query col", 0, 0, M - 1),
            "head": _slider("head", 0, 0, max(nH - 1, 0)),
        }
        self.controls["window_size"].disabled = self._fixed_table is not None
        self.controls["head"].disabled = nH == 1
        self.controls["query_row"].value = check_int(query_row, "query_row", minimum=0, where=where)
        self.controls["query_col"].value = check_int(query_col, "query_col", minimum=0, where=where)
        self.controls["head"].value = check_int(head, "head", minimum=0, where=where)
        super().__init__()
        self.update()

    def _range(self, name):
        if name in ("query_row", "query_col"):
            return 0, 11
        if name == "window_size" and self._fixed_table is not None:
            M = self.controls["window_size"].value
            return M, M
        return super()._range(name)

    def _check_dependent(self, new, given, where):
        M = new["window_size"]
        for name in ("query_row", "query_col"):
            if name in given and new[name] >= M:
                raise ValueError(f"{where}: {name} must be in [0, {M}) for window_size={M}, got {new[name]}")

    def _sync_ranges(self):
        M = self.controls["window_size"].value
        self.controls["query_row"].max = M - 1
        self.controls["query_col"].max = M - 1

    def _clear(self):
        self.index_row = self.bias = None

    def _get_table(self, M):
        if self._fixed_table is not None:
            return self._fixed_table
        rng = np.random.default_rng(self.seed)  # the same table as fig_relative_position for one head
        return np.round(rng.normal(0.0, 1.0, ((2 * M - 1) ** 2, self.num_heads)), 2)

    def _compute_and_draw(self):
        M, qr, qc, head = (self.controls[k].value for k in self.PARAMS)
        K, N = 2 * M - 1, M * M
        q = qr * M + qc
        self.table = self._get_table(M)
        index = snp.relative_position_index(M)
        self.index_row = index[q].copy()
        self.bias = snp.relative_position_bias(self.table, M)[head, q].reshape(M, M)
        rel = snp.relative_coords(M)[q]
        pairs = ", ".join(f"{int(k)}" for k in self.index_row[: min(N, 25)])
        self.text = (f"Window {M}×{M} ({N} tokens), table {(K * K, self.table.shape[1])} "
                     f"({'given' if self._fixed_table is not None else f'random, seed {self.seed}'}), head {head}.\n"
                     f"Query ({qr}, {qc}) = token {q}. Offsets to key 0: (dy, dx) = ({rel[0, 0]:+d}, {rel[0, 1]:+d}); "
                     f"index = (dy + {M - 1})·{K} + (dx + {M - 1}).\n"
                     f"Index row {q}: [{pairs}{', …' if N > 25 else ''}]\n"
                     f"Bias row (first keys): [{', '.join(f'{v:+.2f}' for v in self.bias.ravel()[:9])}"
                     f"{', …' if N > 9 else ''}]")
        return self._figure(M, qr, qc, head, index)

    def _figure(self, M, qr, qc, head, index):
        import matplotlib

        K, N, q = 2 * M - 1, M * M, qr * M + qc
        tab = self.table[:, head].reshape(K, K)
        lim = float(np.abs(tab).max()) or 1.0
        dcm = matplotlib.colormaps[DIV_CMAP]
        with use_style():
            fig = new_figure(12, 4.9)
            a_idx, a_tab, a_bias = fig.subplots(1, 3)
            a_idx.imshow(index, extent=(0, N, N, 0), cmap=SEQ_CMAP, interpolation="nearest")
            cell_axes(a_idx, N, N)
            if N <= 16:
                cm = matplotlib.colormaps[SEQ_CMAP]
                annotate_cells(a_idx, index, fontsize=7, background=[[cm(v / (K * K - 1)) for v in row]
                                                                     for row in index])
            outline(a_idx, q, 0, 1, N, lw=2)
            a_idx.set_title(f"relative_position_index {N}×{N}\nrow {q} = query ({qr}, {qc})")
            a_tab.imshow(tab, extent=(0, K, K, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
            cell_axes(a_tab, K, K)
            if K <= 7:
                annotate_cells(a_tab, [[f"#{i * K + j}\n{tab[i, j]:+.2f}" for j in range(K)] for i in range(K)],
                               fontsize=7, background=[[dcm((v + lim) / (2 * lim)) for v in row] for row in tab])
            for k in sorted(set(self.index_row.tolist())):
                outline(a_tab, k // K, k % K, 1, 1, lw=1.8, inset=0.05)
            a_tab.set_title(f"bias table ({K}×{K} = {K * K} entries, head {head})\noutlined: read by this query")
            bq = self.bias
            a_bias.imshow(bq, extent=(0, M, M, 0), cmap=DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
            cell_axes(a_bias, M, M)
            if M <= 5:
                annotate_cells(a_bias, [[f"{bq[i, j]:+.2f}" for j in range(M)] for i in range(M)], fontsize=9,
                               background=[[dcm((v + lim) / (2 * lim)) for v in row] for row in bq])
            outline(a_bias, qr, qc, 1, 1, lw=3, inset=0.04)
            a_bias.set_title(f"bias B[{q}, j] for every key j\n(laid out as the window)")
        return fig
