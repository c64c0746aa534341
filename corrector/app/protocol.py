"""The shapes of ``correct serve``'s OpenAI-compatible API (server.py): the request bodies as
pydantic models -- OpenAI's fields with their bounds, and what ``correct`` adds (``rounds``,
``return_rounds``, ``record``) -- what a request may not ask for (``unsupported``, too many
stop strings), a chat laid out as the generator's prompt (``chat_prompt``), and the response
bodies with their usage. Fields the server does not know are kept (``extra="allow"``) so
that server.py can name them in a warning, as vLLM does."""

# No `from __future__ import annotations`: pydantic and FastAPI read these annotations at run time.
import time
from dataclasses import replace
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from ...errors import CorrectError, half_surrogate
from ...generators import SamplingParams
from ..refine import MAX_ROUNDS, MAX_SAMPLES
from .engine import BadRequest


class StreamOptions(BaseModel):
    """OpenAI's ``stream_options``: ``include_usage`` a boolean (``"no"`` was taken as yes)."""

    model_config = ConfigDict(extra="allow")
    include_usage: StrictBool | None = None


class Common(BaseModel):
    # NaN and infinities are JSON to Python's parser, but no setting: refused as such.
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    model: str
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, le=MAX_SAMPLES)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)  # 64-bit, as torch and vLLM take it
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: bool | int | None = None
    top_logprobs: int | None = None
    user: str | None = None
    # OpenAI's (and vLLM's) fields that change the answer and that this server cannot honour:
    # their neutral values are taken, any other is refused by name (``unsupported``).
    echo: bool | None = None
    suffix: str | None = None
    best_of: int | None = Field(None, ge=1)
    logit_bias: dict[str, float] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_format: dict[str, Any] | None = None
    tools: list[Any] | None = None
    tool_choice: str | dict[str, Any] | None = None
    function_call: str | dict[str, Any] | None = None  # tool_choice's older name
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    min_tokens: int | None = None
    ignore_eos: bool | None = None
    rounds: int | None = Field(None, ge=0, le=MAX_ROUNDS)
    return_rounds: bool = False
    record: dict[str, Any] | None = None

    @field_validator("n", "stream", "return_rounds", mode="before")
    @classmethod
    def _null_is_the_default(cls, value, info):
        """OpenAI's schema lets these be null, meaning the default (vLLM takes it so too)."""
        return cls.model_fields[info.field_name].default if value is None else value


def unsupported(body: Common) -> tuple[str, str] | None:
    """(field, why) for the first field set to something this server cannot do; None if none.
    Refused rather than ignored: a client that sets them relies on what they do."""
    checks = [
        ("logprobs", body.logprobs is not None and body.logprobs is not False, _NO_LOGPROBS),
        ("top_logprobs", bool(body.top_logprobs), _NO_LOGPROBS),
        ("echo", bool(body.echo), "the prompt is not echoed back"),
        ("suffix", bool(body.suffix), "text after the completion (insertion) is not supported"),
        ("best_of", (body.best_of or 1) > body.n, "server-side best-of is not supported; ask for n completions"),
        ("logit_bias", bool(body.logit_bias), "token biases are not supported"),
        ("presence_penalty", bool(body.presence_penalty), "repetition penalties are not supported"),
        ("frequency_penalty", bool(body.frequency_penalty), "repetition penalties are not supported"),
        (
            "response_format",
            (body.response_format or {}).get("type", "text") != "text",
            "structured output (JSON mode, JSON schemas) is not supported; the answer is plain text",
        ),
        (
            "tool_choice",
            body.tool_choice not in (None, "none", "auto"),
            "tool calls are not supported: the answer is always text (tool_choice 'auto' or 'none' is taken)",
        ),
        (
            "function_call",
            body.function_call not in (None, "none", "auto"),
            "function calls are not supported: the answer is always text (function_call 'auto' or 'none' is taken)",
        ),
        ("modalities", set(body.modalities or ()) - {"text"}, "the answer is text only (modalities ['text'])"),
        ("audio", body.audio is not None, "audio output is not supported; the answer is text"),
        ("web_search_options", body.web_search_options is not None, "web search is not supported"),
        ("min_tokens", bool(body.min_tokens), "a minimum length is not supported"),
        ("ignore_eos", bool(body.ignore_eos), "decoding past the end of text is not supported"),
        ("stream_options", body.stream_options is not None and not body.stream, "is only allowed with stream: true"),
    ]
    return next(((name, why) for name, refused, why in checks if refused), None)


_NO_LOGPROBS = (
    "logprobs are not supported: the answer is rewritten by the corrector, so the generator's token "
    "probabilities do not describe it"
)


class CompletionRequest(Common):
    prompt: str | list[str] | list[int] | list[list[int]]  # token ids are named in a 400, not a type error


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(Common):
    messages: list[Message] = Field(min_length=1)


