"""Progress bars for long work (rich), quiet when output is not a terminal."""

from __future__ import annotations

from typing import Iterable, TypeVar

from rich.progress import track

T = TypeVar("T")


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterable[T]:
    return track(items, description=description, total=total, transient=True)
