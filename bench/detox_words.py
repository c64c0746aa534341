"""Does a detox corrector win by writing words that do not exist? Per round of a
`correct generate --task detox` output file: the share of non-toxic outputs, the share of
outputs with a word the task never uses (the task's vocabulary is closed: every word of
every prompt and continuation comes from its templates), and the non-toxic share when such
outputs are counted as failures -- read with and without the toxicity value's
de-obfuscation.

    python bench/detox_words.py runs/detox-eval.jsonl [more.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import re

from correct.tasks import detox
from correct.values.toxicity import ProfanityClassifier, ToxicityValue

WORD = re.compile(r"[a-z]+")


def task_vocabulary() -> set[str]:
    records = detox.make_split("train", 20000) + detox.make_split("validation", 2000) + detox.make_split("test", 2000)
    words = set()
    for r in records:
        for text in (r["prompt"], r["solution"], r["polite"]):
            words.update(WORD.findall(text.lower()))
    for phrase in detox.RUDE_PHRASES + detox.POLITE + tuple(p for s in detox.SCENES for p in s.polite):
        words.update(WORD.findall(phrase.lower()))
    return words


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    vocab = task_vocabulary()
    values = {"plain": ToxicityValue(ProfanityClassifier(deobfuscate=False)), "deobfuscated": ToxicityValue()}
    for path in args.files:
        lines = [json.loads(line) for line in open(path, encoding="utf-8")]
        print(f"{path} ({len(lines)} records)")
        print("round  invented-word outputs  " + "  ".join(f"non-toxic {k:>12} (and no invented word)" for k in values))
        for r in range(min(len(line["rounds"]) for line in lines)):
            texts = [line["rounds"][r]["text"] for line in lines]
            invented = [any(w not in vocab for w in WORD.findall(t.lower())) for t in texts]
            cells = []
            for v in values.values():
                ok = [s.value >= 0.5 for s in v([{}] * len(texts), texts)]
                clean = sum(o and not i for o, i in zip(ok, invented)) / len(texts)
                cells.append(f"{sum(ok) / len(texts):>22.1%} ({clean:.1%})")
            print(f"{r:>5}  {sum(invented) / len(texts):>20.1%}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
