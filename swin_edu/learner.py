"""The learner's thread: what you solved is what the later notebooks run.

When a self-check passes (``check.<name>(your_function)``), the answer cell of that exercise is remembered in
this kernel **and** written to a visible file, ``my_swin.py`` in the notebook's folder (the environment variable
``SWIN_EDU_MINE`` names another file), one section per exercise, replaced when the exercise passes again. Only
the cell's imports, functions and classes are kept, and they are kept only when, run alone after the course's
imports, they pass the same self-check again (an answer that needs a helper from another cell runs in its own
kernel but is not written to the file; the check says so).

The later notebooks ask for your pieces and get your code (this kernel's, else the file's) where you passed,
the reference where you did not, with a small table that says which is which:

>>> from swin_edu import learner
>>> mine = learner.numpy_ref()          # like ``swin_edu.numpy_ref``, with your pieces of 01-06 in it
>>> logits = mine.swin_forward(state_dict, images, cfg)                              # doctest: +SKIP
>>> model = learner.torch_model(cfg, state_dict)   # your StudentSwin of 07 (built from your classes)  # doctest: +SKIP
>>> maps = learner.stage_maps(model, images)       # the four stage maps a detection head reads   # doctest: +SKIP

Your pieces call each other: your sections run in one namespace whose ``snp`` is ``mine``, so the
``snp.window_partition`` inside your SW-MSA (notebook 03) is your window partition of notebook 02, and the
``snp.relative_position_index`` inside your ``WindowAttention`` (07) is yours of 04. A reference that stands in
for an unsolved piece is the package's own function with its calls to your pieces routed to them (its
globals point at yours), so one unsolved exercise does not cut the thread.
"""
from __future__ import annotations

import ast
import datetime
import functools
import inspect
import os
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from . import i18n

__all__ = ["ENV", "FILE_NAME", "PIECES", "Piece", "backbone", "definitions", "forget", "mine", "mine_path", "numpy_ref",
           "model_label", "pieces", "read_sections", "record", "stage_maps", "table", "torch_classes", "torch_model",
           "whose_model"]

#: the environment variable that names the file (tests point it at a temporary folder)
ENV = "SWIN_EDU_MINE"
FILE_NAME = "my_swin.py"
#: what the namespace of the file's sections is called (never "__main__": a section is not notebook code)
_NS_NAME = "my_swin"

i18n.add_messages({
    "learner.saved": {"en": "   saved in {file} (section {name}): the later notebooks run it.",
                      "zh": "   已保存到 {file}（{name} 一节）：后面的笔记本会运行它。"},
    "learner.kernel_only": {"en": "   kept for this kernel only, not saved in {file}: run alone after the course's "
                                  "imports, the answer cell does not pass ({why}). Keep everything it needs "
                                  "inside the cell.",
                            "zh": "   只在当前内核里保留，没有保存到 {file}：答案单元格单独运行（只带课程的导入）时"
                                  "通不过自检（{why}）。请把它用到的一切都写在这个单元格里。"},
    "learner.found": {"en": "{file}: {n} of your answers found ({where}).",
                      "zh": "{file}：找到你的 {n} 个答案（{where}）。"},
    "learner.missing": {"en": "{file}: not found next to this notebook, so the pieces below that you did not solve in "
                              "this kernel are the references. To run yours, upload {file} (notebooks 01-07 write it "
                              "when a self-check passes) next to this notebook, or run notebooks 01-07 first.",
                        "zh": "{file}：这个笔记本旁边没有这个文件，所以下面凡是没有在当前内核里完成的部分都用参考实现。"
                              "想运行你自己的代码，请把 {file}（笔记本 01-07 的自检通过时会写入它）上传到这个笔记本"
                              "旁边，或者先运行笔记本 01-07。"},
    "learner.head": {"en": "Your Swin, piece by piece ({n} of {total} are yours):",
                     "zh": "你的 Swin，逐个部分（{total} 个中有 {n} 个是你的）："},
    "learner.yours_kernel": {"en": "yours (this kernel)", "zh": "你的（当前内核）"},
    "learner.yours_file": {"en": "yours ({file})", "zh": "你的（{file}）"},
    "learner.reference": {"en": "the reference {ref}", "zh": "参考实现 {ref}"},
    "learner.model.yours": {"en": "your {what}", "zh": "你的{what_zh}"},
    "learner.model.partly": {"en": "your {what} ({n} of its {total} pieces yours, the references for the others)",
                             "zh": "你的{what_zh}（{total} 个部分中 {n} 个是你的，其余用参考实现）"},
    "learner.model.reference": {"en": "the reference {what} (none of its pieces is yours yet)",
                                "zh": "参考实现的{what_zh}（还没有一个部分是你的）"},
    "learner.broken": {"en": "   note: the section {name} of {file} could not run ({why}); the reference stands in.",
                       "zh": "   注意：{file} 中的 {name} 一节无法运行（{why}）；改用参考实现。"},
})


