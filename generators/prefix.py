"""A shared prompt prefix (a few-shot header) encoded once: its keys and values are computed in
one batch-1 pass, so a batch only encodes each prompt's own suffix.

Where the model allows it (``supports_shared_attention``), the prefix is also held once while
decoding: every row attends to the one batch-1 copy (one matrix product for all rows, as in
cascade attention) and the cache grows by each row's own tokens only. Otherwise the prefix's
keys and values are copied to every row (``expand``), and every step copies them again as the
cache grows.

Rows are laid out as ``prefix | pads | suffix``: the pads sit between the shared prefix and a
shorter suffix and are masked out, and ``generate`` numbers positions by the attention mask's
running sum, so every real token keeps the position it has in the plain left-padded layout.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import inspect
import threading
import weakref
from typing import Sequence

import torch
from transformers import DynamicCache
from transformers.generation.configuration_utils import GenerationMode

try:
    from transformers.cache_utils import DynamicLayer
except ImportError:  # transformers before per-layer caches (and ``cache=``): the plain path only
    DynamicLayer = None
try:  # the interfaces a prefix held once plugs into; without them it is copied to every row
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
except ImportError:
    AttentionInterface = None

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
    Sliding-window, linear-attention (recurrent) and model-specific caches take the plain path,
    and so does a generation config that asks for a search or a cache of its own (``generates_plainly``).
    Never in training mode, where gradient checkpointing can turn the cache off. Found out once
    per model, from a one-token forward pass."""
    if model.training or DynamicLayer is None or not generates_plainly(model.generation_config):
        return False
    if model not in _REUSABLE:
        out = model(input_ids=torch.zeros((1, 1), dtype=torch.long, device=device), use_cache=True)
        cache = getattr(out, "cache", None)
        _REUSABLE[model] = isinstance(cache, DynamicCache) and all(
            type(layer) is DynamicLayer for layer in cache.layers
        )
    return _REUSABLE[model]


def generates_plainly(generation_config) -> bool:
    """Whether ``generate``, asked for ``do_sample=False`` as the engine always asks (its sampling
    is ``sampling.RowSampler``'s), runs a greedy search on a cache it may be handed. A
    checkpoint's generation config that names a cache (``cache_implementation``: ``generate``
    refuses a cache handed in beside it) or another search (beams, contrastive, assisted) keeps
    rows and caches of its own: such a model takes the plain path, as plain ``generate`` would."""
    config = copy.copy(generation_config)
    config.do_sample = False
    return config.cache_implementation is None and config.get_generation_mode() == GenerationMode.GREEDY_SEARCH


_GAPS: "weakref.WeakKeyDictionary[torch.nn.Module, bool]" = weakref.WeakKeyDictionary()

WINDOWS = ("sliding_window", "window_size", "attention_window", "attention_chunk_size")
"""Config fields of an attention window. A window counts cache slots, masked pads included."""


def supports_gaps(model, device) -> bool:
    """Whether masked pads between the shared prefix and a row's own tokens (``suffix_batch``'s
    layout) leave the row's logits as they are: positions come from the attention mask. Not so
    where attention reads the cache slots' order: ALiBi by slot (MPT), or a window of slots
    (GPT-Neo's local layers keep a plain cache), which pads would shorten. Such a model encodes
    each prompt whole. Found out once per model, from the config and on one row of a few tokens."""
    if model not in _GAPS:
        text = model.config.get_text_config()
        windowed = any(getattr(text, name, None) for name in WINDOWS)
        _GAPS[model] = not windowed and _pads_ignored(model, device)
    return _GAPS[model]


@torch.inference_mode()
def _pads_ignored(model, device, gap: int = 16) -> bool:
    g = torch.Generator().manual_seed(1)
    vocab = min(model.config.get_text_config().vocab_size, 100)
    head_ids, own = torch.randint(1, vocab, (1, 6), generator=g), torch.randint(1, vocab, (1, 4), generator=g)
    takes_positions = "position_ids" in inspect.signature(model.forward).parameters

    def run(pads: int):  # the row's logits after the prefix and ``pads`` masked pads
        mask = torch.tensor([[1] * 6 + [0] * pads + [1] * 4], device=device)
        ids = torch.cat([torch.full((1, pads), own[0, 0].item()), own], dim=1).to(device)
        positions = {"position_ids": (mask.cumsum(-1) - 1).clamp(min=0)[:, 6:]} if takes_positions else {}
        return model(input_ids=ids, attention_mask=mask, cache=expand(head, 1), use_cache=True, **positions).logits

    try:
        head = model(input_ids=head_ids.to(device), use_cache=True).cache
        plain, gapped = run(0)[0, -4:], run(gap)[0, -4:]
    except Exception:  # a model that takes neither this cache nor these inputs: it encodes prompts whole
        return False
    # In 16 bits a longer row's sums round otherwise (1% of the logits' size); slots read show far more.
    tol = max(1e-4, 16 * torch.finfo(plain.dtype).eps) * max(1.0, plain.float().abs().max().item())
    return (plain.float() - gapped.float()).abs().max().item() <= tol


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


