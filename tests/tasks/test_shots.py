"""--shots: solved examples from the validation split before each generator prompt."""

from __future__ import annotations

import json

import pytest

from correct.tasks import TASKS, Task, TaskError, few_shot_prompt


def test_examples_come_from_validation_and_end_like_an_answer():
    task = TASKS["arithmetic"]
    record = task.make_split("test", 1, 0)[0]
    shown = task.make_split("validation", 2, 0)
    text = few_shot_prompt(task, 2)(record)
    assert text.endswith(task.format_prompt(record))
    head = text[: -len(task.format_prompt(record))]
    assert head == "".join(task.format_prompt(r) + r["solution"] + "\n\n" for r in shown)
    assert record["prompt"] not in head
    assert few_shot_prompt(task, 0) == task.format_prompt


def test_concepts_examples_end_at_the_line_break():
    task = TASKS["concepts"]
    record = task.make_split("test", 1, 0)[0]
    text = few_shot_prompt(task, 3)(record)
    assert text.count("\n" + task.format_prompt(record).split("\n")[0]) <= 1
    assert len(text.splitlines()) == 3 * 2 + len(task.format_prompt(record).splitlines())


def test_a_task_without_solutions_cannot_show_examples():
    base = TASKS["arithmetic"]
    bare = Task(
        **{**base.__dict__, "name": "bare", "make_split": lambda split, n, seed: [{"id": "1", "prompt": "q"}] * n}
    )
    with pytest.raises(TaskError, match="task 'bare' has no reference solutions") as e:
        few_shot_prompt(bare, 2)
    assert e.value.option == "shots"  # the command line names its flag


def test_held_out_records_skip_the_examples_shown():
    from correct.tasks import held_out

    task = TASKS["arithmetic"]
    records = held_out(task, 5, shots=2)
    head = few_shot_prompt(task, 2)({"prompt": "Q?"})
    assert len(records) == 5 and records == task.make_split("validation", 7, 0)[2:]
    assert not any(r["prompt"] in head for r in records)


def test_a_split_scored_with_its_own_examples_starts_after_them(tmp_path):
    """`generate --split validation --shots 2` scores the split the examples come from: its
    first records were shown with their own solutions. It starts after them, as the held-out
    records of `train` do, and still gives as many records as asked for."""
    from typer.testing import CliRunner

    from correct.cli import app
    from correct.corrector.app.options import Source, load_records
    from correct.tasks import shot_records

    shown = {r["id"] for r in shot_records(TASKS["arithmetic"], 2, 0)}
    records, _ = load_records(Source(split="validation", limit=3), "arithmetic", 0, shots=2)
    assert len(records) == 3 and not shown & {r["id"] for r in records}
    same, _ = load_records(Source(split="test", limit=3), "arithmetic", 0, shots=2)
    assert same == TASKS["arithmetic"].make_split("test", 3, 0)  # another split: as it was
    out = tmp_path / "out.jsonl"
    argv = ["generate", "--task", "arithmetic", "--split", "validation", "--shots", "2", "--limit", "3"]
    result = CliRunner().invoke(app, [*argv, "--rounds", "0", "--no-baseline", "--output", str(out)])
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in written] == [r["id"] for r in records]


@pytest.mark.parametrize("shots_from", ["train", "all.jsonl"])
def test_a_split_sharing_the_examples_file_starts_after_them(tmp_path, shots_from):
    """A task file whose train and test splits name one file, with its examples from `train`
    (by the split's name): the test split showed its first problems their own solutions, since
    the examples were matched to a file only when named as one. An --input of that file too."""
    from correct.corrector.app.options import Source, load_records

    rows = [
        {"id": f"r{i}", "prompt": f"{i} + 1", "answer": str(i + 1), "solution": f"print({i} + 1)"} for i in range(6)
    ]
    (tmp_path / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = tmp_path / "t.yaml"
    task.write_text(
        "data: {train: all.jsonl, test: all.jsonl}\nprompt: 'Q: {prompt}'\nvalue: program\n"
        f"shots: {{data: {shots_from}, k: 2}}\n"
    )
    for source in (Source(split="test"), Source(input=tmp_path / "all.jsonl")):
        records, _ = load_records(source, str(task), 0)
        assert [r["id"] for r in records] == ["r2", "r3", "r4", "r5"], source
    records, _ = load_records(Source(split="test"), str(task), 0, shots=0)  # none shown: all of them
    assert len(records) == 6
