"""Translations of the course that cannot drift from the English source.

The English notebooks in ``notebooks/`` are the one source of the course, code and prose. A translation holds
*only prose*: one file per notebook and language, next to the source, ``notebooks/<lang>/<name>.<lang>.md``,
with one section per English markdown cell::

    <!-- cell c00-03 sha256=3f0a...e1 -->
    ## 为什么是 Swin？
    ...

The marker names the English cell (its nbformat cell id) and the SHA-256 of the English source that the
section translates. The translated notebook is the English notebook with its markdown cells replaced by
these sections (code cells are never copied into a translation: there is one source of code), plus one
code cell after the Colab install cell that switches the package's messages to the language
(:data:`LANG_CELL_ID`). When an English cell changes, its hash no longer matches: :func:`status` (and the
command ``python -m swin_edu.translation status``) reports the cell as *stale* and shows what changed in
the English text, found in the git history by its old hash. A translator updates the section, then records
the new hash with ``python -m swin_edu.translation accept NAME CELL``. See ``docs/translation.md``.

Figures: a translated section links the translated figure, ``../figures/<lang>/NAME.png`` for the English
``../figures/NAME.png`` (:func:`figure_link`; drawn by ``python -m swin_edu.viz.figures --lang zh``), with the
alt text of that figure in the language.

Which notebooks have a translation is explicit (:data:`TRANSLATED`): a listed notebook must be fully
translated and current (the tests fail otherwise); the others are "not translated yet".

Command line::

    python -m swin_edu.translation status [--lang zh] [NAME ...]   # stale / missing cells, with diffs
    python -m swin_edu.translation accept NAME CELL [CELL ...]     # record the English hash after an update
    python -m swin_edu.translation skeleton NAME                   # add a TODO section for every missing cell
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import difflib
import hashlib
import json
import pathlib
import re
import subprocess
import sys
from collections.abc import Sequence

from .course import NOTEBOOKS, SOURCE_DIR

__all__ = [
    "LANGS",
    "LANG_CELL_ID",
    "TRANSLATED",
    "Problem",
    "Section",
    "english_markdown",
    "figure_link",
    "load_sections",
    "main",
    "not_translated",
    "sha256_text",
    "status",
    "translated_notebook",
    "translation_path",
    "write_edition",
]

LANGS = ("zh",)
#: the notebooks that have a translation, per language: each must be complete and current (tests/test_zh.py)
TRANSLATED: dict[str, tuple[str, ...]] = {"zh": NOTEBOOKS}  # every notebook of the course
#: the id of the one code cell a translated notebook adds (after the Colab install cell)
LANG_CELL_ID = "swin-edu-lang"
TODO = "<!-- TODO: translate -->"
_MARKER = re.compile(r"^<!-- cell (?P<id>[A-Za-z0-9_.-]+) sha256=(?P<sha>[0-9a-f]{64}) -->[ \t]*$", re.MULTILINE)

LANG_CELLS = {
    "zh": (
        '# 中文版：本单元格让课程包的自检反馈、提示和图中文字使用中文（英文版没有这一格，其余代码与英文版完全相同）\n'
        'import os, sys\n'
        'os.environ["SWIN_EDU_LANG"] = "zh"\n'
        'if "google.colab" in sys.modules:  # Colab：用 apt 安装图中中文所需的字体 Noto Sans CJK（约 56 MB）\n'
        '    import subprocess\n'
        '    subprocess.run(["apt-get", "install", "-y", "-qq", "fonts-noto-cjk"], check=False, capture_output=True)\n'
        'from swin_edu import i18n\n'
        'cjk_font = i18n.use_cjk_font()  # 图中中文所用的字体（没有时会提示如何安装）'
    ),
}
HEADERS = {
    "zh": ("<!-- swin-edu: the Chinese (zh) translation of notebooks/{name}.ipynb. One section per English markdown\n"
           "     cell: the marker names the cell id and the sha256 of the English text translated. Code cells come\n"
           "     from the English notebook. `python -m swin_edu.translation status` lists stale and missing cells;\n"
           "     docs/translation.md says how to update one. -->\n"),
}
UNTRANSLATED_NOTE = {
    "zh": "> **本章尚未翻译**，以下为英文原文；自检反馈已是中文。术语对照见 00 章的术语表和 `docs/glossary.md`。\n\n",
}


def _where(name: str) -> str:
    return f"swin_edu.translation.{name}"


def _check_lang(lang, where: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"{where}: lang must be one of {list(LANGS)}, got {lang!r}")
    return lang


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def sha256_text(text: str) -> str:
    """The SHA-256 (hex) of ``text`` encoded as UTF-8: what a section's marker records."""
    if not isinstance(text, str):
        raise TypeError(f"{_where('sha256_text')}: text must be a str, got {type(text).__name__}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def translation_path(name: str, lang: str = "zh", source: pathlib.Path = SOURCE_DIR) -> pathlib.Path:
    """``notebooks/<lang>/<name>.<lang>.md``."""
    _check_lang(lang, _where("translation_path"))
    return pathlib.Path(source) / lang / f"{name}.{lang}.md"


def _load_nb(path: pathlib.Path) -> dict:
    return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))


