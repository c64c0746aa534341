"""The hostile suite (issue 4): programs that attack the sandbox instead of solving the task.

For every kind of attack, in every isolation mode that claims to stop it, the suite checks:

1. the engine (this process) survives and ``run`` returns;
2. the program scores the minimum: it is scored against an answer it never prints (or fakes
   too late), or against ``tests`` it tries to skip;
3. the feedback says why;
4. nothing is left behind: no process under the workers, no file outside the sandbox
   (looked for on the host), nothing on the worker's private tmpfs or ``/dev/shm``, no
   System V IPC object in its namespace (``rlimits``: no run directory in the host's tmp);
5. the next, benign program in the same pool still scores 1.0.

The pools are module-scoped, one per mode, so whatever an attack leaves in a worker meets
the programs after it. ``rlimits`` mode guarantees less (README, "The sandbox of the
`program` value"): no network isolation, the caller's uid (root here) and capabilities, the
caller's view of processes and files. Kinds it does not claim to stop are skipped there, and
the skip says why.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from correct.values import Score
from correct.values.program import ProgramValue
from correct.values.sandbox import SandboxError

MODES = ("namespaces", "userns", "rlimits")
TIMEOUT = 1.0
LONG_TIMEOUT = 30.0  # for the few kinds whose expected outcome must not race the time limit
RETURNS_WITHIN = LONG_TIMEOUT + 15  # the pool's own limit is the timeout + 10 s of grace
ENGINE_PID = os.getpid()
TOKEN = f"correct-hostile-{ENGINE_PID}"  # the name of every file an attack tries to create
SECRET = f"s3cret-{os.urandom(6).hex()}"
REPO = Path(__file__).resolve().parents[2]
HOME = str(Path.home())
TMPDIR = tempfile.gettempdir()
NSENTER = shutil.which("nsenter")
# Isolation modes that must be available: a comma-separated list, or `all` (CI sets it, as root).
# A required mode that cannot start fails the suite instead of skipping it, and so does a
# missing tool that a leftover check needs.
REQUIRED = os.environ.get("CORRECT_REQUIRE_ISOLATION", "")
REQUIRED_MODES = set(MODES) if REQUIRED.strip() == "all" else {m.strip() for m in REQUIRED.split(",") if m.strip()}
with open("/etc/passwd", "rb") as _f:
    PASSWD = _f.read()

# Feedback
TIMED_OUT = f"timed out after {TIMEOUT:g} s"
MEMORY = "memory limit exceeded"
TOO_MUCH = "printed too much output"
EARLY_EXIT = "exited before the tests finished"
WORKER_DIED = "sandbox: the worker running this program died"
SEGV = "killed by signal SIGSEGV"
EPERM = "PermissionError: [Errno 1] Operation not permitted"
EACCES = "PermissionError: [Errno 13] Permission denied"
ENOENT = "FileNotFoundError: [Errno 2] No such file or directory"
ESRCH = "ProcessLookupError: [Errno 3] No such process"
EROFS = "OSError: [Errno 30] Read-only file system"
ENETUNREACH = "OSError: [Errno 101] Network is unreachable"
CANNOT_WRITE = (EACCES, EROFS)
# A checkout under /tmp or a home is hidden inside the sandbox (ENOENT); elsewhere it is read-only.
REPO_REFUSED = (EROFS, ENOENT)

# Why a kind is not run in rlimits mode (what docs/sandbox.md says it leaves open)
R_FILES = "rlimits mode: a program may write anything the caller may (root here)"
R_READ = "rlimits mode: a program may read anything the caller may (root here)"
R_NET = "rlimits mode has no network isolation"
R_PROCS = "rlimits mode: a program sees and may signal every process of the caller's uid (root here: all)"
R_ROOT = "rlimits mode keeps the caller's uid and capabilities (root here)"
R_IPC = "rlimits mode has no IPC namespace: System V objects are the host's"
R_TMP = "rlimits mode: the work dir is on the host's tmp; RLIMIT_FSIZE bounds each file, not their total"
R_FORK = (
    "rlimits mode runs programs as the caller: RLIMIT_NPROC does not bind root and only an "
    "optional cgroup would stop a fork bomb, so it is not set off on this machine"
)
R_KILL_ALL = "rlimits mode as root: kill(-1) would kill every process on the machine"


def py(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def kind(
    id: str,
    source: str,
    expected,
    *,
    rlimits: str | None = None,
    slow: bool = False,
    xfail: str | None = None,
    marks=(),
    timeout: float = TIMEOUT,
    **record,
):
    """One kind of attack. ``expected``: a substring of the feedback, a tuple of acceptable
    ones, or a dict of either by mode; ``rlimits``: why the kind is skipped in that mode;
    ``timeout``: the sandbox's time limit for a kind whose expected outcome (a memory kill, say)
    must not race the default 1 s on a loaded machine; ``record``: what it is scored against
    (by default an answer it never prints)."""
    marks = list(marks) + ([pytest.mark.slow] if slow else [])
    if xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=xfail))
    return pytest.param(py(source), expected, rlimits, record or {"answer": "6"}, timeout, id=id, marks=marks)


# ---------------------------------------------------------------------------------------
# The kinds. Sources are string.Template text: $token, $tmp (pytest's tmp_path on the host),
# $victim, $repo_victim (host files that must survive), $repo, $home, $engine (this pid),
# $tcp_port, $udp_port, $abstract (listeners of this process that must get nothing).

TIME_AND_PROCESSES = [
    kind("infinite_loop", "while True:\n    pass", TIMED_OUT),
    kind(
        "cpu_loop_ignoring_signals",
        """
        import signal
        for sig in (signal.SIGXCPU, signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            pass
        """,
        TIMED_OUT,
    ),
    kind(
        "sleep_ignoring_sigterm",
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        while True:
            time.sleep(1)
        """,
        TIMED_OUT,
    ),
    kind(
        "stop_itself",
        """
        import os, signal
        os.kill(os.getpid(), signal.SIGSTOP)
        print(6)
        """,
        TIMED_OUT,
    ),
    kind(
        "fork_bomb",
        "import os\nwhile True:\n    os.fork()",
        ("BlockingIOError: [Errno 11] Resource temporarily unavailable", TIMED_OUT),
        rlimits=R_FORK,
    ),
    kind(
        "fork_bomb_that_keeps_trying",
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        TIMED_OUT,
        rlimits=R_FORK,
    ),
    kind(
        "thread_bomb",
        """
        import threading, time
        while True:
            threading.Thread(target=time.sleep, args=(60,)).start()
        """,
        TIMED_OUT,
    ),
    kind(
        "non_daemon_thread_outlives_main",
        """
        import threading, time
        threading.Thread(target=time.sleep, args=(60,)).start()
        print(6)
        """,
        TIMED_OUT,
    ),
    kind(
        "daemon_thread_prints_after_main",
        """
        import threading, time
        def late():
            time.sleep(1)  # long after the main thread has printed and returned
            print(6, flush=True)
        threading.Thread(target=late, daemon=True).start()
        print(5)
        """,
        "printed 5",
    ),
    kind(
        "double_fork_daemon",
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(30)
            os._exit(0)
        os.wait()
        print('daemonized')
        """,
        "printed daemonized",
    ),
    kind(
        "setsid_child_sleeps",
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            time.sleep(30)
        print('forked')
        """,
        "printed forked",
    ),
    kind("setsid_in_place", "import os, time\nos.setsid()\ntime.sleep(30)", EPERM),
    # The background job would print the answer 1 s after the program ends. It must die with
    # the program: a survivor is caught by the leftover check, whatever it prints. (It used to
    # print after 0.1 s, inside the 0.2 s the worker drains the pipes, which a loaded machine
    # could turn into a race between the kill and the echo.)
    kind("shell_background_job", "import os\nos.system('(sleep 1; echo 6) &')", "printed nothing"),
    kind(
        "sh_c_background_job",
        """
        import subprocess
        subprocess.run(['sh', '-c', '(sleep 1; echo 6) &'])
        """,
        "printed nothing",
    ),
    kind(
        "setsid_background_job",
        """
        import subprocess
        subprocess.Popen(['setsid', 'sh', '-c', 'sleep 1; echo 6'])
        """,
        "printed nothing",
    ),
    kind(
        "nohup_background_job",
        """
        import subprocess
        subprocess.run(['sh', '-c', 'nohup sh -c "sleep 1; echo 6" &'])
        """,
        "printed nothing",
    ),
    kind(
        "long_sleeping_escapees",
        """
        import subprocess
        subprocess.Popen(['setsid', 'sleep', '30'])
        subprocess.Popen('sleep 30 &', shell=True)
        subprocess.Popen(['nohup', 'sleep', '30'])
        print('spawned')
        """,
        "printed spawned",
    ),
]

