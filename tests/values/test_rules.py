"""The built-in ``rules`` value: rules of form checked without a reference, each broken one
named; records whose checks cannot be read are named before anything is scored."""

from __future__ import annotations

import pytest

from correct.values import ValueFunctionError, load_value


def _scores(checks, outputs, words=None):
    record = {"id": "h1", "checks": checks, **({"words": words} if words else {})}
    with load_value("rules") as value:
        return value([record] * len(outputs), outputs)


def test_a_headline_is_told_each_rule_it_breaks():
    checks = [["title_case", None], ["question", None], ["has_number", None], ["avoid_word", "amazing"]]
    right, wrong = _scores(checks, [" Lyon Book Fair Draws 4200 Visitors?", " an amazing book fair in Lyon."])
    assert right.value == 1.0 and right.feedback == "every rule met"
    assert wrong.value == 0.0
    assert wrong.feedback == (
        'not capitalized: an, amazing, book, fair, in; ends with ".", not "?"; has no number in digits; uses "amazing"'
    )


def test_words_count_as_one_rule_and_checks_may_be_kept_as_json():
    [score] = _scores('[["max_words", 3]]', [" Dogs ran home fast"], words="dog, cat")
    assert score.value == 0.0 and score.feedback == "missing: cat; has 4 words, more than 3"
    [only_words] = _scores([], [" The cats sleep."], words="cat")
    assert only_words.value == 1.0


@pytest.mark.parametrize(
    "checks, message",
    [
        ([["shout", None]], r"record 'h1': checks\[0\] is \['shout', None\]; rules are lowercase, title_case"),
        ([["max_words", "ten"]], r"checks\[0\] 'max_words' needs a whole number above 0 as its argument, got 'ten'"),
        ([["max_words", -1]], r"checks\[0\] 'max_words' needs a whole number above 0 as its argument, got -1"),
        ([["first_word"]], r"checks\[0\] 'first_word' needs a word as its argument, got None"),
        ([["last_word", " ?! "]], r"checks\[0\] 'last_word' needs a word as its argument, got ' \?! '"),
        ([{"rule": "lowercase"}], r"record 'h1': checks\[0\] is \{'rule': 'lowercase'\}; rules are lowercase"),
        ([[["lowercase"], None]], r"checks\[0\] is \[\['lowercase'\], None\]; rules are"),
        ([["no_commas", None], []], r"checks\[1\] is \[\]; rules are"),
        ([["max_words", 3, 5]], r"checks\[0\] is \['max_words', 3, 5\]; a check is one \[rule, argument\] pair"),
        ([], r"record 'h1' has no `checks`"),
        ("[[", r"record 'h1' has a `checks` that is not JSON"),
    ],
)
def test_checks_that_cannot_be_read_are_named(checks, message):
    with pytest.raises(ValueFunctionError, match=message):
        _scores(checks, ["x"])


@pytest.mark.parametrize("words", [5, {"dog": 1}, ["dog", None]])
def test_words_that_are_not_words_are_named(words):
    with pytest.raises(ValueFunctionError, match=r"record 'h1' has `words` that are not words"):
        _scores([["lowercase", None]], ["a dog"], words=words)


def test_a_word_argument_is_read_as_the_output_is():
    checks = [["first_word", "Good morning,"], ["last_word", "don't"], ["avoid_word", "very good"]]
    kept, broken = _scores(checks, ["Good morning, I don't.", "Good evening, a very good day"])
    assert kept.value == 1.0 and kept.feedback == "every rule met"
    assert broken.value == 0.0
    assert broken.feedback == (
        'begins with "good evening", not "Good morning,"; ends with "good day", not "don\'t"; uses "very good"'
    )
    [score] = _scores([("first_word", "İstanbul")], ["İstanbul is big."])  # a Python caller's tuple too
    assert score.value == 1.0
