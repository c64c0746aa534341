"""``--corrector self``: the generator rewrites its own draft, shown the question, the draft and
the value's feedback (Self-Refine, Madaan et al. 2023; Reflexion with test feedback, Shinn et al.
2023). No training: it works from the first minute on any task, with any backend, a remote API
model included, and it is the zero-training baseline beside every trained corrector.

A completion model is shown the task's own layout, so it answers in the task's form: the
generator's few-shot header (the task's solved examples), the question as the task lays it
out, the draft, its feedback, a line asking for a better answer, and the question again. A chat
model (a chat template, or ``--api chat``) is sent one user message saying the same in words.
A task file may give its own ``correction_prompt`` (fields ``{prompt}``, the question as the
task lays it out, ``{draft}`` and ``{feedback}``), which then replaces the layout after the
header (completion) or the message (chat).

With ``examples`` (``--self-examples``) a completion model's header is made of corrections
instead of solved examples, built from the task's solved examples (``correction_examples``):
each but the last is shown with another example's solution as its draft, that draft's real
feedback from the value, and its own solution as the better answer; the last is shown with its
own solution as the draft, kept as it is. The model sees both a fix and a right answer kept.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Callable, Sequence

from ..generators import Generator, SamplingParams
from ..generators.base import RewritesKept
from ..values import Value
from .layouts import fill
from .model import CorrectorConfig

log = logging.getLogger(__name__)

NAME = "self"
"""What ``--corrector`` says for this corrector."""

COMPLETION = "{prompt}{draft}\nFeedback: {feedback}\nA better answer, after that feedback:\n{prompt}"
"""The completion layout after the few-shot header: the draft continues the question as the
generator wrote it, and the question is asked again for the answer."""

CHAT = (
    "{prompt}\n\nYour previous answer:\n{draft}\n\nFeedback on it: {feedback}\n\n"
    "Write a better answer in the same form, and nothing else."
)
"""The one user message a chat model is sent."""


class SelfRefine(RewritesKept):
    """A corrector that is the generator itself, prompted to rewrite its draft."""

    def __init__(
        self,
        generator: Generator,
        layout: Callable[[dict], str] | None = None,
        header: str = "",
        template: str | None = None,
        chat: bool = False,
    ):
        self.generator = generator
        self.layout, self.header, self.chat = layout, header, chat
        """``layout``: the question as the task lays it out (its prompt template filled in with
        the record; None: the record's prompt as it is); ``header``: what precedes it in the
        generator's prompts (the few-shot examples)."""
        self.template = template or (CHAT if chat else COMPLETION)
        self.config = CorrectorConfig(method=NAME, template=NAME, prompt_format=self.template, question="task")

    def question(self, record: dict) -> str:
        """The question of ``record`` as the generator was asked it, without the header."""
        return self.layout(record) if self.layout is not None else record["prompt"]

    def input(self, question: str, draft: str, feedback: str | None) -> str:
        """What the generator is sent to rewrite ``draft`` of ``question`` (laid out by ``question``).

        >>> s = SelfRefine(None, layout=lambda r: f"Q: {r['prompt']}\\nA: ", header="Q: 1+1\\nA: 2\\n\\n")
        >>> text = s.input(s.question({"prompt": "2+3"}), "6", "printed 6")
        >>> print(text.rstrip(" "))
        Q: 1+1
        A: 2
        <BLANKLINE>
        Q: 2+3
        A: 6
        Feedback: printed 6
        A better answer, after that feedback:
        Q: 2+3
        A:
        >>> text.endswith("A: ")  # the question asked again, as the generator drafted it
        True
        """
        text = fill(self.template, question, draft, feedback)
        return text if self.chat else self.header + text

    def correct(
        self, questions: Sequence[str], drafts: Sequence[str], feedbacks: Sequence[str | None], params: SamplingParams
    ) -> list[list[str]]:
        inputs = [self.input(q, d, f) for q, d, f in zip(questions, drafts, feedbacks)]
        return self.rewrite(self.generator, inputs, params, drafts)


def for_task(
    generator: Generator,
    format_prompt: Callable[[dict], str],
    few_shot: Callable[[dict], str] | None,
    template: str | None = None,
    examples: Callable[[str], str] | None = None,
) -> SelfRefine:
    """The self corrector of a task: ``format_prompt`` lays a record's question out, ``few_shot``
    (the generator's prompt) puts the header before it. The header is what ``few_shot`` writes
    before the layout, whatever fields the task's template names; ``examples(template)``, when
    given, writes a completion model's header instead (``correction_examples``)."""
    chat = generator.chat_template
    header = ""
    if examples is not None and chat:
        log.warning(
            "solved examples as corrections are shown to a completion model only; this generator takes a chat "
            "template, so its rewrite prompts are without them"
        )
    if examples is not None and not chat:
        header = examples(template or COMPLETION)
    elif few_shot is not None:
        probe = defaultdict(_Mark, prompt=_Mark())  # any field the template names, in any format
        whole, own = few_shot(probe), format_prompt(probe)
        header = whole[: len(whole) - len(own)] if whole.endswith(own) else ""
    return SelfRefine(generator, format_prompt, header, template, chat)


class _Mark(str):
    """A record field while the header is found: one mark however the prompt template writes the
    field (``{n:d}``, ``{n:.2f}``, ``{meta.key}``, ``{items[0]}``), where a plain string would
    fail the format of a number field."""

    def __new__(cls):
        return super().__new__(cls, "\x00")

    def __format__(self, spec: str) -> str:
        return "\x00"

    def __getattr__(self, name: str) -> "_Mark":
        return self

    def __getitem__(self, key) -> "_Mark":
        return self


def correction_examples(
    records: Sequence[dict], layout: Callable[[dict], str], value: Value, target: str, end: Callable[[str], str]
) -> Callable[[str], str]:
    """A header of corrections made from solved ``records`` (their ``target`` is the solution),
    in a correction template: record i's draft is record i+1's solution, with the feedback
    ``value`` gives it, and its better answer is its own solution; the last record's draft is
    its own solution, kept. Each example ends with ``end(what follows it)`` (``tasks.answer_end``).
    Solutions are written as the generator's examples show them (``solution_text``: JSON for
    an object, not Python's repr). ``records``: one or more."""
    from ..tasks.task import solution_text

    solutions = [solution_text(r[target]) for r in records]
    drafts = solutions[1:] + solutions[-1:]
    scores = value(list(records), drafts)

    def header(template: str) -> str:
        filled = [fill(template, layout(r), d, s.feedback) for r, d, s in zip(records, drafts, scores)]
        stop = end(filled[0])  # not one the next example begins with
        return "".join(f + solution + stop for f, solution in zip(filled, solutions))

    return header


def of_task(
    generator: Generator,
    task,
    few_shot: Callable[[dict], str],
    value: Value | None = None,
    shots: int | None = None,
    seed: int = 0,
) -> SelfRefine:
    """The self corrector for ``task`` (a ``tasks.Task``; None: records given as they are),
    whose generator prompts are ``few_shot``. With ``value``, a completion model is shown the
    task's ``shots`` solved examples (default: the task's number) as corrections."""
    if task is None:
        return SelfRefine(generator, chat=generator.chat_template)
    examples = None
    if value is not None:
        from ..tasks import answer_end, shot_records

        records = shot_records(task, shots, seed)
        if records:
            end = lambda after: answer_end(task, after)  # noqa: E731
            examples = correction_examples(records, task.format_prompt, value, task.shots.target, end)
    return for_task(generator, task.format_prompt, few_shot, task.correction_prompt, examples)
