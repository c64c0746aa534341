"""Inference (docs/design.md, step 6): y0 ~ generator(x); y_{t+1} ~ corrector(y_t, x, f(y_t)) for t < k.

With a reference-free value, drafts that already reach the maximum are not re-corrected and
their decodes are saved; with a value that needs references (a program judged against a
hidden answer) every draft is corrected, because at inference nobody knows which are right --
except that under greedy decoding a draft the corrector left unchanged is a fixed point and
is not sent again, and neither is a draft the value verified without a reference (a program
that passes its record's own tests). A record without references (its value None, unknown)
is refined the same way, for all k rounds, with the feedback the value gives without them.

With ``samples`` > 1 the corrector writes that many rewrites of each open draft, sampled at
``temperature``, and the one kept is chosen by what is known without references: the first
the value verifies (a program that passes its record's tests), else the best by a
reference-free value, else the first that is not faulty, else the first. A value that needs
references never chooses: its score is what is being measured.

A corrector whose config says ``refine="failing"`` (one that never saw the task, which cannot
tell a right draft from a wrong one and rewrites both) is given only the drafts known to fall
short without references: those a reference-free value scores below its maximum, and those
the value calls faulty (a program that raises, prints nothing, times out or fails its tests).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable, Literal, Sequence

from ..generators import Generator, SamplingParams
from ..generators.base import finish_reasons, refusals, usages
from ..values import Score, Value
from .model import Corrector

MAX_ROUNDS = 16
"""The most corrector rounds any command or request may ask for: the same bound in generate,
train's measurement and serve (each round rewrites every draft once more)."""

MAX_SAMPLES = 64
"""The most samples one draft may get: the self-consistency baseline's vote, a correction's
rewrites, a request's ``n`` in ``correct serve``."""


BaselinePick = Literal["vote", "best"]
"""How the baseline keeps one of its samples: the majority answer, or the best known without a reference."""


@dataclass(frozen=True)
class Rewrites:
    """How many rewrites a correction is chosen from: options of ``correct generate`` and
    ``correct serve`` alike (their configs derive from this)."""

    correction_samples: int = field(default=1, metadata={"min": 1, "max": MAX_SAMPLES})
    """Rewrites the corrector writes of each open draft a round, sampled at
    --correction-temperature; the one kept is the first that passes its record's tests, else
    the best by a reference-free value, else the first that runs (never chosen by the answer).
    Each rewrite is a decode."""
    correction_temperature: float = field(default=0.7, metadata={"min": 0.0})
    """Sampling temperature of the rewrites when --correction-samples is above 1."""


@dataclass(frozen=True)
class Step:
    round: int
    text: str
    value: float | None
    feedback: str | None
    finish: str | None = None
    """Why the decode that wrote ``text`` ended (its generator's ``last_finish``: ``"stop"`` or
    ``"length"``); None where unknown. A round that kept its text keeps it too. Not part of a
    round as output lines hold it (``as_dict``): ``correct serve`` answers it as a choice's
    ``finish_reason``."""
    usage: tuple[int, int] | None = None
    """(prompt tokens, completion tokens) of the decode that wrote ``text``, as its generator
    counted them (an endpoint's ``usage``; every rewrite of the pick of several); None where it
    does not count. Like ``finish``, not part of the output lines: ``correct serve``'s usage."""
    refused: str | None = None
    """Where an endpoint refused this round's prompt (its 400), the endpoint's words, and the
    output line says so (``"refused"``). Round 0: the text is empty, and ``correct serve``
    answers it as an error; a later round: the rewrite's input was refused, the draft kept."""

    def as_dict(self) -> dict:
        """The round as ``correct generate``'s output lines and ``return_rounds`` hold it."""
        out = {"round": self.round, "text": self.text, "value": self.value, "feedback": self.feedback}
        return {**out, "refused": self.refused} if self.refused else out