MEMORY_AND_OUTPUT = [
    kind("big_allocation", "data = bytearray(2 ** 30)\nprint(6)", MEMORY),
    # A loaded machine (CI beside other jobs) can take over a second to grow 256 MB: the outcome
    # must be the memory limit's, so the time limit is far above what the growth needs.
    kind("growing_list", "chunks = []\nwhile True:\n    chunks.append(' ' * 10 ** 6)", MEMORY, timeout=LONG_TIMEOUT),
    # The parent waits for every child, so the outcome depends on memory alone, never on how
    # fast a loaded machine forks: hence a time limit far above what the children need.
    kind(
        "memory_in_many_children",
        """
        import os, time
        children = []
        for _ in range(16):
            pid = os.fork()
            if pid == 0:
                block = bytearray(200 * 2 ** 20)  # each under the per-process limit
                time.sleep(1)
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        print(6)
        """,
        MEMORY,
        timeout=LONG_TIMEOUT,
        marks=[
            pytest.mark.skipif(
                os.geteuid() != 0, reason="one memory limit for a whole process tree needs cgroups (root here)"
            )
        ],
    ),
    kind(
        "deep_python_recursion",
        """
        import sys
        sys.setrecursionlimit(10 ** 8)
        def down(n):
            return down(n + 1)
        down(0)
        """,
        (TIMED_OUT, MEMORY),
    ),
    kind(
        "c_stack_overflow",
        """
        import sys
        sys.setrecursionlimit(10 ** 8)
        class Node:
            def __repr__(self):
                return repr(Node())
        print(repr(Node()))
        """,
        SEGV,
    ),
    kind("null_pointer_read", "import ctypes\nctypes.string_at(0)", SEGV),
    kind("stdout_flood", "while True:\n    print('x' * 1000)", TIMED_OUT),
    kind("stderr_flood", "import sys\nwhile True:\n    sys.stderr.write('e' * 1000)", TIMED_OUT),
    kind("stderr_flood_then_answer", "import sys\nsys.stderr.write('e' * 10 ** 7)\nprint(6)", TOO_MUCH),
    kind("stdout_flood_then_answer", "print('x' * 10 ** 7)\nprint(6)", TOO_MUCH),
    kind("one_giant_line", "print('6' * 10 ** 7)", TOO_MUCH),
    kind(
        "huge_file",
        """
        with open('big', 'wb') as f:
            f.write(b'x' * (9 * 2 ** 20))
        print(6)
        """,
        "OSError: [Errno 27] File too large",
    ),
    kind(
        "fill_the_tmpfs",
        """
        i = 0
        while True:
            with open(f'fill{i}', 'wb') as f:
                f.write(b'x' * (7 * 2 ** 20))
            i += 1
        """,
        "OSError: [Errno 28] No space left on device",
        rlimits=R_TMP,
    ),
    kind(
        "too_many_open_files",
        "files = [open('/dev/null') for _ in range(10 ** 4)]\nprint(6)",
        "OSError: [Errno 24] Too many open files",
    ),
    kind(
        "raise_memory_limit",
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        data = bytearray(2 ** 30)
        print(6)
        """,
        "ValueError: not allowed to raise maximum limit",
    ),
    kind(
        "raise_process_limit",
        """
        import resource
        resource.setrlimit(resource.RLIMIT_NPROC, (10 ** 6, 10 ** 6))
        print(6)
        """,
        "ValueError: not allowed to raise maximum limit",
    ),
    kind(
        "lower_own_oom_score",
        """
        with open('/proc/self/oom_score_adj', 'w') as f:
            f.write('-1000')
        print(6)
        """,
        (EACCES, EROFS),
        rlimits=R_ROOT,
    ),  # /proc is mounted read-only in the namespaces
]


def write_to(id, path, expected, mode="w"):
    source = f"with open('{path}', '{mode}') as f:\n    f.write('x')\nprint('wrote')"
    return kind(id, source, expected, rlimits=R_FILES)


FILES = [
    write_to("write_host_tmp", "/tmp/$token", CANNOT_WRITE),
    # /tmp, where the standard library is mounted, is read-only: only /tmp/work is writable.
    write_to("write_next_to_the_stdlib", "/tmp/.python/$token", CANNOT_WRITE),
    write_to("write_pytest_tmp_path", "$tmp/$token", ENOENT),
    write_to("write_repository", "$repo/$token", REPO_REFUSED),
    write_to("write_home", "$home/$token", EROFS),
    write_to("append_etc_passwd", "/etc/passwd", CANNOT_WRITE, mode="a"),
    # Allowed: /dev/shm is private to the worker and emptied after each program.
    write_to("write_dev_shm", "/dev/shm/$token", "printed wrote"),
    kind("delete_host_tmp_file", "import os\nos.remove('$victim')\nprint('deleted')", ENOENT, rlimits=R_FILES),
    kind(
        "delete_repository_file",
        "import os\nos.remove('$repo_victim')\nprint('deleted')",
        REPO_REFUSED,
        rlimits=R_FILES,
    ),
    kind(
        "symlinks_for_the_cleanup_to_follow",
        """
        import os
        os.symlink('$victim', 'file_link')
        os.symlink('$tmp', 'dir_link')
        os.symlink('$repo_victim', 'repo_link')
        os.makedirs('deep/er')
        os.symlink('$tmp', 'deep/er/dir_link')
        for d in ('deep/er', 'deep', '.'):
            os.chmod(d, 0)
        print('linked')
        """,
        "printed linked",
    ),
    kind(
        "chmod_000_work_dir",
        """
        import os
        os.makedirs('a/b/c')
        with open('a/b/c/f', 'w') as f:
            f.write('x')
        for d in ('a/b/c', 'a/b', 'a', '.'):
            os.chmod(d, 0)
        print('locked')
        """,
        "printed locked",
    ),
    kind(
        "write_sysctl",
        """
        path = '/proc/sys/vm/swappiness'
        with open(path) as f:
            current = f.read()
        with open(path, 'w') as f:  # the same value: harmless if it gets through
            f.write(current)
        print('wrote')
        """,
        CANNOT_WRITE,
        rlimits=R_ROOT,
    ),
    kind(
        "leave_own_cgroup",
        """
        import os
        for path in ('/sys/fs/cgroup/cgroup.procs', '/sys/fs/cgroup/memory/cgroup.procs',
                     '/sys/fs/cgroup/pids/cgroup.procs'):
            if os.path.exists(path):
                with open(path, 'w') as f:
                    f.write(str(os.getpid()))
        print('moved')
        """,
        CANNOT_WRITE,
        rlimits=R_ROOT,
    ),
    kind(
        "read_worker_memory",
        """
        import os
        with open(f'/proc/{os.getppid()}/mem', 'rb') as f:
            f.read(1)
        print('read')
        """,
        EACCES,
        rlimits=R_PROCS,
    ),
    kind(
        "ptrace_worker",
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(16, os.getppid(), None, None) != 0:  # PTRACE_ATTACH
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        print('attached')
        """,
        EPERM,
        rlimits=R_PROCS,
    ),
    kind(
        "mount_tmpfs",
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mount(b'none', b'/mnt', b'tmpfs', 0, None) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        print('mounted')
        """,
        EPERM,
        rlimits=R_ROOT,
    ),
    kind(
        "remount_root_rw_in_a_new_user_namespace",
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        def check(result):
            if result != 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        uid = os.getuid()
        check(libc.unshare(0x10000000 | 0x00020000))  # CLONE_NEWUSER | CLONE_NEWNS
        with open('/proc/self/uid_map', 'w') as f:
            f.write(f'0 {uid} 1')
        check(libc.mount(None, b'/', None, 32 | 4096, None))  # MS_REMOUNT | MS_BIND, not read-only
        with open('$repo/$token', 'w') as f:
            f.write('x')
        print('wrote')
        """,
        (EPERM, EROFS),
        rlimits=R_ROOT,
    ),  # EROFS: /proc (uid_map) is read-only in the namespaces
    kind("set_hostname", "import socket\nsocket.sethostname('pwned')\nprint('renamed')", EPERM, rlimits=R_ROOT),
    # System V objects live in the worker's IPC namespace, not in any process: they outlive
    # the program unless the worker removes them.
    kind(
        "system_v_ipc_objects",
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        IPC_CREAT = 0o1000
        shm = libc.shmget(0x5EC2E7, 32 * 2 ** 20, IPC_CREAT | 0o600)
        msg = libc.msgget(0x5EC2E8, IPC_CREAT | 0o600)
        sem = libc.semget(0x5EC2E9, 1, IPC_CREAT | 0o600)
        if min(shm, msg, sem) < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        ctypes.memset(libc.shmat(shm, None, 0), 1, 32 * 2 ** 20)
        print('created')
        """,
        "printed created",
        rlimits=R_IPC,
    ),
]

SIGNALS_AND_NETWORK = [
    kind(
        "kill_parent",
        "import os\nos.kill(os.getppid(), 9)\nprint('alive')",
        # userns: the worker is pid 1 of the namespace, which the kernel does not let
        # SIGKILL from inside; rlimits: the worker really dies, and is replaced.
        {"namespaces": EPERM, "userns": "printed alive", "rlimits": WORKER_DIED},
    ),
    kind(
        "kill_pid_1",
        "import os\nos.kill(1, 9)\nprint('alive')",
        {"namespaces": EPERM, "userns": "printed alive"},
        rlimits=R_PROCS,
    ),
    kind(
        "stop_parent",
        "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\nprint('alive')",
        # rlimits: the stopped worker never answers; the pool gives up after its grace time.
        {"namespaces": EPERM, "userns": "printed alive", "rlimits": (TIMED_OUT, "did not answer")},
        slow=True,
    ),
    kind("kill_everyone", "import os, signal\nos.kill(-1, signal.SIGKILL)\nprint('alive')", ESRCH, rlimits=R_KILL_ALL),
    kind(
        "kill_the_engine",
        """
        import os, signal
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open(f'/proc/{pid}/cmdline', 'rb') as f:
                    if b'pytest' in f.read() and int(pid) != os.getpid():
                        os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        os.kill($engine, signal.SIGKILL)
        print('alive')
        """,
        (ESRCH, "killed by signal SIGKILL"),
        rlimits=R_PROCS,
    ),
    kind("keyboard_interrupt", "raise KeyboardInterrupt", "KeyboardInterrupt"),
    kind(
        "sigint_to_itself",
        """
        import os, signal, time
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
        print(6)
        """,
        "KeyboardInterrupt",
    ),
    kind("close_sys_stdout", "import sys\nsys.stdout.close()\nprint(6)", "ValueError: I/O operation on closed file."),
    kind("close_fd_1", "import os\nos.close(1)\nprint(6)", "exited with status 120"),
    kind("stdout_onto_stderr", "import os\nos.dup2(2, 1)\nprint(6)", "printed nothing"),
    kind("import_the_engine", "import correct", "ModuleNotFoundError: No module named 'correct'"),
    kind(
        "import_the_engine_from_its_path",
        "import sys\nsys.path[:0] = ['/work', '$repo']\nimport correct",
        "ModuleNotFoundError: No module named 'correct'",
    ),
    kind("import_torch", "import torch", "ModuleNotFoundError: No module named 'torch'"),
    kind(
        "tcp_to_the_engine_host",
        """
        import socket
        s = socket.socket()
        s.settimeout(1)
        s.connect(('127.0.0.1', $tcp_port))
        print('connected')
        """,
        ENETUNREACH,
        rlimits=R_NET,
    ),
    kind(
        "tcp_create_connection_to_the_engine_host",
        """
        import socket
        socket.create_connection(('127.0.0.1', $tcp_port), timeout=1)
        print('connected')
        """,
        ENETUNREACH,
        rlimits=R_NET,
    ),
    kind(
        "udp_to_the_engine_host",
        """
        import socket
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'6', ('127.0.0.1', $udp_port))
        print('sent')
        """,
        ENETUNREACH,
        rlimits=R_NET,
    ),
    kind(
        "tcp_to_the_internet",
        """
        import socket
        s = socket.socket()
        s.settimeout(1)
        s.connect(('8.8.8.8', 53))
        print('connected')
        """,
        ENETUNREACH,
        rlimits=R_NET,
    ),
    kind(
        "udp_to_the_internet",
        """
        import socket
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'6', ('8.8.8.8', 53))
        print('sent')
        """,
        ENETUNREACH,
        rlimits=R_NET,
    ),
    kind(
        "abstract_unix_socket_of_the_engine_host",
        """
        import socket
        mine = socket.socket(socket.AF_UNIX)
        mine.bind('\\0$abstract-mine')  # its own name: allowed, in its own network namespace
        s = socket.socket(socket.AF_UNIX)
        s.connect('\\0$abstract')
        print('connected')
        """,
        "ConnectionRefusedError: [Errno 111] Connection refused",
        rlimits=R_NET,
    ),
]

# What every mode promises each program (docs/sandbox.md, "What every mode does"), attacked.
INHERITANCE = [
    # stdin is /dev/null: nothing of the worker's request pipe (other programs, references).
    kind(
        "read_stdin_for_requests",
        """
        import os, sys
        print(os.readlink('/proc/self/fd/0') + ':' + str(len(sys.stdin.buffer.read())))
        """,
        "printed /dev/null:0",
    ),
    # No descriptor beyond stdin, stdout, stderr and the done marker (3) survives into a program.
    kind(
        "use_inherited_descriptors",
        """
        import os
        def is_open(fd):
            try:
                os.fstat(fd)
                return True
            except OSError:
                return False
        print([fd for fd in range(4096) if is_open(fd)])
        """,
        "printed [0, 1, 2, 3]",
    ),
    # no_new_privs is set and cannot be unset (prctl refuses with EINVAL).
    kind(
        "unset_no_new_privs",
        """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
        libc.prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0)
        print(libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0))
        """,
        "printed 1",
    ),
    # POSIX message queues are refused in every mode (RLIMIT_MSGQUEUE 0): none can be created,
    # so none is left on the host for the next program or the host to find.
    kind(
        "posix_message_queue",
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.mq_open(b'/$token', os.O_CREAT | os.O_RDWR, 0o600, None)
        print(fd, os.strerror(ctypes.get_errno()))
        """,
        "printed -1 Too many open files",
    ),
]

