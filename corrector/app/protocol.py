"""The shapes of ``correct serve``'s OpenAI-compatible API (server.py): the request bodies as
pydantic models -- OpenAI's fields with their bounds, and what ``correct`` adds (``rounds``,
``return_rounds``, ``record``) -- and the response bodies with their usage. Fields the server
does not know are kept (``extra="allow"``) so that server.py can name them in a warning, as
vLLM does."""

# No `from __future__ import annotations`: pydantic and FastAPI read these annotations at run time.
import time
from dataclasses import replace
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...generators import SamplingParams
from ..refine import MAX_ROUNDS, MAX_SAMPLES
from .engine import BadRequest


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
    stream_options: dict[str, Any] | None = None
    logprobs: bool | int | None = None
    top_logprobs: int | None = None
    user: str | None = None
    # OpenAI's (and vLLM's) fields that change the answer and that this server cannot honour:
    # their neutral values are taken, any other is refused by name (``unsupported``).
    echo: bool | None = None
    suffix: str | None = None
    best_of: int | None = None
    logit_bias: dict[str, float] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_format: dict[str, Any] | None = None
    tools: list[Any] | None = None
    tool_choice: str | dict[str, Any] | None = None
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


def sampling_params(defaults: SamplingParams, body) -> SamplingParams:
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


def text_of(content, where: str) -> str:
    """A message's text: a string, or the text of its parts. A part that is not text (an image,
    audio, a file) is refused by name: dropping it would answer another question."""
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        for k, part in enumerate(content):
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                kind = part.get("type")
                raise BadRequest(
                    f"{where}[{k}]: only text parts are taken ({{'type': 'text', 'text': ...}})"
                    + (f"; this model reads no {kind!r}" if kind and kind != "text" else ""),
                    f"{where}[{k}]",
                )
        return "".join(part["text"] for part in content)
    return content or ""


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


def usage_of(generator, prompts: Sequence[str], histories, params: SamplingParams) -> dict:
    """Prompt tokens of the generator's prompts, each counted once however many completions it
    had (``n``), as OpenAI counts them; completion tokens of every round's text that was
    rewritten (round 0, and each round whose text differs from the round before), each at most
    the decode's ``max_tokens`` (text decoded back and encoded again can take more tokens than
    were decoded)."""
    tokenizer = generator.tokenizer
    if tokenizer is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    prompt_tokens = sum(count_tokens(tokenizer, p) for p in prompts)
    completion = sum(
        min(count_tokens(tokenizer, step.text), params.max_new_tokens)
        for h in histories
        for k, step in enumerate(h)
        if k == 0 or step.text != h[k - 1].text
    )
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}


def response_body(rid: str, kind: str, model: str, choices: list[dict], usage: dict) -> dict:
    return {"id": rid, "object": kind, "created": int(time.time()), "model": model, "choices": choices, "usage": usage}