def english_markdown(nb: dict) -> dict[str, str]:
    """``{cell id: source}`` of the notebook's markdown cells, in order."""
    return {c["id"]: _src(c) for c in nb["cells"] if c["cell_type"] == "markdown"}


@dataclasses.dataclass(frozen=True)
class Section:
    cell_id: str
    sha256: str
    text: str
    line: int  # where its marker is in the file (1-based)

    @property
    def todo(self) -> bool:
        return TODO in self.text or not self.text.strip()


def load_sections(path) -> dict[str, Section]:
    """The sections of a translation file, by cell id. Raises ValueError on a cell listed twice."""
    path = pathlib.Path(path)
    text = path.read_text(encoding="utf-8")
    marks = list(_MARKER.finditer(text))
    out: dict[str, Section] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end():end].strip("\n")
        line = text.count("\n", 0, m.start()) + 1
        if m["id"] in out:
            raise ValueError(f"{path}:{line}: cell {m['id']} is translated twice (first at line {out[m['id']].line})")
        out[m["id"]] = Section(m["id"], m["sha"], body, line)
    return out


@dataclasses.dataclass(frozen=True)
class Problem:
    notebook: str
    cell_id: str
    kind: str  # "missing", "todo", "stale", "orphan", "images"
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.notebook} · {self.cell_id}: {self.kind}: {self.message}" + (f"\n{self.hint}" if self.hint else "")


def _old_english(name: str, cell_id: str, sha: str, source: pathlib.Path, max_commits: int = 300) -> str | None:
    """The English text of ``cell_id`` whose hash is ``sha``, searched in the git history of the notebook."""
    rel = f"{pathlib.Path(source).name}/{name}.ipynb"
    try:
        root = pathlib.Path(source).resolve().parent
        log = subprocess.run(["git", "log", f"-n{max_commits}", "--format=%H", "--", rel], cwd=root, check=False,
                             capture_output=True, text=True, timeout=60)
        for commit in log.stdout.split():
            shown = subprocess.run(["git", "show", f"{commit}:{rel}"], cwd=root, check=False, capture_output=True, text=True,
                                   timeout=60)
            if shown.returncode != 0:
                continue
            try:
                cells = english_markdown(json.loads(shown.stdout))
            except (ValueError, KeyError):
                continue
            old = cells.get(cell_id)
            if old is not None and sha256_text(old) == sha:
                return old
    except (OSError, subprocess.SubprocessError):
        return None
    return None


def _diff(old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "English as translated", "English now",
                                 lineterm="", n=1)
    return "\n".join("    " + ln for ln in lines)


_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
_COURSE_FIGURE = re.compile(r"((?:^|/)figures/)(?=[\w.-]+\.png$)")


def figure_link(link: str, lang: str = "zh") -> str:
    """The link a ``lang`` notebook uses for the English figure link ``link``: the course's figures
    (``../figures/NAME.png``) have a translated version in ``figures/<lang>/`` (``python -m swin_edu.viz.figures
    --lang zh``); any other link stays as it is."""
    where = _where("figure_link")
    _check_lang(lang, where)
    if not isinstance(link, str):
        raise TypeError(f"{where}: link must be a str, got {type(link).__name__}")
    return _COURSE_FIGURE.sub(lambda m: f"{m.group(1)}{lang}/", link, count=1)


def _localize_figures(text: str, lang: str) -> str:
    """``text`` with each figure link replaced by the ``lang`` one (the alt text is left to the translator)."""
    return re.sub(r"(!\[[^\]]*\]\()([^)\s]+)(\))", lambda m: m.group(1) + figure_link(m.group(2), lang) + m.group(3),
                  text)


