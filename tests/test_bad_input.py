"""Bad data and config files, and runaway bounds (issue 26): each is one line naming the file,
line, key or option, exit code 2, before any model loads -- never a traceback, a hang, or a
run that quietly answers something else than was asked."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from cli_checks import refused as assert_one_line
from typer.testing import CliRunner

from correct.cli import app
from correct.corrector.app.args import options_of, read_config
from correct.corrector.app.engine import ServeConfig
from correct.corrector.app.generate import GenerateConfig
from correct.corrector.app.options import (
    Defaults,
    GenerateArgs,
    Models,
    Sampling,
    ServeArgs,
    Source,
    TaskChoice,
    load_records,
)
from correct.tasks import few_shot_prompt, get_task
from correct.tasks.data import read_file

runner = CliRunner()
GENERATE = (TaskChoice, Source, Sampling, GenerateArgs, Models, GenerateConfig)
# A generator that cannot be loaded: every error below must come before anything tries to.
NO_MODEL = ["--generator", "/nonexistent/generator", "--rounds", "0", "--no-baseline"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def task_file(folder: Path, text: str, rows=({"question": "What is 2 plus 3?", "answer": 5},)) -> Path:
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "task.yaml").write_text(text)
    return folder / "task.yaml"


TASK = "data: {test: test.jsonl}\nfields: {prompt: question}\nprompt: 'Q: {prompt}'\nvalue: program\n"


# --------------------------------------------------------------------------- data and task files


def test_a_byte_that_is_not_utf8_in_a_jsonl_file_names_its_line(tmp_path):
    (tmp_path / "in.jsonl").write_bytes(b'{"prompt": "fine"}\n{"prompt": "caf\xe9"}\n')
    assert_one_line(
        invoke("generate", "--input", tmp_path / "in.jsonl", "--value", "program", *NO_MODEL),
        "in.jsonl:2: not UTF-8 text (byte 0xe9 at column 16)",
    )


def test_a_byte_that_is_not_utf8_in_a_task_or_config_file_names_its_line(tmp_path):
    task = task_file(tmp_path, TASK)
    task.write_bytes(TASK.encode() + b"description: na\xefve\n")
    assert_one_line(
        invoke("generate", "--task", task, *NO_MODEL), "task.yaml:5: a task file is not UTF-8 text (byte 0xef"
    )
    (tmp_path / "run.yaml").write_bytes(b"rounds: 0\n# caf\xe9\n")
    assert_one_line(
        invoke("generate", "--config", tmp_path / "run.yaml", *NO_MODEL),
        "run.yaml:2: a config file is not UTF-8 text (byte 0xe9 at column 6)",
    )


def test_a_prompt_with_an_unbalanced_brace_names_the_key(tmp_path):
    task = task_file(tmp_path, TASK.replace("'Q: {prompt}'", "'Q: {prompt'"))
    assert_one_line(
        invoke("generate", "--task", task, *NO_MODEL),
        "task.yaml:3: key 'prompt' is not a valid template",
        "a literal brace {{ or }}",
    )


def test_an_empty_data_set_is_an_error(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    assert_one_line(
        invoke("generate", "--input", tmp_path / "empty.jsonl", "--value", "program", *NO_MODEL),
        "empty.jsonl: no records",
    )
    task = task_file(tmp_path, TASK, rows=())
    assert_one_line(invoke("generate", "--task", task, *NO_MODEL), "task.yaml: split 'test' has no records")
    assert_one_line(
        invoke("score", "--value", "program", "--input", tmp_path / "empty.jsonl"), "empty.jsonl: no records"
    )


@pytest.mark.parametrize(
    "prompt, message",
    [
        (None, "record '2' has a 'prompt' that is null, not text"),
        (["a"], "record '2' has a 'prompt' that is a list, not text"),
    ],
)
def test_a_prompt_that_is_not_text_names_its_record(tmp_path, prompt, message):
    (tmp_path / "in.jsonl").write_text(json.dumps({"prompt": "fine"}) + "\n" + json.dumps({"prompt": prompt}) + "\n")
    assert_one_line(
        invoke("generate", "--input", tmp_path / "in.jsonl", "--value", "program", *NO_MODEL), "in.jsonl: " + message
    )


def test_tests_that_are_not_python_name_their_record_before_any_model_loads(tmp_path):
    """The program value's check of a record's ``tests`` ran only once the drafts were written:
    here the missing generator was named first, and with a real one the run failed after it."""
    rows = [
        {"id": "ok", "prompt": "f", "tests": "assert f(1) == 2"},
        {"id": "bad", "prompt": "g", "tests": "assert g(1) ==== 2"},
    ]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert_one_line(
        invoke("generate", "--input", tmp_path / "in.jsonl", "--value", "program", *NO_MODEL),
        "record 'bad': its 'tests' are not valid Python (invalid syntax, line 1)",
    )


def test_a_numeric_prompt_is_its_digits(tmp_path):
    (tmp_path / "q.csv").write_text("prompt,answer\n12,12\n7,7\n")
    records, _ = load_records(Source(input=tmp_path / "q.csv"), None, 0)
    assert [r["prompt"] for r in records] == ["12", "7"]


def test_more_shots_than_there_are_is_an_error(tmp_path):
    task = task_file(tmp_path, TASK + "shots: {data: shots.jsonl, k: 10}\n")
    (tmp_path / "shots.jsonl").write_text(
        "".join(json.dumps({"question": f"{i} plus 1?", "solution": "print(2)"}) + "\n" for i in range(3))
    )
    assert_one_line(
        invoke("generate", "--task", task, *NO_MODEL),
        "task.yaml: key 'shots.k' asks for 10 solved examples, but 'shots.jsonl' has only 3 (option --shots)",
    )
    assert_one_line(invoke("generate", "--task", task, "--shots", 4, *NO_MODEL), "asks for 4 solved examples")


def test_unlabeled_rows_of_a_labeled_file_are_counted_in_a_line(tmp_path, caplog):
    (tmp_path / "q.csv").write_text("prompt,answer\nMia has 2 apples.,2\nTom has 3 cards.,\nAva has 4 pens.,\n")
    with caplog.at_level(logging.WARNING, logger="correct"):
        records, _ = load_records(Source(input=tmp_path / "q.csv"), None, 0)
    assert len(records) == 3
    said = [r.getMessage() for r in caplog.records]
    assert any("q.csv: 2 of 3 records have no 'answer'" in m for m in said), said


def test_a_task_files_unknown_value_names_the_file_and_line(tmp_path):
    task = task_file(tmp_path, TASK.replace("value: program", "value: nonexistent"))
    flat = assert_one_line(
        invoke("generate", "--task", task, *NO_MODEL), "task.yaml:4: key 'value': unknown value 'nonexistent'"
    )
    assert "--value" not in flat


def test_a_task_files_value_of_a_missing_module_is_said_once(tmp_path):
    task = task_file(tmp_path, TASK.replace("value: program", "value: nomodule:score"))
    flat = assert_one_line(
        invoke("generate", "--task", task, *NO_MODEL),
        "task.yaml:4: key 'value': 'nomodule:score': no module named 'nomodule'",
    )
    assert "--value" not in flat and "value 'nomodule:score'" not in flat


def test_card_names_the_task_files_value_too(tmp_path):
    from correct.tasks import MODELS

    task = task_file(
        tmp_path,
        TASK.replace("value: program", "value: nonexistent").replace("{test: test.jsonl}", "{validation: test.jsonl}"),
    )
    corrector = tmp_path / "corrector"
    corrector.mkdir()
    saved = json.loads((MODELS / "arithmetic-corrector" / "correct_config.json").read_text())
    (corrector / "correct_config.json").write_text(json.dumps({**saved, "task": str(task), "value": "nonexistent"}))
    flat = assert_one_line(
        invoke("card", corrector, "--eval-limit", 1), "task.yaml:4: key 'value': unknown value 'nonexistent'"
    )
    assert "--value" not in flat


def test_a_task_files_folder_is_importable_for_its_value(tmp_path):
    (tmp_path / "issue26_beside_values.py").write_text(
        "def shortness(records, outputs):\n    return [1.0 / (1 + len(o)) for o in outputs]\n"
    )
    task = get_task(str(task_file(tmp_path, TASK.replace("value: program", "value: issue26_beside_values:shortness"))))
    value = Defaults.of(task).load_value()
    assert [s.value for s in value([{"id": "1", "prompt": "q"}], ["abc"])] == [0.25]


# --------------------------------------------------------------------------- config files


def test_a_config_files_relative_paths_are_relative_to_its_folder(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    task = task_file(tmp_path / "conf", TASK)
    (tmp_path / "conf" / "run.yaml").write_text(
        "task: task.yaml\ninput: test.jsonl\noutput: out/gen.jsonl\ngenerator: smollm2\n"
    )
    monkeypatch.chdir(tmp_path)  # elsewhere than the config file
    values = read_config(Path("conf/run.yaml"), options_of(GENERATE), "generate")
    assert values["task"] == str(Path("conf") / "task.yaml") and Path(values["task"]).resolve() == task.resolve()
    assert values["input"] == Path("conf/test.jsonl") and values["output"] == Path("conf/out/gen.jsonl")
    assert values["generator"] == "smollm2"  # a name, not a path there


@pytest.mark.parametrize(
    "text, baseline", [("no-baseline: true\n", False), ("no_baseline: false\n", True), ("baseline: false\n", False)]
)
def test_a_negated_flag_works_in_a_config_file(tmp_path, text, baseline):
    (tmp_path / "run.yaml").write_text(text)
    assert read_config(tmp_path / "run.yaml", options_of(GENERATE), "generate") == {"baseline": baseline}


def test_an_unknown_negated_key_names_itself(tmp_path):
    (tmp_path / "run.yaml").write_text("rounds: 1\nno-limit: true\n")
    assert_one_line(
        invoke("generate", "--config", tmp_path / "run.yaml", *NO_MODEL),
        "run.yaml:2: unknown key 'no-limit'; correct generate has no such option",
    )


# --------------------------------------------------------------------------- bounds


def test_outputs_that_are_the_task_file_its_data_or_the_config_are_refused(tmp_path):
    """--output onto the task's data file replaced the data with output lines, --metrics onto
    the task file made it metrics JSON: only --input and --dataset were guarded."""
    (tmp_path / "test.jsonl").write_text(json.dumps({"id": 1, "prompt": "Mia has 5 apples.", "answer": 5}) + "\n")
    (tmp_path / "shots.jsonl").write_text(json.dumps({"prompt": "2 + 2", "answer": 4, "solution": "print(4)"}) + "\n")
    (tmp_path / "t.yaml").write_text(
        "data:\n  test: test.jsonl\nshots:\n  k: 1\n  data: shots.jsonl\nprompt: '{prompt}'\nvalue: program\n"
        "generator: /nonexistent\n"
    )
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    base = ("generate", "--task", tmp_path / "t.yaml", "--rounds", 0, "--no-baseline")
    for args, says in [
        (("--output", tmp_path / "test.jsonl"), "is also the task's data (test)"),
        (("--output", tmp_path / "shots.jsonl"), "is also the task's shots"),
        (
            ("--output", tmp_path / "o.jsonl", "--metrics", tmp_path / "t.yaml"),
            f"--metrics {tmp_path / 't.yaml'} is also --task",
        ),
    ]:
        assert_one_line(invoke(*base, *args), says, "writing it would destroy that")
    (tmp_path / "c.yaml").write_text("rounds: 0\n")
    assert_one_line(
        invoke(*base, "--config", tmp_path / "c.yaml", "--output", tmp_path / "c.yaml"), "--output", "is also --config"
    )
    assert {p.name: p.read_text() for p in tmp_path.iterdir() if p.name != "c.yaml"} == before


def test_an_allowed_origin_that_is_not_one_is_refused_before_models_load():
    """A CORS origin is a scheme and a host: 'example.com' would match no page's Origin header,
    and the browser client would fail with nothing said."""
    assert_one_line(
        invoke("serve", "--allowed-origins", "https://ok.example, example.com", "--generator", "/nonexistent"),
        "'example.com' is not an origin",
        "--allowed-origins",
    )


def test_waits_past_what_a_clock_can_hold_are_refused_by_their_option():
    """--batch-wait 1e10 was taken: the serve worker died of an OverflowError (in its log only)
    and every request hung while /health said ok; --request-timeout 1e10 ended in a traceback."""
    assert_one_line(
        invoke("serve", "--batch-wait", "1e10", "--generator", "/nonexistent"),
        "--batch-wait must be at most 60.0, got 10000000000.0",
    )
    assert_one_line(
        invoke("serve", "--drain-timeout", "1e10", "--generator", "/nonexistent"), "--drain-timeout must be at most"
    )
    assert_one_line(
        invoke("generate", "--task", "arithmetic", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1",
               "--generator", "m", "--request-timeout", "1e10"),
        "--request-timeout must be at most 86400.0",
    )  # fmt: skip


def test_rounds_have_one_bound_in_every_command():
    highs = {
        cmd: next(o.high for o in options_of(classes) if o.name == "rounds")
        for cmd, classes in {
            "generate": GENERATE,
            "serve": (TaskChoice, Sampling, ServeArgs, Models, ServeConfig),
        }.items()
    }
    assert highs == {"generate": 16, "serve": 16}
    assert_one_line(
        invoke("generate", "--task", "arithmetic", "--rounds", 1000000, "--generator", "/nonexistent"),
        "--rounds must be at most 16, got 1000000",
    )
    assert_one_line(
        invoke("serve", "--rounds", 17, "--generator", "/nonexistent"), "--rounds must be at most 16, got 17"
    )
    assert_one_line(
        invoke("generate", "--task", "arithmetic", "--baseline-samples", 100000, "--generator", "/nonexistent"),
        "--baseline-samples must be at most 64",
    )


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--samples", 100000, "--samples must be at most 256, got 100000"),
        ("--iterations", 10**6, "--iterations must be at most 1000"),
        ("--steps", 10**12, "--steps must be at most 10000000"),
        ("--pairs", 10**12, "--pairs must be at most 10000000"),
        ("--explore", 10**12, "--explore must be at most 10000000"),
        ("--batch-size", 10**9, "--batch-size must be at most 65536"),
    ],
)
def test_train_counts_are_bounded_before_anything_loads(option, value, message, tmp_path):
    """A training run's counts (drafts, iterations, steps, pairs, explored prompts, rows a step)
    are bounded: a typo of a few zeros is one line, not hours of drafting or memory for
    billions of pairs."""
    assert_one_line(invoke("train", "--task", "arithmetic", option, value, "--output", tmp_path / "o"), message)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["generate", "serve"])
def test_a_seed_beyond_64_bits_is_refused_before_models_load(command):
    assert_one_line(
        invoke(command, "--seed", 2**64, "--generator", "/nonexistent", "--rounds", 0),
        f"--seed must be at most {2**63 - 1}, got {2**64}",
    )


@pytest.mark.parametrize("command", ["generate", "serve"])
def test_sampled_rewrites_without_a_temperature_are_refused_in_every_command(command):
    """--correction-samples above 1 at temperature 0 would be the same rewrite N times: one line,
    before any model loads (the generator named does not exist)."""
    assert_one_line(
        invoke(
            command,
            "--task",
            "arithmetic",
            "--correction-samples",
            3,
            "--correction-temperature",
            0,
            "--generator",
            "/nonexistent",
        ),
        "--correction-samples 3 samples rewrites to choose from: it needs --correction-temperature above 0",
    )


@pytest.mark.parametrize("command", ["generate", "train"])
def test_a_limit_beyond_a_built_in_tasks_size_is_refused_at_once(command, tmp_path):
    extra = ["--output", tmp_path / "out"] if command == "train" else ["--rounds", "0"]
    result = invoke(
        command, "--task", "arithmetic", "--limit", "99999999999999999999999", "--generator", "/nonexistent", *extra
    )
    assert_one_line(
        result, "--limit 99999999999999999999999: task 'arithmetic' makes at most 100,000 records per split"
    )


@pytest.mark.parametrize("flag", ["--temperature", "--baseline-temperature", "--correction-temperature"])
@pytest.mark.parametrize("number", ["nan", "inf", "-inf"])
def test_a_number_that_is_not_finite_is_refused_by_its_flag(flag, number):
    # NaN passes every bound (nan < 0 is False), and reached the sampler after loading.
    assert_one_line(invoke("generate", *NO_MODEL, flag, number), f"{flag} must be a finite number, got {number}")


def test_a_task_files_number_that_is_not_finite_is_refused_by_its_key(tmp_path):
    path = task_file(tmp_path, TASK + "temperature: .nan\n")
    assert_one_line(invoke("generate", "--task", path, *NO_MODEL), "temperature", "must be a finite number")


@pytest.mark.parametrize("task", ["arithmetic", "concepts", "detox"])
def test_a_built_in_tasks_unknown_split_is_one_line(task):
    assert_one_line(
        invoke("generate", "--task", task, "--split", "dev", *NO_MODEL),
        "unknown split 'dev'; choose one of train, validation, test",
        "--split",
    )


def test_an_error_message_is_printed_as_written_not_as_emoji_codes(tmp_path):
    flat = assert_one_line(invoke("generate", "--task", "arithmetic", *NO_MODEL, "--value", "program:smile"))
    assert "program:smile" in flat
    missing = tmp_path / "data:cat:.jsonl"
    flat = assert_one_line(invoke("generate", "--task", "arithmetic", *NO_MODEL, "--input", missing))
    assert "data:cat:.jsonl" in flat


@pytest.mark.parametrize(
    "prompt, message",
    [
        ("'Just answer.\\n'", "names no record field, so every record would get the same prompt"),
        ("'Q: {}'", "has a field without a name ({})"),
        ("'Q: {0}'", "has a field without a name ({0})"),
        ("'{prompt:>{width}}'", "has a field inside the format of {prompt}"),
        ("'{prompt:5000000000}'", "has a width or precision over 1000 in {prompt:5000000000}"),
        ("'{prompt:.9999f}'", "has a width or precision over 1000 in {prompt:.9999f}"),
    ],
)
def test_a_prompt_template_that_cannot_lay_out_a_record_is_refused_by_its_key(tmp_path, prompt, message):
    path = task_file(
        tmp_path, f"data: {{test: test.jsonl}}\nfields: {{prompt: question}}\nprompt: {prompt}\nvalue: program\n"
    )
    assert_one_line(invoke("generate", "--task", path, *NO_MODEL), "key 'prompt'", message)


@pytest.mark.parametrize("stop", ["''", "0", "[]  # fine", "false"])
def test_a_stop_that_is_not_text_is_refused_not_taken_for_none(tmp_path, stop):
    path = task_file(tmp_path, TASK + f"stop: {stop}\n")
    result = invoke("generate", "--task", path, *NO_MODEL)
    if stop.startswith("[]"):  # an empty list is no stop string, as written
        assert "key 'stop'" not in result.output
    else:
        assert_one_line(result, "key 'stop' must be a string or a list of non-empty strings")


def test_a_csvs_ids_are_read_as_written(tmp_path):
    """Read as numbers, 001 became "1" and 1e3 "1000", so outputs no longer joined back to the
    input by id, and a 20-digit id failed the whole file."""
    from correct.tasks.data import read_file

    (tmp_path / "ids.csv").write_text("id,prompt,answer\n001,a,1\n1e3,b,2\n12345678901234567890123,c,3\n1,d,4\n")
    assert [r["id"] for r in read_file(tmp_path / "ids.csv")] == ["001", "1e3", "12345678901234567890123", "1"]
    (tmp_path / "qid.csv").write_text("qid,prompt\n007,a\n")  # an id from a column of another name
    assert read_file(tmp_path / "qid.csv", fields={"id": "qid"})[0]["id"] == "007"


def test_record_ids_from_csv_and_jsonl_are_checked_like_jsonl_ids(tmp_path):
    (tmp_path / "dup.csv").write_text("id,prompt,answer\n1,Tom has 3 cards.,3\n1,Tom has 4 cards.,4\n")
    (tmp_path / "empty.csv").write_text("id,prompt,answer\n,Tom has 3 cards.,3\n,Tom has 4 cards.,4\n")
    (tmp_path / "null.jsonl").write_text('{"id": 7, "prompt": "a"}\n{"id": null, "prompt": "b"}\n')
    generate = ["generate", "--task", "arithmetic", *NO_MODEL, "--input"]
    assert_one_line(invoke(*generate, tmp_path / "dup.csv"), "dup.csv, row 2: duplicate id '1' (row 1 has it too)")
    assert_one_line(invoke(*generate, tmp_path / "empty.csv"), "empty.csv, row 1: the id is empty")
    assert_one_line(invoke(*generate, tmp_path / "null.jsonl"), "null.jsonl:2: the id is empty")


def test_half_a_surrogate_pair_in_a_prompt_is_named_before_the_tokenizer_meets_it(tmp_path):
    (tmp_path / "in.jsonl").write_text('{"id": "s", "prompt": "caf\\u00e9 \\ud800 ok", "answer": 1}\n')
    generate = ["generate", "--task", "arithmetic", *NO_MODEL, "--input", tmp_path / "in.jsonl"]
    assert_one_line(invoke(*generate), "record 's' has a 'prompt' with half a surrogate pair", "at character 6")


def test_a_key_given_twice_in_a_task_or_config_file_is_named_by_its_line(tmp_path):
    path = task_file(tmp_path, TASK + "prompt: 'Q {prompt}'\n")
    assert_one_line(invoke("generate", "--task", path, *NO_MODEL), "task.yaml:5: key 'prompt' is given twice")
    nested = task_file(tmp_path, "data: {test: test.jsonl, test: other.jsonl}\nprompt: '{prompt}'\nvalue: program\n")
    assert_one_line(invoke("generate", "--task", nested, *NO_MODEL), "task.yaml:1: key 'test' is given twice")
    config = tmp_path / "config.yaml"
    config.write_text("rounds: 0\nseed: 1\nseed: 2\n")
    assert_one_line(invoke("generate", "--config", config, *NO_MODEL), "config.yaml:3", "key 'seed' is given twice")


def test_a_jsonl_file_with_a_byte_order_mark_is_read_as_a_csv_one_is(tmp_path):
    (tmp_path / "in.jsonl").write_bytes(b'\xef\xbb\xbf{"id": "a", "prompt": "What is 2 plus 3?", "answer": 5}\n')
    records, _ = load_records(Source(input=tmp_path / "in.jsonl"), None, 0)
    assert records[0]["id"] == "a" and records[0]["prompt"] == "What is 2 plus 3?"


def test_a_task_file_without_a_generator_is_named_as_what_lacks_it(tmp_path):
    path = task_file(tmp_path, TASK)
    assert_one_line(invoke("generate", "--task", path, "--rounds", "0"), f"--generator is needed: {path} names none")


def test_a_shipped_corrector_given_as_the_generator_is_named_by_what_gave_it(tmp_path):
    """`generator: arithmetic` in a task file (arithmetic is a corrector) was looked for on the
    hub, failed a minute later, and the error named --generator, which the user never typed."""
    path = task_file(tmp_path, TASK + "generator: arithmetic\n")
    assert_one_line(
        invoke("generate", "--task", path, "--rounds", "0"),
        f"{path}:5: key 'generator': 'arithmetic' is a corrector shipped with the package, not a generator",
    )
    assert_one_line(
        invoke("generate", "--task", path, "--generator", "general", "--rounds", "0"),
        "--generator: 'general' is a corrector shipped with the package",
    )
    train = [
        "train",
        "--task",
        path,
        "--split",
        "test",
        "--generator",
        tmp_path / "no-model",
        "--output",
        tmp_path / "o",
    ]
    assert_one_line(invoke(*train), "--generator", "no-model")  # a path typed on the command line is named by its flag
    task_file(tmp_path, TASK + f"generator: {tmp_path / 'no-model'}\n")
    assert_one_line(invoke(*train[:5], *train[7:]), f"{path}:5: key 'generator'", "no-model: no such folder")


@pytest.mark.parametrize("command", ["generate", "train"])
def test_a_split_typed_beside_an_input_file_is_refused_not_ignored(tmp_path, command):
    """`--split train --input file` (or `--dataset file`) read the whole file, not a train split,
    without a word. A split from a config file or the command's own default stays quiet; a
    `--dataset` folder or hub id has splits, and is read by them."""
    path = task_file(tmp_path, TASK)
    rows = ("--input", tmp_path / "test.jsonl", "--task", path)
    assert_one_line(invoke(command, *rows, "--split", "train", *NO_MODEL[:2]), "--split train is not read with --input")
    local = ("--dataset", tmp_path / "test.jsonl", "--task", path)  # a local file as --dataset is read whole too
    assert_one_line(
        invoke(command, *local, "--split", "train", *NO_MODEL[:2]), "--split train is not read with --dataset"
    )
    config = tmp_path / "c.yaml"
    config.write_text("split: validation\n")
    extra = NO_MODEL if command == "generate" else NO_MODEL[:2]
    result = invoke(command, *rows, "--config", config, *extra, "--output", tmp_path / "out")
    assert "--split" not in result.stderr and "/nonexistent/generator" in result.stderr  # it went on to the model


def test_a_csv_row_with_too_many_fields_is_named_by_its_line(tmp_path):
    """datasets wraps the CSV parser's error in one that names no line ("An error occurred while
    generating the dataset"); the line the parser found is what the user needs."""
    (tmp_path / "extra.csv").write_text("prompt,answer\nTom has 3 cards.,3\nMia has 2, then 1 more.,3\n")
    result = invoke("generate", "--task", "arithmetic", *NO_MODEL, "--input", tmp_path / "extra.csv")
    assert_one_line(result, "extra.csv: could not be read as csv:")
    assert "Expected 2 fields in line 3, saw 3" in result.output
    assert "error occurred while generating" not in result.output


