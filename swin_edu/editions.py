"""The course's editions, all made from one source: the nbgrader source notebooks in ``notebooks/``.

* **source** (``notebooks/``, the instructors' edition): the answers sit between nbgrader's
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers, graded cells carry nbgrader metadata, figures are
  links to ``../figures``. Edit only these.
* **student** (``student/``, committed): what ``make lab``, Colab and Binder open. Made by nbgrader's own
  ``generate_assignment`` with ``classroom/nbgrader_config.py`` (answers replaced by
  ``raise NotImplementedError()``, figures embedded as attachments by
  :class:`swin_edu.classroom.EmbedFigures`), never by hand: ``python -m swin_edu.editions build``
  (``make student-edition``) rewrites it, and a test checks that the committed folder is exactly that.
* **solutions**: the source with its figures embedded, for ``make lab EDITION=solutions``.
* **Chinese (zh)**: the same editions in Chinese (``--lang zh``). The zh source notebooks are made from the
  English ones and the translations in ``notebooks/zh/`` (:mod:`swin_edu.translation`: code cells are the
  English cells, only the prose differs); the zh student edition (``student/zh/``, committed like ``student/``
  so that Colab and Binder can open it) is made from them by the same nbgrader run. Only the notebooks listed
  in :data:`swin_edu.translation.TRANSLATED` are translated; the zh lab gets the English edition of the others,
  with the self-checks' messages in Chinese all the same (``SWIN_EDU_LANG=zh``).

The lab never opens these folders themselves: :func:`sync_workspace` copies an edition into a git-ignored
workspace (``lab/``, ``lab-solutions/``) and never overwrites a notebook the student has changed.

Command line::

    python -m swin_edu.editions build              # regenerate student/ from notebooks/ (needs nbgrader)
    python -m swin_edu.editions check              # exit 1 if student/ differs from what build makes
    python -m swin_edu.editions workspace student  # fill lab/ for `make lab` (prints what it did)
    python -m swin_edu.editions build --lang zh    # regenerate student/zh/ from notebooks/ + notebooks/zh/
    python -m swin_edu.editions workspace student --lang zh   # fill lab-zh/ for `make lab COURSE_LANG=zh`
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence

from .course import CLASSROOM_DIR, REPO_ROOT, SOURCE_DIR, STUDENT_DIR

__all__ = [
    "EDITIONS",
    "REPO_ROOT",
    "STUDENT_DIR",
    "WORKSPACES",
    "build_student_edition",
    "build_translated_student_edition",
    "diff_editions",
    "main",
    "solutions_edition",
    "sync_workspace",
    "translated_solutions_edition",
    "work_digest",
    "zh_student_dir",
]

CONFIG = CLASSROOM_DIR / "nbgrader_config.py"
EDITIONS = ("student", "solutions")
#: where ``make lab EDITION=...`` works: git-ignored copies, so that a ``git pull`` never meets a student's answers
WORKSPACES = {"student": REPO_ROOT / "lab", "solutions": REPO_ROOT / "lab-solutions"}
#: the languages of the editions; English is the source, the others are translations of its prose
LANGS = ("en", "zh")
WORKSPACES_ZH = {"student": REPO_ROOT / "lab-zh", "solutions": REPO_ROOT / "lab-solutions-zh"}
MANIFEST = ".swin-edu-manifest.json"
_ASSIGNMENT = "student"  # the nbgrader assignment name used while building (any name works)

README = """\
# The student edition (generated: do not edit)

