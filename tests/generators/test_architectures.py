"""Other architectures than the tiny GPT-2 and Llama of the other tests, and generation configs
that checkpoints ship: the drafts of the engine's shortcuts (a shared header encoded once and
held, ended rows dropped) are those of plain ``model.generate`` on each prompt alone, and a
seed's samples do not depend on the batch. The models are random (a wide initialisation, so
greedy continuations vary) and built from configs: nothing comes from a model hub."""

from __future__ import annotations

import random

import pytest
import torch
from models import bos_tokenizer, tiny_decoder

from correct.generators import SamplingParams, chunked, prefix, truncate_at_stop
from correct.generators.hf import HFGenerator


def _lines(k: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"{a}+{b}={a + b};\n" for a, b in ((rng.randint(0, 99), rng.randint(0, 99)) for _ in range(k))]


HEADER = "".join(_lines(8, seed=3))  # ~70 tokens shared by every prompt: longer than a window of 16
SUFFIXES = ["1+2=", "12+34=46;\n7+8=", "5+", "99+99=198;\n10+20=30;\n40+50=90;\n3+4=7;\n61+", "3", "61+7="]
PROMPTS = [HEADER + s for s in SUFFIXES]
GREEDY = SamplingParams(temperature=0, max_new_tokens=16, stop=("=99;",))

ARCHS = {
    "gpt_neox": dict(rotary_pct=0.5),
    "qwen3": dict(head_dim=16),
    "gemma": dict(head_dim=16),
    "opt": dict(ffn_dim=128, word_embed_proj_dim=64),
    "bloom": dict(n_head=4),  # ALiBi from the attention mask: pads are no distance
    "falcon": dict(),
    "gptj": dict(rotary_dim=8, n_inner=128),
    "starcoder2": dict(),
    # ALiBi by cache slot: pads between the header and a row's tokens would move the header away
    "mpt": dict(d_model=64, n_heads=4, n_layers=2, max_seq_len=256, expansion_ratio=2),
    # local layers over a window of 16 cache slots, in a plain cache: pads would shorten the window
    "gpt_neo": dict(attention_types=[[["global", "local"], 1]], window_size=16, num_layers=2),
}
SLOT_BOUND = {"mpt", "gpt_neo"}


@pytest.fixture(scope="module")
def tok():
    tok = bos_tokenizer(_lines(500))
    tok.pad_token = tok.eos_token
    return tok


def _model(tok, arch: str = "llama", **config):
    return tiny_decoder(tok, arch, initializer_range=0.2, **config).eval()


def _alone(model, tok, params: SamplingParams) -> list[str]:
    """Each prompt's greedy draft from plain ``generate``, on the prompt alone (no padding)."""
    drafts = []
    for p in PROMPTS:
        ids = tok(p, return_tensors="pt")
        new = model.generate(
            **ids, do_sample=False, max_new_tokens=params.max_new_tokens, pad_token_id=tok.pad_token_id
        )
        text = tok.decode(new[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        drafts.append(truncate_at_stop(text, params.stop))
    return drafts


@pytest.mark.parametrize("arch", ARCHS)
def test_drafts_are_plain_generates_of_each_prompt_alone(tok, arch, monkeypatch):
    monkeypatch.setattr(chunked, "EVERY", 5)
    model = _model(tok, arch, **ARCHS[arch])
    gen = HFGenerator(model, tok, batch_size=4, device="cpu")
    # a model whose attention reads the cache's slots encodes each prompt whole; every other
    # keeps the header encoded once
    assert prefix.supports_gaps(model, "cpu") == (arch not in SLOT_BOUND)
    expected = _alone(model, tok, GREEDY)
    assert len(set(expected)) > 3  # the random model does not say one thing to all
    assert [c[0] for c in gen.generate(PROMPTS, GREEDY)] == expected
    sampled = SamplingParams(temperature=1.0, max_new_tokens=8, n=2, seed=3)
    together = gen.generate(PROMPTS, sampled)
    gen.batch_size = 1
    assert gen.generate(PROMPTS, sampled) == together


def _eos_likely(model, tok):
    """End of text in place of a frequent token: some greedy drafts end early, at several steps."""
    with torch.no_grad():
        model.lm_head.weight[tok.eos_token_id] = model.lm_head.weight[185] * 1.01
    return model


SHIPPED = {
    # generate refuses a cache handed in beside a cache_implementation; a static cache has no rows to drop
    "cache_implementation": dict(cache_implementation="static"),
    "num_beams": dict(num_beams=2),
    # processors that count steps from each generate call's start: end of text held back,
    # forced, suppressed, penalised again at every resumption of the dropping path
    "min_new_tokens": dict(min_new_tokens=6),
    "forced_eos_token_id": dict(forced_eos_token_id=1),
    "begin_suppress_tokens": dict(begin_suppress_tokens=[1]),
    "exponential_decay_length_penalty": dict(exponential_decay_length_penalty=(2, 1.5)),
}


@pytest.mark.parametrize("shipped", SHIPPED)
def test_a_checkpoints_generation_config_is_followed_as_generate_follows_it(tok, shipped, monkeypatch):
    monkeypatch.setattr(chunked, "EVERY", 2)
    model = _eos_likely(_model(tok), tok)
    for name, value in SHIPPED[shipped].items():
        setattr(model.generation_config, name, value)
    expected = _alone(model, tok, GREEDY)
    assert len(set(expected)) > 3
    gen = HFGenerator(model, tok, batch_size=4, device="cpu")
    assert [c[0] for c in gen.generate(PROMPTS, GREEDY)] == expected
    assert ["stop"] in gen.last_finish  # some drafts end early: the settings matter


def test_a_pad_token_beyond_the_embeddings_is_not_fed_to_the_model():
    """A tokenizer given a pad token the model's embeddings never grew for (a fine-tune that
    added `<pad>` without resizing, or a family's tokenizer on a smaller vocabulary): every
    batch of prompts of different lengths failed with "index out of range". Pads are masked,
    so end of text stands in for it; the drafts are each prompt's alone."""
    tok = bos_tokenizer(_lines(500))
    model = _model(tok)  # its embeddings: the vocabulary before the pad
    expected = _alone(model, tok, GREEDY)  # one prompt at a time: no pads
    tok.add_special_tokens({"pad_token": "<pad>"})
    assert tok.pad_token_id >= model.get_input_embeddings().num_embeddings
    gen = HFGenerator(model, tok, batch_size=4, device="cpu")
    assert [c[0] for c in gen.generate(PROMPTS, GREEDY)] == expected
