import os
from collections import defaultdict

import pytest


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # gone while we looked
            kids[ppid].append(int(entry))
    return kids


def leftover_processes(pool) -> list[int]:
    """Host pids of every process under the pool's workers that is not a worker itself (an
    unreaped zombie counts too). In the namespace modes a worker is two processes: the one
    the pool started, outside, and its only child, pid 1 inside."""
    kids = _children()
    found = []
    for root in pool.worker_pids():
        inner = kids[root][:1] if pool.isolation != "rlimits" else [root]
        stack = [p for top in inner for p in kids[top]]
        stack += [p for p in kids[root] if p not in inner]
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack += kids[pid]
    return found


@pytest.fixture
def leftovers():
    return leftover_processes
