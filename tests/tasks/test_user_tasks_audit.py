"""Defects found by running task files a user would write (a CSV of answers written with
thousands separators, programs that log a lot before they fail, rules on text with dashes
and full-width punctuation, ``correct tasks --show`` of a task file): each test failed
before its fix."""

from __future__ import annotations

import json
import logging

import pytest
import yaml
from cli_checks import invoke, refused

from correct.corrector.app.options import Source, load_records
from correct.tasks import TaskError
from correct.tasks.file import load_task_file, task_file_text
from correct.values import ValueFunctionError, load_value
from correct.values.base import check_labeled
from correct.values.program import ProgramValue, normalise, same_answer
from correct.values.rules import RulesValue
from correct.values.structured import JsonValue


@pytest.fixture(scope="module")
def program():
    v = ProgramValue(timeout=5.0, workers=1, isolation="rlimits")
    yield v
    v.close()


def test_an_answer_written_with_thousands_separators_is_the_number(program):
    """A CSV exported from a spreadsheet says "1,234": a program printing 1234 is right, and
    one printing f"{n:,}" against a numeric answer too; their votes are one answer."""
    right, formatted, wrong = program(
        [{"answer": "1,234"}, {"answer": 1234}, {"answer": "1,234"}],
        ["print(1234)", "print(f'{1234:,}')", "print(1243)"],
    )
    assert (right.value, formatted.value, wrong.value) == (1.0, 1.0, 0.0)
    assert normalise("1,234") == normalise("1234") == "1234"
    assert same_answer("-12,345.5", "-12345.5")
    assert not same_answer("1,23", "123") and not same_answer("12,3456", "123456")  # not thousands groups


def test_a_number_written_with_thousands_separators_is_in_the_text():
    """An order form says "1,250 dollars": the price 1250 is found in it (it was "not in the
    text", faulty, and scored 0 with no reference); the pieces 1 and 250 are still found."""
    record = {"text": "The price is 1,250 dollars, or 2,000,000.5 in all.", "schema": {"price": "number"}}
    value = JsonValue(reference="none")
    for price in (1250, 2000000.5, 250):
        (s,) = value([record], [json.dumps({"price": price})])
        assert (s.value, s.faulty) == (1.0, False), s
    (s,) = value([record], [json.dumps({"price": 1251})])
    assert s.value == 0.0 and "not in the text" in s.feedback


def test_a_program_that_logs_a_lot_before_it_fails_is_told_its_error(program):
    """Thousands of log lines on stderr, then an exception: the feedback is the exception (it
    was the start of the first log line, "WARNIN", the rest cut at the output cap)."""
    source = "import logging\nfor i in range(3000):\n    logging.warning('step %d of the loop', i)\nprint(1 / 0)"
    (s,) = program([{"answer": "5"}], [source])
    assert (s.value, s.feedback, s.faulty) == (0.0, "ZeroDivisionError: division by zero", True)


@pytest.mark.parametrize(
    "checks, output",
    [
        ([["max_words", 3]], "Buy — now — today"),  # was "has 5 words, more than 3"
        ([["max_words", 2]], "Buy now! 🎉"),
        ([["question", None]], "你喜欢咖啡吗？"),  # full-width marks, as Chinese and Japanese write them
        ([["exclaim", None]], "今すぐ買おう！"),
    ],
)
def test_rules_of_form_read_words_and_full_width_marks_as_people_write_them(checks, output):
    (s,) = RulesValue()([{"id": "s1", "checks": checks}], [output])
    assert (s.value, s.feedback) == (1.0, "every rule met")


def test_rules_still_count_words_and_commas():
    (s,) = RulesValue()([{"id": "s1", "checks": [["max_words", 2], ["no_commas", None]]}], ["Fresh， warm — bread"])
    assert s.feedback == "has 3 words, more than 2; has 1 comma"


def test_a_task_file_shown_by_tasks_show_reads_back(tmp_path):
    """`correct tasks --show` of a task file with a test split only and no shots printed
    ``shots: {data: validation, k: 0}``, which the printed file then refused ("key
    'shots.data' names 'validation', which is not a ... file")."""
    (tmp_path / "money.csv").write_text('id,question,answer\r\nq1,How much is 1200 and 34?,"1,234"\r\n')
    (tmp_path / "money.yaml").write_text(
        "data:\n  test: money.csv\nfields: {prompt: question}\nprompt: 'Q: {prompt}'\nvalue: program\n"
    )
    shown = tmp_path / "shown.yaml"
    shown.write_text(task_file_text(load_task_file(tmp_path / "money.yaml")))
    task = load_task_file(shown)
    assert [r["answer"] for r in task.make_split("test", None, 0)] == ["1,234"]
    assert "shots" not in yaml.safe_load(shown.read_text())


