"""Writes the data files of the example task `constrained-sentences.yaml` (kept in the
repository; run again only to change them): three to five words in their base forms, in
shuffled order, and one sentence to write that uses them all, inflected as needed (a small
cousin of CommonGen). The vocabulary is not the built-in `concepts` task's (children and
animals at play): these are scenes of a town's working day, people by trade (sometimes with
an adjective or an adverb) using their things in a place, at a time of day or in some
weather, in one of five tenses:

    The tired nurse has poured two cups of tea in the kitchen.
    The bakers carefully wrapped three muffins at the market while it was raining.

    python docs/examples/constrained-sentences/make_data.py

Each record has `concepts` (the words, joined by ", "; the task's question and what the
`constraints` value checks), `solution` (a reference sentence using them all, with a leading
space, as it follows "Sentence:") and `kind` (the tense; test.jsonl adds an `id`).
train.jsonl holds 2000 records, validation.jsonl and test.jsonl 300 each, shots.jsonl three
solved examples. No set of concepts is in two files, in any order.
"""

from __future__ import annotations

import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent

# Subjects: singular -> plural.
PEOPLE = {
    "nurse": "nurses",
    "pilot": "pilots",
    "baker": "bakers",
    "musician": "musicians",
    "doctor": "doctors",
    "painter": "painters",
    "tourist": "tourists",
    "grandmother": "grandmothers",
    "neighbor": "neighbors",
    "gardener": "gardeners",
    "waiter": "waiters",
    "driver": "drivers",
    "scientist": "scientists",
    "fisherman": "fishermen",
    "sailor": "sailors",
    "writer": "writers",
    "mechanic": "mechanics",
    "librarian": "librarians",
    "photographer": "photographers",
    "postman": "postmen",
}
ADJECTIVES = ["old", "young", "tired", "busy", "cheerful", "nervous", "hungry", "careful", "proud", "sleepy", "brave"]
ADVERBS = ["quietly", "quickly", "carefully", "slowly", "happily", "patiently", "proudly"]

