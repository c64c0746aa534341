"""The refinement loop, metrics and the self-consistency baseline, on scripted models."""

import math
from dataclasses import replace

import pytest

from correct.corrector.metrics import compute_metrics, round_metrics, summary
from correct.corrector.model import Corrector, CorrectorConfig
from correct.corrector.refine import RoundCost, refine, self_consistency
from correct.generators import SamplingParams
from correct.generators.base import GeneratorBase
from correct.values import Score


class Scripted(GeneratorBase):
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
    refine(
        RECORDS,
        ["qa", "qb"],
        Scripted({"qa": "A", "qb": "b0"}),
        Corrector(Scripted({"b0": "B"})),
        Exact(reference_free=True),
        3,
        GREEDY,
        cost,
    )
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


class Runs(Exact):
    """``Exact`` with reference, where an output starting "crash" is faulty (as a program that
    raises): known to fail without the answer."""

    def __call__(self, records, outputs):
        return [replace(s, faulty=o.startswith("crash")) for s, o in zip(super().__call__(records, outputs), outputs)]


@pytest.mark.parametrize("sampled", [False, True])
def test_a_corrector_for_failing_drafts_is_given_only_the_faulty_ones(sampled):
    """``refine="failing"``: a draft that runs is kept, right ("A") or wrong ("c0"), since the
    corrector cannot tell which; a faulty one is corrected until it runs, then kept."""
    records = RECORDS + [{"id": "c", "prompt": "qc", "answer": "C"}]
    gen = Scripted({"qa": "A", "qb": "crash0", "qc": "c0"})
    corr = Scripted({"crash0": "crash1", "crash1": "B", "B": "broken", "A": "broken", "c0": "C"})
    cost = RoundCost()
    params = SamplingParams(temperature=1.0) if sampled else GREEDY
    failing = Corrector(corr, CorrectorConfig(refine="failing"))
    hist = refine(records, ["qa", "qb", "qc"], gen, failing, Runs(reference_free=False), 3, params, cost)
    assert [[s.text for s in h] for h in hist] == [["A"] * 4, ["crash0", "crash1", "B", "B"], ["c0"] * 4]
    assert cost.decoded == [3, 1, 1, 0]
    # the same corrector given all drafts rewrites the right one too
    hist = refine(records, ["qa", "qb", "qc"], gen, Corrector(corr), Runs(reference_free=False), 1, params)
    assert [h[-1].text for h in hist] == ["broken", "crash1", "C"]


class Tested(Exact):
    """``Exact`` with reference, where an output ending "ok" passes the record's own tests
    (verified: known right without the answer) and one starting "fail" fails them (faulty)."""

    def __call__(self, records, outputs):
        scores = super().__call__(records, outputs)
        return [replace(s, verified=o.endswith("ok"), faulty=o.startswith("fail")) for s, o in zip(scores, outputs)]


@pytest.mark.parametrize("sampled", [False, True])
def test_a_draft_that_passes_its_tests_is_never_given_to_the_corrector(sampled):
    """Every draft goes to the corrector (``refine="all"``, a value with references), except one
    known right without the reference: it passed its record's tests. A draft that passes them
    after a correction is closed from then on."""
    records = [{"id": "a", "prompt": "qa", "answer": "A ok"}, {"id": "b", "prompt": "qb", "answer": "B ok"}]
    gen = Scripted({"qa": "A ok", "qb": "fail0"})
    corr = Scripted({"A ok": "broken", "fail0": "B ok", "B ok": "broken"})
    cost = RoundCost()
    params = SamplingParams(temperature=1.0) if sampled else GREEDY
    hist = refine(records, ["qa", "qb"], gen, Corrector(corr), Tested(reference_free=False), 3, params, cost)
    assert [[s.text for s in h] for h in hist] == [["A ok"] * 4, ["fail0", "B ok", "B ok", "B ok"]]
    assert cost.decoded == [2, 1, 0, 0]


