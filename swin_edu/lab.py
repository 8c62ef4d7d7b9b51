"""The student's JupyterLab, as ``make lab`` sets it up (issue #27): what the lab's own environment adds.

* **Opens on notebook 00**, not on the Launcher, and shows no news or update toast: ``configure`` writes the
  default URL and JupyterLab's settings *into the lab's environment* (``.venv-lab``:
  ``etc/jupyter/jupyter_lab_config.json``, ``etc/jupyter/jupyter_server_config.json`` and
  ``share/jupyter/lab/settings/overrides.json``, merged with what they hold),
  never into the user's home, so nothing changes for the learner's other Jupyter installations.
* **A saved notebook reopens cleanly**: the server's pre-save hook (:func:`pre_save_hook`, configured the same
  way) replaces the outputs of interactive widgets, whose models live only as long as the kernel (after a
  reopen or a kernel restart JupyterLab shows "Error displaying widget: model not found"), by one line saying how
  to bring them back, drops the saved widget state, and puts one note on the notebook's first code cell: after
  reopening, run it again from the top (the kernel starts empty: running one cell alone meets a ``NameError``).
  Only outputs and notebook metadata change: the learner's cells never (:func:`swin_edu.editions.work_digest`).
  The hook changes the file on disk, not the open notebook: the note and the placeholders appear on reopening.
* **Fonts** (:func:`font_advice`): on Linux, what to install when the browser would draw the check marks or, in
  the Chinese edition, the text as boxes (``make lab`` prints it; fontconfig's ``fc-list`` tells).

Command line (``make lab`` runs them with the lab's Python)::

    python -m swin_edu.lab configure        # write the settings into this environment (sys.prefix)
    python -m swin_edu.lab fonts --lang zh  # print what to install, if anything
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Sequence

from . import i18n

__all__ = ["FIRST_NOTEBOOK", "LAB_SETTINGS", "MARK", "WIDGET_MIME", "clean_for_reopen", "configure",
           "font_advice", "lab_config", "main", "pre_save_hook", "server_config"]

#: the notebook the lab opens on
FIRST_NOTEBOOK = "00_roadmap.ipynb"
#: JupyterLab settings of the student's lab: no news and no update check (no toast, no request to the internet)
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: what marks the outputs that the hook writes (so that it replaces its own, never the learner's)
MARK = "swin_edu"

i18n.add_messages({
    "lab.reopen": {"en": "Reopened this notebook? The kernel starts empty: run it again from the top "
                         "(Run > Run All Cells) before running a cell on its own. Your answers are kept.",
                   "zh": "重新打开了这个笔记本？内核是空的：请先从头再运行一遍（菜单 Run > Run All Cells，即“运行所有"
                         "单元格”），再单独运行某个单元格。你的答案都还在。"},
    "lab.widget": {"en": "[the interactive explorer appears here when this cell runs: Run > Run All Cells]",
                   "zh": "[运行这个单元格后，交互式探索器会出现在这里：菜单 Run > Run All Cells]"},
    "lab.font.cjk": {"en": "The Chinese text of the notebooks needs a CJK font in your browser, and the figures need "
                           "one on this machine: none was found. On Debian/Ubuntu: sudo apt-get install "
                           "fonts-noto-cjk (Fedora: google-noto-sans-cjk-fonts; macOS and Windows have one).",
                     "zh": "笔记本的中文需要浏览器有中文（CJK）字体，图中的中文需要本机有中文字体：没有找到。"
                           "Debian/Ubuntu：sudo apt-get install fonts-noto-cjk（Fedora：google-noto-sans-cjk-fonts；"
                           "macOS 和 Windows 自带）。"},
    "lab.font.emoji": {"en": "No colour emoji font found: the self-checks' marks (✅ ❌ ⏳ 💡) may show as boxes (their "
                             "words say the same). On Debian/Ubuntu: sudo apt-get install fonts-noto-color-emoji.",
                       "zh": "没有找到彩色 emoji 字体：自检的标记（✅ ❌ ⏳ 💡）可能显示成方框（后面的文字意思相同）。"
                             "Debian/Ubuntu：sudo apt-get install fonts-noto-color-emoji。"},
})


# ---------------------------------------------------------------------------------------------- saving
def _text(lines: str) -> list[str]:
    return lines.splitlines(keepends=True)


def _ours(output) -> str | None:
    return output.get("metadata", {}).get(MARK) if isinstance(output, dict) else None


def clean_for_reopen(nb: dict) -> dict:
    """Make a notebook (its JSON as a dict, changed in place and returned) reopen cleanly: every widget output
    becomes one line saying how to bring the widget back, the saved widget state goes, and, when any cell has
    run, the first code cell carries one note: after reopening, run the notebook again from the top. Idempotent;
    cell sources are never touched."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError(f"swin_edu.lab.clean_for_reopen: nb must be a notebook dict with a 'cells' list, got "
                        f"{type(nb).__name__}")
    nb.get("metadata", {}).pop("widgets", None)
    code = [c for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
    ran = False
    for cell in code:
        outputs = []
        for out in cell.get("outputs") or []:
            if _ours(out) == "reopen":
                continue  # written by an earlier save; added again below if still due
            data = out.get("data") if isinstance(out, dict) else None
            if isinstance(data, dict) and WIDGET_MIME in data:
                out = {"output_type": "display_data", "metadata": {MARK: "widget"},
                       "data": {"text/plain": _text(i18n.t("lab.widget"))}}
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs
        ran = ran or cell.get("execution_count") is not None or any(_ours(o) is None for o in outputs)
    if ran and code:
        note = {"output_type": "display_data", "metadata": {MARK: "reopen"},
                "data": {"text/markdown": _text("**" + i18n.t("lab.reopen") + "**"),
                         "text/plain": _text(i18n.t("lab.reopen"))}}
        code[0].setdefault("outputs", []).insert(0, note)
    return nb


def pre_save_hook(model=None, path=None, contents_manager=None, **kwargs):
    """jupyter_server's pre-save hook of the student's lab (``ContentsManager.pre_save_hook``): notebooks are
    saved through :func:`clean_for_reopen`; other files as they are."""
    if isinstance(model, dict) and model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        clean_for_reopen(model["content"])


# ---------------------------------------------------------------------------------------------- settings
def server_config() -> dict:
    """The jupyter_server configuration of the student's lab: save through :func:`pre_save_hook` (and the default
    URL, for a server started without JupyterLab's own configuration, see :func:`lab_config`)."""
    return {"ServerApp": {"default_url": f"/lab/tree/{FIRST_NOTEBOOK}"},
            "ContentsManager": {"pre_save_hook": "swin_edu.lab.pre_save_hook"}}


def lab_config() -> dict:
    """JupyterLab's configuration of the student's lab: open on :data:`FIRST_NOTEBOOK` (``jupyter lab`` sets the
    server's default URL from its own, ``LabApp.default_url``, read from ``jupyter_lab_config``)."""
    return {"LabApp": {"default_url": f"/lab/tree/{FIRST_NOTEBOOK}"}}


def configure(prefix=None) -> list[pathlib.Path]:
    """Write the lab's settings into the environment at ``prefix`` (default: this Python's ``sys.prefix``, the
    lab's ``.venv-lab``): the server configuration (:func:`server_config`) and JupyterLab's settings overrides
    (:data:`LAB_SETTINGS`), each merged into the file that may be there. Returns the files written: the server's
    configuration, JupyterLab's, the settings overrides."""
    prefix = pathlib.Path(sys.prefix if prefix is None else prefix)
    if not prefix.is_dir():
        raise FileNotFoundError(f"swin_edu.lab.configure: prefix must be an existing environment folder, got "
                                f"{str(prefix)!r}")
    # jupyter reads plain settings from <name>.json in the environment's etc/jupyter (its .d folders hold only the
    # lists of server extensions)
    server = prefix / "etc" / "jupyter" / "jupyter_server_config.json"
    labconf = prefix / "etc" / "jupyter" / "jupyter_lab_config.json"
    overrides = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    for path, conf in ((server, server_config()), (labconf, lab_config()), (overrides, LAB_SETTINGS)):
        _merge_json(path, conf)
    return [server, labconf, overrides]


def _merge_json(path: pathlib.Path, sections: dict) -> None:
    """Write ``sections`` ({section: {key: value}}) into the JSON file ``path``, keeping what else it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        merged = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        merged = {}
    merged = merged if isinstance(merged, dict) else {}
    for section, values in sections.items():
        merged[section] = {**(merged.get(section) or {}), **values}
    path.write_text(json.dumps(merged, indent=1) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- fonts
def _fc_list(pattern: str) -> list[str] | None:
    """fontconfig's fonts matching ``pattern`` (None when fontconfig is not there to ask)."""
    fc = shutil.which("fc-list")
    if fc is None:
        return None
    try:
        out = subprocess.run([fc, pattern, "family"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return [line for line in out.stdout.splitlines() if line.strip()]


def font_advice(lang: str = "en", fc_list=_fc_list) -> list[str]:
    """What to install so that the browser draws the course's text (Linux, where fontconfig can tell): a CJK font
    for the Chinese edition, a colour emoji font for the self-checks' marks. Empty when nothing is missing or
    nothing can be told (macOS, Windows, no fontconfig). Messages in ``lang``."""
    if lang not in i18n.LANGS:
        raise ValueError(f"swin_edu.lab.font_advice: lang must be one of {list(i18n.LANGS)}, got {lang!r}")
    if not sys.platform.startswith("linux"):
        return []
    advice = []
    with i18n.language(lang):
        if lang == "zh" and fc_list(":lang=zh") == []:
            advice.append(i18n.t("lab.font.cjk"))
        emoji = fc_list(":charset=2705")  # ✅
        if emoji == []:
            advice.append(i18n.t("lab.font.emoji"))
    return advice


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swin_edu.lab", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("configure", help="write the lab's settings into this environment (sys.prefix)")
    c.add_argument("--prefix", default=None)
    f = sub.add_parser("fonts", help="say which fonts the browser lacks (Linux), if any")
    f.add_argument("--lang", choices=i18n.LANGS, default=os.environ.get("COURSE_LANG", "en"))
    args = parser.parse_args(argv)
    if args.command == "configure":
        configure(args.prefix)
        return 0
    for line in font_advice(args.lang):
        print(f"make lab: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
