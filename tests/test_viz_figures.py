"""The static figures: one command regenerates figures/ deterministically, with alt text for each.

The figure command runs here twice (once as ``python -m swin_edu.viz.figures``, once in-process) and
both runs must give byte-identical files. The committed ``figures/`` must match what the code draws.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from swin_edu import complexity
from swin_edu import numpy_ref as snp
from swin_edu.config import SwinConfig
from swin_edu.viz import figures as F
from swin_edu.viz import style

ROOT = Path(__file__).resolve().parents[1]
FIGDIR = ROOT / "figures"


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Run the figure command as a subprocess (the Makefile's command) and once in-process."""
    a = tmp_path_factory.mktemp("figs_cli")
    b = tmp_path_factory.mktemp("figs_inproc")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="123")
    proc = subprocess.run([sys.executable, "-m", "swin_edu.viz.figures", "--out", str(a)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning" not in proc.stderr, proc.stderr
    F.render_all(b)
    return a, b


@pytest.mark.slow
def test_figure_command_is_deterministic(two_runs):
    a, b = two_runs
    da, db = _digests(a), _digests(b)
    expected = {f"{name}.png" for name in F.FIGURES} | {"alt_text.json", "ALT_TEXT.md", "RENDERED_WITH.txt"}
    assert set(da) == expected
    diff = sorted(k for k in da if da[k] != db.get(k))
    assert not diff, f"a second run changed {diff}"


@pytest.mark.slow
def test_pngs_carry_no_timestamp_or_version(two_runs):
    a, _ = two_runs
    for name in F.FIGURES:
        data = (a / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        for chunk in (b"tIME", b"Software", matplotlib.__version__.encode()):
            assert chunk not in data, f"{name}.png contains {chunk!r}"
        assert len(data) < 320 * 1024, f"{name}.png is {len(data) / 1024:.0f} KB"


@pytest.mark.slow
def test_alt_text_file_lists_every_figure(two_runs):
    a, _ = two_runs
    meta = json.loads((a / "alt_text.json").read_text(encoding="utf-8"))
    assert set(meta) == set(F.FIGURES)
    for name, m in meta.items():
        assert m["file"] == f"{name}.png"
        assert m["alt"] == F.alt_text(name)
        assert len(m["alt"]) > 150, name
        assert m["notebooks"]
    md = (a / "ALT_TEXT.md").read_text(encoding="utf-8")
    for name in F.FIGURES:
        assert f"## {name}" in md


@pytest.mark.slow
def test_committed_figures_are_up_to_date(two_runs):
    """figures/ in the repository is what the code draws (run `make figures` after changing a figure)."""
    a, _ = two_runs
    assert FIGDIR.is_dir(), "figures/ is missing: run python -m swin_edu.viz.figures --out figures"
    committed = _digests(FIGDIR)
    fresh = _digests(a)
    missing = sorted(set(fresh) - set(committed))
    assert not missing, f"figures/ lacks {missing}: run python -m swin_edu.viz.figures --out figures"
    assert (FIGDIR / "alt_text.json").read_bytes() == (a / "alt_text.json").read_bytes(), \
        "figures/alt_text.json is stale: run python -m swin_edu.viz.figures --out figures"
    if (FIGDIR / "RENDERED_WITH.txt").read_text() != (a / "RENDERED_WITH.txt").read_text():
        pytest.skip("figures/ were rendered by another matplotlib/FreeType; pixels may differ legitimately")
    stale = sorted(k for k in fresh if committed[k] != fresh[k])
    assert not stale, f"figures/ is stale for {stale}: run python -m swin_edu.viz.figures --out figures"


def test_cli_check_and_list(tmp_path, capsys):
    F.render_all(tmp_path, ["07_patch_merging"])
    assert F.main(["--out", str(tmp_path), "--only", "07_patch_merging", "--check"]) == 0
    (tmp_path / "07_patch_merging.png").write_bytes(b"stale")
    assert F.main(["--out", str(tmp_path), "--only", "07_patch_merging", "--check"]) == 1
    assert F.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in F.FIGURES)


# ------------------------------------------------------------------ content comes from the package
def test_patch_partition_data_is_the_package_output():
    d = F._patch_partition_data(4, 96, (22, 26), 224, 0)
    img = d["img"]
    patch = img[88:92, 104:108]  # rows 22*4.., cols 26*4..
    np.testing.assert_array_equal(d["tokens"][22, 26], patch.reshape(-1))
    assert d["tokens"].shape == (56, 56, 48) and d["emb"].shape == (56, 56, 96)


def test_window_attention_marks_the_seeds_64x():
    d = F._wa_data(56, 56, 96, 7)
    assert d["att_msa"] == 1_888_223_232 == 2 * (56 * 56) ** 2 * 96
    assert d["att_wmsa"] == 29_503_488 == 2 * 7 ** 2 * 56 * 56 * 96
    assert d["ratio"] == 64
    assert "64 times less" in F.alt_text("03_window_attention")


def test_shifted_windows_regions_follow_the_seed():
    d = F._shift_data(8, 8, 4)
    assert len(d["grid"]) == 9 and sorted(d["letters"].values()) == ["A", "B", "B", "C", "C", "D"]
    # A is the s x s top-left corner; after the roll it sits in the bottom-right corner
    a = next(k for k, v in d["letters"].items() if v == "A")
    assert (d["win_id"][:2, :2] == a).all() and (d["rolled"][-2:, -2:] == a).all()
    # the bottom-right window after the shift holds A, B, C and D (the seed's example)
    br = set(d["rolled"][4:, 4:].ravel().tolist())
    assert {d["letters"].get(k) for k in br} == {"A", "B", "C", "D"}
    np.testing.assert_array_equal(d["regions"], snp.region_ids(8, 8, 4, 2))


def test_attention_mask_softmax_numbers():
    d = F._mask_data(8, 8, 4, None, 5, 0)
    np.testing.assert_array_equal(d["mask"], snp.shift_mask(8, 8, 4, 2))
    allowed = d["mask"][3, 5] == 0
    assert allowed.sum() == 4
    assert d["p_masked"][~allowed].max() < 1e-40
    assert abs(d["p_masked"][allowed].sum() - 1) < 1e-12


def test_relative_position_and_merging_data():
    d = F._rel_data(3, (1, 2), 0)
    dy, dx = np.divmod(np.arange(9), 3)
    expected = (1 - dy + 2) * 5 + (2 - dx + 2)
    np.testing.assert_array_equal(d["index"][5], expected)
    np.testing.assert_array_equal(d["bias"][5], d["table"][expected, 0])
    m = F._merge_data(4, 4, 1, 0)
    np.testing.assert_array_equal(m["gathered"][0, 0], [1, 5, 2, 6])  # x0=(0,0) x1=(1,0) x2=(0,1) x3=(1,1)
    assert m["merged"].shape == (2, 2, 2)


def test_architecture_numbers_come_from_complexity():
    d = F._arch_data(None)
    assert d["params"]["total"] == complexity.param_count(SwinConfig.preset("tiny")) == 28_288_354
    assert d["macs"]["total"] == complexity.model_macs(SwinConfig.preset("tiny"))
    assert "28,288,354 parameters" in F.alt_text("08_architecture")


@pytest.mark.parametrize("call", [
    lambda: F.fig_attention_mask(H=14, W=14, window_size=7, query=10),
    lambda: F.fig_shifted_windows(H=12, W=8, window_size=4),
    lambda: F.fig_architecture(SwinConfig.preset("nano")),
    lambda: F.fig_hierarchical_maps(SwinConfig.preset("nano"), vit_patch=4),
    lambda: F.fig_relative_position(window_size=2, query=(0, 0)),
])
def test_figures_accept_other_settings(call):
    fig = call()
    assert isinstance(fig, Figure)
    assert style.png_bytes(fig)[:4] == b"\x89PNG"


@pytest.mark.parametrize("call, exc, words", [
    (lambda: F.fig_patch_partition(patch_size=5), ValueError, "patch_size"),
    (lambda: F.fig_patch_partition(patch=(99, 0)), ValueError, "patch"),
    (lambda: F.fig_patch_partition(patch_size=4.0), TypeError, "patch_size"),
    (lambda: F.fig_window_attention(h=50), ValueError, "window_size"),
    (lambda: F.fig_shifted_windows(H=9), ValueError, "H"),
    (lambda: F.fig_attention_mask(query=16), ValueError, "query"),
    (lambda: F.fig_attention_mask(window=4), ValueError, "window"),
    (lambda: F.fig_relative_position(query=(3, 0)), ValueError, "query"),
    (lambda: F.fig_patch_merging(H=3), ValueError, "H"),
    (lambda: F.fig_architecture("tiny"), TypeError, "SwinConfig"),
    (lambda: F.fig_hierarchical_maps(vit_patch=0), ValueError, "vit_patch"),
    (lambda: F.make_figure("nope"), ValueError, "unknown figure"),
])
def test_figure_arguments_are_validated(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_markdown_and_show_helpers():
    md = F.figure_markdown("04_shifted_windows")
    assert md.startswith("![") and md.endswith("](../figures/04_shifted_windows.png)")
    html = F.show_figure("07_patch_merging").data
    assert 'alt="' in html and "data:image/png;base64," in html


def test_style_is_scoped_and_colour_safe():
    before = dict(matplotlib.rcParams)
    with style.use_style():
        assert matplotlib.rcParams["image.cmap"] == "cividis"
    assert matplotlib.rcParams["image.cmap"] == before["image.cmap"]
    assert len(set(style.REGION_COLORS)) == 9 and len(set(style.REGION_HATCHES)) == 9
    with pytest.raises(ValueError, match="path"):
        style.save_png(Figure(), "x.jpg")


def test_notebooks_embed_current_figures_with_their_alt_text():
    """Notebooks embed figures with figure_markdown(name): same file, same alt text as alt_text.json."""
    import re

    import nbformat

    pattern = re.compile(r"!\[([^\]]*)\]\((?:\.\./)?figures/([0-9a-z_]+)\.png\)")
    found = 0
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for alt, name in pattern.findall(cell.source):
                found += 1
                assert name in F.FIGURES, f"{path.name} embeds unknown figure {name}"
                assert (FIGDIR / f"{name}.png").exists(), f"{path.name}: figures/{name}.png is missing"
                assert alt == F.figure_markdown(name)[2:].split("](")[0], \
                    f"{path.name}: stale alt text for {name}; paste swin_edu.viz.figures.figure_markdown({name!r})"
    if not found:
        pytest.skip("no notebook embeds a figure yet")
