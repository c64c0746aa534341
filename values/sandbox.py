"""Run untrusted Python source outside the engine: a pool of warm, isolated workers.

Each worker is a separate interpreter (``sandbox_worker.py``, standard library only) that
sets up its isolation once and then forks a fresh child per program, so scoring does not pay
an interpreter start-up per program. What is isolated depends on what the machine allows;
``SandboxPool.isolation`` says which mode is in force (docs/sandbox.md spells
out each one):

- ``namespaces`` (running as root): network, PID, mount, IPC and UTS namespaces; programs
  run under a uid of their own worker, on a read-only file system with a private tmpfs.
- ``userns`` (unprivileged user namespaces allowed): the same namespaces, but programs keep
  the caller's uid (without capabilities).
- ``rlimits``: resource limits and process killing only — no network isolation. ``auto``
  falls back to it with a logged warning; ask for it explicitly to silence that.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import queue
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import CorrectError

log = logging.getLogger("correct.sandbox")

ISOLATION_MODES = ("auto", "namespaces", "userns", "rlimits")
_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_worker.py")
_START_S = 30.0  # how long a worker may take to set itself up
_GRACE_S = 10.0  # beyond the program's own timeout, how long to wait for a worker's reply
_UID_BASE = 0x40000000  # sandbox uids (namespaces mode): far above any real account
_slots = itertools.count()


@dataclass(frozen=True)
class RunResult:
    returncode: int | None
    """Exit status; negative for a signal; None when the program never ran to an exit status
    (the sandbox failed, or the worker running it died)."""
    stdout: str
    stderr: str
    timed_out: bool
    memory_exceeded: bool
    output_truncated: bool
    seconds: float
    completed: bool = False
    """The program and the ``tests`` after it ran to their end (no exit, no exception)."""


@runtime_checkable
class Sandbox(Protocol):
    def run(self, source: str, tests: str | None = None) -> RunResult: ...


class SandboxError(CorrectError, RuntimeError):
    """The sandbox itself cannot be set up (not a program's fault)."""


class SandboxPool:
    """Thread-safe: ``run`` may be called from many threads; each call takes an idle worker
    (starting one, up to ``workers``) and gives it back afterwards. A worker that dies — a
    program may manage to kill it — is replaced, and only that program's result says so."""

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = 5.0,
        memory_mb: int = 512,
        max_output_bytes: int = 65536,
        cpu_seconds: int | None = None,
        max_processes: int | None = 64,
        max_file_mb: int = 8,
        isolation: str = "auto",
        tmp_mb: int = 64,
    ):
        if isolation not in ISOLATION_MODES:
            raise SandboxError(f"unknown isolation {isolation!r}; choose one of {', '.join(ISOLATION_MODES)}")
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.timeout, self.memory_mb, self.max_output_bytes = float(timeout), memory_mb, max_output_bytes
        self.requested = isolation
        cpu = cpu_seconds if cpu_seconds is not None else math.ceil(self.timeout) + 1
        mb = 1024 * 1024
        # Hard CPU limit one second above the soft one: SIGXCPU first, SIGKILL if it is caught.
        limits = [
            ("RLIMIT_CPU", cpu, cpu + 1),
            ("RLIMIT_AS", memory_mb * mb, memory_mb * mb),
            ("RLIMIT_FSIZE", max_file_mb * mb, max_file_mb * mb),
            ("RLIMIT_NOFILE", 64, 64),
            ("RLIMIT_CORE", 0, 0),
            ("RLIMIT_MSGQUEUE", 0, 0),
        ]  # no POSIX message queues
        if max_processes is not None:  # counts the processes of the program's uid
            limits.append(("RLIMIT_NPROC", max_processes, max_processes))
        self._env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        self._config = {
            "isolation": isolation,
            "limits": limits,
            "timeout": self.timeout,
            "memory_mb": memory_mb,
            "max_processes": max_processes,
            "max_output_bytes": max_output_bytes,
            "tmp_mb": tmp_mb,
            "env": self._env,
            "home": os.path.expanduser("~"),
            "tmpdir": _tmpdir(),
        }
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._live: set[_Worker] = set()
        self._count = 0
        self._isolation: str | None = None
        self._closed = False
        self._finalizer = weakref.finalize(self, _stop_all, self._live)

    @property
    def isolation(self) -> str:
        """The mode in force (starts a worker to find out)."""
        if self._isolation is None:
            self._release(self._acquire())
        return self._isolation

    def run(self, source: str, tests: str | None = None) -> RunResult:
        start = time.monotonic()
        try:
            worker = self._acquire()
        except SandboxError:
            raise
        except Exception as e:
            return _failed(f"sandbox error: {type(e).__name__}: {e}", start)
        try:
            reply = worker.request({"source": str(source), "tests": tests}, self.timeout + _GRACE_S)
        except _WorkerLost as e:
            # The program may have killed its worker (possible in the rlimits mode): this
            # result says so, the worker is replaced, and no other program is affected.
            self._discard(worker)
            return _failed(f"sandbox: the worker running this program {e}", start, timed_out=e.late)
        self._release(worker)
        if "error" in reply:
            return _failed(f"sandbox error: {reply['error']}", start)
        return RunResult(**reply)

    def worker_pids(self) -> list[int]:
        """Process ids of the running workers (each worker's processes, and every process its
        programs start, descend from its pid)."""
        with self._lock:
            return [w.proc.pid for w in self._live]

    def close(self) -> None:
        self._closed = True
        self._finalizer()

    def __enter__(self) -> "SandboxPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _acquire(self) -> "_Worker":
        while True:
            if self._closed:
                raise SandboxError("the sandbox pool is closed")
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                start_one = self._count < self.workers
                if start_one:
                    self._count += 1  # reserve the place before the slow start
                    slot = next(_slots)
            if start_one:
                return self._start(slot)
            try:  # wait for a worker to come back; re-check now and then, as one may die instead
                return self._idle.get(timeout=0.05)
            except queue.Empty:
                pass

    def _start(self, slot: int) -> "_Worker":
        uid = _UID_BASE + ((os.getpid() & 0xFFFFF) << 8) + (slot & 0xFF)
        try:
            worker = _Worker(self._config, uid, self._env)
        except BaseException:
            with self._lock:
                self._count -= 1
            raise
        with self._lock:
            self._live.add(worker)
        if self._isolation is None:
            self._isolation = worker.isolation
            if self.requested == "auto" and worker.isolation != "namespaces":
                log.warning(
                    "sandbox: running programs in %r mode (%s); see docs/sandbox.md for what that does not isolate",
                    worker.isolation,
                    "; ".join(worker.why),
                )
        return worker

    def _release(self, worker: "_Worker") -> None:
        self._idle.put(worker)

    def _discard(self, worker: "_Worker") -> None:
        worker.stop()
        with self._lock:
            self._live.discard(worker)
            self._count -= 1


