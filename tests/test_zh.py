"""The Chinese edition (issue #18): translations that cannot drift from the English source, the zh editions,
the language setting of the self-checks, the CJK font of the figures.

Run alone with ``.venv/bin/python -m pytest -q -n 0 tests/test_zh.py``."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from swin_edu import editions, i18n, translation

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks"
ALL = sorted(p.stem for p in SOURCE.glob("*.ipynb"))
ZH = translation.TRANSLATED["zh"]


def _nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _src(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _cjk(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text))


# ---------------------------------------------------------------------------------------------- which notebooks
def test_the_translated_set_is_explicit_and_matches_the_files():
    files = sorted(p.name.split(".")[0] for p in (SOURCE / "zh").glob("*.zh.md"))
    assert files == sorted(ZH), "notebooks/zh/ and swin_edu.translation.TRANSLATED['zh'] disagree"
    assert set(ZH) <= set(ALL)
    assert translation.not_translated("zh") == [n for n in ALL if n not in ZH]


@pytest.mark.parametrize("name", ALL)
def test_translation_is_complete_and_current(name):
    if name not in ZH:
        pytest.skip(f"{name}: not translated into zh yet")
    problems = translation.status(name, "zh")
    assert not problems, "the zh translation is stale or incomplete (see docs/translation.md):\n" + \
        "\n".join(str(p) for p in problems)


@pytest.mark.parametrize("name", ZH)
def test_translated_notebook_has_the_english_code_and_chinese_prose(name):
    en = _nb(SOURCE / f"{name}.ipynb")
    zh = translation.translated_notebook(name, "zh")
    lang_cells = [c for c in zh["cells"] if c.get("id") == translation.LANG_CELL_ID]
    assert len(lang_cells) == 1 and lang_cells[0]["cell_type"] == "code"
    assert 'os.environ["SWIN_EDU_LANG"] = "zh"' in _src(lang_cells[0])
    rest = [c for c in zh["cells"] if c.get("id") != translation.LANG_CELL_ID]
    # the same cells in the same order; every code cell exactly the English one (source, metadata, id)
    assert [(c["id"], c["cell_type"]) for c in rest] == [(c["id"], c["cell_type"]) for c in en["cells"]]
    for c_en, c_zh in zip(en["cells"], rest):
        if c_en["cell_type"] == "code":
            assert c_zh == c_en, c_en["id"]
        else:
            assert c_zh["metadata"] == c_en["metadata"]
            assert _cjk(_src(c_zh)) > 0, f"{name} · {c_en['id']} has no Chinese"
    # the language cell comes right after the Colab install cell (the first code cell)
    codes = [c for c in zh["cells"] if c["cell_type"] == "code"]
    assert codes[0]["source"] == next(c for c in en["cells"] if c["cell_type"] == "code")["source"]
    assert codes[1]["id"] == translation.LANG_CELL_ID


# ---------------------------------------------------------------------------------------------- drift is caught
def _scratch(tmp_path: Path, name: str = "00_roadmap") -> Path:
    src = tmp_path / "notebooks"
    (src / "zh").mkdir(parents=True)
    shutil.copyfile(SOURCE / f"{name}.ipynb", src / f"{name}.ipynb")
    shutil.copyfile(translation.translation_path(name, "zh"), src / "zh" / f"{name}.zh.md")
    return src


def test_a_changed_english_cell_makes_its_translation_stale_with_a_diff(tmp_path):
    src = _scratch(tmp_path)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["add", "."], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-qm", "a"], cwd=tmp_path, check=True)
    nb = _nb(src / "00_roadmap.ipynb")
    cell = next(c for c in nb["cells"] if c["id"] == "c00-07")
    cell["source"] = _src(cell).replace("not decoration", "no decoration at all")
    (src / "00_roadmap.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    problems = translation.status("00_roadmap", "zh", src)
    assert [(p.cell_id, p.kind) for p in problems] == [("c00-07", "stale")]
    assert "-Those shapes are not decoration" in problems[0].hint
    assert "+Those shapes are no decoration at all" in problems[0].hint
    with pytest.raises(ValueError, match="c00-07: stale"):
        translation.translated_notebook("00_roadmap", "zh", src)
    # the translator updates the text, then records the new hash: current again
    translation.accept("00_roadmap", ["c00-07"], "zh", src)
    assert translation.status("00_roadmap", "zh", src) == []


def test_missing_orphan_todo_and_image_problems_are_named(tmp_path):
    src = _scratch(tmp_path)
    path = src / "zh" / "00_roadmap.zh.md"
    text = path.read_text(encoding="utf-8")
    # drop the section of c00-14, make c00-05 an orphan under another id, lose a figure link
    sections = translation.load_sections(path)
    text = re.sub(r"<!-- cell c00-14 sha256=[0-9a-f]{64} -->\n.*?(?=\n<!-- cell )", "", text, flags=re.DOTALL)
    text = text.replace("<!-- cell c00-05 ", "<!-- cell c00-99 ")
    text = text.replace("(../figures/zh/08_architecture.png)", "(../figures/other.png)")
    path.write_text(text, encoding="utf-8")
    kinds = {(p.cell_id, p.kind) for p in translation.status("00_roadmap", "zh", src)}
    assert kinds == {("c00-14", "missing"), ("c00-05", "missing"), ("c00-99", "orphan"), ("c00-06", "images")}
    assert sections["c00-14"].text  # it was there before
    # skeleton adds TODO sections for the missing cells; they count as not translated
    assert sorted(translation.skeleton("00_roadmap", "zh", src)) == ["c00-05", "c00-14"]
    kinds = {(p.cell_id, p.kind) for p in translation.status("00_roadmap", "zh", src)}
    assert ("c00-14", "todo") in kinds and ("c00-05", "todo") in kinds
    # not strict: TODO cells stay English, the rest is Chinese
    nb = translation.translated_notebook("00_roadmap", "zh", src, strict=False)
    by_id = {c["id"]: _src(c) for c in nb["cells"]}
    assert by_id["c00-14"].startswith("An exercise that has not been started") and _cjk(by_id["c00-00"]) > 20


def test_status_command_reports_the_untranslated_notebooks(capsys):
    assert translation.main(["status"]) == 0
    out = capsys.readouterr().out
    for name in ZH:
        assert f"{name} (zh): up to date" in out
    assert "not translated yet (zh): " + ", ".join(n for n in ALL if n not in ZH) in out


def test_a_section_listed_twice_is_an_error(tmp_path):
    path = tmp_path / "x.zh.md"
    path.write_text(f"<!-- cell a sha256={'0' * 64} -->\n一\n<!-- cell a sha256={'0' * 64} -->\n二\n", encoding="utf-8")
    with pytest.raises(ValueError, match="translated twice"):
        translation.load_sections(path)


# ---------------------------------------------------------------------------------------------- the editions
@pytest.mark.slow
def test_zh_student_edition_is_exactly_what_nbgrader_makes(tmp_path):
    made = editions.build_translated_student_edition(tmp_path / "zh", "zh")
    problems = editions.diff_editions(made, editions.zh_student_dir())
    assert not problems, "student/zh/ drifted: run `make student-edition` and commit student/zh/\n" + \
        "\n".join(problems)


@pytest.mark.parametrize("name", ZH)
def test_zh_student_edition_has_the_english_code(name):
    """Compared with the English *source* (the committed English student/ may lag behind it): every code cell
    is the English one, answers blanked by nbgrader; every figure the English cells link is embedded."""
    en = _nb(SOURCE / f"{name}.ipynb")
    zh = _nb(editions.zh_student_dir() / f"{name}.ipynb")
    codes_en = [c for c in en["cells"] if c["cell_type"] == "code"]
    codes_zh = [c for c in zh["cells"] if c["cell_type"] == "code" and c["id"] != translation.LANG_CELL_ID]
    assert [c["id"] for c in codes_zh] == [c["id"] for c in codes_en]
    for c_en, c_zh in zip(codes_en, codes_zh):
        if c_en["metadata"].get("nbgrader", {}).get("solution"):
            assert "raise NotImplementedError()" in _src(c_zh) and "BEGIN SOLUTION" in _src(c_en)
            assert _src(c_zh).split("# YOUR CODE HERE")[0] == _src(c_en).split("### BEGIN SOLUTION")[0]
        else:
            assert _src(c_zh) == _src(c_en), c_en["id"]
    assert "BEGIN SOLUTION" not in json.dumps(zh)
    linked = sorted(set(re.findall(r"\(\.\./figures/([\w.-]+\.png)\)", json.dumps(en))))
    embedded = sorted({n for c in zh["cells"] for n in c.get("attachments", {})})
    assert embedded == linked


def test_zh_lab_workspaces_hold_every_notebook(tmp_path, capsys):
    student = editions._workspace("student", tmp_path / "lab-zh", "zh")
    names = sorted(p.stem for p in student.glob("*.ipynb"))
    assert names == ALL
    for name in ALL:
        nb = _nb(student / f"{name}.ipynb")
        assert any(c.get("id") == translation.LANG_CELL_ID for c in nb["cells"]), name
        first = next(_src(c) for c in nb["cells"] if c["cell_type"] == "markdown")
        assert ("本章尚未翻译" in first) == (name not in ZH)
    # the workspace names the notebooks that open in English (none, now that every notebook is translated)
    assert ("not translated into zh yet" in capsys.readouterr().out) == bool(set(ALL) - set(ZH))
    solutions = editions._workspace("solutions", tmp_path / "lab-solutions-zh", "zh")
    nb = _nb(solutions / "08_train_tiny_swin.ipynb")
    assert "BEGIN SOLUTION" in json.dumps(nb) and _cjk(json.dumps(nb, ensure_ascii=False)) > 1000


def test_make_lab_course_lang(tmp_path):
    def dry(*args):
        out = subprocess.run(["make", "-n", "lab", *args], check=False, cwd=ROOT, capture_output=True, text=True).stdout
        return [ln for ln in out.splitlines() if "swin_edu.editions" in ln or "jupyter lab" in ln]
    assert dry() == [".venv-lab/bin/python -m swin_edu.editions workspace student --into lab",
                     ".venv-lab/bin/jupyter lab" + dry()[1].split(".venv-lab/bin/jupyter lab")[1]]
    zh = dry("COURSE_LANG=zh")
    assert zh[0].endswith("workspace student --into lab-zh --lang zh") and zh[1].startswith("SWIN_EDU_LANG=zh ")
    sol = dry("COURSE_LANG=zh", "EDITION=solutions")
    assert sol[0].endswith("workspace solutions --into lab-solutions-zh --lang zh")


# ---------------------------------------------------------------------------------------------- messages
def test_self_check_messages_in_chinese_and_english_unchanged(monkeypatch, capsys):
    import numpy as np

    from swin_edu import numpy_ref as snp
    from swin_edu.exercises import check, use_or_reference

    def todo(x, M):
        raise NotImplementedError()

    def wrong(x, M):
        return x.reshape(-1, M, M, x.shape[-1])

    monkeypatch.delenv("SWIN_EDU_LANG", raising=False)
    assert not check.window_partition(todo)
    assert check.window_partition(snp.window_partition)
    check.window_partition(wrong)
    use_or_reference(todo, snp.window_partition)
    en = capsys.readouterr().out
    assert "⏳ window_partition: not solved yet — `todo` still raises NotImplementedError." in en
    assert "✅ window_partition: passed all" in en and "Well done!" in en
    assert re.search(r"❌ window_partition: case \d+ of \d+ failed", en) and "expected: " in en and "hint: " in en
    assert "→ From here on this notebook uses the reference `swin_edu.numpy_ref.window_partition`" in en
    assert _cjk(en) == 0

    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    check.window_partition(todo)
    check.window_partition(snp.window_partition)
    check.window_partition(wrong)
    use_or_reference(todo, snp.window_partition)
    zh = capsys.readouterr().out
    assert "⏳ window_partition：尚未完成" in zh and "做得好！" in zh
    assert re.search(r"❌ window_partition：第 \d+ 个用例（共 \d+ 个）未通过", zh)
    assert "期望：" in zh and "实际：" in zh and "提示：" in zh and "expected: " not in zh
    assert "→ 从这里开始，本笔记本使用参考实现 `swin_edu.numpy_ref.window_partition`" in zh
    check.window_partition(lambda x, M: snp.window_partition(x, M).astype(np.float32))
    check.window_partition(lambda x, M: snp.window_partition(x, M)[..., None])
    check.window_partition.hint(1)
    zh = capsys.readouterr().out
    assert "dtype 不对：期望 float64，实际 float32。" in zh and "期望：numpy 数组，形状 (4, 2, 2, 1)，dtype float64" in zh
    tiers = len(check.window_partition.exercise.hints)
    assert "形状不对：期望 (4, 2, 2, 1)，实际 (4, 2, 2, 1, 1)。" in zh and f"💡 window_partition，提示 1/{tiers}" in zh


def test_language_setting_values(monkeypatch):
    for value, want in [("", "en"), ("en", "en"), ("zh", "zh"), ("zh_CN", "zh"), ("zh-Hans", "zh"), ("ZH", "zh"),
                        ("zhx", "en"), ("fr", "en")]:
        monkeypatch.setenv("SWIN_EDU_LANG", value)
        assert i18n.lang() == want, value
    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    assert i18n.frame_line("got:      None") == "实际：None"
    assert set(i18n.MESSAGES) == {k for k, v in i18n.MESSAGES.items() if set(v) == {"en", "zh"}}
    with pytest.raises(KeyError, match="unknown message key"):
        i18n.t("nope")


# ---------------------------------------------------------------------------------------------- fonts
def test_figures_render_chinese_with_the_packaged_font(tmp_path):
    if i18n.cjk_font_path() is None:
        pytest.skip("no CJK font on this machine: apt-get install fonts-noto-cjk")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = i18n.use_cjk_font()
    assert family and family in matplotlib.rcParams["font.family"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.set_title("移位窗口与掩码 (SW-MSA)")
        ax.set_xlabel("窗口 · query 查询")
        fig.savefig(tmp_path / "zh.png")
        plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert not missing, missing
    # without the font the same title does warn: the check above can see a missing glyph
    matplotlib.rcParams["font.family"] = ["DejaVu Sans"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.set_title("移位窗口")
        fig.savefig(tmp_path / "tofu.png")
        plt.close(fig)
    assert any("missing from" in str(w.message) for w in caught)
    matplotlib.rcParams.update(matplotlib.rcParamsDefault)


# ---------------------------------------------------------------------------------------------- run them
# The Chinese editions run once: the zh *student* edition, on its own (below). Its code cells are the English ones
# (checked above), so what the run proves is that each Chinese notebook *as built* runs top to bottom, that its
# language cell switches the package to Chinese, and that its figures find the CJK font. It asserts the
# self-checks' framing lines (catalogued in swin_edu/i18n.py), not the exercise-specific texts. The zh solutions
# edition is checked by comparison (test_zh_solution_edition_is_the_english_source_with_the_language_cell).
ENGLISH_FRAMING = ("Well done!", "not solved yet", "From here on this notebook", "stuck? check.", "failed —")
TRANSLATED_ZH = [n for n in ALL if n in ZH]


def _execute(nb, path: Path, timeout: int = 600, env: dict | None = None):
    from nbclient import NotebookClient

    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path)}}
                       ).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def _cell_text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
        elif o.get("output_type") == "error":
            out.append(f"{o.get('ename')}: {o.get('evalue')}")
        elif "text/plain" in o.get("data", {}):
            out.append("".join(o["data"]["text/plain"]))
    return "".join(out)


def _outputs(nb) -> str:
    return "\n".join(_cell_text(c) for c in nb.cells if c.cell_type == "code")


def _assert_ran_in_chinese(nb, name: str) -> str:
    errors = [(c.get("id"), _cell_text(c)) for c in nb.cells if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not errors, f"{name}: {errors}"
    out = _outputs(nb)
    # the figures drew every glyph (matplotlib warns on stderr for a character its font lacks)
    assert "missing from" not in out and "Glyph" not in out, f"{name}: a figure lacks the CJK font"
    english = [s for s in ENGLISH_FRAMING if s in out]
    assert not english, f"{name}: English self-check framing in the zh edition: {english}"
    return out


def _graded(nb) -> list:
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def test_zh_solution_edition_is_the_english_source_with_the_language_cell(tmp_path):
    """What ``make lab COURSE_LANG=zh EDITION=solutions`` opens, checked by comparison instead of a run of its own
    (issue #28: each expensive thing once): its code cells are the English source's, answers included, plus the
    language cell. So the English source's run (tests/test_notebooks.py: every cell runs, every reference answer
    passes) and the zh student edition's run below (the language cell switches the package to Chinese, the figures
    find the CJK font, the self-checks speak Chinese) together prove it; the Chinese "passed" framing is checked in
    test_self_check_messages_in_chinese_and_english_unchanged."""
    out = editions.translated_solutions_edition(tmp_path / "solutions-zh", "zh")
    for name in TRANSLATED_ZH:
        en = [c for c in _nb(SOURCE / f"{name}.ipynb")["cells"] if c["cell_type"] == "code"]
        zh = _nb(out / f"{name}.ipynb")["cells"]
        lang = [c for c in zh if c.get("id") == translation.LANG_CELL_ID]
        assert len(lang) == 1 and 'os.environ["SWIN_EDU_LANG"] = "zh"' in _src(lang[0]), name
        code = [c for c in zh if c["cell_type"] == "code" and c.get("id") != translation.LANG_CELL_ID]
        assert [(c["id"], _src(c)) for c in code] == [(c["id"], _src(c)) for c in en], name


@pytest.mark.slow
@pytest.mark.notebook
# 03 runs in the browser instead (tests/test_browser.py, the zh edition as `make lab COURSE_LANG=zh` serves it);
# 08 runs here too since issue #25 (its default setting takes seconds)
@pytest.mark.parametrize("name", [n for n in TRANSLATED_ZH if n != "03_shifted_windows"])
def test_zh_student_edition_runs_alone_with_chinese_feedback(name, tmp_path, monkeypatch):
    """The committed student/zh/ notebook as a student opens it in Colab (in a folder of its own, exercises
    unsolved, SWIN_EDU_LANG not set: its language cell switches the package to Chinese): every cell runs, every
    self-check says "not solved yet" in Chinese and the notebook goes on with the reference implementation."""
    import nbformat

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    shutil.copyfile(editions.zh_student_dir() / f"{name}.ipynb", tmp_path / f"{name}.ipynb")
    nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    nb = _execute(nb, tmp_path, env={"SWIN_EDU_LANG": ""})
    out = _assert_ran_in_chinese(nb, name)
    for cell in _graded(nb):
        assert "尚未完成" in _cell_text(cell), _cell_text(cell)
    if name != "00_roadmap":
        assert "→ 从这里开始，本笔记本使用参考实现" in out
    else:
        assert "❌ window_partition：第" in out and "⏳ window_partition：尚未完成" in out
        assert "期望：" in out and "提示：" in out


def test_notebook_08_figures_speak_the_language_and_render_its_glyphs(monkeypatch, tmp_path):
    import numpy as np

    from swin_edu.viz.training import plot_confusion, plot_curves, plot_straddle_examples

    history = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e, "train_acc": 0.5, "val_acc": 0.6}
               for e in (1, 2, 3)]
    cm = np.array([[3, 1], [0, 4]])
    images, labels = np.zeros((2, 1, 8, 8), dtype=np.float32), np.array([0, 1])

    def texts(fig):
        fig.savefig(tmp_path / "f.png")
        return {t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")) if t.get_text()}

    monkeypatch.delenv("SWIN_EDU_LANG", raising=False)
    en = texts(plot_curves(history)) | texts(plot_confusion(cm)) | texts(plot_straddle_examples(images, labels,
                                                                                              patch=2, region=4))
    assert {"loss", "accuracy", "epoch", "validation", "predicted class", "true class", "confusion matrix (test)",
            "same", "different"} <= en
    if i18n.cjk_font_path() is None:
        pytest.skip("no CJK font on this machine: apt-get install fonts-noto-cjk")
    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zh = texts(plot_curves(history)) | texts(plot_confusion(cm)) | \
            texts(plot_straddle_examples(images, labels, patch=2, region=4))
    assert {"损失", "准确率", "验证集", "预测类别", "真实类别", "混淆矩阵（测试集）", "相同", "不同"} <= zh
    assert not [str(w.message) for w in caught if "missing from" in str(w.message)]


# ---------------------------------------------------------------------------------------------- one glossary
def _glossary_code_names(markdown: str) -> set[str]:
    """The `names` in the code column of the glossary table of a notebook 00 cell."""
    names = set()
    for line in markdown.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 3 and "`" in cols[2]:
            names |= set(re.findall(r"`([^`]+)`", cols[2]))
    return names


def test_notebook_00_glossaries_use_the_shared_glossary():
    shared = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    en = next(_src(c) for c in _nb(SOURCE / "00_roadmap.ipynb")["cells"] if c["id"] == "c00-17")
    zh = translation.load_sections(translation.translation_path("00_roadmap", "zh"))["c00-17"].text
    for table in (en, zh):
        names = _glossary_code_names(table)
        assert len(names) > 20
        assert not {n for n in names if f"`{n}`" not in shared}, "add these to docs/glossary.md"
    # 移位窗口 for the paper's shifted windows; 滑动窗口 only for the sliding-window baseline or as the seed's word
    assert "| shifted window | 移位窗口 | 滑动窗口 |" in shared and "| sliding window (the paper's baseline) | 滑动窗口 |" in shared
    for name in ZH:
        text = translation.translation_path(name, "zh").read_text(encoding="utf-8")
        for m in re.finditer("滑动窗口", text):
            around = text[max(0, m.start() - 40):m.end() + 40]
            assert "原文" in around or "sliding window" in around or "基线" in around, around


# ---------------------------------------------------------------------------------------------- exercise texts
def _bilingual_texts():
    """(where, text) for every exercise-specific text a student can be shown: hint tiers, NaN hints,
    misconceptions, case labels (public ones and the practice versions of the hidden ones), and the texts
    of the diagnostics, the practice check and the capstone."""
    import numpy as np

    from swin_edu.classroom import verdict
    from swin_edu.demos import capstone_reference as capstone
    from swin_edu.exercises import EXERCISES, diagnostics, runner

    out = []
    for name, ex in EXERCISES.items():
        out += [(f"{name}.hints[{k}]", h) for k, h in enumerate(ex.hints)]
        if ex.nan_hint:
            out.append((f"{name}.nan_hint", ex.nan_hint))
        out += [(f"{name}.misconceptions[{k}]", m.hint) for k, m in enumerate(ex.misconceptions)]
        cases = list(ex.cases()) + list(ex.hidden(np.random.default_rng(runner.PRACTICE_SEED)) if ex.hidden else [])
        out += [(f"{name} case {c.label!r}", c.label) for c in cases]
    for module in (diagnostics, runner, verdict):
        out += [(f"{module.__name__}.{k}", v) for k, v in vars(module).items() if isinstance(v, i18n.Text)]
    out += [(f"capstone {m.name}", m.message) for m in capstone.MISTAKES]
    out += [(f"capstone ERROR_HINTS[{k!r}]", v) for k, v in capstone.ERROR_HINTS.items()]
    out += [(f"capstone case {label!r}", label) for label, _ in capstone.CASES]
    return out


def _words(text: str) -> int:
    """English words of two letters or more (a label like ``C=3`` has none: it needs no translation)."""
    return len(re.findall(r"\b[a-zA-Z]{2,}\b", re.sub(r"`[^`]*`|\w+=\S+", "", text)))


def test_every_hint_misconception_and_label_has_a_chinese_text_that_keeps_the_code_and_numbers():
    texts = _bilingual_texts()
    assert len(texts) > 300
    problems = []
    for where, text in texts:
        if not isinstance(text, i18n.Text):
            if _words(text) >= 2:
                problems.append(f"{where}: English only: {text!r}")
            continue
        if _cjk(text.zh) < 1:
            problems.append(f"{where}: its zh has no Chinese: {text.zh!r}")
        if sorted(re.findall(r"`[^`]*`", text)) != sorted(re.findall(r"`[^`]*`", text.zh)):
            problems.append(f"{where}: the code spans differ:\n  {text}\n  {text.zh}")
        if sorted(re.findall(r"\d+", text)) != sorted(re.findall(r"\d+", text.zh)):
            problems.append(f"{where}: the numbers differ:\n  {text}\n  {text.zh}")
    assert not problems, "\n".join(problems)


def test_text_is_its_english_and_resolves_to_the_language_in_force(monkeypatch):
    import copy
    import pickle

    hint = i18n.Text("the mask is missing.", "缺少掩码。")
    assert hint == "the mask is missing." and isinstance(hint, str) and json.dumps(hint) == '"the mask is missing."'
    line = "hint: " + hint + " (more)"
    assert (line, line.zh) == ("hint: the mask is missing. (more)", "hint: 缺少掩码。 (more)")
    assert copy.deepcopy(line).zh == pickle.loads(pickle.dumps(line)).zh == line.zh
    monkeypatch.delenv("SWIN_EDU_LANG", raising=False)
    assert type(i18n.text(hint)) is str and i18n.text(hint) == "the mask is missing." and i18n.text("x") == "x"
    assert i18n.frame_line(line) == "hint: the mask is missing. (more)"
    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    assert i18n.text(hint) == "缺少掩码。" and i18n.frame_line(line) == "提示：缺少掩码。 (more)"
    with pytest.raises(TypeError, match="zh must be a non-empty str"):
        i18n.Text("x", "")
    with pytest.raises(TypeError, match="en must be a non-empty str"):
        i18n.Text(None, "中")
    with pytest.raises(TypeError, match="value must be a str or a Text"):
        i18n.text(3)


def _wrong_answers():
    """(check name, a typical wrong answer, the misconception it shows or None for a generic diagnosis)."""
    import numpy as np

    from swin_edu import numpy_ref as snp

    def forgot_eps_in_sqrt(x, weight, bias, eps=1e-5):
        return (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + eps) * weight + bias

    def transposed_windows(windows, M, H, W):  # (B, W, H, C): the axes of the map swapped
        return snp.window_reverse(windows, M, H, W).transpose(0, 2, 1, 3)

    def rounds_down(cfg, img_size):
        h = w = img_size // cfg.patch_size
        out = []
        for i in range(cfg.num_layers):
            out.append((h, w, cfg.embed_dim * 2 ** i))
            h, w = h // 2, w // 2
        return out

    def no_warmup(step, total_steps, warmup_steps, base_lr, min_lr):
        t = min(max(step - warmup_steps, 0), total_steps - warmup_steps) / (total_steps - warmup_steps)
        return min_lr + (base_lr - min_lr) * 0.5 * (1 + np.cos(np.pi * t))

    return [
        ("window_partition", lambda x, M: x.reshape(-1, M, M, x.shape[-1]), 0),        # plain reshape
        ("layer_norm", forgot_eps_in_sqrt, 3),
        ("block_macs", lambda h, w, C, M: 4 * h * w * C * C + 2 * M * M * h * w * C, 0),  # W-MSA alone
        ("mask_from_regions", lambda ids: np.where(ids[:, :, None] == ids[:, None, :], -100.0, 0.0), 1),  # sign
        ("relative_position_index", lambda M: np.flip(snp.relative_position_index(M), (0, 1)).copy(), None),
        ("patch_pixel", lambda i, j, k, p=4, C=3: (p * i + k // C % p, p * j + k // (p * C), k % C), 0),
        ("window_reverse", transposed_windows, None),                                     # axis order
        ("stage_shapes", rounds_down, None),
        ("lr_schedule", no_warmup, None),
    ]


def test_typical_wrong_answers_get_the_chinese_diagnosis(monkeypatch, capsys):
    from swin_edu.exercises import EXERCISES, check

    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    for name, wrong, which in _wrong_answers():
        result = getattr(check, name)(wrong)
        out = capsys.readouterr().out
        assert not result and out.startswith(f"❌ {name}：第 ") and "提示：" in out, out
        body = out.split("\n", 1)[1]
        # the diagnosis is Chinese: no English sentence left (code, shapes and names stay as they are)
        assert _cjk(body) > 10 and not re.search(r"\b(the|your|you|is|are|of)\b", body), out
        if which is not None:
            m = EXERCISES[name].misconceptions[which].hint
            assert m.zh in out and str(m) not in out, out
    # the generic diagnoses, the mutation, the error and the timeout messages too
    check.window_reverse(lambda w, M, H, W: w.reshape(-1, H, W, w.shape[-1]).transpose(0, 2, 1, 3)[:, :W, :H])
    check.patch_partition(lambda im, p: snp_partition_in_place(im, p))
    check.attention(lambda q, k, v: undefined_name)  # noqa: F821
    check.block_macs(lambda h, w, C, M: float(12 * h * w * C * C + 2 * M * M * h * w * C))
    out = capsys.readouterr().out
    assert "调用者之后还要用原来的输入" in out and "有个名字没有定义" in out and "计数是精确的整数" in out, out
    assert "the caller" not in out and "a name is not defined" not in out

    def slow(x, M):
        import time

        time.sleep(1.0)
        return x

    check.window_partition(slow, time_limit=0.05)
    out = capsys.readouterr().out
    assert "是不是有个循环的条件永远不变" in out and "is there a loop" not in out, out


def snp_partition_in_place(images, p):
    from swin_edu import numpy_ref as snp

    images += 1  # modifies the caller's array
    return snp.patch_partition(images - 1, p)


def test_hint_tiers_in_chinese_and_english_unchanged(monkeypatch, capsys):
    from swin_edu.exercises import EXERCISES, check

    for name, ex in EXERCISES.items():
        fn = getattr(check, name)
        monkeypatch.delenv("SWIN_EDU_LANG", raising=False)
        for tier in range(1, len(ex.hints) + 1):
            fn.hint(tier)
        en = capsys.readouterr().out
        monkeypatch.setenv("SWIN_EDU_LANG", "zh")
        for tier in range(1, len(ex.hints) + 1):
            fn.hint(tier)
        zh = capsys.readouterr().out
        for h in ex.hints:
            assert f"\n   {h}\n" in en and h.zh not in en and _cjk(en) == 0, en
            assert f"\n   {h.zh}\n" in zh and str(h) not in zh, zh


def test_english_output_of_wrong_answers_is_the_english_text(monkeypatch, capsys):
    """With the setting unset, a wrong answer prints the English texts exactly (a Text *is* its English)."""
    from swin_edu.exercises import EXERCISES, check

    monkeypatch.delenv("SWIN_EDU_LANG", raising=False)
    for name, wrong, which in _wrong_answers():
        getattr(check, name)(wrong)
        out = capsys.readouterr().out
        # no Chinese, but for the seed's word that the English text of notebook 01 quotes
        assert _cjk(out.replace("按行展平", "")) == 0 and re.match(rf"❌ {name}: case \d+ of \d+ failed — ", out), out
        if which is not None:
            assert "   hint: " + EXERCISES[name].misconceptions[which].hint + "\n" in out, out
        monkeypatch.setenv("SWIN_EDU_LANG", "en")
        getattr(check, name)(wrong)
        assert capsys.readouterr().out == out
        monkeypatch.delenv("SWIN_EDU_LANG")


def test_grader_feedback_follows_the_language_and_never_the_verdict(monkeypatch):
    """The grader's verdict of the same returned output, graded with SWIN_EDU_LANG unset and =zh: the same
    status and score, the message in the language in force (case labels from the release's label_zh)."""
    import json as _json

    import numpy as np

    from swin_edu.classroom import codec
    from swin_edu.classroom.bwrap import VERDICT_LIMITS, RunResult
    from swin_edu.classroom.verdict import judge
    from swin_edu.exercises import EXERCISES

    ex = EXERCISES["window_partition"]
    public = ex.cases()
    hidden = ex.hidden(np.random.default_rng(3))
    cases = [(c, False) for c in public] + [(c, True) for c in hidden]
    spec = {"grade_id": "wp", "exercise": ex.name, "points": 2.0, "function": "window_partition_mine",
            "cases": [{"label": str(c.label), "label_zh": c.label.zh, "hidden": h, "args": codec.encode(tuple(c.args)),
                       "kwargs": codec.encode(dict(c.kwargs)),
                       "expected": codec.encode(ex.reference(*c.args, **c.kwargs))} for c, h in cases]}

    def run(answer, where=""):
        events = [{"event": "ready", "callable": True, "type": "function"}]
        for i, (c, _) in enumerate(cases):
            after = codec.encode((tuple(c.args), dict(c.kwargs)))
            if answer is None:
                events.append({"event": "raised", "case": i, "mro": ["NameError", "Exception"],
                               "text": "name 'y' is not defined", "where": where})
            else:
                events.append({"event": "result", "case": i, "value": codec.encode(answer(*c.args)), "after": after})
        return RunResult(0, "\n".join(_json.dumps(e) for e in events).encode(), b"", 0.1)

    answers = [ex.misconceptions[0].wrong, ex.reference, lambda x, M: ex.reference(x, M) if M in (2, 4) else x, None]
    for answer in answers:
        monkeypatch.delenv("SWIN_EDU_LANG", raising=False)
        en = judge(spec, run(answer, "line 3 of your answer cell: `y`"), VERDICT_LIMITS)
        monkeypatch.setenv("SWIN_EDU_LANG", "zh")
        zh = judge(spec, run(answer, "line 3 of your answer cell: `y`"), VERDICT_LIMITS)
        assert (en.status, en.score(), en.cases) == (zh.status, zh.score(), zh.cases)
        assert _cjk(en.message) == 0 and _cjk(zh.message) > 5, (en.message, zh.message)
    assert en.status == "failed" and "答案单元格第 3 行：`y`" in zh.message and "有个名字没有定义" in zh.message
    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    assert "5 个用例全部通过（公开 2 个，隐藏 3 个）" in judge(spec, run(ex.reference), VERDICT_LIMITS).message
    monkeypatch.delenv("SWIN_EDU_LANG")
    wrong = judge(spec, run(ex.misconceptions[0].wrong), VERDICT_LIMITS)
    assert wrong.status == "failed" and "   hint: " + ex.misconceptions[0].hint in wrong.message
    assert public[0].label in wrong.message
    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    wrong = judge(spec, run(lambda x, M: ex.reference(x, M) if M in (2, 4) else x), VERDICT_LIMITS)  # public M
    assert "（隐藏用例）" in wrong.message and any(c.label.zh in wrong.message for c, h in cases if h), wrong.message


def test_descriptions_of_lists_and_tuples_in_chinese(monkeypatch):
    import numpy as np

    from swin_edu.exercises.diagnostics import describe

    got = "got:      " + describe([np.zeros((2, 3)), np.zeros((2, 3))])
    assert got.endswith("list of length 2 (first item: numpy array of shape (2, 3), dtype float64)")
    monkeypatch.setenv("SWIN_EDU_LANG", "en")
    assert i18n.frame_line(got) == got
    monkeypatch.setenv("SWIN_EDU_LANG", "zh")
    assert i18n.frame_line(got) == "实际：长度为 2 的 list（第一个元素：numpy 数组，形状 (2, 3)，dtype float64）"
    assert i18n.frame_line("expected: tuple of length 3 (first item: str 'a')") == \
        "期望：长度为 3 的 tuple（第一个元素：str 'a'）"


def test_how_a_sandboxed_run_ended_is_said_in_both_languages():
    import signal

    from swin_edu.classroom.bwrap import Limits, RunResult

    limits = Limits(wall=5.0, cpu=7)
    cases = [(RunResult(None, b"", b"", 5.0, timed_out=True), "stopped after 5 s", "5 秒后被停止"),
             (RunResult(-signal.SIGXCPU, b"", b"", 1.0), "more than 7 s of CPU", "超过 7 秒"),
             (RunResult(-signal.SIGKILL, b"", b"", 1.0), "out of memory", "内存不足"),
             (RunResult(3, b"", b"", 1.0), "status 3", "状态 3"),
             (RunResult(0, b"", b"", 1.0), "ended normally", "正常结束")]
    for run, en, zh in cases:
        said = run.ending(limits)
        assert isinstance(said, i18n.Text) and en in said and zh in said.zh and _cjk(said.en) == 0
