"""What a training folder may hold that ``correct train`` must meet with one line, not a
traceback or a quietly wrong run: a pool line that is no draft, a log row torn by a kill, a
pool copied from another run's records, a pool whose drafts all have one value (identity pairs
alone), and an ``eval.json`` of weights trained on since."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import correct
from correct.cli import app
from correct.corrector.app import train as train_app
from correct.corrector.pool import Draft, Pool
from correct.corrector.similarity import edit_similarity
from correct.corrector.training import resume
from correct.corrector.training.config import TrainConfig, TrainError
from correct.corrector.training.loop import iteration_rows
from correct.errors import CorrectError

GENERATOR = str(Path(correct.__file__).parent / "tasks" / "models" / "arithmetic-generator")


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"prompt_id": "p", "text": "a"', "line 2: not JSON"),
        ('{"prompt_id": "p", "txt": "a", "value": 1.0}', "line 2: not a pool draft"),
        ("[1, 2]", "line 2: not a pool draft"),
        ('{"prompt_id": "p", "text": "a", "value": "1.0"}', "line 2: value is '1.0'"),
        ('{"prompt_id": "p", "text": "a", "value": true}', "line 2: value is True"),  # JSON's true is no score
        ('{"prompt_id": "p", "text": "a", "value": 1.0, "score": 1}', "line 2: not a pool draft"),
    ],
)
def test_a_pool_line_that_is_no_draft_is_named_by_its_file_and_line(tmp_path, line, message):
    path = tmp_path / "pool.jsonl"
    Pool(path).add([Draft("p", "x = 1", 0.0)])
    with open(path, "a") as f:
        f.write(line + "\n" + json.dumps({"prompt_id": "p", "text": "b", "value": 1.0}) + "\n")
    with pytest.raises(CorrectError, match=f"pool.jsonl, {message}"):
        Pool(path)


def test_a_log_row_torn_by_a_kill_is_cut_on_resume(tmp_path):
    """The row of a stage killed while it was written goes, as the stage's whole row would."""
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"iteration": 0, "cpu_seconds": 5.0}) + "\n" + '{"iteration": 1, "cpu_sec')
    assert resume.logged_cpu(tmp_path) == 5.0
    resume.forget_after(tmp_path, Pool(), 0)
    assert log.read_text() == json.dumps({"iteration": 0, "cpu_seconds": 5.0}) + "\n"


def test_a_pool_whose_drafts_all_have_one_value_trains_nothing_but_copying_and_is_refused():
    """Every draft right (or one draft a prompt at the top): identity pairs alone, no pair to learn from."""
    pool = Pool()
    pool.add([Draft(p, f"print({i})", 1.0) for p in ("a", "b") for i in range(2)])
    config = TrainConfig(pairs=10, identity_share=0.4).resolved()
    with pytest.raises(TrainError, match="no value-improving pairs") as e:
        iteration_rows(config, pool, 1.0, edit_similarity, {"a": "A", "b": "B"}, None, 128, 0)
    assert e.value.option == "samples_per_prompt"


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_hir_on_a_pool_whose_outputs_all_have_one_outcome_is_refused(value):
    """Hindsight relabelling tells right outputs from wrong ones; with one outcome only (a
    generator never or always right) every row carries the same instruction."""
    pool = Pool()
    pool.add([Draft(p, f"print({i})", value) for p in ("a", "b") for i in range(2)])
    config = TrainConfig(method="hir", pairs=10).resolved()
    with pytest.raises(TrainError, match="same outcome") as e:
        iteration_rows(config, pool, 1.0, edit_similarity, {"a": "A", "b": "B"}, None, 128, 0)
    assert e.value.option == "samples_per_prompt"


def test_another_runs_pool_copied_into_the_folder_is_named_not_a_key_error(tmp_path):
    """A pool.jsonl copied in without its run.json, holding drafts of prompts that are not
    among this run's records (another --limit, another task)."""
    pool = Pool(tmp_path / "pool.jsonl")
    pool.add([Draft(p, text, v) for p in ("train-0", "train-9") for text, v in (("print(0)", 0.0), ("print(1)", 1.0))])
    common = ["--task", "arithmetic", "--generator", GENERATOR, "--limit", "1", "--samples", "2", "--steps", "1"]
    result = CliRunner().invoke(
        app, ["train", *common, "--explore", "0", "--eval-limit", "0", "--output", str(tmp_path)]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    flat = " ".join(result.stderr.split())
    assert "pool.jsonl holds drafts of 'train-9', which is not among the training records" in flat, flat
    assert "(option --output)" in flat and len(Pool(tmp_path / "pool.jsonl")) == 4  # the pool is left as it was


def test_a_measure_of_weights_trained_on_since_is_not_kept_as_theirs(tmp_path, monkeypatch):
    """A resumed run that trains on and measures nothing (--eval-limit 0) drops the earlier
    run's eval.json; one that trains nothing more keeps it, and its card shows it."""
    (tmp_path / "eval.json").write_text(json.dumps({"records": 2, "rounds": []}))
    cards = []

    def fake_loop(*args, iterations, **options):
        for i in iterations:
            with open(tmp_path / "log.jsonl", "a") as f:
                f.write(json.dumps({"iteration": i}) + "\n")
        return SimpleNamespace(config=None)

    monkeypatch.setattr(train_app, "train_corrector", fake_loop)
    monkeypatch.setattr(train_app, "write_model_card", lambda out, config, evaluation: cards.append(evaluation))
    train_app.train_run([], [], None, None, "init", tmp_path, iterations=[])  # nothing left to train
    assert (tmp_path / "eval.json").is_file() and cards[-1] == {"records": 2, "rounds": []}
    train_app.train_run([], [], None, None, "init", tmp_path, iterations=[1])
    assert not (tmp_path / "eval.json").exists() and cards[-1] is None
