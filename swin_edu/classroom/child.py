"""The grader's code inside the sandbox (run as a script: ``python child.py MODE JOB.json``).

It starts as the sandbox's first process, before any student code: it drops to an unprivileged user
(when it starts as root), lowers its resource limits (CPU time, memory, file size, processes), then

* ``verdict``: runs the trusted prelude, then the student's answer cell(s) statement by statement,
  then calls the student's function on each case of the job and writes, per case, a JSON line with
  the returned value and the arguments after the call (:mod:`codec`: plain data only) on the result
  stream. Nothing here decides anything: the grader, outside, compares with expected values the
  sandbox never sees.
* ``display``: runs the notebook's code cells one by one in a fresh IPython kernel (for the outputs
  of the feedback page), restarting the kernel after a cell that hangs or kills it.

The result stream is the process's original stdout; the student's own prints go to stderr. The
student's code runs in this same process (verdict) or next to it (display), so it can write on the
result stream too: what it can write is only its own outputs, which the grader decodes strictly.
"""

from __future__ import annotations

import ast
import json
import linecache
import os
import queue
import resource
import shutil
import sys
import time
import traceback

try:  # inside the sandbox this file runs as a script, next to codec.py
    import codec  # type: ignore[import-not-found]
except ImportError:  # imported as part of the package (documentation, tests)
    from . import codec  # type: ignore[no-redef]

_RESULTS = None


def emit(event: dict) -> None:
    """One line on the result stream."""
    _RESULTS.write(json.dumps(event, separators=(",", ":")) + "\n")
    _RESULTS.flush()


class ReferenceUnavailable(BaseException):
    """Raised by a guarded library function (a BaseException, so that ``except Exception`` in the
    student's code does not hide it)."""


# ------------------------------------------------------------------------------------ set up
def prepare(job: dict) -> None:
    """Drop privileges, lower the limits, move to the private home folder."""
    global _RESULTS
    home = job["home"]
    uid, gid = job.get("uid"), job.get("gid")
    if uid is not None and os.getuid() == 0:
        os.chown(home, uid, gid)
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            os._exit(97)
    for name, value in job.get("limits", {}).items():
        resource.setrlimit(getattr(resource, name), (value, value))
    os.chdir(home)
    _RESULTS = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the student's prints go to the log, not to the result stream


# ------------------------------------------------------------------------------------ verdict
def _unavailable_text(name: str) -> str:
    return (f"{name} computes this exercise's answer; it is not available while your answer is graded. "
            f"Write the computation yourself.")


def _guard(target: str) -> None:
    """Make one library route to an exercise's answer raise :class:`ReferenceUnavailable`.

    ``aten::op``: the ATen operator itself, in PyTorch's dispatcher (every kernel of it), so that every Python
    route to it raises: ``torch.nn.functional``, ``torch.ops.aten``, ``torch._C``, a module that calls it.
    ``aten::op?arg``: only a call that gives ``arg`` a value other than its default raises (the rest is
    computed by the guard's own kernel: see :data:`_ARG_KERNELS`). The handle of these registrations is kept
    alive outside of Python's reach (no Python object refers to it), so that no code in the sandbox can take
    them back. ``module:function``: a Python function, replaced in every loaded module that holds it."""
    spec, _, arg = target.partition("?")
    module_name, _, attr = spec.partition(":")
    if module_name == "aten" and attr.startswith(":"):
        _aten_guard(attr[1:], arg)
        return
    if arg:
        raise ValueError(f"a keyword guard must be an ATen one ('aten::op?arg'), got {target!r}")
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return  # a library this machine does not have: nothing to reach
    original = getattr(module, attr, None)
    if original is None:
        return
    name = f"{module_name}.{attr}"

    def guarded(*args, **kwargs):
        raise ReferenceUnavailable(_unavailable_text(name))

    guarded.__name__ = getattr(original, "__name__", attr)
    for other in list(sys.modules.values()):
        try:
            names = [k for k, v in vars(other).items() if v is original]
        except TypeError:
            continue
        for key in names:
            setattr(other, key, guarded)


def _cross_entropy_kernel(message: str):
    """``aten::cross_entropy_loss`` without ``label_smoothing``: log-softmax then the negative log-likelihood
    (what PyTorch's own kernel does when the smoothing is 0); a smoothing other than 0 raises."""

    def kernel(self, target, weight=None, reduction=1, ignore_index=-100, label_smoothing=0.0):
        import torch

        if label_smoothing:
            raise ReferenceUnavailable(message)
        dim = 0 if self.dim() == 1 else 1
        logp = torch.log_softmax(self, dim)
        if target.is_floating_point():  # class probabilities
            if weight is not None:
                shape = [1] * self.dim()
                shape[dim] = -1
                logp = logp * weight.view(shape)
            loss = -(logp * target).sum(dim)
            return loss if reduction == 0 else loss.sum() if reduction == 2 else loss.mean()
        return torch.ops.aten.nll_loss_nd(logp, target, weight, reduction, ignore_index)

    return kernel


