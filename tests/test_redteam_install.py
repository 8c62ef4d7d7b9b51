"""Item 1 of issue #26: however the package is installed, the stubbed copy is the only ``swin_edu`` that a graded
cell can import. The attack (tests/_install_attack.py) takes the copy off ``sys.path``, forgets the imported
modules and imports the package again from every site folder of the interpreter; it must find nothing.

Three install modes: editable (the development environment these tests run in), a wheel (``pip wheel --no-deps .``
installed into a fresh virtual environment under /tmp, torch from the machine's local wheels) and the container's
layout (the package installed in the base interpreter's own site-packages, not in a virtual environment, as
``classroom/Containerfile`` does: emulated in a private mount namespace that shows the wheel environment's
site-packages in place of the base interpreter's). Plus the logic, fast: which copies get covered.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "_install_attack.py"
needs_sandbox = [
    pytest.mark.slow,
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]


def _attack(python: str, *, prefix: list[str] = ()) -> dict:
    proc = subprocess.run([*prefix, python, str(SCRIPT)], capture_output=True, text=True, timeout=900,
                          cwd="/", env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# wheel_env: the fresh environment with this checkout's wheel (tests/conftest.py)


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_editable_install():
    result = _attack(sys.executable)
    assert str(ROOT) in result["package"]
    assert not result["passed"], result["message"]


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_wheel_install(wheel_env):
    result = _attack(str(wheel_env))
    assert "site-packages" in result["package"] and result["prefix"] != result["base_prefix"]
    assert not result["passed"], result["message"]
    assert result["masks"] and all("site-packages" in m for m in result["masks"])


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("bwrap") is None or shutil.which("unshare") is None or os.geteuid() != 0,
                    reason="needs bubblewrap, unshare and root (a private mount namespace)")
def test_container_layout(wheel_env):
    """The package in the base interpreter's own site-packages (python:3.11-slim's /usr/local/lib/python3.11/
    site-packages in the container): here the base interpreter of the wheel environment, which sees that
    environment's site-packages as its own in a private mount namespace (nothing changes outside it)."""
    venv = wheel_env.parent.parent
    site_packages = next(venv.glob("lib/python3*/site-packages"))
    base = pathlib.Path(sys.base_prefix)
    base_site = pathlib.Path(sysconfig.get_path("purelib", vars={"base": str(base), "platbase": str(base)}))
    base_python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    assert base_site.is_dir(), base_site
    shell = f"mount --bind {site_packages} {base_site} && exec {base_python} {SCRIPT}"
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", shell], capture_output=True,
                          text=True, timeout=900, cwd="/")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["prefix"] == result["base_prefix"] and result["package"].startswith(str(base_site))
    assert not result["passed"], result["message"]


# ---------------------------------------------------------------------------------------------- the logic
def test_an_installed_copy_inside_a_bind_is_covered(tmp_path, monkeypatch):
    from swin_edu.classroom.bwrap import installed_packages

    site = tmp_path / "prefix" / "lib" / "python3.11" / "site-packages"
    (site / "swin_edu").mkdir(parents=True)
    (site / "swin_edu" / "__init__.py").write_text("")
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    assert str(site / "swin_edu") in installed_packages([str(tmp_path / "prefix")])
    assert str(site / "swin_edu") not in installed_packages([str(tmp_path / "elsewhere")])
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))  # a site folder not on sys.path (the container)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(site)])
    assert str(site / "swin_edu") in installed_packages([str(tmp_path / "prefix")])


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_the_sandbox_refuses_to_start_when_it_would_show_the_package(tmp_path, monkeypatch):
    """Defence in depth: a copy the grader does not know of (here: one it is told not to cover) makes the
    sandbox's own probe refuse to grade."""
    from swin_edu.classroom import bwrap

    site = tmp_path / "lib" / "python3.11" / "site-packages"
    shutil.copytree(ROOT / "swin_edu", site / "swin_edu", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(bwrap, "installed_packages", lambda visible, name="swin_edu": [])
    monkeypatch.setattr(bwrap.Sandbox, "_system_binds", lambda self: [("/usr", "/usr"), (str(tmp_path), str(tmp_path)),
                                                                       *[(p, p) for p in {sys.base_prefix, sys.prefix}]])
    monkeypatch.setenv("PYTHONPATH", "")
    original = bwrap._FIND_PACKAGE
    monkeypatch.setattr(bwrap, "_FIND_PACKAGE", f"import sys; sys.path.append({str(site)!r})\n" + original)
    with pytest.raises(bwrap.SandboxUnavailable, match="could import the full package"):
        bwrap.Sandbox()
