"""Would int8 matrix products draft faster without changing the drafts? torch's dynamic int8
``Linear`` (fbgemm; weights and activations in 8 bits) beside float32, on the word problems'
3-shot prompts: CPU time of one greedy batch, the next-token agreement with float32 at every
position of a prompt, how many greedy drafts come out the same, and how many are right
(docs/benchmarks.md).

    python bench/int8.py                      # SmolLM2 (`correct prepare smollm2`), 32 prompts
    python bench/int8.py --model tasks/models/arithmetic-generator --task arithmetic --shots 0 --prompts 4
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORD_PROBLEMS = ROOT / "docs" / "examples" / "word-problems" / "word-problems.yaml"


def quantized(model, per_channel: bool):
    """A copy of ``model`` with every ``Linear`` in dynamic int8 (per-tensor or per-channel scales)."""
    import torch
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    with warnings.catch_warnings():  # torch's dynamic quantization is deprecated: the point is to measure it
        warnings.simplefilter("ignore")
        return quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear: qconfig}, dtype=torch.qint8)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--task", default=str(WORD_PROBLEMS), help="a task name or file (default: the word problems)")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--shots", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    from correct.generators import SamplingParams, load_generator, threads
    from correct.generators.hf import HFGenerator
    from correct.tasks import few_shot_prompt, get_task
    from correct.values import load_value

    hf_logging.set_verbosity_error()
    threads.configure(args.threads)  # else each generate call picks the threads free at that moment
    torch.set_num_threads(args.threads)
    task = get_task(args.task)
    records = task.make_split("test", args.prompts, 0)
    prompts = [few_shot_prompt(task, args.shots)(r) for r in records]
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    base = load_generator(args.model)
    models = {"float32": base.model, "int8, per-tensor": quantized(base.model, False)}
    models["int8, per-channel"] = quantized(base.model, True)
    ids = base.tokenizer(prompts[0], return_tensors="pt").input_ids
    with torch.inference_mode():
        reference = base.model(ids).logits[0].argmax(-1)
        agree = {name: (m(ids).logits[0].argmax(-1) == reference).float().mean().item() for name, m in models.items()}
    engines = {name: HFGenerator(m, base.tokenizer, batch_size=len(prompts)) for name, m in models.items()}
    seconds, drafts = {}, {}
    for _ in range(2):  # each in turn, twice; the faster of the two
        for name, e in engines.items():
            t = time.process_time()
            drafts[name] = [c[0] for c in e.generate(prompts, params)]
            seconds[name] = min(seconds.get(name, float("inf")), time.process_time() - t)
    with load_value(task.value) as value:
        solved = {name: sum(s.value == value.max_value for s in value(records, d)) for name, d in drafts.items()}
    print(f"{len(prompts)} {task.name} prompts, {args.shots}-shot, greedy, one batch; {args.threads} thread(s)")
    print("  weights             CPU-s  speed-up  next token as float32  drafts as float32  solved")
    result = {}
    for name in models:
        same = sum(a == b for a, b in zip(drafts[name], drafts["float32"]))
        speed = seconds["float32"] / seconds[name]
        print(
            f"  {name:18s} {seconds[name]:6.1f}  {speed:7.2f}x  {agree[name]:21.0%}  {same:>8d} of {len(prompts)}"
            f"  {solved[name]:>6d}"
        )
        result[name] = {
            "cpu_seconds": seconds[name],
            "speed_up": speed,
            "next_token_agree": agree[name],
            "same": same,
            "solved": solved[name],
        }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