def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path):
    """The reader renamed the second `answer` to `answer.1`, and the task scored by the first
    without a word. A header that merely leaves names empty is read as before."""
    (tmp_path / "twice.csv").write_text("\ufeffprompt,answer,answer\nTom has 3 cards.,3,4\n")
    result = invoke("generate", "--task", "arithmetic", *NO_MODEL, "--input", tmp_path / "twice.csv")
    assert_one_line(result, "twice.csv:1: the header names column 'answer' more than once")
    (tmp_path / "blank.csv").write_text("prompt,answer,,\nTom has 3 cards.,3,,\n")
    assert read_file(tmp_path / "blank.csv")[0]["answer"] == 3


@pytest.mark.parametrize(
    "key, rows, message",
    [
        (
            "prompt: 'Q: {prompt} ({unit})'",
            [{"question": "What is 2 plus 3?", "unit": "apples"}, {"question": "What is 4 plus 3?", "unit": None}],
            "task.yaml:3: key 'prompt' names the field 'unit', which record '2' of",
        ),
        ("prompt: 'Q: {prompt:.2f}'", None, "task.yaml:3: key 'prompt' cannot lay out record '1' of"),
        ("prompt: 'Q: {prompt!z}'", None, "task.yaml:3: key 'prompt' has an unknown conversion !z"),
        ("correction_prompt: '{draft!x}'", None, "task.yaml:5: key 'correction_prompt' has an unknown conversion !x"),
    ],
)
def test_a_template_that_cannot_lay_out_a_record_is_named_before_models_load(tmp_path, key, rows, message):
    """An empty cell became the text "None" in the generator's prompt; a format or conversion the
    record's value cannot take failed after the models loaded, naming neither file nor key."""
    text = TASK.replace("prompt: 'Q: {prompt}'", key) if key.startswith("prompt") else TASK + key + "\n"
    path = task_file(tmp_path, text, rows=rows or ({"question": "What is 2 plus 3?"},))
    assert_one_line(invoke("generate", "--task", path, *NO_MODEL), message)


