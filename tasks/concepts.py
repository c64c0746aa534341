"""The built-in `concepts` task: given three to five concepts, write one sentence that uses
them all (a small, procedural cousin of CommonGen).

Every record comes from a small grammar: a subject (a person or an animal, singular or
plural), a verb (with an object when it is transitive), a place and sometimes an adverb or a
time word, in one of four tenses::

    The dogs caught a frisbee in the park.
    Yesterday my friend quietly read two books in the library.
    The children are swimming in the lake.
    A wolf will chase the sheep on the farm tomorrow.

The concepts are content words of the reference sentence -- always its verb, and two to four
of its subject, object, place and adverb -- given **in their base form** and in shuffled
order, while the sentence inflects them ("dog, catch, frisbee" -> "The dogs caught a
frisbee"): a value that matched words literally would miss most of them, which is why the
``constraints`` value counts inflections.

The vocabulary is small (about 140 words) so that a tiny GPT-2 trained for a few minutes on
a couple of thousand of these learns to write fluent sentences of this grammar, yet often
drops or swaps a concept it was asked for (the concepts come shuffled, the verb must agree
with a subject chosen among several, and each verb accepts only some objects): a draft
that uses some but not all of the concepts is the local mistake a corrector can learn to fix.

Held-out splits never repeat the concept *set* of a training record (the first 20,000 of the
training stream for the same seed; order does not count), so a model cannot pass a test
record by recalling a training sentence.
"""

from __future__ import annotations

import random
from functools import lru_cache

from .task import TaskError

# Subjects: base -> plural.
PEOPLE = {
    "boy": "boys",
    "girl": "girls",
    "child": "children",
    "man": "men",
    "woman": "women",
    "farmer": "farmers",
    "teacher": "teachers",
    "chef": "chefs",
    "student": "students",
    "friend": "friends",
}
ANIMALS = {
    "dog": "dogs",
    "cat": "cats",
    "fox": "foxes",
    "horse": "horses",
    "duck": "ducks",
    "wolf": "wolves",
    "mouse": "mice",
    "sheep": "sheep",
}

# Objects: base -> plural, or None for a mass noun ("some bread", never "two breads").
OBJECTS = {
    "apple": "apples",
    "bread": None,
    "cake": "cakes",
    "cherry": "cherries",
    "fish": "fish",
    "egg": "eggs",
    "sandwich": "sandwiches",
    "potato": "potatoes",
    "cheese": None,
    "cookie": "cookies",
    "ball": "balls",
    "frisbee": "frisbees",
    "kite": "kites",
    "stick": "sticks",
    "stone": "stones",
    "bone": "bones",
    "box": "boxes",
    "bag": "bags",
    "basket": "baskets",
    "knife": "knives",
    "cup": "cups",
    "key": "keys",
    "dish": "dishes",
    "glass": "glasses",
    "coin": "coins",
    "rope": "ropes",
    "book": "books",
    "letter": "letters",
    "map": "maps",
    "story": "stories",
    "song": "songs",
    "picture": "pictures",
    "bike": "bikes",
    "boat": "boats",
    "bus": "buses",
    "car": "cars",
    "fence": "fences",
    "house": "houses",
    "wall": "walls",
    "roof": "roofs",
    "hole": "holes",
    "tree": "trees",
    "hill": "hills",
    "baby": "babies",
    "door": "doors",
    "window": "windows",
    **{a: p for a, p in ANIMALS.items()},
}

# Verbs: base -> (third person singular, past, -ing form). Written out here, not derived by
# the matcher's rules, so that the tests check the grammar and the matcher against each other.
VERBS = {
    "eat": ("eats", "ate", "eating"),
    "cook": ("cooks", "cooked", "cooking"),
    "bake": ("bakes", "baked", "baking"),
    "cut": ("cuts", "cut", "cutting"),
    "buy": ("buys", "bought", "buying"),
    "sell": ("sells", "sold", "selling"),
    "catch": ("catches", "caught", "catching"),
    "throw": ("throws", "threw", "throwing"),
    "kick": ("kicks", "kicked", "kicking"),
    "chase": ("chases", "chased", "chasing"),
    "find": ("finds", "found", "finding"),
    "carry": ("carries", "carried", "carrying"),
    "drop": ("drops", "dropped", "dropping"),
    "wash": ("washes", "washed", "washing"),
    "ride": ("rides", "rode", "riding"),
    "fix": ("fixes", "fixed", "fixing"),
    "paint": ("paints", "painted", "painting"),
    "draw": ("draws", "drew", "drawing"),
    "read": ("reads", "read", "reading"),
    "write": ("writes", "wrote", "writing"),
    "sing": ("sings", "sang", "singing"),
    "hold": ("holds", "held", "holding"),
    "feed": ("feeds", "fed", "feeding"),
    "steal": ("steals", "stole", "stealing"),
    "hide": ("hides", "hid", "hiding"),
    "dig": ("digs", "dug", "digging"),
    "climb": ("climbs", "climbed", "climbing"),
    "build": ("builds", "built", "building"),
    "fly": ("flies", "flew", "flying"),
    "open": ("opens", "opened", "opening"),
    "bring": ("brings", "brought", "bringing"),
    "tie": ("ties", "tied", "tying"),
    "run": ("runs", "ran", "running"),
    "walk": ("walks", "walked", "walking"),
    "sleep": ("sleeps", "slept", "sleeping"),
    "swim": ("swims", "swam", "swimming"),
    "sit": ("sits", "sat", "sitting"),
    "jump": ("jumps", "jumped", "jumping"),
    "lie": ("lies", "lay", "lying"),
    "play": ("plays", "played", "playing"),
    "dance": ("dances", "danced", "dancing"),
    "cry": ("cries", "cried", "crying"),
    "laugh": ("laughs", "laughed", "laughing"),
    "stand": ("stands", "stood", "standing"),
}