# Scored with tests that a wrong `add` fails: none of these may pass.
WRONG_ADD = "def add(a, b):\n    return a - b\n"
TESTS = "assert add(2, 3) == 5"
UNITTEST = py(
    """
    import unittest
    class TestAdd(unittest.TestCase):
        def test_add(self):
            self.assertEqual(add(2, 3), 5)
    unittest.main()
    """
)
HARNESS = (
    'documented in docs/sandbox.md: "a program written to inspect and subvert the test harness '
    'from inside can fake a pass"'
)


def trick(id, source, expected=EARLY_EXIT, tests=TESTS, **kw):
    return kind(id, WRONG_ADD + py(source), expected, tests=tests, **kw)


EXIT_TRICKS = [
    trick("sys_exit_0", "import sys\nsys.exit(0)"),
    trick("os_exit_0", "import os\nos._exit(0)"),
    trick("raise_system_exit", "raise SystemExit"),
    trick("raise_system_exit_0", "raise SystemExit(0)"),
    trick("exit_builtin", "exit()"),
    trick("quit_builtin", "quit(0)"),
    trick("patched_sys_exit_called", "import os, sys\nsys.exit = os._exit\nsys.exit(0)"),
    trick("atexit_os_exit", "import atexit, os\natexit.register(os._exit, 0)", (EARLY_EXIT, "AssertionError")),
    trick(
        "os_exit_from_a_thread",
        """
        import os, threading, time
        threading.Thread(target=os._exit, args=(0,)).start()
        time.sleep(0.5)
        """,
    ),
    # Tests that end themselves (unittest.main() exits 0 when they pass) finish; an exit from
    # the draft's own code while they run does not.
    kind(
        "sys_exit_0_in_the_function_the_tests_call",
        "import sys\ndef add(a, b):\n    sys.exit(0)",
        EARLY_EXIT,
        tests=TESTS,
    ),
    kind(
        "sys_exit_0_in_the_function_unittest_calls",
        "import sys\ndef add(a, b):\n    sys.exit(0)",
        "SystemExit: 0",
        tests=UNITTEST,
    ),
    kind("unittest_tests_of_a_wrong_function", WRONG_ADD, "AssertionError: -1 != 5", tests=UNITTEST),
    trick("forged_done_marker", "import os\nos.write(3, b'0' * 16)\nos._exit(0)"),
    trick("silenced_excepthook", "import sys\nsys.excepthook = lambda *args: None", "tests failed"),
    trick("kill_itself", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "killed by signal SIGKILL"),
    # Known holes: the program shares the process with the tests.
    trick(
        "done_marker_read_from_the_harness_frame",
        """
        import os, sys
        os.write(3, sys._getframe(1).f_locals['nonce'])
        os._exit(0)
        """,
        xfail=HARNESS,
    ),
    # The worker keeps its own references to exec and compile: the tests still run, and fail.
    trick("patched_exec", "import builtins\nbuiltins.exec = lambda *args, **kwargs: None", "AssertionError"),
    trick(
        "patched_compile",
        """
        import builtins
        _compile = compile
        builtins.compile = lambda text, name, mode: _compile('pass', name, mode)
        """,
        "AssertionError",
    ),
    trick(
        "sys_exit_used_by_the_tests_patched",
        "import sys\nsys.exit = lambda *args: None",
        tests="import sys\nif add(2, 3) != 5:\n    sys.exit(1)",
        xfail=HARNESS,
    ),
]

