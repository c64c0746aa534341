"""How many threads torch's CPU operations get: as many as there are cores this process can
really use. torch's default is every core of the machine, and its threads wait for each other
at every small decoding operation: on a machine where other jobs keep cores busy, one thread
that has to wait holds all the others up (docs/benchmarks.md, "threads on a busy machine";
bench/busy.py). The cores counted are those of the
process's CPU affinity, capped by a cgroup CPU quota (a container's ``--cpus``), less those
that other processes' runnable threads occupy right now.

``apply()`` asks again before each decoding call and training iteration, and every 30 seconds
of an iteration's steps (corrector/training/fit.py), so a long run follows the machine's load.
``--threads N`` (``configure``) or ``OMP_NUM_THREADS`` fixes the number, and so does a
program's own ``torch.set_num_threads`` once the engine has begun: a count other than the one
``apply()`` last set is someone else's choice, and is kept from then on. (Before the engine's
first call nothing tells a program's count from torch's default: a program that wants
its own from the start calls ``configure``.)"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from pathlib import Path


def usable_cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """Cores this process may run on: its affinity, capped by a cgroup CPU quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_quota(cgroup)
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def cgroup_quota(cgroup: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota in cores (cgroup v2 ``cpu.max``, or v1 ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us``); None when there is none or it cannot be read."""
    try:
        text = (cgroup / "cpu.max").read_text().split()
        return None if text[0] == "max" else int(text[0]) / int(text[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def others_running(proc: Path = Path("/proc")) -> int:
    """Threads of other processes that are running or ready to run now: the machine's count
    (``procs_running`` of ``/proc/stat``) less this process's own threads in that state."""
    try:
        stat = (proc / "stat").read_text()
        running = int(next(line.split()[1] for line in stat.splitlines() if line.startswith("procs_running")))
    except (OSError, StopIteration, ValueError, IndexError):
        return 0  # not Linux, or no /proc: nothing known to be busy
    return max(0, running - own_running(proc / "self" / "task"))


def own_running(tasks: Path) -> int:
    """This process's threads in state R (the one asking among them)."""
    count = 0
    try:
        entries = list(tasks.iterdir())
    except OSError:
        return 1
    for task in entries:
        try:
            stat = (task / "stat").read_text()
        except OSError:  # a thread that just ended
            continue
        if stat[stat.rfind(")") + 2 :].startswith("R"):  # the state follows the command's closing parenthesis
            count += 1
    return max(1, count)


def pick(cores: int, busy: int) -> int:
    """Threads for ``cores`` usable cores of which ``busy`` are taken: at least one.

    >>> pick(8, 0), pick(8, 3), pick(2, 2), pick(2, 5)
    (8, 5, 1, 1)
    """
    return max(1, cores - busy)


def auto(samples: int = 3, gap: float = 0.005) -> int:
    """The threads to use now: the usable cores less the median of a few looks at how many
    other threads are running (one look is a single instant of a noisy machine)."""
    looks = []
    for i in range(samples):
        if i:
            time.sleep(gap)
        looks.append(others_running())
    return pick(usable_cores(), round(statistics.median(looks)))


_fixed: int | None = None
"""The process's choice: a number of threads (--threads), or None to follow the machine."""


def from_environment() -> int | None:
    """``OMP_NUM_THREADS``, when set to a number: a user's (or a launcher's) own choice."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return None


_applied: dict[int, int] = {}
"""What ``apply()`` last gave torch in each Python thread, while it follows the machine
(OpenMP keeps a count per thread: one thread's count says nothing of another's)."""


def configure(threads: int | None) -> None:
    """Fix the threads from now on (``--threads``), or with None let ``apply`` pick them."""
    global _fixed
    _fixed = threads
    _applied.clear()


def streams() -> int:
    """Batches to decode side by side, one thread each (``streams``): every usable core while
    the engine follows the machine, since a stream waits for no other and a core another job
    takes slows one stream only; 1 where the threads are fixed, which are torch's own threads
    for one batch at a time."""
    return 1 if _fixed is not None or from_environment() is not None else usable_cores()


def apply() -> int:
    """Set torch's intra-op threads to the fixed number, else to ``OMP_NUM_THREADS``, else to
    ``auto()``; returns it. Asked before each decoding call and training iteration: cheap (a
    few reads of /proc)."""
    import torch

    me = threading.get_ident()
    current = torch.get_num_threads()
    if _fixed is None and me in _applied and current != _applied[me]:
        configure(current)  # the program set its own since this thread's last call: it stands
    n = _fixed or from_environment() or auto()
    if current != n:
        torch.set_num_threads(n)
    if _fixed is None:
        _applied[me] = torch.get_num_threads()  # what torch reports back, compared next time
    return n
