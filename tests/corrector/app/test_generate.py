"""``generate_run`` on records without references, with the shipped arithmetic models and the
real ``program`` value: every record gets its k rounds with feedback, unlabeled ones with
``value: null``, and the metrics measure only the labeled part."""

from __future__ import annotations

import pytest

from correct.corrector import Corrector
from correct.corrector.app.generate import GenerateConfig, generate_run
from correct.corrector.metrics import compute_metrics
from correct.corrector.outputs import read_all_jsonl
from correct.generators import SamplingParams, load_generator
from correct.tasks import TASKS
from correct.values import load_value

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def arithmetic():
    task = TASKS["arithmetic"]
    value = load_value(task.value)
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    yield task, load_generator(task.generator), Corrector.from_pretrained(task.corrector), value, params
    value.close()


def run(arithmetic, records, out, rounds=2, baseline=False, **options):
    task, gen, corr, value, params = arithmetic
    return generate_run(
        records,
        task.format_prompt,
        gen,
        corr,
        value,
        params,
        out,
        None,
        GenerateConfig(rounds=rounds, baseline=baseline, **options),
    )


def test_baseline_samples_sets_the_vote_apart_from_the_rounds(arithmetic, tmp_path):
    """--rounds 0 --baseline-samples N: the greedy draft and a vote of N samples, whose tokens
    are counted apart from the draft's."""
    records = TASKS["arithmetic"].make_split("test", 4, 0)
    gen = arithmetic[1]
    before = gen.tokens_generated
    m = run(arithmetic, records, tmp_path / "out.jsonl", rounds=0, baseline=True, baseline_samples=5)
    lines = read_all_jsonl(tmp_path / "out.jsonl")
    assert all(len(l["rounds"]) == 1 and l["self_consistency"]["samples"] == 5 for l in lines)
    assert m["self_consistency"]["samples"] == 5 and m["round_decodes"] == [4]
    # five samples per record against one greedy draft: most of the tokens are the vote's
    assert gen.tokens_generated - before >= m["self_consistency"]["tokens"] > 3 * (gen.tokens_generated - before) / 6


def test_baseline_pick_best_is_passed_through_and_said(arithmetic, tmp_path):
    """--baseline-pick best reaches the baseline (which sample it keeps: tests/corrector/
    test_refine.py), each line and the metrics say how it picked, and the drafts are untouched."""
    records = TASKS["arithmetic"].make_split("test", 8, 0)
    both = {
        pick: run(
            arithmetic,
            records,
            tmp_path / f"{pick}.jsonl",
            rounds=0,
            baseline=True,
            baseline_samples=4,
            baseline_pick=pick,
        )
        for pick in ("vote", "best")
    }
    assert both["best"]["self_consistency"]["pick"] == "best" and "pick" not in both["vote"]["self_consistency"]
    lines = {pick: read_all_jsonl(tmp_path / f"{pick}.jsonl") for pick in both}
    assert all(l["self_consistency"]["pick"] == "best" for l in lines["best"])
    assert [l["rounds"] for l in lines["best"]] == [l["rounds"] for l in lines["vote"]]  # the same drafts


def test_unlabeled_records_get_k_rounds_with_feedback_and_null_values(arithmetic, tmp_path):
    records = [{"id": r["id"], "prompt": r["prompt"]} for r in TASKS["arithmetic"].make_split("test", 6, 0)]
    m = run(arithmetic, records, tmp_path / "out.jsonl", baseline=True)
    lines = read_all_jsonl(tmp_path / "out.jsonl")
    assert len(lines) == 6
    for line in lines:
        assert [s["round"] for s in line["rounds"]] == [0, 1, 2]
        assert all(s["value"] is None for s in line["rounds"])
        # What the program printed, or how it failed: run in the sandbox, never the answer.
        assert all(
            s["feedback"] and (s["feedback"].startswith("printed ") or "Error" in s["feedback"]) for s in line["rounds"]
        )
        assert line["self_consistency"]["value"] is None and line["self_consistency"]["samples"] == 3
    assert (m["records"], m["labeled"], m["unlabeled"]) == (6, 0, 6)
    assert [r["solved"] for r in m["rounds"]] == [None] * 3 and m["net_fixed"] is None
    assert all(0.0 <= r["changed"] <= 1.0 for r in m["rounds"][1:])
    sc_tokens = m["self_consistency"].pop("tokens")
    assert m["self_consistency"] == {"samples": 3, "mean_value": None, "solved": None}
    assert len(m["round_seconds"]) == 3 and all(t > 0 for t in m["round_seconds"]) and m["tokens"] > sc_tokens > 0
    # Round 0 drafts every record; a later round corrects only those greedy decoding changed
    # the round before (an unknown value is never at its maximum).
    still_open = [6] + [
        sum(r == 1 or l["rounds"][r - 1]["text"] != l["rounds"][r - 2]["text"] for l in lines) for r in (1, 2)
    ]
    assert m["round_decodes"] == still_open


def test_a_mixed_file_measures_only_its_labeled_part(arithmetic, tmp_path):
    """Half the records lose their answer: they are refined like the rest (the same drafts),
    and the solved shares are those of the labeled half alone."""
    full = TASKS["arithmetic"].make_split("test", 16, 0)
    mixed = [r if i % 2 else {"id": r["id"], "prompt": r["prompt"]} for i, r in enumerate(full)]
    m = run(arithmetic, mixed, tmp_path / "mixed.jsonl")
    assert (m["records"], m["labeled"], m["unlabeled"]) == (16, 8, 8)
    lines = read_all_jsonl(tmp_path / "mixed.jsonl")
    labeled = [l for i, l in enumerate(lines) if i % 2]
    assert all(s["value"] is None for i, l in enumerate(lines) if not i % 2 for s in l["rounds"])
    for r, row in enumerate(m["rounds"]):
        assert row["solved"] == sum(l["rounds"][r]["value"] == 1.0 for l in labeled) / 8
    alone = compute_metrics(labeled, 1.0)
    for key in ("mean_value", "solved", "broken"):
        assert [r.get(key) for r in m["rounds"]] == [r.get(key) for r in alone["rounds"]]
    assert (m["net_fixed"], m["broken_of_right"]) == (alone["net_fixed"], alone["broken_of_right"])

    # The same records with their answers: the same texts and feedback round by round, and
    # the same figures over the labeled half.
    m_full = run(arithmetic, full, tmp_path / "full.jsonl")
    assert (m_full["labeled"], m_full["unlabeled"]) == (16, 0)
    both = zip(lines, read_all_jsonl(tmp_path / "full.jsonl"))
    assert all(
        [(s["text"], s["feedback"]) for s in a["rounds"]] == [(s["text"], s["feedback"]) for s in b["rounds"]]
        for a, b in both
    )
    half = compute_metrics([l for i, l in enumerate(read_all_jsonl(tmp_path / "full.jsonl")) if i % 2], 1.0)
    assert [r["solved"] for r in half["rounds"]] == [r["solved"] for r in m["rounds"]]
