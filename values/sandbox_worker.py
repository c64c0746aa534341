"""A warm sandbox worker: started once by ``SandboxPool``, then forks one child per program.

Run as ``python -S -B sandbox_worker.py CONFIG_JSON`` (standard library only; never
imported by the engine). Requests and replies are length-prefixed JSON frames on fds 0/1.

Isolation modes, strongest first (see docs/sandbox.md):

- ``namespaces`` (root): new network, PID, mount, IPC and UTS namespaces; every program
  runs under a uid of its own worker (no capabilities), on a file system that is read-only
  except for its own working directory on a private tmpfs.
- ``userns`` (unprivileged user namespaces): the same namespaces inside a new user
  namespace; programs keep the caller's uid but lose every capability.
- ``rlimits``: no namespaces; resource limits, process-group and subreaper killing only.

In every mode a program gets a fresh forked process with rlimits, a new session, a
throw-away directory, a scrubbed environment and no inherited descriptors; afterwards every
process it left is killed and reaped before the next program starts.
"""

# Warm imports: programs commonly use these, and a forked child gets them for free.
import bisect  # noqa: E401,F401,I001
import builtins
import ctypes
import errno
import gc
import itertools  # noqa: E401,F401
import json
import linecache
import os
import re
import resource
import selectors
import shutil
import signal
import site
import struct
import sys
import time
import traceback
import types

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE = 1024, 2048, 4096, 16384, 1 << 18
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 36, 38
_MOUNT_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}
_PYTHON_DIR = "/tmp/.python"  # where the standard library is bind-mounted inside the namespaces
_WORK_DIR = "/tmp/work"  # the programs' working directory inside the namespaces
_DRAIN_S = 0.2  # after the program's processes are dead, how long to read what is left in the pipes
_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    pass


def _check(result, what):
    if result != 0:
        e = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(e)}")


def _prctl(option, arg):
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl({option})")


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _drop_capabilities():
    for cap in range(64):  # the bounding set first (needs CAP_SETPCAP), then the sets themselves
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            break
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (x2 words): all empty
    _check(_libc.capset(header, data), "capset")


# ---------------------------------------------------------------------------------------
# Framing


def read_frame(fd):
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


def write_frame(fd, obj):
    body = json.dumps(obj).encode()
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


def _read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


# ---------------------------------------------------------------------------------------
# Setting up the namespaces (once per worker)


