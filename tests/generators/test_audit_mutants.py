"""Behaviour the rest of the suite left unpinned, found by mutating the generator modules
(sampling, chunked, prefix, base): each test here fails with one such change applied."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from correct.generators import SamplingParams, chunked, sampling
from correct.generators.base import (
    GeneratorBase,
    finish_reasons,
    rewrites_within,
    truncate_at_stop,
    usages,
    without_doubled_bos,
)
from correct.generators.hf import HFGenerator
from correct.tasks.arithmetic import generator_prompt, make_split

from .test_prefix import _lines


class Fixed:
    """A row's stream of random numbers that gives the numbers asked for."""

    def __init__(self, *numbers: float):
        self.numbers = list(numbers)

    def random(self) -> float:
        return self.numbers.pop(0)


def _draws(sampler: sampling.RowSampler, scores: torch.Tensor, times: int) -> list[int]:
    return [int(sampler(None, scores.clone()).argmax(-1)[0]) for _ in range(times)]


# --------------------------------------------------------------------------- sampling


def test_top_p_keeps_the_nucleus_of_the_tempered_distribution():
    """Temperature first, then top-p (as transformers and vLLM sample): at temperature 0.5,
    [0.6, 0.3, 0.1] becomes [0.78, 0.20, 0.02], whose 0.65 nucleus is the first token alone.
    Top-p on the untempered distribution would keep the second token too."""
    scores = torch.tensor([[0.6, 0.3, 0.1]]).log()
    assert set(_draws(sampling.RowSampler([3], temperature=0.5, top_p=0.65), scores, 300)) == {0}
    assert set(_draws(sampling.RowSampler([3], temperature=1.0, top_p=0.65), scores, 300)) == {0, 1}


@pytest.mark.parametrize("u", [1 - 2**-30, 1 - 2**-53])
def test_a_draw_at_the_top_of_the_unit_interval_never_takes_a_token_of_probability_0(u):
    """``random()`` gives numbers up to 1 - 2**-53, which float32 rounds to 1.0: the draw must
    still land on a token of positive probability, not on the vocabulary's last token."""
    scores = torch.tensor([[2.0, 1.0, 0.5, -float("inf"), -float("inf")]])
    sampler = sampling.RowSampler([0], temperature=1.0)
    sampler.streams = [Fixed(u)]
    assert int(sampler(None, scores).argmax(-1)[0]) == 2
    nucleus = sampling.RowSampler([0], temperature=1.0, top_p=0.5)  # the first token alone
    nucleus.streams = [Fixed(u)]
    assert int(nucleus(None, scores).argmax(-1)[0]) == 0


def test_a_draw_near_the_top_stays_off_a_token_of_probability_0_when_the_cdf_sums_short():
    """Half a million tokens of probability 1.1 * 2**-24 each: float32's running sum of them
    ends 0.3% short of 1, and a draw of 0.999 must be scaled to that sum, not taken as it is."""
    vocab = 1 << 19
    scores = torch.full((1, vocab), math.log(1.1 * 2**-24))
    scores[0, 0], scores[0, -1] = 0.0, -float("inf")
    cdf = torch.softmax(scores, -1).cumsum(-1)
    assert cdf[0, -1] < 0.999  # what makes the scaling matter
    sampler = sampling.RowSampler([0], temperature=1.0)
    sampler.streams = [Fixed(0.999)]
    # 0.999 of the sum falls some 15,000 tokens before the run's end; unscaled, past its end
    assert int(sampler(None, scores).argmax(-1)[0]) < vocab - 1000


@pytest.fixture(scope="module")
def gen(tiny_lm_dir):
    return HFGenerator.from_pretrained(str(tiny_lm_dir), device="cpu", batch_size=4)


@pytest.fixture(scope="module")
def prompts():
    return [generator_prompt(r) for r in make_split("test", 5, 0)]


