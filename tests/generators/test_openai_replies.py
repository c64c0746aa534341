"""The openai backend against replies as real OpenAI-compatible servers shape them (choices
without their text, Mistral's content parts, an echoed prompt, no usage, other finish reasons,
odd model lists): each is read right or is a one-line error naming the endpoint, never a
traceback or a quietly wrong draft. (The endpoint's protocol, retries and refusals are in
test_openai.py.)"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

pytest.importorskip("openai")

from correct.generators import GeneratorError, SamplingParams, load_generator  # noqa: E402

from .test_openai import Loopback  # noqa: E402

USAGE = {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}


class Scripted(Loopback):
    """A loopback endpoint: each POST's body goes to ``reply(body)``, which gives the choices of
    a 200 (a list), or (status, payload); ``usage`` is each 200's, ``models`` what
    GET /v1/models answers (bytes: sent as they are, as HTML where they start with "<")."""

    def __init__(self, reply, usage=USAGE, models=None):
        self.bodies: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, payload):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                html = isinstance(payload, bytes) and payload.startswith(b"<")
                self.send_header("content-type", "text/html" if html else "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("retry-after-ms", "10")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "m"}]} if models is None else models)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                endpoint.bodies.append(body)
                got = reply(body)
                if isinstance(got, tuple):
                    return self._send(*got)
                answer = {"id": "x", "object": "x", "created": 0, "model": "m", "choices": got}
                self._send(200, answer if usage is None else {**answer, "usage": usage})

        self.start(Handler)


@pytest.fixture
def scripted():
    made = []

    def make(reply, **kwargs):
        made.append(Scripted(reply, **kwargs))
        return made[-1]

    yield make
    for e in made:
        e.close()


def _gen(endpoint, **kwargs):
    return load_generator("m", "openai", base_url=endpoint.url, api_key="k", max_retries=0, **kwargs)


@pytest.mark.parametrize(
    "api, choice, where",
    [
        ("chat", {"index": 0, "message": None, "finish_reason": "stop"}, "message"),
        ("chat", {"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}, "message"),  # a stream's chunk
        ("completions", None, "text"),
    ],
)
def test_a_choice_without_its_text_is_an_error_naming_the_endpoint(scripted, api, choice, where):
    """An AttributeError's traceback ('NoneType' object has no attribute 'content') before."""
    endpoint = scripted(lambda body: [choice])
    with pytest.raises(GeneratorError, match=rf"{endpoint.url} answered a choice without its {where}"):
        _gen(endpoint, api=api).generate(["ab"], SamplingParams())


@pytest.mark.parametrize(
    "api, choice",
    [
        ("completions", {"index": 0, "message": {"role": "assistant", "content": "x = 5"}}),  # a proxy's chat shape
        ("chat", {"index": 0, "text": "x = 5", "finish_reason": "stop"}),  # a completion's choice
        ("chat", {"index": 0, "message": {"role": "assistant", "content": ["x = ", "5"]}}),  # parts as strings
        ("chat", {"index": 0, "message": {"content": [{"type": "output_text", "text": "x = 5"}]}}),  # Responses' parts
    ],
)
def test_text_in_the_other_apis_shape_is_read(scripted, api, choice):
    """Each was an empty draft, with a warning that blamed a refusal or the token budget."""
    endpoint = scripted(lambda body: [choice])
    assert _gen(endpoint, api=api).generate(["q"], SamplingParams()) == [["x = 5"]]