# Verbs: base -> (third person singular, past, past participle, -ing form).
VERBS = {
    "play": ("plays", "played", "played", "playing"),
    "plant": ("plants", "planted", "planted", "planting"),
    "pour": ("pours", "poured", "poured", "pouring"),
    "fix": ("fixes", "fixed", "fixed", "fixing"),
    "wear": ("wears", "wore", "worn", "wearing"),
    "pack": ("packs", "packed", "packed", "packing"),
    "bake": ("bakes", "baked", "baked", "baking"),
    "sweep": ("sweeps", "swept", "swept", "sweeping"),
    "fold": ("folds", "folded", "folded", "folding"),
    "light": ("lights", "lit", "lit", "lighting"),
    "pick": ("picks", "picked", "picked", "picking"),
    "send": ("sends", "sent", "sent", "sending"),
    "read": ("reads", "read", "read", "reading"),
    "climb": ("climbs", "climbed", "climbed", "climbing"),
    "push": ("pushes", "pushed", "pushed", "pushing"),
    "feed": ("feeds", "fed", "fed", "feeding"),
    "lose": ("loses", "lost", "lost", "losing"),
    "carry": ("carries", "carried", "carried", "carrying"),
    "drink": ("drinks", "drank", "drunk", "drinking"),
    "paint": ("paints", "painted", "painted", "painting"),
    "drive": ("drives", "drove", "driven", "driving"),
    "open": ("opens", "opened", "opened", "opening"),
    "wrap": ("wraps", "wrapped", "wrapped", "wrapping"),
    "cut": ("cuts", "cut", "cut", "cutting"),
    "sell": ("sells", "sold", "sold", "selling"),
    "borrow": ("borrows", "borrowed", "borrowed", "borrowing"),
    "hang": ("hangs", "hung", "hung", "hanging"),
    "knit": ("knits", "knitted", "knitted", "knitting"),
    "write": ("writes", "wrote", "written", "writing"),
    "study": ("studies", "studied", "studied", "studying"),
    "wait": ("waits", "waited", "waited", "waiting"),
    "laugh": ("laughs", "laughed", "laughed", "laughing"),
    "dance": ("dances", "danced", "danced", "dancing"),
    "sleep": ("sleeps", "slept", "slept", "sleeping"),
    "rest": ("rests", "rested", "rested", "resting"),
    "sing": ("sings", "sang", "sung", "singing"),
    "whistle": ("whistles", "whistled", "whistled", "whistling"),
    "sit": ("sits", "sat", "sat", "sitting"),
    "stand": ("stands", "stood", "stood", "standing"),
    "shout": ("shouts", "shouted", "shouted", "shouting"),
}
# Objects: singular -> plural, or None for a mass noun ("some tea"); a measure for a drink.
OBJECTS = {
    "guitar": "guitars",
    "piano": "pianos",
    "violin": "violins",
    "drum": "drums",
    "flower": "flowers",
    "tree": "trees",
    "seed": "seeds",
    "tomato": "tomatoes",
    "tea": None,
    "coffee": None,
    "milk": None,
    "juice": None,
    "soup": None,
    "clock": "clocks",
    "lamp": "lamps",
    "radio": "radios",
    "bicycle": "bicycles",
    "hat": "hats",
    "coat": "coats",
    "scarf": "scarves",
    "helmet": "helmets",
    "suitcase": "suitcases",
    "lunch": "lunches",
    "backpack": "backpacks",
    "pie": "pies",
    "muffin": "muffins",
    "bread": None,
    "floor": "floors",
    "path": "paths",
    "shirt": "shirts",
    "towel": "towels",
    "blanket": "blankets",
    "napkin": "napkins",
    "candle": "candles",
    "lantern": "lanterns",
    "berry": "berries",
    "mushroom": "mushrooms",
    "message": "messages",
    "letter": "letters",
    "postcard": "postcards",
    "package": "packages",
    "newspaper": "newspapers",
    "poem": "poems",
    "menu": "menus",
    "recipe": "recipes",
    "ladder": "ladders",
    "tower": "towers",
    "cart": "carts",
    "stroller": "strollers",
    "pigeon": "pigeons",
    "goat": "goats",
    "rabbit": "rabbits",
    "parrot": "parrots",
    "umbrella": "umbrellas",
    "wallet": "wallets",
    "glove": "gloves",
    "ticket": "tickets",
    "tray": "trays",
    "bucket": "buckets",
    "fence": "fences",
    "bench": "benches",
    "portrait": "portraits",
    "truck": "trucks",
    "taxi": "taxis",
    "tractor": "tractors",
    "window": "windows",
    "gate": "gates",
    "jar": "jars",
    "gift": "gifts",
    "sandwich": "sandwiches",
    "cake": "cakes",
    "rope": "ropes",
    "ribbon": "ribbons",
    "picture": "pictures",
    "sweater": "sweaters",
    "sock": "socks",
    "song": "songs",
    "map": "maps",
}
CUPS = {"tea": "cup", "coffee": "cup", "milk": "glass", "juice": "glass", "soup": "bowl"}
TRANSITIVE = {
    "play": ["guitar", "piano", "violin", "drum"],
    "plant": ["flower", "tree", "seed", "tomato"],
    "pour": ["tea", "coffee", "milk", "juice", "soup"],
    "fix": ["clock", "lamp", "radio", "bicycle", "fence"],
    "wear": ["hat", "coat", "scarf", "helmet", "glove"],
    "pack": ["suitcase", "lunch", "backpack"],
    "bake": ["pie", "muffin", "bread", "cake"],
    "sweep": ["floor", "path"],
    "fold": ["shirt", "towel", "blanket", "napkin", "map"],
    "light": ["candle", "lantern"],
    "pick": ["berry", "flower", "mushroom", "tomato"],
    "send": ["message", "letter", "postcard", "package"],
    "read": ["newspaper", "poem", "menu", "recipe", "letter", "map"],
    "climb": ["ladder", "tower", "fence"],
    "push": ["cart", "stroller", "bicycle"],
    "feed": ["pigeon", "goat", "rabbit", "parrot"],
    "lose": ["umbrella", "wallet", "glove", "ticket", "map"],
    "carry": ["tray", "bucket", "suitcase", "ladder"],
    "drink": ["tea", "coffee", "milk", "juice"],
    "paint": ["fence", "bench", "portrait", "gate"],
    "drive": ["truck", "taxi", "tractor"],
    "open": ["window", "gate", "jar", "umbrella", "package"],
    "wrap": ["gift", "sandwich", "package", "muffin"],
    "cut": ["cake", "rope", "ribbon", "bread"],
    "sell": ["ticket", "flower", "newspaper", "muffin"],
    "borrow": ["ladder", "umbrella", "bicycle", "map"],
    "hang": ["picture", "coat", "lamp", "lantern"],
    "knit": ["scarf", "sweater", "sock", "blanket"],
    "write": ["letter", "poem", "song", "postcard", "recipe"],
    "study": ["map", "recipe", "menu"],
}
INTRANSITIVE = ["wait", "laugh", "dance", "sleep", "rest", "sing", "whistle", "sit", "stand", "shout"]
PLACES = {
    "station": "at",
    "airport": "at",
    "kitchen": "in",
    "garden": "in",
    "office": "in",
    "museum": "in",
    "harbor": "at",
    "bakery": "in",
    "hospital": "at",
    "balcony": "on",
    "classroom": "in",
    "stadium": "at",
    "theater": "at",
    "cafe": "in",
    "bridge": "on",
    "porch": "on",
    "market": "at",
    "beach": "on",
    "library": "in",
    "village": "in",
    "forest": "in",
}
OUTSIDE = ["harbor", "airport", "station", "market", "village", "beach", "bridge"]
# Where some verbs happen (default: anywhere but the forest).
VERB_PLACES = {
    "drive": OUTSIDE,
    "push": OUTSIDE,
    "plant": ["garden", "balcony", "porch", "village", "forest"],
    "pick": ["garden", "forest", "market", "village"],
    "bake": ["kitchen", "bakery", "cafe"],
    "feed": ["garden", "harbor", "village", "beach", "porch", "market", "forest"],
    "climb": ["garden", "harbor", "village", "library", "museum", "station"],
    "sweep": ["kitchen", "bakery", "cafe", "classroom", "porch", "office", "station", "library"],
}
TIMES = {
    "morning": "in the morning",
    "evening": "in the evening",
    "night": "at night",
    "noon": "at noon",
    "lunch": "after lunch",
    "dinner": "before dinner",
    "weekend": "on the weekend",
}
WEATHER = {
    "rain": {
        "past": "while it was raining",
        "present": "when it rains",
        "progressive": "while it is raining",
        "perfect": "although it has rained",
        "future": "if it rains",
    },
    "snow": {
        "past": "while it was snowing",
        "present": "when it snows",
        "progressive": "while it is snowing",
        "perfect": "although it has snowed",
        "future": "if it snows",
    },
}
TENSES = ["past", "present", "progressive", "perfect", "future"]


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def subject_phrase(rng: random.Random, person: str, adjective: str | None) -> tuple[str, bool]:
    plural = rng.random() < 0.35
    noun = PEOPLE[person] if plural else person
    det = rng.choice(["the", "two", "some"]) if plural else rng.choice(["the", article(adjective or person)])
    return " ".join(w for w in (det, adjective, noun) if w), plural


