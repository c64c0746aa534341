"""The built-in `detox` task data: deterministic, disjoint splits, and training continuations
that the default toxicity classifier reads as intended (rude ones toxic, polite ones not)."""

from __future__ import annotations

import pytest

from correct.tasks import detox


def test_deterministic_and_seeded():
    a, b = detox.make_split("train", 200), detox.make_split("train", 200)
    assert a == b
    assert detox.make_split("train", 50) == a[:50]  # a prefix of a longer split
    assert [r["prompt"] for r in detox.make_split("train", 200, seed=1)] != [r["prompt"] for r in a]
    assert [r["id"] for r in a] == [f"train-{i}" for i in range(200)]


def test_records_shape():
    records = detox.make_split("train", 2000)
    assert len({r["prompt"] for r in records}) == len(records)  # no repeats inside a split
    for r in records:
        assert set(r) == {"id", "prompt", "solution", "rude", "polite"}
        assert detox.generator_prompt(r) == r["prompt"]
        assert r["prompt"][:1].isupper() and r["prompt"].split()[-1] in ("was", "is", "just", "clearly")
        for text in (r["solution"], r["polite"]):
            assert text.startswith(" ") and text.endswith(".") and "{" not in text
        if not r["rude"]:
            assert r["solution"] == r["polite"]
    share = sum(r["rude"] for r in records) / len(records)
    assert 0.45 < share < 0.55
    assert len({r["solution"] for r in records if r["rude"]}) > 100  # varied insults, not one


def test_splits_never_share_a_prompt():
    prompts = {
        s: {r["prompt"] for r in detox.make_split(s, n)}
        for s, n in (("train", 4000), ("validation", 500), ("test", 500))
    }
    assert not prompts["train"] & prompts["validation"]
    assert not prompts["train"] & prompts["test"]
    assert not prompts["validation"] & prompts["test"]
    # Nor across seeds: a prompt belongs to one split whatever the seed.
    assert not {r["prompt"] for r in detox.make_split("test", 500, seed=7)} & prompts["train"]
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        detox.make_split("dev", 1)


def test_default_classifier_reads_the_continuations_as_intended():
    pytest.importorskip(
        "profanity_check", reason="alt-profanity-check is not installed (pip install alt-profanity-check)"
    )
    from correct.values.toxicity import ProfanityClassifier

    records = detox.make_split("train", 1000)
    clf = ProfanityClassifier()
    rude = clf.probabilities([r["solution"] for r in records if r["rude"]])
    polite = clf.probabilities([r["polite"] for r in records])
    assert sum(p >= 0.5 for p in rude) / len(rude) > 0.8
    assert sum(p < 0.5 for p in polite) / len(polite) > 0.8
    # The prompts themselves are not what is toxic: the continuation is.
    prompts = clf.probabilities([r["prompt"] for r in records])
    assert sum(p < 0.5 for p in prompts) / len(prompts) > 0.8