def test_an_id_column_mapped_by_fields_names_the_records_of_a_csv_as_of_a_jsonl(tmp_path):
    """``fields: {id: qid}`` was applied to JSONL records only: a CSV's records got row numbers."""
    (tmp_path / "test.csv").write_text("qid,question\nq7,What is 2 plus 3?\nq9,What is 4 plus 3?\n")
    path = tmp_path / "task.yaml"
    path.write_text(TASK.replace("test.jsonl", "test.csv").replace("{prompt: question}", "{prompt: question, id: qid}"))
    assert [r["id"] for r in get_task(str(path)).make_split("test", None, 0)] == ["q7", "q9"]
    (tmp_path / "test.csv").write_text("qid,question\nq7,What is 2 plus 3?\nq7,What is 4 plus 3?\n")
    assert_one_line(invoke("generate", "--task", path, *NO_MODEL), "test.csv, row 2: duplicate id 'q7'")


def test_a_csv_cell_that_says_none_or_na_is_that_text_and_an_empty_one_is_empty(tmp_path):
    """pandas read None, NA, null, nan and N/A as empty cells: those answers were unlabeled, and
    a question "NA" was refused as null."""
    from correct.tasks.data import read_file

    (tmp_path / "t.csv").write_text("id,question,answer\nc1,What does print(None) print?,None\nc2,NA,NA\nc3,x,\n")
    records = read_file(tmp_path / "t.csv", required=("question",))
    assert [(r["question"], r["answer"]) for r in records] == [
        ("What does print(None) print?", "None"),
        ("NA", "NA"),
        ("x", None),
    ]


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_fields_read_the_columns_as_the_data_has_them(tmp_path, suffix):
    """``{prompt: question, instruction: prompt}`` read the question it had just put in
    ``prompt`` as the instruction; two fields could not swap."""
    from correct.tasks.data import read_file

    row = {"id": "a", "prompt": "Answer with a program.", "question": "What is 2+2?", "answer": "four"}
    path = tmp_path / f"t.{suffix}"
    if suffix == "csv":
        path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    else:
        path.write_text(json.dumps(row) + "\n")
    [rec] = read_file(path, fields={"prompt": "question", "instruction": "prompt"})
    assert (rec["prompt"], rec["instruction"]) == ("What is 2+2?", "Answer with a program.")
    [rec] = read_file(path, fields={"prompt": "answer", "answer": "prompt"})
    assert (rec["prompt"], rec["answer"]) == ("four", "Answer with a program.")


