"""Value functions: score a batch of outputs, higher is better, with optional feedback.

A value is any callable ``value(records, outputs) -> list[Score]`` (or a list of floats,
see ``as_scores``) with a few attributes the engine reads:

- ``max_value``: the best score (a draft that reaches it counts as *solved*);
- ``reference_free``: whether the score can be computed at inference time without hidden
  labels (then drafts that already reach ``max_value`` are not re-corrected);
- ``min_value``: the worst score.

Feedback text must never reveal the reference (e.g. the expected answer): it is shown to
the corrector at inference time too.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, Sequence


@dataclass(frozen=True)
class Score:
    value: float
    """Higher is better."""
    feedback: str | None = None
    """Why the output got this value, in words, without revealing the reference."""
    answer: str | None = None
    """The answer the output arrives at, when the value can tell (used for majority voting)."""


class Value(Protocol):
    name: str
    max_value: float
    min_value: float
    reference_free: bool

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]: ...


class ValueError_(ValueError):
    """A user-facing problem with a value function (unknown name, bad import, wrong shape)."""


_PROGRAM_OPTIONS = {"timeout": float, "memory_mb": int, "workers": int, "isolation": str,
                    "reveal_expected": lambda v: v.lower() in ("1", "true", "yes", "")}


def _program(arg: str | None = None) -> Value:
    """``program``, ``program:SECONDS`` or ``program:key=value,...`` (timeout, memory_mb,
    workers, isolation, reveal_expected)."""
    from .program import ProgramValue
    from .sandbox import ISOLATION_MODES

    options: dict[str, Any] = {}
    for item in filter(None, (arg or "").split(",")):
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq and not options and _is_number(key):
            key, raw = "timeout", key  # `program:2` is a timeout in seconds
        if key not in _PROGRAM_OPTIONS:
            raise ValueError_(f"--value program:{arg}: unknown option {key!r}; "
                              f"options are {', '.join(_PROGRAM_OPTIONS)}")
        try:
            options[key] = _PROGRAM_OPTIONS[key](raw.strip())
        except ValueError:
            raise ValueError_(f"--value program:{arg}: {key} must be a number, got {raw!r}") from None
    if options.get("isolation", "auto") not in ISOLATION_MODES:
        raise ValueError_(f"--value program:{arg}: isolation must be one of {', '.join(ISOLATION_MODES)}")
    return ProgramValue(**options)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


VALUES: dict[str, tuple[Callable[..., Value], str]] = {
    "program": (_program, "runs the output as a Python program in a separate process; 1 if it prints the record's `answer` (or passes its `tests`), else 0"),
}


def describe_values() -> dict[str, str]:
    """Name -> one-line description of every built-in value."""
    return {name: doc for name, (_, doc) in VALUES.items()}


class CallableValue:
    """Adapts a plain user callable ``f(records, outputs) -> floats | Scores``."""

    reference_free = False
    max_value = 1.0
    min_value = 0.0

    def __init__(self, fn: Callable, name: str):
        self.fn, self.name = fn, name
        for attr in ("max_value", "min_value", "reference_free"):
            if hasattr(fn, attr):
                setattr(self, attr, getattr(fn, attr))

    def __call__(self, records, outputs):
        return as_scores(self.fn(records, outputs), len(outputs), self.name)


def as_scores(result: Any, n: int, name: str) -> list[Score]:
    """Normalise what a value returned into ``n`` Scores, or say clearly what is wrong."""
    try:
        items = list(result)
    except TypeError:
        raise ValueError_(f"value {name!r} returned {type(result).__name__}, expected a list of {n} scores") from None
    if len(items) != n:
        raise ValueError_(f"value {name!r} returned {len(items)} scores for {n} outputs")
    scores = []
    for i, item in enumerate(items):
        if isinstance(item, Score):
            s = item
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            s = Score(float(item[0]), item[1])
        else:
            try:
                s = Score(float(item))
            except (TypeError, ValueError):
                raise ValueError_(f"value {name!r} returned {item!r} for output {i}, expected a float") from None
        if math.isnan(s.value):
            raise ValueError_(f"value {name!r} returned NaN for output {i}")
        scores.append(s)
    return scores


def load_value(spec: str) -> Value:
    """``name``, ``name:arg`` for a built-in, or ``package.module:function`` for user code."""
    name, _, arg = spec.partition(":")
    if name in VALUES:
        return VALUES[name][0](arg or None)
    from importlib.metadata import entry_points

    for ep in entry_points(group="correct.values"):
        if ep.name == name:
            return _wrap(ep.load(), spec)
    if arg:
        try:
            module = importlib.import_module(name)
        except ImportError as e:
            raise ValueError_(f"--value {spec!r}: cannot import module {name!r}: {e}") from None
        fn = getattr(module, arg, None)
        if fn is None:
            raise ValueError_(f"--value {spec!r}: module {name!r} has no attribute {arg!r}")
        return _wrap(fn, spec)
    raise ValueError_(f"unknown value {spec!r} (option --value); built in: {', '.join(VALUES)}, or give module:function")


def _wrap(obj: Any, name: str) -> Value:
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise ValueError_(f"value {name!r} is not callable")
    return CallableValue(obj, name)
