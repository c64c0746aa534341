import math
from collections import Counter

import pytest

from correct.corrector.pairing import sample_pairs, target_distribution
from correct.corrector.pool import Draft
from correct.corrector.similarity import edit_similarity

A = Draft("p", "x = 1", 0.0)
B = Draft("p", "x = 2", 1.0)
C = Draft("p", "y = 9", 0.5)


def test_distribution_by_hand_alpha_only():
    dist = {d.text: p for d, p in target_distribution(A, [A, B, C], alpha=1.0, beta=0.0)}
    zb, zc = math.exp(1.0), math.exp(0.5)
    assert dist == pytest.approx({"x = 2": zb / (zb + zc), "y = 9": zc / (zb + zc)})


def test_distribution_by_hand_with_proximity():
    # s(A, B) = 1 - 1/3 (one token of three differs), s(A, C) = 1 - 2/3
    assert edit_similarity(A.text, B.text) == pytest.approx(2 / 3)
    assert edit_similarity(A.text, C.text) == pytest.approx(1 / 3)
    dist = {d.text: p for d, p in target_distribution(A, [A, B, C], alpha=1.0, beta=2.0)}
    lb, lc = 1.0 + 2 * (2 / 3), 0.5 + 2 * (1 / 3)
    assert dist["x = 2"] == pytest.approx(math.exp(lb) / (math.exp(lb) + math.exp(lc)))
    assert dist["x = 2"] == pytest.approx(0.7626, abs=1e-4)


def test_only_value_improving_targets():
    assert target_distribution(B, [A, B, C], 1.0, 1.0) == []  # the best draft has no target
    assert [d.text for d, _ in target_distribution(C, [A, B, C], 1.0, 1.0)] == ["x = 2"]


def test_sampled_pairs_match_hand_computed_frequencies():
    # Sources with a better target (A and C) are drawn uniformly, then targets by the distribution.
    pairs = sample_pairs({"p": [A, B, C]}, n=40000, alpha=1.0, beta=0.0, seed=0)
    freq = Counter((p.source.text, p.target.text) for p in pairs)
    pab = math.exp(1.0) / (math.exp(1.0) + math.exp(0.5))
    expected = {("x = 1", "x = 2"): 0.5 * pab, ("x = 1", "y = 9"): 0.5 * (1 - pab), ("y = 9", "x = 2"): 0.5}
    assert set(freq) == set(expected)
    for k, p in expected.items():
        assert freq[k] / len(pairs) == pytest.approx(p, abs=0.01)


def test_seeded_and_pairs_stay_within_a_prompt():
    pool = {"p": [A, B, C], "q": [Draft("q", "a", 0.0), Draft("q", "b", 1.0)]}
    one = sample_pairs(pool, 50, 1.0, 1.0, seed=3)
    assert one == sample_pairs(pool, 50, 1.0, 1.0, seed=3)
    assert one != sample_pairs(pool, 50, 1.0, 1.0, seed=4)
    assert all(p.source.prompt_id == p.target.prompt_id == p.prompt_id for p in one)
    assert all(p.target.value > p.source.value for p in one)


def test_identity_pairs_for_top_drafts_only():
    pairs = sample_pairs({"p": [A, B, C]}, 100, 1.0, 0.0, seed=0, max_value=1.0, identity_share=0.25)
    ident = [p for p in pairs if p.identity]
    assert len(pairs) == 125 and len(ident) == 25
    assert {p.source.text for p in ident} == {"x = 2"}


def test_duplicate_texts_count_once_and_equal_values_give_nothing():
    assert sample_pairs({"p": [A, A, A]}, 10, 1.0, 1.0, seed=0) == []
    pairs = sample_pairs({"p": [A, A, B, B]}, 10, 1.0, 1.0, seed=0)
    assert {(p.source.text, p.target.text) for p in pairs} == {("x = 1", "x = 2")}


def test_min_gain_drops_near_equal_targets():
    # Toxicity-like values: two insults (0.00, 0.04) and a polite draft (0.95).
    rude, ruder, polite = (
        Draft("p", "a dumb jerk", 0.04),
        Draft("p", "a dumb idiot", 0.0),
        Draft("p", "a kind man", 0.95),
    )
    drafts = [rude, ruder, polite]
    assert {d.text for d, _ in target_distribution(ruder, drafts, 1.0, 1.0)} == {"a dumb jerk", "a kind man"}
    # With a floor of 0.5 the only target of either insult is the polite draft (probability 1).
    assert [(d.text, p) for d, p in target_distribution(ruder, drafts, 1.0, 1.0, min_gain=0.5)] == [("a kind man", 1.0)]
    assert target_distribution(polite, drafts, 1.0, 1.0, min_gain=0.5) == []
    pairs = sample_pairs({"p": drafts}, 200, 1.0, 1.0, seed=0, min_gain=0.5)
    assert {(p.source.text, p.target.text) for p in pairs} == {
        ("a dumb jerk", "a kind man"),
        ("a dumb idiot", "a kind man"),
    }


def test_drafts_with_an_unknown_value_are_never_paired():
    unknown = Draft("p", "x = 3", None)
    assert target_distribution(unknown, [A, B, C], alpha=1.0, beta=0.0) == []
    assert [d.text for d, _ in target_distribution(A, [A, B, unknown], alpha=1.0, beta=0.0)] == ["x = 2"]
    pairs = sample_pairs(
        {"p": [unknown, A, B], "q": [Draft("q", "z", None), Draft("q", "w", None)]},
        50,
        1.0,
        0.0,
        seed=0,
        max_value=1.0,
        identity_share=0.5,
    )
    assert pairs and all(p.source.value is not None and p.target.value is not None for p in pairs)
    # The same pairs as without the unknown drafts: they change nothing, not even the seeded draws.
    assert pairs == sample_pairs({"p": [A, B]}, 50, 1.0, 0.0, seed=0, max_value=1.0, identity_share=0.5)


def test_identity_pairs_are_mixed_among_the_others_and_their_count_is_rounded():
    pairs = sample_pairs({"p": [A, B, C]}, 100, 1.0, 0.0, seed=0, max_value=1.0, identity_share=0.25)
    assert not all(p.identity for p in pairs[-25:])  # shuffled in, not all last (one training batch)
    assert len(sample_pairs({"p": [A, B, C]}, 7, 1.0, 0.0, seed=0, max_value=1.0, identity_share=0.4)) == 7 + 3


def test_identity_pairs_count_a_repeated_top_text_once():
    """A right text the pool holds four times is no likelier an identity pair than one held once."""
    D = Draft("p", "x = 3", 1.0)
    pairs = sample_pairs({"p": [A, B, B, B, B, D]}, 1000, 1.0, 0.0, seed=0, max_value=1.0, identity_share=1.0)
    ident = Counter(p.source.text for p in pairs if p.identity)
    assert sum(ident.values()) == 1000 and 400 < ident["x = 3"] < 600


def test_the_pairs_do_not_depend_on_the_order_the_prompts_were_added_in():
    """A resumed run's pool may list its prompts in another order (drafts dropped and redrafted)."""
    p, q = [A, B, C], [Draft("q", "a", 0.0), Draft("q", "b", 1.0), Draft("q", "c", 0.5)]
    one = sample_pairs({"p": p, "q": q}, 50, 1.0, 1.0, seed=3, max_value=1.0, identity_share=0.5)
    assert one == sample_pairs({"q": q, "p": p}, 50, 1.0, 1.0, seed=3, max_value=1.0, identity_share=0.5)
