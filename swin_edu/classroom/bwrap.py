"""The grading sandbox: one bubblewrap (``bwrap``) container per run of a student's code.

Inside, the process sees a private root (tmpfs) holding, read-only, only what Python needs (``/usr``,
the interpreter's prefix, the virtual environment), a copy of the package (for a graded exercise: a copy
whose reference implementations are stubs, see :mod:`.stubs`), the grader's two files (``child.py``,
``codec.py``), the job (inputs only: never the expected outputs) and, for the notebook run, a copy of
the submission; plus private, size-capped ``/tmp`` and home folders. No network (a new network
namespace), no view of other processes (a new PID namespace), no capabilities: when the grader runs as
root, the first process drops to an unprivileged user of its own (one per parallel worker, so that the
process limit of one sandbox cannot starve another). Limits: CPU time, address space, file size and
processes (``setrlimit`` in the sandbox's first process, before any student code), wall time and output
size (here: the process group is killed).

Without ``bwrap`` the grader refuses to run, unless told explicitly that it may run student code
unsandboxed (``allow_unsandboxed``: the same limits, none of the isolation).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

from ..i18n import Text

__all__ = ["Limits", "RunResult", "Sandbox", "SandboxUnavailable", "VERDICT_LIMITS", "DISPLAY_LIMITS"]

HERE = pathlib.Path(__file__).resolve().parent
#: the unprivileged users of the sandboxes (one per parallel slot) when the grader runs as root
UID_BASE = 61000
MiB = 1 << 20


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or does not work here, and unsandboxed grading was not allowed."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run. ``wall`` (seconds): killed after; ``cpu`` (seconds of CPU
    time), ``memory`` (bytes of address space per process), ``processes`` (processes and threads of the
    sandbox's user), ``file_size`` (bytes of any one file written): set by ``setrlimit``;
    ``results`` / ``log`` (bytes): what is kept of the result stream (more: killed) and of the log;
    ``scratch`` (bytes): size of the private ``/tmp`` and home folders."""

    wall: float = 60.0
    cpu: int = 60
    memory: int = 2048 * MiB
    processes: int = 64
    file_size: int = 64 * MiB
    results: int = 256 * MiB
    log: int = 256 * 1024
    scratch: int = 256 * MiB

    def __post_init__(self):
        for name in ("wall", "cpu", "memory", "processes", "file_size", "results", "log", "scratch"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")

    def rlimits(self) -> dict:
        return {
            "RLIMIT_CPU": int(self.cpu),
            "RLIMIT_AS": int(self.memory),
            "RLIMIT_FSIZE": int(self.file_size),
            "RLIMIT_NPROC": int(self.processes),
            "RLIMIT_CORE": 0,
        }


#: defaults for the run of one graded exercise and for the notebook run (the grader's settings override)
VERDICT_LIMITS = Limits(wall=60, cpu=60, memory=2048 * MiB, processes=32)
DISPLAY_LIMITS = Limits(wall=1800, cpu=1800, memory=4096 * MiB, processes=128, results=64 * MiB)


@dataclass
class RunResult:
    """What came out of one run: the result stream (``results``), the log (stderr, capped), how it ended."""

    returncode: Optional[int]
    results: bytes
    log: bytes
    seconds: float
    timed_out: bool = False
    overflow: bool = False
    events: list = field(default_factory=list)

    def __post_init__(self):
        for line in self.results.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("event"), str):
                self.events.append(event)

    def ending(self, limits: Limits) -> Text:
        """How the run ended, in words for a student (an :class:`swin_edu.i18n.Text`: English, with its Chinese)."""
        if self.timed_out:
            return Text(f"it was stopped after {limits.wall:g} s (the time limit)",
                        f"它在 {limits.wall:g} 秒后被停止（时间限制）")
        if self.overflow:
            return Text(f"it wrote more than {limits.results // MiB} MiB of results and was stopped",
                        f"它写出的结果超过 {limits.results // MiB} MiB，被停止了")
        code = self.returncode
        if code is None or code == 0:
            return Text("it ended normally", "它正常结束了")
        signum = -code if code < 0 else code - 128 if code > 128 else None
        if signum == signal.SIGXCPU:
            return Text(f"it used more than {limits.cpu} s of CPU time and was stopped",
                        f"它用掉的 CPU 时间超过 {limits.cpu} 秒，被停止了")
        if signum == signal.SIGKILL:
            return Text("it was killed (out of memory, or by a signal)", "它被强制终止了（内存不足，或收到了信号）")
        if signum:
            try:
                sig = signal.Signals(signum).name
            except ValueError:
                sig = str(signum)
            return Text(f"it was killed by signal {sig}", f"它被信号 {sig} 终止了")
        if code == 97:
            return Text("the sandbox could not drop its privileges", "沙箱无法降低自己的权限")
        return Text(f"the process exited with status {code} (os._exit or sys.exit at the top level?)",
                    f"进程以状态 {code} 退出（是不是在顶层调用了 os._exit 或 sys.exit？）")