# ============================================================================================ the pieces
@dataclass(frozen=True)
class Piece:
    """One piece of the learner's Swin: the exercise that writes it (``check.<exercise>``), its notebook, the
    name the model calls it by (``swin_edu.numpy_ref``'s name for a numpy piece, the class for a torch piece),
    what the answer cell defines that *is* the piece (None: the function the check ran), and the reference
    that stands in (a dotted name that resolves)."""

    exercise: str
    notebook: str
    name: str
    kind: str
    reference: str
    defines: Optional[str] = None


_SNP, _SM = "swin_edu.numpy_ref", "swin_edu.demos.student_model"
#: the pieces that make the learner's model, in course order
PIECES: tuple[Piece, ...] = (
    Piece("patch_partition", "01", "patch_partition", "numpy", f"{_SNP}.patch_partition"),
    Piece("conv_to_linear", "01", "conv_weight_to_linear", "numpy", f"{_SNP}.conv_weight_to_linear"),
    Piece("layer_norm", "01", "layer_norm", "numpy", f"{_SNP}.layer_norm"),
    Piece("window_partition", "02", "window_partition", "numpy", f"{_SNP}.window_partition"),
    Piece("window_reverse", "02", "window_reverse", "numpy", f"{_SNP}.window_reverse"),
    Piece("region_ids", "03", "region_ids", "numpy", f"{_SNP}.region_ids"),
    Piece("mask_from_regions", "03", "shift_mask", "numpy", f"{_SNP}.shift_mask"),
    Piece("sw_msa", "03", "shifted_window_attention", "numpy", f"{_SNP}.shifted_window_attention"),
    Piece("relative_position_index", "04", "relative_position_index", "numpy", f"{_SNP}.relative_position_index"),
    Piece("patch_merging_gather", "05", "patch_merging_gather", "numpy", f"{_SNP}.patch_merging_gather"),
    Piece("swin_block", "05", "swin_block", "numpy", f"{_SNP}.swin_block"),
    Piece("swin_forward", "06", "swin_forward", "numpy", f"{_SNP}.swin_forward"),
    Piece("window_attention_module", "07", "WindowAttention", "torch", f"{_SM}.WindowAttention", "WindowAttention"),
    Piece("swin_block_module", "07", "SwinBlock", "torch", f"{_SM}.SwinBlock", "SwinBlock"),
    Piece("patch_merging_module", "07", "PatchMerging", "torch", f"{_SM}.PatchMerging", "PatchMerging"),
    Piece("basic_layer_module", "07", "BasicLayer", "torch", f"{_SM}.BasicLayer", "BasicLayer"),
    Piece("student_swin", "07", "StudentSwin", "torch", f"{_SM}.StudentSwin", "StudentSwin"),
)


