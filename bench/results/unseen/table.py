"""The table of bench/results/unseen/README.md, from the rows `rows.sh` ran: each row's solved
share, the wrong greedy drafts it fixed and the right ones it broke (against the `none` row's
drafts), decodes a problem, and a sign test against the general corrector's pick of 4.

    python bench/results/unseen/table.py runs/unseen
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/: compute, paired
import compute  # noqa: E402

ROWS = [
    ("none", "no correction"),
    ("general-failing", "general corrector, one rewrite a round"),
    ("general-failing-best-of-4", "general corrector, the pick of 4"),
    ("vote@4", "self-consistency, a vote of 4 samples"),
    ("best@8", "the generator's best of 8 samples by the value"),
    ("self-failing", "self-refinement, one rewrite a round"),
    ("self-failing-best-of-4", "self-refinement, the pick of 4"),
    ("recipe", "the per-task corrector (the recipe, 600 prompts), one rewrite a round"),
]
AGAINST = "general-failing-best-of-4"


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/unseen")
    print("| task | row | solved | fixed (of wrong drafts) | broken (of right) | decodes | vs the general pick of 4 |")
    print("|---|---|---|---|---|---|---|")
    for task in sorted(p.name for p in out.iterdir() if (p / "none" / "eval.jsonl").exists()):
        base = compute.finals(out / task / "none" / "eval.jsonl", False)
        wrong = [i for i, ok in base.items() if not ok]
        right = [i for i in base if base[i]]
        against = out / task / AGAINST / "metrics.json"
        best = compute.finals(out / task / AGAINST / "eval.jsonl", False) if against.exists() else None
        for short, name in ROWS:
            metrics = out / task / short / "metrics.json"
            if not metrics.exists():
                continue
            m = json.loads(metrics.read_text())
            vote = "self_consistency" in m and len(m["rounds"]) == 1 and short.startswith(("vote", "best"))
            final = compute.finals(out / task / short / "eval.jsonl", vote)
            fixed = sum(final[i] for i in wrong)
            broken = sum(not final[i] for i in right)
            solved = sum(final.values()) / len(final)
            sign = ""
            if best is not None and short != AGAINST:
                a, b, p = compute.paired(best, final)
                sign = f"{a} vs {b}, p = {p:.2g}"
            decodes = compute.inference_cost(m, vote)["decodes"]
            share = 100 * fixed / max(1, len(wrong))
            print(
                f"| {task} | {name} | {100 * solved:.1f}% | {fixed} of {len(wrong)} ({share:.1f}%) "
                f"| {broken} of {len(right)} | {decodes:.2f} | {sign} |"
            )


if __name__ == "__main__":
    main()