ATTENTION = "correct_shared_prefix"
"""The attention implementation a model runs under ``attending``: its own ``sdpa``, but a layer
of a ``SharedPrefixCache`` attends to the batch-1 prefix and the row's own tokens together."""

_ACTIVE: contextvars.ContextVar["SharedPrefixCache | None"] = contextvars.ContextVar("shared_prefix", default=None)


class SharedPrefixLayer(DynamicLayer if DynamicLayer is not None else object):
    """One layer of a ``SharedPrefixCache``: the prefix's keys and values, batch 1, and each
    row's own after it. ``update`` and the row operations (repeat, select) act on the rows'
    part; the lengths it reports (positions, masks) count the prefix too."""

    def __init__(self, owner: "SharedPrefixCache", keys: torch.Tensor, values: torch.Tensor):
        super().__init__()
        self.owner, self.prefix_keys, self.prefix_values = owner, keys, values
        self.device, self.is_initialized = keys.device, True

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if _ACTIVE.get() is not self.owner:  # attention would not see the prefix: never answer without it
            raise RuntimeError("a SharedPrefixCache runs only inside prefix.attending(model, cache)")
        if self.keys is None:
            self.keys, self.values = key_states, value_states
        else:
            self.keys = torch.cat([self.keys, key_states], dim=-2)
            self.values = torch.cat([self.values, value_states], dim=-2)
        return self.keys, self.values

    def own_length(self) -> int:
        return 0 if self.keys is None else self.keys.shape[-2]

    def get_seq_length(self) -> int:
        return self.prefix_keys.shape[-2] + self.own_length()

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.get_seq_length() + query_length, 0

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove > 0 or -tokens_to_remove > self.own_length():
            raise ValueError(f"a shared-prefix cache drops its rows' last tokens only, not {tokens_to_remove}")
        if tokens_to_remove:
            self.keys, self.values = self.keys[..., :tokens_to_remove, :], self.values[..., :tokens_to_remove, :]

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.keys is not None:
            self.keys = self.keys.repeat_interleave(repeats, dim=0)
            self.values = self.values.repeat_interleave(repeats, dim=0)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.keys is not None:
            self.keys, self.values = self.keys[indices, ...], self.values[indices, ...]

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        self.batch_select_indices(beam_idx)

    def reset(self) -> None:
        self.keys = self.values = None


class SharedPrefixCache(DynamicCache):
    """A ``DynamicCache`` whose first tokens, the same in every row, are kept once."""

    @classmethod
    def after(cls, head: DynamicCache) -> "SharedPrefixCache":
        """A cache for any number of rows that all begin with ``head`` (a batch-1 cache, left as
        it is: the next batch starts from it too)."""
        cache = cls()
        cache.layers = [SharedPrefixLayer(cache, layer.keys, layer.values) for layer in head.layers]
        return cache


