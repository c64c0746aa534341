"""Generators: prompts in, n completions per prompt out.

A backend is anything with a ``generate(prompts, params) -> list[list[str]]`` method.
Backends are chosen by name through the plain ``BACKENDS`` registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0
    """Softmax temperature; 0 means greedy decoding."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    max_new_tokens: int = 128
    """Upper bound on generated tokens per completion."""
    stop: tuple[str, ...] = ()
    """Completions are cut before the first occurrence of any of these strings."""
    n: int = 1
    """Completions per prompt."""
    seed: int = 0
    """Seed for sampling; the same prompts, params and seed give the same completions."""


class Generator(Protocol):
    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[str]]:
        """Return ``params.n`` completions (prompt excluded) for every prompt."""
        ...


class GeneratorError(RuntimeError):
    """A user-facing problem with a generator (missing model, bad backend)."""


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` before the earliest stop string.

    >>> truncate_at_stop("a = 1\\n\\nnext problem", ["\\n\\n"])
    'a = 1'
    >>> truncate_at_stop("abc", [])
    'abc'
    """
    cut = len(text)
    for s in stop:
        i = text.find(s)
        if s and i != -1:
            cut = min(cut, i)
    return text[:cut]


def _smollm2(log: Callable[[str], None], force: bool = False) -> str:
    from . import smollm2

    return str(smollm2.prepare(force=force, log=log))


NAMED: dict[str, Callable[..., str]] = {"smollm2": _smollm2, "smollm2-135m-instruct": _smollm2}
"""Generators known by a short name: each is prepared once (converted, cached) and then loaded
from its local folder. A local folder of the same name takes precedence."""


def resolve_model(name_or_path: str, log: Callable[[str], None] | None = None) -> str:
    """The local folder of a named generator (prepared on first use, which says what it does
    through ``log``, by default the ``correct`` logger); anything else unchanged."""
    import logging
    import os

    if name_or_path in NAMED and not os.path.exists(name_or_path):
        return NAMED[name_or_path](log or logging.getLogger("correct").warning)
    return name_or_path


def _hf(name_or_path: str, **kwargs) -> Generator:
    from .hf import HFGenerator

    return HFGenerator.from_pretrained(name_or_path, **kwargs)


def _vllm(name_or_path: str, **kwargs) -> Generator:
    from .vllm import VLLMGenerator

    return VLLMGenerator.from_pretrained(name_or_path, **kwargs)


def _openai(model: str, **kwargs) -> Generator:
    from .openai import OpenAIGenerator

    return OpenAIGenerator(model, **kwargs)


BACKENDS: dict[str, Callable[..., Generator]] = {"hf": _hf, "vllm": _vllm, "openai": _openai}
"""Backends by name; each takes a model (hub id, path, named generator, or the endpoint's
model name for ``openai``) and its own keyword options."""


def load_generator(name_or_path: str, backend: str = "hf", **kwargs) -> Generator:
    """Build a generator from a hub id, a local path or a named generator (``NAMED``) with the
    named backend."""
    if backend not in BACKENDS:
        raise GeneratorError(f"unknown backend {backend!r} (option --backend); choose one of: {', '.join(BACKENDS)}")
    return BACKENDS[backend](name_or_path, **kwargs)
