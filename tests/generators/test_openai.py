"""The openai backend against a scripted OpenAI-compatible endpoint on a loopback port:
requests, retries with back-off, timeouts, the concurrency bound and the error messages.
(Its run against ``correct serve`` itself is in tests/corrector/app/test_serve.py.)"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("openai")

from correct.generators import GeneratorError, SamplingParams, load_generator  # noqa: E402


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is part of the script


class Endpoint:
    """A fake endpoint: ``script`` is a list of HTTP statuses answered in turn (then 200s);
    a 200 completes each prompt with its reversal."""

    def __init__(self, script=(), delay=0.0, served=("m",), honour_n=True):
        self.script, self.delay, self.served, self.honour_n = list(script), delay, served, honour_n
        self.bodies: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, payload, headers=()):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if endpoint.served is None:
                    return self._send(404, {"error": {"message": "no such route"}})
                self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in endpoint.served]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with endpoint.lock:
                    endpoint.bodies.append(body)
                    status = endpoint.script.pop(0) if endpoint.script else 200
                    endpoint.in_flight += 1
                    endpoint.max_in_flight = max(endpoint.max_in_flight, endpoint.in_flight)
                try:
                    time.sleep(endpoint.delay)
                    if status != 200:
                        # retry-after-ms keeps the client's back-off short in tests.
                        return self._send(
                            status,
                            {"error": {"message": f"scripted {status}", "type": "x"}},
                            [("retry-after-ms", "10")],
                        )
                    chat = "messages" in body
                    text = (body["messages"][-1]["content"] if chat else body["prompt"])[::-1] + "|tail"
                    n = body.get("n", 1) if endpoint.honour_n else 1
                    choice = (
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        if chat
                        else {"index": 0, "text": text, "finish_reason": "stop"}
                    )
                    self._send(
                        200,
                        {
                            "id": "x",
                            "object": "chat.completion" if chat else "text_completion",
                            "created": 0,
                            "model": body["model"],
                            "choices": [{**choice, "index": i} for i in range(n)],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 3 * n, "total_tokens": 1 + 3 * n},
                        },
                    )
                finally:
                    with endpoint.lock:
                        endpoint.in_flight -= 1

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint(request):
    e = Endpoint(**getattr(request, "param", {}))
    yield e
    e.close()


def _gen(endpoint, **kwargs):
    return load_generator("m", "openai", base_url=endpoint.url, api_key="k", **kwargs)


def test_completions_n_stop_and_token_count(endpoint):
    g = _gen(endpoint)
    out = g.generate(
        ["abc", "xyz"], SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=5, n=2, stop=("|",), seed=3)
    )
    assert out == [["cba", "cba"], ["zyx", "zyx"]]  # cut at the stop string locally too
    assert g.tokens_generated == 12
    sent = sorted(endpoint.bodies, key=lambda b: b["prompt"])
    assert sent[0] == {
        "model": "m",
        "prompt": "abc",
        "n": 2,
        "max_tokens": 5,
        "seed": 3,
        "temperature": 0.7,
        "top_p": 0.9,
        "stop": ["|"],
    }
    assert sent[1]["seed"] == 4  # a different seed per prompt


def test_chat_api_sends_messages(endpoint):
    g = _gen(endpoint, api="chat")
    out = g.generate(["hello"], SamplingParams(temperature=0, max_new_tokens=4))
    assert out == [["olleh|tail"]]
    assert endpoint.bodies[0]["messages"] == [{"role": "user", "content": "hello"}]
    assert g.chat_template and not _gen(endpoint).chat_template  # what --corrector self asks before laying out a prompt


@pytest.mark.parametrize("endpoint", [{"honour_n": False}], indirect=True)
def test_servers_that_ignore_n_are_asked_again(endpoint):
    out = _gen(endpoint).generate(["ab"], SamplingParams(n=3))
    assert out == [["ba|tail"] * 3]
    assert [b["n"] for b in endpoint.bodies] == [3, 2, 1]


@pytest.mark.parametrize("endpoint", [{"script": [429, 503]}], indirect=True)
def test_retries_rate_limits_and_server_errors(endpoint):
    out = _gen(endpoint, max_retries=3).generate(["ab"], SamplingParams())
    assert out == [["ba|tail"]]
    assert len(endpoint.bodies) == 3


@pytest.mark.parametrize("endpoint", [{"script": [500] * 10}], indirect=True)
def test_gives_up_after_the_retries_with_the_servers_message(endpoint):
    with pytest.raises(GeneratorError, match=r"answered 500: scripted 500"):
        _gen(endpoint, max_retries=2).generate(["ab"], SamplingParams())
    assert len(endpoint.bodies) == 3


@pytest.mark.parametrize("endpoint", [{"script": [429] * 10}], indirect=True)
def test_persistent_rate_limit_says_so(endpoint):
    with pytest.raises(GeneratorError, match=r"rate-limited .*429.* after 1 retries; lower the concurrency") as e:
        _gen(endpoint, max_retries=1).generate(["ab"], SamplingParams())
    assert e.value.option == "concurrency"  # the command line names its flag


@pytest.mark.parametrize("endpoint", [{"script": [401]}], indirect=True)
def test_bad_key(endpoint):
    with pytest.raises(GeneratorError, match="refused the API key") as e:
        _gen(endpoint).generate(["ab"], SamplingParams())
    assert e.value.option == "api_key" and "--" not in str(e.value)


@pytest.mark.parametrize("endpoint", [{"delay": 60.0}], indirect=True)
def test_timeout(endpoint):
    """An endpoint that would answer only after a minute: the client gives up after its 0.3 s,
    far sooner (the bound leaves room for a loaded machine, not for waiting out the delay)."""
    start = time.monotonic()
    with pytest.raises(GeneratorError, match=r"did not answer within 0.3 s"):
        _gen(endpoint, timeout=0.3, max_retries=0).generate(["ab"], SamplingParams())
    assert time.monotonic() - start < 20


@pytest.mark.parametrize("endpoint", [{"delay": 0.1}], indirect=True)
def test_concurrency_is_bounded(endpoint):
    out = _gen(endpoint, concurrency=3).generate([f"p{i}" for i in range(12)], SamplingParams())
    assert out == [[f"p{i}"[::-1] + "|tail"] for i in range(12)]  # answers keep the prompts' order
    assert endpoint.max_in_flight == 3


def test_unknown_model_lists_the_served_ones(endpoint):
    with pytest.raises(GeneratorError, match=r"does not serve model 'other'.*serves: m"):
        load_generator("other", "openai", base_url=endpoint.url)


@pytest.mark.parametrize("endpoint", [{"served": None}], indirect=True)
def test_endpoint_without_a_model_list_is_trusted(endpoint):
    assert _gen(endpoint).generate(["ab"], SamplingParams()) == [["ba|tail"]]


def test_unreachable_endpoint():
    with pytest.raises(GeneratorError, match=r"could not reach http://127.0.0.1:9/v1"):
        load_generator("m", "openai", base_url="http://127.0.0.1:9/v1", max_retries=0)


def test_bad_options(endpoint):
    with pytest.raises(GeneratorError, match="unknown API 'rpc'"):
        _gen(endpoint, api="rpc")
    with pytest.raises(GeneratorError, match="concurrency must be at least 1"):
        _gen(endpoint, concurrency=0)
