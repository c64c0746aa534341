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
from ..pool import Draft, Pool
from ..progress import counter
from ..similarity import load_similarity
from . import distributed, resume
from .budget import cpu_seconds, spent
from .config import CORRECTOR_METHODS, TrainConfig, TrainError
from .encode import context_size, encode_examples
from .fit import train_rows
from .hindsight import coh_rows, hir_rows, outcome_threshold, sample_relabelled
from .logs import RunLog
from .objectives import lm_blocks
from .trainee import load_trainee, save_weights

log = logging.getLogger(__name__)


def score_drafts(records: Sequence[dict], outputs: Sequence[Sequence[str]], value: Value, origin: str) -> list[Draft]:
    failpoint(f"score-{origin.split('@')[0]}")  # crash testing: killed while scoring
    flat = [(r, o) for r, outs in zip(records, outputs) for o in outs]
    scores = value([r for r, _ in flat], [o for _, o in flat])
    return [Draft(r["id"], o, s.value, s.feedback, origin) for (r, o), s in zip(flat, scores)]


Settings = Callable[[dict], dict]
"""A record's own sampling settings (``stop``, ``max_new_tokens``: each task's in a mixture)."""


def each_with_settings(call: Callable[[list[int], SamplingParams], list], records: Sequence[dict], params: SamplingParams,
                       settings_of: Settings | None) -> list:
    """``call(indices, params)`` for the records that share sampling settings, one call a group;
    the outputs in the records' order."""
    if settings_of is None:
        return call(list(range(len(records))), params) if records else []
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(tuple(sorted(settings_of(r).items())), []).append(i)
    outs: list = [None] * len(records)
    for key, idx in groups.items():
        for i, o in zip(idx, call(idx, replace(params, **dict(key)))):
            outs[i] = o
    return outs


def init_pool(
    pool: Pool, records: Sequence[dict], prompts: Sequence[str], generator: Generator, value: Value, params: SamplingParams, chunk: int = 64,
    settings_of: Settings | None = None,
) -> None:
    """Step 1: N generator drafts per prompt. Prompts already in the pool (a resumed run) are
    skipped; a prompt whose drafts were only partly written when a run was killed is drafted anew."""
    def drafted(prompt_id: str) -> int:
        return sum(d.origin == "generator" for d in pool.by_prompt.get(prompt_id, ()))

    partial = {r["id"] for r in records if 0 < drafted(r["id"]) < params.n}
    if partial:
        pool.drop(lambda d: d.prompt_id in partial and d.origin == "generator")
    todo = [i for i, r in enumerate(records) if not drafted(r["id"])]
    # Under a launcher each process drafts its share of every chunk; all add the whole chunk.
    # A chunk is written as soon as it is scored: a killed run keeps it, progress counts it.
    step = chunk * distributed.world()
    with counter("initial pool (prompts)", len(todo)) as advance:
        for start in range(0, len(todo), step):
            idx = todo[start : start + step]
            mine = distributed.shard(idx)
            outs = each_with_settings(lambda idx, p: generator.generate([prompts[mine[i]] for i in idx], p),
                                      [records[i] for i in mine], params, settings_of)
            drafts = _per_prompt(score_drafts([records[i] for i in mine], outs, value, "generator"), [len(o) for o in outs])
            pool.add([d for ds in distributed.unshard(drafts, len(idx)) for d in ds])
            advance(len(idx))


def add_references(pool: Pool, records: Sequence[dict], value: Value) -> int:
    """``--reference-targets``: each record's reference ``solution`` joins the pool as a draft of
    origin ``reference``, scored like any other (a solution the value does not rate at the
    maximum is kept with its value, and said), so that it is a target for the generator's worse
    drafts of that prompt. Records whose solution is already there (a resumed run) are skipped;
    returns how many were added."""
    have = {d.prompt_id for d in pool.drafts() if d.origin == "reference"}
    todo = [r for r in records if r.get("solution") is not None and r["id"] not in have]
    added = score_drafts(todo, [[str(r["solution"])] for r in todo], value, "reference") if todo else []
    pool.add(added)
    short = sum(d.value is not None and d.value < value.max_value for d in added)
    if short and distributed.is_main():
        log.warning("%d of %d reference solutions are below the value's maximum: they are targets only for worse drafts",
                    short, len(added))
    return len(added)


