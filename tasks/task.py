"""What a task is: where its records come from, how a record becomes the generator's prompt,
its stop strings, its value and its default models (docs/tasks-and-values.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


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
    max_new_tokens: int | None = None
    """Token budget per draft (None: the sampling default, 128)."""
    default_limit: int = 100
    """Problems that `correct generate` runs when no --limit is given."""
    min_gain: float = 0.0
    """Default `correct train --min-gain`: the least value gain of a training pair."""
    pool_temperature: float = 1.0
    """Default `correct train --temperature` of the pool drafts and exploration."""
    fluency: bool = False
    """Report the generator's perplexity of each round's outputs (where a corrector could win
    the value by writing less, e.g. toxicity)."""


class TaskError(ValueError):
    pass


def few_shot_prompt(task: Task, shots: int, seed: int = 0) -> Callable[[dict], str]:
    """The task's generator prompt after ``shots`` solved examples from its validation split
    (never the train or test problems), each ended by the task's first stop string so the
    generator learns where an answer ends. This is how a general pretrained model (e.g. the
    ``smollm2`` generator) is asked to write in the task's format."""
    if shots == 0:
        return task.format_prompt
    examples = task.make_split("validation", shots, seed)
    if any("solution" not in r for r in examples):
        raise TaskError(f"task {task.name!r} has no reference solutions to show (option --shots)")
    end = task.stop[0] if task.stop else "\n\n"
    head = "".join(task.format_prompt(r) + r["solution"] + end for r in examples)
    return lambda record: head + task.format_prompt(record)


def held_out(task: Task, n: int, shots: int = 0, seed: int = 0) -> list[dict]:
    """``n`` validation records to measure a corrector on, after the ``shots`` that
    ``few_shot_prompt`` shows as examples (a problem is never its own example)."""
    return task.make_split("validation", shots + n, seed)[shots:]


def plain_prompt(record: dict) -> str:
    """The prompt of a record given with --input/--dataset: used as it is."""
    return record["prompt"]
