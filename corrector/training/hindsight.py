"""Hindsight trainers in the corrector's role (docs/training.md): how their training rows are
built from the pool. ``correct train --method hindsight`` trains on ``coh_rows``, ``--method
hir`` on ``hir_rows`` (the loop is ``loop.train_corrector``, the losses are in
``objectives.py``, the layouts themselves in ``corrector/layouts.py``).

**Chain of Hindsight** (Liu et al. 2023). For a prompt x and drafts of it ordered from worse
to better, the sequence is::

    Question: {x}
    {worse marker}
    {y_1}
    Feedback: {f(y_1)}          ("none" when the value gave none)
    ...
    {better marker}
    {y_n}<eos>

with the pair of markers drawn at random from ``COH_TEMPLATES``; the (worse, better) pairs
are the pairing sampler's, so both methods learn from the same data. By default only the
last (better) output carries loss; ``loss_on="all"`` puts loss on every output, as the
reference code does. Never on the question, markers or feedback. A share (``mask_share``,
15%) of the earlier outputs' tokens is hidden from attention, so the model cannot learn to
copy the worse draft; ``mask_scope="all"`` draws them from every past token instead, which
hides digits of the question too (on arithmetic that corrector ended below the generator:
docs/training.md, "Pairing vs Chain of Hindsight vs HIR"). At
inference the model sees the same layout with one draft and the first template's better
marker, so it refines exactly like a pairing-trained corrector.

**Hindsight Instruction Relabeling** (Zhang et al. 2023). Each pool output is paired with a
previous draft of the same prompt and relabelled by the outcome it achieved (``relabel``:
correct when its value reaches the maximum, or the pool's median for a value without one).
The model is trained on −log p(y | relabelled) plus the contrastive term
−log p(y | relabelled) / (p(y | relabelled) + p(y | opposite label)); the corrector's
exploration is the online sampling round, each iteration's training the offline one. At
inference it is asked for the good outcome given the previous draft (``TEMPLATES["hir"]``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, get_args

from ..layouts import COH_TEMPLATES, Segment, coh_segments, hir_instruction
from ..pool import Draft
from .config import LossOn, MaskScope, TrainError
from .encode import encode, leading_special_ids


def coh_rows(
    tokenizer,
    pairs: Sequence[tuple[str, str, str | None, str]],
    rng: random.Random,
    loss_on: str = "last",
    mask_share: float = 0.15,
    mask_scope: str = "outputs",
) -> list[dict[str, list[int]]]:
    """Encoded training rows of (prompt, worse draft, its feedback, better draft) pairs, each
    with a template drawn at random from ``COH_TEMPLATES``."""

    def tokenize(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    start = leading_special_ids(tokenizer)  # a BOS, as inference's tokenized input starts with it
    return [
        encode_coh(
            tokenize,
            coh_segments(prompt, [(worse, feedback), (better, None)], rng.choice(COH_TEMPLATES)),
            tokenizer.eos_token_id,
            loss_on,
            mask_share,
            rng,
            mask_scope,
            start,
        )
        for prompt, worse, feedback, better in pairs
    ]


def check_coh_options(loss_on: str, mask_share: float, mask_scope: str) -> None:
    """A TrainError naming the first bad Chain-of-Hindsight setting (the command line adds its flag)."""
    for name, value, choices in (("loss_on", loss_on, LossOn), ("mask_scope", mask_scope, MaskScope)):
        if value not in get_args(choices):
            raise TrainError(f"unknown {name} {value!r}; choose {', '.join(get_args(choices))}", option=name)
    if not 0.0 <= mask_share < 1.0:
        raise TrainError(f"mask_share must be in [0, 1), got {mask_share}", option="mask_share")


def encode_coh(
    tokenize: Callable[[str], list[int]],
    segments: Sequence[Segment],
    eos_id: int,
    loss_on: str = "last",
    mask_share: float = 0.15,
    rng: random.Random | None = None,
    mask_scope: str = "outputs",
    start: Sequence[int] = (),
) -> dict[str, list[int]]:
    """``input_ids``, ``labels`` (-100 where there is no loss) and ``attention_mask`` (0 for
    the past tokens hidden against copying) of one Chain-of-Hindsight sequence.

    Loss goes on the last output and its end-of-text token (``loss_on="last"``) or on every
    output (``"all"``). ``round(mask_share · n)`` of the n maskable past tokens, chosen at
    random, are hidden from attention: with ``mask_scope="outputs"`` the tokens of the earlier
    outputs (what the model could copy), with ``"all"`` every token before the last output
    but the first (so every position still attends to something). ``start``: special ids
    before the first segment (the tokenizer's BOS), never learned nor hidden."""
    check_coh_options(loss_on, mask_share, mask_scope)
    last = max(i for i, s in enumerate(segments) if s.output)
    ids: list[int] = list(start)
    labels: list[int] = [-100] * len(start)
    maskable: list[int] = []
    for i, s in enumerate(segments):
        piece = tokenize(s.text)
        if i < last and (s.output or mask_scope == "all"):
            maskable += range(len(ids), len(ids) + len(piece))
        ids += piece
        learn = s.output and (i == last or loss_on == "all")
        labels += piece if learn else [-100] * len(piece)
    ids.append(eos_id)
    labels.append(eos_id)
    maskable = [j for j in maskable if j > 0]
    mask = [1] * len(ids)
    k = round(mask_share * len(maskable))
    for j in (rng or random.Random(0)).sample(maskable, k):
        mask[j] = 0
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


# -- Hindsight Instruction Relabeling ----------------------------------------------------------


def relabel(value: float, threshold: float) -> bool:
    """The outcome an output achieved: True (correct) when its value reaches ``threshold``
    (the value's maximum, see ``outcome_threshold``)."""
    return value >= threshold


def outcome_threshold(values: Sequence[float], max_value: float) -> float:
    """The value an output must reach to count as correct: the value's maximum when it has
    one, else (a reward model) the median of the pool's known values, so half the outputs are
    good ones.

    >>> outcome_threshold([0.0, 1.0], 1.0), outcome_threshold([3.0, -1.0, 0.5, 2.0], math.inf)
    (1.0, 1.25)
    """
    if math.isfinite(max_value):
        return max_value
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        raise ValueError("no values to take a median of")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True)
class Relabelled:
    prompt_id: str
    source: Draft
    """The previous draft the refiner is shown."""
    target: Draft
    """The output trained on, under the instruction of the outcome it achieved."""
    outcome: bool


