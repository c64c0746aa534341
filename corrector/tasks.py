"""Built-in tasks: records to correct, the value that scores them, and the shipped models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import arithmetic

MODELS = Path(__file__).parent / "models"


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    make_split: Callable[[str, int, int], list[dict]]
    """(split, n, seed) -> records with `id`, `prompt` and task fields."""
    value: str
    """Default value spec."""
    format_prompt: Callable[[dict], str]
    """How the generator is prompted for a record."""
    generator: str
    """Default generator (hub id or path)."""
    corrector: str | None
    stop: tuple[str, ...] = ()
    max_new_tokens: int = 64
    default_limit: int = 100
    """Problems that `correct generate` runs when no --limit is given."""


TASKS: dict[str, Task] = {
    "arithmetic": Task(
        name="arithmetic",
        description="word problems with one to three operations; the output is a Python program that prints the answer",
        make_split=arithmetic.make_split,
        value="program",
        format_prompt=arithmetic.generator_prompt,
        generator=str(MODELS / "arithmetic-generator"),
        corrector=str(MODELS / "arithmetic-corrector"),
        stop=("\n\n", "Question:"),
        max_new_tokens=48,
    ),
}

DEFAULT_TASK = "arithmetic"


class TaskError(ValueError):
    pass


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise TaskError(f"unknown task {name!r} (option --task); built in: {', '.join(TASKS)}")
    return TASKS[name]


def plain_prompt(record: dict) -> str:
    """The prompt of a record given with --input/--dataset: used as it is."""
    return record["prompt"]
