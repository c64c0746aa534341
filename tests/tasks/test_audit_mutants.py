"""Behaviour of mixtures and task files that no other test pinned down: each test here failed
against a plausible change of tasks/mixture.py or tasks/file.py (a flipped comparison, a dropped
check) that the rest of the suite let through."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from correct.tasks import TaskError, get_task
from correct.tasks.file import task_file_text
from correct.tasks.mixture import MixtureValue, group, load_mixture
from correct.values import CallableValue, Score


def write_task(folder: Path, name: str, ids=("q0", "q1", "q2"), extra: str = "") -> Path:
    """A task file of a few questions in one file, with the given ids."""
    rows = "".join(json.dumps({"id": i, "prompt": f"question {i}"}) + "\n" for i in ids)
    (folder / f"{name}.jsonl").write_text(rows)
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\ndata: {name}.jsonl\nprompt: 'Q: {{prompt}}'\nvalue: program\n{extra}")
    return path


def mixture_of(folder: Path, text: str, get=get_task):
    path = folder / "mix.yaml"
    path.write_text(text)
    return load_mixture(path, get)


# --------------------------------------------------------------------------- mixtures


def test_a_records_own_id_may_hold_a_slash(tmp_path):
    """Ids such as HumanEval's "HumanEval/0": the task is what comes before the first slash."""
    write_task(tmp_path, "code", ids=("HumanEval/0", "HumanEval/1"))
    write_task(tmp_path, "sums")
    m = mixture_of(tmp_path, "mixture: [code.yaml, sums.yaml]\n")
    records = m.records("test", None, 0)
    assert [r["id"] for r in records[:2]] == ["code/HumanEval/0", "code/HumanEval/1"]
    assert group("code/HumanEval/0") == "code" and m.task_of(records[0]).name == "code"
    a = CallableValue(lambda rs, outs: [Score(1.0, "code")] * len(outs), "a")
    b = CallableValue(lambda rs, outs: [Score(0.0, "sums")] * len(outs), "b")
    scores = MixtureValue(m, [a, b])(records, [""] * len(records))
    assert [s.feedback for s in scores] == ["code", "code", "sums", "sums", "sums"]


def test_a_tasks_size_bounds_what_a_mixture_asks_of_it(tmp_path):
    """A task that makes its records in Python holds at most max_records a split: as many is
    fine, one more is refused by the mixture file before anything is made."""
    made = []

    def small(name):
        task = get_task("arithmetic")

        def make_split(split, n, seed):
            made.append(n)
            return [{"id": str(i), "prompt": "1 + 1"} for i in range(n)]

        return replace(task, name=name, max_records=3, make_split=make_split)

    m = mixture_of(tmp_path, "mixture: [one, two]\nlimit: 3\n", small)
    assert len(m.records("train", None, 0)) == 6
    with pytest.raises(TaskError, match=r"mix.yaml: task 'one' holds at most 3 records a split, asked for 4"):
        m.records("train", 4, 0)
    assert made == [3, 3]  # nothing made for the refused ask


def test_a_task_without_records_in_the_split_is_named(tmp_path):
    def get(name):
        rows = [{"id": "0", "prompt": "1 + 1"}] if name == "one" else []
        return replace(get_task("arithmetic"), name=name, make_split=lambda split, n, seed: rows)

    m = mixture_of(tmp_path, "mixture: [one, two]\n", get)
    with pytest.raises(TaskError, match=r"mix.yaml: task 'two' has no records in split 'train'"):
        m.records("train", None, 0)


def test_a_mixture_file_may_describe_itself(tmp_path):
    write_task(tmp_path, "a")
    write_task(tmp_path, "b")
    m = mixture_of(tmp_path, "description: two small tasks\nmixture: [a.yaml, b.yaml]\n")
    assert [t.name for t in m.tasks] == ["a", "b"]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "mixture: [a.yaml, {limit: 3}]\n",
            r"mix.yaml:1: mixture entry 2: an entry is a task, or a mapping with 'task'",
        ),
        ("mixture: [a.yaml, inner.yaml]\n", r"mix.yaml:1: mixture entry 2: \S*inner.yaml is itself a mixture"),
        ("mixture: [a.yaml, b.yaml]\nlimit: true\n", r"mix.yaml:2: key 'limit' is a positive whole number.*got True"),
        (
            "mixture:\n  - a.yaml\n  - {task: b.yaml, limit: true}\n",
            r"mix.yaml:3: mixture entry 2: key 'limit of entry 2' is a positive whole number",
        ),
        ("mixture: [a.yaml, slash.yaml]\n", r"mix.yaml: task name 'x/y' holds '/', which mixture ids use"),
    ],
)
def test_a_mixture_entry_that_cannot_be_a_task_of_it_is_named(tmp_path, text, message):
    write_task(tmp_path, "a")
    write_task(tmp_path, "b")
    write_task(tmp_path, "slash").write_text("name: x/y\ndata: slash.jsonl\nprompt: '{prompt}'\nvalue: program\n")
    (tmp_path / "inner.yaml").write_text("mixture: [a.yaml, b.yaml]\n")
    with pytest.raises(TaskError, match=message):
        mixture_of(tmp_path, text)


