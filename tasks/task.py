"""What a task is: where its records come from, how a record becomes the generator's prompt,
its stop strings, its value and its default models (docs/tasks-and-values.md)."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import CorrectError
from .data import FORMATS


@dataclass(frozen=True)
class Shots:
    """Solved examples shown before each generator prompt (for a general pretrained generator)."""

    k: int = 0
    """How many (``--shots`` overrides it)."""
    data: str = "validation"
    """Where they come from: a split of the task, or (in a task file) a data file."""
    target: str = "solution"
    """The record field that holds an example's solution."""


@dataclass(frozen=True)
class Task:
    name: str
    make_split: Callable[[str, int | None, int], list[dict]]
    """(split, n or None for all, seed) -> records with `id`, `prompt` and task fields."""
    prompt: str = "{prompt}"
    """The generator's prompt: a template over record fields, ``{prompt}`` the question."""
    value: str | None = None
    """Default value spec."""
    description: str = ""
    stop: tuple[str, ...] = ()
    """Drafts are cut before the first of these."""
    max_new_tokens: int | None = None
    """Token budget per draft (None: the sampling default, 128)."""
    shots: Shots = Shots()
    generator: str | None = None
    """Default generator (hub id, path or named generator)."""
    corrector: str | None = None
    """Default corrector."""
    chat_template: bool = False
    """Send the prompt through the generator's chat template as one user message."""
    correction_prompt: str | None = None
    """What ``--corrector self`` sends the generator to rewrite a draft: a template over
    ``{prompt}`` (the question as the task lays it out), ``{draft}`` and ``{feedback}``
    (None: corrector/self_refine.py's own)."""
    splits: tuple[str, ...] | None = None
    """The splits there are (None: any, as for procedural tasks)."""
    fields: dict[str, str] = field(default_factory=dict)
    """Record field <- data column, applied to every file of the task (and to --input/--dataset)."""
    data: Any = None
    """Where the records come from, as the task file wrote it (None: generated in Python)."""
    source: str | None = None
    """The task file, for a task that came from one."""
    default_limit: int | None = None
    """Records `correct generate` takes when no --limit is given (None: all)."""
    min_gain: float = 0.0
    """Default `correct train --min-gain`: the least value gain of a training pair."""
    pool_temperature: float = 1.0
    """Default `correct train --temperature` of the pool drafts and exploration."""
    max_records: int | None = None
    """The most records a split holds, for a task that makes its records in Python (None: the
    data's own size); a larger --limit is refused rather than filling memory."""
    fluency: bool = False
    """Report the generator's perplexity of each round's outputs (where a corrector could win
    the value by writing less, e.g. toxicity)."""

    def format_prompt(self, record: Mapping[str, Any]) -> str:
        """The generator's prompt for a record: the template with the record's fields."""
        return fill(self.prompt, record, f"task {self.name!r}")

    def has_split(self, split: str) -> bool:
        return self.splits is None or split in self.splits


def solution_text(solution: Any) -> str | None:
    """A record's ``solution`` as the text a model writes: text as it is, a number as its
    digits, an object or a list as JSON (Python's spelling of ``{"price": 9}`` is no JSON, and
    scored every reference and shown every example wrong); None stays None.

    >>> solution_text({"price": 9}), solution_text(2), solution_text("print(4)"), solution_text(None)
    ('{"price": 9}', '2', 'print(4)', None)
    """
    import json

    if solution is None or isinstance(solution, str):
        return solution
    return json.dumps(solution, ensure_ascii=False) if isinstance(solution, (dict, list, bool)) else str(solution)


def solutions_as_text(records: list[dict]) -> list[dict]:
    """Records to train a generator on, their ``solution`` as text (``solution_text``); a
    record without one is refused by its id."""
    empty = next((r for r in records if solution_text(r.get("solution")) is None), None)
    if empty is not None:
        raise TaskError(f"record {empty['id']!r} has no 'solution' to train on")
    return [{**r, "solution": solution_text(r["solution"])} for r in records]


