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

from correct.tasks import arithmetic  # noqa: E402
from correct.corrector.app.serve import Busy, Engine, ServeConfig  # noqa: E402
from harness import Launched, serving  # noqa: E402
from correct.tasks import TASKS  # noqa: E402
from correct.generators import SamplingParams, load_generator  # noqa: E402
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
        assert json.load(r) == {"status": "ok", "model": MODEL, "rounds": 0}
    assert [m.id for m in client.models.list()] == [MODEL]


def test_completions_are_refined_and_report_their_rounds(client, problems):
    solved = {0: 0, 3: 0}
    for p in problems:
        out = client.completions.create(model=MODEL, prompt=p["prompt"], max_tokens=48,
                                        extra_body={"rounds": 3, "return_rounds": True, "record": {"answer": p["answer"]}})
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
    out = client.completions.create(model=MODEL, prompt=problems[0]["prompt"], extra_body={"rounds": 1, "record": {"answer": 1}})
    assert "rounds" not in (out.choices[0].model_extra or {})


def test_chat_completions(client, problems):
    p = problems[1]
    out = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": p["prompt"]}], n=2,
                                         extra_body={"rounds": 2, "return_rounds": True, "record": {"answer": p["answer"]}})
    assert out.object == "chat.completion" and len(out.choices) == 2
    for choice in out.choices:
        assert choice.message.role == "assistant"
        assert choice.message.content == choice.model_extra["rounds"][-1]["text"]
        assert "print" in choice.message.content


