"""``correct serve`` started on a free loopback port with the built-in arithmetic models, used
through the real ``openai`` client and through the openai generator backend; and the
batching engine behind it, in-process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from harness import Launched, serving  # noqa: E402

from correct.corrector.app.engine import Busy, Engine, ServeConfig  # noqa: E402
from correct.corrector.app.server import build_app  # noqa: E402
from correct.generators import SamplingParams, load_generator  # noqa: E402
from correct.generators.base import GeneratorBase  # noqa: E402
from correct.tasks import TASKS, arithmetic  # noqa: E402
from correct.values import Score  # noqa: E402

MODEL = "correct-arithmetic"


@pytest.fixture(scope="module")
def server():
    # Drafts only unless a request asks for rounds: the openai backend test reads plain drafts.
    with Launched(["--task", "arithmetic", "--rounds", "0"], env={"OMP_NUM_THREADS": "1"}) as server:
        yield server.url


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server, api_key="none", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def problems():
    return arithmetic.make_split("test", 24, 5)


def test_health_and_models(server, client):
    with urllib.request.urlopen(server.removesuffix("/v1") + "/health") as r:
        assert json.load(r) == {"status": "ok", "model": MODEL, "rounds": 0, "pending": 0}
    assert [m.id for m in client.models.list()] == [MODEL]


def test_completions_are_refined_and_report_their_rounds(client, problems):
    solved = {0: 0, 3: 0}
    for p in problems:
        out = client.completions.create(
            model=MODEL,
            prompt=p["prompt"],
            max_tokens=48,
            extra_body={"rounds": 3, "return_rounds": True, "record": {"answer": p["answer"]}},
        )
        choice = out.choices[0]
        rounds = choice.model_extra["rounds"]
        assert [r["round"] for r in rounds] == [0, 1, 2, 3]
        assert choice.text == rounds[-1]["text"]
        assert out.usage.completion_tokens > 0
        solved[0] += rounds[0]["value"] == 1.0
        solved[3] += rounds[-1]["value"] == 1.0
    # The shipped corrector lifts the shipped generator (about 70% -> 90% on this task).
    assert solved[3] > solved[0]


def test_rounds_are_left_out_unless_asked_for(client, problems):
    out = client.completions.create(
        model=MODEL, prompt=problems[0]["prompt"], extra_body={"rounds": 1, "record": {"answer": 1}}
    )
    assert "rounds" not in (out.choices[0].model_extra or {})


def test_chat_completions(client, problems):
    p = problems[1]
    out = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": p["prompt"]}],
        n=2,
        extra_body={"rounds": 2, "return_rounds": True, "record": {"answer": p["answer"]}},
    )
    assert out.object == "chat.completion" and len(out.choices) == 2
    for choice in out.choices:
        assert choice.message.role == "assistant"
        assert choice.message.content == choice.model_extra["rounds"][-1]["text"]
        assert "print" in choice.message.content


@pytest.mark.parametrize(
    "kwargs, status, message",
    [
        (dict(model="gpt-9"), 404, "model 'gpt-9' is not served here; this server serves 'correct-arithmetic'"),
        (dict(n=0), 400, "n: Input should be greater than or equal to 1"),
        (dict(logprobs=2), 400, "logprobs are not supported: the answer is rewritten by the corrector"),
        (dict(temperature=9), 400, "temperature: Input should be less than or equal to 2"),
        (dict(extra_body={"rounds": 99}), 400, "rounds: Input should be less than or equal to 16"),
    ],
)
def test_bad_requests_get_a_4xx_that_says_why(client, kwargs, status, message):
    args = {"model": MODEL, "prompt": "Tom has 3 cards. How many cards does Tom have now?", **kwargs}
    with pytest.raises(openai.APIStatusError) as e:
        client.completions.create(**args)
    assert e.value.status_code == status
    assert e.value.body["param"] is not None
    assert re.search(message, e.value.body["message"]), e.value.body


def test_a_plain_chat_without_record_is_refined(client):
    """No `record`, so no answer: the rounds still run, with the program's feedback, and each
    round's value is unknown (null)."""
    out = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": "Tom has 3 cards. He buys 4 more cards. How many cards does Tom have now?"}
        ],
        extra_body={"rounds": 2, "return_rounds": True},
    )
    rounds = out.choices[0].model_extra["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    assert all(r["value"] is None and r["feedback"] for r in rounds)
    assert out.choices[0].message.content == rounds[-1]["text"]


def test_malformed_json_is_a_400(server):
    req = urllib.request.Request(
        server + "/chat/completions", data=b"{not json", headers={"content-type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400
    assert "JSON" in json.load(e.value)["error"]["message"]


def test_openai_backend_through_correct_serve_matches_direct_generation(server, problems):
    task = TASKS["arithmetic"]
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    remote = load_generator(MODEL, "openai", base_url=server, concurrency=4)
    direct = load_generator(task.generator, "hf", device="cpu")
    questions = [p["prompt"] for p in problems[:12]]
    # The server lays out the task's prompt itself; direct generation is given it laid out.
    assert remote.generate(questions, params) == direct.generate([task.format_prompt(p) for p in problems[:12]], params)
    assert remote.tokens_generated > 0


@pytest.mark.slow
def test_generate_wraps_an_endpoint_with_a_local_corrector(server, problems, tmp_path):
    """`correct generate --backend openai`: drafts from the endpoint, corrections local."""
    records = tmp_path / "in.jsonl"
    records.write_text(
        "".join(json.dumps({"id": p["id"], "prompt": p["prompt"], "answer": p["answer"]}) + "\n" for p in problems)
    )
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "correct.cli",
            "generate",
            "--backend",
            "openai",
            "--base-url",
            server,
            "--generator",
            MODEL,
            "--input",
            str(records),
            "--value",
            "program",
            "--max-new-tokens",
            "48",
            "--corrector",
            TASKS["arithmetic"].corrector,
            "--rounds",
            "2",
            "--no-baseline",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    metrics = json.loads(Path(str(out).removesuffix(".jsonl") + ".metrics.json").read_text())
    assert metrics["records"] == len(problems)
    assert metrics["rounds"][-1]["solved"] > metrics["rounds"][0]["solved"]


def test_behind_an_endpoint_usage_is_the_endpoints_own_count(server, client, problems):
    """`correct serve --backend openai` in front of another server: its prompt and draft
    tokens are what the endpoint's replies counted (it has no tokenizer of its own to count
    with), and the local corrector's rewrites are counted by the corrector's tokenizer."""
    from fastapi.testclient import TestClient

    from correct.corrector import Corrector
    from correct.values import load_value

    task = TASKS["arithmetic"]
    value = load_value(task.value)
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    upstream = load_generator(MODEL, "openai", base_url=server, concurrency=2)
    assert upstream.tokenizer is None
    corrector = Corrector.from_pretrained(task.corrector)
    engine = Engine(upstream, corrector, value, None, ServeConfig(model_name="m", rounds=2, params=params)).start()
    questions = [p["prompt"] for p in problems[:6]]
    try:
        with TestClient(build_app(engine)) as c:
            got = c.post("/v1/completions", json={"model": "m", "prompt": questions, "return_rounds": True}).json()
    finally:
        engine.stop()
        value.close()
    own = client.completions.create(
        model=MODEL, prompt=questions, max_tokens=task.max_new_tokens, temperature=0, stop=list(task.stop)
    )
    rounds = [choice["rounds"] for choice in got["choices"]]
    assert [r[0]["text"] for r in rounds] == [choice.text for choice in own.choices]  # the same drafts
    tokenizer = corrector.generator.tokenizer
    rewritten = sum(
        min(len(tokenizer(r["text"], add_special_tokens=False)["input_ids"]), task.max_new_tokens)
        for h in rounds
        for k, r in enumerate(h)
        if k and r["text"] != h[k - 1]["text"]
    )
    assert rewritten > 0  # the corrector changed some drafts
    assert got["usage"]["prompt_tokens"] == own.usage.prompt_tokens > 0
    assert got["usage"]["completion_tokens"] == own.usage.completion_tokens + rewritten
    assert got["usage"]["total_tokens"] == got["usage"]["prompt_tokens"] + got["usage"]["completion_tokens"]


# The engine in-process: batching across requests and the bound on what it admits.


class SlowEcho(GeneratorBase):
    """A generator that echoes prompts upper-cased, slowly, and records its batches."""

    def __init__(self, delay: float = 0.2):
        self.delay, self.batches = delay, []

    def generate(self, prompts, params):
        self.batches.append(list(prompts))
        time.sleep(self.delay)
        return [[p.upper()] * params.n for p in prompts]


class Length:
    name, max_value, min_value, reference_free = "length", 1.0, 0.0, True

    def __call__(self, records, outputs):
        return [Score(1.0 if len(o) > 3 else 0.0, f"{len(o)} characters") for o in outputs]


class Gated(SlowEcho):
    """Holds its first batch until released: what queues meanwhile is known exactly."""

    def __init__(self):
        super().__init__(0.0)
        self.started, self.release = threading.Event(), threading.Event()

    def generate(self, prompts, params):
        if not self.batches:
            self.started.set()
            assert self.release.wait(30)
        return super().generate(prompts, params)


def test_engine_batches_concurrent_requests_and_bounds_them():
    gen = Gated()
    engine = Engine(
        gen, None, Length(), None, ServeConfig(rounds=0, batch_size=8, max_pending=6, batch_wait=0.05)
    ).start()
    try:
        params = SamplingParams(temperature=0.0)
        first = engine.submit([{"prompt": "a"}], ["a"], params, 0)
        assert gen.started.wait(30)  # the worker is busy with "a": the next ones queue up and go together
        rest = [engine.submit([{"prompt": p}], [p], params, 0) for p in "bcde"]
        with pytest.raises(Busy, match="at most 6 .*--max-pending"):
            engine.submit([{"prompt": "x"}, {"prompt": "y"}], ["x", "y"], params, 0)
        gen.release.set()
        results = [f.result(timeout=10) for fs in [first, *rest] for f in fs]
        assert [h[-1].text for h in results] == ["A", "B", "C", "D", "E"]
        assert gen.batches == [["a"], ["b", "c", "d", "e"]]
        # Finished work frees its places.
        assert engine.submit([{"prompt": p} for p in "xyz"], list("xyz"), params, 0)[0].result(timeout=10)
    finally:
        gen.release.set()
        engine.stop()


def test_over_http_concurrent_requests_share_a_batch_and_the_excess_gets_429():
    """The engine's batching and its bound, seen by real clients over a loopback socket: while
    the generator holds its first batch, four concurrent completions queue and then run as one
    batch, and one more beyond --max-pending gets 429 with Retry-After in OpenAI's error shape."""

    gen = Gated()
    engine = Engine(
        gen,
        None,
        Length(),
        None,
        ServeConfig(
            rounds=0,
            batch_size=8,
            max_pending=5,
            batch_wait=0.5,
            model_name="m",
            params=SamplingParams(temperature=0.0),
        ),
    ).start()
    try:
        with serving(build_app(engine)) as root:
            client = openai.OpenAI(base_url=root + "/v1", api_key="none", max_retries=0, timeout=60)
            ask = lambda p: client.completions.create(model="m", prompt=p, max_tokens=8).choices[0].text  # noqa: E731
            with ThreadPoolExecutor(5) as pool:
                first = pool.submit(ask, "a")
                assert gen.started.wait(30)
                rest = [pool.submit(ask, p) for p in "bcde"]
                deadline = time.monotonic() + 30
                while engine._pending < 5 and time.monotonic() < deadline:  # all four are in the queue
                    time.sleep(0.01)
                request = urllib.request.Request(
                    root + "/v1/completions",
                    method="POST",
                    headers={"Content-Type": "application/json"},
                    data=json.dumps({"model": "m", "prompt": "x", "max_tokens": 8}).encode(),
                )
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(request, timeout=30)
                assert refused.value.code == 429
                assert refused.value.headers["Retry-After"] == "1"
                body = json.loads(refused.value.read())
                assert body["error"]["type"] == "rate_limit_error" and "--max-pending" in body["error"]["message"]
                gen.release.set()
                assert [first.result(30)] + [f.result(30) for f in rest] == ["A", "B", "C", "D", "E"]
            assert gen.batches[0] == ["a"] and sorted(gen.batches[1]) == ["b", "c", "d", "e"] and len(gen.batches) == 2
            assert ask("y") == "Y"  # finished work freed its places
    finally:
        gen.release.set()
        engine.stop()


def test_engine_keeps_different_settings_apart_and_one_bad_record_fails_alone():
    class Picky(Length):
        def __call__(self, records, outputs):
            from correct.values import ValueFunctionError

            if any("bad" in r["prompt"] for r in records):
                raise ValueFunctionError("record bad has no answer")
            return super().__call__(records, outputs)

    gen = SlowEcho(delay=0.05)
    engine = Engine(gen, None, Picky(), None, ServeConfig(batch_size=8, batch_wait=0.1)).start()
    try:
        hot, cold = SamplingParams(temperature=1.0), SamplingParams(temperature=0.0)
        futures = [
            engine.submit([{"prompt": p}], [p], hot if p != "cold" else cold, 1)[0] for p in ["good", "bad", "cold"]
        ]
        good, bad, cold_result = futures
        assert good.result(timeout=10)[-1].value == 1.0
        with pytest.raises(Exception, match="record bad has no answer"):
            bad.result(timeout=10)
        assert cold_result.result(timeout=10)[0].text == "COLD"
        assert all(set(b) <= {"good", "bad"} or b == ["cold"] for b in gen.batches)
    finally:
        engine.stop()


class Lengthening:
    """A corrector that writes ``n`` rewrites of each draft, the j-th with j more characters,
    and records the sampling it was asked for."""

    def __init__(self):
        self.asked: list[SamplingParams] = []

    def question(self, record):
        return record["prompt"]

    def correct(self, questions, texts, feedbacks, params):
        self.asked.append(params)
        return [[t + "+" * j for j in range(params.n)] for t in texts]


class Graded(Length):
    """A reference-free value that rises with length up to 6 characters."""

    def __call__(self, records, outputs):
        return [Score(min(1.0, len(o) / 6), f"{len(o)} characters") for o in outputs]


@pytest.mark.parametrize("samples", [1, 3])
def test_served_corrections_are_chosen_from_the_configured_rewrites(samples):
    """``correct serve --correction-samples 3 --correction-temperature 0.9``: each round the
    corrector is asked for 3 rewrites at 0.9 with a new seed, and the best by the
    reference-free value is kept; by default one rewrite at the request's own sampling."""
    corrector = Lengthening()
    config = ServeConfig(model_name="m", rounds=2, correction_samples=samples, correction_temperature=0.9)
    engine = Engine(SlowEcho(0.0), corrector, Graded(), None, config).start()
    try:
        params = SamplingParams(temperature=0.0, seed=5)
        (history,) = [f.result(timeout=10) for f in engine.submit([{"prompt": "ab"}], ["ab"], params, 2)]
    finally:
        engine.stop()
    texts = [s.text for s in history]
    if samples == 1:
        assert texts == ["AB", "AB", "AB"]  # greedy and unchanged: a fixed point, not asked again
        assert [(p.n, p.temperature) for p in corrector.asked] == [(1, 0.0)]
    else:
        assert texts == ["AB", "AB++", "AB++++"]
        assert [(p.n, p.temperature) for p in corrector.asked] == [(3, 0.9), (3, 0.9)]
        assert len({p.seed for p in corrector.asked}) == 2


def test_serve_with_rounds_but_no_corrector_is_a_clear_error():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "correct.cli",
            "serve",
            "--generator",
            TASKS["arithmetic"].generator,
            "--value",
            "program",
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--rounds > 0 needs --corrector" in done.stderr


def test_serve_without_the_serve_extras_says_what_to_install(tmp_path):
    """Where FastAPI is not installed (hidden here by a package that fails to import), the
    command says which extra to install, in one line, before any model loads."""
    (tmp_path / "fastapi").mkdir()
    (tmp_path / "fastapi" / "__init__.py").write_text("raise ImportError(\"No module named 'fastapi'\")\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "correct.cli", "serve", "--task", "arithmetic", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "error: correct serve needs FastAPI and uvicorn: pip install 'correct[serve]'"


def test_app_in_process_plain_prompts_chat_parts_and_failures():
    from fastapi.testclient import TestClient

    from correct.generators import GeneratorError

    engine = Engine(SlowEcho(0.0), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine)) as c:
            # No task: completion prompts reach the generator as they are, n copies each.
            r = c.post("/v1/completions", json={"model": "m", "prompt": ["ab", "cd"], "n": 2})
            assert [ch["text"] for ch in r.json()["choices"]] == ["AB", "AB", "CD", "CD"]
            chat = {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
            assert c.post("/v1/chat/completions", json=chat).json()["choices"][0]["message"]["content"] == "HI"
            # A generator without a chat template cannot lay out a conversation: refused, not cut to its last message.
            chat["messages"].insert(0, {"role": "system", "content": "be brief"})
            r = c.post("/v1/chat/completions", json=chat)
            assert r.status_code == 400 and "no chat template to lay out a conversation" in r.json()["error"]["message"]
            r = c.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "assistant", "content": "x"}]})
            assert r.status_code == 400 and "no message with role 'user'" in r.json()["error"]["message"]
            r = c.post("/v1/completions", json={"model": "m", "prompt": "x", "rounds": 1})
            assert r.status_code == 400 and "no corrector" in r.json()["error"]["message"]
    finally:
        engine.stop()

    class Down(GeneratorBase):
        def generate(self, prompts, params):
            raise GeneratorError("http://upstream/v1 answered 503: overloaded")

    engine = Engine(Down(), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            r = c.post("/v1/completions", json={"model": "m", "prompt": "x"})
            assert r.status_code == 502
            assert r.json()["error"] == {
                "message": "GeneratorError: http://upstream/v1 answered 503: overloaded",
                "type": "server_error",
                "param": None,
                "code": 502,
            }
        # Handled, not re-raised past the handler: the server logged an 84-line traceback for it.
        with TestClient(build_app(engine)) as c:
            assert c.post("/v1/completions", json={"model": "m", "prompt": "x"}).status_code == 502
    finally:
        engine.stop()


def test_without_a_task_a_chat_is_laid_out_by_the_generators_chat_template():
    from fastapi.testclient import TestClient

    class Tokenizer:
        chat_template = "{% for m in messages %}...{% endfor %}"

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            assert tokenize is False and add_generation_prompt is True
            return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

        def __call__(self, text, add_special_tokens=True):
            return {"input_ids": text.split()}

    gen = SlowEcho(0.0)
    gen.tokenizer = Tokenizer()
    engine = Engine(gen, None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine)) as c:
            body = {
                "model": "m",
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi there"}],
            }
            out = c.post("/v1/chat/completions", json=body).json()
        assert gen.batches == [["<system>be brief<user>hi there<assistant>"]]
        assert out["choices"][0]["message"]["content"] == "<SYSTEM>BE BRIEF<USER>HI THERE<ASSISTANT>"
        assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    finally:
        engine.stop()


