"""A run or request that cannot fit the model's context is refused, not mangled (issue 26): a
token budget that leaves no room for a prompt is one line before drafting; a serve request
whose prompt and max_tokens overflow the context is a 400 naming max_tokens; prompts that
generate still cuts to fit are counted and said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from correct.cli import app
from correct.generators import SamplingParams
from correct.generators.base import ContextError
from correct.generators.hf import HFGenerator

GENERATOR = str(Path(__file__).resolve().parents[2] / "tasks" / "models" / "arithmetic-generator")  # a context of 256


def test_a_budget_with_no_room_for_a_prompt_is_one_line_before_drafting(tmp_path):
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--task",
            "arithmetic",
            "--generator",
            GENERATOR,
            "--rounds",
            "0",
            "--limit",
            "4",
            "--max-new-tokens",
            "300",
            "--no-baseline",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 2, (result.output, result.exception)
    assert "max_new_tokens 300 leaves no room for a prompt in this model's context of 256 tokens" in " ".join(
        result.stderr.split()
    )
    assert "Traceback" not in result.output
    assert not out.exists() or out.read_text() == ""  # nothing drafted


def test_prompts_cut_to_fit_are_counted_and_said(tmp_path, caplog):
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--task",
            "arithmetic",
            "--generator",
            GENERATOR,
            "--rounds",
            "0",
            "--limit",
            "3",
            "--max-new-tokens",
            "250",
            "--no-baseline",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.with_suffix(".metrics.json").read_text())
    assert metrics["truncated_prompts"] == 3  # every arithmetic question is longer than the 6 tokens left
    assert "3 prompts were longer than the model's context leaves room for (with --max-new-tokens 250)" in caplog.text
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--task",
            "arithmetic",
            "--generator",
            GENERATOR,
            "--rounds",
            "0",
            "--limit",
            "3",
            "--no-baseline",
            "--output",
            str(tmp_path / "p.jsonl"),
        ],
    )
    assert "truncated_prompts" not in json.loads((tmp_path / "p.metrics.json").read_text())


def test_check_fits_names_the_numbers():
    gen = HFGenerator.from_pretrained(GENERATOR, device="cpu")
    n = len(gen.tokenizer("Question: 1 + 1?")["input_ids"])
    gen.check_fits(["Question: 1 + 1?"], SamplingParams(max_new_tokens=256 - n))
    with pytest.raises(
        ContextError,
        match=f"context is 256 tokens; the prompt has {n} and max_tokens asks for {257 - n}: "
        f"ask for at most {256 - n} new tokens",
    ):
        gen.check_fits(["Question: 1 + 1?"], SamplingParams(max_new_tokens=257 - n))


def test_room_then_check_fits_encodes_the_prompts_once(monkeypatch):
    """A served request without a budget asks for the room its prompts leave, then checks they
    fit: the prompts are encoded once, not twice (a long prompt's tokenizing is not free), and
    other prompts are encoded again."""
    gen = HFGenerator.from_pretrained(GENERATOR, device="cpu")
    calls = []
    encoded = gen._encoded
    monkeypatch.setattr(gen, "_encoded", lambda prompts: calls.append(list(prompts)) or encoded(prompts))
    prompts = ["Question: 1 + 1?", "Question: 22 + 3?"]
    rooms = gen.room(prompts)
    gen.check_fits(prompts, SamplingParams(max_new_tokens=min(rooms)))
    assert calls == [prompts]
    assert rooms == [256 - len(ids) for ids in encoded(prompts)[1]]
    assert gen.room(prompts[:1]) == rooms[:1] and len(calls) == 2


def test_serve_refuses_a_request_that_cannot_fit_with_a_400_naming_max_tokens():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from correct.corrector.app.engine import Engine, ServeConfig
    from correct.corrector.app.server import build_app
    from correct.values import load_value

    gen = HFGenerator.from_pretrained(GENERATOR, device="cpu")
    value = load_value("program")
    engine = Engine(
        gen,
        None,
        value,
        None,
        ServeConfig(model_name="m", rounds=0, params=SamplingParams(temperature=0.0, max_new_tokens=32)),
    ).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as client:
            r = client.post("/v1/completions", json={"model": "m", "prompt": "Tom has 3 cards.", "max_tokens": 256})
            assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens"
            # What the client asked for, by the field it sent (langchain's OpenAI() sends 256).
            assert "the prompt has 6 and max_tokens asks for 256: ask for at most 250" in r.json()["error"]["message"]
            r = client.post("/v1/completions", json={"model": "m", "prompt": "Tom has 3 cards. " * 80})
            assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
            assert "leaves no room for an answer: send a shorter prompt" in r.json()["error"]["message"]
            r = client.post(
                "/v1/completions", json={"model": "m", "prompt": "Tom has 3 cards. " * 30, "max_tokens": 200}
            )
            assert r.status_code == 400 and "ask for at most" in r.json()["error"]["message"]
            r = client.post("/v1/completions", json={"model": "m", "prompt": "Tom has 3 cards.", "max_tokens": 16})
            assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] > 0
    finally:
        engine.stop()
        value.close()
