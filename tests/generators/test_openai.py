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


class Loopback:
    """A server on a free port of 127.0.0.1 answering with ``handler``, at ``url`` (…/v1)."""

    def start(self, handler) -> None:
        self.server = _QuietServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Endpoint(Loopback):
    """A fake endpoint: ``script`` is a list of HTTP statuses answered in turn (then 200s);
    a 200 completes each prompt with its reversal."""

    def __init__(
        self, script=(), delay=0.0, served=("m",), honour_n=True, mode=None, refuse=(), cut=False, surplus=0, aborts=0
    ):
        """``mode``: a reply that is not a completion ("html", "error", "badjson", "empty",
        "trickle", "quota", "v1only", "nochoices"); ``refuse``: request fields answered with a 400 ("seed",
        "n" above 1, "long": a prompt with LONG in it, as too long for the context); ``cut``: a
        completion longer than ``max_tokens`` characters (a character a token) is cut to them,
        its finish_reason "length"; ``surplus``: that many choices more than ``n`` asked for;
        ``aborts``: that many requests first answered with their first choice cut to two
        characters, its finish_reason "abort" (vLLM's, for a request it gave up on)."""
        self.surplus, self.aborts = surplus, aborts
        self.script, self.delay, self.served, self.honour_n, self.cut = list(script), delay, served, honour_n, cut
        self.mode, self.refuse = mode, set(refuse)
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
                    if endpoint.mode and self.odd(body):
                        return
                    if "seed" in endpoint.refuse and "seed" in body:
                        return self._send(400, {"error": {"message": "Unrecognized request argument supplied: seed"}})
                    if "n" in endpoint.refuse and body.get("n", 1) > 1:
                        return self._send(400, {"error": {"message": "Invalid request"}})
                    if "long" in endpoint.refuse and "LONG" in json.dumps(body.get("prompt", body.get("messages"))):
                        message = "This model's maximum context length is 2048 tokens. However, you requested 9000"
                        return self._send(400, {"error": {"message": message, "type": "invalid_request_error"}})
                    if "long422" in endpoint.refuse and "LONG" in json.dumps(body.get("prompt", body.get("messages"))):
                        message = "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 2048"
                        return self._send(422, {"error": message, "error_type": "validation"})  # TGI's
                    if status != 200:
                        # retry-after-ms keeps the client's back-off short in tests.
                        return self._send(
                            status,
                            {"error": {"message": f"scripted {status}", "type": "x"}},
                            [("retry-after-ms", "10")],
                        )
                    time.sleep(endpoint.delay)  # a completion takes its time; a refusal comes at once
                    chat = "messages" in body
                    text = (body["messages"][-1]["content"] if chat else body["prompt"])[::-1] + "|tail"
                    text = text.replace("<half>"[::-1], chr(0xD800))  # sent as its JSON escape, "\ud800"
                    why = "stop"
                    if endpoint.cut and len(text) > body["max_tokens"]:
                        text, why = text[: body["max_tokens"]], "length"
                    n = (body.get("n", 1) if endpoint.honour_n else 1) + endpoint.surplus
                    choice = (
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": why}
                        if chat
                        else {"index": 0, "text": text, "finish_reason": why}
                    )
                    choices = [{**choice, "index": i} for i in range(n)]
                    with endpoint.lock:
                        aborted, endpoint.aborts = endpoint.aborts > 0, endpoint.aborts - 1
                    if aborted:
                        choices[0] = {"index": 0, "text": text[:2], "finish_reason": "abort"}
                        if chat:
                            choices[0] = {"index": 0, "message": {"role": "assistant", "content": text[:2]}}
                            choices[0]["finish_reason"] = "abort"
                    self._send(
                        200,
                        {
                            "id": "x",
                            "object": "chat.completion" if chat else "text_completion",
                            "created": 0,
                            "model": body["model"],
                            "choices": choices,
                            "usage": {"prompt_tokens": 1, "completion_tokens": 3 * n, "total_tokens": 1 + 3 * n},
                        },
                    )
                finally:
                    with endpoint.lock:
                        endpoint.in_flight -= 1

            def odd(self, body) -> bool:
                """Answer as ``mode`` says, if it says otherwise than a plain completion."""
                mode, chat = endpoint.mode, "messages" in body
                if mode == "v1only" and not self.path.startswith("/v1/"):
                    self._send(404, {"detail": "Not Found"})
                elif mode in ("html", "badjson", "trickle"):
                    data = {"html": b"<html><body>502 Bad Gateway</body></html>", "badjson": b'{"choices": [oops'}
                    self.send_response(200)
                    self.send_header("content-type", "text/html" if mode == "html" else "application/json")
                    if mode != "trickle":
                        self.send_header("content-length", str(len(data[mode])))
                    self.end_headers()
                    if mode == "trickle":  # a keep-alive byte a second, never an answer
                        for _ in range(600):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.2)
                    else:
                        self.wfile.write(data[mode])
                elif mode == "nochoices":
                    self._send(200, {"id": "x", "object": "text_completion", "created": 0, "model": "m", "choices": []})
                elif mode == "error":
                    self._send(200, {"error": {"message": "upstream model overloaded", "type": "server_error"}})
                elif mode == "quota":
                    message = "You exceeded your current quota, please check your plan and billing details."
                    self._send(
                        429, {"error": {"message": message, "type": "insufficient_quota", "code": "insufficient_quota"}}
                    )
                elif mode == "empty":
                    choice = (
                        {"index": 0, "message": {"role": "assistant", "content": None, "refusal": "no"}}
                        if chat
                        else {"index": 0, "text": None}
                    )
                    self._send(
                        200,
                        {
                            "id": "x",
                            "object": "x",
                            "created": 0,
                            "model": "m",
                            "choices": [{**choice, "finish_reason": "content_filter"}],
                        },
                    )
                else:
                    return False
                return True

        self.start(Handler)


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


