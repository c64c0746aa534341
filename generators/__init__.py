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


def _hf(name_or_path: str, **kwargs) -> Generator:
    from .hf import HFGenerator

    return HFGenerator.from_pretrained(name_or_path, **kwargs)


# vllm and openai backends are planned (their own issues); an unknown name is a clear error.
BACKENDS: dict[str, Callable[..., Generator]] = {"hf": _hf}


def load_generator(name_or_path: str, backend: str = "hf", **kwargs) -> Generator:
    """Build a generator from a hub id or local path with the named backend."""
    if backend not in BACKENDS:
        raise GeneratorError(f"unknown backend {backend!r} (option --backend); choose one of: {', '.join(BACKENDS)}")
    return BACKENDS[backend](name_or_path, **kwargs)
