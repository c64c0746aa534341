"""The value of the example task `json-records.yaml`, a user's own value as a task file can name
one (``value: json_fields:score``; the task file's folder is importable).

An output is scored by the share of its record's keys whose value is the reference's (a text
compared without case or surrounding spaces, a number by its value, a list as a set of texts);
a key it adds counts against it. The feedback names only what needs no reference, so that a
corrector is told what the record itself shows: output that is not a JSON object, keys missing
or not asked for, values of the wrong type, and values the text does not contain. Those drafts
are faulty. A draft that passes every such check and still has a wrong value is not told
which: its feedback says that the checks passed.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

from correct.values import Score

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _norm(text: str) -> str:
    return " ".join(str(text).split()).lower()


def _typed(value: Any, kind: str) -> bool:
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "list of text":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def _in_text(value: Any, kind: str, text: str) -> bool:
    if kind == "number":
        return any(float(n) == float(value) for n in _NUMBER.findall(text))
    items = value if kind == "list of text" else [value]
    return all(_norm(v) and _norm(v) in _norm(text) for v in items)


def _same(value: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return isinstance(value, list) and sorted(map(_norm, value)) == sorted(map(_norm, expected))
    if isinstance(expected, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and float(value) == float(expected)
    return isinstance(value, str) and _norm(value) == _norm(expected)


def _kind(kind: str) -> str:
    return {"number": "a number", "list of text": "a list of texts"}.get(kind, "a text")


def judge(record: Mapping[str, Any], output: str) -> Score:
    schema: dict = record["schema"]
    try:
        obj = json.loads(output.strip())
    except json.JSONDecodeError as e:
        return Score(0.0, f"not valid JSON: {e.msg} (character {e.pos})", faulty=True)
    if not isinstance(obj, dict):
        return Score(0.0, f"not a JSON object but {type(obj).__name__}", faulty=True)
    problems = []
    missing = [k for k in schema if k not in obj]
    extra = [k for k in obj if k not in schema]
    if missing:
        problems.append("missing: " + ", ".join(missing))
    if extra:
        problems.append("not asked for: " + ", ".join(extra))
    for key, kind in schema.items():
        if key not in obj:
            continue
        if not _typed(obj[key], kind):
            problems.append(f"{key} should be {_kind(kind)}, not {json.dumps(obj[key])}")
        elif not _in_text(obj[key], kind, record["text"]):
            problems.append(f"{key}: {json.dumps(obj[key])} is not in the text")
    expected = record.get("fields")
    value = None
    if expected is not None:
        right = sum(k in obj and _same(obj[k], v) for k, v in expected.items())
        value = right / (len(expected) + len(extra))
    answer = json.dumps({k: obj[k] for k in sorted(obj)}, sort_keys=True)
    if problems:
        return Score(value, "; ".join(problems), answer=answer, faulty=True)
    return Score(value, "every key is there, of its type and found in the text", answer=answer)


def score(records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
    return [judge(r, o) for r, o in zip(records, outputs)]