@pytest.mark.parametrize("endpoint", [{"cut": True}], indirect=True)
@pytest.mark.parametrize("api", ["completions", "chat"])
def test_each_completion_ends_as_the_endpoint_says(endpoint, api):
    """The endpoint's finish_reason of each choice is kept (``last_finish``), except where a
    stop string beyond the four the API takes cut the text here: that one ended at it."""
    g = _gen(endpoint, api=api)
    stop = ("v", "w", "x", "y", "|")  # "|" is applied here only
    out = g.generate(["abcdefghij", "ab", "abcde"], SamplingParams(max_new_tokens=8, n=2, stop=stop))
    assert [c[0] for c in out] == ["jihgfedc", "ba", "edcba"]
    # "ba|tail" fit in 8 and ended; "edcba|ta" was cut at the budget, but the text ends at "|".
    assert g.last_finish == [["length"] * 2, ["stop"] * 2, ["stop"] * 2]
    assert g.generate([], SamplingParams()) == [] and g.last_finish == []


def test_chat_api_sends_messages(endpoint):
    g = _gen(endpoint, api="chat")
    out = g.generate(["hello"], SamplingParams(temperature=0, max_new_tokens=4))
    assert out == [["olleh|tail"]]
    assert endpoint.bodies[0]["messages"] == [{"role": "user", "content": "hello"}]
    assert g.chat_template and not _gen(endpoint).chat_template  # what --corrector self asks before laying out a prompt


@pytest.mark.parametrize("endpoint", [{"honour_n": False}], indirect=True)
def test_servers_that_ignore_n_are_asked_again(endpoint):
    g = _gen(endpoint)
    out = g.generate(["ab"], SamplingParams(n=3))
    assert out == [["ba|tail"] * 3]
    assert [b["n"] for b in endpoint.bodies] == [3, 2, 1]
    assert [b["seed"] for b in endpoint.bodies] == [0, 1, 2]  # not the same sample three times
    # what the prompt took, as the replies counted it: its tokens once, every reply's completion
    assert g.last_usage == [(1, 3 + 3 + 3)]


@pytest.mark.parametrize("endpoint", [{"surplus": 2}], indirect=True)
def test_a_reply_with_more_choices_than_asked_gives_n(endpoint):
    g = _gen(endpoint)
    out = g.generate(["ab", "cd"], SamplingParams(n=2))
    assert out == [["ba|tail"] * 2, ["dc|tail"] * 2] and [len(f) for f in g.last_finish] == [2, 2]
    assert [b["n"] for b in endpoint.bodies] == [2, 2]


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
    with pytest.raises(
        GeneratorError, match=r"rate-limited .*429.* after 1 retries: scripted 429; lower the concurrency"
    ) as e:
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


