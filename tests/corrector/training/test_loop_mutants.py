"""Behaviour of the training loop and its resume (corrector/training/loop.py, resume.py) that a
second mutation audit found unheld: each test here failed on a one-line change of the source
that the rest of the fast suite let through. The runs are tiny: an untrained two-layer model as
the corrector, a scripted generator, a few steps an iteration."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from transformers.utils import logging as hf_logging

from correct.corrector.model import CorrectorConfig
from correct.corrector.training import resume
from correct.corrector.training.config import TrainConfig
from correct.corrector.training.loop import train_corrector
from correct.corrector.training.tiny import build_model, build_tokenizer
from correct.generators.base import GeneratorBase
from correct.values import as_scores

hf_logging.disable_progress_bar()
pytestmark = pytest.mark.usefixtures("one_torch_thread")

RECORDS = [{"id": f"r{i}", "prompt": "sort " + " ".join(str((i * 7 + k * 3) % 10) for k in range(4))} for i in range(8)]
PROMPTS = [r["prompt"] + " =>" for r in RECORDS]
CONFIG = TrainConfig(
    batch_size=4,
    learning_rate=1e-3,
    lr_scheduler="constant",
    seed=0,
    samples_per_prompt=3,
    iterations=2,
    steps=2,
    pairs=16,
    explore_prompts=4,
    max_new_tokens=6,
    temperature=1.0,
    save_steps=0,
    save_total_limit=5,
    feedback=False,
)


class SortValue:
    """Share of the sorted digits an output gets right, place by place."""

    name, max_value, min_value, reference_free = "sort", 1.0, 0.0, True

    def __call__(self, records, outputs):
        scores = []
        for r, o in zip(records, outputs):
            want, got = sorted(r["prompt"].split()[1:]), o.split()
            scores.append(sum(a == b for a, b in zip(want, got)) / len(want))
        return as_scores(scores, len(outputs), self.name)

    def close(self):
        pass


class Shuffler(GeneratorBase):
    """Drafts a prompt's digits in a seeded random order: some right, most not."""

    def generate(self, prompts, params):
        rng = random.Random(params.seed)
        out = []
        for p in prompts:
            digits = p.split()[1:-1]
            out.append([" ".join(rng.sample(digits, len(digits))) for _ in range(params.n)])
        return out


@pytest.fixture(scope="module")
def init(tmp_path_factory) -> Path:
    """An untrained tiny model and its tokenizer: what it rewrites is noise, which is enough."""
    folder = tmp_path_factory.mktemp("init") / "model"
    tok = build_tokenizer([p + " " + " ".join(sorted(p.split()[1:-1])) for p in PROMPTS] * 4, vocab_size=300)
    build_model(tok, n_layer=1, n_embd=16, n_head=2, n_positions=128).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def train(out: Path, init: Path, config: TrainConfig = CONFIG, **changed) -> None:
    train_corrector(RECORDS, PROMPTS, Shuffler(), SortValue(), str(init), out, replace(config, **changed))


def pool(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "pool.jsonl").read_text().splitlines()]


def log_rows(out: Path) -> list[int]:
    return [json.loads(line)["iteration"] for line in (out / "log.jsonl").read_text().splitlines()]


def test_a_resume_explores_first_as_the_uninterrupted_run_explored(init, tmp_path):
    """A run of one iteration resumed to two makes iteration 0's exploration then: the same
    prompts and the same rewrites as a run of two iterations made (its seed and RNG are
    those of the stage it belongs to)."""
    train(tmp_path / "whole", init)
    train(tmp_path / "split", init, iterations=1)
    train(tmp_path / "split", init, iterations=2, resume=True)
    explored = [[(d["prompt_id"], d["text"]) for d in pool(out) if d["origin"] == "corrector@0"] for out in
                (tmp_path / "whole", tmp_path / "split")]  # fmt: skip
    assert explored[0] and explored[0] == explored[1]


def test_a_resumed_run_draws_its_explorations_from_the_checkpointed_rng(init, tmp_path):
    """Iteration 1 redone from iteration 0's checkpoint explores the prompts the uninterrupted
    run explored: the RNG comes back as the checkpoint left it, not from the seed again."""
    train(tmp_path / "whole", init, iterations=3)
    out = tmp_path / "cut"
    train(out, init, iterations=3)
    for stage in ("stage-1", "stage-2"):  # as if killed before iteration 1's checkpoint
        shutil.rmtree(out / "checkpoints" / stage)
    train(out, init, iterations=3, resume=True)

    def explored(folder):
        return sorted(d["prompt_id"] for d in pool(folder) if d["origin"] == "corrector@1")

    assert explored(out) and explored(out) == explored(tmp_path / "whole")
    assert log_rows(out) == [0, 1, 2]


