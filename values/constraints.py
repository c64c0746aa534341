"""The ``constraints`` value: the share of a record's concepts that the output uses.

A record carries ``concepts``: a list of strings, or one string of concepts separated by
commas (or ``;`` or ``#``; when there is none of these, by spaces). A concept is found when
its words appear in the output as consecutive word tokens, each in any inflected form:

- nouns: ``dog -> dogs``, ``box -> boxes``, ``city -> cities``, ``potato -> potatoes``, and
  a table of irregular plurals (``child -> children``, ``man -> men``, ``knife -> knives``,
  ``mouse -> mice``, ...) that compounds inherit (``fireman -> firemen``);
- verbs: ``walk -> walks, walked, walking``, ``stop -> stopped, stopping``,
  ``make -> making``, ``cry -> cried, cries``, ``tie -> tying``, ``picnic -> picnicked``, and
  a table of about 200 irregular verbs (``run -> ran``, ``throw -> threw, thrown``,
  ``be -> am, is, are, was, were, been, being``, ...) that prefixed verbs inherit
  (``rerun -> reran``).

Matching is case-insensitive and on word tokens (runs of letters and digits; ``'`` and ``-``
split words, so ``dog's`` contains ``dog``), so ``cat`` is not found in ``category``.
Concepts are taken as base forms (lemmas): forms are generated *from* the concept, never
guessed back from the text, so ``be`` does not match ``bed`` and ``hop`` does not match
``hoped``. Every concept is inflected both as a noun and as a verb, so a few noun-only
words also match a form of some other verb (``unit`` matches ``united``). A concept given in
an inflected form matches itself (and its own regular inflections), not its lemma:
``children`` is not found in "a child".

The matcher is self-contained and rule-based (no downloaded data): a small PyPI package with
a full lexicon (``lemminflect``, 0.8 MB, offline) was considered and used only to check
these rules; it would add a dependency for no gain on the concept vocabularies this value
is meant for.

The value is reference-free: the concepts are part of the task, known at inference time, and
the feedback ("missing: dog, frisbee") names only what the record already shows.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Mapping, Sequence

from .base import Score, ValueBase, ValueFunctionError, check_paired, record_name, text_of
from .inflection import forms

__all__ = ["ConstraintsValue", "covered", "forms", "parse_concepts", "tokens"]

_WORD = re.compile(r"[^\W_]+")
_SEPARATORS = re.compile(r"[,;#\n]")


def tokens(text: str) -> list[str]:
    """Lowercase word tokens: runs of letters and digits, read in Unicode's NFKC form, so that
    an accent written as its own combining mark ("cafe\u0301") or a full-width letter is the
    same word as its usual spelling (a combining mark is not a letter: it split the word)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def parse_concepts(concepts: Any) -> list[str]:
    """A list of concept strings, or one string separated by commas/semicolons/``#`` (or by
    spaces when it has none of those) -> the concepts, stripped, empty ones dropped."""
    return [p for p in _parts(concepts) if tokens(p)]


def _parts(concepts: Any) -> list[str]:
    if concepts is None:
        return []
    if isinstance(concepts, str):
        parts = _SEPARATORS.split(concepts) if _SEPARATORS.search(concepts) else concepts.split()
    else:
        parts = [str(c) for c in concepts]
    return [p.strip() for p in parts if p.strip()]


def _find(concept_tokens: Sequence[str], text_tokens: Sequence[str]) -> bool:
    options = [forms(w) for w in concept_tokens]
    n = len(options)
    return any(all(text_tokens[i + j] in options[j] for j in range(n)) for i in range(len(text_tokens) - n + 1))


def covered(concepts: Any, text: str | None) -> list[bool]:
    """For each concept (as ``parse_concepts`` reads them), whether ``text`` uses it."""
    words = tokens(text or "")
    return [_find(tokens(c), words) for c in parse_concepts(concepts)]


class ConstraintsValue(ValueBase):
    name = "constraints"
    max_value = 1.0
    min_value = 0.0
    reference_free = True
    checks_alone = True  # base.check_records

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
        check_paired("constraints", records, outputs)
        # Check every record before scoring anything, so a bad data set fails fast.
        all_concepts = [_check(record, i) for i, record in enumerate(records)]
        return [self._score(concepts, output) for concepts, output in zip(all_concepts, outputs)]

    @staticmethod
    def _score(concepts: list[str], output: Any) -> Score:
        text = text_of(output)
        found = covered(concepts, text)
        missing = [c for c, ok in zip(concepts, found) if not ok]
        feedback = "missing: " + ", ".join(missing) if missing else "all concepts used"
        return Score(sum(found) / len(found), feedback)


def word_list(record: Mapping[str, Any], field: str, where: str) -> list[str]:
    """The record's ``field`` as ``parse_concepts`` reads it; anything but one string or a list
    of strings is the record's fault, named (``where``: the value and the record)."""
    given = record.get(field)
    if given is not None and not (
        isinstance(given, str) or (isinstance(given, (list, tuple)) and all(isinstance(c, str) for c in given))
    ):
        raise ValueFunctionError(
            f"{where} has `{field}` that are not words (a list of strings, or one string): {given!r}"
        )
    wordless = next((p for p in _parts(given) if not tokens(p)), None)
    if wordless is not None:  # dropped, it would count as used: "🐶, park" met by "in the park"
        raise ValueFunctionError(
            f"{where} has `{field}` with no letter or digit in {wordless!r}: a word is found by its letters and digits"
        )
    return parse_concepts(given)


def _check(record: Mapping[str, Any], index: int) -> list[str]:
    concepts = word_list(record, "concepts", f"value 'constraints': {record_name(record, index)}")
    if not concepts:
        raise ValueFunctionError(
            f"value 'constraints': {record_name(record, index)} has no `concepts`; it needs a list of words to use"
        )
    return concepts