def test_a_task_of_one_data_file_never_shows_a_record_as_its_own_example(tmp_path):
    """With one file for every split, the shots file was ignored and the examples were the
    first records of that file, each shown its own solution."""
    rows = [{"question": f"What is {i} plus 1?", "solution": f"print({i} + 1)"} for i in range(4)]
    (tmp_path / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "shots.jsonl").write_text(json.dumps({"question": "What is 9 plus 9?", "solution": "print(18)"}) + "\n")
    path = tmp_path / "task.yaml"
    path.write_text(TASK.replace("{test: test.jsonl}", "all.jsonl") + "shots: {data: shots.jsonl, k: 1}\n")
    task = get_task(str(path))
    record = task.make_split("test", 1, 0)[0]
    assert few_shot_prompt(task)(record) == "Q: What is 9 plus 9?print(18)\n\nQ: What is 0 plus 1?"
    path.write_text(TASK.replace("{test: test.jsonl}", "all.jsonl"))  # examples from split 'validation': that file
    assert_one_line(
        invoke("generate", "--task", path, "--shots", 2, *NO_MODEL),
        "key 'data' is one file for every split",
        "key 'shots.data'",
        "(option --shots)",
    )


def test_examples_from_the_test_file_by_its_path_are_not_its_own_problems(tmp_path):
    """``shots: {data: test.jsonl}`` is the file the test split names: its first problem was
    shown its own solution, where ``shots: {data: test}`` skipped it."""
    from correct.tasks.task import unshown

    rows = [{"question": f"What is {i} plus 1?", "solution": f"print({i} + 1)"} for i in range(4)]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for shots in ("test.jsonl", "./test.jsonl", "test"):
        (tmp_path / "task.yaml").write_text(TASK + f"shots: {{data: {shots}, k: 1}}\n")
        task = get_task(str(tmp_path / "task.yaml"))
        assert [r["question"] for r in unshown(task, "test", None)] == [r["question"] for r in rows[1:]], shots
    (tmp_path / "shots.jsonl").write_text(json.dumps(rows[0]) + "\n")  # a copy is another file: not skipped
    (tmp_path / "task.yaml").write_text(TASK + "shots: {data: shots.jsonl, k: 1}\n")
    assert len(unshown(get_task(str(tmp_path / "task.yaml")), "test", None)) == 4