def pieces(kind: Optional[str] = None) -> tuple[Piece, ...]:
    """The pieces of the learner's model (``kind``: ``"numpy"`` or ``"torch"`` for one half)."""
    if kind not in (None, "numpy", "torch"):
        raise ValueError(f"learner.pieces: kind must be None, 'numpy' or 'torch', got {kind!r}")
    return tuple(p for p in PIECES if kind is None or p.kind == kind)


# ============================================================================================ remembering
@dataclass
class Entry:
    """One solved exercise: the function the check ran (``fn_name``), the kept source of its answer cell
    (None: not self-contained) and, for this kernel, the objects it defined."""

    exercise: str
    fn_name: str
    source: Optional[str]
    origin: str                      # "kernel" or "file"
    objects: dict = field(default_factory=dict)
    when: str = ""
    notebook: str = ""               # "01" ... ("": the piece's, see PIECES)


#: exercise name -> Entry, for this kernel (a later pass replaces an earlier one)
_KERNEL: dict[str, Entry] = {}
_RECORDING = [False]


def mine_path() -> Path:
    """The file of the learner's answers: ``$SWIN_EDU_MINE`` (a file, or a folder that gets ``my_swin.py``), else
    ``my_swin.py`` in the current folder (a notebook's kernel runs in the notebook's folder)."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return Path.cwd() / FILE_NAME
    p = Path(value).expanduser()
    return p / FILE_NAME if p.is_dir() else p


def forget(*, file: bool = False) -> None:
    """Forget this kernel's answers (``file=True``: delete the file too). For tests and fresh starts."""
    _KERNEL.clear()
    if file and mine_path().exists():
        mine_path().unlink()


_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def definitions(source: str) -> str:
    """The imports, functions and classes of a cell (decorators and comments inside them kept, nbgrader's
    solution markers dropped), in order; ``""`` when there are none or the cell is not Python."""
    if not isinstance(source, str):
        raise TypeError(f"learner.definitions: source must be a str, got {type(source).__name__}")
    try:  # IPython syntax (%magic, !cmd) becomes Python first
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001, S110 - without IPython, or what it cannot transform: the parse below decides
        pass
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    lines = source.splitlines()
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            kept.append("\n".join(ln for ln in lines[first - 1:node.end_lineno] if not _MARKER.match(ln)))
    return "\n\n\n".join(kept)


