"""Generation benchmark, measured side by side in one run (absolute times on a shared machine
mean little; the ratios are the result).

1. Throughput of the `hf` backend's batched generation against a per-prompt
   ``model.generate`` loop on the same model, prompts and greedy settings.
2. The time of each refinement round against round 0, with the number of drafts each round
   decoded: later rounds should cost in proportion to the drafts still being corrected.

    python bench/generation.py [--prompts 128] [--generator PATH] [--corrector PATH]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from transformers.utils import logging as hf_logging

from correct.corrector.model import Corrector
from correct.corrector.refine import RoundCost, refine
from correct.tasks import get_task
from correct.generators import SamplingParams, truncate_at_stop
from correct.generators.hf import HFGenerator
from correct.values import load_value


def per_prompt_loop(gen: HFGenerator, prompts: list[str], params: SamplingParams) -> list[str]:
    """What a user writes without batching: one ``generate`` call per prompt."""
    tok, out = gen.tokenizer, []
    with torch.inference_mode():
        for p in prompts:
            enc = tok(p, return_tensors="pt")
            ids = gen.model.generate(**enc, max_new_tokens=params.max_new_tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id, stop_strings=list(params.stop), tokenizer=tok)
            out.append(truncate_at_stop(tok.decode(ids[0, enc["input_ids"].shape[1]:], skip_special_tokens=True), params.stop))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="arithmetic")
    ap.add_argument("--prompts", type=int, default=128)
    ap.add_argument("--generator", default=None)
    ap.add_argument("--corrector", default=None)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()

    task = get_task(args.task)
    records = task.make_split("test", args.prompts, 0)
    prompts = [task.format_prompt(r) for r in records]
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    gen = HFGenerator.from_pretrained(args.generator or task.generator)
    gen.generate(prompts[:4], params)  # warm-up: first calls pay for lazy initialisation

    t = time.perf_counter()
    loop = per_prompt_loop(gen, prompts, params)
    t_loop = time.perf_counter() - t
    t = time.perf_counter()
    batched = [c[0] for c in gen.generate(prompts, params)]
    t_batch = time.perf_counter() - t
    same = sum(a == b for a, b in zip(loop, batched)) / len(prompts)
    print(f"throughput ({len(prompts)} prompts, greedy, {torch.get_num_threads()} threads)")
    print(f"  per-prompt loop : {len(prompts) / t_loop:8.1f} prompts/s")
    print(f"  hf batched      : {len(prompts) / t_batch:8.1f} prompts/s")
    print(f"  speed-up        : {t_loop / t_batch:8.2f}x   (identical outputs: {same:.0%})")

    value = load_value(task.value)
    corrector = Corrector.from_pretrained(args.corrector or task.corrector)
    cost = RoundCost()
    refine(records, prompts, gen, corrector, value, args.rounds, params, cost)
    print(f"refinement rounds ({len(prompts)} prompts; round 0 is the generator)")
    print("  round  seconds  vs round 0  drafts decoded  seconds per draft vs round 0")
    per0 = cost.seconds[0] / cost.decoded[0]
    for r, (s, n) in enumerate(zip(cost.seconds, cost.decoded)):
        per = s / n if n else 0.0
        print(f"  {r:5d}  {s:7.2f}  {s / cost.seconds[0]:9.2f}x  {n:14d}  {per / per0:9.2f}x")
    print(json.dumps({"speedup": t_loop / t_batch, "round_seconds": cost.seconds, "round_decoded": cost.decoded}))


if __name__ == "__main__":
    main()