These notebooks are what `make lab`, Colab and Binder open: the course of `notebooks/` with every exercise
left for you (`# YOUR CODE HERE`) and the figures embedded, so that each notebook also works on its own.
They are made from the source notebooks by nbgrader (`python -m swin_edu.editions build`, or
`make student-edition`); change `notebooks/`, never this folder.
"""


def _where(name: str) -> str:
    return f"swin_edu.editions.{name}"


def _as_dir(path, name: str, where: str) -> pathlib.Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{where}: {name} must be a path (str or os.PathLike), got {type(path).__name__}")
    return pathlib.Path(path)


def _sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------- building
def build_student_edition(out=STUDENT_DIR, source=SOURCE_DIR) -> pathlib.Path:
    """Make the student edition of every notebook in ``source`` with ``nbgrader generate_assignment`` (the
    repository's ``classroom/nbgrader_config.py``) and write it to ``out`` (replacing its notebooks).
    Returns ``out``. Needs nbgrader (``pip install -e .[classroom]``)."""
    where = _where("build_student_edition")
    out, source = _as_dir(out, "out", where), _as_dir(source, "source", where)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"{where}: no notebooks in source={str(source)!r}")
    with tempfile.TemporaryDirectory(prefix="swin-edu-edition-") as tmp:
        course = pathlib.Path(tmp)
        shutil.copyfile(CONFIG, course / "nbgrader_config.py")
        (course / "source" / _ASSIGNMENT).mkdir(parents=True)
        for nb in notebooks:
            shutil.copyfile(nb, course / "source" / _ASSIGNMENT / nb.name)
        env = dict(os.environ)
        # nbgrader runs alembic from the environment's bin/; EmbedFigures must import this checkout's swin_edu
        env["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", _ASSIGNMENT, "--force"],
                              check=False, cwd=course, env=env, capture_output=True, text=True)
        made = sorted((course / "release" / _ASSIGNMENT).glob("*.ipynb"))
        if proc.returncode != 0 or [p.name for p in made] != [p.name for p in notebooks]:
            raise RuntimeError(f"{where}: `nbgrader generate_assignment` failed (exit code {proc.returncode}, "
                               f"made {[p.name for p in made]}):\n{(proc.stdout + proc.stderr)[-4000:]}")
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.ipynb"):
            old.unlink()
        for nb in made:
            shutil.copyfile(nb, out / nb.name)
    (out / "README.md").write_text(README, encoding="utf-8")
    return out


def _load(path: pathlib.Path):
    return json.loads(path.read_text(encoding="utf-8"))


def diff_editions(expected, actual) -> list[str]:
    """What differs between two edition folders, cell by cell (empty when they are the same)."""
    where = _where("diff_editions")
    expected, actual = _as_dir(expected, "expected", where), _as_dir(actual, "actual", where)
    problems = []
    names_e = {p.name for p in expected.iterdir() if p.is_file()}
    names_a = {p.name for p in actual.iterdir() if p.is_file()}
    problems += [f"{n}: missing" for n in sorted(names_e - names_a)]
    problems += [f"{n}: not made from the source" for n in sorted(names_a - names_e)]
    for name in sorted(names_e & names_a):
        e, a = expected / name, actual / name
        if e.read_bytes() == a.read_bytes():
            continue
        if not name.endswith(".ipynb"):
            problems.append(f"{name}: differs")
            continue
        nb_e, nb_a = _load(e), _load(a)
        cells_e, cells_a = nb_e.get("cells", []), nb_a.get("cells", [])
        if len(cells_e) != len(cells_a):
            problems.append(f"{name}: {len(cells_a)} cells instead of {len(cells_e)}")
        for i, (ce, ca) in enumerate(zip(cells_e, cells_a)):
            if ce != ca:
                keys = sorted(k for k in set(ce) | set(ca) if ce.get(k) != ca.get(k))
                problems.append(f"{name}: cell {i} ({ce.get('id')}) differs in {keys}")
        if nb_e.get("metadata") != nb_a.get("metadata"):
            problems.append(f"{name}: notebook metadata differs")
        if not any(p.startswith(name) for p in problems):
            problems.append(f"{name}: same cells, different bytes (formatting)")
    return problems


def solutions_edition(out, source=SOURCE_DIR) -> pathlib.Path:
    """The source notebooks with their figures embedded (nbgrader's EmbedFigures preprocessor), in ``out``."""
    import nbformat

    from .classroom import EmbedFigures

    where = _where("solutions_edition")
    out, source = _as_dir(out, "out", where), _as_dir(source, "source", where)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"{where}: no notebooks in source={str(source)!r}")
    out.mkdir(parents=True, exist_ok=True)
    embed = EmbedFigures()
    for path in notebooks:
        nb, _ = embed.preprocess(nbformat.read(path, as_version=4), {})
        nbformat.write(nb, out / path.name)
    return out


README_ZH = """\
# 学生版（中文，自动生成：请勿手工修改）

`make lab COURSE_LANG=zh`、Colab 和 Binder 打开的中文笔记本：练习留空（`# YOUR CODE HERE`），图已嵌入。
它们由 nbgrader 从英文源笔记本（`notebooks/`）和译文（`notebooks/zh/`）生成：
`python -m swin_edu.editions build --lang zh`（或 `make student-edition`）。要修改，请改 `notebooks/` 或
`notebooks/zh/`，不要改这个文件夹。尚未翻译的章节在中文实验环境里使用英文版。
"""


def zh_student_dir(root=STUDENT_DIR) -> pathlib.Path:
    """Where the committed Chinese student edition lives: ``student/zh/``."""
    return pathlib.Path(root) / "zh"


def build_translated_student_edition(out=None, lang: str = "zh", source=SOURCE_DIR) -> pathlib.Path:
    """Make the student edition of the translated notebooks: the translated source notebooks
    (:func:`swin_edu.translation.write_edition`, which refuses a stale translation) through the same nbgrader
    run as :func:`build_student_edition`. Writes ``out`` (default ``student/zh/``) and returns it."""
    from . import translation

    where = _where("build_translated_student_edition")
    if lang not in translation.LANGS:
        raise ValueError(f"{where}: lang must be one of {list(translation.LANGS)}, got {lang!r}")
    out = zh_student_dir() if out is None else _as_dir(out, "out", where)
    with tempfile.TemporaryDirectory(prefix=f"swin-edu-{lang}-source-") as tmp:
        build_student_edition(out, translation.write_edition(tmp, lang, source))
    (out / "README.md").write_text(README_ZH, encoding="utf-8")
    return out


def translated_solutions_edition(out, lang: str = "zh", source=SOURCE_DIR) -> pathlib.Path:
    """The solutions edition in ``lang``: translated notebooks where a translation exists (a stale cell stays
    as it was translated, a missing one English), the English source notebook for the others, each with
    the language cell; figures embedded."""
    from . import translation

    with tempfile.TemporaryDirectory(prefix=f"swin-edu-{lang}-source-") as tmp:
        names = [p.stem for p in sorted(pathlib.Path(source).glob("*.ipynb"))]
        translation.write_edition(tmp, lang, source, names=names, strict=False)
        return solutions_edition(out, tmp)


def _student_workspace_source(tmp: pathlib.Path, lang: str) -> pathlib.Path:
    """The notebooks a ``lang`` student lab gets: ``student/<lang>/`` and, for the notebooks not translated
    yet, the English student edition with the language cell added (messages in the language)."""
    from . import translation

    tmp.mkdir(parents=True, exist_ok=True)
    translated = zh_student_dir()
    for nb in sorted(translated.glob("*.ipynb")):
        shutil.copyfile(nb, tmp / nb.name)
    for nb in sorted(STUDENT_DIR.glob("*.ipynb")):
        if not (tmp / nb.name).exists():
            data = translation.translated_notebook(nb.stem, lang, STUDENT_DIR, strict=False)
            (tmp / nb.name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return tmp


# ---------------------------------------------------------------------------------------------- workspace
#: what the workspace messages say, in the edition's language (``make lab COURSE_LANG=zh`` passes ``--lang zh``)
_SYNC_MESSAGES = {
    "ws.updated": {"en": "{target}: updated to the new version of the course (you had not changed its cells)",
                   "zh": "{target}：已更新为课程的新版本（你没有改动过它的单元格）"},
    "ws.kept": {"en": "{target}: the course has a new version of this notebook. Your copy is kept as it is; the new "
                      "version is {beside} beside it: open both and carry over what you need.",
                "zh": "{target}：课程有这个笔记本的新版本。你的文件原样保留；新版本是旁边的 {beside}：两个都打开，"
                      "把需要的内容搬过去。"},
    "ws.summary": {"en": "{workspace}: {total} notebooks from {name}: {counts} (your own work is never overwritten)",
                   "zh": "{workspace}：{total} 个笔记本，来自 {name}：{counts}（你自己的改动永远不会被覆盖）"},
    "ws.copied": {"en": "{n} copied", "zh": "新复制 {n} 个"},
    "ws.n_updated": {"en": "{n} updated", "zh": "更新 {n} 个"},
    "ws.unchanged": {"en": "{n} unchanged", "zh": "未变 {n} 个"},
    "ws.n_kept": {"en": "{n} kept as you left them (new version beside)", "zh": "保留你的版本 {n} 个（新版本在旁边）"},
}
_STATUS_KEYS = (("copied", "ws.copied"), ("updated", "ws.n_updated"), ("unchanged", "ws.unchanged"),
                ("kept", "ws.n_kept"))


def _messages():
    from . import i18n

    i18n.add_messages(_SYNC_MESSAGES)
    return i18n


def work_digest(path) -> str:
    """A digest of what a student can change in a notebook: the type and source of every cell, in order, and a
    markdown cell's attachments. Not the outputs (Run All makes them again), not the metadata (JupyterLab and the
    kernel rewrite ``language_info``, widths, collapsed states... on opening and autosave), not the cell ids. A
    file that is not a notebook is digested byte for byte."""
    path = pathlib.Path(path)
    data = path.read_bytes()
    try:
        nb = json.loads(data.decode("utf-8"))
    except ValueError:
        nb = None
    if not (isinstance(nb, dict) and isinstance(nb.get("cells"), list)):
        return "bytes:" + hashlib.sha256(data).hexdigest()
    work = []
    for cell in nb["cells"]:
        cell = cell if isinstance(cell, dict) else {"source": repr(cell)}
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        entry = [cell.get("cell_type"), source]
        if cell.get("attachments"):
            entry.append(cell["attachments"])
        work.append(entry)
    text = json.dumps(work, sort_keys=True, ensure_ascii=False)
    return "cells:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _untouched(target: pathlib.Path, entry) -> bool:
    """Whether the student's copy ``target`` still holds the work of the version it was copied from (``entry``:
    the manifest's record of that version; a manifest of an older ``make lab`` kept the file's SHA-256 only)."""
    if isinstance(entry, dict):
        return work_digest(target) == entry.get("work")
    return isinstance(entry, str) and _sha256(target) == entry


def sync_workspace(edition, workspace, log: Callable[[str], None] = print, name: str | None = None) -> dict[str, str]:
    """Copy the notebooks of the folder ``edition`` into ``workspace`` without ever losing a student's work.

    ``workspace/.swin-edu-manifest.json`` remembers, for every notebook as it was copied, the SHA-256 of the file
    and the :func:`work_digest` of its cells (what a student can change: cell sources, never the metadata that
    JupyterLab and the kernel write when a notebook is only opened, nor outputs). For each notebook of the
    edition: absent from the workspace -> copied (``"copied"``); shipped version unchanged -> nothing
    (``"unchanged"``); shipped version changed and the student's cells as they were copied (opened, run, saved:
    no matter) -> replaced by the new version (``"updated"``); shipped version changed and the student changed a
    cell -> the student's file is kept and the new version is written beside it as ``NAME.new-<hash>.ipynb``
    (``"kept"``), with a message saying so. The last line counts each outcome. ``name`` names the edition in the
    messages (default: its folder). Messages are in the language of ``SWIN_EDU_LANG``. Returns
    ``{notebook name: status}``.
    """
    where = _where("sync_workspace")
    edition, workspace = _as_dir(edition, "edition", where), _as_dir(workspace, "workspace", where)
    if not callable(log):
        raise TypeError(f"{where}: log must be callable, got {type(log).__name__}")
    shipped = sorted(edition.glob("*.ipynb"))
    if not shipped:
        raise FileNotFoundError(f"{where}: no notebooks in edition={str(edition)!r}")
    i18n = _messages()
    workspace.mkdir(parents=True, exist_ok=True)
    manifest_path = workspace / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    except ValueError:
        manifest = {}
    copied = manifest.get("notebooks", {}) if isinstance(manifest, dict) else {}
    copied = copied if isinstance(copied, dict) else {}
    status: dict[str, str] = {}
    for src in shipped:
        new_hash, target = _sha256(src), workspace / src.name
        entry = copied.get(src.name)
        old_hash = entry.get("file") if isinstance(entry, dict) else entry
        if not target.exists():
            shutil.copyfile(src, target)
            status[src.name] = "copied"
        elif new_hash == old_hash:
            status[src.name] = "unchanged"
        elif _untouched(target, entry):
            shutil.copyfile(src, target)
            status[src.name] = "updated"
            log(i18n.t("ws.updated", target=target))
        else:
            beside = target.with_name(f"{target.stem}.new-{new_hash[:8]}.ipynb")
            if not beside.exists():
                shutil.copyfile(src, beside)
            status[src.name] = "kept"
            log(i18n.t("ws.kept", target=target, beside=beside.name))
            continue  # the manifest keeps the record of the version the student's copy came from
        copied[src.name] = {"file": new_hash, "work": work_digest(src)}
    manifest_path.write_text(json.dumps({"edition": str(edition), "version": 2, "notebooks": copied}, indent=1,
                                        sort_keys=True) + "\n", encoding="utf-8")
    counts = ", ".join(i18n.t(key, n=n) for st, key in _STATUS_KEYS
                       if (n := sum(s == st for s in status.values())) or st in ("copied", "updated"))
    log(i18n.t("ws.summary", workspace=workspace, total=len(status), name=name or edition, counts=counts))
    return status


def _workspace(edition_name: str, workspace: pathlib.Path | None, lang: str = "en") -> pathlib.Path:
    if lang != "en":
        from .i18n import language

        workspace = workspace or WORKSPACES_ZH[edition_name]
        with tempfile.TemporaryDirectory(prefix=f"swin-edu-{lang}-") as tmp, language(lang):
            if edition_name == "student":
                sync_workspace(_student_workspace_source(pathlib.Path(tmp), lang), workspace,
                               name=f"student/{lang}/ (the {lang} student edition)")
            else:
                sync_workspace(translated_solutions_edition(tmp, lang), workspace,
                               name=f"notebooks/ + notebooks/{lang}/ (the {lang} solutions)")
        from . import translation
        rest = translation.not_translated(lang)
        if rest:
            print(f"{workspace}: not translated into {lang} yet (English text, {lang} messages): {', '.join(rest)}")
        return workspace
    workspace = workspace or WORKSPACES[edition_name]
    if edition_name == "student":
        sync_workspace(STUDENT_DIR, workspace)
        return workspace
    with tempfile.TemporaryDirectory(prefix="swin-edu-solutions-") as tmp:
        sync_workspace(solutions_edition(tmp), workspace, name="notebooks/ (the solutions)")
    return workspace


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swin_edu.editions", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="regenerate the student edition from notebooks/ with nbgrader")
    b.add_argument("--out", default=None, help="default: student/ (en) or student/zh/ (zh)")
    b.add_argument("--lang", choices=LANGS, default="en")
    c = sub.add_parser("check", help="exit 1 when student/ (or student/zh/) is not what `build` makes")
    c.add_argument("--lang", choices=LANGS, default="en")
    w = sub.add_parser("workspace", help="copy an edition into its lab workspace (never overwrites your work)")
    w.add_argument("edition", choices=EDITIONS)
    w.add_argument("--into", default=None, help="the workspace folder (default: lab/ or lab-solutions/, "
                                                 "lab-zh/ or lab-solutions-zh/ in Chinese)")
    w.add_argument("--lang", choices=LANGS, default="en", help="the edition's language (COURSE_LANG of make lab)")
    args = parser.parse_args(argv)
    if args.command == "build":
        if args.lang != "en":
            print(f"{args.lang} student edition written to "
                  f"{build_translated_student_edition(args.out, args.lang)}")
            return 0
        print(f"student edition written to {build_student_edition(args.out or STUDENT_DIR)}")
        return 0
    if args.command == "check":
        folder = STUDENT_DIR if args.lang == "en" else zh_student_dir()
        with tempfile.TemporaryDirectory() as tmp:
            made = (build_student_edition(tmp) if args.lang == "en" else
                    build_translated_student_edition(pathlib.Path(tmp), args.lang))
            problems = diff_editions(made, folder)
        for p in problems:
            print(p)
        rel = folder.relative_to(REPO_ROOT)
        print(f"{rel}/ is up to date" if not problems else f"run `make student-edition` and commit {rel}/")
        return 1 if problems else 0
    _workspace(args.edition, pathlib.Path(args.into) if args.into else None, args.lang)
    return 0


if __name__ == "__main__":
    sys.exit(main())
