"""GRPO on the generator itself: what a user who can fine-tune the generator would try beside a
corrector (bench/new_task.py's ``grpo`` row). TRL's ``GRPOTrainer`` trains a LoRA adapter on
the generator with the task's training prompts, in the same few-shot layout the generator
drafts in, rewarded by the task's own value (a program run in the sandbox and compared with
the answer); the trained generator then drafts once, greedily, like any other:

    python bench/grpo.py --task docs/examples/word-problems/word-problems.yaml --output runs/grpo [--cpu-budget 4000]
    correct generate --task docs/examples/word-problems/word-problems.yaml --generator runs/grpo --shots 3 --rounds 0

Needs TRL (``pip install trl``; an optional bench dependency). Completions end at the task's
stop strings, also those that span tokens (``stop_at_stop_strings``; TRL masks what follows),
and the reward sees each completion cut where the task would cut it. With ``--cpu-budget`` the run
stops after the step that spends it (CPU-seconds of this process, loading included; the
learning rate is constant after a warm-up, so a cut run is the same run up to there).
It trains in float32, as every other row does: TRL's default, bfloat16 autocast, made a step 5
times slower on a CPU without bfloat16 instructions.
Writes the adapter, its tokenizer and ``stats.json`` (steps, precision, CPU-seconds, tokens) to OUTPUT;
``--resume`` continues from the last checkpoint with the CPU already spent counted.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path


def stop_token_ids(tokenizer, stops) -> list[int]:
    """Every token whose text holds one of the stop strings: generating it ends the completion."""
    if not stops:
        return []
    return [i for i in range(len(tokenizer)) if any(s in tokenizer.decode([i]) for s in stops)]


def stop_at_stop_strings(model, tokenizer, stops) -> None:
    """Completions end where the task would cut them. A stop string may span tokens (SmolLM2
    writes "\\n\\n" as two), so ``generate`` stops on the strings themselves (``stop_strings``,
    which needs the tokenizer at generate time, given here), and on any single token holding
    one. A row that stopped early is padded: the pad token ends a completion too, since TRL
    keeps a completion up to its first end-of-text id."""
    config = model.generation_config
    eos = config.eos_token_id
    eos = [eos] if isinstance(eos, int) else list(eos or [tokenizer.eos_token_id])
    extra = stop_token_ids(tokenizer, stops) + ([tokenizer.pad_token_id] if stops else [])
    config.eos_token_id = eos + [i for i in dict.fromkeys(extra) if i is not None and i not in eos]
    if stops:
        model.generate = functools.partial(model.generate, tokenizer=tokenizer)


def task_dataset(task, limit: int, shots: int, seed: int):
    """The training prompts in the generator's few-shot layout, each with its record (as JSON)."""
    from datasets import Dataset

    from correct.tasks import few_shot_prompt

    records = task.make_split("train", limit, seed)
    fmt = few_shot_prompt(task, shots, seed)
    return Dataset.from_list([{"prompt": fmt(r), "record": json.dumps(r)} for r in records])


def value_reward(value, stops):
    """The task's value as a TRL reward function: each completion cut at the stop strings,
    scored against its record (an unknown value counts 0)."""
    from correct.generators.base import truncate_at_stop

    def reward(prompts, completions, record, **_):
        outputs = [truncate_at_stop(c, stops) for c in completions]
        scores = value([json.loads(r) for r in record], outputs)
        return [0.0 if s.value is None else float(s.value) for s in scores]

    reward.__name__ = f"value_{getattr(value, 'name', 'task')}"
    return reward


