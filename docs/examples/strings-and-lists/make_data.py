"""Writes the data files of the example task `strings-and-lists.yaml` (kept in the repository;
run again only to change them): small string and list manipulations (reverse the words,
count the vowels, sort a list without repeats, take every second item, join words with a
dash, ...), each answered by a Python program that prints the result. The answer is the
printed line: a number, a string, or a list as Python prints it (`[1, 3, 5]`).

    python docs/examples/strings-and-lists/make_data.py

Every file uses the columns `question`, `answer`, `solution`, `kind` (test.jsonl adds an
`id`); train.jsonl holds 2000 problems, validation.jsonl and test.jsonl 300 each, and
shots.jsonl three solved examples of three kinds. No question is in two files.
"""

from __future__ import annotations

import random
from pathlib import Path

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent
WORDS = [
    "apple",
    "river",
    "green",
    "stone",
    "cloud",
    "tiger",
    "paper",
    "music",
    "lemon",
    "house",
    "quiet",
    "bread",
    "ocean",
    "pencil",
    "garden",
    "window",
    "silver",
    "rabbit",
    "forest",
    "candle",
    "orange",
    "planet",
    "yellow",
    "sun",
    "map",
    "cat",
    "red",
    "box",
    "tea",
    "owl",
    "fig",
    "sky",
    "kite",
    "moon",
    "bird",
    "lamp",
    "fish",
    "road",
]
FRUITS = ["pear", "apple", "fig", "plum", "kiwi", "mango", "grape", "lime", "peach", "melon", "cherry", "banana"]


def phrase(rng: random.Random, low: int = 3, high: int = 5) -> str:
    return " ".join(rng.sample(WORDS, rng.randint(low, high)))


def numbers(rng: random.Random, low: int = 5, high: int = 8, top: int = 30) -> list[int]:
    return [rng.randint(1, top) for _ in range(rng.randint(low, high))]


def quoted(words: list[str]) -> str:
    return "[" + ", ".join(f'"{w}"' for w in words) + "]"


def reverse_words(rng):
    s = phrase(rng)
    q = f'Reverse the order of the words in "{s}" and print them separated by single spaces.'
    return q, " ".join(reversed(s.split())), f'words = "{s}".split()\nprint(" ".join(reversed(words)))'


def count_vowels(rng):
    s = phrase(rng, 2, 4)
    q = f'How many vowels (a, e, i, o, u) are in "{s}"? Print the number.'
    return q, sum(c in "aeiou" for c in s), f'text = "{s}"\nprint(sum(1 for c in text if c in "aeiou"))'


def sort_dedupe(rng):
    xs = numbers(rng, 6, 9, 20)
    while len(set(xs)) == len(xs):  # at least one repeat
        xs[rng.randrange(len(xs))] = rng.choice(xs)
    q = f"Sort the list {xs} in increasing order without repeats and print the list."
    return q, sorted(set(xs)), f"numbers = {xs}\nprint(sorted(set(numbers)))"


def every_second(rng):
    xs = rng.sample(FRUITS, rng.randint(5, 8)) if rng.random() < 0.5 else numbers(rng, 5, 9, 50)
    shown = quoted(xs) if isinstance(xs[0], str) else str(xs)
    q = f"Print every second item of the list {shown}, starting with the first item, as a list."
    return q, xs[::2], f"items = {shown}\nprint(items[::2])"


def join_dash(rng):
    ws = rng.sample(WORDS, rng.randint(3, 5))
    q = (
        f"Join the words {', '.join(ws[:-1])} and {ws[-1]} in this order with a dash between each pair "
        "and print the result."
    )
    return q, "-".join(ws), f'words = {quoted(ws)}\nprint("-".join(words))'


def reverse_string(rng):
    w = rng.choice(WORDS) + rng.choice(["", "s", "ing", "er"])
    q = f'Print the letters of "{w}" in reverse order, as one word.'
    return q, w[::-1], f'word = "{w}"\nprint(word[::-1])'


def count_letter(rng):
    s = phrase(rng, 3, 5)
    letter = rng.choice(sorted(set(s.replace(" ", ""))))
    q = f'How many times does the letter "{letter}" appear in "{s}"? Print the number.'
    return q, s.count(letter), f'text = "{s}"\nprint(text.count("{letter}"))'


def capitalize(rng):
    s = phrase(rng, 2, 4)
    q = f'Capitalize the first letter of every word in "{s}" and print the result.'
    return q, s.title(), f'text = "{s}"\nprint(" ".join(w.capitalize() for w in text.split()))'


