"""Progress of long work on stderr: a bar (rich) redrawn on a terminal; where stderr is a file
or a pipe (``nohup``, a job scheduler, ``2> log``) a plain line every ``EVERY`` seconds with
done/total, the rate and the time left, and one when the work ends; or nothing (``MODES``)."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Literal, get_args

Mode = Literal["auto", "bar", "plain", "none"]
"""``--progress``: auto (a bar on a terminal, else plain lines) | bar | plain | none."""
MODES: tuple[str, ...] = get_args(Mode)

EVERY = 30.0
"""Seconds between plain progress lines."""

_mode = "auto"


def configure(mode: str, every: float | None = None) -> None:
    """How progress is shown from now on; a mode not in ``MODES`` is a ValueError naming them."""
    global _mode, EVERY
    if mode not in MODES:
        raise ValueError(f"unknown progress mode {mode!r}; choose {', '.join(MODES)}")
    _mode = mode
    EVERY = EVERY if every is None else every


def shown_as() -> str:
    """bar, plain or none: what ``auto`` means here (a bar only where stderr is a terminal)."""
    if _mode != "auto":
        return _mode
    return "bar" if sys.stderr.isatty() else "plain"


@contextmanager
def counter(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Progress advanced by hand, ``advance(n)``: for work whose steps are not the items of one
    loop (records drafted, then corrected round by round)."""
    how = shown_as()
    if how == "bar":
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)
    elif how == "plain":
        lines = PlainLines(description, total)
        yield lines.advance
        lines.end()
    else:
        yield lambda n: None


def trainer_callbacks(description: str = "training steps") -> list:
    """What a transformers ``Trainer`` needs to show its optimizer steps as this module does:
    its own tqdm bar on a terminal (``TrainingArguments(disable_tqdm=not bar_for_trainer())``),
    a callback writing plain lines where stderr is a file, nothing with ``none``."""
    if shown_as() != "plain":
        return []
    from transformers import TrainerCallback

    class PlainSteps(TrainerCallback):
        lines = None

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:  # one process of a distributed run writes, as tqdm's bar
                # a resumed run starts from its checkpoint's step; its rate counts this run's steps
                self.lines = PlainLines(description, state.max_steps, initial=state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            if self.lines is not None:
                self.lines.advance(state.global_step - self.lines.done)

        def on_train_end(self, args, state, control, **kwargs):
            if self.lines is not None:
                self.lines.end()

    return [PlainSteps()]


def bar_for_trainer() -> bool:
    """Whether a transformers ``Trainer`` should draw its own tqdm bar: on a terminal only."""
    return shown_as() == "bar"


class PlainLines:
    """``description: done/total (share), rate/s, time left`` on stderr at most every ``EVERY``
    seconds, and a last line with the whole time once a line has been written. ``initial``: done
    before this process began (a resumed run); shown in done/total, not counted in the rate."""

    def __init__(
        self,
        description: str,
        total: int | None,
        clock: Callable[[], float] = time.monotonic,
        out=None,
        initial: int = 0,
    ):
        self.description, self.total, self.clock, self.out = description, total, clock, out
        self.initial = self.done = initial
        self.start = clock()
        self.last = self.start
        self.written = False

    def advance(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= EVERY:
            self.last = now
            self.write(self.line(now))

    def line(self, now: float) -> str:
        rate = (self.done - self.initial) / max(now - self.start, 1e-9)
        of = f"{self.done}/{self.total} ({self.done / self.total:.0%})" if self.total else f"{self.done}"
        left = f", {_duration((self.total - self.done) / rate)} left" if self.total and rate > 0 else ""
        return f"{self.description}: {of}, {rate:.3g}/s{left}"

    def end(self) -> None:
        if self.written:
            self.write(
                f"{self.description}: {self.done}{f'/{self.total}' if self.total else ''} done in "
                f"{_duration(self.clock() - self.start)}"
            )

    def write(self, text: str) -> None:
        self.written = True
        print(text, file=self.out or sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    """``1h02m``, ``4m05s``, ``12s``.

    >>> _duration(3725), _duration(245), _duration(12.4)
    ('1h02m', '4m05s', '12s')
    """
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
