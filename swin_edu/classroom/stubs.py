"""Copies of the package for the sandbox, in which an exercise's references do not exist.

While a student's function is graded, the package must not be able to compute the answer for it. The
copy made for an exercise holds only the modules its trusted prelude needs (their import closure,
found by reading the source: e.g. ``swin_edu.numpy_ref`` and what it imports); every other module
of the package (the torch model, the training code, the self-checks, the viewers) is replaced by one
that raises ``ImportError`` when imported.

In the modules that remain, an exercise's **allow-list** decides (``allowed``): every function and class of
the course's computing modules (``numpy_ref``, ``demos``, ...) that the exercise does not allow is rewritten
(on its source, before the copy is ever imported) into a stub that raises ``ReferenceUnavailable`` with a
message naming it and what the exercise does allow. What an allowed function calls inside the package stays
(found by reading the source: :func:`kept_definitions`), and it is an error for that to include one of the
exercise's own references (``forbidden``): those are stubs in every case, in any module (``config`` and
``layout`` included, whose helpers are otherwise always available). Calls from other package functions hit
the same stubs, so there is no indirect way to a reference either. (Without an allow-list, ``allowed=None``,
only the ``forbidden`` functions are stubs.)
"""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import threading
from typing import Iterable

__all__ = ["BASE_MODULES", "PACKAGE_ROOT", "PackageCopies", "import_closure", "kept_definitions", "make_copy",
           "module_files"]

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]  # .../swin_edu
#: Python 3.11 before 3.11.8 corrupts ast.parse's state when two threads parse at once (CPython gh-106905)
_AST_LOCK = threading.RLock()


def _parse(source: str) -> ast.Module:
    with _AST_LOCK:
        return ast.parse(source)
PACKAGE = PACKAGE_ROOT.name

_UNAVAILABLE = '''"""Made by the grader: the stubs of the references call this."""

ALLOWED = {allowed!r}


class ReferenceUnavailable(BaseException):
    """A reference implementation was called while an answer is graded."""


def unavailable(name):
    raise ReferenceUnavailable(f"{{name}} is the reference for this exercise; it is not available while your "
                               f"answer is graded. Write the computation yourself.")


def not_allowed(name):
    raise ReferenceUnavailable(f"{{name}} is not available while this exercise is graded. {{ALLOWED}}")
'''

#: modules whose helpers an answer may always use (configuration, state-dict layout, argument checks): they
#: compute no exercise's answer, except the functions an exercise names in ``forbidden``
BASE_MODULES = frozenset({PACKAGE, f"{PACKAGE}._validate", f"{PACKAGE}.config", f"{PACKAGE}.layout",
                          f"{PACKAGE}.i18n", f"{PACKAGE}._lazy"})


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


def _stub_source(source: str, qualname: str, label: str, call: str = "unavailable") -> str:
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
    stub = [f"from {PACKAGE}._unavailable import {call} as _unavailable", f"_unavailable({label!r})"]
    lines = source.splitlines()
    if first.lineno == node.lineno:  # a one-line def: rebuild the whole module from its tree
        node.body = [_parse(s).body[0] for s in stub]
        with _AST_LOCK:
            return ast.unparse(tree) + "\n"
    indent = " " * first.col_offset
    lines[first.lineno - 1 : node.end_lineno] = [indent + s for s in stub]
    return "\n".join(lines) + "\n"


def _label(module: str, qualname: str) -> str:
    """How a student calls it: ``snp.window_partition``, ``config.SwinConfig.stage_resolutions``."""
    short = module.replace(f"{PACKAGE}.numpy_ref.", "snp.").replace(f"{PACKAGE}.", "")
    if short == f"{PACKAGE}.numpy_ref".replace(f"{PACKAGE}.", ""):
        short = "snp"
    return f"{'snp' if short.startswith('snp.') else short}.{qualname}"


