"""The self-corrective learning loop (docs/design.md, steps 1-5): ``train_corrector`` reads
like the algorithm: initialise the pool, then pair -> learn -> explore, repeated."""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Sequence

from ...generators import Generator, SamplingParams
from ...generators.hf import HFGenerator
from ...values import Value
from ..failpoints import failpoint
from ..layouts import COH_TEMPLATES, HIR_LABELS, TEMPLATES, corrector_input
from ..model import CONFIG_NAME, Corrector, CorrectorConfig
from ..pairing import Pair, sample_pairs
from ..pool import Pool
from ..similarity import load_similarity
from . import distributed, resume
from .budget import cpu_seconds, spent
from .config import CORRECTOR_METHODS, TrainConfig, TrainError
from .drafts import Settings, add_references, check_known, explore, init_pool
from .encode import context_size, encode_examples
from .fit import train_rows
from .hindsight import coh_rows, hir_rows, outcome_threshold, sample_relabelled
from .logs import RunLog
from .objectives import lm_blocks
from .trainee import load_trainee, save_weights

log = logging.getLogger(__name__)


def pair_examples(pairs: Sequence[Pair], prompts_by_id: dict[str, str], template: str) -> list[tuple[str, str]]:
    return [
        (corrector_input(template, prompts_by_id[p.prompt_id], p.source.text, p.source.feedback), p.target.text)
        for p in pairs
    ]