def enter_namespaces(mode, cfg, keep_out=()):
    """Unshare; returns in the worker's pid-1 process. The parent stays outside, closes
    ``keep_out`` (descriptors only pid 1 should hold) and exits when pid 1 does."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    if mode == "userns":
        flags |= CLONE_NEWUSER
    _check(_libc.unshare(flags), "unshare")
    if mode == "userns":
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    pid = os.fork()  # the first child is pid 1 of the new PID namespace
    if pid:
        # This process stays outside and only relays the exit: it holds nothing else.
        for fd in (0, 1, *keep_out):
            os.close(fd)
        signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here propagates to the host
    # /tmp: a small tmpfs that becomes read-only, holding the standard library's mount and
    # the work directory, itself a tmpfs: the only place a program can write (and /dev/shm).
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
    os.mkdir(_WORK_DIR, 0o700)
    _mount("tmpfs", _WORK_DIR, "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['tmp_mb']}m,mode=700")
    paths = _expose_stdlib()
    # Homes hold tokens and keys: hide them behind empty read-only mounts.
    for home in sorted({cfg.get("home") or "/root", "/root", "/home"}):
        home = os.path.realpath(home)
        # Never over / or /tmp (nor anything holding /tmp, nor inside it): the work dirs live there.
        if os.path.isdir(home) and home != "/" and not _within("/tmp", home) and not _within(home, "/tmp"):
            _mount("tmpfs", home, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=755")
    _remount_read_only()
    # A fresh /proc, read-only: it shows only this namespace's processes (not the engine's
    # environ), and its sysctls cannot be written even by a uid that is root outside.
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    for tmp in ("/dev/shm",):
        if os.path.isdir(tmp):
            _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777")
    _libc.sethostname(b"sandbox", 7)
    return paths


def _within(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def _expose_stdlib():
    """Bind the standard library to a neutral path: the caller's Python may live under a home
    directory that is hidden next, or that the sandbox uid cannot enter."""
    os.mkdir(_PYTHON_DIR, 0o755)
    roots = sorted(
        {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p) and os.path.isfile(os.path.join(p, "os.py"))}
    )
    if not roots:
        raise SetupError("cannot find the standard library on sys.path")
    mapping = {}
    for i, root in enumerate(roots):
        target = os.path.join(_PYTHON_DIR, str(i))
        os.mkdir(target, 0o755)
        _mount(root, target, None, MS_BIND | MS_REC)
        mapping[root] = target

    def moved(path):
        real = os.path.realpath(path) if path else ""
        for root, target in mapping.items():
            if _within(real, root):
                return target + real[len(root) :]
        return None

    paths = [m for m in map(moved, sys.path) if m]
    sys.path[:] = paths  # this process imports from there too once the home is hidden
    # Packages imported already (encodings, ctypes, importlib...) find their submodules
    # through __path__: point it at the new place, or a later lazy import would fail.
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if isinstance(search, list):
            search[:] = [moved(p) or p for p in search]
    sys.path_importer_cache.clear()
    return paths


def _remount_read_only():
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split() for line in f]
    # Parents first, so a read-only parent never hides a child mount point from us.
    for fields in sorted(mounts, key=lambda m: m[4].count("/")):
        target = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        if target == _WORK_DIR:
            continue
        opts = fields[5].split(",")
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        for opt in opts:  # keep the locked flags, or a user namespace refuses the remount
            flags |= _MOUNT_FLAGS.get(opt, 0)
        if _libc.mount(None, target.encode(), None, ctypes.c_ulong(flags), None) != 0:
            err = ctypes.get_errno()
            if target == "/" or err not in (errno.EACCES, errno.EPERM, errno.EINVAL, errno.ENOENT):
                raise SetupError(f"remount {target} read-only: {os.strerror(err)}")


def choose_uid(cfg):
    """A uid of this worker's own, so that programs in different workers cannot signal each
    other and share no process count; nobody's uid where high ids are not mapped."""
    for uid in (cfg["uid"], 65534):
        if _uid_mapped(uid):
            return uid
    return None


def _uid_mapped(uid):
    try:
        with open("/proc/self/uid_map") as f:
            for line in f:
                inside, _, count = map(int, line.split())
                if inside <= uid < inside + count:
                    return True
    except OSError:
        return uid == 65534
    return False


