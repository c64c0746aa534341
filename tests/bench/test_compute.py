"""bench/compute.py: every row of bench/new_task.py on one scale of compute, from the files the
runs leave behind, checked on figures worked out by hand."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import compute  # noqa: E402


def test_inference_cost_counts_open_drafts_or_the_vote():
    # 4 problems: all drafted, 3 corrected in round 1, 1 in round 2
    rounds = {"records": 4, "round_decodes": [4, 3, 1], "tokens": 200}
    assert compute.inference_cost(rounds, vote=False) == {"decodes": 2.0, "tokens": 50.0}
    vote = {"records": 4, "round_decodes": [4], "tokens": 300, "self_consistency": {"samples": 8, "tokens": 256}}
    assert compute.inference_cost(vote, vote=True) == {"decodes": 8, "tokens": 64.0}


def test_training_costs_come_from_the_runs_files(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    (pool / "cost.json").write_text(json.dumps({"seconds": 10.0, "cpu_seconds": 18.0, "command": "c"}))
    (pool / "log.jsonl").write_text(json.dumps({"iteration": 0, "pool_tokens": 900, "train_tokens": 5}) + "\n")
    lora = tmp_path / "lora"
    lora.mkdir()
    (lora / "train.json").write_text(json.dumps({"seconds": 20.0, "cpu_seconds": 30.0, "command": "c"}))
    (lora / "log.jsonl").write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                {"iteration": 0, "train_tokens": 100, "explore_tokens": 40, "pool_tokens": 0},
                {"iteration": 1, "train_tokens": 100, "explore_tokens": None},
            ]
        )
    )
    total = compute.add(compute.pool_cost(pool), compute.corrector_cost(lora))
    assert total == {"cpu_seconds": 48.0, "seconds": 30.0, "generated_tokens": 940, "trained_tokens": 200}


def test_a_pool_without_logged_tokens_is_counted_by_tokenizing_its_drafts(tmp_path):
    (tmp_path / "cost.json").write_text(json.dumps({"seconds": 1.0, "cpu_seconds": 2.0, "command": "c"}))
    (tmp_path / "pool.jsonl").write_text(
        "".join(
            json.dumps(d) + "\n"
            for d in [
                {"text": "a b c", "origin": "generator"},
                {"text": "a", "origin": "corrector@0"},
                {"text": "d e", "origin": "generator"},
            ]
        )
    )
    words = lambda text: {"input_ids": text.split()}  # noqa: E731
    assert compute.pool_cost(tmp_path, lambda: words)["generated_tokens"] == 5


def row(name, solved, cpu, decodes, vote=False):
    return {
        "row": name,
        "short": name,
        "solved": solved,
        "vote": vote,
        "net_fixed": None,
        "broken": None,
        "commands": [f"cmd {name}"],
        "train": {"cpu_seconds": cpu, "seconds": cpu, "generated_tokens": 2e6, "trained_tokens": 3e4},
        "infer": {"decodes": decodes, "tokens": 40.0},
    }


def test_table_gives_each_row_its_share_of_the_budget_and_its_commands(tmp_path):
    rows = [
        row("lora", [0.1, 0.4], 100.0, 2.5),
        row("rft", [0.45], 95.0, 1.0),
        row("vote", [0.1, 0.2], 0.0, 8, vote=True),
    ]
    text = compute.table(rows, budget=100.0)
    lines = text.splitlines()
    assert (
        lines[2].startswith("| lora | 40.0% (draft 10.0%) |")
        and "| 2.50 | 40 | 100 | 1.00 | 2.00 M | 30 k |" in lines[2]
    )
    assert "| rft | 45.0% |" in lines[3] and "| 95 | 0.95 |" in lines[3]
    assert "| vote | 20.0% |" in lines[4] and "| 0 | - |" in lines[4]
    assert "  `cmd rft`" in lines
    pytest.importorskip("matplotlib")
    compute.picture(rows, tmp_path / "c.png", "t")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_resumed_evaluations_cost_is_per_problem_it_did():
    whole = {"records": 200, "round_decodes": [200, 120], "tokens": 6400}
    assert compute.inference_cost(whole, vote=False) == {"decodes": 1.6, "tokens": 32.0}
    resumed = {"records": 200, "resumed_after": 150, "round_decodes": [50, 30], "tokens": 1600}
    assert compute.inference_cost(resumed, vote=False) == {"decodes": 1.6, "tokens": 32.0}
    vote = {"records": 200, "resumed_after": 100, "self_consistency": {"samples": 4, "tokens": 12800}}
    assert compute.inference_cost(vote, vote=True) == {"decodes": 4, "tokens": 128.0}


def test_labels_of_points_close_together_do_not_print_over_each_other():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_xlim(0, 10), ax.set_ylim(0, 100)
    compute._label(ax, [(5.0, 78.5, "rft+lora"), (5.02, 78.0, "grpo+lora"), (5.1, 77.0, "lora"), (1.0, 20.0, "vote")])
    fig.canvas.draw()
    boxes = {a.get_text(): a.get_window_extent() for a in ax.texts}
    assert len(boxes) == 4
    names = sorted(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)
    plt.close(fig)


def test_a_killed_runs_logged_cpu_is_what_a_resumed_run_adds_to_its_own(tmp_path):
    assert compute.logged_cpu(tmp_path) == 0.0
    (tmp_path / "log.jsonl").write_text(
        "".join(json.dumps({"iteration": i, "cpu_seconds": c}) + "\n" for i, c in [(0, 700.0), (1, 1300.5)])
    )
    assert compute.logged_cpu(tmp_path) == 1300.5
    (tmp_path / "checkpoint-20").mkdir()
    (tmp_path / "checkpoint-20" / "trainer_state.json").write_text(
        json.dumps({"log_history": [{"loss": 1, "cpu_seconds": 2000.0}, {"loss": 0}]})
    )
    assert compute.logged_cpu(tmp_path) == 2000.0
    # an sft or corrector iteration's step checkpoint: what CpuBudget saved in it, not its older log lines
    step = tmp_path / "trainer" / "iteration-1" / "checkpoint-30"
    step.mkdir(parents=True)
    (step / "trainer_state.json").write_text(
        json.dumps(
            {
                "log_history": [{"cpu_seconds": 2100.0}],
                "stateful_callbacks": {"CpuBudget": {"args": {}, "attributes": {"cpu_seconds": 2400.0}}},
            }
        )
    )
    assert compute.logged_cpu(tmp_path) == 2400.0


def test_a_cost_records_the_machine_its_cpu_seconds_were_counted_on():
    m = compute.machine()
    assert set(m) == {"cpu", "cores", "vector"} and m["cores"] >= 1
    assert m["vector"] in (None, "avx", "avx2", "avx512f") and isinstance(m["cpu"], str)


def test_paired_counts_what_each_row_alone_solves_and_tests_it(tmp_path):
    """bench/paired.py: two rows on the same problems, a vote read by its winner and a corrector
    by its last round; the sign test's p is exact (19 against 0: 2 / 2**19)."""
    import subprocess

    def row(name: str, solved: list[bool], vote: bool = False) -> None:
        (tmp_path / name).mkdir()
        lines = []
        for i, ok in enumerate(solved):
            value = 1.0 if ok else 0.0
            line = {"id": str(i), "rounds": [{"value": 0.0}] if vote else [{"value": 0.0}, {"value": value}]}
            if vote:
                line["self_consistency"] = {"value": value}
            lines.append(json.dumps(line))
        (tmp_path / name / "eval.jsonl").write_text("\n".join(lines) + "\n")

    row("corrector", [True] * 19 + [False])
    row("vote", [False] * 20, vote=True)
    assert compute.paired(
        compute.finals(tmp_path / "corrector" / "eval.jsonl", False),
        compute.finals(tmp_path / "vote" / "eval.jsonl", True),
    ) == (19, 0, pytest.approx(2 / 2**19))
    script = Path(__file__).resolve().parents[2] / "bench" / "paired.py"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "corrector", "vote"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert (
        "corrector 95.0% against vote 0.0% on 20 problems: 19 solved by corrector only, 0 by vote only" in done.stdout
    )
    assert "p = 3.8e-06" in done.stdout
    with pytest.raises(ValueError, match="different problems"):
        compute.paired({"1": True}, {"2": True})
    odd = subprocess.run([sys.executable, str(script), str(tmp_path), "corrector"], capture_output=True, text=True)
    assert odd.returncode == 2 and "rows come in pairs" in odd.stderr
