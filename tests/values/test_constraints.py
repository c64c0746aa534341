import pytest

from correct.values import Score, ValueFunctionError
from correct.values.constraints import ConstraintsValue, covered, forms, parse_concepts


@pytest.fixture(scope="module")
def value():
    return ConstraintsValue()


def score(value, output, concepts, **record):
    return value([{"id": "r1", "concepts": concepts, **record}], [output])[0]


def test_attributes(value):
    assert (value.name, value.max_value, value.min_value, value.reference_free) == ("constraints", 1.0, 0.0, True)


def test_all_used_with_inflections(value):
    s = score(value, "The dogs caught a frisbee in the park.", ["dog", "catch", "frisbee", "park"])
    assert s == Score(1.0, "all concepts used", None)


def test_share_and_feedback_in_concept_order(value):
    s = score(value, "A cat sleeps.", ["dog", "sleep", "frisbee", "cat"])
    assert s.value == 0.5
    assert s.feedback == "missing: dog, frisbee"
    assert s.answer is None


@pytest.mark.parametrize(
    "concept, text",
    [
        ("dog", "two dogs"),
        ("box", "the boxes"),
        ("city", "big cities"),
        ("knife", "sharp knives"),
        ("leaf", "falling leaves"),
        ("child", "the children"),
        ("man", "three men"),
        ("woman", "women"),
        ("mouse", "mice"),
        ("foot", "my feet"),
        ("sheep", "the sheep"),
        ("potato", "potatoes"),
        ("photo", "photos"),
        ("fireman", "firemen"),
        ("grandchild", "grandchildren"),
        ("walk", "she walks"),
        ("walk", "he walked"),
        ("walk", "walking"),
        ("run", "he ran"),
        ("run", "running"),
        ("run", "runs"),
        ("throw", "she threw"),
        ("throw", "it was thrown"),
        ("sit", "they sat"),
        ("make", "making"),
        ("stop", "stopped"),
        ("stop", "stopping"),
        ("cry", "she cried"),
        ("cry", "it cries"),
        ("tie", "tying"),
        ("lie", "the dog lay down"),
        ("lie", "lying"),
        ("see", "saw"),
        ("see", "seen"),
        ("be", "it is"),
        ("be", "they were"),
        ("have", "she has"),
        ("go", "he goes"),
        ("go", "went"),
        ("do", "does"),
        ("catch", "caught"),
        ("eat", "eaten"),
        ("swim", "swam"),
        ("swim", "swimming"),
        ("picnic", "picnicked"),
        ("visit", "visited"),
        ("travel", "travelled"),
        ("travel", "traveled"),
        ("play", "played"),
        ("free", "freed"),
        ("see", "seeing"),
        ("rerun", "reran"),
        ("glue", "gluing"),
        ("ice cream", "two ice creams"),
        ("pick up", "she picked up"),
    ],
)
def test_inflections(concept, text):
    assert covered([concept], text) == [True]


@pytest.mark.parametrize(
    "concept, text",
    [
        ("cat", "a category"),
        ("cat", "concatenate"),
        ("dog", "hotdogs"),
        ("run", "rung"),
        ("be", "a bed"),
        ("see", "seed"),
        ("hop", "she hoped"),
        ("hope", "hopping"),
        ("ran", "run"),
        ("children", "a child"),
        ("eat", "beaten"),
        ("sing", "singer"),
    ],
)
def test_no_false_matches(concept, text):
    assert covered([concept], text) == [False]


def test_word_boundaries_and_punctuation():
    assert covered(["dog", "park"], "The dog's ball rolled into the park-side pond.") == [True, True]
    assert covered(["cat"], "cat-like") == [True]
    assert covered(["cat"], "scattered") == [False]


def test_case_insensitive(value):
    assert score(value, "THE DOGS RAN IN THE PARK", ["Dog", "RUN", "park"]).value == 1.0


