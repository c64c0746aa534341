"""Behaviour of corrector/outputs.py that a second mutation audit found unheld: each test here
failed on a one-line change of the module that the rest of the suite let through."""

from __future__ import annotations

import json
import os

import pytest

from correct.corrector.outputs import OutputError, check_writable, write_json_atomic


def test_a_json_file_that_fails_to_serialise_leaves_the_old_one_and_no_temporary_file(tmp_path):
    """write_json_atomic writes beside the file and renames: a failure half-way (here an object
    JSON cannot hold) leaves the file as it was, and the temporary file goes."""
    path = tmp_path / "metrics.json"
    write_json_atomic(path, {"records": 3})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"records": 4, "bad": object()})
    assert json.loads(path.read_text()) == {"records": 3}
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_an_output_that_cannot_be_opened_for_appending_is_refused_before_any_work(tmp_path):
    """check_writable opens an existing output for appending (what a resumed run does): a folder
    in its place is refused by its path and option, not found out after the models load."""
    (tmp_path / "out.jsonl").mkdir()
    with pytest.raises(OutputError, match=r"out\.jsonl: cannot be written \(Is a directory") as e:
        check_writable(tmp_path / "out.jsonl", "output")
    assert e.value.option == "output"
    check_writable(tmp_path / "other.jsonl", "output")  # a new file's folder is writable: nothing said
    assert not (tmp_path / "other.jsonl").exists()


# --------------------------------------------------------------------------- corrector/app/files.py


def test_a_task_files_shots_file_is_among_what_it_reads(tmp_path):
    """An output named as the task's shots file would be written over it: the file is among the
    task's inputs that check_paths keeps outputs off."""
    from correct.corrector.app.files import task_files
    from correct.tasks import get_task

    for name in ("data", "shots"):
        (tmp_path / f"{name}.jsonl").write_text(json.dumps({"id": "1", "prompt": "p", "solution": "s"}) + "\n")
    path = tmp_path / "t.yaml"
    path.write_text("name: t\ndata: data.jsonl\nprompt: '{prompt}'\nvalue: program\nshots: {data: shots.jsonl, k: 1}\n")
    assert task_files(get_task(str(path))) == {
        "--task": path,
        "the task's data": tmp_path / "data.jsonl",
        "the task's shots": tmp_path / "shots.jsonl",
    }


def test_a_generate_run_file_binds_an_output_only_once_it_has_lines(tmp_path):
    """check_run refuses a resume that asks for other settings than the output's run file, but
    only where the output holds lines: a run that died before its first line binds nothing. A
    setting the run file does not hold (kept before it was recorded) is this run's."""
    from correct.corrector.app.args import UsageError
    from correct.corrector.app.files import check_run, run_file

    out = tmp_path / "o.jsonl"
    run_file(out).write_text(json.dumps({"temperature": 0.0}))
    mine = {"temperature": 1.5, "max_new_tokens": 3}
    assert check_run(out, mine, resume=True) == mine  # no output yet
    out.write_text("")
    assert check_run(out, mine, resume=True) == mine  # an empty one
    out.write_text('{"id": "a"}\n')
    with pytest.raises(UsageError, match=r"written with temperature 0.0 \(o.run.json\), and this run asks for 1.5"):
        check_run(out, mine, resume=True)
    assert check_run(out, {"temperature": 0.0, "max_new_tokens": 3}, resume=True)["max_new_tokens"] == 3


def test_a_folder_holding_a_training_runs_pool_or_log_is_not_trained_over_by_another_kind(tmp_path):
    from correct.corrector.app.args import UsageError
    from correct.corrector.app.files import check_not_trained

    for held in ("pool.jsonl", "log.jsonl"):
        folder = tmp_path / held
        folder.mkdir()
        (folder / held).write_text("")
        with pytest.raises(UsageError, match=rf"holds a training run \({held}\): writing a reward-model there"):
            check_not_trained(folder, "reward-model")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "correct_config.json").write_text(json.dumps({"method": "reward-model"}))
    check_not_trained(mine, "reward-model")  # its own kind is written over
