"""The built-in ``json`` value: one JSON object with the keys a record's schema asks for, scored
against its reference object, with feedback that names only what the record shows."""

from __future__ import annotations

import json

import pytest

from correct.values import ValueFunctionError, load_value, structured

RECORD = {
    "id": "r1",
    "text": "Order 1042: 3 mugs for Mia Novak, gift wrapped, paid 18.5 dollars.",
    "schema": {"order": "integer", "customer": "text", "gift": "true or false", "paid": "number"},
    "fields": {"order": 1042, "customer": "Mia Novak", "gift": True, "paid": 18.5},
}


def _one(spec: str, output: str, record=RECORD):
    with load_value(spec) as value:
        [score] = value([record], [output])
    return score, value


def test_the_reference_object_scores_one_and_each_wrong_key_costs_its_share():
    right, value = _one("json", ' {"order": 1042, "customer": "mia  novak", "gift": true, "paid": 18.50}')
    assert right.value == 1.0 and not right.faulty and not value.reference_free
    unwrapped, _ = _one("json", '{"order": 1042, "customer": "Mia Novak", "gift": false, "paid": 18.5}')
    assert unwrapped.value == 3 / 4 and not unwrapped.faulty  # false is said nowhere to be wrong
    assert unwrapped.feedback == "every key is there, of its type and found in the text"


def test_types_grounding_and_keys_are_named_and_faulty():
    score, _ = _one("json", '{"order": 1042.5, "customer": "Mia Novak", "gift": "yes", "paid": 4, "note": "x"}')
    assert score.faulty and score.value == 1 / 5  # only the customer is right, and a key was added
    assert score.feedback == (
        'not asked for: note; order should be a whole number, not 1042.5; gift should be true or false, not "yes"; '
        "paid: 4 is not in the text"
    )
    broken, _ = _one("json", '{"order": 1042,')
    assert broken.value == 0.0 and broken.faulty and broken.feedback.startswith("not valid JSON: ")


def test_without_a_reference_the_checks_are_the_score():
    loose, value = _one("json:reference=none", '{"order": 1042, "customer": "Mia", "gift": true, "paid": 99}')
    assert value.reference_free and loose.value == 3 / 4 and loose.feedback == "paid: 99 is not in the text"
    unknown, _ = _one("json", '{"order": 1042}', {k: v for k, v in RECORD.items() if k != "fields"})
    assert unknown.value is None and unknown.feedback == "missing: customer, gift, paid"
    ungrounded, _ = _one("json:source=none", '{"order": 7, "customer": "x", "gift": true, "paid": 1}')
    assert not ungrounded.faulty and ungrounded.value == 1 / 4


def test_equal_objects_are_one_answer_for_the_vote():
    a, _ = _one("json", '{"paid": 18.5, "order": 1042}')
    b, _ = _one("json", ' {"order": 1042,  "paid": 18.5}')
    assert a.answer == b.answer == json.dumps({"order": 1042, "paid": 18.5})


def test_a_record_without_a_usable_schema_is_named_before_anything_is_scored():
    with load_value("json") as value:
        with pytest.raises(ValueFunctionError, match=r"record 'r2' has no `schema`"):
            value([RECORD, {"id": "r2", "text": "x"}], ["{}", "{}"])
        with pytest.raises(ValueFunctionError, match=r"key 'age' has the type 'years'; types are text, string"):
            value([{**RECORD, "schema": {"age": "years"}}], ["{}"])
        [score] = value([{**RECORD, "schema": json.dumps(RECORD["schema"])}], [json.dumps(RECORD["fields"])])
        assert score.value == 1.0  # a schema kept as a JSON string (a CSV column) is read
    with pytest.raises(ValueFunctionError, match=r"json:strict=1: unknown option 'strict'"):
        load_value("json:strict=1")