def _read_capped(stream, cap: int, sink: list, on_overflow=None) -> None:
    size = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        if size < cap:
            sink.append(chunk[: cap - size])
        size += len(chunk)
        if size > cap and on_overflow is not None:
            on_overflow()
            on_overflow = None
    stream.close()


def _inside(path: str, root: str) -> bool:
    path, root = os.path.abspath(path), os.path.abspath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


class Sandbox:
    """Runs ``child.py`` in bubblewrap (or, only when allowed, without it).

    ``hidden_paths``: folders that must not be visible inside (the course folder, the repository):
    the sandbox refuses to start if one of its read-only binds would show one of them.
    """

    def __init__(
        self,
        *,
        allow_unsandboxed: bool = False,
        bwrap: Optional[str] = None,
        hidden_paths: Iterable[os.PathLike | str] = (),
        python: Optional[str] = None,
    ):
        self.python = python or sys.executable
        self.bwrap = bwrap if bwrap is not None else shutil.which("bwrap")
        self.hidden = [os.path.realpath(p) for p in hidden_paths]
        self.as_root = os.geteuid() == 0
        self._grader_dir = tempfile.mkdtemp(prefix="swin-edu-grader-")
        for name in ("child.py", "codec.py"):
            shutil.copyfile(HERE / name, os.path.join(self._grader_dir, name))
        os.chmod(self._grader_dir, 0o755)
        self.sandboxed = bool(self.bwrap) and os.access(self.bwrap, os.X_OK)
        if self.sandboxed:
            problem = self._probe()
            if problem:
                self.sandboxed = False
                if not allow_unsandboxed:
                    raise SandboxUnavailable(f"bubblewrap ({self.bwrap}) does not work here: {problem}")
        elif not allow_unsandboxed:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, and the grader does not run students' code without a "
                "sandbox. Install it (Debian/Ubuntu: sudo apt-get install bubblewrap; or bash "
                "tools/install_sandbox.sh), or grade in the container image (classroom/Containerfile). Only "
                "if you accept running submissions unsandboxed as yourself: pass --unsafe-no-sandbox."
            )
        self.description = (
            f"bubblewrap ({self.bwrap})" + (", unprivileged users per slot" if self.as_root else "")
            if self.sandboxed
            else "NO SANDBOX (--unsafe-no-sandbox): limits only"
        )

    def close(self) -> None:
        shutil.rmtree(self._grader_dir, ignore_errors=True)

    # ------------------------------------------------------------------------------- bwrap args
    def _system_binds(self) -> list[tuple[str, str]]:
        """(source, target) read-only binds: the system's /usr and what the interpreter needs."""
        binds = []
        for path in ("/usr", "/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime", "/etc/fonts"):
            if os.path.exists(path):
                binds.append((path, path))
        for path in {
            sys.base_prefix,
            sys.prefix,
            os.path.realpath(sys.prefix),
            os.path.dirname(os.path.dirname(os.path.realpath(self.python))),
        }:
            if path and os.path.isdir(path) and not any(_inside(path, s) for s, _ in binds if s == "/usr"):
                binds.append((path, path))
        return sorted(set(binds), key=lambda b: (b[1].count("/"), b[1]))

    def _check_hidden(self, sources: Iterable[str]) -> None:
        for src in sources:
            real = os.path.realpath(src)
            for hidden in self.hidden:
                if _inside(hidden, real):
                    raise SandboxUnavailable(
                        f"the sandbox would show {hidden} (it is inside {real}, which the "
                        f"sandbox needs read-only); move the course folder elsewhere"
                    )

    def _bwrap_args(self, binds: list[tuple[str, str]], limits: Limits, env: dict, chdir: str) -> list[str]:
        args = [
            self.bwrap,
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
        ]
        if not self.as_root:
            args.append("--unshare-user")
        args += ["--dev", "/dev", "--proc", "/proc"]
        made = {"/"}
        mounted: list[str] = []
        # the private scratch folders first: a read-only bind below them (a virtual environment in a clone
        # under /tmp, as CI makes) is then mounted on top of the tmpfs instead of being hidden by it
        for scratch in ("/tmp", "/home", "/home/student"):
            if scratch == "/home":
                args += ["--perms", "0755", "--dir", scratch]
            else:
                args += ["--perms", "01777" if scratch == "/tmp" else "0755", "--size", str(int(limits.scratch)),
                         "--tmpfs", scratch]
            made.add(scratch)
        for name in ("bin", "lib", "lib64", "lib32", "sbin"):
            path = "/" + name
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
                made.add(path)
            elif os.path.isdir(path):
                binds = binds + [(path, path)]
        for src, dst in sorted(binds, key=lambda b: (b[1].count("/"), b[1])):
            if any(_inside(dst, m) for m in mounted) and src == dst:
                continue  # already visible through a parent bind
            parents = []
            p = os.path.dirname(dst)
            while p not in made and not any(_inside(p, m) for m in mounted):
                parents.append(p)
                p = os.path.dirname(p)
            for parent in reversed(parents):
                args += ["--perms", "0755", "--dir", parent]
                made.add(parent)
            args += ["--ro-bind", src, dst]
            mounted.append(dst)
        args += ["--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        return args + ["--chdir", chdir, "--"]

    def _probe(self) -> str:
        try:
            proc = subprocess.run(
                self._bwrap_args(self._system_binds(), VERDICT_LIMITS, {"PATH": "/usr/bin"}, "/")
                + [self.python, "-c", "print('ok')"],
                capture_output=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return str(e)
        if proc.returncode != 0 or proc.stdout.strip() != b"ok":
            return (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[
                -500:
            ] or f"exit {proc.returncode}"
        return ""

    # ------------------------------------------------------------------------------- one run
    def run(
        self,
        mode: str,
        job: dict,
        *,
        package: os.PathLike | str,
        limits: Limits,
        slot: int = 0,
        submission: Optional[os.PathLike | str] = None,
        extra_env: Optional[dict] = None,
    ) -> RunResult:
        """Run ``child.py MODE`` on ``job`` (a JSON-able dict; the grader adds paths, user and limits).

        ``package``: the folder that holds the ``swin_edu`` copy to import; ``submission``: a folder
        copied into the home folder first (notebook run). ``slot``: the parallel worker's number."""
        if mode not in ("verdict", "display"):
            raise ValueError(f"mode must be 'verdict' or 'display', got {mode!r}")
        if not isinstance(limits, Limits):
            raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
        work = tempfile.mkdtemp(prefix="swin-edu-run-")
        try:
            os.chmod(work, 0o755)
            job = dict(job, limits=limits.rlimits())
            if self.sandboxed:
                inside = {
                    "package": "/opt/swin-edu",
                    "grader": "/opt/grader",
                    "job": "/job",
                    "submission": "/submission",
                    "home": "/home/student",
                    "tmp": "/tmp",
                }
                if self.as_root:
                    job["uid"] = job["gid"] = UID_BASE + int(slot)
            else:
                home = os.path.join(work, "home")
                os.mkdir(home)
                inside = {
                    "package": str(package),
                    "grader": self._grader_dir,
                    "job": work,
                    "submission": str(submission) if submission else "",
                    "home": home,
                    "tmp": os.path.join(work, "tmp"),
                }
                os.mkdir(inside["tmp"])
            job["home"] = inside["home"]
            job["submission"] = inside["submission"] if submission else None
            job_file = os.path.join(work, "job.json")
            with open(job_file, "w", encoding="utf-8") as f:
                json.dump(job, f)
            os.chmod(job_file, 0o644)
            env = {
                "PATH": f"{os.path.dirname(self.python)}:/usr/local/bin:/usr/bin:/bin",
                "HOME": inside["home"],
                "USER": "student",
                "LOGNAME": "student",
                "LANG": "C.UTF-8",
                "PYTHONPATH": inside["package"],
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONNOUSERSITE": "1",
                "OMP_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1",
                "MPLBACKEND": "Agg",
                "MPLCONFIGDIR": inside["tmp"] + "/mpl",
                "JUPYTER_RUNTIME_DIR": inside["tmp"] + "/jupyter",
                "JUPYTER_PLATFORM_DIRS": "1",
                "IPYTHONDIR": inside["tmp"] + "/ipython",
                "TMPDIR": inside["tmp"],
                **(extra_env or {}),
            }
            cmd = [self.python, "-s", "-B", inside["grader"] + "/child.py", mode, inside["job"] + "/job.json"]
            if self.sandboxed:
                binds = self._system_binds()
                self._check_hidden([s for s, _ in binds])
                binds += [
                    (str(package), inside["package"]),
                    (self._grader_dir, inside["grader"]),
                    (work, inside["job"]),
                ]
                if submission:
                    binds.append((str(submission), inside["submission"]))
                cmd = self._bwrap_args(binds, limits, env, inside["home"]) + cmd
                popen_env = None
            else:
                popen_env = env
            return self._execute(cmd, popen_env, limits, cwd=inside["home"] if not self.sandboxed else work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @staticmethod
    def _execute(cmd: list[str], env: Optional[dict], limits: Limits, cwd: str) -> RunResult:
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        overflow = threading.Event()

        def kill():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

        def too_much():
            overflow.set()
            kill()

        out, err = [], []
        readers = [
            threading.Thread(target=_read_capped, args=(proc.stdout, limits.results, out, too_much)),
            threading.Thread(target=_read_capped, args=(proc.stderr, limits.log, err)),
        ]
        for t in readers:
            t.daemon = True
            t.start()
        timed_out = False
        try:
            proc.wait(timeout=limits.wall)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill()
            proc.wait()
        kill()  # whatever the student's code left behind in the process group
        for t in readers:
            t.join(10)
        return RunResult(
            proc.returncode,
            b"".join(out),
            b"".join(err),
            time.monotonic() - start,
            timed_out,
            overflow.is_set(),
        )
