"""Gaps a mutation audit of the serving tests found (issue 26), each closed end to end: the API
key guards completions and chats (not only /v1/models); a streamed draft never shows the
start of a multi-token stop string (``Question:``) that its final text does not have, over
real HTTP; ``correct serve --dtype/--device`` place the models."""

from __future__ import annotations

import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from fastapi.testclient import TestClient  # noqa: E402
from harness import serving  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from correct.cli import app as cli  # noqa: E402
from correct.corrector.app.engine import Engine, ServeConfig  # noqa: E402
from correct.corrector.app.server import build_app  # noqa: E402
from correct.generators import load_generator  # noqa: E402
from correct.generators.base import GeneratorBase  # noqa: E402
from correct.tasks import MODELS  # noqa: E402
from correct.values import Score  # noqa: E402


class Echo(GeneratorBase):
    def generate(self, prompts, params):
        return [[p.upper()] * params.n for p in prompts]


class Length:
    name, max_value, min_value, reference_free = "length", 1.0, 0.0, True

    def __call__(self, records, outputs):
        return [Score(1.0, None) for _ in outputs]


def test_the_api_key_guards_completions_and_chats_too():
    engine = Engine(Echo(), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    completion = ("/v1/completions", {"model": "m", "prompt": "ab"})
    chat = ("/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "ab"}]})
    try:
        with TestClient(build_app(engine, "sekret")) as c:
            for path, body in (completion, chat):
                for headers in ({}, {"Authorization": "Bearer other"}, {"Authorization": "sekret"}):
                    r = c.post(path, json=body, headers=headers)
                    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key", (
                        path,
                        headers,
                        r.text,
                    )
                r = c.post(path, json=body, headers={"Authorization": "Bearer sekret"})
                assert r.status_code == 200, r.text
            assert c.get("/health").status_code == 200  # open to a load balancer
    finally:
        engine.stop()


SCRIPT = "print(5)\nQuestion: what is 2 plus 2?"
"""What the scripted model decodes, token by token: a program, then an invented next question."""


def scripted(generator):
    """The shipped tiny generator with its decoding replaced by ``SCRIPT``, token by token
    through the streamer it is given, as ``model.generate`` does."""
    import torch

    tokens = generator.tokenizer(SCRIPT, add_special_tokens=False)["input_ids"]

    def generate(input_ids, streamer=None, **kwargs):
        new = torch.tensor([tokens] * input_ids.shape[0])
        if streamer is not None:
            streamer.put(input_ids)
            for k in range(new.shape[1]):
                streamer.put(new[:, k])
            streamer.end()
        return torch.cat([input_ids, new], dim=1)

    generator.model.generate = generate
    generator.prefix_cache = generator.drop_finished = False  # every path through model.generate
    return generator


def test_a_streamed_draft_never_shows_the_start_of_a_multi_token_stop_over_http():
    generator = scripted(load_generator(str(MODELS / "arithmetic-generator"), device="cpu"))
    assert len(generator.tokenizer("Question:", add_special_tokens=False)["input_ids"]) > 1  # the stop spans tokens
    engine = Engine(generator, None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with serving(build_app(engine)) as root:
            client = openai.OpenAI(base_url=root + "/v1", api_key="none", max_retries=0, timeout=60)
            whole = (
                client.completions.create(
                    model="m", prompt="Question: Tom has 5 cards.\nProgram:\n", stop=["Question:"], max_tokens=64
                )
                .choices[0]
                .text
            )
            deltas = [
                ch.choices[0].text
                for ch in client.completions.create(
                    model="m",
                    prompt="Question: Tom has 5 cards.\nProgram:\n",
                    stop=["Question:"],
                    max_tokens=64,
                    stream=True,
                )
            ]
    finally:
        engine.stop()
    assert whole == "print(5)\n"
    assert "".join(deltas) == whole and len([d for d in deltas if d]) > 1, deltas  # streamed in pieces, none taken back
    assert not any("Q" in d for d in deltas), deltas


def test_serve_dtype_and_device_place_both_models(monkeypatch):
    """serve --dtype bfloat16 --device cpu: the generator and the corrector are loaded so (the
    spy stops the command once they are, before it serves)."""
    from correct.corrector.app import commands
    from correct.corrector.app.args import UsageError

    real, loaded = commands.load_models, {}

    def spy(*args, **kwargs):
        loaded["models"] = real(*args, **kwargs)
        raise UsageError("models loaded")

    monkeypatch.setattr(commands, "load_models", spy)
    result = CliRunner().invoke(
        cli, ["serve", "--task", "arithmetic", "--port", "0", "--dtype", "bfloat16", "--device", "cpu"]
    )
    assert result.exit_code == 2 and "models loaded" in result.stderr, result.output
    g, c = loaded["models"]
    for model in (g.model, c.generator.model):
        assert str(model.dtype) == "torch.bfloat16" and model.device.type == "cpu"
    result = CliRunner().invoke(cli, ["serve", "--task", "arithmetic", "--port", "0", "--dtype", "float8"])
    assert result.exit_code == 2 and "'--dtype'" in result.stderr and "'float8' is not one of" in result.stderr
