"""The shapes of ``correct serve``'s OpenAI-compatible API (server.py): the request bodies as
pydantic models -- OpenAI's fields with their bounds, and what ``correct`` adds (``rounds``,
``return_rounds``, ``record``) -- and the response bodies with their usage. Fields the server
does not know are kept (``extra="allow"``) so that server.py can name them in a warning, as
vLLM does."""

# No `from __future__ import annotations`: pydantic and FastAPI read these annotations at run time.
import time
from dataclasses import replace
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, Field

from ...generators import SamplingParams
from ..refine import MAX_ROUNDS, MAX_SAMPLES


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
    rounds: int | None = Field(None, ge=0, le=MAX_ROUNDS)
    return_rounds: bool = False
    record: dict[str, Any] | None = None


class CompletionRequest(Common):
    prompt: str | list[str]


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


def text_of(content) -> str:
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return content or ""


def count_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def finish_reason(generator, text: str, params: SamplingParams) -> str:
    tokenizer = generator.tokenizer
    return "length" if tokenizer is not None and count_tokens(tokenizer, text) >= params.max_new_tokens else "stop"


def usage_of(generator, prompts: Sequence[str], histories) -> dict:
    """Prompt tokens of the generator's prompts; completion tokens of every round's text that
    was rewritten (round 0, and each round whose text differs from the round before)."""
    tokenizer = generator.tokenizer
    if tokenizer is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    prompt_tokens = sum(count_tokens(tokenizer, p) for p in prompts)
    completion = sum(
        count_tokens(tokenizer, step.text)
        for h in histories
        for k, step in enumerate(h)
        if k == 0 or step.text != h[k - 1].text
    )
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion}


def response_body(rid: str, kind: str, model: str, choices: list[dict], usage: dict) -> dict:
    return {"id": rid, "object": kind, "created": int(time.time()), "model": model, "choices": choices, "usage": usage}