class Cgroups:
    """A memory and a process-count limit on each program's whole process tree, where this
    process may create cgroups (root with cgroup v1 controllers, or a cgroup v2 tree that
    delegates them). Without them each process is limited alone (RLIMIT_AS, RLIMIT_NPROC)."""

    def __init__(self, cfg):
        self.paths, self.procs, self.oom_fd = [], [], None
        name = f"correct-sandbox-{os.getpid()}-{os.urandom(4).hex()}"
        own = {}
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for c in controllers.split(","):
                    own[c] = path
        memory = cfg["memory_mb"] * 1024 * 1024
        pids = cfg.get("max_processes")
        try:
            if all(c in own and os.path.isdir(f"/sys/fs/cgroup/{c}") for c in ("memory", "pids")):  # v1
                mem = self._make(
                    f"/sys/fs/cgroup/memory{own['memory'].rstrip('/')}/{name}",
                    {"memory.limit_in_bytes": memory, "memory.swappiness": 0},
                )
                self._make(f"/sys/fs/cgroup/pids{own['pids'].rstrip('/')}/{name}", {"pids.max": pids})
                self.oom_fd = os.open(f"{mem}/memory.oom_control", os.O_RDONLY)
            elif os.path.isfile("/sys/fs/cgroup/cgroup.controllers") and "" in own:  # v2
                parent = "/sys/fs/cgroup" + own[""].rstrip("/")
                with open(f"{parent}/cgroup.subtree_control", "w") as f:
                    f.write("+memory +pids")  # refused unless delegated (or the root cgroup)
                d = self._make(f"{parent}/{name}", {"memory.max": memory, "memory.swap.max": 0, "pids.max": pids})
                self.oom_fd = os.open(f"{d}/memory.events", os.O_RDONLY)
            else:
                raise OSError("no memory and pids controllers found")
        except OSError as e:
            self.remove()
            self.why = f"cgroups: {e}"
        else:
            self.why = None

    def _make(self, path, settings):
        os.mkdir(path, 0o755)
        self.paths.append(path)
        for key, value in settings.items():
            if value is not None and os.path.exists(f"{path}/{key}"):
                with open(f"{path}/{key}", "w") as f:
                    f.write(str(value))
        # Opened now: the file system is read-only once the namespaces are set up.
        self.procs.append(os.open(f"{path}/cgroup.procs", os.O_WRONLY))
        return path

    @property
    def active(self):
        return self.why is None

    @property
    def fds(self):
        return self.procs + ([self.oom_fd] if self.oom_fd is not None else [])

    def join(self):
        """In the child, before it drops its privileges."""
        for fd in self.procs:
            os.write(fd, b"0")

    def oom_kills(self):
        if self.oom_fd is None:
            return 0
        for line in os.pread(self.oom_fd, 4096, 0).decode().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self):
        for fd in self.fds:
            os.close(fd)
        self.procs, self.oom_fd = [], None
        for path in self.paths:
            try:
                os.rmdir(path)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------
# One program


