"""Behaviour of the correction rounds that a mutation audit of corrector/refine.py found no test
holding: each test here failed with a one-line change to the source applied (the pick of
equals and of several verified rewrites, a refusal's mark carried over, usage of a draft
sampled several times, a corrector's ``last_finish`` of another call)."""

from __future__ import annotations

import doctest
import importlib

from correct.corrector.model import Corrector
from correct.corrector.refine import draft_steps, refine
from correct.generators import SamplingParams
from correct.generators.base import GeneratorBase
from correct.values import Score

GREEDY = SamplingParams(temperature=0.0)


class Table(GeneratorBase):
    """Completes a prompt (or a corrector input, by its draft) from a table; refuses inputs
    holding ``refuse`` as an endpoint's 400 does, and counts tokens when ``usage`` is given."""

    def __init__(self, table, refuse=None, usage=None):
        self.table, self.refuse, self.usage = table, refuse, usage

    def generate(self, prompts, params):
        keys = [p.split("Draft:\n")[-1].split("\n")[0] if "Draft:" in p else p for p in prompts]
        refused = [self.refuse is not None and self.refuse in p for p in prompts]
        self.last_refused = {i: "too long" for i, r in enumerate(refused) if r}
        if self.usage is not None:
            self.last_usage = [self.usage] * len(prompts)
        out = []
        for key, r in zip(keys, refused):
            texts = self.table.get(key, key) if not r else ""
            texts = texts if isinstance(texts, list) else [texts]
            out.append([texts[k % len(texts)] for k in range(params.n)])
        return out


class Exact:
    """1 when the output equals the record's answer; verified when it ends "ok"."""

    name, max_value, min_value = "exact", 1.0, 0.0

    def __init__(self, reference_free):
        self.reference_free = reference_free

    def __call__(self, records, outputs):
        return [
            Score(float(o == r["answer"]), f"got {o}", answer=o, verified=o.endswith("ok"))
            for r, o in zip(records, outputs)
        ]


class Graded(Exact):
    """A reference-free value that scores an output by its leading number (tenths)."""

    def __call__(self, records, outputs):
        return [Score(int(o.split()[0]) / 10, f"got {o}", answer=o) for o in outputs]


def test_the_modules_doctests_pass():
    """``_chosen``'s examples (the first of equals, the verified one, values of a value that
    needs references unseen) are run."""
    result = doctest.testmod(
        importlib.import_module("correct.corrector.refine")
    )  # the package's `refine` is the function
    assert result.attempted > 0 and result.failed == 0


def test_of_rewrites_scored_alike_the_first_is_kept():
    records = [{"id": "a", "prompt": "q", "answer": "x"}]
    corr = Table({"3 draft": ["5 first", "2 low", "5 second"]})
    hist = refine(records, ["q"], Table({"q": "3 draft"}), Corrector(corr), Graded(True), 1, GREEDY, samples=3)
    assert [s.text for s in hist[0]] == ["3 draft", "5 first"]


def test_of_several_rewrites_that_pass_their_tests_the_first_is_kept():
    records = [{"id": "a", "prompt": "q", "answer": "none of them"}]
    corr = Table({"fail": ["wrong", "one ok", "two ok"]})
    hist = refine(records, ["q"], Table({"q": "fail"}), Corrector(corr), Exact(False), 1, GREEDY, samples=3)
    assert hist[0][-1].text == "one ok"


def test_a_refused_round_is_marked_but_the_rounds_carried_over_after_it_are_not():
    """The corrector's input was refused in round 1: that round keeps the draft and says so;
    round 2 carries it over unchanged (a fixed point under greedy decoding) and was refused
    nothing, so its output line has no ``refused``."""
    records = [{"id": "a", "prompt": "q REFUSE", "answer": "A"}]
    gen = Table({"q REFUSE": "a0"})
    corr = Table({}, refuse="REFUSE")
    hist = refine(records, ["q REFUSE"], gen, Corrector(corr), Exact(False), 2, GREEDY)
    assert [s.text for s in hist[0]] == ["a0", "a0", "a0"]
    assert [s.refused for s in hist[0]] == [None, "too long", None]
    assert [("refused" in s.as_dict()) for s in hist[0]] == [False, True, False]


def test_a_draft_sampled_several_times_has_no_usage_of_its_own():
    """The generator counts a prompt's tokens over all its samples: with one sample that is
    the draft's usage, with several it is not the kept draft's and is left unknown."""
    gen = Table({"q": ["a", "b"]}, usage=(7, 3))
    assert [s.usage for s in draft_steps(gen, gen.generate(["q"], GREEDY), GREEDY)] == [(7, 3)]
    two = SamplingParams(temperature=1.0, n=2)
    steps = draft_steps(gen, gen.generate(["q"], two), two)
    assert [(s.text, s.usage) for s in steps] == [("a", None)]


def test_a_corrector_whose_last_finish_is_of_another_call_leaves_the_reasons_unknown():
    """A corrector of one's own that keeps a ``last_finish`` not of this call (one reason
    where two drafts were sent) is not read: the rounds' reasons are unknown."""

    class Own:
        last_finish = [["stop"]]

        def question(self, record):
            return record["prompt"]

        def correct(self, questions, drafts, feedbacks, params):
            return [[d.upper()] for d in drafts]

    records = [{"id": "a", "prompt": "qa", "answer": "A"}, {"id": "b", "prompt": "qb", "answer": "B"}]
    hist = refine(records, ["qa", "qb"], Table({"qa": "a", "qb": "b"}), Own(), Exact(False), 1, GREEDY)
    assert [[s.text for s in h] for h in hist] == [["a", "A"], ["b", "B"]]
    assert [h[1].finish for h in hist] == [None, None]
