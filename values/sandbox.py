"""Run untrusted Python source in a separate, resource-limited process.

This is a best-effort sandbox (POSIX rlimits, a scrubbed environment, a throwaway working
directory, process-group killing), not a security boundary: the program runs as the
caller's user and can read what that user can read, and a grandchild that calls
``setsid()`` escapes the process-group kill. Swap in a container-backed ``Sandbox`` where
that matters.
"""

from __future__ import annotations

import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

_POLL_S = 0.02  # how often to look whether the program exited while its pipes are held open
_DRAIN_S = 0.5  # after the program ends, how long to keep reading what is left in the pipes
_CHUNK = 65536

# The limits are set by a tiny launcher that then runs the program itself, rather than by
# ``preexec_fn``: preexec_fn runs Python between fork and exec and can deadlock when other
# threads exist, and ProgramValue calls ``run`` from a thread pool.
_LAUNCHER = """\
import os, resource, sys
for name, soft, hard in {limits!r}:
    key = getattr(resource, name)
    cur = resource.getrlimit(key)[1]
    if cur != resource.RLIM_INFINITY:  # an unprivileged process can only lower its hard limit
        soft, hard = min(soft, cur), min(hard, cur)
    try:
        resource.setrlimit(key, (soft, hard))
    except (ValueError, OSError) as e:
        sys.stderr.write("sandbox: cannot set %s: %s\\n" % (name, e))
        os._exit(125)
del os, resource, name, soft, hard, key, cur
import runpy
sys.argv = ["main.py"]
runpy.run_path("main.py", run_name="__main__")
"""


@dataclass(frozen=True)
class RunResult:
    returncode: int | None
    """Exit status; negative for a signal; None when the program never started."""
    stdout: str
    stderr: str
    timed_out: bool
    memory_exceeded: bool
    output_truncated: bool
    seconds: float


@runtime_checkable
class Sandbox(Protocol):
    def run(self, source: str) -> RunResult: ...


class SubprocessSandbox:
    """Runs source with this interpreter (stdlib only: site-packages are not on the path)."""

    def __init__(self, timeout: float = 5.0, memory_mb: int = 512, max_output_bytes: int = 65536,
                 cpu_seconds: int | None = None, max_processes: int | None = 64, max_file_mb: int = 8):
        self.timeout, self.memory_mb, self.max_output_bytes = float(timeout), memory_mb, max_output_bytes
        cpu = cpu_seconds if cpu_seconds is not None else math.ceil(self.timeout) + 1
        mb = 1024 * 1024
        # Hard CPU limit one second above the soft one: SIGXCPU first, SIGKILL if it is caught.
        limits = [("RLIMIT_CPU", cpu, cpu + 1), ("RLIMIT_AS", memory_mb * mb, memory_mb * mb),
                  ("RLIMIT_FSIZE", max_file_mb * mb, max_file_mb * mb), ("RLIMIT_NOFILE", 64, 64),
                  ("RLIMIT_CORE", 0, 0)]
        if max_processes is not None:  # counts all of the user's processes; root ignores it
            limits.append(("RLIMIT_NPROC", max_processes, max_processes))
        # No -I: it implies -E, which would ignore PYTHONHASHSEED; the environment is ours anyway.
        # The launcher runs the program itself after setting the limits (one interpreter
        # start per program, not two); -P keeps the work dir off sys.path.
        flags = ["-S", "-B"] + (["-P"] if sys.version_info >= (3, 11) else [])
        self._argv = [sys.executable, *flags, "-c", _LAUNCHER.format(limits=limits)]

    def run(self, source: str) -> RunResult:
        start = time.monotonic()
        workdir = None
        try:
            workdir = tempfile.mkdtemp(prefix="correct-run-")
            # Written as a file, not passed with -c, so NUL bytes and odd text reach Python intact
            # and come back as its own SyntaxError.
            with open(os.path.join(workdir, "main.py"), "wb") as f:
                f.write(str(source).encode("utf-8", "surrogatepass"))
            return self._run_in(workdir, start)
        except Exception as e:  # a value function must score every output, never crash on one
            return RunResult(None, "", f"sandbox error: {type(e).__name__}: {e}", False, False, False,
                             time.monotonic() - start)
        finally:
            if workdir is not None:
                _remove(workdir)

    def _run_in(self, workdir: str, start: float) -> RunResult:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1", "HOME": workdir}
        proc = subprocess.Popen(self._argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err, timed_out = self._collect(proc, start + self.timeout)
        finally:
            _killpg(proc.pid)  # also after a normal exit: background children die with it
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        cap = self.max_output_bytes
        stdout, stderr = (bytes(b[:cap]).decode("utf-8", "replace") for b in (out, err))
        stderr = stderr.replace(workdir + os.sep, "")  # random temp paths would make feedback vary
        lines = stderr.strip().splitlines()
        tail = lines[-1] if lines else ""
        return RunResult(
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
            timed_out=timed_out or proc.returncode == -signal.SIGXCPU,
            memory_exceeded="MemoryError" in tail or "Cannot allocate memory" in tail,
            output_truncated=len(out) > cap or len(err) > cap,
            seconds=time.monotonic() - start,
        )

    def _collect(self, proc: subprocess.Popen, deadline: float) -> tuple[bytearray, bytearray, bool]:
        """Read both pipes until they close, keeping at most ``cap + 1`` bytes of each (the extra
        byte marks truncation) but draining the rest so the program never blocks on a full pipe."""
        cap = self.max_output_bytes + 1
        bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
        timed_out, ended = False, None
        with selectors.DefaultSelector() as sel:
            for fd in bufs:
                sel.register(fd, selectors.EVENT_READ)
            while sel.get_map():
                now = time.monotonic()
                if ended is None:
                    if proc.poll() is not None:
                        ended = now
                    elif now >= deadline:
                        timed_out, ended = True, now
                    if ended is not None:
                        _killpg(proc.pid)  # pipes held by leftover children now close too
                elif now >= ended + _DRAIN_S:
                    break  # a process outside the group still holds a pipe: stop waiting for it
                for key, _ in sel.select(_POLL_S):
                    chunk = os.read(key.fd, _CHUNK)
                    if not chunk:
                        sel.unregister(key.fd)
                    elif len(bufs[key.fd]) < cap:
                        bufs[key.fd] += chunk[: cap - len(bufs[key.fd])]
        if ended is None:  # it closed its pipes but may still be running
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
        return bufs[proc.stdout.fileno()], bufs[proc.stderr.fileno()], timed_out


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if not os.path.exists(path):
        return
    # The program may have taken permissions away from its own directories; give them back
    # (never through a symlink, which could point anywhere) and try once more.
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass
    for root, dirs, _ in os.walk(path):
        for d in dirs:
            p = os.path.join(root, d)
            if not os.path.islink(p):
                try:
                    os.chmod(p, 0o700)
                except OSError:
                    pass
    shutil.rmtree(path, ignore_errors=True)
