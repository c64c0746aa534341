"""The ``openai`` backend: any OpenAI-compatible HTTP endpoint (vLLM's server, TGI, Ollama,
OpenAI, ``correct serve``) writes the drafts. This is how a small local corrector wraps a
larger or remote model.

Requests go through the official ``openai`` client, which retries connection errors, 408,
409, 429 and 5xx answers with exponential back-off (honouring ``Retry-After``) and enforces
the timeout of each read; on top of it this backend sends one request per prompt, at most
``concurrency`` at a time, gives each request a deadline however slowly its answer trickles
in, stops at the first failure (and at Ctrl-C) without waiting for the requests still out, and
turns the client's exceptions and replies that hold no completion into one-line errors that
name the endpoint. An endpoint that refuses ``seed``, ``stop`` (applied here anyway), ``top_p``
or ``temperature`` at 1, or ``n`` above 1 is asked again without them, and from then on; one
that takes the budget only as ``max_completion_tokens`` is sent it so; a sampling setting it
refuses at the value asked is an error naming it. A prompt the endpoint refuses on its own (a
400 or TGI's 422: too long for its context, a content filter) gets empty completions, counted
and warned about, where the endpoint has answered other prompts; one that has answered none is
taken to refuse every request, and the call fails (``refused_as_empty`` False: every refusal
fails; ``correct serve`` fails a refused draft's request). Replies are read as servers write them: choices
whose content is a list of parts (Mistral), a completion that begins with its prompt (an
endpoint that echoes it: cut off), finish reasons of other names, choices out of ``index``
order, replies without ``usage`` (counted in a warning: the tokens counted leave them out),
a reasoning model's ``<think>...</think>`` written before its answer (left out); a choice that
is null, or a chat choice without a message, is an error.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import Counter
from typing import Sequence, get_args

from ..errors import first_line
from .base import Api, GeneratorBase, GeneratorError, SamplingParams, truncate_at_stop
from .openai_replies import (
    FAILED_ENDS,
    error_body,
    finish_of,
    in_order,
    names_seed,
    reply_of,
    retry_after,
    server_message,
    text_of,
    tokens_of,
    unsupported,
    without_thinking,
)

APIS: tuple[str, ...] = get_args(Api)
MAX_STOP = 4
"""OpenAI's endpoints take at most four stop strings; further ones are applied locally."""
SEED_BOUND = 2**63
"""Seeds sent stay below this (a 64-bit signed integer, as OpenAI and vLLM take them)."""
FAILED_TRIES = 2
COMPLETION_WARNINGS = {
    "empty": "came back without text (refused, filtered, or cut at the token budget before any text: a "
    "reasoning model may need a larger budget)",
    "echoed": "began with their prompt (the endpoint echoes it): it was cut off",
    "halves": "held half a surrogate pair (a \\ud800 escape), which is no character: each was replaced by U+FFFD",
}
"""What is warned of, after a call, of the completions it counted (``_seen``)."""
_HALF_PAIR = re.compile("[\ud800-\udfff]")
"""Half a surrogate pair, which a JSON escape ("\\ud800") can hold and a tokenizer refuses."""
DROPPABLE = {"seed": None, "stop": None, "top_p": 1.0, "temperature": 1.0}
"""Parameters left out, from then on, where the model refuses them (OpenAI's reasoning models):
at any value (None; the stop strings are applied here anyway), or at this one, the default."""
BACK_OFF = 120.0
"""The longest the client waits between tries where the endpoint's Retry-After asks it to."""
REFUSED_BEFORE_FAILING = 4
"""Prompts refused (400) in a row with the same message, none answered in between, after which
the call fails: the endpoint is taken to refuse every request (a model it does not serve this
way or no longer has loaded, a setting it rejects). A prompt's own refusal comes now and then."""


class Refused(GeneratorError):
    """The endpoint refused one prompt's request (400)."""