def _per_prompt(drafts: list[Draft], counts: Sequence[int]) -> list[list[Draft]]:
    out, at = [], 0
    for n in counts:
        out.append(drafts[at : at + n])
        at += n
    return out


def explore(
    pool: Pool, records: Sequence[dict], corrector: Corrector, value: Value, params: SamplingParams, n: int, rng: random.Random, origin: str,
    settings_of: Settings | None = None,
) -> float:
    """Step 5: rewrite pool drafts with the corrector and add the results. Drafts below the
    maximum are preferred: that is where corrections can gain. Only drafts whose value is
    known are rewritten (a gain over an unknown value means nothing). Returns the mean value
    gain over the rewrites whose value is known."""
    known = {r["id"]: [d for d in pool.by_prompt.get(r["id"], ()) if d.value is not None] for r in records}
    candidates = [r for r in records if known[r["id"]]]
    chosen = rng.sample(candidates, min(n, len(candidates)))
    sources = []
    for r in chosen:
        drafts = known[r["id"]]
        below = [d for d in drafts if d.value < value.max_value] or drafts
        sources.append(rng.choice(below))
    # Every process chose the same drafts (same rng); each rewrites and scores its share.
    mine = distributed.shard(range(len(chosen)))
    outs = []
    with counter("explore (drafts)", len(mine)) as advance:
        for start in range(0, len(mine), 64):
            part = mine[start : start + 64]
            outs += each_with_settings(
                lambda idx, p: corrector.correct([corrector.question(chosen[part[i]]) for i in idx], [sources[part[i]].text for i in idx],
                                                 [sources[part[i]].feedback for i in idx], p),
                [chosen[i] for i in part], params, settings_of)
            advance(len(part))
    new = distributed.unshard(score_drafts([chosen[i] for i in mine], outs, value, origin), len(chosen))
    pool.add(new)
    gains = [d.value - s.value for d, s in zip(new, sources) if d.value is not None]
    if len(gains) < len(new) and distributed.is_main():
        log.warning("%d of %d explored drafts got no known value: they stay in the pool but are not paired",
                    len(new) - len(gains), len(new))
    return sum(gains) / max(1, len(gains))


