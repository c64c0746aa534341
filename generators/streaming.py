"""Text as it is decoded: a ``transformers`` streamer for a whole batch that hands each row's
new text to a callback, never text the finished draft will not have.

The final draft is cut before its first stop string and decoded without special tokens. So
that what was streamed is always a prefix of it, a row's text is held back while it could
still be the start of a stop string, or ends in a half-decoded character; once a stop string
appears, or the row ends, nothing more of that row is sent.
"""

from __future__ import annotations

from typing import Callable, Sequence

from transformers.generation.streamers import BaseStreamer

from .base import truncate_at_stop

OnText = Callable[[int, str], None]
"""(prompt index, new text): called as a row's text grows."""


def safe_prefix(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """(the part of ``text`` that no later token can take back, whether a stop string ended it).

    >>> safe_prefix("a = 1\\n", ["\\n\\n"])
    ('a = 1', False)
    >>> safe_prefix("a = 1\\n\\nQuestion", ["\\n\\n"])
    ('a = 1', True)
    >>> safe_prefix("caf\\ufffd", [])
    ('caf', False)
    """
    cut = truncate_at_stop(text, stop)
    if len(cut) < len(text):
        return cut, True
    hold = 0
    for s in stop:  # the longest tail that is the start of a stop string
        for k in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:k]):
                hold = max(hold, k)
                break
    safe = text[: len(text) - hold]
    return safe.rstrip("\ufffd"), False  # a multi-byte character not yet complete


class RowStreamer(BaseStreamer):
    """Receives a batch's tokens step by step from ``generate(streamer=...)`` and calls
    ``on_text(rows[j], delta)`` for row j of the batch."""

    def __init__(
        self, tokenizer, rows: Sequence[int], stop: Sequence[str], on_text: OnText, eos_ids: Sequence[int] = ()
    ):
        self.tokenizer, self.rows, self.stop, self.on_text = tokenizer, list(rows), list(stop), on_text
        self.tokens: list[list[int]] = [[] for _ in self.rows]
        self.sent = [""] * len(self.rows)
        self.done = [False] * len(self.rows)
        self.eos = set(eos_ids)
        self._prompt_seen = False
        self.tidies = bool(getattr(tokenizer, "clean_up_tokenization_spaces", False))
        """The tokenizer drops a space before punctuation as it decodes (" ." to ".", " 's" to
        "'s"): a row's text from its last space on may still change with the next token."""

    def put(self, value) -> None:
        if not self._prompt_seen:  # the first call holds the prompts
            self._prompt_seen = True
            return
        for j, token in enumerate(value.reshape(-1).tolist()):
            if self.done[j]:
                continue
            if token in self.eos:
                self._flush(j, final=True)
                continue
            self.tokens[j].append(token)
            self._flush(j, final=False)

    def end(self) -> None:
        for j in range(len(self.rows)):
            if not self.done[j]:
                self._flush(j, final=True)

    def _flush(self, j: int, final: bool) -> None:
        text = self.tokenizer.decode(self.tokens[j], skip_special_tokens=True)
        safe, stopped = (truncate_at_stop(text, self.stop), True) if final else safe_prefix(text, self.stop)
        if self.tidies and not (final or stopped) and " " in safe:
            safe = safe[: safe.rindex(" ")]
        if len(safe) > len(self.sent[j]) and safe.startswith(self.sent[j]):
            self.on_text(self.rows[j], safe[len(self.sent[j]) :])
            self.sent[j] = safe
        self.done[j] = final or stopped
