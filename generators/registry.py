"""Generator backends by name: ``load_generator(model, backend)``."""

from __future__ import annotations

from typing import Callable

from .base import Generator, GeneratorError


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
        raise GeneratorError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}", option="backend")
    return BACKENDS[backend](name_or_path, **kwargs)