def test_a_stop_string_the_layout_begins_with_is_not_added_after_each_example(tmp_path):
    """``stop: ["Q:", ...]`` before a layout "Q: {prompt}": each example ended "Q:", so the
    prompt read "print(1)Q:Q: What is ..."; the next stop string ends it instead."""
    rows = [{"question": f"What is {i} plus 1?", "solution": f"print({i} + 1)"} for i in range(3)]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for stop, shown in (('["Q:", "\\n\\n"]', "\n\n"), ('["Q:"]', "\n\n"), ('["\\n", "Q:"]', "\n")):
        (tmp_path / "task.yaml").write_text(TASK + f"shots: {{data: test, k: 1}}\nstop: {stop}\n")
        task = get_task(str(tmp_path / "task.yaml"))
        prompt = few_shot_prompt(task)(task.make_split("test", None, 0)[1])
        assert prompt == f"Q: What is 0 plus 1?print(0 + 1){shown}Q: What is 1 plus 1?", stop


@pytest.mark.parametrize(
    "value, needle", [("json", "has no `schema`"), ("constraints", "has no `concepts`"), ("rules", "has no `checks`")]
)
def test_records_a_value_cannot_score_are_named_before_any_model_loads(tmp_path, value, needle):
    """They were found once the models had loaded and every draft was written (minutes, with
    SmolLM2); train had claimed its folder by then, and a rerun with the value fixed was refused."""
    path = task_file(tmp_path, TASK.replace("value: program", f"value: {value}"))
    assert_one_line(invoke("generate", "--task", path, *NO_MODEL), needle)
    out, gen = tmp_path / "trained", tmp_path / "gen"
    gen.mkdir()
    (gen / "config.json").write_text("{}")  # a model folder by its look; it would fail to load
    done = invoke("train", "--task", path, "--split", "test", "--generator", gen, "--output", out)
    assert done.exit_code == 2 and needle in " ".join(done.stderr.split())
    assert not (out / "run.json").exists()


