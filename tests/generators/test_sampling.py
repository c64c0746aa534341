"""Every sample draws its own random numbers (generators/sampling.py), so what a seed gives a
prompt does not depend on the batch, the path, the thread or the number of threads that decoded
it; and the batches of a call can be decoded side by side, one thread each
(generators/streams.py)."""

from __future__ import annotations

import doctest
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import torch
from scipy.stats import chisquare

from correct.generators import SamplingParams, chunked, sampling, streams, threads
from correct.generators.hf import HFGenerator
from correct.tasks.arithmetic import generator_prompt, make_split

PARAMS = SamplingParams(temperature=1.0, max_new_tokens=24, stop=("\n",), n=3, seed=7)


@pytest.fixture(scope="module")
def gen(tiny_lm_dir):
    return HFGenerator.from_pretrained(str(tiny_lm_dir), device="cpu", batch_size=4)


@pytest.fixture(scope="module")
def prompts():
    return [generator_prompt(r) for r in make_split("test", 7, 0)]


def _draws(sampler: sampling.RowSampler, scores: torch.Tensor, times: int) -> torch.Tensor:
    return torch.stack([sampler(None, scores.clone()).argmax(-1) for _ in range(times)])


def test_draws_follow_the_temperature_and_top_p():
    """Row 0 at temperature 0.5: the softmax of twice the logits. Row 1 with top-p 0.75 (at
    temperature 1): only the two likeliest tokens, renormalized; the others never."""
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    cold = sampling.RowSampler([1], temperature=0.5)
    counts = torch.bincount(_draws(cold, probs.log()[None], 4000)[:, 0], minlength=4)
    expected = torch.softmax(probs.log().double() / 0.5, -1)
    assert chisquare(counts.numpy(), (expected * counts.sum()).numpy()).pvalue > 0.001
    nucleus = sampling.RowSampler([2], temperature=1.0, top_p=0.75)
    counts = torch.bincount(_draws(nucleus, probs.log()[None], 4000)[:, 0], minlength=4)
    assert counts[2] == counts[3] == 0
    assert chisquare(counts[:2].numpy(), [2500, 1500]).pvalue > 0.001


def test_each_row_keeps_its_own_stream_when_others_leave():
    scores = torch.zeros(3, 50)
    alone = _draws(sampling.RowSampler([5], 1.0), scores[:1], 20)[:, 0]
    three = sampling.RowSampler([9, 5, 11], 1.0)
    first = _draws(three, scores, 10)
    three.keep([1])
    later = _draws(three, scores[:1], 10)[:, 0]
    assert torch.equal(torch.cat([first[:, 1], later]), alone)
    assert not torch.equal(first[:, 0], first[:, 1])  # two seeds, two streams
    with pytest.raises(RuntimeError, match="2 rows to sample, but 1"):
        three(None, scores[:2])


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_a_seed_gives_the_same_samples_whatever_the_batch_or_path(gen, prompts, batch_size, monkeypatch):
    """Rows end at the stop string at different steps, so the dropping path decodes fewer rows
    as it goes; every path and batch size still writes the same samples."""
    monkeypatch.setattr(chunked, "EVERY", 2)
    gen.prefix_cache, gen.drop_finished, gen.batch_size = False, False, 4
    plain = gen.generate(prompts, PARAMS)
    gen.prefix_cache, gen.drop_finished, gen.batch_size = True, True, batch_size
    try:
        assert gen.generate(prompts, PARAMS) == plain
    finally:
        gen.batch_size = 4
    assert any(len(set(s)) > 1 for s in plain)  # a prompt's samples differ
    assert gen.generate(prompts, replace(PARAMS, seed=8)) != plain
    assert len({len(s) for p in plain for s in p}) > 2  # rows of many lengths: rows left at many steps


def test_streamed_and_unstreamed_samples_agree(gen, prompts):
    params = replace(PARAMS, n=1)
    streamed: dict[int, str] = {}
    out = gen.generate(prompts, params, on_text=lambda i, t: streamed.__setitem__(i, streamed.get(i, "") + t))
    assert out == gen.generate(prompts, params)
    assert all(streamed[i] == o[0] for i, o in enumerate(out))


