"""The student's seat, round 2 (issue #27): what a learner reads is true and leads somewhere.

* every dotted name that a message prints resolves: the reference that ``use_or_reference`` names in every
  notebook (the calls as the notebooks write them), and the module paths in every exercise's texts;
* every failed or unsolved self-check ends with the way to ask for a hint, in both languages;
* "your" only after the learner's function has passed (:func:`swin_edu.exercises.whose`);
* the mistakes that used to get a generic hint get the specific one.
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import types
from pathlib import Path

import pytest

from swin_edu import i18n
from swin_edu.exercises import EXERCISES, check, reference_name, resolve_name, use_or_reference, whose
from swin_edu.exercises.runner import settings

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
BACKTICKED = re.compile(r"`([A-Za-z_][\w.]*)`")
DOTTED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")


def _src(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _imports_of(nb: dict) -> dict:
    """The names that the notebook's import statements bind (run here, in this process)."""
    ns: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse(_src(cell))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and "colab" not in ast.unparse(node):
                exec(compile(ast.Module([node], []), "<notebook import>", "exec"), ns)  # noqa: S102
    return ns


def _reference_calls(nb: dict) -> list:
    calls = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "use_or_reference(" in _src(cell):
            for node in ast.walk(ast.parse(_src(cell))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "use_or_reference":
                    calls.append((cell["id"], node))
    return calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_reference_a_notebook_falls_back_on_is_named_by_a_path_that_resolves(path, monkeypatch):
    """Issue #27 item 3: "uses the reference `swin_edu.patch_pixel_reference`" named nothing. Each call of
    use_or_reference as the notebook writes it, unsolved, in both languages: the printed name resolves (import the
    module path, then getattr) to the very object the notebook falls back on (or, for a lambda, to the function it
    wraps)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    calls = _reference_calls(nb)
    if not calls:
        pytest.skip("no use_or_reference in this notebook")
    ns = _imports_of(nb)
    monkeypatch.setattr(settings, "quiet", False)
    for cell_id, call in calls:
        reference = eval(compile(ast.Expression(call.args[1]), "<arg>", "eval"), ns)
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg == "name"}

        def mine():
            raise NotImplementedError

        for lang in ("en", "zh"):
            out = io.StringIO()
            with i18n.language(lang), contextlib.redirect_stdout(out):
                assert use_or_reference(mine, reference, False, **kwargs) is reference
            names = BACKTICKED.findall(out.getvalue())
            assert len(names) == 2 and names[1] == "mine", out.getvalue()
            target = resolve_name(names[0])  # raises LookupError naming the missing part
            assert target is reference or isinstance(reference, types.LambdaType), (cell_id, names[0])
            assert names[0].startswith("swin_edu."), (cell_id, names[0])


def test_reference_name_prefers_the_shortest_public_path_and_rejects_what_does_not_resolve():
    from swin_edu import complexity
    from swin_edu import numpy_ref as snp
    from swin_edu.demos import student_model as sm
    from swin_edu.exercises import nb01

    assert reference_name(snp.window_partition) == "swin_edu.numpy_ref.window_partition"
    assert reference_name(nb01.patch_pixel_reference) == "swin_edu.exercises.nb01.patch_pixel_reference"
    assert reference_name(complexity.block_macs) == "swin_edu.complexity.block_macs"
    assert reference_name(sm.WindowAttention, "sm.WindowAttention") == "swin_edu.demos.student_model.WindowAttention"
    assert reference_name(lambda *a: None, "snp.swin_forward") == "swin_edu.numpy_ref.swin_forward"
    assert resolve_name("snp.shift_mask") is snp.shift_mask
    with pytest.raises(LookupError, match="swin_edu has no attribute 'patch_pixel_reference'"):
        resolve_name("swin_edu.patch_pixel_reference")
    with pytest.raises(TypeError, match="dotted must be a non-empty str"):
        resolve_name("")


def _prelude_namespace(ex) -> dict:
    ns: dict = {}
    exec(ex.prelude, ns)  # noqa: S102 - the trusted imports of the exercise's answer cell
    ns["check"] = check
    return ns


def _texts(ex) -> list[str]:
    texts = list(ex.hints) + [ex.nan_hint] + [m.hint for m in ex.misconceptions] + list(ex.error_hints.values())
    texts += list(ex.entry_hints) + list(ex.known_answers.values())
    texts += [c.label for c in ex.cases()]
    return [t for t in texts if t]


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_every_module_path_in_an_exercise_message_resolves(name, capsys, monkeypatch):
    """Every dotted name that starts with a module of the answer cell's prelude (np., snp., torch., F., nn.) or
    with ``check.``/``swin_edu.``, in every text of the exercise (hints, misconceptions, error hints, case labels),
    in English and in Chinese, and in the messages of an unsolved check and of ``hint()``, names something."""
    ex = EXERCISES[name]
    ns = _prelude_namespace(ex)
    ns["swin_edu"] = __import__("swin_edu")
    monkeypatch.setattr(settings, "quiet", False)

    def unsolved(*args, **kwargs):
        raise NotImplementedError

    said = []
    for lang in ("en", "zh"):
        with i18n.language(lang):
            said += [i18n.text(t) for t in _texts(ex)]
            getattr(check, name)(unsolved)
            getattr(check, name).hint(1)
            said.append(capsys.readouterr().out)
    check.reset_hints()
    checked = 0
    for text in said:
        for dotted in DOTTED.findall(text):
            head, *rest = dotted.split(".")
            if head not in ns or not isinstance(ns[head], (types.ModuleType, type)):
                continue  # a variable of the answer (x.copy, q.shape), not a path
            obj = ns[head]
            for part in rest:
                if part in ("hint",) and obj is getattr(check, rest[0], None):
                    break
                assert hasattr(obj, part), f"{name}: {dotted!r} does not resolve (no {part!r}) in: {text[:200]}"
                obj = getattr(obj, part)
            checked += 1
    assert checked >= 2  # at least the check and its hint()


# ---------------------------------------------------------------------------------------------- hints
def _wrong_window_partition(x, M):
    return x.reshape(-1, M, M, x.shape[-1])


def _raises_value_error(x, M):
    raise ValueError("cannot reshape array of size 48 into shape (5,2,2)")


def _unsolved(x, M):
    raise NotImplementedError()


@pytest.mark.parametrize("fn", [_wrong_window_partition, _raises_value_error, _unsolved, "not a function"],
                         ids=["specific diagnosis", "an exception", "unsolved", "not a function"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_failed_or_unsolved_check_ends_with_the_way_to_ask_for_a_hint(fn, lang, monkeypatch, capsys):
    """Issue #27 item 2: the hint line came only after a generic message; now after every failed or unsolved
    check, specific diagnosis included, once, as the last line."""
    monkeypatch.setattr(settings, "quiet", False)
    with i18n.language(lang):
        res = check.window_partition(fn)
        line = i18n.t("stuck.n", name="window_partition", n=len(check.window_partition.exercise.hints))
    assert not res.passed
    assert res.message.splitlines()[-1].strip() == line and res.message.count(line) == 1, res.message
    assert "check.window_partition.hint()" in line
    assert capsys.readouterr().out.strip().endswith(line)
    with i18n.language(lang):
        ok = check.window_partition(__import__("swin_edu.numpy_ref", fromlist=["x"]).window_partition)
    assert ok.passed and "hint()" not in ok.message


# ---------------------------------------------------------------------------------------------- whose
def test_whose_says_the_reference_until_the_learners_function_passed(monkeypatch, capsys):
    """Issue #27 item 4: "your formula 6,340,992" was printed with the exercise unsolved."""
    from swin_edu import complexity
    from swin_edu.exercises import nb02

    monkeypatch.setattr(settings, "quiet", True)

    def block_macs_mine(h, w, C, M):
        raise NotImplementedError()

    check.block_macs(block_macs_mine)
    chosen = use_or_reference(block_macs_mine, complexity.block_macs)
    assert chosen is complexity.block_macs and whose(chosen, "formula") == "the reference formula"
    assert whose(block_macs_mine, "formula") == "the reference formula"   # it did not pass

    def block_macs_solved(h, w, C, M):
        return nb02.block_macs_reference(h, w, C, M)

    check.block_macs(block_macs_solved)
    chosen = use_or_reference(block_macs_solved, complexity.block_macs)
    assert chosen is block_macs_solved and whose(chosen, "formula") == "your formula"
    with i18n.language("zh"):
        assert whose(chosen, i18n.Text("formula", "公式")) == whose(chosen, "formula") == "你的公式"
        assert whose(complexity.block_macs, i18n.Text("formula", "公式")) == "参考实现的公式"
    # a package function checked by a demo (00 checks snp.window_partition) is still the reference
    from swin_edu import numpy_ref as snp

    check.window_partition(snp.window_partition)
    assert whose(snp.window_partition) == "the reference function"
    # a class chosen with an explicit verdict (notebook 07's modules)
    class Mine:
        pass

    use_or_reference(Mine, complexity.block_macs, True, quiet=True)
    assert whose(Mine, "model") == "your model"
    with pytest.raises(TypeError, match="what must be a str"):
        whose(Mine, 3)


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem[:2] != "07"], ids=lambda p: p.stem)
def test_no_notebook_says_your_about_what_may_be_the_reference(path):
    """The printouts that said "your formula" (02, 03) or "your offsets" (04) whatever ran go through whose().
    (07's learner's-model cells are being rewritten under the same rule elsewhere.)"""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "print(" in _src(cell):
            for call in re.findall(r"print\(.*", _src(cell)):
                assert not re.search(r"\byour\b", call, re.IGNORECASE), (cell["id"], call)


