"""Behaviour of ``correct serve``'s engine and request parsing that a mutation audit found no
test held (each test names what a plausible bug would break): admission and draining counts,
which completions share a batch (FIFO, the batch size, settings never mixed, seeded requests
never sharing), stop() answering a batch it interrupts, a two-completion batch with one bad
prompt, an endpoint's refusal, a request's own rounds and the server's rewrites, the
server's defaults under a request's settings, bounds on fields, the default budget, the
estimated finish_reason, usage over endpoints and rounds, and which message is a chat's
question. In-process, on scripted generators and correctors: no model is needed."""

from __future__ import annotations

import json
import random
import threading

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from correct.corrector.app.engine import Busy, Draining, Engine, ServeConfig  # noqa: E402
from correct.corrector.app.server import build_app  # noqa: E402
from correct.generators import SamplingParams  # noqa: E402
from correct.generators.base import GeneratorBase  # noqa: E402
from correct.values import Score  # noqa: E402

GREEDY, SAMPLED = SamplingParams(temperature=0.0), SamplingParams(temperature=1.0, seed=7)


class Chars:
    """One token a character; ``chat_template`` set: a chat is laid out as ``<role>content``."""

    chat_template = None

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": list(text)}

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        return "".join(f"<{m['role']}>{m['content']}\n" for m in messages) + "<assistant>"


class Dice(GeneratorBase):
    """A row's text is its prompt and a draw that depends on the call's seed and the row's
    place, as the hf backend samples; keeps each call's prompts and settings. An empty prompt
    fails its batch; so does ``SystemExit`` where ``exit`` is set."""

    tokenizer = Chars()

    def __init__(self, exit=False):
        self.batches, self.params, self.exit = [], [], exit

    def generate(self, prompts, params):
        self.batches.append(list(prompts))
        self.params.append(params)
        if self.exit:
            raise SystemExit("worker told to exit")
        if "" in prompts:
            raise IndexError("no tokens")
        draws = random.Random(params.seed)
        return [[f"{p}-{draws.randrange(10**9)}"[: params.max_new_tokens]] for p in prompts]


class Anything:
    name, max_value, min_value, reference_free = "anything", 1.0, 0.0, True

    def __call__(self, records, outputs):
        return [Score(float(o.endswith("!2")), "more") for o in outputs]  # "!2" is the best rewrite


class Bang:
    """A corrector: each rewrite is the draft with ``!k`` after it (k = 1..n), once; keeps the
    questions it was given. Its own tokenizer counts two tokens a character."""

    def __init__(self):
        self.questions = []
        self.generator = type(
            "G", (), {"tokenizer": lambda s, text, add_special_tokens=False: {"input_ids": text * 2}}
        )()

    def question(self, record):
        return record["prompt"]

    def correct(self, questions, drafts, feedbacks, params):
        self.questions += questions
        return [[d if "!" in d else f"{d}!{k + 1}" for k in range(params.n)] for d in drafts]


def engine_of(generator=None, corrector=None, format_prompt=None, **config):
    config = {"model_name": "m", "rounds": 0, "batch_wait": 0.0, **config}
    return Engine(generator or Dice(), corrector, Anything(), format_prompt, ServeConfig(**config))


def answers(futures):
    return [f.result(timeout=30)[-1].text for f in futures]


def test_admission_counts_every_completion_until_it_is_answered_and_draining_refuses_new_ones():
    gate = threading.Event()

    class Gated(Dice):
        def generate(self, prompts, params):
            gate.wait(30)
            return super().generate(prompts, params)

    engine = engine_of(Gated(), max_pending=3)
    futures = engine.submit([{}, {}], ["a", "b"], GREEDY, 0)
    assert engine.pending == 2
    with pytest.raises(Busy):
        engine.submit([{}, {}], ["c", "d"], GREEDY, 0)
    futures += engine.submit([{}], ["c"], GREEDY, 0)
    engine.start()
    try:
        assert engine.drain(0) is False and engine.pending == 3  # admitted, not yet answered
        with pytest.raises(Draining):
            engine.submit([{}], ["e"], GREEDY, 0)
        gate.set()
        assert engine.drain(30) is True and engine.pending == 0
        assert [t.split("-")[0] for t in answers(futures)] == ["a", "b", "c"]
    finally:
        gate.set()
        engine.stop()


def test_stop_answers_the_batch_it_interrupts_and_ends_the_worker():
    engine = engine_of(batch_wait=30.0)  # the worker waits for more when stop() comes
    future = engine.submit([{}], ["a"], GREEDY, 0)[0]
    engine.start().stop()
    assert future.result(timeout=0)[0].text.startswith("a-")
    assert not engine._thread.is_alive()