P, A, PA = "p", "a", "pa"  # who can do it: people, animals, both
FOOD = ["apple", "bread", "cake", "cherry", "fish", "egg", "sandwich", "potato", "cheese", "cookie"]
# Transitive verbs: base -> (subjects, objects).
TRANSITIVE = {
    "eat": (PA, FOOD),
    "cook": (P, ["egg", "fish", "potato"]),
    "bake": (P, ["bread", "cake", "cookie", "potato"]),
    "cut": (P, ["bread", "cake", "apple", "cheese", "potato", "rope"]),
    "buy": (P, ["apple", "bread", "cake", "bike", "book", "cup", "kite", "basket", "cherry"]),
    "sell": (P, ["apple", "bread", "cake", "bike", "book", "fish", "egg", "basket", "potato"]),
    "catch": (PA, ["ball", "frisbee", "fish", "stick"]),
    "throw": (P, ["ball", "frisbee", "stick", "stone"]),
    "kick": (P, ["ball", "stone"]),
    "chase": (PA, ["ball", "duck", "cat", "fox", "sheep", "bus", "mouse"]),
    "find": (PA, ["key", "coin", "ball", "stick", "book", "bag", "knife", "cup", "stone", "bone"]),
    "carry": (P, ["box", "bag", "basket", "cup", "baby", "dish", "book"]),
    "drop": (P, ["cup", "dish", "key", "box", "glass", "egg", "knife"]),
    "wash": (P, ["dish", "cup", "car", "dog", "bike", "glass", "baby", "apple"]),
    "ride": (P, ["bike", "horse", "bus", "boat"]),
    "fix": (P, ["bike", "car", "boat", "fence", "roof"]),
    "paint": (P, ["fence", "picture", "boat", "house", "wall"]),
    "draw": (P, ["picture", "map", "horse", "duck"]),
    "read": (P, ["book", "letter", "map", "story"]),
    "write": (P, ["letter", "story", "song", "book"]),
    "sing": (P, ["song"]),
    "hold": (P, ["cup", "knife", "baby", "key", "ball", "kite"]),
    "feed": (P, ["dog", "cat", "horse", "duck", "baby", "sheep"]),
    "steal": (PA, ["cake", "bread", "key", "egg", "cheese", "apple", "sandwich"]),
    "hide": (PA, ["key", "box", "bag", "cake", "coin", "bone"]),
    "dig": (PA, ["hole"]),
    "climb": (P, ["tree", "hill", "fence", "wall"]),
    "build": (P, ["house", "fence", "boat", "wall"]),
    "fly": (P, ["kite"]),
    "open": (P, ["box", "door", "bag", "window", "letter"]),
    "bring": (P, ["cake", "book", "cup", "basket", "ball", "map"]),
    "tie": (P, ["rope"]),
}
# Intransitive verbs: base -> subjects. They always come with a place.
INTRANSITIVE = {
    "run": PA,
    "walk": PA,
    "sleep": PA,
    "swim": PA,
    "sit": PA,
    "jump": PA,
    "lie": PA,
    "play": PA,
    "dance": P,
    "cry": P,
    "laugh": P,
    "stand": P,
}

# Places: noun -> preposition.
PLACES = {
    "park": "in",
    "beach": "on",
    "kitchen": "in",
    "garden": "in",
    "street": "on",
    "lake": "by",
    "river": "near",
    "forest": "in",
    "school": "at",
    "yard": "in",
    "field": "in",
    "city": "in",
    "market": "at",
    "farm": "on",
    "library": "in",
}
# Where some verbs can happen (default: anywhere), with their own preposition.
VERB_PLACES = {
    "swim": {"lake": "in", "river": "in", "beach": "at"},
    "fly": {"park": "in", "beach": "on", "field": "in", "farm": "on"},
}
ADVERBS = ["quickly", "slowly", "happily", "quietly", "carefully", "loudly"]
TENSES = ["past", "present", "progressive", "future"]
TIME_WORDS = {
    "past": ["yesterday"],
    "present": ["every day", "every morning"],
    "progressive": ["now", "today"],
    "future": ["tomorrow"],
}


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _noun_phrase(rng: random.Random, noun: str, plural: str | None, p_plural: float) -> tuple[str, bool]:
    """("the dogs", True) etc.: a determiner and the noun, singular or plural."""
    if plural is None:  # mass noun: singular agreement
        return f"{rng.choice(['the', 'some'])} {noun}", False
    if rng.random() < p_plural:
        return f"{rng.choice(['the', 'two', 'three', 'some', 'my'])} {plural}", True
    return f"{rng.choice(['the', _article(noun), 'my'])} {noun}", False


