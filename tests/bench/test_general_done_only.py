"""bench/general.py --done-only: the tables and the card from what a run has finished, while it
goes on; nothing is run (quick: no model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _finished(folder: Path, rounds: list[list[float]], command: str) -> None:
    """An evaluation as `correct generate` leaves it: eval.jsonl, metrics.json, generate.txt."""
    folder.mkdir(parents=True)
    lines = [
        {"id": f"t{i}", "rounds": [{"round": r, "value": v} for r, v in enumerate(vs)]} for i, vs in enumerate(rounds)
    ]
    (folder / "eval.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    solved = [sum(vs[r] == 1.0 for vs in rounds) / len(rounds) for r in range(len(rounds[0]))]
    metrics = {"records": len(rounds), "rounds": [{"round": r, "solved": s} for r, s in enumerate(solved)]}
    (folder / "metrics.json").write_text(json.dumps({**metrics, "tokens": 0, "round_decodes": [len(rounds)]}))
    (folder / "generate.txt").write_text(command + "\n")


def test_done_only_writes_the_finished_rows_and_runs_nothing(tmp_path):
    """While a run goes on, --done-only tabulates what is finished: a task with no greedy drafts
    yet is left out (net fixed needs them), an unfinished row is skipped, an untrained
    corrector's rows wait, and nothing is run (a generate here would fail: no such generator)."""
    from correct.corrector.model import CorrectorConfig

    out = tmp_path / "general"
    (out / "corrector").mkdir(parents=True)
    CorrectorConfig().save(out / "corrector")
    (out / "corrector" / "train.json").write_text(json.dumps({"command": "correct train ..."}) + "\n")
    _finished(out / "word-problems" / "none", [[1.0], [0.0], [0.0], [1.0]], "correct generate none")
    _finished(out / "word-problems" / "general-failing", [[1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]], "gf")
    argv = [sys.executable, str(ROOT / "bench" / "general.py"), "--generator", str(tmp_path / "absent")]
    argv += ["--tasks", "arithmetic,concepts,word-problems,multi-step", "--held-out", "word-problems,multi-step"]
    argv += ["--less-data", f"word-problems={tmp_path / 'absent'}", "--out", str(out), "--done-only"]
    subprocess.run(argv, check=True, cwd=ROOT, timeout=300)
    rows = json.loads((out / "results.json").read_text())
    assert [(r["task"], r["short"]) for r in rows] == [("word-problems", "none"), ("word-problems", "general-failing")]
    assert rows[1]["net_fixed"] == 0.5 and rows[1]["broken"] == 0.0
    assert "| word-problems | general corrector, failing drafts only" in (out / "corrector" / "transfer.md").read_text()
