"""The front door: the README's two commands, CI, the student's lean `make lab`, the torch build, the one public
repository URL behind Colab and Binder, and a wheel installed outside the checkout (what Colab does)."""
import contextlib
import io
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
import zipfile

import pytest
import tomllib
from _lab import lab_env, start_make_lab, stop

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
URL = PYPROJECT["project"]["urls"]["Repository"]
OWNER_REPO = URL.removeprefix("https://github.com/")
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def _nb(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _src(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _colab_cell(path: pathlib.Path) -> str:
    return _src(next(c for c in _nb(path)["cells"] if c["cell_type"] == "code"))


# ---------------------------------------------------------------------------------------------- the front door
def test_ci_calls_the_readme_test_command():
    """Two tiers (issue #28, docs/testing.md): the README names both; CI runs the full one."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text()
    assert "make test " in readme and "make test-all" in readme and "make lab" in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert commands[-1] == "make test-all"
    assert os.access(ROOT / ".ci/run", os.X_OK)
    make = (ROOT / "Makefile").read_text()
    fast = make.split("\ntest: setup\n", 1)[1].split("\n\n", 1)[0]
    full = make.split("\ntest-all: setup\n", 1)[1].split("\n\n", 1)[0]
    assert '-m "not slow"' in fast and "install_browser" not in fast, fast
    assert "--durations=25" in full and '-m "' not in full and "install_browser.sh" in full and \
        "install_sandbox.sh" in full, full


def test_top_level_layout():
    for name in ["README.md", "environment.yml", "pyproject.toml", "Makefile", ".ci/run", "LICENSE", ".gitignore",
                 "notebooks", "student", "swin_edu", "figures", "tests", "docs", "binder"]:
        assert (ROOT / name).exists(), name


def test_readme_says_what_a_student_and_an_instructor_run():
    readme = (ROOT / "README.md").read_text()
    for command in ("make lab", "make test", "make lab EDITION=solutions", "make student-edition", "make student"):
        assert command in readme, command
    assert "student/" in readme and "lab/" in readme


# ---------------------------------------------------------------------------------------------- lean lab
def test_jupyterlab_is_no_hard_dependency():
    deps = " ".join(PYPROJECT["project"]["dependencies"])
    for server_package in ("jupyterlab", "notebook", "nbgrader", "pytest", "transformers", "playwright"):
        assert server_package not in deps, server_package
    assert PYPROJECT["project"]["optional-dependencies"]["lab"] == ["jupyterlab>=4.0"]


def test_torch_index_picks_the_cpu_build_only_where_it_helps(monkeypatch):
    import importlib.util
    import platform
    import shutil as sh

    spec = importlib.util.spec_from_file_location("torch_index", ROOT / "tools" / "torch_index.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    def run(system, gpu, resolves):
        monkeypatch.setattr(platform, "system", lambda: system)
        monkeypatch.setattr(sh, "which", lambda name: "/usr/bin/nvidia-smi" if gpu else None)

        def lookup(host, port):
            if not resolves:
                raise socket.gaierror(-2, "Name or service not known")
            return []
        monkeypatch.setattr(socket, "getaddrinfo", lookup)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert mod.main() == 0
        return out.getvalue().strip()

    assert run("Linux", gpu=False, resolves=True) == "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert run("Linux", gpu=False, resolves=False) == ""   # e.g. this CI machine: its local CPU wheel is used
    assert run("Linux", gpu=True, resolves=True) == ""     # PyPI's Linux wheel is the CUDA build
    assert run("Darwin", gpu=False, resolves=True) == ""   # PyPI's macOS wheel is CPU/MPS already
    make = (ROOT / "Makefile").read_text()
    assert "TORCH_INDEX ?= $(shell $(PYTHON) tools/torch_index.py)" in make
    assert 'pip install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"' in make and "TORCH_SPEC  ?= torch==2.13.0" in make


@pytest.mark.slow
def test_make_lab_serves_the_student_edition_from_a_lean_environment(tmp_path):
    """`make lab` on this checkout: a lean .venv-lab, the student edition copied into the workspace, a server
    without nbgrader's complaints."""
    lab = tmp_path / "lab"
    proc, url, token, log = start_make_lab(lab, env=lab_env(tmp_path))
    try:
        req = urllib.request.Request(f"{url}/api/contents?content=1", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            listing = json.loads(r.read())
        assert sorted(i["name"] for i in listing["content"] if i["type"] == "notebook") == NOTEBOOKS
        with urllib.request.urlopen(f"{url}/lab?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        stop(proc)
    text = log.read_text()
    assert "No nbgrader_config.py" not in text and "nbgrader" not in text.lower(), text[-2000:]
    assert (lab / "03_shifted_windows.ipynb").read_bytes() == (ROOT / "student" / "03_shifted_windows.ipynb").read_bytes()
    lab_python = ROOT / ".venv-lab" / "bin" / "python"
    installed = subprocess.run([str(lab_python), "-m", "pip", "list", "--format=json"], capture_output=True,
                               text=True, check=True).stdout
    names = {p["name"].lower() for p in json.loads(installed)}
    assert {"jupyterlab", "swin-edu", "torch", "anywidget"} <= names
    assert not names & {"nbgrader", "pytest", "transformers", "playwright", "ruff"}, names


# ---------------------------------------------------------------------------------------------- Colab and Binder
def test_one_place_names_the_public_repository():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", URL), URL
    readme = (ROOT / "README.md").read_text()
    colab = re.findall(r"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/main/([\w./-]+)", readme)
    # one Colab link per notebook of each edition, English (student/) and Chinese (student/zh/)
    assert sorted(path for _, path in colab) == sorted([f"student/{n}" for n in NOTEBOOKS]
                                                      + [f"student/zh/{n}" for n in NOTEBOOKS])
    for repo, path in colab:
        assert repo == OWNER_REPO and path.startswith("student/") and (ROOT / path).is_file(), (repo, path)
    binder = re.findall(r"mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)/main\?urlpath=([\w/%.-]+)", readme)
    assert binder and all(repo == OWNER_REPO and "student" in path for repo, path in binder), binder
    assert any("student/zh/" in path for _, path in binder), "the README opens the Chinese edition in Binder too"
    for folder in ("notebooks", "student"):
        for name in NOTEBOOKS:
            assert f'REPO = "{URL}"' in _colab_cell(ROOT / folder / name), (folder, name)
    # no other copy of a GitHub URL of the course anywhere in the tracked text files
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in tracked:
        if rel.endswith((".py", ".md", ".yml", ".toml", ".ipynb", ".txt", "postBuild")):
            for other in re.findall(r"github\.com/swin-edu/[\w.-]+", (ROOT / rel).read_text(errors="ignore")):
                assert other == "github.com/" + OWNER_REPO, (rel, other)


@pytest.mark.parametrize("folder", ["notebooks", "student"])
def test_colab_install_cell_installs_without_server_packages_and_never_raises(folder, monkeypatch, capsys):
    for name in NOTEBOOKS:
        cell = _colab_cell(ROOT / folder / name)
        assert cell.startswith("import sys\nif \"google.colab\" in sys.modules:"), name
        assert "check=True" not in cell and "jupyterlab" not in cell and "[lab]" not in cell
        assert not re.search(r"\b(torch|numpy)\s*[=<>~]", cell)  # never re-pins torch or numpy
    cell = _colab_cell(ROOT / folder / NOTEBOOKS[3])
    calls = []

    class Failed:
        returncode, stdout, stderr = 1, "", "ERROR: could not reach github.com"

    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd) or Failed())
    exec(compile(cell, "colab-cell", "exec"), {})  # noqa: S102  not on Colab: nothing happens
    assert calls == []
    monkeypatch.setitem(sys.modules, "google.colab", object())
    exec(compile(cell, "colab-cell", "exec"), {})  # noqa: S102  on Colab, pip fails: a message, no exception
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", f"swin-edu @ git+{URL}"]]
    out = capsys.readouterr().out
    assert "could not reach github.com" in out and "failed" in out and "Binder" in out


def test_binder_environment_is_buildable_and_opens_the_student_edition():
    env = (ROOT / "binder" / "environment.yml").read_text()
    post = (ROOT / "binder" / "postBuild").read_text()
    entries = [line.strip().lstrip("- ").strip() for line in env.splitlines() if line.strip().startswith("- ")]
    assert not any(e.startswith(("-e", ".[")) or e == "." for e in entries), entries
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in env and "torch==2.13.0" in env
    # the package, not editable; the CJK font that the Chinese edition's figures need comes from Debian
    # (binder/apt.txt: Noto Sans CJK, issue #25 item 19)
    assert "python -m pip install" in post and re.search(r"pip install[^\n]* \.(\s|$)", post)
    apt = [line.strip() for line in (ROOT / "binder" / "apt.txt").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    assert apt == ["fonts-noto-cjk"]
    assert os.access(ROOT / "binder" / "postBuild", os.X_OK)
    assert "jupyterlab" not in post


# ---------------------------------------------------------------------------------------------- like Colab
@pytest.mark.slow
@pytest.mark.notebook
def test_wheel_outside_the_checkout_runs_notebooks_03_07_and_08(tmp_path, wheel_env):
    """What Colab does: the package installed from the repository (here: a wheel built from it, tests/conftest.py's
    wheel_env) into an environment that has never seen the checkout, and a student notebook opened alone in another
    folder: 03 (figures embedded, the explorer), 07 (finds no my_swin.py, says how to bring it, runs the shipped
    digits checkpoint from the wheel), 08 (reads the recorded results from the wheel). Every file the package
    ships besides its code (checkpoints, results, class names, the widgets' JavaScript) is in the wheel."""
    python, run = wheel_env, tmp_path / "colab"
    venv = python.parent.parent
    run.mkdir()
    for name in ("03_shifted_windows.ipynb", "07_pytorch_model.ipynb", "08_train_tiny_swin.ipynb"):
        shutil.copyfile(ROOT / "student" / name, run / name)
    script = (
        "import json, sys, nbformat, nbclient, swin_edu\n"
        "print(json.dumps({'swin_edu': swin_edu.__file__}))\n"
        "for name in sys.argv[1:]:\n"
        "    nb = nbformat.read(name, as_version=4)\n"
        "    nbclient.NotebookClient(nb, timeout=900, kernel_name='python3', allow_errors=True).execute()\n"
        "    errors = [o.get('ename', '') + ': ' + o.get('evalue', '') for c in nb.cells if c.cell_type == 'code'\n"
        "              for o in c.get('outputs', []) if o.get('output_type') == 'error']\n"
        "    text = ''.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []))\n"
        "    print(json.dumps({'name': name, 'errors': errors, 'no_results': 'no recorded results' in text,\n"
        "                      'alone': 'upload my_swin.py' in text and 'held-out test images of digits' in text}))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SWIN_EDU_MINE")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", JUPYTER_DATA_DIR=str(tmp_path / "jd"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "jc"), MPLBACKEND="Agg")
    proc = subprocess.run([str(python), "-c", script, *sorted(p.name for p in run.glob("*.ipynb"))], cwd=run,
                          env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert pathlib.Path(lines[0]["swin_edu"]).is_relative_to(venv), lines[0]  # the wheel, not the checkout
    for result in lines[1:]:
        assert result["errors"] == [], result
    assert not any(r["no_results"] for r in lines[1:]), lines  # notebook 08 read the results from the wheel
    assert [r["alone"] for r in lines[1:]] == [False, True, False], lines   # 07 alone: the thread's one line
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "swin_edu").rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    (wheel,) = (venv.parent / "dist").glob("swin_edu-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert shipped and shipped <= set(zf.namelist()), shipped - set(zf.namelist())


def test_the_readme_python_examples_run_and_their_numbers_hold(tmp_path, monkeypatch):
    """The package examples of the README run as written (the checkpoint file is one this test writes: nothing is
    downloaded), and the numbers they state are the package's."""
    import torch

    from swin_edu.config import SwinConfig
    from swin_edu.model import SwinTransformer

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert len(blocks) == 3, "the README shows the numpy package, the PyTorch model and the trained weights"
    numbers = dict(re.findall(r"^(complexity\.\w+\(cfg\))\s+# ([\d_]+)", blocks[0], flags=re.M))
    assert len(numbers) == 2, blocks[0]
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    for expr, value in numbers.items():
        assert eval(expr, scope) == int(value), expr  # noqa: S307
    torch.manual_seed(0)
    torch.save(SwinTransformer(SwinConfig.preset("tiny")).state_dict(), tmp_path / "swin_tiny_patch4_window7_224.pth")
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[1], "README.md", "exec"), scope)  # noqa: S102
    assert scope["logits"].shape == (8, 1000) and torch.isfinite(scope["logits"]).all()
    with torch.inference_mode():
        plain = scope["model"](torch.zeros(1, 3, 224, 224))
        fast = scope["fast"](torch.zeros(1, 3, 224, 224))
    # fp32, same weights, a different order of the same sums: differences of a few ulp of logits of size ~1
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-4)
    weights_scope: dict = {}
    exec(compile(blocks[2], "README.md", "exec"), weights_scope)  # noqa: S102 - offline, as every test
    assert isinstance(weights_scope["model"], SwinTransformer) and not weights_scope["model"].training
    assert weights_scope["cfg"].name == "digits" and weights_scope["released"] is None


# ---------------------------------------------------------------------------------------------- the house
def _package_imports() -> dict[str, set[str]]:
    """module -> the package's modules it imports anywhere in its source (at the top, in a function, in a
    ``__main__`` block): a lazy import is a dependency too. A module's own parent packages are left out (Python
    imports them first, whatever the module says)."""
    import ast

    files = {}
    for path in (ROOT / "swin_edu").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            deps |= {t for t in targets if t in files and t != name and not name.startswith(t + ".")}
        graph[name] = deps
    return graph


def test_the_package_has_no_import_circle():
    """Issue #28: modules that need the repository's folders ask swin_edu.course for them, and a command line
    imports its library, never the other way (``python -m swin_edu.train`` runs swin_edu/train/__main__.py, which
    imports swin_edu.train_cli, which imports the library; the dense comparison lives apart from the models that
    swin_edu.train uses). No module reaches itself through the package's imports."""
    graph = _package_imports()
    assert {"swin_edu.train", "swin_edu.train_cli", "swin_edu.classroom.grading", "swin_edu.learner"} <= set(graph)
    circles = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for dep in sorted(graph[node]):
                if dep == start:
                    circles.append(" -> ".join(path + [start]))
                elif dep not in seen:
                    seen.add(dep)
                    stack.append((dep, path + [dep]))
    assert not circles, "\n".join(sorted(set(circles))[:10])
