"""The openai backend against what current endpoints answer that the other tests do not script:
OpenAI's newer models, which refuse ``max_tokens``, ``stop`` or ``top_p`` and take only the
default temperature; choices out of their ``index`` order; prompts that take several requests
(an endpoint that ignores ``n``) and rate limits whose ``Retry-After`` outlasts a short timeout."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

import pytest

pytest.importorskip("openai")

from correct.generators import GeneratorError, SamplingParams, load_generator  # noqa: E402

from .test_openai import Loopback  # noqa: E402

USAGE = {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}


class Fake(Loopback):
    """A loopback endpoint: each POST's body goes to ``reply(body)``, which gives the choices of
    a 200 (a list) or (status, payload, headers); every body is kept in ``bodies``."""

    def __init__(self, reply):
        self.bodies: list[dict] = []
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
                self._send(200, {"object": "list", "data": [{"id": "m"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                endpoint.bodies.append(body)
                got = reply(body)
                if isinstance(got, tuple):
                    return self._send(*got)
                self._send(200, {"id": "x", "object": "x", "created": 0, "model": "m", "choices": got, "usage": USAGE})

        self.start(Handler)


@pytest.fixture
def fake():
    made = []

    def make(reply):
        made.append(Fake(reply))
        return made[-1]

    yield make
    for e in made:
        e.close()


def _gen(endpoint, **kwargs):
    kwargs = {"max_retries": 0, "concurrency": 1, **kwargs}
    return load_generator("m", "openai", base_url=endpoint.url, api_key="k", **kwargs)


def _openai_400(name, message):
    """OpenAI's answer to a parameter its model does not take."""
    code = "unsupported_value" if message.startswith("Unsupported value") else "unsupported_parameter"
    error = {"message": message, "type": "invalid_request_error", "param": name, "code": code}
    return 400, {"error": error}, ()


def _texts(body, text="x"):
    key = "message" if "messages" in body else "text"
    value = {"role": "assistant", "content": text} if key == "message" else text
    return [{"index": i, key: value, "finish_reason": "stop"} for i in range(body.get("n", 1))]


def test_a_model_that_takes_max_completion_tokens_is_given_the_budget_by_that_name(fake):
    """o1, o3 and GPT-5 refuse max_tokens with a 400 that names max_completion_tokens: it was
    asked again at n 1, then each prompt was refused, and the run ended on that 400."""

    def reply(body):
        if "max_tokens" in body:
            message = "Unsupported parameter: 'max_tokens' is not supported with this model. "
            message += "Use 'max_completion_tokens' instead."
            return _openai_400("max_tokens", message)
        return _texts(body)

    endpoint = fake(reply)
    out = _gen(endpoint, api="chat").generate(["a", "b"], SamplingParams(max_new_tokens=7, n=2))
    assert out == [["x", "x"], ["x", "x"]]
    later = endpoint.bodies[1:]
    assert all(b["max_completion_tokens"] == 7 and "max_tokens" not in b and b["n"] == 2 for b in later)
    assert len(later) == 2  # asked once more, then by that name from the start


def test_vllms_max_tokens_too_large_is_still_that_prompts_refusal(fake):
    """vLLM names 'max_tokens' for a prompt past its context: not a parameter to rename."""

    def reply(body):
        if "LONG" in body["prompt"]:
            message = "'max_tokens' is too large: 128. This model's maximum context length is 2048 tokens"
            return 400, {"error": {"message": message, "type": "BadRequestError", "param": "max_tokens"}}, ()
        return _texts(body)

    endpoint = fake(reply)
    gen = _gen(endpoint)
    assert gen.generate(["a", "LONG", "b"], SamplingParams()) == [["x"], [""], ["x"]]
    assert gen.refused_prompts == 1 and all("max_tokens" in b for b in endpoint.bodies)


def test_a_model_that_refuses_stop_is_asked_without_and_the_stop_strings_cut_here(fake):
    """GPT-5 and o3 take no stop strings: every prompt was refused. They are applied here anyway."""

    def reply(body):
        if "stop" in body:
            return _openai_400("stop", "Unsupported parameter: 'stop' is not supported with this model.")
        return _texts(body, "a = 1\n\nQ: next")

    endpoint = fake(reply)
    gen = _gen(endpoint, api="chat")
    assert gen.generate(["a", "b"], SamplingParams(stop=("\n\n",))) == [["a = 1"], ["a = 1"]]
    assert gen.last_finish == [["stop"], ["stop"]] and gen.refused_prompts == 0
    assert ["stop" in b for b in endpoint.bodies] == [True, False, False]


def test_top_p_at_its_default_is_left_out_where_the_model_refuses_it(fake):
    """GPT-5.2 refuses top_p at any value, even the 1.0 sent with greedy decoding (as a proxy
    words it: no ``param``, the name in the message)."""

    def reply(body):
        if "top_p" in body:
            return 400, {"error": {"message": "Unsupported parameter: 'top_p' is not supported with this model."}}, ()
        return _texts(body)

    endpoint = fake(reply)
    assert _gen(endpoint, api="chat").generate(["a", "b"], SamplingParams(temperature=1.0)) == [["x"], ["x"]]
    assert ["top_p" in b for b in endpoint.bodies] == [True, False, False]


