"""How every trainer here turns text into training rows, and the ``TrainingArguments`` they
share: loss on the target tokens only, rows that fit the model's context."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .. import progress


def encode(tokenizer, source: str, target: str, max_length: int) -> dict | None:
    """Token ids of source+target+eos with labels only on the target (and eos): the loss is
    −log p(y' | context), never on the context itself. None if it does not fit.

    The source is tokenized as inference tokenizes a prompt (generators/hf.py), with the
    tokenizer's own special tokens (a Llama-like tokenizer's BOS; GPT-2's adds none), so the
    corrector is trained on exactly the ids it is later given; the target follows without any."""
    src = tokenizer(source)["input_ids"]
    tgt = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    if len(src) + len(tgt) > max_length:
        return None
    return {"input_ids": src + tgt, "labels": [-100] * len(src) + tgt}


def leading_special_ids(tokenizer) -> list[int]:
    """The special tokens the tokenizer puts before a text when it adds its own (a BOS), for
    rows built piece by piece (Chain of Hindsight) to start as a tokenized prompt starts."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    starts = [i for i in range(len(full) - len(bare) + 1) if full[i : i + len(bare)] == bare]
    return full[: starts[0]] if starts else []


def encode_examples(tokenizer, examples: Sequence[tuple[str, str]], max_length: int) -> list[dict]:
    """``encode`` of each (source, target); those that do not fit ``max_length`` are left out."""
    return [e for e in (encode(tokenizer, s, t, max_length) for s, t in examples) if e]


def context_size(model) -> int:
    return getattr(model.config, "n_positions", None) or model.config.max_position_embeddings


def training_arguments(
    output_dir: str | Path,
    steps: int,
    batch_size: int,
    learning_rate: float,
    lr_scheduler: str,
    seed: int,
    report_to: Sequence[str] = (),
    save_steps: int = 0,
    save_total_limit: int | None = None,
    gradient_checkpointing: bool = False,
    warmup_steps: int | None = None,
    **extra,
):
    """transformers ``TrainingArguments`` as every trainer here uses them: ``steps`` optimizer
    steps, a short warm-up (``warmup_steps``; by default a tenth, at most 50), no checkpoints,
    no reporting, on the GPU when there is one; ``extra`` passes more through (accumulation
    steps, bf16/fp16)."""
    import dataclasses

    import torch
    from transformers import TrainingArguments

    if gradient_checkpointing:  # transformers 5 renamed it; the old name is a deprecated alias there
        names = {f.name for f in dataclasses.fields(TrainingArguments)}
        extra["activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"] = True
    return TrainingArguments(
        output_dir=str(output_dir),
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type=lr_scheduler,
        warmup_steps=min(50, steps // 10) if warmup_steps is None else warmup_steps,
        weight_decay=0.0,
        logging_steps=max(1, steps // 10),
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        save_total_limit=save_total_limit,
        report_to=list(report_to) or "none",
        seed=seed,
        disable_tqdm=not progress.bar_for_trainer(),  # plain lines instead: progress.trainer_callbacks
        use_cpu=not torch.cuda.is_available(),  # also keeps the data loader from pinning memory on CPU
        dataloader_num_workers=0,
        **extra,
    )
