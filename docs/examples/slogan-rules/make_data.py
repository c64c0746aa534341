"""Writes the data files of the example task `slogan-rules.yaml` (kept in the repository; run
again only to change them): a product, a shop, a service or an event to advertise, a word its
slogan must use and one to three more rules in plain words (a word to leave out, the first or
the last word, at most so many words, no commas, all lowercase or every word capitalized, a
number in digits, double quotes, an exclamation mark or a question):

    Product: a bike repair shop in Bergen
    Rules: start with "Every"; use the word "again"; every word capitalized
    Slogan: Every Gear Shifting Smoothly Again

    python docs/examples/slogan-rules/make_data.py

The slogans are written from templates per product; the rules are drawn, then applied to the
slogan (or read from it: its first and last word, its length, a word it uses, mostly one the
product brings to mind, and a word natural for the product that it leaves out), so that every
reference meets them. Each record has `product` (the task's question), `rules` (as the prompt
says them), `checks` (what the built-in `rules` value checks), `words` (the word to use: one
more rule), `solution` (with a leading space, as it follows "Slogan:") and `kind` (shop,
goods, service or event); test.jsonl adds an `id`. train.jsonl holds 2000 records,
validation.jsonl and test.jsonl 300 each, shots.jsonl three solved examples with two checks
each and none of case or quotes, which a model copies from its examples (a shop, goods and a
service; events are left for the model). No prompt is in two files.
"""

from __future__ import annotations

import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent

TOWNS = ["Harlow", "Kendal", "Ripon", "Tavira", "Ghent", "Arles", "Bergen", "Delft", "Lucca", "Oban", "Sintra", "Mainz"]
STREETS = ["Mill Lane", "Oak Road", "Harbour Street", "Church Walk", "Station Road", "Bridge Street", "Market Square"]
PEOPLE = ["Rosa", "Omar", "Lena", "Tomas", "Aiko", "Priya", "Felix", "Nadia", "Jorge", "Hana", "Ivan", "Clara"]