MAX_STOPS = 16
"""The most stop strings a request may give (OpenAI takes 4): the hf backend's stop check
costs about (vocabulary x stop strings) to set up, on the worker every request waits for."""
MAX_STOP_CHARS = 256
"""The longest stop string a request may give: that setup's tables grow with the vocabulary
times the longest string (one of 300,000 characters took 4.7 GB and 9 s on the built-in
tiny models, with a vocabulary of 512; SmolLM2's is 96 times that)."""


def stop_strings(body) -> list[str]:
    """The request's stop strings, distinct; an empty one, half a surrogate pair, one longer
    than ``MAX_STOP_CHARS``, or more than ``MAX_STOPS``, refused."""
    given = [body.stop] if isinstance(body.stop, str) else body.stop or []
    for k, s in enumerate(given):
        where = "stop" if isinstance(body.stop, str) else f"stop[{k}]"
        not_text(s, where)
        if len(s) > MAX_STOP_CHARS:
            raise BadRequest(f"{where}: at most {MAX_STOP_CHARS} characters a stop string (got {len(s)})", where)
    stop = list(dict.fromkeys(given))
    if "" in stop:
        raise BadRequest("stop: an empty stop string would end every answer at its first token; leave it out", "stop")
    if len(stop) > MAX_STOPS:
        raise BadRequest(f"stop: at most {MAX_STOPS} stop strings are taken (got {len(stop)})", "stop")
    return stop


def param_of(loc: Sequence) -> str | None:
    """The request field a validation error's ``loc`` points at, as OpenAI names it
    (``messages[0].content``), without the body and the union member pydantic tried
    (``prompt``, not ``prompt.str``)."""
    tags = ("str", "int", "bool", "float")  # and "list[str]", "dict[str,any]", ...
    param = ""
    for part in loc[1:] if loc[:1] == ("body",) else loc:
        if isinstance(part, int):
            param += f"[{part}]"
        elif part not in tags and "[" not in part:
            param += f".{part}" if param else part
    return param or None


def sampling_params(defaults: SamplingParams, body) -> SamplingParams:
    stop = stop_strings(body)
    return replace(
        defaults,
        temperature=defaults.temperature if body.temperature is None else body.temperature,
        top_p=defaults.top_p if body.top_p is None else body.top_p,
        max_new_tokens=body.max_completion_tokens or body.max_tokens or defaults.max_new_tokens,
        stop=tuple(dict.fromkeys([*defaults.stop, *stop])),
        seed=defaults.seed if body.seed is None else body.seed,
        n=1,
    )


def default_budget(generator, prompts: Sequence[str], params: SamplingParams, body) -> SamplingParams:
    """``params`` with the server's default token budget cut to what the generator's context
    leaves after the request's longest prompt, when the request gave no budget of its own: as
    OpenAI and vLLM do, an answer without ``max_tokens`` may take the rest of the context,
    rather than a 400 naming a ``max_tokens`` the client never sent. A budget the request gave
    is left as it is (a 400 naming it if it does not fit), and so is a prompt that leaves no
    room at all (a 400 naming the prompt)."""
    if body.max_tokens is not None or body.max_completion_tokens is not None:
        return params
    rooms = getattr(generator, "room", lambda _: None)(prompts)
    least = min(rooms) if rooms else 0
    return replace(params, max_new_tokens=least) if 0 < least < params.max_new_tokens else params


def text_of(content, where: str) -> str:
    """A message's text: a string, or the text of its parts, a line apart. A part that is not text
    (an image, audio, a file) is refused by name: dropping it would answer another question."""
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        for k, part in enumerate(content):
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                kind = part.get("type")
                raise BadRequest(
                    f"{where}[{k}]: only text parts are taken ({{'type': 'text', 'text': ...}})"
                    + (f"; this model reads no {kind!r}" if kind and kind != "text" else ""),
                    f"{where}[{k}]",
                )
        # A line between parts (as vLLM joins them): "cards." and "He" are not one word.
        return not_text("\n".join(part["text"] for part in content), where)
    return not_text(content or "", where)


def not_text(text: str, where: str) -> str:
    """``text`` as it is, or a 400 naming ``where`` when it holds half a surrogate pair (a JSON
    ``"\\ud800"`` escape), which no tokenizer takes."""
    if half := half_surrogate(text):
        raise BadRequest(f"{where}: half a surrogate pair ({half}) is not text; send UTF-8 text", where)
    return text


def count_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def finish_reason(generator, step, params: SamplingParams) -> str:
    """Why the answer ``step`` (a choice's last round) ended: as the decode that wrote its text
    ended (``Step.finish``). Where that is unknown (a generator of one's own that does not
    tell), estimated: ``"length"`` when the text takes the whole token budget re-encoded by the
    generator's tokenizer, else ``"stop"`` (text decoded and encoded again can take fewer tokens
    than were decoded, or more)."""
    if step.finish is not None:
        return step.finish
    tokenizer = generator.tokenizer
    return "length" if tokenizer is not None and count_tokens(tokenizer, step.text) >= params.max_new_tokens else "stop"


