"""The ``json`` value: an output that must be one JSON object with the keys a record asks for.

A record carries ``schema``: its keys, each with a type in words (``text``, ``number``,
``integer``, ``true or false``, ``list of text``, ``list of numbers``; ``string``, ``boolean``
and ``list of strings`` are read too), and where the value is told so, a source text the
values must come from (``source=FIELD``, default ``text``) and the reference object
(``reference=FIELD``, default ``fields``).

- The score is the share of the reference's keys whose value the output has (a text compared
  without case or extra spaces, a number by its value, a list as a set), each key the output
  adds counting against it; 0 for output that is not a JSON object. With ``reference=none``
  it needs no reference: the share of the keys that pass every check below.
- The feedback names only what the record itself shows, never the reference: not JSON (the
  parser's message), not an object, keys missing or not asked for, a value of the wrong type,
  a value the source text does not contain. An output with any of these is ``faulty``, so
  ``--refine failing`` gives it to a corrector. One that passes them all and still has a wrong
  value is told so only as "every key is there, of its type and found in the text".
- ``Score.answer`` is the object with its keys sorted, so majority voting counts equal objects
  as one answer.

    correct generate --task docs/examples/json-records/json-records.yaml --value json:source=text
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

from .base import (
    Score,
    ValueBase,
    ValueFunctionError,
    check_paired,
    parse_options,
    record_name,
    structured_field,
    text_of,
)

__all__ = ["JsonValue", "TYPES", "from_spec"]

TYPES = {
    "text": "text",
    "string": "text",
    "number": "number",
    "integer": "integer",
    "true or false": "boolean",
    "boolean": "boolean",
    "list of text": "texts",
    "list of strings": "texts",
    "list of numbers": "numbers",
}
"""Type words a schema may use -> the check they mean."""
_SAID = {"text": "a text", "number": "a number", "integer": "a whole number", "boolean": "true or false"}
_SAID.update(texts="a list of texts", numbers="a list of numbers")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _norm(text: Any) -> str:
    return " ".join(str(text).split()).lower()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _typed(v: Any, kind: str) -> bool:
    if kind == "number":
        return _is_number(v)
    if kind == "integer":
        return _is_number(v) and float(v).is_integer()
    if kind == "boolean":
        return isinstance(v, bool)
    if kind in ("texts", "numbers"):
        return isinstance(v, list) and all(_typed(x, "text" if kind == "texts" else "number") for x in v)
    return isinstance(v, str)


def _in_text(v: Any, kind: str, text: str) -> bool:
    if kind == "boolean":
        return True  # yes or no is said in words
    if kind in ("number", "integer", "numbers"):
        numbers = {float(n) for n in _NUMBER.findall(text)}
        return all(float(x) in numbers for x in (v if kind == "numbers" else [v]))
    return all(_norm(x) and _norm(x) in _norm(text) for x in (v if kind == "texts" else [v]))


def _same(v: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return isinstance(v, list) and sorted(map(_norm, v)) == sorted(map(_norm, expected))
    if isinstance(expected, bool) or not _is_number(expected):
        return type(v) is type(expected) and (_norm(v) == _norm(expected) if isinstance(v, str) else v == expected)
    return _is_number(v) and float(v) == float(expected)


class JsonValue(ValueBase):
    name = "json"
    max_value = 1.0
    min_value = 0.0

    def __init__(self, schema: str = "schema", source: str = "text", reference: str = "fields"):
        self.schema_field, self.source, self.reference = schema, source, reference
        self.reference_free = reference == "none"

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
        check_paired("json", records, outputs)
        schemas = [self._schema(r, i) for i, r in enumerate(records)]  # every record checked before scoring
        return [self.judge(r, s, text_of(o)) for r, s, o in zip(records, schemas, outputs)]

    def _schema(self, record: Mapping[str, Any], index: int) -> dict[str, str]:
        where = f"value 'json': {record_name(record, index)}"
        given = structured_field(record, self.schema_field, where)
        if not isinstance(given, dict) or not given:
            raise ValueFunctionError(
                f"{where} has no `{self.schema_field}`: it needs the keys to fill, each with its type "
                f'({{"name": "text", "age": "number"}})'
            )
        unknown = {k: t for k, t in given.items() if not isinstance(t, str) or t.strip().lower() not in TYPES}
        if unknown:
            key, kind = next(iter(unknown.items()))
            raise ValueFunctionError(f"{where}: key {key!r} has the type {kind!r}; types are {', '.join(TYPES)}")
        return {k: TYPES[t.strip().lower()] for k, t in given.items()}

    def judge(self, record: Mapping[str, Any], schema: dict[str, str], output: str) -> Score:
        try:
            obj = json.loads(output.strip())
        except json.JSONDecodeError as e:
            return Score(0.0, f"not valid JSON: {e.msg} (character {e.pos})", faulty=True)
        if not isinstance(obj, dict):
            return Score(0.0, f"not a JSON object but {type(obj).__name__}", faulty=True)
        source = record.get(self.source) if self.source != "none" else None
        missing = [k for k in schema if k not in obj]
        extra = [k for k in obj if k not in schema]
        problems = ["missing: " + ", ".join(missing)] if missing else []
        problems += ["not asked for: " + ", ".join(extra)] if extra else []
        passed = 0
        for key, kind in schema.items():
            if key not in obj:
                continue
            if not _typed(obj[key], kind):
                problems.append(f"{key} should be {_SAID[kind]}, not {json.dumps(obj[key])}")
            elif isinstance(source, str) and not _in_text(obj[key], kind, source):
                problems.append(f"{key}: {json.dumps(obj[key])} is not in the text")
            else:
                passed += 1
        value = passed / (len(schema) + len(extra))
        if not self.reference_free:
            expected = record.get(self.reference)
            value = None
            if isinstance(expected, dict) and expected:
                right = sum(k in obj and _same(obj[k], v) for k, v in expected.items())
                value = right / (len(expected) + len(extra))
        answer = json.dumps(obj, sort_keys=True)
        if problems:
            return Score(value, "; ".join(problems), answer=answer, faulty=True)
        return Score(value, "every key is there, of its type and found in the text", answer=answer)


def from_spec(arg: str | None) -> JsonValue:
    """``json`` or ``json:schema=FIELD,source=FIELD|none,reference=FIELD|none``."""
    _, options = parse_options("json", arg, {"schema": str, "source": str, "reference": str})
    return JsonValue(**options)