# ------------------------------------------------------------------------------------ the allow-list
class _Module:
    """What one module defines at its top level and what its top-level imports bind."""

    def __init__(self, name: str, files: dict):
        self.name = name
        self.tree = _parse(files[name].read_text(encoding="utf-8"))
        self.defs = {n.name: n for n in self.tree.body
                     if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        self.aliases = _aliases(self.tree.body, name, files)


def _anchor(module: str, files: dict, level: int) -> str:
    base = module if _is_package(module, files) else module.rpartition(".")[0]
    parts = base.split(".")
    return ".".join(parts[: len(parts) - (level - 1)])


def _aliases(body, module: str, files: dict) -> dict:
    """name -> ("mod", module) or ("attr", module, name), from the import statements in ``body``."""
    out = {}
    for node in body:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and a.name in files:
                    out[a.asname] = ("mod", a.name)
                elif not a.asname and a.name.split(".")[0] == PACKAGE:
                    out[PACKAGE] = ("mod", PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            source = (_anchor(module, files, node.level) + ("." + node.module if node.module else "")
                      if node.level else (node.module or ""))
            if source not in files:
                continue
            for a in node.names:
                if a.name == "*":
                    continue
                sub = f"{source}.{a.name}"
                out[a.asname or a.name] = ("mod", sub) if sub in files else ("attr", source, a.name)
    return out


class _Package:
    """The definitions of the package's modules and the references between them (read, never imported)."""

    def __init__(self, files: dict):
        self.files = files
        self._modules: dict = {}

    def module(self, name: str) -> _Module:
        if name not in self._modules:
            self._modules[name] = _Module(name, self.files)
        return self._modules[name]

    def resolve(self, module: str, name: str, depth: int = 0):
        """(module, name) of the definition that ``name`` means in ``module``, or ("mod", module), or None."""
        if depth > 10 or module not in self.files:
            return None
        info = self.module(module)
        if name in info.defs:
            return (module, name)
        target = info.aliases.get(name)
        if target is None:
            sub = f"{module}.{name}"
            return ("mod", sub) if sub in self.files else None
        if target[0] == "mod":
            return target
        return self.resolve(target[1], target[2], depth + 1)

    def references(self, module: str, node) -> set:
        """The package definitions that the code of ``node`` (in ``module``) may use."""
        local = _aliases([n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))], module,
                         self.files)
        found = set()
        for sub in ast.walk(node):
            chain = []
            while isinstance(sub, ast.Attribute):
                chain.append(sub.attr)
                sub = sub.value
            if not isinstance(sub, ast.Name):
                continue
            chain.append(sub.id)
            chain.reverse()
            target = local.get(chain[0])
            if target is not None:
                target = target if target[0] == "mod" else self.resolve(target[1], target[2])
            else:
                target = self.resolve(module, chain[0])
            for attr in chain[1:]:
                if target is None or target[0] != "mod":
                    break
                target = self.resolve(target[1], attr)
            if target is not None and target[0] != "mod":
                found.add(target)
        return found

    def import_time(self, module: str) -> set:
        """What the module's top level uses while it is imported (decorators, defaults, class bodies...)."""
        found = set()
        for node in self.module(module).tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                parts = [*node.decorator_list, *node.args.defaults, *[d for d in node.args.kw_defaults if d]]
            elif isinstance(node, ast.ClassDef):
                parts = [*node.decorator_list, *node.bases, *[k.value for k in node.keywords]]
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        parts += [*item.decorator_list, *item.args.defaults]
                    else:
                        parts.append(item)
            else:
                parts = [node]
            for part in parts:
                found |= self.references(module, part)
        return found


def _parse_entry(entry: str, files: dict) -> tuple[str, str]:
    module, _, qualname = entry.partition(":")
    if module not in files or not qualname:
        raise ValueError(f"package entry {entry!r}: expected 'swin_edu.module:name' of an existing module")
    return module, qualname


def kept_definitions(modules: Iterable[str], allowed: Iterable[str], files: dict | None = None, *,
                     import_time: bool = True) -> set:
    """The (module, name) definitions that stay real in a copy made of ``modules`` with the allow-list
    ``allowed``: the allowed ones, what they use inside the package (transitively), what the modules use at
    import time, and what the always-available modules (:data:`BASE_MODULES`) use (``import_time=False``: only
    what the allowed ones use)."""
    files = files or module_files()
    pkg = _Package(files)
    modules = sorted(modules)
    todo = []
    for entry in allowed:
        module, qualname = _parse_entry(entry, files)
        target = pkg.resolve(module, qualname.split(".")[0])
        if target is None or target[0] == "mod":
            raise ValueError(f"allowed entry {entry!r}: {qualname} is not defined in {module}")
        todo.append(target)
    for module in modules if import_time else ():
        todo += sorted(pkg.import_time(module))
        if module in BASE_MODULES:
            todo += [(module, name) for name in pkg.module(module).defs]
    kept: set = set()
    while todo:
        item = todo.pop()
        if item in kept or item[0] not in files:
            continue
        kept.add(item)
        node = pkg.module(item[0]).defs.get(item[1])
        if node is not None:
            todo += sorted(pkg.references(item[0], node))
    return kept


