"""Writing JSONL records (reading them is ``tasks.data``): output written
line by line (fsync'd) so a killed run loses at most the line being written, and resume."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import CorrectError
from ..tasks.data import RecordError, read_jsonl  # noqa: F401  (reading lives with the tasks)
from .failpoints import torn_write


class OutputError(CorrectError):
    """An output path that cannot be written; the message names it."""


def finished_ids(
    path: str | os.PathLike,
    prompts: dict[str, str] | None = None,
    rounds: int | None = None,
    settings: dict | None = None,
) -> set[str]:
    """Ids already written to an output file. A torn last line (the run was killed while
    writing it) is cut off, so appending resumes cleanly without duplicates. With ``prompts``
    (id -> prompt of this run's records), ``rounds`` and ``settings`` (what ``line_settings``
    says of this run's lines), a line that another run wrote -- a record this run does not
    have, another number of rounds, another baseline, perplexities or none -- is refused by
    its line: appending to it would mix two runs in one file and its metrics."""
    path = Path(path)
    if not path.exists():
        return set()
    ids = set()
    data = whole_lines(path)
    for n, line in enumerate(data.splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line.decode("utf-8"))  # bytes alone, json would guess UTF-16 or 32
                rid = str(row["id"])
                written = None if rounds is None else len(_rounds_of(row)) - 1
                theirs = line_settings(row) if settings is not None else {}
            except (ValueError, KeyError, TypeError, IndexError):
                raise RecordError(f"{path}:{n}: not an output line of correct; refusing to resume into it") from None
            if prompts is not None and prompts.get(rid) != row.get("prompt"):
                raise RecordError(
                    f"{path}:{n}: record {rid!r} is not one of this run's records (another task, input, split or "
                    "limit?); resume the run that wrote the file, or write to another output"
                )
            if rounds is not None and written != rounds:
                raise RecordError(
                    f"{path}:{n}: written with {written} rounds, and this run asks for {rounds}; resume with "
                    f"{written} rounds, or write to another output",
                    option="rounds",
                )
            for key, mine in (settings or {}).items():
                if theirs[key] != mine:
                    what, option = _differs(key, theirs[key], mine)
                    raise RecordError(
                        f"{path}:{n}: {what}; resume with the settings that wrote it, or write to another output",
                        option=option,
                    )
            ids.add(rid)
    drop_torn_line(path, len(data))  # only once the file is known to be ours
    return ids


def _rounds_of(row: dict) -> list:
    """A line's rounds as the metrics read them: a list of rounds, each with its text and a
    finite value or null; else a TypeError (an edited line failed after the models loaded, in
    the metrics, with a traceback)."""
    rounds = row["rounds"]
    if not isinstance(rounds, list) or not rounds:
        raise TypeError("no rounds")
    for r in rounds:
        value = r["value"]
        if not isinstance(r["text"], str) or not (
            value is None or (type(value) in (int, float) and math.isfinite(value))
        ):
            raise TypeError("a round's text or value")
    return rounds


def line_settings(line: dict) -> dict:
    """What an output line says of the run that wrote it, beyond its rounds: its ``baseline``
    ((pick, samples), None without one) and ``fluency`` (perplexities on its rounds)."""
    sc = line.get("self_consistency")
    return {
        "baseline": None if sc is None else (sc.get("pick", "vote"), sc["samples"]),
        "fluency": "perplexity" in line["rounds"][0],
    }


def _differs(key: str, theirs, mine) -> tuple[str, str]:
    """How a line's setting differs from this run's, and the option that sets it."""
    if key == "fluency":
        return (
            f"written with{'' if theirs else 'out'} perplexities, and this run reports {'none' if theirs else 'them'}",
            key,
        )
    if theirs is None:
        return f"written without the baseline, and this run asks for one ({mine[0]}@{mine[1]})", key
    if mine is None:
        return f"written with the baseline ({theirs[0]}@{theirs[1]}), and this run asks for none", key
    if theirs[0] != mine[0]:
        return f"written with baseline pick {theirs[0]!r}, and this run asks for {mine[0]!r}", "baseline_pick"
    return f"written with a baseline of {theirs[1]} samples, and this run asks for {mine[1]}", "baseline_samples"


def check_writable(path: str | os.PathLike, option: str) -> None:
    """Before any work: ``path`` can be written where it is asked for (its folder made, a file
    made in that folder, the file opened for appending where it is there), nothing that is there
    changed; else an OutputError naming it and the ``option`` that sets it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path.parent).close()
        if path.exists():
            open(path, "ab").close()
    except OSError as e:
        why = e.strerror or type(e).__name__
        where = f": {e.filename}" if e.filename and Path(e.filename) in path.parents else ""  # not a probe's name
        raise OutputError(f"{path}: cannot be written ({why}{where})", option=option) from None


def whole_lines(path: Path) -> bytes:
    """The complete lines of a file: what follows the last newline is a torn write of a
    killed run."""
    data = path.read_bytes()
    return data[: data.rfind(b"\n") + 1]


def drop_torn_line(path: Path, keep: int) -> None:
    """Cut a file back to its first ``keep`` bytes (its whole lines), so the next append
    starts on a fresh line."""
    if path.stat().st_size > keep:
        with open(path, "r+b") as f:
            f.truncate(keep)


class JsonlWriter:
    """Appends one JSON object per line and makes each line durable before returning.

    The file is opened at the first line, not before: a run that fails before it has
    anything to write leaves an existing output file as it was. ``whole``: the lines go to a
    file beside it that takes its place once all are written, so that a run failing half-way
    leaves it as it was too (for a command that cannot resume, as ``correct score``).
    ``on_open``: called as the file is opened (what goes beside the output with its first line)."""

    def __init__(self, path: str | os.PathLike, append: bool, whole: bool = False, on_open=None):
        self.final, self.append, self.f, self.on_open = Path(path), append, None, on_open
        self.path = self.final.with_name(f".{self.final.name}.part") if whole else self.final
        self.lines = 0

    def _open(self):
        if self.f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.on_open:
                self.on_open()
            # A lone surrogate (a "\ud800" escape an endpoint or a value sent back) has no UTF-8
            # form: it is written as that JSON escape, which reads back as the same string.
            self.f = open(self.path, "a" if self.append else "w", encoding="utf-8", errors="backslashreplace")
        return self.f

    def write(self, obj: dict) -> None:
        f = self._open()
        line = json.dumps(obj, ensure_ascii=False) + "\n"
        self.lines += 1
        if self.lines == 3:  # crash testing: a kill half-way through the third line
            torn_write(f, line, "jsonl-write")
        f.write(line)
        f.flush()
        os.fsync(f.fileno())

    def close(self) -> None:
        self._open().close()  # a finished run with nothing to write still leaves its (empty) file
        if self.path != self.final:
            os.replace(self.path, self.final)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        elif self.f is not None:
            self.f.close()
            if self.path != self.final:
                self.path.unlink(missing_ok=True)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write to a temporary file beside ``path`` and rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the result should look like any file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_all_jsonl(path: str | os.PathLike) -> list[dict]:
    return [json.loads(l) for l in Path(path).read_text(encoding="utf-8").splitlines() if l.strip()]