# kind -> products: (descriptions, words of its slogans that the product brings to mind, for a rule
# to ask for, words natural for the product that a rule may forbid, slogans, numbers).
# {town}, {street}, {person} and {n} (a number drawn from the product's range) fill the templates;
# slogans have no final mark, and a slogan ending in "?" is a question.
PRODUCTS: dict[str, list[tuple[list[str], list[str], list[str], list[str], tuple[int, ...]]]] = {
    "shop": [
        (
            ["{person}'s, a bakery in {town}", "a family bakery on {street}", "the corner bakery in {town}"],
            ["loaves", "bread", "baking", "smell", "crusty"],
            ["bread", "fresh", "baked"],
            [
                "Warm loaves every morning",
                "Fresh bread, baked before sunrise",
                "Baking for {town} since {n}",
                "Hungry? Follow the smell",
                "Crusty on the outside, soft inside",
                "Your daily bread, made with care",
            ],
            tuple(range(1921, 2016, 7)),
        ),
        (
            ["a bike repair shop in {town}", "{person}'s bike repair shop on {street}", "a small cycle workshop"],
            ["wheels", "road", "tire", "tuned", "ride", "chain", "gear"],
            ["bike", "fix", "repair"],
            [
                "Your wheels, back on the road",
                "Flat tire? We fix it fast",
                "Tuned in {n} hours or less",
                "Ride again by tomorrow",
                "Squeaky chain? Bring it in",
                "Every gear shifting smoothly again",
            ],
            (2, 3, 4, 24, 48),
        ),
        (
            ["a second-hand bookshop in {town}", "{person}'s bookshop on {street}", "a tiny bookshop by the station"],
            ["pages", "story", "books", "chapter", "shelf", "stories"],
            ["books", "read", "stories"],
            [
                "Old pages, new adventures",
                "Find your next favorite story",
                "Over {n} books waiting for you",
                "Lost in a good chapter?",
                "Every shelf hides a surprise",
                "Stories worth taking home",
            ],
            (2000, 5000, 8000, 10000, 12000),
        ),
        (
            ["a flower shop in {town}", "{person}'s florist on {street}", "the flower stall at the market"],
            ["bouquet", "petals", "colors", "stems", "spring"],
            ["flowers", "bloom", "roses"],
            [
                "Say it with a bouquet",
                "Petals picked this morning",
                "Bright colors for every table",
                "Forgot an anniversary? We can help",
                "Fresh stems from {n} local growers",
                "Spring lives here all year",
            ],
            (5, 8, 12, 15, 20),
        ),
        (
            ["a hardware store on {street}", "{person}'s hardware shop in {town}", "the old hardware store in {town}"],
            ["screw", "nail", "hinge", "part", "project", "hammer", "parts"],
            ["tools", "build", "fix"],
            [
                "Every screw, nail and hinge",
                "The right part, the first time",
                "Weekend project? Start here",
                "Helping {town} hammer since {n}",
                "Big jobs start with small parts",
                "Ask us, we know the answer",
            ],
            tuple(range(1931, 2011, 9)),
        ),
        (
            ["a cheese shop in {town}", "{person}'s cheese counter on {street}", "a little cheese shop by the harbour"],
            ["aged", "sliced", "wheels", "farms", "picnic", "slice", "countryside", "smoky"],
            ["cheese", "milk", "taste"],
            [
                "Aged slowly, sliced to order",
                "Over {n} wheels from small farms",
                "Looking for the perfect picnic?",
                "A little slice of the countryside",
                "Soft, sharp or smoky, we have it",
                "Good things come to those who wait",
            ],
            (40, 60, 80, 100, 120),
        ),
        (
            ["a toy shop in {town}", "{person}'s toy shop on {street}", "a wooden toy shop"],
            ["games", "explore", "adventure", "hands"],
            ["toys", "play", "fun"],
            [
                "Where rainy days turn bright",
                "Games for ages {n} and up",
                "Bored at home? Come and explore",
                "Made to be loved, built to last",
                "Little hands, big imaginations",
                "Every shelf a new adventure",
            ],
            (3, 4, 5, 6, 8),
        ),
        (
            ["a tea house in {town}", "{person}'s tea room on {street}", "a quiet tea shop near the park"],
            ["sip", "leaves", "calm", "pots", "steeped", "quiet"],
            ["tea", "cup", "drink"],
            [
                "Slow down and sip",
                "Over {n} leaves from distant hills",
                "Need a quiet moment?",
                "Steeped with patience, served with a smile",
                "Your calm corner in {town}",
                "Warm pots, soft chairs, good company",
            ],
            (30, 50, 70, 90),
        ),
    ],
    "goods": [
        (
            ["running shoes for long distances", "light running shoes for beginners", "trail running shoes"],
            ["feet", "miles", "kilometers", "mile", "step", "cushioned", "chase"],
            ["run", "running", "fast"],
            [
                "Light feet, long miles",
                "Built for your first {n} kilometers",
                "Ready for the next mile?",
                "Every step feels lighter",
                "Cushioned, quick and made to last",
                "Chase the sunrise in comfort",
            ],
            (5, 10, 21, 42, 50),
        ),
        (
            ["a waterproof rain jacket", "a light rain jacket for cyclists", "a rain jacket for hikers"],
            ["clouds", "storm", "puddles", "sky", "grey", "cozy"],
            ["rain", "wet", "dry"],
            [
                "Let the clouds do their worst",
                "Storm outside, cozy inside",
                "Only {n} grams, folds into a pocket",
                "Puddles ahead? Keep walking",
                "Stay warm when the sky opens",
                "Built for grey days and long walks",
            ],
            (180, 220, 250, 300, 350),
        ),
        (
            ["coffee beans from small farms", "a dark roast coffee", "fresh roasted coffee beans from {town}"],
            ["roasted", "brew", "pot", "mornings", "flavor", "wake"],
            ["coffee", "cup", "morning"],
            [
                "Wake up to something better",
                "Roasted in small batches each week",
                "Your mornings, only richer",
                "Tired already? Brew a fresh pot",
                "Grown by {n} families who care",
                "Bold flavor, smooth finish",
            ],
            (12, 30, 45, 60, 80),
        ),
        (
            ["a hiking backpack", "a school backpack for teenagers", "a travel backpack for weekend trips"],
            ["straps", "shoulders", "trails", "zip", "journey", "liters"],
            ["bag", "carry", "pack"],
            [
                "Everything you need, nothing you don't",
                "Room for {n} liters of adventure",
                "Where are you heading next?",
                "Strong straps, happy shoulders",
                "Made for trails and train stations",
                "One zip away from your journey",
            ],
            (20, 25, 30, 35, 40),
        ),
        (
            ["a steel water bottle", "a water bottle that keeps drinks cold", "a folding water bottle for travel"],
            ["cold", "thirsty", "refill", "plastic", "sip"],
            ["water", "drink", "cold"],
            [
                "Cold for {n} hours, guaranteed",
                "Thirsty? Refill and go",
                "Your desk, your hike, your gym",
                "No more plastic, no more waste",
                "Sip smarter all day long",
                "Built tough for every adventure",
            ],
            (12, 18, 24, 36),
        ),
        (
            ["wireless headphones", "noise cancelling headphones for travel", "headphones for students"],
            ["soundtrack", "play", "note", "beats", "noisy"],
            ["music", "sound", "listen"],
            [
                "Your world, your soundtrack",
                "Up to {n} hours of play",
                "Noisy train? Not anymore",
                "Quiet the crowd, hear every note",
                "Small buds, big beats",
                "Press play and drift away",
            ],
            (20, 30, 40, 50, 60),
        ),
        (
            ["a desk lamp for reading", "a warm desk lamp for late work", "a folding lamp for small desks"],
            ["glow", "pages", "sunset", "eyes", "lit"],
            ["light", "bright", "lamp"],
            [
                "Late nights, gentle glow",
                "Clear pages after sunset",
                "Studying until midnight?",
                "Soft on the eyes, strong on focus",
                "Lasts over {n} hours",
                "Your corner, beautifully lit",
            ],
            (10000, 20000, 25000, 30000),
        ),
        (
            ["sunscreen for the beach", "a gentle sunscreen for children", "sunscreen for outdoor sports"],
            ["summer", "protection", "beach", "rays", "shield"],
            ["sun", "skin", "burn"],
            [
                "Summer all day, worry free",
                "Protection that lasts {n} hours",
                "Heading to the beach today?",
                "Play outside, come home happy",
                "Light, smooth and never greasy",
                "Your shield against summer rays",
            ],
            (2, 4, 6, 8),
        ),
    ],
    "service": [
        (
            ["a language learning app", "an app for learning Spanish", "a phone app for learning new languages"],
            ["fluent", "words", "abroad", "talk", "lessons", "conversations"],
            ["learn", "language", "speak"],
            [
                "Five minutes a day, fluent one day",
                "Over {n} words in your pocket",
                "Planning a trip abroad?",
                "Talk to the world with confidence",
                "Tiny lessons, big conversations",
                "Order dinner anywhere on Earth",
            ],
            (2000, 3000, 5000, 8000),
        ),
        (
            ["a dog walking service in {town}", "{person}'s dog walking service", "a dog walker for busy owners"],
            ["tails", "paws", "friend", "pup", "air"],
            ["dog", "walk", "walks"],
            [
                "Happy tails while you work",
                "Long day at the office?",
                "Fresh air for your best friend",
                "Trusted by {n} neighbors in {town}",
                "Muddy paws, wagging tails",
                "Every pup home tired and happy",
            ],
            (30, 50, 80, 120, 150),
        ),
        (
            [
                "a window cleaning service",
                "{person}'s window cleaners in {town}",
                "window cleaning for shops and homes",
            ],
            ["clearly", "streak", "panes", "sunshine", "views", "sparkling"],
            ["clean", "glass", "windows"],
            [
                "See the world clearly again",
                "Streak free or we come back",
                "Can't see the garden anymore?",
                "Sparkling panes in {n} minutes",
                "Let the sunshine back in",
                "Bright views, every season",
            ],
            (20, 30, 45, 60),
        ),
        (
            ["a yoga studio in {town}", "{person}'s yoga classes on {street}", "morning yoga classes in the park"],
            ["breathe", "stress", "balance", "calmer", "mat", "body"],
            ["yoga", "stretch", "relax"],
            [
                "Breathe in, stress out",
                "Stiff back from sitting all day?",
                "Find your balance before breakfast",
                "Only {n} minutes to a calmer you",
                "Slow moves, strong body",
                "Every mat welcome, every level",
            ],
            (15, 20, 30, 45),
        ),
        (
            ["a driving school in {town}", "{person}'s driving lessons", "a driving school for nervous beginners"],
            ["road", "gear", "license", "drivers", "keys", "students"],
            ["drive", "car", "driving"],
            [
                "Pass with patience, not panic",
                "Ready for the open road?",
                "From first gear to full license",
                "Over {n} students passed last year",
                "Calm teachers, confident drivers",
                "Your keys to freedom",
            ],
            (150, 200, 300, 400),
        ),
        (
            ["a plumber in {town}", "{person}'s plumbing service", "an emergency plumber on call"],
            ["dripping", "tap", "floors", "fix"],
            ["leak", "pipe", "water"],
            [
                "Dripping tap? Call us tonight",
                "On your doorstep within {n} minutes",
                "Quick hands, dry floors",
                "Honest prices, no surprises",
                "We fix it right the first time",
                "Sleep easy, we answer every call",
            ],
            (30, 45, 60, 90),
        ),
        (
            ["maths tutoring for teenagers", "{person}'s tutoring service in {town}", "online homework help"],
            ["fractions", "confident", "sums", "pupils", "questions", "hour"],
            ["study", "learn", "grades"],
            [
                "Stuck on fractions?",
                "From confused to confident",
                "One hour a week makes the difference",
                "Helping {n} pupils every term",
                "Questions welcome, patience included",
                "Turn tricky sums into easy wins",
            ],
            (40, 60, 90, 120),
        ),
        (
            ["a car wash on {street}", "a hand car wash in {town}", "{person}'s mobile car wash"],
            ["shine", "sparkling", "soap", "polish", "paint", "ride"],
            ["wash", "clean", "car"],
            [
                "Shine in {n} minutes flat",
                "Muddy after the weekend?",
                "Drive away sparkling",
                "Soap, foam and a proper polish",
                "Your ride deserves a spa day",
                "Gleaming paint, happy driver",
            ],
            (10, 15, 20, 25),
        ),
    ],
    "event": [
        (
            ["the library's summer reading club", "summer reading at {town} library", "a reading challenge for kids"],
            ["stories", "book", "page", "chapter", "dragons", "card"],
            ["books", "read", "library"],
            [
                "Read {n} stories, win a prize",
                "Bored this summer? Grab a book",
                "Adventures free with your card",
                "Turn the page, start the fun",
                "Dragons, pirates and pizza parties",
                "Every chapter counts this summer",
            ],
            (5, 8, 10, 12, 15),
        ),
        (
            ["the Saturday farmers market in {town}", "a farmers market on {street}", "a night market by the river"],
            ["food", "stalls", "tomatoes", "field", "basket", "taste"],
            ["market", "fresh", "local"],
            [
                "Meet the hands that grow your food",
                "Over {n} stalls every Saturday",
                "Craving real tomatoes?",
                "Straight from the field to your basket",
                "Good food, good neighbors",
                "Taste the season, shop the square",
            ],
            (30, 40, 60, 80),
        ),
        (
            ["a jazz night at {person}'s bar", "a jazz festival in {town}", "live jazz on {street}"],
            ["notes", "dance", "bands", "trumpets", "swing", "saxophone"],
            ["jazz", "music", "night"],
            [
                "Smooth notes, late nights",
                "Need a reason to dance?",
                "{n} bands, one magic weekend",
                "Trumpets under the stars",
                "Come for the swing, stay for the soul",
                "Let the saxophone take you home",
            ],
            (6, 8, 10, 12, 20),
        ),
        (
            ["a charity fun run in {town}", "a {n} kilometer charity run", "a fun run for the local hospital"],
            ["step", "cause", "lace", "kilometers", "finish", "miles"],
            ["run", "race", "charity"],
            [
                "Every step helps someone",
                "Lace up for a good cause",
                "Ready to sweat for kindness?",
                "{n} kilometers, one big heart",
                "Jog, walk or dance to the finish",
                "Miles that matter",
            ],
            (3, 5, 10),
        ),
        (
            ["a science fair for schools", "the {town} science fair", "a weekend science festival"],
            ["curious", "volcano", "projects", "inventors", "questions"],
            ["science", "learn", "experiment"],
            [
                "Curious minds welcome",
                "Ever built a volcano?",
                "Over {n} projects under one roof",
                "Big questions, bubbling answers",
                "Where young inventors shine",
                "Test it, try it, love it",
            ],
            (50, 80, 100, 150),
        ),
        (
            ["a film club at the town hall", "{person}'s Friday film club", "outdoor cinema in {town}"],
            ["popcorn", "cinema", "screen", "seat", "lights", "stars"],
            ["film", "movie", "watch"],
            [
                "Popcorn, friends and classic stories",
                "Tired of watching alone?",
                "{n} nights of cinema under the stars",
                "Grab a seat before the lights dim",
                "Big screen, small town magic",
                "Lights down, hearts up",
            ],
            (3, 4, 6, 10),
        ),
        (
            ["a book swap at the community center", "a book swap on {street}", "the {town} book swap"],
            ["novel", "titles", "shelves", "readers", "page"],
            ["books", "swap", "read"],
            [
                "Bring one, take one home",
                "Finished your last novel?",
                "Over {n} titles looking for new owners",
                "Trade your shelves, share your favorites",
                "Old friends for new readers",
                "Your next page is someone's last",
            ],
            (200, 300, 500, 700),
        ),
        (
            ["a garden tour in {town}", "open gardens weekend on {street}", "a rose garden tour"],
            ["gates", "green", "blooming", "roses", "ponds", "grow"],
            ["garden", "flowers", "plants"],
            [
                "Secret gates, open for {n} days",
                "Need some green in your week?",
                "Wander, sniff and dream",
                "Hidden corners, blooming borders",
                "Come see what neighbors grow",
                "Roses, ponds and lemonade",
            ],
            (2, 3, 4),
        ),
    ],
}
KINDS = list(PRODUCTS)