def template_fields(template: str) -> list[str]:
    """The record fields a template names.

    >>> template_fields("Question: {prompt}\\nUnits: {unit}\\n")
    ['prompt', 'unit']
    """
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def fill(template: str, record: Mapping[str, Any], where: str) -> str:
    """The template filled with the record's fields; a field it names that the record lacks, or
    holds as null (laid out as the text "None": a request's ``record`` of serve), is refused."""
    name = f"record {record['id']!r}" if "id" in record else "the record"  # a request's record has no id
    empty = next((field for field in template_fields(template) if field in record and record[field] is None), None)
    if empty is not None:
        raise TaskError(f"{where}: the prompt names the field {empty!r}, which {name} leaves empty (null)")
    try:
        return template.format_map(record)
    except KeyError as e:
        raise TaskError(f"{where}: the prompt names the field {e.args[0]!r}, which {name} does not have") from None
    except (ValueError, IndexError, AttributeError) as e:
        raise TaskError(f"{where}: the prompt {template!r} is not a valid template: {e}") from None


class TaskError(CorrectError, ValueError):
    pass


def few_shot_prompt(task: Task, shots: int | None = None, seed: int = 0) -> Callable[[dict], str]:
    """The task's generator prompt after ``shots`` solved examples (default: the task's own
    number), from ``task.shots.data`` (the validation split of a built-in task: never the
    train or test problems), each ended by the task's first stop string (``answer_end``) so the
    generator learns where an answer ends. This is how a general pretrained model (e.g. the ``smollm2``
    generator) is asked to write in the task's format."""
    examples = shot_records(task, shots, seed)
    if not examples:
        return task.format_prompt
    target, end = task.shots.target, answer_end(task, task.format_prompt(examples[0]))
    head = "".join(task.format_prompt(r) + solution_text(r[target]) + end for r in examples)
    return lambda record: head + task.format_prompt(record)


def answer_end(task: Task, after: str = "") -> str:
    """What ends a solved example's answer: the task's first stop string (so the generator learns
    where an answer ends), else a blank line. A stop string that what comes ``after`` the answer
    (the next problem's layout) begins with is left out: with ``stop: ["Question:", ...]`` before
    ``Question: {prompt}``, each example read "...Question:Question: ..."."""
    ends = [s for s in task.stop if s and not after.startswith(s)]
    return ends[0] if ends else "\n\n"


def shot_records(task: Task, shots: int | None = None, seed: int = 0) -> list[dict]:
    """The ``shots`` solved examples (default: the task's number) ``few_shot_prompt`` shows,
    each with its reference solution; none for 0."""
    k = task.shots.k if shots is None else shots
    if k == 0:
        return []
    if task.max_records is not None and k > task.max_records:  # made one by one: it would fill memory
        raise TaskError(
            f"task {task.name!r} cannot show {k:,} solved examples: it makes at most {task.max_records:,} records "
            "a split",
            option="shots",
        )
    if one_file(task) and Path(task.shots.data).suffix.lower() not in FORMATS:
        raise TaskError(
            f"{task.source}: key 'data' is one file for every split, so solved examples from its split "
            f"{task.shots.data!r} would be that file's own records, each shown its answer; give key 'shots.data' "
            "a file of solved examples",
            option="shots",
        )
    examples = task.make_split(task.shots.data, k, seed)
    if len(examples) < k:
        where = f"{task.source}: key 'shots.k'" if task.source and shots is None else f"task {task.name!r}"
        raise TaskError(
            f"{where} asks for {k} solved examples, but {task.shots.data!r} has only {len(examples)}", option="shots"
        )
    target = task.shots.target
    if any(target not in r for r in examples):
        raise TaskError(f"task {task.name!r} has no reference solutions (`{target}`) to show", option="shots")
    empty = next((r for r in examples if r[target] is None), None)
    if empty is not None:  # an empty cell: shown, it would be the solution "None"
        raise TaskError(
            f"{task.source or f'task {task.name!r}'}: solved example {empty['id']!r} of {task.shots.data!r} has no "
            f"{target!r} (null, or an empty cell)",
            option="shots",
        )
    return examples