def test_the_temperature_and_top_p_asked_for_are_the_ones_sampled_with(gen, prompts):
    """One seed, so one stream of random numbers: another temperature must draw other text, and
    a nucleus of almost nothing leaves each prompt's greedy draft."""
    params = SamplingParams(temperature=1.0, max_new_tokens=16, stop=("\n",), n=2, seed=3)
    warm = gen.generate(prompts, params)
    assert gen.generate(prompts, replace(params, temperature=3.0)) != warm
    greedy = gen.generate(prompts, replace(params, temperature=0, n=1))
    assert gen.generate(prompts, replace(params, top_p=1e-6)) == [[g[0]] * 2 for g in greedy]
    assert warm != [[g[0]] * 2 for g in greedy]


# --------------------------------------------------------------------------- chunked.ended_early


def test_ended_early_reads_an_end_padded_row_and_a_tokenizer_without_an_end():
    """A row padded at its end ended (a stop string whose text decoding dropped, e.g. a special
    token's); a tokenizer without an end-of-text token (None) is no error; a row that ran its
    budget without either did not end."""
    eos, pad = 2, 0
    new = torch.tensor([[5, 6, 7], [5, 6, pad], [5, eos, pad]])
    assert chunked.ended_early(new, [eos], pad, 3) == [False, True, True]
    assert chunked.ended_early(new, [None, eos], pad, 3) == [False, True, True]
    assert chunked.ended_early(torch.tensor([[5, 6, 7]]), [None], None, 3) == [False]
    assert chunked.ended_early(new[:, :2], [None], None, 3) == [True] * 3  # narrower than the budget


# --------------------------------------------------------------------------- prefix


def test_a_sliding_window_model_drafts_on_the_shortcuts_what_it_drafts_plainly():
    """A sliding-window cache (Mistral's, a subclass of the plain layer) cannot hold a shared
    header once or be cut by rows as a full-attention one is: such a model takes the plain path,
    and its drafts are those of the plain path."""
    from models import tiny_decoder

    from correct.corrector.training.tiny import build_tokenizer
    from correct.generators import prefix

    lines = _lines(500)
    tok = build_tokenizer(lines, vocab_size=300)
    model = tiny_decoder(tok, "mistral", sliding_window=8)
    gen = HFGenerator(model.eval(), tok, batch_size=4, device="cpu")
    assert not prefix.supports_reuse(gen.model, "cpu")
    prompts = ["".join(lines[:6]) + s for s in ("1+2=", "12+34=46;\n7+8=", "5+", "3")]
    params = SamplingParams(temperature=0, max_new_tokens=12)
    gen.prefix_cache = gen.drop_finished = False
    plain = gen.generate(prompts, params)
    gen.prefix_cache = gen.drop_finished = True
    assert gen.generate(prompts, params) == plain


# --------------------------------------------------------------------------- base


class Counting(GeneratorBase):
    """Says why each completion ended and what each prompt took, as ``last_finish`` and
    ``last_usage``; each input's room in the context is given."""

    def __init__(self, rooms=None, refuse=()):
        self.rooms, self.refuse, self.calls = rooms, refuse, []

    def generate(self, prompts, params):
        self.calls.append((list(prompts), params.max_new_tokens))
        self.last_refused = [i for i, p in enumerate(prompts) if p in self.refuse]  # an endpoint's 400
        self.last_finish = [["length"] * params.n for _ in prompts]
        self.last_usage = [(len(p), params.max_new_tokens) for p in prompts]
        return [[f"{p}!"] * params.n for p in prompts]

    def room(self, prompts):
        return None if self.rooms is None else [self.rooms[p] for p in prompts]


def test_reasons_and_usage_of_another_calls_prompts_are_not_taken_for_these():
    gen = Counting()
    out = gen.generate(["a", "b"], SamplingParams(n=2))
    assert finish_reasons(gen, out) == [["length"] * 2] * 2 and usages(gen, 2) == [(1, 128), (1, 128)]
    # a generator that did not set them in this call: what it holds is the last call's
    assert finish_reasons(gen, [["x"], ["y"], ["z"]]) == [[None], [None], [None]]
    assert finish_reasons(gen, [["x"], ["y"]]) == [[None], [None]]
    assert usages(gen, 3) == [None] * 3