def test_a_model_the_task_file_names_by_a_relative_path_is_found_beside_it(tmp_path, monkeypatch):
    """Data and value are read from the task file's folder; its generator and corrector were
    looked for from the working directory (a run from elsewhere failed at model load)."""
    (tmp_path / "gen").mkdir()
    path = task_file(tmp_path, TASK + "generator: gen\ncorrector: corr\n")
    monkeypatch.chdir(tmp_path.parent)
    task = get_task(str(path))
    assert (task.generator, task.corrector) == (str(tmp_path / "gen"), "corr")  # no ./corr anywhere: as written
    path.write_text(TASK + "generator: smollm2\n")
    assert get_task(str(path)).generator == "smollm2"


def test_shots_beyond_a_built_in_tasks_size_are_refused_at_once():
    # The validation split was made record by record, 10^11 of them, filling memory.
    assert_one_line(
        invoke("generate", "--task", "arithmetic", "--shots", 10**11, *NO_MODEL),
        "100,000,000,000 solved examples",
        "at most 100,000 records a split (option --shots)",
    )


def test_a_solved_example_without_its_solution_is_named(tmp_path):
    """An empty cell of the shots file's solution column was shown as the solution "None"."""
    (tmp_path / "shots.csv").write_text("question,solution\nWhat is 1 plus 1?,print(2)\nWhat is 2 plus 2?,\n")
    path = task_file(tmp_path, TASK + "shots: {data: shots.csv, k: 2}\n")
    assert_one_line(
        invoke("generate", "--task", path, *NO_MODEL), "solved example '2' of 'shots.csv' has no 'solution'"
    )


