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

from ..generators import Generator, SamplingParams, load_generator
from .layouts import TEMPLATES, corrector_input, fill

CONFIG_NAME = "correct_config.json"


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
