"""What every generator backend shares: sampling settings, the Generator protocol and the base
class with its defaults, the error type users see, and cutting completions at stop strings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal, Mapping, NamedTuple, Protocol, Sequence, get_args

from ..errors import CorrectError

Dtype = Literal["float32", "bfloat16", "float16", "auto"]
"""What a local model's weights are loaded in (``--dtype``)."""
DTYPES: tuple[str, ...] = get_args(Dtype)
BackendName = Literal["hf", "vllm", "openai"]
"""The generator backends (``registry.BACKENDS``)."""
Api = Literal["completions", "chat"]
"""The two APIs of an OpenAI-compatible endpoint the ``openai`` backend speaks."""


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0
    """Softmax temperature; 0 means greedy decoding (the `hf` backend, as vLLM, decodes any under 1e-5
    greedily: logits divided by a temperature near 0 overflow)."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    max_new_tokens: int = 128
    """Upper bound on generated tokens per completion."""
    stop: tuple[str, ...] = ()
    """Completions are cut before the first occurrence of any of these strings."""
    n: int = 1
    """Completions per prompt."""
    seed: int = 0
    """Seed for sampling; the same prompts, params and seed give the same completions."""


class Generator(Protocol):
    """What the engine asks of a generator: ``generate``, and the capabilities below, which a
    backend without them has as ``GeneratorBase`` gives them (callers never probe)."""

    tokenizer: Any
    """The local tokenizer, or None (an endpoint's): token counts, a chat template's layout."""
    chat_template: bool
    """Prompts are sent as chat messages: the tokenizer's chat template, or an endpoint's chat API."""
    streams: bool
    """``generate`` takes ``on_text(i, delta)``: text handed out as it is decoded."""
    scores: bool
    """``log_likelihoods`` scores text under the model."""
    tokens_generated: int
    """Tokens decoded so far, over every call."""
    truncated_prompts: int
    """Prompts cut to fit the model's context (their oldest tokens dropped), over every call."""
    refused_prompts: int
    """Prompts an endpoint refused (their completions empty), over every call."""
    last_finish: list[list[str | None]] | None
    """Why each completion of the last ``generate`` call ended, parallel to what it returned:
    ``"stop"`` (end of text, a stop string), ``"length"`` (``max_new_tokens`` decoded without
    either) or an endpoint's own reason (``"content_filter"``); None where it is not known, and
    None as a whole for a backend that does not tell (``finish_reasons`` reads it)."""
    last_usage: list[tuple[int, int] | None] | None
    """What each prompt of the last ``generate`` call took, as the backend counted it (an
    endpoint's ``usage``): (prompt tokens, completion tokens of all its completions); None where
    not known, and None as a whole for a backend that does not count (``usages`` reads it)."""

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[str]]:
        """Return ``params.n`` completions (prompt excluded) for every prompt."""
        ...

    def check_fits(self, prompts: Sequence[str], params: SamplingParams) -> None:
        """Raise ContextError when a prompt and ``params.max_new_tokens`` do not fit together."""
        ...

    def room(self, prompts: Sequence[str]) -> list[int] | None:
        """The new tokens that fit in the model's context after each prompt; None when unknown."""
        ...

    def log_likelihoods(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[tuple[float, int]]:
        """(summed log-probability, tokens) of each continuation after its prompt, its end included."""
        ...


class GeneratorBase:
    """What every generator derives from: the defaults of a backend that has none of the
    optional capabilities (no local tokenizer, no streaming, no scoring, counts at 0, no
    context to check, no finish reasons). A generator of your own derives from it and writes
    ``generate``::

        class Echo(GeneratorBase):
            def generate(self, prompts, params):
                return [[p[-10:]] * params.n for p in prompts]
    """

    tokenizer: Any = None
    chat_template: bool = False
    streams: bool = False
    scores: bool = False
    tokens_generated: int = 0
    truncated_prompts: int = 0
    refused_prompts: int = 0
    last_finish: list[list[str | None]] | None = None
    last_usage: list[tuple[int, int] | None] | None = None

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[str]]:
        raise NotImplementedError(f"{type(self).__name__} must define generate(prompts, params)")

    def check_fits(self, prompts: Sequence[str], params: SamplingParams) -> None:
        """Nothing to check here: the backend (an endpoint) refuses what does not fit itself."""

    def room(self, prompts: Sequence[str]) -> list[int] | None:
        """Unknown here: the backend (an endpoint) knows its own context."""
        return None

    def log_likelihoods(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[tuple[float, int]]:
        raise GeneratorError(f"{type(self).__name__} does not score text")


class GeneratorError(CorrectError, RuntimeError):
    """A user-facing problem with a generator (missing model, bad backend)."""


class ContextError(GeneratorError):
    """A prompt and its token budget do not fit the model's context: refused, not mangled."""


def finish_reasons(generator, completions: list[list[str]]) -> list[list[str | None]]:
    """Why each of ``completions`` (what ``generator.generate`` just returned) ended, from its
    ``last_finish``; None for each where the generator does not tell (or, written to the
    protocol without ``GeneratorBase``, has no ``last_finish``)."""
    known = getattr(generator, "last_finish", None)
    if known is None or [len(c) for c in known] != [len(c) for c in completions]:
        return [[None] * len(c) for c in completions]
    return [list(c) for c in known]


def usages(generator, prompts: int) -> list[tuple[int, int] | None]:
    """What each of the ``prompts`` prompts of ``generator``'s last call took (``last_usage``);
    None for each where the generator does not count, or counted another call's prompts."""
    known = getattr(generator, "last_usage", None)
    return list(known) if known is not None and len(known) == prompts else [None] * prompts


def refusals(generator) -> dict[int, str]:
    """The prompts of ``generator``'s last call that its endpoint refused, each with the
    endpoint's words (``last_refused``; a backend that gives only their places: "refused")."""
    known = getattr(generator, "last_refused", None) or {}
    return dict(known) if isinstance(known, dict) else dict.fromkeys(known, "refused")


class Rewrites(NamedTuple):
    """A corrector's decode (``rewrites_of``, ``rewrites_within``)."""

    texts: list[list[str]]
    """``params.n`` rewrites of each input; an input's draft where it was kept."""
    finish: list[list[str | None]]
    """Why each rewrite ended (``finish_reasons``)."""
    kept: frozenset[int]
    """The inputs whose draft was given back unchanged: refused, or filling the context."""
    refused: dict[int, str]
    """The inputs the backend refused (an endpoint's 400), each with the endpoint's words."""


def rewrites_of(generator, inputs: Sequence[str], params: SamplingParams, drafts: Sequence[str]) -> Rewrites:
    """A corrector's decode: ``generator``'s ``params.n`` rewrites of each input. Where the
    backend refused an input (an endpoint's 400, ``last_refused``) its draft is kept: an empty
    rewrite would replace a draft with nothing."""
    out = generator.generate(inputs, params)
    finish = finish_reasons(generator, out)
    refused = refusals(generator)
    for i in refused:
        out[i] = [drafts[i]] * len(out[i])
    return Rewrites(out, finish, frozenset(refused), refused)


def rewrites_within(generator, inputs: Sequence[str], params: SamplingParams, drafts: Sequence[str]) -> Rewrites:
    """``rewrites_of``, each rewrite within ``generator``'s context: where an input and
    ``params.max_new_tokens`` do not fit together, the rewrite may use only the tokens left (it
    ends where the context does, as vLLM ends a sequence), rather than the input losing its
    oldest tokens, which are the question; an input that fills the context by itself keeps its
    draft (nothing can be rewritten from it). A trained corrector and ``--corrector self`` both."""
    rooms = generator.room(inputs)
    if rooms is None or min(rooms, default=params.max_new_tokens) >= params.max_new_tokens:
        return rewrites_of(generator, inputs, params, drafts)
    out = [[d] * params.n for d in drafts]
    finish: list[list[str | None]] = [[None] * params.n for _ in drafts]
    kept = {i for i, room in enumerate(rooms) if room <= 0}
    refused: dict[int, str] = {}
    budgets: dict[int, list[int]] = {}  # new tokens -> the inputs decoded with that many
    for i, room in enumerate(rooms):
        if room > 0:
            budgets.setdefault(min(room, params.max_new_tokens), []).append(i)
    if kept:
        logging.getLogger("correct").warning(
            "%d corrector inputs fill its context by themselves: their drafts are kept as they are", len(kept)
        )
    for budget, idx in budgets.items():
        part = rewrites_of(
            generator, [inputs[i] for i in idx], replace(params, max_new_tokens=budget), [drafts[i] for i in idx]
        )
        for i, t, why in zip(idx, part.texts, part.finish):
            out[i], finish[i] = t, why  # "length": it ended where the context does
        refused.update((idx[j], why) for j, why in part.refused.items())  # by its endpoint: the draft stays
    return Rewrites(out, finish, frozenset(kept | refused.keys()), refused)


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` before the earliest stop string.

    >>> truncate_at_stop("a = 1\\n\\nnext problem", ["\\n\\n"])
    'a = 1'
    >>> truncate_at_stop("abc", [])
    'abc'
    """
    cut = len(text)
    for s in stop:
        i = text.find(s)
        if s and i != -1:
            cut = min(cut, i)
    return text[:cut]


def chat_prompts(tokenizer, prompts: Sequence[str]) -> list[str]:
    """Each prompt as one user message through the tokenizer's chat template, ready for the
    assistant's answer. The text already holds the template's special tokens (a BOS among
    them): it is tokenized without adding them again."""
    if not getattr(tokenizer, "chat_template", None):
        raise GeneratorError(
            "the generator's tokenizer has no chat template (task key chat_template); "
            "use a chat (instruct) model or leave chat_template out"
        )
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]


def without_doubled_bos(tokenizer, prompts: Sequence[str]) -> list[str]:
    """Prompts whose text already starts with the tokenizer's BOS (a chat template's output,
    e.g. a whole conversation laid out by ``correct serve``) lose that text when the tokenizer
    adds a BOS of its own, so the model sees exactly one."""
    bos = getattr(tokenizer, "bos_token", None)
    if not bos or not any(p.startswith(bos) for p in prompts):
        return list(prompts)
    ids = tokenizer("x")["input_ids"]
    if not ids or ids[0] != tokenizer.bos_token_id:  # it adds none: the text's own is the only one
        return list(prompts)
    return [p[len(bos) :] if p.startswith(bos) else p for p in prompts]


class RewritesKept:
    """A corrector that keeps what its last ``correct`` call decoded besides the texts, for
    ``refine`` to read: ``last_finish``, why each rewrite ended (its generator's
    ``last_finish``; None where unknown), parallel to the texts; ``last_kept``, the drafts given
    back unchanged, not rewritten (their input refused, or filling the context by itself), whose
    reasons are their own decode's; ``last_refused``, those of them whose input the endpoint
    refused, with its words, so that their round says so."""

    last_finish: Sequence[list[str | None]] = ()  # before any call: nothing decoded
    last_kept: frozenset[int] = frozenset()
    last_refused: Mapping[int, str] = MappingProxyType({})

    def rewrite(self, generator, inputs: Sequence[str], params: SamplingParams, drafts: Sequence[str]):
        """``rewrites_within``'s texts, its other fields kept in ``last_*``."""
        done = rewrites_within(generator, inputs, params, drafts)
        self.last_finish, self.last_kept, self.last_refused = done.finish, done.kept, done.refused
        return done.texts