def test_content_given_in_parts_is_their_text(scripted):
    """Mistral's content as a list of parts, its thinking one of them: the draft was the list."""
    parts = [{"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]}, {"type": "text", "text": "42"}]
    endpoint = scripted(lambda body: [{"index": 0, "message": {"role": "assistant", "content": parts}}])
    assert _gen(endpoint, api="chat").generate(["q"], SamplingParams()) == [["42"]]


def test_a_prompt_the_endpoint_echoes_is_cut_off(scripted, caplog):
    """The echoed few-shot prompt made the draft, and a stop string cut it in the prompt: the
    draft was the first example's answer."""
    endpoint = scripted(lambda body: [{"index": 0, "text": body["prompt"] + " 5\n\nQ: more", "finish_reason": "stop"}])
    prompt = "Q: 1+1\nA: 2\n\nQ: 2+3\nA:"
    with caplog.at_level("WARNING"):
        out = _gen(endpoint).generate([prompt], SamplingParams(stop=("\n\n",)))
    assert out == [[" 5"]] and "1 of 1 completions from" in caplog.text and "echoes" in caplog.text


@pytest.mark.parametrize("usage", [None, {"prompt_tokens": 1}, {"completion_tokens": "3"}])
def test_replies_without_a_token_count_are_said_not_counted_as_nothing(scripted, caplog, usage):
    """No usage: the tokens counted (the metrics' ``tokens``) were 0 without a word; a count that
    is not a number: a TypeError's traceback."""
    endpoint = scripted(lambda body: [{"index": 0, "text": "x", "finish_reason": "stop"}], usage=usage)
    gen = _gen(endpoint)
    with caplog.at_level("WARNING"):
        assert gen.generate(["a", "b"], SamplingParams()) == [["x"], ["x"]]
    assert gen.tokens_generated == 0 and "2 of 2 replies from" in caplog.text and "(usage)" in caplog.text
    assert gen.last_usage == [None, None]  # not known: correct serve counts those another way


def test_the_token_budget_by_other_names_ends_at_length(scripted):
    """Anthropic's "max_tokens" passed through by a proxy and Mistral's "model_length" were
    "stop": a draft cut at the budget was said to be whole."""
    reasons = iter(["max_tokens", "model_length", "end_turn"])
    endpoint = scripted(lambda body: [{"index": 0, "text": "x", "finish_reason": next(reasons)}])
    gen = _gen(endpoint, concurrency=1)
    gen.generate(["a", "b", "c"], SamplingParams())
    assert gen.last_finish == [["length"], ["length"], ["stop"]]


@pytest.mark.parametrize(
    "models", [b"<html><body>Open WebUI</body></html>", b"{oops", {"object": "list", "data": [{"name": "m"}]}]
)
def test_a_model_list_that_is_a_page_or_has_no_ids_is_given_the_benefit_of_the_doubt(scripted, models):
    """A JSONDecodeError's or a TypeError's traceback when the generator was made."""
    endpoint = scripted(lambda body: [{"index": 0, "text": "x", "finish_reason": "stop"}], models=models)
    assert _gen(endpoint).generate(["a"], SamplingParams()) == [["x"]]


def test_a_failure_after_n_was_refused_is_that_failure_not_the_refusal(scripted):
    """llama.cpp refuses n above 1; asked again for one, a 503 was reported as the 400 about n
    (and, once other prompts were answered, made the prompt's drafts empty, as a refusal)."""

    def reply(body):
        if body["n"] > 1:
            return 400, {"error": {"message": "Only one completion choice is allowed", "type": "x"}}
        return 503, {"error": {"message": "Loading model", "type": "x"}}

    with pytest.raises(GeneratorError, match=r"answered 503: Loading model"):
        _gen(scripted(reply)).generate(["a"], SamplingParams(n=2))


def test_a_prompt_refused_at_any_n_leaves_n_on_for_the_others(scripted):
    """One prompt too long for the context (a 400 at n=2 and at n=1) switched n off for every
    later request: each prompt then cost n requests (n times its prompt's tokens, paid)."""

    def reply(body):
        if "LONG" in body["prompt"]:
            return 400, {"error": {"message": "maximum context length is 2048 tokens", "type": "x"}}
        return [{"index": i, "text": "x", "finish_reason": "stop"} for i in range(body["n"])]

    endpoint = scripted(reply)
    gen = _gen(endpoint, concurrency=1)
    assert gen.generate(["ab", "LONG", "cd"], SamplingParams(n=2)) == [["x", "x"], ["", ""], ["x", "x"]]
    assert [b["n"] for b in endpoint.bodies if "LONG" not in b["prompt"]] == [2, 2]


def test_empty_choices_past_the_n_asked_for_are_not_counted(scripted, caplog):
    """A reply of three empty choices for one asked was "3 of 1 completions came back without text"."""
    endpoint = scripted(lambda body: [{"index": i, "text": "", "finish_reason": "stop"} for i in range(3)])
    with caplog.at_level("WARNING"):
        assert _gen(endpoint).generate(["a"], SamplingParams()) == [[""]]
    assert "1 of 1 completions from" in caplog.text
