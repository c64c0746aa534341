"""A new user's own tasks, never seen by the project (a JSONL record naming a key twice, a
dataset folder written by ``save_to_disk``, a value of the user's own that misbehaves): each
is read as written or refused in one line naming the file, line, key or value."""

from __future__ import annotations

from cli_checks import invoke, refused

NO_MODEL = ["--generator", "/nonexistent/generator", "--rounds", "0", "--no-baseline"]


def test_a_jsonl_record_naming_a_key_twice_is_refused_by_its_line(tmp_path):
    """``{"answer": "8", "answer": "9"}`` was read as 9 without a word (JSON keeps the last),
    so a run scored every draft against another answer than the one first written."""
    (tmp_path / "in.jsonl").write_text(
        '{"prompt": "What is 2 plus 3?", "answer": "5"}\n'
        '{"prompt": "What is 4 plus 4?", "answer": "8", "answer": "9"}\n'
    )
    refused(
        invoke("generate", "--input", tmp_path / "in.jsonl", "--value", "program", *NO_MODEL),
        "in.jsonl:2: key 'answer' is given twice",
    )
