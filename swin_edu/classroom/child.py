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
def _guard(target: str) -> None:
    import importlib

    spec, _, keyword = target.partition("?")
    module_name, attr = spec.split(":")
    module = importlib.import_module(module_name)
    original = getattr(module, attr)
    name = f"{module_name}.{attr}"

    if keyword:

        def guarded(*args, **kwargs):
            if kwargs.get(keyword):
                raise ReferenceUnavailable(
                    f"{name}(..., {keyword}=...) computes this exercise's answer; it is "
                    f"not available while your answer is graded. Write the computation "
                    f"yourself."
                )
            return original(*args, **kwargs)
    else:

        def guarded(*args, **kwargs):
            raise ReferenceUnavailable(
                f"{name} computes this exercise's answer; it is not available while your "
                f"answer is graded. Write the computation yourself."
            )

    guarded.__name__ = getattr(original, "__name__", attr)
    setattr(module, attr, guarded)


def _python_source(source: str) -> str:
    """The cell as Python: IPython syntax (``%magic``, ``!cmd``) is translated when there is some."""
    try:
        ast.parse(source)
        return source
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - the parse below reports the syntax error
        return source


def run_cell(source: str, filename: str, namespace: dict) -> list:
    """Execute a cell statement by statement: a statement that fails is reported and skipped, so that
    a stray test line in an answer cell does not hide the function defined next to it."""
    notes = []
    source = _python_source(source)
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
    km, kc = _start_kernel(home)
    for cell in job["cells"]:
        emit({"event": "start", "cell": cell["index"]})
        started = time.monotonic()
        status, outputs, count = _run_in_kernel(
            km, kc, cell["source"], job["cell_timeout"], job["cell_output"]
        )
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