def test_each_iteration_draws_its_own_pairs_and_keeps_them_by_its_number(init, tmp_path):
    train(tmp_path / "c", init, explore_prompts=0)
    made = [(tmp_path / "c" / f"pairs-{i}.jsonl").read_text() for i in (0, 1)]
    assert made[0] and made[1] and made[0] != made[1]  # the pool did not change; the seed did


def test_an_iterations_step_checkpoints_go_once_it_is_checkpointed_whole(init, tmp_path):
    train(tmp_path / "c", init, save_steps=1)
    assert (tmp_path / "c" / "trainer" / "iteration-1").is_dir()
    assert not list((tmp_path / "c" / "trainer").glob("iteration-*/checkpoint-*"))


def test_an_initial_exploration_cut_before_its_checkpoint_is_made_again(init, tmp_path):
    """Killed after the initial corrector's rewrites reached the pool but before its checkpoint:
    the resume drops them and explores again (logged, checkpointed), not taking them as done."""
    corrector = tmp_path / "init-corrector"
    shutil.copytree(init, corrector)
    CorrectorConfig(template="no-feedback").save(corrector)
    out = tmp_path / "c"
    train(out, corrector, iterations=1)
    assert log_rows(out) == [-1, 0]
    first = [d for d in pool(out) if d["origin"] == "corrector@init"]
    for made in ("checkpoints", "trainer"):
        shutil.rmtree(out / made)
    (out / "log.jsonl").unlink()
    train(out, corrector, iterations=1, resume=True)
    assert log_rows(out) == [-1, 0]
    assert [d for d in pool(out) if d["origin"] == "corrector@init"] == first
    assert sorted(i for i, _ in resume.checkpoints(out)) == [-1, 0]


# --------------------------------------------------------------------------- resume.py units


class Saved:
    """Enough of an HFGenerator for save_checkpoint."""

    def __init__(self):
        self.model = self.tokenizer = self

    def save_pretrained(self, folder):
        Path(folder, "weights.txt").write_text("w")


def test_a_checkpoint_half_written_by_a_kill_is_written_over(tmp_path):
    left = tmp_path / "checkpoints" / ".tmp-stage-0"
    left.mkdir(parents=True)
    (left / "stale.bin").write_text("half")
    stage = resume.save_checkpoint(tmp_path, 0, Saved(), random.Random(0), keep=2)
    assert sorted(p.name for p in stage.iterdir()) == [resume.STATE, "weights.txt"]
    assert not left.exists()


def test_a_stage_checkpointed_again_replaces_the_first(tmp_path):
    resume.save_checkpoint(tmp_path, 0, Saved(), random.Random(0), keep=2, explored=False)
    again = resume.save_checkpoint(tmp_path, 0, Saved(), random.Random(1), keep=2)
    assert resume.explored(again) and resume.latest(tmp_path)[2].random() == random.Random(1).random()


def test_marking_an_exploration_made_keeps_the_question_and_the_rng(tmp_path):
    stage = resume.save_checkpoint(tmp_path, 1, Saved(), random.Random(0), keep=2, question="task", explored=False)
    rng = random.Random(7)
    rng.random()
    resume.mark_explored(stage, rng)
    assert resume.explored(stage) and resume.question_layout(stage) == "task"
    assert resume.latest(tmp_path)[2].random() == rng.random()


def test_forgetting_after_the_initial_exploration_keeps_its_drafts(tmp_path):
    from correct.corrector.pool import Draft, Pool

    drafts = Pool(tmp_path / "pool.jsonl")
    drafts.add(
        [
            Draft("a", "x", 0.0),
            Draft("a", "y", 1.0, origin="corrector@init"),
            Draft("a", "z", 1.0, origin="corrector@0"),
        ]
    )
    resume.forget_after(tmp_path, drafts, -1)
    assert [d.origin for d in Pool(tmp_path / "pool.jsonl").drafts()] == ["generator", "corrector@init"]


