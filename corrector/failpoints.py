"""Crash testing: ``CORRECT_FAILPOINT=name`` makes the process die with SIGKILL at the
failpoint of that name (or in the middle of a write), so tests can check that a killed run
loses nothing it had written and resumes where it stopped."""

from __future__ import annotations

import os
import signal


def failpoint(name: str) -> None:
    """Crash testing: ``CORRECT_FAILPOINT=name`` kills the process with SIGKILL right here."""
    if os.environ.get("CORRECT_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def torn_write(f, text: str, name: str) -> None:
    """Crash testing: with ``CORRECT_FAILPOINT=name``, write the first half of ``text`` to the
    open file ``f``, make it durable, and die, as a kill in the middle of a write would."""
    if os.environ.get("CORRECT_FAILPOINT") == name:
        f.write(text[: len(text) // 2])
        f.flush()
        os.fsync(f.fileno())
        failpoint(name)
