"""JSONL records: errors name file and line, output is written line by line, resume is clean."""

from __future__ import annotations

import json
import os

import pytest

from correct.corrector.outputs import (
    JsonlWriter,
    RecordError,
    finished_ids,
    read_all_jsonl,
    read_jsonl,
    write_json_atomic,
)


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- read_jsonl


def test_default_id_is_line_number_and_blank_lines_skipped(tmp_path):
    path = _write(tmp_path / "in.jsonl", '{"prompt": "a"}\n\n   \n{"prompt": "b", "id": 7}\n{"prompt": "c"}')
    records = read_jsonl(path)
    assert [r["prompt"] for r in records] == ["a", "b", "c"]
    assert [r["id"] for r in records] == ["1", "7", "5"]  # ids are strings; blank lines still count
    assert all(isinstance(r["id"], str) for r in records)


def test_extra_fields_are_kept(tmp_path):
    path = _write(tmp_path / "in.jsonl", '{"prompt": "a", "answer": 3, "meta": {"k": [1]}}\n')
    assert read_jsonl(path) == [{"prompt": "a", "answer": 3, "meta": {"k": [1]}, "id": "1"}]


def test_empty_file_gives_no_records(tmp_path):
    assert read_jsonl(_write(tmp_path / "in.jsonl", "")) == []
    assert read_jsonl(_write(tmp_path / "blank.jsonl", "\n\n")) == []


@pytest.mark.parametrize(
    "text, needles",
    [
        pytest.param('{"prompt": "a"}\n{"prompt": "b"}\n{"prompt": \n', [":3:", "JSON"], id="malformed"),
        pytest.param('{"prompt": "a"}\n[1, 2]\n', [":2:", "object", "list"], id="array"),
        pytest.param('"just a string"\n', [":1:", "object", "str"], id="string"),
        pytest.param('{"prompt": "a"}\n{"question": "b"}\n', [":2:", "'prompt'"], id="missing-field"),
        pytest.param(
            '{"prompt": "a", "id": "x"}\n{"prompt": "b"}\n{"prompt": "c", "id": "x"}\n',
            [":3:", "duplicate", "'x'"],
            id="duplicate-id",
        ),
        pytest.param(
            '{"prompt": "a", "id": 2}\n{"prompt": "b"}\n',
            [":2:", "duplicate", "'2'"],
            id="explicit-id-clashes-with-line-number",
        ),
    ],
)
def test_read_errors_name_file_and_line(tmp_path, text, needles):
    path = _write(tmp_path / "in.jsonl", text)
    with pytest.raises(RecordError) as e:
        read_jsonl(path)
    message = str(e.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, (needle, message)


@pytest.mark.parametrize(
    "line, column",
    [
        pytest.param('{"id": "a", "prompt": }', 23, id="bad-value"),  # the `}` where a value belongs
        pytest.param('{"prompt": "x", ', 17, id="cut-short"),  # the end of the line, not column 1 of the next
        pytest.param('{"prompt": "x"} junk', 17, id="extra-data"),
    ],
)
def test_malformed_json_names_its_column(tmp_path, line, column):
    try:
        json.loads(line)
    except json.JSONDecodeError as e:
        assert e.colno == column  # what json itself says of the line alone
    path = _write(tmp_path / "in.jsonl", '{"prompt": "a"}\n' + line + '\n{"prompt": "b"}\n')
    with pytest.raises(RecordError) as e:
        read_jsonl(path)
    assert str(e.value).startswith(f"{path}:2: not valid JSON (")
    assert str(e.value).endswith(f" at column {column})")


def test_required_fields_are_configurable(tmp_path):
    path = _write(tmp_path / "in.jsonl", '{"prompt": "a"}\n')
    with pytest.raises(RecordError, match=r"in\.jsonl:1: missing field 'output'"):
        read_jsonl(path, ("output",))
    with pytest.raises(RecordError, match="'solution'"):
        read_jsonl(path, ("prompt", "solution"))
    assert read_jsonl(path, ()) == [{"prompt": "a", "id": "1"}]


def test_missing_file(tmp_path):
    with pytest.raises(RecordError, match="no such file"):
        read_jsonl(tmp_path / "nope.jsonl")


def test_record_error_is_a_value_error():
    assert issubclass(RecordError, ValueError)


# --------------------------------------------------------------------------- finished_ids


def test_finished_ids_missing_file_is_empty(tmp_path):
    assert finished_ids(tmp_path / "none.jsonl") == set()
    assert not (tmp_path / "none.jsonl").exists()


def test_finished_ids_of_whole_lines(tmp_path):
    path = _write(tmp_path / "out.jsonl", '{"id": "a", "final": "x"}\n\n{"id": 2, "final": "y"}\n')
    before = path.read_bytes()
    assert finished_ids(path) == {"a", "2"}
    assert path.read_bytes() == before  # nothing torn, nothing cut


def test_finished_ids_cuts_a_torn_last_line(tmp_path):
    whole = '{"id": "a", "final": "x"}\n{"id": "b", "final": "y"}\n'
    path = _write(tmp_path / "out.jsonl", whole + '{"id": "c", "fin')
    assert finished_ids(path) == {"a", "b"}
    assert path.read_text() == whole
    # Appending now continues cleanly.
    with JsonlWriter(path, append=True) as w:
        w.write({"id": "c", "final": "z"})
    assert [r["id"] for r in read_all_jsonl(path)] == ["a", "b", "c"]


def test_finished_ids_torn_only_line(tmp_path):
    path = _write(tmp_path / "out.jsonl", '{"id": "a"')
    assert finished_ids(path) == set()
    assert path.read_bytes() == b""


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("this is not json\n", id="text"),
        pytest.param('{"prompt": "a record, not an output line"}\n', id="no-id"),
        pytest.param("[1, 2]\n", id="array"),
        pytest.param('{"id": "a"}\n"a string"\n', id="string"),
    ],
)
def test_finished_ids_refuses_a_foreign_file(tmp_path, text):
    path = _write(tmp_path / "out.jsonl", text + "torn tail")
    with pytest.raises(RecordError, match=r"out\.jsonl:\d+: not an output line"):
        finished_ids(path)
    assert path.read_text() == text + "torn tail"  # a refused file is left exactly as it was


