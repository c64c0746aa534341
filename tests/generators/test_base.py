"""The Generator protocol's optional capabilities: a generator of one's own that writes only
``generate`` has them as GeneratorBase gives them, and the engine asks them without probing."""

from __future__ import annotations

import pytest

from correct.corrector.app.generate import GenerateConfig, add_perplexity, generate_run
from correct.generators import GeneratorError, SamplingParams
from correct.generators.base import GeneratorBase
from correct.values import load_value


class Tail(GeneratorBase):
    """Answers each prompt with its last word: no tokenizer, no scores, no counts of its own."""

    def generate(self, prompts, params):
        return [[p.split()[-1]] * params.n for p in prompts]


def test_a_generator_of_ones_own_has_every_capability_at_its_default():
    g = Tail()
    assert (g.tokenizer, g.chat_template, g.streams, g.scores, g.tokens_generated, g.truncated_prompts) == (
        None,
        False,
        False,
        False,
        0,
        0,
    )
    assert (
        g.check_fits(["any prompt"], SamplingParams(max_new_tokens=10**6)) is None
    )  # nothing to check: the backend decides
    with pytest.raises(GeneratorError, match="Tail does not score text"):
        g.log_likelihoods(["a"], ["b"])
    with pytest.raises(NotImplementedError, match="GeneratorBase must define generate"):
        GeneratorBase().generate(["a"], SamplingParams())


def test_fluency_of_a_generator_that_cannot_score_is_named_before_any_work():
    with pytest.raises(GeneratorError, match="--fluency needs a generator that scores text; Tail does not"):
        add_perplexity(Tail(), ["p"], [[{"text": "t"}]])


def test_generate_runs_with_a_generator_that_only_writes_generate(tmp_path):
    """The engine's counts (tokens, truncated prompts) read the defaults: no AttributeError."""
    records = [{"id": str(i), "prompt": f"use {w}", "concepts": [w]} for i, w in enumerate(["cat", "dog"])]
    with load_value("constraints") as value:
        metrics = generate_run(
            records,
            lambda r: r["prompt"],
            Tail(),
            None,
            value,
            SamplingParams(temperature=0, max_new_tokens=4),
            tmp_path / "out.jsonl",
            None,
            GenerateConfig(rounds=0, baseline=False),
        )
    assert metrics["tokens"] == 0 and "truncated_prompts" not in metrics
    assert metrics["rounds"][0]["solved"] == 1.0