def test_without_a_task_self_refinement_sees_the_conversation_not_only_its_last_message():
    """`correct serve --generator CHAT_MODEL --corrector self` without a task: the rewrite prompt
    held only the last user message, so a system message's instruction was lost to the rewrite."""
    from fastapi.testclient import TestClient

    from correct.corrector.self_refine import SelfRefine

    class Tokenizer:
        chat_template = "{% for m in messages %}...{% endfor %}"

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

        def __call__(self, text, add_special_tokens=True):  # the usage's count
            return {"input_ids": text.split()}

    class Never(Length):
        def __call__(self, records, outputs):
            self.records = records
            return [Score(0.0, "answer in French") for _ in outputs]

    gen, value = SlowEcho(0.0), Never()
    gen.tokenizer, gen.chat_template = Tokenizer(), True
    engine = Engine(gen, SelfRefine(gen, chat=True), value, None, ServeConfig(model_name="m", rounds=1)).start()
    turns = [
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "bonjour"},
        {"role": "user", "content": "how are you?"},
    ]
    try:
        with TestClient(build_app(engine)) as c:
            assert c.post("/v1/chat/completions", json={"model": "m", "messages": turns}).status_code == 200
            empty = [*turns[:3], {"role": "user", "content": ""}]
            r = c.post("/v1/chat/completions", json={"model": "m", "messages": empty})
            assert r.status_code == 400 and "empty" in r.json()["error"]["message"]
    finally:
        engine.stop()
    conversation = "system: Answer in French.\n\nuser: hi\n\nassistant: bonjour\n\nuser: how are you?"
    draft, rewrite = gen.batches
    assert draft == ["<system>Answer in French.<user>hi<assistant>bonjour<user>how are you?<assistant>"]
    assert rewrite[0].startswith(conversation + "\n\nYour previous answer:\n" + draft[0].upper())
    assert "Feedback on it: answer in French" in rewrite[0]
    assert value.records[0]["prompt"] == conversation  # the value reads the same question


