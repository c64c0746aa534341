"""Value functions by name: the built-ins, the ``correct.values`` entry points, and
``module:function`` user code, all through ``load_value(spec)``."""

from __future__ import annotations

import importlib
import inspect
import math
from pathlib import Path
from typing import Any, Callable, Mapping

from .base import Score, Value, ValueBase, ValueFunctionError, describe_error, flag, parse_options, positive

_PROGRAM_OPTIONS = {
    "timeout": positive(float, most=86_400),  # a day: past what a clock's select takes, it overflowed
    "memory_mb": positive(int, most=2**30),  # a petabyte: past it, the sandbox's rlimit overflowed
    "workers": positive(int, most=1024),
    "isolation": str,
    "reveal_expected": flag,
}


def _program(arg: str | None = None) -> Value:
    """``program``, ``program:SECONDS`` or ``program:key=value,...`` (timeout, memory_mb,
    workers, isolation, reveal_expected)."""
    from .program import ProgramValue
    from .sandbox import ISOLATION_MODES

    seconds, options = parse_options("program", arg, _PROGRAM_OPTIONS, positional="timeout")
    if seconds:  # `program:2` is a timeout in seconds
        if not _is_number(seconds):
            raise ValueFunctionError(
                f"value program:{arg}: unknown option {seconds!r}; options are "
                f"{', '.join(_PROGRAM_OPTIONS)} (as key=value), or a timeout in seconds"
            )
        try:  # bounded as timeout=SECONDS is
            options.setdefault("timeout", _PROGRAM_OPTIONS["timeout"](seconds))
        except ValueError as e:
            raise ValueFunctionError(f"value program:{arg}: timeout {e}, got {seconds!r}") from None
    if options.get("isolation", "auto") not in ISOLATION_MODES:
        raise ValueFunctionError(f"value program:{arg}: isolation must be one of {', '.join(ISOLATION_MODES)}")
    return ProgramValue(**options)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _constraints(arg: str | None = None) -> Value:
    from .constraints import ConstraintsValue

    parse_options("constraints", arg, {})
    return ConstraintsValue()


def _from_spec(module: str) -> Callable[[str | None], Value]:
    """A value built by ``from_spec(arg)`` of ``values.<module>``, imported only when asked for
    (toxicity and reward-model bring their libraries)."""

    def load(arg: str | None = None) -> Value:
        return importlib.import_module(f".{module}", __package__).from_spec(arg)

    return load


VALUES: dict[str, tuple[Callable[..., Value], str]] = {
    "program": (
        _program,
        "runs the output as a Python program in a separate process; 1 if it prints the record's `answer` (or "
        "passes its `tests`), else 0; unknown (null) without either, with the same feedback",
    ),
    "constraints": (
        _constraints,
        "share of the record's `concepts` the output uses, inflections counted (dogs, ran, eating); feedback "
        "names the missing ones",
    ),
    "json": (
        _from_spec("structured"),
        "one JSON object with the keys of the record's `schema`, each of its type: share of the keys as the "
        "record's `fields` has them; feedback names what is missing, mistyped or not in its `text`",
    ),
    "rules": (
        _from_spec("rules"),
        "share of the record's `checks` (rules of form: lowercase, no_commas, max_words, first_word, quoted, ...) "
        "and its `words` the output meets, without a reference; feedback names each broken rule",
    ),
    "toxicity": (
        _from_spec("toxicity"),
        "1 - P(toxic) of the output: alt-profanity-check offline by default, or any sequence classifier with "
        "toxicity:PATH_OR_HUB_ID",
    ),
    "reward-model": (
        _from_spec("reward"),
        "a Hugging Face sequence-classification reward model (reward-model:PATH_OR_HUB_ID) scores (prompt, "
        "output); `correct train-reward` trains one",
    ),
}


def describe_values() -> dict[str, str]:
    """Name -> one-line description of every built-in value."""
    return {name: doc for name, (_, doc) in VALUES.items()}


class CallableValue(ValueBase):
    """Adapts a plain user callable ``f(records, outputs) -> floats | Scores``."""

    reference_free = False
    max_value = 1.0
    min_value = 0.0

    def __init__(self, fn: Callable, name: str):
        self.fn, self.name = fn, name
        try:
            inspect.signature(fn).bind([], [])
        except TypeError:
            raise ValueFunctionError(
                f"value {name!r} cannot be called as {name}(records, outputs): it takes {_shown(fn)}"
            ) from None
        except ValueError:  # a builtin without a signature: its call will tell
            pass
        for attr in ("max_value", "min_value", "reference_free"):
            if hasattr(fn, attr):
                setattr(self, attr, getattr(fn, attr))

    def __call__(self, records, outputs):
        """The user's scores, each within the value's range; the user's code is given copies of
        the records (one that changed them changed the run's ids and questions)."""
        import copy

        scores = as_scores(self.fn(copy.deepcopy(list(records)), outputs), len(outputs), self.name)
        lo, hi = self.min_value, self.max_value
        out = [(i, s.value) for i, s in enumerate(scores) if s.value is not None]
        past = next(((i, v) for i, v in out if (hi is not None and v > hi) or (lo is not None and v < lo)), None)
        if past:
            raise ValueFunctionError(
                f"value {self.name!r} returned {past[1]:g} for output {past[0]}, outside its range [{lo}, {hi}]: give "
                "the function the max_value and min_value it scores within (None: unbounded)"
            )
        return scores

    def close(self) -> None:
        """A user's value object that holds something (a model, a pool) may say so with ``close``."""
        close = getattr(self.fn, "close", None)
        if callable(close):
            close()


