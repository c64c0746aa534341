"""Behaviour of the training side that a mutation audit found no test holding: each test here
failed on a one-line change to the source that the rest of the suite let through.

What they pin, by module:

- encode.py: a row that exactly fills the context is kept; ``encode_examples`` learns each
  target after its source; the shared ``TrainingArguments`` (warm-up a tenth of the steps at
  most 50, an explicit 0 kept, logging cadence, scheduler, seed, reporting, no weight decay,
  step checkpoints only when asked).
- fit.py: rows of exactly the context kept, HIR rows whose opposite instruction does not fit
  dropped; accumulation passes averaged, not summed, and all counted in the tokens; the
  config's learning rate, schedule, seed and contrastive weight reach the Trainer; the
  tokenizer's padding side given back; a resumed run's earlier CPU time charged to the budget.
- budget.py: no budget is never spent; ``CpuBudget`` logs and checkpoints the CPU-seconds
  of the runs before and stops after the step that spends the budget; ``spent_at`` reads
  the latest logged value.
- objectives.py: λ scales the language-modelling term, taken on a whole batch of the corpus
  drawn in the run's seeded order; HIR's opposite instruction is read under its own
  attention mask.
- hindsight.py: ``round(share · n)`` tokens masked, never the first; HIR pairs an output with
  other drafts of its prompt, not only itself.
- sft.py: ``--seed`` decides the tiny model's initial weights; step checkpoints are deleted.
- similarity.py: word-level edit similarity over the longer sequence (its doctests run),
  embedding similarities clipped to [0, 1], ``edit`` takes no argument."""

from __future__ import annotations

import doctest
import json
import math
import random
from dataclasses import replace

import pytest
import torch

from correct.corrector import similarity
from correct.corrector.layouts import Segment
from correct.corrector.pool import Draft
from correct.corrector.similarity import edit_similarity, tokens
from correct.corrector.training.budget import CpuBudget, cpu_seconds, spent_at
from correct.corrector.training.config import TrainConfig
from correct.corrector.training.encode import encode, training_arguments
from correct.corrector.training.hindsight import encode_coh, sample_relabelled
from correct.corrector.training.objectives import CorrectorTrainer, PadCollator
from correct.corrector.training.tiny import build_model, build_tokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONTEXT = 16
"""n_positions of the tiny models below: rows of exactly this length must still train."""

QUICK = TrainConfig(batch_size=4, learning_rate=1e-3, lr_scheduler="constant", seed=0, save_steps=0)


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer(["sort 3 1 2 => 1 2 3", "the quick brown fox"] * 20, vocab_size=300)


def tiny_model(tok):
    return build_model(tok, n_layer=1, n_embd=16, n_head=2, n_positions=CONTEXT)


def rows_of(length: int, n: int = 8) -> list[dict]:
    ids = [(i % 50) + 2 for i in range(length)]
    return [{"input_ids": ids, "labels": [-100] * 2 + ids[2:]} for _ in range(n)]


# -- encode.py ---------------------------------------------------------------------------------


def test_a_row_that_exactly_fills_the_context_is_kept(tok):
    """``encode`` drops a row only when it is longer than ``max_length``: one of exactly
    ``max_length`` tokens fits the model and is trained on (an off-by-one there silently
    drops every example at the limit)."""
    src = tok("sort 3 1 2 =>")["input_ids"]
    tgt = tok(" 1 2 3", add_special_tokens=False)["input_ids"]
    n = len(src) + len(tgt) + 1  # the target's end-of-text
    row = encode(tok, "sort 3 1 2 =>", " 1 2 3", n)
    assert row is not None and len(row["input_ids"]) == n
    assert row["labels"] == [-100] * len(src) + tgt + [tok.eos_token_id]
    assert encode(tok, "sort 3 1 2 =>", " 1 2 3", n - 1) is None