def _verb_phrase(verb: str, tense: str, plural_subject: bool) -> str:
    third, past, ing = VERBS[verb]
    if tense == "past":
        return past
    if tense == "present":
        return verb if plural_subject else third
    if tense == "progressive":
        return f"{'are' if plural_subject else 'is'} {ing}"
    return f"will {verb}"


def make_record(rng: random.Random) -> dict:
    """One sentence of the grammar and the concepts it uses: {"concepts", "sentence"}."""
    transitive = rng.random() < 0.7
    if transitive:
        verb = rng.choice(sorted(TRANSITIVE))
        who, objects = TRANSITIVE[verb]
    else:
        verb = rng.choice(sorted(INTRANSITIVE))
        who, objects = INTRANSITIVE[verb], []
    kind = rng.choice(list(who))
    subjects = PEOPLE if kind == "p" else ANIMALS
    subject = rng.choice(sorted(subjects))
    tense = rng.choice(TENSES)

    subject_np, plural = _noun_phrase(rng, subject, subjects[subject], 0.4)
    words = [subject_np, _verb_phrase(verb, tense, plural)]
    content = [subject, verb]  # the concepts the sentence carries, in base form
    adverb = rng.choice(ADVERBS) if rng.random() < 0.4 else None
    if adverb and rng.random() < 0.5:  # "The boy quickly ate ..." / "... ate it quickly"
        words.insert(1, adverb)
    if objects:
        obj = rng.choice([o for o in objects if o != subject] or objects)
        words.append(_noun_phrase(rng, obj, OBJECTS[obj], 0.35)[0])
        content.append(obj)
    places = VERB_PLACES.get(verb, PLACES)
    if not objects or rng.random() < 0.8:
        place = rng.choice(sorted(places))
        words.append(f"{places.get(place, PLACES.get(place))} the {place}")
        content.append(place)
    if adverb:
        if adverb not in words:
            words.append(adverb)
        content.append(adverb)
    if rng.random() < 0.25:
        time = rng.choice(TIME_WORDS[tense])
        if rng.random() < 0.5 and " " not in time:
            words.insert(0, time.capitalize() + ",")
        else:
            words.append(time)
    sentence = " ".join(words)
    sentence = sentence[0].upper() + sentence[1:] + "."

    # The verb, and two to four of the other content words, in shuffled order.
    others = [c for c in content if c != verb]
    k = rng.randint(2, min(4, len(others)))
    concepts = [verb] + rng.sample(others, k)
    rng.shuffle(concepts)
    return {"concepts": concepts, "sentence": sentence}


# Splits are disjoint by seed stream; held-out splits also skip every concept set of the
# training stream's first BANNED_TRAIN records.
SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3}
BANNED_TRAIN = 20000


@lru_cache(maxsize=4)
def _train_concept_sets(seed: int) -> frozenset[frozenset[str]]:
    rng = random.Random(1000 * seed + SPLIT_SEEDS["train"])
    return frozenset(frozenset(make_record(rng)["concepts"]) for _ in range(BANNED_TRAIN))


def make_split(split: str, n: int, seed: int = 0) -> list[dict]:
    """``n`` records of ``split`` (train | validation | test); deterministic in (split, n, seed).

    Each record: ``id``, ``prompt`` (the concepts joined by ", "), ``concepts`` (a list of
    base forms) and ``solution`` (a reference sentence using them all, with a leading space,
    the way it follows ``generator_prompt``)."""
    if split not in SPLIT_SEEDS:
        raise TaskError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_SEEDS)}", option="split")
    banned = _train_concept_sets(seed) if split != "train" else frozenset()
    rng = random.Random(1000 * seed + SPLIT_SEEDS[split])
    records: list[dict] = []
    while len(records) < n:
        r = make_record(rng)
        if frozenset(r["concepts"]) in banned:
            continue
        records.append(
            {
                "id": f"{split}-{len(records)}",
                "prompt": ", ".join(r["concepts"]),
                "concepts": r["concepts"],
                "solution": " " + r["sentence"],
            }
        )
    return records


PROMPT = "Concepts: {prompt}\nSentence:"
"""How the generator is asked: the concepts (a record's prompt is them joined by ", "), then
the start of the sentence. The solution follows it directly (it begins with a space) and
ends at the end of the line."""


def generator_prompt(record: dict) -> str:
    """The prompt of a record that may give its concepts as a list instead of a prompt."""
    concepts = record.get("concepts") or record["prompt"]
    return PROMPT.format(prompt=concepts if isinstance(concepts, str) else ", ".join(concepts))
