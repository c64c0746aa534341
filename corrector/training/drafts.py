"""The pool's drafts (docs/design.md, steps 1 and 4): the generator's first drafts of every
prompt, the corrector's explorations, and reference solutions, each scored by the value as it
is written; ``loop.py`` runs them in the algorithm's order."""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from typing import Callable, Sequence

from ...generators import Generator, SamplingParams
from ...tasks.task import solution_text
from ...values import Value
from ..failpoints import failpoint
from ..model import Corrector
from ..pool import Draft, Pool
from ..progress import counter
from . import distributed
from .config import ExploreFocus, TrainError

log = logging.getLogger(__name__)

Settings = Callable[[dict], dict]
"""A record's own sampling settings (``stop``, ``max_new_tokens``: each task's in a mixture)."""


def score_drafts(records: Sequence[dict], outputs: Sequence[Sequence[str]], value: Value, origin: str) -> list[Draft]:
    failpoint(f"score-{origin.split('@')[0]}")  # crash testing: killed while scoring
    flat = [(r, o) for r, outs in zip(records, outputs) for o in outs]
    scores = value([r for r, _ in flat], [o for _, o in flat])
    return [Draft(r["id"], o, s.value, s.feedback, origin) for (r, o), s in zip(flat, scores)]


def each_with_settings(
    call: Callable[[list[int], SamplingParams], list],
    records: Sequence[dict],
    params: SamplingParams,
    settings_of: Settings | None,
) -> list:
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
    pool: Pool,
    records: Sequence[dict],
    prompts: Sequence[str],
    generator: Generator,
    value: Value,
    params: SamplingParams,
    chunk: int = 64,
    settings_of: Settings | None = None,
) -> None:
    """Step 1: N generator drafts per prompt. Prompts already in the pool (a resumed run) are
    skipped; a prompt whose drafts were only partly written when a run was killed is drafted
    anew, and so is one with more than N (a pool file whose lines were written twice)."""

    def drafted(prompt_id: str) -> int:
        return sum(d.origin == "generator" for d in pool.by_prompt.get(prompt_id, ()))

    partial = {r["id"] for r in records if 0 < drafted(r["id"]) < params.n}
    extra = {r["id"] for r in records if drafted(r["id"]) > params.n}
    if extra:
        log.warning(
            "%s: %d prompts have more than %d generator drafts (lines written twice?), the first %r: drafted anew",
            pool.path,
            len(extra),
            params.n,
            min(extra),
        )
        partial |= extra
    if partial:
        pool.drop(lambda d: d.prompt_id in partial and d.origin == "generator")
    todo = [i for i, r in enumerate(records) if not drafted(r["id"])]
    # Under a launcher each process drafts its share of every chunk; all add the whole chunk.
    # A chunk is written as soon as it is scored: a killed run keeps it, progress counts it.
    # Each share is seeded by its first record's place, so that no two chunks (nor processes)
    # draw the same random numbers, and a resumed run draws what the whole run would have.
    step = chunk * distributed.world()
    with counter("initial pool (prompts)", len(todo)) as advance:
        for start in range(0, len(todo), step):
            idx = todo[start : start + step]
            mine = distributed.shard(idx)
            outs = each_with_settings(
                lambda idx, p: generator.generate([prompts[mine[i]] for i in idx], p),
                [records[i] for i in mine],
                replace(params, seed=params.seed + mine[0]) if mine else params,
                settings_of,
            )
            drafts = _per_prompt(
                score_drafts([records[i] for i in mine], outs, value, "generator"), [len(o) for o in outs]
            )
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
    added = score_drafts(todo, [[solution_text(r["solution"])] for r in todo], value, "reference") if todo else []
    pool.add(added)
    short = sum(d.value is not None and d.value < value.max_value for d in added)
    if short and distributed.is_main():
        log.warning(
            "%d of %d reference solutions are below the value's maximum: they are targets only for worse drafts",
            short,
            len(added),
        )
    return len(added)


def _per_prompt(drafts: list[Draft], counts: Sequence[int]) -> list[list[Draft]]:
    out, at = [], 0
    for n in counts:
        out.append(drafts[at : at + n])
        at += n
    return out


def explore(
    pool: Pool,
    records: Sequence[dict],
    corrector: Corrector,
    value: Value,
    params: SamplingParams,
    n: int,
    rng: random.Random,
    origin: str,
    settings_of: Settings | None = None,
    focus: ExploreFocus = "any",
) -> float:
    """Step 5: rewrite pool drafts with the corrector and add the results (``params.n`` rewrites
    of each). Drafts below the maximum are preferred: that is where corrections can gain. Only
    drafts whose value is known are rewritten (a gain over an unknown value means nothing).
    ``focus="unsolved"`` takes the prompts with no draft at the maximum first. Returns the mean
    value gain over the rewrites whose value is known."""
    known = {r["id"]: [d for d in pool.by_prompt.get(r["id"], ()) if d.value is not None] for r in records}
    candidates = [r for r in records if known[r["id"]]]
    if focus == "unsolved":
        unsolved = [r for r in candidates if all(d.value < value.max_value for d in known[r["id"]])]
        first = rng.sample(unsolved, min(n, len(unsolved)))
        taken = {r["id"] for r in first}
        rest = [r for r in candidates if r["id"] not in taken]
        chosen = first + rng.sample(rest, min(n - len(first), len(rest)))
    else:
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
            part = mine[start : start + 64]  # seeded by its place, as the pool's chunks are
            outs += each_with_settings(
                lambda idx, p: corrector.correct(
                    [corrector.question(chosen[part[i]]) for i in idx],
                    [sources[part[i]].text for i in idx],
                    [sources[part[i]].feedback for i in idx],
                    p,
                ),
                [chosen[i] for i in part],
                replace(params, seed=params.seed + part[0]),
                settings_of,
            )
            advance(len(part))
    scored = _per_prompt(score_drafts([chosen[i] for i in mine], outs, value, origin), [len(o) for o in outs])
    per_source = distributed.unshard(scored, len(chosen))  # each source's rewrites, in the order chosen
    new = [d for ds in per_source for d in ds]
    pool.add(new)
    gains = [d.value - s.value for ds, s in zip(per_source, sources) for d in ds if d.value is not None]
    if len(gains) < len(new) and distributed.is_main():
        log.warning(
            "%d of %d explored drafts got no known value: they stay in the pool but are not paired",
            len(new) - len(gains),
            len(new),
        )
    return sum(gains) / max(1, len(gains))


def check_known(pool: Pool, value: Value) -> None:
    """Training needs known values: a draft whose value is unknown (its record has no
    references) cannot be paired. A pool with none known is an error; some unknown, a warning."""
    drafts = pool.drafts()
    unknown = sum(d.value is None for d in drafts)
    name = f"value {value.name!r}" if value.name else "the value"
    if drafts and unknown == len(drafts):
        raise TrainError(
            f"{name} gave no known score for any of the {len(drafts)} drafts in the pool: training needs "
            "records with references (`answer` or `tests` for program), and these records have none"
        )
    if unknown and distributed.is_main():
        log.warning(
            "%s gave no known score for %d of the %d drafts in the pool (records without references); "
            "they are kept out of pairing",
            name,
            unknown,
            len(drafts),
        )