@pytest.mark.parametrize(
    "mode, message",
    [
        ("html", r"answered without completions: <html><body>502 Bad Gateway"),
        ("error", r"answered without completions: upstream model overloaded"),
        ("badjson", r"answered with a body that is not JSON"),
    ],
)
def test_a_200_that_holds_no_completion_is_one_line_not_a_traceback(mode, message):
    endpoint = Endpoint(mode=mode)
    try:
        with pytest.raises(GeneratorError, match=message):
            _gen(endpoint, max_retries=0).generate(["ab"], SamplingParams())
    finally:
        endpoint.close()


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_completions_without_text_are_counted_in_a_warning(api, caplog):
    endpoint = Endpoint(mode="empty")
    try:
        with caplog.at_level("WARNING"):
            gen = _gen(endpoint, api=api)
            out = gen.generate(["ab", "cd"], SamplingParams())
        assert out == [[""], [""]]
        assert "2 of 2 completions from" in caplog.text and "came back without text" in caplog.text
        assert gen.last_finish == [["content_filter"]] * 2  # as the endpoint said: OpenAI's clients know it
    finally:
        endpoint.close()


@pytest.mark.parametrize("refuse", [("seed",), ("n",), ("seed", "n")])
def test_an_endpoint_that_refuses_seed_or_n_is_asked_without_them(refuse):
    endpoint = Endpoint(refuse=refuse)
    try:
        gen = _gen(endpoint)
        out = gen.generate(["ab", "cd"], SamplingParams(temperature=0.7, n=3))
        assert out == [["ba|tail"] * 3, ["dc|tail"] * 3]
        # Each prompt's last request went without what the endpoint refuses (requests sent
        # side by side may each meet the refusal once before it is remembered).
        last = {b["prompt"]: b for b in endpoint.bodies}
        assert all(("seed" in b) != ("seed" in refuse) and (b["n"] == 1) == ("n" in refuse) for b in last.values())
        gen.generate(["ef"], SamplingParams(temperature=0.7, n=3))  # remembered from now on: no refusal met
        assert endpoint.bodies[-1]["prompt"] == "ef" and len([b for b in endpoint.bodies if b["prompt"] == "ef"]) == (
            3 if "n" in refuse else 1
        )
    finally:
        endpoint.close()


def test_seeds_stay_within_64_bits():
    endpoint = Endpoint()
    try:
        _gen(endpoint).generate(["ab", "cd"], SamplingParams(temperature=0.7, seed=2**63 - 1))
        assert sorted(b["seed"] for b in endpoint.bodies) == [0, 2**63 - 1]
    finally:
        endpoint.close()


def test_a_quota_429_says_what_the_endpoint_said():
    endpoint = Endpoint(mode="quota")
    try:
        with pytest.raises(GeneratorError, match=r"answered 429: You exceeded your current quota") as e:
            _gen(endpoint, max_retries=0).generate(["ab"], SamplingParams())
        assert e.value.option == "api_key"
    finally:
        endpoint.close()


def test_a_base_url_without_v1_is_suggested_on_a_404():
    endpoint = Endpoint(mode="v1only", served=None)
    try:
        gen = load_generator("m", "openai", base_url=endpoint.url.removesuffix("/v1"), max_retries=0)
        with pytest.raises(GeneratorError, match=r"answered 404: Not Found \(does the base URL need /v1\?\)"):
            gen.generate(["ab"], SamplingParams())
    finally:
        endpoint.close()


def test_an_answer_that_trickles_in_forever_meets_the_deadline():
    """Each read gets its bytes in time, so only a deadline on the whole request ends it."""
    endpoint = Endpoint(mode="trickle")
    try:
        gen = _gen(endpoint, timeout=1.0, max_retries=0)
        start = time.monotonic()
        with pytest.raises(GeneratorError, match=r"did not finish answering prompt 0 within 2 s"):
            gen.generate(["ab"], SamplingParams())
        assert time.monotonic() - start < 15
    finally:
        endpoint.close()


@pytest.mark.parametrize("endpoint", [{"script": [200, 200, 500], "delay": 30.0}], indirect=True)
def test_the_first_failure_returns_at_once_without_waiting_for_the_requests_still_out(endpoint):
    """Two completions would take 30 s each; the third prompt's 500 ends the call at once (a
    pool of threads waited for every request still out, and so did Ctrl-C)."""
    start = time.monotonic()
    with pytest.raises(GeneratorError, match="answered 500: scripted 500"):
        _gen(endpoint, concurrency=3, max_retries=0).generate(["ab", "cd", "ef"], SamplingParams())
    assert time.monotonic() - start < 10


