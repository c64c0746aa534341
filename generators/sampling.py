"""Sampling in which every row draws its own random numbers.

``transformers`` samples a batch from torch's one global generator, row after row. So what a
seed gives a prompt depends on the rows decoded beside it, on the rows that have already left
the batch (``chunked``), and on any other thread sampling at the same moment (two requests of
``correct serve``, or batches decoded side by side). ``RowSampler`` ends the chain of logits
processors instead. It warps the scores as sampling does (temperature, then top-p), draws each
row's token by inverse CDF from a uniform number of the row's own stream (``random.Random``,
seeded by the call's seed, the prompt's place in the call and the sample's number), and hands
``generate`` scores that are 0 at that token and -inf elsewhere, for its greedy step to take.

A seed then gives a prompt's sample the same text whatever batch, thread, path (streamed, rows
dropped or not) or number of threads decoded it, as far as the logits themselves agree.
"""

from __future__ import annotations

import random
from typing import Sequence

import torch
from transformers import LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper


def row_seed(seed: int, prompt: int, sample: int) -> int:
    """The seed of one sample's random numbers: a prompt's samples, and one sample of two
    prompts, draw different ones.

    >>> len({row_seed(0, p, s) for p in range(100) for s in range(8)})
    800
    """
    return (seed * 1_000_003 + prompt) * 65_537 + sample


class RowSampler(LogitsProcessor):
    """Draws each row's next token with the row's own random numbers (module docstring).
    ``keep(rows)`` follows a batch whose other rows have left."""

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float = 1.0):
        self.streams = [random.Random(s) for s in seeds]
        self.warpers = [TemperatureLogitsWarper(temperature)] + ([TopPLogitsWarper(top_p)] if top_p < 1.0 else [])

    def keep(self, rows: Sequence[int]) -> None:
        """Only these rows (by their place now) go on decoding."""
        self.streams = [self.streams[i] for i in rows]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if scores.shape[0] != len(self.streams):
            raise RuntimeError(f"{scores.shape[0]} rows to sample, but {len(self.streams)} rows' random numbers")
        for warp in self.warpers:
            scores = warp(input_ids, scores)
        cdf = torch.softmax(scores.float(), dim=-1).cumsum(dim=-1)
        total = cdf[:, -1:]
        u = torch.tensor([[s.random()] for s in self.streams], dtype=cdf.dtype, device=cdf.device)
        # The first token whose cumulative probability passes u (a token of probability 0 never does).
        picked = torch.searchsorted(cdf, u * total, right=True)
        # A u within 2**-25 of 1 is 1 in float32, and passes no token: it takes the last token of
        # positive probability (the first to reach the total), not the vocabulary's last.
        picked = torch.minimum(picked, (cdf < total).sum(dim=-1, keepdim=True))
        return torch.full_like(scores, -float("inf")).scatter_(1, picked, 0.0)


def sampler_of(kwargs: dict) -> RowSampler | None:
    """The ``RowSampler`` among ``generate`` keyword arguments' logits processors, if any."""
    return next((p for p in kwargs.get("logits_processor") or () if isinstance(p, RowSampler)), None)


def sampling_kwargs(seeds: Sequence[int], temperature: float, top_p: float) -> dict:
    """``generate`` keyword arguments that sample ``len(seeds)`` rows, a stream each."""
    return {"do_sample": False, "logits_processor": LogitsProcessorList([RowSampler(seeds, temperature, top_p)])}
