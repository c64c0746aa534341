"""A third audit of ``correct serve`` against what OpenAI clients send: a request that leaves
out ``max_tokens`` (the openai client's default, langchain's, a chat UI's) refused with a 400
that named ``max_tokens`` when the server's own default budget did not fit after its prompt;
a ``record`` whose ``tests`` Python's compiler gives up on (a 500). In-process, on the tiny
arithmetic generator (a context of 256 tokens) or scripted ones."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from correct.corrector.app.engine import Engine, ServeConfig  # noqa: E402
from correct.corrector.app.server import build_app  # noqa: E402
from correct.generators import SamplingParams, load_generator  # noqa: E402
from correct.generators.base import GeneratorBase  # noqa: E402
from correct.tasks import TASKS  # noqa: E402
from correct.values import Score  # noqa: E402


class Anything:
    name, max_value, min_value, reference_free = "anything", 1.0, 0.0, True

    def __call__(self, records, outputs):
        return [Score(1.0, None) for _ in outputs]


@pytest.fixture(scope="module")
def tiny():
    """The tiny arithmetic generator (context 256) behind the app, drafts only, without a task,
    with a default budget of 48 new tokens."""
    config = ServeConfig(model_name="m", rounds=0, params=SamplingParams(temperature=0.0, max_new_tokens=48))
    generator = load_generator(TASKS["arithmetic"].generator)
    engine = Engine(generator, None, Anything(), None, config).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            yield c, generator
    finally:
        engine.stop()


LONG = "Tom has 3 cards. " * 45
"""227 tokens: 29 left of the context, fewer than the server's default budget of 48."""


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/completions", {"prompt": LONG}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": LONG}]}),
    ],
)
def test_a_request_without_a_token_budget_gets_what_the_context_leaves_not_a_400(tiny, path, body):
    """OpenAI and vLLM: without max_tokens an answer may take the rest of the context. The
    server's default budget is cut to it, rather than a 400 saying "max_tokens asks for 48"
    to a client that sent no max_tokens."""
    c, generator = tiny
    room = generator.room([LONG])[0]
    assert 0 < room < 48
    r = c.post(path, json={"model": "m", **body})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["completion_tokens"] <= room
    # A budget the client did ask for is still refused by its name, as before.
    for budget in ("max_tokens", "max_completion_tokens"):
        r = c.post(path, json={"model": "m", budget: 48, **body})
        assert r.status_code == 400 and r.json()["error"]["param"] == budget, r.text
    # A prompt that fills the context by itself is still a 400 naming the prompt.
    long = {"prompt": LONG * 2} if "prompt" in body else {"messages": [{"role": "user", "content": LONG * 2}]}
    r = c.post(path, json={"model": "m", **long})
    assert r.status_code == 400 and "leaves no room for an answer" in r.json()["error"]["message"], r.text


class Echo(GeneratorBase):
    def generate(self, prompts, params):
        return [["print(8)"] * params.n for _ in prompts]


@pytest.mark.parametrize("tests", ["x = " + "-" * 100_000 + "1", "x = 1" + "+1" * 300_000])
def test_record_tests_too_deeply_nested_to_compile_are_a_400_naming_record_not_a_500(tests):
    """Python's compiler gives up on such source with a MemoryError or a RecursionError, not a
    SyntaxError: the program value let it through, and the client got a 500 "MemoryError: "."""
    from correct.values import load_value

    value = load_value(TASKS["arithmetic"].value)
    engine = Engine(Echo(), object(), value, None, ServeConfig(model_name="m", rounds=1)).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            r = c.post("/v1/completions", json={"model": "m", "prompt": "Tom has 3 cards.", "record": {"tests": tests}})
            assert r.status_code == 400, r.text
            e = r.json()["error"]
            assert e["param"] == "record" and "its 'tests' are nested too deeply to compile" in e["message"], e
    finally:
        engine.stop()
        value.close()


class StreamsThenFails(GeneratorBase):
    """Streams a first piece of every prompt's text, then fails the whole batch if any of its
    prompts is "bad"; a batch without one finishes its text."""

    streams = True

    def generate(self, prompts, params, on_text=None):
        for k, p in enumerate(prompts):
            if on_text is not None:
                on_text(k, f"{p}:")
        if "bad" in prompts:
            raise RuntimeError("this batch failed")
        for k, p in enumerate(prompts):
            if on_text is not None:
                on_text(k, "done")
        return [[f"{p}:done"] * params.n for p in prompts]


def test_a_streamed_completion_is_not_decoded_again_after_its_batch_fails():
    """A batch that fails is decoded again one completion at a time, so that one bad prompt
    fails alone; a completion whose text has already begun to go out to its client cannot be:
    its text would go out a second time, after the first."""
    engine = Engine(StreamsThenFails(), None, None, None, ServeConfig(rounds=0, batch_wait=0.5))
    got: dict[str, list[str]] = {"ok": [], "bad": []}
    engine.start()
    try:
        *streamed, quiet = engine.submit(
            [{}, {}, {}],
            ["ok", "bad", "quiet"],
            SamplingParams(temperature=0.0, max_new_tokens=8),
            rounds=0,
            on_text=[got["ok"].append, got["bad"].append, None],
        )
        for f in streamed:
            with pytest.raises(RuntimeError, match="this batch failed"):
                f.result(timeout=30)
        assert quiet.result(timeout=30)[0].text == "quiet:done"  # nothing of it sent: decoded again alone
    finally:
        engine.stop()
    assert got["ok"] == ["ok:"], got  # sent once, never again from the start


