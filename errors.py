"""The one error class of every problem a user can fix: a bad option, file, record, model or
value. Each part of the library raises its own subclass (``TaskError``, ``GeneratorError``,
``UsageError``, ...), whose message says what is wrong and where (the file and line, the
record, the key); the command line catches ``CorrectError`` alone and prints that message on one
line, and a Python caller can do the same. Anything else that escapes is a bug in ``correct``
and keeps its traceback."""

from __future__ import annotations


class CorrectError(Exception):
    """A problem the user can fix; its message is the whole report."""

    def __init__(self, message: str = "", option: str | None = None):
        super().__init__(message)
        self.option = option
        """The setting that can fix it, by its field name (``api_key``), where there is one: the
        command line adds the flag as that command spells it; a library message never names a
        flag itself, since the same setting is spelled differently where it is not a flag."""


def first_line(e: BaseException | str) -> str:
    """The first line of an exception's message (or of a text), or the exception type's name
    when there is none: how another library's error is shown in one of ours."""
    text = str(e).strip()
    return text.splitlines()[0] if text else (type(e).__name__ if isinstance(e, BaseException) else "")


def describe_error(e: BaseException) -> str:
    """``Type: first line of the message`` (just ``Type`` when there is no message)."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__