#: (ATen operator, argument) -> kernel that refuses the argument and computes the rest
_ARG_KERNELS = {("cross_entropy_loss", "label_smoothing"): _cross_entropy_kernel}
#: the dispatch keys a refusing kernel is registered for (every way into the operator on this machine)
_ATEN_KEYS = ("CompositeImplicitAutograd", "CompositeExplicitAutograd", "CPU", "CUDA", "Meta", "AutogradCPU",
              "AutogradCUDA", "Autograd")


def _aten_guard(op: str, arg: str) -> None:
    import ctypes
    import warnings

    import torch

    if f"aten::{op}" not in torch._C._dispatch_get_all_op_names():
        return  # this version of torch has no such operator
    if arg:
        message = (f"torch's {op.replace('_loss', '')}(..., {arg}=...) computes this exercise's answer; "
                   f"it is not available while your answer is graded. Write the computation yourself.")
        kernels = [("CompositeImplicitAutograd", _ARG_KERNELS[(op, arg)](message))]
    else:
        message = _unavailable_text(f"torch's {op} (aten::{op})")

        def refuse(*args, **kwargs):
            raise ReferenceUnavailable(message)

        kernels = [(key, refuse) for key in _ATEN_KEYS]
    handle = torch._C._dispatch_library("IMPL", "aten", "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "overriding a previously registered kernel": that is the point
        for key, kernel in kernels:
            try:
                handle.impl(op, key, kernel, False)
            except RuntimeError:
                pass  # a key this build does not have
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(handle))  # never released: the registrations stay for good
    del handle


def _python_source(source: str) -> tuple[str, bool]:
    """(the cell as Python, whether it has IPython syntax): ``%%time``, ``%magic`` and ``!cmd`` lines are
    translated into calls of ``get_ipython()``, as the notebook's kernel does."""
    try:
        ast.parse(source)
        return source, False
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source), True
    except Exception:  # noqa: BLE001 - the parse below reports the syntax error
        return source, False


