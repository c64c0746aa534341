"""Writes the data files of the example task `headline-rules.yaml` (kept in the repository; run
again only to change them): a line of news, two words the headline must use and two or three
rules of form, some of them rules the sentence-rules example never asks (every word
capitalized, a question, a number in digits, a word to avoid):

    News: Harbor City beat Forest Rovers 3 to 1 in Leeds on Sunday.
    Words: Leeds, Rovers
    Rules: capitalize every word; do not use the word "win"
    Headline: Harbor City Beat Forest Rovers 3-1 In Leeds

    python docs/examples/headline-rules/make_data.py

Each record has `news` (the task's question), `words`, `rules` (as the prompt shows them),
`checks` (what the built-in `rules` value checks), `solution` (with a leading space) and
`kind` (the news's kind); test.jsonl adds an `id`. train.jsonl holds 2000 records,
validation.jsonl and test.jsonl 300 each, shots.jsonl three solved examples (events, sport and
weather; business news is left for the model). No line of news is in two files.
"""

from __future__ import annotations

import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent

CITIES = ["Leeds", "Lyon", "Graz", "Porto", "Bergen", "Turin", "Cork", "Austin", "Kyoto", "Malmo", "Quebec"]
EVENTS = ["book fair", "jazz festival", "food market", "flower show", "film festival", "chess tournament"]
TEAMS = ["Harbor City", "Forest Rovers", "Northside", "Red Lions", "Valley United", "Old Town", "Blue Falcons"]
COMPANIES = ["Norla", "Vexo", "Kanto", "Brightfield", "Polaris", "Tessel", "Quillon"]
SHOPS = ["bakeries", "bookshops", "cafes", "bike shops", "pharmacies"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
AVOID = ["amazing", "new", "record", "big", "today", "huge", "win", "crowds", "shock"]

RULES = {
    "title_case": "capitalize every word",
    "lowercase": "use no capital letters",
    "max_words": "use at most {} words",
    "first_word": 'begin with the word "{}"',
    "last_word": 'end with the word "{}"',
    "quoted": "wrap the headline in double quotes",
    "question": "make it a question",
    "exclaim": "end with an exclamation mark",
    "has_number": "include a number in digits",
    "avoid_word": 'do not use the word "{}"',
}
APART = [{"title_case", "lowercase"}, {"question", "exclaim"}, {"first_word", "last_word"}]


def news(rng: random.Random) -> tuple[str, str, list[str], str, str]:
    """(kind, the news, two words to use, a headline, the headline as a question)."""
    kind, city, day = rng.choice(["event", "sport", "weather", "business"]), rng.choice(CITIES), rng.choice(DAYS)
    if kind == "event":
        event, n = rng.choice(EVENTS), rng.randint(3, 90) * 100
        text = f"The {event} in {city} drew {n} visitors on {day}, its organisers said."
        return (
            kind,
            text,
            [city, event.split()[-1]],
            f"{city} {event} draws {n} visitors",
            f"Can {city} {event} top {n}?",
        )
    if kind == "sport":
        home, away = rng.sample(TEAMS, 2)
        a, b = rng.randint(1, 5), rng.randint(0, 3)
        a, b = max(a, b + 1), min(a, b)
        text = f"{home} beat {away} {a} to {b} in {city} on {day}."
        words = [city, away.split()[-1]]
        return kind, text, words, f"{home} beat {away} {a}-{b} in {city}", f"Can {away} recover after {a}-{b} loss?"
    if kind == "weather":
        n = rng.randint(20, 140)
        text = f"A storm dropped {n} millimetres of rain on {city} on {day}, the weather office said."
        return kind, text, [city, "storm"], f"Storm brings {n} mm of rain to {city}", f"Will {city} see more rain?"
    company, shop, n = rng.choice(COMPANIES), rng.choice(SHOPS), rng.randint(2, 12)
    text = f"{company} said on {day} that it will open {n} {shop} in {city} next year."
    return kind, text, [company, city], f"{company} to open {n} {shop} in {city}", f"Will {city} want {n} more {shop}?"


def make_record(rng: random.Random) -> dict | None:
    kind, text, words, headline, question = news(rng)
    rules = rng.sample(list(RULES), rng.choice([2, 2, 3]))
    if any(pair <= set(rules) for pair in APART):
        return None
    if "question" in rules:
        headline = question
    if not any(c.isdigit() for c in headline) and "has_number" in rules:
        return None
    if "title_case" in rules:
        headline = " ".join(w[0].upper() + w[1:] for w in headline.split())
    if "lowercase" in rules:
        headline = headline.lower()
    if "exclaim" in rules:
        headline += "!"
    if "quoted" in rules:
        headline = f'"{headline}"'
    said = headline.strip('"').rstrip("!?").split()
    if not all(w.lower() in headline.lower() for w in words):
        return None  # a question that leaves out a word the headline must use
    avoid = rng.choice([w for w in AVOID if w not in headline.lower().split()])
    argument = {"first_word": said[0], "last_word": said[-1], "max_words": len(said) + rng.randint(0, 3)}
    argument["avoid_word"] = avoid
    checks = [[rule, argument.get(rule)] for rule in rules]
    return {
        "news": text,
        "words": ", ".join(words),
        "rules": "; ".join(RULES[rule].format(arg) for rule, arg in checks),
        "checks": checks,
        "solution": " " + headline,
        "kind": kind,
    }


def main() -> None:
    pool = distinct(2600 + 40, seed=2141, draw=make_record, key="news")
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    write_files(HERE, train, validation, test, one_of_each(reserve, ["event", "sport", "weather"]))


if __name__ == "__main__":
    main()