def test_several_rewrites_keep_the_one_that_passes_its_tests_and_never_peek_at_the_answer():
    """``samples=3``: the corrector writes three rewrites of each open draft, at the given
    temperature, and the one kept is the first that passes its record's tests; with none, the
    first that is not faulty, whatever the hidden answer says of the others; the decodes count
    every rewrite."""
    records = [{"id": "a", "prompt": "qa", "answer": "A ok"}, {"id": "b", "prompt": "qb", "answer": "B"}]
    gen = Scripted({"qa": "fail0", "qb": "fail1"})
    # For "b" the third rewrite is right by the answer, but only the value with the reference knows.
    corr = Scripted({"fail0": ["fail2", "x", "A ok"], "fail1": ["fail3", "y", "B"], "y": "y"})
    cost = RoundCost()
    hist = refine(
        records, ["qa", "qb"], gen, Corrector(corr), Tested(False), 2, GREEDY, cost, samples=3, temperature=0.8
    )
    assert [[s.text for s in h] for h in hist] == [["fail0", "A ok", "A ok"], ["fail1", "y", "y"]]
    assert cost.decoded == [2, 6, 3]  # "A ok" is closed (verified); "y" is rewritten again: no fixed point
    assert len(corr.calls) == 2 and corr.calls[1] == [corr.calls[1][0]]
    # one rewrite, greedy: the first, as before
    hist = refine(records, ["qa", "qb"], gen, Corrector(corr), Tested(False), 1, GREEDY)
    assert [h[-1].text for h in hist] == ["fail2", "fail3"]


def test_several_rewrites_under_a_reference_free_value_keep_the_best():
    corr = Scripted({"b0": ["b1", "B", "b2"]})
    hist = refine(RECORDS[1:], ["qb"], Scripted({"qb": "b0"}), Corrector(corr), Exact(True), 1, GREEDY, samples=3)
    assert hist[0][-1].text == "B"


def test_several_rewrites_are_sampled_with_new_draws_each_round():
    seen = []

    class Recording(Scripted):
        def generate(self, prompts, params):
            seen.append((params.n, params.temperature, params.seed))
            return super().generate(prompts, params)

    corr = Recording({"b0": ["b0", "b0"]})
    params = SamplingParams(temperature=0.0, seed=5)
    refine(RECORDS[1:], ["qb"], Scripted({"qb": "b0"}), Corrector(corr), Exact(False), 2, params, samples=2)
    assert [n for n, _, _ in seen] == [2, 2] and {t for _, t, _ in seen} == {0.7}
    assert len({seed for _, _, seed in seen}) == 2


def test_a_corrector_for_failing_drafts_corrects_what_a_reference_free_value_scores_low():
    gen = Scripted({"qa": "A", "qb": "b0"})
    corr = Scripted({"b0": "B", "A": "broken"})
    failing = Corrector(corr, CorrectorConfig(refine="failing"))
    hist = refine(RECORDS, ["qa", "qb"], gen, failing, Exact(reference_free=True), 2, GREEDY)
    assert [h[-1].text for h in hist] == ["A", "B"]


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


def test_round_metrics_of_an_unbounded_value():
    """A raw reward has no maximum: nothing is solved or broken, so those figures are left out
    rather than computed against infinity; the mean and the changed share remain."""
    h = lambda *vals: [{"round": i, "text": f"{v}", "value": v} for i, v in enumerate(vals)]  # noqa: E731
    rows = round_metrics([h(-1.5, 0.5, 0.5), h(2.0, 2.0, 3.0)], math.inf)
    assert [r["mean_value"] for r in rows] == [0.25, 1.25, 1.75]
    assert [r.get("changed") for r in rows] == [None, 0.5, 0.5]
    assert all("solved" not in r and "broken" not in r for r in rows)
    assert summary([h(-1.5, 0.5)], math.inf) == {}


def test_self_consistency_majority_vote():
    gen = Scripted({"qa": ["x", "A", "A", "y"], "qb": ["B", "z", "z", "B2"]})
    res = self_consistency(RECORDS, ["qa", "qb"], gen, Exact(False), 4, SamplingParams(temperature=1.0))
    assert [r["text"] for r in res] == ["A", "z"]
    assert [r["value"] for r in res] == [1.0, 0.0]
    assert gen.calls == [["qa", "qb"]]  # one call, n = 4 samples per prompt


def test_best_of_n_keeps_what_is_known_without_the_reference():
    """``pick="best"``: under a reference-free value the highest sample, however few agree on it;
    under a value with references the first that passes its tests, else the first that runs,
    never the one the hidden answer rates right."""
    gen = Scripted({"qa": ["x", "A", "y", "y"], "qb": ["B", "z", "z", "b"]})
    params = SamplingParams(temperature=1.0)
    res = self_consistency(RECORDS, ["qa", "qb"], gen, Exact(True), 4, params, pick="best")
    assert [r["text"] for r in res] == ["A", "B"] and {r["pick"] for r in res} == {"best"}
    assert [r["text"] for r in self_consistency(RECORDS, ["qa", "qb"], gen, Exact(True), 4, params)] == ["y", "z"]
    records = [{"id": "a", "prompt": "qa", "answer": "A ok"}, {"id": "b", "prompt": "qb", "answer": "B"}]
    gen = Scripted({"qa": ["fail0", "w", "A ok", "w"], "qb": ["fail1", "y", "B", "B"]})
    res = self_consistency(records, ["qa", "qb"], gen, Tested(False), 4, params, pick="best")
    assert [r["text"] for r in res] == ["A ok", "y"]  # "B" is right by the answer only: not kept


