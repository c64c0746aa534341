"""``steps`` optimizer steps on encoded rows with transformers' Trainer (through
``objectives.CorrectorTrainer``): the one place a corrector's weights are updated."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Sequence

from .. import progress
from . import distributed, resume
from .config import TrainConfig, TrainError
from .encode import context_size, encode_examples, training_arguments

log = logging.getLogger(__name__)


def train_lm(
    model,
    tokenizer,
    examples: Sequence[tuple[str, str]],
    steps: int,
    config: TrainConfig,
    output_dir: Path,
    checkpoints: bool = False,
) -> dict:
    """``steps`` optimizer steps of target-only cross-entropy with transformers' Trainer, plus
    λ times the language-modelling loss on ``config.lm_corpus`` where one is given (as the
    corrector's training adds it)."""
    from .objectives import lm_blocks

    max_length = context_size(model)
    rows = encode_examples(tokenizer, examples, max_length)
    lm_rows = lm_blocks(config.lm_corpus, tokenizer, min(128, max_length)) if config.lm_corpus else None
    return train_rows(
        model, tokenizer, rows, len(examples), steps, config, output_dir, lm_rows, checkpoints=checkpoints
    )


def train_rows(
    model,
    tokenizer,
    rows: Sequence[dict],
    n_examples: int,
    steps: int,
    config: TrainConfig,
    output_dir: Path,
    lm_rows: Sequence[dict] | None = None,
    checkpoints: bool = False,
    cpu_before: float = 0.0,
) -> dict:
    """``steps`` optimizer steps on encoded rows (``input_ids``, ``labels`` with -100 where
    there is no loss, optionally ``attention_mask``; HIR rows also ``opp_*``); rows longer
    than the model's context are dropped. ``lm_rows`` add λ·LM loss (objectives.py).

    ``config.cpu_budget`` is the whole run's, of which ``cpu_before`` CPU-seconds were spent
    before this process; a step checkpoint resumed from counts what its process had spent by
    then. The stats' ``cpu_before`` is what this process found spent."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback

    from ...generators import threads
    from .budget import CpuBudget, spent_at
    from .objectives import CorrectorTrainer, PadCollator

    config = config.resolved()  # checked once by whoever started the run, not at every iteration
    max_length = context_size(model)
    rows = [r for r in rows if all(len(v) <= max_length for k, v in r.items() if k.endswith("input_ids"))]
    if len(rows) < n_examples:
        log.warning("dropped %d of %d examples longer than %d tokens", n_examples - len(rows), n_examples, max_length)
    if not rows:
        raise TrainError("no training examples fit the model's context")
    if not distributed.launched():
        threads.apply()  # the cores free as this iteration starts (a launcher sets its own)
    side, tokenizer.padding_side = tokenizer.padding_side, "right"  # training pads on the right
    # With ``checkpoints``, the Trainer saves its whole state every config.save_steps steps into
    # output_dir, and a resumed run continues from the newest complete one.
    last = resume.last_step_checkpoint(Path(output_dir)) if checkpoints and config.resume else None
    if checkpoints and not config.resume:
        resume.drop_step_checkpoints(Path(output_dir))  # a fresh run never continues an old one
    # --batch-size rows per optimizer step, whatever the processes and accumulation steps.
    micro_batch = distributed.per_process_batch(config.batch_size) // config.gradient_accumulation_steps
    args = training_arguments(
        output_dir,
        steps,
        micro_batch,
        config.learning_rate,
        config.lr_scheduler,
        config.seed,
        config.report_to,
        save_steps=config.save_steps if checkpoints else 0,
        save_total_limit=config.save_total_limit,
        gradient_checkpointing=config.gradient_checkpointing,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        bf16=config.bf16,
        fp16=config.fp16,
        warmup_steps=config.warmup_steps,
        remove_unused_columns=False,
    )  # HIR's opp_* columns are not model arguments
    trainer = CorrectorTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(list(rows)),
        data_collator=PadCollator(tokenizer.pad_token_id),
        contrastive_weight=config.contrastive_weight,
        lm_rows=lm_rows,
        lm_weight=config.lm_weight,
    )
    trainer.remove_callback(PrinterCallback)  # losses go to our log, not as raw dicts to stdout
    for callback in progress.trainer_callbacks():
        trainer.add_callback(callback)
    for callback in resume.step_callbacks():
        trainer.add_callback(callback)
    if not distributed.launched():
        trainer.add_callback(follow_cores())
    earlier = max(cpu_before, spent_at(last))
    trainer.add_callback(
        CpuBudget(math.inf if config.cpu_budget is None else config.cpu_budget - earlier, offset=earlier)
    )
    try:
        result = trainer.train(resume_from_checkpoint=last)
    finally:
        tokenizer.padding_side = side
    model.eval()
    # Tokens the optimiser saw (and per second): each step takes a global batch of rows. A
    # --cpu-budget may have ended the run before ``steps``.
    per_row = sum(len(r["input_ids"]) for r in rows) / len(rows)
    seconds = result.metrics.get("train_runtime") or float("nan")
    done = result.global_step
    tokens = done * micro_batch * args.gradient_accumulation_steps * args.world_size * per_row
    stats = {
        "loss": result.training_loss,
        "steps": done,
        "examples": len(rows),
        "processes": args.world_size,
        "train_tokens": round(tokens),
        "train_tokens_per_s": tokens / seconds,
        "cpu_before": earlier,
    }
    if last:  # a resumed run continued this iteration from a step checkpoint
        stats["resumed_from_step"] = int(Path(last).name.split("-")[1])
    return stats


FOLLOW_SECONDS = 30.0
"""How often a training iteration looks again at the cores free (generators/threads.py)."""


def follow_cores(every: float | None = None):
    """A Trainer callback that sets torch's threads again (``threads.apply``) before a step once
    ``every`` seconds have passed since it last did: an iteration can run for half an hour,
    and the cores taken or free as it began need not stay so. A fixed count (``--threads``,
    ``OMP_NUM_THREADS``) stays fixed. ``every`` defaults to ``FOLLOW_SECONDS``."""
    import time

    from transformers import TrainerCallback

    from ...generators import threads

    class FollowCores(TrainerCallback):
        def __init__(self):
            self.last = time.monotonic()  # the iteration's start has just set them

        def on_step_begin(self, args, state, control, **kwargs):
            now = time.monotonic()
            if now - self.last >= (FOLLOW_SECONDS if every is None else every):
                self.last = now
                threads.apply()

    return FollowCores()
