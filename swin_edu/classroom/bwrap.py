"""The grading sandbox: one bubblewrap (``bwrap``) container per run of a student's code.

Inside, the process sees a private root (tmpfs) holding, read-only, only what Python needs (``/usr``,
the interpreter's prefix, the virtual environment), a copy of the package (for a graded exercise: a copy
whose reference implementations are stubs, see :mod:`.stubs`), the grader's two files (``child.py``,
``codec.py``), the job (inputs only: never the expected outputs) and, for the notebook run, a copy of
the submission; plus private, size-capped ``/tmp`` and home folders. The package as it is installed (a
wheel in site-packages, the source of an editable install, the container's copy) is covered by an empty
folder wherever a bind would show it, and the sandbox refuses to start when its Python could still import
it (:meth:`Sandbox._probe`): the copy is the only ``swin_edu`` there. No network (a new network namespace),
no view of other processes (a new PID namespace), no capabilities, no kernel keyrings (a seccomp filter
refuses ``add_key``, ``request_key`` and ``keyctl``): when the grader runs as root, the first process drops
to an unprivileged user of its own (one per parallel worker, so that the process limit of one sandbox cannot
starve another; drawn at random for each grading run, so that two graders on one machine do not share
users). Limits: CPU time, address space, file size and processes (``setrlimit`` in the sandbox's first
process, before any student code), wall time and output size (here: the process group is killed).

Without ``bwrap`` the grader refuses to run, unless told explicitly that it may run student code
unsandboxed (``allow_unsandboxed``: the same limits, none of the isolation).
"""

from __future__ import annotations

import glob
import json
import os
import pathlib
import platform
import pwd
import secrets
import shutil
import signal
import site
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

from ..i18n import Text

__all__ = ["Limits", "RunResult", "Sandbox", "SandboxUnavailable", "VERDICT_LIMITS", "DISPLAY_LIMITS",
           "seccomp_program", "installed_packages", "pick_uid_base"]

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # the package the grader itself runs from
#: the blocks of unprivileged users of the sandboxes (one per parallel slot) when the grader runs as root: a
#: block is drawn at random for each grading run (:func:`pick_uid_base`) in [UID_LOW, UID_HIGH)
UID_LOW, UID_HIGH, UID_BLOCK = 1 << 20, 1 << 30, 4096
MiB = 1 << 20


