"""``correct train --method sft``: the recipe of the shipped base generators (a tiny GPT-2 and
its own tokenizer, built from scratch and trained on a task's reference solutions), end to end
through the command line, its determinism, and its mistakes."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from correct.cli import app
from correct.generators import SamplingParams
from correct.generators.hf import HFGenerator
from correct.tasks import get_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")
runner = CliRunner()
STEPS = ["--steps", "40", "--iterations", "1", "--batch-size", "16", "--learning-rate", "3e-3"]


def sft(out, *extra):
    return runner.invoke(
        app,
        [
            "train",
            "--method",
            "sft",
            "--task",
            "arithmetic",
            "--limit",
            "64",
            *STEPS,
            "--output",
            str(out),
            *map(str, extra),
        ],
    )


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs with seed 0 and one with seed 1."""
    root = tmp_path_factory.mktemp("sft")
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        result = sft(root / name, "--seed", seed)
        assert result.exit_code == 0, result.output
    return root


def test_the_same_seed_gives_identical_weights(runs):
    a, b, c = (weights(runs / n) for n in "abc")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)  # the seed is what decides them


def test_the_base_generator_has_learnt_the_task_format(runs):
    """Greedy drafts of held-out problems are programs in the task's form (a `print` of a
    computation), which a freshly built model of the same shape, untrained, never writes."""
    task = get_task("arithmetic")
    records = task.make_split("validation", 16, 0)
    prompts = [task.format_prompt(r) for r in records]
    g = HFGenerator.from_pretrained(str(runs / "a"), device="cpu")
    drafts = [o[0] for o in g.generate(prompts, SamplingParams(temperature=0, max_new_tokens=48, stop=task.stop))]
    assert sum("print(" in d for d in drafts) >= 12, drafts
    config = json.loads((runs / "a" / "config.json").read_text())
    assert config["model_type"] == "gpt2" and config["n_layer"] == 3  # the tiny recipe, not a pretrained model


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--shots", "3"], "--method sft trains a base generator on the task's own format; --shots is for drafting"),
        (
            ["--lora-r", "4"],
            "a LoRA adapter is trained on a pretrained model; sft without one builds a tiny model from scratch "
            "(option --lora-r)",
        ),
        (["--init", "./no/such/base"], "--init ./no/such/base: no such folder"),
    ],
)
def test_mistakes_are_one_line(tmp_path, extra, message):
    result = sft(tmp_path / "out", *extra)
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_records_without_a_solution_are_named(tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"id": "r1", "prompt": "What is 2 + 2?"}) + "\n")
    result = runner.invoke(
        app, ["train", "--method", "sft", "--input", str(data), *STEPS, "--output", str(tmp_path / "out")]
    )
    assert result.exit_code == 2, (result.output, result.exception)
    assert "solution" in result.stderr and str(data) in " ".join(result.stderr.split())


def test_train_results_record_what_the_run_did(runs):
    results = json.loads((runs / "a" / "train_results.json").read_text())
    assert results["steps"] == 40 and results["train_tokens"] > 40 * 16  # 16 rows a step, each longer than a token
    assert results["cpu_seconds"] > 0


def test_a_cpu_budget_ends_training_after_the_step_that_spends_it(tmp_path):
    """--cpu-budget: this process's CPU-seconds (loading included) are already past 1 when
    training starts, so the first optimizer step is the last; the model is saved as usual."""
    result = sft(tmp_path / "out", "--cpu-budget", 1)
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "out" / "train_results.json").read_text())
    assert results["steps"] == 1 and results["train_tokens"] > 0
    assert (tmp_path / "out" / "model.safetensors").is_file()


def test_progress_and_threads_options_hold_for_sft(tmp_path, monkeypatch):
    """--progress and --threads are the process's settings under --method sft too: plain lines
    of its optimizer steps by default where stderr is a file, none with --progress none."""
    from correct.corrector import progress
    from correct.generators import threads

    monkeypatch.setattr(progress, "EVERY", 0.0)
    monkeypatch.setattr(threads, "_fixed", None)
    quick = ["--steps", "3", "--iterations", "1", "--batch-size", "4"]
    args = ["train", "--method", "sft", "--task", "arithmetic", "--limit", "8", *quick]
    shown = runner.invoke(app, [*args, "--threads", "1", "--output", str(tmp_path / "a")])
    assert shown.exit_code == 0, shown.output
    assert "training steps: 3/3 done in " in shown.stderr and threads._fixed == 1
    quiet = runner.invoke(app, [*args, "--progress", "none", "--output", str(tmp_path / "b")])
    assert quiet.exit_code == 0, quiet.output
    assert "training steps" not in quiet.stderr
