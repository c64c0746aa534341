"""A command never destroys the user's files or mixes two runs in one: an output that is also an
input (or another output) is refused, as is an output where a folder or file is in the way; a
resumed output written by another run is refused by its line; a training folder keeps the
records and value its pool was begun on. Each refusal is one line, before any model loads
(the generator below does not exist), and the files are left as they were."""

from __future__ import annotations

import json

import pytest
from cli_checks import invoke, refused

from correct.corrector.app.args import UsageError
from correct.corrector.app.files import RUN_FILE, claim_folder
from correct.tasks import arithmetic, get_task

NO_MODEL = ["--generator", "/nonexistent/generator", "--rounds", "0", "--no-baseline"]
RECORD = {"id": "a", "prompt": "Tom has 3 cards. How many cards does Tom have now?", "answer": 3}


def test_an_output_that_is_an_input_or_another_output_is_refused(tmp_path):
    records = tmp_path / "in.jsonl"
    records.write_text(json.dumps(RECORD) + "\n")
    before = records.read_bytes()
    generate = ["generate", "--task", "arithmetic", *NO_MODEL]
    refused(invoke(*generate, "--input", records, "--output", records), "--output", "is also --input")
    refused(
        invoke(*generate, "--input", records, "--output", tmp_path / "o.jsonl", "--metrics", records),
        "--metrics",
        "is also --input",
    )
    refused(
        invoke(*generate, "--output", tmp_path / "o.jsonl", "--metrics", tmp_path / "o.jsonl"),
        "--metrics",
        "is also --output",
    )
    refused(invoke("score", "--input", records, "--output", records, "--value", "program"), "is also --input")
    assert records.read_bytes() == before


def test_an_output_with_a_folder_or_file_in_the_way_is_refused_before_loading(tmp_path):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("keep")
    generate = ["generate", "--task", "arithmetic", *NO_MODEL]
    refused(invoke(*generate, "--output", tmp_path / "adir"), "a folder is there; give a file name")
    refused(invoke(*generate, "--output", tmp_path / "afile" / "o.jsonl"), "afile is a file, not a folder")
    refused(invoke("train", "--task", "arithmetic", "--output", tmp_path / "afile"), "a file is there; give a folder")
    assert (tmp_path / "afile").read_text() == "keep"


def test_training_into_the_generators_own_folder_is_refused(tmp_path):
    model = tmp_path / "generator"
    model.mkdir()
    (model / "config.json").write_text("{}")
    for option in ("--generator", "--init"):
        result = invoke("train", "--task", "arithmetic", option, model, "--output", model)
        refused(result, f"--output {model} is also {option}")
    assert [p.name for p in model.iterdir()] == ["config.json"]


def test_resuming_into_another_runs_output_is_refused_by_its_line(tmp_path):
    out = tmp_path / "o.jsonl"
    mine = arithmetic.make_split("test", 2, 0)
    first = {"round": 0, "text": "print(1)", "value": None, "feedback": None}
    line = {"id": mine[0]["id"], "prompt": mine[0]["prompt"], "rounds": [first]}
    out.write_text(json.dumps(line) + "\n")
    generate = ["generate", *NO_MODEL[:2], "--limit", "2", "--output", out, "--resume", "--no-baseline"]
    refused(
        invoke(*generate, "--task", "concepts", "--rounds", "0"),
        f"{out}:1: record 'test-0' is not one of this run's records",
    )
    refused(
        invoke(*generate, "--task", "arithmetic", "--rounds", "2"),
        f"{out}:1: written with 0 rounds, and this run asks for 2; resume with 0 rounds",
    )
    out.write_text(json.dumps(RECORD) + "\n")  # a file of records, not of outputs
    refused(invoke(*generate, "--task", "arithmetic", "--rounds", "0"), f"{out}:1: not an output line of correct")
    assert out.read_text() == json.dumps(RECORD) + "\n"
    # An edited line failed in the metrics, after the models loaded, with a traceback.
    for edited in ({**first, "value": "1.0"}, {"round": 0, "text": "print(1)"}, "print(1)", {**first, "value": True}):
        out.write_text(json.dumps({**line, "rounds": [edited]}) + "\n")
        refused(invoke(*generate, "--task", "arithmetic", "--rounds", "0"), f"{out}:1: not an output line of correct")
    out.write_text(json.dumps({**line, "rounds": [{**first, "value": float("nan")}]}) + "\n")
    refused(invoke(*generate, "--task", "arithmetic", "--rounds", "0"), f"{out}:1: not an output line of correct")


