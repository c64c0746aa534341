"""The request bodies of ``correct serve``'s OpenAI-compatible API (server.py), as pydantic
models: OpenAI's fields with their bounds, and what ``correct`` adds (``rounds``,
``return_rounds``, ``record``). Fields the server does not know are kept (``extra="allow"``)
so that server.py can name them in a warning, as vLLM does."""

# No `from __future__ import annotations`: pydantic and FastAPI read these annotations at run time.
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..refine import MAX_ROUNDS


class Common(BaseModel):
    # NaN and infinities are JSON to Python's parser, but no setting: refused as such.
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    model: str
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, le=64)
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