@pytest.mark.parametrize(
    "output, feedback",
    [
        ('{"order": ' + "1" * 400 + "}", "order should be a whole number, not " + "1" * 400),  # no float holds it
        ('{"paid": ' + "1" * 400 + "}", "paid should be a number, not " + "1" * 400),
        ('{"paid": 1e400}', "paid should be a number, not Infinity"),
        ('{"paid": NaN}', "paid should be a number, not NaN"),
        ('{"order": ' + "1" * 5000 + "}", "not valid JSON: a number too long to read"),
        ("[" * 100_000, "not valid JSON: nested too deeply to read"),
    ],
)
def test_a_draft_no_parser_or_float_can_hold_scores_low_and_is_told_why(output, feedback):
    score, _ = _one("json", output)
    assert score.value == 0.0 and score.faulty and score.feedback.endswith(feedback)


def test_nan_and_infinity_are_not_numbers_without_a_reference_either():
    draft = '{"order": 1042, "customer": "Mia Novak", "gift": true, "paid": NaN}'
    score, _ = _one("json:source=none,reference=none", draft)
    assert score.value == 3 / 4 and score.faulty and score.feedback == "paid should be a number, not NaN"


def test_a_key_given_twice_is_read_as_json_parsers_read_it():
    draft = '{"order": 7, "order": 1042, "customer": "Mia Novak", "gift": true, "paid": 18.5}'
    score, _ = _one("json", draft)  # the last one, as json.loads and JSON.parse keep
    assert score.value == 1.0 and not score.faulty


def test_a_key_no_file_can_hold_is_named_escaped():
    score, _ = _one("json", '{"\\ud800": 1}')
    assert score.feedback.endswith(r"not asked for: \ud800")
    score.feedback.encode("utf-8")  # the output file is UTF-8: a lone surrogate could not be written


def test_lists_of_numbers_are_compared_by_value_and_the_text_is_read_once(monkeypatch):
    record = {"text": "sizes 36 and 40", "schema": {"s": "list of numbers"}, "fields": {"s": [36, 40]}}
    score, _ = _one("json", '{"s": [40.0, 36]}', record)
    assert score.value == 1.0 and not score.faulty
    text = "a " * 20_000
    record = {"text": text, "schema": {"s": "list of text"}, "fields": {"s": ["a"]}}
    norm, reads = structured._norm, []
    monkeypatch.setattr(structured, "_norm", lambda x: (reads.append(x is text), norm(x))[1])
    score, _ = _one("json", json.dumps({"s": ["a"] * 2_000}), record)
    assert score.value == 0.0
    assert sum(reads) == 1  # once for the whole list, not once per item (a runaway on long lists)


@pytest.mark.parametrize(
    "spec, record, message",
    [
        ("json:source=txt", RECORD, r"record 'r1' has no text in `txt` for the values to come from"),
        ("json", {**RECORD, "text": None}, r"record 'r1' has no text in `text`.*source=FIELD.*source=none"),
        ("json", {**RECORD, "fields": ["Mia"]}, r"record 'r1' has a `fields` that is list, not an object"),
        ("json", {**RECORD, "fields": {"town": "Lyon"}}, r"record 'r1': `fields` has the key 'town', not in `schema`"),
        ("json", {**RECORD, "fields": {"order": "1042"}}, r"`fields` has 'order' = '1042', not a whole number"),
        ("json", {**RECORD, "schema": {1: "text"}}, r"record 'r1': `schema` has the key 1; a key is a name"),
        ("json", {**RECORD, "schema": {"": "text"}}, r"record 'r1': `schema` has the key ''"),
    ],
)
def test_a_record_whose_text_reference_or_keys_cannot_be_used_is_named(spec, record, message):
    with load_value(spec) as value:
        with pytest.raises(ValueFunctionError, match=message):
            value([record], ["{}"])


def test_a_reference_kept_as_a_json_string_is_read():
    score, _ = _one("json", json.dumps(RECORD["fields"]), {**RECORD, "fields": json.dumps(RECORD["fields"])})
    assert score.value == 1.0
