"""The ``program`` value: run each output as a Python program and check what it does.

A record either carries ``tests`` (Python source run after the output in the same program;
the output passes if the whole program runs to its end and exits cleanly) or an ``answer``
(the output passes if the last line it prints equals it, numbers compared as numbers). A
record with neither (a question nobody has answered yet) is run all the same: it gets the
same feedback (what it printed, how it failed) and answer, and the value None (unknown).
Programs run in a ``SandboxPool`` (see ``sandbox.py``), never in this process.
"""

from __future__ import annotations

import functools
import math
import os
import re
import signal
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping, Sequence

from .base import GROUPED, Score, ValueBase, ValueFunctionError, check_paired, record_name
from .sandbox import RunResult, Sandbox, SandboxPool

_FEEDBACK_CHARS = 200  # feedback goes into a prompt: one long printed line must not flood it


class ProgramValue(ValueBase):
    name = "program"
    max_value = 1.0
    min_value = 0.0
    reference_free = False

    def __init__(
        self,
        timeout: float = 5.0,
        memory_mb: int = 512,
        workers: int | None = None,
        sandbox: Sandbox | None = None,
        isolation: str = "auto",
        reveal_expected: bool = False,
    ):
        """``reveal_expected`` adds "expected Y" to the feedback of a wrong answer: useful when
        scoring for people, harmful when the feedback goes into a corrector's input (it would
        learn to copy the reference, which is absent at inference)."""
        self.workers = workers or os.cpu_count() or 1
        self.sandbox = (
            sandbox
            if sandbox is not None
            else SandboxPool(workers=self.workers, timeout=timeout, memory_mb=memory_mb, isolation=isolation)
        )
        self.timeout = float(getattr(self.sandbox, "timeout", timeout))
        self.reveal_expected = reveal_expected

    def check_records(self, records: Sequence[Mapping[str, Any]]) -> None:
        """The records' own faults (``tests`` that are not Python source), without the sandbox:
        ``base.check_records`` runs it before any model loads."""
        for i, record in enumerate(records):
            _check(record, i)

    references = "an `answer` or `tests`"  # what ``labeled`` looks for, as check_labeled says it

    def labeled(self, record: Mapping[str, Any]) -> bool:
        """Whether a draft for ``record`` gets a known value: it has an ``answer`` or ``tests``."""
        return _check(record) != (None, None)

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
        check_paired("program", records, outputs)
        checks = [_check(record, i) for i, record in enumerate(records)]
        if not checks:
            return []
        # Threads suffice: each one only waits on a sandbox worker.
        with ThreadPoolExecutor(max_workers=min(self.workers, len(checks))) as pool:
            results = list(pool.map(self._run, map(_text, outputs), (tests for tests, _ in checks)))
        return [self._judge(result, tests, answer) for result, (tests, answer) in zip(results, checks)]

    def _run(self, source: str, tests: str | None) -> RunResult:
        return self.sandbox.run(source) if tests is None else self.sandbox.run(source, tests=tests)

    def close(self) -> None:
        """Stop the sandbox workers now (they also stop when this value is collected)."""
        close = getattr(self.sandbox, "close", None)
        if close is not None:
            close()

    def _judge(self, r: RunResult, tests: str | None, answer: str | None) -> Score:
        printed = _last_line(r.stdout)
        shown = normalise(printed) if printed is not None else None
        failure = self._failure(r)
        if tests is not None:
            # What test code prints says nothing about the solution: no answer to vote on.
            if failure is None and not r.completed:
                # sys.exit(0) or os._exit(0) in the output must not skip the tests.
                failure = "exited before the tests finished"
            # The record's tests are the task's own check, there at inference: a draft that passes
            # them is known to be right (verified), one that fails them to fall short (faulty).
            if failure is None:
                return Score(1.0, "tests passed", verified=True)
            return Score(0.0, failure or "tests failed", faulty=True)
        # Without an answer the value is unknown, a failure included: whether a record counts
        # as labeled must not depend on how one of its drafts ran.
        wrong = None if answer is None else 0.0
        if failure is not None:
            return Score(wrong, failure or _exit_text(r.returncode), shown, faulty=True)
        if r.output_truncated:
            return Score(wrong, "printed too much output", shown, faulty=True)
        if printed is None:
            return Score(wrong, "printed nothing", None, faulty=True)
        if answer is None:
            return Score(None, f"printed {_clip(shown)}", shown)
        right = same_answer(printed, answer)
        # By default the same wording whether right or wrong: feedback must not leak the answer.
        expected = f", expected {_clip(answer)}" if self.reveal_expected and not right else ""
        return Score(1.0 if right else 0.0, f"printed {_clip(shown)}{expected}", shown)

    def _failure(self, r: RunResult) -> str | None:
        """None when the program ran cleanly, else why not ('' when there is nothing to say)."""
        if r.timed_out:
            return f"timed out after {self.timeout:g} s"
        if r.memory_exceeded:
            return "memory limit exceeded"
        if r.returncode == 0:
            return None
        if r.returncode is None:  # the sandbox, or the worker running it, failed: it says how
            return _clip(_last_line(r.stderr) or "the sandbox failed")
        if r.returncode < 0:  # what it printed before the signal is not why it ended
            return _exit_text(r.returncode)
        return _clip(_error_line(r.stderr) or "")


