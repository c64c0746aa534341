"""Behaviour of the training losses, corpus and steps (corrector/training/objectives.py, fit.py)
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


def _tiny(n_positions: int):
    from correct.corrector.training.tiny import build_model, build_tokenizer

    tok = build_tokenizer(["sort 3 1 2 => 1 2 3", "the quick brown fox jumps"] * 20, vocab_size=300)
    return build_model(tok, n_layer=1, n_embd=16, n_head=2, n_positions=n_positions), tok


def test_a_run_without_checkpoints_writes_none_whatever_save_steps_says(tmp_path):
    from correct.corrector.training.config import TrainConfig
    from correct.corrector.training.fit import train_rows

    model, tok = _tiny(16)
    rows = [{"input_ids": list(range(2, 10)), "labels": list(range(2, 10))}] * 4
    config = TrainConfig(batch_size=2, learning_rate=1e-3, lr_scheduler="constant", seed=0, save_steps=1)
    stats = train_rows(model, tok, rows, len(rows), 2, config, tmp_path / "t")
    assert stats["steps"] == 2
    assert not list((tmp_path / "t").glob("checkpoint-*"))


def test_the_sft_corpus_is_cut_into_blocks_of_at_most_128_tokens(tmp_path, monkeypatch):
    """``train_lm`` cuts its ``lm_corpus`` as the corrector's training does (``loop.py``):
    128-token blocks where the model's context is longer."""
    from correct.corrector.training import fit
    from correct.corrector.training.config import TrainConfig

    model, tok = _tiny(256)
    (tmp_path / "corpus.txt").write_text("the quick brown fox jumps\n" * 200)
    seen = {}
    monkeypatch.setattr(fit, "train_rows", lambda *args, **kwargs: seen.setdefault("lm", args[7]))
    fit.train_lm(
        model, tok, [("sort 3 1 2 =>", " 1 2 3")], 1, TrainConfig(lm_corpus=str(tmp_path / "corpus.txt")), tmp_path
    )
    lengths = [len(b["input_ids"]) for b in seen["lm"]]
    assert len(lengths) > 2 and max(lengths) == 128 and lengths[:-1] == [128] * (len(lengths) - 1)


def test_the_cores_are_looked_at_again_once_every_interval_not_every_step_after(monkeypatch):
    """``follow_cores(every)``: on a clock that the test moves, the threads are set again at the
    first step ``every`` seconds after the last time they were, and not at the steps between."""
    import time

    from correct.corrector.training import fit
    from correct.generators import threads

    now = [100.0]
    applied = []
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(threads, "apply", lambda *a, **k: applied.append(now[0]))
    callback = fit.follow_cores(every=10.0)
    for t in (105.0, 111.0, 112.0, 115.0, 121.5, 122.0):
        now[0] = t
        callback.on_step_begin(None, None, None)
    assert applied == [111.0, 121.5]


def test_a_fresh_checkpointed_run_drops_the_step_checkpoints_of_an_old_one(tmp_path):
    """Without ``resume`` a run never continues an old one: a complete step checkpoint left in
    its folder is deleted (else a later resumed run would continue from that stale step)."""
    from correct.corrector.training import resume
    from correct.corrector.training.config import TrainConfig
    from correct.corrector.training.fit import train_rows

    old = tmp_path / "t" / "checkpoint-7"
    old.mkdir(parents=True)
    (old / resume.COMPLETE).write_text("")
    model, tok = _tiny(16)
    rows = [{"input_ids": list(range(2, 10)), "labels": list(range(2, 10))}] * 4
    config = TrainConfig(batch_size=2, learning_rate=1e-3, lr_scheduler="constant", seed=0, save_steps=0)
    stats = train_rows(model, tok, rows, len(rows), 1, config, tmp_path / "t", checkpoints=True)
    assert "resumed_from_step" not in stats and not old.exists()
