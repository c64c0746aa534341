"""Cheap drafting gives exactly the plain path's outputs: a shared prompt header encoded once
(generators/prefix.py) and ended rows left out of later greedy steps (generators/chunked.py),
on a tiny GPT-2 (learned positions) and a tiny Llama (RoPE: where wrong position ids would
show), each trained offline for a few seconds so greedy outputs mean something."""

from __future__ import annotations

import doctest
import random

import pytest
import torch
from models import tiny_decoder
from transformers import LlamaForCausalLM

from correct.corrector.training.tiny import build_model, build_tokenizer
from correct.generators import SamplingParams, chunked, prefix
from correct.generators.hf import HFGenerator


def _lines(k: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"{a}+{b}={a + b};\n" for a, b in ((rng.randint(0, 99), rng.randint(0, 99)) for _ in range(k))]


def _tiny_llama(tok) -> LlamaForCausalLM:
    return tiny_decoder(tok, bos_token_id=tok.eos_token_id)


def _train(model, tok) -> None:
    ids = torch.tensor(tok("".join(_lines(2000, seed=1)))["input_ids"])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(60):
        starts = torch.randint(0, len(ids) - 65, (16,))
        batch = torch.stack([ids[s : s + 64] for s in starts])
        model(input_ids=batch, labels=batch).loss.backward()
        opt.step()
        opt.zero_grad()


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def gen(request):
    torch.manual_seed(0)
    tok = build_tokenizer(_lines(500), vocab_size=300)
    model = build_model(tok, n_layer=2, n_embd=64) if request.param == "gpt2" else _tiny_llama(tok)
    _train(model, tok)
    return HFGenerator(model, tok, batch_size=4, device="cpu")


HEADER = "".join(_lines(6, seed=3))  # ~50 tokens shared by every prompt, like a few-shot header
SUFFIXES = ["1+2=", "12+34=46;\n7+8=", "5+", "99+99=198;\n10+20=30;\n40+", "3", "61+7=", "8+80=88;\n"]
PROMPTS = [HEADER + s for s in SUFFIXES]


def _both(gen, prompts, params, batch_size, prefix_cache=True, drop_finished=True):
    """(plain path, new path) outputs and tokens generated, at ``batch_size``: the plain path
    has neither the prefix cache nor the dropping of ended rows, the new one what is asked."""
    got = []
    for options in ((False, False), (prefix_cache, drop_finished)):
        gen.prefix_cache, gen.drop_finished = options
        gen.batch_size = batch_size
        before = gen.tokens_generated
        got.append((gen.generate(prompts, params), gen.tokens_generated - before))
    gen.prefix_cache, gen.drop_finished, gen.batch_size = True, True, 4
    return got


class _Calls(list):
    held: list[bool]


def _record_generate(gen, monkeypatch) -> list[dict]:
    """The keyword arguments of every ``model.generate`` call, as they were at the call."""
    calls, held = _Calls(), []
    real = gen.model.generate

    def recording(**kw):
        cache = kw.get("cache")
        calls.append(
            {"rows": kw["input_ids"].shape[0], "cached": cache.get_seq_length() if cache is not None else None}
        )
        held.append(isinstance(cache, prefix.SharedPrefixCache))
        return real(**kw)

    monkeypatch.setattr(gen.model, "generate", recording)
    calls.held = held  # whether each call's cache held the header once
    return calls


def test_prefix_path_is_taken_for_a_shared_header(gen, monkeypatch):
    ids = gen.tokenizer(PROMPTS)["input_ids"]
    shared = prefix.shared_length(ids)
    assert shared >= 40
    calls = _record_generate(gen, monkeypatch)
    gen.generate(PROMPTS, SamplingParams(temperature=0, max_new_tokens=4))
    assert [c["cached"] for c in calls] == [shared, shared]  # seven prompts, batches of four
    assert calls.held == [True, True]  # both tiny models pass the check: the header is not copied per row


def test_the_check_catches_an_attention_that_ignores_the_held_header(gen, monkeypatch):
    from transformers import AttentionInterface

    assert prefix._same_logits(gen.model, "cpu")
    monkeypatch.setitem(AttentionInterface._global_mapping, prefix.ATTENTION, prefix.sdpa_attention_forward)
    assert not prefix._same_logits(gen.model, "cpu")


