"""The ``rules`` value: rules of form an output must follow, each checked without a reference,
in the way of IFEval's verifiable instructions.

A record carries ``checks``: a list of ``[rule, argument]`` pairs (or a JSON string of one),
and may carry ``words``: words the output must use, in any inflected form (as the
``constraints`` value finds them), which count as one more rule. The rules:

============  ==========  =====================================================
rule          argument    the output ...
============  ==========  =====================================================
lowercase                 has no capital letter
title_case                starts every word with a capital letter
no_commas                 has no comma
first_word    a word      begins with that word (case aside)
last_word     a word      ends with that word, before its final punctuation
max_words     a number    has at most that many words
avoid_word    a word      does not use that word
has_number                has a number written in digits
quoted                    is wrapped in double quotes
exclaim                   ends with an exclamation mark
question                  ends with a question mark
============  ==========  =====================================================

A word argument is matched as the output's words are read (case and punctuation aside), so
``"Hello,"`` and ``"good morning"`` work too. ``max_words`` counts what spaces separate that
holds a letter or a digit (a dash or an emoji alone is no word), and the text is read in
Unicode's NFKC form, so full-width ``？``, ``！`` and ``，`` are ``?``, ``!`` and ``,``.

The score is the share of the rules met; the feedback names every broken one ("has 2 commas;
begins with "the", not "At""), or says that every rule is met.

    correct generate --task docs/examples/sentence-rules/sentence-rules.yaml
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable, Mapping, Sequence

from .base import (
    Score,
    ValueBase,
    ValueFunctionError,
    check_paired,
    parse_options,
    record_name,
    structured_field,
    text_of,
)
from .constraints import covered, parse_concepts, tokens, word_list

__all__ = ["RULES", "RulesValue", "broken"]


def _capitals(inner: str, words: list[str], arg: Any) -> str | None:
    capitals = [w for w in inner.split() if any(c.isupper() for c in w)]
    return "has capital letters: " + ", ".join(capitals[:5]) if capitals else None


def _title(inner: str, words: list[str], arg: Any) -> str | None:
    small = [w for w in inner.split() if (letters := w.strip("\"'.,;:!?()")) and letters[0].islower()]
    return "not capitalized: " + ", ".join(small[:5]) if small else None


def _commas(inner: str, words: list[str], arg: Any) -> str | None:
    n = inner.count(",")
    return f"has {n} comma{'s' if n > 1 else ''}" if n else None


def _first(inner: str, words: list[str], arg: Any) -> str | None:
    want = tokens(arg)  # the argument as the output's words are read: "Hello," or "good day"
    first = words[: len(want)]
    return None if first == want else f'begins with "{" ".join(first)}", not "{arg}"'


def _last(inner: str, words: list[str], arg: Any) -> str | None:
    want = tokens(arg)
    last = words[max(len(words) - len(want), 0) :]
    return None if last == want else f'ends with "{" ".join(last)}", not "{arg}"'


def _most(inner: str, words: list[str], arg: Any) -> str | None:
    n = sum(any(c.isalnum() for c in w) for w in inner.split())  # a dash or an emoji alone is no word
    return f"has {n} words, more than {arg}" if n > arg else None


def _avoid(inner: str, words: list[str], arg: Any) -> str | None:
    avoid = tokens(arg)
    n = len(avoid)
    return f'uses "{arg}"' if any(words[i : i + n] == avoid for i in range(len(words) - n + 1)) else None


def _number(inner: str, words: list[str], arg: Any) -> str | None:
    return None if re.search(r"\d", inner) else "has no number in digits"


def _quoted(inner: str, words: list[str], arg: Any) -> str | None:
    return None if len(inner) > 1 and inner[0] == '"' and inner[-1] == '"' else "is not wrapped in double quotes"


def _ends(mark: str) -> Callable[[str, list[str], Any], str | None]:
    def check(inner: str, words: list[str], arg: Any) -> str | None:
        end = inner.rstrip('"')[-1:]
        return None if end == mark else f'ends with "{end}", not "{mark}"' if end else "is empty"

    return check


RULES: dict[str, tuple[Callable[[str, list[str], Any], str | None], type | None]] = {
    "lowercase": (_capitals, None),
    "title_case": (_title, None),
    "no_commas": (_commas, None),
    "first_word": (_first, str),
    "last_word": (_last, str),
    "max_words": (_most, int),
    "avoid_word": (_avoid, str),
    "has_number": (_number, None),
    "quoted": (_quoted, None),
    "exclaim": (_ends("!"), None),
    "question": (_ends("?"), None),
}
"""Rule -> (its check of (text stripped, its word tokens, argument): what is wrong or None, the
type of its argument or None for none)."""


def broken(rule: str, arg: Any, text: str) -> str | None:
    """What is wrong with ``text`` under one rule, or None when it holds."""
    inner = unicodedata.normalize("NFKC", text).strip()  # a full-width "？" or "，" is "?" or ","
    return RULES[rule][0](inner, tokens(inner), arg)


def _checks(record: Mapping[str, Any], index: int) -> list[tuple[str, Any]]:
    where = f"value 'rules': {record_name(record, index)}"
    words = word_list(record, "words", where)
    given = structured_field(record, "checks", where)
    if not isinstance(given, list) or not (given or words):
        raise ValueFunctionError(f"{where} has no `checks`: a list of [rule, argument] pairs ({', '.join(RULES)})")
    out = []
    for k, item in enumerate(given):
        pair = list(item) if isinstance(item, (list, tuple)) else [item]
        rule, arg = pair[0] if pair else None, pair[1] if len(pair) > 1 else None
        if not isinstance(rule, str) or rule not in RULES:
            raise ValueFunctionError(f"{where}: checks[{k}] is {item!r}; rules are {', '.join(RULES)}")
        if len(pair) > 2:
            raise ValueFunctionError(f"{where}: checks[{k}] is {item!r}; a check is one [rule, argument] pair")
        kind = RULES[rule][1]
        if kind is not None and (
            not isinstance(arg, kind) or isinstance(arg, bool) or (arg < 1 if kind is int else not tokens(arg))
        ):
            wanted = "a whole number above 0" if kind is int else "a word"
            raise ValueFunctionError(f"{where}: checks[{k}] {rule!r} needs {wanted} as its argument, got {arg!r}")
        out.append((rule, arg))
    return out


class RulesValue(ValueBase):
    name = "rules"
    max_value = 1.0
    min_value = 0.0
    reference_free = True
    checks_alone = True  # base.check_records

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
        check_paired("rules", records, outputs)
        checks = [_checks(r, i) for i, r in enumerate(records)]  # every record checked before scoring
        return [self.judge(r, c, text_of(o)) for r, c, o in zip(records, checks, outputs)]

    @staticmethod
    def judge(record: Mapping[str, Any], checks: list[tuple[str, Any]], output: str) -> Score:
        words = parse_concepts(record.get("words"))
        found = covered(words, output)
        problems = ["missing: " + ", ".join(w for w, f in zip(words, found) if not f)] if not all(found) else []
        problems += [p for rule, arg in checks if (p := broken(rule, arg, output))]
        rules = len(checks) + (1 if words else 0)
        return Score((rules - len(problems)) / rules, "; ".join(problems) or "every rule met")


def from_spec(arg: str | None) -> RulesValue:
    parse_options("rules", arg, {})
    return RulesValue()
