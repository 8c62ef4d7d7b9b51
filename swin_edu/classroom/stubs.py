"""Copies of the package for the sandbox, in which an exercise's references do not exist.

While a student's function is graded, the package must not be able to compute the answer for it. The
copy made for an exercise holds only the modules its trusted prelude needs (their import closure,
found by reading the source: e.g. ``swin_edu.numpy_ref`` and what it imports); every other module
of the package (the torch model, the training code, the self-checks, the viewers) is replaced by one
that raises ``ImportError`` when imported. In the modules that remain, each function the exercise
names in ``forbidden`` is rewritten (on its source, before the copy is ever imported) into a stub that
raises ``ReferenceUnavailable`` with a message naming it. Calls from other package functions hit the
same stub, so there is no indirect way to the reference either.
"""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import threading
from typing import Iterable

__all__ = ["PACKAGE_ROOT", "PackageCopies", "import_closure", "make_copy", "module_files"]

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]  # .../swin_edu
#: Python 3.11 before 3.11.8 corrupts ast.parse's state when two threads parse at once (CPython gh-106905)
_AST_LOCK = threading.RLock()


def _parse(source: str) -> ast.Module:
    with _AST_LOCK:
        return ast.parse(source)
PACKAGE = PACKAGE_ROOT.name

_UNAVAILABLE = '''"""Made by the grader: the stubs of the references call this."""


class ReferenceUnavailable(BaseException):
    """A reference implementation was called while an answer is graded."""


def unavailable(name):
    raise ReferenceUnavailable(f"{name} is the reference for this exercise; it is not available while your "
                               f"answer is graded. Write the computation yourself.")
'''


def module_files(root: pathlib.Path = PACKAGE_ROOT) -> dict[str, pathlib.Path]:
    """module name -> source file of every module of the package (packages by their ``__init__.py``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_package(name: str, files: dict) -> bool:
    return files[name].name == "__init__.py"


def _imports(name: str, files: dict) -> set[str]:
    """The package modules that module ``name`` imports anywhere in its source."""
    tree = _parse(files[name].read_text(encoding="utf-8"))
    base = name if _is_package(name, files) else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                module = anchor + ("." + node.module if node.module else "")
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return {m for m in found if m in files}


def import_closure(roots: Iterable[str], files: dict | None = None) -> set[str]:
    """Every package module needed to import ``roots`` (with their parent packages)."""
    files = files or module_files()
    todo, seen = [PACKAGE, *[r for r in roots if r in files]], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += sorted(_imports(name, files))
    return seen


def _prelude_roots(prelude: str, files: dict) -> set[str]:
    roots = set()
    for node in ast.walk(_parse(prelude)):
        if isinstance(node, ast.Import):
            roots |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module)
            roots |= {f"{node.module}.{a.name}" for a in node.names}
    return {r for r in roots if r in files}


def _stub_source(source: str, qualname: str, label: str) -> str:
    """``source`` with the body of function ``qualname`` (``f`` or ``Class.method``) replaced by a stub."""
    tree = _parse(source)
    scope, node = tree.body, None
    for part in qualname.split("."):
        node = next(
            (
                n
                for n in scope
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part
            ),
            None,
        )
        if node is None:
            raise ValueError(f"forbidden reference {qualname!r} not found")
        scope = node.body
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise ValueError(f"forbidden reference {qualname!r} is not a function")
    first = node.body[0]
    stub = [f"from {PACKAGE}._unavailable import unavailable as _unavailable", f"_unavailable({label!r})"]
    lines = source.splitlines()
    if first.lineno == node.lineno:  # a one-line def: rebuild the whole module from its tree
        node.body = [_parse(s).body[0] for s in stub]
        with _AST_LOCK:
            return ast.unparse(tree) + "\n"
    indent = " " * first.col_offset
    lines[first.lineno - 1 : node.end_lineno] = [indent + s for s in stub]
    return "\n".join(lines) + "\n"


def _blocker(name: str, allowed: list[str]) -> str:
    return (
        f'raise ImportError("{name} is not available while your answer is graded: an answer may use '
        f'numpy, math, torch where the exercise is about torch, and {", ".join(allowed)}")\n'
    )


def make_copy(
    dest: os.PathLike | str,
    *,
    prelude: str = "",
    forbidden: Iterable[str] = (),
    full: bool = False,
    root: pathlib.Path = PACKAGE_ROOT,
) -> pathlib.Path:
    """Write a copy of the package into ``dest/swin_edu``: the whole package (``full``), or the import
    closure of ``prelude`` with the ``forbidden`` functions stubbed and every other module blocked."""
    dest = pathlib.Path(dest)
    target = dest / root.name
    if full:
        shutil.copytree(root, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _readable(dest)
        return dest
    files = module_files(root)
    needed = import_closure(_prelude_roots(prelude, files), files)
    stubs: dict[str, list[tuple[str, str]]] = {}
    for entry in forbidden:
        module, _, qualname = entry.partition(":")
        if module not in files:
            raise ValueError(f"forbidden reference {entry!r}: no module {module}")
        short = module.replace(f"{PACKAGE}.numpy_ref.", "snp.").replace(f"{PACKAGE}.", "")
        label = f"{short.rpartition('.')[0] + '.' if short.startswith('snp.') else short + '.'}{qualname}"
        stubs.setdefault(module, []).append((qualname, label))
    allowed = sorted(
        m for m in needed if m.count(".") <= 1 and m != PACKAGE and not m.split(".")[-1].startswith("_")
    )
    for name, path in files.items():
        out = target / path.relative_to(root)
        out.parent.mkdir(parents=True, exist_ok=True)
        if name in needed:
            source = path.read_text(encoding="utf-8")
            for qualname, label in stubs.get(name, ()):
                source = _stub_source(source, qualname, label)
            out.write_text(source, encoding="utf-8")
        else:
            out.write_text(_blocker(name, allowed), encoding="utf-8")
    (target / "_unavailable.py").write_text(_UNAVAILABLE, encoding="utf-8")
    _readable(dest)
    return dest


def _readable(dest: pathlib.Path) -> None:
    """Readable by the sandbox's unprivileged user, writable by nobody else."""
    for path in [dest, *dest.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


class PackageCopies:
    """The package copies of one grading run (made once per exercise, shared by every submission)."""

    def __init__(self, workdir: os.PathLike | str):
        self.workdir = pathlib.Path(workdir)
        self._lock = threading.Lock()
        self._made: dict[tuple, pathlib.Path] = {}

    def get(self, *, prelude: str = "", forbidden: Iterable[str] = (), full: bool = False) -> pathlib.Path:
        key = (full, prelude if not full else "", tuple(sorted(forbidden)) if not full else ())
        with self._lock:
            if key not in self._made:
                path = self.workdir / f"package-{len(self._made)}"
                make_copy(path, prelude=prelude, forbidden=forbidden, full=full)
                os.chmod(self.workdir, 0o755)
                self._made[key] = path
            return self._made[key]