def as_scores(result: Any, n: int, name: str) -> list[Score]:
    """Normalise what a value returned into ``n`` Scores, or say clearly what is wrong. Each
    item is a float, a ``(float, feedback)`` pair or a ``Score``; None in place of the float
    means unknown (e.g. a record without the reference the value needs). NaN and an infinity are
    errors: no mean, pairing weight or JSON output can hold them."""
    if isinstance(result, (str, bytes, Mapping)):
        raise ValueFunctionError(f"value {name!r} returned {type(result).__name__}, expected a list of {n} scores")
    try:
        items = list(result)
    except TypeError:
        raise ValueFunctionError(
            f"value {name!r} returned {type(result).__name__}, expected a list of {n} scores"
        ) from None
    if len(items) != n:
        raise ValueFunctionError(f"value {name!r} returned {len(items)} scores for {n} outputs")
    scores = []
    for i, item in enumerate(items):
        if isinstance(item, Score):
            s = item
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[1], (str, type(None))):
            try:
                s = Score(_known(item[0]), item[1])
            except (TypeError, ValueError):
                raise ValueFunctionError(
                    f"value {name!r} returned {item!r} for output {i}, expected (float, feedback)"
                ) from None
        elif isinstance(item, (tuple, list)) and len(item) == 2:  # a score and feedback that is not text
            raise ValueFunctionError(
                f"value {name!r} returned {item!r} for output {i}: its feedback is {type(item[1]).__name__}, "
                "expected text or None"
            )
        elif isinstance(item, (str, bytes)):
            raise ValueFunctionError(f"value {name!r} returned the string {item!r} for output {i}, expected a float")
        else:
            try:
                s = Score(_known(item))
            except (TypeError, ValueError):
                raise ValueFunctionError(f"value {name!r} returned {item!r} for output {i}, expected a float") from None
        if s.value is not None and not math.isfinite(s.value):
            shown = "NaN" if math.isnan(s.value) else s.value
            raise ValueFunctionError(
                f"value {name!r} returned {shown} for output {i}: scores must be finite numbers (or None: unknown)"
            )
        scores.append(s)
    return scores


def _shown(fn: Callable) -> str:
    return f"({', '.join(inspect.signature(fn).parameters)})"


def _known(x: Any) -> float | None:
    """A returned number as a float; None stays None (the value is unknown for that output)."""
    return None if x is None else float(x)


def load_value(spec: str) -> Value:
    """``name``, ``name:arg`` for a built-in, a name in the ``correct.values`` entry-point
    group, or ``package.module:function`` for user code. Its errors are the value setting's."""
    try:
        return _load(spec)
    except ValueFunctionError as e:
        e.option = e.option or "value"
        raise


def _load(spec: str) -> Value:
    name, _, arg = spec.partition(":")
    if name in VALUES:
        return VALUES[name][0](arg or None)
    from importlib.metadata import entry_points

    for ep in entry_points(group="correct.values"):
        if ep.name == name:
            try:
                obj = ep.load()
            except Exception as e:  # whatever the plugin's import raises, the user needs one line
                raise ValueFunctionError(
                    f"value {spec!r}: entry point {ep.value!r} of group correct.values "
                    f"could not be loaded: {describe_error(e)}"
                ) from None
            return _wrap(obj, spec)
    if arg:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                raise ValueFunctionError(
                    f"value {spec!r}: no module named {name!r} (is it installed, or on PYTHONPATH?)"
                ) from None
            raise ValueFunctionError(f"value {spec!r}: importing module {name!r} failed: {describe_error(e)}") from None
        except Exception as e:
            raise ValueFunctionError(f"value {spec!r}: importing module {name!r} failed: {describe_error(e)}") from None
        fn = getattr(module, arg, None)
        if fn is None:
            raise ValueFunctionError(f"value {spec!r}: module {name!r} has no attribute {arg!r}")
        return _wrap(fn, spec)
    raise ValueFunctionError(f"unknown value {spec!r}; built in: {', '.join(VALUES)}, or give module:function")


def importable_from(folder: Path, spec: str) -> None:
    """Make ``module:function`` of ``spec`` import from ``folder`` first (a task file's own
    ``values.py`` beside it), even where another folder's module of that name was imported
    before: each task of a mixture was scored by the first task's ``values.py``."""
    import sys

    top, folder = spec.partition(":")[0].split(".")[0], str(folder)
    held = getattr(sys.modules.get(top), "__file__", None) or ""
    if held and Path(folder, f"{top}.py").is_file() and Path(held).parent != Path(folder):
        for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
            del sys.modules[name]
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)


def _wrap(obj: Any, name: str) -> Value:
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as e:
            raise ValueFunctionError(f"value {name!r}: creating {obj.__name__}() failed: {describe_error(e)}") from None
    if not callable(obj):
        raise ValueFunctionError(f"value {name!r} is {type(obj).__name__}, not a callable (records, outputs) -> scores")
    return CallableValue(obj, name)
