"""--shots: solved examples from the validation split before each generator prompt."""

from __future__ import annotations

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
