"""The ``json`` value: an output that must be one JSON object with the keys a record asks for.

A record carries ``schema``: its keys, each with a type in words (``text``, ``number``,
``integer``, ``true or false``, ``list of text``, ``list of numbers``; ``string``, ``boolean``
and ``list of strings`` are read too), and where the value is told so, a source text the
values must come from (``source=FIELD``, default ``text``; a record without it is an error,
``source=none`` checks none) and the reference object (``reference=FIELD``, default ``fields``,
or a JSON string of one; its keys must be the schema's, each value of its type).

- The score is the share of the reference's keys whose value the output has (a text compared
  without case or extra spaces, a number by its value, a list as a set), each key the output
  adds counting against it; 0 for output that is not a JSON object. With ``reference=none``
  it needs no reference: the share of the keys that pass every check below.
- The feedback names only what the record itself shows, never the reference: not JSON (the
  parser's message), not an object, keys missing or not asked for, a value of the
  wrong type (NaN, Infinity and numbers too big for a float are not numbers), a value the
  source text does not contain. An output with any of these is ``faulty``, so
  ``--refine failing`` gives it to a corrector. One that passes them all and still has a
  wrong value is told so only as "every key is there, of its type and found in the text".
- ``Score.answer`` is the object with its keys sorted, so majority voting counts equal objects
  as one answer.

    correct generate --task docs/examples/json-records/json-records.yaml --value json:source=text
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Mapping, Sequence

from .base import (
    GROUPED,
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
_GROUPED = re.compile(r"-?" + GROUPED + r"(?![\d,])")


def _norm(text: Any) -> str:
    return " ".join(str(text).split()).lower()


def _is_number(v: Any) -> bool:
    """A finite JSON number: NaN, Infinity (and 1e400, read as it) and an integer too big for a
    float are not numbers a record can mean."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


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
        numbers |= {float(n.replace(",", "")) for n in _GROUPED.findall(text)}  # "1,250" is 1250 too
        return all(float(x) in numbers for x in (v if kind == "numbers" else [v]))
    text = _norm(text)  # once, not once per item of a long list
    return all(_norm(x) and _norm(x) in text for x in (v if kind == "texts" else [v]))


def _item(x: Any) -> Any:
    """A list item as lists are compared: a number by its value, anything else as text."""
    return (0, float(x)) if _is_number(x) else (1, _norm(x))


def _same(v: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return isinstance(v, list) and sorted(map(_item, v)) == sorted(map(_item, expected))
    if isinstance(expected, bool) or not _is_number(expected):
        return type(v) is type(expected) and (_norm(v) == _norm(expected) if isinstance(v, str) else v == expected)
    return _is_number(v) and float(v) == float(expected)


class JsonValue(ValueBase):
    checks_alone = True  # base.check_records
    name = "json"
    max_value = 1.0
    min_value = 0.0

    def __init__(self, schema: str = "schema", source: str = "text", reference: str = "fields"):
        self.schema_field, self.source, self.reference = schema, source, reference
        self.reference_free = reference == "none"

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
        check_paired("json", records, outputs)
        read = [self._read(r, i) for i, r in enumerate(records)]  # every record checked before scoring
        return [self.judge(r, s, text_of(o), e) for r, (s, e), o in zip(records, read, outputs)]

    def _read(self, record: Mapping[str, Any], index: int) -> tuple[dict[str, str], dict | None]:
        """The record's schema (key -> check) and its reference object (None when it has none),
        or an error naming the record and the field that cannot be used."""
        where = f"value 'json': {record_name(record, index)}"
        given = structured_field(record, self.schema_field, where)
        if not isinstance(given, dict) or not given:
            raise ValueFunctionError(
                f"{where} has no `{self.schema_field}`: it needs the keys to fill, each with its type "
                f'({{"name": "text", "age": "number"}})'
            )
        for key, kind in given.items():
            if not isinstance(key, str) or not key.strip():
                raise ValueFunctionError(f"{where}: `{self.schema_field}` has the key {key!r}; a key is a name")
            if not isinstance(kind, str) or kind.strip().lower() not in TYPES:
                raise ValueFunctionError(f"{where}: key {key!r} has the type {kind!r}; types are {', '.join(TYPES)}")
        schema = {k: TYPES[t.strip().lower()] for k, t in given.items()}
        if self.source != "none" and not isinstance(record.get(self.source), str):
            raise ValueFunctionError(
                f"{where} has no text in `{self.source}` for the values to come from; name the field that holds "
                f"it with source=FIELD, or check no text with source=none"
            )
        if self.reference_free:
            return schema, None
        expected = structured_field(record, self.reference, where)
        if expected is None or expected == {}:
            return schema, None  # no reference: the value is unknown
        if not isinstance(expected, dict):
            raise ValueFunctionError(
                f"{where} has a `{self.reference}` that is {type(expected).__name__}, not an object of the "
                f"values of `{self.schema_field}`'s keys"
            )
        for key, v in expected.items():
            if key not in schema:
                raise ValueFunctionError(
                    f"{where}: `{self.reference}` has the key {key!r}, not in `{self.schema_field}`"
                )
            if not _typed(v, schema[key]):
                raise ValueFunctionError(
                    f"{where}: `{self.reference}` has {key!r} = {v!r}, not {_SAID[schema[key]]} as "
                    f"`{self.schema_field}` says"
                )
        return schema, expected

    def judge(self, record: Mapping[str, Any], schema: dict[str, str], output: str, expected: dict | None) -> Score:
        try:
            obj = json.loads(output.strip())
        except json.JSONDecodeError as e:
            return Score(0.0, f"not valid JSON: {e.msg} (character {e.pos})", faulty=True)
        except RecursionError:
            return Score(0.0, "not valid JSON: nested too deeply to read", faulty=True)
        except ValueError:  # an integer of more digits than Python converts
            return Score(0.0, "not valid JSON: a number too long to read", faulty=True)
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
            value = None
            if expected:
                right = sum(k in obj and _same(obj[k], v) for k, v in expected.items())
                value = right / (len(expected) + len(extra))
        answer = json.dumps(obj, sort_keys=True)
        if problems:  # a key may be any text, a lone surrogate ("\ud800") too, which a fast tokenizer refuses
            feedback = "; ".join(problems).encode("utf-8", "backslashreplace").decode("utf-8")
            return Score(value, feedback, answer=answer, faulty=True)
        return Score(value, "every key is there, of its type and found in the text", answer=answer)


def from_spec(arg: str | None) -> JsonValue:
    """``json`` or ``json:schema=FIELD,source=FIELD|none,reference=FIELD|none``."""
    _, options = parse_options("json", arg, {"schema": str, "source": str, "reference": str})
    return JsonValue(**options)