def train_corrector(
    records: Sequence[dict],
    generator_prompts: Sequence[str],
    generator: Generator,
    value: Value,
    init: str,
    output_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    task: str | None = None,
    value_name: str | None = None,
    on_iteration: Callable[[dict], None] | None = None,
    generator_name: str | None = None,
    layout: Callable[[dict], str] | None = None,
    settings_of: Settings | None = None,
    group: Callable[[str], str] | None = None,
) -> Corrector:
    """The self-corrective learning loop; everything it makes is kept in ``output_dir``, the
    trained corrector last (``corrector/app/train.py`` then measures it and writes its card).
    ``layout``: the task's layout of a record's question (``Task.format_prompt``), which the
    corrector is shown and recorded to be shown (None: the raw ``prompt``). A mixture of tasks
    (tasks/mixture.py) also gives ``settings_of``, each record's stop strings and token budget,
    and ``group``, the task of a prompt id, by which the pairing sampler balances the tasks."""
    if config.method not in CORRECTOR_METHODS:
        raise TrainError(
            f"training method {config.method!r} trains no corrector; choose {', '.join(CORRECTOR_METHODS)}"
        )
    if distributed.sharded_parameters():
        raise TrainError(
            f"{distributed.sharded_parameters()} shards the weights, but each process explores with a whole "
            "copy of them between iterations; launch with DDP or DeepSpeed ZeRO-1/2"
        )
    config = config.resolved()
    config.check()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Everything that can fail on a bad option fails before the slow pool is drawn.
    similarity = load_similarity(config.similarity)
    checkpoint = resume.latest(out) if config.resume else None
    hf, config = load_trainee(init, config, checkpoint[1] if checkpoint else None, device=distributed.device())
    max_length = context_size(hf.model)
    lm_rows = lm_blocks(config.lm_corpus, hf.tokenizer, min(128, max_length)) if config.lm_corpus else None
    pool = Pool(out / "pool.jsonl", writer=distributed.is_main())
    distributed.barrier()  # every process has read the pool before the main one appends to it
    ids = {r["id"] for r in records}
    stray = next((p for p in pool.by_prompt if p not in ids), None)
    if stray is not None:  # another run's pool (copied in): its drafts would be paired as this run's
        raise TrainError(
            f"{out / 'pool.jsonl'} holds drafts of {stray!r}, which is not among the training records: "
            "another run's pool; give another folder, or the records it was drawn on",
            option="output",
        )
    if config.resume:  # what an unfinished stage wrote goes; that stage runs again
        resume.forget_after(out, pool, checkpoint[0] if checkpoint else -2, write_log=distributed.is_main())
    # CPU the run spent before this process, by its last checkpoint: the log counts the whole run,
    # and --cpu-budget is the whole run's, however often it was resumed.
    earlier = resume.logged_cpu(out) if checkpoint else 0.0
    budget = None if config.cpu_budget is None else config.cpu_budget - earlier
    params = SamplingParams(
        temperature=config.temperature,
        max_new_tokens=config.max_new_tokens,
        n=config.samples_per_prompt,
        stop=tuple(config.stop),
        seed=config.seed,
    )
    drafted = generator.tokens_generated
    init_pool(pool, records, generator_prompts, generator, value, params, settings_of=settings_of)
    pool_tokens = generator.tokens_generated - drafted  # what this run drafted (a resumed one: the rest)
    if config.reference_targets:
        add_references(pool, records, value)
    check_known(pool, value)

    # The corrector sees each question as the task lays it out (``layout``); a resumed run as it began.
    question = resume.question_layout(checkpoint[1]) if checkpoint else "task"
    recorded = {
        "hindsight": {"coh_templates": COH_TEMPLATES},
        "hir": {"hir_labels": {"correct": HIR_LABELS[True], "wrong": HIR_LABELS[False]}},
    }.get(config.method, {})
    corrector = Corrector(
        hf,
        CorrectorConfig(
            method=config.method,
            template=config.template,
            prompt_format=TEMPLATES.get(config.template),
            task=task,
            value=value_name,
            question=question,
            training={
                **asdict(config),
                **recorded,
                "init": init,
                "generator": generator_name or init,
                "train_prompts": len(records),
            },
        ),
        layout,
    )
    prompts_by_id = {r["id"]: corrector.question(r) for r in records}
    rng = checkpoint[2] if checkpoint else random.Random(config.seed)
    runlog = RunLog(out, config.report_to) if distributed.is_main() else None

    def explore_as(stage: str, seed: int) -> float | None:
        """The corrector as it stands rewrites drafts of the pool, as stage ``stage``'s drafts."""
        params_ = replace(params, n=config.explore_samples, seed=seed)
        return explore(
            pool, records, corrector, value, params_, config.explore_prompts, rng, f"corrector@{stage}",
            settings_of, config.explore_focus,
        )  # fmt: skip

    if _explores_first(init, config, pool):
        # --init is already a corrector (e.g. trained on another generator's drafts): let it
        # rewrite this generator's drafts first, so a pool in which the generator is hardly
        # ever right still holds improving pairs to adapt it on.
        gain = explore_as("init", config.seed - 1)
        _log_row(
            runlog,
            {
                "iteration": -1,
                "pool": len(pool),
                "pool_mean_value": pool.mean_value(),
                "exploration_gain": gain,
                "prompts_with_pair": pool.prompts_with_pair(config.min_gain or 0.0),
                "prompts_solved": pool.prompts_solved(value.max_value),
            },
            on_iteration,
        )
        _checkpoint(out, -1, hf, rng, config, question)
    first = checkpoint[0] + 1 if checkpoint else 0
    if checkpoint and config.cpu_budget is not None and earlier >= config.cpu_budget and first < config.iterations:
        # resumed after the iteration that spent the budget: another would train past it
        log.warning(
            "the CPU budget of %s CPU-seconds was spent by the run this one resumes (%.0f): no further iteration",
            config.cpu_budget,
            earlier,
        )
        first = config.iterations
    if checkpoint and 0 < first < config.iterations and not resume.explored(checkpoint[1]):
        # The run this one resumes ended without exploring after its last iteration; this one
        # trains further, so that exploration comes first (a killed one's drafts go, and it is
        # made again).
        pool.drop(lambda d: d.origin == f"corrector@{first - 1}")
        gain = explore_as(str(first - 1), config.seed + first - 1)
        log.info("the corrector of iteration %d explored before training on: gain %s", first, gain)
        if distributed.is_main():
            resume.mark_explored(checkpoint[1], rng)
        distributed.barrier()
    for it in range(first, config.iterations):
        if hasattr(similarity, "prepare") and config.method != "hir":  # embed the whole pool in batches, once per text
            similarity.prepare(d.text for drafts in pool.by_prompt.values() for d in drafts)
        rows, made = iteration_rows(
            config, pool, value.max_value, similarity, prompts_by_id, hf.tokenizer, max_length, it, group
        )
        if distributed.is_main():
            with open(out / f"pairs-{it}.jsonl", "w") as f:
                f.writelines(json.dumps(m) + "\n" for m in made)
        steps_dir = out / "trainer" / f"iteration-{it}"
        stats = train_rows(
            hf.model,
            hf.tokenizer,
            rows,
            len(made),
            config.steps,
            config,
            steps_dir,
            lm_rows,
            checkpoints=True,
            cpu_before=earlier,
        )
        earlier = stats.pop("cpu_before")  # more, where a killed process had trained on into a step checkpoint
        budget = None if config.cpu_budget is None else config.cpu_budget - earlier
        last = spent(budget)  # the budget is used up: no exploration, no further iteration
        start, tokens = time.perf_counter(), hf.tokens_generated
        # The last iteration explores nothing: no training would learn from its drafts (a resume
        # that trains further explores first, below).
        explores = bool(config.explore_prompts) and not last and it + 1 < config.iterations
        gain = explore_as(str(it), config.seed + it) if explores else None
        explored = hf.tokens_generated - tokens
        row = {
            "iteration": it,
            "pool": len(pool),
            "pool_mean_value": pool.mean_value(),
            "pairs": len(made),
            "identity_pairs": sum(m["source"] == m["target"] for m in made),
            "pair_prompts": len({m["prompt_id"] for m in made if m["source"] != m["target"]}),
            "exploration_gain": gain,
            "prompts_with_pair": pool.prompts_with_pair(config.min_gain or 0.0),
            "prompts_solved": pool.prompts_solved(value.max_value),
            **stats,
            "explore_tokens": explored,
            "explore_tokens_per_s": explored / (time.perf_counter() - start) if explores else None,
            "cpu_seconds": earlier + cpu_seconds(),
            **({"pool_tokens": pool_tokens} if it == first else {}),
        }
        failpoint("explore")
        _log_row(runlog, row, on_iteration)
        _checkpoint(out, it, hf, rng, config, question, explored=explores or not config.explore_prompts)
        if distributed.is_main():
            resume.drop_step_checkpoints(steps_dir)
        if last and it + 1 < config.iterations:
            log.warning(
                "the CPU budget of %s CPU-seconds was spent after iteration %d of %d: the corrector is saved as it is",
                config.cpu_budget,
                it + 1,
                config.iterations,
            )
            break
    if runlog is not None:
        runlog.close()
    if distributed.is_main():
        save_model(hf, corrector.config, out)
    distributed.barrier()  # no process reports done before the corrector is saved
    return corrector


