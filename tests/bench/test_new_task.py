"""bench/new_task.py end to end on the shipped tiny arithmetic generator: a killed evaluation
goes on where its output ends, its command is shown as the run's own, and its cost is counted
over the problems the resumed run did."""

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


def test_a_killed_vote_resumes_and_its_cost_is_per_problem_it_did(tmp_path):
    out = tmp_path / "nt"
    argv = [sys.executable, str(ROOT / "bench" / "new_task.py"), "--task", "arithmetic", "--generator", GENERATOR]
    argv += ["--shots", "0", "--rows", "self-consistency", "--votes", "2", "--limit", "4", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(argv, check=True, cwd=ROOT, env=env, timeout=600, capture_output=True)
    vote = out / "vote-2"
    whole = (vote / "eval.jsonl").read_text().splitlines(keepends=True)
    assert len(whole) == 4
    # killed after the first record: its line kept, the metrics never written
    (vote / "eval.jsonl").write_text(whole[0])
    (vote / "metrics.json").unlink()
    subprocess.run(argv, check=True, cwd=ROOT, env=env, timeout=600, capture_output=True)
    assert (vote / "eval.jsonl").read_text().splitlines(keepends=True)[0] == whole[0]
    assert len((vote / "eval.jsonl").read_text().splitlines()) == 4
    metrics = json.loads((vote / "metrics.json").read_text())
    assert metrics["records"] == 4 and metrics["resumed_after"] == 1
    command = (vote / "generate.txt").read_text()
    assert "--baseline-samples 2" in command and "--resume" not in command
    row = json.loads((out / "results.json").read_text())["rows"][0]
    assert row["infer"]["tokens"] == pytest.approx(metrics["self_consistency"]["tokens"] / 3)