def test_a_model_that_fails_the_check_copies_the_header_and_answers_the_same(gen, monkeypatch):
    params = SamplingParams(temperature=0, max_new_tokens=12, stop=(";",))
    expected = gen.generate(PROMPTS, params)
    monkeypatch.setitem(prefix._SHARED, gen.model, False)
    calls = _record_generate(gen, monkeypatch)
    assert gen.generate(PROMPTS, params) == expected
    assert calls.held == [False, False] and all(c["cached"] for c in calls)


def test_threads_holding_headers_at_once_answer_as_one_alone(gen):
    from concurrent.futures import ThreadPoolExecutor

    params = SamplingParams(temperature=0, max_new_tokens=12, stop=(";",))
    alone = gen.generate(PROMPTS, params)
    # one thread's held path ending must not take the attention from under another's
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda _: gen.generate(PROMPTS, params), range(4)))
    assert together == [alone] * 4
    assert gen.model.config._attn_implementation == "sdpa" and not prefix._HOLDING


def test_a_held_header_is_never_used_without_its_attention(gen):
    head = prefix.encode_prefix(gen.model, gen.tokenizer(HEADER)["input_ids"], "cpu")
    ids = torch.tensor([gen.tokenizer("1+2=")["input_ids"]])
    with pytest.raises(RuntimeError, match="attending"):
        gen.model(input_ids=ids, cache=prefix.SharedPrefixCache.after(head))


@pytest.mark.parametrize("batch_size", [1, 3, len(PROMPTS)])
@pytest.mark.parametrize("options", [(True, False), (False, True), (True, True)], ids=["prefix", "drop", "both"])
def test_greedy_outputs_and_token_counts_match_the_plain_path(gen, batch_size, options, monkeypatch):
    monkeypatch.setattr(chunked, "EVERY", 3)  # many resumptions, rows ending between them
    params = SamplingParams(temperature=0, max_new_tokens=16, stop=("+5", "=124"))
    (plain, n_plain), (new, n_new) = _both(gen, PROMPTS, params, batch_size, *options)
    assert new == plain and n_new == n_plain
    assert len({c[0] for c in plain}) > 1  # the trained model does not say one thing to all


def test_ended_rows_leave_the_batch(gen, monkeypatch):
    monkeypatch.setattr(chunked, "EVERY", 2)
    calls = _record_generate(gen, monkeypatch)
    params = SamplingParams(temperature=0, max_new_tokens=24, stop=(";",))
    (plain, n_plain), (new, n_new) = _both(gen, PROMPTS, params, len(PROMPTS))
    assert new == plain and n_new == n_plain
    rows = [c["rows"] for c in calls[1:]]  # the first call is the plain path's single one
    assert len(rows) > 1 and rows[0] == len(PROMPTS) and rows[-1] < len(PROMPTS)
    assert rows == sorted(rows, reverse=True)


def test_stop_strings_still_cut_and_stop_early(gen):
    free = _both(gen, PROMPTS, SamplingParams(temperature=0, max_new_tokens=20), 3)[1]
    (plain, n_plain), (cached, n_cached) = _both(
        gen, PROMPTS, SamplingParams(temperature=0, max_new_tokens=20, stop=(";",)), 3
    )
    assert cached == plain and n_cached == n_plain
    assert all(";" not in c[0] for c in cached) and any(";" in c[0] for c in free[0])
    assert n_cached < free[1]


def test_sampling_with_a_seed_matches_the_plain_path_as_rows_end(gen, monkeypatch):
    """Every sample draws its own random numbers (generators/sampling.py): the dropping path,
    whose rows leave as they meet the stop string, draws what the plain path draws."""
    monkeypatch.setattr(chunked, "EVERY", 2)
    params = SamplingParams(temperature=1.0, max_new_tokens=10, n=3, seed=5, stop=(";",))
    (plain, _), (cached, _) = _both(gen, PROMPTS, params, 3)
    assert cached == plain
    assert all(len(c) == 3 for c in cached)
    assert len({len(t) for c in cached for t in c}) > 2  # rows ended at several steps
    prefix_only = _both(gen, PROMPTS, params, 3, drop_finished=False)
    assert prefix_only[0] == prefix_only[1]  # the prefix cache alone never changes what a seed gives