def test_encode_examples_learn_each_target_after_its_source_and_skip_what_does_not_fit(tok):
    """``train_lm`` (sft, rejection-sampling fine-tuning) trains on (prompt, solution) pairs:
    the loss is on the solution after the prompt, never the other way round, and a pair too
    long for the context is left out rather than cut."""
    from correct.corrector.training.encode import encode_examples

    rows = encode_examples(tok, [("sort 3 1 2 =>", " 1 2 3"), ("the quick brown fox " * 10, " 1")], 32)
    assert rows == [encode(tok, "sort 3 1 2 =>", " 1 2 3", 32)]
    assert tok.decode([t for t in rows[0]["labels"] if t != -100]) == " 1 2 3" + tok.eos_token


@pytest.mark.parametrize("steps, warmup", [(30, 3), (200, 20), (1000, 50), (5, 0)])
def test_default_warm_up_is_a_tenth_of_the_steps_at_most_50(tmp_path, steps, warmup):
    """The documented default of --warmup-steps (config.py): a tenth of --steps, at most 50; a
    warm-up too long would keep a short run's learning rate far below the one asked for. The
    loss is logged about ten times a run, at least every step."""
    args = training_arguments(tmp_path, steps, 4, 1e-3, "constant_with_warmup", 0)
    assert args.warmup_steps == warmup
    assert args.logging_steps == max(1, steps // 10)
    assert (args.max_steps, args.per_device_train_batch_size, args.learning_rate) == (steps, 4, 1e-3)


def test_an_explicit_warm_up_of_zero_is_no_warm_up(tmp_path):
    """``--warmup-steps 0`` means none, not "the default": 0 is a value, only None defers."""
    assert training_arguments(tmp_path, 200, 4, 1e-3, "constant_with_warmup", 0, warmup_steps=0).warmup_steps == 0
    assert training_arguments(tmp_path, 200, 4, 1e-3, "constant_with_warmup", 0, warmup_steps=7).warmup_steps == 7


def test_training_arguments_pass_the_schedule_seed_and_reporting_through(tmp_path):
    """What a user sets reaches the Trainer: scheduler, seed, report_to; no weight decay;
    step checkpoints only with ``save_steps`` (else none are written at all)."""
    args = training_arguments(tmp_path, 40, 4, 3e-4, "cosine", 7, report_to=["tensorboard"])
    assert str(args.lr_scheduler_type).rsplit(".", 1)[-1].lower() == "cosine"
    assert (args.seed, args.report_to, args.weight_decay) == (7, ["tensorboard"], 0.0)
    assert str(args.save_strategy).rsplit(".", 1)[-1].lower() == "no"
    saving = training_arguments(tmp_path, 40, 4, 3e-4, "cosine", 7, save_steps=5, save_total_limit=2)
    assert str(saving.save_strategy).rsplit(".", 1)[-1].lower() == "steps"
    assert (saving.save_steps, saving.save_total_limit) == (5, 2)
    assert training_arguments(tmp_path, 40, 4, 3e-4, "cosine", 7).report_to in ([], "none", ["none"])


# -- fit.py --------------------------------------------------------------------------------------


def test_train_rows_keeps_rows_of_exactly_the_context_and_counts_accumulated_tokens(tok, tmp_path):
    """Rows of exactly n_positions tokens fit and are trained on; with 2 accumulation passes
    a step still takes --batch-size rows, so 2 steps of 4 rows of 16 tokens are 128 tokens."""
    from correct.corrector.training.fit import train_rows

    rows = rows_of(CONTEXT)
    config = replace(QUICK, gradient_accumulation_steps=2)
    stats = train_rows(tiny_model(tok), tok, rows, len(rows), 2, config, tmp_path / "t")
    assert (stats["steps"], stats["examples"]) == (2, len(rows))
    assert stats["train_tokens"] == 2 * 4 * CONTEXT


def test_accumulation_splits_a_step_without_scaling_its_loss(tok, tmp_path):
    """The corrector's losses are batch means, so the Trainer must divide each of the
    accumulation passes by their number: on identical rows one step with 2 passes reports
    (and follows the gradient of) the same loss as one step in one pass, not twice it."""
    from correct.corrector.training.fit import train_rows

    rows = rows_of(8)
    whole = train_rows(tiny_model(tok), tok, rows, len(rows), 1, QUICK, tmp_path / "a")["loss"]
    split = replace(QUICK, gradient_accumulation_steps=2)
    assert train_rows(tiny_model(tok), tok, rows, len(rows), 1, split, tmp_path / "b")["loss"] == pytest.approx(whole)


def test_train_rows_gives_the_tokenizer_back_padding_on_the_left(tmp_path):
    """Training pads on the right, generation (generators/hf.py) on the left, with the same
    tokenizer object in one run: the side it had must be restored, or every batched draft
    after the first iteration is padded between prompt and completion."""
    from correct.corrector.training.fit import train_rows

    tok = build_tokenizer(["sort 3 1 2 => 1 2 3"] * 20, vocab_size=300)
    tok.padding_side = "left"
    rows = rows_of(8)
    train_rows(tiny_model(tok), tok, rows, len(rows), 1, QUICK, tmp_path / "t")
    assert tok.padding_side == "left"


def test_cpu_spent_before_this_process_counts_against_the_budget(tok, tmp_path):
    """``cpu_budget`` is the whole run's: a process resuming a run that had already spent it
    all stops after its first step, where one given the whole budget would run every step."""
    from correct.corrector.training.fit import train_rows

    budget = cpu_seconds() + 10_000.0
    rows = rows_of(8)
    config = replace(QUICK, cpu_budget=budget)
    stats = train_rows(tiny_model(tok), tok, rows, len(rows), 4, config, tmp_path / "t", cpu_before=budget)
    assert (stats["steps"], stats["cpu_before"]) == (1, budget)
    assert train_rows(tiny_model(tok), tok, rows, len(rows), 4, config, tmp_path / "u")["steps"] == 4


def hir_rows_of(length: int, opp_length: int, n: int = 8) -> list[dict]:
    mine, opposite = rows_of(length, n), rows_of(opp_length, n)
    return [{**m, **{f"opp_{k}": v for k, v in o.items()}} for m, o in zip(mine, opposite)]


def test_train_rows_drop_hir_rows_whose_opposite_instruction_does_not_fit(tok, tmp_path):
    """Every ``*input_ids`` column must fit the context, the opposite instruction's too: a row
    kept with a too-long ``opp_input_ids`` would index past the position embeddings."""
    from correct.corrector.training.fit import train_rows

    rows = hir_rows_of(8, 10) + hir_rows_of(8, CONTEXT + 4, n=1)
    stats = train_rows(tiny_model(tok), tok, rows, len(rows), 1, QUICK, tmp_path / "t")
    assert stats["examples"] == 8


def test_train_rows_use_the_settings_of_the_config(tok, tmp_path, monkeypatch):
    """The learning rate, schedule and seed reach the Trainer as given; HIR's contrastive
    weight reaches the loss: on the same rows the first step's loss with weight 1 is the
    likelihood plus a positive term, above the loss with weight 0."""
    from correct.corrector.training import fit

    made = []
    real = fit.training_arguments
    monkeypatch.setattr(fit, "training_arguments", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    rows = hir_rows_of(8, 10)
    config = replace(QUICK, learning_rate=2e-3, seed=5, contrastive_weight=0.0)
    plain = fit.train_rows(tiny_model(tok), tok, rows, len(rows), 1, config, tmp_path / "a")["loss"]
    (used,) = made
    assert (used.learning_rate, used.seed, used.max_steps, used.per_device_train_batch_size) == (2e-3, 5, 1, 4)
    assert str(used.lr_scheduler_type).rsplit(".", 1)[-1].lower() == "constant"
    weighted = replace(config, contrastive_weight=1.0)
    assert fit.train_rows(tiny_model(tok), tok, rows, len(rows), 1, weighted, tmp_path / "b")["loss"] > plain + 0.1


# -- sft.py --------------------------------------------------------------------------------------


def test_the_base_generator_is_built_from_the_seed_and_leaves_no_step_checkpoints(tmp_path, monkeypatch):
    """``--seed`` decides the tiny model's initial weights too, not only the order of the
    rows; and once the model is saved the run's step checkpoints (kept for --resume) are
    deleted. The training itself is stubbed out: this is about what surrounds it."""
    from correct.corrector.training import sft

    initial = {}

    def no_training(model, tokenizer, examples, steps, config, output_dir, checkpoints=False):
        initial[config.seed] = {k: v.clone() for k, v in model.state_dict().items()}
        (output_dir / "checkpoint-1").mkdir(parents=True)  # as the Trainer leaves one every --save-steps
        return {"steps": steps}

    monkeypatch.setattr(sft, "train_lm", no_training)
    records = [{"question": f"{a}+{a}", "solution": f"print({a}+{a})"} for a in range(5)]
    texts = [r["question"] + r["solution"] for r in records]
    for seed in (0, 1):
        out = tmp_path / str(seed)
        sft.train_base_generator(records, lambda r: r["question"], texts, out, 1, replace(QUICK, seed=seed), 1, 16, 2)
        assert not list((out / "trainer").glob("checkpoint-*")) and (out / "config.json").is_file()
    assert initial[0].keys() == initial[1].keys()
    assert any(not torch.equal(initial[0][k], initial[1][k]) for k in initial[0])


# -- budget.py -----------------------------------------------------------------------------------


def _state_and_control():
    from transformers import TrainerControl, TrainerState

    state = TrainerState()
    state.global_step = 3
    return state, TrainerControl()


def test_cpu_budget_logs_and_saves_the_offset_of_the_runs_before(tmp_path):
    """A resumed process logs and checkpoints the CPU-seconds of the whole run (``offset``,
    what the runs before it spent, plus its own), which ``spent_at`` reads back on the next
    resume: dropping the offset would give every resume its budget afresh."""
    callback = CpuBudget(offset=1000.0)
    state, control = _state_and_control()
    state.log_history.append({"loss": 1.0})
    logs = {"loss": 1.0}
    callback.on_log(None, state, control, logs=logs)
    assert 1000.0 <= logs["cpu_seconds"] <= 1000.0 + cpu_seconds()
    assert state.log_history[-1]["cpu_seconds"] == logs["cpu_seconds"]
    saved = callback.state()["attributes"]["cpu_seconds"]
    assert saved >= 1000.0
    (tmp_path / "trainer_state.json").write_text(
        json.dumps({"stateful_callbacks": {"CpuBudget": callback.state()}, "log_history": []})
    )
    assert spent_at(tmp_path) >= saved


def test_spent_at_falls_back_on_the_latest_cpu_seconds_logged(tmp_path):
    """A checkpoint without CpuBudget's state: the run had spent what it last logged, the
    largest ``cpu_seconds`` of its log history (not the first)."""
    history = [{"loss": 2.0, "cpu_seconds": 3.0}, {"loss": 1.5, "cpu_seconds": 7.5}, {"train_runtime": 1.0}]
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    assert spent_at(tmp_path) == 7.5
    assert spent_at(None) == 0.0


def test_no_budget_is_never_spent():
    """``spent(None)``: a run without --cpu-budget never ends early (the training loop asks it
    after every iteration); a budget of 0 is spent at once, an infinite one never."""
    from correct.corrector.training.budget import spent

    assert spent(None) is False and spent(math.inf) is False and spent(0.0) is True


def test_cpu_budget_stops_after_the_step_that_spends_it():
    """A spent budget asks the Trainer to stop and records the step; an unspent one does not."""
    state, control = _state_and_control()
    spent_budget = CpuBudget(budget=0.0)
    assert spent_budget.on_step_end(None, state, control).should_training_stop
    assert spent_budget.stopped_at == 3
    state, control = _state_and_control()
    endless = CpuBudget()
    assert not endless.on_step_end(None, state, control).should_training_stop and endless.stopped_at is None


# -- objectives.py -------------------------------------------------------------------------------


def test_the_lm_term_is_weighted_by_lambda_on_a_whole_batch_of_the_corpus(tok, tmp_path):
    """compute_loss = corrector loss + λ · LM loss on a batch of --batch-size corpus rows: with
    λ = 2.5 and two corpus rows of equal length (one batch, any order) the value is exact."""
    model = tiny_model(tok)
    model.eval()
    rows = rows_of(8, n=2)
    lm = [{"input_ids": ids, "labels": ids} for ids in (tok(t)["input_ids"] for t in ("the quick", "the brown"))]
    assert len(lm[0]["input_ids"]) == len(lm[1]["input_ids"])
    collate = PadCollator(tok.pad_token_id)
    trainer = CorrectorTrainer(
        model=model,
        args=training_arguments(tmp_path, 1, 2, 1e-3, "constant", 0),
        data_collator=collate,
        lm_rows=lm,
        lm_weight=2.5,
    )
    batch = collate(rows)
    with torch.no_grad():
        got = trainer.compute_loss(model, batch).item()
        want = model(**batch).loss.item() + 2.5 * model(**collate(lm)).loss.item()
    assert got == pytest.approx(want, rel=1e-5)


def test_hir_loss_reads_each_instruction_under_its_own_attention_mask(tok):
    """The two instructions of a row have different lengths, so after padding their attention
    masks differ: the opposite one's likelihood must be taken under its own mask, giving what
    each row gives alone, unpadded (another mask hides real tokens of the opposite row)."""
    from correct.corrector.training.objectives import contrastive_loss, hir_loss, sequence_logprobs

    model = tiny_model(tok).eval()
    with torch.no_grad():  # larger weights: a model whose attention changes its predictions markedly
        for p in model.parameters():
            p.mul_(10.0)
    # The same 4 target tokens after a 2-token and a 5-token instruction, one way round in each row.
    short, long = [2, 3], [20, 21, 22, 2, 3]
    rows = []
    for mine, opposite, target in ((short, long, [4, 5, 6, 7]), (long, short, [10, 11, 12, 13])):
        rows.append(
            {
                "input_ids": mine + target,
                "labels": [-100] * len(mine) + target,
                "opp_input_ids": opposite + target,
                "opp_labels": [-100] * len(opposite) + target,
            }
        )
    with torch.no_grad():
        _, parts = hir_loss(model, PadCollator(tok.pad_token_id)(rows), weight=1.0)
        alone = []
        for r in rows:
            one = {k: torch.tensor([v]) for k, v in r.items()}
            logp, n = sequence_logprobs(model, one["input_ids"], torch.ones_like(one["input_ids"]), one["labels"])
            ids = one["opp_input_ids"]
            logp_opp, _ = sequence_logprobs(model, ids, torch.ones_like(ids), one["opp_labels"])
            alone.append(contrastive_loss(logp, logp_opp, n).item())
    assert parts["contrastive"] == pytest.approx(sum(alone) / 2, rel=1e-4)


def test_the_corpus_batches_are_drawn_shuffled_every_row_once_an_epoch(tok, tmp_path):
    """The corpus is cycled through in a seeded random order: a run shorter than one pass over
    a long file must not see only the file's beginning. One epoch of 8 rows in batches of 2
    covers each row once, in another order than the file's, drawn from the run's seed."""
    lm = [{"input_ids": [i + 2, i + 3], "labels": [i + 2, i + 3]} for i in range(8)]

    def epoch(seed):
        trainer = CorrectorTrainer(
            model=tiny_model(tok),
            args=training_arguments(tmp_path, 1, 2, 1e-3, "constant", seed),
            data_collator=PadCollator(tok.pad_token_id),
            lm_rows=lm,
            lm_weight=1.0,
        )
        return [row[0] - 2 for _ in range(4) for row in next(trainer._lm)["input_ids"].tolist()]

    drawn = epoch(0)
    assert sorted(drawn) == list(range(8)) and drawn != list(range(8))
    assert epoch(0) == drawn and epoch(1) != drawn  # the run's --seed decides the order


# -- hindsight.py --------------------------------------------------------------------------------


def chars(text: str) -> list[int]:
    return [ord(c) for c in text]


def test_the_masked_share_is_rounded_not_truncated():
    """``round(mask_share · n)`` of n maskable tokens are hidden (encode_coh's docstring): 15%
    of 10 output tokens is 1.5, so 2 tokens, and 15% of 17 is 2.55, so 3."""
    for n, hidden in ((10, 2), (17, 3)):
        segs = [Segment("Q:"), Segment("b" * n, output=True), Segment("|"), Segment("c", output=True)]
        row = encode_coh(chars, segs, 0, mask_share=0.15, rng=random.Random(0))
        assert row["attention_mask"].count(0) == hidden


def test_the_first_token_is_never_hidden_when_every_past_token_may_be():
    """With ``mask_scope="all"`` every past token but the first may be hidden, so every
    position still attends to something: at a 90% share of the 4 past tokens the 3 after the
    first are hidden (round(0.9 · 3)), whatever the draw, and position 0 never is."""
    segs = [Segment("Q:"), Segment("b", output=True), Segment("|"), Segment("c", output=True)]
    for seed in range(20):
        row = encode_coh(chars, segs, 0, mask_share=0.9, rng=random.Random(seed), mask_scope="all")
        assert row["attention_mask"] == [1, 0, 0, 0, 1, 1]


def test_hir_pairs_an_output_with_other_drafts_of_its_prompt():
    """The previous draft shown and the output trained on are drawn independently: with 8
    drafts they are the same one about an eighth of the time, not always (which would teach
    the refiner nothing but copying its input)."""
    drafts = {"p": [Draft("p", str(i), float(i % 2)) for i in range(8)]}
    examples = sample_relabelled(drafts, 400, threshold=1.0, seed=0)
    same = sum(e.source == e.target for e in examples) / len(examples)
    assert 0.05 < same < 0.25, same


# -- similarity.py -------------------------------------------------------------------------------


def test_similarity_doctests():
    result = doctest.testmod(similarity)
    assert result.attempted > 0 and result.failed == 0


def test_edit_similarity_is_word_level_over_the_longer_sequence():
    """Tokens are whole words and single punctuation marks; the distance is divided by the
    longer token sequence, so the value stays in [0, 1]; an empty text is nothing like a
    non-empty one."""
    assert tokens("total = price1 * 12") == ["total", "=", "price1", "*", "12"]
    assert edit_similarity("total = 10", "total = 12") == pytest.approx(2 / 3)  # one word of three
    assert edit_similarity("a b", "a b c d") == pytest.approx(0.5)
    assert edit_similarity("a b c d", "a b") == pytest.approx(0.5)
    assert edit_similarity("", "x = 1") == 0.0 and edit_similarity("x = 1", "") == 0.0
    assert edit_similarity("a b c", "c b a") == pytest.approx(1 / 3)
    # Dropping or adding leading words costs one edit each, on either side.
    assert edit_similarity("x y answer", "answer") == pytest.approx(1 / 3)
    assert edit_similarity("answer", "x y answer") == pytest.approx(1 / 3)
    assert math.isclose(edit_similarity("x = x + 5", "y = x + 5"), 0.8)


def test_embedding_similarity_is_clipped_to_zero_for_opposite_meanings():
    """Cosine similarity can be negative; s(y, y') is clipped to [0, 1], else an opposite
    target would get a negative proximity and flip the pairing sampler's weight on it."""
    import numpy as np

    sim = similarity.EmbeddingSimilarity.__new__(similarity.EmbeddingSimilarity)
    sim.model, sim.batch_size = None, 1  # nothing left to encode: the cache below is complete
    sim._cache = {"up": np.array([0.6, 0.8]), "down": np.array([-0.6, -0.8]), "side": np.array([0.8, -0.6])}
    assert sim("up", "down") == 0.0 and sim("up", "side") == 0.0
    assert sim("up", "up") == pytest.approx(1.0)


def test_a_similarity_that_takes_no_argument_refuses_one():
    """``edit`` has no model to name: ``edit:PATH`` is a mistake to report, not a silent edit."""
    with pytest.raises(similarity.SimilarityError, match="unknown similarity 'edit:foo'"):
        similarity.load_similarity("edit:foo")
