"""What ``correct serve`` answers to requests that are not what it expects (issue 26): always
OpenAI's error shape with a message a person can act on, never a 500 or FastAPI's own
``{"detail": ...}``; a body over the limit is a 413 before it is parsed; draining is logged.
In-process, on an echoing generator: no model is needed to refuse a request."""

from __future__ import annotations

import json
import logging
import signal
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from correct.corrector.app.engine import Engine, ServeConfig  # noqa: E402
from correct.corrector.app.server import build_app  # noqa: E402
from correct.generators.base import GeneratorBase  # noqa: E402
from correct.values import Score  # noqa: E402


class Echo(GeneratorBase):
    def generate(self, prompts, params):
        return [[p.upper()] * params.n for p in prompts]


class Seeded(Echo):
    """Seeds torch with the request's seed first, as the hf backend does."""

    def generate(self, prompts, params):
        import torch

        torch.manual_seed(params.seed)
        return super().generate(prompts, params)


class Length:
    name, max_value, min_value, reference_free = "length", 1.0, 0.0, True

    def __call__(self, records, outputs):
        return [Score(1.0 if len(o) > 3 else 0.0, f"{len(o)} characters") for o in outputs]


@pytest.fixture(scope="module")
def client():
    engine = Engine(
        Seeded(), None, Length(), None, ServeConfig(model_name="m", rounds=0, max_request_bytes=4096)
    ).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            yield c
    finally:
        engine.stop()


def openai_error(r, status: int) -> dict:
    """The response is ``status`` with OpenAI's error object, and only that."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def post(client, body: bytes, path: str = "/v1/completions", **headers):
    return client.post(path, content=body, headers={"content-type": "application/json", **headers})


@pytest.mark.parametrize(
    "body, message",
    [
        (
            b"{not json",
            "request body is not valid JSON: Expecting property name enclosed in double quotes at character 1",
        ),
        (b"", "request body is empty: send a JSON object with 'model' and 'prompt'"),
        (b'{"model": "m", "prompt": "caf\xe9"}', "request body could not be read: send UTF-8 JSON text"),
        (b"[1, 2]", "request body must be a JSON object"),
        (b"[" * 2000 + b"]" * 2000, "request body could not be read: it is nested too deeply"),
    ],
)
def test_unreadable_bodies_get_openais_error_shape_and_say_what_to_send(client, body, message):
    for path in ("/v1/completions", "/v1/chat/completions"):
        error = openai_error(post(client, body, path), 400)
        assert message in error["message"] and error["param"] is None, error


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_temperature_that_is_not_a_number_is_named_as_such(client, value):
    error = openai_error(post(client, f'{{"model": "m", "prompt": "x", "temperature": {value}}}'.encode()), 400)
    assert error == {
        "message": "temperature: Input should be a finite number",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": 400,
    }


def test_a_seed_beyond_64_bits_is_a_400_not_a_500():
    """torch takes 64-bit seeds; a larger one would overflow inside the generator (a 500)."""
    engine = Engine(Seeded(), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            error = openai_error(c.post("/v1/completions", json={"model": "m", "prompt": "x", "seed": 2**64}), 400)
            assert error["param"] == "seed" and "less than or equal to 9223372036854775807" in error["message"]
            assert c.post("/v1/completions", json={"model": "m", "prompt": "x", "seed": -5}).status_code == 200
    finally:
        engine.stop()


def test_a_completion_with_a_messages_field_is_answered_and_the_field_named(client, caplog):
    """Found by the random bodies below: a completion's unknown `messages` (a plain extra field)
    was read as the chat's Message models, a 500."""
    with caplog.at_level(logging.WARNING, logger="correct.serve"):
        r = post(client, json.dumps({"model": "m", "prompt": "ab", "messages": [{"role": "user"}]}).encode())
    assert r.status_code == 200 and r.json()["choices"][0]["text"] == "AB", r.text
    assert "request fields ignored: messages" in caplog.text


@pytest.mark.parametrize("stop", ["", ["Question:", ""]])
def test_an_empty_stop_string_is_refused_not_an_answer_cut_at_its_first_token(client, stop):
    error = openai_error(post(client, json.dumps({"model": "m", "prompt": "ab", "stop": stop}).encode()), 400)
    assert error["param"] == "stop" and "empty stop string" in error["message"]


def test_more_completions_than_the_server_ever_takes_is_a_400_not_a_429_to_retry(client):
    error = openai_error(post(client, json.dumps({"model": "m", "prompt": ["a"] * 40, "n": 2}).encode()), 400)
    assert error["param"] == "n" and "asks for 80 completions (40 prompts, n 2)" in error["message"]
    assert "at most 64 at once (--max-pending)" in error["message"]
    assert post(client, json.dumps({"model": "m", "prompt": ["a"] * 32, "n": 2}).encode()).status_code == 200


def test_routes_and_methods_that_are_not_there_get_openais_error_shape(client):
    assert "this server answers POST /v1/completions" in openai_error(client.get("/v1/nope"), 404)["message"]
    assert openai_error(client.get("/v1/completions"), 405)["message"] == "/v1/completions does not take GET"


