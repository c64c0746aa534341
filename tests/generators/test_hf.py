"""The Hugging Face backend on a tiny GPT-2 built and trained offline in a few seconds."""

from __future__ import annotations

import doctest
import math
import random

import pytest
import torch

from correct import generators
from correct.corrector.training.tiny import build_model, build_tokenizer
from correct.generators import GeneratorError, SamplingParams, load_generator


def _lines(k: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"{a}+{b}={a + b};\n" for a, b in ((rng.randint(0, 99), rng.randint(0, 99)) for _ in range(k))]


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    torch.manual_seed(0)
    tok = build_tokenizer(_lines(500), vocab_size=300)
    model = build_model(tok, n_layer=2, n_embd=64)
    # A hundred quick steps on the pattern make greedy outputs structured (digits, ';', '\n')
    # instead of a single repeated token, so the padding comparison below means something.
    ids = torch.tensor(tok("".join(_lines(2000, seed=1)))["input_ids"])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(100):
        starts = torch.randint(0, len(ids) - 65, (16,))
        batch = torch.stack([ids[s : s + 64] for s in starts])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    path = tmp_path_factory.mktemp("tiny")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return load_generator(str(path), backend="hf", device="cpu", batch_size=4)


PROMPTS = ["1+2=", "12+34=46;\n7+8=", "5+", "99+99=198;\n10+20=30;\n40+"]


def test_shape_n_completions(gen):
    out = gen.generate(PROMPTS, SamplingParams(temperature=1.0, max_new_tokens=8, n=3))
    assert len(out) == len(PROMPTS)
    assert all(len(c) == 3 and all(isinstance(s, str) for s in c) for c in out)
    greedy = gen.generate(PROMPTS, SamplingParams(temperature=0, max_new_tokens=8, n=2))
    assert all(len(c) == 2 and c[0] == c[1] for c in greedy)


def test_left_padding_matches_unbatched(gen):
    params = SamplingParams(temperature=0, max_new_tokens=12)
    batched = gen.generate(PROMPTS, params)
    alone = [gen.generate([p], params)[0] for p in PROMPTS]
    assert batched == alone
    assert len({c[0] for c in batched}) > 1  # the trained model does not say one thing to all


def test_stop_strings_truncate_and_stop_early(gen):
    before = gen.tokens_generated
    free = gen.generate(PROMPTS, SamplingParams(temperature=0, max_new_tokens=20))
    used_free = gen.tokens_generated - before
    assert used_free > 0
    assert any(";" in c[0] for c in free)
    out = gen.generate(PROMPTS, SamplingParams(temperature=0, max_new_tokens=20, stop=(";",)))
    used_stop = gen.tokens_generated - before - used_free
    assert all(";" not in s for c in out for s in c)
    assert [c[0] for c in out] == [generators.truncate_at_stop(c[0], [";"]) for c in free]
    assert used_stop < used_free  # generation stopped early, not only post-truncated


HEADER = "".join(_lines(4, seed=2))
"""A few-shot header of 36 tokens: prompts that share it take the shared-prefix path."""

PATHS = {
    "plain": dict(prefix_cache=False, drop_finished=False),
    "dropping finished rows": dict(prefix_cache=False, drop_finished=True),
    "shared prefix": dict(prefix_cache=True, drop_finished=True),
    "shared prefix, plain": dict(prefix_cache=True, drop_finished=False),
}


@pytest.fixture(params=list(PATHS))
def on_path(gen, request):
    """``gen`` decoding on one of its batched paths, put back as it was afterwards."""
    before = gen.prefix_cache, gen.drop_finished
    gen.prefix_cache, gen.drop_finished = PATHS[request.param]["prefix_cache"], PATHS[request.param]["drop_finished"]
    yield gen
    gen.prefix_cache, gen.drop_finished = before


