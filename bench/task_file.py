"""A task file's drafting, measured side by side in one run: the same prompts (the task's
few-shot prompt, greedy) drafted with the task's stop strings and without them, batch by
batch in turn.

Prints, for each: seconds per prompt, and the share of drafts solved at round 0; and for the
run without stops, the share of drafts that ran past a stop string (what the stops cut). The
ratio of the two draft times is the result (absolute times on a shared machine mean little).

    python bench/task_file.py --task docs/examples/word-problems/word-problems.yaml --limit 50
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from correct.corrector.app.loading import quiet_libraries
from correct.generators import SamplingParams, load_generator
from correct.tasks import few_shot_prompt, get_task
from correct.values import load_value


def draft_both(
    generator, prompts: list[str], params: SamplingParams, batch_size: int
) -> dict[str, tuple[list[str], float]]:
    """Each batch drafted with the stop strings, then without them, in turn: a busy machine
    slows both the same way, so their ratio holds."""
    runs = {"with stops": params, "without stops": replace(params, stop=())}
    done = {name: ([], 0.0) for name in runs}
    for b in range(0, len(prompts), batch_size):
        for name, p in runs.items():
            start = time.perf_counter()
            texts = [c[0] for c in generator.generate(prompts[b : b + batch_size], p)]
            done[name] = (done[name][0] + texts, done[name][1] + time.perf_counter() - start)
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", required=True, help="task file (or built-in task name)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--generator", default=None, help="default: the task's")
    ap.add_argument("--shots", type=int, default=None, help="default: the task's")
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()

    task = get_task(args.task)
    records = task.make_split(args.split, args.limit, 0)
    fmt = few_shot_prompt(task, args.shots)
    prompts = [fmt(r) for r in records]
    value = load_value(task.value)
    quiet_libraries()
    generator = load_generator(args.generator or task.generator)
    params = SamplingParams(
        temperature=0.0, max_new_tokens=task.max_new_tokens or SamplingParams.max_new_tokens, stop=task.stop
    )
    rows = {}
    try:
        for name, (texts, seconds) in draft_both(generator, prompts, params, args.batch_size).items():
            scores = value(records, texts)
            rows[name] = {
                "seconds_per_prompt": seconds / len(prompts),
                "solved": sum(s.value is not None and s.value >= value.max_value for s in scores) / len(scores),
            }
            if name == "without stops":
                rows[name]["ran_past_a_stop"] = sum(any(s in t for s in task.stop) for t in texts) / len(texts)
    finally:
        value.close()
    rows["draft_time_ratio_without_over_with"] = (
        rows["without stops"]["seconds_per_prompt"] / rows["with stops"]["seconds_per_prompt"]
    )
    print(
        json.dumps(
            {
                "task": task.name,
                "prompts": len(prompts),
                "shots": args.shots if args.shots is not None else task.shots.k,
                "generator": args.generator or task.generator,
                **rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