@pytest.mark.parametrize("batch_size", [1, 3])
def test_every_sample_of_a_prompt_continues_that_prompt(gen, batch_size, monkeypatch):
    """n samples a prompt, rows leaving between calls: at a temperature near 0 every sample is
    the prompt's greedy draft, which a sample continuing another row's tokens would not be."""
    monkeypatch.setattr(chunked, "EVERY", 2)
    greedy = gen.generate(PROMPTS, SamplingParams(temperature=0, max_new_tokens=12, stop=(";",)))
    gen.batch_size = batch_size
    cold = gen.generate(PROMPTS, SamplingParams(temperature=1e-4, max_new_tokens=12, stop=(";",), n=3, seed=1))
    gen.batch_size = 4
    assert cold == [[g[0]] * 3 for g in greedy]
    assert len({g[0] for g in greedy}) > 2


def test_prompts_without_a_shared_header_fall_back(gen, monkeypatch):
    prompts = SUFFIXES + ["".join(_lines(4, seed=9)) + "2+"]
    assert prefix.shared_length(gen.tokenizer(prompts)["input_ids"]) == 0
    calls = _record_generate(gen, monkeypatch)
    params = SamplingParams(temperature=0, max_new_tokens=12)
    (plain, _), (cached, _) = _both(gen, prompts, params, 3, drop_finished=False)
    assert cached == plain and all(c["cached"] is None for c in calls)


def test_a_model_with_another_kind_of_cache_takes_the_plain_path(gen, monkeypatch):
    monkeypatch.setitem(prefix._REUSABLE, gen.model, False)  # as for a recurrent or sliding-window cache
    calls = _record_generate(gen, monkeypatch)
    gen.generate(PROMPTS, SamplingParams(temperature=0, max_new_tokens=12, stop=(";",)))
    assert calls == [{"rows": 4, "cached": None}, {"rows": 3, "cached": None}]  # one plain call per batch


def test_a_prompt_that_is_the_whole_header_keeps_its_last_token(gen):
    prompts = [HEADER, HEADER + "7+", HEADER + "12+3"]
    (plain, _), (cached, _) = _both(gen, prompts, SamplingParams(temperature=0, max_new_tokens=12), 3)
    assert cached == plain


def test_eos_ends_a_row_as_generate_does():
    """``FinishedRows`` marks a row at its end-of-text token or stop string, and keeps it marked;
    it stops the row at a stop string (``generate`` is not given the strings), and leaves the
    end of text to ``generate``'s own criterion."""
    from transformers import StopStringCriteria

    tok = build_tokenizer(_lines(50), vocab_size=300)
    eos = torch.tensor([tok.eos_token_id])
    rows = chunked.FinishedRows(3, eos, StopStringCriteria(tok, [";"]), "cpu")
    ids = torch.tensor([tok("1+2=")["input_ids"], tok("1+2;")["input_ids"], tok("1+2=")["input_ids"]])
    ids[2, -1] = tok.eos_token_id
    assert rows(ids, None).tolist() == [False, True, False]
    assert rows.done.tolist() == [False, True, True]
    rows(torch.tensor([tok("1+23")["input_ids"]] * 3), None)
    assert rows.done.tolist() == [False, True, True]


def test_the_stop_strings_are_read_once_a_batch_not_once_a_call(gen, monkeypatch):
    """The dropping path calls ``generate`` every few steps; given the stop strings, each call
    built its own criterion, reading the whole vocabulary again (a few percent of a greedy
    batch's time). The criterion is built once a batch, and the drafts stop where they did."""
    import transformers

    params = SamplingParams(temperature=0, max_new_tokens=24, stop=("=99;", "9;\n1"))  # rare: rows run on
    plain, _ = _both(gen, PROMPTS[:4], params, 4, prefix_cache=False, drop_finished=False)
    built = []
    real = transformers.StopStringCriteria.__init__
    monkeypatch.setattr(
        transformers.StopStringCriteria, "__init__", lambda s, *a, **k: built.append(1) or real(s, *a, **k)
    )
    calls = _record_generate(gen, monkeypatch)
    gen.prefix_cache = gen.drop_finished = True
    assert gen.generate(PROMPTS[:4], params) == plain[0]
    assert len(calls) > 1 and len(built) == 1


def test_doctests():
    result = doctest.testmod(prefix, verbose=False)
    assert result.attempted > 0 and result.failed == 0