def object_phrase(rng: random.Random, obj: str) -> str:
    if OBJECTS[obj] is None:
        if obj in CUPS and rng.random() < 0.5:
            n = rng.choice(["a", "two", "three"])
            return f"{n} {CUPS[obj]}{'' if n == 'a' else ('es' if CUPS[obj] == 'glass' else 's')} of {obj}"
        return f"{rng.choice(['some', 'the'])} {obj}"
    if rng.random() < 0.4:
        return f"{rng.choice(['two', 'three', 'some', 'the'])} {OBJECTS[obj]}"
    return f"{rng.choice(['the', article(obj)])} {obj}"


def verb_phrase(verb: str, tense: str, plural: bool, adverb: str | None) -> list[str]:
    third, past, participle, ing = VERBS[verb]
    words = {
        "past": [past],
        "present": [verb if plural else third],
        "future": ["will", verb],
        "progressive": ["are" if plural else "is", ing],
        "perfect": ["have" if plural else "has", participle],
    }[tense]
    return words[:-1] + [adverb] + words[-1:] if adverb else words


def make_record(rng: random.Random, least: int = 3) -> dict | None:
    """One sentence and ``least`` to five of the concepts (base forms) it uses: {"concepts",
    "sentence", "tense"}; None where the sentence has fewer than ``least``."""
    verb = rng.choice(sorted(TRANSITIVE) + INTRANSITIVE)
    tense, person = rng.choice(TENSES), rng.choice(sorted(PEOPLE))
    adjective = rng.choice(ADJECTIVES) if rng.random() < 0.5 else None
    adverb = rng.choice(ADVERBS) if rng.random() < 0.35 else None
    subject, plural = subject_phrase(rng, person, adjective)
    words, content = [subject, *verb_phrase(verb, tense, plural, adverb)], [person, verb]
    content += [w for w in (adjective, adverb) if w]
    if verb in TRANSITIVE:
        obj = rng.choice(TRANSITIVE[verb])
        words.append(object_phrase(rng, obj))
        content.append(obj)
    if verb not in TRANSITIVE or rng.random() < 0.75:
        place = rng.choice(VERB_PLACES.get(verb) or sorted(set(PLACES) - {"forest"}))
        words.append(f"{PLACES[place]} the {place}")
        content.append(place)
    extra = rng.random()
    if extra < 0.3:
        time = rng.choice(sorted(TIMES))
        if rng.random() < 0.5:
            words.insert(0, TIMES[time][0].upper() + TIMES[time][1:] + ",")
        else:
            words.append(TIMES[time])
        content.append(time)
    elif extra < 0.5:
        weather = rng.choice(sorted(WEATHER))
        words.append(WEATHER[weather][tense])
        content.append(weather)
    sentence = " ".join(words)
    others = [c for c in content if c != verb]
    if len(others) < least - 1:
        return None
    concepts = [verb] + rng.sample(others, rng.randint(least - 1, min(4, len(others))))
    rng.shuffle(concepts)
    return {"concepts": concepts, "sentence": sentence[0].upper() + sentence[1:] + ".", "tense": tense}


def write(folder: Path, seed: int, least: int = 3) -> None:
    """The task's data files in ``folder``: records of ``least`` to five concepts."""
    # one pool, so no concept set is in two files, in any order
    draw = lambda rng: make_record(rng, least)  # noqa: E731
    pool = distinct(2600 + 30, seed=seed, draw=draw, key=lambda r: frozenset(r["concepts"]))
    pool = [{"concepts": ", ".join(r["concepts"]), "solution": " " + r["sentence"], "kind": r["tense"]} for r in pool]
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    kinds = ["past", "progressive", "perfect"]  # three tenses; the model must find the others
    write_files(folder, train, validation, test, one_of_each(reserve, kinds))


def main() -> None:
    write(HERE, seed=2031)


if __name__ == "__main__":
    main()
