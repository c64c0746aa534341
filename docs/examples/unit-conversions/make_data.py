"""Writes the data files of the example task `unit-conversions.yaml` (kept in the repository;
run again only to change them): a quantity to convert into another unit (kilometers and
miles, kilograms and pounds, hours and minutes, Celsius and Fahrenheit, liters and
milliliters, and a few more), the fact that links the two units, and how to round the
result; the output is a Python program that prints the converted number.

    python docs/examples/unit-conversions/make_data.py

Each record has `question` (the whole request in one sentence), the fields the task's prompt
lays out (`amount`, `unit`, `target`, `fact`, `rounding`), `answer`, `solution` and `kind`
(test.jsonl adds an `id`); train.jsonl holds 2000 records, validation.jsonl and test.jsonl
300 each, and shots.jsonl three solved examples. No question is in two files. An answer is
never within 0.001 of a rounding tie, so any correct way of rounding prints it.
"""

from __future__ import annotations

import random
from pathlib import Path

from correct.tasks.make import distinct, split, write_files

HERE = Path(__file__).parent

# (unit, target, fact, op, number): target = amount op number. Each pair is listed both ways.
LINEAR = [
    ("kilometers", "miles", "1 mile = 1.609 kilometers", "/", 1.609),
    ("miles", "kilometers", "1 mile = 1.609 kilometers", "*", 1.609),
    ("kilograms", "pounds", "1 kilogram = 2.205 pounds", "*", 2.205),
    ("pounds", "kilograms", "1 kilogram = 2.205 pounds", "/", 2.205),
    ("hours", "minutes", "1 hour = 60 minutes", "*", 60),
    ("minutes", "hours", "1 hour = 60 minutes", "/", 60),
    ("liters", "milliliters", "1 liter = 1000 milliliters", "*", 1000),
    ("milliliters", "liters", "1 liter = 1000 milliliters", "/", 1000),
    ("inches", "centimeters", "1 inch = 2.54 centimeters", "*", 2.54),
    ("centimeters", "inches", "1 inch = 2.54 centimeters", "/", 2.54),
    ("meters", "feet", "1 meter = 3.281 feet", "*", 3.281),
    ("feet", "meters", "1 meter = 3.281 feet", "/", 3.281),
    ("days", "hours", "1 day = 24 hours", "*", 24),
    ("grams", "kilograms", "1 kilogram = 1000 grams", "/", 1000),
]
TEMPERATURE = [
    ("degrees Celsius", "degrees Fahrenheit", "F = C * 9 / 5 + 32"),
    ("degrees Fahrenheit", "degrees Celsius", "C = (F - 32) * 5 / 9"),
]
ROUNDINGS = {0: "to the nearest whole number", 1: "to 1 decimal place", 2: "to 2 decimal places"}
NAMES = {
    "kilometers": "km",
    "miles": "miles",
    "kilograms": "kg",
    "pounds": "pounds",
    "hours": "hours",
    "minutes": "minutes",
    "liters": "liters",
    "milliliters": "ml",
    "inches": "inches",
    "centimeters": "cm",
    "meters": "meters",
    "feet": "feet",
    "days": "days",
    "grams": "grams",
}


def amount_for(rng: random.Random, unit: str) -> int | float:
    if unit in ("milliliters", "grams"):
        return rng.choice([rng.randint(1, 40) * 50, rng.randint(100, 9999)])
    if unit == "minutes":
        return rng.randint(10, 600)
    if rng.random() < 0.3:
        return rng.randint(1, 199) / 10  # one decimal: 12.5 miles
    return rng.randint(1, 250)


def linear(rng: random.Random) -> dict | None:
    unit, target, fact, op, number = rng.choice(LINEAR)
    amount = amount_for(rng, unit)
    value = amount * number if op == "*" else amount / number
    digits = 2 if abs(value) < 1 else rng.choice(list(ROUNDINGS))  # never "0 kilograms"
    var, out = NAMES[unit], NAMES[target]
    solution = f"{var} = {amount}\n{out} = {var} {op} {number}\nprint({rounded(out, digits)})"
    return finish(amount, unit, target, fact, digits, value, solution, "linear")


def temperature(rng: random.Random) -> dict:
    unit, target, fact = rng.choice(TEMPERATURE)
    amount = rng.randint(-40, 110) if unit.endswith("Celsius") else rng.randint(-40, 230)
    digits = rng.choice([0, 1])
    if unit.endswith("Celsius"):
        value, solution = amount * 9 / 5 + 32, f"c = {amount}\nf = c * 9 / 5 + 32\nprint({rounded('f', digits)})"
    else:
        value, solution = (amount - 32) * 5 / 9, f"f = {amount}\nc = (f - 32) * 5 / 9\nprint({rounded('c', digits)})"
    return finish(amount, unit, target, fact, digits, value, solution, "temperature")


def rounded(name: str, digits: int) -> str:
    return f"round({name})" if digits == 0 else f"round({name}, {digits})"


def finish(amount, unit, target, fact, digits, value, solution, kind) -> dict | None:
    scaled = abs(value) * 10**digits
    if abs(scaled - int(scaled) - 0.5) < 0.001 * 10**digits:  # too near a tie: rounding methods could differ
        return None
    answer = round(value) if digits == 0 else round(value, digits)
    question = f"Convert {amount} {unit} to {target} ({fact}), rounded {ROUNDINGS[digits]}."
    return {
        "question": question,
        "amount": str(amount),
        "unit": unit,
        "target": target,
        "fact": fact,
        "rounding": ROUNDINGS[digits],
        "answer": str(answer),
        "solution": solution,
        "kind": kind,
    }


def draw(rng: random.Random) -> dict | None:
    """A linear conversion four times in five, else a temperature; None where the answer is too
    near a rounding tie."""
    return linear(rng) if rng.random() < 0.8 else temperature(rng)


def main() -> None:
    pool = distinct(2600 + 60, seed=2029, draw=draw, key="question")  # one pool, so no question is in two files
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    shots = [
        next(r for r in reserve if r["unit"] == "kilometers"),  # a factor to divide by, rounded
        next(r for r in reserve if r["unit"] == "hours" and r["rounding"] == ROUNDINGS[0]),
        next(r for r in reserve if r["unit"] == "degrees Celsius"),
    ]
    write_files(HERE, train, validation, test, shots)


if __name__ == "__main__":
    main()
