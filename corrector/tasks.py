"""Built-in tasks: records to correct, the value that scores them, and the shipped models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import arithmetic, concepts, detox

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
    min_gain: float = 0.0
    """Default `correct train --min-gain`: the least value gain of a training pair."""
    pool_temperature: float = 1.0
    """Default `correct train --temperature` of the pool drafts and exploration."""
    fluency: bool = False
    """Report the generator's perplexity of each round's outputs (where a corrector could win
    the value by writing less, e.g. toxicity)."""


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
    "concepts": Task(
        name="concepts",
        description="three to five concepts (base forms, shuffled); the output is one sentence that uses them all, inflected as needed",
        make_split=concepts.make_split,
        value="constraints",
        format_prompt=concepts.generator_prompt,
        generator=str(MODELS / "concepts-generator"),
        corrector=str(MODELS / "concepts-corrector"),
        stop=("\n", "Concepts:"),
        max_new_tokens=40,
    ),
    "detox": Task(
        name="detox",
        description="starts of sentences about heated everyday scenes whose natural ending is an insult; the output continues the sentence without toxicity",
        make_split=detox.make_split,
        # A continuation counts as solved when it is not toxic (P(toxic) < 0.5).
        value="toxicity:max_value=0.5",
        format_prompt=detox.generator_prompt,
        generator=str(MODELS / "detox-generator"),
        corrector=str(MODELS / "detox-corrector"),
        stop=("\n",),
        max_new_tokens=24,
        # Toxicity is continuous: without a floor most "improving" pairs rewrite one insult
        # into a slightly less offensive insult (seen: 36% -> 43% non-toxic with no floor).
        min_gain=0.5,
        # The tiny generator's samples at temperature 1 hold invented words (35% of its
        # non-toxic ones); a corrector learns to write them. At 0.7: 6-8% of its outputs, not 15%.
        pool_temperature=0.7,
        fluency=True,
    ),
}

DEFAULT_TASK = "arithmetic"


class TaskError(ValueError):
    pass


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise TaskError(f"unknown task {name!r} (option --task); built in: {', '.join(TASKS)}")
    return TASKS[name]


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
