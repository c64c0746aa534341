"""``correct serve``: an OpenAI-compatible HTTP server whose answers are the generator's drafts
refined by the corrector.

Endpoints: ``POST /v1/completions``, ``POST /v1/chat/completions``, ``GET /v1/models``,
``GET /health``. Requests are gathered into batches by one worker thread (requests that
arrive together are decoded together, as vLLM's server does), so the models never run
concurrently with themselves; at most ``max_pending`` completions wait or run at once, and
a request beyond that gets 429 (the ``openai`` client retries those with back-off).

What the models see: with a task, a completion's ``prompt`` (or a chat's last user message) is
the task's question -- the server lays out the generator's prompt in the task's format, and
the corrector sees the question, as in ``correct generate``. Without a task, a completion
prompt goes to the generator as it is, and a chat is laid out by the generator's chat
template when it has one.

Beyond the OpenAI fields a request may carry (``extra_body`` in the ``openai`` client):

- ``rounds``: corrector rounds for this request (default: the server's ``--rounds``);
- ``return_rounds``: add every round's ``text``, ``value`` and ``feedback`` to each choice;
- ``record``: task fields the value needs to score (e.g. ``answer`` or ``tests``). Without
  it a request is refined all the same, with the feedback the value gives without
  references (``printed 17``), and each round's ``value`` is null where it is unknown.
"""

# No `from __future__ import annotations`: FastAPI reads the request models' annotations
# at run time, and those models are local to build_app.
import asyncio
import queue
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Sequence

from ...generators import Generator, GeneratorError, SamplingParams
from ...values import Value, ValueError_
from ..model import Corrector
from ..refine import Step, refine

MAX_ROUNDS = 16
"""The most corrector rounds a request may ask for."""


class Busy(Exception):
    """More completions asked for than the server admits at once."""


class BadRequest(Exception):
    """A request the server cannot answer as asked: 400 with this message."""

    def __init__(self, message: str, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.param, self.status = param, status


@dataclass(frozen=True)
class ServeConfig:
    model_name: str = field(default="correct", metadata={"cli": False})
    """The model id clients ask for (and ``/v1/models`` lists)."""
    rounds: int = field(default=3, metadata={"min": 0, "max": MAX_ROUNDS})
    """Corrector rounds when a request does not ask for its own `rounds`."""
    batch_size: int = field(default=16, metadata={"min": 1})
    """Completions decoded together."""
    max_pending: int = field(default=64, metadata={"min": 1})
    """Completions admitted at once (queued or running); requests beyond get 429."""
    batch_wait: float = field(default=0.01, metadata={"min": 0.0})
    """Seconds the worker waits for more requests to fill a batch once it has one."""
    params: SamplingParams = field(default=SamplingParams(temperature=0.0), metadata={"cli": False})
    """Defaults for what a request leaves out (its stop strings are always applied)."""


@dataclass
class _Item:
    record: dict
    prompt: str
    params: SamplingParams
    rounds: int
    future: Future

    def key(self):
        # Requests that differ only in their seed still share a batch (one sampler seeds a
        # batch; greedy decoding does not use it): the openai backend sends a seed per prompt.
        return (replace(self.params, seed=0), self.rounds)


class Engine:
    """Batches completions across requests and runs them through ``refine`` in one thread."""

    def __init__(self, generator: Generator, corrector: Corrector | None, value: Value,
                 format_prompt: Callable[[dict], str] | None = None, config: ServeConfig = ServeConfig()):
        """``format_prompt``: how a task prompts the generator with a request's text (None: the
        completion prompt is used as it is, a chat through the generator's chat template)."""
        self.generator, self.corrector, self.value = generator, corrector, value
        self.format_prompt, self.config = format_prompt, config
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._held: deque[_Item] = deque()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="correct-serve-engine", daemon=True)
        self.batches = 0

    def start(self) -> "Engine":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def submit(self, records: Sequence[dict], prompts: Sequence[str], params: SamplingParams, rounds: int) -> list[Future]:
        with self._lock:
            if self._pending + len(records) > self.config.max_pending:
                raise Busy(f"server busy: {self._pending} completions in progress, at most {self.config.max_pending} "
                           "(option --max-pending); retry later")
            self._pending += len(records)
        items = [_Item(r, p, params, rounds, Future()) for r, p in zip(records, prompts)]
        for item in items:
            self._queue.put(item)
        return [i.future for i in items]

    def _next_batch(self) -> "list[_Item] | None":
        first = self._held.popleft() if self._held else self._queue.get()
        if first is None:
            return None
        batch, key = [first], first.key()
        # Same-settings items held back from an earlier batch go first, then new arrivals.
        for item in [i for i in self._held if i.key() == key][: self.config.batch_size - 1]:
            self._held.remove(item)
            batch.append(item)
        deadline = time.monotonic() + self.config.batch_wait
        while len(batch) < self.config.batch_size:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            (batch if item.key() == key else self._held).append(item)
        return batch

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                self._run(batch)
            finally:
                with self._lock:
                    self._pending -= len(batch)

    def _run(self, batch: list[_Item]) -> None:
        first = batch[0]
        params = replace(first.params, seed=first.params.seed + self.batches)
        self.batches += 1
        try:
            if first.rounds == 0:  # drafts only: nothing needs their value or feedback
                drafts = self.generator.generate([i.prompt for i in batch], params)
                histories = [[Step(0, d[0], None, None)] for d in drafts]
            else:
                histories = refine([i.record for i in batch], [i.prompt for i in batch], self.generator,
                                   self.corrector, self.value, first.rounds, params)
        except (ValueError_, GeneratorError, ValueError) as e:
            if len(batch) > 1:  # one bad record must not fail the others: find it
                for item in batch:
                    self._run([item])
                return
            first.future.set_exception(BadRequest(f"{e} (send the task fields the value needs in the request's `record`)", "record")
                                       if isinstance(e, ValueError_) else e)
            return
        except BaseException as e:  # noqa: BLE001 - delivered to the waiting request
            for item in batch:
                item.future.set_exception(e)
            return
        for item, history in zip(batch, histories):
            item.future.set_result(history)


