#!/usr/bin/env python3
"""How fast the mask explorer answers, measured in Chromium: time from the student's input (a key on a slider,
a click on a token) to the next painted picture.

Starts the server exactly as `make lab` does (on a private workspace), opens the student edition's notebook 03,
runs it, then, in the page, times N changes of each kind: a listener on the document (capture phase) takes the
time of the keydown / mousedown, a MutationObserver sees the explorer's view redrawn (its data-version), and the
next animation frame closes the measurement (the new picture is painted). Prints the medians and writes them,
with the machine's load, to docs/mask_explorer_latency.md (``--out``). Not a test: timings depend on the machine.

    flock /tmp/swin-edu-bench.lock .venv/bin/python tools/bench_mask_explorer.py
"""
from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from _lab import (  # noqa: E402  (the tests' helpers: the same server and browser as the browser test)
    CHROMIUM,
    CHROMIUM_ARGS,
    lab_env,
    open_notebook,
    run_all,
    shutdown_kernels,
    start_make_lab,
    stop,
)

LISTEN = """() => {
    window.__lat = []; window.__t0 = null;
    const view = document.querySelector('.swin-mask-root');
    const start = () => { window.__t0 = performance.now(); };
    document.addEventListener('keydown', start, true);
    document.addEventListener('mousedown', start, true);
    new MutationObserver(() => {
        if (window.__t0 === null) return;
        const t0 = window.__t0; window.__t0 = null;
        requestAnimationFrame(() => window.__lat.push(performance.now() - t0));
    }).observe(view, {attributes: true, attributeFilter: ['data-version']});
}"""
CLICK_AT = """([panel, row, col]) => {
    const svg = document.querySelector(`.swin-mask-picture svg[data-panel="${panel}"]`);
    const cell = Number(svg.dataset.cell), pt = svg.createSVGPoint();
    pt.x = (col + 0.5) * cell; pt.y = (row + 0.5) * cell;
    const p = pt.matrixTransform(svg.getScreenCTM());
    return [p.x, p.y]; }"""


def _measure(page, n: int, act) -> list[float]:
    page.evaluate("() => { window.__lat = []; }")
    for i in range(n):
        act(i)
        page.wait_for_function(f"() => window.__lat.length >= {i + 1}", timeout=30_000)
    return page.evaluate("() => window.__lat")


def _slider(page, css: str, key: str) -> None:
    page.locator(f".swin-mask-{css} .noUi-handle").first.focus()
    page.keyboard.press(key)


def run(n: int) -> dict:
    from playwright.sync_api import sync_playwright

    results = {}
    with tempfile.TemporaryDirectory(prefix="swin-edu-bench-") as tmp:
        base = pathlib.Path(tmp)
        proc, url, token, _ = start_make_lab(base / "lab", env=lab_env(base))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                open_notebook(page, url, token, "03_shifted_windows.ipynb")
                run_all(page)
                page.locator(".swin-mask").first.scroll_into_view_if_needed()
                page.evaluate(LISTEN)
                _measure(page, 3, lambda i: _slider(page, "query", "ArrowRight" if i % 2 == 0 else "ArrowLeft"))
                results["8x8 map, M=4: query slider (arrow key)"] = _measure(
                    page, n, lambda i: _slider(page, "query", "ArrowLeft" if i % 2 == 0 else "ArrowRight"))
                tokens = [("map", 2, 5), ("map", 6, 1)]
                results["8x8 map, M=4: click a token of the map"] = _measure(
                    page, n, lambda i: page.mouse.click(*page.evaluate(CLICK_AT, list(tokens[i % 2]))))
                results["8x8 map, M=4: window slider (arrow key)"] = _measure(
                    page, n, lambda i: _slider(page, "window", "ArrowLeft" if i % 2 == 0 else "ArrowRight"))
                for css in ("H", "W"):  # the largest map the explorer offers
                    _measure(page, 1, lambda i, css=css: _slider(page, css, "End"))
                _measure(page, 1, lambda i: _slider(page, "window-size", "End"))  # M = 12
                _measure(page, 1, lambda i: _slider(page, "shift-size", "Home"))
                for _ in range(6):
                    _measure(page, 1, lambda i: _slider(page, "shift-size", "ArrowRight"))  # s = 6
                state = page.locator(".swin-mask-picture").first.get_attribute("data-state")
                assert state.startswith("64x64/M12/s6/"), state
                results["64x64 map, M=12: query slider (arrow key)"] = _measure(
                    page, n, lambda i: _slider(page, "query", "ArrowLeft" if i % 2 == 0 else "ArrowRight"))
                browser.close()
        finally:
            shutdown_kernels(url, token)
            stop(proc)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=40, help="changes per kind (default 40)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "mask_explorer_latency.md"))
    args = parser.parse_args(argv)
    if args.n < 3:
        parser.error(f"-n must be at least 3, got {args.n}")
    load_before = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    results = run(args.n)
    load_after = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    rows = []
    for kind, times in results.items():
        q = statistics.quantiles(times, n=10)
        rows.append(f"| {kind} | {len(times)} | {statistics.median(times):.0f} | {q[-1]:.0f} | {max(times):.0f} |")
    table = "\n".join(["| change | n | median ms | p90 ms | max ms |", "|---|---|---|---|---|", *rows])
    print(table)
    text = f"""# The mask explorer's latency, measured in Chromium

`tools/bench_mask_explorer.py` ({datetime.date.today().isoformat()}): the server started as `make lab` does,
the student edition's notebook 03 run in headless Chromium (Debian's {CHROMIUM}) at 1440x900, then for each
kind of change the time from the input event (keydown on a slider handle, mousedown on a token) to the first
animation frame after the explorer's view was redrawn: the kernel's round trip, the SVG built in Python, and
the browser's layout and paint.

{table}

Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}; load
(`uptime`) before: `{load_before}`, after: `{load_after}` (the page and the kernel themselves add about 1; a
higher load means other work shared the cores, and the figures are then upper bounds).

Run it again with `flock /tmp/swin-edu-bench.lock .venv/bin/python tools/bench_mask_explorer.py`.
"""
    pathlib.Path(args.out).write_text(text, encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
