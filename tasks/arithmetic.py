"""The built-in `arithmetic` task: procedurally generated word problems whose solutions are
short Python programs that print the answer.

Every problem is a start state followed by one to three operations; the reference program
has one line per sentence, so a wrong draft is usually wrong in one line (an operator, a
number) -- the kind of local mistake a corrector can learn to fix.
"""

from __future__ import annotations

import random

from .task import TaskError

NAMES = ["Mia", "Tom", "Ava", "Leo", "Zoe", "Sam", "Ivy", "Max", "Eva", "Ben", "Lily", "Noah"]
ITEMS = ["apples", "pencils", "stickers", "marbles", "cookies", "cards", "books", "coins", "shells", "stamps"]
PRONOUN = {n: ("She" if n in {"Mia", "Ava", "Zoe", "Ivy", "Eva", "Lily"} else "He") for n in NAMES}

# Each operation: (symbol, sentence templates, operand range)
ADD = [
    "{P} buys {n} more {items}.",
    "{P} finds {n} more {items}.",
    "A friend gives {o} {n} {items}.",
    "{P} wins {n} {items}.",
]
SUB = [
    "{P} gives away {n} {items}.",
    "{P} loses {n} {items}.",
    "{P} sells {n} {items}.",
    "{P} gives {n} {items} to a friend.",
]
MUL = ["Then the number of {items} is multiplied by {n}.", "{P} ends up with {n} times as many {items}."]
DIV = [
    "{P} splits the {items} into {n} equal piles and keeps one pile.",
    "{P} shares the {items} equally with {m} friend{s} and keeps one share.",
]


def _start(rng: random.Random, name: str, items: str) -> tuple[str, int, str]:
    if rng.random() < 0.3:
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        return f"{name} has {a} boxes with {b} {items} in each box.", a * b, f"x = {a} * {b}"
    a = rng.randint(5, 60)
    return f"{name} has {a} {items}.", a, f"x = {a}"


def make_problem(rng: random.Random) -> dict:
    name, items = rng.choice(NAMES), rng.choice(ITEMS)
    pron = PRONOUN[name]
    obj = "her" if pron == "She" else "him"
    sentence, x, line = _start(rng, name, items)
    sentences, lines = [sentence], [line]
    for _ in range(rng.randint(1, 3)):
        kind = rng.choices(["add", "sub", "mul", "div"], weights=[3, 3, 1, 1])[0]
        divisors = [d for d in range(2, 6) if x % d == 0 and x // d > 0]
        if kind == "div" and not divisors:
            kind = "add"
        if kind == "sub" and x < 3:
            kind = "add"
        if kind == "mul" and x > 60:
            kind = "sub"
        if kind == "add":
            n = rng.randint(2, 30)
            t, op, x = rng.choice(ADD), "+", x + n
        elif kind == "sub":
            n = rng.randint(1, x - 1)
            t, op, x = rng.choice(SUB), "-", x - n
        elif kind == "mul":
            n = rng.randint(2, 4)
            t, op, x = rng.choice(MUL), "*", x * n
        else:
            n = rng.choice(divisors)
            t, op, x = rng.choice(DIV), "//", x // n
        sentences.append(t.format(P=pron, n=n, m=n - 1, s="" if n == 2 else "s", o=obj, items=items))
        lines.append(f"x = x {op} {n}")
    sentences.append(f"How many {items} does {name} have now?")
    lines.append("print(x)")
    return {"question": " ".join(sentences), "answer": x, "solution": "\n".join(lines)}


# Splits are disjoint by seed stream, so train and test never share a generated problem
# by construction of the stream (and duplicates are removed across splits below).
SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3}


def make_split(split: str, n: int, seed: int = 0) -> list[dict]:
    """``n`` records of ``split`` (train | validation | test); deterministic in (split, n, seed)."""
    if split not in SPLIT_SEEDS:
        raise TaskError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_SEEDS)}", option="split")
    banned: set[str] = set()
    if split != "train":  # a held-out problem never appears word for word in training
        rng = random.Random(1000 * seed + SPLIT_SEEDS["train"])
        banned = {make_problem(rng)["question"] for _ in range(20000)}
    rng = random.Random(1000 * seed + SPLIT_SEEDS[split])
    records: list[dict] = []
    while len(records) < n:
        p = make_problem(rng)
        if p["question"] in banned:
            continue
        records.append(
            {"id": f"{split}-{len(records)}", "prompt": p["question"], "answer": p["answer"], "solution": p["solution"]}
        )
    return records


PROMPT = "Question: {prompt}\nProgram:\n"
"""How the generator is asked: the question, then the start of a program."""


def generator_prompt(record: dict) -> str:
    return PROMPT.format(prompt=record["prompt"])
