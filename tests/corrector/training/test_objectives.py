"""HIR's loss on a case computed by hand, its relabelled rows, padding, and the
language-modelling regularisation really pulling the model towards the user's text."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from correct.corrector.layouts import hir_instruction
from correct.corrector.pool import Draft
from correct.corrector.training.hindsight import Relabelled, hir_rows, outcome_threshold, sample_relabelled
from correct.corrector.training.objectives import (
    CorpusError,
    PadCollator,
    contrastive_loss,
    hir_loss,
    lm_blocks,
    sequence_logprobs,
)

# A bigram "model": row i holds P(next token | token i).
P = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])


def bigram(input_ids, attention_mask=None):
    return SimpleNamespace(logits=P.log()[input_ids])


def test_sequence_logprobs_sum_only_labelled_tokens():
    ids = torch.tensor([[0, 1, 2], [2, 2, 0]])
    labels = torch.tensor([[-100, 1, 2], [-100, -100, 0]])
    logp, n = sequence_logprobs(bigram, ids, torch.ones_like(ids), labels)
    assert logp.tolist() == pytest.approx([math.log(0.25) + math.log(0.3), math.log(0.2)])
    assert n.tolist() == [2, 1]


@pytest.mark.parametrize("p_r, p_o", [(0.6, 0.2), (0.1, 0.3), (1e-30, 1e-300), (0.5, 0.5)])
def test_contrastive_loss_by_hand(p_r, p_o):
    def loss(logp, logp_opp, n=1):
        return contrastive_loss(
            torch.tensor([logp], dtype=torch.float64), torch.tensor([logp_opp], dtype=torch.float64), torch.tensor([n])
        ).item()

    expected = -math.log(p_r / (p_r + p_o))
    assert loss(math.log(p_r), math.log(p_o)) == pytest.approx(expected, rel=1e-9)
    assert loss(0.0, -1000.0) == pytest.approx(0.0, abs=1e-12)  # no overflow
    assert loss(-1000.0, 0.0) == pytest.approx(1000.0)
    # Two tokens: p is the geometric mean of their probabilities.
    expected = -math.log(math.sqrt(p_r * 0.5) / (math.sqrt(p_r * 0.5) + math.sqrt(p_o * 0.5)))
    assert loss(math.log(p_r) + math.log(0.5), math.log(p_o) + math.log(0.5), n=2) == pytest.approx(expected, rel=1e-9)


def test_hir_loss_by_hand():
    # Row 1: "1 2" after token 0 (relabelled) or after token 2 (opposite); row 2: "0" after 1 or after 0.
    batch = {
        "input_ids": torch.tensor([[0, 1, 2], [1, 0, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]]),
        "labels": torch.tensor([[-100, 1, 2], [-100, 0, -100]]),
        "opp_input_ids": torch.tensor([[2, 1, 2], [0, 0, 0]]),
        "opp_attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]]),
        "opp_labels": torch.tensor([[-100, 1, 2], [-100, 0, -100]]),
    }
    # Likelihood: per target token over the batch, 3 tokens.
    nll = -(math.log(0.25) + math.log(0.3) + math.log(0.1)) / 3
    # Contrastive: −log p/(p + p_opp) with p the per-token (geometric mean) likelihood.
    c1 = -math.log(math.sqrt(0.25 * 0.3) / (math.sqrt(0.25 * 0.3) + math.sqrt(0.2 * 0.3)))
    c2 = -math.log(0.1 / (0.1 + 0.5))
    loss, parts = hir_loss(bigram, batch, weight=2.0)
    assert parts["nll"] == pytest.approx(nll)
    assert parts["contrastive"] == pytest.approx((c1 + c2) / 2)
    assert loss.item() == pytest.approx(nll + 2.0 * (c1 + c2) / 2)
    assert hir_loss(bigram, batch, weight=0.0)[0].item() == pytest.approx(nll)


def test_hir_loss_pushes_the_opposite_instruction_down():
    """One gradient step on the contrastive term alone widens the gap between the output's
    likelihood under its own instruction and under the opposite one."""
    torch.manual_seed(0)
    table = torch.nn.Parameter(torch.zeros(3, 3))

    def model(input_ids, attention_mask=None):
        return SimpleNamespace(logits=table[input_ids])

    batch = {
        "input_ids": torch.tensor([[0, 1]]),
        "labels": torch.tensor([[-100, 1]]),
        "attention_mask": torch.ones(1, 2, dtype=torch.long),
        "opp_input_ids": torch.tensor([[2, 1]]),
        "opp_labels": torch.tensor([[-100, 1]]),
        "opp_attention_mask": torch.ones(1, 2, dtype=torch.long),
    }
    loss, _ = hir_loss(model, batch, weight=1.0)
    loss.backward()
    with torch.no_grad():
        table -= 1.0 * table.grad
        gap = table.log_softmax(-1)[0, 1] - table.log_softmax(-1)[2, 1]
    assert gap > 0.2


def test_outcome_threshold_and_sampled_labels_match_values():
    drafts = {"a": [Draft("a", "x", 1.0), Draft("a", "y", 0.0)], "b": [Draft("b", "z", 0.5)], "c": []}
    assert outcome_threshold([d.value for ds in drafts.values() for d in ds], 1.0) == 1.0
    assert outcome_threshold([1.0, 0.0, 0.5], math.inf) == 0.5
    with pytest.raises(ValueError, match="no values to take a median of"):
        outcome_threshold([], math.inf)
    examples = sample_relabelled(drafts, 200, threshold=1.0, seed=0)
    assert len(examples) == 200 and {e.prompt_id for e in examples} == {"a", "b"}
    assert all(e.outcome == (e.target.value >= 1.0) and e.source in drafts[e.prompt_id] for e in examples)
    assert {e.outcome for e in examples} == {True, False}
    assert sample_relabelled(drafts, 200, threshold=1.0, seed=0) == examples  # seeded
    assert sample_relabelled(drafts, 200, threshold=1.0, seed=1) != examples


def test_hir_rows_differ_only_in_the_instruction():
    from correct.corrector.training.tiny import build_tokenizer

    tok = build_tokenizer(
        ["Question: 2+2?\nDraft:\n5\nFeedback: printed 5\nAnswer correctly.\nAnswer wrongly.\n4"] * 5, vocab_size=300
    )
    e = Relabelled("p", Draft("p", "5", 0.0, "printed 5"), Draft("p", "4", 1.0), True)
    [row] = hir_rows(tok, [e], {"p": "2+2?"}, max_length=128)
    target = tok("4", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    for prefix, outcome in (("", True), ("opp_", False)):
        ids, labels = row[prefix + "input_ids"], row[prefix + "labels"]
        assert [t for t in labels if t != -100] == target and ids[-len(target) :] == target
        assert tok.decode(ids[: -len(target)]) == hir_instruction("2+2?", outcome, "5", "printed 5")
    assert hir_instruction("2+2?", True, "5", "printed 5").endswith("Feedback: printed 5\nAnswer correctly.\n")
    assert hir_rows(tok, [e], {"p": "2+2?"}, max_length=5) == []  # does not fit: dropped


def test_pad_collator_pads_each_column_its_own_way():
    batch = PadCollator(pad_id=7)(
        [
            {"input_ids": [1, 2, 3], "labels": [-100, 2, 3], "opp_input_ids": [4], "opp_labels": [4]},
            {"input_ids": [5], "labels": [5], "opp_input_ids": [6, 6], "opp_labels": [-100, 6]},
        ]
    )
    assert batch["input_ids"].tolist() == [[1, 2, 3], [5, 7, 7]]
    assert batch["labels"].tolist() == [[-100, 2, 3], [5, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["opp_input_ids"].tolist() == [[4, 7], [6, 6]]
    assert batch["opp_attention_mask"].tolist() == [[1, 0], [1, 1]]
    # A row's own attention mask (Chain of Hindsight's hidden past tokens) is kept.
    masked = PadCollator(0)(
        [{"input_ids": [1, 2, 3], "labels": [1, 2, 3], "attention_mask": [1, 0, 1]}, {"input_ids": [1], "labels": [1]}]
    )
    assert masked["attention_mask"].tolist() == [[1, 0, 1], [1, 0, 0]]


def test_lm_blocks_cut_the_file_and_name_it_when_unusable(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("abc\n\nde\n")

    def tokenize(text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}

    blocks = lm_blocks(corpus, _Tok(tokenize), 4)
    assert [b["input_ids"] for b in blocks] == [[97, 98, 99, 0], [100, 101, 0]]
    assert all(b["labels"] == b["input_ids"] for b in blocks)
    corpus.write_text("\n \n")
    with pytest.raises(CorpusError, match=f"language-modelling corpus {corpus}: no text"):
        lm_blocks(corpus, _Tok(tokenize), 4)
    corpus.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(CorpusError, match="cannot read"):
        lm_blocks(corpus, _Tok(tokenize), 4)


class _Tok:
    eos_token_id = 0

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, text, add_special_tokens=False):
        return self.fn(text, add_special_tokens)


def test_lm_regularisation_pulls_the_model_towards_the_corpus(tmp_path):
    """Same corrector rows, same seed: with λ > 0 the model ends with a lower loss on the
    user's text than without; with λ = 0 the corpus changes nothing."""
    from correct.corrector.training.config import TrainConfig
    from correct.corrector.training.fit import train_rows
    from correct.corrector.training.tiny import build_model, build_tokenizer

    task = [f"sort {a} {b} => {min(a, b)} {max(a, b)}" for a in range(10) for b in range(10)]
    corpus_text = ["the quick brown fox jumps over the lazy dog"] * 50
    tok = build_tokenizer(task + corpus_text, vocab_size=300)
    (tmp_path / "corpus.txt").write_text("\n".join(corpus_text))
    lm = lm_blocks(tmp_path / "corpus.txt", tok, 32)
    rows = [{"input_ids": ids, "labels": ids} for ids in (tok(t)["input_ids"] for t in task)]
    cfg = TrainConfig(batch_size=8, learning_rate=3e-3, lr_scheduler="constant", seed=0)

    def corpus_loss(weight, with_corpus=True):
        torch.manual_seed(0)
        model = build_model(tok, n_layer=1, n_embd=32, n_head=2, n_positions=64)
        train_rows(
            model,
            tok,
            rows,
            len(rows),
            30,
            TrainConfig(**{**cfg.__dict__, "lm_weight": weight}),
            tmp_path / "t",
            lm if with_corpus else None,
        )
        batch = PadCollator(tok.pad_token_id)(lm)
        with torch.no_grad():
            return model(**batch).loss.item()

    plain, regularised = corpus_loss(0.0), corpus_loss(1.5)
    print(f"corpus loss: plain {plain:.3f}, regularised {regularised:.3f}")
    assert regularised < plain - 0.5, (plain, regularised)
    assert corpus_loss(1.5, with_corpus=False) == pytest.approx(plain, abs=1e-5)