@pytest.mark.parametrize("kwargs, status, message", [
    (dict(model="gpt-9"), 404, "model 'gpt-9' is not served here; this server serves 'correct-arithmetic'"),
    (dict(n=0), 400, "n: Input should be greater than or equal to 1"),
    (dict(stream=True), 400, "stream is not supported"),
    (dict(extra_body={"rounds": 99}), 400, "rounds: Input should be less than or equal to 16"),
])
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
    out = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Tom has 3 cards. He buys 4 more cards. "
                                                                 "How many cards does Tom have now?"}],
                                         extra_body={"rounds": 2, "return_rounds": True})
    rounds = out.choices[0].model_extra["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    assert all(r["value"] is None and r["feedback"] for r in rounds)
    assert out.choices[0].message.content == rounds[-1]["text"]


def test_malformed_json_is_a_400(server):
    req = urllib.request.Request(server + "/chat/completions", data=b"{not json", headers={"content-type": "application/json"})
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
    records.write_text("".join(json.dumps({"id": p["id"], "prompt": p["prompt"], "answer": p["answer"]}) + "\n" for p in problems))
    out = tmp_path / "out.jsonl"
    done = subprocess.run([sys.executable, "-m", "correct.cli", "generate", "--backend", "openai", "--base-url", server,
                           "--generator", MODEL, "--input", str(records), "--value", "program", "--max-new-tokens", "48",
                           "--corrector", TASKS["arithmetic"].corrector, "--rounds", "2", "--no-baseline", "--output", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    metrics = json.loads(Path(str(out).removesuffix(".jsonl") + ".metrics.json").read_text())
    assert metrics["records"] == len(problems)
    assert metrics["rounds"][-1]["solved"] > metrics["rounds"][0]["solved"]


# The engine in-process: batching across requests and the bound on what it admits.

class SlowEcho:
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
    engine = Engine(gen, None, Length(), None, ServeConfig(rounds=0, batch_size=8, max_pending=6, batch_wait=0.05)).start()
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
    from correct.corrector.app.serve import build_app

    gen = Gated()
    engine = Engine(gen, None, Length(), None, ServeConfig(rounds=0, batch_size=8, max_pending=5, batch_wait=0.5,
                                                          model_name="m", params=SamplingParams(temperature=0.0))).start()
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
                request = urllib.request.Request(root + "/v1/completions", method="POST", headers={"Content-Type": "application/json"},
                                                 data=json.dumps({"model": "m", "prompt": "x", "max_tokens": 8}).encode())
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
            from correct.values import ValueError_

            if any("bad" in r["prompt"] for r in records):
                raise ValueError_("record bad has no answer")
            return super().__call__(records, outputs)

    gen = SlowEcho(delay=0.05)
    engine = Engine(gen, None, Picky(), None, ServeConfig(batch_size=8, batch_wait=0.1)).start()
    try:
        hot, cold = SamplingParams(temperature=1.0), SamplingParams(temperature=0.0)
        futures = [engine.submit([{"prompt": p}], [p], hot if p != "cold" else cold, 1)[0]
                   for p in ["good", "bad", "cold"]]
        good, bad, cold_result = futures
        assert good.result(timeout=10)[-1].value == 1.0
        with pytest.raises(Exception, match="record bad has no answer"):
            bad.result(timeout=10)
        assert cold_result.result(timeout=10)[0].text == "COLD"
        assert all(set(b) <= {"good", "bad"} or b == ["cold"] for b in gen.batches)
    finally:
        engine.stop()


def test_serve_with_rounds_but_no_corrector_is_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "correct.cli", "serve", "--generator", TASKS["arithmetic"].generator,
                           "--value", "program", "--port", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--rounds > 0 needs --corrector" in done.stderr


def test_serve_without_the_serve_extras_says_what_to_install(tmp_path):
    """Where FastAPI is not installed (hidden here by a package that fails to import), the
    command says which extra to install, in one line, before any model loads."""
    (tmp_path / "fastapi").mkdir()
    (tmp_path / "fastapi" / "__init__.py").write_text("raise ImportError(\"No module named 'fastapi'\")\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "correct.cli", "serve", "--task", "arithmetic", "--port", "0"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "error: correct serve needs FastAPI and uvicorn: pip install 'correct[serve]'"


def test_app_in_process_plain_prompts_chat_parts_and_failures():
    from fastapi.testclient import TestClient

    from correct.corrector.app.serve import build_app
    from correct.generators import GeneratorError

    engine = Engine(SlowEcho(0.0), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine)) as c:
            # No task: completion prompts reach the generator as they are, n copies each.
            r = c.post("/v1/completions", json={"model": "m", "prompt": ["ab", "cd"], "n": 2})
            assert [ch["text"] for ch in r.json()["choices"]] == ["AB", "AB", "CD", "CD"]
            chat = {"model": "m", "messages": [{"role": "system", "content": "be brief"},
                                               {"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
            assert c.post("/v1/chat/completions", json=chat).json()["choices"][0]["message"]["content"] == "HI"
            r = c.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "assistant", "content": "x"}]})
            assert r.status_code == 400 and "no message with role 'user'" in r.json()["error"]["message"]
            r = c.post("/v1/completions", json={"model": "m", "prompt": "x", "rounds": 1})
            assert r.status_code == 400 and "no corrector" in r.json()["error"]["message"]
    finally:
        engine.stop()

    class Down:
        def generate(self, prompts, params):
            raise GeneratorError("http://upstream/v1 answered 503: overloaded")

    engine = Engine(Down(), None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine), raise_server_exceptions=False) as c:
            r = c.post("/v1/completions", json={"model": "m", "prompt": "x"})
            assert r.status_code == 502
            assert r.json()["error"] == {"message": "GeneratorError: http://upstream/v1 answered 503: overloaded",
                                         "type": "server_error", "param": None, "code": 502}
    finally:
        engine.stop()


def test_without_a_task_a_chat_is_laid_out_by_the_generators_chat_template():
    from fastapi.testclient import TestClient

    from correct.corrector.app.serve import build_app

    class Tokenizer:
        chat_template = "{% for m in messages %}...{% endfor %}"

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            assert tokenize is False and add_generation_prompt is True
            return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

        def __call__(self, text):
            return {"input_ids": text.split()}

    gen = SlowEcho(0.0)
    gen.tokenizer = Tokenizer()
    engine = Engine(gen, None, Length(), None, ServeConfig(model_name="m", rounds=0)).start()
    try:
        with TestClient(build_app(engine)) as c:
            body = {"model": "m", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi there"}]}
            out = c.post("/v1/chat/completions", json=body).json()
        assert gen.batches == [["<system>be brief<user>hi there<assistant>"]]
        assert out["choices"][0]["message"]["content"] == "<SYSTEM>BE BRIEF<USER>HI THERE<ASSISTANT>"
        assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    finally:
        engine.stop()


def test_app_in_process_refines_a_completion_without_record_under_the_default_task():
    """The arithmetic task's own models and value behind the app: a completion without
    `record` gets its k rounds, each with the sandbox's feedback and value null; the same
    question with its answer in `record` gets the same texts, with values."""
    from fastapi.testclient import TestClient

    from correct.corrector import Corrector
    from correct.corrector.app.serve import build_app
    from correct.values import load_value

    task = TASKS["arithmetic"]
    value = load_value(task.value)
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    engine = Engine(load_generator(task.generator), Corrector.from_pretrained(task.corrector), value, task.format_prompt,
                    ServeConfig(model_name="m", rounds=2, params=params)).start()
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
