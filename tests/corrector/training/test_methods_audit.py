"""Settings of ``correct train`` (and ``correct train-reward``) that were accepted and then
meant nothing, or quietly did something else than asked: a learning rate or LoRA scale of 0
or below, more identity pairs than pairs, a setting that only another method (or a LoRA
adapter, or a corpus) reads, a warm-up longer than the schedule, sft's corpus left unread, a
resumed run with changed settings, an output that is a file or the base itself. Each refusal
is one line naming the option, before any model loads (the generator below does not exist)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from cli_checks import invoke, refused

import correct
from correct.corrector.app import train as train_app
from correct.corrector.app.args import options_of, with_flag
from correct.corrector.app.options import Backend, Source, TaskChoice, TrainArgs
from correct.corrector.training import fit, resume
from correct.corrector.training.config import CORRECTOR_METHODS, TrainConfig, TrainError

GENERATOR = str(Path(correct.__file__).parent / "tasks" / "models" / "arithmetic-generator")
NO_MODEL = ["--task", "arithmetic", "--generator", "/nonexistent/generator"]
TRAIN_OPTIONS = options_of((TaskChoice, Source, TrainArgs, TrainConfig, Backend))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--learning-rate", "0"], "learning_rate must be above 0, got 0.0 (option --learning-rate)"),
        (["--learning-rate", "-0.001"], "learning_rate must be above 0, got -0.001 (option --learning-rate)"),
        (["--lora-r", "4", "--lora-alpha", "0"], "lora_alpha must be above 0, got 0.0 (option --lora-alpha)"),
        (["--identity-share", "5"], "--identity-share must be at most 1.0, got 5.0"),
    ],
)
def test_a_learning_rate_or_scale_that_trains_nothing_or_backwards_is_refused(tmp_path, extra, message):
    """A learning rate of 0 trained nothing and one below 0 climbed the loss, a LoRA α of 0
    scaled every update to nothing, and an identity share of 1e9 asked for 1e9 times --pairs
    identity pairs: each went on to train, silently."""
    refused(invoke("train", *NO_MODEL, *extra, "--output", tmp_path / "out"), message)
    assert not (tmp_path / "out").exists()
    with pytest.raises(TrainError, match="learning_rate must be above 0") as e:
        TrainConfig(learning_rate=0.0)  # a Python caller too
    assert e.value.option == "learning_rate"


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--mask-share", "0.3"],
            "mask_share is a setting of hindsight training only; method pairing would ignore it (option --mask-share)",
        ),
        (["--contrastive-weight", "2"], "contrastive_weight is a setting of hir training only; method pairing"),
        (["--method", "hindsight", "--contrastive-weight", "0"], "method hindsight would ignore it"),
        (
            ["--method", "hir", "--identity-share", "0.1"],
            "identity_share is a setting of pairing and hindsight training only; method hir would ignore it "
            "(option --identity-share)",
        ),
        (["--method", "hir", "--similarity", "embedding"], "(option --similarity)"),
        (["--method", "hir", "--min-gain", "0.99"], "min_gain is a setting of pairing and hindsight training only"),
        (["--method", "sft", "--samples", "4"], "method sft would ignore it (option --samples)"),
        (["--method", "sft", "--temperature", "0.7"], "method sft would ignore it (option --temperature)"),
        (["--method", "sft", "--explore", "10"], "(option --explore)"),
        (["--method", "sft", "--no-feedback"], "--no-feedback is for the pairing corrector; --method sft trains no"),
        (["--method", "sft", "--eval-limit", "5"], "--eval-limit measures a trained corrector's rounds; --method sft"),
        (["--lora-alpha", "16"], "no LoRA rank is given: it would be ignored (option --lora-alpha)"),
        (["--merge-lora"], "no LoRA rank is given: it would be ignored (option --merge-lora)"),
        (["--lora-target-modules", "c_attn"], "(option --lora-target-modules)"),
        (["--lm-weight", "3"], "none is given: it would be ignored (option --lm-weight)"),
    ],
)
def test_a_setting_this_run_never_reads_is_refused(tmp_path, extra, message):
    """Each was accepted and ignored: a run then answered something else than was asked."""
    refused(invoke("train", *NO_MODEL, *extra, "--output", tmp_path / "out"), message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra",
    [
        ["--method", "hindsight", "--mask-share", "0.3", "--identity-share", "0.1"],
        ["--method", "hir", "--contrastive-weight", "2", "--pairs", "100"],
        ["--lora-r", "4", "--lora-alpha", "16", "--merge-lora"],
    ],
)
def test_a_setting_its_method_reads_goes_on(tmp_path, extra):
    """Past the check, to the generator that does not exist."""
    flat = refused(invoke("train", *NO_MODEL, *extra, "--output", tmp_path / "out"))
    assert "/nonexistent/generator" in flat and "ignore" not in flat


@pytest.mark.parametrize("method", CORRECTOR_METHODS)
def test_a_saved_correctors_settings_read_back_are_not_taken_for_ignored_ones(method):
    """A saved corrector's correct_config.json holds every setting resolved; --config reads it back."""
    TrainConfig(method=method).resolved().check_read()
    TrainConfig(method=method, lora_r=4).resolved().check_read()