def last_checkpoint(output: Path) -> Path | None:
    folders = sorted(output.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return folders[-1] if folders else None


def train(args: argparse.Namespace) -> dict:
    from trl import GRPOConfig, GRPOTrainer

    from correct.corrector.training.budget import CpuBudget, cpu_seconds, spent_at
    from correct.corrector.training.config import TrainConfig
    from correct.corrector.training.trainee import load_trainee, save_weights
    from correct.tasks import get_task
    from correct.values import load_value

    start = time.perf_counter()
    task = get_task(str(args.task))
    value = load_value(task.value)
    stops = list(task.stop)
    hf, _ = load_trainee(args.generator, TrainConfig(lora_r=args.lora_r, seed=args.seed))
    stop_at_stop_strings(hf.model, hf.tokenizer, stops)
    checkpoint = last_checkpoint(args.output) if args.resume else None
    before = spent_at(checkpoint)
    budget = CpuBudget(args.cpu_budget - before if args.cpu_budget else float("inf"), offset=before)
    config = GRPOConfig(
        output_dir=str(args.output),
        max_steps=args.steps,
        per_device_train_batch_size=args.prompts * args.num_generations,
        num_generations=args.num_generations,
        max_completion_length=args.max_new_tokens or task.max_new_tokens or 128,
        temperature=args.temperature,
        learning_rate=args.learning_rate,
        lr_scheduler_type="constant_with_warmup",
        warmup_steps=args.warmup_steps,
        beta=args.beta,
        seed=args.seed,
        use_cpu=True,
        bf16=False,  # TRL's default autocasts to bfloat16: 5x slower on a CPU without bf16 instructions
        logging_steps=1,
        report_to="none",
        save_steps=args.save_steps,
        save_total_limit=1,
        disable_tqdm=True,
        gradient_checkpointing=False,  # TRL's default recomputes activations: more CPU, and the other rows keep theirs
        generation_kwargs={"stop_strings": stops} if stops else None,
    )
    trainer = GRPOTrainer(
        model=hf.model,
        reward_funcs=value_reward(value, stops),
        args=config,
        train_dataset=task_dataset(task, args.limit, args.shots, args.seed),
        processing_class=hf.tokenizer,
        callbacks=[budget],
    )
    try:
        result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    finally:
        value.close()
    hf.model = trainer.model
    save_weights(hf, args.output)
    hf.tokenizer.save_pretrained(args.output)
    history = trainer.state.log_history
    steps = [h for h in history if "reward" in h]
    stats = {
        "steps": result.global_step,
        "precision": "bfloat16" if trainer.args.bf16 else "float16" if trainer.args.fp16 else "float32",
        "stopped_by_budget": budget.stopped_at is not None,
        "cpu_seconds": before + cpu_seconds(),
        "seconds": time.perf_counter() - start,
        "tokens": max((h.get("num_tokens", 0) for h in history), default=0),
        "generated_tokens": round(
            sum(h.get("completions/mean_length", 0.0) for h in steps) * args.prompts * args.num_generations
        ),
        "mean_reward_first": _mean([h["reward"] for h in steps[:10]]),
        "mean_reward_last": _mean([h["reward"] for h in steps[-10:]]),
    }
    (args.output / "stats.json").write_text(json.dumps(stats) + "\n")
    return stats


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", type=Path, default=Path("docs/examples/word-problems/word-problems.yaml"))
    ap.add_argument("--generator", default="smollm2", help="the generator trained (a LoRA adapter on it)")
    ap.add_argument(
        "--shots", type=int, default=3, help="solved examples before each training prompt, as when drafting"
    )
    ap.add_argument("--limit", type=int, default=600, help="training prompts")
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=1000, help="optimizer steps at most (--cpu-budget may end it first)")
    ap.add_argument(
        "--cpu-budget", type=float, default=None, help="stop after the step that spends this many CPU-seconds"
    )
    ap.add_argument("--num-generations", type=int, default=4, help="completions per prompt: GRPO's group")
    ap.add_argument("--prompts", type=int, default=4, help="prompts per optimizer step")
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--max-new-tokens", type=int, default=None, help="default: the task's")
    ap.add_argument("--learning-rate", type=float, default=1e-4)
    ap.add_argument("--warmup-steps", type=int, default=5)
    ap.add_argument(
        "--beta", type=float, default=0.0, help="KL weight against the starting model (TRL's default 0: none)"
    )
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--save-steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="continue from the last checkpoint in OUTPUT")
    args = ap.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    stats = train(args)
    print(json.dumps(stats))
    return stats


if __name__ == "__main__":
    main()
