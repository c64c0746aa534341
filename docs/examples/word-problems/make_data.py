"""Writes the data files of the example task `word-problems.yaml` (kept in the repository;
run again only to change them): everyday word problems of five families that the built-in
`arithmetic` task never asks (remainders, percentages, unit conversions, averages, ages),
each with its answer and a reference program.

    python docs/examples/word-problems/make_data.py

train.jsonl and validation.jsonl use the columns `question`, `answer`, `solution`, `kind`;
test.csv has `id`, `question`, `answer`, `kind`; shots.jsonl holds three solved examples for few-shot prompts;
unlabeled.jsonl holds questions with no answer (inference on questions nobody has answered).
"""

from __future__ import annotations

import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files, write_jsonl

HERE = Path(__file__).parent
NAMES = [
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kofi",
    "Lena",
    "Mia",
    "Noor",
    "Omar",
    "Pia",
]
THINGS = ["apples", "marbles", "stickers", "pencils", "cookies", "cards", "stamps", "beads"]


def remainder(rng: random.Random) -> tuple[str, int, str]:
    people, each_max = rng.randint(3, 9), rng.randint(4, 12)
    total = people * rng.randint(2, each_max) + rng.randint(1, people - 1)
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    q = (
        f"{name} shares {total} {thing} equally among {people} friends, giving each friend as many as possible. "
        f"How many {thing} are left over?"
    )
    return q, total % people, f"total = {total}\nfriends = {people}\nprint(total % friends)"


def percentage(rng: random.Random) -> tuple[str, int, str]:
    price, off = rng.choice(range(20, 401, 20)), rng.choice([10, 20, 25, 50, 75])
    item = rng.choice(["jacket", "lamp", "bicycle", "chair", "backpack", "kettle"])
    q = f"A {item} costs {price} dollars. It is on sale for {off}% off. What is the sale price in dollars?"
    return q, price * (100 - off) // 100, f"price = {price}\ndiscount = {off}\nprint(price * (100 - discount) // 100)"


def conversion(rng: random.Random) -> tuple[str, int, str]:
    kind = rng.randrange(3)
    if kind == 0:
        h, m = rng.randint(1, 9), rng.choice(range(5, 60, 5))
        return (
            f"A film lasts {h} hours and {m} minutes. How many minutes long is it?",
            h * 60 + m,
            f"hours = {h}\nminutes = {m}\nprint(hours * 60 + minutes)",
        )
    if kind == 1:
        km, m = rng.randint(1, 20), rng.choice(range(50, 1000, 50))
        return (
            f"{rng.choice(NAMES)} walked {km} kilometers and {m} meters. How many meters is that in total?",
            km * 1000 + m,
            f"kilometers = {km}\nmeters = {m}\nprint(kilometers * 1000 + meters)",
        )
    kg, g = rng.randint(1, 9), rng.choice(range(100, 1000, 100))
    return (
        f"A bag of flour weighs {kg} kilograms and {g} grams. How many grams does it weigh?",
        kg * 1000 + g,
        f"kilograms = {kg}\ngrams = {g}\nprint(kilograms * 1000 + grams)",
    )


def average(rng: random.Random) -> tuple[str, int, str]:
    n = rng.randint(3, 5)
    mean = rng.randint(5, 40)
    values = [mean + d for d in rng.sample(range(-4, 5), n - 1)]
    values.append(mean * n - sum(values))
    rng.shuffle(values)
    listed = ", ".join(map(str, values[:-1])) + f" and {values[-1]}"
    q = f"{rng.choice(NAMES)} scored {listed} points in {n} games. What was the average score per game?"
    return q, mean, f"scores = [{', '.join(map(str, values))}]\nprint(sum(scores) // len(scores))"


def age(rng: random.Random) -> tuple[str, int, str]:
    child, times, years = rng.randint(3, 15), rng.randint(2, 4), rng.randint(2, 10)
    a, b = rng.sample(NAMES, 2)
    q = f"{a} is {child} years old. {b} is {times} times as old as {a}. How old will {b} be in {years} years?"
    return q, child * times + years, f"age = {child}\nother = age * {times}\nprint(other + {years})"


FAMILIES = [remainder, percentage, conversion, average, age]


def draw(rng: random.Random) -> dict:
    family = rng.choice(FAMILIES)
    question, answer, solution = family(rng)
    return {"question": question, "answer": str(answer), "solution": solution, "kind": family.__name__}


def main() -> None:
    pool = distinct(1300 + 50 + 20, seed=2026, draw=draw, key="question")  # one pool, so no question is in two files
    train, validation, test, unlabeled, reserve = split(pool, 800, 200, 300, 50)
    kinds = ["remainder", "percentage", "conversion"]  # examples of three kinds; the model must generalise to the rest
    write_files(HERE, train, validation, test, one_of_each(reserve, kinds), test_columns=["question", "answer", "kind"])
    write_jsonl(HERE / "unlabeled.jsonl", [{"question": r["question"]} for r in unlabeled])


if __name__ == "__main__":
    main()