# ---------------------------------------------------------------------------------------------- specific hints
def _wp_batch_interleaved(x, M):
    B, H, W, C = x.shape
    return x.reshape(B, H // M, M, W // M, M, C).transpose(1, 3, 0, 2, 4, 5).reshape(-1, M, M, C)


def _wr_batch_last(w, M, H, W):
    C = w.shape[-1]
    B = w.shape[0] // ((H // M) * (W // M))
    return w.reshape(H // M, W // M, B, M, M, C).transpose(2, 0, 3, 1, 4, 5).reshape(B, H, W, C)


def _merging(norm_dim, bias=False, order="gather-norm-reduce", cat_dim=-1):
    import torch
    from torch import nn

    from swin_edu.demos.student_model import load_learned

    class PatchMerging(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.norm = nn.LayerNorm(norm_dim(dim))
            self.reduction = nn.Linear(4 * dim, 2 * dim, bias=bias)

        def forward(self, x):
            x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], cat_dim)
            return self.norm(self.reduction(x)) if order == "reduce-norm" else self.reduction(self.norm(x))

    def patch_merging_torch_mine(x, state_dict):
        merge = load_learned(PatchMerging(x.shape[-1]), state_dict)
        with torch.no_grad():
            return merge(x)

    return patch_merging_torch_mine


SPECIFIC = [
    ("window_partition", lambda: _wp_batch_interleaved, "the batch axis must stay first", "batch 轴必须留在最前面"),
    ("window_reverse", lambda: _wr_batch_last, "the batch axis is the first", "batch 轴是其中最前"),
    ("patch_merging_module", lambda: _merging(lambda d: d), "nn.LayerNorm(4 * dim), not nn.LayerNorm(dim)",
     "错误在 __init__ 里"),
    ("patch_merging_module", lambda: _merging(lambda d: 4 * d, bias=True), "reduction has no bias", "没有偏置"),
    ("patch_merging_module", lambda: _merging(lambda d: 4 * d, order="reduce-norm"), "then norm, then reduction",
     "再 norm，再 reduction"),
    ("patch_merging_module", lambda: _merging(lambda d: 4 * d, cat_dim=1), "along the channels (dim=-1)",
     "沿通道（dim=-1）"),
]


@pytest.mark.parametrize("name,make,en,zh", SPECIFIC, ids=[f"{s[0]}-{s[2][:24]}" for s in SPECIFIC])
def test_known_mistakes_get_the_specific_hint_then_the_way_to_more(name, make, en, zh, monkeypatch):
    """Issue #27 item 5: the images interleaved among the windows got "some are in the wrong places"; a PatchMerging
    with nn.LayerNorm(dim) got "print the shapes of your intermediate arrays" though the mistake is in __init__."""
    monkeypatch.setattr(settings, "quiet", True)
    fn = make()
    res = getattr(check, name)(fn)
    assert not res.passed and en in res.message, res.message
    assert "print the shapes" not in res.message and "some are in the wrong places" not in res.message
    assert res.message.splitlines()[-1].strip().startswith("stuck? check.")
    with i18n.language("zh"):
        res = getattr(check, name)(fn)
    assert zh in res.message and "卡住了？运行 check." in res.message.splitlines()[-1], res.message


def test_a_wrong_parameter_shape_points_at_init_in_every_module_exercise(monkeypatch):
    """The general rule behind the PatchMerging case: a shape error raised while loading the official weights
    (load_learned) is a mistake of __init__, whatever the module."""
    from swin_edu.exercises import diagnostics as dx

    ex = EXERCISES["swin_block_module"]
    msg = dx.error_message(ex, "swin_block_module", 1, 2, "a case", ["ValueError"],
                           "mlp.fc1.weight: your module's tensor has shape (16, 16), the official one (64, 16)")
    assert "the mistake is in __init__" in msg and "`mlp.fc1.weight`" in msg


# ---------------------------------------------------------------------------------------------- the explorer
def test_the_window_and_shift_sliders_offer_only_what_every_map_can_show():
    """Issue #27 item 7: the window slider offered M = 12 on an 8x8 map. For every map size the explorer allows
    (1..64 x 1..64), every window the slider offers and, with it, every shift it offers can be shown."""
    from swin_edu.viz.widgets.mask import MaskExplorer
    from swin_edu.viz.widgets.mask_model import mask_validity, slider_limits

    for H in range(1, MaskExplorer.MAX_MAP + 1):
        for W in range(1, MaskExplorer.MAX_MAP + 1):
            m_max, _ = slider_limits(H, W, 1, MaskExplorer.MAX_WINDOW)
            assert m_max >= 1
            for M in range(1, m_max + 1):
                _, s_max = slider_limits(H, W, M, MaskExplorer.MAX_WINDOW)
                bad = [s for s in range(s_max + 1) if mask_validity(H, W, M, s)]
                assert not bad, (H, W, M, bad)
            # and the slider does not stop short: one more window or shift would be invalid or beyond the slider
            assert m_max == MaskExplorer.MAX_WINDOW or mask_validity(H, W, m_max + 1, 0)


@pytest.mark.parametrize("H,W", [(8, 8), (3, 8), (5, 5), (13, 7), (1, 64), (64, 64), (12, 12)])
def test_moving_the_map_sliders_keeps_the_picture(H, W):
    """From the learner's seat: start from the default explorer, move the map sliders (as the browser does, by the
    controls' values), then every window and shift the sliders offer: no "Invalid settings", ever."""
    from swin_edu.viz.widgets.mask import MaskExplorer

    ex = MaskExplorer()
    c = ex.controls
    c["H"].value, c["W"].value = H, W
    assert ex.message is None and c["window_size"].max == min(12, H, W)
    for M in range(c["window_size"].min, c["window_size"].max + 1):
        c["window_size"].value = M
        assert ex.message is None, (H, W, M, ex.message)
        for s in range(c["shift_size"].min, c["shift_size"].max + 1):
            c["shift_size"].value = s
            assert ex.message is None and ex.html, (H, W, M, s, ex.message)
    # code may still ask for what cannot be shown, and is told why (the explorer's documented behaviour)
    assert "larger than" in ex.set(H=8, W=8, window_size=12).message
    c["H"].value = 7  # the learner moves a slider: back to what can be shown
    assert ex.message is None and ex.state["window_size"] <= 7


def test_the_fourth_panel_tells_masked_tokens_from_tokens_outside_the_window():
    """Issue #27 item 7: "masked" (in the window, not attended: cross-hatched) and "not in this window" (plain
    grey) look different, and the legend names both."""
    from swin_edu.viz.widgets.mask import MaskExplorer
    from swin_edu.viz.widgets.mask_render import OUTSIDE_FILL, window_tokens

    ex = MaskExplorer(H=8, W=8, window_size=4, shift_size=2, window=3, query=5)
    st = ex.state_data
    inside = window_tokens(st)
    assert inside.sum() == 16 and all(inside[r, c] for r, c in st.allowed_positions)
    orig = ex.html[ex.html.index('data-panel="orig"'):]
    orig = orig[:orig.index("</svg>")]
    assert OUTSIDE_FILL in orig and "swm-x" in orig
    assert "not in this window" in ex.html and "masked / not attended" in ex.html
    with i18n.language("zh"):
        assert "不在这个窗口里" in MaskExplorer().html