class _WorkerLost(Exception):
    def __init__(self, what: str, late: bool = False):
        super().__init__(what)
        self.late = late


class _Worker:
    def __init__(self, config: dict, uid: int, env: dict):
        flags = ["-S", "-B"] + (["-P"] if sys.version_info >= (3, 11) else [])
        self.proc = subprocess.Popen(
            [sys.executable, *flags, _WORKER, json.dumps({**config, "uid": uid})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        try:
            hello = self._read(time.monotonic() + _START_S)
        except _WorkerLost as e:
            err = self._stderr()
            self.stop()
            raise SandboxError(f"the sandbox worker failed to start: it {e}{': ' + err if err else ''}") from None
        if "error" in hello:
            self.stop()
            raise SandboxError(f"sandbox isolation {config['isolation']!r} is not available here: {hello['error']}")
        self.isolation: str = hello["isolation"]
        self.why: list[str] = hello.get("why", [])
        self.cgroups: list[str] = hello.get("cgroups", [])
        self.scratch: str | None = hello.get("scratch")  # its private directory, rlimits mode

    def request(self, message: dict, wait: float) -> dict:
        body = json.dumps(message).encode()
        try:
            self.proc.stdin.write(struct.pack(">I", len(body)) + body)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise _WorkerLost("died") from None
        return self._read(time.monotonic() + wait)

    def _read(self, deadline: float) -> dict:
        head = self._read_exact(4, deadline)
        return json.loads(self._read_exact(struct.unpack(">I", head)[0], deadline))

    def _read_exact(self, n: int, deadline: float) -> bytes:
        fd, buf = self.proc.stdout.fileno(), bytearray()
        while len(buf) < n:
            # Past the deadline, a reply already waiting still counts: this process may have been
            # suspended (a laptop asleep, SIGSTOP) while the worker answered in time.
            left = max(deadline - time.monotonic(), 0.0)
            if not select.select([fd], [], [], left)[0]:
                raise _WorkerLost("did not answer in time", late=True)
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise _WorkerLost("died")
            buf += chunk
        return bytes(buf)

    def _stderr(self) -> str:
        try:
            if select.select([self.proc.stderr], [], [], 0.5)[0]:
                return os.read(self.proc.stderr.fileno(), 4000).decode(errors="replace").strip().splitlines()[-1]
        except (OSError, IndexError, ValueError):
            pass
        return ""

    def stop(self) -> None:
        proc = getattr(self, "proc", None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and its namespace go together
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        for path in getattr(self, "cgroups", []):
            _remove_cgroup(path)
        if getattr(self, "scratch", None):
            _remove_tree(self.scratch)


def _remove_tree(path: str) -> None:
    """rmtree that first gives back permissions a program took away (never via a symlink)."""

    def retry(func, p, _):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=retry)


def _remove_cgroup(path: str) -> None:
    """Kill whatever is still in a worker's cgroup (a program's process that escaped every
    other kill) and remove the cgroup."""
    for _ in range(200):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.005)


def _stop_all(workers: set) -> None:
    for worker in list(workers):
        worker.stop()
    workers.clear()


def _failed(message: str, start: float, timed_out: bool = False) -> RunResult:
    return RunResult(None, "", message, timed_out, False, False, time.monotonic() - start)


def _tmpdir() -> str:
    import tempfile

    return tempfile.gettempdir()