def test_a_completion_that_meets_a_stop_string_is_stop_one_cut_at_its_budget_length(on_path):
    """Why each completion ended, on every batched path: greedy, the trained model writes
    ``109;\n...`` after ``7+8=`` and ``5;\n...`` after ``5+`` (``;`` is one token)."""
    gen = on_path
    prompts = [HEADER + p for p in ("1+2=", "5+", "7+8=")]
    for budget in (1, 2, 4):
        free = gen.generate(prompts, SamplingParams(temperature=0, max_new_tokens=budget))
        assert gen.last_finish == [["length"]] * 3, (budget, free)  # no end met: every row ran its budget
    out = gen.generate(prompts, SamplingParams(temperature=0, max_new_tokens=2, stop=(";",)))
    # "5;" ends exactly at the budget with its stop string: "stop"; "109" is two tokens, cut.
    assert out == [["109"], ["5"], ["109"]] and gen.last_finish == [["length"], ["stop"], ["length"]]
    out = gen.generate(prompts, SamplingParams(temperature=0, max_new_tokens=12, stop=(";",), n=2))
    assert out == [["109"] * 2, ["5"] * 2, ["109"] * 2] and gen.last_finish == [["stop"] * 2] * 3
    sampled = gen.generate(prompts, SamplingParams(temperature=0.7, max_new_tokens=20, stop=(";",), n=2, seed=1))
    assert all(";" not in t for c in sampled for t in c) and gen.last_finish == [["stop"] * 2] * 3


def test_a_completion_ended_by_an_end_of_text_token_is_stop(on_path, monkeypatch):
    """A model whose generation config ends text at ``;`` as well (as Llama 3 ends it at either
    of two tokens): every completion ends there, before its budget."""
    gen = on_path
    prompts = [HEADER + p for p in ("1+2=", "5+", "7+8=")]
    monkeypatch.setattr(gen.model.generation_config, "eos_token_id", [gen.tokenizer.eos_token_id, _id(gen, ";")])
    out = gen.generate(prompts, SamplingParams(temperature=0, max_new_tokens=8))
    assert out == [["109;"], ["5;"], ["109;"]] and gen.last_finish == [["stop"]] * 3
    sampled = gen.generate(prompts, SamplingParams(temperature=0.7, max_new_tokens=12, n=2, seed=1))
    assert all(t.endswith(";") for c in sampled for t in c) and gen.last_finish == [["stop"] * 2] * 3


def _id(gen, token: str) -> int:
    (i,) = gen.tokenizer(token, add_special_tokens=False)["input_ids"]
    return i


@pytest.fixture(scope="module")
def untrained():
    """An untrained GPT-2 on the same tokenizer: greedy, it writes ``7`` after ``7`` one token
    at a time, though ``77`` is a token of its own."""
    from correct.generators.hf import HFGenerator

    tok = build_tokenizer(_lines(500), vocab_size=300)
    return HFGenerator(build_model(tok, n_layer=1, n_embd=32, seed=0), tok, device="cpu")


def test_a_completion_cut_at_its_budget_is_length_however_many_tokens_its_text_encodes_to(untrained):
    """Text decoded and encoded again need not take the tokens decoded: counting them again
    (``correct serve``'s old estimate) called a cut completion "stop"."""
    gen, params = untrained, SamplingParams(temperature=0, max_new_tokens=6)
    before = gen.tokens_generated
    ((text,),) = gen.generate(["7"], params)
    assert gen.tokens_generated - before == 6  # six tokens decoded, none of them an end
    assert text == "777777" and len(gen.tokenizer(text, add_special_tokens=False)["input_ids"]) < 6
    assert gen.last_finish == [["length"]]


def test_seed_reproducible(gen):
    p = SamplingParams(temperature=1.0, max_new_tokens=10, n=2, seed=7)
    a = gen.generate(PROMPTS, p)
    assert gen.generate(PROMPTS, p) == a
    assert gen.generate(PROMPTS, SamplingParams(temperature=1.0, max_new_tokens=10, n=2, seed=8)) != a


def test_long_prompt_is_truncated_not_crashing(gen):
    long = "".join(_lines(200))  # far more than n_positions=256 tokens
    out = gen.generate([long, "1+2="], SamplingParams(temperature=0, max_new_tokens=16))
    assert len(out) == 2 and all(len(c) == 1 for c in out)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_an_over_long_prompt_keeps_its_end(gen, monkeypatch, temperature):
    """A prompt longer than the model's window loses its oldest tokens, not its newest: the
    question comes last, after any examples. What the model is first fed must be exactly the
    end of the prompt's tokens (greedy and sampled paths alike). The prefill is the longest
    input the model is fed."""
    fed = []
    forward = gen.model.forward
    monkeypatch.setattr(gen.model, "forward", lambda *a, **kw: fed.append(kw["input_ids"]) or forward(*a, **kw))
    long = "".join(_lines(200))  # far more than n_positions=256 tokens
    gen.generate([long], SamplingParams(temperature=temperature, max_new_tokens=16))
    ids = gen.tokenizer(long)["input_ids"]
    kept = max(fed, key=lambda x: x.shape[1])[0].tolist()
    assert 0 < len(kept) < len(ids)
    assert kept == ids[-len(kept) :]


