"""Several tasks as one training set, for one corrector that works across them
(``correct train --task MIXTURE.yaml``; docs/training.md, "Several tasks").

A mixture file names its tasks, built-in names or task files (paths relative to the mixture
file), and optionally how many training records each gives::

    # docs/examples/general/mixture.yaml
    mixture:
      - arithmetic
      - ../word-problems/word-problems.yaml
      - task: ../units/units.yaml
        limit: 300
    limit: 600          # records per task where a task does not say (--limit overrides it)

Each task keeps its own prompt (few-shot examples included), stop strings, token budget and
value; a record's id becomes ``<task name>/<id>`` so that every part of training can tell
whose it is. The tasks are balanced: each gives the same number of records unless told
otherwise, and the pairing sampler draws a task uniformly before a pair of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from ..values import Score, as_scores
from ..values.base import ValueBase, check_labeled, check_records
from .data import read_yaml
from .task import Task, TaskError

KEY = "mixture"
SEPARATOR = "/"


def is_mixture(name: str | None) -> bool:
    """Whether ``name`` is a mixture file: a YAML file whose top level has a ``mixture`` key."""
    if not name or not name.endswith((".yaml", ".yml")) or not Path(name).is_file():
        return False
    try:
        data = yaml.safe_load(Path(name).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return False  # the task file loader reports it
    return isinstance(data, dict) and KEY in data


@dataclass(frozen=True)
class Mixture:
    source: str
    tasks: tuple[Task, ...]
    limits: tuple[int | None, ...]
    """Training records of each task, as its entry says (None: --limit, else the mixture's
    ``limit``, else all)."""
    default: int | None = None
    """The mixture file's ``limit``: records of each task whose entry does not say, unless
    --limit does."""

    def task_of(self, record: Mapping[str, Any]) -> Task:
        return self.tasks[self.index(record["id"])]

    def index(self, record_id: str) -> int:
        return self._names().index(group(record_id))

    def _names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def records(self, split: str, limit: int | None, seed: int) -> list[dict]:
        """Each task's ``split`` (its entry's limit, else ``limit`` (--limit), else the file's),
        ids prefixed by the task's name."""
        out = []
        for t, own in zip(self.tasks, self.limits):
            n = own or limit or self.default
            if t.max_records is not None and n is not None and n > t.max_records:
                raise TaskError(
                    f"{self.source}: task {t.name!r} holds at most {t.max_records:,} records a split, asked for {n:,}"
                )
            records = t.make_split(split, n, seed)
            if not records:
                raise TaskError(f"{self.source}: task {t.name!r} has no records in split {split!r}")
            out += [{**r, "id": f"{t.name}{SEPARATOR}{r['id']}"} for r in records]
        return out

    def layout(self, record: Mapping[str, Any]) -> str:
        """The question as the record's own task lays it out."""
        return self.task_of(record).format_prompt(record)


def group(record_id: str) -> str:
    """The task a mixture record (or its prompt id) belongs to."""
    return record_id.split(SEPARATOR, 1)[0]


def load_mixture(path: str | Path, get_task) -> Mixture:
    """The mixture file at ``path``; ``get_task`` loads each task by name or path. Errors name the file."""
    path = Path(path)
    data, lines = read_yaml(path, "a mixture file", TaskError)  # a key given twice is named, not the last one taken
    unknown = set(data) - {KEY, "limit", "description"}
    if unknown:
        raise TaskError(
            f"{path}: unknown key {sorted(unknown)[0]!r}; a mixture file has 'mixture', 'limit' and 'description'"
        )
    default = _count(f"{path}:{lines.get('limit')}", "limit", data.get("limit"))
    entries = data[KEY]
    if not isinstance(entries, list) or len(entries) < 2:
        raise TaskError(f"{path}: key 'mixture' is a list of at least two tasks (names or task files)")

    def at(i: int) -> str:  # the entry by its line, for errors
        return f"{path}:{lines.get(f'{KEY}[{i}]', lines.get(KEY))}: mixture entry {i + 1}"

    tasks, limits = [], []
    for i, entry in enumerate(entries):
        where = at(i)
        if isinstance(entry, dict):
            if set(entry) - {"task", "limit"} or "task" not in entry:
                raise TaskError(f"{where}: an entry is a task, or a mapping with 'task' and 'limit'")
            name, limit = entry["task"], _count(where, f"limit of entry {i + 1}", entry.get("limit"))
        else:
            name, limit = entry, None
        if not isinstance(name, str):
            raise TaskError(f"{where}: a task is a built-in name or a task file's path, got {name!r}")
        local = path.parent / name
        if name.endswith((".yaml", ".yml")) and local.is_file():
            name = str(local)
        if is_mixture(name):
            raise TaskError(f"{where}: {name} is itself a mixture; list its tasks here instead")
        try:
            tasks.append(get_task(name))
        except TaskError as e:
            raise TaskError(f"{where}: {e}") from None
        limits.append(limit)
    names = [t.name for t in tasks]
    again = next((i for i, n in enumerate(names) if n in names[:i]), None)
    if again is not None:
        raise TaskError(f"{at(again)}: task {names[again]!r} appears twice in the mixture (task names must differ)")
    bad = [n for n in names if SEPARATOR in n]
    if bad:
        raise TaskError(f"{path}: task name {bad[0]!r} holds {SEPARATOR!r}, which mixture ids use")
    return Mixture(str(path), tuple(tasks), tuple(limits), default)


