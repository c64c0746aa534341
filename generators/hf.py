"""Hugging Face ``transformers`` backend: batched ``model.generate`` with left padding."""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from typing import Sequence

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ..errors import first_line
from . import chunked, prefix, sampling, streams, threads
from .base import (
    ContextError,
    GeneratorBase,
    GeneratorError,
    SamplingParams,
    chat_prompts,
    truncate_at_stop,
    without_doubled_bos,
)
from .named import hub_unreachable, is_hub_id, missing_path, resolve_model, unreachable_text
from .streaming import OnText, RowStreamer


def _resolve_dtype(dtype):
    # Accept "bfloat16" / "float16" / "auto" strings from the command line as well as torch dtypes.
    if isinstance(dtype, str) and dtype != "auto":
        return getattr(torch, dtype)
    return dtype


@contextmanager
def peft_quietly():
    """peft reads transformers' deprecated ``is_gradient_checkpointing`` whenever it wraps a
    model, and the FutureWarning that draws names nothing a user can change: it is hidden."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def _load_pretrained(path: str, name: str, dtype):
    """(model, tokenizer) of a model folder or hub id. A LoRA adapter (peft's
    ``adapter_config.json``, as ``correct train --lora-r`` saves a corrector) is loaded on the
    base it records and merged into it, so it decodes as fast as the base alone."""
    base = _adapter_base(path, name)
    if base is None:
        tokenizer = AutoTokenizer.from_pretrained(path)
        return _causal_lm(path, name, dtype), tokenizer
    try:
        from peft import PeftModel
    except ImportError:
        raise GeneratorError(
            f"'{name}' is a LoRA adapter; loading it needs peft: pip install 'correct[lora]'"
        ) from None
    base_path = os.path.expanduser(resolve_model(base))
    if missing_path(base_path) and not is_hub_id(base):
        raise GeneratorError(
            f"'{name}' is a LoRA adapter of the base model '{base}' (adapter_config.json), which does not exist"
        )
    try:
        model, tokenizer = _load_pretrained(base_path, base, dtype)
    except (OSError, ValueError) as e:
        first = first_line(e)
        raise GeneratorError(
            f"'{name}' is a LoRA adapter of the base model '{base}', which could not be loaded: {first}"
        ) from None
    with peft_quietly():
        model = PeftModel.from_pretrained(model, path).merge_and_unload()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)  # the one saved with the adapter, if it was
    except (OSError, ValueError):
        pass
    return model, tokenizer


def _adapter_base(path: str, name: str) -> str | None:
    """The base model a LoRA adapter folder or hub repository records; None for a whole model."""
    import json

    from transformers.utils import find_adapter_config_file

    try:
        found = find_adapter_config_file(path)
    except (OSError, ValueError):
        return None
    if not found:
        return None
    with open(found, encoding="utf-8") as f:
        base = json.load(f).get("base_model_name_or_path")
    if not base:
        raise GeneratorError(f"'{name}' is a LoRA adapter whose adapter_config.json names no base model")
    return base


def _causal_lm(path: str, name: str, dtype):
    """``AutoModelForCausalLM`` of ``path``; a model of another kind (an encoder, a seq2seq
    model) is named as such rather than with transformers' list of every causal LM."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    config = AutoConfig.from_pretrained(path)
    if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
        raise GeneratorError(
            f"'{name}' is a {config.model_type} model, not a causal language model (transformers has "
            "no AutoModelForCausalLM for it)"
        )
    return AutoModelForCausalLM.from_pretrained(path, dtype=_resolve_dtype(dtype))


GREEDY_BELOW = 1e-5
"""Temperatures under this decode greedily, as vLLM's do: sampling would pick the likeliest token
anyway, and logits divided by a temperature near 0 (1e-40) overflow to inf, which transformers'
sampling refuses with a RuntimeError."""


