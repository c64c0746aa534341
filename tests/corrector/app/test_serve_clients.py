"""What OpenAI clients send that ``correct serve`` used to answer wrongly (an audit with the
``openai`` client, langchain and raw requests): a seed that did not give the same answer
twice, usage that counted a prompt once per completion, images dropped from a question, an
empty prompt that failed a whole batch with a 500, fields such as ``response_format`` taken
and silently not done, explicit nulls refused; then a seeded request whose choices past one
batch were the first batch's draws again, a chat template's refusal (or a ``developer``
message it does not know) answered with a 500, ``function_call``, audio and web search
ignored, stop lists of any length, and error ``param``s that named pydantic's union members
(``prompt.str``). In-process, on scripted generators (with the tiny arithmetic generator's
tokenizer for its chat template): no model is needed for any of it."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from correct.corrector.app.engine import Engine, ServeConfig  # noqa: E402
from correct.corrector.app.server import build_app  # noqa: E402
from correct.generators import SamplingParams  # noqa: E402
from correct.generators.base import GeneratorBase  # noqa: E402
from correct.values import Score  # noqa: E402


class Chars:
    """A tokenizer with one token per character."""

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": list(text)}


class Dice(GeneratorBase):
    """Samples as the hf backend does: torch seeded once per call with the call's seed, then
    one draw per row, so a row's text depends on the seed and on its place in the batch. An
    empty prompt fails as a model fed no tokens does."""

    tokenizer = Chars()

    def __init__(self):
        self.batches: list[list[str]] = []

    def generate(self, prompts, params):
        import torch

        self.batches.append(list(prompts))
        if any(p == "" for p in prompts):
            raise IndexError("index is out of bounds for dimension with size 0")
        torch.manual_seed(params.seed)
        rolls = torch.randint(0, 10**9, (len(prompts), params.n)).tolist()
        return [[f"{p}-{r}"[: params.max_new_tokens] for r in row] for p, row in zip(prompts, rolls)]


class Anything:
    name, max_value, min_value, reference_free = "anything", 1.0, 0.0, True

    def __call__(self, records, outputs):
        return [Score(1.0, None) for _ in outputs]


def serving(batch_wait: float = 0.0):
    engine = Engine(Dice(), None, Anything(), None, ServeConfig(model_name="m", rounds=0, batch_wait=batch_wait))
    return engine.start()


@pytest.fixture(scope="module")
def client():
    engine = serving()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            yield c
    finally:
        engine.stop()


def text(r) -> str:
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["text"]


def test_the_same_seeded_request_gets_the_same_answer(client):
    seeded = {"model": "m", "prompt": "ab", "temperature": 1.0, "seed": 42}
    first = text(client.post("/v1/completions", json=seeded))
    client.post("/v1/completions", json={"model": "m", "prompt": "other", "temperature": 1.0})
    assert text(client.post("/v1/completions", json=seeded)) == first
    assert text(client.post("/v1/completions", json={**seeded, "seed": 43})) != first
    # Unseeded, the server's batches draw anew each time.
    unseeded = {"model": "m", "prompt": "ab", "temperature": 1.0}
    assert len({text(client.post("/v1/completions", json=unseeded)) for _ in range(3)}) == 3


def test_a_seeded_request_is_not_batched_with_others_that_would_move_its_draws():
    engine = serving(batch_wait=0.3)  # requests that come together are batched together
    try:
        alone = engine.submit([{"prompt": "ab"}], ["ab"], SamplingParams(temperature=1.0, seed=7), 0, seeded=True)
        want = alone[0].result(timeout=10)[0].text
        futures = []
        threads = [
            threading.Thread(
                target=lambda p=p: futures.extend(
                    engine.submit([{"prompt": p}], [p], SamplingParams(temperature=1.0, seed=7), 0, seeded=p == "ab")
                )
            )
            for p in ("zz", "ab", "yy")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        got = {f.result(timeout=10)[0].text.split("-")[0]: f.result()[0].text for f in futures}
        assert got["ab"] == want
        assert ["ab"] in engine.generator.batches[1:]  # decoded alone; the unseeded pair together
        assert sorted(map(sorted, engine.generator.batches[1:])) == [["ab"], ["yy", "zz"]]
    finally:
        engine.stop()


def test_usage_counts_each_prompt_once_and_no_more_tokens_than_were_asked_for(client):
    r = client.post("/v1/completions", json={"model": "m", "prompt": ["abc", "de"], "n": 2, "max_tokens": 4})
    usage = r.json()["usage"]
    assert usage["prompt_tokens"] == 5  # not 10: n does not repeat the prompt
    assert usage["completion_tokens"] == 4 * 4  # each text is cut at 4 "tokens"
    chat = {"model": "m", "messages": [{"role": "user", "content": "abc"}], "n": 3}
    assert client.post("/v1/chat/completions", json=chat).json()["usage"]["prompt_tokens"] == 3


def error(r, status: int = 400) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()["error"]


@pytest.mark.parametrize(
    "part, param",
    [
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}, "messages[0].content[1]"),
        ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, "messages[0].content[1]"),
        ({"text": "no type"}, "messages[0].content[1]"),
    ],
)
def test_a_part_of_a_question_that_is_not_text_is_refused_not_dropped(client, part, param):
    content = [{"type": "text", "text": "How many apples are in the picture?"}, part]
    e = error(
        client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": content}]})
    )
    assert e["param"] == param and "only text parts are taken" in e["message"]
    if "type" in part:
        assert f"this model reads no {part['type']!r}" in e["message"]


def test_an_empty_question_is_a_400_and_fails_no_other_request(client):
    e = error(client.post("/v1/completions", json={"model": "m", "prompt": ""}))
    assert e["param"] == "prompt" and "prompt: empty" in e["message"]
    for content in ("", None):
        chat = {"model": "m", "messages": [{"role": "user", "content": content}]}
        assert error(client.post("/v1/chat/completions", json=chat))["param"] == "messages[0].content"
    e = error(client.post("/v1/completions", json={"model": "m", "prompt": ["ab", ""]}))
    assert e["param"] == "prompt"


def test_a_failure_of_one_completion_in_a_batch_fails_that_one_only():
    engine = serving(batch_wait=0.3)
    try:
        params = SamplingParams(temperature=0.0)
        futures = [engine.submit([{"prompt": p}], [p], params, 0)[0] for p in ("ab", "", "cd")]
        assert futures[0].result(timeout=10)[0].text.startswith("ab-")
        with pytest.raises(IndexError):
            futures[1].result(timeout=10)
        assert futures[2].result(timeout=10)[0].text.startswith("cd-")
        assert ["ab", "", "cd"] in engine.generator.batches  # they were batched, then retried one by one
    finally:
        engine.stop()


def test_token_id_prompts_are_named_as_such(client):
    for prompt in ([1, 2, 3], [[1, 2], [3]]):
        e = error(client.post("/v1/completions", json={"model": "m", "prompt": prompt}))
        assert e["param"] == "prompt" and "token ids are not taken; send the prompt as text" in e["message"]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("echo", True, "echo: the prompt is not echoed back"),
        ("suffix", "}", "suffix: text after the completion"),
        ("best_of", 3, "best_of: server-side best-of is not supported"),
        ("logit_bias", {"50256": -100}, "logit_bias: token biases are not supported"),
        ("presence_penalty", 0.5, "presence_penalty: repetition penalties are not supported"),
        ("frequency_penalty", -1.0, "frequency_penalty: repetition penalties are not supported"),
        ("response_format", {"type": "json_object"}, "response_format: structured output"),
        ("response_format", {"type": "json_schema", "json_schema": {"name": "A"}}, "response_format: structured"),
        ("tool_choice", "required", "tool_choice: tool calls are not supported"),
        ("tool_choice", {"type": "function", "function": {"name": "f"}}, "tool_choice: tool calls are not supported"),
        ("min_tokens", 5, "min_tokens: a minimum length is not supported"),
        ("ignore_eos", True, "ignore_eos: decoding past the end of text is not supported"),
        ("stream_options", {"include_usage": True}, "stream_options: is only allowed with stream: true"),
        ("logprobs", 0, "logprobs are not supported"),
    ],
)
def test_fields_that_would_change_the_answer_are_refused_by_name_not_ignored(client, field, value, message):
    e = error(client.post("/v1/completions", json={"model": "m", "prompt": "ab", field: value}))
    assert e["param"] == field and e["message"].startswith(message), e


@pytest.mark.parametrize(
    "field, value, param",
    [
        ("best_of", 0, "best_of"),
        ("best_of", -1, "best_of"),
        ("stream_options", {"include_usage": "no"}, "stream_options.include_usage"),
    ],
)
def test_values_openai_refuses_are_refused_by_their_field(client, field, value, param):
    """best_of 0 was taken, and include_usage "no" added the usage as a yes would."""
    body = {"model": "m", "prompt": "ab", "stream": field == "stream_options", field: value}
    assert error(client.post("/v1/completions", json=body))["param"] == param


def test_their_neutral_values_and_explicit_nulls_are_taken(client):
    neutral = {
        "echo": False,
        "best_of": 1,
        "presence_penalty": 0,
        "frequency_penalty": 0.0,
        "logit_bias": {},
        "response_format": {"type": "text"},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "tool_choice": "auto",
        "n": None,
        "stream": None,
        "stop": None,
        "seed": None,
        "logprobs": None,
    }
    assert text(client.post("/v1/completions", json={"model": "m", "prompt": "ab", **neutral})).startswith("ab-")
    chat = {"model": "m", "messages": [{"role": "user", "content": "ab"}], "logprobs": False, "n": None}
    r = client.post("/v1/chat/completions", json=chat)
    assert r.status_code == 200 and len(r.json()["choices"]) == 1


def test_a_model_is_retrieved_by_id_and_a_wrong_one_named_first(client):
    assert client.get("/v1/models/m").json() == {"id": "m", "object": "model", "created": 0, "owned_by": "correct"}
    e = error(client.get("/v1/models/gpt-4o"), 404)
    assert e["param"] == "model" and "this server serves 'm'" in e["message"]
    # A chat this server would refuse for its shape is refused for its model first.
    turns = [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "ab"}]
    assert error(client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": turns}), 404)["param"] == (
        "model"
    )


def test_a_seeded_requests_choices_past_one_batch_are_new_draws_and_split_the_same_each_time():
    """n 6 in batches of 4: the second batch was seeded as the first, so its choices were the
    first batch's again; and a batch taken before the request's other choices were queued
    (batch_wait 0) split it differently each time, each part seeded alike: six equal choices."""
    engine = Engine(Dice(), None, Anything(), None, ServeConfig(model_name="m", rounds=0, batch_size=4, batch_wait=0))
    put = engine._queue.put

    def slow_put(item):  # the worker takes a completion before the next one is queued
        put(item)
        time.sleep(0.02)

    engine._queue.put = slow_put
    engine.start()
    body = {"model": "m", "prompt": "ab", "n": 6, "temperature": 1.0, "seed": 3}
    try:
        with TestClient(build_app(engine)) as c:
            first = [ch["text"] for ch in c.post("/v1/completions", json=body).json()["choices"]]
            again = [ch["text"] for ch in c.post("/v1/completions", json=body).json()["choices"]]
    finally:
        engine.stop()
    assert len(set(first)) == 6, first
    assert again == first
    assert [len(b) for b in engine.generator.batches] == [4, 2, 4, 2]


def test_more_stop_strings_than_the_server_takes_is_a_400_not_a_stalled_worker(client):
    from correct.corrector.app.protocol import MAX_STOPS

    many = [f"zq{i}" for i in range(MAX_STOPS + 1)]
    e = error(client.post("/v1/completions", json={"model": "m", "prompt": "ab", "stop": many}))
    assert e["param"] == "stop" and e["message"] == f"stop: at most {MAX_STOPS} stop strings are taken (got 17)"
    assert text(client.post("/v1/completions", json={"model": "m", "prompt": "ab", "stop": many[:MAX_STOPS]}))
    # The same string many times is one stop string.
    assert text(client.post("/v1/completions", json={"model": "m", "prompt": "ab", "stop": ["zq"] * 1000}))


def test_a_stop_string_longer_than_the_server_takes_is_a_400_not_gigabytes(client):
    """One stop string of 300,000 characters took 4.7 GB and 9 s of the worker every request
    waits for (the hf backend's stop check sizes its tables by the longest string)."""
    from correct.corrector.app.protocol import MAX_STOP_CHARS

    long = "q" + "z" * MAX_STOP_CHARS
    e = error(client.post("/v1/completions", json={"model": "m", "prompt": "ab", "stop": ["x", long]}))
    assert e["param"] == "stop[1]" and e["message"] == (
        f"stop[1]: at most {MAX_STOP_CHARS} characters a stop string (got {MAX_STOP_CHARS + 1})"
    )
    e = error(
        client.post(
            "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "ab"}], "stop": long}
        )
    )
    assert e["param"] == "stop"
    assert text(client.post("/v1/completions", json={"model": "m", "prompt": "ab", "stop": long[:MAX_STOP_CHARS]}))


STRICT = (
    "{% for m in messages %}{% if m['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('Unexpected message role.') }}{% endif %}"
    "<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}<assistant>"
)
"""A chat template that knows the roles most do (Qwen's and Mistral's refuse others so)."""


@pytest.fixture(scope="module")
def templated():
    """The Dice generator with the tiny arithmetic generator's tokenizer, given ``STRICT``."""
    from transformers import AutoTokenizer

    from correct.tasks import MODELS

    dice = Dice()
    dice.tokenizer = AutoTokenizer.from_pretrained(str(MODELS / "arithmetic-generator"))
    dice.tokenizer.chat_template = STRICT
    engine = Engine(dice, None, Anything(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            yield c, dice
    finally:
        engine.stop()


def test_a_developer_message_is_a_system_message_to_the_chat_template(templated):
    c, dice = templated
    chat = {"model": "m", "messages": [{"role": "developer", "content": "be brief"}, {"role": "user", "content": "hi"}]}
    r = c.post("/v1/chat/completions", json=chat)
    assert r.status_code == 200, r.text
    assert dice.batches[-1] == ["<system>be brief\n<user>hi\n<assistant>"]


def test_a_chat_the_template_refuses_is_a_400_naming_messages_not_a_500(templated):
    c, _ = templated
    turns = [{"role": "user", "content": "2+2?"}, {"role": "tool", "content": "4"}, {"role": "user", "content": "so?"}]
    e = error(c.post("/v1/chat/completions", json={"model": "m", "messages": turns}))
    assert e["param"] == "messages"
    assert e["message"] == "messages: the generator's chat template cannot lay out this chat: Unexpected message role."


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("function_call", {"name": "f"}, "function_call: function calls are not supported"),
        ("modalities", ["text", "audio"], "modalities: the answer is text only"),
        ("audio", {"voice": "alloy", "format": "wav"}, "audio: audio output is not supported"),
        ("web_search_options", {}, "web_search_options: web search is not supported"),
    ],
)
def test_chat_fields_that_would_change_the_answer_are_refused_by_name(client, field, value, message):
    chat = {"model": "m", "messages": [{"role": "user", "content": "ab"}], field: value}
    e = error(client.post("/v1/chat/completions", json=chat))
    assert e["param"] == field and e["message"].startswith(message), e
    neutral = {"function_call": "auto", "modalities": ["text"], "audio": None, "web_search_options": None}[field]
    r = client.post("/v1/chat/completions", json={**chat, field: neutral})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "path, body, param",
    [
        ("/v1/completions", {"prompt": None}, "prompt"),
        ("/v1/completions", {"prompt": "ab", "stop": ["a", 3]}, "stop[1]"),
        ("/v1/completions", {"prompt": "ab", "logprobs": "x"}, "logprobs"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": ["hi"]}]}, "messages[0].content[0]"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "tool_choice": 5}, "tool_choice"),
    ],
)
def test_a_field_of_the_wrong_type_is_named_as_the_request_names_it(client, path, body, param):
    e = error(client.post(path, json={"model": "m", **body}))
    assert e["param"] == param and e["message"].startswith(f"{param}: "), e


def test_a_task_layout_is_filled_from_the_requests_record():
    """A task whose prompt names a field beside the question (`{unit}`) answered every request
    with a 500, `record` or not: the server filled its layout from the question alone."""
    from correct.tasks.task import fill

    def layout(record):
        return fill("Q: {prompt} (in {unit})\n", record, "task 't'")

    engine = Engine(Dice(), None, Anything(), layout, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            body = {"model": "m", "prompt": "5 + 3 apples", "record": {"unit": "apples"}, "max_tokens": 64}
            assert text(c.post("/v1/completions", json=body)).startswith("Q: 5 + 3 apples (in apples)\n-")
            chat = {"model": "m", "messages": [{"role": "user", "content": "5 + 3"}], "record": {"unit": "pens"}}
            got = c.post("/v1/chat/completions", json={**chat, "max_tokens": 64}).json()
            assert got["choices"][0]["message"]["content"].startswith("Q: 5 + 3 (in pens)\n-")
            e = error(c.post("/v1/completions", json={"model": "m", "prompt": "5 + 3"}))
            assert e["param"] == "record" and "names the field 'unit'" in e["message"]
            assert "send it in the request's `record`" in e["message"]
    finally:
        engine.stop()