# Records without references: refined all the same, measured apart.


class NeedsAnswer(Exact):
    """Exact, but unknown (None) on a record without an answer; the feedback needs none."""

    def __call__(self, records, outputs):
        return [
            Score(float(o == r["answer"]) if "answer" in r else None, f"got {o}", answer=o)
            for r, o in zip(records, outputs)
        ]


def test_unlabeled_records_get_every_round_with_feedback_and_no_value():
    records = [{"id": "a", "prompt": "qa"}, {"id": "b", "prompt": "qb", "answer": "B"}]
    gen = Scripted({"qa": "a0", "qb": "b0"})
    corr = Scripted({"a0": "a1", "a1": "a2", "a2": "a3", "b0": "B", "B": "B"})
    cost = RoundCost()
    hist = refine(records, ["qa", "qb"], gen, Corrector(corr), NeedsAnswer(reference_free=False), 3, GREEDY, cost)
    assert [(s.text, s.value, s.feedback) for s in hist[0]] == [
        ("a0", None, "got a0"),
        ("a1", None, "got a1"),
        ("a2", None, "got a2"),
        ("a3", None, "got a3"),
    ]
    assert [s.value for s in hist[1]] == [0.0, 1.0, 1.0, 1.0]
    assert cost.decoded == [2, 2, 2, 1]  # "B" was left unchanged in round 2: a fixed point; "a" went on
    # A reference-free value never stops an unknown draft early either.
    hist = refine(records[:1], ["qa"], gen, Corrector(corr), NeedsAnswer(reference_free=True), 2, GREEDY)
    assert [s.text for s in hist[0]] == ["a0", "a1", "a2"]


def test_metrics_of_a_mixed_file_count_only_the_labeled_records():
    h = lambda *vals: [{"round": i, "text": f"{i}:{v}", "value": v} for i, v in enumerate(vals)]
    labeled = [h(1, 1, 0), h(0, 1, 1), h(0, 0, 0), h(1, 1, 1)]
    unlabeled = [h(None, None, None), [{"round": i, "text": "same", "value": None} for i in range(3)]]
    sc = lambda v: {"samples": 3, "text": "x", "value": v}
    lines = [
        {"rounds": r, "self_consistency": sc(v)} for r, v in zip(labeled + unlabeled, [1.0, 0.0, 0.0, 1.0, None, None])
    ]
    mixed, alone = compute_metrics(lines, 1.0), compute_metrics(lines[:4], 1.0)
    assert (mixed["records"], mixed["labeled"], mixed["unlabeled"]) == (6, 4, 2)
    assert (alone["labeled"], alone["unlabeled"]) == (4, 0)
    for key in ("mean_value", "solved", "broken"):
        assert [r.get(key) for r in mixed["rounds"]] == [r.get(key) for r in alone["rounds"]]
    assert [r["solved"] for r in mixed["rounds"]] == [0.5, 0.75, 0.5]
    assert (
        (mixed["net_fixed"], mixed["broken_of_right"]) == (alone["net_fixed"], alone["broken_of_right"]) == (0.0, 0.5)
    )
    assert mixed["self_consistency"] == alone["self_consistency"] == {"samples": 3, "mean_value": 0.5, "solved": 0.5}
    # changed needs no reference: over all six records (one unlabeled text never changed).
    assert mixed["rounds"][1]["changed"] == pytest.approx(5 / 6)


def test_metrics_with_no_labeled_record_keep_their_keys_with_nulls():
    lines = [
        {
            "rounds": [{"round": i, "text": t, "value": None} for i, t in enumerate(texts)],
            "self_consistency": {"samples": 3, "text": "x", "value": None},
        }
        for texts in (["a", "b"], ["c", "c"])
    ]
    m = compute_metrics(lines, 1.0)
    assert m == {
        "records": 2,
        "labeled": 0,
        "unlabeled": 2,
        "rounds": [
            {"round": 0, "mean_value": None, "solved": None},
            {"round": 1, "mean_value": None, "solved": None, "changed": 0.5, "broken": None},
        ],
        "net_fixed": None,
        "broken_of_right": None,
        "self_consistency": {"samples": 3, "mean_value": None, "solved": None},
    }