def _shell(namespace: dict):
    """An IPython shell whose user namespace is the answer's, for the magics and ``!`` lines of an answer cell
    (they ran in the student's notebook: they must not cost marks here)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    if not InteractiveShell.initialized():
        InteractiveShell.instance(config=config, user_ns=namespace)
    shell = InteractiveShell.instance()
    namespace.setdefault("get_ipython", shell.get_ipython)
    return shell


def run_cell(source: str, filename: str, namespace: dict) -> list:
    """Execute a cell statement by statement: a statement that fails is reported and skipped, so that
    a stray test line in an answer cell does not hide the function defined next to it."""
    notes = []
    source, magics = _python_source(source)
    if magics:
        try:
            _shell(namespace)
        except Exception as e:  # noqa: BLE001 - without IPython the magics fail below, and are reported
            notes.append(f"the grader could not start IPython for the magics of your answer cell "
                         f"({type(e).__name__})")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as e:
        return [f"line {e.lineno} of your answer cell is not valid Python ({e.msg}): the cell was not run"]
    for node in tree.body:
        code = compile(ast.Module(body=[node], type_ignores=[]), filename, "exec")
        try:
            exec(code, namespace)  # noqa: S102 - the student's answer, inside the sandbox
        except BaseException as e:  # noqa: BLE001 - reported, then the next statement runs
            notes.append(f"line {node.lineno} of your answer cell raised {type(e).__name__}: {str(e)[:300]}")
    return notes


def _where(exc: BaseException) -> str:
    best = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith("<answer"):
            best = frame
    if best is None:
        return ""
    code = (best.line or "").strip()
    return f"line {best.lineno} of your answer cell" + (f": `{code[:200]}`" if code else "")


def verdict(job: dict) -> None:
    namespace: dict = {"__name__": "__main__"}
    exec(compile(job["prelude"], "<prelude>", "exec"), namespace)  # noqa: S102 - trusted imports
    for target in job.get("guards", ()):
        _guard(target)
    notes = []
    for cell in job["cells"]:
        notes += run_cell(cell["source"], f"<answer cell {cell['id']}>", namespace)
    fn = namespace.get(job["function"])
    emit({"event": "ready", "callable": callable(fn), "type": type(fn).__name__, "notes": notes[:20]})
    if not callable(fn):
        return
    for i, case in enumerate(job["cases"]):
        args, kwargs = codec.decode(case["args"]), codec.decode(case["kwargs"])
        emit({"event": "start", "case": i})
        started = time.monotonic()
        try:
            value = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - everything the student's code raises is reported
            emit(
                {
                    "event": "raised",
                    "case": i,
                    "mro": [c.__name__ for c in type(e).__mro__][:10],
                    "text": _text(e),
                    "where": _where(e),
                    "seconds": time.monotonic() - started,
                }
            )
            continue
        seconds = time.monotonic() - started
        try:
            value_tree, after_tree = codec.encode(value), codec.encode((args, kwargs))
        except BaseException as e:  # noqa: BLE001 - an output that cannot even be described
            value_tree = {"t": "other", "type": f"an object that could not be read ({type(e).__name__})"}
            after_tree = codec.encode((args, kwargs))
        emit({"event": "result", "case": i, "value": value_tree, "after": after_tree, "seconds": seconds})
    emit({"event": "end"})


def _text(e: BaseException) -> str:
    try:
        return str(e)[:2000]
    except BaseException:  # noqa: BLE001 - a __str__ that raises
        return ""


# ------------------------------------------------------------------------------------ display
_KEEP_MIME = ("text/plain", "image/png", "image/jpeg")


def _clean_output(msg: dict) -> dict | None:
    """An nbformat output from a kernel message, keeping only inert content (no HTML, no scripts)."""
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        return {
            "output_type": "stream",
            "name": content.get("name", "stdout"),
            "text": str(content.get("text", "")),
        }
    if kind in ("display_data", "execute_result"):
        data = {k: v for k, v in content.get("data", {}).items() if k in _KEEP_MIME and isinstance(v, str)}
        if not data:
            return None
        out = {"output_type": kind, "data": data, "metadata": {}}
        if kind == "execute_result":
            out["execution_count"] = content.get("execution_count")
        return out
    if kind == "error":
        return {
            "output_type": "error",
            "ename": str(content.get("ename", "")),
            "evalue": str(content.get("evalue", "")),
            "traceback": [str(t) for t in content.get("traceback", [])][:200],
        }
    return None


class _Outputs:
    def __init__(self, cap: int):
        self.items, self.size, self.cap, self.dropped = [], 0, cap, 0

    def add(self, out: dict) -> None:
        n, room = len(json.dumps(out)), self.cap - self.size
        if n > room:
            if out["output_type"] != "stream" or room < 1000:
                self.dropped += n
                return
            keep = room - 1000  # leaves room for the JSON around the text
            self.dropped += len(out["text"]) - keep
            out, n = dict(out, text=out["text"][:keep]), room
        last = self.items[-1] if self.items else None
        if (
            out["output_type"] == "stream"
            and last
            and last["output_type"] == "stream"
            and last["name"] == out["name"]
        ):
            last["text"] += out["text"]
        else:
            self.items.append(out)
        self.size += n

    def result(self) -> list:
        if self.dropped:
            self.items.append(
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": f"\n[the grader kept {self.cap:,} bytes of this cell's output and left out "
                    f"the rest]\n",
                }
            )
        return self.items


def _start_kernel(home: str):
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(
        extra_arguments=["--HistoryManager.hist_file=:memory:"],
        cwd=home,
        stdout=open(os.devnull, "w"),
        stderr=open(os.devnull, "w"),
    )  # noqa: SIM115
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    return km, kc


def _run_in_kernel(km, kc, source: str, timeout: float, cap: int):
    msg_id = kc.execute(source, store_history=True, allow_stdin=False, stop_on_error=False)
    deadline = time.monotonic() + timeout
    outputs, count = _Outputs(cap), None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout", outputs.result(), count
        try:
            msg = kc.get_iopub_msg(timeout=min(remaining, 0.5))
        except queue.Empty:
            if not km.is_alive():
                return "died", outputs.result(), count
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status" and msg["content"].get("execution_state") == "idle":
            return "ok", outputs.result(), count
        if kind == "execute_input":
            count = msg["content"].get("execution_count")
        elif kind == "clear_output":
            outputs = _Outputs(cap)
        else:
            out = _clean_output(msg)
            if out is not None:
                outputs.add(out)


def display(job: dict) -> None:
    home = job["home"]
    submission = job.get("submission")
    if submission and os.path.isdir(submission):
        for name in os.listdir(submission):
            src = os.path.join(submission, name)
            if os.path.isfile(src) and not os.path.islink(src):
                shutil.copyfile(src, os.path.join(home, name))
    deadline = time.monotonic() + float(job.get("budget", float("inf")))
    km, kc = _start_kernel(home)
    for cell in job["cells"]:
        left = deadline - time.monotonic()
        if left <= 0:  # the notebook's time budget is used up: the grader says so for the cells left
            break
        emit({"event": "start", "cell": cell["index"]})
        started = time.monotonic()
        status, outputs, count = _run_in_kernel(
            km, kc, cell["source"], min(job["cell_timeout"], left), job["cell_output"]
        )
        if status == "timeout" and left < job["cell_timeout"]:
            status = "budget"
        emit(
            {
                "event": "done",
                "cell": cell["index"],
                "status": status,
                "outputs": outputs,
                "count": count,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
        if status == "budget":
            break
        if status != "ok":
            try:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001, S110 - a dead kernel may not answer; a fresh one starts anyway
                pass
            km, kc = _start_kernel(home)
    emit({"event": "end"})
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def main(argv: list) -> int:
    if len(argv) != 3 or argv[1] not in ("verdict", "display"):
        print("usage: child.py verdict|display JOB.json", file=sys.stderr)
        return 2
    with open(argv[2], encoding="utf-8") as f:
        job = json.load(f)
    prepare(job)
    (verdict if argv[1] == "verdict" else display)(job)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
