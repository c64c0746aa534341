"""Progress bars for long work (rich), quiet when output is not a terminal."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

from rich.progress import track

T = TypeVar("T")


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterable[T]:
    return track(items, description=description, total=total, transient=True)


@contextmanager
def counter(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar advanced by hand, ``advance(n)``: for work whose steps are not the items
    of one loop (records drafted, then corrected round by round)."""
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
