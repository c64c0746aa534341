"""The example task files of docs/examples/ that train one general corrector beside the word
problems, or measure it: functions and dictionaries (unit tests), strings-and-lists and
unit-conversions (a printed answer), constrained-sentences (concepts), json-records and
order-forms (a JSON object, the built-in `json` value), and sentence-rules and headline-rules
(rules of form, the built-in `rules` value), and three written after the general corrector to
measure it on tasks it never saw: time-functions (unit tests), match-reports (JSON) and
slogan-rules (rules). Each loads; every reference solution reaches the
value's maximum; a broken output does not, and its feedback
says why; and each make_data.py writes exactly the data files kept beside it. Offline, no model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from correct.corrector.app.options import Defaults
from correct.tasks import few_shot_prompt, get_task
from correct.values import load_value

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
TASKS = ["functions", "strings-and-lists", "unit-conversions", "constrained-sentences", "dictionaries", "json-records"]
TASKS += ["sentence-rules", "order-forms", "headline-rules", "long-sentences"]
TASKS += ["time-functions", "match-reports", "slogan-rules"]  # written after the general corrector, to measure it
SPLITS = ["train", "validation", "test", "shots.jsonl"]
N = 20


@pytest.fixture(scope="module", params=TASKS)
def example(request):
    name = request.param
    task = get_task(str(EXAMPLES / name / f"{name}.yaml"))
    value = Defaults.of(task).load_value()  # as the commands load it: a value of the task's own folder too
    yield task, value
    close = getattr(value, "close", None)
    if close is not None:
        close()


def test_the_task_file_reads(example):
    task, _ = example
    assert task.generator == "smollm2" and task.shots.k == 3 and task.stop and task.max_new_tokens
    sizes = {split: len(task.make_split(split, None, 0)) for split in SPLITS}
    assert sizes == {"train": 2000, "validation": 300, "test": 300, "shots.jsonl": 3}
    record = task.make_split("test", 1, 0)[0]
    prompt = few_shot_prompt(task)(record)
    assert prompt.endswith(task.format_prompt(record)) and prompt.count(task.stop[0]) >= 3


@pytest.mark.parametrize("split", SPLITS)
def test_reference_solutions_reach_the_maximum(example, split):
    task, value = example
    records = task.make_split(split, N, 0)
    scores = value(records, [r["solution"] for r in records])
    wrong = [(r["id"], s) for r, s in zip(records, scores) if s.value != value.max_value]
    assert not wrong


@pytest.mark.parametrize("output", ["", "print(0)"])
def test_a_broken_output_falls_short_and_says_why(example, output):
    task, value = example
    records = task.make_split("validation", N, 0)
    scores = value(records, [output] * len(records))
    assert all(s.value is not None and s.value < value.max_value for s in scores)
    assert all(s.feedback and s.feedback.strip() for s in scores)


def test_a_failing_unit_test_is_named_in_the_feedback():
    """A function that exists but returns the wrong thing: the feedback is the failing call,
    what it returned and what was expected, not a bare AssertionError."""
    for name in ("functions", "dictionaries", "time-functions"):
        _failing_unit_tests_are_named(get_task(str(EXAMPLES / name / f"{name}.yaml")))


def _failing_unit_tests_are_named(task) -> None:
    value = load_value(task.value)
    try:
        records = task.make_split("validation", N, 0)
        scores = value(records, [f"def {r['signature']}:\n    return None" for r in records])
    finally:
        value.close()
    for r, s in zip(records, scores):
        name = r["signature"].split("(")[0]
        assert s.value == 0.0 and s.feedback.startswith(f"AssertionError: {name}(")
        assert "returned None, expected" in s.feedback


def test_a_sentence_missing_words_is_told_which():
    task = get_task(str(EXAMPLES / "constrained-sentences" / "constrained-sentences.yaml"))
    record = task.make_split("validation", 1, 0)[0]
    concepts = [c.strip() for c in record["concepts"].split(",")]
    [score] = load_value(task.value)([record], [f"The {concepts[0]} was there."])
    assert 0 < score.value < 1 and score.feedback == "missing: " + ", ".join(concepts[1:])


def test_a_json_draft_is_told_what_the_record_shows_and_no_more():
    """Not JSON, a missing or extra key, a wrong type and a value the text lacks are named, and
    faulty; a draft that passes those checks with a wrong value falls short without being told."""
    task = get_task(str(EXAMPLES / "json-records" / "json-records.yaml"))
    value = Defaults.of(task).load_value()
    record = {
        "text": "Flight KL123 leaves Porto at 07:15 and lands in Lyon 2 hours later.",
        "schema": {"to": "text", "hours": "number", "flight": "text"},
        "fields": {"to": "Lyon", "hours": 2, "flight": "KL123"},
    }
    outputs = [
        ' {"to": "Lyon", "hours": 2, "flight": "KL123"}',
        ' {"to": "Lyon", "hours": 07:15, "flight": "KL123"}',
        ' {"to": "Lyon", "flight": "KL123", "from": "Porto"}',
        ' {"to": "Lyon", "hours": "2", "flight": "KL124"}',
        ' {"to": "Porto", "hours": 2, "flight": "KL123"}',
        " [1, 2]",
    ]
    right, not_json, keys, typed, wrong, listed = value([record] * len(outputs), outputs)
    assert right.value == 1.0 and not right.faulty
    assert not_json.value == 0.0 and not_json.faulty and not_json.feedback.startswith("not valid JSON: ")
    assert keys.faulty and keys.feedback == "missing: hours; not asked for: from" and keys.value == 2 / 4
    assert typed.faulty and typed.value == 1 / 3
    assert typed.feedback == 'hours should be a number, not "2"; flight: "KL124" is not in the text'
    assert wrong.value == 2 / 3 and not wrong.faulty and "Lyon" not in wrong.feedback
    assert listed.value == 0.0 and listed.faulty and listed.feedback == "not a JSON object but list"
    assert right.answer == wrong.answer.replace("Porto", "Lyon")  # the vote's key: the object, keys sorted


def test_every_broken_rule_of_a_sentence_is_named():
    task = get_task(str(EXAMPLES / "sentence-rules" / "sentence-rules.yaml"))
    value = Defaults.of(task).load_value()
    assert value.reference_free
    record = {
        "words": "bake, kitchen",
        "checks": [["lowercase", None], ["first_word", "the"], ["max_words", 8], ["quoted", None], ["exclaim", None]],
    }
    outputs = [
        ' "the baker baked bread in the kitchen!"',
        " The Baker, tired, baked bread in the big kitchen at noon.",
        ' "a baker bakes!"',
    ]
    right, broken, short = value([record] * 3, outputs)
    assert right.value == 1.0 and right.feedback == "every rule met"
    assert broken.feedback == (
        "has capital letters: The, Baker,; has 11 words, more than 8; is not wrapped in double quotes; "
        'ends with ".", not "!"'
    )
    assert broken.value == 2 / 6
    assert short.feedback == 'missing: kitchen; begins with "a", not "the"' and short.value == 4 / 6
    record = {"words": "bake, kitchen", "checks": [["no_commas", None], ["last_word", "noon"]]}
    [commas] = value([record], [" At noon, the cooks, tired, baked in the kitchen."])
    assert commas.feedback == 'has 3 commas; ends with "kitchen", not "noon"' and commas.value == 1 / 3


@pytest.mark.parametrize("name", TASKS)
def test_make_data_writes_the_files_kept(name, tmp_path):
    """Regenerating the data (seeded) gives the files in the repository, byte for byte."""
    folder = EXAMPLES / name
    spec = importlib.util.spec_from_file_location(f"make_data_{name.replace('-', '_')}", folder / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.HERE = tmp_path
    module.main()
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["shots.jsonl", "test.jsonl", "train.jsonl", "validation.jsonl"]
    for file in written:
        assert (tmp_path / file).read_bytes() == (folder / file).read_bytes(), file