def test_a_sampling_setting_the_model_refuses_is_an_error_naming_it_not_empty_drafts(fake):
    """A reasoning model takes only temperature 1. Once it had answered one call, every prompt
    of a call at temperature 0 (a corrector's greedy rewrites) was taken as refused on its own:
    empty drafts (or kept drafts) and a warning, round after round."""

    def reply(body):
        if body["temperature"] != 1.0:
            message = "Unsupported value: 'temperature' does not support 0.0 with this model. "
            message += "Only the default (1) value is supported."
            return _openai_400("temperature", message)
        return _texts(body)

    endpoint = fake(reply)
    gen = _gen(endpoint, api="chat")
    assert gen.generate(["a"], SamplingParams(temperature=1.0)) == [["x"]]
    with pytest.raises(GeneratorError, match=r"does not take temperature 0.0: Unsupported value") as e:
        gen.generate(["a", "b"], SamplingParams(temperature=0.0, n=2))
    assert e.value.option == "temperature" and gen.refused_prompts == 0
    assert len(endpoint.bodies) == 2  # no request at n 1, none for the second prompt


def test_choices_out_of_index_order_are_put_in_it(fake):
    """The choices came back in the order the reply listed them, not by their index."""
    endpoint = fake(
        lambda body: [
            {"index": 1, "text": "second", "finish_reason": "length"},
            {"index": 0, "text": "first", "finish_reason": "stop"},
        ]
    )
    gen = _gen(endpoint)
    assert gen.generate(["a"], SamplingParams(n=2)) == [["first", "second"]]
    assert gen.last_finish == [["stop", "length"]]


def test_each_request_of_a_prompt_gets_the_deadline_not_the_prompt_in_all(fake):
    """An endpoint that ignores n (llama.cpp) takes one request a completion: four requests of
    0.6 s, each well within a 1 s timeout, passed the 2 s deadline of the whole prompt."""

    def reply(body):
        time.sleep(0.6)
        return [{"index": 0, "text": "x", "finish_reason": "stop"}]

    endpoint = fake(reply)
    assert _gen(endpoint, timeout=1.0).generate(["a"], SamplingParams(n=4)) == [["x"] * 4]
    assert len(endpoint.bodies) == 4


def test_a_rate_limit_is_waited_out_as_its_retry_after_says_within_the_deadline(fake):
    """Two 429s asking for 2 s each, with a timeout of 0.5 s and two retries: the deadline
    (3 s) ended the call while the client was waiting as asked, and said the endpoint was slow."""
    limited = [2]

    def reply(body):
        if limited[0]:
            limited[0] -= 1
            return 429, {"error": {"message": "Rate limit reached", "type": "requests"}}, [("retry-after", "2")]
        return _texts(body)

    endpoint = fake(reply)
    start = time.monotonic()
    assert _gen(endpoint, timeout=0.5, max_retries=2).generate(["a"], SamplingParams()) == [["x"]]
    assert len(endpoint.bodies) == 3 and time.monotonic() - start >= 4


def test_a_rate_limit_that_asks_for_a_long_wait_says_so_not_that_it_was_retried(fake):
    """A Retry-After past what the client waits (a daily limit) is not retried at all: the
    error said it still was rate-limited "after 4 retries" and to lower the concurrency."""
    headers = [("retry-after", "3600")]
    endpoint = fake(lambda body: (429, {"error": {"message": "Rate limit reached for requests per day"}}, headers))
    with pytest.raises(GeneratorError, match=r"answered 429 asking to wait 3600 s before another try") as e:
        _gen(endpoint, max_retries=4).generate(["a"], SamplingParams())
    assert "Rate limit reached for requests per day" in str(e.value) and "retries" not in str(e.value)
    assert len(endpoint.bodies) == 1 and e.value.option is None


def test_a_retry_after_given_as_an_http_date_is_read_as_the_wait_it_asks(fake):
    """RFC 9110 lets Retry-After be a date; it was read as no wait at all, and the error said
    the requests were retried and to lower the concurrency."""
    from email.utils import format_datetime

    when = datetime.now(timezone.utc) + timedelta(hours=1)
    headers = [("retry-after", format_datetime(when, usegmt=True))]
    endpoint = fake(lambda body: (429, {"error": {"message": "Rate limit reached for requests per day"}}, headers))
    with pytest.raises(GeneratorError, match=r"answered 429 asking to wait 3[56]\d\d s before another try"):
        _gen(endpoint, max_retries=0).generate(["a"], SamplingParams())


def test_a_reasoning_models_inline_thinking_is_not_part_of_the_draft(fake):
    """DeepSeek-R1 or Qwen3 served without a reasoning parser (Ollama, llama.cpp) write their
    thinking inline, in <think>...</think> before the answer: the value would score the thinking.
    A thought never closed (the budget ran out) leaves no answer; text that only mentions the tag
    later is left as it is."""
    contents = iter(
        [
            "<think>\nThe sum is 2 + 2.\n</think>\n\nprint(4)",
            "  <think>still thinking about it",
            "print('<think>')",
        ]
    )
    endpoint = fake(lambda body: [{"index": 0, "message": {"role": "assistant", "content": next(contents)}}])
    gen = _gen(endpoint, api="chat")
    assert gen.generate(["a", "b", "c"], SamplingParams()) == [["print(4)"], [""], ["print('<think>')"]]
