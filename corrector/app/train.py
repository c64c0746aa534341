"""``correct train`` as a Python function: the self-corrective loop, then the trained
corrector measured on held-out records (``eval.json``) and its model card written."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from ...generators import Generator
from ...values import Value
from ..model import Corrector
from ..records import write_json_atomic
from ..training import distributed
from ..training.config import TrainConfig
from ..training.loop import train_corrector
from .card import EVAL_NAME, write_model_card
from .run import evaluate


def train_run(
    records: Sequence[dict],
    generator_prompts: Sequence[str],
    generator: Generator,
    value: Value,
    init: str,
    output_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    task: str | None = None,
    value_name: str | None = None,
    generator_name: str | None = None,
    evaluation: tuple[Sequence[dict], Sequence[str]] | None = None,
    fluency: bool = False,
    on_iteration: Callable[[dict], None] | None = None,
) -> Corrector:
    """Train a corrector into ``output_dir``. ``evaluation``: held-out (records, generator
    prompts) refined by the generator and the trained corrector at the end; their per-round
    results go into ``eval.json`` and the folder's model card."""
    corrector = train_corrector(records, generator_prompts, generator, value, init, output_dir, config, task=task,
                                value_name=value_name, on_iteration=on_iteration, generator_name=generator_name)
    if distributed.is_main():
        out = Path(output_dir)
        results = evaluate(corrector, generator, value, *evaluation, generator_name or init, fluency=fluency) if evaluation else None
        if results:
            write_json_atomic(out / EVAL_NAME, results)
        write_model_card(out, corrector.config, evaluation=results)
    distributed.barrier()  # no process reports done before the card is written
    return corrector