def sample_relabelled(
    drafts_by_prompt: Mapping[str, Sequence[Draft]], n: int, threshold: float, seed: int
) -> list[Relabelled]:
    """``n`` relabelled refining examples: a prompt at random, a previous draft and an output
    of it at random (the same one an eighth of the time with 8 drafts), and the outcome the
    output achieved. Wrong outputs are kept and labelled wrong; only drafts whose value is
    unknown (None: no outcome to relabel with) are left out."""
    rng = random.Random(seed)
    known = {pid: [d for d in drafts if d.value is not None] for pid, drafts in drafts_by_prompt.items()}
    prompts = sorted(pid for pid, drafts in known.items() if drafts)
    out = []
    for _ in range(n if prompts else 0):
        pid = rng.choice(prompts)
        drafts = known[pid]
        source, target = rng.choice(drafts), rng.choice(drafts)
        out.append(Relabelled(pid, source, target, relabel(target.value, threshold)))
    return out


def hir_rows(
    tokenizer, examples: Sequence[Relabelled], prompts_by_id: Mapping[str, str], max_length: int
) -> list[dict]:
    """Encoded rows: the output under its relabelled instruction (``input_ids``, ``labels``)
    and under the opposite one (``opp_input_ids``, ``opp_labels``); examples that do not fit
    ``max_length`` are dropped."""

    def under(e: Relabelled, outcome: bool) -> dict | None:
        source = hir_instruction(prompts_by_id[e.prompt_id], outcome, e.source.text, e.source.feedback)
        return encode(tokenizer, source, e.target.text, max_length)

    rows = []
    for e in examples:
        mine, opposite = under(e, e.outcome), under(e, not e.outcome)
        if mine and opposite:
            rows.append({**mine, **{f"opp_{k}": v for k, v in opposite.items()}})
    return rows
