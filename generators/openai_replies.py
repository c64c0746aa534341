"""How the ``openai`` backend reads what an endpoint answers: why a choice ended, the choices in
their order, the tokens a reply says it took, an error body's message, and the parameter a 400
says the model does not take."""

from __future__ import annotations

import re

from ..errors import first_line

FAILED_ENDS = ("abort", "aborted", "error", "cancelled", "canceled")
"""Finish reasons of a choice the server gave up on (vLLM's ``"abort"``, an ``"error"``): its
text is what was decoded before, not a completion. Asked again, at most ``FAILED_TRIES`` times
(``openai``)."""

_UNSUPPORTED = re.compile(r"unsupported (?:parameter|value):? *'?(\w+)", re.IGNORECASE)
"""How OpenAI (and proxies passing its words on) name a parameter the model does not take."""


_SEED = re.compile(
    r"['\"`]seed['\"`]|:\s*seed\b|\bseed\s*:|\bseed\s+(?:is\s+)?(?:not|unsupported|unknown|invalid)", re.I
)
"""A 400's message naming ``seed`` as a parameter the endpoint does not take ("Unrecognized
request argument supplied: seed", "'seed' is not supported", "seed: must be below 2**32"), not one that merely holds the
word: a content filter's "seeds of violence" is the prompt's own refusal."""


def names_seed(message: str) -> bool:
    """Whether a 400's message says the endpoint takes no ``seed``.

    >>> names_seed("Unrecognized request argument supplied: seed"), names_seed("'seed' is not supported")
    (True, True)
    >>> names_seed("seed is not supported by this model"), names_seed("flagged: seeds of violence")
    (True, False)
    """
    return bool(_SEED.search(message))