log = logging.getLogger(__name__)


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
        self.deadline = timeout * (max_retries + 1) * 2 + BACK_OFF * max_retries
        """Seconds a request may take in all, its retries and back-off included: a server that
        trickles out a byte at a time never trips the timeout of a single read."""
        self.tokens_generated = 0
        self._lock = threading.Lock()
        self._most_n, self._dropped, self._budget = None, set(), "max_tokens"  # as the endpoint takes them
        self._seen: Counter = Counter()  # in the current call: empty, echoed, replies, unmetered ones
        self._warned_usage = False
        self.refused_as_empty = True
        self.refused_prompts = 0  # over every call, as truncated_prompts
        self.last_refused: dict[int, str] = {}
        """The prompts of the last call that were refused, each with the endpoint's words."""
        self.last_finish: list[list[str | None]] | None = None
        """Why each completion of the last call ended: the endpoint's ``finish_reason``
        (``finish_of``); a refused prompt's empty completions ``"stop"``."""
        self.last_usage: list[tuple[int, int] | None] | None = None
        """Each prompt of the last call: (prompt tokens, completion tokens of all its choices),
        as the endpoint's replies counted them (``usage``); None where a reply did not say."""
        self._answered = 0  # prompts the endpoint answered, over every call
        self._refused_in_a_row, self._last_refusal = 0, ""  # refused alike since the last answer, over every call
        self._reached = False  # whether the endpoint has answered anything (its model list, a reply)
        if check_model:
            self._check_model()

    def _check_model(self) -> None:
        """Fail at start, not after the first batch, when the endpoint does not serve the model.
        Endpoints without a model list are given the benefit of the doubt."""
        try:
            served = [getattr(m, "id", None) for m in self.client.models.list()]
        # No list; or a page that is not one (HTML, not JSON: the client fails to read it as a list)
        except (self._openai.NotFoundError, ValueError, AttributeError):
            return
        except self._openai.APIStatusError as e:
            if e.status_code in (405, 501):  # a list it does not serve (the completions may be)
                return
            raise self._error(e) from None
        except self._openai.OpenAIError as e:
            raise self._error(e) from None
        self._reached = True
        served = [m for m in served if isinstance(m, str)]
        if served and self.model not in served and f"{self.model}:latest" not in served:  # Ollama's tag
            raise GeneratorError(
                f"{self.base_url} does not serve model {self.model!r}; it serves: {', '.join(served)}",
                option="generator",
            )

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[str]]:
        prompts = list(prompts)
        self.last_finish = self.last_usage = None
        if not prompts:
            self.last_finish, self.last_usage = [], []
            return []
        results: list = [None] * len(prompts)
        usage: list[tuple[int, int] | None] = [(0, 0)] * len(prompts)  # a refused prompt took none
        started: dict[int, float] = {}
        failed: list[BaseException] = []
        refused: dict[int, Refused] = {}
        self.last_refused = {}
        todo = iter(range(len(prompts)))
        self._seen = Counter()

        def began(i: int) -> None:  # each request of a prompt gets the deadline
            with self._lock:
                started[i] = time.monotonic()

        def work() -> None:
            while not failed:
                with self._lock:
                    i = next(todo, None)
                    if i is None:
                        return
                    started[i] = time.monotonic()
                try:
                    results[i], usage[i] = self._complete(i, prompts[i], params, lambda: began(i))
                    with self._lock:
                        self._answered, self._refused_in_a_row = self._answered + 1, 0
                except Refused as e:
                    results[i] = [("", "stop")] * params.n  # empty, not cut at the budget
                    with self._lock:
                        refused[i] = e
                        same = str(e) == self._last_refusal  # a prompt's own refusal names its length, say
                        self._refused_in_a_row, self._last_refusal = (self._refused_in_a_row + 1 if same else 1), str(e)
                        if not self.refused_as_empty or self._refused_in_a_row >= REFUSED_BEFORE_FAILING:
                            failed.append(e)
                except BaseException as e:  # noqa: BLE001 - handed to the calling thread
                    failed.append(e)
                with self._lock:
                    started.pop(i, None)

        # Daemon threads: at the first failure or Ctrl-C the call returns at once, and requests
        # still out are left to end on their own (a pool would wait for each of them).
        workers = [threading.Thread(target=work, daemon=True) for _ in range(min(self.concurrency, len(prompts)))]
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers) and not failed:
            time.sleep(0.02)
            with self._lock:
                late = [i for i, t in started.items() if time.monotonic() - t > self.deadline]
            if late:
                failed.append(
                    GeneratorError(
                        f"{self.base_url} did not finish answering prompt {late[0]} within {self.deadline:g} s"
                    )
                )
        if failed:
            raise failed[0]
        first = refused[min(refused)] if refused else None
        if first and not self._answered:
            raise first
        if refused:
            self.refused_prompts += len(refused)
            self.last_refused = {i: str(e) for i, e in refused.items()}
            log.warning(
                "%d of %d prompts were refused by %s (the first: %s): their completions are empty",
                len(refused),
                len(prompts),
                self.base_url,
                first,
            )
        seen, asked = self._seen, len(prompts) * params.n
        for kind, what in COMPLETION_WARNINGS.items():
            if seen[kind]:
                log.warning("%d of %d completions from %s " + what, seen[kind], asked, self.base_url)
        if seen["unmetered"] and not self._warned_usage:
            self._warned_usage = True
            log.warning(
                "%d of %d replies from %s did not say how many tokens they completed (usage): the tokens "
                "counted leave those completions out",
                seen["unmetered"],
                seen["replies"],
                self.base_url,
            )
        self.last_finish = [[why for _, why in r] for r in results]
        self.last_usage = usage
        return [[text for text, _ in r] for r in results]

    def _complete(
        self, index: int, prompt: str, params: SamplingParams, began=lambda: None
    ) -> tuple[list[tuple[str, str | None]], tuple[int, int] | None]:
        """``params.n`` (text, why it ended) of one prompt, and the tokens its replies took
        (the prompt's once, every choice's completion, those asked again too)."""
        got_all: list[tuple[str, str | None]] = []
        failed = 0
        took: list[tuple[int, int] | None] = []
        # Some servers ignore `n` (or cap it), or abort a choice: ask again for what is missing.
        while len(got_all) < params.n:
            seed = (params.seed + index + len(got_all)) % SEED_BOUND
            began()
            got, used = self._request(prompt, params, params.n - len(got_all), seed=seed)
            took.append(used)
            if not got:
                raise GeneratorError(f"{self.base_url} returned no completion for prompt {index}")
            ended = [why for _, why in got if why in FAILED_ENDS]
            failed = failed + 1 if ended else 0  # in a row: a good reply in between is progress
            if ended:
                if failed > FAILED_TRIES:
                    raise GeneratorError(
                        f"{self.base_url} ended a completion of prompt {index} with finish_reason {ended[0]!r} "
                        f"{failed} times in a row: it gave up on it (see the server's log)"
                    )
            got_all.extend((text, why) for text, why in got if why not in FAILED_ENDS)
        out, seen = [], Counter()
        for text, why in got_all[: params.n]:
            if self.api == "completions" and prompt and text.startswith(prompt):  # the prompt echoed
                text = text[len(prompt) :]
                seen["echoed"] += 1
            seen["empty"] += not text
            text, halves = _HALF_PAIR.subn("\ufffd", text)  # an escaped half of a pair: no character
            seen["halves"] += bool(halves)
            cut = truncate_at_stop(text, params.stop)  # a stop string beyond the ones the API takes
            out.append((cut, "stop" if len(cut) < len(text) else why))
        with self._lock:
            self._seen.update(seen)
        metered = [u for u in took if u is not None]
        return out, (metered[0][0], sum(u[1] for u in metered)) if len(metered) == len(took) else None

    def _request(
        self, prompt: str, params: SamplingParams, n: int, seed: int
    ) -> tuple[list[tuple[str, str | None]], tuple[int, int] | None]:
        n = min(n, self._most_n or n)
        kwargs = dict(
            model=self.model,
            n=n,
            temperature=params.temperature,
            top_p=params.top_p if params.temperature > 0 else 1.0,
            seed=seed,
        )
        kwargs[self._budget] = params.max_new_tokens
        if params.stop:
            kwargs["stop"] = list(params.stop[:MAX_STOP])
        for name in self._dropped:
            kwargs.pop(name, None)
        try:
            if self.api == "chat":
                out = self.client.chat.completions.create(messages=[{"role": "user", "content": prompt}], **kwargs)
            else:
                out = self.client.completions.create(prompt=prompt, **kwargs)
        except (self._openai.BadRequestError, self._openai.UnprocessableEntityError) as e:
            # A 400, or TGI's 422 for a prompt past its context. An endpoint that takes no seed, no
            # stop strings, top_p or temperature at their defaults, max_tokens by its new name, or
            # one choice a request: asked again without (or with it), from now on.
            message, name = server_message(e), unsupported(e)
            name = "seed" if name is None and "seed" in kwargs and names_seed(message) else name
            if name == "max_tokens" and name in kwargs and "max_completion_tokens" in message:
                self._budget = "max_completion_tokens"
                return self._request(prompt, params, n, seed)
            if name in DROPPABLE and name in kwargs and DROPPABLE[name] in (None, kwargs[name]):
                self._dropped.add(name)
                log.warning("%s does not take %s (%s): asked without it from now on", self.base_url, name, message)
                return self._request(prompt, params, n, seed)
            if name in kwargs and name not in ("n", "model"):  # a setting, not this prompt, refused
                option = "max_new_tokens" if name == self._budget else name
                raise GeneratorError(f"{self.base_url} does not take {name} {kwargs[name]!r}: {message}", option=option)
            if n > 1:  # a refusal of one choice too is the prompt's own (its message), any other failure too
                got = self._request(prompt, params, 1, seed)
                self._most_n = 1  # remembered only once one choice a request is answered
                return got
            raise Refused(str(self._error(e))) from None
        except self._openai.OpenAIError as e:
            raise self._error(e) from None
        except ValueError as e:  # a body that says it is JSON and is not
            raise GeneratorError(f"{self.base_url} answered with a body that is not JSON ({first_line(e)})") from None
        choices = getattr(out, "choices", None)
        if not isinstance(choices, list):  # a proxy's HTML page, or {"error": ...} with status 200
            raise GeneratorError(f"{self.base_url} answered without completions: {reply_of(out)}")
        choices, self._reached = in_order(choices), True
        texts = [self._text_of(c) for c in choices]
        used = tokens_of(out)
        with self._lock:
            self._seen["replies"] += 1
            if used is not None:
                self.tokens_generated += used[1]
            else:
                self._seen["unmetered"] += 1
        return [(t, finish_of(getattr(c, "finish_reason", None))) for t, c in zip(texts, choices)], used

    def _text_of(self, choice) -> str:
        """A choice's text (``openai_replies.text_of``); "" where it is null."""
        text = text_of(choice, self.api == "chat")
        if text is False:
            where = "message" if self.api == "chat" else "text"
            raise GeneratorError(
                f"{self.base_url} answered a choice without its {where}: {first_line(str(choice))[:200]}"
            )
        return without_thinking(text or "")

    def _error(self, e: Exception) -> GeneratorError:
        o, where = self._openai, self.base_url
        if isinstance(e, o.APITimeoutError):
            return GeneratorError(f"{where} did not answer within {self.timeout:g} s ({self.max_retries} retries)")
        if isinstance(e, o.APIConnectionError):
            if self._reached:  # it answered before: the connection broke, the address is right
                cause = first_line(str(e.__cause__ or e))[:200]
                return GeneratorError(f"the connection to {where} broke ({self.max_retries} retries): {cause}")
            return GeneratorError(
                f"could not reach {where} ({self.max_retries} retries): is the server running?", option="base_url"
            )
        if isinstance(e, o.AuthenticationError):
            return GeneratorError(
                f"{where} refused the API key (401); give the endpoint's key, or set OPENAI_API_KEY", option="api_key"
            )
        if isinstance(e, o.RateLimitError):
            if (getattr(e, "code", None) or error_body(e).get("code")) == "insufficient_quota":
                return GeneratorError(f"{where} answered 429: {server_message(e)}", option="api_key")
            wait = retry_after(e)
            if wait is not None and wait > BACK_OFF:  # longer than the client waits: not retried
                return GeneratorError(
                    f"{where} answered 429 asking to wait {wait:g} s before another try: {server_message(e)}"
                )
            return GeneratorError(
                f"{where} still rate-limited the requests (429) after {self.max_retries} retries: "
                f"{server_message(e)}; lower the concurrency",
                option="concurrency",
            )
        if isinstance(e, o.NotFoundError) and not where.rstrip("/").endswith("/v1"):
            return GeneratorError(f"{where} answered 404: {server_message(e)} (does the base URL need /v1?)")
        if isinstance(e, o.NotFoundError) and "model" not in server_message(e).lower():  # no such route here
            other = "chat" if self.api == "completions" else "completions"
            return GeneratorError(f"{where} answered 404: {server_message(e)} (does it serve {other} only?)", "api")
        if isinstance(e, o.APIStatusError):
            return GeneratorError(f"{where} answered {e.status_code}: {server_message(e)}")
        return GeneratorError(f"{where}: {e}")