def status(name: str, lang: str = "zh", source=SOURCE_DIR, diffs: bool = True) -> list[Problem]:
    """What keeps the translation of notebook ``name`` from being complete and current (empty: all good).

    * ``missing``: an English markdown cell without a section; ``todo``: a section still marked TODO;
    * ``stale``: the English cell changed since it was translated (the hint shows the English diff, found
      in the git history by the old hash, when ``diffs``);
    * ``orphan``: a section for a cell that is no longer a markdown cell of the English notebook;
    * ``images``: a section whose figure links are not the English cell's in the language's version
      (:func:`figure_link`: ``../figures/NAME.png`` becomes ``../figures/zh/NAME.png``).
    """
    where = _where("status")
    _check_lang(lang, where)
    source = pathlib.Path(source)
    english = english_markdown(_load_nb(source / f"{name}.ipynb"))
    path = translation_path(name, lang, source)
    if not path.is_file():
        return [Problem(name, "*", "missing", f"no translation file {path.relative_to(source.parent)}")]
    sections = load_sections(path)
    problems = []
    for cell_id, text in english.items():
        sec = sections.get(cell_id)
        if sec is None:
            problems.append(Problem(name, cell_id, "missing", "no translation (run `python -m swin_edu.translation "
                                    f"skeleton {name}` to add a TODO section)", _indent(text)))
            continue
        if sec.todo:
            problems.append(Problem(name, cell_id, "todo", f"still marked TODO ({path.name}:{sec.line})"))
        if sec.sha256 != sha256_text(text):
            old = _old_english(name, cell_id, sec.sha256, source) if diffs else None
            hint = (_diff(old, text) if old is not None else
                    "    (the English text it translated is not in the git history; the English text now:)\n"
                    + _indent(text))
            problems.append(Problem(name, cell_id, "stale", f"the English cell changed since it was translated "
                                    f"({path.name}:{sec.line}); update the section, then `python -m "
                                    f"swin_edu.translation accept {name} {cell_id}`", hint))
        expected = [figure_link(link, lang) for link in _IMAGE.findall(text)]
        if _IMAGE.findall(sec.text) != expected:
            problems.append(Problem(name, cell_id, "images", f"figure links {_IMAGE.findall(sec.text)} instead of "
                                    f"{expected} ({path.name}:{sec.line})"))
    for cell_id, sec in sections.items():
        if cell_id not in english:
            problems.append(Problem(name, cell_id, "orphan", f"no English markdown cell has this id any more "
                                    f"({path.name}:{sec.line}): delete the section or move it to the new id"))
    return problems


def _indent(text: str) -> str:
    return "\n".join("    " + ln for ln in text.splitlines())


def not_translated(lang: str = "zh", source=SOURCE_DIR) -> list[str]:
    """The notebooks of the course that have no translation into ``lang`` yet."""
    _check_lang(lang, _where("not_translated"))
    return [p.stem for p in sorted(pathlib.Path(source).glob("*.ipynb")) if p.stem not in TRANSLATED[lang]]


def translated_notebook(name: str, lang: str = "zh", source=SOURCE_DIR, strict: bool = True) -> dict:
    """The notebook ``name`` in ``lang``: the English notebook (nbformat JSON) with every markdown cell replaced
    by its translation, and the language cell added after the Colab install cell. ``strict``: raise
    ValueError when the translation is stale or incomplete; otherwise untranslated cells stay English."""
    where = _where("translated_notebook")
    _check_lang(lang, where)
    source = pathlib.Path(source)
    nb = copy.deepcopy(_load_nb(source / f"{name}.ipynb"))
    path = translation_path(name, lang, source)
    if path.is_file():
        sections = load_sections(path)
        if strict:
            problems = status(name, lang, source, diffs=False)
            if problems:
                raise ValueError(f"{where}: the {lang} translation of {name} is not current:\n"
                                 + "\n".join(str(p) for p in problems))
        for cell in nb["cells"]:
            sec = sections.get(cell.get("id"))
            if cell["cell_type"] == "markdown" and sec is not None and not sec.todo:
                cell["source"] = sec.text
    else:
        if strict:
            raise ValueError(f"{where}: {name} has no {lang} translation ({path})")
        first = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
        first["source"] = UNTRANSLATED_NOTE[lang] + _src(first)
    first_code = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    nb["cells"].insert(first_code + 1, {"cell_type": "code", "execution_count": None, "id": LANG_CELL_ID,
                                        "metadata": {"swin_edu": {"lang": lang}}, "outputs": [],
                                        "source": LANG_CELLS[lang]})
    nb["metadata"]["swin_edu"] = {"lang": lang, "translated": path.is_file()}
    return nb