def _in_ipython() -> bool:
    """True inside an IPython kernel or shell (a notebook): the thread follows notebooks, not scripts."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return False
    return get_ipython() is not None


def _cell_source(fn: Callable) -> Optional[str]:
    """The source of the notebook cell that defined ``fn``: the latest input of this IPython kernel that defines
    it, else what :func:`inspect.getsource` finds."""
    name = getattr(fn, "__name__", "")
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        ip = None
    if ip is not None and name:
        pattern = re.compile(rf"^(async\s+)?def\s+{re.escape(name)}\s*\(", re.MULTILINE)
        for cell in reversed(list(ip.user_ns.get("In", []) or [])):
            if isinstance(cell, str) and pattern.search(cell):
                return cell
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return None


def _defined_names(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _verify(exercise, fn_name: str, source: str, recheck: Callable) -> tuple[bool, str]:
    """Run ``source`` alone after the exercise's prelude and check the function again (``recheck(exercise, fn)``:
    the self-check, quiet; the runner passes it, so that this module needs nothing of the exercises but their
    spec)."""
    ns: dict = {"__name__": _NS_NAME}
    try:
        exec(compile(exercise.prelude, "<prelude>", "exec"), ns)  # noqa: S102 - the course's own imports
        exec(compile(source, f"<{FILE_NAME}: {exercise.name}>", "exec"), ns)  # noqa: S102 - the learner's code
    except Exception as e:  # noqa: BLE001 - reported to the learner
        return False, f"{type(e).__name__}: {e}"
    fn = ns.get(fn_name)
    if not callable(fn):
        return False, f"`{fn_name}` is not defined by the cell"
    result = recheck(exercise, fn)
    if result.passed:
        return True, ""
    lines = [ln.strip() for ln in str(result.message).strip().splitlines() if ln.strip()]
    why = next((ln for ln in lines if "Error" in ln), lines[0] if lines else result.status)
    return False, why[:200]


def record(exercise, fn: Callable, recheck: Callable) -> Optional[Entry]:
    """Remember that ``fn`` passed ``exercise`` (an :class:`~swin_edu.exercises.spec.Exercise`): in this kernel,
    and in the file when its answer cell passes ``recheck(exercise, fn)`` (the quiet self-check) alone. Called by
    the self-check; only functions defined in a notebook (``__module__ == "__main__"``) are remembered. Returns the
    entry (None: nothing remembered)."""
    if not callable(recheck):
        raise TypeError(f"learner.record: recheck must be the self-check (a function), got {type(recheck).__name__}")
    if _RECORDING[0] or getattr(fn, "__module__", None) != "__main__" or not callable(fn) or not _in_ipython():
        return None
    _RECORDING[0] = True
    try:
        name, fn_name = exercise.name, fn.__name__
        when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        raw = _cell_source(fn)
        source = definitions(raw) if raw else ""
        ok, why = _verify(exercise, fn_name, source, recheck) if source else (False, "its source was not found")
        user = getattr(fn, "__globals__", {})
        objects = {n: user[n] for n in (_defined_names(source) if source else [fn_name]) if n in user}
        objects.setdefault(fn_name, fn)
        entry = Entry(name, fn_name, source if ok else None, "kernel", objects, when, exercise.notebook)
        _KERNEL[name] = entry
        path = mine_path()
        if not ok:
            print(i18n.t("learner.kernel_only", file=path.name, why=why))
        elif os.environ.get("NBGRADER_EXECUTION"):
            pass  # nbgrader grades a copy of the notebook: leave no file behind
        else:
            try:
                _write_section(path, entry)
                print(i18n.t("learner.saved", file=path.name, name=name))
            except OSError as e:
                print(i18n.t("learner.kernel_only", file=path.name, why=f"{type(e).__name__}: {e}"))
        return entry
    finally:
        _RECORDING[0] = False


# ============================================================================================ the file
_HEADER = f'''# {FILE_NAME}: your answers to the swin-edu course, written by the self-checks (swin_edu.learner).
#
# Each section is the answer cell of one exercise as it was when its self-check passed (its imports,
# functions and classes only), replaced when the exercise passes again. Notebooks 05-08 build your Swin
# from these sections; a notebook opened alone (Colab) finds them when this file is next to it.
# It is not a module to import: swin_edu.learner runs it after the course's imports. Edit at your own
# risk (the self-checks do not run again on an edited section); delete a section to use the reference.
'''
_SECTION = re.compile(r"^# === exercise (\w+) \(notebook (\d+)\) · (\w+) · passed ([^=]*?) ===\n(.*?)"
                      r"^# === end \1 ===$", re.MULTILINE | re.DOTALL)


def _notebook_of(entry: Entry) -> str:
    piece = next((p for p in PIECES if p.exercise == entry.exercise), None)
    return piece.notebook if piece else (entry.notebook or "00")


def _order(entry: Entry) -> tuple:
    """Course order: by notebook, the pieces in the order of :data:`PIECES`, other exercises by name."""
    index = next((i for i, p in enumerate(PIECES) if p.exercise == entry.exercise), len(PIECES))
    return _notebook_of(entry), index, entry.exercise


def read_sections(path: Optional[Path] = None) -> dict[str, Entry]:
    """The sections of the file (exercise name -> :class:`Entry` with ``origin="file"``); ``{}`` without one."""
    path = mine_path() if path is None else Path(path)
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8", errors="replace")
    return {m.group(1): Entry(m.group(1), m.group(3), m.group(5).rstrip() + "\n", "file", {}, m.group(4).strip(),
                              m.group(2))
            for m in _SECTION.finditer(text)}


def _write_section(path: Path, entry: Entry) -> None:
    sections = read_sections(path)
    sections[entry.exercise] = entry
    parts = [_HEADER]
    for e in sorted(sections.values(), key=_order):
        name = e.exercise
        parts.append(f"\n# === exercise {name} (notebook {_notebook_of(e)}) · {e.fn_name} · passed {e.when} ===\n"
                     f"{e.source.rstrip()}\n# === end {name} ===\n")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(parts), encoding="utf-8")
    os.replace(tmp, path)


def _entries() -> tuple[dict[str, Entry], bool]:
    """The learner's answers: this kernel's, else the file's; and whether the file exists."""
    found = dict(read_sections())
    exists = mine_path().is_file()
    found.update(_KERNEL)
    return found, exists