def initials(rng):
    s = phrase(rng, 3, 5)
    q = f'Print the first letters of the words of "{s}" in upper case, joined with nothing between them.'
    solution = f'text = "{s}"\nprint("".join(w[0] for w in text.split()).upper())'
    return q, "".join(w[0] for w in s.split()).upper(), solution


def longest_word(rng):
    while True:
        ws = rng.sample(WORDS, rng.randint(3, 5))
        lengths = sorted(map(len, ws))
        if lengths[-1] > lengths[-2]:  # one longest word
            break
    s = " ".join(ws)
    q = f'Print the longest word in "{s}".'
    return q, max(ws, key=len), f'words = "{s}".split()\nprint(max(words, key=len))'


def sum_even(rng):
    xs = numbers(rng, 5, 8, 40)
    if all(x % 2 for x in xs):
        xs[0] += 1
    q = f"Print the sum of the even numbers in the list {xs}."
    return q, sum(x for x in xs if x % 2 == 0), f"numbers = {xs}\nprint(sum(x for x in numbers if x % 2 == 0))"


def spread(rng):
    xs = numbers(rng, 4, 8, 90)
    q = f"Print the difference between the largest and the smallest number in {xs}."
    return q, max(xs) - min(xs), f"numbers = {xs}\nprint(max(numbers) - min(numbers))"


def last_items(rng):
    xs, k = numbers(rng, 5, 9, 60), rng.randint(2, 4)
    q = f"Print the last {k} items of the list {xs} as a list."
    return q, xs[-k:], f"numbers = {xs}\nprint(numbers[-{k}:])"


def multiply_each(rng):
    xs, k = numbers(rng, 3, 6, 12), rng.randint(2, 9)
    q = f"Multiply every number in the list {xs} by {k} and print the new list."
    return q, [x * k for x in xs], f"numbers = {xs}\nprint([x * {k} for x in numbers])"


def count_greater(rng):
    xs = numbers(rng, 5, 9, 50)
    k = rng.choice(xs)
    q = f"How many numbers in the list {xs} are greater than {k}? Print the count."
    return q, sum(x > k for x in xs), f"numbers = {xs}\nprint(sum(1 for x in numbers if x > {k}))"


def sort_words(rng):
    ws = rng.sample(FRUITS, rng.randint(3, 5))
    q = f"Sort the words {', '.join(ws)} alphabetically and print them separated by a comma and a space."
    return q, ", ".join(sorted(ws)), f'words = {quoted(ws)}\nprint(", ".join(sorted(words)))'


def remove_vowels(rng):
    s = phrase(rng, 2, 3)
    q = f'Remove every vowel (a, e, i, o, u) from "{s}" and print what is left, spaces included.'
    solution = f'text = "{s}"\nprint("".join(c for c in text if c not in "aeiou"))'
    return q, "".join(c for c in s if c not in "aeiou"), solution


def replace_letter(rng):
    s = phrase(rng, 2, 3)
    old = rng.choice(sorted(set(s.replace(" ", ""))))
    new = rng.choice([c for c in "xyzqk" if c != old])
    q = f'Replace every "{old}" in "{s}" with "{new}" and print the result.'
    return q, s.replace(old, new), f'text = "{s}"\nprint(text.replace("{old}", "{new}"))'


def merge_sorted(rng):
    a, b = numbers(rng, 2, 4, 30), numbers(rng, 2, 4, 30)
    q = f"Put the numbers of {a} and {b} into one list, sort it in increasing order and print it."
    return q, sorted(a + b), f"numbers = {a} + {b}\nprint(sorted(numbers))"


FAMILIES = [
    reverse_words,
    count_vowels,
    sort_dedupe,
    every_second,
    join_dash,
    reverse_string,
    count_letter,
    capitalize,
    initials,
    longest_word,
    sum_even,
    spread,
    last_items,
    multiply_each,
    count_greater,
    sort_words,
    remove_vowels,
    replace_letter,
    merge_sorted,
]


def draw(rng: random.Random) -> dict:
    family = rng.choice(FAMILIES)
    question, answer, solution = family(rng)
    return {"question": question, "answer": str(answer), "solution": solution, "kind": family.__name__}


def main() -> None:
    pool = distinct(2600 + 30, seed=2028, draw=draw, key="question")  # one pool, so no question is in two files
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    kinds = ["reverse_words", "sort_dedupe", "count_vowels"]  # a string, a list and a number printed
    write_files(HERE, train, validation, test, one_of_each(reserve, kinds))


if __name__ == "__main__":
    main()
