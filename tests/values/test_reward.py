"""The reward-model value on tiny GPT-2 classifiers built offline (random weights: the scores
mean nothing, but batching, padding and truncation must not change them)."""

from __future__ import annotations

import math
import shutil

import pytest
import torch
from transformers import GPT2Config, GPT2ForSequenceClassification

from correct.corrector.refine import Step, _still_open
from correct.corrector.training.tiny import build_model, build_tokenizer
from correct.values import ValueFunctionError
from correct.values.reward import PairEncoder, RewardModelValue, from_spec

PROMPTS = ["1+1=", "12+30=", "what is 7+8? answer: ", "9+9=", "0+0=", "45+45=", "3+4="]
OUTPUTS = ["2", "42", "15 because 7 plus 8 is 15", "17", "0", "90 90 90", ""]


def _classifier(tok, num_labels=1, n_positions=64, seed=0, pad=True):
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=n_positions,
        n_embd=32,
        n_layer=2,
        n_head=2,
        num_labels=num_labels,
        pad_token_id=tok.pad_token_id if pad else None,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.eos_token_id,
        initializer_range=0.2,
    )  # wide weights: rewards that differ visibly
    return GPT2ForSequenceClassification(config).eval()


def _save(model, tok, path):
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer([p + o for p, o in zip(PROMPTS, OUTPUTS)] * 20, vocab_size=300)


@pytest.fixture(scope="module")
def rm_dir(tok, tmp_path_factory):
    return _save(_classifier(tok), tok, tmp_path_factory.mktemp("rm"))


def _records():
    return [{"id": str(i), "prompt": p} for i, p in enumerate(PROMPTS)]


def test_loads_by_path_and_scores(rm_dir, one_torch_thread):
    value = RewardModelValue.from_pretrained(str(rm_dir))
    assert (value.name, value.reference_free) == ("reward-model", True)
    assert value.max_value == math.inf and value.min_value == -math.inf
    scores = value(_records(), OUTPUTS)
    assert len(scores) == len(OUTPUTS)
    assert all(math.isfinite(s.value) and s.feedback == f"reward {s.value:.2f}" for s in scores)
    assert len({round(s.value, 4) for s in scores}) > 3  # the outputs are told apart
    assert value([], []) == []


def test_batching_equals_one_by_one(rm_dir, one_torch_thread):
    batched = RewardModelValue.from_pretrained(str(rm_dir), batch_size=4)
    single = RewardModelValue.from_pretrained(str(rm_dir), batch_size=1)
    many = [s.value for s in batched(_records(), OUTPUTS)]
    one = [single([r], [o])[0].value for r, o in zip(_records(), OUTPUTS)]
    assert many == pytest.approx(one, abs=1e-5)


def test_padding_side_of_the_saved_tokenizer_does_not_change_scores(rm_dir, tok, tmp_path, one_torch_thread):
    left = tmp_path / "left"
    shutil.copytree(rm_dir, left)
    tok.padding_side = "left"
    try:
        tok.save_pretrained(left)
    finally:
        tok.padding_side = "right"
    right_scores = [s.value for s in RewardModelValue.from_pretrained(str(rm_dir))(_records(), OUTPUTS)]
    value = RewardModelValue.from_pretrained(str(left))
    assert [s.value for s in value(_records(), OUTPUTS)] == pytest.approx(right_scores, abs=1e-5)

    # Why it matters: GPT-2 numbers positions from the first token, so naive left padding
    # shifts every short text and changes its reward.
    enc = PairEncoder(value.tokenizer, 64)
    ids = [enc(p, o) for p, o in zip(PROMPTS, OUTPUTS)]
    width = max(map(len, ids))
    pad = value.tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids])
    mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
    with torch.no_grad():
        naive = value.model(input_ids=input_ids, attention_mask=mask).logits[:, 0].tolist()
    assert naive != pytest.approx(right_scores, abs=1e-3)


def test_gpt2_like_tokenizer_without_pad_token(tok, tmp_path, one_torch_thread):
    """Real GPT-2 ships no pad token and no pad_token_id: the EOS token pads, and batches
    still score like single texts."""
    no_pad = build_tokenizer([p + o for p, o in zip(PROMPTS, OUTPUTS)] * 20, vocab_size=300)
    no_pad.pad_token = None
    path = _save(_classifier(tok, pad=False), no_pad, tmp_path / "nopad")
    value = RewardModelValue.from_pretrained(str(path), batch_size=8)
    assert value.tokenizer.pad_token == value.tokenizer.eos_token
    assert value.model.config.pad_token_id == value.tokenizer.eos_token_id
    single = RewardModelValue.from_pretrained(str(path), batch_size=1)
    assert [s.value for s in value(_records(), OUTPUTS)] == pytest.approx(
        [single([r], [o])[0].value for r, o in zip(_records(), OUTPUTS)], abs=1e-5
    )


