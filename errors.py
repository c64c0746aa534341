"""The one error class of every problem a user can fix: a bad option, file, record, model or
value. Each part of the library raises its own subclass (``TaskError``, ``GeneratorError``,
``UsageError``, ...), whose message says what is wrong and where (the file and line, the
record, the key); the command line catches ``CorrectError`` alone and prints that message on one
line, and a Python caller can do the same. Anything else that escapes is a bug in ``correct``
and keeps its traceback."""

from __future__ import annotations

import dataclasses
import functools
import typing


class CorrectError(Exception):
    """A problem the user can fix; its message is the whole report."""

    def __init__(self, message: str = "", option: str | None = None):
        super().__init__(message)
        self.option = option
        """The setting that can fix it, by its field name (``api_key``), where there is one: the
        command line adds the flag as that command spells it; a library message never names a
        flag itself, since the same setting is spelled differently where it is not a flag."""


class ChoiceError(CorrectError, ValueError):
    """A setting given a value that is not one of its choices."""


def check_choices(config) -> None:
    """Every field of the dataclass ``config`` whose type is a choice (a ``Literal``, optional or
    not) holds one of its values; else a ChoiceError naming the field and its choices. The
    choices are written once, in the type: the command line lists and checks them from it too,
    and a config dataclass calls this from ``__post_init__`` for Python callers."""
    for name, choices in _choices(type(config)).items():
        value = getattr(config, name)
        if value not in choices:
            shown = ", ".join(str(c) for c in choices if c is not None)
            raise ChoiceError(f"unknown {name} {value!r}; choose {shown}", option=name)


@functools.cache
def _choices(cls: type) -> dict[str, tuple]:
    """Field name -> its allowed values (None among them when the field is optional)."""
    found, hints = {}, typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        options = typing.get_args(tp) if typing.get_origin(tp) is typing.Union else (tp,)
        literals = [o for o in options if typing.get_origin(o) is typing.Literal]
        if literals:
            values = tuple(v for o in literals for v in typing.get_args(o))
            found[f.name] = values + ((None,) if type(None) in options else ())
    return found


def first_line(e: BaseException | str) -> str:
    """The first line of an exception's message (or of a text), or the exception type's name
    when there is none: how another library's error is shown in one of ours."""
    text = str(e).strip()
    return text.splitlines()[0] if text else (type(e).__name__ if isinstance(e, BaseException) else "")


def half_surrogate(text: str) -> str | None:
    """Where ``text`` holds half a surrogate pair (a JSON ``"\\ud800"`` escape), which is no
    character (UTF-8 has none for it, and a fast tokenizer refuses it); None where it is text.

    >>> half_surrogate("café"), half_surrogate("ab" + chr(0xD800) + "c")
    (None, "'\\\\ud800' at character 3")
    """
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"{text[e.start]!r} at character {e.start + 1}"
    return None


def describe_error(e: BaseException) -> str:
    """``Type: first line of the message`` (just ``Type`` when there is no message)."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__
