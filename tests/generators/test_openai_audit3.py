"""The openai backend against endpoints that misbehave as servers in the wild do (a third
audit): a model list it does not serve, error pages that are not JSON, a connection broken
mid-run, Azure's Retry-After in milliseconds, a content filter whose words hold "seed", a
server that aborts every other reply, and one that starts refusing every prompt. Each was a
wrong message, a silently different run or empty drafts with exit 0."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler

import pytest

pytest.importorskip("openai")

from correct.generators import GeneratorError, SamplingParams, load_generator  # noqa: E402

from .test_openai import Loopback  # noqa: E402


class Raw(Loopback):
    """A loopback endpoint: GET /v1/models answers ``models`` (status, bytes); each POST's body
    goes to ``reply(body, count)``, which gives a list of choices (a 200), (status, bytes,
    headers) sent as they are, or None to close the connection without an answer."""

    def __init__(self, reply, models=(200, b'{"object": "list", "data": [{"id": "m"}]}')):
        self.bodies: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, data: bytes, headers=()):
                self.send_response(status)
                for k, v in [("content-length", str(len(data))), *headers]:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(*models)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                endpoint.bodies.append(body)
                got = reply(body, len(endpoint.bodies))
                if got is None:
                    self.close_connection = True
                    return
                if isinstance(got, tuple):
                    return self._send(*got)
                answer = {"id": "x", "object": "x", "created": 0, "model": "m", "choices": got}
                self._send(200, json.dumps(answer).encode(), [("content-type", "application/json")])

        self.start(Handler)


@pytest.fixture
def raw():
    made = []

    def make(reply, **kwargs):
        made.append(Raw(reply, **kwargs))
        return made[-1]

    yield make
    for e in made:
        e.close()


def _gen(endpoint, **kwargs):
    kwargs = {"max_retries": 0, "concurrency": 1, **kwargs}
    return load_generator("m", "openai", base_url=endpoint.url, api_key="k", **kwargs)


def _ok(body, count=0, text="x", why="stop"):
    return [{"index": 0, "text": text, "finish_reason": why}]


def _error(status: int, message: str, headers=()):
    return (
        status,
        json.dumps({"error": {"message": message}}).encode(),
        [("content-type", "application/json"), *headers],
    )


@pytest.mark.parametrize("status", [405, 501])
def test_a_model_list_the_endpoint_does_not_serve_is_no_reason_to_stop(raw, status):
    """A 405 or 501 on GET /v1/models stopped the run before it began, though completions worked."""
    endpoint = raw(_ok, models=(status, b"Method Not Allowed"))
    assert _gen(endpoint).generate(["a"], SamplingParams()) == [["x"]]


@pytest.mark.parametrize(
    "page, words",
    [
        (b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>nginx</body></html>",
         "502 Bad Gateway 502 Bad Gateway nginx"),
        (b"Internal Server Error: CUDA out of memory", "Internal Server Error: CUDA out of memory"),
    ],
)  # fmt: skip
def test_an_error_page_that_is_not_json_is_quoted(raw, page, words):
    """Its words were thrown away: "answered 502: Error code: 502"."""
    endpoint = raw(lambda body, n: (502, page, [("content-type", "text/html")]))
    with pytest.raises(GeneratorError, match="answered 502") as e:
        _gen(endpoint).generate(["a"], SamplingParams())
    assert words in str(e.value)


def test_a_connection_broken_after_the_endpoint_answered_is_not_called_unreachable(raw):
    """ "could not reach ...: is the server running?" (option --base-url) after it had answered."""
    endpoint = raw(lambda body, n: _ok(body) if n == 1 else None)
    gen = _gen(endpoint)
    assert gen.generate(["a"], SamplingParams()) == [["x"]]
    with pytest.raises(GeneratorError, match="the connection to .* broke") as e:
        gen.generate(["b"], SamplingParams())
    assert "is the server running" not in str(e.value) and e.value.option is None


def test_azures_retry_after_in_milliseconds_is_read(raw):
    """Only retry-after was read: a wait of 300 s, not retried, was reported as still limited
    after the retries, with advice to lower the concurrency."""
    endpoint = raw(lambda body, n: _error(429, "Rate limit reached", [("retry-after-ms", "300000")]))
    with pytest.raises(GeneratorError, match=r"answered 429 asking to wait 300 s before another try"):
        _gen(endpoint, max_retries=2).generate(["a"], SamplingParams())
    assert len(endpoint.bodies) == 1


def test_a_refusal_whose_words_hold_seed_keeps_the_seed(raw, caplog):
    """A content filter's "seeds of violence" dropped the seed from every later request, without
    a word; an endpoint that says it takes no seed is asked without one, and that is said."""
    endpoint = raw(lambda body, n: _error(400, "flagged: seeds of violence") if n == 1 else _ok(body))
    gen = _gen(endpoint)
    assert gen.generate(["a", "b"], SamplingParams(temperature=0.7, seed=3)) == [[""], ["x"]]
    assert all("seed" in body for body in endpoint.bodies)

    no_seed = raw(
        lambda body, n: _error(400, "Unrecognized request argument supplied: seed") if "seed" in body else _ok(body)
    )
    with caplog.at_level(logging.WARNING, logger="correct"):
        assert _gen(no_seed).generate(["a"], SamplingParams(temperature=0.7, seed=3)) == [["x"]]
    assert "seed" not in no_seed.bodies[-1] and "does not take seed" in caplog.text


def test_failed_replies_are_counted_in_a_row_not_in_all(raw):
    """A server that ignores n and aborts every other reply makes progress: it was given up on
    after three aborts in all, "3 times in a row"."""
    endpoint = raw(lambda body, n: _ok(body, why="abort" if n % 2 else "stop"))
    assert _gen(endpoint).generate(["a"], SamplingParams(n=4, temperature=0.7)) == [["x"] * 4]


def test_an_endpoint_that_starts_refusing_every_prompt_fails_the_run(raw):
    """After one good answer a server that unloaded its model refused every later prompt alike:
    each became an empty draft, exit 0. Prompts refused each for its own reason go on."""
    endpoint = raw(lambda body, n: _ok(body) if n <= 2 else _error(400, "No models loaded. Load a model first"))
    gen = _gen(endpoint)
    assert gen.generate(["a", "b"], SamplingParams()) == [["x"], ["x"]]
    with pytest.raises(GeneratorError, match="No models loaded"):
        gen.generate(["c", "d", "e", "f", "g"], SamplingParams())

    own = raw(lambda body, n: _error(400, f"prompt of {1000 + n} tokens is past the context") if n % 3 else _ok(body))
    out = _gen(own).generate([str(i) for i in range(9)], SamplingParams())
    assert out.count([""]) == 6 and out.count(["x"]) == 3


@pytest.mark.parametrize("api, other", [("completions", "chat"), ("chat", "completions")])
def test_a_404_for_the_route_asks_whether_the_endpoint_serves_the_other_api(raw, api, other):
    """A chat-only server answered /v1/completions with 404, and the error said only that."""
    endpoint = raw(lambda body, n: _error(404, "Not Found"))
    with pytest.raises(GeneratorError, match=rf"answered 404: Not Found \(does it serve {other} only\?\)") as e:
        _gen(endpoint, api=api).generate(["a"], SamplingParams())
    assert e.value.option == "api"
    missing = raw(lambda body, n: _error(404, "model 'm' not found, try pulling it first"))  # Ollama's
    with pytest.raises(GeneratorError) as e:
        _gen(missing).generate(["a"], SamplingParams())
    assert "serve" not in str(e.value) and e.value.option is None
