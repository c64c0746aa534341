"""Killed runs resume: `correct train --resume` and `correct generate --resume` after SIGKILL
at several points (CORRECT_FAILPOINT), against uninterrupted runs; checkpoints are atomic."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from correct.corrector.pool import Draft, Pool
from correct.corrector.training import resume
from correct.tasks import TASKS

TASK = TASKS["arithmetic"]
TRAIN = [
    "train",
    "--task",
    "arithmetic",
    "--generator",
    TASK.generator,
    "--limit",
    "24",
    "--samples",
    "2",
    "--iterations",
    "2",
    "--steps",
    "4",
    "--pairs",
    "40",
    "--explore",
    "8",
    "--batch-size",
    "8",
    "--eval-limit",
    "0",
    "--save-steps",
    "1",
]


def correct(args, failpoint: str | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("CORRECT_FAILPOINT", None)
    if failpoint:
        env["CORRECT_FAILPOINT"] = failpoint
    return subprocess.run(
        [sys.executable, "-m", "correct.cli", *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env
    )


# --------------------------------------------------------------------------- units


class Model:
    """Enough of an HFGenerator for save_checkpoint."""

    def __init__(self, tag: str):
        self.model = self.tokenizer = self
        self.tag = tag

    def save_pretrained(self, folder):
        Path(folder, f"{self.tag}.txt").write_text(self.tag)


def test_checkpoints_are_renamed_into_place_and_pruned(tmp_path):
    rng = random.Random(5)
    rng.random()
    for it in (-1, 0, 1, 2):
        resume.save_checkpoint(tmp_path, it, Model(f"m{it}"), rng, keep=2)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["stage-1", "stage-2"]
    # A temporary folder left by a kill is never taken for a checkpoint.
    (tmp_path / "checkpoints" / ".tmp-stage-3").mkdir()
    (tmp_path / "checkpoints" / ".tmp-stage-3" / "m3.txt").write_text("half")
    iteration, folder, restored = resume.latest(tmp_path)
    assert iteration == 2 and folder.name == "stage-2" and (folder / "m2.txt").exists()
    assert restored.random() == rng.random()  # the RNG continues where it was saved
    assert resume.latest(tmp_path / "nothing") is None


def test_a_checkpoint_says_how_its_corrector_saw_the_question(tmp_path):
    stage = resume.save_checkpoint(tmp_path, 0, Model("m"), random.Random(0), keep=2, question="task")
    assert resume.question_layout(stage) == "task"
    # one saved before the layout was recorded was trained on the raw prompt, and resumes so
    state = json.loads((stage / resume.STATE).read_text())
    del state["question"]
    (stage / resume.STATE).write_text(json.dumps(state))
    assert resume.question_layout(stage) == "prompt"


def test_a_checkpoint_says_whether_its_iteration_explored(tmp_path):
    last = resume.save_checkpoint(tmp_path, 1, Model("m"), random.Random(0), keep=2, explored=False)
    assert not resume.explored(last)
    # one saved before a last iteration could skip its exploration always explored
    state = json.loads((last / resume.STATE).read_text())
    del state["explored"]
    (last / resume.STATE).write_text(json.dumps(state))
    assert resume.explored(last)


@pytest.mark.parametrize("note", ["# first try", "[1, 2]"])
def test_a_line_written_into_the_log_is_refused_by_its_line(tmp_path, note):
    """A note written into log.jsonl ended a resume in a JSONDecodeError (a list: AttributeError)."""
    from correct.corrector.training.config import TrainError

    (tmp_path / "log.jsonl").write_text(json.dumps({"iteration": 0}) + "\n\n" + note + "\n")
    with pytest.raises(TrainError, match=r"log.jsonl:3: not a row of correct train's log; remove it"):
        resume.logged_cpu(tmp_path)


def test_forget_after_removes_what_unfinished_stages_wrote(tmp_path):
    pool = Pool(tmp_path / "pool.jsonl")
    pool.add(
        [
            Draft("a", "x", 0.0),
            Draft("a", "y", 1.0, origin="corrector@init"),
            Draft("a", "z", 1.0, origin="corrector@0"),
            Draft("b", "w", 0.0, origin="corrector@1"),
        ]
    )
    (tmp_path / "log.jsonl").write_text("".join(json.dumps({"iteration": i}) + "\n" for i in (-1, 0, 1)))
    resume.forget_after(tmp_path, pool, 0)
    kept = [(d.text, d.origin) for d in Pool(tmp_path / "pool.jsonl").drafts()]
    assert kept == [("x", "generator"), ("y", "corrector@init"), ("z", "corrector@0")]
    assert [json.loads(l)["iteration"] for l in (tmp_path / "log.jsonl").read_text().splitlines()] == [-1, 0]
    resume.forget_after(tmp_path, pool, -2)  # nothing finished: only the generator's drafts stay
    assert [d.origin for d in Pool(tmp_path / "pool.jsonl").drafts()] == ["generator"]
    assert (tmp_path / "log.jsonl").read_text() == ""


# --------------------------------------------------------------------------- train


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "full"
    done = correct([*TRAIN, "--output", out])
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def _pool(folder: Path) -> list[dict]:
    return [json.loads(l) for l in (folder / "pool.jsonl").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize(
    "failpoint, exact",
    [
        ("score-generator", True),  # scoring the initial pool's drafts
        ("pool-write", False),  # half of the initial pool's lines written, the last one torn
        ("train-step", True),  # after step 2 of iteration 0: continues from the Trainer's step-1 checkpoint
        ("trainer-checkpoint", True),  # a Trainer checkpoint written but not yet marked complete
        ("score-corrector", True),  # scoring iteration 0's exploration rewrites
        ("explore", True),  # exploration drafts of iteration 0 in the pool, its log row not yet
        ("checkpoint", True),  # the first checkpoint half-written
    ],
)
def test_train_resumes_after_sigkill(uninterrupted, tmp_path, failpoint, exact):
    out = tmp_path / "run"
    killed = correct([*TRAIN, "--output", out], failpoint)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    done = correct([*TRAIN, "--output", out, "--resume"])
    assert done.returncode == 0, done.stderr[-2000:]

    pool, full = _pool(out), _pool(uninterrupted)
    # No draft lost or written twice: 2 generator drafts for each of 24 prompts, 8 per exploration.
    assert Counter(d["prompt_id"] for d in pool if d["origin"] == "generator") == Counter(
        {f"train-{i}": 2 for i in range(24)}
    )
    assert (
        Counter(d["origin"] for d in pool)
        == Counter(d["origin"] for d in full)
        == {"generator": 48, "corrector@0": 8}  # the last iteration explores nothing
    )
    assert [json.loads(l)["iteration"] for l in (out / "log.jsonl").read_text().splitlines()] == [0, 1]
    a, b = load_file(out / "model.safetensors"), load_file(uninterrupted / "model.safetensors")
    if exact:  # the same pool, pairs, data order and sampling: the same model
        assert Counter(json.dumps(d, sort_keys=True) for d in pool) == Counter(
            json.dumps(d, sort_keys=True) for d in full
        )
        assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    else:  # the re-drafted prompts got other samples: the same model within noise
        assert max((a[k] - b[k]).abs().max().item() for k in a) < 0.05
    assert sorted(p.name for p in (out / "checkpoints").glob("stage-*")) == ["stage-0", "stage-1"]
    assert (out / "checkpoints" / "settings.json").is_file()  # what a resume must keep (resume.keep_settings)
    assert not list(
        (out / "trainer").glob("iteration-*/checkpoint-*")
    )  # step checkpoints go once an iteration is saved
    log = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    # Killed inside iteration 0, the resumed run continued it from the newest complete step
    # checkpoint (step 1); killed after its training, from the last step (4: nothing to redo);
    # a checkpoint not yet marked complete was thrown away and the iteration redone.
    assert log[0].get("resumed_from_step") == {
        "train-step": 1,
        "score-corrector": 4,
        "explore": 4,
        "checkpoint": 4,
    }.get(failpoint)


# --------------------------------------------------------------------------- generate

GENERATE = ["generate", "--task", "arithmetic", "--limit", "10", "--batch-size", "4", "--rounds", "2"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "failpoint, sampled", [("generate-batch", False), ("jsonl-write", False), ("generate-batch", True)]
)
def test_generate_resumes_after_sigkill(tmp_path, failpoint, sampled):
    command = [*GENERATE, *(["--temperature", "0.9", "--correction-samples", "2"] if sampled else [])]
    full = tmp_path / "full.jsonl"
    assert correct([*command, "--output", full]).returncode == 0
    out = tmp_path / "out.jsonl"
    killed = correct([*command, "--output", out], failpoint)
    assert killed.returncode == -signal.SIGKILL
    kept = out.read_text()
    assert correct([*command, "--output", out, "--resume"]).returncode == 0
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    want = [json.loads(l) for l in full.read_text().splitlines()]
    # Every id once, in order; greedy rounds identical to the uninterrupted run's, and sampled
    # ones too where the kill fell between batches: each batch keeps its seed on resume.
    assert [l["id"] for l in lines] == [l["id"] for l in want]
    assert [l["rounds"] for l in lines] == [l["rounds"] for l in want]
    if failpoint == "generate-batch":
        assert lines == want
    whole = kept.splitlines(keepends=True)
    assert out.read_text().startswith("".join(l for l in whole if l.endswith("\n")))  # what was written stays
    metrics = json.loads((tmp_path / "out.metrics.json").read_text())
    assert (
        metrics["records"] == 10
        and metrics["rounds"] == json.loads((tmp_path / "full.metrics.json").read_text())["rounds"]
    )
