"""Every input layout a corrector is trained and asked with, in one place that the model
and the trainers both import (so training and inference cannot drift apart):

- pairing: ``TEMPLATES["default"]`` (question, draft, feedback -> correction) and
  ``"no-feedback"``;
- Chain of Hindsight (Liu et al. 2023): ``coh_segments``, a question then drafts introduced
  by (worse, better) markers from ``COH_TEMPLATES``; at inference one draft and the first
  pair's better marker (``TEMPLATES["hindsight"]``);
- Hindsight Instruction Relabeling (Zhang et al. 2023): ``hir_instruction``, the question,
  the previous draft and the outcome asked for (``HIR_LABELS``; ``TEMPLATES["hir"]``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Sequence

from ..generators.base import GeneratorError

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


HIR_LABELS = {True: "Answer correctly.", False: "Answer wrongly."}
"""The instruction suffix for each outcome; at inference the model is asked for the good one."""


def hir_instruction(prompt: str, outcome: bool, draft: str | None = None, feedback: str | None = None) -> str:
    """The relabelled instruction; with ``draft`` it is a refiner's input (the previous draft
    and its feedback, then the outcome asked for) -- ``TEMPLATES["hir"]`` with the good outcome."""
    head = f"Question: {prompt}\n"
    if draft is not None:
        head += f"Draft:\n{draft}\nFeedback: {feedback or 'none'}\n"
    return f"{head}{HIR_LABELS[outcome]}\n"


TEMPLATES = {
    # The prompt is repeated so the corrector can re-solve, the draft so it can edit, and the
    # feedback (reference-free: an error line or what the program printed) says what went wrong.
    "default": "Question: {prompt}\nDraft:\n{draft}\nFeedback: {feedback}\nCorrection:\n",
    "no-feedback": "Question: {prompt}\nDraft:\n{draft}\nCorrection:\n",
    # The hindsight methods' inputs are built by the code that lays out their training rows,
    # so training and inference cannot drift apart:
    # Chain of Hindsight: the training layout with one draft and its first pair of phrases,
    # "Question: {prompt}\nA worse answer:\n{draft}\nFeedback: {feedback}\nA better answer:\n".
    "hindsight": coh_inference_input("{prompt}", "{draft}", "{feedback}"),
    # Hindsight Instruction Relabeling: the previous draft, then the good outcome asked for,
    # "Question: {prompt}\nDraft:\n{draft}\nFeedback: {feedback}\nAnswer correctly.\n".
    "hir": hir_instruction("{prompt}", True, "{draft}", "{feedback}"),
}


def corrector_input(template: str, prompt: str, draft: str, feedback: str | None) -> str:
    """Fill a corrector template.

    >>> print(corrector_input("default", "1+1?", "print(3)", "printed 3"))
    Question: 1+1?
    Draft:
    print(3)
    Feedback: printed 3
    Correction:
    <BLANKLINE>
    """
    if template not in TEMPLATES:
        raise GeneratorError(f"unknown corrector template {template!r}; known: {', '.join(TEMPLATES)}")
    return fill(TEMPLATES[template], prompt, draft, feedback)


def fill(text: str, prompt: str, draft: str, feedback: str | None) -> str:
    """A template's text with its fields filled (``none`` where there is no feedback)."""
    return text.format(prompt=prompt, draft=draft, feedback=feedback or "none")


def template_problem(text: str) -> str | None:
    """What is wrong with a corrector input template's ``text`` (its fields are {prompt}, {draft}
    and {feedback}, each written plainly), None when nothing is.

    >>> template_problem("Question: {prompt}\\nDraft:\\n{draft}\\n")
    >>> template_problem("{draft} {answer}")
    "names the field 'answer'; a template's fields are {prompt}, {draft} and {feedback}"
    >>> template_problem("Question: {prompt}\\nCorrection:\\n")
    'has no {draft}: the corrector would never be shown the draft it rewrites'
    """
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as e:
        return f"is not a valid template ({e})"
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in ("prompt", "draft", "feedback"):
            return f"names the field {name!r}; a template's fields are {{prompt}}, {{draft}} and {{feedback}}"
        if spec or conversion:
            return f"writes {{{name}}} with a format or conversion; write it as {{{name}}}"
    if not any(name == "draft" for _, name, _, _ in parts):
        return "has no {draft}: the corrector would never be shown the draft it rewrites"
    return None
