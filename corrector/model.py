"""The corrector: any causal LM plus an input template (prompt, draft, feedback -> correction).

A saved corrector is an ordinary Hugging Face model folder with one extra file,
``correct_config.json``, recording the method, the template and the training settings, so
``correct generate --corrector PATH`` needs no other flag to use it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from ..generators import Generator, GeneratorError, SamplingParams, load_generator
from .hindsight import coh_inference_input, hir_instruction

CONFIG_NAME = "correct_config.json"

TEMPLATES = {
    # The prompt is repeated so the corrector can re-solve, the draft so it can edit, and the
    # feedback (reference-free: an error line or what the program printed) says what went wrong.
    "default": "Question: {prompt}\nDraft:\n{draft}\nFeedback: {feedback}\nCorrection:\n",
    "no-feedback": "Question: {prompt}\nDraft:\n{draft}\nCorrection:\n",
    # The hindsight methods' inputs are built by the code that lays out their training rows
    # (corrector/hindsight.py), so training and inference cannot drift apart:
    # Chain of Hindsight: the training layout with one draft and its first pair of phrases,
    # "Question: {prompt}\nA worse answer:\n{draft}\nFeedback: {feedback}\nA better answer:\n".
    "hindsight": coh_inference_input("{prompt}", "{draft}", "{feedback}"),
    # Hindsight Instruction Relabeling: the previous draft, then the good outcome asked for,
    # "Question: {prompt}\nDraft:\n{draft}\nFeedback: {feedback}\nAnswer correctly.\n".
    "hir": hir_instruction("{prompt}", True, "{draft}", "{feedback}"),
}


@dataclass(frozen=True)
class CorrectorConfig:
    method: str = "pairing"
    """How it was trained: pairing | hindsight | hir."""
    template: str = "default"
    """Key of TEMPLATES used to build the corrector's input."""
    prompt_format: str | None = None
    """That template's text as it was at training time; inference uses it when present, so a
    saved corrector keeps its input format even if the built-in templates change."""
    task: str | None = None
    value: str | None = None
    training: dict = field(default_factory=dict)
    """The training settings, recorded for reproduction."""

    def save(self, folder: str | Path) -> None:
        Path(folder, CONFIG_NAME).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> "CorrectorConfig":
        path = Path(folder, CONFIG_NAME)
        if not path.exists():  # any causal LM can serve, with the default template
            return cls()
        return cls(**json.loads(path.read_text()))


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


class Corrector:
    """Rewrites drafts into (hopefully) better ones; decodes through any generator backend."""

    def __init__(self, generator: Generator, config: CorrectorConfig = CorrectorConfig()):
        self.generator, self.config = generator, config

    @classmethod
    def from_pretrained(cls, path: str, backend: str = "hf", **kwargs) -> "Corrector":
        config = CorrectorConfig.load(path) if Path(path).is_dir() else CorrectorConfig()
        return cls(load_generator(path, backend, **kwargs), config)

    def correct(
        self, prompts: Sequence[str], drafts: Sequence[str], feedbacks: Sequence[str | None], params: SamplingParams
    ) -> list[list[str]]:
        fmt = self.config.prompt_format
        inputs = [fill(fmt, p, d, f) if fmt else corrector_input(self.config.template, p, d, f)
                  for p, d, f in zip(prompts, drafts, feedbacks)]
        return self.generator.generate(inputs, params)
