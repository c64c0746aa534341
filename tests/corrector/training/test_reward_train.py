"""Reward-model training: the preference reader, the pairwise loss, and a tiny GPT-2 that
learns to prefer the right sum over a wrong one."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch
from transformers import set_seed
from transformers.utils import logging as hf_logging

from correct.corrector.outputs import RecordError
from correct.corrector.training.reward import (
    PairCollator,
    encode_pairs,
    load_base,
    read_preferences,
    reward_trainer,
    train_reward_model,
)
from correct.corrector.training.tiny import build_model, build_tokenizer
from correct.values import ValueFunctionError
from correct.values.reward import PairEncoder, RewardModelValue, prepare_tokenizer

hf_logging.disable_progress_bar()


def sum_pair(rng: random.Random) -> dict:
    """Chosen: the right sum; rejected: a wrong one (so a random model prefers either at chance)."""
    a, b = rng.randint(0, 9), rng.randint(0, 9)
    wrong = rng.choice([x for x in range(19) if x != a + b])
    return {"prompt": f"{a}+{b}=", "chosen": str(a + b), "rejected": str(wrong)}


def sum_pairs(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [sum_pair(rng) for _ in range(n)]


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    """A fresh (untrained) tiny causal LM: the reward model starts from it."""
    tok = build_tokenizer([f"{a}+{b}={c}" for a in range(10) for b in range(10) for c in range(19)], vocab_size=300)
    path = tmp_path_factory.mktemp("base")
    build_model(tok, n_layer=1, n_embd=128, n_head=4, n_positions=32).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def accuracy(value: RewardModelValue, pairs) -> float:
    prompts = [p["prompt"] for p in pairs]
    chosen = value.rewards(prompts, [p["chosen"] for p in pairs])
    rejected = value.rewards(prompts, [p["rejected"] for p in pairs])
    return sum(c > r for c, r in zip(chosen, rejected)) / len(pairs)


def _write(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def test_read_preferences(tmp_path):
    good = {"prompt": "1+1=", "chosen": "2", "rejected": "3"}
    records = read_preferences(_write(tmp_path / "ok.jsonl", [good, "", {**good, "id": "x"}]))
    assert [r["id"] for r in records] == ["1", "x"]
    with pytest.raises(RecordError, match=r"missing\.jsonl:2: missing field 'chosen'"):
        read_preferences(_write(tmp_path / "missing.jsonl", [good, {"prompt": "p", "rejected": "r"}]))
    with pytest.raises(RecordError, match=r"bad\.jsonl:3: `rejected` must be a string, got list"):
        read_preferences(_write(tmp_path / "bad.jsonl", [good, "", {**good, "rejected": ["r"]}]))
    with pytest.raises(RecordError, match=r"json\.jsonl:1: not valid JSON"):
        read_preferences(_write(tmp_path / "json.jsonl", ["{oops"]))
    with pytest.raises(RecordError, match=r"empty\.jsonl: no preference records"):
        read_preferences(_write(tmp_path / "empty.jsonl", [""]))
    with pytest.raises(RecordError, match="no such file"):
        read_preferences(tmp_path / "absent.jsonl")


def test_collator_puts_chosen_first_then_rejected():
    batch = PairCollator(pad_token_id=9)([{"chosen": [1, 2, 3], "rejected": [4]}, {"chosen": [5], "rejected": [6, 7]}])
    assert batch["input_ids"].tolist() == [[1, 2, 3], [5, 9, 9], [4, 9, 9], [6, 7, 9]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0], [1, 0, 0], [1, 1, 0]]


def test_loss_is_minus_log_sigmoid_of_the_reward_margin(base_dir, tmp_path, one_torch_thread):
    set_seed(0)
    model, tok = load_base(str(base_dir))
    model.eval()
    with torch.no_grad():  # a wide random head, so the margins are far from 0
        model.score.weight.normal_(0, 3.0)
    prepare_tokenizer(tok, model)
    pairs = sum_pairs(5, seed=3) + [{"prompt": "1+1=", "chosen": "2 is the sum", "rejected": "3"}]
    rows, cut = encode_pairs(PairEncoder(tok, 32), pairs)
    trainer = reward_trainer(model, tok, rows, tmp_path / "t", steps=1, lr=1e-3, batch_size=len(rows), seed=0)
    with torch.no_grad():
        loss = trainer.compute_loss(model, trainer.data_collator(rows)).item()

    value = RewardModelValue(model, tok, batch_size=1, device="cpu")  # each text on its own
    margins = [
        value.rewards([p["prompt"]], [p["chosen"]])[0] - value.rewards([p["prompt"]], [p["rejected"]])[0] for p in pairs
    ]
    by_hand = sum(-math.log(1 / (1 + math.exp(-d))) for d in margins) / len(margins)
    assert cut == 0 and max(map(abs, margins)) > 0.5
    assert loss == pytest.approx(by_hand, rel=1e-5)


@pytest.mark.slow
def test_a_tiny_model_learns_to_prefer_the_right_sum(base_dir, tmp_path, one_torch_thread):
    held_out = sum_pairs(200, seed=1)
    set_seed(0)
    before = accuracy(RewardModelValue(*load_base(str(base_dir))), held_out)
    assert 0.3 <= before <= 0.7

    out = tmp_path / "rm"
    stats = train_reward_model(sum_pairs(1000, seed=0), out, str(base_dir), steps=300, lr=2e-3, batch_size=32, seed=0)
    assert stats["steps"] == 300 and stats["pairs"] == 1000 and stats["cut"] == 0 and stats["loss"] < 0.5

    value = RewardModelValue.from_pretrained(str(out))  # the saved folder is a reward model
    assert value.model.config.num_labels == 1
    assert accuracy(value, held_out) >= 0.9
    config = json.loads((out / "correct_config.json").read_text())
    assert config["method"] == "reward-model"
    assert config["training"] | {"base": None} == {
        "base": None,
        "steps": 300,
        "lr": 2e-3,
        "batch_size": 32,
        "seed": 0,
        "max_length": 32,
        "lr_scheduler": "cosine",
        "pairs": 1000,
    }


def test_starts_from_a_classifier_with_another_head(base_dir, tmp_path, one_torch_thread):
    """A two-label classifier is a fine start: its head is replaced by a one-output one."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    two = tmp_path / "two"
    AutoModelForSequenceClassification.from_pretrained(base_dir, num_labels=2).save_pretrained(two)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(two)
    stats = train_reward_model(
        sum_pairs(8, seed=0), tmp_path / "rm", str(two), steps=2, lr=1e-3, batch_size=4, max_length=8
    )
    assert stats["steps"] == 2
    assert RewardModelValue.from_pretrained(str(tmp_path / "rm")).encoder.max_length == 8


def test_bad_base_and_pairs(tmp_path):
    with pytest.raises(ValueFunctionError, match=r"^base model path '.*/absent' does not exist$"):
        train_reward_model(sum_pairs(2, 0), tmp_path / "rm", str(tmp_path / "absent"))
    with pytest.raises(RecordError, match="no preference pairs"):
        train_reward_model([], tmp_path / "rm", str(tmp_path))
    with pytest.raises(ValueFunctionError, match="must be positive"):
        train_reward_model(sum_pairs(2, 0), tmp_path / "rm", str(tmp_path), steps=0)