def test_ollamas_latest_tag_is_the_model_asked_for():
    endpoint = Endpoint(served=("llama3.2:latest",))
    try:
        load_generator("llama3.2", "openai", base_url=endpoint.url)
        with pytest.raises(GeneratorError, match="does not serve model 'llama3'"):
            load_generator("llama3", "openai", base_url=endpoint.url)
    finally:
        endpoint.close()


def test_the_request_timeout_and_retries_are_the_command_lines_to_set():
    from typer.testing import CliRunner

    from correct.cli import app

    base = ["generate", "--task", "arithmetic", "--rounds", "0", "--no-baseline", "--limit", "1"]
    result = CliRunner().invoke(
        app, [*base, "--backend", "openai", "--generator", "m", "--base-url", "http://127.0.0.1:9/v1", "--retries", "0"]
    )
    assert result.exit_code == 2 and "could not reach http://127.0.0.1:9/v1 (0 retries)" in result.stderr
    result = CliRunner().invoke(app, [*base, "--retries", "2", "--request-timeout", "5"])
    assert result.exit_code == 2 and "--request-timeout, --retries are for --backend openai, not hf" in result.stderr


@pytest.mark.parametrize("endpoint", [{"refuse": ["long422"]}], indirect=True)
def test_tgis_422_for_a_prompt_past_its_context_is_that_prompts_refusal_not_the_runs_end(endpoint):
    g = _gen(endpoint, concurrency=1)
    assert g.generate(["ab", "LONG question"], SamplingParams(n=2)) == [["ba|tail"] * 2, ["", ""]]
    assert g.refused_prompts == 1


@pytest.mark.parametrize("endpoint", [{"refuse": ["long"]}], indirect=True)
def test_a_prompt_the_endpoint_refuses_gets_empty_completions_and_a_warning_not_the_runs_end(endpoint, caplog):
    """One prompt too long for the endpoint's context ended a whole generate run, and its batch
    was lost; a resumed run met it again. An endpoint that refuses every prompt still fails."""
    g = _gen(endpoint, concurrency=2)
    with caplog.at_level("WARNING"):
        out = g.generate(["ab", "LONG question", "cd"], SamplingParams(n=2, max_new_tokens=5))
    assert out == [["ba|tail"] * 2, ["", ""], ["dc|tail"] * 2]
    assert g.last_finish == [["stop"] * 2] * 3  # the refused prompt's empty completions too: nothing was cut
    assert g.refused_prompts == 1
    assert "1 of 3 prompts were refused by" in caplog.text and "maximum context length is 2048" in caplog.text
    # Only refusals, from an endpoint that has answered before: empty, counted.
    assert g.generate(["LONG"], SamplingParams()) == [[""]] and g.refused_prompts == 2
    # One that has answered nothing is taken to refuse every request: the call fails, early.
    fresh = _gen(endpoint, concurrency=1)
    with pytest.raises(GeneratorError, match="answered 400: This model's maximum context length"):
        fresh.generate([f"LONG {i}" for i in range(50)] + ["ab"], SamplingParams())
    assert len(endpoint.bodies) < 3 + 1 + 10  # it stopped after a few, not after all 50
    # A corrector whose endpoint refuses an input keeps that draft, not an empty rewrite.
    from correct.corrector.self_refine import SelfRefine

    corrector = SelfRefine(g)
    rewrites = corrector.correct(["q1", "q2 LONG"], ["draft 1", "draft 2"], ["f", "f"], SamplingParams(n=2))
    assert set(g.last_refused) == {1} and rewrites[1] == ["draft 2", "draft 2"] and rewrites[0][0].endswith("|tail")
    # The kept draft ended as its own decode did: refine takes its reason from the draft's round.
    assert corrector.last_kept == {1} and corrector.last_finish[0] == ["stop", "stop"]
    assert "maximum context length" in g.last_refused[1]  # the endpoint's words, for the output line
    # Every refusal the call's error (refused_as_empty False), for a caller that wants that.
    strict = _gen(endpoint)
    strict.refused_as_empty = False
    with pytest.raises(GeneratorError, match="maximum context length"):
        strict.generate(["ab", "LONG"], SamplingParams())


def test_a_task_that_asks_for_its_chat_template_is_sent_as_messages(endpoint):
    assert _gen(endpoint, chat_template=True).generate(["hi"], SamplingParams()) == [["ih|tail"]]
    assert endpoint.bodies[-1]["messages"] == [{"role": "user", "content": "hi"}]


