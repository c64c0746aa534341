"""The deliberately imperfect base generator of a built-in task (the paper's p0): a tiny
GPT-2 with its own tokenizer, trained from scratch on a few of the task's reference
solutions. ``correct train --method sft --init tiny`` runs this; ``--init MODEL`` fine-tunes a
pretrained model instead (``fine_tune``)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from ..layouts import TEMPLATES
from . import resume
from .config import TrainConfig, TrainError
from .fit import train_lm
from .tiny import build_model, build_tokenizer

# Words the corrector will read and write, so the tokenizer has compact tokens for them.
_EXTRA_TEXT = list(TEMPLATES.values()) + [
    "printed nothing",
    "NameError: name 'x' is not defined",
    "SyntaxError: invalid syntax",
    "ZeroDivisionError: integer division or modulo by zero",
    "timed out after 5 s",
    "none",
]


def train_base_generator(
    records: Sequence[dict],
    format_prompt: Callable[[dict], str],
    tokenizer_texts: Sequence[str],
    output_dir: str | Path,
    steps: int,
    config: TrainConfig,
    n_layer: int = 3,
    n_embd: int = 128,
    n_head: int = 4,
    n_positions: int = 256,
) -> dict:
    if config.lora_r:
        raise TrainError(
            "a LoRA adapter is trained on a pretrained model; sft without one builds a tiny model from scratch",
            option="lora_r",
        )
    config.check()
    tokenizer = build_tokenizer(list(tokenizer_texts) + _EXTRA_TEXT * 10)
    model = build_model(
        tokenizer, n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_positions=n_positions, seed=config.seed
    )
    steps_dir = Path(output_dir) / "trainer"  # step checkpoints every --save-steps, for --resume
    stats = train_lm(
        model,
        tokenizer,
        [(format_prompt(r), r["solution"]) for r in records],
        steps,
        config,
        steps_dir,
        checkpoints=True,
    )
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    resume.drop_step_checkpoints(steps_dir)
    return stats


def fine_tune(
    init: str,
    records: Sequence[dict],
    format_prompt: Callable[[dict], str],
    output_dir: str | Path,
    steps: int,
    config: TrainConfig,
) -> dict:
    """Supervised fine-tuning of a pretrained ``init`` (all its weights, or a LoRA adapter with
    ``config.lora_r``) on the records' reference ``solution`` after their prompts: ``correct
    train --method sft --init MODEL``. On a generator's own right drafts this is
    rejection-sampling fine-tuning, the simple alternative a corrector is measured against."""
    from .trainee import load_trainee, save_weights

    config.check()
    hf, config = load_trainee(init, config)
    steps_dir = Path(output_dir) / "trainer"  # step checkpoints every --save-steps, for --resume
    stats = train_lm(
        hf.model,
        hf.tokenizer,
        [(format_prompt(r), r["solution"]) for r in records],
        steps,
        config,
        steps_dir,
        checkpoints=True,
    )
    save_weights(hf, Path(output_dir), config.merge_lora)
    hf.tokenizer.save_pretrained(output_dir)
    resume.drop_step_checkpoints(steps_dir)
    return stats