def test_a_mixture_needs_references_unless_every_tasks_value_is_reference_free(tmp_path):
    write_task(tmp_path, "a")
    write_task(tmp_path, "b")
    m = mixture_of(tmp_path, "mixture: [a.yaml, b.yaml]\n")
    free, bound = (CallableValue(lambda rs, outs: [1.0] * len(outs), n) for n in ("free", "bound"))
    free.reference_free, bound.reference_free = True, False
    assert not MixtureValue(m, [free, bound]).reference_free
    assert not MixtureValue(m, [bound, free]).reference_free
    assert MixtureValue(m, [free, free]).reference_free


def test_closing_a_mixtures_value_closes_every_tasks_value(tmp_path):
    write_task(tmp_path, "a")
    write_task(tmp_path, "b")
    m = mixture_of(tmp_path, "mixture: [a.yaml, b.yaml]\n")
    closed = []
    values = [CallableValue(lambda rs, outs: [1.0] * len(outs), n) for n in ("a", "b")]
    for v in values:
        v.close = lambda v=v: closed.append(v.name)
    MixtureValue(m, values).close()
    assert closed == ["a", "b"]


# --------------------------------------------------------------------------- task files


def task_with(folder: Path, extra: str) -> Path:
    write_task(folder, "t")
    path = folder / "t.yaml"
    path.write_text(path.read_text() + extra)
    return path


@pytest.mark.parametrize(
    "extra, message",
    [
        # 0 would have been read as "not given" and trained at 1.0
        ("temperature: 0\n", r"t.yaml:5: key 'temperature' must be at least 0.01, got 0"),
        ("min_gain: -0.5\n", r"t.yaml:5: key 'min_gain' must be at least 0.0, got -0.5"),
        ("max_new_tokens: 2.5\n", r"t.yaml:5: key 'max_new_tokens' must be an integer, got 2.5"),
        ("shots: {data: t.jsonl, k: 1, n: 2}\n", r"t.yaml:5: key 'shots' must be a mapping of data, k, target"),
        ("shots: {data: t.jsonl, k: -1}\n", r"t.yaml:5: key 'shots.k' must be at least 0, got -1"),
        # without {draft} the generator would rewrite a draft it is never shown
        ("correction_prompt: '{prompt} {feedback}'\n", r"t.yaml:5: key 'correction_prompt' must name \{draft\}"),
        # a single data file names no splits: the shots file is still looked for when the file is read
        ("shots: {data: nope.jsonl, k: 1}\n", r"t.yaml:5: key 'shots.data' names 'nope.jsonl', which does not exist"),
        ("fields: {prompt: 3}\n", r"t.yaml:5: key 'fields' must map record fields to column names"),
    ],
)
def test_a_task_file_value_out_of_its_range_is_named_by_file_line_and_key(tmp_path, extra, message):
    with pytest.raises(TaskError, match=message):
        get_task(str(task_with(tmp_path, extra)))


def test_a_key_given_as_null_is_missing(tmp_path):
    write_task(tmp_path, "t")
    (tmp_path / "t.yaml").write_text("data: t.jsonl\nprompt:\nvalue: program\n")
    with pytest.raises(TaskError, match=r"t.yaml: missing key 'prompt' \(the generator's prompt"):
        get_task(str(tmp_path / "t.yaml"))


def test_a_dataset_folder_is_read_from_beside_the_task_file(tmp_path, monkeypatch):
    """A name never used before, so that no dataset of that name in the `datasets` cache (which
    answers offline by name) can stand in for the folder."""
    name = f"audit-{uuid.uuid4().hex}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "test.jsonl").write_text(json.dumps({"q": "a?"}) + "\n")
    (tmp_path / "t.yaml").write_text(
        f"data: {{path: {name}}}\nfields: {{prompt: q}}\nprompt: '{{prompt}}'\nvalue: program\n"
    )
    monkeypatch.chdir(tmp_path.parent)
    assert [r["prompt"] for r in get_task(str(tmp_path / "t.yaml")).make_split("test", None, 0)] == ["a?"]
    (tmp_path / "t.yaml").write_text(f"data: {{path: {name}, split: test}}\nprompt: '{{prompt}}'\nvalue: program\n")
    with pytest.raises(TaskError, match=r"t.yaml:1: key 'data' has unknown key 'split' for a dataset"):
        get_task(str(tmp_path / "t.yaml"))


def test_a_task_files_shots_are_shown_even_when_it_uses_none_by_default(tmp_path):
    """`correct tasks --show` of a task file keeps where its examples come from: --shots N uses them."""
    (tmp_path / "shots.jsonl").write_text(json.dumps({"prompt": "q", "solution": "a"}) + "\n")
    task = get_task(str(task_with(tmp_path, "shots: {data: shots.jsonl, k: 0, target: solution}\n")))
    shown = yaml.safe_load(task_file_text(task))
    assert shown["shots"] == {"data": "shots.jsonl", "k": 0, "target": "solution"}


def test_records_need_a_prompt_even_when_the_template_does_not_name_it(tmp_path):
    """The corrector is shown each record's `prompt`: a template of other fields does not spare it."""
    (tmp_path / "t.jsonl").write_text(json.dumps({"question": "2 + 3?"}) + "\n")
    (tmp_path / "t.yaml").write_text("data: t.jsonl\nprompt: 'Q: {question}'\nvalue: program\n")
    with pytest.raises(TaskError, match=r"t.jsonl has no 'prompt' column, the question the corrector sees"):
        get_task(str(tmp_path / "t.yaml")).make_split("test", None, 0)
