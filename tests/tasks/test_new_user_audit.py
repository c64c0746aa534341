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


def saved(folder, **splits):
    """``save_to_disk`` of a DatasetDict of ``splits`` (name -> number of rows), or of one
    Dataset where the only split is named ``one``; each row's id says its split."""
    import datasets

    datasets.disable_progress_bars()
    made = {
        name: datasets.Dataset.from_list([{"id": f"{name}{i}", "prompt": f"What is {i} plus 1?"} for i in range(n)])
        for name, n in splits.items()
    }
    (made["one"] if list(made) == ["one"] else datasets.DatasetDict(made)).save_to_disk(str(folder))
    return folder


def test_a_saved_dataset_dicts_splits_are_its_own_not_merged_into_train(tmp_path):
    """``load_dataset`` read a folder ``save_to_disk`` wrote by its folder names: splits it did not
    know by name were all merged into ``train``, so training took the held-out records too."""
    from correct.corrector.app.options import Source, load_records

    folder = saved(tmp_path / "ds", fit=3, holdout=2)
    records, _ = load_records(Source(dataset=str(folder), split="holdout"), None, 0)
    assert [r["id"] for r in records] == ["holdout0", "holdout1"]
    refused(
        invoke("generate", "--dataset", folder, "--split", "train", *NO_MODEL), "has no split 'train'", "fit, holdout"
    )


def test_one_saved_dataset_is_read_whole_and_is_refused_as_a_task_files_splits(tmp_path):
    """One ``Dataset`` saved with ``save_to_disk`` was refused with advice to call
    ``load_from_disk``, which a command-line user cannot."""
    from correct.corrector.app.options import Source, load_records

    folder = saved(tmp_path / "ds", one=3)
    records, _ = load_records(Source(dataset=str(folder)), None, 0)
    assert [r["id"] for r in records] == ["one0", "one1", "one2"]
    refused(invoke("generate", "--dataset", folder, "--split", "test", *NO_MODEL), "not read with --dataset")
    (tmp_path / "task.yaml").write_text("data: {path: ds}\nprompt: '{prompt}'\nvalue: program\n")
    refused(invoke("generate", "--task", tmp_path / "task.yaml", *NO_MODEL), "task.yaml:1: key 'data'", "no splits")


def test_an_empty_csv_or_one_of_a_byte_order_mark_alone_has_no_records(tmp_path):
    """pandas said 'No columns to parse from file' where a JSONL file, empty the same way, is
    said to have no records."""
    for text in ("", "\ufeff\n"):
        (tmp_path / "in.csv").write_text(text, encoding="utf-8")
        refused(
            invoke("generate", "--input", tmp_path / "in.csv", "--value", "program", *NO_MODEL),
            "in.csv: no records (the file is empty)",
        )


def test_a_requests_record_holding_null_for_a_field_the_layout_names_is_a_400_naming_record():
    """`"record": {"unit": null}` was laid out as the text "None" (`Q: 5 + 3 (in None)`), where a
    data file's empty cell for that field is refused."""
    import pytest

    from correct.corrector.app.protocol import BadRequest, task_prompt
    from correct.tasks.task import fill

    class Engine:
        format_prompt = staticmethod(lambda record: fill("Q: {prompt} (in {unit})\n", record, "task 't'"))

    assert task_prompt(Engine, "5 + 3", {"unit": "pens"}) == "Q: 5 + 3 (in pens)\n"
    with pytest.raises(BadRequest) as e:
        task_prompt(Engine, "5 + 3", {"unit": None})
    assert e.value.param == "record" and "names the field 'unit', which the record leaves empty (null)" in str(e.value)


def test_a_json_file_whose_record_names_a_key_twice_is_refused(tmp_path):
    """A .json file went through the datasets reader, which kept the last of a repeated key
    without a word, as the JSONL reader did."""
    import pytest

    from correct.tasks.data import RecordError, read_file

    def read(name, text):
        (tmp_path / name).write_text(text)
        return read_file(tmp_path / name)

    assert read("ok.json", '[{"prompt": "a", "answer": "1", "more": {"answer": "2"}}]')[0]["answer"] == "1"
    with pytest.raises(RecordError, match=r"array\.json: key 'answer' is given twice in a record"):
        read("array.json", '[{"prompt": "a", "answer": "1"}, {"prompt": "b", "answer": "2", "answer": "3"}]')
    with pytest.raises(RecordError, match=r"lines\.json:2: key 'answer' is given twice"):
        read("lines.json", '{"prompt": "a", "answer": "1"}\n{"prompt": "b", "answer": "2", "answer": "3"}\n')


def test_a_dataset_path_that_is_not_text_is_refused_by_its_key(tmp_path):
    """`data: {path: null}` reached the check for a folder save_to_disk wrote, which raised a
    TypeError with a traceback."""
    for path in ("null", "3", "''"):
        (tmp_path / "task.yaml").write_text(f"data:\n  path: {path}\nprompt: '{{prompt}}'\nvalue: program\n")
        refused(invoke("generate", "--task", tmp_path / "task.yaml", *NO_MODEL), "key 'data.path' must be a dataset")
