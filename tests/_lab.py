"""Helpers for the tests (and tools/bench_mask_explorer.py) that sit in the student's seat: start the server
exactly as the README's `make lab` does, and drive JupyterLab in Debian's Chromium with Playwright.

Not a test module (its name starts with an underscore)."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SWIN_EDU_CHROMIUM", "/usr/bin/chromium")
# Playwright's own browser download is not reachable from every machine: Debian's Chromium, as root (see
# tools/install_browser.sh)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
#: JupyterLab user settings for the tests: every cell attached to the DOM (no virtual scrolling, so that every
#: image can be checked). No news or update checks: that is the lab's own setting (swin_edu/lab.py, written into
#: .venv-lab by `make lab`), which the tests check instead of setting it themselves.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_env(base: pathlib.Path) -> dict[str, str]:
    """Environment variables that keep a test server's settings, workspaces and runtime files in ``base``."""
    settings = base / "settings"
    for rel, data in LAB_SETTINGS.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(data))
    return {"JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"), "JUPYTER_CONFIG_DIR": str(base / "config")}


def start_make_lab(lab_dir: pathlib.Path, *, edition: str = "student", env: dict | None = None,
                   timeout: float = 900, lang: str = "en"):
    """Run ``make lab`` (the README's command; ``lang="zh"``: ``make lab COURSE_LANG=zh``) headless on a free port
    with a token, on the workspace ``lab_dir`` (``LAB_DIR``: a developer's own lab/ is never touched). Returns
    (proc, url, token, log)."""
    # the first `make lab` creates .venv-lab: one process at a time (pytest-xdist runs several of these tests)
    lock = pathlib.Path(tempfile.gettempdir()) / f"swin-edu-lab-setup-{hashlib.sha1(bytes(ROOT)).hexdigest()[:12]}.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        setup = subprocess.run(["make", "-s", "lab-setup"], cwd=ROOT, capture_output=True, text=True, check=False,
                               env=dict(os.environ, **(env or {})), timeout=timeout)
    if setup.returncode != 0:
        raise RuntimeError(f"make lab-setup failed:\n{(setup.stdout + setup.stderr)[-3000:]}")
    port, token = free_port(), secrets.token_hex(16)
    # port, token, no browser; and window.jupyterapp for Playwright to run cells and read the notebook's model
    args = (f"--no-browser --port={port} --ServerApp.port_retries=0 --ServerApp.ip=127.0.0.1 "
            f"--IdentityProvider.token={token} --LabApp.expose_app_in_browser=True")
    lab_dir.parent.mkdir(parents=True, exist_ok=True)
    log = lab_dir.parent / f"make-lab-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["make", "-s", "lab", f"EDITION={edition}", f"LAB_DIR={lab_dir}",
                                 f"LAB_ARGS={args}", f"COURSE_LANG={lang}"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=dict(os.environ, **(env or {})))
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout  # the first run creates .venv-lab
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
            return proc, url, token, log
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"make lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}") from None
            time.sleep(1)
    stop(proc)
    raise RuntimeError(f"make lab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop(proc) -> None:
    """Stop the process group of ``make lab`` (the server shuts its kernels down)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!k && k.status === 'idle'; }"""
ALL_RUN = """() => { const w = window.jupyterapp.shell.currentWidget;
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    if (!k || k.status !== 'idle') return false;
    const cells = w.content.model.cells;
    for (let i = 0; i < cells.length; i++) {
      const c = cells.get(i);
      if (c.type === 'code' && (c.executionCount === null || c.executionCount === undefined)) return false;
    }
    return true; }"""
ERRORS = """() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells; const out = [];
    for (let i = 0; i < cells.length; i++) {
      const c = cells.get(i);
      if (c.type !== 'code') continue;
      for (const o of c.toJSON().outputs || []) if (o.output_type === 'error') out.push([i, o.ename, o.evalue]);
    }
    return out; }"""


def open_notebook(page, url: str, token: str, name: str, timeout_ms: int = 120_000) -> None:
    """Open ``name`` (a fresh workspace: nothing else open) and wait for its kernel."""
    page.goto(f"{url}/lab/tree/{name}?reset&token={token}", timeout=timeout_ms)
    page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)", timeout=timeout_ms)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_ms)
    page.wait_for_function(KERNEL_IDLE, timeout=timeout_ms)


def set_cell_source(page, index: int, source: str) -> None:
    """Replace the source of cell ``index`` of the current notebook, as typing would."""
    page.evaluate("""([i, text]) => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
        cells.get(i).sharedModel.setSource(text); }""", [index, source])


def run_cell(page, index: int, timeout_ms: int = 300_000) -> str:
    """Run cell ``index`` of the current notebook (selected, then Run Selected Cell), wait for it; return the text
    of its outputs."""
    before = page.evaluate("(i) => window.jupyterapp.shell.currentWidget.content.model.cells.get(i).executionCount",
                           index)
    page.evaluate("""(i) => { const nb = window.jupyterapp.shell.currentWidget.content; nb.activeCellIndex = i;
        return window.jupyterapp.commands.execute('notebook:run-cell'); }""", index)
    page.wait_for_function("""([i, before]) => { const w = window.jupyterapp.shell.currentWidget;
        const k = w.sessionContext.session && w.sessionContext.session.kernel;
        const n = w.content.model.cells.get(i).executionCount;
        return !!k && k.status === 'idle' && n !== null && n !== undefined && n !== before; }""",
                           arg=[index, before], timeout=timeout_ms, polling=250)
    return cell_text(page, index)


def cell_text(page, index: int) -> str:
    """The text of cell ``index``'s outputs as the model holds them (streams and text/plain)."""
    return page.evaluate("""(i) => { const c = window.jupyterapp.shell.currentWidget.content.model.cells.get(i);
        return (c.toJSON().outputs || []).map(o => [].concat(o.text || (o.data && o.data['text/plain']) || [])
                                                     .join('')).join('\\n'); }""", index)


def save(page, timeout_ms: int = 60_000) -> None:
    """Save the current notebook (File > Save) and wait until it is clean."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=timeout_ms)


def run_all(page, timeout_ms: int = 1_200_000) -> None:
    """Run every cell and wait until each code cell has run and the kernel is idle (notebook 08 trains for
    minutes: 310 s under nbclient on a loaded 2-core machine, more in the browser)."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_RUN, timeout=timeout_ms, polling=500)


def shutdown_kernels(url: str, token: str) -> None:
    """End every session of the server (the notebooks stay as they are on disk)."""
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api/sessions", headers=headers), timeout=10) as r:
        sessions = json.loads(r.read())
    for s in sessions:
        req = urllib.request.Request(f"{url}/api/sessions/{s['id']}", method="DELETE", headers=headers)
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=10)