def test_batches_are_first_come_first_served_at_most_batch_size_and_never_mix_settings():
    engine = engine_of(batch_size=2)
    by = {k: SamplingParams(temperature=0.0, max_new_tokens=n) for k, n in (("a", 8), ("b", 9), ("c", 10))}
    futures = [engine.submit([{}], [p], by[p[0]], 0)[0] for p in ("a1", "b1", "c1", "b2", "b3", "a2")]
    engine.start()
    try:
        answers(futures)
    finally:
        engine.stop()
    assert engine.generator.batches == [["a1", "a2"], ["b1", "b2"], ["c1"], ["b3"]]
    assert [p.max_new_tokens for p in engine.generator.params] == [8, 9, 10, 9]


@pytest.mark.parametrize("rounds, samples", [(0, 2), (1, 1)])
def test_greedy_requests_share_a_batch_whatever_their_seeds(rounds, samples):
    """The openai backend sends a seed with every prompt: greedy, the seed is unused, and
    seeded requests are batched as any others."""
    engine = engine_of(corrector=Bang(), correction_samples=samples)
    futures = [
        engine.submit(
            [{"prompt": p}],
            [p],
            GREEDY if seed is None else SamplingParams(temperature=0.0, seed=seed),
            rounds,
            seeded=s,
        )
        for p, seed, s in (("a", 1, True), ("b", 2, True), ("c", None, False))
    ]
    engine.start()
    try:
        answers([f for fs in futures for f in fs])
    finally:
        engine.stop()
    assert engine.generator.batches[0] == ["a", "b", "c"]


def test_a_seeded_request_shares_no_batch_with_another_seeded_one_queued_between_its_completions():
    want = {}
    for p, n in (("a", 2), ("b", 1)):  # each alone
        engine = engine_of().start()
        want[p] = answers(engine.submit([{}] * n, [p] * n, SAMPLED, 0, seeded=True))
        engine.stop()
    engine = engine_of()
    put, late = engine._queue.put, []

    def put_then_b(item):  # b arrives while a's completions are being queued
        put(item)
        if not late:
            late.append(None)
            late[:] = engine.submit([{}], ["b"], SAMPLED, 0, seeded=True)

    engine._queue.put = put_then_b
    got_a = engine.submit([{}, {}], ["a", "a"], SAMPLED, 0, seeded=True)
    engine.start()
    try:
        assert answers(got_a) == want["a"] and answers(late) == want["b"]
    finally:
        engine.stop()


def test_requests_with_different_rounds_are_refined_as_each_asked():
    engine = engine_of(corrector=Bang())
    futures = [engine.submit([{"prompt": p}], [p], GREEDY, r)[0] for p, r in (("a", 0), ("b", 1), ("c", 0))]
    engine.start()
    try:
        got = [f.result(timeout=30) for f in futures]
    finally:
        engine.stop()
    assert [len(h) for h in got] == [1, 2, 1] and got[1][-1].text.endswith("!1")


def test_one_bad_prompt_of_two_batched_fails_alone():
    engine = engine_of()
    futures = [engine.submit([{}], [p], GREEDY, 0)[0] for p in ("ab", "")]
    engine.start()
    try:
        assert futures[0].result(timeout=30)[0].text.startswith("ab-")
        with pytest.raises(IndexError):
            futures[1].result(timeout=30)
    finally:
        engine.stop()


def test_a_batch_that_raises_a_base_exception_fails_every_completion_in_it():
    engine = engine_of(Dice(exit=True))
    futures = [engine.submit([{}], [p], GREEDY, 0)[0] for p in ("a", "b")]
    engine.start()
    try:
        for f in futures:
            with pytest.raises(SystemExit):
                f.result(timeout=30)
    finally:
        engine.stop()


def test_a_prompt_the_endpoint_refused_is_its_error_not_an_empty_answer():
    class Refusing(Dice):
        def generate(self, prompts, params):
            out = super().generate(prompts, params)
            self.last_refused = {k: "content policy" for k, p in enumerate(prompts) if p == "bad"}
            return out

    engine = engine_of(Refusing()).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            r = c.post("/v1/completions", json={"model": "m", "prompt": "bad"})
            assert r.status_code == 502 and "content policy" in r.json()["error"]["message"], r.text
            assert c.post("/v1/completions", json={"model": "m", "prompt": "ok"}).status_code == 200
    finally:
        engine.stop()


def test_a_requests_rounds_and_the_servers_rewrites_are_used():
    """A server whose --rounds is 0 refines a request that asks for a round, and picks the
    rewrite of --correction-samples that the value scores best ("!2")."""
    engine = engine_of(corrector=Bang(), correction_samples=2).start()
    try:
        with TestClient(build_app(engine)) as c:
            body = {"model": "m", "prompt": "ab", "rounds": 1, "return_rounds": True}
            choice = c.post("/v1/completions", json=body).json()["choices"][0]
    finally:
        engine.stop()
    assert len(choice["rounds"]) == 2 and choice["text"].endswith("!2"), choice


