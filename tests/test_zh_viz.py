"""The Chinese edition's pictures (issue #18): the interactive explorers' labels and texts, the static figures'
titles, labels and alt texts in Chinese with ``SWIN_EDU_LANG=zh``, rendered with the packaged CJK font; the
English ones unchanged.

Run alone with ``.venv/bin/python -m pytest -q -n 0 tests/test_zh_viz.py``."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

from swin_edu import editions, i18n, translation
from swin_edu.viz import figures as F

ROOT = Path(__file__).resolve().parents[1]
FIG_ZH = ROOT / "figures" / "zh"
NEEDS_FONT = pytest.mark.skipif(i18n.cjk_font_path() is None,
                                reason="no CJK font on this machine: apt-get install fonts-noto-cjk")

#: the Latin words a Chinese picture keeps: the glossary's terms that stay in English in the Chinese edition
#: (token, stage, Swin block, LayerNorm...), code names, formulas' letters and units. Any other English word in a
#: Chinese widget or figure is a string that was not translated.
KEPT = {
    "token", "stage", "swin", "block", "transformer", "msa", "w-msa", "sw-msa", "layernorm", "softmax", "mlp", "gelu",
    "vit", "vit-b", "flops", "rgb", "px", "qkv", "proj", "img_mask", "attn_mask", "relative_position_index",
    "relative_position_bias_table", "patch_merging_gather", "table", "mask", "depth", "hwc", "qkᵀ", "qk", "av",
    "swin-t", "grace", "hopper", "inf", "e-44", "e-100", "e−44", "e−100",
}


def _cjk(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text))


def _foreign_words(texts) -> set[str]:
    words = set()
    for text in texts:
        for w in re.findall(r"[A-Za-z][A-Za-z_ᵀ-]*[A-Za-z_ᵀ]", text):
            if w.lower() not in KEPT and len(w) > 2 and not re.fullmatch(r"[hwCMNKxyd]+", w):
                words.add(w)
    return words


def _visible_html(markup: str) -> list[str]:
    """What a reader sees (or hears) of an HTML string: its text between tags and its aria labels."""
    labels = re.findall(r'aria-label="([^"]*)"', markup)
    text = re.sub(r"<[^>]+>", "\n", markup)
    return [t.strip() for t in text.split("\n") if t.strip()] + labels


def _figure_texts(fig) -> list[str]:
    """Every text of a figure (a table's cells included), without mathtext commands (log ticks' \\mathdefault)."""
    out = []
    for obj in fig.findobj(lambda o: hasattr(o, "get_text")):
        text = obj.get_text()
        text = text if isinstance(text, str) else text.get_text()  # a table cell holds a Text
        text = re.sub(r"\\[A-Za-z]+", "", text)
        if text.strip():
            out.append(text)
    return out


def _glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if re.search(r"glyph|missing from", str(w.message), re.IGNORECASE)]


# ---------------------------------------------------------------------------------------------- i18n
def test_add_messages_and_language_reject_bad_input_and_restore(monkeypatch):
    with pytest.raises(TypeError, match="messages"):
        i18n.add_messages(["x"])
    with pytest.raises(ValueError, match="en among them"):
        i18n.add_messages({"x.test": {"zh": "只有中文"}})
    with pytest.raises(ValueError, match="en among them"):
        i18n.add_messages({"x.test": {"en": "a", "fr": "b"}})
    with pytest.raises(ValueError, match="already in the catalogue"):
        i18n.add_messages({"widget.invalid": {"en": "Something else:", "zh": "别的："}})
    i18n.add_messages({"widget.invalid": dict(i18n.MESSAGES["widget.invalid"])})  # the same texts again: fine
    with pytest.raises(ValueError, match="code"), i18n.language("fr"):
        pass
    with pytest.raises(TypeError, match="key"):
        i18n.t(3)
    monkeypatch.setenv("SWIN_EDU_LANG", "en")
    with i18n.language("zh"):
        assert i18n.lang() == "zh" and i18n.t("widget.invalid") == "设置无效："
    assert i18n.lang() == "en" and i18n.t("widget.invalid") == "Invalid settings:"
    monkeypatch.delenv("SWIN_EDU_LANG")
    with i18n.language("zh"):
        pass
    assert "SWIN_EDU_LANG" not in os.environ


def test_every_registered_text_has_both_languages():
    import swin_edu.viz.widgets.explorers
    import swin_edu.viz.widgets.mask  # noqa: F401

    prefixes = ("mask.", "cx.", "px.", "rb.", "widget.", "f0", "fig.", "cap.")
    mine = {k: v for k, v in i18n.MESSAGES.items() if k.startswith(prefixes)}
    assert len(mine) > 150
    assert not [k for k, v in mine.items() if set(v) != {"en", "zh"}]
    # a Chinese text keeps every {field} of the English one, so no number is lost in translation
    fields = re.compile(r"\{(\w+)")
    assert not [k for k, v in mine.items() if set(fields.findall(v["en"])) != set(fields.findall(v["zh"]))]


# ---------------------------------------------------------------------------------------------- the explorers
def _explorers():
    from swin_edu.viz.widgets import ComplexityExplorer, MaskExplorer, PatchExplorer, RelativeBiasExplorer

    return [MaskExplorer(H=7, W=9, window_size=4, shift_size=2, window=3, query=5),
            MaskExplorer(H=8, W=8, window_size=4, shift_size=0),
            MaskExplorer(H=7, W=9, window_size=4, shift_size=2, view="padded", window=2, query=15),
            ComplexityExplorer(h=10, w=20, C=96, M=7), ComplexityExplorer(h=3, w=3, M=7),
            PatchExplorer(), RelativeBiasExplorer(window_size=3, num_heads=2),
            RelativeBiasExplorer(table=__import__("numpy").zeros((9, 1)))]


def _widget_strings(ex) -> list[str]:
    """Every string of an explorer that a student sees: control labels, toggle labels and tooltips, the numbers
    (text), the picture (HTML for the mask explorer, the matplotlib figure's texts for the others)."""
    import ipywidgets as widgets

    out = []
    for ctl in ex.controls.values():
        if ctl.description:
            out.append(ctl.description)
        if isinstance(ctl, widgets.ToggleButtons):
            out += [label for label, _ in ctl.options] + list(ctl.tooltips)
    out += ex.text.splitlines()
    if hasattr(ex, "picture"):
        out += _visible_html(ex.html)
    else:
        out += _visible_html(ex.info.value) + _figure_texts(ex._compute_and_draw())
    return out


@NEEDS_FONT
def test_explorers_speak_chinese(monkeypatch):
    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    strings = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for ex in _explorers():
            mine = _widget_strings(ex)
            assert ex.message is None, ex.message
            # every label and every line of prose is Chinese; what is not is a number, a symbol or a formula
            # (and no English word is left anywhere: _foreign_words below)
            for ctl in ex.controls.values():
                assert not ctl.description or _cjk(ctl.description), ctl.description
            assert all(_cjk(line) for line in ex.text.splitlines() if not re.match(r"(qkv|qk|av|proj) ", line))
            if hasattr(ex, "picture"):  # the captions of the four panels and the legend
                captions = re.findall(r"<figcaption>(.*?)</figcaption>", ex.html) + \
                    re.findall(r'<div class="swin-mask-legend">(.*?)</div>', ex.html)
                assert len(captions) == 5 and all(_cjk(c) for c in captions), captions
            strings += mine
            if not hasattr(ex, "picture"):
                ex.png = b""
                ex.update()  # the picture with the Chinese labels, drawn with the packaged font
                assert ex.png.startswith(b"\x89PNG")
    assert not _foreign_words(strings), "English words left in the Chinese explorers"
    assert not _glyph_warnings(caught), _glyph_warnings(caught)


def test_explorers_say_why_settings_are_invalid_in_chinese(monkeypatch):
    from swin_edu.viz.widgets import MaskExplorer, mask_validity

    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    ex = MaskExplorer()
    ex.set(shift_size=4)
    assert ex.message == "移位 s=4 必须小于窗口 M=4（Swin 的移位是 s = ⌊M/2⌋ = 2）。"
    assert "<b>设置无效：</b>" in ex.html
    assert "还大" in mask_validity(4, 4, 6, 2) and "短边" in mask_validity(4, 8, 4, 2)
    monkeypatch.setenv("SWIN_EDU_LANG", "en")
    assert MaskExplorer().set(shift_size=4).message == \
        "Shift s=4 must be smaller than the window M=4 (Swin shifts by s = ⌊M/2⌋ = 2)."


@pytest.mark.slow
def test_explorers_are_unchanged_in_english(monkeypatch):
    """SWIN_EDU_LANG unset and en give the same widgets, word for word, with the English labels."""
    monkeypatch.delenv("SWIN_EDU_LANG", raising=False)
    unset = [_widget_strings(ex) for ex in _explorers()]
    monkeypatch.setenv("SWIN_EDU_LANG", "en")
    en = [_widget_strings(ex) for ex in _explorers()]
    assert unset == en
    flat = [s for strings in en for s in strings]
    assert not [s for s in flat if _cjk(s)]
    for label in ("H (height)", "s (shift)", "cyclic shift + mask", "h (map height)", "patch size p", "query row",
                  "masked / not attended", "MACs (log scale)", "bias table (3×3 = 9 entries, head 0)"):
        assert any(label in s for s in flat), label
    assert en[0][en[0].index("window") + 1] == "query"  # the two sliders' labels, in display order
    assert "Map 7×9, window M = 4, shift s = 2 (padded to 8×12: pad, then shift); view: cyclic shift + mask." in flat


def test_mask_model_stays_importable_without_widgets_in_chinese():
    code = ("import os, sys; os.environ['SWIN_EDU_LANG'] = 'zh'; "
            "from swin_edu.viz.widgets import mask_state, mask_text, mask_html; "
            "st = mask_state(8, 8, 4, 2, window=3, query=5); t = mask_text(st); h = mask_html(st); "
            "assert '它可以关注 16 个键中的 4 个' in t and '区域' in h, t; "
            "assert 'ipywidgets' not in sys.modules and 'anywidget' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------------------------- static figures
@NEEDS_FONT
@pytest.mark.parametrize("name", list(F.FIGURES))
def test_every_chinese_figure_speaks_chinese_and_renders_its_glyphs(name):
    from swin_edu.viz.style import png_bytes

    with i18n.language("zh"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = F.make_figure(name)
        png_bytes(fig)
        texts = _figure_texts(fig)
        alt = F.alt_text(name)
    assert not _glyph_warnings(caught), _glyph_warnings(caught)
    assert not _foreign_words(texts), f"{name}: English words left in the Chinese figure"
    titles = [t for t in texts if re.match(r"\(\w\)", t) or len(t) > 30]
    assert titles and all(_cjk(t) for t in titles), titles
    assert _cjk(alt) > 60 and not _foreign_words([alt]), alt
    with i18n.language("en"):
        assert not [t for t in _figure_texts(F.make_figure(name)) if _cjk(t)]


@pytest.mark.slow
@NEEDS_FONT
def test_committed_chinese_figures_are_what_the_command_draws(tmp_path):
    """figures/zh/ is what `make figures` draws (python -m swin_edu.viz.figures --lang zh): alt texts always,
    pixels when the same matplotlib/FreeType/Pillow drew them (as for figures/)."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="7")
    env.pop("SWIN_EDU_LANG", None)
    proc = subprocess.run([sys.executable, "-W", "always", "-m", "swin_edu.viz.figures", "--lang", "zh", "--out",
                           str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert not _glyph_warnings([type("W", (), {"message": line}) for line in proc.stderr.splitlines()]), proc.stderr
    expected = {f"{name}.png" for name in F.FIGURES} | {"alt_text.json", "ALT_TEXT.md", "RENDERED_WITH.txt"}
    assert {p.name for p in tmp_path.iterdir()} == expected
    assert {p.name for p in FIG_ZH.iterdir()} == expected, "run make figures and commit figures/zh/"
    for f in ("alt_text.json", "ALT_TEXT.md"):
        assert (FIG_ZH / f).read_bytes() == (tmp_path / f).read_bytes(), f"figures/zh/{f} is stale: make figures"
    meta = json.loads((FIG_ZH / "alt_text.json").read_text(encoding="utf-8"))
    assert all(_cjk(m["alt"]) > 60 and _cjk(m["caption"]) for m in meta.values())
    for name in F.FIGURES:  # the same hygiene as the English set: no timestamp or version, a modest size
        data = (tmp_path / f"{name}.png").read_bytes()
        assert b"tIME" not in data and b"Software" not in data and len(data) < 320 * 1024, name
    if (FIG_ZH / "RENDERED_WITH.txt").read_text() != (tmp_path / "RENDERED_WITH.txt").read_text():
        pytest.skip("figures/zh/ were rendered by another matplotlib/FreeType; pixels may differ legitimately")
    stale = sorted(n for n in expected if (FIG_ZH / n).read_bytes() != (tmp_path / n).read_bytes())
    assert not stale, f"figures/zh/ is stale for {stale}: run make figures"
    english = ROOT / "figures"
    assert all((english / f"{n}.png").read_bytes() != (FIG_ZH / f"{n}.png").read_bytes() for n in F.FIGURES)


def test_chinese_figures_need_the_font_package(monkeypatch, tmp_path):
    monkeypatch.setattr(i18n, "cjk_font_path", lambda: None)
    with pytest.raises(RuntimeError, match="fonts-noto-cjk"):
        F.render_all(tmp_path, lang="zh")
    with pytest.raises(ValueError, match="lang"):
        F.render_all(tmp_path, lang="fr")
    with pytest.raises(ValueError, match="lang"):
        F.figure_markdown("04_shifted_windows", lang="de")
    assert F.figures_dir("zh") == F.figures_dir() / "zh"


def test_makefile_draws_both_sets():
    out = subprocess.run(["make", "-n", "figures"], cwd=ROOT, capture_output=True, text=True, check=False).stdout
    assert "swin_edu.viz.figures --out figures" in out and "swin_edu.viz.figures --lang zh --out figures/zh" in out


# ---------------------------------------------------------------------------------------------- the notebooks' links
_LINK = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


@pytest.mark.parametrize("name", translation.TRANSLATED["zh"])
def test_chinese_notebooks_link_the_chinese_figures_with_their_alt_text(name):
    """Each figure link of a zh translation is the Chinese figure (../figures/zh/NAME.png, which exists) with the
    alt text of figures/zh/alt_text.json, exactly as figure_markdown(NAME, lang="zh") writes it; and it links the
    same figures, in the same order, as the English notebook."""
    text = translation.translation_path(name, "zh").read_text(encoding="utf-8")
    english = json.dumps(json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8")))
    en_names = re.findall(r"\(\.\./figures/([\w.-]+)\.png\)", english)
    meta = json.loads((FIG_ZH / "alt_text.json").read_text(encoding="utf-8"))
    links = _LINK.findall(text)
    assert [Path(target).stem for _, target in links] == en_names
    for alt, target in links:
        figure = Path(target).stem
        assert target == f"../figures/zh/{figure}.png", target
        assert (ROOT / "notebooks" / target).resolve().is_file(), f"{target} does not resolve from notebooks/"
        assert f"![{alt}]({target})" == F.figure_markdown(figure, lang="zh"), \
            f"{name}: stale alt text for {figure}; paste figure_markdown({figure!r}, lang='zh')"
        assert alt == meta[figure]["alt"].replace("[", "(").replace("]", ")")


@pytest.mark.parametrize("name", translation.TRANSLATED["zh"])
def test_zh_student_edition_embeds_the_chinese_figures(name):
    """The committed zh student edition (what the zh lab, Colab and Binder open) carries the Chinese figures as
    attachments, so nothing is fetched (no 404) wherever it is opened."""
    nb = json.loads((editions.zh_student_dir() / f"{name}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        assert "figures/" not in source, "a figure link left as a link: it breaks in Colab and the lab"
        for alt, target in _LINK.findall(source):
            assert target.startswith("attachment:") and _cjk(alt) > 40
            data = base64.b64decode(cell["attachments"][target.split(":", 1)[1]]["image/png"])
            assert data == (FIG_ZH / target.split(":", 1)[1]).read_bytes()


def test_figure_link_and_the_zh_lab_workspace(tmp_path):
    assert translation.figure_link("../figures/04_shifted_windows.png") == "../figures/zh/04_shifted_windows.png"
    assert translation.figure_link("figures/a.png") == "figures/zh/a.png"
    assert translation.figure_link("https://example.org/x.png") == "https://example.org/x.png"
    with pytest.raises(TypeError, match="link"):
        translation.figure_link(None)
    with pytest.raises(ValueError, match="lang"):
        translation.figure_link("../figures/a.png", "fr")
    # the zh lab workspace (make lab COURSE_LANG=zh) gets the embedded Chinese figures
    lab = editions._workspace("student", tmp_path / "lab-zh", "zh")
    nb = json.loads((lab / "03_shifted_windows.ipynb").read_text(encoding="utf-8"))
    attached = {n: base64.b64decode(a["image/png"]) for c in nb["cells"] for n, a in c.get("attachments", {}).items()}
    assert attached and all(data == (FIG_ZH / n).read_bytes() for n, data in attached.items())