def unloadable(tmp_path):
    """A generator folder that passes the checks before loading (it has a config.json) and
    fails to load: a run refused before loading never reaches it."""
    model = tmp_path / "generator"
    model.mkdir()
    (model / "config.json").write_text("{}")
    return ["--generator", str(model)]


def test_a_training_folder_keeps_the_records_and_value_it_was_begun_on(tmp_path):
    folder = tmp_path / "run"
    first = arithmetic.make_split("train", 6, 0)
    claim_folder(folder, first[:4], "program")
    train = ["train", *unloadable(tmp_path), "--output", folder, "--steps", "1"]
    # Another task's records under the same ids, and fewer records than the pool was drawn on.
    refused(invoke(*train, "--task", "concepts", "--limit", "4"), "its record 'train-0' is not this run's")
    refused(invoke(*train, "--task", "arithmetic", "--limit", "3"), "its record 'train-3' is not this run's")
    refused(
        invoke(*train, "--task", "arithmetic", "--limit", "4", "--value", "program:timeout=2"),
        "its value is 'program', this run's 'program:timeout=2'",
    )
    # The same records, and more of them, go on: the file then holds them all.
    claim_folder(folder, first, "program")
    assert set(json.loads((folder / RUN_FILE).read_text())["prompts"]) == {r["id"] for r in first}
    claim_folder(folder, first, "program")


def test_a_training_folder_refuses_records_whose_answers_were_edited(tmp_path):
    """Only the prompts were kept: a resume after the answers changed scored its new drafts
    against the new answers and kept the old drafts' values, scored against the old ones."""
    import hashlib

    folder = tmp_path / "run"
    first = arithmetic.make_split("train", 4, 0)
    claim_folder(folder, first, "program")
    edited = [{**r, "answer": f"{r['answer']}0"} for r in first]
    with pytest.raises(UsageError, match="its record 'train-0' is not this run's"):
        claim_folder(folder, edited, "program")
    claim_folder(folder, first, "program")
    # A run file from before whole records were kept holds the prompts' digests: it goes on as it did.
    old = tmp_path / "old"
    old.mkdir()
    prompts = {r["id"]: hashlib.sha256(r["prompt"].encode()).hexdigest()[:16] for r in first}
    (old / RUN_FILE).write_text(json.dumps({"value": "program", "prompts": prompts}))
    claim_folder(old, edited, "program")


def test_a_training_folder_keeps_the_number_of_drafts_a_prompt_its_pool_was_drawn_with(tmp_path):
    """Another --samples would draw every prompt of the pool whole again (each now has fewer
    generator drafts than asked, as a prompt cut short by a kill has)."""
    folder = tmp_path / "run"
    first = arithmetic.make_split("train", 6, 0)
    claim_folder(folder, first[:4], "program", 4)
    train = ["train", *unloadable(tmp_path), "--task", "arithmetic", "--output", folder, "--steps", "1", "--limit", "4"]
    refused(
        invoke(*train, "--samples", "8"),
        f"--output {folder} holds a pool of 4 drafts a prompt (run.json), and this run asks for 8: give --samples 4",
    )
    claim_folder(folder, first, "program", 4)  # more records, the same samples: kept with them
    assert json.loads((folder / RUN_FILE).read_text())["samples"] == 4
    old = tmp_path / "old"  # a run file from before the number was kept says nothing of it
    claim_folder(old, first, "program")
    claim_folder(old, first, "program", 2)