@dataclass
class RoundCost:
    """What each round cost, summed over batches: for checking that later rounds cost in
    proportion to the drafts still being corrected."""

    seconds: list[float] = field(default_factory=list)
    decoded: list[int] = field(default_factory=list)
    on_round: Callable[[int, int], None] | None = field(default=None, repr=False, compare=False)
    """Called with (round, records) when a round of a batch is done: progress reporting."""

    def add(self, r: int, seconds: float, decoded: int, records: int = 0) -> None:
        while len(self.seconds) <= r:
            self.seconds.append(0.0)
            self.decoded.append(0)
        self.seconds[r] += seconds
        self.decoded[r] += decoded
        if self.on_round:
            self.on_round(r, records)


def refine(
    records: Sequence[dict],
    prompts: Sequence[str],
    generator: Generator,
    corrector: Corrector | None,
    value: Value,
    rounds: int,
    params: SamplingParams,
    cost: RoundCost | None = None,
    samples: int = 1,
    temperature: float = 0.7,
) -> list[list[Step]]:
    """Every record's rounds, round 0 being the generator's draft; with ``samples`` > 1, each
    correction the best of that many rewrites at ``temperature`` (module docstring)."""
    cost = cost if cost is not None else RoundCost()
    t = time.perf_counter()
    steps = draft_steps(generator, generator.generate(prompts, params), params)
    scores = value(records, [s.text for s in steps])
    cost.add(0, time.perf_counter() - t, len(steps), len(records))
    history = [[replace(step, value=s.value, feedback=s.feedback)] for step, s in zip(steps, scores)]
    faulty = [s.faulty for s in scores]
    verified = [s.verified for s in scores]
    # A corrector of one's own (any object with ``correct`` and ``question``) is given all drafts.
    only_failing = getattr(getattr(corrector, "config", None), "refine", "all") == "failing"
    # Sampled rewrites: a draft left unchanged is no fixed point, the next round may differ.
    correction = params if samples == 1 else replace(params, n=samples, temperature=temperature)
    greedy = correction.temperature <= 0
    for r in range(1, rounds + 1 if corrector else 1):
        t = time.perf_counter()
        active = [
            i
            for i, h in enumerate(history)
            if _still_open(h, value, greedy=greedy, verified=verified[i])
            and (not only_failing or _failing(h, faulty[i], value))
        ]
        if active:
            last = [history[i][-1] for i in active]
            fixed = corrector.correct(
                [corrector.question(records[i]) for i in active],
                [s.text for s in last],
                [s.feedback for s in last],
                correction if greedy else replace(correction, seed=correction.seed + 7919 * r),  # new draws a round
            )
            k = len(fixed[0])
            ends = _rewrite_finish(corrector, [history[i][-1].finish for i in active], k)
            took = usages(getattr(corrector, "generator", None), len(active))
            refused = getattr(corrector, "last_refused", None) or {}  # their drafts kept, marked so
            flat = value([records[i] for i in active for _ in range(k)], [text for c in fixed for text in c])
            for j, (i, c) in enumerate(zip(active, fixed)):
                pick = _chosen(flat[j * k : (j + 1) * k], value)
                s = flat[j * k + pick]
                history[i].append(Step(r, c[pick], s.value, s.feedback, ends[j][pick], took[j], refused.get(j)))
                faulty[i], verified[i] = s.faulty, s.verified
        for h in history:  # drafts at the maximum carry over unchanged
            if len(h) == r:
                h.append(replace(h[-1], round=r, refused=None))
        cost.add(r, time.perf_counter() - t, len(active) * correction.n, len(records))
    return history


def draft_steps(generator: Generator, outs: list[list[str]], params: SamplingParams) -> list[Step]:
    """Round 0 of each prompt from what ``generator.generate`` just returned (its first text),
    unscored: why it ended, the tokens it took (one text a prompt) and an endpoint's refusal."""
    ends = finish_reasons(generator, outs)
    took = usages(generator, len(outs)) if params.n == 1 else [None] * len(outs)
    refused = refusals(generator)
    return [Step(0, c[0], None, None, e[0], u, refused.get(i)) for i, (c, e, u) in enumerate(zip(outs, ends, took))]


