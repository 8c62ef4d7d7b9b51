"""The explorers in a real browser: JupyterLab on localhost, driven by headless Chromium via Playwright.

Opens tests/notebooks/widgets_demo.ipynb, runs all cells, waits for the four widgets to render, moves
a slider of each with the keyboard and checks that the picture (and the printed numbers) changed;
for the mask explorer the two screenshots are compared pixel by pixel.

Needs Debian's Chromium at /usr/bin/chromium (``tools/install_browser.sh`` installs it; Playwright's
own browser download is not used) or a path in ``SWIN_EDU_CHROMIUM``; skipped otherwise. With
``SWIN_EDU_SAVE_SCREENSHOT=1`` the mask explorer's screenshot is also copied to docs/img/mask_explorer.png.
"""
from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "tests" / "notebooks" / "widgets_demo.ipynb"
CHROMIUM = os.environ.get("SWIN_EDU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no Chromium at {CHROMIUM}: run tools/install_browser.sh (installs Debian's "
                              f"chromium) or set SWIN_EDU_CHROMIUM"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A private JupyterLab server on localhost with the demo notebook; killed at the end."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    settings = base / "settings"
    # attach every cell to the DOM (no virtual scrolling) and never fetch news or updates
    for rel, data in {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
                      "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                          {"fetchNews": "false", "checkForUpdates": False}}.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(data))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               JUPYTER_DATA_DIR=str(base / "data"), MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
           f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(base / "jupyterlab.log", "w")  # noqa: SIM115 (closed in the finally below)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{(base / 'jupyterlab.log').read_text()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in 60 s:\n{(base / 'jupyterlab.log').read_text()}")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", token, base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server shuts its kernel down
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()


def _image_ready(css: str) -> str:
    return f"() => {{ const i = document.querySelector('img.{css}'); return !!i && i.complete && i.naturalWidth > 0; }}"


def _move_slider(page, explorer_css: str, slider_css: str, key: str) -> tuple[str, str]:
    """Press ``key`` on a slider's handle; wait for the explorer's image to be replaced. Returns the info
    text before and after."""
    img = f"img.{explorer_css}-image"
    info = page.locator(f".{explorer_css}-info")
    before_text, before_src = info.inner_text(), page.locator(img).get_attribute("src")
    handle = page.locator(f".{explorer_css}-{slider_css} .noUi-handle")
    handle.focus()
    page.keyboard.press(key)
    page.wait_for_function(f"(old) => document.querySelector('{img}').src !== old", arg=before_src,
                           timeout=30_000)
    page.wait_for_function(_image_ready(f"{explorer_css}-image"), timeout=30_000)
    page.wait_for_function("([sel, old]) => document.querySelector(sel).innerText !== old",
                           arg=[f".{explorer_css}-info", before_text], timeout=30_000)
    return before_text, info.inner_text()


def _pixels(png: bytes):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_widgets_render_and_react_in_jupyterlab(lab, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, token, _ = lab
    shots = tmp_path
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{url}/lab/tree/{NOTEBOOK.name}?token={token}", timeout=60_000)
            page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)", timeout=60_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_function(
                """() => { const w = window.jupyterapp.shell.currentWidget;
                           const k = w && w.sessionContext && w.sessionContext.session
                                     && w.sessionContext.session.kernel;
                           return !!k && k.status === 'idle'; }""", timeout=60_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            for css in ("swin-mask-image", "swin-complexity-image", "swin-patch-image", "swin-relbias-image"):
                page.wait_for_function(_image_ready(css), timeout=90_000)
            # the notebook ends with the mask explorer on the seed's example: window 3, query 5
            page.wait_for_function(
                "() => (document.querySelector('.swin-mask-info') || {innerText: ''}).innerText"
                ".includes('query 5 = (1, 1)')", timeout=60_000)
            page.wait_for_function(
                """() => { const w = window.jupyterapp.shell.currentWidget;
                           return w.sessionContext.session.kernel.status === 'idle'; }""", timeout=60_000)
            assert "It may attend to 4 of 16 keys" in page.locator(".swin-mask-info").inner_text()

            mask_img = page.locator("img.swin-mask-image")
            before = mask_img.screenshot(path=str(shots / "mask_before.png"))
            widget_shot = page.locator(".swin-mask").screenshot(path=str(shots / "mask_explorer.png"))

            _, new = _move_slider(page, "swin-mask", "query", "ArrowRight")
            assert "query 6 = (1, 2)" in new and "region 5" in new, new
            after = mask_img.screenshot(path=str(shots / "mask_after.png"))
            a, b = _pixels(before), _pixels(after)
            assert a.shape == b.shape
            changed = (abs(a - b).sum(axis=-1) > 30).mean()
            assert changed > 0.005, f"only {changed:.2%} of the mask picture changed"

            # the three other explorers react too
            _, new = _move_slider(page, "swin-complexity", "M", "ArrowRight")
            assert "hw/M² = 49.00" in new, new  # M: 7 -> 8
            _, new = _move_slider(page, "swin-patch", "col", "ArrowRight")
            assert "Patch (22, 27)" in new, new
            _, new = _move_slider(page, "swin-relbias", "query-col", "ArrowLeft")
            assert "Query (1, 1) = token 4" in new, new
            assert not errors, errors
        finally:
            browser.close()
    if os.environ.get("SWIN_EDU_SAVE_SCREENSHOT") == "1":
        target = ROOT / "docs" / "img" / "mask_explorer.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(widget_shot)
