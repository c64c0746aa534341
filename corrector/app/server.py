"""The OpenAI-compatible HTTP API of ``correct serve`` around a started ``Engine`` (engine.py).

Endpoints: ``POST /v1/completions``, ``POST /v1/chat/completions``, ``GET /v1/models``,
``GET /health`` (and ``HEAD``). With an API key every endpoint but ``/health`` needs ``Authorization: Bearer
KEY``; a request without it gets 401 in OpenAI's error shape.

What the models see: with a task, a completion's ``prompt`` (or a chat's one user message) is
the task's question -- the server lays out the generator's prompt in the task's format, and
the corrector sees the question, as in ``correct generate``. A task answers one question, so
a chat under a task must be that one user message: earlier turns, assistant messages and
system messages are refused with a 400 rather than dropped. Without a task, a completion
prompt goes to the generator as it is, and a chat's whole message list is laid out once by the
generator's chat template (the template's BOS is not doubled when the prompt is tokenized);
the corrector and the value read the conversation up to its last user message as the question.

``stream: true`` answers in server-sent events in OpenAI's chunk format, ending with
``data: [DONE]``. With ``rounds: 0`` the draft streams as the generator decodes it (a
backend that can: ``hf``). The corrector rewrites whole drafts after their feedback, so a
refined answer streams once its last round is done (one content chunk per choice). Each
choice ends with a chunk holding its ``finish_reason`` (and its ``rounds`` when
``return_rounds`` is set); ``stream_options.include_usage`` adds a last chunk with the usage.

``usage`` counts each prompt's tokens once and, as completion tokens, the text of every round
that was rewritten (the draft, and each correction that changed it); the corrector's own inputs
are not counted. Behind an endpoint (``--backend openai``) the prompt and the drafts are
counted as its replies' ``usage`` says; other text is encoded again by its model's tokenizer,
each at most ``max_tokens`` (``protocol.usage_of``). ``finish_reason`` is why the decode
that wrote the answer's text ended, as its generator says (``Step.finish``): the draft's, or
after correction rounds the kept rewrite's -- ``"length"`` when it decoded the whole token
budget without meeting its end or a stop string, else ``"stop"`` (an endpoint's
``"content_filter"`` passes through). Only for a generator of one's own that does not tell is it
estimated from the text re-encoded (``protocol.finish_reason``). Fields that would change the
answer and that the server cannot do (``logprobs``: the answer is rewritten by the corrector,
so the generator's token probabilities do not describe it; ``response_format``, ``echo``,
penalties, ...; ``protocol.unsupported``) are refused by name unless at their neutral values;
fields the server does not know are ignored, as vLLM does, and named in a warning in the
server's log. A request with a ``seed`` gets the same answer each time (engine.py).

Beyond the OpenAI fields a request may carry (``extra_body`` in the ``openai`` client):

- ``rounds``: corrector rounds for this request (default: the server's ``--rounds``);
- ``return_rounds``: add every round's ``text``, ``value`` and ``feedback`` to each choice;
- ``record``: task fields the value needs to score (e.g. ``answer`` or ``tests``). Without
  it a request is refined all the same, with the feedback the value gives without
  references (``printed 17``), and each round's ``value`` is null where it is unknown.
"""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations
# at run time.
import asyncio
import hmac
import json
import logging
import time
import uuid

from ...generators import GeneratorError, SamplingParams
from ...generators.base import ContextError
from .engine import BadRequest, Busy, Draining, Engine
from .middleware import BodyLimit
from .protocol import (
    chat_prompt,
    default_budget,
    finish_reason,
    not_text,
    param_of,
    response_body,
    sampling_params,
    task_prompt,
    unsupported,
    usage_of,
)

log = logging.getLogger("correct.serve")

OPEN_PATHS = ("/health",)
"""What answers without the API key."""


