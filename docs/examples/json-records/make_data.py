"""Writes the data files of the example task `json-records.yaml` (kept in the repository; run
again only to change them): a short text about a person, a book, a product, a flight or an
event, the keys to fill (some of what the text says, in another order, each with its type),
and the JSON object to write:

    Text: Ana Costa, a 41-year-old pilot from Porto, speaks French and Greek.
    Keys: city (text), languages (list of text), age (number)
    JSON: {"city": "Porto", "languages": ["French", "Greek"], "age": 41}

    python docs/examples/json-records/make_data.py

Each record has `text`, `keys` (the keys as the prompt shows them), `schema` (key -> "text",
"number" or "list of text"), `fields` (the reference object), `solution` (its JSON, with a
leading space, as it follows "JSON:") and `kind`; test.jsonl adds an `id`. train.jsonl holds
2000 records, validation.jsonl and test.jsonl 300 each, shots.jsonl three solved examples (a
person, a book and a product; flights and events are left for the model to work out). No
text is in two files.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent

FIRST = ["Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Liam"]
FIRST += ["Maya", "Nikos", "Olga", "Pablo", "Rosa", "Samir", "Tara", "Viktor", "Wen", "Yusuf", "Zoe", "Omar"]
LAST = ["Costa", "Meyer", "Okafor", "Novak", "Silva", "Tanaka", "Haddad", "Larsen", "Moreau", "Rossi", "Kowalski"]
LAST += ["Nguyen", "Ibrahim", "Jensen", "Petrov", "Alvarez", "Brennan", "Duarte", "Fischer", "Hughes", "Ito"]
CITIES = ["Porto", "Lyon", "Leeds", "Kyoto", "Austin", "Graz", "Malmo", "Cork", "Bergen", "Turin", "Quebec"]
CITIES += ["Perth", "Dakar", "Lima", "Seville", "Gdansk", "Utrecht", "Tampere", "Valencia", "Bologna"]
JOBS = ["pilot", "nurse", "baker", "teacher", "chemist", "plumber", "architect", "farmer", "librarian", "chef"]
JOBS += ["dentist", "journalist", "carpenter", "lawyer", "gardener", "pharmacist"]
LANGUAGES = ["French", "Greek", "Spanish", "German", "Hindi", "Polish", "Arabic", "Swahili", "Dutch", "Korean"]
LANGUAGES += ["Italian", "Turkish", "Portuguese", "Japanese", "Finnish"]
TITLE_A = ["The Silent", "A Distant", "The Last", "Under the", "The Paper", "Beyond the", "The Quiet", "A Winter"]
TITLE_A += ["The Hidden", "Salt and", "The Glass", "Night of the"]
TITLE_B = ["Harbor", "Orchard", "Lantern", "Garden", "River", "Mountain", "Island", "Station", "Kitchen", "Tide"]
TITLE_B += ["Clockmaker", "Forest"]
GENRES = ["mystery", "history", "poetry", "science fiction", "cookbook", "biography", "travel guide", "fantasy"]
BRANDS = ["Norla", "Vexo", "Kanto", "Brightfield", "Polaris", "Umbra", "Tessel", "Quillon", "Maroc", "Fennix"]
PRODUCTS = ["backpack", "kettle", "desk lamp", "rain jacket", "blender", "headphones", "office chair", "tent"]
PRODUCTS += ["water bottle", "toaster", "bicycle helmet", "suitcase"]
COLORS = ["red", "blue", "green", "black", "white", "grey", "yellow", "orange", "purple", "navy", "teal", "beige"]
AIRLINES = ["AZ", "KL", "TP", "LH", "IB", "SK", "AY", "OS", "EI", "LO"]
EVENTS = ["book fair", "jazz festival", "food market", "chess tournament", "film festival", "flower show"]
EVENTS += ["science fair", "marathon", "wine fair", "craft fair"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
MONTHS += ["November", "December"]


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def person(rng: random.Random) -> tuple[str, dict, dict]:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    age, job, city = rng.randint(19, 78), rng.choice(JOBS), rng.choice(CITIES)
    langs = rng.sample(LANGUAGES, rng.randint(1, 3))
    text = rng.choice(
        [
            f"{name}, a {age}-year-old {job} from {city}, speaks {_and(langs)}.",
            f"{name} is {age}, lives in {city} and works as {_a(job)}; {_and(langs)} are the languages spoken.",
            f"Born in {city}, {name} ({age}) is {_a(job)} who speaks {_and(langs)}.",
        ]
    )
    if len(langs) == 1:
        text = text.replace(" are the languages spoken", " is the language spoken")
    fields = {"name": name, "age": age, "job": job, "city": city, "languages": langs}
    types = {"name": "text", "age": "number", "job": "text", "city": "text", "languages": "list of text"}
    return text, fields, types


def book(rng: random.Random) -> tuple[str, dict, dict]:
    title = f"{rng.choice(TITLE_A)} {rng.choice(TITLE_B)}"
    author = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    year, pages, genre = rng.randint(1952, 2024), rng.randint(90, 880), rng.choice(GENRES)
    text = rng.choice(
        [
            f'"{title}", {_a(genre)} book by {author}, came out in {year} and runs to {pages} pages.',
            f"{author} wrote {title}, {_a(genre)} book of {pages} pages first published in {year}.",
            f"Published in {year}, the {pages}-page {genre} book {title} is by {author}.",
        ]
    )
    fields = {"title": title, "author": author, "year": year, "pages": pages, "genre": genre}
    types = {"title": "text", "author": "text", "year": "number", "pages": "number", "genre": "text"}
    return text, fields, types


def product(rng: random.Random) -> tuple[str, dict, dict]:
    brand, item = rng.choice(BRANDS), rng.choice(PRODUCTS)
    price = rng.choice([rng.randint(9, 400), round(rng.randint(900, 40000) / 100, 2)])
    colors = rng.sample(COLORS, rng.randint(1, 3))
    weight = rng.randint(2, 60) * 100
    text = rng.choice(
        [
            f"The {brand} {item} costs {price} dollars, weighs {weight} grams and comes in {_and(colors)}.",
            f"In {_and(colors)}, the {item} by {brand} sells for {price} dollars and weighs {weight} grams.",
            f"{brand}'s {item} ({weight} grams) is sold in {_and(colors)} at {price} dollars.",
        ]
    )
    fields = {"brand": brand, "product": item, "price": price, "grams": weight, "colors": colors}
    types = {"brand": "text", "product": "text", "price": "number", "grams": "number", "colors": "list of text"}
    return text, fields, types


def flight(rng: random.Random) -> tuple[str, dict, dict]:
    code = f"{rng.choice(AIRLINES)}{rng.randint(100, 999)}"
    origin, destination = rng.sample(CITIES, 2)
    departs = f"{rng.randint(5, 22):02d}:{rng.choice(['00', '15', '30', '45', '10', '50'])}"
    hours = rng.randint(1, 13)
    text = rng.choice(
        [
            f"Flight {code} leaves {origin} at {departs} and lands in {destination} {hours} hours later.",
            f"From {origin}, flight {code} departs at {departs} for {destination}, a trip of {hours} hours.",
            f"The {hours}-hour flight {code} to {destination} takes off from {origin} at {departs}.",
        ]
    )
    fields = {"flight": code, "from": origin, "to": destination, "departs": departs, "hours": hours}
    types = {"flight": "text", "from": "text", "to": "text", "departs": "text", "hours": "number"}
    return text, fields, types


def event(rng: random.Random) -> tuple[str, dict, dict]:
    name, city, day = rng.choice(EVENTS), rng.choice(CITIES), rng.choice(DAYS)
    month, visitors, stalls = rng.choice(MONTHS), rng.randint(2, 90) * 100, rng.randint(8, 240)
    text = rng.choice(
        [
            f"The {name} in {city} opened on a {day} in {month}, with {stalls} stalls and {visitors} visitors.",
            f"{visitors} visitors came to the {city} {name}, held over {stalls} stalls one {day} in {month}.",
            f"In {month}, {city} held its {name} on a {day}: {stalls} stalls drew {visitors} visitors.",
        ]
    )
    fields = {"event": name, "city": city, "day": day, "month": month, "visitors": visitors, "stalls": stalls}
    types = {"event": "text", "city": "text", "day": "text", "month": "text", "visitors": "number", "stalls": "number"}
    return text, fields, types


KINDS = {"person": person, "book": book, "product": product, "flight": flight, "event": event}


def make_record(rng: random.Random) -> dict:
    kind = rng.choice(list(KINDS))
    text, fields, types = KINDS[kind](rng)
    keys = rng.sample(list(fields), rng.randint(2, min(4, len(fields))))  # some of them, in another order
    schema = {k: types[k] for k in keys}
    wanted = {k: fields[k] for k in keys}
    return {
        "text": text,
        "keys": ", ".join(f"{k} ({t})" for k, t in schema.items()),
        "schema": schema,
        "fields": wanted,
        "solution": " " + json.dumps(wanted),
        "kind": kind,
    }


def main() -> None:
    pool = distinct(2600 + 40, seed=2077, draw=make_record, key="text")
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    write_files(HERE, train, validation, test, one_of_each(reserve, ["person", "book", "product"]))


if __name__ == "__main__":
    main()