def note_unread(m: Mixture, temperature: float | None, min_gain: float | None) -> None:
    """Say it when a task sets its own pool ``temperature`` or ``min_gain`` and the run leaves
    them to the tasks (None): in a mixture the run's one setting holds for every task, so the
    task's would be dropped without a word."""
    import logging

    for t in m.tasks:
        for key, own, default, run in (
            ("temperature", t.pool_temperature, Task.pool_temperature, temperature),
            ("min_gain", t.min_gain, Task.min_gain, min_gain),
        ):
            if run is not None and own != default and own != run:
                logging.getLogger("correct").warning(
                    "%s: task %r sets %s %g, which a mixture does not read: every task is trained at %g (give "
                    "the run's own with --%s)", m.source, t.name, key, own, run, key.replace("_", "-"),
                )  # fmt: skip


def _count(where: str, key: str, v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise TaskError(f"{where}: key {key!r} is a positive whole number of records, got {v!r}")
    return v


class MixtureValue(ValueBase):
    """Each record scored by its own task's value. The values must agree on the best score (a
    record is solved at the same mark whatever its task); a draft of any task needs references
    unless every value is reference-free."""

    def __init__(self, mixture: Mixture, values: Sequence):
        maxima = {v.max_value for v in values}
        if len(maxima) > 1:
            parts = ", ".join(f"{t.name}: {_bound(v.max_value)}" for t, v in zip(mixture.tasks, values))
            raise TaskError(
                f"{mixture.source}: the tasks' values have different best scores ({parts}); "
                "a mixture needs one scale (give each task a value whose max_value is the same)"
            )
        self.mixture, self.values = mixture, list(values)
        self.name = "mixture(" + ", ".join(v.name for v in values) + ")"
        self.max_value = maxima.pop()
        lows = [v.min_value for v in values]  # None: a value unbounded below (values/registry.py)
        self.min_value = None if None in lows else min(lows)
        self.reference_free = all(v.reference_free for v in values)

    def _by_task(self, records: Sequence[Mapping[str, Any]]) -> dict[int, list[int]]:
        """Each task's records, by their places in ``records``: each record's task found once."""
        by_task: dict[int, list[int]] = {}
        for j, r in enumerate(records):
            by_task.setdefault(self.mixture.index(r["id"]), []).append(j)
        return by_task

    def check_training(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Each task's training records by its own value's checks, before any model loads (as
        one task's run does): a record its value refuses, or a task none of whose records has
        the references its value needs, which would add nothing to the mixture without a word."""
        for i, mine in self._by_task(records).items():
            own = [records[j] for j in mine]
            check_records(self.values[i], own)
            check_labeled(self.values[i], own, f"{self.mixture.source}: task {self.mixture.tasks[i].name!r}: ")

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
        scores: list[Score | None] = [None] * len(records)
        for i, mine in self._by_task(records).items():  # one call a task
            value = self.values[i]
            got = as_scores(value([records[j] for j in mine], [outputs[j] for j in mine]), len(mine), value.name)
            for j, s in zip(mine, got):
                scores[j] = s
        return scores  # type: ignore[return-value]

    def close(self) -> None:
        for v in self.values:
            v.close()


def _bound(x: float | None) -> str:
    return "unbounded" if x is None else f"{x:g}"
