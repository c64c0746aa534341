"""The refinement loop, metrics and the self-consistency baseline, on scripted models."""

import pytest

from correct.corrector.model import Corrector
from correct.corrector.metrics import round_metrics, summary
from correct.corrector.refine import RoundCost, refine, self_consistency
from correct.generators import SamplingParams
from correct.values import Score


class Scripted:
    """A generator whose completion for a prompt is looked up in a table (one per call)."""

    def __init__(self, table):
        self.table, self.calls = table, []

    def generate(self, prompts, params):
        self.calls.append(list(prompts))
        return [[self._pick(p, k) for k in range(params.n)] for p in prompts]

    def _pick(self, prompt, k):
        out = self.table[prompt.split("Draft:\n")[-1].split("\n")[0]] if "Draft:" in prompt else self.table[prompt]
        return out[k % len(out)] if isinstance(out, list) else out


class Exact:
    """1 when the output equals the record's answer; feedback echoes the output."""

    name, max_value, min_value = "exact", 1.0, 0.0

    def __init__(self, reference_free):
        self.reference_free = reference_free

    def __call__(self, records, outputs):
        return [Score(float(o == r["answer"]), f"got {o}", answer=o) for r, o in zip(records, outputs)]


RECORDS = [{"id": "a", "prompt": "qa", "answer": "A"}, {"id": "b", "prompt": "qb", "answer": "B"}]
GREEDY = SamplingParams(temperature=0.0)


def test_reference_free_value_skips_solved_drafts():
    gen = Scripted({"qa": "A", "qb": "b0"})
    corr = Scripted({"b0": "b1", "b1": "B", "A": "broken"})
    cost = RoundCost()
    hist = refine(RECORDS, ["qa", "qb"], gen, Corrector(corr), Exact(reference_free=True), 3, GREEDY, cost)
    assert [s.text for s in hist[0]] == ["A", "A", "A", "A"]  # never sent to the corrector
    assert [s.text for s in hist[1]] == ["b0", "b1", "B", "B"]
    assert cost.decoded == [2, 1, 1, 0]
    assert all("A" not in "".join(c) for c in corr.calls)


def test_each_round_reports_its_records_for_progress():
    """A round counts every record of the batch, corrected or carried over (what a progress
    bar of records x rounds advances by)."""
    done = []
    cost = RoundCost(on_round=lambda r, n: done.append((r, n)))
    refine(RECORDS, ["qa", "qb"], Scripted({"qa": "A", "qb": "b0"}), Corrector(Scripted({"b0": "B"})),
           Exact(reference_free=True), 3, GREEDY, cost)
    assert done == [(0, 2), (1, 2), (2, 2), (3, 2)]


def test_reference_based_value_corrects_everything_but_fixed_points():
    gen = Scripted({"qa": "A", "qb": "b0"})
    corr = Scripted({"b0": "b1", "b1": "b1", "A": "A"})
    cost = RoundCost()
    hist = refine(RECORDS, ["qa", "qb"], gen, Corrector(corr), Exact(reference_free=False), 3, GREEDY, cost)
    # Round 1 corrects both; after that "A" (unchanged) is a fixed point, then "b1" too.
    assert cost.decoded == [2, 2, 1, 0]
    assert [s.text for s in hist[1]] == ["b0", "b1", "b1", "b1"]
    # The corrector saw the draft's feedback.
    assert "Feedback: got b0" in corr.calls[0][1]


def test_sampling_keeps_correcting_unchanged_drafts():
    gen = Scripted({"qa": "A", "qb": "b0"})
    corr = Scripted({"b0": "b0", "A": "A"})
    cost = RoundCost()
    refine(RECORDS, ["qa", "qb"], gen, Corrector(corr), Exact(False), 2, SamplingParams(temperature=1.0), cost)
    assert cost.decoded == [2, 2, 2]


def test_round_metrics_and_summary_by_hand():
    h = lambda *vals: [{"round": i, "text": f"{i}:{v}", "value": v} for i, v in enumerate(vals)]
    histories = [h(1, 1, 0), h(0, 1, 1), h(0, 0, 0), h(1, 1, 1)]
    rows = round_metrics(histories, 1.0)
    assert [r["solved"] for r in rows] == [0.5, 0.75, 0.5]
    assert rows[1]["broken"] == 0.0 and rows[2]["broken"] == 0.25
    assert rows[1]["changed"] == 1.0  # every text differs by construction
    s = summary(histories, 1.0)
    assert s["net_fixed"] == pytest.approx((2 - 2) / 2)  # one fixed, one broken
    assert s["broken_of_right"] == pytest.approx(1 / 2)


def test_self_consistency_majority_vote():
    gen = Scripted({"qa": ["x", "A", "A", "y"], "qb": ["B", "z", "z", "B2"]})
    res = self_consistency(RECORDS, ["qa", "qb"], gen, Exact(False), 4, SamplingParams(temperature=1.0))
    assert [r["text"] for r in res] == ["A", "z"]
    assert [r["value"] for r in res] == [1.0, 0.0]
    assert gen.calls == [["qa", "qb"]]  # one call, n = 4 samples per prompt