def test_a_warm_up_longer_than_the_schedule_is_refused(tmp_path):
    """The learning rate would climb for the whole schedule and never reach --learning-rate."""
    result = invoke("train", *NO_MODEL, "--steps", "100", "--warmup-steps", "500", "--output", tmp_path / "out")
    refused(
        result,
        "500 warm-up steps are more than the 100 steps of each iteration's schedule: the learning rate would "
        "never reach its peak (option --warmup-steps)",
    )
    assert not (tmp_path / "out").exists()
    sft = TrainConfig(method="sft", steps=10, iterations=3)  # sft's one schedule is every iteration's steps
    replace(sft, warmup_steps=30).check()
    with pytest.raises(TrainError, match="more than the 30 steps of the run's schedule"):
        replace(sft, warmup_steps=31).check()


def test_sft_trains_on_the_lm_corpus_too(tmp_path, monkeypatch):
    """--lm-corpus is documented for any method; sft read none of it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("x = 1 + 2\nprint(x)\n")
    seen = {}

    def capture(model, tokenizer, rows, n, steps, config, out, lm_rows=None, **kw):
        seen["lm_rows"] = lm_rows
        return {}

    monkeypatch.setattr(fit, "train_rows", capture)
    tok = AutoTokenizer.from_pretrained(GENERATOR)
    model = AutoModelForCausalLM.from_pretrained(GENERATOR)
    config = TrainConfig(method="sft", lm_corpus=str(corpus), lm_weight=2.0)
    fit.train_lm(model, tok, [("Q: 1 + 2\n", "print(3)")], 1, config, tmp_path / "t")
    assert seen["lm_rows"], seen
    assert "print(x)" in tok.decode(seen["lm_rows"][0]["input_ids"])

    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    sft = ["train", "--method", "sft", "--task", "arithmetic", "--limit", "4", "--steps", "1", "--iterations", "1"]
    result = invoke(*sft, "--batch-size", "2", "--lm-corpus", empty, "--output", tmp_path / "sft")
    refused(result, f"language-modelling corpus {empty}: no text in it (option --lm-corpus)")


def fake_run(tmp_path, monkeypatch):
    trained = []

    def fake_loop(records, prompts, generator, value, init, out, config, **options):
        trained.append(config)
        return SimpleNamespace(config=None)

    monkeypatch.setattr(train_app, "train_corrector", fake_loop)
    monkeypatch.setattr(train_app, "write_model_card", lambda out, config, evaluation: None)
    return trained, lambda config, init="init": train_app.train_run([], [], None, None, init, tmp_path, config)


def test_a_resume_that_changes_what_the_corrector_is_trained_on_is_refused(tmp_path, monkeypatch):
    """Its checkpoints and explored drafts are the first run's: a resume under other settings
    trained one corrector under two runs' settings, and recorded only the second's."""
    trained, run = fake_run(tmp_path, monkeypatch)
    first = TrainConfig(learning_rate=1e-3, steps=10).resolved()
    run(first)
    assert (tmp_path / "checkpoints" / resume.SETTINGS).is_file()
    # How long it goes on, and how a step fits in memory, may change.
    run(replace(first, resume=True, iterations=5, cpu_budget=100.0, gradient_accumulation_steps=2))
    assert len(trained) == 2
    for changed, option in (
        (replace(first, learning_rate=2e-3), "--learning-rate"),
        (replace(first, method="hir"), "--method"),
        (replace(first, lora_r=8), "--lora-r"),
    ):
        with pytest.raises(TrainError, match="resuming would train one corrector under two runs' settings") as e:
            run(replace(changed, resume=True))
        assert f"(option {option})" in with_flag(e.value, TRAIN_OPTIONS)
    with pytest.raises(TrainError, match="trained with init") as e:
        run(replace(first, resume=True), init="another")
    assert "(option --init)" in with_flag(e.value, TRAIN_OPTIONS)
    assert len(trained) == 2  # none of them trained
    # A run from before settings were recorded records the resuming one's.
    (tmp_path / "checkpoints" / resume.SETTINGS).unlink()
    run(replace(first, resume=True, learning_rate=2e-3))
    run(replace(first, resume=True, learning_rate=2e-3))
    assert len(trained) == 4


def test_a_resume_under_other_settings_is_refused_before_any_model_loads(tmp_path, monkeypatch):
    """The check ran inside the training run, after the generator had loaded (minutes, for a
    real model); it now runs as the folder is claimed."""
    from correct.corrector.app import commands

    out = tmp_path / "out"
    common = ["train", "--task", "arithmetic", "--generator", GENERATOR, "--limit", "4", "--samples", "2"]
    common += ["--iterations", "1", "--steps", "1", "--batch-size", "2", "--explore", "0", "--eval-limit", "0"]
    first = invoke(*common, "--output", out)
    assert first.exit_code == 0, first.output
    loads = []
    monkeypatch.setattr(commands, "load_models", lambda *a, **k: loads.append(a) or pytest.fail("a model loaded"))
    flat = refused(invoke(*common, "--learning-rate", "0.01", "--resume", "--output", out))
    assert "resuming would train one corrector under two runs' settings" in flat and "--learning-rate" in flat
    assert loads == []


def test_train_reward_into_a_file_or_its_base_is_refused_before_loading(tmp_path):
    """An --output that is a file was a FileExistsError traceback after the base loaded; one
    that is --base itself was trained over, destroying the base."""
    (tmp_path / "pairs.jsonl").write_text(json.dumps({"prompt": "1+1", "chosen": "2", "rejected": "3"}) + "\n")
    base = tmp_path / "base"
    shutil.copytree(GENERATOR, base)
    before = (base / "model.safetensors").read_bytes()
    common = ["train-reward", "--input", tmp_path / "pairs.jsonl", "--steps", "1", "--batch-size", "1"]
    refused(
        invoke(*common, "--base", base, "--output", tmp_path / "pairs.jsonl"),
        "a file is there; give a folder",
    )
    refused(invoke(*common, "--base", base, "--output", base), f"--output {base} is also --base")
    assert (base / "model.safetensors").read_bytes() == before
    assert not (base / "correct_config.json").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--lr-scheduler", "bogus"],
            "unknown lr_scheduler 'bogus'; choose linear, cosine, cosine_with_restarts, polynomial, constant, "
            "constant_with_warmup, inverse_sqrt",
        ),
        (
            ["--lr-scheduler", "cosine_with_min_lr"],
            "lr_scheduler 'cosine_with_min_lr' cannot train here (One of min_lr",
        ),
        (["--lr-scheduler", "reduce_lr_on_plateau"], "on evaluation losses, and training evaluates nothing"),
    ],
)
@pytest.mark.parametrize("method", ["pairing", "sft"])
def test_a_scheduler_that_cannot_train_is_one_line_before_the_pool_or_the_training(tmp_path, extra, message, method):
    """It was a ValueError traceback from transformers once the whole pool had been drafted (sft:
    once the model was built)."""
    result = invoke("train", *NO_MODEL, "--method", method, "--limit", "4", *extra, "--output", tmp_path / "out")
    refused(result, message, "(option --lr-scheduler)")
    assert not (tmp_path / "out").exists()