def test_an_empty_prompt_is_continued_from_the_start_of_a_text(on_path):
    """A prompt of no tokens (this tokenizer adds no BOS) made transformers fail with an
    IndexError; it is written from the start of a text, as log_likelihoods scores it."""
    gen = on_path
    for params in (SamplingParams(temperature=0, max_new_tokens=6), SamplingParams(max_new_tokens=6, n=2)):
        out = gen.generate(["", "1+2="], params)
        assert len(out) == 2 and all(len(c) == params.n for c in out)
        alone = gen.generate([""], params)
        assert alone[0] == gen.generate([gen.tokenizer.eos_token], params)[0]


@pytest.mark.parametrize("temperature", [1e-40, 1e-45, 1e-6])
def test_a_temperature_near_0_decodes_greedily(gen, temperature):
    """Logits divided by 1e-40 overflow to inf, which transformers' sampling refused with a
    RuntimeError: a temperature that small decodes as 0 does."""
    greedy = gen.generate(PROMPTS, SamplingParams(temperature=0, max_new_tokens=8, n=2))
    assert gen.generate(PROMPTS, SamplingParams(temperature=temperature, max_new_tokens=8, n=2)) == greedy


def test_an_empty_stop_string_stops_nothing(gen):
    """truncate_at_stop skips an empty stop string; decoding ended every row at its first token."""
    params = SamplingParams(temperature=0, max_new_tokens=8)
    free = gen.generate(PROMPTS, params)
    assert gen.generate(PROMPTS, SamplingParams(temperature=0, max_new_tokens=8, stop=("",))) == free


