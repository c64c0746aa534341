"""Similarity s(y, y') in [0, 1] for the pairing sampler: proximity rewards minimal edits."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """Words and single punctuation marks.

    >>> tokens("x = x + 5")
    ['x', '=', 'x', '+', '5']
    """
    return _TOKEN.findall(text)


def edit_similarity(a: str, b: str) -> float:
    """1 − token-level Levenshtein distance / length of the longer sequence.

    >>> edit_similarity("x = x + 5", "x = x - 5")
    0.8
    >>> edit_similarity("", "")
    1.0
    """
    s, t = tokens(a), tokens(b)
    if not s and not t:
        return 1.0
    prev = list(range(len(t) + 1))
    for i, si in enumerate(s, 1):
        cur = [i] + [0] * len(t)
        for j, tj in enumerate(t, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (si != tj))
        prev = cur
    return 1.0 - prev[-1] / max(len(s), len(t))


SIMILARITIES = {"edit": edit_similarity}
