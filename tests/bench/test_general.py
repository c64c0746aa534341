"""bench/general.py end to end on the shipped tiny arithmetic generator: a corrector trained on a
mixture that leaves a task out, then measured on that task beside no correction, self-refinement,
a vote at equal decodes and a per-task corrector, with net fixed and broken against the same drafts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = str(ROOT / "tasks" / "models" / "arithmetic-generator")
pytestmark = pytest.mark.slow


def test_general_bench_trains_on_a_mixture_and_measures_the_task_it_left_out(tmp_path):
    out = tmp_path / "general"
    held_out = str(ROOT / "docs" / "examples" / "word-problems" / "word-problems.yaml")
    argv = [
        sys.executable,
        str(ROOT / "bench" / "general.py"),
        "--generator",
        GENERATOR,
        "--shots",
        "0",
        "--tasks",
        f"arithmetic,concepts,{held_out}",
        "--held-out",
        "word-problems",
        "--limit",
        "4",
        "--train-limit",
        "6",
        "--steps",
        "2",
        "--train-args",
        "--samples 2 --explore 2 --max-new-tokens 24 --reference-targets",  # a right draft of every prompt to pair with
        "--per-task",
        f"word-problems={ROOT / 'tasks' / 'models' / 'arithmetic-corrector'}",
        "--hard",
        "word-problems",
        "--less-data",
        f"word-problems={ROOT / 'tasks' / 'models' / 'arithmetic-corrector'}",
        "--recipe-limit",
        "6",
        "--recipe-args",
        "--samples 2 --explore 2 --max-new-tokens 24 --steps 2 --iterations 1 --reference-targets",
        "--variant",
        "aimed=--explore-samples 2 --explore-focus unsolved",
        "--out",
        str(out),
    ]
    subprocess.run(argv, check=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=900)
    mixture = (out / "mixture.yaml").read_text()
    assert "arithmetic" in mixture and "concepts" in mixture and "word-problems" not in mixture
    config = json.loads((out / "corrector" / "correct_config.json").read_text())
    assert config["task"] == str(out / "mixture.yaml") and config["question"] == "task"
    rows = json.loads((out / "results.json").read_text())
    assert [r["short"] for r in rows] == [
        "none",
        "general",
        "general-failing",
        "general-failing-best-of-4",
        "self",
        "self-failing",
        "vote@4",
        "best@8",
        "per-task",
        "recipe",
        "recipe-from-general",
        "third-from-general",
        "third-from-smollm2",
        "recipe-aimed",
        "recipe-from-general-aimed",
        "third-from-general-aimed",
        "third-from-smollm2-aimed",
    ]
    best = json.loads((out / "word-problems" / "best@8" / "metrics.json").read_text())["self_consistency"]
    assert best["samples"] == 8 and best["pick"] == "best" and rows[7]["decodes"] == 8
    # the hard task: the recipe from SmolLM2's stand-in and from the general corrector, which
    # first rewrote the new pool (its log's iteration -1); the less-data run on 6 // 3 prompts
    recipe, from_general = (
        json.loads((out / "word-problems" / f"train-{n}" / "log.jsonl").read_text().splitlines()[0])
        for n in ("recipe", "recipe-from-general")
    )
    assert recipe["iteration"] == 0 and from_general["iteration"] == -1
    for row, log in ((rows[9], recipe), (rows[10], from_general)):
        assert row["prompts_with_pair"] == log["prompts_with_pair"] <= 6
        assert row["prompts_solved"] == log["prompts_solved"] <= 6
    # ... and beside it, the control: the same recipe from the generator on the same third
    for name in ("third-from-general", "third-from-smollm2"):
        pool = (out / "word-problems" / f"train-{name}" / "pool.jsonl").read_text().splitlines()
        assert len({json.loads(line)["prompt_id"] for line in pool}) == 2
    control = json.loads((out / "word-problems" / "train-third-from-smollm2" / "log.jsonl").read_text().splitlines()[0])
    assert control["iteration"] == 0 and "(the control) on a third of the prompts (2)" in rows[12]["row"]
    # --variant: each trained run again with the further options, its row saying which
    for name in ("recipe-aimed", "recipe-from-general-aimed", "third-from-general-aimed", "third-from-smollm2-aimed"):
        trained = json.loads((out / "word-problems" / f"train-{name}" / "correct_config.json").read_text())["training"]
        assert trained["explore_samples"] == 2 and trained["explore_focus"] == "unsolved"
    assert rows[13]["row"].endswith("with --explore-samples 2 --explore-focus unsolved, 3 rounds")
    assert all(r["task"] == "word-problems" for r in rows)
    none, vote = rows[0], rows[6]
    # given only failing drafts, a corrector never rewrites one that ran: nothing right is broken
    assert all(rows[i]["broken"] in (0, None) for i in (2, 3, 5))
    assert none["decodes"] == 1 and vote["decodes"] == 4 and none["net_fixed"] == 0 and none["broken"] in (0, None)
    assert all(1 <= r["decodes"] <= 4 for r in rows if r["short"] not in ("general-failing-best-of-4", "best@8"))
    assert 1 <= rows[3]["decodes"] <= 1 + 3 * 4  # every rewrite of the 4 is a decode
    # the corrector's card carries what it did on the task it never saw
    card = (out / "corrector" / "README.md").read_text()
    assert "## On tasks it never saw" in card and "| word-problems | general corrector (never saw this task)" in card
    table = (out / "table.md").read_text()
    assert "general corrector (never saw this task), 3 rounds" in table and "correct train --task" in table
