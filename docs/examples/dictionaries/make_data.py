"""Writes the data files of the example task `dictionaries.yaml` (kept in the repository; run
again only to change them): small Python functions that build, read or reshape dictionaries
(word counts, totals, inverted and merged mappings, keys picked by their values), given by a
signature and a sentence saying what the function does, with one example call; the output is
the function's code, checked by unit tests.

    python docs/examples/dictionaries/make_data.py

The task exists to measure a corrector on a kind of program it never saw: no task the
general corrector was trained on works with dictionaries (docs/training.md). Each record has
`signature` (`total(prices)`), `description` (what it does, with an example), `tests` (three
assertions with messages, run after the output in the same program, so a failing one is the
value's feedback: "AssertionError: total({'tea': 3}) returned 0, expected 3"), `solution` (a
reference function) and `kind` (test.jsonl adds an `id`). train.jsonl holds 2000 records,
validation.jsonl and test.jsonl 300 each, shots.jsonl three solved examples. No description
is in two files.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, NamedTuple

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent
NAMES = ["tea", "milk", "bread", "rice", "soap", "eggs", "salt", "jam", "corn", "figs", "oil", "nuts"]
PEOPLE = ["ana", "ben", "cleo", "dev", "eli", "fay", "gus", "hana", "ivo", "jo"]
WORDS = ["apple", "avocado", "bean", "berry", "carrot", "cherry", "date", "dill", "egg", "fig", "grape", "garlic"]


def mapping(keys: list[str], low: int = 0, high: int = 20) -> Callable:
    """rng -> a dict of two to five of ``keys`` (in a random order) to numbers."""

    def draw(rng: random.Random) -> dict:
        return {k: rng.randint(low, high) for k in rng.sample(keys, rng.randint(2, 5))}

    return draw


def words(rng: random.Random) -> list[str]:
    """Two to six words, some repeated."""
    chosen = rng.sample(WORDS, rng.randint(2, 4))
    return [rng.choice(chosen) for _ in range(rng.randint(2, 6))]


def sentence(rng: random.Random) -> str:
    return " ".join(words(rng))


def first_max(d: dict):
    return max(d, key=d.get)  # the first key of the largest value


def merged(pair: tuple[dict, dict]) -> dict:
    a, b = pair
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def grouped(ws: list[str]) -> dict:
    out: dict = {}
    for w in ws:
        out.setdefault(w[0], []).append(w)
    return out


class Family(NamedTuple):
    arg: str
    does: str
    """What the function does; ``{k}`` is its constant."""
    body: str
    """The reference body, ``{k}`` its constant."""
    expected: Callable
    """(input, k) -> the right result."""
    draw: Callable
    """rng -> an input (a tuple for a function of two arguments)."""
    draw_k: Callable | None = None


FAMILIES = {
    "total": Family(
        "prices",
        "returns the sum of the values of the dictionary prices",
        "    return sum(prices.values())",
        lambda d, k: sum(d.values()),
        mapping(NAMES),
    ),
    "most": Family(
        "stock",
        "returns the key of the dictionary stock with the largest value (the first such key if several share it)",
        "    return max(stock, key=stock.get)",
        lambda d, k: first_max(d),
        mapping(NAMES),
    ),
    "least": Family(
        "scores",
        "returns the key of the dictionary scores with the smallest value (the first such key if several share it)",
        "    return min(scores, key=scores.get)",
        lambda d, k: min(d, key=d.get),
        mapping(PEOPLE),
    ),
    "word_counts": Family(
        "text",
        "returns a dictionary from each word of the string text to how many times it appears",
        "    counts = {}\n    for w in text.split():\n        counts[w] = counts.get(w, 0) + 1\n    return counts",
        lambda s, k: {w: s.split().count(w) for w in s.split()},
        sentence,
    ),
    "above": Family(
        "scores",
        "returns the keys of the dictionary scores whose value is greater than {k}, sorted alphabetically",
        "    return sorted(name for name, v in scores.items() if v > {k})",
        lambda d, k: sorted(n for n, v in d.items() if v > k),
        mapping(PEOPLE),
        lambda rng: rng.randint(5, 15),
    ),
    "invert": Family(
        "codes",
        "returns a new dictionary with the keys and values of the dictionary codes swapped"
        " (its values are all different)",
        "    return {v: k for k, v in codes.items()}",
        lambda d, k: {v: n for n, v in d.items()},
        lambda rng: dict(zip(rng.sample(NAMES, rng.randint(2, 4)), rng.sample(range(1, 40), 4))),
    ),
    "scale": Family(
        "prices",
        "returns a new dictionary with every value of the dictionary prices multiplied by {k}",
        "    return {name: v * {k} for name, v in prices.items()}",
        lambda d, k: {n: v * k for n, v in d.items()},
        mapping(NAMES),
        lambda rng: rng.randint(2, 5),
    ),
    "drop_below": Family(
        "stock",
        "returns a new dictionary with only the items of the dictionary stock whose value is at least {k}",
        "    return {name: v for name, v in stock.items() if v >= {k}}",
        lambda d, k: {n: v for n, v in d.items() if v >= k},
        mapping(NAMES),
        lambda rng: rng.randint(5, 15),
    ),
    "lengths": Family(
        "words",
        "returns a dictionary from each word of the list words to its number of letters",
        "    return {w: len(w) for w in words}",
        lambda ws, k: {w: len(w) for w in ws},
        words,
    ),
    "by_letter": Family(
        "words",
        "returns a dictionary from each first letter to the list of the words of the list words that start with it,"
        " in their order",
        "    groups = {}\n    for w in words:\n        groups.setdefault(w[0], []).append(w)\n    return groups",
        lambda ws, k: grouped(ws),
        words,
    ),
    "lookup": Family(
        "ages",
        "returns the value of the key '{k}' in the dictionary ages, or 0 if it has no such key",
        "    return ages.get('{k}', 0)",
        lambda d, k: d.get(k, 0),
        mapping(PEOPLE, 1, 90),
        lambda rng: rng.choice(PEOPLE),
    ),
    "combine": Family(
        "a, b",
        "returns a new dictionary with the keys of both dictionaries a and b; a key in both gets the sum"
        " of its two values",
        "    out = dict(a)\n    for k, v in b.items():\n        out[k] = out.get(k, 0) + v\n    return out",
        lambda pair, k: merged(pair),
        lambda rng: (mapping(NAMES[:6])(rng), mapping(NAMES[:6])(rng)),
    ),
    "sorted_by_value": Family(
        "scores",
        "returns the keys of the dictionary scores sorted by their values, smallest first (equal values by key)",
        "    return sorted(scores, key=lambda name: (scores[name], name))",
        lambda d, k: sorted(d, key=lambda n: (d[n], n)),
        mapping(PEOPLE),
    ),
}


def call(kind: str, x) -> str:
    return f"{kind}({', '.join(map(repr, x))})" if isinstance(x, tuple) else f"{kind}({x!r})"


def braces(text: str) -> str:
    """``text`` as literal text of an f-string (a dictionary's braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def record(rng: random.Random, kind: str) -> dict:
    arg, does, body, expected, draw, draw_k = FAMILIES[kind]
    k = draw_k(rng) if draw_k else None
    while True:  # four different inputs whose results tell a right function from a near miss
        inputs = [draw(rng) for _ in range(4)]
        results = [repr(expected(x, k)) for x in inputs]
        if len(set(map(repr, inputs))) == 4 and len(set(results[1:])) >= 2:
            break
    calls = [(call(kind, x), expected(x, k)) for x in inputs]
    (example, shown), tests = calls[0], calls[1:]
    does = does.replace("{k}", str(k))
    lines = [
        f'assert (got := {c}) == {want!r}, f"{braces(c)} returned {{got!r}}, expected {braces(repr(want))}"'
        for c, want in tests
    ]
    return {
        "signature": f"{kind}({arg})",
        "description": f"{does[0].upper()}{does[1:]}; for example {example} returns {shown!r}.",
        "tests": "\n".join(lines),
        "solution": f"def {kind}({arg}):\n{body.replace('{k}', str(k))}",  # bodies hold braces of their own
        "kind": kind,
    }


def draw(rng: random.Random) -> dict:
    return record(rng, rng.choice(sorted(FAMILIES)))


def main() -> None:
    pool = distinct(2600 + 100, seed=2041, draw=draw, key="description")  # one pool, so no description is in two files
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    write_files(HERE, train, validation, test, one_of_each(reserve, ["total", "above", "by_letter"]))


if __name__ == "__main__":
    main()
