"""bench/general.py --pool: the general corrector's pool begun from drafts already drawn, a
mixture's pool and one task's, keeping only generator drafts of the mixture's training prompts
(quick: no model)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import general  # noqa: E402


def _draft(prompt_id: str, origin: str = "generator") -> dict:
    return {"prompt_id": prompt_id, "text": "print(1)", "value": 0.0, "feedback": "printed 1", "origin": origin}


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_pool_keeps_the_generator_drafts_of_the_mixtures_training_prompts(tmp_path):
    from correct.tasks import get_task

    word_problems = ROOT / "docs" / "examples" / "word-problems" / "word-problems.yaml"
    mixture = tmp_path / "mixture.yaml"
    mixture.write_text(f"mixture:\n  - arithmetic\n  - {json.dumps(str(word_problems))}\n")
    arithmetic = [r["id"] for r in get_task("arithmetic").make_split("train", 3, 0)]
    problems = [r["id"] for r in get_task(str(word_problems)).make_split("train", 4, 0)]
    mixed = _jsonl(
        tmp_path / "mixed.jsonl",
        [
            _draft(f"arithmetic/{arithmetic[0]}"),
            _draft(f"arithmetic/{arithmetic[2]}"),
            _draft(f"arithmetic/{arithmetic[2]}", origin="corrector@0"),  # an exploration: not the generator's
            _draft("concepts/train-0"),  # a task the mixture does not have
        ],
    )
    one_task = _jsonl(
        tmp_path / "one.jsonl",
        [_draft(problems[1]), _draft(problems[3]), _draft(problems[3]), _draft("a prompt past the limit")],
    )
    # each task's first 3 training records: the word problems' 4th is past them
    args = argparse.Namespace(pool=[mixed, f"word-problems={one_task}"], train_limit=3, seed=0, out=tmp_path)
    pool = tmp_path / "corrector" / "pool.jsonl"
    general.General(args).seed_pool(mixture, pool)

    kept = [json.loads(line) for line in pool.read_text().splitlines()]
    assert [d["prompt_id"] for d in kept] == [
        f"arithmetic/{arithmetic[0]}",
        f"arithmetic/{arithmetic[2]}",
        f"word-problems/{problems[1]}",
    ]
    assert {d["origin"] for d in kept} == {"generator"} and kept[0] == _draft(f"arithmetic/{arithmetic[0]}")


def test_a_pool_file_that_is_not_there_is_named_before_anything_runs(tmp_path):
    import subprocess

    argv = [sys.executable, str(ROOT / "bench" / "general.py"), "--pool", "word-problems=absent.jsonl"]
    done = subprocess.run([*argv, "--out", str(tmp_path / "g")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "--pool 'word-problems=absent.jsonl': no such file" in done.stderr
    assert not (tmp_path / "g").exists()
