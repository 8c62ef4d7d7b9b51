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
    assert "→ From here on this notebook uses the reference `snp.window_partition`" in en
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
    assert "→ 从这里开始，本笔记本使用参考实现 `snp.window_partition`" in zh
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
        pytest.skip("the zh extra (pylopdf-fonts-zh-cn) is not installed: pip install -e '.[zh]'")
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
def _execute(path: Path, timeout: int = 600, env: dict | None = None) -> dict:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
                       ).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def _outputs(nb) -> str:
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            out.append(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"]))
    return "\n".join(out)


@pytest.mark.slow
def test_zh_00_runs_top_to_bottom_with_chinese_feedback(tmp_path):
    shutil.copyfile(editions.zh_student_dir() / "00_roadmap.ipynb", tmp_path / "00_roadmap.ipynb")
    nb = _execute(tmp_path / "00_roadmap.ipynb", env={"SWIN_EDU_LANG": ""})
    out = _outputs(nb)
    assert "❌ window_partition：第" in out and "⏳ window_partition：尚未完成" in out
    assert "→ 从这里开始，本笔记本使用参考实现" in out
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


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
        pytest.skip("the zh extra is not installed")
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
