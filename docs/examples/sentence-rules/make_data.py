"""Writes the data files of the example task `sentence-rules.yaml` (kept in the repository; run
again only to change them): two words to use and two or three rules of form to follow (no
capital letters, no commas, the first or the last word, at most so many words, double quotes,
an exclamation mark), and one sentence that does both, in the way of IFEval's verifiable
instructions:

    Words: market, sell
    Rules: use no capital letters; begin with the word "the"; end with an exclamation mark
    Sentence: the busy nurse sold two tickets at the market!

    python docs/examples/sentence-rules/make_data.py

The sentences are the scenes of the constrained-sentences example (its make_data.py draws
them); the rules are drawn, then applied to the sentence, so that every reference meets them.
Each record has `words` (the task's question: two base forms joined by ", "), `rules` (how
the prompt shows them), `checks` (what the built-in `rules` value checks: a list of [rule, argument]),
`solution` (with a leading space, as it follows "Sentence:") and `kind` (how many rules);
test.jsonl adds an `id`. train.jsonl holds 2000 records, validation.jsonl and test.jsonl 300
each, shots.jsonl three solved examples. No sentence is in two files.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("scenes", HERE.parent / "constrained-sentences" / "make_data.py")
scenes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenes)

# rule -> how the prompt says it ({} is its argument)
RULES = {
    "lowercase": "use no capital letters",
    "no_commas": "use no commas",
    "first_word": 'begin with the word "{}"',
    "last_word": 'end with the word "{}"',
    "max_words": "use at most {} words",
    "quoted": "wrap the sentence in double quotes",
    "exclaim": "end with an exclamation mark",
}
# rules that change the sentence, applied in this order before the words are picked
CHANGES = ("lowercase", "no_commas", "exclaim", "quoted")


def make_record(rng: random.Random) -> dict:
    scene = scenes.make_record(rng)
    sentence, words = scene["sentence"], sorted(scene["concepts"][:2])
    rules = rng.sample(list(RULES), rng.choice([2, 2, 3]))
    if "first_word" in rules and "last_word" in rules:
        return None  # one word rule a sentence: the two together are mostly fixed by the scene
    for rule in CHANGES:
        if rule in rules:
            sentence = {
                "lowercase": str.lower,
                "no_commas": lambda s: s.replace(",", ""),
                "exclaim": lambda s: s[:-1] + "!",
                "quoted": lambda s: f'"{s}"',
            }[rule](sentence)
    said = sentence.strip('"').rstrip(".!").split()
    argument = {"first_word": said[0].strip(","), "last_word": said[-1], "max_words": len(said) + rng.randint(0, 3)}
    checks = [[rule, argument.get(rule)] for rule in rules]
    return {
        "words": ", ".join(words),
        "rules": "; ".join(RULES[rule].format(arg) for rule, arg in checks),
        "checks": checks,
        "solution": " " + sentence,
        "kind": f"{len(rules)} rules",
    }


def main() -> None:
    pool = distinct(2600 + 40, seed=2113, draw=make_record, key="solution")
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    shots = one_of_each(reserve, ["2 rules", "3 rules"])
    shots.append(next(r for r in reserve if r not in shots))
    write_files(HERE, train, validation, test, shots)


if __name__ == "__main__":
    main()