# --------------------------------------------------------------------------- writing


def test_jsonl_writer_overwrite_and_append(tmp_path):
    path = tmp_path / "deep" / "er" / "out.jsonl"  # parent folders are created
    with JsonlWriter(path, append=False) as w:
        w.write({"id": "1", "text": "é ✓"})
        # Each line is on disk as soon as write returns, before close.
        assert read_all_jsonl(path) == [{"id": "1", "text": "é ✓"}]
    with JsonlWriter(path, append=True) as w:
        w.write({"id": "2"})
    assert read_all_jsonl(path) == [{"id": "1", "text": "é ✓"}, {"id": "2"}]
    assert "é ✓" in path.read_text(encoding="utf-8")  # written as UTF-8, not \u escapes
    with JsonlWriter(path, append=False) as w:
        w.write({"id": "3"})
    assert read_all_jsonl(path) == [{"id": "3"}]
    assert path.read_text(encoding="utf-8").endswith("\n")


def test_jsonl_writer_one_object_per_line(tmp_path):
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path, append=False) as w:
        w.write({"id": "1", "text": "line one\nline two\n\n"})
    raw = path.read_text(encoding="utf-8")
    assert raw.count("\n") == 1
    assert json.loads(raw)["text"] == "line one\nline two\n\n"


def test_jsonl_writer_keeps_a_lone_surrogate_as_its_json_escape(tmp_path):
    """An OpenAI endpoint's "\ud800" escape is a Python string no UTF-8 file can hold."""
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path, append=False) as w:
        w.write({"id": "1", "text": "a\ud800b é"})
        w.write({"id": "2", "text": "next"})
    assert [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()] == [
        "a\ud800b é",
        "next",
    ]


def test_write_json_atomic_leaves_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "m.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"a": 2, "b": [1, 2]})
    assert json.loads(path.read_text()) == {"a": 2, "b": [1, 2]}
    assert path.read_text().endswith("\n")
    assert os.listdir(path.parent) == ["m.json"]


def test_read_all_jsonl_skips_blank_lines(tmp_path):
    path = _write(tmp_path / "o.jsonl", '{"id": "1"}\n\n{"id": "2"}\n')
    assert read_all_jsonl(path) == [{"id": "1"}, {"id": "2"}]
