import re
from collections import Counter

import pytest

from correct.tasks.concepts import SPLIT_SEEDS, generator_prompt, make_split
from correct.values.constraints import ConstraintsValue, tokens


@pytest.fixture(scope="module")
def train():
    return make_split("train", 2000)


@pytest.fixture(scope="module")
def held_out():
    return {split: make_split(split, 300) for split in ("validation", "test")}


def test_deterministic(train):
    assert make_split("train", 2000) == train
    assert make_split("test", 50) == make_split("test", 50)
    assert make_split("train", 50, seed=1) != make_split("train", 50)


def test_prefix_stable(train):
    assert make_split("train", 100) == train[:100]


def test_record_shape(train):
    for i, r in enumerate(train[:200]):
        assert r["id"] == f"train-{i}"
        assert 3 <= len(r["concepts"]) <= 5
        assert len(set(r["concepts"])) == len(r["concepts"])
        assert r["prompt"] == ", ".join(r["concepts"])
        assert re.fullmatch(r" [A-Z][^\n]*\.", r["solution"]), r["solution"]


def test_prompt_format(train):
    r = train[0]
    assert generator_prompt(r) == f"Concepts: {', '.join(r['concepts'])}\nSentence:"
    assert generator_prompt({"concepts": ["dog", "catch", "frisbee"]}) == "Concepts: dog, catch, frisbee\nSentence:"
    assert generator_prompt({"prompt": "dog, park, run"}) == "Concepts: dog, park, run\nSentence:"


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown split"):
        make_split("dev", 3)


def test_held_out_splits_never_repeat_training_concept_sets(train, held_out):
    seen = {frozenset(r["concepts"]) for r in train}
    for split, records in held_out.items():
        assert not seen & {frozenset(r["concepts"]) for r in records}, split
    validation = {frozenset(r["concepts"]) for r in held_out["validation"]}
    test = {frozenset(r["concepts"]) for r in held_out["test"]}
    assert len(validation & test) < 10  # separate streams; a few chance collisions at most
    assert set(SPLIT_SEEDS) == {"train", "validation", "test"}


def test_every_reference_uses_all_its_concepts(train, held_out):
    """The grammar and the matcher agree: each reference sentence scores 1.0."""
    value = ConstraintsValue()
    for records in [train, *held_out.values()]:
        scores = value(records, [r["solution"] for r in records])
        bad = [(r["concepts"], r["solution"], s.feedback) for r, s in zip(records, scores) if s.value != 1.0]
        assert not bad, bad[:5]


def test_concepts_are_base_forms_that_the_sentence_inflects(train):
    """Literal word matching would miss many concepts: the inflection matching matters."""
    literal = [c in tokens(r["solution"]) for r in train for c in r["concepts"]]
    assert 0.4 < sum(literal) / len(literal) < 0.85


def test_varied(train):
    sample = train[:200]
    sets = Counter(frozenset(r["concepts"]) for r in sample)
    assert len(sets) > 180
    assert len({c for r in sample for c in r["concepts"]}) > 80
    assert len({r["solution"] for r in sample}) == 200
    assert set(Counter(len(r["concepts"]) for r in sample)) == {3, 4, 5}
    # the concepts come shuffled: the verb is not always in the same place
    first = Counter(r["concepts"][0] for r in sample)
    assert first.most_common(1)[0][1] < 20


def test_vocabulary_is_small(train):
    words = {w for r in train for w in tokens(r["solution"])}
    lemmas = {c for r in train for c in r["concepts"]}
    assert len(lemmas) <= 150 and len(words) <= 400
