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
    """The ``error.message`` of an OpenAI-style error body, else the body's first line."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("detail"), str):
            return body["detail"]
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

    value = (getattr(getattr(e, "response", None), "headers", None) or {}).get("retry-after")
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


def tokens_of(out) -> tuple[int, int] | None:
    """(prompt tokens, completion tokens) of a reply, from its ``usage``; None where it has none
    or they are not counts (a prompt count missing is 0: some servers give only completions).

    >>> from types import SimpleNamespace as O
    >>> tokens_of(O(usage=O(prompt_tokens=7, completion_tokens=3))), tokens_of(O(usage=None))
    ((7, 3), None)
    >>> tokens_of(O(usage=O(completion_tokens=3))), tokens_of(O(usage=O(prompt_tokens=7, completion_tokens=-1)))
    ((0, 3), None)
    """

    def count(name: str) -> int | None:
        n = getattr(getattr(out, "usage", None), name, None)
        return n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else None

    completion = count("completion_tokens")
    return None if completion is None else (count("prompt_tokens") or 0, completion)
