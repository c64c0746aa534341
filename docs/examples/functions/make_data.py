"""Writes the data files of the example task `functions.yaml` (kept in the repository; run
again only to change them): small Python functions (string, list and number utilities of one
to six lines) given by a signature and a sentence saying what the function does, with one
example call; the output is the function's code, checked by unit tests.

    python docs/examples/functions/make_data.py

Each record has `signature` (`count_vowels(s)`), `description` (what it does, with an
example), `tests` (three or four assertions, run after the output in the same program),
`solution` (a reference function) and `kind` (test.jsonl adds an `id`). Each assertion
carries a message, so a failing one is the value's feedback, e.g. "AssertionError:
count_vowels('banana') returned 2, expected 3"; a missing function is "NameError: name
'count_vowels' is not defined". train.jsonl holds 2000 records, validation.jsonl and
test.jsonl 300 each, shots.jsonl three solved examples. No description is in two files.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, NamedTuple

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent
WORDS = [
    "apple",
    "river",
    "green",
    "stone",
    "cloud",
    "tiger",
    "paper",
    "music",
    "lemon",
    "house",
    "bread",
    "ocean",
    "pencil",
    "garden",
    "window",
    "rabbit",
    "forest",
    "candle",
    "planet",
    "sun",
    "map",
    "cat",
    "box",
    "tea",
    "owl",
    "fig",
    "sky",
    "kite",
    "moon",
    "bird",
    "lamp",
    "fish",
    "road",
    "banana",
    "level",
    "noon",
    "radar",
]


def text(rng: random.Random, low: int = 1, high: int = 3) -> str:
    return " ".join(rng.sample(WORDS, rng.randint(low, high)))


def ints(rng: random.Random, low: int = 0, high: int = 6, top: int = 20) -> list[int]:
    return [rng.randint(-3, top) for _ in range(rng.randint(low, high))]


class Family(NamedTuple):
    arg: str
    does: str
    """What the function does; ``{k}`` is its constant."""
    body: str
    """The reference body, ``{k}`` its constant."""
    expected: Callable | None
    """(input, k) -> the right result."""
    draw: Callable
    """rng -> an input."""
    draw_k: Callable | None = None
    """rng -> the constant (None: the function has none)."""


def letter(choices: str) -> Callable:
    return lambda rng: rng.choice(choices)


def number(low: int, high: int) -> Callable:
    return lambda rng: rng.randint(low, high)


FAMILIES = {
    "count_char": Family(
        "s",
        "returns how many times the letter '{k}' appears in the string s",
        "    return s.count('{k}')",
        lambda s, k: s.count(k),
        text,
        letter("aeiorn"),
    ),
    "count_vowels": Family(
        "s",
        "returns how many vowels (a, e, i, o, u) the lowercase string s has",
        "    return sum(1 for c in s if c in 'aeiou')",
        lambda s, k: sum(c in "aeiou" for c in s),
        text,
    ),
    "reverse_words": Family(
        "s",
        "returns the words of s in reverse order, joined by single spaces",
        "    return ' '.join(reversed(s.split()))",
        lambda s, k: " ".join(reversed(s.split())),
        text,
    ),
    "is_palindrome": Family(
        "s",
        "returns True if the string s reads the same backwards, else False",
        "    return s == s[::-1]",
        lambda s, k: s == s[::-1],
        lambda rng: rng.choice(WORDS),
    ),
    "capitalize_words": Family(
        "s",
        "returns s with the first letter of every word in upper case",
        "    return ' '.join(w.capitalize() for w in s.split())",
        lambda s, k: s.title(),
        text,
    ),
    "remove_char": Family(
        "s",
        "returns the string s with every '{k}' removed",
        "    return s.replace('{k}', '')",
        lambda s, k: s.replace(k, ""),
        text,
        letter("aeiost"),
    ),
    "first_chars": Family(
        "s",
        "returns the first {k} characters of the string s (all of s if it is shorter)",
        "    return s[:{k}]",
        lambda s, k: s[:k],
        text,
        number(2, 6),
    ),
    "shout": Family(
        "s",
        "returns s in upper case followed by {k} exclamation marks",
        "    return s.upper() + '!' * {k}",
        lambda s, k: s.upper() + "!" * k,
        text,
        number(1, 3),
    ),
    "initials": Family(
        "s",
        "returns the first letters of the words of s in upper case, with nothing between them",
        "    return ''.join(w[0] for w in s.split()).upper()",
        lambda s, k: "".join(w[0] for w in s.split()).upper(),
        lambda rng: text(rng, 2, 4),
    ),
    "longest_word": Family(
        "s",
        "returns the longest word of s (the first one if several are as long)",
        "    return max(s.split(), key=len)",
        lambda s, k: max(s.split(), key=len),
        lambda rng: text(rng, 2, 4),
    ),
    "sum_even": Family(
        "xs",
        "returns the sum of the even numbers in the list xs",
        "    return sum(x for x in xs if x % 2 == 0)",
        lambda xs, k: sum(x for x in xs if x % 2 == 0),
        ints,
    ),
    "keep_multiples": Family(
        "xs",
        "returns the numbers of the list xs that are multiples of {k}, in their order",
        "    return [x for x in xs if x % {k} == 0]",
        lambda xs, k: [x for x in xs if x % k == 0],
        ints,
        number(2, 5),
    ),
    "scale": Family(
        "xs",
        "returns a new list with every number of xs multiplied by {k}",
        "    return [x * {k} for x in xs]",
        lambda xs, k: [x * k for x in xs],
        ints,
        number(2, 9),
    ),
    "count_above": Family(
        "xs",
        "returns how many numbers in the list xs are greater than {k}",
        "    return sum(1 for x in xs if x > {k})",
        lambda xs, k: sum(x > k for x in xs),
        ints,
        number(0, 12),
    ),
    "spread": Family(
        "xs",
        "returns the largest number of the non-empty list xs minus the smallest",
        "    return max(xs) - min(xs)",
        lambda xs, k: max(xs) - min(xs),
        lambda rng: ints(rng, 1, 6),
    ),
    "unique_sorted": Family(
        "xs",
        "returns the distinct numbers of xs in increasing order, as a list",
        "    return sorted(set(xs))",
        lambda xs, k: sorted(set(xs)),
        ints,
    ),
    "every_other": Family(
        "xs",
        "returns every second item of the list xs, starting with the first",
        "    return xs[::2]",
        lambda xs, k: xs[::2],
        ints,
    ),
    "last_or_none": Family(
        "xs",
        "returns the last item of the list xs, or None if xs is empty",
        "    if not xs:\n        return None\n    return xs[-1]",
        lambda xs, k: xs[-1] if xs else None,
        lambda rng: ints(rng, 0, 4),
    ),
    "clamp": Family(
        "x",
        "returns x limited to the range {k}: the lower end if x is below it, the upper end if above",
        "    low, high = {lo}, {hi}\n    if x < low:\n        return low\n    if x > high:\n"
        "        return high\n    return x",
        None,
        number(-20, 40),
    ),
    "digit_sum": Family(
        "n",
        "returns the sum of the digits of the non-negative integer n",
        "    return sum(int(d) for d in str(n))",
        lambda n, k: sum(map(int, str(n))),
        number(0, 99999),
    ),
    "fizz": Family(
        "n",
        "returns 'Fizz' if n is divisible by {k}, else n as a string",
        "    if n % {k} == 0:\n        return 'Fizz'\n    return str(n)",
        lambda n, k: "Fizz" if n % k == 0 else str(n),
        number(1, 60),
        number(3, 7),
    ),
    "add_tax": Family(
        "price",
        "returns the price plus {k} percent tax, rounded to 2 decimal places",
        "    return round(price * (100 + {k}) / 100, 2)",
        lambda p, k: round(p * (100 + k) / 100, 2),
        number(1, 500),
        letter([5, 8, 10, 15, 20, 25]),
    ),
    "pad_number": Family(
        "n",
        "returns n as a string padded on the left with zeros to {k} characters",
        "    return str(n).zfill({k})",
        lambda n, k: str(n).zfill(k),
        number(0, 999),
        number(4, 6),
    ),
}


def clamp_range(rng: random.Random) -> tuple[int, int]:
    lo = rng.randint(-10, 10)
    return lo, lo + rng.randint(5, 20)


def informative_inputs(rng: random.Random, kind: str, draw, expected) -> list:
    """Four distinct inputs, the first for the example and three for the tests, drawn until
    the tests tell a right function from a near miss: at least two different results among
    the tests and three among all four (both True and False for a yes/no function; at least
    one 'Fizz'; an empty list for the function that must handle one)."""
    while True:
        inputs = []
        while len(inputs) < 4:
            x = draw(rng)
            if x not in inputs:
                inputs.append(x)
        if kind == "is_palindrome":
            inputs[rng.randrange(1, 4)] = rng.choice(["level", "noon", "radar"])
            inputs[0] = inputs[0] if len(set(inputs)) == 4 else rng.choice(["moon", "sky"])
        results = [repr(expected(x)) for x in inputs]
        if len(set(map(repr, inputs))) < 4 or len(set(results[1:])) < 2:
            continue
        if kind == "fizz" and "'Fizz'" not in results[1:]:
            continue
        if kind == "last_or_none" and "None" not in results[1:]:
            continue
        if kind == "is_palindrome" or len(set(results)) >= 3:
            return inputs


def record(rng: random.Random, kind: str) -> dict:
    arg, does, body, expected, draw, draw_k = FAMILIES[kind]
    if kind == "clamp":
        lo, hi = clamp_range(rng)
        k, body = f"{lo} to {hi}", body.format(lo=lo, hi=hi)
        expected = lambda x, _: min(max(x, lo), hi)  # noqa: E731
        inputs = [lo - rng.randint(1, 9), hi + rng.randint(1, 9), rng.randint(lo, hi), rng.randint(lo, hi)]
    else:
        k = draw_k(rng) if draw_k else None
        body = body.format(k=k)
        inputs = informative_inputs(rng, kind, draw, lambda x: expected(x, k))
    does = does.format(k=k)
    calls = [(f"{kind}({x!r})", expected(x, k)) for x in inputs]
    example, tests = calls[0], calls[1:]
    description = f"{does[0].upper()}{does[1:]}; for example {example[0]} returns {example[1]!r}."
    lines = [
        f'assert (got := {call}) == {want!r}, f"{call} returned {{got!r}}, expected {want!r}"' for call, want in tests
    ]
    return {
        "signature": f"{kind}({arg})",
        "description": description,
        "tests": "\n".join(lines),
        "solution": f"def {kind}({arg}):\n{body}",
        "kind": kind,
    }


def draw(rng: random.Random) -> dict:
    return record(rng, rng.choice(sorted(FAMILIES)))


def main() -> None:
    pool = distinct(2600 + 100, seed=2030, draw=draw, key="description")  # one pool, so no description is in two files
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    kinds = ["count_vowels", "keep_multiples", "last_or_none"]  # a string, a list and a branch
    write_files(HERE, train, validation, test, one_of_each(reserve, kinds))


if __name__ == "__main__":
    main()