def pair_examples(pairs: Sequence[Pair], prompts_by_id: dict[str, str], template: str) -> list[tuple[str, str]]:
    return [(corrector_input(template, prompts_by_id[p.prompt_id], p.source.text, p.source.feedback), p.target.text) for p in pairs]


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
        raise TrainError(f"training method {config.method!r} trains no corrector; choose {', '.join(CORRECTOR_METHODS)}")
    if distributed.sharded_parameters():
        raise TrainError(f"{distributed.sharded_parameters()} shards the weights, but each process explores with a whole "
                         "copy of them between iterations; launch with DDP or DeepSpeed ZeRO-1/2")
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
    if config.resume:  # what an unfinished stage wrote goes; that stage runs again
        resume.forget_after(out, pool, checkpoint[0] if checkpoint else -2, write_log=distributed.is_main())
    # CPU the run spent before this process, by its last checkpoint: the log counts the whole run,
    # and --cpu-budget is the whole run's, however often it was resumed.
    earlier = resume.logged_cpu(out) if checkpoint else 0.0
    budget = None if config.cpu_budget is None else config.cpu_budget - earlier
    params = SamplingParams(temperature=config.temperature, max_new_tokens=config.max_new_tokens, n=config.samples_per_prompt,
                            stop=tuple(config.stop), seed=config.seed)
    drafted = generator.tokens_generated
    init_pool(pool, records, generator_prompts, generator, value, params, settings_of=settings_of)
    pool_tokens = generator.tokens_generated - drafted  # what this run drafted (a resumed one: the rest)
    if config.reference_targets:
        add_references(pool, records, value)
    check_known(pool, value)

    # The corrector sees each question as the task lays it out (``layout``); a resumed run as it began.
    question = resume.question_layout(checkpoint[1]) if checkpoint else "task"
    recorded = {"hindsight": {"coh_templates": COH_TEMPLATES},
                "hir": {"hir_labels": {"correct": HIR_LABELS[True], "wrong": HIR_LABELS[False]}}}.get(config.method, {})
    corrector = Corrector(hf, CorrectorConfig(method=config.method, template=config.template, prompt_format=TEMPLATES.get(config.template),
                                               task=task, value=value_name, question=question,
                                               training={**asdict(config), **recorded, "init": init, "generator": generator_name or init,
                          "train_prompts": len(records)}), layout)
    prompts_by_id = {r["id"]: corrector.question(r) for r in records}
    rng = checkpoint[2] if checkpoint else random.Random(config.seed)
    runlog = RunLog(out, config.report_to) if distributed.is_main() else None
    if _explores_first(init, config, pool):
        # --init is already a corrector (e.g. trained on another generator's drafts): let it
        # rewrite this generator's drafts first, so a pool in which the generator is hardly
        # ever right still holds improving pairs to adapt it on.
        gain = explore(pool, records, corrector, value, replace(params, n=1, seed=config.seed - 1), config.explore_prompts,
                       rng, "corrector@init", settings_of)
        _log_row(runlog, {"iteration": -1, "pool": len(pool), "pool_mean_value": pool.mean_value(), "exploration_gain": gain},
                 on_iteration)
        _checkpoint(out, -1, hf, rng, config, question)
    first = checkpoint[0] + 1 if checkpoint else 0
    for it in range(first, config.iterations):
        if hasattr(similarity, "prepare") and config.method != "hir":  # embed the whole pool in batches, once per text
            similarity.prepare(d.text for drafts in pool.by_prompt.values() for d in drafts)
        rows, made = iteration_rows(config, pool, value.max_value, similarity, prompts_by_id, hf.tokenizer, max_length, it, group)
        if distributed.is_main():
            with open(out / f"pairs-{it}.jsonl", "w") as f:
                f.writelines(json.dumps(m) + "\n" for m in made)
        steps_dir = out / "trainer" / f"iteration-{it}"
        stats = train_rows(hf.model, hf.tokenizer, rows, len(made), config.steps, config, steps_dir, lm_rows, checkpoints=True,
                           cpu_before=earlier)
        earlier = stats.pop("cpu_before")  # more, where a killed process had trained on into a step checkpoint
        budget = None if config.cpu_budget is None else config.cpu_budget - earlier
        last = spent(budget)  # the budget is used up: no exploration, no further iteration
        explore_params = replace(params, n=1, seed=config.seed + it)
        start, tokens = time.perf_counter(), hf.tokens_generated
        explores = bool(config.explore_prompts) and not last
        gain = explore(pool, records, corrector, value, explore_params, config.explore_prompts, rng, f"corrector@{it}",
                       settings_of) if explores else None
        explored = hf.tokens_generated - tokens
        row = {"iteration": it, "pool": len(pool), "pool_mean_value": pool.mean_value(), "pairs": len(made),
               "identity_pairs": sum(m["source"] == m["target"] for m in made), "exploration_gain": gain, **stats,
               "explore_tokens": explored, "explore_tokens_per_s": explored / (time.perf_counter() - start) if explores else None,
               "cpu_seconds": earlier + cpu_seconds(), **({"pool_tokens": pool_tokens} if it == first else {})}
        failpoint("explore")
        _log_row(runlog, row, on_iteration)
        _checkpoint(out, it, hf, rng, config, question)
        if distributed.is_main():
            resume.drop_step_checkpoints(steps_dir)
        if last and it + 1 < config.iterations:
            log.warning("--cpu-budget %s spent after iteration %d of %d: the corrector is saved as it is", config.cpu_budget,
                        it + 1, config.iterations)
            break
    if runlog is not None:
        runlog.close()
    if distributed.is_main():
        save_model(hf, corrector.config, out)
    distributed.barrier()  # no process reports done before the corrector is saved
    return corrector


