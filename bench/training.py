"""Training-throughput benchmark, measured side by side in one run (absolute times on a shared
machine mean little; the ratio is the result).

Corrector training (``train_rows``: ``CorrectorTrainer`` with ``PadCollator``) against a plain
``transformers.Trainer`` with ``DataCollatorForSeq2Seq`` on the same rows, the same initial
weights (a fresh ``copy.deepcopy`` for every run) and the same ``TrainingArguments`` values
(batch size, learning rate and schedule, steps, seed, no saving, no reporting). The rows are
built as a pairing corrector's are: ``corrector_input`` of an arithmetic prompt, a wrong draft
and its feedback, with the reference program as the target, encoded by ``encode_examples``.
The two paths alternate for ``--rounds`` rounds (the first path swaps every round), so a busy
machine slows both alike.

Tokens/s is the non-pad tokens of the batches the optimiser saw (counted in the collator)
per second of ``trainer.train()`` wall time; ``ratio`` is ours / plain (goal: >= 0.9).

    python bench/training.py [--steps 30] [--batch 16] [--rounds 3] [--threads 1]
    python bench/training.py --model ~/.cache/correct/smollm2-135m-instruct --steps 10 --batch 8
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers.utils import logging as hf_logging

from correct.corrector import progress
from correct.corrector.layouts import corrector_input
from correct.corrector.training import objectives
from correct.corrector.training.config import TrainConfig
from correct.corrector.training.encode import context_size, encode_examples
from correct.corrector.training.fit import train_rows
from correct.generators import threads
from correct.tasks import get_task


def wrong_draft(solution: str) -> str:
    """The reference program with its first operation flipped: a draft to correct."""
    for a, b in ((" + ", " - "), (" - ", " + ")):
        if a in solution:
            return solution.replace(a, b, 1)
    return solution.replace("print(x)", "x = x + 1\nprint(x)")


def printed(program: str) -> str:
    """What the (task-generated, plain arithmetic) program prints: the draft's feedback."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(program, {"__builtins__": {"print": print}})  # noqa: S102 - our own generated programs
    return out.getvalue().strip()


def pairing_examples(n: int, seed: int) -> list[tuple[str, str]]:
    """(corrector input, target) pairs as the pairing method builds them, over arithmetic records."""
    task = get_task("arithmetic")
    examples = []
    for r in task.make_split("train", n, seed):
        draft = wrong_draft(r["solution"])
        source = corrector_input("default", task.format_prompt(r), draft, f"printed {printed(draft)}")
        examples.append((source, r["solution"]))
    return examples


class Counting:
    """A collator that counts the non-pad tokens of every batch it builds."""

    def __init__(self, collator, pad_id: int):
        self.collator, self.pad_id, self.tokens = collator, pad_id, 0

    def __call__(self, features):
        batch = self.collator(features)
        mask = batch.get("attention_mask")
        self.tokens += int(mask.sum()) if mask is not None else int((batch["input_ids"] != self.pad_id).sum())
        return batch


_train_seconds: list[float] = []


def _timed_train(real):
    def train(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return real(self, *args, **kwargs)
        finally:
            _train_seconds.append(time.perf_counter() - t)

    return train


def run_ours(model, tokenizer, rows, steps: int, config: TrainConfig, out: Path) -> dict:
    """``train_rows`` as corrector training calls it; its ``PadCollator`` counts tokens here."""
    counters = []

    class CountingPad(objectives.PadCollator):
        def __init__(self, pad_id):
            super().__init__(pad_id)
            counters.append(Counting(super().__call__, pad_id))

        def __call__(self, features):
            return counters[0](features)

    real, objectives.PadCollator = objectives.PadCollator, CountingPad
    try:
        stats = train_rows(model, tokenizer, rows, len(rows), steps, config, out)
    finally:
        objectives.PadCollator = real
    return {"seconds": _train_seconds[-1], "tokens": counters[0].tokens, "loss": stats["loss"]}


def run_plain(model, tokenizer, rows, steps: int, config: TrainConfig, out: Path) -> dict:
    """What a user writes with transformers alone: Trainer + DataCollatorForSeq2Seq, the same
    argument values as ``train_rows`` uses."""
    from datasets import Dataset
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    config = config.resolved()
    args = TrainingArguments(
        output_dir=str(out),
        max_steps=steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=min(50, steps // 10),
        weight_decay=0.0,
        logging_steps=max(1, steps // 10),
        save_strategy="no",
        report_to="none",
        seed=config.seed,
        disable_tqdm=not progress.bar_for_trainer(),  # as train_rows: plain lines where stderr is a file
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
    )
    side, tokenizer.padding_side = tokenizer.padding_side, "right"
    collator = Counting(DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100), tokenizer.pad_token_id)
    trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_list(list(rows)), data_collator=collator)
    trainer.remove_callback(PrinterCallback)
    for callback in progress.trainer_callbacks():
        trainer.add_callback(callback)
    try:
        result = trainer.train()
    finally:
        tokenizer.padding_side = side
    return {"seconds": _train_seconds[-1], "tokens": collator.tokens, "loss": result.training_loss}


def load(model_path: str | None, examples: list[tuple[str, str]]):
    if model_path is None:
        from correct.corrector.training.tiny import build_model, build_tokenizer

        tokenizer = build_tokenizer([s + t for s, t in examples])
        return build_model(tokenizer), tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = str(Path(model_path).expanduser())
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model, tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="a causal LM folder (default: a tiny GPT-2 built here)")
    ap.add_argument("--examples", type=int, default=512)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = ap.parse_args()
    if args.threads:
        threads.configure(args.threads)  # else each training iteration picks the threads free at that moment
        torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()

    from transformers import Trainer

    Trainer.train = _timed_train(Trainer.train)  # CorrectorTrainer inherits it: both timed alike

    examples = pairing_examples(args.examples, args.seed)
    base, tokenizer = load(args.model, examples)
    rows = encode_examples(tokenizer, examples, context_size(base))
    config = TrainConfig(batch_size=args.batch, learning_rate=args.lr, seed=args.seed)
    paths = {"ours": run_ours, "plain": run_plain}
    runs = {name: [] for name in paths}
    # The Trainer's progress callback writes each log dict to stdout: keep stdout for the JSON.
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
        for name, fn in paths.items():  # warm-up: first calls pay for lazy initialisation
            fn(copy.deepcopy(base), tokenizer, rows, 2, config, Path(tmp) / f"warm-{name}")
        names = list(paths)
        for k in range(args.rounds):
            for name in names[k % 2 :] + names[: k % 2]:
                runs[name].append(
                    paths[name](copy.deepcopy(base), tokenizer, rows, args.steps, config, Path(tmp) / f"{name}-{k}")
                )

    result = {
        "model": args.model or "tiny gpt-2",
        "rows": len(rows),
        "steps": args.steps,
        "batch": args.batch,
        "rounds": args.rounds,
        "threads": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    for name, rs in runs.items():
        result[name] = {
            "tokens_per_s": sum(r["tokens"] for r in rs) / sum(r["seconds"] for r in rs),
            "per_round_tokens_per_s": [round(r["tokens"] / r["seconds"], 1) for r in rs],
            "tokens_per_run": rs[0]["tokens"],
            "final_loss": [r["loss"] for r in rs],
        }
    result["ratio"] = result["ours"]["tokens_per_s"] / result["plain"]["tokens_per_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
