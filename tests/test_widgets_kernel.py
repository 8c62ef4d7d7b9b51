"""The explorers in a real Jupyter kernel: execute tests/notebooks/widgets_demo.ipynb with nbclient and
read back what each widget shows (the printed results, the widget views, and the saved widget state:
the PNG in each Image widget and the text in each HTML widget)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).parent / "notebooks" / "widgets_demo.ipynb"
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit tests/notebooks/widgets_demo.ipynb without outputs"
    cwd = tmp_path_factory.mktemp("kernel")
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", store_widget_state=True,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    reports = {}
    views = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", "".join(out.get("traceback", []))
            if out.output_type == "stream" and out.name == "stdout":
                for line in out.text.splitlines():
                    data = json.loads(line)
                    reports[data["widget"]] = data
            if out.output_type == "display_data" and VIEW in out.data:
                views.append(out.data[VIEW]["model_id"])
    state = nb.metadata["widgets"][STATE]["state"]
    return reports, views, state


def _models(state, model_name, css):
    return [m for m in state.values()
            if m["model_name"] == model_name and css in m["state"].get("_dom_classes", [])]


def _png(state, css) -> bytes:
    (model,) = _models(state, "ImageModel", css)
    (buf,) = model["buffers"]
    assert buf["path"] == ["value"] and buf["encoding"] == "base64"
    return base64.b64decode(buf["data"])


@pytest.mark.slow
@pytest.mark.notebook
def test_every_widget_is_displayed_as_a_live_view(executed):
    _, views, state = executed
    assert len(views) == 4
    classes = [tuple(state[v]["state"]["_dom_classes"]) for v in views]
    assert classes == [("swin-mask",), ("swin-complexity",), ("swin-patch",), ("swin-relbias",)]


@pytest.mark.slow
@pytest.mark.notebook
def test_mask_explorer_in_the_kernel(executed):
    reports, _, state = executed
    r = reports["mask"]
    assert r["message"] is None
    assert r["allowed"] == [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert r["positions"] == [[6, 6], [6, 7], [7, 6], [7, 7]]
    assert reports["mask-padded"]["state"]["window"] == 8
    assert reports["mask-padded"]["positions"] == r["positions"]
    assert reports["mask-invalid"]["allowed"] is None
    assert reports["mask-invalid"]["message"].startswith("Shift s=4 must be smaller than the window M=4")
    assert reports["mask-click"]["state"]["window"] == 3 and reports["mask-click"]["state"]["query"] == 6
    assert reports["mask-final"]["message"] is None
    # what the kernel's view holds is exactly what the explorer draws for that state
    from swin_edu.viz.widgets import MaskExplorer

    final = reports["mask-final"]["state"]
    (view,) = [m for m in state.values() if "swin-mask-picture-view" in m["state"].get("_dom_classes", [])]
    shown = view["state"]["html"]
    assert len(shown) == reports["mask-final"]["n_html"] and shown == MaskExplorer(**final).html
    assert "It may attend to 4 of 16 keys" in shown and 'data-state="8x8/M4/s2/cyclic/w3/q5"' in shown
    (query,) = _models(state, "IntSliderModel", "swin-mask-query")
    assert query["state"]["value"] == 5 and query["state"]["max"] == 15


@pytest.mark.slow
@pytest.mark.notebook
def test_complexity_patch_and_bias_explorers_in_the_kernel(executed):
    reports, _, state = executed
    cx = reports["complexity"]
    assert cx["msa"]["qk"] + cx["msa"]["av"] == 1_888_223_232
    assert cx["wmsa"]["qk"] + cx["wmsa"]["av"] == 29_503_488
    assert "64.00× for the attention terms" in cx["text"]
    p = reports["patch"]
    assert p["tokens_shape"] == [56, 56, 48] and len(p["vector"]) == 6
    rb = reports["relbias"]
    assert rb["index_row"] == [19, 18, 17, 14, 13, 12, 9, 8, 7]
    assert rb["bias"][5] == -2.33  # the query's own offset (0, 0) reads table entry 12
    for css in ("swin-complexity-image", "swin-patch-image", "swin-relbias-image"):
        assert _png(state, css)[:8] == b"\x89PNG\r\n\x1a\n"
