"""A second audit of ``correct serve`` against what OpenAI clients send and read: half a
surrogate pair in a ``stop`` string (a 500 before), a context overflow asked for with
``max_completion_tokens`` named as ``max_tokens``, a streamed refusal sent as a 500 server error,
streamed chunks whose ``created`` moved on and that lacked ``usage: null`` under
``include_usage``, and text parts of one message run together. In-process, on the tiny
arithmetic generator or scripted ones."""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from correct.corrector.app import server  # noqa: E402
from correct.corrector.app.engine import Engine, ServeConfig  # noqa: E402
from correct.corrector.app.server import build_app  # noqa: E402
from correct.generators import load_generator  # noqa: E402
from correct.generators.base import GeneratorBase  # noqa: E402
from correct.tasks import TASKS  # noqa: E402
from correct.values import Score, ValueFunctionError  # noqa: E402


class Anything:
    name, max_value, min_value, reference_free = "anything", 1.0, 0.0, True

    def __call__(self, records, outputs):
        return [Score(1.0, None) for _ in outputs]


class Recording(GeneratorBase):
    """Answers each prompt with itself, upper-cased, and keeps the prompts it was given."""

    def __init__(self):
        self.prompts: list[str] = []

    def generate(self, prompts, params):
        self.prompts += prompts
        return [[p.upper()] * params.n for p in prompts]


@pytest.fixture(scope="module")
def tiny():
    """The tiny arithmetic generator behind the app, drafts only, without a task."""
    engine = Engine(
        load_generator(TASKS["arithmetic"].generator), None, Anything(), None, ServeConfig(model_name="m", rounds=0)
    ).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            yield c
    finally:
        engine.stop()


def error(r, status: int = 400) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


def events(r) -> list[dict]:
    """A streamed response's events, ``[DONE]`` last and left out."""
    assert r.status_code == 200, r.text
    data = [line[len("data: ") :] for line in r.text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]", data
    return [json.loads(d) for d in data[:-1]]


@pytest.mark.parametrize("stop, param", [('"\\ud800"', "stop"), ('["x", "\\udc00"]', "stop[1]")])
@pytest.mark.parametrize("stream", ["false", "true"])
def test_half_a_surrogate_pair_in_a_stop_string_is_a_400_naming_it_not_a_500(tiny, stop, param, stream):
    raw = f'{{"model": "m", "prompt": "Tom has 3 cards.", "max_tokens": 4, "stream": {stream}, "stop": {stop}}}'
    r = tiny.post("/v1/completions", content=raw.encode(), headers={"content-type": "application/json"})
    e = error(r)
    assert e["param"] == param and e["message"].startswith(f"{param}: half a surrogate pair"), e


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/completions", {"prompt": "Tom has 3 cards."}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Tom has 3 cards."}]}),
    ],
)
def test_a_token_budget_over_the_context_is_named_as_the_request_named_it(tiny, path, body):
    """langchain-openai and the openai client send ``max_completion_tokens``: the 400 names it,
    not ``max_tokens``, which the request did not hold."""
    e = error(tiny.post(path, json={"model": "m", "max_completion_tokens": 1000, **body}))
    assert e["param"] == "max_completion_tokens", e
    assert "max_completion_tokens asks for 1000" in e["message"] and "max_tokens" not in e["message"].replace(
        "max_completion_tokens", ""
    ), e
    e = error(tiny.post(path, json={"model": "m", "max_tokens": 1000, **body}))
    assert e["param"] == "max_tokens" and "max_tokens asks for 1000" in e["message"], e


def test_a_refusal_found_once_a_stream_has_started_is_a_400_error_event_not_a_500():
    """A value that cannot work without a record field fails in the worker, after the stream's
    status line: its error event is the 400 the same request gets unstreamed."""

    class NeedsConcepts(Anything):
        def __call__(self, records, outputs):
            raise ValueFunctionError("value 'constraints' needs `concepts` in each record")

    engine = Engine(Recording(), object(), NeedsConcepts(), None, ServeConfig(model_name="m", rounds=1)).start()
    body = {"model": "m", "prompt": "a dog and a ball"}
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            plain = error(c.post("/v1/completions", json=body))
            streamed = events(c.post("/v1/completions", json={**body, "stream": True}))
    finally:
        engine.stop()
    assert plain["param"] == "record" and plain["code"] == 400
    assert streamed == [{"error": plain}], streamed


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/completions", {"prompt": "Tom has 3 cards."}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Tom has 3 cards."}]}),
    ],
)
def test_every_chunk_of_a_stream_has_the_same_created_and_usage_null_but_the_last(tiny, path, body, monkeypatch):
    """OpenAI: "Each chunk has the same timestamp"; with ``include_usage`` "all other chunks
    will also include a usage field, but with a null value". The clock ticks a second a call."""
    ticks = itertools.count(1_700_000_000)
    monkeypatch.setattr(server, "time", SimpleNamespace(time=lambda: next(ticks)))
    body = {"model": "m", "max_tokens": 6, "n": 2, "stream": True, **body}
    chunks = events(tiny.post(path, json={**body, "stream_options": {"include_usage": True}}))
    assert len(chunks) > 4 and len({ch["created"] for ch in chunks}) == 1, [ch["created"] for ch in chunks]
    assert all("usage" in ch for ch in chunks), chunks
    assert [ch["usage"] is None for ch in chunks] == [True] * (len(chunks) - 1) + [False]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    # Without include_usage no chunk has a usage field.
    assert not any("usage" in ch for ch in events(tiny.post(path, json=body)))


def test_text_parts_of_a_message_are_not_run_together():
    """Two text parts are two pieces of text, as vLLM reads them: joined by a line break, not
    glued into one word ("cards.He")."""
    generator = Recording()
    engine = Engine(generator, None, Anything(), None, ServeConfig(model_name="m", rounds=0)).start()
    parts = [{"type": "text", "text": "Tom has 3 cards."}, {"type": "text", "text": "He buys 4 more."}]
    try:
        with TestClient(build_app(engine)) as c:
            r = c.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": parts}]})
    finally:
        engine.stop()
    assert r.status_code == 200, r.text
    assert generator.prompts == ["Tom has 3 cards.\nHe buys 4 more."]