@pytest.mark.parametrize(
    "concept, text",
    [
        ("café", "a cafe\u0301 by the river"),  # the accent as its own combining mark (NFD)
        ("cafe\u0301", "a café by the river"),
        ("naïve", "a nai\u0308ve plan"),
        ("dog", "ＴＨＥ ＤＯＧＳ"),  # full-width letters
    ],
)
def test_one_word_however_unicode_spells_it(concept, text):
    """The same word written with a combining accent was missed ("cafe" + a mark that is not a
    letter split it), and "cafe\u0301" in the text counted for the concept "cafe"."""
    assert covered([concept], text) == [True]
    assert covered(["cafe"], "a cafe\u0301 by the river") == [False]


def test_phrase_needs_consecutive_words():
    assert covered(["ice cream"], "they ate ice cream") == [True]
    assert covered(["ice cream"], "the ice melted on the cream") == [False]
    assert covered(["ice cream"], "cream ice") == [False]
    assert covered(["hot dog"], "Hot dogs!") == [True]


def test_string_concepts(value):
    assert parse_concepts("dog, frisbee, catch") == ["dog", "frisbee", "catch"]
    assert parse_concepts("dog frisbee catch") == ["dog", "frisbee", "catch"]
    assert parse_concepts("dog#frisbee#catch") == ["dog", "frisbee", "catch"]
    assert parse_concepts("ice cream, dog") == ["ice cream", "dog"]
    assert parse_concepts(" dog ,, , park ") == ["dog", "park"]
    as_string = score(value, "A dog caught it.", "dog, frisbee, catch")
    as_list = score(value, "A dog caught it.", ["dog", "frisbee", "catch"])
    assert as_string == as_list
    assert as_string.value == pytest.approx(2 / 3) and as_string.feedback == "missing: frisbee"


def test_empty_and_none_output(value):
    assert score(value, "", ["dog", "park"]) == Score(0.0, "missing: dog, park")
    assert value([{"concepts": ["dog"]}], [None])[0].value == 0.0


def test_feedback_keeps_concepts_as_given(value):
    assert score(value, "nothing", [" Dog ", "ice  cream"]).feedback == "missing: Dog, ice  cream"


def test_duplicate_concepts_count_each(value):
    assert score(value, "a dog", ["dog", "dog", "cat"]).value == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "record",
    [{"id": "r7"}, {"id": "r7", "concepts": []}, {"id": "r7", "concepts": " , "}, {"id": "r7", "concepts": None}],
)
def test_missing_concepts_names_record(value, record):
    with pytest.raises(ValueFunctionError, match="record 'r7'.*concepts"):
        value([{"id": "r0", "concepts": ["dog"]}, record], ["dog", "dog"])


def test_missing_concepts_without_id(value):
    with pytest.raises(ValueFunctionError, match="index 0"):
        value([{"prompt": "x"}], ["dog"])


def test_length_mismatch(value):
    with pytest.raises(ValueFunctionError, match="value 'constraints' got 1 records for 2 outputs"):
        value([{"concepts": ["dog"]}], ["a", "b"])


def test_batch(value):
    records = [{"id": "a", "concepts": ["dog", "run"]}, {"id": "b", "concepts": "cat sleep"}]
    scores = value(records, ["The dogs ran.", "A cat."])
    assert [s.value for s in scores] == [1.0, 0.5]
    assert value([], []) == []


def test_forms_of_irregular_verb_have_no_regular_past():
    assert {"saw", "seen", "sees", "seeing"} <= forms("see")
    assert "seed" not in forms("see") and "bed" not in forms("be")
    assert forms("7") == {"7"} and forms("a") == {"a"}


def test_concepts_that_are_not_strings_are_the_records_fault(value):
    """Without the check, [None, 3] would be read as the words "None" and "3", and be found."""
    with pytest.raises(ValueFunctionError, match=r"record 'x' has `concepts` that are not words"):
        value([{"id": "x", "concepts": [None, 3]}], ["x None 3"])


def test_an_underscore_splits_words_as_a_hyphen_does():
    assert covered(["dog", "park"], "a hot_dog by a car-park") == [True, True]
