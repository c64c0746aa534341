"""Behaviour of reward-model training (corrector/training/reward.py) that a mutation audit found
no test holding: each test here failed with a one-line change to the source applied."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from correct.corrector.outputs import RecordError
from correct.corrector.training.reward import encode_pairs, train_reward_model
from correct.corrector.training.tiny import build_model, build_tokenizer
from correct.values import ValueFunctionError
from correct.values.reward import PairEncoder

TEXTS = [f"{a}+{b}={a + b}" for a in range(10) for b in range(10)]


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    tok = build_tokenizer(TEXTS, vocab_size=300)
    path = tmp_path_factory.mktemp("base")
    build_model(tok, n_layer=1, n_embd=16, n_head=2, n_positions=32).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_a_pair_cut_on_its_rejected_side_only_is_counted_cut():
    tok = build_tokenizer(TEXTS, vocab_size=300)
    encoder = PairEncoder(tok, 8)
    short, long = "1", " ".join(["12"] * 20)
    rows, cut = encode_pairs(encoder, [{"prompt": "1+1=", "chosen": short, "rejected": long}])
    assert cut == 1 and len(rows[0]["rejected"]) <= 8
    assert encode_pairs(encoder, [{"prompt": "1+1=", "chosen": short, "rejected": short}])[1] == 0


def test_a_pair_given_in_code_with_a_field_not_text_is_named():
    tok = build_tokenizer(TEXTS, vocab_size=300)
    with pytest.raises(RecordError, match=r"preference pair 'p7': `rejected` must be a string"):
        encode_pairs(PairEncoder(tok, 16), [{"id": "p7", "prompt": "1+1=", "chosen": "2", "rejected": 3}])


def test_a_learning_rate_of_zero_is_refused_before_the_base_loads(tmp_path):
    with pytest.raises(ValueFunctionError, match=r"must be positive \(got 300, 16, 0.0\)"):
        train_reward_model([{"prompt": "p", "chosen": "a", "rejected": "b"}], tmp_path / "rm", "/no/base", lr=0.0)


def test_the_seed_draws_the_new_reward_head(base_dir, tmp_path):
    """The reward head is new: ``seed`` draws it (set before the base loads), so two runs with
    the same seed save the same model, whatever the random state before them."""
    pairs = [{"prompt": "1+1=", "chosen": "2", "rejected": "3"}] * 4

    def head(name):
        torch.manual_seed(len(name))  # a different random state before each run
        train_reward_model(pairs, tmp_path / name, str(base_dir), steps=1, lr=1e-9, batch_size=2, seed=5)
        return load_file(tmp_path / name / "model.safetensors")["score.weight"]

    assert torch.equal(head("a"), head("bb"))
