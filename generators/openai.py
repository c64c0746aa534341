"""The ``openai`` backend: any OpenAI-compatible HTTP endpoint (vLLM's server, TGI, Ollama,
OpenAI, ``correct serve``) writes the drafts. This is how a small local corrector wraps a
larger or remote model.

Requests go through the official ``openai`` client, which retries connection errors, 408,
409, 429 and 5xx answers with exponential back-off (honouring ``Retry-After``) and enforces
the timeout; on top of it this backend sends one request per prompt, at most ``concurrency``
at a time, and turns the client's exceptions into one-line errors that name the endpoint.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence, get_args

from ..errors import first_line
from .base import Api, GeneratorBase, GeneratorError, SamplingParams, truncate_at_stop

APIS: tuple[str, ...] = get_args(Api)
MAX_STOP = 4
"""OpenAI's endpoints take at most four stop strings; further ones are applied locally."""


class OpenAIGenerator(GeneratorBase):
    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        api: str = "completions",
        concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 60.0,
        check_model: bool = True,
        chat_template: bool = False,
    ):
        try:
            import openai
        except ImportError:
            raise GeneratorError(
                "the openai backend needs the `openai` package: pip install 'correct[openai]'"
            ) from None
        if api not in APIS:
            raise GeneratorError(f"unknown API {api!r}; choose {' or '.join(APIS)}", option="api")
        if chat_template:  # the endpoint applies its model's template to a chat request
            api = "chat"
        if concurrency < 1:
            raise GeneratorError(f"concurrency must be at least 1, got {concurrency}", option="concurrency")
        self.model, self.api, self.concurrency = model, api, concurrency
        self.chat_template = api == "chat"  # the endpoint lays out chat messages with its model's template
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        # Local servers (vLLM, correct serve) take any key; the client insists on one.
        key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self._openai = openai
        self.client = openai.OpenAI(base_url=self.base_url, api_key=key, max_retries=max_retries, timeout=timeout)
        self.timeout, self.max_retries = timeout, max_retries
        self.tokens_generated = 0
        self._lock = threading.Lock()
        if check_model:
            self._check_model()

    def _check_model(self) -> None:
        """Fail at start, not after the first batch, when the endpoint does not serve the model.
        Endpoints without a model list are given the benefit of the doubt."""
        try:
            served = [m.id for m in self.client.models.list()]
        except self._openai.NotFoundError:
            return
        except self._openai.OpenAIError as e:
            raise self._error(e) from None
        if served and self.model not in served:
            raise GeneratorError(
                f"{self.base_url} does not serve model {self.model!r}; it serves: {', '.join(served)}",
                option="generator",
            )

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[str]]:
        prompts = list(prompts)
        if not prompts:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
            futures = [pool.submit(self._complete, i, p, params) for i, p in enumerate(prompts)]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    def _complete(self, index: int, prompt: str, params: SamplingParams) -> list[str]:
        texts: list[str] = []
        # Some servers ignore `n` (or cap it): ask again for what is missing.
        while len(texts) < params.n:
            got = self._request(prompt, params, params.n - len(texts), seed=params.seed + index + len(texts))
            if not got:
                raise GeneratorError(f"{self.base_url} returned no completion for prompt {index}")
            texts.extend(got)
        return [truncate_at_stop(t, params.stop) for t in texts[: params.n]]

    def _request(self, prompt: str, params: SamplingParams, n: int, seed: int) -> list[str]:
        kwargs = dict(
            model=self.model,
            n=n,
            max_tokens=params.max_new_tokens,
            seed=seed,
            temperature=params.temperature,
            top_p=params.top_p if params.temperature > 0 else 1.0,
        )
        if params.stop:
            kwargs["stop"] = list(params.stop[:MAX_STOP])
        try:
            if self.api == "chat":
                out = self.client.chat.completions.create(messages=[{"role": "user", "content": prompt}], **kwargs)
                texts = [c.message.content or "" for c in out.choices]
            else:
                out = self.client.completions.create(prompt=prompt, **kwargs)
                texts = [c.text for c in out.choices]
        except self._openai.OpenAIError as e:
            raise self._error(e) from None
        if out.usage is not None:
            with self._lock:
                self.tokens_generated += out.usage.completion_tokens or 0
        return texts

    def _error(self, e: Exception) -> GeneratorError:
        o, where = self._openai, self.base_url
        if isinstance(e, o.APITimeoutError):
            return GeneratorError(f"{where} did not answer within {self.timeout:g} s ({self.max_retries} retries)")
        if isinstance(e, o.APIConnectionError):
            return GeneratorError(
                f"could not reach {where} ({self.max_retries} retries): is the server running?", option="base_url"
            )
        if isinstance(e, o.AuthenticationError):
            return GeneratorError(
                f"{where} refused the API key (401); give the endpoint's key, or set OPENAI_API_KEY", option="api_key"
            )
        if isinstance(e, o.RateLimitError):
            return GeneratorError(
                f"{where} still rate-limited the requests (429) after {self.max_retries} retries; lower the "
                "concurrency",
                option="concurrency",
            )
        if isinstance(e, o.APIStatusError):
            return GeneratorError(f"{where} answered {e.status_code}: {_server_message(e)}")
        return GeneratorError(f"{where}: {e}")


def _server_message(e) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the body's first line."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("detail"), str):
            return body["detail"]
    return first_line(getattr(e, "message", "") or e) or type(e).__name__
