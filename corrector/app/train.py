"""``correct train`` as a Python function: the self-corrective loop, then the trained
corrector measured on held-out records (``eval.json``) and its model card written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from ...generators import Generator
from ...values import Value
from ..model import Corrector
from ..outputs import write_json_atomic
from ..training import distributed, resume
from ..training.config import TrainConfig
from ..training.loop import train_corrector
from .card import EVAL_NAME, write_model_card
from .generate import evaluate


def train_run(
    records: Sequence[dict],
    generator_prompts: Sequence[str],
    generator: Generator,
    value: Value,
    init: str,
    output_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    evaluation: tuple[Sequence[dict], Sequence[str]] | None = None,
    fluency: bool = False,
    **loop_options,
) -> Corrector:
    """Train a corrector into ``output_dir`` (``loop_options``: those of ``train_corrector``).
    ``evaluation``: held-out (records, generator prompts) refined by the generator and the
    trained corrector at the end; their per-round results go into ``eval.json`` and the
    folder's model card."""
    out = Path(output_dir)
    # a resume that changes what the corrector is trained on and how is refused before the pool is touched
    resume.keep_settings(out, config.resolved(), init, write=distributed.is_main())
    logged = _read(out / "log.jsonl")
    corrector = train_corrector(records, generator_prompts, generator, value, init, output_dir, config, **loop_options)
    if distributed.is_main():
        name = loop_options.get("generator_name") or init
        results = evaluate(corrector, generator, value, *evaluation, name, fluency=fluency) if evaluation else None
        if results:
            write_json_atomic(out / EVAL_NAME, results)
        elif _read(out / "log.jsonl") != logged:  # an earlier run's measure is of weights trained on since
            (out / EVAL_NAME).unlink(missing_ok=True)
        elif (out / EVAL_NAME).is_file():  # nothing trained since it was measured: what was measured stays
            results = json.loads((out / EVAL_NAME).read_text())
        write_model_card(out, corrector.config, evaluation=results)
    distributed.barrier()  # no process reports done before the card is written
    return corrector


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None