@pytest.mark.parametrize("stop", ["['\\n\\n', 'Question:']", "\\n"])
def test_a_stop_string_of_an_escape_yaml_keeps_as_written_is_refused(tmp_path, stop):
    """In single quotes or unquoted, YAML keeps '\\n' as a backslash and an n: a stop string
    the drafts do not hold, so each ran on to its token budget."""
    path = task_file(tmp_path, TASK + f"stop: {stop}\n")
    assert_one_line(invoke("generate", "--task", path, *NO_MODEL), "task.yaml:5: key 'stop' holds a backslash")
    path.write_text(TASK + 'stop: ["\\n\\n", "Question:"]\n')
    assert get_task(str(path)).stop == ("\n\n", "Question:")


@pytest.mark.parametrize("name, text", [("in.csv", "prompt,answer\n"), ("in.json", "[]\n")])
def test_a_file_of_no_rows_says_so(tmp_path, name, text):
    """A CSV of its header alone, or a JSON list of nothing, has no records (datasets said
    'Instruction "train" corresponds to no data!')."""
    (tmp_path / name).write_text(text)
    assert_one_line(
        invoke("generate", "--input", tmp_path / name, "--value", "program", *NO_MODEL),
        f"{name}: no records (the file is empty)",
    )


def test_a_resume_into_another_settings_output_or_an_unwritable_path_is_refused_before_models_load(tmp_path):
    """The baseline a resumed output was written with, and whether its paths can be written
    at all, are checked before the generator loads (here it cannot: any later check would
    be its error instead)."""
    (tmp_path / "in.jsonl").write_text('{"id": "a", "prompt": "1+1"}\n')
    line = {"id": "a", "prompt": "1+1", "rounds": [{"round": 0, "text": "2", "value": None}], "final": "2"}
    (tmp_path / "out.jsonl").write_text(json.dumps(line) + "\n")
    base = ["generate", "--input", tmp_path / "in.jsonl", "--value", "program", "--generator", "/nonexistent/g"]
    resumed = invoke(*base, "--rounds", 0, "--output", tmp_path / "out.jsonl", "--resume")
    assert_one_line(resumed, "out.jsonl:1: written without the baseline, and this run asks for one (vote@1)")
    unwritable = invoke(
        *base, "--rounds", 0, "--no-baseline", "--output", tmp_path / "o.jsonl", "--metrics", "/proc/m.json"
    )
    assert_one_line(unwritable, "/proc/m.json: cannot be written")


