"""A user's task as a YAML file: every key works as documented, the data goes through
`datasets` (local files by format, dataset folders), and every bad file is one line naming
the file and the key, exit 2, before any model is loaded."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from correct.cli import app
from correct.tasks import TaskError, few_shot_prompt, get_task, held_out
from correct.tasks.file import task_file_text

runner = CliRunner()

QUESTIONS = ["What is 2 plus 3?", "What is 7 minus 4?", "What is 6 times 2?", "What is 9 plus 1?"]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def task_dir(tmp_path) -> Path:
    """A task whose data names the question `question`: train in JSONL, test in CSV,
    validation in parquet, three shots in their own file."""
    import datasets

    rows = [
        {
            "question": q,
            "answer": str(eval(q[8:-1].replace("plus", "+").replace("minus", "-").replace("times", "*"))),
            "solution": f"print({q[8:-1].replace('plus', '+').replace('minus', '-').replace('times', '*')})",
            "unit": "apples",
        }
        for q in QUESTIONS
    ]
    write_jsonl(tmp_path / "train.jsonl", rows)
    (tmp_path / "test.csv").write_text(
        "id,question,answer,unit\n"
        + "".join(f'c{i},"{r["question"]}",{r["answer"]},pears\n' for i, r in enumerate(rows))
    )
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "validation.parquet"))
    write_jsonl(
        tmp_path / "shots.jsonl", [{"question": "What is 1 plus 1?", "solution": "print(1 + 1)", "unit": "nuts"}] * 3
    )
    (tmp_path / "task.yaml").write_text(TASK)
    return tmp_path


TASK = """\
description: sums as programs
data:
  train: train.jsonl
  test: test.csv
  validation: validation.parquet
fields:
  prompt: question
prompt: "Question: {prompt} ({unit})\\nProgram:\\n"
shots:
  data: shots.jsonl
  k: 2
  target: solution
