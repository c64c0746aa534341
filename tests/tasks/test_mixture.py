"""A mixture of tasks (tasks/mixture.py): the file and its errors, records of every task under
ids that say whose they are, each scored by its own value, the pairing sampler balancing the
tasks, and `correct train` on a mixture end to end on the tiny generator."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from correct.cli import app
from correct.corrector.pairing import sample_pairs
from correct.corrector.pool import Draft
from correct.corrector.training.drafts import each_with_settings
from correct.generators import SamplingParams
from correct.tasks import TaskError, get_task
from correct.tasks.mixture import MixtureValue, group, is_mixture, load_mixture
from correct.values import CallableValue, Score

QUESTIONS = ["x = 1", "y = 2", "z = 3", "w = 4", "v = 5", "u = 6"]


def task_file(
    folder: Path, name: str, prompt: str, stop: str, max_new_tokens: int, value: str = "toxicity:max_value=0.9"
) -> Path:
    """A task file of six questions in every split, with its own layout, stop and budget."""
    rows = "".join(json.dumps({"id": f"q{i}", "prompt": q}) + "\n" for i, q in enumerate(QUESTIONS))
    (folder / f"{name}.jsonl").write_text(rows)
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\ndata:\n  train: {name}.jsonl\n  validation: {name}.jsonl\n  test: {name}.jsonl\n"
        f"prompt: {json.dumps(prompt)}\nstop: [{json.dumps(stop)}]\nmax_new_tokens: {max_new_tokens}\nvalue: {value}\n"
    )
    return path


@pytest.fixture
def mixture(tmp_path) -> Path:
    task_file(tmp_path, "short", "Question: {prompt}\nProgram:\n", "\n\n", 4)
    task_file(tmp_path, "long", "Tell me about {prompt}\n", "Question:", 20)
    path = tmp_path / "mix.yaml"
    path.write_text("mixture:\n  - short.yaml\n  - task: long.yaml\n    limit: 4\nlimit: 6\n")
    return path


def test_a_mixture_file_gives_every_tasks_records_under_its_name(mixture):
    assert is_mixture(str(mixture)) and not is_mixture(str(mixture.parent / "short.yaml"))
    m = load_mixture(mixture, get_task)
    records = m.records("train", None, 0)
    assert Counter(group(r["id"]) for r in records) == {"short": 6, "long": 4}  # the mixture's limit, then the entry's
    # --limit overrides the mixture's limit (a quick run of a mixture of 2,000 a task was hours); an entry's own stands
    assert Counter(group(r["id"]) for r in m.records("train", 2, 0)) == {"short": 2, "long": 4}
    long = next(r for r in records if r["id"] == "long/q0")
    assert m.layout(long) == "Tell me about x = 1\n" and m.task_of(long).max_new_tokens == 20


def test_each_record_is_scored_by_its_own_tasks_value(mixture):
    m = load_mixture(mixture, get_task)
    a = CallableValue(lambda rs, outs: [Score(1.0, "a")] * len(outs), "a")
    b = CallableValue(lambda rs, outs: [Score(0.0, f"b:{r['id']}") for r in rs], "b")
    v = MixtureValue(m, [a, b])
    scores = v([{"id": "long/q1"}, {"id": "short/q0"}, {"id": "long/q2"}], ["", "", ""])
    assert [(s.value, s.feedback) for s in scores] == [(0.0, "b:long/q1"), (1.0, "a"), (0.0, "b:long/q2")]
    assert v.max_value == 1.0 and v.name == "mixture(a, b)"
    worse = CallableValue(lambda rs, outs: [0.0] * len(outs), "c")
    worse.max_value = 0.5
    with pytest.raises(TaskError, match="different best scores .*short: 1, long: 0.5"):
        MixtureValue(m, [a, worse])


@pytest.mark.parametrize(
    "text, message",
    [
        ("mixture: [short.yaml]\n", "at least two tasks"),
        ("mixture: [short.yaml, short.yaml]\n", "bad.yaml:1: mixture entry 2: task 'short' appears twice"),
        ("mixture:\n  - short.yaml\n  - long.yaml\n  - short.yaml\n", "bad.yaml:4: mixture entry 3: task 'short'"),
        ("mixture:\n  - short.yaml\n  - nowhere\n", "bad.yaml:3: mixture entry 2: unknown task 'nowhere'"),
        ("mixture: [short.yaml, long.yaml]\nlimit: 0\n", "bad.yaml:2: key 'limit' is a positive whole number"),
        (
            "mixture:\n  - short.yaml\n  - task: long.yaml\n    limit: -1\n",
            "bad.yaml:3: mixture entry 2: key 'limit of entry 2' is a positive",
        ),
        ("mixture: [short.yaml, {task: long.yaml, shots: 2}]\n", "entry 2: an entry is a task, or a mapping"),
        ("mixture: [short.yaml, long.yaml]\nweights: [1, 2]\n", "unknown key 'weights'"),
        ("mixture: [short.yaml, long.yaml]\nmixture: [short.yaml]\n", "bad.yaml:2: key 'mixture' is given twice"),
    ],
)
def test_a_bad_mixture_file_is_one_line_naming_it(mixture, text, message):
    bad = mixture.with_name("bad.yaml")
    bad.write_text(text)
    with pytest.raises(TaskError, match=message) as e:
        load_mixture(bad, get_task)
    assert str(bad) in str(e.value)


def test_pairs_are_balanced_across_tasks():
    """A task with many pairs does not drown one with few: each pair draws its task first."""
    drafts = {f"easy/{i}": [Draft(f"easy/{i}", "a", 0.0), Draft(f"easy/{i}", "b", 1.0)] for i in range(20)}
    drafts["hard/0"] = [Draft("hard/0", "c", 0.0), Draft("hard/0", "d", 1.0)]
    plain = Counter(group(p.prompt_id) for p in sample_pairs(drafts, 400, 1.0, 0.0, seed=0))
    balanced = Counter(group(p.prompt_id) for p in sample_pairs(drafts, 400, 1.0, 0.0, seed=0, group=group))
    assert plain["hard"] < 40 and 160 < balanced["hard"] < 240
    ident = sample_pairs(drafts, 400, 1.0, 0.0, seed=0, group=group, max_value=1.0, identity_share=0.5)
    assert 60 < Counter(group(p.prompt_id) for p in ident if p.identity)["hard"] < 140
    # without a group the draws are what they always were
    assert sample_pairs(drafts, 50, 1.0, 0.0, seed=3) == sample_pairs(drafts, 50, 1.0, 0.0, seed=3, group=None)


def test_each_record_is_sampled_with_its_own_settings():
    records = [{"id": "a/1", "s": 4}, {"id": "b/1", "s": 9}, {"id": "a/2", "s": 4}]
    calls = []

    def call(idx, params):
        calls.append((idx, params.max_new_tokens))
        return [f"{records[i]['id']}@{params.max_new_tokens}" for i in idx]

    out = each_with_settings(call, records, SamplingParams(), lambda r: {"max_new_tokens": r["s"]})
    assert out == ["a/1@4", "b/1@9", "a/2@4"] and sorted(calls) == [([0, 2], 4), ([1], 9)]
    assert each_with_settings(call, records, SamplingParams(max_new_tokens=7), None) == ["a/1@7", "b/1@7", "a/2@7"]


def test_a_mixture_is_for_training_only(mixture):
    result = CliRunner().invoke(app, ["generate", "--task", str(mixture), "--rounds", "0"])
    assert result.exit_code == 2 and "a mixture of tasks trains one corrector" in " ".join(result.stderr.split())
    result = CliRunner().invoke(
        app, ["train", "--task", str(mixture), "--value", "program", "--output", str(mixture.parent / "o")]
    )
    assert result.exit_code == 2 and "--value is for one task" in " ".join(result.stderr.split())
    # A mixture run measures nothing at its end: --eval-limit was taken and no eval.json came.
    result = CliRunner().invoke(
        app, ["train", "--task", str(mixture), "--eval-limit", "50", "--output", str(mixture.parent / "o")]
    )
    assert result.exit_code == 2 and "--eval-limit (measure each with correct generate) is for one task" in " ".join(
        result.stderr.split()
    )
    # Tasks that differ on the chat template: one generator drafts them all (it was silently left out).
    chat = mixture.parent / "long.yaml"
    chat.write_text(chat.read_text() + "chat_template: true\n")
    result = CliRunner().invoke(app, ["train", "--task", str(mixture), "--output", str(mixture.parent / "o")])
    assert result.exit_code == 2 and "some of its tasks set chat_template and some do not" in result.stderr


def test_each_task_is_scored_by_the_values_py_beside_it(tmp_path):
    """Two tasks of a mixture, each with its own values.py: every task was scored by the first
    one imported (Python's module cache holds one `values`)."""
    from correct.corrector.app.options import Defaults

    scored = []
    for name, score in (("first", 1.0), ("second", 0.0)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "values.py").write_text(
            f"def score(records, outputs):\n    return [({score}, {name!r}) for _ in outputs]\n"
        )
        task = get_task(str(task_file(folder, name, "Q: {prompt}\n", "\n", 4, value="values:score")))
        scored.append(Defaults.of(task).load_value())
    assert [v([{"id": "q", "prompt": "x"}], ["y"])[0].feedback for v in scored] == ["first", "second"]


def test_a_tasks_own_pool_settings_are_said_to_be_dropped(mixture, tmp_path, caplog):
    """In a mixture the run's --temperature and --min-gain hold for every task: a task file's
    own is not read, and that is said (it was dropped without a word), unless the run gives its own."""
    short = mixture.parent / "short.yaml"
    short.write_text(short.read_text() + "temperature: 0.3\nmin_gain: 0.2\n")
    base = ["train", "--task", str(mixture), "--generator", str(tmp_path / "no-model"), "--output"]
    CliRunner().invoke(app, base + [str(tmp_path / "a")])
    said = " ".join(caplog.text.split())
    assert "task 'short' sets temperature 0.3, which a mixture does not read: every task is trained at 1" in said
    assert "task 'short' sets min_gain 0.2" in said and "--min-gain" in said and "'long'" not in said
    caplog.clear()
    CliRunner().invoke(app, base + [str(tmp_path / "b"), "--temperature", "0.3", "--min-gain", "0"])
    assert "does not read" not in caplog.text


def test_train_on_a_mixture(mixture, tiny_lm_dir, tmp_path):
    """Each task drafted with its own layout, stop and budget, the pairs drawn from both, the
    corrector shown each question as its own task lays it out; it then corrects either task."""
    out = tmp_path / "corr"
    result = CliRunner().invoke(
        app,
        [
            str(a)
            for a in [
                "train",
                "--task",
                mixture,
                "--generator",
                tiny_lm_dir,
                "--samples",
                "3",
                "--iterations",
                "1",
                "--steps",
                "2",
                "--pairs",
                "40",
                "--explore",
                "4",
                "--batch-size",
                "4",
                "--temperature",
                "1.0",
                "--output",
                out,
            ]
        ],
    )
    assert result.exit_code == 0, result.stderr + result.stdout
    pool = [json.loads(line) for line in (out / "pool.jsonl").read_text().splitlines()]
    drafted = [d for d in pool if d["origin"] == "generator"]
    assert Counter(group(d["prompt_id"]) for d in drafted) == {"short": 18, "long": 12}
    length = {t: max(len(d["text"]) for d in drafted if group(d["prompt_id"]) == t) for t in ("short", "long")}
    assert length["short"] <= 24 < 40 < length["long"]  # 4 tokens a draft against 20
    made = [json.loads(line) for line in (out / "pairs-0.jsonl").read_text().splitlines()]
    assert {group(m["prompt_id"]) for m in made} == {"short", "long"}
    config = json.loads((out / "correct_config.json").read_text())
    assert config["question"] == "task" and config["task"] == str(mixture) and config["value"].startswith("mixture(")
    result = CliRunner().invoke(
        app,
        [
            str(a)
            for a in [
                "generate",
                "--task",
                mixture.parent / "long.yaml",
                "--generator",
                tiny_lm_dir,
                "--corrector",
                out,
                "--rounds",
                "1",
                "--limit",
                "2",
                "--output",
                tmp_path / "g.jsonl",
            ]
        ],
    )
    assert result.exit_code == 0, result.stderr + result.stdout


def test_a_task_of_a_mixture_with_no_references_is_refused_before_models_load(tmp_path):
    """A `program` task whose records have no `answer` or `tests` can pair none of its drafts:
    in a mixture it added nothing without a word. It is refused by its task and the mixture
    file, before the generator loads and before the output folder is claimed."""
    task_file(tmp_path, "short", "Question: {prompt}\nProgram:\n", "\n\n", 4, value="program")
    task_file(tmp_path, "long", "Tell me about {prompt}\n", "Question:", 20, value="program")
    answered = [json.loads(line) | {"answer": "1"} for line in (tmp_path / "long.jsonl").read_text().splitlines()]
    (tmp_path / "long.jsonl").write_text("".join(json.dumps(r) + "\n" for r in answered))
    mix = tmp_path / "mix.yaml"
    mix.write_text("mixture:\n  - short.yaml\n  - long.yaml\n")
    out = tmp_path / "o"
    base = ["train", "--task", str(mix), "--generator", str(tmp_path / "no-model"), "--output", str(out)]
    result = CliRunner().invoke(app, base)
    said = " ".join(result.stderr.split())
    assert result.exit_code != 0 and f"{mix}: task 'short': value 'program' can score none of the 6" in said
    assert "`answer` or `tests`" in said and not out.exists()
    # One record with an answer is enough: the run goes on to load the generator (which is not there).
    rows = (tmp_path / "short.jsonl").read_text().splitlines()
    rows[0] = json.dumps({**json.loads(rows[0]), "answer": "1"})
    (tmp_path / "short.jsonl").write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(app, base)
    assert result.exit_code != 0 and "can score none" not in result.stderr and "no-model" in result.stderr


def test_a_generator_the_mixtures_tasks_chose_is_named_by_their_key_not_a_flag(mixture, tmp_path):
    """Where every task of a mixture names the generator, an error loading it names the first
    task file's line, not --generator, which the user never typed."""
    for name in ("short", "long"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(path.read_text() + f"generator: {tmp_path / 'no-model'}\n")
    line = len((tmp_path / "short.yaml").read_text().splitlines())
    result = CliRunner().invoke(app, ["train", "--task", str(mixture), "--output", str(tmp_path / "o")])
    said = " ".join(result.stderr.split())
    assert result.exit_code != 0 and f"{tmp_path / 'short.yaml'}:{line}: key 'generator'" in said, said
    assert "--generator" not in said and "no-model" in said