def _check(record: Mapping[str, Any], index: int = 0) -> tuple[str | None, str | None]:
    """(tests, answer) of a record: tests when it has them, else its answer, else neither (a
    blank answer, a JSON "" or a CSV cell of spaces, is none: the record is unlabeled, as the
    warning about records without an answer says). Tests that are not Python source are the
    record's fault, not the draft's: refused by the record's name, where a syntax error would
    have scored every draft 0 and a number (``5``) every draft 1."""
    tests, answer = record.get("tests"), record.get("answer")
    answer = None if answer is None or not str(answer).strip() else answer
    if isinstance(tests, (list, tuple)) and all(isinstance(t, str) for t in tests):
        tests = "\n".join(tests)
    if tests is None or tests == [] or (isinstance(tests, str) and not tests.strip()):
        # Blank tests (a CSV cell of spaces) test nothing: every draft would pass them, verified.
        return None, (None if answer is None else str(answer))
    if not isinstance(tests, str):
        raise ValueFunctionError(
            f"{record_name(record, index)}: 'tests' is {type(tests).__name__}; give Python source, a string or a "
            "list of lines"
        )
    try:
        _compiled(tests)
    except (SyntaxError, ValueError) as e:
        where = f", line {e.lineno}" if getattr(e, "lineno", None) else ""
        raise ValueFunctionError(
            f"{record_name(record, index)}: its 'tests' are not valid Python ({getattr(e, 'msg', e)}{where})"
        ) from None
    except (MemoryError, RecursionError):  # the parser's own stack: nesting too deep for it
        raise ValueFunctionError(
            f"{record_name(record, index)}: its 'tests' are nested too deeply to compile"
        ) from None
    return tests, None


@functools.lru_cache(maxsize=4096)
def _compiled(tests: str) -> None:
    """Compiled once a text: every round scores the same records' tests again."""
    compile(tests, "<tests>", "exec")


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def _text(output: Any) -> str:
    return output if isinstance(output, str) else ("" if output is None else str(output))


def _last_line(text: str) -> str | None:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else None


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(: |:?$)")


def _error_line(stderr: str) -> str | None:
    """The last line that reads like an exception ("ValueError: bad", "KeyboardInterrupt"):
    when several processes of one program write at once, the very last line may be a
    fragment of some other traceback. Otherwise the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if not line.startswith(("Traceback ", "File ")) and _EXCEPTION_LINE.match(line):
            return line
    return lines[-1] if lines else None


def _clip(text: str) -> str:
    return text if len(text) <= _FEEDBACK_CHARS else text[: _FEEDBACK_CHARS - 1] + "…"


def _number(text: str) -> int | float | None:
    # Integers stay exact: a 1e-6 tolerance would make 1000000 equal 1000001.
    text = text.replace("\u2212", "-")  # the minus sign typeset text uses ("−5"): int() and float() refuse it
    if _GROUPED.fullmatch(text):  # "1,234" as people write answers (and f"{n:,}" prints) is 1234
        text = text.replace(",", "")
    try:
        return int(text)
    except ValueError:
        if _DIGITS.fullmatch(text):  # past int()'s 4300 digits: as a float every one is inf
            return None
    try:
        return float(text)
    except ValueError:
        return None


_DIGITS = re.compile(r"[+-]?\d+(?:_\d+)*")
_GROUPED = re.compile(r"[+-]?" + GROUPED)


def normalise(text: str) -> str:
    """Canonical spelling of a printed answer, so '6.0', '+6' and '6' vote together (and a text
    in its composed Unicode form: 'é' one character or two)."""
    text = unicodedata.normalize("NFC", text.strip())
    n = _number(text)
    if isinstance(n, float) and math.isfinite(n) and n.is_integer() and abs(n) < 2**53:
        n = int(n)
    if isinstance(n, int):
        return str(n)
    return text if n is None else format(n, ".15g")


def same_answer(printed: str, expected: str) -> bool:
    printed, expected = printed.strip(), expected.strip()
    a, b = _number(printed), _number(expected)
    if a is not None and b is not None:
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        try:
            # Relative: 0.1 + 0.2 is 0.3. Absolute only against 0 (float noise like 5.6e-17), never
            # between small answers: 0.000002 is not 0.000001, and 0 is not 0.000001.
            if math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9 if a == 0 or b == 0 else 0.0):
                return True
        except OverflowError:  # an integer too large for a float
            pass
    # One text however its accents are encoded (NFC: composed, as most editors write; NFD: as
    # macOS file names and some programs print): the same letters are the same answer.
    return unicodedata.normalize("NFC", printed) == unicodedata.normalize("NFC", expected)
