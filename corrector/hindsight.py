"""Hindsight trainers in the corrector's role (DESIGN.md, "Hindsight trainer"): the pieces
that are pure and unit-tested -- sequence building, loss labels and past-token masking for
Chain of Hindsight, and the relabelling rule and contrastive loss of Hindsight Instruction
Relabeling. ``correct train --method hindsight`` trains on ``coh_rows``; HIR's training loop
is not wired in yet.

**Chain of Hindsight** (Liu et al. 2023). For a prompt x and drafts of it ordered from worse
to better, the sequence is::

    Question: {x}
    {worse marker}
    {y_1}
    Feedback: {f(y_1)}          ("none" when the value gave none)
    ...
    {better marker}
    {y_n}<eos>

with the pair of markers drawn at random from ``COH_TEMPLATES``. By default only the last
(better) output carries loss; ``loss_on="all"`` puts loss on every output, as the reference
code does. Never on the question, markers or feedback. A share of the tokens before the last
output (``mask_share``, 15%) is hidden from attention, so the model cannot learn to copy the
worse draft. At inference the model sees the same layout with one draft and the first
template's better marker, so it refines exactly like a pairing-trained corrector.

**Hindsight Instruction Relabeling** (Zhang et al. 2023). Each sampled output's instruction
is relabelled by the outcome it achieved (``relabel``), and the model is trained on
−log p(y | relabelled) plus the contrastive term
−log p(y | relabelled) / (p(y | relabelled) + p(y | opposite label)).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable, Sequence

COH_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("A worse answer:", "A better answer:"),
    ("This answer is not as good:", "This answer is better:"),
    ("An answer with mistakes:", "The corrected answer:"),
    ("Bad:", "Good:"),
    ("The following is not as good as the next one:", "The next one:"),
)
"""(worse marker, better marker) pairs; the first is the one used at inference."""


@dataclass(frozen=True)
class Segment:
    text: str
    output: bool = False
    """Whether this is one of the outputs (y), as opposed to question, marker or feedback."""


def coh_segments(prompt: str, drafts: Sequence[tuple[str, str | None]], template: tuple[str, str]) -> list[Segment]:
    """The Chain-of-Hindsight layout of ``drafts`` ((text, feedback), worse first, best
    last). Every draft but the last is introduced by the worse marker and followed by its
    feedback when there is some; the last by the better marker.

    >>> [s.text for s in coh_segments("2+2?", [("5", None), ("4", None)], COH_TEMPLATES[0])]
    ['Question: 2+2?\\nA worse answer:\\n', '5', '\\nFeedback: none\\n', 'A better answer:\\n', '4']
    """
    if len(drafts) < 2:
        raise ValueError("a hindsight sequence needs at least a worse and a better draft")
    worse, better = template
    segments = [Segment(f"Question: {prompt}\n{worse}\n")]
    for i, (text, feedback) in enumerate(drafts[:-1]):
        if i:
            segments.append(Segment(f"{worse}\n"))
        segments.append(Segment(text, output=True))
        segments.append(Segment(f"\nFeedback: {feedback or 'none'}\n"))
    segments.append(Segment(f"{better}\n"))
    segments.append(Segment(drafts[-1][0], output=True))
    return segments


def coh_inference_input(prompt: str, draft: str, feedback: str | None) -> str:
    """What a Chain-of-Hindsight corrector is given at inference: the training layout with
    one draft and the first template, up to the better marker (``TEMPLATES["hindsight"]``)."""
    return "".join(s.text for s in coh_segments(prompt, [(draft, feedback), ("", None)], COH_TEMPLATES[0])[:-1])


def coh_rows(tokenizer, pairs: Sequence[tuple[str, str, str | None, str]], rng: random.Random, loss_on: str = "last",
             mask_share: float = 0.15) -> list[dict[str, list[int]]]:
    """Encoded training rows of (prompt, worse draft, its feedback, better draft) pairs, each
    with a template drawn at random from ``COH_TEMPLATES``."""
    def tokenize(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    return [encode_coh(tokenize, coh_segments(prompt, [(worse, feedback), (better, None)], rng.choice(COH_TEMPLATES)),
                       tokenizer.eos_token_id, loss_on, mask_share, rng)
            for prompt, worse, feedback, better in pairs]


def encode_coh(
    tokenize: Callable[[str], list[int]],
    segments: Sequence[Segment],
    eos_id: int,
    loss_on: str = "last",
    mask_share: float = 0.15,
    rng: random.Random | None = None,
) -> dict[str, list[int]]:
    """``input_ids``, ``labels`` (-100 where there is no loss) and ``attention_mask`` (0 for
    the past tokens hidden against copying) of one Chain-of-Hindsight sequence.

    Loss goes on the last output and its end-of-text token (``loss_on="last"``) or on every
    output (``"all"``). Of the tokens before the last output, ``round(mask_share · n)``
    chosen at random are hidden from attention -- never the first token, so every position
    still attends to something."""
    if loss_on not in ("last", "all"):
        raise ValueError(f"loss_on must be 'last' or 'all', got {loss_on!r}")
    if not 0.0 <= mask_share < 1.0:
        raise ValueError(f"mask_share must be in [0, 1), got {mask_share}")
    last = max(i for i, s in enumerate(segments) if s.output)
    ids: list[int] = []
    labels: list[int] = []
    for i, s in enumerate(segments):
        piece = tokenize(s.text)
        ids += piece
        learn = s.output and (i == last or loss_on == "all")
        labels += piece if learn else [-100] * len(piece)
    ids.append(eos_id)
    labels.append(eos_id)
    past = sum(len(tokenize(s.text)) for s in segments[:last])
    mask = [1] * len(ids)
    k = round(mask_share * past)
    if k and past > 1:
        for j in (rng or random.Random(0)).sample(range(1, past), min(k, past - 1)):
            mask[j] = 0
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


# -- Hindsight Instruction Relabeling ----------------------------------------------------------

HIR_LABELS = {True: "Answer correctly.", False: "Answer wrongly."}
"""The instruction suffix for each outcome; at inference the model is asked for the good one."""


def relabel(value: float, max_value: float) -> bool:
    """The outcome an output achieved: True (correct) when its value reaches ``max_value``."""
    return value >= max_value


def hir_instruction(prompt: str, outcome: bool, draft: str | None = None, feedback: str | None = None) -> str:
    """The relabelled instruction; with ``draft`` it is a refiner's input (the previous draft
    and its feedback, then the outcome asked for)."""
    head = f"Question: {prompt}\n"
    if draft is not None:
        head += f"Draft:\n{draft}\n" + (f"Feedback: {feedback}\n" if feedback else "")
    return f"{head}{HIR_LABELS[outcome]}\n"


def contrastive_loss(logp_relabelled: float, logp_opposite: float) -> float:
    """−log p(y|relabelled) / (p(y|relabelled) + p(y|opposite)), from the two sequence
    log-likelihoods, computed stably (softplus of their difference).

    >>> round(contrastive_loss(math.log(0.6), math.log(0.2)), 4)  # -log(0.6 / 0.8)
    0.2877
    """
    d = logp_opposite - logp_relabelled
    return d + math.log1p(math.exp(-d)) if d > 0 else math.log1p(math.exp(d))