KINDS = TIME_AND_PROCESSES + MEMORY_AND_OUTPUT + FILES + SIGNALS_AND_NETWORK + INHERITANCE + EXIT_TRICKS


# ---------------------------------------------------------------------------------------
# Fixtures and checks


def unavailable(mode: str, e: Exception):
    """A mode that cannot start here: a failure where CORRECT_REQUIRE_ISOLATION names it, else a skip."""
    if mode in REQUIRED_MODES:
        pytest.fail(f"{mode} isolation is required here (CORRECT_REQUIRE_ISOLATION={REQUIRED}) but not available: {e}")
    pytest.skip(f"{mode} isolation is not available here: {e}")


@pytest.fixture(scope="module", params=MODES)
def value(request):
    v = ProgramValue(timeout=TIMEOUT, memory_mb=256, workers=2, isolation=request.param)
    try:
        assert v.sandbox.isolation == request.param
    except SandboxError as e:
        v.close()
        unavailable(request.param, e)
    yield v
    v.close()


def mode_of(value) -> str:
    return value.sandbox.isolation


class Host:
    """What attacks aim at outside the sandbox, and the check that it is untouched."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.victim = tmp / "victim.txt"
        self.victim.write_text(SECRET)
        self.repo_victim = REPO / f".{TOKEN}-victim"  # created only for the kinds that aim at it
        self.victims = [self.victim]
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind("\0" + TOKEN)
        self.unix.listen()
        for s in (self.tcp, self.udp, self.unix):
            s.setblocking(False)

    def render(self, source: str) -> str:
        if "$repo_victim" in source:
            self.repo_victim.write_text(SECRET)
            self.victims.append(self.repo_victim)
        return string.Template(source).substitute(
            token=TOKEN,
            tmp=self.tmp,
            victim=self.victim,
            repo_victim=self.repo_victim,
            repo=REPO,
            home=HOME,
            engine=ENGINE_PID,
            tcp_port=self.tcp.getsockname()[1],
            udp_port=self.udp.getsockname()[1],
            abstract=TOKEN,
        )

    def damage(self) -> list[str]:
        found = [
            f"{p} was created"
            for d in (TMPDIR, REPO, self.tmp, HOME, "/dev/shm")
            if os.path.lexists(p := os.path.join(d, TOKEN))
        ]
        found += [f"{p} was removed or changed" for p in self.victims if not p.is_file() or p.read_text() != SECRET]
        with open("/etc/passwd", "rb") as f:
            if f.read() != PASSWD:
                found.append("/etc/passwd was changed")
        for name, s in (("tcp", self.tcp), ("unix", self.unix)):
            try:
                s.accept()[0].close()
                found.append(f"the engine host's {name} listener got a connection")
            except BlockingIOError:
                pass
        try:
            found.append(f"the engine host's udp listener got {self.udp.recv(100)!r}")
        except BlockingIOError:
            pass
        return found

    def close(self):
        for s in (self.tcp, self.udp, self.unix):
            s.close()
        for d in (TMPDIR, REPO, self.tmp, HOME, "/dev/shm"):
            _remove(os.path.join(d, TOKEN))
        self.repo_victim.unlink(missing_ok=True)


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path)
    yield h
    h.close()


def inner_pids(pool) -> list[int]:
    """Host pids of each worker's pid 1 (namespace modes: the only child of the pool's pid). A
    worker that is gone took its namespaces with it; any other error reading its children
    fails, rather than leaving its sandbox unchecked."""
    pids = []
    for outer in pool.worker_pids():
        try:
            with open(f"/proc/{outer}/task/{outer}/children") as f:
                pids += map(int, f.read().split())
        except FileNotFoundError:
            pass
    return pids


def residue(pool, workers: list[int], sweep: bool = False) -> list[str]:
    """What programs left inside the sandbox, seen from the host; ``sweep`` removes it too,
    so that one leak does not fail every test after it."""
    found = []
    if pool.isolation == "rlimits":
        # Each worker's private scratch directory holds `work` only while a program runs.
        for name in os.listdir(TMPDIR):
            if name.startswith("correct-sandbox-"):
                found += [os.path.join(TMPDIR, name, n) for n in _listdir(os.path.join(TMPDIR, name))]
    else:
        for pid in inner_pids(pool):
            root = f"/proc/{pid}/root"
            found += [f"{root}/tmp/{n}" for n in _listdir(f"{root}/tmp") if n not in (".python", "work")]
            found += [f"{root}/tmp/work/{n}" for n in _listdir(f"{root}/tmp/work")]
            found += [f"{root}/tmp/.python/{n}" for n in _listdir(f"{root}/tmp/.python") if not n.isdigit()]
            found += [f"{root}/dev/shm/{n}" for n in _listdir(f"{root}/dev/shm")]
            ipc = sysv_objects(pid)
            found += [f"pid {pid}'s IPC namespace: {obj}" for obj in ipc]
            if sweep and ipc:
                subprocess.run([NSENTER, "-t", str(pid), "-i", "ipcrm", "--all"], check=False)
    if sweep:
        for path in found:
            if path.startswith("/"):
                _remove(path)
    return found


def sysv_objects(pid: int) -> list[str]:
    """The System V objects in ``pid``'s IPC namespace. Without nsenter (util-linux) they cannot
    be seen, which fails rather than reporting none."""
    assert NSENTER, "nsenter (util-linux) is needed to look inside the sandbox's IPC namespace"
    done = subprocess.run(
        [NSENTER, "-t", str(pid), "-i", "cat", "/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"nsenter into pid {pid}'s IPC namespace failed: {done.stderr.strip()}"
    out = done.stdout
    sections, found = iter(("shm", "msg", "sem")), []
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == "key":
            what = next(sections)
        elif fields:
            found.append(f"{what} key={fields[0]} id={fields[1]}")
    return found


def _listdir(path: str) -> list[str]:
    """A directory's entries; none when it does not exist (a scratch directory between programs).
    Any other error (permission, a vanished process) fails rather than hiding what is there."""
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def _remove(path: str) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        for root, dirs, _ in os.walk(path):
            for d in [root] + [os.path.join(root, d) for d in dirs]:
                if not os.path.islink(d):
                    os.chmod(d, 0o700)
        shutil.rmtree(path, ignore_errors=True)


def expect(feedback: str, expected) -> None:
    options = expected if isinstance(expected, tuple) else (expected,)
    assert any(o in feedback for o in options), f"feedback {feedback!r}; expected {' or '.join(map(repr, options))}"


def benign_still_passes(value) -> None:
    assert value([{"answer": "6"}], ["print(6)"])[0] == Score(1.0, "printed 6", "6")


@pytest.fixture
def attack(value, leftovers, host):
    """Run one hostile program through ``value`` (or, for a kind with its own ``timeout``, through
    a sandbox of the same mode with that limit) and check all five points; returns its Score."""

    def attack(source: str, expected, *, worth: float = 0.0, timeout: float = TIMEOUT, **record) -> Score:
        program = (
            value
            if timeout == TIMEOUT
            else ProgramValue(timeout=timeout, memory_mb=256, workers=1, isolation=mode_of(value))
        )
        pool = program.sandbox
        try:
            return _attack(program, pool, source, expected, worth, record)
        finally:
            if program is not value:
                program.close()

    def _attack(value, pool, source, expected, worth, record) -> Score:
        workers = pool.worker_pids()
        start = time.monotonic()
        s = value([{"id": "hostile", **(record or {"answer": "6"})}], [host.render(source)])[0]
        elapsed = time.monotonic() - start
        # Look at everything (and sweep what is left) before asserting: a leak must not
        # spill into the tests that follow.
        processes, left, damage = leftovers(pool), residue(pool, workers, sweep=True), host.damage()
        os.kill(ENGINE_PID, 0)  # still here (an attack aims at it by pid)
        assert elapsed < RETURNS_WITHIN
        assert s.value == worth, s
        expect(s.feedback, expected)
        assert processes == [], "processes left under the workers"
        assert left == [], "left in the sandbox"
        assert damage == [], "done to the host"
        benign_still_passes(value)
        return s

    return attack


# ---------------------------------------------------------------------------------------
# The suite


@pytest.mark.parametrize("source, expected, rlimits, record, timeout", KINDS)
def test_hostile(value, attack, source, expected, rlimits, record, timeout):
    mode = mode_of(value)
    if mode == "rlimits" and rlimits:
        pytest.skip(rlimits)
    attack(source, expected[mode] if isinstance(expected, dict) else expected, timeout=timeout, **record)


def _engine_environment() -> list[str]:
    """The entries of this process's own /proc/self/environ (what a /proc scan would find)
    that the sandbox does not set itself."""
    with open("/proc/self/environ", "rb") as f:
        entries = f.read().decode(errors="replace").split("\0")
    ours = {"PATH", "LANG", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "HOME", "TMPDIR", "PWD"}
    return [e for e in entries if "=" in e and e.split("=", 1)[0] not in ours and len(e) > 4]


def test_environment_is_out_of_reach(value, attack, monkeypatch):
    monkeypatch.setenv("CORRECT_HOSTILE_SECRET", SECRET)
    markers = [f"CORRECT_HOSTILE_SECRET={SECRET}"] + _engine_environment()
    # rlimits mode shares the PID namespace and uid: a scan of /proc would find the engine's
    # environment there (the README says so); its own and its worker's must still be clean.
    scan = mode_of(value) != "rlimits"
    source = py(f"""
        import os
        markers = {markers!r}
        places = {{'os.environ': '\\0'.join(f'{{k}}={{v}}' for k, v in os.environ.items())}}
        paths = ['/proc/self/environ', f'/proc/{{os.getppid()}}/environ']
        if {scan!r}:
            paths += ['/proc/1/environ'] + [f'/proc/{{p}}/environ' for p in os.listdir('/proc') if p.isdigit()]
        for path in paths:
            try:
                with open(path, 'rb') as f:
                    places[path] = f.read().decode(errors='replace')
            except OSError:
                pass
        leaks = sorted(place for place, text in places.items() if any(m in text for m in markers))
        print('leaked via ' + ', '.join(leaks) if leaks else 'nothing leaked')
        """).replace("$", "$$")
    attack(source, "printed nothing leaked", answer=SECRET)


def test_home_directories_are_hidden(value, attack):
    if mode_of(value) == "rlimits":
        pytest.skip(R_READ)
    secrets = [Path(HOME) / f".{TOKEN}-secret"] + (
        [Path("/home") / f".{TOKEN}-secret"] if os.path.isdir("/home") else []
    )
    try:
        for path in secrets:
            path.write_text(SECRET)
        source = py(f"""
            found = []
            for path in {list(map(str, secrets))!r}:
                try:
                    with open(path) as f:
                        found.append(f.read())
                except OSError as e:
                    found.append(type(e).__name__)
            print(' '.join(found))
            """)
        attack(source, "printed " + " ".join(["FileNotFoundError"] * len(secrets)), answer=SECRET)
    finally:
        for path in secrets:
            path.unlink(missing_ok=True)


@pytest.mark.parametrize("target", ["itself", "its worker"])
def test_right_answer_then_sigkill(value, attack, target):
    """A program killed by a signal failed, whatever it printed first; a kill that the kernel
    refuses or ignores leaves a clean run, which keeps its answer."""
    mode = mode_of(value)
    pid = "os.getpid()" if target == "itself" else "os.getppid()"
    source = f"import os, signal\nprint(6, flush=True)\nos.kill({pid}, signal.SIGKILL)"
    if target == "itself":
        attack(source, "killed by signal SIGKILL")
    elif mode == "userns":  # pid 1 of its namespace: SIGKILL from inside is dropped
        attack(source, "printed 6", worth=1.0)
    else:
        attack(source, {"namespaces": EPERM, "rlimits": WORKER_DIED}[mode])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_killing_the_worker_takes_the_programs_daemons_along(value, attack, tmp_path):
    if mode_of(value) != "rlimits":
        pytest.skip("a program cannot kill its worker in this mode (see test_hostile[...-kill_parent])")
    pidfile = tmp_path / "daemon.pid"
    source = py(f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                with open({str(pidfile)!r}, 'w') as f:
                    f.write(str(os.getpid()))
                time.sleep(30)
            os._exit(0)
        while not os.path.exists({str(pidfile)!r}):
            time.sleep(0.01)
        os.kill(os.getppid(), 9)
        """)
    daemon = None
    try:
        attack(source, WORKER_DIED)
        daemon = int(pidfile.read_text())
        deadline = time.monotonic() + 2
        while _alive(daemon) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(daemon), f"the daemon (pid {daemon}) of a program that killed its worker still runs"
    finally:
        if daemon is not None and _alive(daemon):
            os.kill(daemon, signal.SIGKILL)