def test_a_body_over_the_limit_is_a_413_with_or_without_its_length(client):
    big = json.dumps({"model": "m", "prompt": "x" * 5000}).encode()
    error = openai_error(post(client, big), 413)
    assert "request body over 4,096 bytes" in error["message"] and "--max-request-bytes" in error["message"]
    # Sent in chunks, without a Content-Length: counted as it arrives.
    openai_error(
        client.post(
            "/v1/completions", content=iter([big[:3000], big[3000:]]), headers={"content-type": "application/json"}
        ),
        413,
    )
    small = post(client, json.dumps({"model": "m", "prompt": "ab"}).encode())
    assert small.status_code == 200 and small.json()["choices"][0]["text"] == "AB"


def test_draining_and_exit_are_logged(caplog):
    from correct.corrector.app.commands import graceful_server

    engine = Engine(Echo(), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        server = graceful_server(build_app(engine), engine, 5.0)
        with caplog.at_level(logging.WARNING, logger="correct.serve"):
            server.handle_exit(signal.SIGTERM, None)
            for _ in range(500):  # the drain runs in its own thread; nothing is pending, so it ends at once
                if server.should_exit:
                    break
                time.sleep(0.01)
        said = [r.getMessage() for r in caplog.records]
        assert server.should_exit and engine.draining.is_set()
        assert said[0].startswith("draining: 0 completions in progress may take up to 5 s"), said
        assert said[1] == "drained: every admitted completion was answered; exiting", said
    finally:
        engine.stop()


# --------------------------------------------------------------------------- properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "prompt",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "seed",
    "stream",
    "stream_options",
    "logprobs",
    "top_logprobs",
    "user",
    "rounds",
    "return_rounds",
    "record",
]
MESSAGES = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "system", "assistant"]) | JSON},
        optional={"content": st.text(max_size=8) | JSON},
    ),
    max_size=3,
)
# Numbers at the edges of the machine's integers too, which hypothesis draws rarely by itself.
EDGES = st.sampled_from([2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30])
NUMBERS = st.integers() | EDGES | st.floats() | JSON
BODIES = st.fixed_dictionaries(
    {"model": st.just("m") | JSON},  # mostly the served model, so requests get past it
    optional={"prompt": st.text(max_size=8) | JSON, "messages": MESSAGES | JSON, **{k: NUMBERS for k in FIELDS[2:]}},
)


def check_answer(client, r) -> None:
    """Never a 500; an error is OpenAI's shape; and the server still answers afterwards."""
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code >= 400:
        openai_error(r, r.status_code)
    assert client.get("/health").status_code == 200


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(body=BODIES, chat=st.booleans())
def test_random_json_bodies_never_get_a_500_and_errors_are_openais_shape(client, body, chat):
    r = post(client, json.dumps(body).encode(), "/v1/chat/completions" if chat else "/v1/completions")
    check_answer(client, r)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=64) | JSON.map(lambda v: json.dumps(v).encode()), chat=st.booleans())
def test_random_bytes_never_get_a_500(client, body, chat):
    check_answer(client, post(client, body, "/v1/chat/completions" if chat else "/v1/completions"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(
        ["max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "seed", "rounds", "top_logprobs"]
    ),
    value=NUMBERS,
    chat=st.booleans(),
)
def test_any_number_in_a_numeric_field_never_gets_a_500(client, field, value, chat):
    body = {
        "model": "m",
        field: value,
        **({"messages": [{"role": "user", "content": "x"}]} if chat else {"prompt": "x"}),
    }
    check_answer(client, post(client, json.dumps(body).encode(), "/v1/chat/completions" if chat else "/v1/completions"))


@pytest.fixture(scope="module")
def live():
    """The same app behind uvicorn on a loopback socket: what a client really talks to."""
    from harness import serving

    engine = Engine(
        Seeded(), None, Length(), None, ServeConfig(model_name="m", rounds=0, max_request_bytes=4096)
    ).start()
    try:
        with serving(build_app(engine)) as root:
            yield root
    finally:
        engine.stop()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(body=BODIES.map(lambda b: json.dumps(b).encode()) | st.binary(max_size=64), chat=st.booleans())
def test_random_bodies_over_a_real_socket_never_get_a_500(live, body, chat):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        live + ("/v1/chat/completions" if chat else "/v1/completions"),
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    assert status < 500, (status, text)
    if status >= 400:
        error = json.loads(text)["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"]
    with urllib.request.urlopen(live + "/health", timeout=30) as r:
        assert r.status == 200


@pytest.mark.parametrize(
    "path, body, param",
    [
        ("/v1/completions", {"prompt": "ab\\ud800c"}, "prompt"),
        ("/v1/completions", {"prompt": ["ok", "\\udc00"]}, "prompt[1]"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "a\\ud800"}]}, "messages[0].content"),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "\\ud800"}]}]},
            "messages[0].content",
        ),
    ],
)
def test_half_a_surrogate_pair_is_a_400_naming_the_field_not_the_tokenizers_500(path, body, param):
    """JSON may escape half a surrogate pair ("\\ud800"); it is no character, and a fast
    tokenizer raises a TypeError on it (a 500 before)."""
    from correct.generators import load_generator
    from correct.tasks import TASKS

    engine = Engine(load_generator(TASKS["arithmetic"].generator), None, Length(), None, ServeConfig(model_name="m"))
    try:
        with TestClient(build_app(engine.start()), raise_server_exceptions=False) as c:
            raw = json.dumps({"model": "m", "max_tokens": 4, **body}).replace("\\\\u", "\\u").encode()
            error = openai_error(post(c, raw, path), 400)
            assert error["param"] == param and "half a surrogate pair" in error["message"], error
    finally:
        engine.stop()
