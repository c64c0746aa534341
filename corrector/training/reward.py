"""Training a reward model on preference pairs, for the ``reward-model`` value.

A preference record has a ``prompt``, a ``chosen`` output and a ``rejected`` one. The model
(a sequence classifier with one output, started from any causal-LM or classification
checkpoint) learns r(prompt, chosen) > r(prompt, rejected) through the pairwise loss

    −log σ(r_chosen − r_rejected)

with transformers' ``Trainer``. Pairs are encoded exactly as the value scores them
(``values.reward.PairEncoder``). The saved folder is a sequence-classification model plus
its tokenizer and ``correct_config.json`` (method ``reward-model`` and the settings), ready
for ``--value reward-model:FOLDER``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ...values import ValueFunctionError
from ...values.hf import context_length, loading_errors, pad_right, quiet_transformers
from ...values.reward import PairEncoder, prepare_tokenizer
from .. import progress
from ..model import CONFIG_NAME
from ..outputs import RecordError, read_jsonl, write_json_atomic
from .encode import training_arguments

log = logging.getLogger(__name__)

FIELDS = ("prompt", "chosen", "rejected")


def read_preferences(path: str | os.PathLike) -> list[dict]:
    """Preference records of a JSONL file; errors name the file and line."""
    records = read_jsonl(path, FIELDS)
    with open(path, encoding="utf-8") as f:  # read_jsonl skips blank lines: so do we
        lines = [n for n, line in enumerate(f, 1) if line.strip()]
    for n, record in zip(lines, records):
        for key in FIELDS:
            if not isinstance(record[key], str):
                raise RecordError(f"{path}:{n}: `{key}` must be a string, got {type(record[key]).__name__}")
    if not records:
        raise RecordError(f"{path}: no preference records")
    return records


@dataclass
class PairCollator:
    """Right-pads a batch of pairs into one tensor: the chosen texts first, then the rejected
    ones in the same order, so ``rewards.chunk(2)`` splits them back into pairs."""

    pad_token_id: int | None

    def __call__(self, rows: Sequence[dict]) -> dict:
        return pad_right([r["chosen"] for r in rows] + [r["rejected"] for r in rows], self.pad_token_id)


def pairwise_loss(chosen, rejected):
    """Mean of −log σ(r_chosen − r_rejected) (logsigmoid: stable for large margins)."""
    import torch.nn.functional as F

    return -F.logsigmoid(chosen - rejected).mean()


def _trainer_class():
    from transformers import Trainer

    class PairwiseRewardTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            rewards = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits.squeeze(-1)
            chosen, rejected = rewards.float().chunk(2)
            loss = pairwise_loss(chosen, rejected)
            return (loss, {"chosen": chosen, "rejected": rejected}) if return_outputs else loss

    return PairwiseRewardTrainer


def load_base(base: str):
    """A one-output sequence classifier (and its tokenizer) from a causal-LM or classification
    checkpoint; the reward head is new (seeded by the caller) unless it already has one output."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    with loading_errors(base, "base model") as path:
        with quiet_transformers():  # "score.weight MISSING" is the point: we add the head
            model, info = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=1, ignore_mismatched_sizes=True, output_loading_info=True
            )
        tokenizer = AutoTokenizer.from_pretrained(path)
    if info.get("missing_keys"):
        log.info("new reward head: %s", ", ".join(sorted(info["missing_keys"])))
    return model, tokenizer


def reward_trainer(
    model,
    tokenizer,
    rows: Sequence[dict],
    output_dir: str | Path,
    steps: int,
    lr: float,
    batch_size: int,
    seed: int,
    lr_scheduler: str = "cosine",
):
    """The ``Trainer`` for tokenized pairs (``{"chosen": ids, "rejected": ids}`` rows)."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback

    # the columns are `chosen`/`rejected`, not model arguments: keep them
    args = training_arguments(output_dir, steps, batch_size, lr, lr_scheduler, seed, remove_unused_columns=False)
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(list(rows)),
        data_collator=PairCollator(tokenizer.pad_token_id),
    )
    trainer.remove_callback(PrinterCallback)  # losses go to our log, not as raw dicts to stdout
    for callback in progress.trainer_callbacks():
        trainer.add_callback(callback)
    return trainer


def encode_pairs(encoder: PairEncoder, pairs: Sequence[dict]) -> tuple[list[dict], int]:
    """Token rows of the pairs, and how many pairs were cut to fit (oldest tokens first)."""
    rows, cut = [], 0
    for i, p in enumerate(pairs):
        for key in FIELDS:
            if not isinstance(p.get(key), str):
                raise RecordError(f"preference pair {p.get('id', i)!r}: `{key}` must be a string")
        (chosen, cut_c), (rejected, cut_r) = (
            encoder.encode(p["prompt"], p["chosen"]),
            encoder.encode(p["prompt"], p["rejected"]),
        )
        rows.append({"chosen": chosen, "rejected": rejected})
        cut += cut_c or cut_r
    return rows, cut


def train_reward_model(
    pairs: Sequence[dict],
    output_dir: str | Path,
    base: str,
    steps: int = 300,
    lr: float = 5e-5,
    batch_size: int = 16,
    seed: int = 0,
    max_length: int | None = None,
    lr_scheduler: str = "cosine",
) -> dict:
    """Train a reward model on ``pairs`` (``prompt``/``chosen``/``rejected`` records) from
    ``base`` and save it to ``output_dir``. Returns the training figures."""
    from transformers import set_seed

    if not pairs:
        raise RecordError("no preference pairs to train on")
    if steps < 1 or batch_size < 1 or lr <= 0:
        raise ValueFunctionError(f"steps, batch_size and lr must be positive (got {steps}, {batch_size}, {lr})")
    set_seed(seed)  # before loading: the new reward head is drawn now
    model, tokenizer = load_base(base)
    prepare_tokenizer(tokenizer, model)
    limit = context_length(model, tokenizer, max_length)
    encoder = PairEncoder(tokenizer, limit)
    rows, cut = encode_pairs(encoder, pairs)
    if cut:
        log.warning("cut %d of %d pairs to %d tokens (their oldest tokens)", cut, len(rows), limit)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    trainer = reward_trainer(model, tokenizer, rows, out / "trainer", steps, lr, batch_size, seed, lr_scheduler)
    result = trainer.train()
    with contextlib.suppress(OSError):  # nothing is saved there (save_strategy "no"): no empty folder
        (out / "trainer").rmdir()
    model.eval()
    if limit:  # scoring truncates where training did (the value reads the tokenizer's limit)
        tokenizer.model_max_length = limit
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    settings: dict[str, Any] = {
        "base": base,
        "steps": steps,
        "lr": lr,
        "batch_size": batch_size,
        "seed": seed,
        "max_length": limit,
        "lr_scheduler": lr_scheduler,
        "pairs": len(rows),
    }
    # The corrector's config file convention (CorrectorConfig keys), so any reader of the folder knows what it is.
    write_json_atomic(out / CONFIG_NAME, {"method": "reward-model", "training": settings})
    return {"loss": result.training_loss, "steps": steps, "pairs": len(rows), "cut": cut}
