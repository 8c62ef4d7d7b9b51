"""The front door: the README's two commands, CI and the repository's hygiene."""
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ci_calls_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text()
    assert "make test" in readme and "make lab" in readme
    commands = [l.strip() for l in ci.splitlines() if l.strip() and not l.strip().startswith("#")]
    assert commands[-1] == "make test"
    assert os.access(ROOT / ".ci/run", os.X_OK)


def test_top_level_layout():
    for name in ["README.md", "environment.yml", "pyproject.toml", "Makefile", ".ci/run", "LICENSE", ".gitignore",
                 "notebooks", "swin_edu", "figures", "tests", "docs"]:
        assert (ROOT / name).exists(), name


def test_torch_pinned_to_the_cpu_build():
    make = (ROOT / "Makefile").read_text()
    env = (ROOT / "environment.yml").read_text()
    assert "TORCH_SPEC  ?= torch==2.13.0" in make and "torch==2.13.0" in env
    import torch
    if (ROOT / ".venv").exists() and pathlib.Path(torch.__file__).is_relative_to(ROOT / ".venv"):
        assert torch.__version__.startswith("2.13.0")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_make_lab_starts_jupyterlab_and_serves_the_course():
    """Run the README's `make lab` headless and ask the server for the notebooks folder once."""
    port, token = _free_port(), secrets.token_hex(16)
    args = f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token}"
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, last = time.time() + 90, None
        while time.time() < deadline:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/api/contents?content=1",
                                             headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    body = r.read().decode()
                break
            except OSError as e:
                last = e
                if proc.poll() is not None:
                    pytest.fail(f"make lab exited with {proc.returncode}: {proc.stdout.read().decode()[-2000:]}")
                time.sleep(1)
        else:
            pytest.fail(f"JupyterLab did not answer on port {port} within 90 s ({last})")
        assert '"type": "directory"' in body or '"type":"directory"' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