def test_app_in_process_refines_a_completion_without_record_under_the_default_task():
    """The arithmetic task's own models and value behind the app: a completion without
    `record` gets its k rounds, each with the sandbox's feedback and value null; the same
    question with its answer in `record` gets the same texts, with values."""
    from fastapi.testclient import TestClient

    from correct.corrector import Corrector
    from correct.values import load_value

    task = TASKS["arithmetic"]
    value = load_value(task.value)
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    engine = Engine(
        load_generator(task.generator),
        Corrector.from_pretrained(task.corrector),
        value,
        task.format_prompt,
        ServeConfig(model_name="m", rounds=2, params=params),
    ).start()
    problem = arithmetic.make_split("test", 1, 3)[0]
    try:
        with TestClient(build_app(engine)) as c:
            body = {"model": "m", "prompt": problem["prompt"], "return_rounds": True}
            unlabeled = c.post("/v1/completions", json=body)
            labeled = c.post("/v1/completions", json={**body, "record": {"answer": problem["answer"]}})
    finally:
        engine.stop()
        value.close()
    assert unlabeled.status_code == 200, unlabeled.json()
    rounds = unlabeled.json()["choices"][0]["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]  # the server's --rounds
    assert all(r["value"] is None for r in rounds)
    assert all(r["feedback"].startswith("printed ") or "Error" in r["feedback"] for r in rounds)
    known = labeled.json()["choices"][0]["rounds"]
    assert [(r["text"], r["feedback"]) for r in known] == [(r["text"], r["feedback"]) for r in rounds]
    assert all(r["value"] in (0.0, 1.0) for r in known)


# -- for real clients: streaming, keys, conversations, OpenAI's fields -----------------------------


def _sse(root, path, body, key=None) -> list[str]:
    """The raw `data:` payloads of a streamed response, [DONE] included."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(root + path, method="POST", headers=headers, data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=60) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        return [line[len("data: ") :] for line in r.read().decode().splitlines() if line.startswith("data: ")]


def test_streaming_gives_the_last_rounds_text_in_openais_chunks(server, client, problems):
    """stream=True with rounds: the chunks carry the refined text (the same as without
    streaming), the last chunk of a choice its finish_reason and, asked for, its rounds; the
    stream ends with [DONE]; include_usage adds the usage."""
    p = problems[0]
    extra = {"rounds": 2, "return_rounds": True, "record": {"answer": p["answer"]}}
    plain = client.completions.create(model=MODEL, prompt=p["prompt"], max_tokens=48, extra_body=extra)
    chunks = list(
        client.completions.create(model=MODEL, prompt=p["prompt"], max_tokens=48, stream=True, extra_body=extra)
    )
    assert "".join(c.choices[0].text for c in chunks) == plain.choices[0].text
    assert chunks[-1].choices[0].finish_reason == plain.choices[0].finish_reason
    assert chunks[-1].choices[0].model_extra["rounds"] == plain.choices[0].model_extra["rounds"]
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    raw = _sse(
        server.removesuffix("/v1"),
        "/v1/chat/completions",
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": p["prompt"]}],
            "max_tokens": 48,
            "stream": True,
            "stream_options": {"include_usage": True},
            "rounds": 0,
        },
    )
    assert raw[-1] == "[DONE]"
    events = [json.loads(x) for x in raw[:-1]]
    assert {e["object"] for e in events} == {"chat.completion.chunk"}
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1])
    direct = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": p["prompt"]}], max_tokens=48, extra_body={"rounds": 0}
    )
    assert text == direct.choices[0].message.content


def test_a_seeded_sampled_request_streamed_or_not_gets_the_same_text(client, problems):
    """At a temperature above 0 a seed gives one text: the streamed request decodes on
    another path than the unstreamed one, and its rows end at other steps, but each sample
    draws its own random numbers."""
    asked = dict(model=MODEL, max_tokens=48, temperature=1.0, extra_body={"rounds": 0})
    prompts = [p["prompt"] for p in problems[:6]]
    plain = [
        c.text
        for c in sorted(client.completions.create(prompt=prompts, seed=11, **asked).choices, key=lambda c: c.index)
    ]
    streamed = [""] * len(prompts)
    for chunk in client.completions.create(prompt=prompts, seed=11, stream=True, **asked):
        for c in chunk.choices:
            streamed[c.index] += c.text
    assert streamed == plain
    assert len({len(t) for t in plain}) > 2  # rows of several lengths: rows left the batch at several steps
    others = {
        client.completions.create(prompt=problems[0]["prompt"], seed=s, **asked).choices[0].text for s in range(4)
    }
    assert len(others) > 1  # the seed matters: sampled, not greedy


def test_finish_reason_length_and_usage_over_every_round(client, problems):
    p = problems[1]
    cut = client.completions.create(model=MODEL, prompt=p["prompt"], max_tokens=3)
    assert cut.choices[0].finish_reason == "length"
    whole = client.completions.create(
        model=MODEL,
        prompt=p["prompt"],
        max_tokens=48,
        extra_body={"rounds": 2, "return_rounds": True, "record": {"answer": p["answer"]}},
    )
    assert whole.choices[0].finish_reason == "stop"
    rounds = whole.choices[0].model_extra["rounds"]
    from correct.generators import load_generator

    tok = load_generator(TASKS["arithmetic"].generator).tokenizer
    rewritten = [r["text"] for k, r in enumerate(rounds) if k == 0 or r["text"] != rounds[k - 1]["text"]]
    assert whole.usage.completion_tokens == sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in rewritten)
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens > 0


class Chars:
    """A tokenizer with one token per character."""

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": list(text)}


class Says(GeneratorBase):
    """Answers each prompt upper-cased and says that every completion ended ``why``, as a
    backend that knows it does (``last_finish``); its tokenizer counts a character a token."""

    tokenizer = Chars()

    def __init__(self, why: str | None):
        self.why = why

    def generate(self, prompts, params):
        if self.why is not None:
            self.last_finish = [[self.why] * params.n for _ in prompts]
        return [[p.upper()] * params.n for p in prompts]


def _finish_reasons(engine, body: dict) -> tuple[list, list]:
    """(each choice's finish_reason, each streamed choice's), with its text and rounds."""
    from fastapi.testclient import TestClient

    with TestClient(build_app(engine)) as c:
        plain = c.post("/v1/completions", json=body).json()
        raw = c.post("/v1/completions", json={**body, "stream": True}).text
    events = [json.loads(x[len("data: ") :]) for x in raw.splitlines() if x.startswith("data: {")]
    ends = [ch for e in events for ch in e["choices"] if ch["finish_reason"] is not None]
    streamed = "".join(ch["text"] for e in events for ch in e["choices"])
    assert streamed == "".join(ch["text"] for ch in plain["choices"])
    assert [ch.get("rounds") for ch in ends] == [ch.get("rounds") for ch in plain["choices"]]
    return [ch["finish_reason"] for ch in plain["choices"]], [ch["finish_reason"] for ch in ends]


@pytest.mark.parametrize("why, max_tokens", [("length", 5), ("stop", 2)])
def test_finish_reason_is_the_decodes_not_a_count_of_its_text_encoded_again(why, max_tokens):
    """A draft cut at its budget says "length" though its text counts 2 tokens of 5 (a client
    that continues on "length" went on); one that ended says "stop" though it counts 2 of 2.
    The streamed choice's last chunk says the same."""
    engine = Engine(Says(why), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        body = {"model": "m", "prompt": ["ab", "cd"], "max_tokens": max_tokens}
        assert _finish_reasons(engine, body) == ([why] * 2, [why] * 2)
    finally:
        engine.stop()
    # A generator of one's own that does not tell: estimated from the text, as before.
    engine = Engine(Says(None), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        guess = "length" if max_tokens <= 2 else "stop"
        assert _finish_reasons(engine, {"model": "m", "prompt": "ab", "max_tokens": max_tokens}) == ([guess], [guess])
    finally:
        engine.stop()


def test_after_correction_rounds_finish_reason_is_the_kept_rewrites():
    """The draft ended ("stop") but is too short for the value; the corrector's rewrite, the
    answer, was cut at its budget ("length"). A draft the value takes is answered as it ended."""
    from correct.corrector.self_refine import SelfRefine

    corrector = SelfRefine(Says("length"), template="{draft} again")
    engine = Engine(Says("stop"), corrector, Length(), None, ServeConfig(model_name="m", rounds=2)).start()
    try:
        body = {"model": "m", "prompt": ["ab", "long enough"], "max_tokens": 40, "return_rounds": True}
        assert _finish_reasons(engine, body) == (["length", "stop"], ["length", "stop"])
        from fastapi.testclient import TestClient

        with TestClient(build_app(engine)) as c:
            choices = c.post("/v1/completions", json=body).json()["choices"]
    finally:
        engine.stop()
    assert [[r["text"] for r in ch["rounds"]] for ch in choices] == [
        ["AB", "AB AGAIN", "AB AGAIN"],
        ["LONG ENOUGH"] * 3,
    ]
    assert {k for ch in choices for r in ch["rounds"] for k in r} == {"round", "text", "value", "feedback"}


def test_a_task_server_refuses_earlier_turns_rather_than_dropping_them(client):
    turns = [
        {"role": "user", "content": "Tom has 3 cards."},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "He buys 4 more. How many cards does Tom have now?"},
    ]
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=turns)
    assert e.value.body["param"] == "messages"
    assert "a chat must be one user message (got 3: user, assistant, user)" in e.value.body["message"]


def test_the_api_key_guards_every_endpoint_but_health():
    """--api-key (here through $CORRECT_API_KEY): 401 in OpenAI's shape without the key or with
    another, 200 with it; /health stays open."""
    with Launched(
        ["--task", "arithmetic", "--rounds", "0"], env={"OMP_NUM_THREADS": "1", "CORRECT_API_KEY": "sekret"}
    ) as s:
        assert "without an API key" not in "".join(s.output)
        with urllib.request.urlopen(s.root + "/health") as r:
            assert json.load(r)["status"] == "ok"
        for key in ("none", "sekret-not"):
            with pytest.raises(openai.AuthenticationError) as e:
                openai.OpenAI(base_url=s.url, api_key=key, max_retries=0).models.list()
            assert e.value.status_code == 401 and e.value.body["code"] == "invalid_api_key"
        with pytest.raises(urllib.error.HTTPError) as bare:
            urllib.request.urlopen(s.url + "/models")
        assert bare.value.code == 401 and json.loads(bare.value.read())["error"]["type"] == "invalid_request_error"
        good = openai.OpenAI(base_url=s.url, api_key="sekret", max_retries=0)
        assert [m.id for m in good.models.list()] == [MODEL]
        assert (
            good.completions.create(model=MODEL, prompt="Tom has 3 cards. How many cards does Tom have now?")
            .choices[0]
            .text
        )


def test_unknown_fields_are_ignored_and_named_in_the_log(caplog):
    from fastapi.testclient import TestClient

    engine = Engine(SlowEcho(0.0), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine)) as c, caplog.at_level("WARNING", logger="correct.serve"):
            body = {"model": "m", "prompt": "abc", "frequency_penalty": 0, "guided_json": {}, "priority": 1}
            r = c.post("/v1/completions", json=body)
        assert r.status_code == 200 and r.json()["choices"][0]["text"] == "ABC"
        # A known field at its neutral value is taken silently; unknown ones are named.
        assert "request fields ignored: guided_json, priority" in caplog.text
    finally:
        engine.stop()