def _explores_first(init: str, config: TrainConfig, pool: Pool) -> bool:
    """Whether the initial model is a corrector of this method's template that has not yet
    explored this pool (a resumed run does not explore twice)."""
    path = Path(init, CONFIG_NAME)
    if not (config.explore_prompts and path.is_file()):
        return False
    if CorrectorConfig.load(init).template != config.template:
        log.warning(
            "the initial model %s is a corrector with another template; it is not asked to explore before training",
            init,
        )
        return False
    return not any(d.origin == "corrector@init" for d in pool.drafts())


def _checkpoint(
    out: Path,
    iteration: int,
    hf: HFGenerator,
    rng: random.Random,
    config: TrainConfig,
    question: str,
    explored: bool = True,
) -> None:
    if distributed.is_main():
        resume.save_checkpoint(out, iteration, hf, rng, config.save_total_limit, question, explored)
    distributed.barrier()


def _log_row(runlog: RunLog | None, row: dict, on_iteration: Callable[[dict], None] | None) -> None:
    if runlog is not None:  # the main process only
        runlog.log(row)
        if on_iteration:
            on_iteration(row)


def iteration_rows(
    config: TrainConfig,
    pool: Pool,
    max_value: float,
    similarity,
    prompts_by_id: dict[str, str],
    tokenizer,
    max_length: int,
    it: int,
    group: Callable[[str], str] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Step 2-3 of one iteration for each method: the encoded training rows, and what they
    were built from (one JSON object each, kept as ``pairs-<it>.jsonl``)."""
    seed = config.seed + it
    if config.method == "hir":
        threshold = outcome_threshold([d.value for d in pool.drafts() if d.value is not None], max_value)
        examples = sample_relabelled(pool.by_prompt, config.pairs, threshold, seed)
        if len({e.outcome for e in examples}) < 2:  # one instruction only: nothing told apart
            one = "right" if examples and examples[0].outcome else "wrong"
            raise TrainError(
                f"every output in the pool has the same outcome ({one}): hindsight relabelling has no right and "
                "wrong outputs to tell apart (try more samples a prompt or a higher temperature)",
                option="samples_per_prompt",
            )
        made = [
            {"prompt_id": e.prompt_id, "source": e.source.text, "target": e.target.text, "outcome": e.outcome}
            for e in examples
        ]
        return hir_rows(tokenizer, examples, prompts_by_id, max_length), made
    pairs = sample_pairs(
        pool.by_prompt,
        config.pairs,
        config.alpha,
        config.beta,
        seed=seed,
        similarity=similarity,
        max_value=max_value,
        identity_share=config.identity_share,
        min_gain=config.min_gain,
        group=group,
    )
    if all(p.identity for p in pairs):  # identity pairs alone would teach it only to copy
        raise TrainError(
            "no value-improving pairs in the pool: every prompt's drafts have equal values (a generator that is "
            "never or always right gives nothing to learn from; try more samples a prompt or a higher temperature)",
            option="samples_per_prompt",
        )
    made = [{"prompt_id": p.prompt_id, "source": p.source.text, "target": p.target.text} for p in pairs]
    if config.method == "hindsight":
        rows = coh_rows(
            tokenizer,
            [(prompts_by_id[p.prompt_id], p.source.text, p.source.feedback, p.target.text) for p in pairs],
            random.Random(seed),
            config.loss_on,
            config.mask_share,
            config.mask_scope,
        )
    else:
        rows = encode_examples(tokenizer, pair_examples(pairs, prompts_by_id, config.template), max_length)
    return rows, made


def save_model(hf: HFGenerator, config: CorrectorConfig, folder: Path) -> None:
    save_weights(hf, folder, merge=config.training.get("merge_lora", False))
    hf.tokenizer.save_pretrained(folder)
    config.save(folder)