def test_health_answers_head_and_the_model_list_a_trailing_slash():
    """Uptime checkers probe with HEAD; a client whose base URL ends in a slash asks for
    ``/v1/models/``: neither is a 405 or a 404 naming a model ''."""
    engine = Engine(StreamsThenFails(), None, None, None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine)) as client:
            head = client.head("/health")
            assert head.status_code == 200 and not head.content
            listed = client.get("/v1/models/")
            assert listed.status_code == 200 and [m["id"] for m in listed.json()["data"]] == ["m"]
            assert client.get("/v1/models/m").json()["id"] == "m"
            assert client.get("/v1/models/other").status_code == 404
    finally:
        engine.stop()


class StreamsOtherText(GeneratorBase):
    """Streams one text and returns another, as a backend whose final text is not what it
    streamed would."""

    streams = True

    def generate(self, prompts, params, on_text=None):
        if on_text is not None:
            on_text(0, "streamed")
        return [["final text"] * params.n for _ in prompts]


def test_streamed_text_is_never_sent_twice(caplog):
    """Text sent in a stream cannot be taken back: where the final text does not begin with
    it, the rest is not made up by sending the whole final text after it."""
    engine = Engine(StreamsOtherText(), None, None, None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine)) as client:
            body = {"model": "m", "prompt": "p", "stream": True, "max_tokens": 4}
            with client.stream("POST", "/v1/completions", json=body) as r:
                events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    finally:
        engine.stop()
    assert events[-1] == "[DONE]"
    text = "".join(c["text"] for e in events[:-1] for c in json.loads(e)["choices"])
    assert text == "streamed"
    assert "not the start of the final text" in caplog.text


def test_the_key_is_read_as_http_reads_a_bearer_token():
    """The scheme of ``Authorization`` is case-insensitive (``bearer KEY`` is the same key), and
    a client that sends the key as ``api-key`` (Azure OpenAI's header) is let in too; a wrong
    or missing key is still a 401, and ``/health`` still needs none."""
    engine = Engine(StreamsOtherText(), None, None, None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine, api_key="sekret")) as client:
            for headers in (
                {"Authorization": "Bearer sekret"},
                {"authorization": "bearer sekret"},
                {"api-key": "sekret"},
            ):
                assert client.get("/v1/models", headers=headers).status_code == 200, headers
            for headers in ({}, {"Authorization": "Bearer sekre"}, {"Authorization": "Basic sekret"}, {"api-key": "x"}):
                r = client.get("/v1/models", headers=headers)
                assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key", headers
            assert client.get("/health").status_code == 200
    finally:
        engine.stop()


def test_browser_pages_of_the_allowed_origins_may_call_the_server():
    """``--allowed-origins``: a browser's preflight (which carries no key) is answered, and the
    answers, a 401 included, say the page may read them; other origins, and a server that
    allows none (the default), get no such header."""
    engine = Engine(StreamsOtherText(), None, None, None, ServeConfig(model_name="m", rounds=0)).start()
    page = {"Origin": "https://chat.example"}
    preflight = {**page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allow = "access-control-allow-origin"
    try:
        with TestClient(build_app(engine, api_key="k", origins=("https://chat.example",))) as client:
            r = client.options("/v1/chat/completions", headers=preflight)
            assert r.status_code == 200 and r.headers[allow] == "https://chat.example"
            r = client.get("/v1/models", headers={**page, "Authorization": "Bearer k"})
            assert r.status_code == 200 and r.headers[allow] == "https://chat.example"
            r = client.get("/v1/models", headers=page)
            assert r.status_code == 401 and r.headers[allow] == "https://chat.example"
            other = client.get("/v1/models", headers={"Origin": "https://evil.example", "Authorization": "Bearer k"})
            assert allow not in other.headers
        with TestClient(build_app(engine, api_key="k")) as client:
            assert client.options("/v1/chat/completions", headers=preflight).status_code in (401, 405)
            assert allow not in client.get("/v1/models", headers={**page, "Authorization": "Bearer k"}).headers
    finally:
        engine.stop()


def test_stream_options_the_server_does_not_know_are_named_in_the_log(tiny, caplog):
    """`stream_options.continuous_usage_stats` (vLLM's) or `include_obfuscation` (OpenAI's) were
    ignored without the warning every other unknown field gets."""
    c, _ = tiny
    body = {"model": "m", "prompt": "2 + 3 =", "max_tokens": 2, "stream": True}
    body["stream_options"] = {"include_usage": True, "continuous_usage_stats": True}
    with caplog.at_level("WARNING", logger="correct.serve"):
        r = c.post("/v1/completions", json=body)
    assert r.status_code == 200 and r.text.rstrip().endswith("data: [DONE]")
    assert "request fields ignored: stream_options.continuous_usage_stats" in caplog.text