DEFAULTS = SamplingParams(temperature=0.8, top_p=0.9, max_new_tokens=32, stop=("END",), seed=5)
"""A server started with --temperature 0.8 --seed 5 under a task with its own stop string."""


@pytest.fixture(scope="module")
def app():
    engine = engine_of(params=DEFAULTS, max_pending=1000).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            yield c, engine.generator
    finally:
        engine.stop()


def test_a_requests_settings_replace_the_servers_and_its_stops_are_added(app):
    c, dice = app
    assert c.post("/v1/completions", json={"model": "m", "prompt": "ab"}).status_code == 200
    got = dice.params[-1]
    assert (got.temperature, got.top_p, got.max_new_tokens, got.stop) == (0.8, 0.9, 32, ("END",))
    body = {"temperature": 0, "top_p": 1.0, "stop": "x", "max_tokens": 7, "max_completion_tokens": 9}
    assert c.post("/v1/completions", json={"model": "m", "prompt": "ab", **body}).status_code == 200
    got = dice.params[-1]
    assert (got.temperature, got.top_p, got.max_new_tokens, got.stop) == (0.0, 1.0, 9, ("END", "x"))
    assert c.post("/v1/completions", json={"model": "m", "prompt": "ab", "seed": 0}).status_code == 200
    assert dice.params[-1].seed == 0  # seed 0 is a seed, not "the server's"


def test_a_stream_from_a_generator_that_cannot_stream_sends_its_whole_draft(app):
    c, _ = app
    body = {"model": "m", "prompt": "ab", "seed": 3}
    whole = c.post("/v1/completions", json=body).json()["choices"][0]["text"]
    with c.stream("POST", "/v1/completions", json={**body, "stream": True}) as r:
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and "error" not in "".join(events), events
    assert "".join(json.loads(e)["choices"][0]["text"] for e in events[:-1]) == whole


@pytest.mark.parametrize(
    "field, value, param, message",
    [
        ("max_tokens", 0, "max_tokens", "greater than or equal to 1"),
        ("top_p", 0.0, "top_p", "greater than 0"),
        ("n", 65, "n", "less than or equal to 64"),
        ("audio", {}, "audio", "audio output is not supported"),
        ("messages", [{"role": "user", "content": [{"type": "text", "text": 5}]}], "messages[0].content[0]", "only"),
    ],
)
def test_values_out_of_bounds_are_refused_by_their_field(app, field, value, param, message):
    c, _ = app
    r = c.post(
        "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "ab"}], field: value}
    )
    e = r.json()["error"]
    assert r.status_code == 400 and e["param"] == param and message in e["message"], r.text


@pytest.mark.parametrize(
    "body", [{"temperature": 2.0}, {"best_of": 2, "n": 2}, {"top_logprobs": 0}, {"response_format": {}}]
)
def test_values_at_their_bounds_or_neutral_are_taken(app, body):
    r = app[0].post("/v1/completions", json={"model": "m", "prompt": "ab", **body})
    assert r.status_code == 200 and len(r.json()["choices"]) == body.get("n", 1), r.text


class Window(Dice):
    """A context of 40 characters; ``check_fits`` as the hf backend's where ``checks``, else
    none (the vLLM backend's: it truncates the prompt itself)."""

    def __init__(self, checks=True):
        super().__init__()
        self.checks = checks

    def room(self, prompts):
        return [40 - len(p) for p in prompts]

    def check_fits(self, prompts, params):
        from correct.generators.base import ContextError

        if self.checks and any(len(p) + params.max_new_tokens > 40 for p in prompts):
            raise ContextError("does not fit", option="max_tokens")


@pytest.mark.parametrize("checks", [True, False])
def test_without_a_budget_the_longest_prompt_sets_it_and_one_that_fills_the_context_keeps_the_servers(checks):
    engine = engine_of(Window(checks), params=SamplingParams(temperature=0.0, max_new_tokens=32)).start()
    try:
        with TestClient(build_app(engine)) as c:
            r = c.post("/v1/completions", json={"model": "m", "prompt": ["short", "x" * 30]})
            assert r.status_code == 200 and engine.generator.params[-1].max_new_tokens == 10, r.text
            if not checks:  # the backend truncates a prompt it cannot hold
                r = c.post("/v1/completions", json={"model": "m", "prompt": "y" * 45})
                assert r.status_code == 200 and engine.generator.params[-1].max_new_tokens == 32, r.text
    finally:
        engine.stop()