@pytest.mark.parametrize(
    "source",
    [
        "print(6)\nexit()",
        "print(6)\nquit()",
        "print('6'.encode('idna').decode())",
        "import ctypes.util\nprint(6)",
        "import importlib.metadata\nprint(6)",
    ],
    ids=["exit", "quit", "idna_codec", "ctypes_util", "importlib_metadata"],
)
def test_defences_spare_ordinary_programs(value, source):
    """What a normal ``python main.py`` allows must work in every mode too."""
    assert value([{"answer": "6"}], [source])[0] == Score(1.0, "printed 6", "6")


AUTO_PROBE = """
import logging
logging.basicConfig(format="%(levelname)s %(message)s")
from correct.values.program import ProgramValue
v = ProgramValue(isolation="auto", workers=1)
print(v.sandbox.isolation, v([{"answer": "6"}], ["print(6)"])[0].value)
v.close()
"""


@pytest.mark.parametrize("capabilities", ["all", "none"])
def test_auto_says_when_it_falls_back(capabilities, tmp_path):
    """``auto`` takes the strongest mode the machine allows, and says so in a warning when that
    is not ``namespaces``. The same probe runs as root with every capability, then with none
    (setpriv empties the bounding set): there the namespace modes cannot start, programs
    still run, and the warning names the mode and why."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv (util-linux) to run a probe without capabilities")
    drop = [setpriv, "--bounding-set=-all", "--inh-caps=-all"] if capabilities == "none" else []
    done = subprocess.run(
        [*drop, sys.executable, "-c", AUTO_PROBE], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    mode, worth = done.stdout.split()
    assert worth == "1.0"
    if capabilities == "all":
        assert mode == "namespaces" and "WARNING" not in done.stderr, done.stderr
    else:
        assert mode in ("userns", "rlimits")
        assert f"WARNING sandbox: running programs in '{mode}' mode (" in done.stderr, done.stderr
        assert "namespaces: " in done.stderr  # why the stronger mode could not start


@pytest.mark.parametrize("mode", MODES)
def test_programs_get_a_default_sigint_whatever_the_engines(mode):
    """An engine started in the background of a shell has SIGINT ignored, and its sandbox
    workers would inherit that: a program's own Ctrl-C must still raise KeyboardInterrupt."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    v = ProgramValue(timeout=5, memory_mb=256, workers=1, isolation=mode)
    try:
        try:
            v.sandbox.isolation  # the worker starts now, with SIGINT ignored in this process
        except SandboxError as e:
            unavailable(mode, e)
        finally:
            signal.signal(signal.SIGINT, before)
        source = "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(3)\nprint(6)"
        assert "KeyboardInterrupt" in v([{"answer": "6"}], [source])[0].feedback
    finally:
        v.close()


