"""Helpers for a script that writes a task's data files once: records drawn from one seeded
random generator until there are enough different ones, that pool cut into train, validation
and test (so no record is in two files) and a reserve, one solved example of each kind taken
from the reserve for few-shot prompts, and the files a task file reads. The example tasks of
docs/examples/ write their data with these; a script for a task of one's own can too. The
same seed gives the same files, byte for byte."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any, Callable, Hashable, Mapping, Sequence

from ..errors import CorrectError

MISSES = 10_000
"""Draws in a row that give nothing new before ``distinct`` gives up: the draw cannot make
the number of different records asked for."""


class MakeError(CorrectError, ValueError):
    """A data script asked for more than its records hold: too few different ones, or no
    record of a kind."""


def distinct(
    n: int,
    seed: int,
    draw: Callable[[random.Random], dict | None],
    key: str | Callable[[dict], Hashable],
) -> list[dict]:
    """``n`` records, each ``draw(rng)`` from one ``random.Random(seed)``, no two with the same
    ``key`` (a field's name, or a function of the record such as ``frozenset`` of a list). A
    draw that returns None is a record the script rejects and is skipped, as is one whose key
    is taken; the draws go on in order, so the same seed and draw give the same records."""
    rng = random.Random(seed)
    key_of = (lambda r: r[key]) if isinstance(key, str) else key
    out: list[dict] = []
    seen: set = set()
    misses = 0
    while len(out) < n:
        r = draw(rng)
        k = None if r is None else key_of(r)
        if r is None or k in seen:
            misses += 1
            if misses >= MISSES:
                raise MakeError(
                    f"only {len(out)} different records of {n}: {MISSES} draws in a row were rejected (None) "
                    "or repeated a key"
                )
            continue
        seen.add(k)
        out.append(r)
        misses = 0
    return out


def split(rows: Sequence[dict], *sizes: int) -> list[list[dict]]:
    """Consecutive parts of ``rows`` of the given sizes, then the rest (the reserve that shots
    come from): cut from one pool of different records, no record is in two parts."""
    if sum(sizes) > len(rows):
        raise MakeError(f"{len(rows)} records cannot be cut into parts of {', '.join(map(str, sizes))}")
    parts, start = [], 0
    for size in sizes:
        parts.append(list(rows[start : start + size]))
        start += size
    return [*parts, list(rows[start:])]


def one_of_each(rows: Sequence[dict], kinds: Sequence[Any], field: str = "kind") -> list[dict]:
    """The first row of each kind (its ``field``), in the order of ``kinds``: the few-shot
    examples, one per kind, from the reserve. A kind no row has is an error naming it."""
    shots = [next((r for r in rows if r.get(field) == kind), None) for kind in kinds]
    missing = [kind for kind, r in zip(kinds, shots) if r is None]
    if missing:
        shown = ", ".join(map(repr, missing))
        raise MakeError(f"no row of {len(rows)} has {field} {shown}; draw a larger reserve or choose other kinds")
    return shots


def numbered(rows: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The rows with an ``id`` first: t1, t2, ... (a test set's records are named in outputs)."""
    return [{"id": f"t{i}", **r} for i, r in enumerate(rows, 1)]


def write_jsonl(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """One JSON object a line."""
    Path(path).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """A CSV file of ``columns`` (a header, then a line a row); a row's other fields are left out,
    and a column that no row has is an error (a misspelt name would give an empty column)."""
    absent = [c for c in columns if rows and not any(c in r for r in rows)]
    if absent:
        raise MakeError(f"no row has the column {', '.join(map(repr, absent))}")
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_files(
    folder: str | Path,
    train: Sequence[dict],
    validation: Sequence[dict],
    test: Sequence[dict],
    shots: Sequence[dict],
    test_columns: Sequence[str] | None = None,
) -> None:
    """The files a task file reads from ``folder``: train.jsonl, validation.jsonl, shots.jsonl
    and test.jsonl, whose records get ids t1, t2, ...; with ``test_columns``, test.csv of the
    id and those columns instead (a test set to read in a spreadsheet)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "train.jsonl", train)
    write_jsonl(folder / "validation.jsonl", validation)
    if test_columns is None:
        write_jsonl(folder / "test.jsonl", numbered(test))
    else:
        write_csv(folder / "test.csv", numbered(test), ["id", *test_columns])
    write_jsonl(folder / "shots.jsonl", shots)