def build_app(engine: Engine):
    """The FastAPI application around a started ``Engine``."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field

    config = engine.config

    class Common(BaseModel):
        model_config = ConfigDict(extra="ignore")
        model: str
        max_tokens: int | None = Field(None, ge=1)
        max_completion_tokens: int | None = Field(None, ge=1)
        temperature: float | None = Field(None, ge=0.0, le=2.0)
        top_p: float | None = Field(None, gt=0.0, le=1.0)
        n: int = Field(1, ge=1, le=64)
        stop: str | list[str] | None = None
        seed: int | None = None
        stream: bool = False
        rounds: int | None = Field(None, ge=0, le=MAX_ROUNDS)
        return_rounds: bool = False
        record: dict[str, Any] | None = None

    class CompletionRequest(Common):
        prompt: str | list[str]

    class Message(BaseModel):
        model_config = ConfigDict(extra="ignore")
        role: str
        content: str | list[dict[str, Any]] | None = None

    class ChatRequest(Common):
        messages: list[Message] = Field(min_length=1)

    app = FastAPI(title="correct serve")

    def error(status: int, message: str, param: str | None = None, kind: str = "invalid_request_error"):
        return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": status}}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        param = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        return error(400, f"{param}: {first.get('msg')}" if param else str(first.get("msg")), param)

    @app.exception_handler(BadRequest)
    async def _bad(request: Request, exc: BadRequest):
        return error(exc.status, str(exc), exc.param)

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy):
        response = error(429, str(exc), kind="rate_limit_error")
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception):
        # The generator or value failed (an endpoint behind the openai backend, a crashed
        # model): the client still gets the OpenAI error shape, with what went wrong.
        return error(502 if isinstance(exc, GeneratorError) else 500, f"{type(exc).__name__}: {exc}", kind="server_error")

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": config.model_name, "rounds": config.rounds}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": config.model_name, "object": "model", "created": 0, "owned_by": "correct"}]}

    async def run(body: Common, questions: list[str], prompts: list[str]) -> tuple[list[list], SamplingParams]:
        if body.stream:
            raise BadRequest("stream is not supported: the answer is known only after the last round", "stream")
        if body.model != config.model_name:
            raise BadRequest(f"model {body.model!r} is not served here; this server serves {config.model_name!r}", "model", 404)
        rounds = config.rounds if body.rounds is None else body.rounds
        if rounds and engine.corrector is None:
            raise BadRequest("this server has no corrector: only rounds=0 can be asked for", "rounds")
        params = _params(config.params, body)
        records = [{**(body.record or {}), "id": f"{q_i}", "prompt": q} for q_i, q in enumerate(questions)]
        records = [r for r in records for _ in range(body.n)]
        prompts = [p for p in prompts for _ in range(body.n)]
        futures = engine.submit(records, prompts, params, rounds)
        return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))), params

    def choice_extras(history, body: Common) -> dict:
        return {"rounds": [asdict(step) for step in history]} if body.return_rounds else {}

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest):
        questions = [body.prompt] if isinstance(body.prompt, str) else list(body.prompt)
        if not questions:
            raise BadRequest("prompt: give at least one prompt", "prompt")
        fmt = engine.format_prompt or (lambda record: record["prompt"])
        histories, params = await run(body, questions, [fmt({"prompt": q}) for q in questions])
        choices = [{"index": i, "text": h[-1].text, "logprobs": None, "finish_reason": "stop", **choice_extras(h, body)}
                   for i, h in enumerate(histories)]
        return _response("text_completion", config.model_name, choices, _usage(engine.generator, questions, body.n, histories))

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest):
        question = _last_user_text(body.messages)
        prompt = _chat_prompt(engine, [m.model_dump() for m in body.messages], question)
        histories, params = await run(body, [question], [prompt])
        choices = [{"index": i, "message": {"role": "assistant", "content": h[-1].text}, "logprobs": None,
                    "finish_reason": "stop", **choice_extras(h, body)} for i, h in enumerate(histories)]
        return _response("chat.completion", config.model_name, choices, _usage(engine.generator, [prompt], body.n, histories))

    return app


def _params(defaults: SamplingParams, body) -> SamplingParams:
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    return replace(
        defaults,
        temperature=defaults.temperature if body.temperature is None else body.temperature,
        top_p=defaults.top_p if body.top_p is None else body.top_p,
        max_new_tokens=body.max_completion_tokens or body.max_tokens or defaults.max_new_tokens,
        stop=tuple(dict.fromkeys([*defaults.stop, *stop])),
        seed=defaults.seed if body.seed is None else body.seed,
        n=1,
    )


def _text(content) -> str:
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return content or ""


def _last_user_text(messages) -> str:
    for m in reversed(messages):
        if m.role == "user":
            return _text(m.content)
    raise BadRequest("messages: no message with role 'user'", "messages")


def _chat_prompt(engine: Engine, messages: list[dict], question: str) -> str:
    """A task server formats the user's question as its task does; otherwise the generator's
    own chat template lays out the conversation, when it has one."""
    if engine.format_prompt is not None:
        return engine.format_prompt({"prompt": question})
    tokenizer = getattr(engine.generator, "tokenizer", None)
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        plain = [{"role": m["role"], "content": _text(m["content"])} for m in messages]
        return tokenizer.apply_chat_template(plain, tokenize=False, add_generation_prompt=True)
    return question


def _usage(generator, prompts: Sequence[str], n: int, histories) -> dict:
    tokenizer = getattr(generator, "tokenizer", None)
    if tokenizer is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    prompt_tokens = sum(len(tokenizer(p)["input_ids"]) for p in prompts)
    completion = sum(len(tokenizer(h[-1].text)["input_ids"]) for h in histories)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}


def _response(kind: str, model: str, choices: list[dict], usage: dict) -> dict:
    prefix = "chatcmpl" if kind == "chat.completion" else "cmpl"
    return {"id": f"{prefix}-{uuid.uuid4().hex[:24]}", "object": kind, "created": int(time.time()), "model": model,
            "choices": choices, "usage": usage}
