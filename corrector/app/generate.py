"""``correct generate`` as a Python function: refine records batch by batch, write each
finished record at once (so a killed run keeps them, and ``resume`` skips them), then
compute the metrics over the whole output file. Records without references (no ``answer``
for ``program``) are refined all the same: their lines carry ``value: null`` where it is
unknown, and the metrics count them apart (``corrector/metrics.py``)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from ...generators import Generator, GeneratorError, SamplingParams
from ...values import Value
from ..failpoints import failpoint
from ..metrics import compute_metrics
from ..model import Corrector
from ..outputs import JsonlWriter, check_writable, finished_ids, read_all_jsonl, write_json_atomic
from ..progress import counter
from ..refine import MAX_ROUNDS, MAX_SAMPLES, BaselinePick, Rewrites, RoundCost, refine, self_consistency
from .files import run_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateConfig(Rewrites):
    rounds: int = field(default=3, metadata={"min": 0, "max": MAX_ROUNDS})
    """k: corrector rounds after the generator's draft."""
    batch_size: int = field(default=64, metadata={"min": 1})
    """Records refined together (and written together)."""
    resume: bool = False
    """Continue a killed run: keep the output file and skip its finished ids."""
    baseline: bool = True
    """Also run the self-consistency baseline at equal decode count (rounds+1 generator samples
    per prompt, majority vote): it multiplies the drafting time by rounds+1."""
    baseline_temperature: float = field(default=0.7, metadata={"min": 0.0})
    """Sampling temperature of the self-consistency baseline's samples."""
    baseline_samples: int | None = field(default=None, metadata={"min": 1, "max": MAX_SAMPLES})
    """Generator samples the self-consistency baseline votes over (default: rounds+1, the
    decodes of the corrected answer): e.g. --rounds 0 --baseline-samples 16 for the vote alone."""
    baseline_pick: BaselinePick = "vote"
    """How the baseline keeps one of its samples: ``vote``, the majority answer
    (self-consistency); ``best``, best-of-n, the first that passes its record's tests, else the
    best by a reference-free value, else the first that runs (never by the reference)."""
    fluency: bool | None = None
    """Report the generator's perplexity of each round's texts (given the generator's prompt):
    a corrector that raises the value by writing less, or nonsense, shows up as a rise
    (default: on for tasks that ask for it, e.g. detox)."""


def resumable(
    records: Sequence[dict], output: str | Path, metrics_path: str | Path | None, config: GenerateConfig
) -> set[str]:
    """The ids of ``records`` already in ``output`` when resuming, each of its lines checked to
    be this run's (its records, rounds, baseline and perplexities), and both paths checked to
    be writable: called before any model loads, and again by ``generate_run``."""
    expected = {str(r["id"]): r["prompt"] for r in records}  # as an output line's id reads back
    settings = {
        "baseline": (config.baseline_pick, config.baseline_samples or config.rounds + 1) if config.baseline else None,
        "fluency": bool(config.fluency),
    }
    done = finished_ids(output, expected, config.rounds, settings) if config.resume else set()
    for path, option in ((output, "output"), (metrics_path, "metrics")):
        if path:  # before anything is drafted
            check_writable(path, option)
    return done


def run_settings(d, backend, models, task, params: SamplingParams, config: GenerateConfig) -> dict:
    """What a run is asked for that its lines do not say (``files.check_run``), by option name:
    the models and value (``Defaults`` resolved), the shots and the decoding."""
    corrects = bool(config.rounds)
    return {
        "generator": d.generator,
        "backend": backend.backend,
        "corrector": d.corrector if corrects else None,
        "corrector_backend": models.corrector_backend if corrects else None,
        "refine": models.refine if corrects else None,
        "self_examples": models.self_examples,
        "value": d.value,
        "shots": task.shots,
        "temperature": params.temperature,
        "max_new_tokens": params.max_new_tokens,
        "stop": list(params.stop),
        "seed": params.seed,
        "correction_samples": config.correction_samples if corrects else None,
        "correction_temperature": config.correction_temperature if corrects and config.correction_samples > 1 else None,
        # The task file's own layouts (task keys, not options): an edited one mixed two runs' prompts.
        "prompt": d.task.prompt if d.task else None,
        "correction_prompt": d.task.correction_prompt if d.task and corrects else None,
    }