def shared_prefix_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """``sdpa`` attention, but for a layer of the active ``SharedPrefixCache``: each row's
    queries against the batch-1 prefix (one product for every row) and against its own keys,
    under one softmax. ``attention_mask`` covers the prefix and the row (``sdpa_mask``'s)."""
    cache = _ACTIVE.get()
    idx = getattr(module, "layer_idx", None)
    layer = cache.layers[idx] if cache is not None and idx is not None and idx < len(cache.layers) else None
    if not isinstance(layer, SharedPrefixLayer) or layer.keys is not key:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs
        )
    prefix_keys, prefix_values = layer.prefix_keys[0], layer.prefix_values[0]  # (kv heads, P, D)
    rows, heads, q_len, dim = query.shape
    kv_heads, shared, own = key.shape[1], prefix_keys.shape[-2], key.shape[-2]
    group = heads // kv_heads  # query heads per key/value head (grouped-query attention)
    q = query.reshape(rows, kv_heads, group * q_len, dim)
    # The prefix: every row's queries of a key/value head in one matrix product.
    flat = q.transpose(0, 1).reshape(kv_heads, rows * group * q_len, dim)
    to_prefix = torch.matmul(flat, prefix_keys.transpose(-1, -2)).reshape(kv_heads, rows, group * q_len, shared)
    scores = torch.cat([to_prefix.transpose(0, 1), torch.matmul(q, key.transpose(-1, -2))], dim=-1)
    scores = scores * (dim**-0.5 if scaling is None else scaling)
    if attention_mask is None and q_len > 1:  # sdpa's mask was skipped for is_causal
        attention_mask = torch.ones(q_len, shared + own, dtype=torch.bool, device=query.device).tril(
            shared + own - q_len
        )
    if attention_mask is not None:
        mask = attention_mask[..., -(shared + own) :]
        mask = mask.expand(rows, 1, q_len, shared + own).unsqueeze(2).expand(rows, 1, group, q_len, shared + own)
        mask = mask.reshape(rows, 1, group * q_len, shared + own)
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + mask
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    to_head = weights[..., :shared].transpose(0, 1).reshape(kv_heads, rows * group * q_len, shared)
    out = torch.matmul(to_head, prefix_values).reshape(kv_heads, rows, group * q_len, dim).transpose(0, 1)
    out = out + torch.matmul(weights[..., shared:], value)
    return out.reshape(rows, heads, q_len, dim).transpose(1, 2).contiguous(), None


if AttentionInterface is not None:
    AttentionInterface.register(ATTENTION, shared_prefix_attention)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)


_HOLDING: dict[int, list] = {}
"""id(config) -> [calls under ``attending`` now, the implementation to put back after the last]."""
_HOLDING_LOCK = threading.Lock()


@contextlib.contextmanager
def attending(model, cache):
    """Run ``model`` with ``cache`` as the active shared-prefix cache (of this thread): its
    layers attend to their prefix once. Any other cache (or none) runs as it is. The model's
    implementation is ours while any thread is inside; calls without a held prefix fall
    through to ``sdpa``, so another thread's plain call meanwhile is answered as before."""
    if not isinstance(cache, SharedPrefixCache):
        yield
        return
    config = model.config
    with _HOLDING_LOCK:
        holding = _HOLDING.setdefault(id(config), [0, config._attn_implementation])
        holding[0] += 1
        config._attn_implementation = ATTENTION
    token = _ACTIVE.set(cache)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
        with _HOLDING_LOCK:
            holding[0] -= 1
            if not holding[0]:
                config._attn_implementation = _HOLDING.pop(id(config))[1]


_SHARED: "weakref.WeakKeyDictionary[torch.nn.Module, bool]" = weakref.WeakKeyDictionary()


def supports_shared_attention(model, device) -> bool:
    """Whether ``model`` (one that ``supports_reuse``, on ``sdpa`` attention) computes the same
    next-token logits with the prefix held once as with it copied to each row. Found out once
    per model, on three rows of a few tokens: a model whose attention does more than softmax of
    scaled products (soft-capping, sinks, biases) fails the check and keeps copying."""
    if model not in _SHARED:
        _SHARED[model] = getattr(model.config, "_attn_implementation", None) == "sdpa" and _same_logits(model, device)
    return _SHARED[model]


@torch.inference_mode()
def _same_logits(model, device) -> bool:
    g = torch.Generator().manual_seed(0)
    vocab = min(model.config.get_text_config().vocab_size, 100)
    head_ids, ids = torch.randint(1, vocab, (1, 5), generator=g), torch.randint(1, vocab, (3, 4), generator=g)
    mask = torch.ones(3, 10, dtype=torch.long)
    mask[0, 5] = 0  # a pad between the prefix and a row's own tokens, as suffix_batch lays them out
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    ids, mask, positions = ids.to(device), mask.to(device), positions.to(device)

    def run(cache):  # the rows' own tokens, then one more step
        first = model(input_ids=ids, attention_mask=mask[:, :9], position_ids=positions[:, 5:9], cache=cache)
        step = model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=positions[:, 9:], cache=first.cache)
        return torch.cat([first.logits[mask[:, 5:9].bool()], step.logits[:, -1]])

    try:
        head = model(input_ids=head_ids.to(device), use_cache=True).cache
        copied = run(expand(head, 3))
        shared = SharedPrefixCache.after(head)
        with attending(model, shared):
            held = run(shared)
    except Exception:  # a model that takes neither this cache nor these inputs: it copies
        return False
    return torch.allclose(held, copied, atol=1e-4, rtol=1e-3)