def test_missing_local_path(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(GeneratorError) as e:
        load_generator(str(missing), backend="hf")
    assert str(missing) in str(e.value)
    with pytest.raises(GeneratorError, match="./nope"):
        load_generator("./nope", backend="hf")


def test_unreachable_hub_id(monkeypatch):
    import huggingface_hub.constants

    # huggingface_hub reads HF_HUB_OFFLINE once at import, so patch the constant as well.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(GeneratorError) as e:
        load_generator("no-such-org-xyz/no-such-model-xyz", backend="hf")
    msg = str(e.value)
    assert "'no-such-org-xyz/no-such-model-xyz'" in msg and "offline" in msg
    assert "\n" not in msg and "Traceback" not in msg
    assert e.value.__suppress_context__


def test_unknown_backend():
    with pytest.raises(GeneratorError, match="unknown backend 'nope'; choose one of: hf, vllm, openai") as e:
        load_generator("whatever", backend="nope")
    assert e.value.option == "backend"


def test_truncate_at_stop_doctest():
    from correct.generators import base

    result = doctest.testmod(base, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_log_likelihoods_match_one_unpadded_pass_each(gen):
    """Batched, right-padded and sorted scoring gives each continuation's own sum of log p
    (end-of-text included), the same as scoring it alone without padding."""
    g = gen  # batch size 4: the five rows make two batches
    prompts = ["1+2=", "10+20=", "5+5=", "7+8=", "99+1="]
    conts = ["3;", "30;", "", "15;\n", "100;\n" * 5]
    got = g.log_likelihoods(prompts, conts)
    tok = g.tokenizer
    for p, c, (logp, n) in zip(prompts, conts, got):
        ctx = tok(p, add_special_tokens=False)["input_ids"]
        cont = tok(c, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        with torch.no_grad():
            lp = torch.log_softmax(g.model(torch.tensor([ctx + cont])).logits[0], -1)
        expected = sum(lp[len(ctx) - 1 + k, t].item() for k, t in enumerate(cont))
        assert n == len(cont)
        assert logp == pytest.approx(expected, abs=1e-4)
    # A likely continuation scores higher per token than a shuffled one.
    (good, n1), (bad, n2) = g.log_likelihoods(["1+2=", "1+2="], ["3;\n", ";\n3"])
    assert good / n1 > bad / n2


def test_log_likelihoods_cut_long_prompts_to_the_context(gen):
    g = gen
    limit = g.max_positions
    ((logp, n),) = g.log_likelihoods(["1+1=2;\n" * limit], ["3;"])
    assert math.isfinite(logp) and 0 < n < limit


def test_chat_template_is_applied_once_with_one_bos(gen, monkeypatch):
    """With chat_template, each prompt becomes one user message of the tokenizer's template;
    the template's BOS is the only one, even for a tokenizer that adds a BOS itself."""
    from tokenizers.processors import TemplateProcessing

    from correct.generators.hf import HFGenerator

    tok = gen.tokenizer
    bos = tok.bos_token_id
    backend = tok.backend_tokenizer
    before = backend.post_processor
    backend.post_processor = TemplateProcessing(single=f"{tok.bos_token} $A", special_tokens=[(tok.bos_token, bos)])
    tok.chat_template = "{{ bos_token }}{% for m in messages %}U:{{ m['content'] }}\n{% endfor %}A:"
    chat = HFGenerator(gen.model, tok, batch_size=4, device="cpu", chat_template=True)
    seen = []
    real = chat.model.generate
    monkeypatch.setattr(chat.model, "generate", lambda **kw: seen.append(kw["input_ids"]) or real(**kw))
    try:
        assert tok("1+2=")["input_ids"][0] == bos  # this tokenizer adds a BOS of its own
        out = chat.generate(["1+2=", "5+"], SamplingParams(temperature=0, max_new_tokens=4))
        assert len(out) == 2
        for row, mask in zip(seen[0], seen[0] != tok.pad_token_id):
            ids = row[mask].tolist()
            assert ids.count(bos) == 1 and ids[0] == bos
            assert tok.decode(ids, skip_special_tokens=True).startswith("U:") and tok.decode(ids).endswith("A:")
        tok.chat_template = None
        with pytest.raises(GeneratorError, match="no chat template"):
            chat.generate(["1+2="], SamplingParams(temperature=0, max_new_tokens=2))
    finally:
        backend.post_processor = before
        tok.chat_template = None


@pytest.mark.parametrize("temperature, stop", [(0.0, ()), (0.0, (";",)), (1.0, ("\n",))])
def test_text_streams_as_it_is_decoded_and_adds_up_to_the_draft(gen, temperature, stop):
    """``on_text`` gets each prompt's text in pieces, as it is decoded; the pieces of a prompt
    add up to exactly its draft (never past a stop string), and the drafts are those of a
    call without streaming."""
    prompts = ["12+7=", "3+4=19;\n5+5=", "88+1="]
    params = SamplingParams(temperature=temperature, max_new_tokens=24, stop=stop, seed=3)
    pieces: dict[int, list[str]] = {i: [] for i in range(len(prompts))}
    streamed = gen.generate(prompts, params, on_text=lambda i, delta: pieces[i].append(delta))
    streamed_finish = gen.last_finish
    assert streamed == gen.generate(prompts, params)
    assert streamed_finish == gen.last_finish and {f for (f,) in streamed_finish} <= {"stop", "length"}
    for i, (draft,) in enumerate(streamed):
        assert "".join(pieces[i]) == draft
        assert all(pieces[i])
    assert max(len(p) for p in pieces.values()) >= 2, pieces  # in pieces, not one piece at the end
    with pytest.raises(ValueError, match="params.n must be 1"):
        gen.generate(prompts, SamplingParams(n=2), on_text=lambda i, d: None)


class TidyingTokenizer:
    """Decodes as WordPiece and Unigram tokenizers do by default: a space before punctuation is
    dropped (``clean_up_tokenization_spaces``), so a text's end can change with the next token."""

    clean_up_tokenization_spaces = True
    pieces = ["It", " is", " n", "'t", " Tom", " '", "s", " .", " Done"]

    def decode(self, ids, skip_special_tokens=True):
        text = "".join(self.pieces[i] for i in ids)
        for before, after in ((" n't", "n't"), (" 's", "'s"), (" .", ".")):
            text = text.replace(before, after)
        return text


def test_streamed_text_adds_up_where_the_tokenizer_tidies_spaces():
    """Each piece streamed is final: where decoding one more token drops a space already
    decoded (" n" then "n't"), the text from the last space on is held back until it cannot."""
    import torch

    from correct.generators.streaming import RowStreamer

    tok, deltas = TidyingTokenizer(), []
    streamer = RowStreamer(tok, [0], [], lambda i, delta: deltas.append(delta))
    streamer.put(torch.tensor([[0]]))  # the prompt
    for token in range(len(tok.pieces)):
        streamer.put(torch.tensor([token]))
    streamer.end()
    assert "".join(deltas) == tok.decode(range(len(tok.pieces))) == "It isn't Tom's. Done"
    assert len(deltas) > 2  # in pieces, as decoded


def test_streaming_doctests():
    from correct.generators import streaming

    result = doctest.testmod(streaming)
    assert result.attempted > 0 and result.failed == 0
