"""What a mutation audit changed without any test noticing, held in place: how a request's
sampling settings are read (a 0 is a setting, not a missing one), how records' ids and files are
read, how a value's options are parsed, and which outputs clash with inputs. Each of these was a
one-token change that still passed the suite."""

from __future__ import annotations

import json
import os

import pytest

from correct.corrector.app.args import UsageError
from correct.corrector.app.files import check_paths, claim_folder
from correct.generators import SamplingParams
from correct.tasks.data import RecordError, read_file, read_yaml
from correct.values.base import ValueFunctionError, finite, flag, parse_options, text_of

pytest.importorskip("pydantic")
from correct.corrector.app.protocol import ChatRequest, CompletionRequest, sampling_params  # noqa: E402

DEFAULTS = SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=64, stop=("\n\n",), seed=5)


def completion(**fields) -> CompletionRequest:
    return CompletionRequest(model="m", prompt="hi", **fields)


def test_a_zero_in_a_request_is_a_setting_not_the_servers_default():
    params = sampling_params(DEFAULTS, completion(temperature=0, seed=0))
    assert params.temperature == 0 and params.seed == 0
    unset = sampling_params(DEFAULTS, completion())
    assert (unset.temperature, unset.top_p, unset.seed, unset.max_new_tokens) == (0.7, 0.9, 5, 64)


def test_a_requests_stop_strings_join_the_servers_and_a_string_is_one_stop():
    assert sampling_params(DEFAULTS, completion(stop="END")).stop == ("\n\n", "END")
    assert sampling_params(DEFAULTS, completion(stop=["a", "\n\n"])).stop == ("\n\n", "a")
    assert sampling_params(DEFAULTS, completion()).stop == ("\n\n",)


def test_max_completion_tokens_is_taken_before_max_tokens():
    assert sampling_params(DEFAULTS, completion(max_tokens=10, max_completion_tokens=20)).max_new_tokens == 20
    assert sampling_params(DEFAULTS, completion(max_tokens=10)).max_new_tokens == 10


@pytest.mark.parametrize("field", [{"max_tokens": 0}, {"max_completion_tokens": 0}, {"top_p": 0}])
def test_settings_that_would_quietly_become_the_default_are_refused(field):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        completion(**field)


def test_a_text_part_whose_text_is_not_a_string_is_refused_by_its_place():
    from correct.corrector.app.engine import BadRequest
    from correct.corrector.app.protocol import text_of as message_text

    body = ChatRequest(model="m", messages=[{"role": "user", "content": [{"type": "text", "text": 5}]}])
    with pytest.raises(BadRequest, match=r"messages\[0\]\.content\[0\]"):
        message_text(body.messages[0].content, "messages[0].content")


# ---------------------------------------------------------------------------- records and their ids


def test_csv_ids_are_text_and_a_file_without_ids_counts_from_one(tmp_path):
    (tmp_path / "ids.csv").write_text("id,prompt\n7,a\n8,b\n")
    (tmp_path / "none.CSV").write_text("prompt\na\nb\n")  # the suffix in capitals is still a CSV
    assert [r["id"] for r in read_file(tmp_path / "ids.csv")] == ["7", "8"]
    assert [r["id"] for r in read_file(tmp_path / "none.CSV")] == ["1", "2"]
    with pytest.raises(RecordError, match="no such file"):
        read_file(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": NaN, "prompt": "a"}', "the id is empty"),
        ('{"id": [1], "prompt": "a"}', "the id is list"),
        ('{"id": {"a": 1}, "prompt": "a"}', "the id is dict"),
    ],
)
def test_ids_that_are_no_id_are_refused(tmp_path, line, message):
    (tmp_path / "r.jsonl").write_text(line + "\n")
    with pytest.raises(RecordError, match=message):
        read_file(tmp_path / "r.jsonl")


def test_an_integral_float_id_is_its_digits(tmp_path):
    (tmp_path / "r.jsonl").write_text('{"id": 2.0, "prompt": "a"}\n{"id": 2.5, "prompt": "b"}\n')
    assert [r["id"] for r in read_file(tmp_path / "r.jsonl")] == ["2", "2.5"]