def _allow_list_stubs(needed: set, allowed: Iterable[str], forbidden: set, files: dict) -> dict:
    """module -> [(qualname, label, call)] of the stubs of an allow-list copy."""
    pkg = _Package(files)
    kept = kept_definitions(needed, allowed, files)
    # a forbidden function that an allowed one calls cannot be both; one that a module only imports (or another
    # module's import-time code names) is stubbed where it is defined, like every forbidden function
    used = kept_definitions(needed, allowed, files, import_time=False)
    clash = sorted(f"{m}:{q}" for m, q in forbidden if (m, q.split(".")[0]) in used and "." not in q)
    if clash:
        raise ValueError(
            f"the allow-list keeps {clash}, which the exercise forbids (an allowed function uses it)"
        )
    stubs: dict = {}
    for module in sorted(needed - BASE_MODULES):
        for name, node in pkg.module(module).defs.items():
            if (module, name) in kept:
                continue
            if isinstance(node, ast.ClassDef):
                methods = [n.name for n in node.body
                           if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
                targets = [f"{name}.{m}" for m in methods]
            else:
                targets = [name]
            for qualname in targets:
                if (module, qualname) not in forbidden:
                    stubs.setdefault(module, []).append((qualname, _label(module, qualname), "not_allowed"))
    return stubs


def _allowed_text(allowed: Iterable[str], files: dict) -> str:
    labels = [_label(*_parse_entry(e, files)) for e in allowed]
    if not labels:
        return ("An answer to it uses no function of the course's package: write it with numpy (torch where "
                "the exercise is about torch).")
    return (f"From the course's package an answer to it may use only {', '.join(labels)}; write the rest "
            f"yourself.")


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
    allowed: Iterable[str] | None = None,
    full: bool = False,
    root: pathlib.Path = PACKAGE_ROOT,
) -> pathlib.Path:
    """Write a copy of the package into ``dest/swin_edu``: the whole package (``full``), or the import
    closure of ``prelude`` with every other module blocked, the ``forbidden`` functions stubbed and, with an
    allow-list (``allowed``, entries like ``"swin_edu.numpy_ref.attention:softmax"``), every function of the
    computing modules that it does not keep stubbed too."""
    dest = pathlib.Path(dest)
    target = dest / root.name
    if full:
        shutil.copytree(root, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _readable(dest)
        return dest
    files = module_files(root)
    needed = import_closure(_prelude_roots(prelude, files), files)
    stubs: dict[str, list[tuple[str, str, str]]] = {}
    refused = set()
    for entry in forbidden:
        module, _, qualname = entry.partition(":")
        if module not in files:
            raise ValueError(f"forbidden reference {entry!r}: no module {module}")
        refused.add((module, qualname))
        stubs.setdefault(module, []).append((qualname, _label(module, qualname), "unavailable"))
    if allowed is not None:
        allowed = list(allowed)
        for module, entries in _allow_list_stubs(needed, allowed, refused, files).items():
            stubs.setdefault(module, []).extend(entries)
    blocked_allowed = sorted(
        m for m in needed if m.count(".") <= 1 and m != PACKAGE and not m.split(".")[-1].startswith("_")
    )
    for name, path in files.items():
        out = target / path.relative_to(root)
        out.parent.mkdir(parents=True, exist_ok=True)
        if name in needed:
            source = path.read_text(encoding="utf-8")
            for qualname, label, call in stubs.get(name, ()):
                source = _stub_source(source, qualname, label, call)
            out.write_text(source, encoding="utf-8")
        else:
            out.write_text(_blocker(name, blocked_allowed), encoding="utf-8")
    text = _allowed_text(allowed or (), files) if allowed is not None else "what it imports"
    (target / "_unavailable.py").write_text(_UNAVAILABLE.format(allowed=text), encoding="utf-8")
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

    def get(self, *, prelude: str = "", forbidden: Iterable[str] = (), allowed: Iterable[str] | None = None,
            full: bool = False) -> pathlib.Path:
        allowed = None if allowed is None else tuple(sorted(allowed))
        key = (full, prelude, tuple(sorted(forbidden)), allowed) if not full else (True,)
        with self._lock:
            if key not in self._made:
                path = self.workdir / f"package-{len(self._made)}"
                make_copy(path, prelude=prelude, forbidden=forbidden, allowed=allowed, full=full)
                os.chmod(self.workdir, 0o755)
                self._made[key] = path
            return self._made[key]