def error_body(e) -> dict:
    body = getattr(e, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else {}


def reply_of(out) -> str:
    """What a 200 without completions held: its error's message, or its first line."""
    if isinstance(out, str):
        return first_line(out)[:200] or "an empty body"
    extra = getattr(out, "model_extra", None) or {}
    error = extra.get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return first_line(str(out))[:200]


def server_message(e) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the body's first line; and,
    where the request was redirected (the client follows redirects), where to: a 301, 302 or
    303 turns the POST into a GET, which a completions route answers with 404 or 405."""
    moved = redirected(e)
    said = _said(e)
    return f"{said} (after a redirect to {moved}: give that address as the base URL)" if moved else said


def redirected(e) -> str | None:
    """Where redirects took the request that failed; None where it went where it was sent."""
    response = getattr(e, "response", None)
    if response is None or not getattr(response, "history", None):
        return None
    return str(response.request.url)


def _said(e) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("detail"), str):
            return body["detail"]
    if isinstance(body, str) and body.strip():  # a proxy's page or a plain-text error: its words
        text = " ".join(re.sub(r"<(script|style)\b.*?</\1>|<[^>]*>", " ", body, flags=re.I | re.S).split())
        if text:
            return text[:200]
    return first_line(getattr(e, "message", "") or e) or type(e).__name__


def unsupported(e) -> str | None:
    """The request parameter a 400 says the model does not take, or does not take at that value
    (OpenAI's reasoning models: ``max_tokens``, ``stop``, ``top_p``, a temperature other than 1):
    the error's ``param`` where its ``code`` says so, else the name its message quotes."""
    body = error_body(e)
    if str(body.get("code") or "").startswith("unsupported") and isinstance(body.get("param"), str):
        return body["param"]
    found = _UNSUPPORTED.search(server_message(e))
    return found[1] if found else None


def in_order(choices: list) -> list:
    """The choices by their ``index`` (a server may list them as they finish), where each has one."""
    indices = [getattr(c, "index", None) for c in choices]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
        return choices
    return [c for _, c in sorted(zip(indices, choices), key=lambda pair: pair[0])]


def retry_after(e) -> float | None:
    """The seconds a refusal's ``Retry-After`` header asks to wait: a number of seconds, or an
    HTTP date (whole seconds from now); None where it gives neither."""
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    headers = getattr(getattr(e, "response", None), "headers", None) or {}
    try:  # Azure's, in milliseconds, where it gives one
        return float(headers.get("retry-after-ms")) / 1000
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)  # HTTP dates are GMT
    return float(max(0, round((when - datetime.now(timezone.utc)).total_seconds())))


def text_of(choice, chat: bool) -> str | None | bool:
    """A choice's text: ``text`` (completions) or ``message.content`` (chat), either where the
    other API was asked for (a proxy answers in the other's shape); content as a list of parts is
    their text joined (Mistral's ``"text"`` parts, ``"output_text"`` ones, plain strings; a
    thinking part is left out). None where it is null; False where the choice holds neither.

    >>> from types import SimpleNamespace as O
    >>> text_of(O(text=None, message=O(content="x = 1")), False), text_of(O(message=O(content=["a", "b"])), True)
    ('x = 1', 'ab')
    >>> text_of(O(message=O(content=[{"type": "thinking", "text": "hm"}, {"type": "output_text", "text": "y"}])), True)
    'y'
    >>> text_of(O(text=None), False), text_of(O(index=0), True), text_of("x", False)
    (None, False, False)
    """
    if choice is None or isinstance(choice, (str, dict, list)):
        return False
    message = getattr(choice, "message", None)
    message = None if isinstance(message, (str, list)) else message  # an extra field stays a dict
    content = message.get("content") if isinstance(message, dict) else getattr(message, "content", None)
    text = getattr(choice, "text", None)
    if isinstance(content, list):
        kept = [p if isinstance(p, str) else p.get("text") if p.get("type") in ("text", "output_text") else None
                for p in content if isinstance(p, (str, dict))]  # fmt: skip
        content = "".join(t for t in kept if isinstance(t, str))
    first, other = (content, text) if chat else (text, content)
    found = first if first is not None else other
    if not isinstance(found, (str, type(None))) or (chat and message is None and not isinstance(text, str)):
        return False
    return found


def without_thinking(text: str) -> str:
    """A reply's text less the reasoning a model writes first, inline in ``<think>...</think>``
    (DeepSeek-R1, Qwen3 served without a reasoning parser): the answer is what follows it. A
    thought never closed (the budget ran out while thinking) leaves no answer."""
    if not text.lstrip().startswith("<think>"):
        return text
    end = text.find("</think>")
    return "" if end < 0 else text[end + len("</think>") :].lstrip()


def finish_of(reason) -> str | None:
    """Why an endpoint's choice ended, as ``last_finish`` holds it: ``"length"`` (and the token
    budget by other names: Anthropic's ``"max_tokens"`` passed through, Mistral's
    ``"model_length"``) and ``"content_filter"`` as they are (OpenAI's clients know both), a
    choice the server gave up on (``FAILED_ENDS``: vLLM's ``"abort"``, an ``"error"``) as it is,
    for the caller to ask again, any other end (``"stop"``, TGI's ``"eos_token"`` and
    ``"stop_sequence"``, a tool call) ``"stop"``; None where the endpoint does not say.

    >>> finish_of("length"), finish_of("eos_token"), finish_of("content_filter"), finish_of(None)
    ('length', 'stop', 'content_filter', None)
    >>> finish_of("max_tokens"), finish_of("MAX_TOKENS"), finish_of("model_length"), finish_of("end_turn")
    ('length', 'length', 'length', 'stop')
    >>> finish_of("abort"), finish_of("ERROR")
    ('abort', 'error')
    """
    if not reason or not isinstance(reason, str):
        return None
    reason = reason.lower()
    if reason in ("length", "max_tokens", "model_length"):
        return "length"
    return reason if reason == "content_filter" or reason in FAILED_ENDS else "stop"


MAX_COUNT = 10**12
"""More tokens than any reply holds: a usage past it is not a count (it would swamp the run's)."""


def tokens_of(out) -> tuple[int, int] | None:
    """(prompt tokens, completion tokens) of a reply, from its ``usage``; None where it has none
    or they are not counts (a prompt count missing is 0: some servers give only completions).

    >>> from types import SimpleNamespace as O
    >>> tokens_of(O(usage=O(prompt_tokens=7, completion_tokens=3))), tokens_of(O(usage=None))
    ((7, 3), None)
    >>> tokens_of(O(usage=O(completion_tokens=3))), tokens_of(O(usage=O(prompt_tokens=7, completion_tokens=-1)))
    ((0, 3), None)
    >>> tokens_of(O(usage=O(prompt_tokens=7, completion_tokens=10**30)))  # no reply is that long: not a count
    """

    def count(name: str) -> int | None:
        n = getattr(getattr(out, "usage", None), name, None)
        return n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_COUNT else None

    completion = count("completion_tokens")
    return None if completion is None else (count("prompt_tokens") or 0, completion)