class Worker:
    def __init__(self, cfg, mode, paths, uid, cgroups):
        self.cfg, self.mode, self.uid, self.cgroups = cfg, mode, uid, cgroups
        self.paths = paths
        self.is_init = os.getpid() == 1
        # One program at a time per worker, so its working directory can have a fixed path
        # (made afresh and removed for each program): the environment that names it is then
        # set once here, not in every child. Without namespaces it sits in a private scratch
        # directory that the engine removes with the worker, even if the worker is killed.
        self.scratch = None
        if mode == "rlimits":
            self.scratch = os.path.join(cfg["tmpdir"], f"correct-sandbox-{os.urandom(6).hex()}")
            os.mkdir(self.scratch, 0o700)
        self.workdir = os.path.join(self.scratch, "work") if self.scratch else _WORK_DIR
        self.limits = [(getattr(resource, name), soft, hard) for name, soft, hard in cfg["limits"]]

    def run(self, source, tests):
        start = time.monotonic()
        workdir = self.workdir
        if self.scratch:
            _remove(workdir)  # normally gone already
            os.mkdir(workdir, 0o700)
        else:  # a mount point: it stays, emptied
            os.chmod(workdir, 0o700)
        try:
            if self.uid is not None:
                os.chown(workdir, self.uid, self.uid)
            return self._run_in(workdir, source, tests, start)
        finally:
            self._clean(workdir)

    def _run_in(self, workdir, source, tests, start):
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        done_r, done_w = os.pipe()
        nonce = os.urandom(8).hex().encode()
        ooms = self.cgroups.oom_kills()
        pid = os.fork()
        if pid == 0:
            for fd in (out_r, err_r, done_r):
                os.close(fd)
            _child(self, workdir, source, tests, out_w, err_w, done_w, nonce)  # never returns
        for fd in (out_w, err_w, done_w):
            os.close(fd)
        try:
            out, err, done, status, timed_out = self._collect(pid, out_r, err_r, done_r, start)
        finally:
            for fd in (out_r, err_r, done_r):
                os.close(fd)
        cap = self.cfg["max_output_bytes"]
        returncode = os.waitstatus_to_exitcode(status) if status is not None else None
        stderr = bytes(err[-cap:]).decode("utf-8", "replace").replace(workdir + os.sep, "")
        tail = stderr.strip().splitlines()[-1:] or [""]
        return {
            "returncode": returncode,
            "stdout": bytes(out[:cap]).decode("utf-8", "replace"),
            "stderr": stderr,
            "timed_out": timed_out or returncode == -signal.SIGXCPU,
            "memory_exceeded": (
                "MemoryError" in tail[0] or "Cannot allocate memory" in tail[0] or self.cgroups.oom_kills() > ooms
            ),
            "output_truncated": len(out) > cap or len(err) > cap,
            "completed": bytes(done) == nonce,
            "seconds": time.monotonic() - start,
        }

    def _collect(self, pid, out_r, err_r, done_r, start):
        """Read the pipes until the program ends (or its time is up), then kill whatever it
        left and read what is still in the pipes for a moment."""
        cap = self.cfg["max_output_bytes"] + 1
        bufs = {out_r: bytearray(), err_r: bytearray(), done_r: bytearray()}
        deadline = start + self.cfg["timeout"]
        status, timed_out, ended = None, False, None
        pidfd = _pidfd(pid)
        poll = 0.0005
        with selectors.DefaultSelector() as sel:
            for fd in bufs:
                sel.register(fd, selectors.EVENT_READ)
            if pidfd is not None:
                sel.register(pidfd, selectors.EVENT_READ)
            while True:
                now = time.monotonic()
                if status is None:
                    got, st = os.waitpid(pid, os.WNOHANG)
                    if got:
                        status = st
                    elif now >= deadline:
                        timed_out = True
                        kill_group(pid)
                        status = os.waitpid(pid, 0)[1]
                    if status is not None:
                        ended = now
                        if pidfd is not None:
                            sel.unregister(pidfd)
                        self._kill_all(pid)  # pipes held by processes it left now close too
                if ended is not None and (not sel.get_map() or now >= ended + _DRAIN_S):
                    break
                if pidfd is None:  # no way to be woken by the exit: poll, backing off
                    timeout, poll = poll, min(poll * 2, 0.02)
                else:
                    timeout = (ended + _DRAIN_S if ended is not None else deadline) - now
                for key, _ in sel.select(max(0.0, timeout)):
                    if key.fd == pidfd:
                        continue
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fd)
                    elif key.fd == err_r:  # an error's last line comes last: stderr keeps its end
                        bufs[err_r] += chunk
                        del bufs[err_r][: max(0, len(bufs[err_r]) - cap)]
                    elif len(bufs[key.fd]) < cap:
                        bufs[key.fd] += chunk[: cap - len(bufs[key.fd])]
        if pidfd is not None:
            os.close(pidfd)
        self._kill_all(pid)
        return bufs[out_r], bufs[err_r], bufs[done_r], status, timed_out

    def _kill_all(self, pgid):
        """Kill everything the program started, and reap it all (the program itself is reaped)."""
        kill_group(pgid)
        for _ in range(10000):
            if self.is_init:
                # pid 1 of the namespace: every other process in it is the program's.
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            else:
                # A subreaper: whatever escaped the process group was re-parented to us.
                for child in _children():
                    try:
                        os.kill(child, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            except ChildProcessError:
                return  # nothing left
            time.sleep(0.0005)
        raise RuntimeError("processes left by the program could not be killed")

    def _clean(self, workdir):
        if self.scratch:
            _remove(workdir)
            return
        # Everything it could write in the namespaces: the work dir, /dev/shm, System V IPC.
        for d, mode in ((workdir, 0o700), ("/dev/shm", 0o1777)):
            os.chmod(d, mode)  # a program may have taken the permissions away
            for name in _listdir(d):
                _remove(os.path.join(d, name))
        _remove_ipc_objects()


def _remove_ipc_objects():
    """Remove the System V shared memory, queues and semaphores of this IPC namespace."""
    for kind, call in (
        ("shm", lambda i: _libc.shmctl(i, 0, None)),
        ("msg", lambda i: _libc.msgctl(i, 0, None)),
        ("sem", lambda i: _libc.semctl(i, 0, 0)),
    ):  # 0 is IPC_RMID
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            call(int(row.split()[1]))


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _pidfd(pid):
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _children():
    me = os.getpid()
    found = []
    tasks = _listdir(f"/proc/{me}/task")
    if tasks and os.path.exists(f"/proc/{me}/task/{tasks[0]}/children"):
        for task in tasks:
            try:
                with open(f"/proc/{me}/task/{task}/children") as f:
                    found += [int(p) for p in f.read().split()]
            except OSError:
                pass
        return found
    for entry in _listdir("/proc"):  # kernels without the children file: scan for our children
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def kill_group(pgid):
    """SIGKILL every process of a process group; one already gone is no error (bench/sandbox.py
    kills its plain-subprocess baseline's groups with it too)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _remove(path):
    if os.path.islink(path) or not os.path.isdir(path):
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(path):
        # The program may have taken permissions away from its own directories; give them
        # back (never through a symlink) and try once more.
        for root, dirs, _ in os.walk(path):
            for d in [root] + [os.path.join(root, d) for d in dirs]:
                if not os.path.islink(d):
                    try:
                        os.chmod(d, 0o700)
                    except OSError:
                        pass
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# The child: becomes the program


def _child(worker, workdir, source, tests, out_w, err_w, done_w, nonce):
    try:
        os.setsid()
        _libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0)
        # fd 0 is already /dev/null: the worker moved its request pipe away from it.
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(done_w, 3)
        worker.cgroups.join()
        os.closerange(4, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 4096)
        os.chdir(workdir)
        for key, soft, hard in worker.limits:
            cur = resource.getrlimit(key)[1]
            if cur != resource.RLIM_INFINITY:  # an unprivileged process can only lower its hard limit
                soft, hard = min(soft, cur), min(hard, cur)
            resource.setrlimit(key, (soft, hard))
        if worker.uid is not None:
            os.setgroups([])
            os.setgid(worker.uid)
            os.setuid(worker.uid)  # from root: every capability goes with it
        elif worker.mode != "rlimits":
            _drop_capabilities()
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        _libc.prctl(PR_SET_DUMPABLE, ctypes.c_ulong(1), 0, 0, 0)
        if "random" in sys.modules:
            sys.modules["random"].seed()
        sys.argv = ["main.py"]
        sys.path[:] = [workdir] + worker.paths
    except BaseException as e:  # the program must not run half-confined
        os.write(2, f"sandbox: setup failed: {type(e).__name__}: {e}\n".encode())
        os._exit(125)
    os._exit(_run_program(source, tests, nonce))


_exec, _compile = exec, compile  # a program that patches builtins cannot turn the tests off


def _run_program(source, tests, nonce):
    """Run like ``python main.py`` would: exit statuses, tracebacks, thread joins, atexit."""
    main = types.ModuleType("__main__")
    main.__file__ = "main.py"
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    status = 0
    for name, text in (("main.py", source),) + ((("tests.py", tests),) if tests is not None else ()):
        # The source is not written to disk; tracebacks still show its lines.
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
        try:
            _exec(_compile(text, name, "exec"), main.__dict__)
        except SystemExit as e:
            status = _exit_status(e)
            if name == "tests.py" and status == 0 and not _through(e.__traceback__, "main.py"):
                _write_done(nonce)  # the tests ended themselves, passing (unittest.main())
            break
        except BaseException as e:
            tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
            e = e.with_traceback(tb)  # the traceback starts in the program, not here
            try:
                if sys.excepthook is sys.__excepthook__:
                    traceback.print_exception(type(e), e, tb)  # reads the source from linecache
                else:
                    sys.excepthook(type(e), e, tb)
            except BaseException:
                pass
            status = 1
            break
    else:
        _write_done(nonce)
    del main
    return _shutdown(status)


def _through(tb, filename):
    """Whether code compiled as ``filename`` is on the traceback ``tb``: a draft's own code that
    raised SystemExit while its tests ran (sys.exit(0) in the function under test) has not let
    them finish."""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            return True
        tb = tb.tb_next
    return False


def _write_done(nonce):
    try:
        os.write(3, nonce)
        os.close(3)
    except OSError:
        pass


def _exit_status(e):
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except BaseException:
        pass
    return 1


def _shutdown(status):
    try:
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()  # the interpreter waits for non-daemon threads too
        import atexit

        atexit._run_exitfuncs()
    except SystemExit as e:
        status = _exit_status(e)
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except BaseException:
            status = status or 120  # as the interpreter does when it cannot flush stdout
    return status


# ---------------------------------------------------------------------------------------


def main():
    cfg = json.loads(sys.argv[1])
    site.setquit()  # exit() and quit(), which -S leaves out
    # A program runs as `python main.py` would from a terminal, whatever the engine's own
    # signal state: an engine started in the background of a shell has SIGINT ignored, which
    # this interpreter inherited, and a program's Ctrl-C would then do nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (
        signal.SIGTERM,
        signal.SIGHUP,
        signal.SIGQUIT,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGALRM,
        signal.SIGCHLD,
    ):
        signal.signal(sig, signal.SIG_DFL)
    del sys.path[0]  # the directory of this file: nothing of the engine is importable
    # Our own protocol descriptors move out of the way; 0/1 become /dev/null.
    fin, fout = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    os.close(null)
    # No PR_SET_PDEATHSIG here: it fires when the engine *thread* that started us ends. The
    # engine's death shows as end-of-file on the request pipe instead.
    modes = ["namespaces", "userns", "rlimits"] if cfg["isolation"] == "auto" else [cfg["isolation"]]
    mode, paths, why = None, list(sys.path), []
    cgroups = Cgroups(cfg)
    if not cgroups.active:
        why.append(cgroups.why)
    for candidate in modes:
        if candidate == "rlimits":
            mode = candidate
            break
        # Probe in a throw-away child first: a failed mount after a successful unshare would
        # leave this process half set up.
        reason = _probe(candidate, cfg, (fin, fout, *cgroups.fds))
        if reason is None:
            try:
                # Returns in the new pid-1 process only.
                paths = enter_namespaces(candidate, cfg, keep_out=(fin, fout, *cgroups.fds))
            except (SetupError, OSError) as e:
                write_frame(fout, {"error": f"{candidate}: {e}"})
                return
            mode = candidate
            break
        why.append(f"{candidate}: {reason}")
    if mode is None:
        write_frame(fout, {"error": "; ".join(why)})
        return
    # Root in namespaces runs programs under a uid of this worker; otherwise capabilities go.
    uid = choose_uid(cfg) if mode == "namespaces" else None
    _prctl(PR_SET_DUMPABLE, 0)  # programs cannot ptrace this process or read its memory
    if mode == "rlimits":
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    worker = Worker(cfg, mode, paths, uid, cgroups)
    # What programs inherit, set once: the worker's own signal dispositions are Python's
    # defaults, and its sys.stdin/stdout/stderr are fds 0/1/2, which each child points at
    # /dev/null and its pipes (the worker itself never writes to them).
    os.environ.clear()
    os.environ.update(cfg["env"], HOME=worker.workdir, TMPDIR=worker.workdir, PWD=worker.workdir)
    gc.freeze()  # a forked child's collector then leaves these objects (and their pages) alone
    write_frame(
        fout,
        {"ready": True, "isolation": mode, "uid": uid, "why": why, "cgroups": cgroups.paths, "scratch": worker.scratch},
    )
    while True:
        req = read_frame(fin)
        if req is None:
            return  # the engine went away
        try:
            reply = worker.run(req["source"], req.get("tests"))
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {e}"}
        write_frame(fout, reply)


def _probe(mode, cfg, close):
    """None when ``mode`` can be set up here, else why not."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        for fd in close:
            os.close(fd)
        try:
            enter_namespaces(mode, cfg)
            os._exit(0)
        except BaseException as e:
            os.write(w, str(e).encode()[:500])
            os._exit(1)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        reason = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    return None if os.waitstatus_to_exitcode(status) == 0 else (reason or "setup failed")


if __name__ == "__main__":
    main()