def test_a_run_refused_for_its_generator_does_not_claim_the_folder(tmp_path):
    """A misspelt --generator path was refused only after the folder was claimed (run.json): the
    corrected command, with another --limit, was then refused as a run on other records, though
    no pool had been drawn."""
    folder = tmp_path / "run"
    train = ["train", "--task", "arithmetic", "--output", folder, "--steps", "1"]
    refused(invoke(*train, *NO_MODEL[:2], "--limit", "4"), "--generator /nonexistent/generator: no such folder")
    assert not (folder / RUN_FILE).exists()
    assert "not this run's" not in invoke(*train, *unloadable(tmp_path), "--limit", "3").output


def test_a_fresh_run_into_a_folder_that_trained_is_refused_and_resume_is_not(tmp_path):
    """A rerun without --resume would add a second run's rows to the log (iteration 0 twice), and
    a later --resume would take up the earlier run's checkpoints as its own."""
    folder = tmp_path / "run"
    (folder / "checkpoints" / "stage-0").mkdir(parents=True)
    (folder / "checkpoints" / "stage-0" / "state.json").write_text('{"iteration": 0}')  # a finished checkpoint
    train = ["train", "--task", "arithmetic", *NO_MODEL[:2], "--output", folder, "--steps", "1"]
    refused(invoke(*train), f"--output {folder} holds an earlier training run (checkpoints): add --resume")
    (folder / "log.jsonl").write_text('{"iteration": 0}\n')
    refused(invoke(*train), "(log.jsonl, checkpoints)", "copy its pool.jsonl and run.json there")
    # --resume goes on to load the (missing) generator: past the check.
    resumed = invoke(*train, "--resume")
    assert "earlier training run" not in resumed.output and "/nonexistent/generator" in resumed.output
    # A folder whose run never finished a stage (its pool only) is a rerun's to go on with.
    (folder / "log.jsonl").write_text("")
    (folder / "checkpoints" / "stage-0" / "state.json").unlink()
    (folder / "checkpoints" / "stage-0").rmdir()
    assert "earlier training run" not in invoke(*train).output


def test_writing_over_an_earlier_runs_output_says_so(tmp_path, caplog):
    out = tmp_path / "o.jsonl"
    args = ["generate", "--task", "arithmetic", "--rounds", "0", "--limit", "1", "--no-baseline", "--output", out]
    assert invoke(*args).exit_code == 0
    with caplog.at_level("WARNING"):
        assert invoke(*args).exit_code == 0
    assert f"{out} holds an earlier run's lines: they are replaced (--resume would go on with them)" in caplog.text
    assert len(out.read_text().splitlines()) == 1


def test_resuming_with_other_models_or_decoding_is_refused_by_the_setting(tmp_path):
    """A resume into an output with another corrector, token budget and temperature finished
    without a word, its lines and metrics mixing two runs' settings."""
    out = tmp_path / "o.jsonl"
    generate = ["generate", "--task", "arithmetic", "--limit", "2", "--rounds", "1", "--no-baseline", "--output", out]
    done = invoke(*generate)
    assert done.exit_code == 0, done.output
    kept = json.loads((tmp_path / "o.run.json").read_text())
    assert kept["temperature"] == 0.0 and kept["corrector"] and kept["value"] == "program"
    lines = out.read_text()
    for option, given, needle in [
        ("--temperature", "1.5", "written with temperature 0.0 (o.run.json), and this run asks for 1.5"),
        ("--max-new-tokens", "3", "written with max new tokens"),
        ("--corrector", get_task("concepts").corrector, "written with corrector"),
    ]:
        refused(invoke(*generate, "--resume", option, given), needle, "resume with the same, or write to another")
    assert out.read_text() == lines
    # the same settings go on (nothing left to do); an output from before run files were kept too
    assert invoke(*generate, "--resume").exit_code == 0
    (tmp_path / "o.run.json").unlink()
    assert invoke(*generate, "--resume", "--temperature", "1.5").exit_code == 0
    assert json.loads((tmp_path / "o.run.json").read_text())["temperature"] == 1.5
    assert out.read_text() == lines
    # A run that fails before its first line (here: its generator) writes no run file, and changes none.
    failed = ["generate", *NO_MODEL, "--task", "arithmetic", "--limit", "2"]
    assert invoke(*failed, "--output", tmp_path / "new.jsonl").exit_code != 0
    assert not (tmp_path / "new.run.json").exists()
    before = (tmp_path / "o.run.json").read_text()
    assert invoke(*failed, "--output", out).exit_code != 0
    assert (tmp_path / "o.run.json").read_text() == before and out.read_text() == lines