def test_an_input_with_no_room_left_keeps_its_draft_and_is_said_to(caplog):
    """Room 0: nothing can be rewritten from it, as with less than none; its draft is kept and
    reported kept (``last_kept``: the refine loop gives it the draft's reasons)."""
    rooms = {"full": 0, "over": -3, "tight": 5, "free": 500, "refused": 500}
    gen = Counting(rooms=rooms, refuse=("refused",))
    params = SamplingParams(max_new_tokens=20, n=2)
    with caplog.at_level("WARNING"):
        out, finish, kept, refused = rewrites_within(gen, list(rooms), params, ["d0", "d1", "d2", "d3", "d4"])
    assert out == [["d0"] * 2, ["d1"] * 2, ["tight!"] * 2, ["free!"] * 2, ["d4"] * 2]
    assert (
        kept == {0, 1, 4}
        and list(refused) == [4]
        and finish[:2] == [[None] * 2] * 2
        and finish[2:4] == [["length"] * 2] * 2
    )
    assert sorted(gen.calls) == [(["free", "refused"], 20), (["tight"], 5)]  # each within its room, none past it
    assert "2 corrector inputs fill its context by themselves" in caplog.text


def test_text_is_cut_at_the_earliest_stop_string_whichever_is_listed_first():
    assert truncate_at_stop("x = 1;\nprint(x)\n", [";", "\n"]) == "x = 1"
    assert truncate_at_stop("x = 1\n;", ["\n", ";"]) == "x = 1"


def test_a_prompts_own_bos_stays_where_the_tokenizer_adds_none():
    """GPT-2's tokenizer has a BOS but does not add it: a prompt that starts with it (a chat
    template's output) keeps it, the only one the model sees."""
    from correct.corrector.training.tiny import build_tokenizer

    tok = build_tokenizer(["1+2=3;\n"] * 50, vocab_size=300)
    assert tok.bos_token and tok("x")["input_ids"][0] != tok.bos_token_id
    assert without_doubled_bos(tok, [tok.bos_token + "x", "y"]) == [tok.bos_token + "x", "y"]


def test_only_the_prompts_that_begin_with_the_bos_lose_it():
    """A Llama-like tokenizer adds its BOS: a prompt laid out with one loses that text, and a
    prompt beside it in the batch without one keeps every character."""
    from models import bos_tokenizer

    tok = bos_tokenizer(["1+2=3;\n"] * 50)
    assert without_doubled_bos(tok, ["<s>x = 1", "y = 2"]) == ["x = 1", "y = 2"]


def test_prefix_attention_without_a_mask_is_causal_over_the_prefix_and_the_rows_own_tokens():
    """Where sdpa leaves out its mask (``is_causal``), the shared-prefix attention builds the
    causal one itself: each of a row's new tokens sees the whole prefix, its own earlier tokens
    and itself, never a later one. Without it every token would read the tokens after it."""
    from types import SimpleNamespace

    from transformers import DynamicCache

    from correct.generators import prefix

    torch.manual_seed(0)
    rows, heads, kv_heads, shared, own, dim = 2, 4, 2, 5, 3, 8
    head = DynamicCache()
    head.update(torch.randn(1, kv_heads, shared, dim), torch.randn(1, kv_heads, shared, dim), 0)
    cache = prefix.SharedPrefixCache.after(head)
    query = torch.randn(rows, heads, own, dim)
    token = prefix._ACTIVE.set(cache)
    try:
        keys, values = cache.layers[0].update(
            torch.randn(rows, kv_heads, own, dim), torch.randn(rows, kv_heads, own, dim)
        )
        got, _ = prefix.shared_prefix_attention(SimpleNamespace(layer_idx=0), query, keys, values, None)
    finally:
        prefix._ACTIVE.reset(token)
    whole_k = torch.cat([head.layers[0].keys.expand(rows, -1, -1, -1), keys], dim=-2).repeat_interleave(2, dim=1)
    whole_v = torch.cat([head.layers[0].values.expand(rows, -1, -1, -1), values], dim=-2).repeat_interleave(2, dim=1)
    causal = torch.ones(own, shared + own, dtype=torch.bool).tril(shared)
    want = torch.nn.functional.scaled_dot_product_attention(query, whole_k, whole_v, attn_mask=causal)
    assert torch.allclose(got, want.transpose(1, 2), atol=1e-5)
