"""Inflected forms of an English base form, for the ``constraints`` value: regular rules for
nouns (``dog -> dogs``, ``city -> cities``) and verbs (``stop -> stopped, stopping``), and
tables of irregular plurals and verbs that compounds and prefixed verbs inherit
(``fireman -> firemen``, ``rerun -> reran``). Rule-based and self-contained: no downloaded data."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

# Irregular English verbs (base -> past forms, past participles; regular alternatives that
# are also in use, such as hanged, dived, learned, are listed too, since irregular verbs get
# no regular -ed forms from the rules) and irregular plurals (what the rules +s, +es,
# y -> ies and both spellings after -o do not make) are tables in data/.

# Present-tense forms that the rules do not make.
_PRESENT_FORMS = {"be": ("am", "is", "are"), "have": ("has",), "do": ("does",)}


def _parse_table(name: str) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for line in (Path(__file__).parent / "data" / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        base, *rest = line.split()
        table[base] = tuple(f for field in rest for f in field.split(",") if f != "-")
    return table


IRREGULAR_VERBS: dict[str, tuple[str, ...]] = _parse_table("irregular_verbs.txt")
"""Base form -> its past tense and past participle forms."""
IRREGULAR_PLURALS: dict[str, tuple[str, ...]] = _parse_table("irregular_plurals.txt")
"""Singular -> its plural forms."""

# ---------------------------------------------------------------------------------------
# Regular inflection rules.

_VOWELS = set("aeiou")
_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")


def _is_vowel(word: str, i: int) -> bool:
    c = word[i]
    if c in _VOWELS:
        return not (c == "u" and i > 0 and word[i - 1] == "q")  # the u of "qu" is a consonant
    return c == "y" and i > 0 and not _is_vowel(word, i - 1)  # "cry", not "yes" or "play"


def _syllables(word: str) -> int:
    groups, previous = 0, False
    for i in range(len(word)):
        v = _is_vowel(word, i)
        groups += v and not previous
        previous = v
    if word.endswith("e") and not word.endswith(("ee", "ye", "oe", "le")) and groups > 1:
        groups -= 1  # silent e: "make", "rose"
    return max(groups, 1)


def _ends_cvc(word: str) -> bool:
    """Ends consonant-vowel-consonant, the last not w/x/y: "stop", "plan", "quiz"."""
    n = len(word)
    return (
        n >= 3
        and word[-1] not in "wxy"
        and not _is_vowel(word, n - 1)
        and _is_vowel(word, n - 2)
        and not _is_vowel(word, n - 3)
    )


def _s_forms(word: str) -> set[str]:
    """Plural of a noun / third person singular of a verb."""
    if word.endswith(_SIBILANT_ENDINGS):
        out = {word + "es"}
        if word.endswith(("s", "z")) and _ends_cvc(word):
            out.add(word + word[-1] + "es")  # "quizzes", "busses"
        return out
    if len(word) > 1 and word.endswith("y") and not _is_vowel(word, len(word) - 2):
        return {word[:-1] + "ies"}
    if word.endswith("o"):
        return {word + "s", word + "es"}  # "photos", "potatoes"
    return {word + "s"}


# Irregular plurals that compounds inherit: "grandchild", "fireman", "penknife", "bookshelf".
_COMPOUND_HEADS = (
    "man",
    "child",
    "person",
    "mouse",
    "goose",
    "foot",
    "tooth",
    "knife",
    "wife",
    "life",
    "leaf",
    "loaf",
    "wolf",
    "shelf",
    "self",
    "thief",
    "fish",
)


def _irregular_plurals(word: str) -> set[str]:
    if word in IRREGULAR_PLURALS:
        return set(IRREGULAR_PLURALS[word])
    for head in _COMPOUND_HEADS:
        if word.endswith(head) and len(word) > len(head):
            return {word[: -len(head)] + p for p in IRREGULAR_PLURALS[head]}
    return set()


def _stems(word: str) -> set[str]:
    """What -ed and -ing attach to, with a doubled final consonant where English doubles it.
    For a monosyllable the rules are clear ("stop" -> "stopp"); for longer words doubling
    depends on stress ("admitted" but "visited"), so both spellings are made."""
    if word.endswith("c") and len(word) > 2 and _is_vowel(word, len(word) - 2):
        return {word + "k"}  # "picnicked", "panicking"
    if _ends_cvc(word):
        doubled = word + word[-1]
        if _syllables(word) > 1 or word[-1] == "s":
            return {word, doubled}  # "visited" / "admitted"; "bused" / "bussed"
        return {doubled}
    if word.endswith("l") and _is_vowel(word, len(word) - 2):
        return {word, word + "l"}  # "fueled" / "fuelled", "dialed" / "dialled"
    return {word}


def _ed_forms(word: str) -> set[str]:
    if word.endswith("e"):
        return {word + "d"}
    if len(word) > 1 and word.endswith("y") and not _is_vowel(word, len(word) - 2):
        return {word[:-1] + "ied"}
    return {stem + "ed" for stem in _stems(word)}


def _ing_forms(word: str) -> set[str]:
    if word.endswith("ie"):
        return {word[:-2] + "ying"}  # "tying", "lying"
    if word.endswith(("ee", "ye", "oe")) or len(word) <= 2:
        return {word + "ing"}  # "seeing", "dyeing", "being"
    if word.endswith(("ue", "ge")):
        return {word[:-1] + "ing", word + "ing"}  # "gluing" / "glueing", "aging" / "ageing"
    if word.endswith("e"):
        return {word[:-1] + "ing"}  # "making"
    return {stem + "ing" for stem in _stems(word)}


# Prefixed irregular verbs inherit the irregular forms: "rerun -> reran", "outgrow -> outgrew".
_VERB_PREFIXES = ("re", "un", "over", "out", "under", "mis", "fore", "up", "with")


def _irregular_past(word: str) -> set[str] | None:
    if word in IRREGULAR_VERBS:
        return set(IRREGULAR_VERBS[word])
    for prefix in _VERB_PREFIXES:
        rest = word[len(prefix) :]
        if word.startswith(prefix) and len(rest) >= 2 and rest in IRREGULAR_VERBS:
            # Regular forms too: "relay -> relayed" is not "re" + "lay".
            return {prefix + f for f in IRREGULAR_VERBS[rest]} | _ed_forms(word)
    return None


@lru_cache(maxsize=8192)
def forms(word: str) -> frozenset[str]:
    """Every surface form of one lowercase base word, taken both as a noun and as a verb."""
    word = word.lower()
    if not word.isalpha() or len(word) < 2:
        return frozenset({word})  # numbers, letters and mixed tokens match only themselves
    out = {word} | _s_forms(word) | _ing_forms(word) | _irregular_plurals(word)
    past = _irregular_past(word)
    if past is not None:  # no regular -ed forms: "seed" is not a form of "see"
        out |= past | set(_PRESENT_FORMS.get(word, ()))
    else:
        out |= _ed_forms(word)
    return frozenset(out)


# ---------------------------------------------------------------------------------------
# Tokens, concepts, coverage.
