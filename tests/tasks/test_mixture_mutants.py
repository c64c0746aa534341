"""Behaviour of tasks/mixture.py that a second mutation audit found unheld: each test here
failed on a one-line change of the module that the rest of the suite let through (a mixture
file named .yml, a built-in task named beside a file of its name, the range of a mixture's value).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from correct.tasks import TaskError, get_task
from correct.tasks.mixture import MixtureValue, is_mixture, load_mixture
from correct.values import CallableValue


def write_task(folder: Path, name: str) -> Path:
    (folder / f"{name}.jsonl").write_text(
        "".join(json.dumps({"id": f"q{i}", "prompt": f"q {i}"}) + "\n" for i in range(3))
    )
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\ndata: {name}.jsonl\nprompt: 'Q: {{prompt}}'\nvalue: program\n")
    return path


def value(name: str, low: float | None = 0.0, high: float | None = 1.0) -> CallableValue:
    v = CallableValue(lambda records, outputs: [high] * len(outputs), name)
    v.min_value, v.max_value = low, high
    return v


def test_a_mixture_file_named_yml_is_a_mixture(tmp_path):
    write_task(tmp_path, "a")
    write_task(tmp_path, "b")
    (tmp_path / "mix.yml").write_text("mixture: [a.yaml, b.yaml]\n")
    assert is_mixture(str(tmp_path / "mix.yml"))
    assert not is_mixture(str(tmp_path / "a.yaml"))  # a task file is not one
    assert [t.name for t in load_mixture(tmp_path / "mix.yml", get_task).tasks] == ["a", "b"]


def test_a_built_in_task_is_taken_by_its_name_though_a_file_beside_the_mixture_has_it(tmp_path):
    """Only a task *file* (.yaml/.yml) is read from beside the mixture: an entry ``arithmetic``
    is the built-in task, whatever else lies in the folder under that name."""
    write_task(tmp_path, "a")
    (tmp_path / "arithmetic").write_text("notes on the arithmetic task\n")
    path = tmp_path / "mix.yaml"
    path.write_text("mixture: [arithmetic, a.yaml]\n")
    m = load_mixture(path, get_task)
    assert [t.name for t in m.tasks] == ["arithmetic", "a"]
    assert m.tasks[0] == get_task("arithmetic")


def test_a_mixtures_value_spans_the_lowest_of_its_tasks(tmp_path):
    write_task(tmp_path, "a")
    write_task(tmp_path, "b")
    path = tmp_path / "mix.yaml"
    path.write_text("mixture: [a.yaml, b.yaml]\n")
    m = load_mixture(path, get_task)
    mixed = MixtureValue(m, [value("a", low=0.0), value("b", low=-2.0)])
    assert (mixed.min_value, mixed.max_value) == (-2.0, 1.0)
    assert MixtureValue(m, [value("a", low=-1.0), value("b", low=0.5)]).min_value == -1.0


def test_a_task_whose_value_is_unbounded_below_mixes_and_an_unbounded_best_is_named(tmp_path):
    """A value function may say ``min_value = None`` (unbounded, values/registry.py): the
    mixture's value was a TypeError comparing None with a number; and a task whose best score
    is unbounded beside one whose is 1 was refused with a TypeError formatting the refusal."""
    write_task(tmp_path, "a")
    write_task(tmp_path, "b")
    path = tmp_path / "mix.yaml"
    path.write_text("mixture: [a.yaml, b.yaml]\n")
    m = load_mixture(path, get_task)
    assert MixtureValue(m, [value("a"), value("b", low=None)]).min_value is None
    with pytest.raises(TaskError, match=r"different best scores \(a: 1, b: unbounded\)"):
        MixtureValue(m, [value("a"), value("b", high=None)])
