"""Writes the data files of the example task `multi-step.yaml` (kept in the repository; run
again only to change them): everyday word problems that take two or three steps (change
after a purchase, the length of a span of clock time, rates over several batches, savings
towards a price, scaling a recipe, the cost of covering a floor), each with its answer and a
reference program. A small generator shown three solved examples rarely gets these right:
this is the hard task that the corrector benchmarks measure beside the word problems.

    python docs/examples/multi-step/make_data.py

train.jsonl and validation.jsonl use the columns `question`, `answer`, `solution`, `kind`;
test.csv has `id`, `question`, `answer`, `kind`; shots.jsonl holds three solved examples.
"""

from __future__ import annotations

import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files

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


def change(rng: random.Random) -> tuple[str, int, str]:
    (a, pa), (b, pb) = rng.sample(
        [("notebooks", 4), ("pens", 2), ("folders", 3), ("rulers", 1), ("markers", 5), ("erasers", 1)], 2
    )
    pa, pb = pa + rng.randint(0, 3), pb + rng.randint(0, 3)
    na, nb = rng.randint(2, 6), rng.randint(2, 6)
    paid = rng.choice([bill for bill in (20, 50, 100) if bill > na * pa + nb * pb])
    q = (
        f"{rng.choice(NAMES)} buys {na} {a} at {pa} dollars each and {nb} {b} at {pb} dollars each, "
        f"and pays with a {paid} dollar bill. How many dollars of change does she get?"
    )
    return q, paid - (na * pa + nb * pb), f"cost = {na} * {pa} + {nb} * {pb}\nprint({paid} - cost)"


def clock(rng: random.Random) -> tuple[str, int, str]:
    h1, m1 = rng.randint(7, 11), rng.choice(range(0, 60, 5))
    h2, m2 = h1 + rng.randint(1, 5), rng.choice(range(0, 60, 5))
    what = rng.choice(["class", "match", "meeting", "trip", "concert"])
    q = f"A {what} starts at {h1}:{m1:02d} and ends at {h2}:{m2:02d} the same day. How many minutes does it last?"
    return q, (h2 * 60 + m2) - (h1 * 60 + m1), f"start = {h1} * 60 + {m1}\nend = {h2} * 60 + {m2}\nprint(end - start)"


def batches(rng: random.Random) -> tuple[str, int, str]:
    rate = rng.choice([4, 5, 6, 8, 10, 12, 15])
    size = rate * rng.randint(2, 6)
    n = rng.randint(2, 7)
    q = (
        f"A printer prints {rate} pages per minute. "
        f"How many minutes does it take to print {n} reports of {size} pages each?"
    )
    return q, n * size // rate, f"pages = {n} * {size}\nprint(pages // {rate})"


def savings(rng: random.Random) -> tuple[str, int, str]:
    weekly, has = rng.choice([5, 10, 15, 20, 25]), rng.choice(range(10, 100, 10))
    price = has + weekly * rng.randint(3, 12) - rng.randint(0, weekly - 1)
    thing = rng.choice(["bike", "guitar", "game console", "tent", "camera"])
    q = (
        f"{rng.choice(NAMES)} has {has} dollars and saves {weekly} dollars every week. "
        f"How many weeks until she has enough for a {thing} that costs {price} dollars?"
    )
    return q, -(-(price - has) // weekly), f"need = {price} - {has}\nprint((need + {weekly} - 1) // {weekly})"


def recipe(rng: random.Random) -> tuple[str, int, str]:
    people = rng.choice([2, 3, 4, 5, 6])
    per = rng.choice([40, 50, 60, 75, 80, 100, 120])
    grams, more = per * people, rng.randint(2, 12)
    food = rng.choice(["rice", "flour", "pasta", "oats", "sugar"])
    q = (
        f"A recipe for {people} people uses {grams} grams of {food}. "
        f"How many grams of {food} are needed for {more} people?"
    )
    return q, per * more, f"per_person = {grams} // {people}\nprint(per_person * {more})"


def floor(rng: random.Random) -> tuple[str, int, str]:
    w, l, price = rng.randint(2, 9), rng.randint(2, 12), rng.choice([5, 8, 10, 12, 15, 20, 25])
    q = (
        f"A room is {w} meters wide and {l} meters long. "
        f"Tiles cost {price} dollars per square meter. How many dollars do the tiles cost?"
    )
    return q, w * l * price, f"area = {w} * {l}\nprint(area * {price})"


FAMILIES = [change, clock, batches, savings, recipe, floor]


def draw(rng: random.Random) -> dict:
    family = rng.choice(FAMILIES)
    question, answer, solution = family(rng)
    return {"question": question, "answer": str(answer), "solution": solution, "kind": family.__name__}


def main() -> None:
    pool = distinct(1300 + 20, seed=2027, draw=draw, key="question")  # one pool, so no question is in two files
    train, validation, test, reserve = split(pool, 800, 200, 300)
    kinds = ["change", "clock", "floor"]  # examples of three kinds; the model must generalise to the rest
    write_files(HERE, train, validation, test, one_of_each(reserve, kinds), test_columns=["question", "answer", "kind"])


if __name__ == "__main__":
    main()
