"""correct.tasks.make: the helpers a data script writes a task's files with (the examples of
docs/examples/ use them): distinct seeded records, one pool cut into splits, one shot of each
kind, and the files with test ids t1, t2, ..."""

from __future__ import annotations

import csv
import json

import pytest

from correct.errors import CorrectError
from correct.tasks.make import MakeError, distinct, one_of_each, split, write_files


def small(rng):
    """A record from only 30 possible questions, so repeats are common."""
    a = rng.randint(1, 30)
    return {"question": f"What is {a} + 1?", "answer": str(a + 1), "kind": "odd" if a % 2 else "even"}


def test_distinct_gives_n_different_records_the_same_for_a_seed():
    rows = distinct(25, 7, small, "question")
    assert len(rows) == 25 and len({r["question"] for r in rows}) == 25
    assert distinct(25, 7, small, "question") == rows
    assert distinct(25, 8, small, "question") != rows


def test_distinct_takes_a_key_function():
    """Two of three letters in any order: three different sets, as the key says."""
    rows = distinct(3, 0, lambda rng: {"words": rng.sample("abc", 2)}, lambda r: frozenset(r["words"]))
    assert {frozenset(r["words"]) for r in rows} == {frozenset("ab"), frozenset("ac"), frozenset("bc")}
    with pytest.raises(MakeError):
        distinct(4, 0, lambda rng: {"words": rng.sample("abc", 2)}, lambda r: frozenset(r["words"]))


def test_a_none_draw_is_skipped():
    drawn = []

    def draw(rng):
        r = small(rng)
        drawn.append(r)
        return None if r["kind"] == "odd" else r

    rows = distinct(10, 3, draw, "question")
    assert len(rows) == 10 and all(r["kind"] == "even" for r in rows)
    assert any(r["kind"] == "odd" for r in drawn)  # some draws were skipped, not kept


def test_distinct_gives_up_where_the_draw_cannot_make_enough():
    with pytest.raises(MakeError, match="only 30 different records of 31") as e:
        distinct(31, 0, small, "question")
    assert isinstance(e.value, CorrectError)


def test_split_cuts_consecutive_parts_and_the_rest():
    rows = [{"n": i} for i in range(10)]
    a, b, rest = split(rows, 3, 5)
    assert [r["n"] for r in a] == [0, 1, 2] and [r["n"] for r in b] == [3, 4, 5, 6, 7] and len(rest) == 2
    with pytest.raises(MakeError, match="10 records cannot be cut into parts of 6, 5"):
        split(rows, 6, 5)


def test_one_of_each_is_the_first_of_each_kind_in_the_kinds_order():
    rows = [{"id": 1, "kind": "a"}, {"id": 2, "kind": "b"}, {"id": 3, "kind": "a"}, {"id": 4, "unit": "km"}]
    assert one_of_each(rows, ["b", "a"]) == [rows[1], rows[0]]
    assert one_of_each(rows, ["km"], field="unit") == [rows[3]]
    with pytest.raises(MakeError, match="has kind 'c', 'd'"):
        one_of_each(rows, ["a", "c", "d"])


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_files_hold_the_splits_and_test_ids(tmp_path):
    rows = distinct(12, 1, small, "question")
    train, validation, test, reserve = split(rows, 5, 2, 3)
    shots = reserve[:1]
    write_files(tmp_path, train, validation, test, shots)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "shots.jsonl",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]
    assert read_jsonl(tmp_path / "train.jsonl") == train and read_jsonl(tmp_path / "validation.jsonl") == validation
    assert read_jsonl(tmp_path / "test.jsonl") == [{"id": f"t{i}", **r} for i, r in enumerate(test, 1)]
    assert read_jsonl(tmp_path / "shots.jsonl") == shots
    assert all("id" not in r for r in test)  # the caller's records are left as they were


def test_a_csv_test_set_has_the_id_and_the_columns_asked(tmp_path):
    rows = distinct(6, 2, small, "question")
    write_files(tmp_path, rows[:2], rows[2:3], rows[3:5], rows[5:], test_columns=["question", "answer"])
    assert not (tmp_path / "test.jsonl").exists()
    with open(tmp_path / "test.csv", newline="") as f:
        got = list(csv.DictReader(f))
    assert got == [
        {"id": f"t{i}", "question": r["question"], "answer": r["answer"]} for i, r in enumerate(rows[3:5], 1)
    ]


def test_a_misspelt_csv_column_is_named_and_a_new_folder_is_made(tmp_path):
    rows = distinct(6, 2, small, "question")
    with pytest.raises(MakeError, match="no row has the column 'anwser'"):
        write_files(tmp_path, rows[:2], rows[2:3], rows[3:5], rows[5:], test_columns=["question", "anwser"])
    write_files(tmp_path / "new" / "task", rows[:2], rows[2:3], rows[3:5], rows[5:])
    assert (tmp_path / "new" / "task" / "test.jsonl").exists()