def test_a_conversation_is_laid_out_once_with_one_bos(tmp_path):
    """Without a task, a two-turn chat goes through the generator's chat template as a whole;
    the template writes the BOS and the tokenizer would add another: the model is fed one."""
    from models import bos_tokenizer, tiny_decoder

    from correct.generators.hf import HFGenerator

    tok = bos_tokenizer(["hello there, how are you", "fine thanks and you", "<|user|> <|assistant|>"] * 20)
    tok.chat_template = (
        "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}<|assistant|>"
    )
    model = tiny_decoder(tok, hidden=32, layers=1, heads=2)
    gen = HFGenerator(
        model, tok, device="cpu", prefix_cache=False, drop_finished=False
    )  # the prompt is fed whole, once
    fed = []
    forward = gen.model.forward
    gen.model.forward = lambda *a, **kw: fed.append(kw["input_ids"]) or forward(*a, **kw)
    engine = Engine(gen, None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    turns = [
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": "fine thanks"},
        {"role": "user", "content": "and you"},
    ]
    try:
        with serving(build_app(engine)) as root:
            c = openai.OpenAI(base_url=root + "/v1", api_key="none", max_retries=0)
            out = c.chat.completions.create(model="m", messages=turns, max_tokens=4)
        prefill = max(fed, key=lambda x: x.shape[1])[0].tolist()
        laid_out = tok.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        assert (
            prefill == tok(laid_out, add_special_tokens=False)["input_ids"]
        )  # the whole conversation, as the template wrote it
        assert prefill.count(tok.bos_token_id) == 1 and prefill[0] == tok.bos_token_id
        assert out.usage.prompt_tokens == len(prefill)
    finally:
        engine.stop()


def test_langchain_chat_model_streams_and_invokes(server, client, problems):
    """A second widely used client: LangChain's ChatOpenAI, streaming and not, gets the answer
    the openai client gets."""
    import langchain_openai  # in the test extras: never skipped

    p = problems[2]
    chat = langchain_openai.ChatOpenAI(
        base_url=server,
        api_key="none",
        model=MODEL,
        max_retries=0,
        temperature=0,
        max_tokens=48,
        extra_body={"rounds": 2},
    )
    expected = (
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": p["prompt"]}],
            max_tokens=48,
            temperature=0,
            extra_body={"rounds": 2},
        )
        .choices[0]
        .message.content
    )
    assert chat.invoke(p["prompt"]).content == expected
    chunks = list(chat.stream(p["prompt"]))
    assert len(chunks) >= 2 and "".join(c.content for c in chunks) == expected
    assert [c.response_metadata["finish_reason"] for c in chunks if c.response_metadata.get("finish_reason")] == [
        "stop"
    ]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _health(root: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(root + "/health", timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_sigterm_finishes_what_was_admitted_refuses_new_work_and_leaves_no_workers(problems):
    """SIGTERM while a long completion runs: /health turns 503 "draining", a new request gets
    503 with Retry-After, the running one still gets its 200 answer, the server exits with
    status 0 within its drain bound, and the sandbox workers it started are gone."""
    import signal

    with Launched(["--task", "arithmetic", "--drain-timeout", "60"], env={"OMP_NUM_THREADS": "1"}) as s:
        c = openai.OpenAI(base_url=s.url, api_key="none", max_retries=0, timeout=120)
        c.completions.create(model=MODEL, prompt=problems[0]["prompt"], extra_body={"rounds": 1})  # the sandbox is up
        deadline = time.monotonic() + 60
        while _health(s.root)[1].get("pending", 0) and time.monotonic() < deadline:
            time.sleep(0.01)  # the warm-up's batch is counted until its run returns, a moment after its answer
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(
                c.completions.create,
                model=MODEL,
                prompt=[p["prompt"] for p in problems],
                max_tokens=48,
                extra_body={"rounds": 3},
            )
            deadline = time.monotonic() + 60
            while _health(s.root)[1].get("pending", 0) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)  # this request admitted
            workers = _children(s.process.pid)
            s.process.send_signal(signal.SIGTERM)
            while _health(s.root)[0] != 503 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _health(s.root)[1]["status"] == "draining"
            with pytest.raises(openai.APIStatusError) as refused:
                c.completions.create(model=MODEL, prompt="Tom has 3 cards. How many cards does Tom have now?")
            assert refused.value.status_code == 503 and refused.value.response.headers["Retry-After"] == "5"
            assert "shutting down" in refused.value.body["message"]
            answer = running.result(timeout=120)
        assert len(answer.choices) == len(problems) and all(ch.text for ch in answer.choices)
        assert s.process.wait(timeout=90) == 0
        assert workers, "the program value's sandbox workers were running"
        assert [pid for pid in workers if Path(f"/proc/{pid}").exists()] == []


def test_with_rounds_0_the_draft_streams_as_it_is_decoded(client, problems):
    """No correction rounds: the draft comes in several chunks while the generator decodes it,
    adding up to the draft a non-streamed request gets; a refined answer (rounds 2) comes in
    one piece once its last round is done."""
    p = problems[3]
    direct = client.completions.create(model=MODEL, prompt=p["prompt"], max_tokens=48).choices[0].text
    chunks = list(client.completions.create(model=MODEL, prompt=p["prompt"], max_tokens=48, stream=True))
    pieces = [c.choices[0].text for c in chunks if c.choices[0].text]
    assert len(pieces) >= 3 and "".join(pieces) == direct
    chat = list(
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": p["prompt"]}], max_tokens=48, stream=True, n=2
        )
    )
    for i in (0, 1):
        texts = [
            c.choices[0].delta.content
            for c in chat
            if c.choices and c.choices[0].index == i and c.choices[0].delta.content
        ]
        assert len(texts) >= 3 and "".join(texts) == direct
    refined = list(
        client.completions.create(model=MODEL, prompt=p["prompt"], max_tokens=48, stream=True, extra_body={"rounds": 2})
    )
    assert len([c for c in refined if c.choices[0].text]) == 1