def usage_of(generator, prompts: Sequence[str], histories, params: SamplingParams, corrector=None) -> dict:
    """Prompt tokens of the generator's prompts, each counted once however many completions it
    had (``n``), as OpenAI counts them; completion tokens of every round's text that was
    rewritten (round 0, and each round whose text differs from the round before).

    Where the decode's generator counted them (an endpoint's ``usage``: ``Step.usage``), its
    counts: the prompt as the endpoint took it, every token it decoded. Elsewhere the text is
    encoded again by the tokenizer of the model that wrote it (round 0: the generator's; a
    rewrite: the corrector's), each at most the decode's ``max_tokens`` (text decoded back and
    encoded again can take more tokens than were decoded); 0 where that model has none."""
    drafter = generator.tokenizer
    rewriter = getattr(getattr(corrector, "generator", None), "tokenizer", None) or drafter

    def counted(tokenizer, text: str, cap: int | None) -> int:
        n = count_tokens(tokenizer, text) if tokenizer is not None else 0
        return n if cap is None else min(n, cap)

    per = len(histories) // len(prompts) if prompts else 0  # the completions of each prompt, in turn

    def known(step) -> tuple[int, int] | None:
        return getattr(step, "usage", None)

    prompt_tokens = sum(
        known(histories[j * per][0])[0] if per and known(histories[j * per][0]) else counted(drafter, p, None)
        for j, p in enumerate(prompts)
    )
    completion = sum(
        known(step)[1] if known(step) else counted(rewriter if k else drafter, step.text, params.max_new_tokens)
        for h in histories
        for k, step in enumerate(h)
        if k == 0 or step.text != h[k - 1].text
    )
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}


def response_body(rid: str, kind: str, model: str, choices: list[dict], usage: dict) -> dict:
    return {"id": rid, "object": kind, "created": int(time.time()), "model": model, "choices": choices, "usage": usage}


def task_prompt(engine, question: str, record: dict | None) -> str:
    """The generator's prompt for ``question`` in the server's task layout, filled from the
    request's ``record`` (its fields beside the question, which is the ``prompt``); the question
    as it is where the server has no task. A field the layout names that ``record`` does not
    give, or gives as null, is a 400 naming ``record``."""
    if engine.format_prompt is None:
        return question
    from ...tasks.task import TaskError

    try:
        return engine.format_prompt({**(record or {}), "prompt": question})
    except TaskError as e:
        raise BadRequest(f"record: {e}; send it in the request's `record`", "record") from None


def chat_prompt(engine, given: Sequence[Message], record: dict | None = None) -> tuple[str, str, str]:
    """(the question, the generator's prompt, where the question is: its message's content). A
    task server answers one question laid out in its task's format: the chat must be that one
    user message. Otherwise the generator's chat template lays out the whole conversation, when
    it has one; a ``developer`` message is a ``system`` one there, as OpenAI has it. The question
    the corrector and the value read is then the conversation up to its last user message, a
    turn a paragraph (``role: content``): a system message or an earlier turn the draft answers
    to is in the rewrite prompt of ``--corrector self`` too, not only the last message."""
    messages = [
        {"role": "system" if m.role == "developer" else m.role, "content": text_of(m.content, f"messages[{i}].content")}
        for i, m in enumerate(given)
    ]
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        raise BadRequest("messages: no message with role 'user'", "messages")
    question, where = messages[users[-1]]["content"], f"messages[{users[-1]}].content"
    if engine.format_prompt is not None:
        if len(messages) != 1:
            roles = ", ".join(m.role for m in given)
            raise BadRequest(
                f"messages: this server answers one question in its task's format, so a chat must be one user "
                f"message (got {len(messages)}: {roles}); earlier turns and system messages would not be seen",
                "messages",
            )
        return question, task_prompt(engine, question, record), where
    tokenizer = engine.generator.tokenizer
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        from jinja2 import TemplateError

        if len(messages) > 1 and question:  # (an empty last message is refused as empty)
            question = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages[: users[-1] + 1])
        try:
            return question, tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True), where
        except TemplateError as e:  # the template's own refusal (roles out of order, a role it lacks)
            raise BadRequest(
                f"messages: the generator's chat template cannot lay out this chat: {e}", "messages"
            ) from None
    if len(messages) != 1:
        raise BadRequest(
            "messages: the generator has no chat template to lay out a conversation; send one user message "
            "or use /v1/completions",
            "messages",
        )
    return question, question, where


def allowed_origins(text: str | None) -> tuple[str, ...]:
    """The origins a comma-separated list names (``*``: any). An origin is a scheme and a host:
    one without its scheme would match no page's ``Origin`` header, and the page would fail
    with nothing said.

    >>> allowed_origins("https://chat.example/, http://localhost:3000")
    ('https://chat.example', 'http://localhost:3000')
    """
    origins = tuple(o.strip().rstrip("/") for o in (text or "").split(",") if o.strip())
    for o in origins:
        if o != "*" and not o.startswith(("http://", "https://")):
            raise CorrectError(f"{o!r} is not an origin: write it as 'https://host[:port]', or '*'", "allowed_origins")
    return origins
