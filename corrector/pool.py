"""The pool of scored drafts D_x = {(x, y, v(y), f(y))}, kept in memory and appended to a
JSONL file line by line, so a run can be resumed from what it already scored."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import CorrectError
from .failpoints import torn_write
from .outputs import drop_torn_line, whole_lines


@dataclass(frozen=True)
class Draft:
    prompt_id: str
    text: str
    value: float | None
    """None when unknown (a record without references): such a draft is kept, never paired."""
    feedback: str | None = None
    origin: str = "generator"
    """Who wrote it: "generator", or "corrector@<iteration>" for exploration."""


class Pool:
    def __init__(self, path: str | os.PathLike | None = None, writer: bool = True):
        """``writer``: this pool owns its file (repairs a torn last line, appends new drafts);
        the other processes of a distributed run only read it."""
        self.path = Path(path) if path else None
        self.writer = writer
        self.by_prompt: dict[str, list[Draft]] = defaultdict(list)
        if self.path and self.path.exists():
            data = whole_lines(self.path)
            for n, line in enumerate(data.split(b"\n"), 1):
                if line.strip():
                    self._add(_read_draft(line, f"{self.path}, line {n}"))
            if writer:
                drop_torn_line(self.path, len(data))

    def _add(self, d: Draft) -> None:
        self.by_prompt[d.prompt_id].append(d)

    def add(self, drafts: list[Draft]) -> None:
        for d in drafts:
            self._add(d)
        if self.path and self.writer:
            text = "".join(json.dumps(asdict(d)) + "\n" for d in drafts)
            with open(self.path, "a") as f:
                torn_write(f, text, "pool-write")
                f.write(text)
                f.flush()
                os.fsync(f.fileno())

    def drop(self, unwanted) -> int:
        """Remove the drafts for which ``unwanted(draft)`` is true, in memory and (rewritten
        under a temporary name, then renamed) on disk. Returns how many went."""
        before = len(self)
        for key in list(self.by_prompt):
            self.by_prompt[key] = [d for d in self.by_prompt[key] if not unwanted(d)]
            if not self.by_prompt[key]:
                del self.by_prompt[key]
        gone = before - len(self)
        if gone and self.path and self.writer:
            tmp = self.path.with_suffix(".jsonl.tmp")
            with open(tmp, "w") as f:
                f.writelines(json.dumps(asdict(d)) + "\n" for d in self.drafts())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        return gone

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_prompt.values())

    def drafts(self) -> list[Draft]:
        return [d for v in self.by_prompt.values() for d in v]

    def prompts_with_pair(self, min_gain: float = 0.0) -> int:
        """Prompts with an improving pair: two known values that differ by more than
        ``min_gain``. Only these can teach a pairing corrector anything but identity."""
        count = 0
        for drafts in self.by_prompt.values():
            known = [d.value for d in drafts if d.value is not None]
            count += bool(known) and max(known) - min(known) > min_gain
        return count

    def prompts_solved(self, max_value: float) -> int:
        """Prompts with a right draft: one at the value's maximum. On a graded value almost every
        prompt has a pair (two drafts that differ), so this is what says whether exploration
        found anything."""
        return sum(any(d.value is not None and d.value >= max_value for d in v) for v in self.by_prompt.values())

    def mean_value(self) -> float:
        """The mean over the drafts whose value is known (0.0 when there are none)."""
        known = [d.value for d in self.drafts() if d.value is not None]
        return sum(known) / len(known) if known else 0.0


_KINDS = {
    "prompt_id": str,
    "text": str,
    "value": (int, float, type(None)),
    "feedback": (str, type(None)),
    "origin": str,
}
"""A pool line's keys (Draft's fields) and the types each may hold."""


def _read_draft(line: bytes, where: str) -> Draft:
    """One line of a pool file as a Draft; a line that is not one (edited, or another file's) is
    named by ``where`` (its file and line) rather than failing later, far from it."""
    try:
        data = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise CorrectError(f"{where}: not UTF-8 text; not a pool of drafts") from None
    except json.JSONDecodeError as e:
        raise CorrectError(f"{where}: not JSON ({e.msg}); not a pool of drafts") from None
    if not isinstance(data, dict) or not {"prompt_id", "text", "value"} <= data.keys() <= _KINDS.keys():
        raise CorrectError(f"{where}: not a pool draft (its keys: {', '.join(_KINDS)})")
    wrong = next((k for k, t in _KINDS.items() if k in data and not isinstance(data[k], t)), None)
    if wrong is not None or isinstance(data["value"], bool):
        raise CorrectError(f"{where}: {wrong or 'value'} is {data[wrong or 'value']!r}; not a pool draft")
    return Draft(**data)
