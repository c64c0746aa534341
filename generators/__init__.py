"""Generators: prompts in, n completions per prompt out.

A backend is anything with a ``generate(prompts, params) -> list[list[str]]`` method
(``base.Generator``); backends are chosen by name through the plain ``registry.BACKENDS``.
"""

from .base import Generator, GeneratorError, SamplingParams, truncate_at_stop
from .named import NAMED, resolve_model
from .registry import BACKENDS, load_generator

__all__ = [
    "BACKENDS",
    "NAMED",
    "Generator",
    "GeneratorError",
    "SamplingParams",
    "load_generator",
    "resolve_model",
    "truncate_at_stop",
]