def test_a_fields_mapping_to_a_missing_column_names_the_column(tmp_path):
    (tmp_path / "q.csv").write_text("text,answer\na,1\n")
    with pytest.raises(RecordError, match="has no column 'question'"):
        read_file(tmp_path / "q.csv", fields={"prompt": "question"})


def test_a_key_given_twice_inside_a_list_item_is_named_by_its_line(tmp_path):
    (tmp_path / "t.yaml").write_text("items:\n  - {a: 1}\n  - a: 1\n    b: 2\n    a: 3\n")
    with pytest.raises(RecordError, match=r"t\.yaml:5: key 'a' is given twice"):
        read_yaml(tmp_path / "t.yaml", "task file", RecordError)


# ---------------------------------------------------------------------------- a value's options


@pytest.mark.parametrize("text, value", [("True", True), ("", True), ("yes", True), ("no", False), ("FALSE", False)])
def test_flags_are_read_as_written(text, value):
    assert flag(text) is value


def test_options_parse_with_spaces_the_last_written_wins_and_stray_text_is_refused():
    assert parse_options("program", "timeout=2, workers=3", {"timeout": float, "workers": int}) == (
        "",
        {"timeout": 2.0, "workers": 3},
    )
    assert parse_options("program", "timeout=1,timeout=5", {"timeout": float})[1] == {"timeout": 5.0}
    with pytest.raises(ValueFunctionError, match="unknown option 'junk'"):
        parse_options("constraints", "junk", {"strict": flag})
    # A path holding '=' that is not an option's name stays the positional part.
    assert parse_options("reward", "/m/a=b/c", {"batch": int}, positional="model") == ("/m/a=b/c", {})
    with pytest.raises(ValueError, match="finite"):
        finite("inf")
    assert text_of(None) == "" and text_of(3) == "3"


# ---------------------------------------------------------------------------- outputs against inputs


def test_an_output_that_is_an_input_by_another_spelling_is_refused(tmp_path, monkeypatch):
    records = tmp_path / "in.jsonl"
    records.write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="is also --input"):
        check_paths({"--output": "./in.jsonl"}, {"--input": str(records)})
    os.symlink(records, tmp_path / "link.jsonl")
    with pytest.raises(UsageError, match="is also --input"):
        check_paths({"--output": "link.jsonl"}, {"--input": str(records)})
    # A hub id is no local file: an output of the same name does not clash with it.
    check_paths({"--output": "gsm8k"}, {"--dataset": "gsm8k"})


def test_a_file_anywhere_above_an_output_is_named(tmp_path):
    (tmp_path / "afile").write_text("keep")
    with pytest.raises(UsageError, match="afile is a file, not a folder"):
        check_paths({"--output": tmp_path / "afile" / "x" / "o.jsonl"}, {})


@pytest.mark.parametrize("content", ["[]", '{"prompts": 3}', "not json"])
def test_a_run_file_of_another_shape_is_refused_not_a_traceback(tmp_path, content):
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(UsageError, match="not a run file of correct train"):
        claim_folder(tmp_path, [{"id": "a", "prompt": "x"}], "program")


def test_a_training_folder_is_made_however_deep(tmp_path):
    folder = tmp_path / "new" / "deep" / "run"
    claim_folder(folder, [{"id": "a", "prompt": "x"}], "program")
    assert json.loads((folder / "run.json").read_text())["prompts"].keys() == {"a"}


def test_usage_counts_each_prompt_as_sent_and_each_rewrite_at_most_its_budget():
    from types import SimpleNamespace

    from correct.corrector.app.protocol import usage_of

    words = SimpleNamespace(tokenizer=lambda text, add_special_tokens=False: {"input_ids": text.split()})
    step = lambda text: SimpleNamespace(text=text)  # noqa: E731
    histories = [[step("a b c d e f"), step("a b c d e f"), step("x y")]]  # round 1 changed nothing
    usage = usage_of(words, ["p q", "p q"], histories, SamplingParams(max_new_tokens=4))
    # Two prompts, the same text, are two prompts; 6 tokens decoded back are at most the 4 asked for.
    assert usage == {"prompt_tokens": 4, "completion_tokens": 4 + 2, "total_tokens": 10}
