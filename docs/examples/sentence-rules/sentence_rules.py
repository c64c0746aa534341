"""The value of the example task `sentence-rules.yaml`, a user's own value as a task file can
name one (``value: sentence_rules:score``; the task file's folder is importable).

An output is scored by the share of its record's rules it meets, its two words counting as one
rule (found in any inflected form, as the built-in `constraints` value finds them). It needs
no reference: the rules are the record's, so every broken one is named in the feedback.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from correct.values import Score
from correct.values.constraints import covered, parse_concepts, tokens


def _broken(rule: str, arg: Any, text: str) -> str | None:
    """What is wrong with ``text`` under one rule, or None when it holds."""
    inner = text.strip()
    words = tokens(inner)
    if rule == "lowercase":
        capitals = [w for w in inner.split() if any(c.isupper() for c in w)]
        return "has capital letters: " + ", ".join(capitals[:5]) if capitals else None
    if rule == "no_commas":
        n = inner.count(",")
        return f"has {n} comma{'s' if n > 1 else ''}" if n else None
    if rule == "first_word":
        first = words[0] if words else ""
        return None if first == arg.lower() else f'begins with "{first}", not "{arg}"'
    if rule == "last_word":
        last = words[-1] if words else ""
        return None if last == arg.lower() else f'ends with "{last}", not "{arg}"'
    if rule == "max_words":
        n = len(inner.split())
        return f"has {n} words, more than {arg}" if n > arg else None
    if rule == "quoted":
        ok = len(inner) > 1 and inner[0] == '"' and inner[-1] == '"'
        return None if ok else "is not wrapped in double quotes"
    if rule == "exclaim":
        end = inner.rstrip('"')[-1:]
        return None if end == "!" else f'ends with "{end}", not "!"' if end else "is empty"
    raise ValueError(f"unknown rule {rule!r}")


def judge(record: Mapping[str, Any], output: str) -> Score:
    concepts = parse_concepts(record["words"])
    found = covered(concepts, output)
    problems = ["missing: " + ", ".join(c for c, f in zip(concepts, found) if not f)] if not all(found) else []
    problems += [p for rule, arg in record["checks"] if (p := _broken(rule, arg, output))]
    rules = len(record["checks"]) + 1
    value = (rules - len(problems)) / rules
    return Score(value, "; ".join(problems) or None)


def score(records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
    return [judge(r, o) for r, o in zip(records, outputs)]


score.reference_free = True  # the rules are the task's own, known when the question is
