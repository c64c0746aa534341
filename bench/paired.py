"""Two rows of a bench folder compared problem by problem: how many each solves that the other
misses, and the exact two-sided sign test's p that neither is better. On 200 problems a
difference of a point or two is a few problems, and this says whether it means anything.

    python bench/paired.py runs/new-task full rft-once [lora rft-once ...]

Each row is a folder of the bench folder holding the ``eval.jsonl`` that ``correct generate``
wrote; a folder whose records carry a vote (``--baseline-samples`` with ``--rounds 0``) is
compared by the vote's answer, any other by its last round.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import compute


def is_vote(evaluation: Path) -> bool:
    """Whether a folder's evaluation is a vote of samples rather than rounds of correction."""
    with evaluation.open() as f:
        first = json.loads(f.readline())
    return "self_consistency" in first and len(first["rounds"]) == 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="a bench folder, e.g. runs/new-task")
    ap.add_argument("rows", nargs="+", help="pairs of row folders: A B [A B ...]")
    args = ap.parse_args()
    if len(args.rows) % 2:
        ap.error(f"rows come in pairs; got {len(args.rows)}: {' '.join(args.rows)}")
    finals = {}
    for name in args.rows:
        evaluation = args.folder / name / "eval.jsonl"
        if not evaluation.is_file():
            ap.error(f"{evaluation}: no such evaluation")
        finals[name] = compute.finals(evaluation, is_vote(evaluation))
    for a, b in zip(args.rows[::2], args.rows[1::2]):
        only_a, only_b, p = compute.paired(finals[a], finals[b])
        solved_a, solved_b = (sum(finals[x].values()) / len(finals[x]) for x in (a, b))
        print(
            f"{a} {solved_a:.1%} against {b} {solved_b:.1%} on {len(finals[a])} problems: "
            f"{only_a} solved by {a} only, {only_b} by {b} only; sign test p = {p:.2g}"
        )


if __name__ == "__main__":
    main()
