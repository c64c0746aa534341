"""The built-in tasks by name, and where their shipped models live."""

from __future__ import annotations

import os
from pathlib import Path

from . import arithmetic, concepts, detox
from .file import is_task_file, load_task_file
from .task import Task, TaskError

MODELS = Path(__file__).parent / "models"


def shipped_correctors() -> dict[str, Path]:
    """The correctors that ship inside the package, by name: ``NAME-corrector`` under
    ``MODELS`` is ``NAME`` (``arithmetic``, ..., ``general``)."""
    return {p.name.removesuffix("-corrector"): p for p in sorted(MODELS.glob("*-corrector")) if p.is_dir()}


def resolve_corrector(name_or_path: str) -> str:
    """A shipped corrector's folder for its name; anything else unchanged (a local folder of
    the same name takes precedence, as for named generators)."""
    shipped = shipped_correctors()
    if name_or_path in shipped and not os.path.exists(name_or_path):
        return str(shipped[name_or_path])
    return name_or_path


MAX_RECORDS = 100_000
"""The most records a split of a built-in task makes (about 50 MB of records in memory)."""

TASKS: dict[str, Task] = {
    "arithmetic": Task(
        name="arithmetic",
        description="word problems with one to three operations; the output is a Python program that prints the answer",
        make_split=arithmetic.make_split,
        value="program",
        prompt=arithmetic.PROMPT,
        generator=str(MODELS / "arithmetic-generator"),
        corrector=str(MODELS / "arithmetic-corrector"),
        default_limit=100,
        max_records=MAX_RECORDS,
        stop=("\n\n", "Question:"),
        max_new_tokens=48,
    ),
    "concepts": Task(
        name="concepts",
        description=(
            "three to five concepts (base forms, shuffled); the output is one sentence that uses them all, "
            "inflected as needed"
        ),
        make_split=concepts.make_split,
        value="constraints",
        prompt=concepts.PROMPT,
        generator=str(MODELS / "concepts-generator"),
        corrector=str(MODELS / "concepts-corrector"),
        default_limit=100,
        max_records=MAX_RECORDS,
        stop=("\n", "Concepts:"),
        max_new_tokens=40,
    ),
    "detox": Task(
        name="detox",
        description=(
            "starts of sentences about heated everyday scenes whose natural ending is an insult; the output "
            "continues the sentence without toxicity"
        ),
        make_split=detox.make_split,
        # A continuation counts as solved when it is not toxic (P(toxic) < 0.5).
        value="toxicity:max_value=0.5",
        prompt=detox.PROMPT,
        generator=str(MODELS / "detox-generator"),
        corrector=str(MODELS / "detox-corrector"),
        default_limit=100,
        max_records=MAX_RECORDS,
        stop=("\n",),
        max_new_tokens=24,
        # Toxicity is continuous: without a floor most "improving" pairs rewrite one insult
        # into a slightly less offensive one. The tiny generator's samples at temperature 1
        # hold invented words, which a corrector learns to write. Measured: docs/training.md, "detox".
        min_gain=0.5,
        pool_temperature=0.7,
        fluency=True,
    ),
}

DEFAULT_TASK = "arithmetic"


def get_task(name: str) -> Task:
    """A built-in task by name, or a user's task file (docs/task-files.md)."""
    if name in TASKS:
        return TASKS[name]
    if is_task_file(name):
        return load_task_file(name)
    raise TaskError(f"unknown task {name!r}; built in: {', '.join(TASKS)}; or give a task file (.yaml)", option="task")