def check_known(pool: Pool, value: Value) -> None:
    """Training needs known values: a draft whose value is unknown (its record has no
    references) cannot be paired. A pool with none known is an error; some unknown, a warning."""
    drafts = pool.drafts()
    unknown = sum(d.value is None for d in drafts)
    name = f"value {value.name!r}" if getattr(value, "name", None) else "the value"
    if drafts and unknown == len(drafts):
        raise TrainError(f"{name} gave no known score for any of the {len(drafts)} drafts in the pool: training needs "
                         "records with references (`answer` or `tests` for program), and these records have none")
    if unknown and distributed.is_main():
        log.warning("%s gave no known score for %d of the %d drafts in the pool (records without references); "
                    "they are kept out of pairing", name, unknown, len(drafts))


def _explores_first(init: str, config: TrainConfig, pool: Pool) -> bool:
    """Whether the initial model is a corrector of this method's template that has not yet
    explored this pool (a resumed run does not explore twice)."""
    path = Path(init, CONFIG_NAME)
    if not (config.explore_prompts and path.is_file()):
        return False
    if CorrectorConfig.load(init).template != config.template:
        log.warning("--init %s is a corrector with another template; it is not asked to explore before training", init)
        return False
    return not any(d.origin == "corrector@init" for d in pool.drafts())


def _checkpoint(out: Path, iteration: int, hf: HFGenerator, rng: random.Random, config: TrainConfig, question: str) -> None:
    if distributed.is_main():
        resume.save_checkpoint(out, iteration, hf, rng, config.save_total_limit, question)
    distributed.barrier()


def _log_row(runlog: RunLog | None, row: dict, on_iteration: Callable[[dict], None] | None) -> None:
    if runlog is not None:  # the main process only
        runlog.log(row)
        if on_iteration:
            on_iteration(row)


def iteration_rows(config: TrainConfig, pool: Pool, max_value: float, similarity, prompts_by_id: dict[str, str], tokenizer,
                   max_length: int, it: int, group: Callable[[str], str] | None = None) -> tuple[list[dict], list[dict]]:
    """Step 2-3 of one iteration for each method: the encoded training rows, and what they
    were built from (one JSON object each, kept as ``pairs-<it>.jsonl``)."""
    seed = config.seed + it
    if config.method == "hir":
        threshold = outcome_threshold([d.value for d in pool.drafts() if d.value is not None], max_value)
        examples = sample_relabelled(pool.by_prompt, config.pairs, threshold, seed)
        made = [{"prompt_id": e.prompt_id, "source": e.source.text, "target": e.target.text, "outcome": e.outcome} for e in examples]
        return hir_rows(tokenizer, examples, prompts_by_id, max_length), made
    pairs = sample_pairs(pool.by_prompt, config.pairs, config.alpha, config.beta, seed=seed, similarity=similarity,
                         max_value=max_value, identity_share=config.identity_share, min_gain=config.min_gain, group=group)
    if not pairs:
        raise TrainError("no value-improving pairs in the pool: every prompt's drafts have equal values (a generator that is "
                         "never or always right gives nothing to learn from; try more samples a prompt or a higher temperature)",
                         option="samples_per_prompt")
    made = [{"prompt_id": p.prompt_id, "source": p.source.text, "target": p.target.text} for p in pairs]
    if config.method == "hindsight":
        rows = coh_rows(tokenizer, [(prompts_by_id[p.prompt_id], p.source.text, p.source.feedback, p.target.text) for p in pairs],
                        random.Random(seed), config.loss_on, config.mask_share, config.mask_scope)
    else:
        rows = encode_examples(tokenizer, pair_examples(pairs, prompts_by_id, config.template), max_length)
    return rows, made


def save_model(hf: HFGenerator, config: CorrectorConfig, folder: Path) -> None:
    save_weights(hf, folder, merge=config.training.get("merge_lora", False))
    hf.tokenizer.save_pretrained(folder)
    config.save(folder)