def test_train_reward_and_report_do_not_write_over_what_is_there(tmp_path):
    """train-reward into a corrector's folder replaced its weights and config, leaving its pool,
    log and card; report onto a file was a FileExistsError traceback."""
    corrector = tmp_path / "c"
    corrector.mkdir()
    (corrector / "correct_config.json").write_text(json.dumps({"method": "pairing", "training": {}}))
    (corrector / "pool.jsonl").write_text("")
    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text('{"prompt": "2+3=", "chosen": "5", "rejected": "6"}\n')
    refused(
        invoke("train-reward", "--input", prefs, "--base", get_task("arithmetic").generator, "--output", corrector),
        f"--output {corrector} holds a corrector (pairing)",
        "give another folder",
    )
    assert json.loads((corrector / "correct_config.json").read_text())["method"] == "pairing"
    (tmp_path / "rep").write_text("x")
    refused(invoke("report", corrector, "--output", tmp_path / "rep"), "a file is there; give a folder")


def test_score_leaves_an_existing_output_as_it_was_when_a_later_batch_fails(tmp_path):
    """The old lines were gone and one batch's lines left when the second batch failed."""
    lines = tmp_path / "c.jsonl"
    lines.write_text('{"concepts": ["dog"], "output": "A dog."}\n{"output": "A cat."}\n')
    out = tmp_path / "scores.jsonl"
    out.write_text('{"id": "old"}\n')
    result = invoke("score", "--value", "constraints", "--input", lines, "--output", out, "--batch-size", 1)
    assert result.exit_code == 2
    assert out.read_text() == '{"id": "old"}\n' and [p.name for p in tmp_path.iterdir() if "part" in p.name] == []
    lines.write_text('{"concepts": ["dog"], "output": "A dog."}\n{"concepts": ["cat"], "output": "A cat."}\n')
    assert (
        invoke("score", "--value", "constraints", "--input", lines, "--output", out, "--batch-size", 1).exit_code == 0
    )
    assert [json.loads(l)["value"] for l in out.read_text().splitlines()] == [1.0, 1.0]


def test_resuming_after_the_task_files_layouts_were_edited_is_refused(tmp_path):
    """An edited correction_prompt (or prompt) went on, the file holding two runs' rewrite prompts
    and its metrics computed over both."""
    from correct.tasks import TASKS

    arithmetic = TASKS["arithmetic"]
    rows = arithmetic.make_split("test", 2, 0)
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = (
        f"data: {{test: d.jsonl}}\nprompt: {json.dumps(arithmetic.prompt)}\nvalue: program\n"
        f"generator: {arithmetic.generator}\nstop: {json.dumps(list(arithmetic.stop))}\n"
    )
    task = tmp_path / "t.yaml"
    task.write_text(spec + 'correction_prompt: "{prompt}{draft}\\nFeedback: {feedback}\\nFixed:\\n"\n')
    out = tmp_path / "o.jsonl"
    generate = ["generate", "--task", task, "--corrector", "self", "--rounds", "1", "--no-baseline", "--output", out]
    assert invoke(*generate).exit_code == 0
    lines = out.read_text()
    task.write_text(spec + 'correction_prompt: "{prompt}{draft}\\nError: {feedback}\\nFixed:\\n"\n')
    refused(invoke(*generate, "--resume"), "written with correction prompt", "resume with the same")
    fix = 'correction_prompt: "{prompt}{draft}\\nFeedback: {feedback}\\nFixed:\\n"\n'
    layout = f"prompt: {json.dumps(arithmetic.prompt)}"
    task.write_text(spec.replace(layout, f"prompt: {json.dumps('Task: ' + arithmetic.prompt)}") + fix)
    refused(invoke(*generate, "--resume"), "written with prompt", "resume with the same")
    task.write_text(spec + fix)
    assert invoke(*generate, "--resume").exit_code == 0  # the same layouts go on
    assert out.read_text() == lines