class Told(Dice):
    """Writes ``text`` whatever it is asked, saying why it ended and what it took, as an
    endpoint does: its prompt counted as 100 tokens (200 for "b"), its text as 7."""

    def __init__(self, text="hello", finish=None, usage=True):
        super().__init__()
        self.text, self.finish, self.usage = text, finish, usage

    def generate(self, prompts, params):
        self.last_finish = [[self.finish]] * len(prompts) if self.finish else None
        self.last_usage = [(200 if p == "b" else 100, 7) for p in prompts] if self.usage else None
        return [[self.text] for _ in prompts]


@pytest.mark.parametrize(
    "generator, max_tokens, reason",
    [
        (Told("hi", finish="length", usage=False), 5, "length"),  # as the decode said, not estimated
        (Told("hello", usage=False), 5, "length"),  # the whole budget, re-encoded: 5 of 5
        (Told("hell", usage=False), 5, "stop"),
    ],
)
def test_finish_reason_is_the_decodes_or_estimated_from_the_whole_budget(generator, max_tokens, reason):
    engine = engine_of(generator).start()
    try:
        with TestClient(build_app(engine)) as c:
            r = c.post("/v1/completions", json={"model": "m", "prompt": "ab", "max_tokens": max_tokens})
    finally:
        engine.stop()
    assert r.json()["choices"][0]["finish_reason"] == reason, r.text


@pytest.mark.parametrize(
    "generator, corrector, rounds, usage",
    [
        (Told(usage=False, text="x" * 20), None, 0, (2 + 1, 4 * 5, 23)),  # re-encoded text capped at max_tokens
        (Told(), None, 0, (100 + 200, 4 * 7, 328)),  # the endpoint's counts; each prompt once (n 2)
        # Each draft "ab" (2 tokens), then the rewrite that changed it by the corrector's tokenizer
        # ("ab!1": 2 tokens a character); round 2 kept it and is not counted again.
        (Told(usage=False, text="ab"), Bang(), 2, (3, 4 * 2 + 4 * 8, 43)),
    ],
)
def test_usage_counts_what_was_decoded(generator, corrector, rounds, usage):
    engine = engine_of(generator, corrector).start()
    try:
        with TestClient(build_app(engine)) as c:
            body = {
                "model": "m",
                "prompt": ["ab", "b"],
                "n": 2,
                "max_tokens": 5 if rounds == 0 else 64,
                "rounds": rounds,
            }
            got = c.post("/v1/completions", json=body).json()["usage"]
    finally:
        engine.stop()
    assert (got["prompt_tokens"], got["completion_tokens"], got["total_tokens"]) == usage, got


def chat_engine(format_prompt=None):
    dice = Dice()
    dice.tokenizer = Chars()
    dice.tokenizer.chat_template = "<role>content"
    return engine_of(dice, Bang(), format_prompt, rounds=1).start()


@pytest.mark.parametrize(
    "messages, param",
    [
        ([("user", "hi"), ("assistant", "yo"), ("user", "")], "messages[2].content"),  # the last user message
        ([("user", ""), ("assistant", "yo")], "messages[0].content"),
    ],
)
def test_an_empty_question_is_named_as_the_last_user_message(messages, param):
    engine = chat_engine()
    try:
        with TestClient(build_app(engine)) as c:
            chat = {"model": "m", "messages": [{"role": r, "content": t} for r, t in messages]}
            r = c.post("/v1/chat/completions", json=chat)
    finally:
        engine.stop()
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


def test_the_question_is_the_conversation_up_to_its_last_user_message():
    engine = chat_engine()
    turns = [("system", "S"), ("user", "Q1"), ("assistant", "A1"), ("user", "Q2"), ("assistant", "The answer is")]
    try:
        with TestClient(build_app(engine)) as c:
            for chat in ([("user", "hi")], turns):
                body = {"model": "m", "messages": [{"role": r, "content": t} for r, t in chat]}
                assert c.post("/v1/chat/completions", json=body).status_code == 200
    finally:
        engine.stop()
    assert engine.corrector.questions == ["hi", "system: S\n\nuser: Q1\n\nassistant: A1\n\nuser: Q2"]


def test_a_chat_without_a_template_or_under_a_task_is_one_user_message():
    def layout(record):
        return f"Q: {record['prompt']} ({record.get('unit', '?')})\n"

    plain, task = engine_of(), engine_of(format_prompt=layout)
    try:
        for engine in (plain.start(), task.start()):
            with TestClient(build_app(engine)) as c:
                two = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
                r = c.post("/v1/chat/completions", json={"model": "m", "messages": two})
                assert r.status_code == 400 and r.json()["error"]["param"] == "messages", r.text
        with TestClient(build_app(task)) as c:  # the request's question, not a `prompt` in its record
            body = {"model": "m", "prompt": "2+2", "record": {"prompt": "other", "unit": "pens"}, "max_tokens": 64}
            assert c.post("/v1/completions", json=body).json()["choices"][0]["text"].startswith("Q: 2+2 (pens)\n-")
    finally:
        plain.stop()
        task.stop()