def test_text_format_eos_and_chat_template(tok):
    enc = PairEncoder(tok, None)
    assert enc.text("1+1=", "2") == "1+1=2"
    assert enc("1+1=", "2") == tok("1+1=2")["input_ids"] + [tok.eos_token_id]
    chat_tok = build_tokenizer(["user assistant 1+1=2"] * 10, vocab_size=300)
    chat_tok.chat_template = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
    chat = PairEncoder(chat_tok, None)
    assert chat.text("1+1=", "2") == "<user>1+1=\n<assistant>2\n"
    assert chat("1+1=", "2") == chat_tok("<user>1+1=\n<assistant>2\n")["input_ids"]  # no extra EOS


def test_long_inputs_lose_their_oldest_tokens(rm_dir, one_torch_thread):
    value = RewardModelValue.from_pretrained(str(rm_dir))  # n_positions = 64
    ids, cut = value.encoder.encode("1+1= " * 100, "2")
    assert cut and len(ids) == 64 and ids[-1] == value.tokenizer.eos_token_id
    assert value.tokenizer.decode(ids[:-1]).endswith("1+1= 2")
    [score] = value([{"prompt": "1+1= " * 100}], ["2"])  # longer than the model: no crash
    assert math.isfinite(score.value)
    short = RewardModelValue.from_pretrained(str(rm_dir), max_length=1000)
    assert short.encoder.max_length == 64  # never past the model's positions


def test_spec_options(rm_dir):
    value = from_spec(f"{rm_dir},batch_size=2,max_value=0.5")
    assert (value.batch_size, value.max_value) == (2, 0.5)
    # A draft at the threshold counts as solved and is not sent to the corrector again.
    assert not _still_open([Step(0, "x", 0.7, "reward 0.70")], value, greedy=False)
    assert _still_open([Step(0, "x", 1e9, "")], from_spec(str(rm_dir)), greedy=False)
    with pytest.raises(ValueFunctionError, match="unknown option 'size'"):
        from_spec(f"{rm_dir},size=2")
    with pytest.raises(ValueFunctionError, match="batch_size must be a number"):
        from_spec(f"{rm_dir},batch_size=two")
    with pytest.raises(ValueFunctionError, match="needs a model"):
        from_spec(None)


def test_missing_path(tmp_path):
    with pytest.raises(ValueFunctionError, match=r"^reward model path '.*/nope/rm' does not exist$"):
        RewardModelValue.from_pretrained(str(tmp_path / "nope" / "rm"))


def test_unreachable_hub_id():
    # conftest sets HF_HUB_OFFLINE: a hub id that is not cached cannot be fetched.
    with pytest.raises(ValueFunctionError, match="not a local folder and not reachable on the Hugging Face hub"):
        RewardModelValue.from_pretrained("no-such-org/no-such-reward-model")


def test_folder_without_a_model(tmp_path):
    with pytest.raises(ValueFunctionError, match=r"^could not load reward model from '.*': "):
        RewardModelValue.from_pretrained(str(tmp_path))


def test_two_labels_is_refused(tok, tmp_path):
    path = _save(_classifier(tok, num_labels=2), tok, tmp_path / "two")
    with pytest.raises(ValueFunctionError, match=r"has 2 outputs \(num_labels=2\); a reward model has exactly one"):
        RewardModelValue.from_pretrained(str(path))


def test_causal_lm_is_refused(tok, tmp_path):
    path = _save(build_model(tok, n_layer=1, n_embd=32), tok, tmp_path / "lm")
    with pytest.raises(ValueFunctionError, match="is not a sequence-classification checkpoint .*GPT2LMHeadModel"):
        RewardModelValue.from_pretrained(str(path))


def test_untrained_head_is_refused(tok, tmp_path):
    """A classifier config over weights without the head would score at random."""
    path = _save(build_model(tok, n_layer=1, n_embd=32), tok, tmp_path / "headless")
    config = GPT2Config.from_pretrained(path)
    config.architectures, config.num_labels = ["GPT2ForSequenceClassification"], 1
    config.save_pretrained(path)
    with pytest.raises(ValueFunctionError, match="has no trained weights for score.weight"):
        RewardModelValue.from_pretrained(str(path))


def test_records_must_have_a_prompt(rm_dir):
    value = RewardModelValue.from_pretrained(str(rm_dir))
    with pytest.raises(ValueFunctionError, match="record 'a' has no `prompt`"):
        value([{"id": "a"}], ["x"])
    with pytest.raises(ValueFunctionError, match="got 1 records for 2 outputs"):
        value([{"prompt": "p"}], ["x", "y"])