def test_an_empty_question_is_not_called_a_missing_label(tmp_path, caplog):
    """A task that maps ``prompt`` from ``question``: a record whose question is "" drew
    "1 of 2 records have no 'question'; they ... count as unlabeled", which is not so (its
    answer labels it). The records really missing an answer are still told."""
    rows = [{"id": "a", "question": "", "answer": "0"}, {"id": "b", "question": "How many?", "answer": None}]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "q.yaml").write_text(
        "data: q.jsonl\nfields: {prompt: question}\nprompt: 'Q: {prompt}'\nvalue: program\n"
    )
    for source in (Source(), Source(input=tmp_path / "q.jsonl")):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="correct"):
            records, _ = load_records(source, str(tmp_path / "q.yaml"), 0)
        assert [r["id"] for r in records] == ["a", "b"]
        warned = " ".join(r.getMessage() for r in caplog.records)
        assert "no 'question'" not in warned and "1 of 2 records have no 'answer'" in warned


@pytest.mark.parametrize("value, field", [("constraints", "concepts"), ("rules", "words")])
def test_a_concept_without_letters_is_refused_not_counted_as_used(value, field):
    """Concepts "🐶, park" were read as "park" alone: "The cat ran in the park" used "all
    concepts" (1.0). A concept the value cannot find is the record's fault, named."""
    with load_value(value) as v:
        with pytest.raises(
            ValueFunctionError, match=r"record 'e1' has `" + field + "` with no letter or digit in '🐶'"
        ):
            v([{"id": "e1", field: "🐶, park", "checks": []}], ["The cat ran in the park"])
        (s,) = v([{"id": "e2", field: "dog, park,", "checks": []}], ["The dog ran in the park"])  # a trailing comma
        assert s.value == 1.0


def test_training_on_questions_nobody_answered_is_refused_before_drafting(tmp_path, program):
    """`correct train` on a task of questions alone (program, no answer or tests) drafted the
    whole pool -- 2000 prompts of 8 drafts by default -- and only then said that no draft had a
    known value. It is refused before any model loads, and no output folder is claimed."""
    rows = [{"id": i, "prompt": f"What is {i} plus 1?"} for i in range(3)]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "q.yaml").write_text("data: q.jsonl\nprompt: 'Q: {prompt}'\nvalue: program\ngenerator: no-such-model\n")
    result = invoke("train", "--task", tmp_path / "q.yaml", "--output", tmp_path / "run")
    refused(result, "value 'program' can score none of the 3 training records", "`answer` or `tests`")
    assert not (tmp_path / "run").exists()
    check_labeled(program, rows + [{"id": "x", "prompt": "What is 1 plus 1?", "answer": "2"}])  # one will do


def test_a_file_given_as_input_starts_after_the_solved_examples_it_holds(tmp_path):
    """A task whose solved examples are the first records of its test file: `--input` of that
    same file showed the first problems their own solutions (the split itself starts after
    them). A copy of the file elsewhere is other records, run whole."""
    rows = [
        {"id": f"s{i}", "prompt": f"What is {i} plus 1?", "answer": i + 1, "solution": f"print({i} + 1)"}
        for i in range(4)
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "test.jsonl").write_text(text)
    (tmp_path / "other.jsonl").write_text(text)
    task = tmp_path / "t.yaml"
    task.write_text("data: {test: test.jsonl}\nprompt: 'Q: {prompt}'\nshots: {data: test, k: 2}\nvalue: program\n")
    ids = lambda source, shots=None: [r["id"] for r in load_records(source, str(task), 0, shots=shots)[0]]  # noqa: E731
    assert ids(Source()) == ids(Source(input=tmp_path / "test.jsonl")) == ["s2", "s3"]
    assert ids(Source(dataset=str(tmp_path / "test.jsonl"))) == ["s2", "s3"]
    assert ids(Source(input=tmp_path / "other.jsonl")) == ["s0", "s1", "s2", "s3"]
    assert ids(Source(input=tmp_path / "test.jsonl"), shots=0) == ["s0", "s1", "s2", "s3"]
    with pytest.raises(TaskError, match="test.jsonl has 4 records, all of them among the 4 shown as solved examples"):
        ids(Source(input=tmp_path / "test.jsonl"), shots=4)


def test_reference_targets_without_any_solution_is_refused(tmp_path):
    """`--reference-targets` on records with no `solution` drafted the pool, added nothing, and
    trained as if it had not been given."""
    rows = [{"id": i, "prompt": f"What is {i} plus 1?", "answer": i + 1} for i in range(3)]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "q.yaml").write_text("data: q.jsonl\nprompt: 'Q: {prompt}'\nvalue: program\ngenerator: no-such-model\n")
    result = invoke("train", "--task", tmp_path / "q.yaml", "--reference-targets", "--output", tmp_path / "run")
    refused(result, "--reference-targets: none of the 3 training records has a `solution`")
    assert not (tmp_path / "run").exists()