class HFGenerator(GeneratorBase):
    def __init__(
        self,
        model,
        tokenizer,
        batch_size: int = 64,
        device=None,
        chat_template: bool = False,
        prefix_cache: bool = True,
        drop_finished: bool = True,
        hold_prefix: bool = True,
    ):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        # Decoder-only models continue from the last position, so padding must go on the left;
        # over-long prompts lose their oldest tokens rather than the ones next to the completion.
        tokenizer.padding_side = "left"
        tokenizer.truncation_side = "left"
        rows = getattr(model.get_input_embeddings(), "num_embeddings", None)
        # No pad, or one added to the tokenizer and not to the embeddings (a fine-tune's): pads are masked, eos does
        if tokenizer.pad_token is None or (rows and (tokenizer.pad_token_id or 0) >= rows):
            tokenizer.pad_token = tokenizer.eos_token
        self.batch_size = batch_size
        self.chat_template = chat_template
        """Prompts go through the tokenizer's chat template as one user message each."""
        self.prefix_cache = prefix_cache
        """Encode the prompts' shared token prefix (a few-shot header) once per call and reuse its
        keys and values in every batch; off, each batch encodes every prompt whole."""
        self.hold_prefix = hold_prefix
        """While decoding, every row attends to the one copy of that shared prefix (where the model
        passes ``prefix.supports_shared_attention``); off, its keys and values are copied to every row."""
        self.drop_finished = drop_finished
        """A batch's ended rows leave its later decoding steps (``chunked``), greedy or sampled;
        off, every row is decoded until the batch's last one ends."""
        self.tokens_generated = 0
        self.truncated_prompts = 0
        """Prompts cut to fit the context (their oldest tokens dropped), over every call."""
        self.weights = sum(p.numel() for p in model.parameters())
        cfg = model.config
        self.max_positions = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str, device=None, dtype=None, batch_size: int = 64, chat_template: bool = False
    ) -> "HFGenerator":
        path = os.path.expanduser(resolve_model(name_or_path))
        is_local = os.path.exists(path)
        if not is_local and missing_path(name_or_path):
            raise GeneratorError(f"model path '{name_or_path}' does not exist")
        unreachable = GeneratorError(unreachable_text("model", name_or_path))
        if not is_local and hub_unreachable(name_or_path):
            raise unreachable
        try:
            model, tokenizer = _load_pretrained(path, name_or_path, dtype)
        except (OSError, ValueError) as e:
            # Hub/offline failures surface as OSError subclasses (or ValueError for odd ids);
            # the user needs one sentence, not a chain of requests/hub tracebacks.
            if is_local:
                first = first_line(e)
                raise GeneratorError(f"could not load model from '{name_or_path}': {first}") from None
            raise unreachable from None
        return cls(model, tokenizer, batch_size=batch_size, device=device, chat_template=chat_template)

    def _max_new_and_input(self, params: SamplingParams) -> tuple[int, int | None]:
        """(new tokens, room left for the prompt). A budget that leaves no room for a prompt
        is refused: cutting every prompt to its last token only makes garbage."""
        if not self.max_positions:
            return params.max_new_tokens, None
        if params.max_new_tokens >= self.max_positions:
            raise ContextError(
                f"max_new_tokens {params.max_new_tokens} leaves no room for a prompt in this model's context of "
                f"{self.max_positions} tokens; ask for fewer",
                option="max_new_tokens",
            )
        return params.max_new_tokens, self.max_positions - params.max_new_tokens

    def check_fits(self, prompts: Sequence[str], params: SamplingParams) -> None:
        """A ContextError naming the numbers when a prompt and ``params.max_new_tokens`` do not
        fit the context together (``correct serve`` refuses such a request, as OpenAI does):
        ``option`` is ``prompt`` for a prompt that fills the context by itself, else ``max_tokens``."""
        if not self.max_positions:
            return
        for n in self._prompt_lengths(prompts):
            if n >= self.max_positions:
                raise ContextError(
                    f"the prompt has {n} tokens and this model's context is {self.max_positions}, which leaves no "
                    "room for an answer: send a shorter prompt",
                    option="prompt",
                )
            if n + params.max_new_tokens > self.max_positions:
                raise ContextError(
                    f"this model's context is {self.max_positions} tokens; the prompt has {n} and max_tokens asks "
                    f"for {params.max_new_tokens}: ask for at most {self.max_positions - n} new tokens, or send a "
                    "shorter prompt",
                    option="max_tokens",
                )

    def room(self, prompts: Sequence[str]) -> list[int] | None:
        """The new tokens that fit in the context after each prompt (negative: the prompt alone
        is longer); None for a model without a known context."""
        if not self.max_positions:
            return None
        return [self.max_positions - n for n in self._prompt_lengths(prompts)]

    def _prompt_lengths(self, prompts: Sequence[str]) -> list[int]:
        """Each prompt's tokens as ``generate`` encodes it; the last call's kept (serve: ``room``, ``check_fits``)."""
        key = (self.chat_template, *prompts)
        last = getattr(self, "_last_lengths", ((),))  # read once: a server may ask from two threads
        if last[0] != key:
            last = self._last_lengths = (key, [len(ids) for ids in self._encoded(list(prompts))[1]] if prompts else [])
        return last[1]

    def _encoded(self, prompts: list[str]) -> tuple[list[str], list[list[int]], bool]:
        """(the prompts' text as the model reads it, their token ids, whether the tokenizer adds
        special tokens): laid out by the chat template, whose text holds its special tokens
        already, or else with one BOS however the text began."""
        if self.chat_template:
            prompts = chat_prompts(self.tokenizer, prompts)
        special = not self.chat_template
        if special:
            prompts = without_doubled_bos(self.tokenizer, prompts)
        ids = self.tokenizer(prompts, add_special_tokens=special)["input_ids"]
        if any(not row for row in ids):
            # A prompt of no tokens leaves the model nothing to continue from (transformers fails
            # with an IndexError): it starts from the start of a text, as GPT-2 writes unprompted.
            start = self.tokenizer.bos_token or self.tokenizer.eos_token
            if not start:
                raise GeneratorError("a prompt is empty and the generator's tokenizer has no BOS or EOS to start from")
            prompts = [p if row else start for p, row in zip(prompts, ids)]
            ids = [row or self.tokenizer(start, add_special_tokens=special)["input_ids"] for row in ids]
        return prompts, ids, special

    streams = True
    """``generate`` takes ``on_text``: text handed out as it is decoded (``correct serve``)."""
    scores = True
    """``log_likelihoods`` scores text (``--fluency``)."""

    @torch.inference_mode()
    def generate(
        self, prompts: Sequence[str], params: SamplingParams, on_text: OnText | None = None
    ) -> list[list[str]]:
        """``params.n`` completions of every prompt. ``on_text(i, delta)``, with ``params.n``
        1, receives prompt i's text as it is decoded (only ever a prefix of its final text);
        such a call decodes on the plain path, without the shared-prefix and finished-row
        shortcuts, whose steps do not map to rows one to one. ``last_finish``: why each ended."""
        prompts = list(prompts)
        if on_text is not None and params.n != 1:
            raise ValueError("on_text streams one completion per prompt; params.n must be 1")
        self.last_finish = None
        if not prompts:
            self.last_finish = []
            return []
        if self.device.type == "cpu":
            threads.apply()  # the cores free now: waiting on a busy one would hold every thread up
        max_new, max_in = self._max_new_and_input(params)
        greedy = params.temperature < GREEDY_BELOW
        prompts, token_ids, special = self._encoded(prompts)
        # Sorting by length keeps padding (wasted compute) low inside each batch.
        lengths = [len(ids) for ids in token_ids]
        order = sorted(range(len(prompts)), key=lambda i: lengths[i])
        # Both shortcuts below hand a cache back to generate: only one of transformers' plain kind.
        reuse = (
            on_text is None
            and (self.prefix_cache or self.drop_finished)
            and prefix.supports_reuse(self.model, self.device)
        )
        fits = max_in is None or max(lengths) <= max_in  # truncated prompts take the plain path
        # Prompts longer than the room left lose their oldest tokens; counted, for the run to report.
        self.truncated_prompts += 0 if fits else sum(n > max_in for n in lengths)
        # Prompts that share a header (few-shot examples) have its keys and values computed once;
        # the prefix is taken from the whole prompts' tokens, so no token boundary moves.
        gaps = reuse and self.prefix_cache and fits and prefix.supports_gaps(self.model, self.device)
        shared = prefix.shared_length(token_ids) if gaps else 0
        head = prefix.encode_prefix(self.model, token_ids[0][:shared], self.device) if shared else None
        # ... and, where the model allows, held once while decoding rather than copied to every row.
        held_once = head is not None and self.hold_prefix and prefix.supports_shared_attention(self.model, self.device)
        # Greedy decoding gives identical copies, so generate each prompt once and repeat.
        per_prompt = 1 if greedy else params.n
        # Sampled drafts of the dropping path encode each prompt once for its n rows.
        once = reuse and self.drop_finished and per_prompt > 1
        pad_id, eos_id = self.tokenizer.pad_token_id, self.tokenizer.eos_token_id
        eos = self.model.generation_config.eos_token_id
        eos_ids = [] if eos is None else ([eos] if isinstance(eos, int) else list(eos))
        kwargs = dict(max_new_tokens=max_new, use_cache=True, pad_token_id=pad_id, do_sample=False)
        if any(params.stop):
            # Early exit only; the text is still cut with truncate_at_stop below, which skips an
            # empty stop string: here it would end every completion at its first token.
            kwargs.update(stop_strings=[s for s in params.stop if s], tokenizer=self.tokenizer)

        def decode(idx: list[int]) -> torch.Tensor:
            """The new tokens of one batch: ``per_prompt`` rows a prompt, a prompt's together."""
            if head is not None:
                enc = prefix.suffix_batch([token_ids[i] for i in idx], shared, pad_id, self.device)
                rows = len(idx) * (1 if once else per_prompt)
                enc["cache"] = prefix.SharedPrefixCache.after(head) if held_once else prefix.expand(head, rows)
            else:
                enc = self.tokenizer(
                    [prompts[i] for i in idx],
                    return_tensors="pt",
                    padding=True,
                    truncation=max_in is not None,
                    max_length=max_in,
                    return_attention_mask=True,  # left padding is only right with the mask
                    add_special_tokens=special,
                ).to(self.device)
            own = dict(kwargs)
            if not greedy:  # every sample draws from its own seeded stream (generators/sampling.py)
                seeds = [sampling.row_seed(params.seed, i, j) for i in idx for j in range(per_prompt)]
                own.update(sampling.sampling_kwargs(seeds, params.temperature, params.top_p))
                if not once:  # a row a sample from the start
                    enc.update(
                        {k: enc[k].repeat_interleave(per_prompt, dim=0) for k in ("input_ids", "attention_mask")}
                    )
            if on_text is not None:
                streamer = RowStreamer(self.tokenizer, idx, params.stop, on_text, eos_ids)
                return self.model.generate(**enc, **own, streamer=streamer)[:, enc["input_ids"].shape[1] :]
            with prefix.attending(self.model, enc.get("cache")):
                return self._generate(enc, own, once, per_prompt, reuse)

        results: list[list[str]] = [[] for _ in prompts]
        finish: list[list[str]] = [[] for _ in prompts]
        # on_text is called from this thread only: text handed out as decoded is one batch at a time
        work = 0 if on_text is not None else self.weights * len(order) * per_prompt
        for idx, new in streams.decode_batches(order, self.batch_size, decode, self.device, work):
            real = new != pad_id
            if eos_id is not None:
                real &= new != eos_id
            self.tokens_generated += int(real.sum())
            texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
            ended = chunked.ended_early(new, [eos_id, *eos_ids], pad_id, max_new)
            for j, i in enumerate(idx):
                rows = range(j * per_prompt, (j + 1) * per_prompt)
                chunk = [truncate_at_stop(texts[k], params.stop) for k in rows]
                # A row ends at its budget ("length") unless it ended itself or met a stop string.
                why = ["stop" if ended[k] or len(c) < len(texts[k]) else "length" for k, c in zip(rows, chunk)]
                results[i], finish[i] = (chunk * params.n, why * params.n) if greedy else (chunk, why)
        self.last_finish = finish
        return results

    def _generate(self, enc: dict, kwargs: dict, once: bool, per_prompt: int, reuse: bool) -> torch.Tensor:
        """The new tokens of one batch, on the path ``generate`` chose for it."""
        if once:
            enc = prefix.encode_once_for_samples(self.model, enc, per_prompt)
        if reuse and self.drop_finished:
            return chunked.generate_dropping_finished(self.model, enc, kwargs)
        return self.model.generate(**enc, **kwargs)[:, enc["input_ids"].shape[1] :]

    @torch.inference_mode()
    def log_likelihoods(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[tuple[float, int]]:
        """(sum of log p, token count) of each continuation after its prompt, the end-of-text
        token included, so an empty continuation is scored too (by how likely the model is
        to stop right there). Prompts too long for the model lose their oldest tokens."""
        eos = self.tokenizer.eos_token_id
        rows = []
        for p, c in zip(prompts, continuations):
            ctx = self.tokenizer(p, add_special_tokens=False)["input_ids"]
            cont = self.tokenizer(c, add_special_tokens=False)["input_ids"] + ([eos] if eos is not None else [])
            if self.max_positions:
                cont = cont[: self.max_positions - 1]
                ctx = ctx[max(0, len(ctx) - (self.max_positions - len(cont))) :]
            if not ctx and eos is not None:
                ctx = [eos]  # the first token needs something to be predicted from
            rows.append((ctx, cont))
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + len(rows[i][1]))
        results: list[tuple[float, int]] = [(0.0, 0)] * len(rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            seqs = [rows[i][0] + rows[i][1] for i in idx]
            width = max(len(s) for s in seqs)
            ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], device=self.device)
            mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=self.device)
            logp = torch.log_softmax(self.model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
            for j, i in enumerate(idx):
                ctx, cont = rows[i]
                if not cont:
                    continue
                positions = torch.arange(len(ctx) - 1, len(ctx) + len(cont) - 1, device=self.device)
                target = torch.tensor(cont, device=self.device)
                results[i] = (float(logp[j, positions, target].sum()), len(cont))
        return results