stop: ["\\n\\n", "Question:"]
max_new_tokens: 20
value: program
generator: some-generator
"""


def test_every_key_works_as_written(task_dir):
    task = get_task(str(task_dir / "task.yaml"))
    assert (task.name, task.description, task.value, task.stop, task.max_new_tokens) == (
        "task",
        "sums as programs",
        "program",
        ("\n\n", "Question:"),
        20,
    )
    train = task.make_split("train", None, 0)
    assert [r["prompt"] for r in train] == QUESTIONS and [r["id"] for r in train] == ["1", "2", "3", "4"]
    test = task.make_split("test", 2, 0)  # csv, through datasets; ids from the file
    assert [(r["id"], r["prompt"], str(r["answer"])) for r in test] == [
        ("c0", QUESTIONS[0], "5"),
        ("c1", QUESTIONS[1], "3"),
    ]
    assert task.make_split("validation", None, 0)[3]["prompt"] == QUESTIONS[3]  # parquet
    assert task.format_prompt(test[0]) == "Question: What is 2 plus 3? (pears)\nProgram:\n"
    prompt = few_shot_prompt(task)(test[0])  # shots.k from the file, from the shots file
    shot = "Question: What is 1 plus 1? (nuts)\nProgram:\nprint(1 + 1)\n\n"
    assert prompt == shot * 2 + task.format_prompt(test[0])
    assert few_shot_prompt(task, 0)(test[0]) == task.format_prompt(test[0])  # --shots 0 overrides
    assert [r["prompt"] for r in held_out(task, 2)] == QUESTIONS[:2]  # shots come from their own file: nothing skipped


def test_a_dataset_folder_with_a_config(tmp_path):
    # A name no datasets cache holds: "ds" was answered from a machine's cache by name, so the
    # test passed even where the folder beside the task file was not looked for.
    name = f"ds-{uuid.uuid4().hex}"
    folder = tmp_path / name
    folder.mkdir()
    write_jsonl(folder / "test.jsonl", [{"q": "a?", "answer": "1"}, {"q": "b?", "answer": "2"}])
    (tmp_path / "t.yaml").write_text(
        f"data: {{path: {name}}}\nfields: {{prompt: q}}\nprompt: '{{prompt}}'\nvalue: program\n"
    )
    task = get_task(str(tmp_path / "t.yaml"))
    assert [r["prompt"] for r in task.make_split("test", None, 0)] == ["a?", "b?"]


BAD = [
    ("data: {test: test.csv}\nprompt: '{prompt}'\n", "task.yaml: missing key 'value'"),
    (
        "data: {test: test.csv}\nprompt: '{prompt}'\nvalue: program\ntemplate: x\n",
        "task.yaml:4: unknown key 'template'",
    ),
    (
        "data: {test: nope.csv}\nprompt: '{prompt}'\nvalue: program\n",
        "task.yaml:1: key 'data.test' names 'nope.csv', which does not exist",
    ),
    (
        "data: {test: test.txt}\nprompt: '{prompt}'\nvalue: program\n",
        "key 'data.test' names 'test.txt', which is not a",
    ),
    (
        "data: {test: test.csv}\nfields: {prompt: question}\nprompt: '{prompt} in {colour}'\nvalue: program\n",
        "task.yaml:3: key 'prompt' names the field 'colour', which",
    ),
    (
        "data: {test: test.csv}\nfields: {prompt: query}\nprompt: '{prompt}'\nvalue: program\n",
        "task.yaml:2: key 'fields' takes 'prompt' from column 'query', which",
    ),
    (
        "data: {test: test.csv}\nprompt: '{prompt}'\nvalue: program\n",
        "test.csv has no 'prompt' column, the question the corrector sees; map one with key 'fields'",
    ),
    (
        "data: {test: test.csv}\nfields: {prompt: question}\nprompt: '{prompt}'\nvalue: program\nmax_new_tokens: -3\n",
        "task.yaml:5: key 'max_new_tokens' must be at least 1",
    ),
    (
        "data: {test: test.csv}\nfields: {prompt: question}\nprompt: '{prompt}'\nvalue: program\nstop: 3\n",
        "task.yaml:5: key 'stop' must be",
    ),
    ("data: {test: test.csv}\nprompt: [1\n", "task.yaml:3: not valid YAML"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_task_files_name_the_file_and_key(task_dir, text, message):
    (task_dir / "task.yaml").write_text(text)
    with pytest.raises(TaskError) as e:
        get_task(str(task_dir / "task.yaml")).make_split("test", None, 0)
    assert message in str(e.value)
    result = runner.invoke(
        app, ["generate", "--task", str(task_dir / "task.yaml"), "--generator", "x", "--rounds", "0"]
    )
    assert result.exit_code == 2 and result.output.startswith("error: ") and message in " ".join(result.output.split())


def test_a_split_the_file_does_not_have(task_dir):
    result = runner.invoke(app, ["generate", "--task", str(task_dir / "task.yaml"), "--split", "dev", "--rounds", "0"])
    assert result.exit_code == 2
    assert "task.yaml:2: key 'data' has no split 'dev' (splits: train, test, validation)" in " ".join(
        result.output.split()
    )


def test_bad_task_files_fail_before_any_model_loads(task_dir):
    (task_dir / "task.yaml").write_text(BAD[4][0])
    code = (
        "import sys\nfrom correct.cli import app\ntry:\n    app(['generate', '--task', sys.argv[1], '--rounds', '0'])\n"
        "except SystemExit as e:\n    assert e.code == 2\nprint(sorted(m for m in ('torch', 'transformers') if "
        "m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(task_dir / "task.yaml")], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stderr
    assert "key 'prompt' names the field 'colour'" in done.stderr


def test_input_replaces_the_data_but_keeps_mapping_prompt_shots_and_stops(task_dir, tiny_lm_dir, tmp_path):
    """New unlabeled questions in the same columns: the task file's mapping, prompt, shots and
    stop strings still apply; only the data is replaced."""
    new = write_jsonl(tmp_path / "new.jsonl", [{"question": "What is 4 plus 4?", "unit": "figs", "answer": "8"}])
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app,
        [
            "generate",
            "--task",
            str(task_dir / "task.yaml"),
            "--input",
            str(new),
            "--generator",
            str(tiny_lm_dir),
            "--rounds",
            "0",
            "--no-baseline",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    line = json.loads(out.read_text())
    assert line["prompt"] == "What is 4 plus 4?"  # the question, never the few-shot header
    assert "\n\n" not in line["rounds"][0]["text"]  # cut at the task's stop strings
    missing = write_jsonl(tmp_path / "bad.jsonl", [{"question": "What is 4 plus 4?"}])
    result = runner.invoke(
        app, ["generate", "--task", str(task_dir / "task.yaml"), "--input", str(missing), "--rounds", "0"]
    )
    assert result.exit_code == 2 and "key 'prompt' names the field 'unit'" in " ".join(result.output.split())


def test_show_prints_any_task_as_a_task_file(task_dir):
    for name in ("arithmetic", "concepts", "detox"):
        result = runner.invoke(app, ["tasks", "--show", name])
        assert result.exit_code == 0
        spec, task = yaml.safe_load(result.stdout), get_task(name)
        assert (spec["prompt"], tuple(spec["stop"]), spec["value"], spec["max_new_tokens"]) == (
            task.prompt,
            task.stop,
            task.value,
            task.max_new_tokens,
        )
    shown = runner.invoke(app, ["tasks", "--show", str(task_dir / "task.yaml")]).stdout
    (task_dir / "again.yaml").write_text(shown)
    assert task_file_text(get_task(str(task_dir / "again.yaml"))) == task_file_text(
        get_task(str(task_dir / "task.yaml"))
    )


@pytest.mark.parametrize("flag, sent", [("chat_template: true\n", {"chat_template": True}), ("", {})])
def test_the_chat_template_key_reaches_the_generator(task_dir, monkeypatch, flag, sent):
    """`chat_template: true` is parsed and handed to the generator's backend (the hf backend
    then lays each prompt out as one user message; tests/generators/test_hf.py)."""
    import correct.generators
    from correct.generators import GeneratorError

    (task_dir / "task.yaml").write_text(TASK + flag)
    assert get_task(str(task_dir / "task.yaml")).chat_template is bool(sent)
    asked = {}

    def load_generator(name, backend="hf", **options):
        asked.update(options)
        raise GeneratorError("stopped before loading")

    monkeypatch.setattr(correct.generators, "load_generator", load_generator)
    result = runner.invoke(app, ["generate", "--task", str(task_dir / "task.yaml"), "--rounds", "0", "--no-baseline"])
    assert result.exit_code == 2 and "stopped before loading" in result.output, result.output
    assert {k: v for k, v in asked.items() if k == "chat_template"} == sent


def test_a_chat_template_that_is_not_a_flag_names_the_key(task_dir):
    (task_dir / "task.yaml").write_text(TASK + "chat_template: yes please\n")
    with pytest.raises(TaskError, match=r"task.yaml:\d+: key 'chat_template' must be true or false"):
        get_task(str(task_dir / "task.yaml"))