def generate_run(
    records: Sequence[dict],
    format_prompt: Callable[[dict], str],
    generator: Generator,
    corrector: Corrector | None,
    value: Value,
    params: SamplingParams,
    output: str | Path,
    metrics_path: str | Path | None,
    config: GenerateConfig = GenerateConfig(),
    kept: dict | None = None,
) -> dict:
    """``kept``: what the run was asked for (``run_settings``), written beside the output
    (``files.run_file``) as its first line is."""
    start = time.perf_counter()
    done = resumable(records, output, metrics_path, config)
    sc_samples = config.baseline_samples or config.rounds + 1
    if not config.resume and Path(output).is_file() and Path(output).stat().st_size:
        log.warning("%s holds an earlier run's lines: they are replaced (--resume would go on with them)", output)
    todo = [r for r in records if str(r["id"]) not in done]
    sc_params = replace(params, temperature=config.baseline_temperature)
    sc_tokens = 0
    steps = len(todo) * (config.rounds + 1 + config.baseline)  # records drafted, corrected per round, voted on
    keep = None if kept is None else lambda: write_json_atomic(run_file(output), kept)
    with (
        JsonlWriter(output, append=config.resume, on_open=keep) as out,
        counter(f"generate + {config.rounds} rounds", steps) as advance,
    ):
        cost = RoundCost(on_round=lambda r, n: advance(n))
        # The batches of the whole run, less what is done: a resumed run's batch keeps its seed,
        # and its sampled drafts are the uninterrupted run's (unless it was cut half-written).
        for b in range(0, len(records), config.batch_size):
            batch = [r for r in records[b : b + config.batch_size] if str(r["id"]) not in done]
            if not batch:
                continue
            prompts = [format_prompt(r) for r in batch]
            seeded = replace(params, seed=params.seed + b)
            rounds = refined_rounds(
                batch,
                prompts,
                generator,
                corrector,
                value,
                config.rounds,
                seeded,
                cost,
                fluency=bool(config.fluency),
                samples=config.correction_samples,
                temperature=config.correction_temperature,
            )
            sc, before = [None] * len(batch), generator.tokens_generated
            if config.baseline:
                sc = self_consistency(batch, prompts, generator, value, sc_samples, sc_params, config.baseline_pick)
                sc_tokens += generator.tokens_generated - before
            advance(len(batch) if config.baseline else 0)
            for r, h, s in zip(batch, rounds, sc):
                line = {"id": r["id"], "prompt": r["prompt"], "rounds": h, "final": h[-1]["text"]}
                if s is not None:
                    line["self_consistency"] = s
                out.write(line)
            failpoint("generate-batch")
    metrics = compute_metrics(read_all_jsonl(output), value.max_value)
    # A corrector that is the generator itself (``--corrector self``) is counted once.
    models = {id(g): g for g in (generator, getattr(corrector, "generator", None)) if g is not None}
    tokens = sum(g.tokens_generated for g in models.values())
    metrics.update(
        seconds=time.perf_counter() - start, tokens=tokens, round_seconds=cost.seconds, round_decodes=cost.decoded
    )
    if done:  # the figures of the records above are over the whole file; the costs, this run's part
        metrics["resumed_after"] = len(done)
    cut = sum(g.truncated_prompts for g in models.values())
    if cut:  # kept for generate (a long few-shot prompt may lose its oldest examples), but said
        metrics["truncated_prompts"] = cut
        log.warning(
            "%d prompts were longer than the model's context leaves room for (with --max-new-tokens %d): "
            "their oldest tokens were dropped",
            cut,
            params.max_new_tokens,
        )
    refused = sum(g.refused_prompts for g in models.values())
    if refused:  # this run's drafts, rewrites and samples; the backend has said which endpoint and why
        metrics["refused_prompts"] = refused
    if "self_consistency" in metrics:  # the part of ``tokens`` the baseline's samples took
        metrics["self_consistency"]["tokens"] = sc_tokens
    if metrics_path:
        write_json_atomic(metrics_path, metrics)
    return metrics


def refined_rounds(
    records: Sequence[dict],
    prompts: Sequence[str],
    generator: Generator,
    corrector: Corrector | None,
    value: Value,
    rounds: int,
    params: SamplingParams,
    cost: RoundCost | None = None,
    fluency: bool = False,
    samples: int = 1,
    temperature: float = 0.7,
) -> list[list[dict]]:
    """One batch through ``refine``, each record's rounds as the dicts an output line holds
    (with ``fluency``, each round's perplexity under the generator too; ``samples`` rewrites a
    correction at ``temperature``)."""
    histories = [
        [step.as_dict() for step in h]
        for h in refine(records, prompts, generator, corrector, value, rounds, params, cost, samples, temperature)
    ]
    if fluency:
        add_perplexity(generator, prompts, histories)
    return histories


EVAL_ROUNDS = 3


def evaluate(
    corrector: Corrector,
    generator: Generator,
    value: Value,
    records: Sequence[dict],
    prompts: Sequence[str],
    generator_name: str,
    rounds: int = EVAL_ROUNDS,
    batch_size: int = 64,
    fluency: bool = False,
    budget: tuple[int, tuple[str, ...]] | None = None,
) -> dict:
    """Per-round results of generator + corrector on held-out records (greedy), the metrics of
    ``correct generate`` without writing an output file (with ``fluency``, the generator's
    perplexity of each round's texts too). ``budget``: (max_new_tokens, stop) of the drafts
    (default: the corrector's training's)."""
    t = corrector.config.training
    tokens, stop = budget or (t.get("max_new_tokens") or SamplingParams.max_new_tokens, tuple(t.get("stop", ())))
    params = SamplingParams(temperature=0.0, max_new_tokens=tokens, stop=tuple(stop), seed=0)
    lines = []
    for b in range(0, len(records), batch_size):
        part = slice(b, b + batch_size)
        lines += [
            {"rounds": h}
            for h in refined_rounds(
                records[part], prompts[part], generator, corrector, value, rounds, params, fluency=fluency
            )
        ]
    return {**compute_metrics(lines, value.max_value), "split": "validation", "generator": generator_name}


def add_perplexity(generator: Generator, prompts: Sequence[str], rounds: Sequence[list[dict]]) -> None:
    """Set ``perplexity`` on every round of every record: exp of the mean negative
    log-likelihood per token of the text (and its end) under the generator."""
    if not generator.scores:
        raise GeneratorError(f"--fluency needs a generator that scores text; {type(generator).__name__} does not")
    flat = [(p, step) for p, steps in zip(prompts, rounds) for step in steps]
    for (_, step), (logp, n) in zip(
        flat, generator.log_likelihoods([p for p, _ in flat], [step["text"] for _, step in flat])
    ):
        step["perplexity"] = math.exp(-logp / n) if n else None