def test_a_labeled_record_whose_later_value_is_unknown_counts_as_not_solved():
    h = lambda *vals: [{"round": i, "text": f"{i}:{v}", "value": v} for i, v in enumerate(vals)]
    m = compute_metrics([{"rounds": h(1.0, None)}, {"rounds": h(0.0, 1.0)}], 1.0)
    assert [r["solved"] for r in m["rounds"]] == [0.5, 0.5]
    assert m["rounds"][1]["mean_value"] == 1.0 and m["rounds"][1]["broken"] == 0.5
    assert (m["net_fixed"], m["broken_of_right"]) == (0.0, 1.0)


def test_self_consistency_on_unlabeled_records_votes_on_answers():
    gen = Scripted({"qa": ["x", "A", "A", "y"], "qb": ["B", "z", "z", "B2"]})
    records = [{"id": "a", "prompt": "qa"}, {"id": "b", "prompt": "qb", "answer": "B"}]
    res = self_consistency(records, ["qa", "qb"], gen, NeedsAnswer(False), 4, SamplingParams(temperature=1.0))
    assert [(r["text"], r["value"]) for r in res] == [("A", None), ("z", 0.0)]


class Telling(Scripted):
    """A scripted generator that says why each completion ended (``last_finish``: ``why``)
    and refuses the prompts holding ``refuse`` (``last_refused``, as the openai backend does)."""

    def __init__(self, table, why, refuse=None):
        super().__init__(table)
        self.why, self.refuse = why, refuse

    def generate(self, prompts, params):
        refused = [self.refuse is not None and self.refuse in p for p in prompts]
        self.last_refused = frozenset(i for i, r in enumerate(refused) if r)
        self.last_finish = [[self.why] * params.n for _ in prompts]
        out = super().generate(["" if r else p for p, r in zip(prompts, refused)], params)
        return [[""] * params.n if r else c for c, r in zip(out, refused)]


def test_each_round_ends_as_the_decode_that_wrote_its_text():
    """A rewrite ends as the corrector's decode did; a draft kept (its input refused, or
    unchanged since) and a round carried over end as the draft did. A corrector of one's own
    that does not tell leaves it unknown."""
    records = [*RECORDS, {"id": "c", "prompt": "qc REFUSE", "answer": "C"}]
    prompts = ["qa", "qb", "qc REFUSE"]
    gen = Telling({"qa": "A", "qb": "b0", "qc REFUSE": "c0"}, "stop")
    corr = Telling({"b0": "B", "c0": "C", "": ""}, "length", refuse="REFUSE")
    hist = refine(records, prompts, gen, Corrector(corr), Exact(reference_free=True), 2, GREEDY)
    assert [[s.text for s in h] for h in hist] == [["A"] * 3, ["b0", "B", "B"], ["c0"] * 3]
    assert [[s.finish for s in h] for h in hist] == [["stop"] * 3, ["stop", "length", "length"], ["stop"] * 3]
    assert hist[1][1].as_dict() == {"round": 1, "text": "B", "value": 1.0, "feedback": "got B"}

    class OwnCorrector:
        def question(self, record):
            return record["prompt"]

        def correct(self, questions, drafts, feedbacks, params):
            return [[d.upper()] for d in drafts]

    hist = refine(RECORDS, ["qa", "qb"], gen, OwnCorrector(), Exact(reference_free=True), 1, GREEDY)
    assert [[s.finish for s in h] for h in hist] == [["stop", "stop"], ["stop", None]]


def test_a_kept_rewrite_ends_as_its_own_decode_did():
    """Of several rewrites, the round's finish is that of the one kept, not of the first."""

    class Ends(Scripted):
        def generate(self, prompts, params):
            self.last_finish = [["length", "stop", "length"][: params.n] for _ in prompts]
            return super().generate(prompts, params)

    corr = Ends({"b0": ["b1", "B", "b2"]})
    hist = refine(RECORDS[1:], ["qb"], Scripted({"qb": "b0"}), Corrector(corr), Exact(True), 1, GREEDY, samples=3)
    assert (hist[0][-1].text, hist[0][-1].finish) == ("B", "stop")


class LastWord(Exact):
    """Exact on the output's last word, which is its answer: "so A" and "thus A" agree."""

    def __call__(self, records, outputs):
        return [
            Score(float(o.split()[-1] == r["answer"]), f"got {o}", answer=o.split()[-1])
            for r, o in zip(records, outputs)
        ]


def test_the_vote_is_on_the_values_answers_not_on_the_texts():
    """Three samples answer A in different words, two write "B" alike: A wins, as its first sample."""
    gen = Scripted({"qa": ["so A", "B", "B", "thus A", "hence A"]})
    res = self_consistency(RECORDS[:1], ["qa"], gen, LastWord(False), 5, SamplingParams(temperature=1.0))
    assert [(r["text"], r["value"]) for r in res] == [("so A", 1.0)]