def test_calls_sampling_at_once_on_two_threads_answer_as_each_alone(gen, prompts):
    alone = [gen.generate(prompts, replace(PARAMS, seed=s)) for s in (1, 2)]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda s: gen.generate(prompts, replace(PARAMS, seed=s)), (1, 2)))
    assert together == alone


@pytest.mark.parametrize("params", [PARAMS, replace(PARAMS, temperature=0, n=1)])
def test_batches_decoded_side_by_side_one_thread_each_write_what_one_stream_writes(gen, prompts, params, monkeypatch):
    one = gen.generate(prompts, params)
    seen: list[tuple[int, int]] = []
    real = gen._generate

    def recording(*args):
        seen.append((threading.get_ident(), torch.get_num_threads()))
        return real(*args)

    monkeypatch.setattr(gen, "_generate", recording)
    monkeypatch.setattr(threads, "usable_cores", lambda: 3)
    monkeypatch.setattr(streams, "MIN_WORK", 1)  # the tiny model is far too small to stream for real
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    fixed, before = threads._fixed, torch.get_num_threads()
    try:
        threads.configure(None)
        assert threads.streams() == 3
        side_by_side = gen.generate(prompts, params)
        threads.apply()
        assert threads._fixed is None  # the streams' one thread each is not taken for a program's own count
    finally:
        threads.configure(fixed)
        torch.set_num_threads(before)
    assert side_by_side == one
    assert len(seen) == 3 and len({t for t, _ in seen}) == 3  # 7 prompts in 3 batches, each on its own thread
    assert {n for _, n in seen} == {1} and threading.get_ident() not in {t for t, _ in seen}


def test_a_call_too_small_to_share_decodes_on_one_stream(monkeypatch):
    """Each stream must get MIN_WORK weights x rows: below it, one stream (the interpreter's
    lock would keep two waiting for each other)."""
    monkeypatch.setattr(threads, "streams", lambda: 4)
    seen = []

    def decode(idx):
        seen.append(threading.get_ident())
        time.sleep(0.05)  # long enough that no stream's thread is free for another's batch
        return torch.zeros(len(idx), 1)

    def batches(work):
        seen.clear()
        got = [idx for idx, _ in streams.decode_batches(list(range(8)), 8, decode, torch.device("cpu"), work)]
        return got, len(set(seen))

    assert batches(streams.MIN_WORK * 0.9) == ([list(range(8))], 1)
    assert batches(streams.MIN_WORK * 2) == ([[0, 1, 2, 3], [4, 5, 6, 7]], 2)
    assert batches(streams.MIN_WORK * 100) == ([[0, 1], [2, 3], [4, 5], [6, 7]], 4)
    assert batches(0) == ([list(range(8))], 1)


def test_fixed_threads_decode_one_batch_at_a_time(monkeypatch):
    fixed = threads._fixed
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    try:
        threads.configure(2)
        assert threads.streams() == 1
        threads.configure(None)
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        assert threads.streams() == 1
        monkeypatch.delenv("OMP_NUM_THREADS")
        assert threads.streams() == 4
    finally:
        threads.configure(fixed)


def test_a_failing_batch_fails_the_call(monkeypatch):
    monkeypatch.setattr(threads, "streams", lambda: 2)

    def decode(idx):
        if 3 in idx:
            raise ValueError("batch with prompt 3")
        return torch.zeros(len(idx), 1)

    with pytest.raises(ValueError, match="prompt 3"):
        list(streams.decode_batches(list(range(6)), 8, decode, torch.device("cpu")))
    got = list(streams.decode_batches(list(range(6)), 8, lambda idx: torch.zeros(len(idx), 1), torch.device("cpu")))
    assert [idx for idx, _ in got] == [[0, 1, 2], [3, 4, 5]]


def test_doctests():
    result = doctest.testmod(sampling)
    assert result.attempted > 0 and result.failed == 0