def pick_uid_base(rng=None) -> int:
    """The first user id of a block of :data:`UID_BLOCK` ids that no account of this machine has, drawn at
    random: two grading runs on one machine (two graders, or the same one twice) do not share users, hence
    neither their process limits (``RLIMIT_NPROC`` counts per user) nor anything the kernel keeps per user."""
    rng = rng or secrets.SystemRandom()
    for _ in range(100):
        base = rng.randrange(UID_LOW // UID_BLOCK, UID_HIGH // UID_BLOCK) * UID_BLOCK
        try:
            taken = any(p.pw_uid in range(base, base + UID_BLOCK) for p in pwd.getpwall())
        except OSError:
            taken = False
        if not taken:
            return base
    raise RuntimeError("no free block of user ids for the sandboxes")


# ------------------------------------------------------------------------------------ seccomp
#: syscall numbers of the kernel keyring calls (add_key, request_key, keyctl) per audit architecture
_KEYRING_SYSCALLS = {
    0xC000003E: (248, 249, 250),  # x86_64
    0xC00000B7: (217, 218, 219),  # aarch64
}
_MACHINE_ARCH = {"x86_64": 0xC000003E, "amd64": 0xC000003E, "aarch64": 0xC00000B7, "arm64": 0xC00000B7}


def seccomp_program(machine: Optional[str] = None) -> Optional[bytes]:
    """A classic-BPF seccomp filter (``struct sock_filter`` array, for ``bwrap --seccomp FD``) that refuses
    the kernel keyring calls with ENOSYS, and every call of another architecture's ABI (x32, i386 through
    ``int 0x80``); everything else is allowed. The keyrings are the one kernel state that outlives a process
    and that the sandbox's namespaces do not separate: a key stored by one submission could otherwise be read
    by the next one run as the same user. None on an architecture this does not know."""
    arch = _MACHINE_ARCH.get((machine or platform.machine()).lower())
    if arch is None:
        return None
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, enosys = 0x7FFF0000, 0x00050000 | 38
    calls = _KEYRING_SYSCALLS[arch]
    prog = [(ld_abs, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, enosys), (ld_abs, 0, 0, 0)]
    n = len(calls)
    prog.append((jge, n + 1, 0, 0x40000000))  # the x32 ABI (x86_64): refused
    for i, nr in enumerate(calls):
        prog.append((jeq, n - i, 0, nr))
    prog += [(ret, 0, 0, allow), (ret, 0, 0, enosys)]
    return b"".join(struct.pack("HBBI", *ins) for ins in prog)


# ------------------------------------------------------------------------------------ installed copies
def _site_dirs(prefixes: Iterable[str]) -> list[str]:
    """The folders where Python packages get installed under these prefixes (site-, dist-packages)."""
    out = []
    for prefix in prefixes:
        for pattern in ("lib*/python3*/site-packages", "lib*/python3*/dist-packages",
                        "lib/python3/dist-packages", "local/lib*/python3*/site-packages",
                        "local/lib*/python3*/dist-packages"):
            out += glob.glob(os.path.join(prefix, pattern))
    return out


def installed_packages(visible: Iterable[str], name: str = PACKAGE_ROOT.name) -> list[str]:
    """The copies of the full package that a sandbox whose read-only binds are ``visible`` would show: the
    package the grader runs from, and every ``swin_edu`` in a site folder of the interpreter (wheel,
    container) or on its path, as far as one of the binds contains it."""
    visible = [os.path.realpath(v) for v in visible]
    candidates = {str(PACKAGE_ROOT), os.path.realpath(PACKAGE_ROOT)}
    dirs = list(sys.path) + _site_dirs([sys.prefix, sys.base_prefix, "/usr", "/usr/local"])
    try:
        dirs += site.getsitepackages()
    except AttributeError:  # a virtualenv's old site.py
        pass
    for d in dirs:
        if d and os.path.isdir(d):
            for entry in (os.path.join(d, name), os.path.join(d, name + ".py")):
                if os.path.exists(entry):
                    candidates.add(os.path.realpath(entry))
    return sorted(c for c in candidates if os.path.exists(c) and any(_inside(c, v) for v in visible))


#: run inside the sandbox (without the package copy): where could this Python import the package from?
_FIND_PACKAGE = r"""
import glob, importlib.util, json, os, site, sys
found = []
try:
    spec = importlib.util.find_spec("swin_edu")
    if spec is not None and (spec.origin or importlib.util.find_spec("swin_edu.numpy_ref")):
        found.append(spec.origin or "a namespace package")
except Exception as e:
    found.append("find_spec failed: %r" % (e,))
dirs = list(sys.path) + list(getattr(site, "getsitepackages", lambda: [])())
for prefix in {sys.prefix, sys.base_prefix, "/usr", "/usr/local"}:
    for pattern in ("lib*/python3*/*-packages", "lib/python3/dist-packages",
                    "local/lib*/python3*/*-packages"):
        dirs += glob.glob(os.path.join(prefix, pattern))
for d in dirs:
    for entry in (os.path.join(d, "swin_edu"), os.path.join(d, "swin_edu.py")):
        if os.path.isfile(entry) or (os.path.isdir(entry) and os.listdir(entry)):
            found.append(entry)
print(json.dumps(sorted(set(found))))
"""


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
        self.uid_base = pick_uid_base() if self.as_root else None
        self._grader_dir = tempfile.mkdtemp(prefix="swin-edu-grader-")
        for name in ("child.py", "codec.py"):
            shutil.copyfile(HERE / name, os.path.join(self._grader_dir, name))
        os.chmod(self._grader_dir, 0o755)
        program = seccomp_program()
        self._seccomp = None
        if program is not None:
            self._seccomp = os.path.join(self._grader_dir, "seccomp.bpf")
            with open(self._seccomp, "wb") as f:
                f.write(program)
        self.masks = installed_packages(s for s, _ in self._system_binds())
        self.sandboxed = bool(self.bwrap) and os.access(self.bwrap, os.X_OK)
        if self.sandboxed:
            try:
                problem = self._probe()
            except SandboxUnavailable as e:  # it would show the package: only the unsafe mode goes on
                if not allow_unsandboxed:
                    raise
                problem = str(e)
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
            f"bubblewrap ({self.bwrap})"
            + (f", unprivileged users {self.uid_base}+slot" if self.as_root else "")
            + (", keyring calls refused (seccomp)" if self._seccomp else ", NO seccomp filter (unknown CPU)")
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
        for mask in self.masks:  # the installed package: an empty, read-only folder in its place
            if os.path.isdir(mask):
                args += ["--perms", "0555", "--size", "4096", "--tmpfs", mask, "--remount-ro", mask]
            else:
                args += ["--ro-bind", "/dev/null", mask]
        args += ["--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        return args + ["--chdir", chdir, "--"]

    def _probe(self) -> str:
        """"" when the sandbox works here; else what is wrong. It works when its Python starts, and cannot
        find the full package anywhere (on its path, in a site folder of its prefixes): a student's answer
        that removes the copy from ``sys.path`` and imports again must find nothing."""
        try:
            args = self._bwrap_args(self._system_binds(), VERDICT_LIMITS, {"PATH": "/usr/bin"}, "/")
            fd = os.open(self._seccomp, os.O_RDONLY) if self._seccomp else None
            try:
                proc = subprocess.run(
                    self._with_seccomp(args, fd) + [self.python, "-s", "-c", _FIND_PACKAGE],
                    capture_output=True,
                    timeout=60,
                    pass_fds=(fd,) if fd is not None else (),
                )
            finally:
                if fd is not None:
                    os.close(fd)
        except (OSError, subprocess.TimeoutExpired) as e:
            return str(e)
        try:
            found = json.loads(proc.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
        except (ValueError, IndexError):
            found = None
        if proc.returncode != 0 or not isinstance(found, list):
            return (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[
                -500:
            ] or f"exit {proc.returncode}"
        if found:
            raise SandboxUnavailable(
                f"inside the sandbox, Python could import the full package (with every reference) from "
                f"{', '.join(map(str, found))[:500]}: a student could use it. The grader covers the copies "
                f"it "
                f"knows ({', '.join(self.masks) or 'none'}); install the package in a site-packages folder "
                f"of the grader's environment, or report this"
            )
        return ""

    @staticmethod
    def _with_seccomp(args: list[str], fd: Optional[int]) -> list[str]:
        """``args`` (bwrap's, ending in ``--``) with the seccomp filter read from ``fd``."""
        if fd is None:
            return args
        return args[:1] + ["--seccomp", str(fd)] + args[1:]

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
                    job["uid"] = job["gid"] = self.uid_base + int(slot) % UID_BLOCK
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
                fd = os.open(self._seccomp, os.O_RDONLY) if self._seccomp else None
                try:
                    cmd = self._with_seccomp(self._bwrap_args(binds, limits, env, inside["home"]), fd) + cmd
                    fds = (fd,) if fd is not None else ()
                    return self._execute(cmd, None, limits, cwd=work, pass_fds=fds)
                finally:
                    if fd is not None:
                        os.close(fd)
            return self._execute(cmd, env, limits, cwd=inside["home"])
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @staticmethod
    def _execute(cmd: list[str], env: Optional[dict], limits: Limits, cwd: str, pass_fds=()) -> RunResult:
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
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
