"""Behaviour of the training losses and rows (corrector/training/objectives.py, hindsight.py)
that a mutation audit found no test holding: each test here failed with a one-line change to
the source applied."""

from __future__ import annotations

import math

import pytest
import torch

from correct.corrector.training.objectives import contrastive_loss


def test_a_row_with_no_labelled_token_adds_a_finite_contrastive_term():
    """A row whose output has no labelled token (nothing of it left to learn) has equal
    likelihoods under both instructions: its term is log 2, not a 0/0 NaN that would poison
    the batch's loss."""
    loss = contrastive_loss(torch.tensor([0.0, -2.0]), torch.tensor([0.0, -4.0]), torch.tensor([0, 2]))
    assert loss.tolist() == pytest.approx([math.log(2), math.log1p(math.exp(-1.0))])


def test_a_corpus_the_tokenizer_reads_no_token_of_is_refused(tmp_path):
    """Every line of the corpus is text the tokenizer has no token for (here: it knows only
    digits): only end-of-text marks would be left, no text to model, so the file is named as
    empty instead of training on nothing."""
    from correct.corrector.training.objectives import CorpusError, lm_blocks

    class Digits:
        eos_token_id = 0

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [int(c) + 1 for c in text if c.isdigit()]}

    corpus = tmp_path / "c.txt"
    corpus.write_text("no digits here\n")
    with pytest.raises(CorpusError, match="no text in it"):
        lm_blocks(corpus, Digits(), 4)
    corpus.write_text("12\n")
    assert lm_blocks(corpus, Digits(), 4) == [{"input_ids": [2, 3, 0], "labels": [2, 3, 0]}]


def test_training_on_rows_none_of_which_fit_the_context_is_refused(tmp_path):
    """Every row is longer than the model's context: a TrainError saying so, before the
    Trainer is built on an empty dataset."""
    from correct.corrector.training.config import TrainConfig, TrainError
    from correct.corrector.training.fit import train_rows
    from correct.corrector.training.tiny import build_model, build_tokenizer

    tok = build_tokenizer(["sort 3 1 2 => 1 2 3"] * 20, vocab_size=300)
    model = build_model(tok, n_layer=1, n_embd=16, n_head=2, n_positions=8)
    rows = [{"input_ids": list(range(2, 12)), "labels": list(range(2, 12))}] * 2
    config = TrainConfig(batch_size=2, learning_rate=1e-3, lr_scheduler="constant", seed=0, save_steps=0)
    with pytest.raises(TrainError, match="no training examples fit the model's context"):
        train_rows(model, tok, rows, len(rows), 1, config, tmp_path / "t")
