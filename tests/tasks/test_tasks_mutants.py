"""Behaviour of the built-in detox and concepts tasks that no other test pinned down, each
found by a plausible change of the code (a swapped pronoun, a dropped agreement, a seed mixed
the wrong way) that the rest of the suite let through."""

from __future__ import annotations

import random
import re

import pytest

from correct.tasks import concepts, detox

# --------------------------------------------------------------------------- detox


def test_detox_prompts_and_continuations_are_filled_in_and_agree_with_the_target():
    """Every template slot is filled ({N} a name), a target of one gender ("the waitress") gets
    its pronoun, and the possessive and object pronouns sit where they belong."""
    rng = random.Random(5)
    gendered = {target: g for scene in detox.SCENES for target, g in scene.targets if g}
    for _ in range(3000):
        prompt, scene, pronoun = detox.make_prompt(rng)
        assert "{" not in prompt, prompt
        for target, g in gendered.items():
            if target in prompt:
                assert pronoun == g, (prompt, pronoun)
    wrong = re.compile(r"\b(?:in front of his|for him own|above his|doing him|to him own)\b")
    for r in detox.make_split("train", 1500):
        assert not wrong.search(r["prompt"]) and not wrong.search(r["polite"]), r


def test_detox_splits_divide_the_prompts_eight_one_one():
    rng = random.Random(0)
    counts = {s: 0 for s in detox.SPLIT_SHARES}
    for _ in range(20000):
        counts[detox._split_of(detox.make_prompt(rng)[0])] += 1
    assert 0.78 < counts["train"] / 20000 < 0.82
    assert 0.08 < counts["validation"] / 20000 < 0.12 and 0.08 < counts["test"] / 20000 < 0.12


def test_a_rare_split_still_fills_when_its_prompts_come_far_apart(monkeypatch):
    """The give-up count (100,000) is of misses in a row since the last record, not in all: 60
    records, each after 1,999 prompts of other splits, are there to be had."""
    calls = iter(range(10**9))
    monkeypatch.setattr(detox, "make_prompt", lambda rng: (f"p{next(calls)}", detox.SCENES[0], "he"))
    monkeypatch.setattr(detox, "_split_of", lambda prompt: "validation" if int(prompt[1:]) % 2000 == 1999 else "train")
    assert len(detox.make_split("validation", 60)) == 60
    monkeypatch.setattr(detox, "make_prompt", lambda rng: ("same", detox.SCENES[0], "he"))
    monkeypatch.setattr(detox, "_split_of", lambda prompt: "train")
    with pytest.raises(ValueError, match="split 'train' has only about 1 distinct prompts; asked for 2"):
        detox.make_split("train", 2)


# --------------------------------------------------------------------------- concepts


@pytest.fixture(scope="module")
def train():
    return concepts.make_split("train", 3000)


SUBJECTS = {**{s: False for s in concepts.PEOPLE}, **{s: False for s in concepts.ANIMALS}}
SUBJECTS.update({p: True for p in [*concepts.PEOPLE.values(), *concepts.ANIMALS.values()]})
SUBJECTS.pop("sheep")  # singular and plural alike


def test_the_verb_agrees_with_its_subject(train):
    """ "The dogs chase", "the dog chases", "the dogs are", "the dog is": never the other way."""
    third = {forms[0] for forms in concepts.VERBS.values()}
    base = set(concepts.VERBS) - {forms[1] for forms in concepts.VERBS.values()}  # "read", "cut": past too
    checked = 0
    for r in train:
        words = r["solution"].lower().replace(",", "").rstrip(".").split()
        i = next((i for i, w in enumerate(words) if w in SUBJECTS or w == "sheep"), None)
        if i is None or words[i] == "sheep":
            continue
        plural = SUBJECTS[words[i]]
        j = i + 1 + (words[i + 1] in concepts.ADVERBS)
        verb = words[j]
        if verb in ("is", "are"):
            assert (verb == "are") == plural, r["solution"]
        elif verb in third:
            assert not plural, r["solution"]
        elif verb in base:
            assert plural, r["solution"]
        else:
            continue
        checked += 1
    assert checked > 1000


def test_sentences_keep_to_the_grammar(train):
    """No concept twice (a dog chasing a dog), no adverb twice, no "a bread", and swimming only
    where one swims."""
    places = {f"{prep} the {place}" for place, prep in concepts.VERB_PLACES["swim"].items()}
    mass = "|".join(noun for noun, plural in concepts.OBJECTS.items() if plural is None)
    counted = re.compile(rf"\b(?:a|an) (?:{mass})\b")  # "some bread", never "a bread"
    for r in train:
        assert len(set(r["concepts"])) == len(r["concepts"]), r
        words = r["solution"].lower().rstrip(".").split()
        assert all(words.count(a) <= 1 for a in concepts.ADVERBS), r["solution"]
        assert not counted.search(r["solution"]), r["solution"]
        if "swim" in r["concepts"]:
            assert any(p in r["solution"] for p in places), r["solution"]


def test_held_out_splits_of_another_seed_skip_that_seeds_first_20000_training_sets():
    """The banned sets are those of the same seed's training stream, all 20,000 of them."""
    seen = {frozenset(r["concepts"]) for r in concepts.make_split("train", 20000, seed=1)}
    held_out = concepts.make_split("test", 200, seed=1)
    assert not seen & {frozenset(r["concepts"]) for r in held_out}


def test_the_verb_is_not_always_the_first_concept(train):
    """The concepts come shuffled: a model must not learn that the first one is the verb."""
    first_is_verb = sum(r["concepts"][0] in concepts.VERBS for r in train) / len(train)
    assert 0.15 < first_is_verb < 0.5
