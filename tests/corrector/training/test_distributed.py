"""`correct train` under `accelerate launch` with two CPU processes (gloo): every process drafts
and explores its share, the pool is whole and written once, the Trainer runs data-parallel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter

import pytest
import torch
from safetensors.torch import load_file

from correct.corrector.training import distributed
from correct.tasks import TASKS


def test_one_process_is_the_identity(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not distributed.launched() and distributed.world() == 1 and distributed.rank() == 0
    assert distributed.shard([1, 2, 3]) == [1, 2, 3] and distributed.unshard([1, 2, 3], 3) == [1, 2, 3]
    assert distributed.per_process_batch(32) == 32 and distributed.device() is None


def test_shards_are_dealt_round_robin_and_put_back_in_order(monkeypatch):
    import accelerate.utils

    items = list("abcdefg")
    shares = {}
    for r in (0, 1, 2):
        monkeypatch.setattr(distributed, "world", lambda: 3)
        monkeypatch.setattr(distributed, "rank", lambda r=r: r)
        shares[r] = distributed.shard(items)
    assert shares == {0: ["a", "d", "g"], 1: ["b", "e"], 2: ["c", "f"]}
    # gather_object concatenates every process's list in rank order.
    monkeypatch.setattr(
        accelerate.utils, "gather_object", lambda obj: [[x.upper() for x in shares[r]] for r in (0, 1, 2)]
    )
    assert distributed.unshard(["ignored"], len(items)) == list("ABCDEFG")
    assert distributed.per_process_batch(32) == 11


@pytest.mark.parametrize(
    "env, name",
    [
        ({"ACCELERATE_USE_FSDP": "true"}, "FSDP"),
        ({"ACCELERATE_USE_DEEPSPEED": "true", "ACCELERATE_DEEPSPEED_ZERO_STAGE": "3"}, "DeepSpeed ZeRO-3"),
        ({"ACCELERATE_USE_DEEPSPEED": "true", "ACCELERATE_DEEPSPEED_ZERO_STAGE": "2"}, None),
    ],
)
def test_launch_configs_that_shard_the_weights_are_refused_before_any_work(monkeypatch, tmp_path, env, name):
    from correct.corrector.training.config import TrainConfig, TrainError
    from correct.corrector.training.loop import train_corrector

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert distributed.sharded_parameters() == name
    if name:
        with pytest.raises(TrainError, match=f"{name} shards the weights.*DDP or DeepSpeed ZeRO-1/2"):
            train_corrector([], [], None, None, "unused", tmp_path / "out", TrainConfig())
        assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_train_under_accelerate_launch_with_two_processes(tmp_path):
    launcher = shutil.which("accelerate")
    if launcher is None:
        pytest.skip("accelerate's launcher is not on PATH")
    task = TASKS["arithmetic"]
    out = tmp_path / "corr"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    # --multi_gpu is accelerate's multi-process launcher; with no GPU the processes join over gloo.
    cmd = [
        launcher,
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        "0",
        "-m",
        "correct.cli",
        "train",
        "--task",
        "arithmetic",
        "--generator",
        task.generator,
        "--limit",
        "24",
        "--samples",
        "3",
        "--iterations",
        "2",
        "--steps",
        "3",
        "--pairs",
        "40",
        "--explore",
        "9",
        "--batch-size",
        "8",
        "--output",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        done.stdout.count("saved corrector") + done.stderr.count("saved corrector") == 1
    )  # said once, by the main process

    pool = [json.loads(l) for l in (out / "pool.jsonl").read_text().splitlines()]
    drafted = Counter(d["prompt_id"] for d in pool if d["origin"] == "generator")
    # 24 prompts x 3 drafts, none lost or written twice though two processes drafted them.
    assert len(drafted) == 24 and set(drafted.values()) == {3}
    assert Counter(d["origin"] for d in pool if d["origin"] != "generator") == {
        "corrector@0": 9
    }  # the last iteration explores nothing
    log = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in log] == [0, 1]
    assert all(row["processes"] == 2 for row in log)  # the Trainer's own world size
    assert all(len((out / f"pairs-{i}.jsonl").read_text().splitlines()) == log[i]["pairs"] for i in (0, 1))
    trained, start = load_file(out / "model.safetensors"), load_file(os.path.join(task.generator, "model.safetensors"))
    assert any(not torch.equal(trained[k], start[k]) for k in start)