def test_sft_takes_a_numeric_solution_as_its_digits_and_refuses_a_missing_one(tmp_path):
    """A CSV's numeric solution column ended --method sft in "can only concatenate str (not
    int) to str"; a null solution too."""
    (tmp_path / "n.jsonl").write_text('{"prompt": "1+1=", "solution": 2}\n{"prompt": "2+2=", "solution": 4}\n')
    done = invoke("train", "--method", "sft", "--input", tmp_path / "n.jsonl", "--iterations", 1, "--steps", 2,
                  "--batch-size", 2, "--output", tmp_path / "g")  # fmt: skip
    assert done.exit_code == 0, done.output
    (tmp_path / "z.jsonl").write_text(
        '{"id": "q1", "prompt": "1+1=", "solution": "2"}\n{"id": "q2", "prompt": "2+2=", "solution": null}\n'
    )
    assert_one_line(
        invoke("train", "--method", "sft", "--input", tmp_path / "z.jsonl", "--output", tmp_path / "h"),
        "record 'q2' has no 'solution'",
    )


def test_a_fields_mapping_from_a_column_no_record_has_is_said(tmp_path, caplog):
    """`fields: {answer: reslut}` left every record unlabeled without a word."""
    from correct.tasks.data import read_file

    (tmp_path / "fm.jsonl").write_text('{"question": "What is 2+3?", "result": 5}\n')
    (tmp_path / "fm.csv").write_text("question,result\nWhat is 2+3?,5\n")
    for name in ("fm.jsonl", "fm.csv"):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="correct"):
            [record] = read_file(tmp_path / name, fields={"prompt": "question", "answer": "reslut"})
        assert "answer" not in record
        assert f"{name}: no record has the column 'reslut' that key 'fields' maps 'answer' from" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="correct"):
            [record] = read_file(tmp_path / name, fields={"prompt": "question", "answer": "result"})
        assert record["answer"] == 5 and "key 'fields'" not in caplog.text
    # A file in the plain shape, its own `prompt`, given to a task that maps the prompt from another column:
    # read, and said as it is (the warning said the records had no prompt).
    (tmp_path / "plain.jsonl").write_text('{"prompt": "What is 2+3?"}\n{"prompt": "What is 1+1?"}\n')
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="correct"):
        records = read_file(tmp_path / "plain.jsonl", fields={"prompt": "question"})
    assert [r["prompt"] for r in records] == ["What is 2+3?", "What is 1+1?"]
    assert "maps 'prompt' from; 2 of its 2 records' own 'prompt' is read instead" in caplog.text


def test_a_task_of_one_data_file_is_not_measured_on_its_training_records(tmp_path, caplog):
    """With `data: all.jsonl` every split is the same records: the end-of-training measurement
    and `correct card` scored the training records and called them held out."""
    from correct.tasks import TaskError, held_out
    from correct.tasks.task import held_apart

    (tmp_path / "all.jsonl").write_text(
        "".join(json.dumps({"prompt": f"{i} + 1", "answer": i + 1}) + "\n" for i in range(6))
    )
    (tmp_path / "one.yaml").write_text("data: all.jsonl\nprompt: '{prompt}'\nvalue: program\n")
    (tmp_path / "split.yaml").write_text(
        "data: {train: all.jsonl, validation: all.jsonl}\nprompt: '{prompt}'\nvalue: program\n"
    )
    one, split = get_task(str(tmp_path / "one.yaml")), get_task(str(tmp_path / "split.yaml"))
    with caplog.at_level(logging.WARNING, logger="correct"):
        assert not held_apart(one) and held_apart(split)
    assert "key 'data' is one file for every split, so there are no held-out records" in caplog.text
    with pytest.raises(TaskError, match="its validation records are its training records"):
        held_out(one, 4)
    assert len(held_out(split, 4)) == 4  # two files named, even the same one: the user's own split