def test_a_fork_bomb_in_one_worker_leaves_another_workers_program_its_processes():
    """namespaces mode: each worker runs its programs under a uid of its own, so the process
    limit (``max_processes``, counted per uid) is each program's. A pool's workers sharing one
    uid let a program that fills the limit make another's ``fork`` fail at the same moment."""
    from concurrent.futures import ThreadPoolExecutor

    from correct.values.sandbox import SandboxPool

    pool = SandboxPool(workers=2, timeout=20, max_processes=8, isolation="namespaces")
    try:
        try:
            pool.isolation
        except SandboxError as e:
            unavailable("namespaces", e)
        bomb = textwrap.dedent(
            """
            import os, time
            kids = 0
            try:
                while kids < 100:
                    if os.fork() == 0:
                        time.sleep(4)
                        os._exit(0)
                    kids += 1
            except OSError:
                pass
            print(kids)
            time.sleep(3)
            """
        )
        forker = "import os, time\ntime.sleep(1.5)\nfor _ in range(3):\n    if os.fork() == 0:\n        os._exit(0)\n"
        forker += "print('forked')"
        with ThreadPoolExecutor(2) as ex:
            filled = ex.submit(pool.run, bomb)
            other = ex.submit(pool.run, forker).result()
            held = int(filled.result().stdout)
        assert held < 8  # it did fill the limit
        assert other.stdout == "forked\n", other.stderr
    finally:
        pool.close()
