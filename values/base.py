"""What every value function shares: the Score it returns, the Value protocol, the error
type users see, and small helpers for naming records and parsing ``name:options`` specs.

A value is any callable ``value(records, outputs) -> list[Score]`` (or a list of floats,
see ``registry.as_scores``) with a few attributes the engine reads:

- ``max_value``: the best score (a draft that reaches it counts as *solved*);
- ``reference_free``: whether the score can be computed at inference time without hidden
  labels (then drafts that already reach ``max_value`` are not re-corrected);
- ``min_value``: the worst score.

A value that needs references may still know some outputs fail without them: it says so with
``Score.faulty`` (the program value does for programs that raise, print nothing, time out or
fail their record's tests).

Feedback text must never reveal the reference (e.g. the expected answer): it is shown to
the corrector at inference time too.

A value says what it can without references: on a record that lacks what its score needs
(``program`` without ``answer`` or ``tests``) it still gives feedback, and the answer the
output arrives at, with ``value=None`` (unknown). Records whose values are unknown are
refined all the same and left out of the figures that need references (``corrector/metrics.py``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, Sequence

from ..errors import CorrectError, describe_error, first_line  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class Score:
    value: float | None
    """Higher is better; None when it is unknown: the record lacks the reference the value
    needs (feedback and answer are still given)."""
    feedback: str | None = None
    """Why the output got this value, in words, without revealing the reference."""
    answer: str | None = None
    """The answer the output arrives at, when the value can tell (used for majority voting)."""
    faulty: bool = False
    """Whether the output fails a check that needs no reference, whatever the reference says:
    a program that raises, prints nothing, runs out of time or fails its record's tests.
    Known at inference, so a corrector that cannot judge a task's answers can be given only
    these drafts (``--refine failing``)."""
    verified: bool = False
    """Whether the output passes a check that needs no reference: a program that passes its
    record's tests. Known at inference, so it is never given to a corrector again, as an
    output at a reference-free value's maximum is not."""


class Value(Protocol):
    name: str
    max_value: float
    min_value: float
    reference_free: bool

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]: ...

    def close(self) -> None:
        """Let go of what it holds (the program value's sandbox workers)."""

    def __enter__(self) -> "Value": ...

    def __exit__(self, *exc) -> None: ...


class ValueBase:
    """What every value the engine loads derives from: a context manager whose ``close`` lets go
    of what it holds (nothing, unless a value says otherwise)::

        with load_value("program") as value:
            scores = value(records, outputs)
    """

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ValueFunctionError(CorrectError, ValueError):
    """A user-facing problem with a value function (unknown name, bad import, wrong shape)."""


def text_of(x: Any) -> str:
    """An output as a string (None is the empty output)."""
    return x if isinstance(x, str) else ("" if x is None else str(x))


def record_name(record: Mapping[str, Any], index: int) -> str:
    """How errors name a record: by its id, else by its place in the batch."""
    return f"record {record['id']!r}" if "id" in record else f"record at index {index}"


def check_records(value: Any, records: Sequence[Any]) -> None:
    """A value's own checks of the records it needs (a ``schema``, ``concepts``, ``checks``,
    ``tests``), run before any model loads where they cost nothing: its ``check_records(records)``
    where it has one (a value whose scoring needs a sandbox or a model), else the value itself
    where it is pure Python (``checks_alone``). They used to stop a run only once its drafts
    were written."""
    if not records:
        return
    if callable(getattr(value, "check_records", None)):
        value.check_records(records)
    elif getattr(value, "checks_alone", False):
        value(records, [""] * len(records))


GROUPED = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"
"""A number written with thousands separators as people write answers (and ``f"{n:,}"``
prints them): strictly in threes, so "1,23" is not one. ``program`` reads a whole answer by it,
``json:source=`` the numbers of a text."""


def check_labeled(value: Any, records: Sequence[Any], where: str = "") -> None:
    """Training pairs drafts by known values: a value that can tell a record's own references
    (``labeled(record)``, as ``program``: an ``answer`` or ``tests``) refuses a set of records
    with none before any model loads, rather than after the whole pool is drafted. ``where``
    (a mixture's task) begins the message."""
    labeled = getattr(value, "labeled", None)
    if records and callable(labeled) and not any(labeled(r) for r in records):
        name = getattr(value, "name", None) or "the value"
        refs = getattr(value, "references", "references")
        raise ValueFunctionError(
            f"{where}value {name!r} can score none of the {len(records)} training records: training needs records "
            f"with {refs}, and these records have none"
        )


def check_paired(name: str, records: Sequence[Any], outputs: Sequence[Any]) -> None:
    """A value is called with one record per output; anything else is the caller's mistake,
    named before anything is scored."""
    if len(records) != len(outputs):
        raise ValueFunctionError(f"value {name!r} got {len(records)} records for {len(outputs)} outputs")


def structured_field(record: Mapping[str, Any], key: str, where: str) -> Any:
    """A record's field that holds a list or an object, or the same as a JSON string (a CSV
    column); a string that is not JSON is an error naming ``where`` and ``key``."""
    given = record.get(key)
    if isinstance(given, str):
        try:
            return json.loads(given)
        except json.JSONDecodeError:
            raise ValueFunctionError(f"{where} has a `{key}` that is not JSON") from None
    return given


def flag(text: str) -> bool:
    """A boolean option as written in a value spec: `1`, `true`, `yes` or nothing; `0`,
    `false` or `no`. Anything else is refused (``maybe`` was silently false)."""
    written = text.lower()
    if written in ("1", "true", "yes", ""):
        return True
    if written in ("0", "false", "no"):
        return False
    raise ValueError("must be true or false")


def finite(text: str) -> float:
    """A number option that NaN or infinity would make meaningless."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def positive(kind: Callable[[str], float], most: float = math.inf) -> Callable[[str], float]:
    """A converter for a count or a limit: a finite number above 0 (a timeout of -1 s timed out
    every program), and at most ``most`` (a timeout of 1e10 s overflowed the clock)."""

    def convert(text: str):
        value = kind(text)
        if not math.isfinite(value) or value <= 0:
            raise ValueError("must be a number above 0")
        if value > most:
            raise ValueError(f"must be at most {most:,.0f}")
        return value

    return convert


def parse_options(
    name: str, arg: str | None, schema: Mapping[str, Callable[[str], Any]], positional: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Split the ``arg`` of ``--value NAME:arg`` into (positional part, options).

    Trailing ``key=value`` items are options, converted by ``schema[key]``; what comes before
    them (commas allowed: a path may hold one) is the positional part, named ``positional``
    in errors, or an error when the value takes none. Every mistake is one line naming the
    option."""
    if schema:
        known = f"options are {', '.join(schema)}"
    else:
        known = f"{name} takes no options"
    items = (arg or "").split(",")
    options: dict[str, Any] = {}
    while items and "=" in items[-1] and items[-1].partition("=")[0].strip().isidentifier():
        key, _, raw = items.pop().partition("=")
        key, raw = key.strip(), raw.strip()
        if key not in schema:
            raise ValueFunctionError(f"value {name}:{arg}: unknown option {key!r}; {known}")
        try:
            options.setdefault(key, schema[key](raw))  # the last one written wins: it is popped first
        except ValueError as e:
            why = str(e) if str(e).startswith("must") else "must be a number"
            raise ValueFunctionError(f"value {name}:{arg}: {key} {why}, got {raw!r}") from None
    rest = ",".join(items).strip()
    if rest and positional is None:
        raise ValueFunctionError(f"value {name}:{arg}: unknown option {rest!r}; {known}")
    return rest, options
