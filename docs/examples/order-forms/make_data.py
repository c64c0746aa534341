"""Writes the data files of the example task `order-forms.yaml` (kept in the repository; run
again only to change them): a customer's message to a shop and the order's fields to fill as
one JSON object, with whole numbers, yes-or-no answers and lists of numbers among them:

    Message: Hello, Rosa Ito here. Could I get 2 pairs of hiking boots in sizes 38 and 41? Send
    them to 7 Mill Lane by Tuesday, express please. I paid 96.5 dollars.
    Keys: express (true or false), sizes (list of numbers), customer (text)
    JSON: {"express": true, "sizes": [38, 41], "customer": "Rosa Ito"}

    python docs/examples/order-forms/make_data.py

Each record has `message` (where the `json` value looks for the values: `source=message`),
`keys`, `schema`, `fields`, `solution` and `kind` (the shop), as json-records' records do;
test.jsonl adds an `id`. train.jsonl holds 2000 records, validation.jsonl and test.jsonl
300 each, shots.jsonl three solved examples. No message is in two files.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent

FIRST = ["Rosa", "Omar", "Lena", "Tomas", "Aiko", "Priya", "Felix", "Nadia", "Jorge", "Hana", "Ivan", "Clara"]
LAST = ["Ito", "Berg", "Mendes", "Walsh", "Sato", "Kaur", "Horvat", "Lindqvist", "Ortega", "Dubois", "Nowak"]
STREETS = ["Mill Lane", "Oak Road", "Harbour Street", "Church Walk", "Station Road", "Elm Court", "Bridge Street"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
SHOPS = {
    "shoes": (["hiking boots", "running shoes", "sandals", "rain boots"], "pairs of", "sizes"),
    "clothes": (["wool jumpers", "linen shirts", "rain jackets", "cotton dresses"], "", "sizes"),
    "garden": (["tomato plants", "clay pots", "rose bushes", "seed trays"], "", None),
    "books": (["notebooks", "atlases", "cookbooks", "sketchbooks"], "", None),
}
SIZES = {"shoes": list(range(35, 47)), "clothes": [36, 38, 40, 42, 44, 46]}


def make_record(rng: random.Random) -> dict:
    shop = rng.choice(sorted(SHOPS))
    items, unit, sized = SHOPS[shop]
    name, item = f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(items)
    quantity = rng.randint(2, 4) if sized else rng.randint(2, 12)
    street, day = f"{rng.randint(2, 98)} {rng.choice(STREETS)}", rng.choice(DAYS)
    express, paid = rng.random() < 0.5, round(rng.randint(800, 30000) / 100, 1)
    sizes = sorted(rng.sample(SIZES[shop], 2)) if sized else None
    what = f"{quantity} {unit + ' ' if unit else ''}{item}" + (f" in sizes {sizes[0]} and {sizes[1]}" if sizes else "")
    hurry = (
        rng.choice(["express please", "and make it express"]) if express else rng.choice(["no rush", "by normal post"])
    )
    opener = rng.choice([f"Hello, {name} here.", f"Hi, this is {name}.", f"Dear shop, {name} writing."])
    ask = rng.choice([f"Could I get {what}?", f"I would like to order {what}.", f"Please put aside {what} for me."])
    send = rng.choice([f"Send them to {street} by {day}, {hurry}.", f"Deliver to {street} on {day}, {hurry}."])
    money = rng.choice([f"I paid {paid} dollars.", f"I have paid {paid} dollars already."])
    message = " ".join([opener, ask, send, money] if rng.random() < 0.5 else [opener, money, ask, send])
    fields = {"customer": name, "item": item, "quantity": quantity, "street": street, "day": day}
    fields.update(express=express, paid=paid)
    types = {"customer": "text", "item": "text", "quantity": "integer", "street": "text", "day": "text"}
    types.update(express="true or false", paid="number")
    if sizes:
        fields["sizes"], types["sizes"] = sizes, "list of numbers"
    keys = rng.sample(list(fields), rng.randint(2, 4))
    if sized and "sizes" not in keys and rng.random() < 0.6:
        keys[0] = "sizes"  # the list of numbers asked often where there is one
    schema = {k: types[k] for k in keys}
    wanted = {k: fields[k] for k in keys}
    return {
        "message": message,
        "keys": ", ".join(f"{k} ({t})" for k, t in schema.items()),
        "schema": schema,
        "fields": wanted,
        "solution": " " + json.dumps(wanted),
        "kind": shop,
    }


def main() -> None:
    pool = distinct(2600 + 40, seed=2129, draw=make_record, key="message")
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    write_files(HERE, train, validation, test, one_of_each(reserve, ["shoes", "garden", "books"]))


if __name__ == "__main__":
    main()