def error_body(status: int, message: str, param: str | None = None, kind: str = "invalid_request_error", code=None):
    """OpenAI's error object, as a response's body or a stream's last event."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code or status}}


def build_app(engine: Engine, api_key: str | None = None, origins: tuple[str, ...] = ()):
    """The FastAPI application around a started ``Engine``; ``api_key``: the key every request
    but ``/health`` must bear; ``origins``: those whose web pages may call it (``*``: any)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from .protocol import ChatRequest, Common, CompletionRequest

    config = engine.config

    app = FastAPI(title="correct serve")
    app.add_middleware(BodyLimit, limit=config.max_request_bytes)

    def error(status: int, message: str, param: str | None = None, kind: str = "invalid_request_error", code=None):
        return JSONResponse(error_body(status, message, param, kind, code), status_code=status)

    if api_key:
        expected = api_key.encode()

        @app.middleware("http")
        async def _key(request: Request, call_next):
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer":  # the scheme is case-insensitive (RFC 9110); Azure's clients send api-key
                token = request.headers.get("api-key", "")
            if request.url.path not in OPEN_PATHS and not hmac.compare_digest(token.strip().encode(), expected):
                return error(
                    401,
                    "missing or wrong API key: send the server's key as 'Authorization: Bearer KEY'",
                    code="invalid_api_key",
                )
            return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors() or [{"loc": (), "msg": "invalid request"}]
        # Of a field's errors, one per member of its union (str | list[str]): the one that got
        # furthest into the value, which is the shape the client sent.
        first = max((e for e in errors if e["loc"][:2] == errors[0]["loc"][:2]), key=lambda e: len(e["loc"]))
        loc, kind = tuple(first.get("loc", ())), first.get("type")
        if kind == "json_invalid":  # loc is ("body", character offset), not a field
            why = (first.get("ctx") or {}).get("error", "JSON decode error")
            return error(400, f"request body is not valid JSON: {why} at character {loc[-1]}")
        if loc == ("body",):
            return error(
                400,
                "request body is empty: send a JSON object with 'model' and 'prompt' ('messages' for a chat)"
                if kind == "missing"
                else "request body must be a JSON object, sent with 'Content-Type: application/json'",
            )
        param = param_of(loc)
        return error(400, f"{param}: {first.get('msg')}" if param else str(first.get("msg")), param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        # FastAPI's own refusals (an unreadable body, a route or method that is not there) in
        # OpenAI's shape too, saying what to send instead.
        if exc.status_code == 404:
            message = (
                f"no endpoint {request.url.path}: this server answers POST /v1/completions, POST /v1/chat/completions, "
                "GET /v1/models and GET /health"
            )
        elif exc.status_code == 405:
            message = f"{request.url.path} does not take {request.method}"
        elif exc.status_code == 400:
            message = f"request body could not be read: {await _unreadable(request)}"
        else:
            message = str(exc.detail)
        return error(
            exc.status_code, message, kind="invalid_request_error" if exc.status_code < 500 else "server_error"
        )

    async def _unreadable(request: Request) -> str:
        """Why FastAPI could not parse a body (it says only that it could not)."""
        try:
            json.loads((await request.body()).decode("utf-8"))
        except UnicodeDecodeError:
            return "send UTF-8 JSON text"
        except RecursionError:
            return "it is nested too deeply"
        except ValueError as e:
            return f"not JSON ({e})"
        return "send a JSON object"

    @app.exception_handler(BadRequest)
    async def _bad(request: Request, exc: BadRequest):
        return error(exc.status, str(exc), exc.param)

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy):
        response = error(429, str(exc), kind="rate_limit_error")
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Draining)
    async def _draining(request: Request, exc: Draining):
        response = error(503, str(exc), kind="server_error")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(GeneratorError)
    async def _upstream(request: Request, exc: GeneratorError):
        # Its own handler: one for Exception answers too, but Starlette then logs a traceback.
        return error(502, f"{type(exc).__name__}: {exc}", kind="server_error")

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception):
        # The generator or value failed (an endpoint behind the openai backend, a crashed
        # model): the client still gets the OpenAI error shape, with what went wrong.
        return error(
            502 if isinstance(exc, GeneratorError) else 500, f"{type(exc).__name__}: {exc}", kind="server_error"
        )

    @app.api_route("/health", methods=["GET", "HEAD"])  # uptime checkers often send HEAD
    async def health():
        if engine.draining.is_set():  # a load balancer stops sending requests here
            return JSONResponse(
                {"status": "draining", "model": config.model_name, "pending": engine.pending}, status_code=503
            )
        return {"status": "ok", "model": config.model_name, "rounds": config.rounds, "pending": engine.pending}

    served = {"id": config.model_name, "object": "model", "created": 0, "owned_by": "correct"}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [served]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str):
        if not model_id:  # /v1/models/, as a base URL with a trailing slash makes it
            return await models()
        if model_id != config.model_name:
            return error(
                404, f"model {model_id!r} is not served here; this server serves {config.model_name!r}", "model"
            )
        return served

    def check_model(body: Common) -> None:
        """First of all (a wrong model is named before anything else about the request)."""
        if body.model != config.model_name:
            raise BadRequest(
                f"model {body.model!r} is not served here; this server serves {config.model_name!r}", "model", 404
            )

    def admit(
        body: Common, questions: list[str], prompts: list[str], on_text=None, where: str = "prompt"
    ) -> tuple[list, SamplingParams]:
        """Check the request and queue its completions: (futures, sampling settings). Every
        refusal happens here, before a streamed response has started; ``where``: the field that
        holds the question (``prompt``, or a chat's user message)."""
        if engine.draining.is_set():
            raise Draining()
        # A completion's unknown `messages` is a plain extra field, not the chat's Message models.
        messages = body.messages if isinstance(body, ChatRequest) else ()
        ignored = sorted(body.model_extra or {}) + [f"messages.{k}" for m in messages for k in (m.model_extra or {})]
        ignored += [f"stream_options.{k}" for k in (body.stream_options and body.stream_options.model_extra or {})]
        if ignored:
            log.warning("request fields ignored: %s", ", ".join(dict.fromkeys(ignored)))
        refused = unsupported(body)
        if refused:
            name, why = refused
            raise BadRequest(why if why.startswith("logprobs") else f"{name}: {why}", name)
        if body.tools and body.tool_choice != "none":
            log.warning("tools ignored: this server answers in text and calls no tools")
        rounds = config.rounds if body.rounds is None else body.rounds
        if rounds and engine.corrector is None:
            raise BadRequest("this server has no corrector: only rounds=0 can be asked for", "rounds")
        if any(not q for q in questions):
            raise BadRequest(f"{where}: empty; send the text to answer", where)
        if len(questions) * body.n > config.max_pending:  # would be a 429 forever: no retry can fit it
            raise BadRequest(
                f"this request asks for {len(questions) * body.n} completions ({len(questions)} prompts, n {body.n}); "
                f"the server takes at most {config.max_pending} at once (--max-pending): send fewer per request",
                "n" if body.n > 1 else "prompt",
            )
        params = default_budget(engine.generator, prompts, sampling_params(config.params, body), body)
        try:  # a prompt that cannot fit with max_tokens is refused before it joins a batch
            engine.generator.check_fits(prompts, params)
        except ContextError as e:  # the budget named as the request named it
            budget = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
            if e.option != "max_tokens":
                raise BadRequest(str(e), where) from None
            raise BadRequest(str(e).replace("max_tokens", budget), budget) from None
        records = [{**(body.record or {}), "id": f"{q_i}", "prompt": q} for q_i, q in enumerate(questions)]
        records = [r for r in records for _ in range(body.n)]
        prompts = [p for p in prompts for _ in range(body.n)]
        return engine.submit(records, prompts, params, rounds, on_text, seeded=body.seed is not None), params

    async def answer(kind: str, body: Common, questions: list[str], prompts: list[str], where: str):
        chat = kind == "chat.completion"
        rid = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}"
        created = int(time.time())  # every chunk of a stream has the same, as OpenAI's
        # Streamed drafts (rounds 0) come as the generator decodes them: each choice's deltas
        # go to its own queue from the engine's thread; None marks the choice done.
        loop = asyncio.get_running_loop()
        queues = [asyncio.Queue() for _ in range(len(prompts) * body.n)] if body.stream else []
        on_text = [lambda delta, q=q: loop.call_soon_threadsafe(q.put_nowait, delta) for q in queues] or None
        drafts_only = (config.rounds if body.rounds is None else body.rounds) == 0
        futures, params = admit(body, questions, prompts, on_text if drafts_only else None, where)
        for q, f in zip(queues, futures):
            f.add_done_callback(lambda _, q=q: loop.call_soon_threadsafe(q.put_nowait, None))

        def finished(i: int, history) -> dict:
            reason = finish_reason(engine.generator, history[-1], params)
            extras = {"rounds": [step.as_dict() for step in history]} if body.return_rounds else {}
            return {"index": i, "finish_reason": reason, **extras}

        if not body.stream:
            histories = list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))
            choices = [
                {
                    **({"message": {"role": "assistant", "content": h[-1].text}} if chat else {"text": h[-1].text}),
                    "logprobs": None,
                    **finished(i, h),
                }
                for i, h in enumerate(histories)
            ]
            return response_body(
                rid,
                kind,
                config.model_name,
                choices,
                usage_of(engine.generator, prompts, histories, params, engine.corrector),
            )

        async def events():
            chunk_kind = "chat.completion.chunk" if chat else "text_completion"
            # With include_usage every chunk holds `usage`: null but the last, which holds the usage.
            with_usage = bool(body.stream_options and body.stream_options.include_usage)

            def chunk(choices, **more) -> str:
                head = {"id": rid, "object": chunk_kind, "created": created, "model": config.model_name}
                return (
                    "data: "
                    + json.dumps({**head, "choices": choices, **({"usage": None} if with_usage else {}), **more})
                    + "\n\n"
                )

            def content(i: int, text: str) -> str:
                delta = {"delta": {"content": text}} if chat else {"text": text}
                return chunk([{"index": i, **delta, "logprobs": None, "finish_reason": None}])

            histories = []
            try:
                for i, future in enumerate(futures):  # in order: a refined choice streams once its last round is done
                    if chat:
                        yield chunk(
                            [
                                {
                                    "index": i,
                                    "delta": {"role": "assistant", "content": ""},
                                    "logprobs": None,
                                    "finish_reason": None,
                                }
                            ]
                        )
                    sent = ""
                    while (delta := await queues[i].get()) is not None:  # the draft's text as it is decoded (rounds 0)
                        sent += delta
                        yield content(i, delta)
                    history = await asyncio.wrap_future(future)
                    histories.append(history)
                    text = history[-1].text
                    if not text.startswith(sent):  # sent text cannot be taken back: sending it all again doubles it
                        log.warning("choice %d: the streamed text is not the start of the final text", i)
                    elif len(text) > len(sent):  # the rest (all of it after correction rounds)
                        yield content(i, text[len(sent) :])
                    yield chunk(
                        [{**({"delta": {}} if chat else {"text": ""}), "logprobs": None, **finished(i, history)}]
                    )
                if with_usage:
                    yield chunk([], usage=usage_of(engine.generator, prompts, histories, params, engine.corrector))
            except Exception as e:  # the status line is sent: the error goes in the stream, as vLLM does
                if isinstance(e, BadRequest):  # found by the worker (a value that needs a record field)
                    failed = error_body(e.status, str(e), e.param)
                else:
                    status = 502 if isinstance(e, GeneratorError) else 500
                    failed = error_body(status, f"{type(e).__name__}: {e}", kind="server_error")
                yield "data: " + json.dumps(failed) + "\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest):
        check_model(body)
        questions = [body.prompt] if isinstance(body.prompt, str) else list(body.prompt)
        if not questions:
            raise BadRequest("prompt: give at least one prompt", "prompt")
        if not all(isinstance(q, str) for q in questions):
            raise BadRequest(
                "prompt: token ids are not taken; send the prompt as text (lm-eval: tokenized_requests=False)",
                "prompt",
            )
        for i, q in enumerate(questions):
            not_text(q, "prompt" if isinstance(body.prompt, str) else f"prompt[{i}]")
        prompts = [task_prompt(engine, q, body.record) for q in questions]
        return await answer("text_completion", body, questions, prompts, "prompt")

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest):
        check_model(body)
        question, prompt, where = chat_prompt(engine, body.messages, body.record)
        return await answer("chat.completion", body, [question], [prompt], where)

    if origins:  # outermost: a browser's preflight carries no key, and a 401 must be readable by the page
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["*"], allow_headers=["*"])
    return app