# ============================================================================================ rebinding
def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _clone(fn: types.FunctionType, globals_: dict) -> types.FunctionType:
    new = types.FunctionType(fn.__code__, globals_, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__doc__, new.__qualname__, new.__module__ = fn.__doc__, fn.__qualname__, fn.__module__
    return new


def _rebind_class(cls: type, globals_: dict) -> type:
    """A subclass of ``cls`` whose methods look up their global names in ``globals_`` (so that, e.g., the
    reference ``BasicLayer`` builds the learner's ``SwinBlock``)."""
    body = {k: _clone(v, globals_) for k, v in vars(cls).items() if isinstance(v, types.FunctionType)}
    body.update(__module__=cls.__module__, __qualname__=cls.__qualname__, __doc__=cls.__doc__)
    return type(cls.__name__, (cls,), body)


# ============================================================================================ numpy
class LearnerNumpy:
    """``swin_edu.numpy_ref`` with the learner's pieces in it (see the module docstring). Any attribute that is
    not a piece is the package's, rebound so that its calls to pieces reach the learner's."""

    def __init__(self, found: dict[str, Entry], file_exists: bool):
        from . import numpy_ref as snp

        self._snp, self._file_exists, self._mine, self._whose, self._memo = snp, file_exists, {}, {}, {}
        self._notes: list[str] = []
        self.namespace: dict = {"__name__": _NS_NAME}
        from .exercises.spec import NUMPY_PRELUDE

        exec(compile(NUMPY_PRELUDE, "<prelude>", "exec"), self.namespace)  # noqa: S102 - the course's imports
        self.namespace["snp"] = self
        for piece in pieces("numpy"):
            # each section runs in its own namespace whose `snp` is this one, except for the piece itself: an answer
            # that calls `snp.<its own name>` gets the package's (not itself, endlessly)
            ns = dict(self.namespace, snp=_View(self, piece.name))
            fn = _load(found.get(piece.exercise), ns, self._notes)
            if fn is not None:
                self._mine[piece.name] = _ADAPTERS.get(piece.name, _direct)(self, fn)
                self._whose[piece.name] = found[piece.exercise].origin

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._mine:
            return self._mine[name]
        value = getattr(self._snp, name)
        return self._resolve(value) if _is_numpy_ref(value) else value

    def __dir__(self):
        return sorted(set(dir(self._snp)) | set(self._mine))

    def _reference(self, name: str) -> Callable:
        """The package's ``name``, rebound to the learner's pieces (never the learner's own ``name``)."""
        return self._rebound(getattr(self._snp, name))

    def _resolve(self, fn: Callable) -> Callable:
        return self._mine.get(fn.__name__) or self._rebound(fn)

    def _rebound(self, fn: types.FunctionType) -> types.FunctionType:
        key = (fn.__module__, fn.__qualname__)
        if key not in self._memo:
            g = dict(fn.__globals__)
            self._memo[key] = _clone(fn, g)
            for n in _global_names(fn.__code__):
                if _is_numpy_ref(g.get(n)):
                    g[n] = self._resolve(g[n])
        return self._memo[key]

    def whose(self, name: str) -> Optional[str]:
        """``"kernel"`` or ``"file"`` when the piece ``name`` (numpy_ref's name) is the learner's, else None."""
        return self._whose.get(name)

    def __repr__(self) -> str:
        return f"<swin_edu.numpy_ref with your pieces: {sorted(self._mine) or 'none yet'}>"


class _View:
    """The learner's numpy as one of their own pieces sees it: every piece theirs but ``itself``, the package's."""

    def __init__(self, mine: LearnerNumpy, itself: str):
        self._mine, self._itself = mine, itself

    def __getattr__(self, name: str) -> Any:
        if name == self._itself:
            return self._mine._reference(name)
        return getattr(self._mine, name)

    def __dir__(self):
        return dir(self._mine)


def _is_numpy_ref(obj: Any) -> bool:
    return isinstance(obj, types.FunctionType) and (obj.__module__ or "").startswith("swin_edu.numpy_ref")


def _load(entry: Optional[Entry], namespace: dict, notes: list) -> Any:
    """Run an entry's source in ``namespace`` and return the piece it defines (``defines`` or the checked
    function); an entry of this kernel without a source gives its object as it is."""
    if entry is None:
        return None
    piece = next(p for p in PIECES if p.exercise == entry.exercise)
    want = piece.defines or entry.fn_name
    if entry.source is None:
        return entry.objects.get(want)
    try:
        exec(compile(entry.source, f"<{FILE_NAME}: {entry.exercise}>", "exec"), namespace)  # noqa: S102
    except Exception as e:  # noqa: BLE001 - an edited file: say so, the reference stands in
        notes.append(i18n.t("learner.broken", name=entry.exercise, file=mine_path().name,
                            why=f"{type(e).__name__}: {e}"))
        return None
    return namespace.get(want)


def _direct(_mine: LearnerNumpy, fn: Callable) -> Callable:
    return fn


def _layer_norm(mine: LearnerNumpy, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def layer_norm(x, weight=None, bias=None, eps=1e-5):
        C = np.shape(x)[-1]
        return fn(x, np.ones(C) if weight is None else weight, np.zeros(C) if bias is None else bias, eps)
    return layer_norm


def _gather(mine: LearnerNumpy, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def patch_merging_gather(x):  # odd maps are padded first, as the package does
        return fn(mine._snp.pad_to_multiple(np.asarray(x), 2))
    return patch_merging_gather


def _mask(mine: LearnerNumpy, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def shift_mask(H, W, window_size, shift_size):  # the regions (03), cut into windows (02), your mask (03)
        ids = mine.region_ids(H, W, window_size, shift_size)
        windows = mine.window_partition(ids[None, :, :, None], window_size)
        return fn(windows.reshape(-1, window_size * window_size))
    return shift_mask


def _sw_msa(mine: LearnerNumpy, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def shifted_window_attention(x, params, num_heads, window_size, shift_size=0, return_attn=False, scale=None):
        if return_attn or scale is not None:  # what the capstone does not do: the reference
            return mine._reference("shifted_window_attention")(x, params, num_heads, window_size, shift_size,
                                                               return_attn=return_attn, scale=scale)
        H, W = np.shape(x)[1:3]
        out = fn(mine._snp.pad_to_multiple(np.asarray(x), window_size), params, num_heads, window_size, shift_size)
        return out[:, :H, :W, :]  # pad, then shift (the shift happens inside your SW-MSA): crop back
    return shifted_window_attention


def _block(mine: LearnerNumpy, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def swin_block(x, params, num_heads, window_size, shift_size=0, qk_scale=None):
        if qk_scale is not None:
            return mine._reference("swin_block")(x, params, num_heads, window_size, shift_size, qk_scale=qk_scale)
        return fn(x, params, num_heads, window_size, shift_size)
    return swin_block


def _forward(mine: LearnerNumpy, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def swin_forward(state_dict, images, cfg, *, return_stages=False, dtype=np.float64):
        if return_stages or cfg.ape or cfg.num_classes == 0 or cfg.qk_scale is not None:
            return mine._reference("swin_forward")(state_dict, images, cfg, return_stages=return_stages,
                                                   dtype=dtype)
        return fn(state_dict, images, cfg)
    return swin_forward


_ADAPTERS = {"layer_norm": _layer_norm, "patch_merging_gather": _gather, "shift_mask": _mask,
             "shifted_window_attention": _sw_msa, "swin_block": _block, "swin_forward": _forward}


# ============================================================================================ torch
class LearnerTorch(types.SimpleNamespace):
    """The learner's PyTorch classes (``WindowAttention``, ``SwinBlock``, ``PatchMerging``, ``BasicLayer``,
    ``StudentSwin``): theirs where they passed, the references of :mod:`swin_edu.demos.student_model` rebound
    to theirs otherwise; ``snp`` inside them is the learner's numpy (:class:`LearnerNumpy`)."""


def _torch_namespace(found: dict[str, Entry], numpy_mine: LearnerNumpy) -> tuple[dict, dict, list]:
    from .demos import student_model as sm
    from .exercises.nb07 import MODULE_PRELUDE

    ns = {k: v for k, v in vars(sm).items() if not k.startswith("__")}
    ns["__name__"] = _NS_NAME
    exec(compile(MODULE_PRELUDE + "from swin_edu.config import SwinConfig\n", "<prelude>", "exec"), ns)  # noqa: S102
    ns["snp"] = numpy_mine
    for piece in pieces("torch"):
        ns[piece.name] = _rebind_class(getattr(sm, piece.name), ns)
    whose, notes = {}, []
    for piece in pieces("torch"):
        cls = _load(found.get(piece.exercise), ns, notes)
        if cls is not None:
            ns[piece.name] = cls
            whose[piece.name] = found[piece.exercise].origin
    return ns, whose, notes


# ============================================================================================ public API
@dataclass
class _Build:
    found: dict
    exists: bool
    numpy: LearnerNumpy
    torch_ns: Optional[dict] = None
    whose: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def _build(with_torch: bool) -> _Build:
    found, exists = _entries()
    b = _Build(found, exists, LearnerNumpy(found, exists))
    b.whose, b.notes = dict(b.numpy._whose), list(b.numpy._notes)
    if with_torch:
        b.torch_ns, whose, notes = _torch_namespace(found, b.numpy)
        b.whose.update(whose)
        b.notes += notes
    return b


def _table(b: _Build, kind: Optional[str]) -> str:
    path = mine_path()
    if b.exists:
        n = len(read_sections(path))
        lines = [i18n.t("learner.found", file=path.name, n=n, where=str(path.parent))]
    else:
        lines = [i18n.t("learner.missing", file=path.name)]
    rows = []
    for p in pieces(kind):
        w = b.whose.get(p.name)
        rows.append((p, i18n.t("learner.yours_kernel") if w == "kernel" else
                     i18n.t("learner.yours_file", file=path.name) if w == "file" else
                     i18n.t("learner.reference", ref=p.reference)))
    lines.append(i18n.t("learner.head", n=sum(1 for p, _ in rows if p.name in b.whose), total=len(rows)))
    lines += [f"  {p.notebook} {p.exercise:<24s} {label}" for p, label in rows]
    return "\n".join(lines + b.notes)


def table(kind: Optional[str] = None) -> str:
    """The table of which pieces are the learner's (``kind``: ``"numpy"``, ``"torch"`` or None for all), after
    the line that says what was found (the file, or how to bring it)."""
    if kind not in (None, "numpy", "torch"):
        raise ValueError(f"learner.table: kind must be None, 'numpy' or 'torch', got {kind!r}")
    return _table(_build(kind != "numpy"), kind)


def numpy_ref(show: bool = True) -> LearnerNumpy:
    """``swin_edu.numpy_ref`` with the learner's numpy pieces (01-06) in it; prints the table unless
    ``show=False``."""
    b = _build(False)
    if show:
        print(_table(b, "numpy"))
    return b.numpy


def torch_classes(show: bool = True) -> LearnerTorch:
    """The learner's PyTorch classes of notebook 07 (and ``snp``, the learner's numpy); prints the table unless
    ``show=False``."""
    b = _build(True)
    if show:
        print(_table(b, None))
    return LearnerTorch(**{p.name: b.torch_ns[p.name] for p in pieces("torch")}, snp=b.numpy)


_WHAT = {"numpy": ("numpy Swin", "numpy Swin"), "torch": ("PyTorch Swin", "PyTorch Swin")}


def whose_model(kind: str = "torch") -> tuple[int, int]:
    """``(n, total)``: how many of the ``kind`` model's pieces (``"numpy"``: 01-06, ``"torch"``: 07) are the
    learner's."""
    if kind not in _WHAT:
        raise ValueError(f"learner.whose_model: kind must be 'numpy' or 'torch', got {kind!r}")
    b = _build(kind == "torch")
    return sum(1 for p in pieces(kind) if p.name in b.whose), len(pieces(kind))


def model_label(kind: str = "torch") -> str:
    """What to call the learner's model in a sentence: "your PyTorch Swin" only when every piece passed, "the
    reference ..." when none did, and how many are theirs in between (in the language in force)."""
    n, total = whose_model(kind)
    what, what_zh = _WHAT[kind]
    key = "learner.model.yours" if n == total else "learner.model.partly" if n else "learner.model.reference"
    return i18n.t(key, what=what, what_zh=what_zh, n=n, total=total)


def torch_model(cfg, state_dict=None, *, show: bool = True):
    """The learner's ``StudentSwin(cfg)`` (their classes where they passed), with ``state_dict`` (official keys)
    loaded strictly when given, in eval mode."""
    from .config import SwinConfig
    from .demos.student_model import load_learned

    if not isinstance(cfg, SwinConfig):
        raise TypeError(f"learner.torch_model: cfg must be a SwinConfig, got {type(cfg).__name__}")
    model = torch_classes(show=show).StudentSwin(cfg)
    return load_learned(model, state_dict) if state_dict is not None else model.eval()


def mine(exercise: str) -> Any:
    """The learner's piece of ``exercise`` (its name in ``check``), ready to call (bound to the learner's other
    pieces), or None when it is not solved (this kernel, else the file)."""
    piece = next((p for p in PIECES if p.exercise == exercise), None)
    if piece is None:
        raise ValueError(f"learner.mine: exercise must be one of {[p.exercise for p in PIECES]}, got {exercise!r}")
    b = _build(piece.kind == "torch")
    if piece.name not in b.whose:
        return None
    return b.numpy._mine[piece.name] if piece.kind == "numpy" else b.torch_ns[piece.name]


def stage_maps(model, images) -> list:
    """The map after each stage's blocks (before its patch merging), channels-last ``(B, H_i, W_i, C_i)``: what
    a detection or segmentation head (FPN, UPerNet) reads. Works for any model with the official names
    (``layers.i.blocks``): the learner's ``StudentSwin`` and the package's ``SwinTransformer``."""
    import torch

    if not isinstance(model, torch.nn.Module) or not hasattr(model, "layers"):
        raise TypeError(f"learner.stage_maps: model must be a Swin nn.Module with .layers, got {type(model).__name__}")
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"learner.stage_maps: images must be a tensor (B, C, H, W), got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    maps, hooks = [], []
    for layer in model.layers:
        hooks.append(layer.blocks[-1].register_forward_hook(lambda m, i, out: maps.append(out.detach())))
    try:
        with torch.no_grad():
            model(images)
    finally:
        for h in hooks:
            h.remove()
    return maps


def backbone(cfg, state_dict=None, images=None, *, show: bool = True):
    """The learner's Swin as a backbone in one call: ``(model, maps)`` with the learner's ``StudentSwin`` (the
    references where a piece is unsolved) and, when ``images`` are given, its stage maps (:func:`stage_maps`)."""
    model = torch_model(cfg, state_dict, show=show)
    return model, (stage_maps(model, images) if images is not None else None)