def one_file(task: Task) -> bool:
    """Whether a task file's key ``data`` is one file for every split: its splits are the same
    records (a held-out split would be the training records)."""
    return isinstance(task.data, str) and bool(task.source)


def held_apart(task: Task) -> bool:
    """Whether ``task`` has validation records apart from its training ones; where it has not
    (``one_file``), that is said, and a training run measures nothing at its end."""
    if one_file(task):
        import logging

        logging.getLogger("correct").warning(
            "%s: key 'data' is one file for every split, so there are no held-out records and the corrector is "
            "not measured at the end; give each split a file (data: {train: ..., validation: ...})",
            task.source,
        )
    return not one_file(task)


def held_out(task: Task, n: int, shots: int | None = None, seed: int = 0) -> list[dict]:
    """``n`` validation records to measure a corrector on (``unshown``). A task whose data is
    one file for every split has none: its validation records are its training records."""
    if one_file(task):
        raise TaskError(
            f"{task.source}: key 'data' is one file for every split, so its validation records are its training "
            "records; give each split a file (data: {train: ..., validation: ...}) to measure on held-out records",
            option="eval_limit",
        )
    return unshown(task, "validation", n, shots, seed)


def unshown(task: Task, split: str, n: int | None, shots: int | None = None, seed: int = 0) -> list[dict]:
    """``n`` records of ``split`` (None: all), after the ones ``few_shot_prompt`` shows as
    examples when those come from the same split (a problem is never its own example)."""
    k = task.shots.k if shots is None else shots
    skip = k if shows_from(task, split) else 0
    where = f"{task.source or f'task {task.name!r}'}, split {split!r}"
    return _after(task.make_split(split, None if n is None else skip + n, seed), skip, where)


def _after(records: list[dict], k: int, what: str) -> list[dict]:
    """``records`` after the first ``k``, the solved examples; none left after them is said so."""
    if k and records and len(records) <= k:
        raise TaskError(
            f"{what} has {len(records)} records, all of them among the {k} shown as solved examples: none is left "
            "to run",
            option="shots",
        )
    return records[k:]


def _shots_file(task: Task) -> Path | None:
    """The file a task file's solved examples come from, resolved: ``shots.data`` as a file, or
    the file its data names for the split ``shots.data`` names; None where that is no file."""
    if not task.source:
        return None
    files = task.data if isinstance(task.data, dict) else {}
    source = files.get(task.shots.data, task.shots.data)
    if not isinstance(source, (str, Path)) or Path(source).suffix.lower() not in FORMATS:
        return None
    return (Path(task.source).parent / source).resolve()


def shows_from(task: Task, split: str) -> bool:
    """Whether ``task``'s solved examples are records of ``split``: named as the split, or the
    file its data names for the split (``shots: {data: test.jsonl}`` beside ``test: test.jsonl``
    showed each test problem its own solution; so did ``shots: {data: train}`` where ``train``
    and ``test`` name one file)."""
    if task.shots.data == split:
        return True
    files = task.data if isinstance(task.data, dict) and task.source else {}
    mine, shown = files.get(split), _shots_file(task)
    return isinstance(mine, str) and shown is not None and (Path(task.source).parent / mine).resolve() == shown


def unshown_file(task: Task, path, records: list[dict], shots: int | None = None) -> list[dict]:
    """The records of a file given in place of the task's data (``--input``), after the solved
    examples when they come from that same file, as ``unshown`` skips them in a split."""
    k = task.shots.k if shots is None else shots
    shown = _shots_file(task) if k else None
    return _after(records, k, str(path)) if shown is not None and shown == Path(path).resolve() else records


def plain_prompt(record: dict) -> str:
    """The prompt of a record given with --input/--dataset and no task: used as it is."""
    return record["prompt"]