# rule -> how the prompt says it ({} is its argument); "use" is the word the `words` field holds
SAY = {
    "use": 'use the word "{}"',
    "avoid_word": 'leave out the word "{}"',
    "first_word": 'start with "{}"',
    "last_word": 'finish with the word "{}"',
    "max_words": "at most {} words",
    "no_commas": "no commas",
    "lowercase": "all lowercase",
    "title_case": "every word capitalized",
    "has_number": "include a number in digits",
    "quoted": "put it in double quotes",
    "exclaim": "end with an exclamation mark",
    "question": "make it a question",
}
CASES = {"lowercase", "title_case", "quoted"}  # rules the shots leave out: the model copies them
APART = [{"lowercase", "title_case"}, {"exclaim", "question"}]
SMALL = set(
    "a an and the of for to in on at or by with your you we it is are be our every one all since from into over"
    " than this that more only less here there what when where come make made until after before back away just"
    " each under ever some".split()
)


def make_record(rng: random.Random) -> dict | None:
    kind = rng.choice(KINDS)
    descs, keys, natural, slogans, numbers = rng.choice(PRODUCTS[kind])
    fill = {"town": rng.choice(TOWNS), "street": rng.choice(STREETS), "person": rng.choice(PEOPLE)}
    fill["n"] = rng.choice(numbers)
    product = rng.choice(descs).format(**fill)
    rules = ["use", *rng.sample([r for r in SAY if r != "use"], rng.choice([1, 1, 1, 2]))]
    if any(pair <= set(rules) for pair in APART):
        return None
    fits = [
        s
        for s in slogans  # a question slogan for the question rule and only there, a number for has_number
        if ("question" in rules) == s.endswith("?") or not {"question", "exclaim"} & set(rules)
        if "has_number" not in rules or "{n}" in s
    ]
    if not fits:
        return None
    slogan = rng.choice(fits).format(**fill)
    if "no_commas" in rules:
        slogan = slogan.replace(",", "")
    if "title_case" in rules:
        slogan = " ".join(w[0].upper() + w[1:] for w in slogan.split())
    if "lowercase" in rules:
        slogan = slogan.lower()
    if "exclaim" in rules:
        slogan += "!"
    if "quoted" in rules:
        slogan = f'"{slogan}"'
    said = [w.strip("\"'.,;:!?") for w in slogan.split()]
    low = [w.lower() for w in said]
    names = {w.lower() for w in fill.values() if isinstance(w, str)}
    ends = {low[0]} if "first_word" in rules else set()
    ends |= {low[-1]} if "last_word" in rules else set()  # a word to use that a rule names already
    usable = [w for w in low if len(w) > 3 and w.isalpha() and w not in SMALL | names | ends]
    left_out = [w for w in natural if w not in low]
    plain = [w for w in usable if w in keys]  # a word the product brings to mind
    if not usable or ("avoid_word" in rules and not left_out):
        return None
    argument = {
        "use": rng.choice(plain if plain and rng.random() < 0.8 else usable),
        "avoid_word": rng.choice(left_out) if left_out else None,
        "first_word": said[0],
        "last_word": said[-1],
        "max_words": len(slogan.split()) + rng.choice([0, 0, 1, 2]),
    }
    rng.shuffle(rules)
    return {
        "product": product,
        "rules": "; ".join(SAY[rule].format(argument.get(rule)) for rule in rules),
        "checks": [[rule, argument.get(rule)] for rule in rules if rule != "use"],
        "words": argument["use"],
        "solution": " " + slogan,
        "kind": kind,
    }


def main() -> None:
    pool = distinct(2600 + 200, seed=2171, draw=make_record, key=lambda r: (r["product"], r["rules"]))
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    simple = [r for r in reserve if len(r["checks"]) == 2 and not {c[0] for c in r["checks"]} & CASES]
    write_files(HERE, train, validation, test, one_of_each(simple, ["shop", "goods", "service"]))


if __name__ == "__main__":
    main()