def test_more_stop_strings_than_the_api_takes_are_sent_four_and_all_applied(endpoint):
    stops = ("x1", "x2", "x3", "x4", "|", "x6")
    assert _gen(endpoint).generate(["ab"], SamplingParams(stop=stops)) == [["ba"]]
    assert endpoint.bodies[-1]["stop"] == ["x1", "x2", "x3", "x4"]


def test_a_reply_with_an_empty_list_of_choices_is_an_error_not_a_loop():
    endpoint = Endpoint(mode="nochoices")
    try:
        start = time.monotonic()
        with pytest.raises(GeneratorError, match="returned no completion for prompt 0"):
            _gen(endpoint).generate(["ab"], SamplingParams())
        assert time.monotonic() - start < 10 and len(endpoint.bodies) == 1
    finally:
        endpoint.close()


@pytest.mark.parametrize("endpoint", [{"script": [500] * 10}], indirect=True)
def test_no_request_is_sent_after_the_first_failure(endpoint):
    with pytest.raises(GeneratorError, match="answered 500"):
        _gen(endpoint, concurrency=1, max_retries=0).generate(["a", "b", "c", "d"], SamplingParams())
    assert len(endpoint.bodies) == 1


def test_each_call_counts_its_own_empty_completions(caplog):
    endpoint = Endpoint(mode="empty")
    try:
        gen = _gen(endpoint)
        for _ in range(2):
            caplog.clear()
            with caplog.at_level("WARNING"):
                gen.generate(["ab"], SamplingParams())
            assert "1 of 1 completions from" in caplog.text
        caplog.clear()
        with caplog.at_level("WARNING"):
            gen.generate(["ab"], SamplingParams(n=3))  # the endpoint gives one a request: asked three times
        assert "3 of 3 completions from" in caplog.text
    finally:
        endpoint.close()


def test_an_empty_model_list_is_trusted_and_a_404_under_v1_gets_no_hint():
    endpoint = Endpoint(served=(), mode="v1only")
    try:
        gen = load_generator("m", "openai", base_url=endpoint.url + "/", max_retries=0)  # nothing listed: trusted
        assert gen.generate(["ab"], SamplingParams()) == [["ba|tail"]]
        wrong = load_generator("m", "openai", base_url=endpoint.url.removesuffix("v1") + "x/v1/", max_retries=0)
        with pytest.raises(GeneratorError) as e:
            wrong.generate(["ab"], SamplingParams())
        assert "answered 404" in str(e.value) and "need /v1" not in str(e.value)
    finally:
        endpoint.close()


def test_the_finish_reasons_and_token_counts_of_other_servers_are_read_as_openais():
    import doctest

    from correct.generators import openai_replies

    result = doctest.testmod(openai_replies)
    assert result.attempted >= 6 and result.failed == 0  # finish_of's and tokens_of's examples among them


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_a_choice_the_server_aborted_is_asked_for_again_then_fails(api):
    """vLLM ends a choice it gave up on with finish_reason "abort", its text what was decoded
    so far: it is not a draft. It is asked for again; one that keeps aborting is an error that
    says so, not a fragment scored as a completion."""
    endpoint = Endpoint(aborts=2)
    try:
        g = _gen(endpoint, api=api)
        out = g.generate(["abcdef"], SamplingParams(max_new_tokens=20, n=2))
        assert out == [["fedcba|tail"] * 2] and g.last_finish == [["stop", "stop"]]
        assert [b["n"] for b in endpoint.bodies] == [2, 1, 1]  # the aborted choice asked for again
        endpoint.aborts = 10
        with pytest.raises(GeneratorError, match="finish_reason 'abort' 3 times in a row"):
            g.generate(["abcdef"], SamplingParams(max_new_tokens=20))
    finally:
        endpoint.close()


def test_half_a_surrogate_pair_in_a_completion_becomes_a_replacement_character(endpoint, caplog):
    """An endpoint's JSON may escape half a surrogate pair ("\\ud800"), which is no character:
    a fast tokenizer (the corrector's) refuses it with a TypeError. It becomes U+FFFD, as a
    UTF-8 decoder would make it, and is warned about."""
    from transformers import AutoTokenizer

    from correct.tasks import MODELS

    with caplog.at_level("WARNING"):
        out = _gen(endpoint).generate(["a<half>b", "ok"], SamplingParams(max_new_tokens=20))
    assert out == [["b\ufffda|tail"], ["ko|tail"]]
    assert "1 of 2 completions from" in caplog.text and "replaced by U+FFFD" in caplog.text
    AutoTokenizer.from_pretrained(MODELS / "arithmetic-corrector")(out[0][0])  # takes it