def test_a_trainer_step_checkpoint_is_marked_complete_once_written(tmp_path):
    (tmp_path / "checkpoint-3").mkdir()
    mark = resume.step_callbacks()[0]
    mark.on_save(SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(global_step=3), None)
    assert (tmp_path / "checkpoint-3" / resume.COMPLETE).read_text() == "3\n"
    assert resume.last_step_checkpoint(tmp_path) == str(tmp_path / "checkpoint-3")


def test_step_checkpoints_are_dropped(tmp_path):
    for step in (1, 2):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "runs").mkdir()
    resume.drop_step_checkpoints(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]


def test_the_cpu_a_run_spent_is_its_latest_logged_figure(tmp_path):
    """The log counts the whole run, so the CPU spent before a resume is its largest figure, not
    its first (the initial exploration's row has none)."""
    rows = [{"iteration": -1}, {"iteration": 0, "cpu_seconds": 10.0}, {"iteration": 1, "cpu_seconds": 30.0}]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert resume.logged_cpu(tmp_path) == 30.0
    assert resume.logged_cpu(tmp_path / "none") == 0.0


# --------------------------------------------------------------------------- config.py units


def test_each_method_has_its_own_default_schedule():
    """sft's default keeps the rate after warm-up (what reproduces the shipped base generators);
    the correctors' decays within each iteration; one given is kept."""
    assert TrainConfig(method="sft").resolved().lr_scheduler == "constant_with_warmup"
    assert TrainConfig(method="pairing").resolved().lr_scheduler == "cosine"
    assert TrainConfig(method="sft", lr_scheduler="linear").resolved().lr_scheduler == "linear"


@pytest.mark.parametrize(
    "settings, option",
    [(dict(bf16=True, fp16=True), "fp16"), (dict(fp16=True, dtype="float16"), "dtype")],
)
def test_mixed_precision_that_cannot_train_is_refused_on_a_gpu(monkeypatch, settings, option):
    """Where there is a GPU: two kinds of mixed precision at once, or fp16 over float16 weights
    (without an adapter), are refused by the option, before anything loads."""
    import torch

    from correct.corrector.training.config import TrainError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(TrainError) as e:
        TrainConfig(**settings).check()
    assert e.value.option == option
    TrainConfig(fp16=True, dtype="float16", lora_r=4).check()  # with an adapter it goes on
    TrainConfig(bf16=True).check()


def test_accumulation_steps_that_do_not_divide_the_batch_are_refused():
    from correct.corrector.training.config import TrainError

    with pytest.raises(TrainError, match="4 gradient accumulation steps do not divide the batch of 6 rows") as e:
        TrainConfig(batch_size=6, gradient_accumulation_steps=4).check()
    assert e.value.option == "gradient_accumulation_steps"
    TrainConfig(batch_size=8, gradient_accumulation_steps=4).check()


def test_a_runs_log_counts_its_identity_pairs_and_the_prompts_of_the_rest(init, tmp_path):
    """Each iteration's row counts what its pairs file holds: the identity pairs (a draft paired
    with itself), and the prompts of the improving ones."""
    train(tmp_path, init, iterations=1, samples_per_prompt=12, identity_share=0.4)
    made = [json.loads(line) for line in (tmp_path / "pairs-0.jsonl").read_text().splitlines()]
    row = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[0])
    same = sum(m["source"] == m["target"] for m in made)
    assert 0 < same < len(made) and row["pairs"] == len(made)
    assert row["identity_pairs"] == same
    assert row["pair_prompts"] == len({m["prompt_id"] for m in made if m["source"] != m["target"]})


def test_a_cpu_budget_spent_exactly_by_the_run_resumed_trains_no_further(init, tmp_path, monkeypatch, caplog):
    """A budget used up to the CPU-second is spent, as within a run: the resume trains no
    iteration past it (not one more of a step)."""
    from correct.corrector.training import budget, loop

    for module in (loop, budget):  # every process has spent 100 CPU-s by its iteration's end
        monkeypatch.setattr(module, "cpu_seconds", lambda: 100.0)
    train(tmp_path, init, iterations=1)
    with caplog.at_level("WARNING"):
        train(tmp_path, init, iterations=2, resume=True, cpu_budget=100.0)
    assert log_rows(tmp_path) == [0]
    assert "spent by the run this one resumes (100): no further iteration" in caplog.text
