"""The deliberately imperfect base generator of a built-in task (the paper's p0): a tiny
GPT-2 with its own tokenizer, trained from scratch on a few of the task's reference
solutions. ``correct train --method sft --init tiny`` runs this."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from ..layouts import TEMPLATES
from .config import TrainConfig
from .fit import train_lm
from .tiny import build_model, build_tokenizer

# Words the corrector will read and write, so the tokenizer has compact tokens for them.
_EXTRA_TEXT = list(TEMPLATES.values()) + [
    "printed nothing", "NameError: name 'x' is not defined", "SyntaxError: invalid syntax",
    "ZeroDivisionError: integer division or modulo by zero", "timed out after 5 s", "none",
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
    tokenizer = build_tokenizer(list(tokenizer_texts) + _EXTRA_TEXT * 10)
    model = build_model(tokenizer, n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_positions=n_positions, seed=config.seed)
    stats = train_lm(model, tokenizer, [(format_prompt(r), r["solution"]) for r in records], steps, config, Path(output_dir) / "trainer")
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return stats
