"""Decoding a few steps at a time, dropping the rows that finished in between.

``model.generate`` keeps every row of a batch until the last one ends, so a draft that met its
stop string early still costs a row of every later step. Decoding ``EVERY`` steps per call and
resuming from the returned cache with only the unfinished rows (``Cache.batch_select_indices``)
makes the later steps cheaper and gives the same greedy tokens: resuming feeds the last token
against the same keys and values, at the position the attention mask gives it.

Sampling goes the same way: each row draws from its own stream of random numbers
(``sampling.RowSampler``, which follows the rows left), so a seed gives the same samples as the
plain path. A prompt's ``num_return_sequences`` samples are expanded by the first call.
"""

from __future__ import annotations

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, StopStringCriteria

from .sampling import sampler_of

EVERY = 8
"""Decoding steps per ``generate`` call; each call costs a little setup, each step a finished
row stays in the batch costs a row of compute."""

PER_CALL = ("min_new_tokens", "forced_eos_token_id", "exponential_decay_length_penalty", "begin_suppress_tokens")
"""Generation config fields whose logits processors count steps from the start of each
``generate`` call (end of text held back, forced at the call's last step, ...): a model whose
checkpoint sets one is decoded in one call, its rows kept to the end, as ``generate`` does."""


class FinishedRows(StoppingCriteria):
    """Remembers which rows ``generate`` has ended (end of text, which its own criterion stops,
    or a stop string, which this one stops): ``generate`` is not given the stop strings, so the
    criterion that finds them is built once for a batch, not again by each call (on every call
    it reads the tokenizer's whole vocabulary, a few percent of a greedy batch's time)."""

    def __init__(self, rows: int, eos: torch.Tensor | None, stop: StopStringCriteria | None, device):
        self.done = torch.zeros(rows, dtype=torch.bool, device=device)
        self.eos, self.stop = eos, stop

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        if self.eos is not None:
            self.done |= torch.isin(input_ids[:, -1], self.eos)
        if self.stop is None:
            return torch.zeros_like(self.done)
        stopped = self.stop(input_ids, scores)
        self.done |= stopped
        return stopped


def generate_dropping_finished(model, enc: dict, kwargs: dict, every: int | None = None) -> torch.Tensor:
    """The new tokens ``model.generate(**enc, **kwargs)`` returns (rows that ended padded with
    ``pad_token_id``, as wide as the steps run; ``num_return_sequences`` rows a prompt, a
    prompt's together), decoded ``every`` steps per call (default ``EVERY``) with the ended rows
    left out of the next call. ``enc`` holds ``input_ids``, the ``attention_mask`` and
    optionally a ``cache`` of the first tokens (as many rows as there are samples)."""
    every = every or EVERY
    if any(getattr(model.generation_config, name, None) is not None for name in PER_CALL):
        every = kwargs["max_new_tokens"]
    ids, mask, cache = enc["input_ids"], enc["attention_mask"], enc.get("cache")
    budget, device = kwargs["max_new_tokens"], ids.device
    samples = kwargs.get("num_return_sequences") or 1
    eos = model.generation_config.eos_token_id
    eos = None if eos is None else torch.tensor(eos, device=device).reshape(-1)
    kwargs = dict(kwargs)
    strings, tokenizer = kwargs.pop("stop_strings", None), kwargs.pop("tokenizer", None)
    stop = StopStringCriteria(tokenizer, strings) if strings else None
    new = torch.full((ids.shape[0] * samples, budget), kwargs["pad_token_id"], dtype=ids.dtype, device=device)
    rows, steps = torch.arange(ids.shape[0] * samples, device=device), 0
    first_mask, mask = mask, mask.repeat_interleave(samples, dim=0)  # later calls: a row per sample
    sampler = sampler_of(kwargs)
    while True:
        finished = FinishedRows(len(rows), eos, stop, device)
        out = model.generate(
            input_ids=ids,
            attention_mask=mask if steps else first_mask,
            cache=cache,
            return_dict_in_generate=True,
            stopping_criteria=StoppingCriteriaList([finished]),
            **{**kwargs, "max_new_tokens": min(every, budget - steps), "num_return_sequences": 1 if steps else samples},
        )
        got = out.sequences[:, ids.shape[1] :]
        new[rows, steps : steps + got.shape[1]] = got
        steps += got.shape[1]
        keep = ~finished.done
        if steps >= budget or not keep.any():
            return new[:, :steps]
        # The cache holds every token but the last one generated, which the next call feeds.
        cache = out.cache
        cache.batch_select_indices(keep.nonzero()[:, 0])
        if sampler is not None:
            sampler.keep(keep.nonzero()[:, 0].tolist())
        ids, rows = out.sequences[keep], rows[keep]
        mask = torch.cat([mask, mask.new_ones(got.shape)], dim=1)[keep]


def ended_early(new: torch.Tensor, eos_ids, pad_id: int | None, budget: int) -> list[bool]:
    """Which rows of ``new`` (a batch's new tokens as ``generate`` or
    ``generate_dropping_finished`` return them: a row that ended is padded to the batch's
    width) ended before decoding ``budget`` tokens: a row holding an end-of-text token, or
    padded at its end, or every row of a batch narrower than ``budget`` (each met its end or a
    stop string). A row that ran the whole budget may still end at a stop string that its last
    token completed: that is for its text to show."""
    if new.shape[1] < budget:
        return [True] * new.shape[0]
    ends = torch.tensor(sorted({t for t in eos_ids if t is not None}), dtype=new.dtype, device=new.device)
    ended = torch.isin(new, ends).any(dim=1)
    if pad_id is not None:
        ended |= new[:, -1] == pad_id
    return ended.tolist()
