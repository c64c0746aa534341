"""A shared prompt prefix (a few-shot header) encoded once: its keys and values are computed in
one batch-1 pass and copied to every row, so a batch only encodes each prompt's own suffix.

Rows are laid out as ``prefix | pads | suffix``: the pads sit between the shared prefix and a
shorter suffix and are masked out, and ``generate`` numbers positions by the attention mask's
running sum, so every real token keeps the position it has in the plain left-padded layout.
"""

from __future__ import annotations

import copy
import inspect
import weakref
from typing import Sequence

import torch
from transformers import DynamicCache

try:
    from transformers.cache_utils import DynamicLayer
except ImportError:  # transformers before per-layer caches (and ``cache=``): the plain path only
    DynamicLayer = None

MIN_SHARED = 16
"""A shared prefix shorter than this is not worth a separate pass: the plain path is used."""


def common_prefix_length(seqs: Sequence[Sequence[int]]) -> int:
    """How many leading tokens every sequence has in common.

    >>> common_prefix_length([[1, 2, 3, 4], [1, 2, 3], [1, 2, 5]])
    2
    >>> common_prefix_length([[7, 1], [8, 1]]), common_prefix_length([[4, 5]]), common_prefix_length([])
    (0, 2, 0)
    """
    if not seqs:
        return 0
    first, n = seqs[0], min(len(s) for s in seqs)
    for s in seqs[1:]:
        n = next((i for i in range(n) if s[i] != first[i]), n)
    return n


def shared_length(seqs: Sequence[Sequence[int]], min_tokens: int = MIN_SHARED) -> int:
    """Length of the prefix to encode once, or 0 for none. Every row keeps at least its last
    token out of it: generation continues from the logits of a token passed with the batch.

    >>> shared_length([[1] * 20 + [2], [1] * 20 + [3, 4]])
    20
    >>> shared_length([[1] * 20, [1] * 20 + [3]])  # the shorter prompt keeps its last token
    19
    >>> shared_length([[1] * 5 + [2], [1] * 5 + [3]])  # too short to pay for a pass
    0
    """
    n = min(common_prefix_length(seqs), min(len(s) for s in seqs) - 1) if seqs else 0
    return n if n >= min_tokens else 0


_REUSABLE: "weakref.WeakKeyDictionary[torch.nn.Module, bool]" = weakref.WeakKeyDictionary()


def supports_reuse(model, device) -> bool:
    """Whether ``model`` keeps its keys and values in a ``DynamicCache`` of full-attention layers,
    the kind that can be copied, grown and cut by rows and then handed back to ``generate``.
    Sliding-window, linear-attention (recurrent) and model-specific caches take the plain path.
    Never in training mode, where gradient checkpointing can turn the cache off. Found out once
    per model, from a one-token forward pass."""
    if model.training or DynamicLayer is None:
        return False
    if model not in _REUSABLE:
        out = model(input_ids=torch.zeros((1, 1), dtype=torch.long, device=device), use_cache=True)
        cache = getattr(out, "cache", None)
        _REUSABLE[model] = isinstance(cache, DynamicCache) and all(
            type(layer) is DynamicLayer for layer in cache.layers
        )
    return _REUSABLE[model]


def encode_prefix(model, ids: Sequence[int], device) -> DynamicCache:
    """The keys and values of ``ids`` (one row), from a single forward pass."""
    only_last = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    return model(input_ids=torch.tensor([list(ids)], device=device), use_cache=True, **only_last).cache


def expand(cache: DynamicCache, rows: int) -> DynamicCache:
    """A fresh copy of a batch-1 ``cache`` for ``rows`` rows; ``generate`` appends to the copy,
    so the prefix's own cache stays reusable for the next batch."""
    out = copy.deepcopy(cache)
    out.batch_repeat_interleave(rows)
    return out


def suffix_batch(seqs: Sequence[Sequence[int]], shared: int, pad_id: int, device) -> dict[str, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` for ``generate`` with the first ``shared`` tokens of
    every row already in the cache: each row is ``prefix | pads | suffix``, pads masked.

    >>> b = suffix_batch([[5, 5, 1], [5, 5, 2, 3]], 2, 0, "cpu")
    >>> b["input_ids"].tolist(), b["attention_mask"].tolist()
    ([[5, 5, 0, 1], [5, 5, 2, 3]], [[1, 1, 0, 1], [1, 1, 1, 1]])
    """
    width = max(len(s) for s in seqs) - shared
    ids, mask = [], []
    for s in seqs:
        pads = width - (len(s) - shared)
        ids.append(list(s[:shared]) + [pad_id] * pads + list(s[shared:]))
        mask.append([1] * shared + [0] * pads + [1] * (len(s) - shared))
    return {"input_ids": torch.tensor(ids, device=device), "attention_mask": torch.tensor(mask, device=device)}


def encode_once_for_samples(model, enc: dict, samples: int) -> dict:
    """``enc`` (``input_ids``, ``attention_mask``, optionally a ``cache`` of the first tokens,
    a row a prompt) made ready to draw ``samples`` completions of each prompt, with every
    prompt's tokens encoded once: one forward pass over what the cache lacks but the last
    token, then the cache, ids and mask repeated row by row (a prompt's samples together).
    ``generate`` then feeds each row its last token, numbered as it numbers positions (the
    attention mask's running sum), so the draws are those of the plain path's layout."""
    ids, mask, cache = enc["input_ids"], enc["attention_mask"], enc.get("cache")
    done = cache.get_seq_length() if cache is not None else 0
    if ids.shape[1] - 1 > done:
        positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
        only_last = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
        cache = model(
            input_ids=ids[:, done:-1],
            attention_mask=mask[:, :-1],
            position_ids=positions[:, done:-1],
            cache=cache if cache is not None else DynamicCache(),
            use_cache=True,
            **only_last,
        ).cache
    if cache is not None:
        cache.batch_repeat_interleave(samples)
    out = {"input_ids": ids.repeat_interleave(samples, dim=0), "attention_mask": mask.repeat_interleave(samples, dim=0)}
    return {**out, "cache": cache} if cache is not None else out