def write_edition(out, lang: str = "zh", source=SOURCE_DIR, names: Sequence[str] | None = None,
                  strict: bool = True) -> pathlib.Path:
    """Write the translated source notebooks (``names``, default: :data:`TRANSLATED`) into ``out``."""
    import nbformat

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in (TRANSLATED[lang] if names is None else names):
        nb = nbformat.from_dict(translated_notebook(name, lang, source, strict=strict))
        nbformat.write(nb, out / f"{name}.ipynb")
    return out


# ---------------------------------------------------------------------------------------------- editing
def accept(name: str, cell_ids: Sequence[str], lang: str = "zh", source=SOURCE_DIR) -> list[str]:
    """Record the current English hash in the sections ``cell_ids`` (after their text was updated)."""
    where = _where("accept")
    source = pathlib.Path(source)
    english = english_markdown(_load_nb(source / f"{name}.ipynb"))
    path = translation_path(name, lang, source)
    text = path.read_text(encoding="utf-8")
    done = []
    for cell_id in cell_ids:
        if cell_id not in english:
            raise ValueError(f"{where}: {name} has no markdown cell {cell_id!r}")
        pat = re.compile(r"^<!-- cell " + re.escape(cell_id) + r" sha256=[0-9a-f]{64} -->", re.MULTILINE)
        if not pat.search(text):
            raise ValueError(f"{where}: {path.name} has no section for {cell_id!r} (run `skeleton` first)")
        text = pat.sub(f"<!-- cell {cell_id} sha256={sha256_text(english[cell_id])} -->", text)
        done.append(cell_id)
    path.write_text(text, encoding="utf-8")
    return done


def skeleton(name: str, lang: str = "zh", source=SOURCE_DIR) -> list[str]:
    """Create the translation file of ``name`` if needed and append a TODO section (holding the English text)
    for every English markdown cell that has none. Returns the ids added."""
    source = pathlib.Path(source)
    english = english_markdown(_load_nb(source / f"{name}.ipynb"))
    path = translation_path(name, lang, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.is_file() else HEADERS[lang].format(name=name)
    have = load_sections(path) if path.is_file() else {}
    added = []
    for cell_id, en in english.items():
        if cell_id not in have:
            text = (text.rstrip("\n") + f"\n\n<!-- cell {cell_id} sha256={sha256_text(en)} -->\n{TODO}\n"
                    f"{_localize_figures(en, lang)}\n")
            added.append(cell_id)
    path.write_text(text, encoding="utf-8")
    return added


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swin_edu.translation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="zh", choices=LANGS)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("status", help="list stale and missing translated cells (exit 1 if any)")
    s.add_argument("names", nargs="*")
    a = sub.add_parser("accept", help="record the current English hash of cells whose translation you updated")
    a.add_argument("name")
    a.add_argument("cells", nargs="+")
    k = sub.add_parser("skeleton", help="add a TODO section for every English markdown cell without one")
    k.add_argument("name")
    args = parser.parse_args(argv)
    if args.command == "accept":
        print(f"{args.name}: recorded the English hash of {', '.join(accept(args.name, args.cells, args.lang))}")
        return 0
    if args.command == "skeleton":
        added = skeleton(args.name, args.lang)
        print(f"{translation_path(args.name, args.lang)}: {len(added)} TODO sections added")
        return 0
    names = args.names or list(TRANSLATED[args.lang])
    bad = 0
    for name in names:
        problems = status(name, args.lang)
        bad += len(problems)
        n = len(english_markdown(_load_nb(SOURCE_DIR / f"{name}.ipynb")))
        print(f"{name} ({args.lang}): " + ("up to date" if not problems else f"{len(problems)} problem(s)")
              + f", {n} markdown cells")
        for p in problems:
            print("  " + str(p).replace("\n", "\n  "))
    if not args.names:
        print(f"not translated yet ({args.lang}): {', '.join(not_translated(args.lang)) or 'none'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
