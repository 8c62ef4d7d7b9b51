"""The course's language setting and its small message catalogue.

One setting, the environment variable ``SWIN_EDU_LANG`` (``en``, the default, or ``zh``), read each time a
message is made: the Chinese notebooks set it in their language cell, ``make lab COURSE_LANG=zh`` sets it for
the whole lab, :func:`language` sets it for a block of code. It switches

* the *framing* of the self-checks (passed / not solved yet / case N of M failed / expected / got / hint /
  stuck? / which implementation the notebook uses);
* the exercise-specific texts of the self-checks (every hint tier of ``check.<name>.hint()``, every misconception
  and diagnosis, the case labels: each a :class:`Text` that the exercise's spec holds, its Chinese next to its
  English);
* the interactive explorers of :mod:`swin_edu.viz.widgets` (labels, tooltips, the numbers they state, the mask
  explorer's captions and legend, the matplotlib explorers' titles and axes), fixed when an explorer is made;
* the labels that the package puts on the figures of notebook 08 (axes, legends, default titles);
* the static figures and their alt texts (:mod:`swin_edu.viz.figures`): ``python -m swin_edu.viz.figures
  --lang zh`` draws the Chinese set, committed in ``figures/zh/`` and linked by the Chinese notebooks.

* what the code cells of notebooks 00-08 print and put on their figures (:mod:`swin_edu.notebook_text`: the
  cells call ``t("nb01.zoom")`` instead of writing an English literal, so that one code cell serves both editions).

With the setting unset or ``en`` every message is exactly the English one the package always printed.

One catalogue, :data:`MESSAGES` (key -> {language: template}): the self-checks' framing is written here, the
widgets and the figures keep theirs next to their code and add them with :func:`add_messages` when imported;
:func:`t` makes every message. An exercise's own texts are :class:`Text` values in its spec. A :class:`Text`
*is* its English text (a ``str``), so everything that reads it as a string (the grader's release, a test,
``repr``) sees exactly the English; the Chinese is picked only where a message is made, by :func:`text` (and
:func:`frame_line`, which calls it). Joining with ``+`` keeps both languages (``"hint: " + Text(en, zh)`` is
``Text("hint: " + en, "hint: " + zh)``); an f-string or ``str.join`` keeps the English only, so resolve with
:func:`text` first.

Figures with Chinese text need a CJK font: :func:`use_cjk_font` registers the system's Noto Sans CJK (Debian's and
Ubuntu's ``fonts-noto-cjk``, the font the browser needs for the notebooks' Chinese text too; other well-known CJK
fonts on macOS and Windows) with matplotlib and puts it behind the default font, so Latin text looks as before and
Chinese characters render.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import re
import warnings
from collections.abc import Iterator

__all__ = ["CJK_FAMILIES", "MESSAGES", "Text", "add_messages", "cjk_font_path", "frame_line", "lang", "language",
           "style_overrides", "t", "text", "use_cjk_font"]

ENV = "SWIN_EDU_LANG"
LANGS = ("en", "zh")

#: key -> {lang: template}; the templates use str.format fields
MESSAGES: dict[str, dict[str, str]] = {
    "passed": {"en": "✅ {title}: {what}. Well done!", "zh": "✅ {title}：{what}。做得好！"},
    "passed.one": {"en": "passed", "zh": "通过"},
    "passed.all": {"en": "passed all {total} cases", "zh": "{total} 个用例全部通过"},
    "passed.prediction": {"en": "your prediction is right", "zh": "你的预测正确"},
    "unsolved": {"en": "⏳ {name}: not solved yet — `{fn}` still raises NotImplementedError. Replace "
                       "`raise NotImplementedError()` with your code and run this check again.",
                 "zh": "⏳ {name}：尚未完成 —— `{fn}` 仍然抛出 NotImplementedError。把 "
                       "`raise NotImplementedError()` 换成你的代码，再运行一次本自检。"},
    "case_failed": {"en": "❌ {title}: case {i} of {total} failed — {label}",
                    "zh": "❌ {title}：第 {i} 个用例（共 {total} 个）未通过 —— {label}"},
    "not_right_yet": {"en": "❌ {title}: not right yet — {label}", "zh": "❌ {title}：还不对 —— {label}"},
    "more_cases": {"en": " (more cases)", "zh": "（更多用例）"},
    "stuck": {"en": "stuck? check.{name}.hint() gives a nudge.",
              "zh": "卡住了？运行 check.{name}.hint() 获取一点提示。"},
    "stuck.n": {"en": "stuck? check.{name}.hint() gives a nudge (call it again for more: {n} hints).",
                "zh": "卡住了？运行 check.{name}.hint() 获取一点提示（再运行一次提示更多，共 {n} 条）。"},
    "raised": {"en": "your function raised {msg}", "zh": "你的函数抛出了 {msg}"},
    "timeout": {"en": "your function did not finish within {limit:g} s.", "zh": "你的函数在 {limit:g} 秒内没有结束。"},
    "mutated": {"en": "your function modified its input {arg} in place.", "zh": "你的函数原地修改了输入 {arg}。"},
    "checker_broke": {"en": "❌ {name}: the checker itself could not finish ({error}). This is not your fault; "
                            "please report it. Your function was not checked.",
                      "zh": "❌ {name}：自检程序本身出错了（{error}）。这不是你的问题，请报告给课程维护者；"
                            "你的函数尚未被检查。"},
    "not_a_function": {"en": "❌ {title}: expected your function `{signature}`, got {got}.\n"
                             "   hint: pass the function itself, without calling it (no parentheses).",
                       "zh": "❌ {title}：这里需要你的函数 `{signature}`，收到的却是 {got}。\n"
                             "   提示：传入函数本身，不要调用它（不加括号）。"},
    "uses_mine": {"en": "→ From here on this notebook uses your `{mine}`.",
                  "zh": "→ 从这里开始，本笔记本使用你的 `{mine}`。"},
    "uses_reference": {"en": "→ From here on this notebook uses the reference `{ref}` (your `{mine}` has not "
                             "passed its self-check yet).",
                       "zh": "→ 从这里开始，本笔记本使用参考实现 `{ref}`（你的 `{mine}` 还没有通过自检）。"},
    "whose.mine": {"en": "your {what}", "zh": "你的{what}"},
    "whose.reference": {"en": "the reference {what}", "zh": "参考实现的{what}"},
    "hint.none": {"en": "{name}: no hints for this one; the message of the check is the hint.",
                  "zh": "{name}：这个练习没有额外提示，自检给出的反馈就是提示。"},
    "hint.bad_tier": {"en": "{name}: hint(tier) takes a tier from 1 to {n}, got {tier}.",
                      "zh": "{name}：hint(tier) 的 tier 取 1 到 {n}，收到的是 {tier}。"},
    "hint.head": {"en": "💡 {name}, hint {tier} of {n}{more}:", "zh": "💡 {name}，提示 {tier}/{n}{more}："},
    "hint.more": {"en": " (check.{name}.hint() again for hint {next})",
                  "zh": "（再运行 check.{name}.hint() 看第 {next} 条）"},
    "hint.last": {"en": " (the last one)", "zh": "（最后一条）"},
    # figures of notebook 08 (swin_edu.viz.training, swin_edu.viz.attention): labels made inside the package
    "fig.loss": {"en": "loss", "zh": "损失"},
    "fig.loss_axis": {"en": "loss (cross-entropy)", "zh": "损失（交叉熵）"},
    "fig.accuracy": {"en": "accuracy", "zh": "准确率"},
    "fig.epoch": {"en": "epoch", "zh": "epoch（轮）"},
    "fig.train_smoothed": {"en": "train (label-smoothed)", "zh": "训练集（标签平滑）"},
    "fig.train_augmented": {"en": "train (augmented)", "zh": "训练集（数据增强后）"},
    "fig.validation": {"en": "validation", "zh": "验证集"},
    "fig.predicted": {"en": "predicted class", "zh": "预测类别"},
    "fig.true": {"en": "true class", "zh": "真实类别"},
    "fig.images": {"en": "images", "zh": "图像数"},
    "fig.confusion": {"en": "confusion matrix (test)", "zh": "混淆矩阵（测试集）"},
    "fig.query_token": {"en": "query token {q}", "zh": "查询 token {q}"},
    "fig.same": {"en": "same", "zh": "相同"},
    "fig.different": {"en": "different", "zh": "不同"},
    # figures of notebook 09 (swin_edu.viz.dense)
    "fig.scene": {"en": "scene", "zh": "场景"},
    "fig.background": {"en": "background", "zh": "背景"},
    "fig.void": {"en": "void (not scored)", "zh": "空白（不计分）"},
    "fig.truth": {"en": "truth", "zh": "真值"},
    "fig.miou": {"en": "all digits", "zh": "全部数字"},
    "fig.miou_small": {"en": "small digits", "zh": "小数字"},
    "fig.miou_large": {"en": "large digits", "zh": "大数字"},
    "fig.miou_axis": {"en": "test mIoU (mean of the seeds)", "zh": "测试集 mIoU（各随机种子的平均）"},
    "fig.head_fpn": {"en": "FPN head (4 maps)", "zh": "FPN 头（4 张特征图）"},
    "fig.head_last": {"en": "last-stage head", "zh": "只读最后一个 stage 的头"},
    # the interactive explorers (swin_edu.viz.widgets; each explorer registers its own texts with add_messages)
    "widget.invalid": {"en": "Invalid settings:", "zh": "设置无效："},
    "widget.cannot_show": {"en": "Cannot show these settings: {err}", "zh": "无法显示这组设置：{err}"},
    # the font check
    "font.missing": {"en": "swin_edu: no CJK font found on this machine: Chinese text in figures will show as boxes. "
                           "Install Noto Sans CJK: `sudo apt-get install fonts-noto-cjk` on Debian/Ubuntu (Colab "
                           "too), google-noto-sans-cjk-fonts on Fedora; macOS and Windows have one.",
                     "zh": "swin_edu：本机没有找到中文（CJK）字体，图中的中文会显示成方框。请安装 Noto Sans CJK："
                           "Debian/Ubuntu（以及 Colab）运行 `sudo apt-get install fonts-noto-cjk`，Fedora 安装 "
                           "google-noto-sans-cjk-fonts；macOS 和 Windows 自带中文字体。"},
}

# the labels that start the lines of a failed case (see swin_edu.exercises.diagnostics)
_LINE_LABELS = {"zh": [("expected: ", "期望："), ("got:      ", "实际："), ("got: ", "实际："), ("hint: ", "提示："),
                       ("your prediction: ", "你的预测："), ("to fix: ", "需要修改：")]}


def lang() -> str:
    """The language in force: ``SWIN_EDU_LANG`` (``zh``, ``zh_CN``, ``zh-Hans``... mean ``zh``), else ``en``."""
    value = os.environ.get(ENV, "").strip().lower()
    return "zh" if re.match(r"zh($|[-_])", value) else "en"


class Text(str):
    """A text in both languages: the ``str`` value is the English text (byte for byte what the package printed
    before it had a Chinese one), :attr:`zh` the Chinese. :func:`text` picks the one in force.

    >>> hint = Text("the mask is missing.", "缺少掩码。")
    >>> hint == "the mask is missing." and ("hint: " + hint).zh == "hint: 缺少掩码。"
    True
    """

    def __new__(cls, en: str, zh: str) -> "Text":
        if not isinstance(en, str) or not en:
            raise TypeError(f"Text: en must be a non-empty str, got {en!r}")
        if not isinstance(zh, str) or not zh:
            raise TypeError(f"Text: zh must be a non-empty str, got {zh!r}")
        self = super().__new__(cls, en)
        self.zh = str(zh)
        return self

    @property
    def en(self) -> str:
        """The English text as a plain ``str``."""
        return str.__str__(self)

    def __add__(self, other):
        if isinstance(other, Text):
            return Text(self.en + other.en, self.zh + other.zh)
        if isinstance(other, str):
            return Text(self.en + other, self.zh + other)
        return NotImplemented

    def __radd__(self, other):
        if isinstance(other, str):
            return Text(other + self.en, other + self.zh)
        return NotImplemented

    def __reduce__(self):  # copy, deepcopy and pickle keep both languages
        return (Text, (self.en, self.zh))


def text(value: str) -> str:
    """``value`` in the language in force: the Chinese of a :class:`Text` when the language is ``zh``, else its
    English, as a plain ``str``; any other ``str`` is returned as it is."""
    if isinstance(value, Text):
        return value.zh if lang() == "zh" else value.en
    if not isinstance(value, str):
        raise TypeError(f"swin_edu.i18n.text: value must be a str or a Text, got {type(value).__name__}")
    return value


@contextlib.contextmanager
def language(code: str) -> Iterator[str]:
    """Context manager: ``SWIN_EDU_LANG`` set to ``code`` (``en`` or ``zh``) inside the block, restored after it
    (``python -m swin_edu.viz.figures --lang zh`` draws the Chinese figures this way)."""
    if code not in LANGS:
        raise ValueError(f"swin_edu.i18n.language: code must be one of {list(LANGS)}, got {code!r}")
    old = os.environ.get(ENV)
    os.environ[ENV] = code
    try:
        yield code
    finally:
        if old is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = old


def t(key: str, **fields) -> str:
    """The message ``key`` in the language in force, formatted with ``fields``."""
    if not isinstance(key, str):
        raise TypeError(f"swin_edu.i18n.t: key must be a str, got {type(key).__name__}")
    entry = MESSAGES.get(key)
    if entry is None:
        raise KeyError(f"swin_edu.i18n.t: unknown message key {key!r}")
    return entry.get(lang(), entry["en"]).format(**fields)


def add_messages(messages: dict[str, dict[str, str]]) -> None:
    """Add a module's texts to the one catalogue :data:`MESSAGES` (the widgets and the static figures keep
    their texts next to their code and register them on import). Every entry needs an ``en`` template and may
    have one per language of :data:`LANGS`; a key already there must come with the same texts (a module
    imported twice), never with others."""
    where = "swin_edu.i18n.add_messages"
    if not isinstance(messages, dict):
        raise TypeError(f"{where}: messages must be a dict {{key: {{lang: template}}}}, got "
                        f"{type(messages).__name__}")
    for key, entry in messages.items():
        if not isinstance(key, str) or not isinstance(entry, dict):
            raise TypeError(f"{where}: messages must map str keys to {{lang: template}} dicts, got {key!r}: "
                            f"{type(entry).__name__}")
        if "en" not in entry or set(entry) - set(LANGS) or not all(isinstance(v, str) for v in entry.values()):
            raise ValueError(f"{where}: messages[{key!r}] must map some of {list(LANGS)} (en among them) to str "
                             f"templates, got {entry!r}")
        if key in MESSAGES and MESSAGES[key] != entry:
            raise ValueError(f"{where}: messages[{key!r}] is already in the catalogue with other texts")
    MESSAGES.update({key: dict(entry) for key, entry in messages.items()})


# the generic sentences of a failed case (diagnostics.explain / describe): what differs, and what a value is
_LINE_PATTERNS = {"zh": [
    (re.compile(r"^the values differ: first difference (?:at index (.+?))?: expected (.+), got (.+) "
                r"\((\d+) of (\d+) elements differ\)\.$"),
     lambda m: (f"数值不对：第一个不同{'在下标 ' + m[1] if m[1] else ''}，期望 {m[2]}，实际 {m[3]}"
                f"（{m[5]} 个元素中有 {m[4]} 个不同）。")),
    (re.compile(r"^the shapes differ: expected (.+), got (.+)\.$"), lambda m: f"形状不对：期望 {m[1]}，实际 {m[2]}。"),
    (re.compile(r"^the dtype differs: expected (.+), got (.+)\.$"), lambda m: f"dtype 不对：期望 {m[1]}，实际 {m[2]}。"),
]}
_VALUE_PATTERNS = {"zh": [
    (re.compile(r"numpy array of shape (\([^)]*\)), dtype (\w+)"), r"numpy 数组，形状 \1，dtype \2"),
    (re.compile(r"torch\.Tensor of shape (\([^)]*\)), dtype ([\w.]+)"), r"torch.Tensor，形状 \1，dtype \2"),
    # diagnostics.describe of a list or tuple: "list of length 3 (first item: ...)"
    (re.compile(r"\b(list|tuple) of length (\d+)"), r"长度为 \2 的 \1"),
    (re.compile(r" \(first item: (.*)\)$"), r"（第一个元素：\1）"),
]}


def frame_line(line: str) -> str:
    """A line of a failed check's explanation in the language in force: a :class:`Text` line in its language
    (see :func:`text`), then its leading label (``expected:``, ``got:``, ``hint:``...), the generic sentences
    (the values / shapes / dtype differ) and the descriptions of arrays."""
    line = text(line)
    code = lang()
    for pattern, make in _LINE_PATTERNS.get(code, []):
        m = pattern.match(line)
        if m:
            return make(m)
    for en, other in _LINE_LABELS.get(code, []):
        if line.startswith(en):
            line = other + line[len(en):].lstrip()
            if other in ("期望：", "实际："):
                for pattern, repl in _VALUE_PATTERNS.get(code, []):
                    line = pattern.sub(repl, line)
            return line
    return line


#: CJK fonts that draw Simplified Chinese, best first: Noto Sans CJK SC (Debian/Ubuntu ``fonts-noto-cjk``, Fedora
#: ``google-noto-sans-cjk-fonts``, Arch ``noto-fonts-cjk``; OFL), then the ones macOS and Windows ship
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "PingFang SC",
                "Hiragino Sans GB", "Microsoft YaHei", "SimHei", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                "Noto Sans CJK JP", "Noto Sans CJK TC", "Droid Sans Fallback")


def _fontconfig_cjk():
    """(family, path) of fontconfig's Chinese fonts (fonts installed after matplotlib built its font cache)."""
    import shutil
    import subprocess

    fc = shutil.which("fc-list")
    if fc is None:
        return []
    try:
        out = subprocess.run([fc, ":lang=zh", "family", "style", "file"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    regular, other = [], []
    for line in out.splitlines():  # "/path/font.ttc: Family A,Family B:style=Regular"
        path, _, rest = line.partition(": ")
        families, _, style = rest.partition(":style=")
        found = [(family.strip(), path.strip()) for family in families.split(",") if family.strip()]
        (regular if "Regular" in style.split(",") or not style else other).extend(found)
    return regular + other  # the regular weight first


def _cjk_font():
    """(family, path) of the best CJK font on this machine (:data:`CJK_FAMILIES`), or None."""
    from matplotlib import font_manager

    known = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family, known[family]
    asked = dict(reversed(_fontconfig_cjk()))  # the first (regular) file of each family
    for family in CJK_FAMILIES:
        if family in asked:
            return family, asked[family]
    return None


def cjk_font_path():
    """The path of this machine's CJK font (:data:`CJK_FAMILIES`: Noto Sans CJK first), or None when it has none."""
    found = _cjk_font()
    if found is None:
        return None
    path = pathlib.Path(found[1])
    return path if path.is_file() else None


def use_cjk_font(warn: bool = True) -> str | None:
    """Register this machine's CJK font with matplotlib and add it as a fallback behind the default sans-serif
    font (Latin text keeps its look; CJK characters render). Returns the font's family name, or None (with a
    warning that says what to install, when ``warn``) when the machine has none."""
    found = _cjk_font()
    if found is None or not pathlib.Path(found[1]).is_file():
        if warn:
            warnings.warn(t("font.missing"), stacklevel=2)
        return None
    import logging

    from matplotlib import font_manager, rcParams

    family, path = found
    # some CJK fonts ship the regular weight only: bold titles use it, and matplotlib would log that each time
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    if family not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(path)  # every face of a collection (.ttc): the SC one among them
    families = [f for f in rcParams["font.family"] if f != family]
    rcParams["font.family"] = families + [family]  # matplotlib falls back glyph by glyph along this list
    return family


def style_overrides() -> dict:
    """rc settings that :func:`swin_edu.viz.style.use_style` adds in the language in force: in Chinese, the
    packaged CJK font behind DejaVu Sans (glyph by glyph fallback); nothing in English or without the font."""
    if lang() != "zh":
        return {}
    family = use_cjk_font(warn=False)
    return {"font.family": ["DejaVu Sans", family]} if family else {}