def _rewrite_finish(corrector, drafts: list[str | None], k: int) -> list[list[str | None]]:
    """Why each of the ``k`` rewrites of the corrector's last ``correct`` call ended: its
    ``last_finish``, a draft it kept as its own (``last_kept``: ``drafts``, their reasons);
    unknown for a corrector of one's own that does not tell."""
    known = getattr(corrector, "last_finish", None)
    if not known or len(known) != len(drafts):
        return [[None] * k for _ in drafts]
    kept = getattr(corrector, "last_kept", frozenset())
    return [[d] * k if j in kept else list(known[j]) for j, d in enumerate(drafts)]


def _chosen(scores: Sequence[Score], value: Value) -> int:
    """Which of a draft's sampled rewrites to keep, by what is known without references: the
    first verified, else the highest by a reference-free value, else the first not faulty,
    else the first. The scores of a value that needs references are never looked at.

    >>> from types import SimpleNamespace as V
    >>> needs_refs = V(reference_free=False)
    >>> _chosen([Score(1.0, faulty=True), Score(0.0), Score(0.0, verified=True)], needs_refs)
    2
    >>> _chosen([Score(1.0, faulty=True), Score(0.0), Score(1.0)], needs_refs)  # values unseen: first not faulty
    1
    >>> _chosen([Score(0.2), Score(0.9), Score(None)], V(reference_free=True))
    1
    >>> _chosen([Score(0.9), Score(0.9)], V(reference_free=True))  # the first of equals
    0
    """
    verified = [j for j, s in enumerate(scores) if s.verified]
    if verified:
        return verified[0]
    known = [j for j, s in enumerate(scores) if s.value is not None]
    if value.reference_free and known:
        return max(known, key=lambda j: scores[j].value)  # the first of equals
    return next((j for j, s in enumerate(scores) if not s.faulty), 0)


def _still_open(history: Sequence[Step], value: Value, greedy: bool, verified: bool = False) -> bool:
    """Whether a draft goes to the corrector again. Not when it is known right without a
    reference: a reference-free value says it is at the maximum (an unknown value never is), or
    the value ``verified`` it (a program that passed its record's tests); not when greedy
    decoding left it unchanged last round -- the corrector would see the same input (draft and
    feedback) and write the same text again."""
    last = history[-1]
    if verified or (value.reference_free and last.value is not None and last.value >= value.max_value):
        return False
    return not (greedy and len(history) > 1 and history[-2].text == last.text)


def _failing(history: Sequence[Step], faulty: bool, value: Value) -> bool:
    """Whether the last draft is known to fall short without references: faulty, or below the
    maximum of a reference-free value."""
    last = history[-1]
    return faulty or (value.reference_free and last.value is not None and last.value < value.max_value)


def self_consistency(
    records: Sequence[dict],
    prompts: Sequence[str],
    generator: Generator,
    value: Value,
    samples: int,
    params: SamplingParams,
    pick: BaselinePick = "vote",
) -> list[dict]:
    """The honest baseline at equal decode count: ``samples`` generator drafts per prompt, and
    one of them kept. ``vote``: the majority of their answers (the value's ``answer``, else the
    text itself). ``best``: best-of-n, chosen as a correction's rewrites are (``_chosen``: the
    first that passes its record's tests, else the best by a reference-free value, else the
    first that runs). Neither looks at a reference; the kept draft's ``value`` is None where the
    value is unknown."""
    outs = generator.generate(prompts, replace(params, n=samples))
    flat_records = [r for r in records for _ in range(samples)]
    flat_scores = value(flat_records, [o for outs_i in outs for o in outs_i])
    results = []
    for i, out in enumerate(outs):
        scores: list[Score] = flat_scores[i * samples : (i + 1) * samples]
        if pick == "best":
            j = _chosen(scores, value)
        else:
            keys = [s.answer if s.answer is not None else o for s, o in zip(scores, out)]
            winner = Counter(keys).most_common(1)[0][0]  # ties go to the earliest sample
            j = keys.index(winner)
        kept = {"samples": samples, "text": out[j], "value": scores[j].value}
        results.append(kept if pick == "vote" else {**kept, "pick": pick})
    return results
