"""Chain-of-Hindsight sequences, loss labels and masks, computed by hand on a character
tokenizer; the HIR relabelling rule (its loss is tested in test_objectives.py)."""

from __future__ import annotations

import doctest
import random

import pytest

from correct.corrector.layouts import COH_TEMPLATES, Segment, coh_inference_input, coh_segments, hir_instruction
from correct.corrector.training import hindsight
from correct.corrector.training.hindsight import encode_coh, relabel
from correct.generators.base import GeneratorBase

EOS = 0


def chars(text: str) -> list[int]:
    """One token per character: the masks below can be counted by hand."""
    return [ord(c) for c in text]


def test_doctests():
    from correct.corrector import layouts

    for module in (hindsight, layouts):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0


def test_loss_only_on_the_last_output_by_default():
    segs = [Segment("Q:ab\n"), Segment("xy", output=True), Segment("\nB:\n"), Segment("z", output=True)]
    row = encode_coh(chars, segs, EOS, mask_share=0.0)
    assert row["input_ids"] == chars("Q:ab\nxy\nB:\nz") + [EOS]
    # 11 context tokens (Q:ab\n = 5, xy = 2, \nB:\n = 4) without loss, then z and EOS.
    assert row["labels"] == [-100] * 11 + [ord("z"), EOS]
    assert row["attention_mask"] == [1] * 13


def test_loss_on_every_output_when_asked():
    segs = [Segment("Q:ab\n"), Segment("xy", output=True), Segment("\nB:\n"), Segment("z", output=True)]
    row = encode_coh(chars, segs, EOS, loss_on="all", mask_share=0.0)
    assert row["labels"] == [-100] * 5 + chars("xy") + [-100] * 4 + [ord("z"), EOS]


def test_masking_hides_a_share_of_the_earlier_outputs_only():
    # Question 20 tokens (0-19), worse output 20 tokens (20-39), marker 1 (40), better 10 (41-50), EOS (51).
    segs = [Segment("Q:" + "a" * 18), Segment("b" * 20, output=True), Segment("|"), Segment("c" * 10, output=True)]
    row = encode_coh(chars, segs, EOS, mask_share=0.15, rng=random.Random(3))
    hidden = [j for j, m in enumerate(row["attention_mask"]) if m == 0]
    assert len(hidden) == round(0.15 * 20) == 3
    assert all(20 <= j < 40 for j in hidden)  # only the worse output: the question and marker stay visible
    assert row["attention_mask"][40:] == [1] * 12
    # The labels do not change with the mask.
    assert row["labels"] == encode_coh(chars, segs, EOS, mask_share=0.0)["labels"]
    # Seeded: the same rng gives the same mask; another seed another one.
    assert encode_coh(chars, segs, EOS, rng=random.Random(3))["attention_mask"] == row["attention_mask"]
    assert encode_coh(chars, segs, EOS, rng=random.Random(4))["attention_mask"] != row["attention_mask"]


def test_masking_every_past_token_when_asked():
    segs = [Segment("Q:" + "a" * 18), Segment("b" * 20, output=True), Segment("|"), Segment("c" * 10, output=True)]
    row = encode_coh(chars, segs, EOS, mask_share=0.15, rng=random.Random(3), mask_scope="all")
    hidden = [j for j, m in enumerate(row["attention_mask"]) if m == 0]
    # 41 past tokens, the first never hidden: round(0.15 * 40) = 6 of positions 1..40.
    assert len(hidden) == 6 and all(1 <= j <= 40 for j in hidden)
    assert row["attention_mask"][41:] == [1] * 11
    with pytest.raises(ValueError, match="mask_scope"):
        encode_coh(chars, segs, EOS, mask_scope="question")
    with pytest.raises(ValueError, match="mask_share"):
        encode_coh(chars, segs, EOS, mask_share=1.0)


def test_masked_positions_really_are_invisible_to_the_model():
    """A hidden token cannot change the model's prediction of the better output; a visible one can."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_positions=32, n_embd=16, n_layer=2, n_head=2)).eval()
    ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]])
    mask = torch.tensor([[1, 1, 1, 0, 1, 1, 1, 1]])
    changed = ids.clone()
    changed[0, 3] = 9
    with torch.no_grad():
        a = model(input_ids=ids, attention_mask=mask).logits[0, -1]
        b = model(input_ids=changed, attention_mask=mask).logits[0, -1]
        c = model(input_ids=changed).logits[0, -1]
    assert torch.allclose(a, b, atol=1e-5)
    assert not torch.allclose(a, c, atol=1e-3)


def test_sequence_layout_with_feedback_and_three_drafts():
    segs = coh_segments("2+2?", [("6", "printed 6"), ("5", None), ("4", "all good")], COH_TEMPLATES[3])
    text = "".join(s.text for s in segs)
    assert text == "Question: 2+2?\nBad:\n6\nFeedback: printed 6\nBad:\n5\nFeedback: none\nGood:\n4"
    assert [s.text for s in segs if s.output] == ["6", "5", "4"]
    with pytest.raises(ValueError, match="at least a worse and a better"):
        coh_segments("q", [("only", None)], COH_TEMPLATES[0])


def test_inference_input_matches_the_training_layout():
    text = coh_inference_input("2+2?", "5", "printed 5")
    assert text == "Question: 2+2?\nA worse answer:\n5\nFeedback: printed 5\nA better answer:\n"
    trained = "".join(s.text for s in coh_segments("2+2?", [("5", "printed 5"), ("4", None)], COH_TEMPLATES[0]))
    assert trained == text + "4"
    from correct.corrector.layouts import corrector_input

    assert corrector_input("hindsight", "2+2?", "5", "printed 5") == text
    assert corrector_input("hindsight", "2+2?", "5", None) == coh_inference_input("2+2?", "5", None)


def test_hir_inference_input_is_the_good_outcome_instruction():
    from correct.corrector.layouts import corrector_input

    assert corrector_input("hir", "2+2?", "5", "printed 5") == hir_instruction("2+2?", True, "5", "printed 5")
    assert corrector_input("hir", "2+2?", "5", None) == hir_instruction("2+2?", True, "5", None)


def test_relabelling_rule():
    assert relabel(1.0, 1.0) is True and relabel(0.0, 1.0) is False
    assert relabel(0.6, 0.5) is True and relabel(0.49, 0.5) is False
    assert hir_instruction("2+2?", True) == "Question: 2+2?\nAnswer correctly.\n"
    assert (
        hir_instruction("2+2?", False, draft="5", feedback="printed 5")
        == "Question: 2+2?\nDraft:\n5\nFeedback: printed 5\nAnswer wrongly.\n"
    )


def test_coh_rows_with_a_real_tokenizer_put_loss_on_the_better_draft_only():
    from correct.corrector.training.tiny import build_tokenizer

    tok = build_tokenizer(["sort 3 1 2 => 1 2 3", "A worse answer: A better answer:"] * 5, vocab_size=300)
    pairs = [("sort 3 1 2", " 1 3 2", "2 of 3 in place", " 1 2 3")] * 4
    rows = hindsight.coh_rows(tok, pairs, random.Random(0), mask_share=0.0)
    better = tok(" 1 2 3", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    for row in rows:
        learned = [t for t in row["labels"] if t != -100]
        assert learned == better
        assert row["input_ids"][-len(better) :] == better
        text = tok.decode(row["input_ids"][: -len(better)])
        assert text.startswith("Question: sort 3 1 2\n") and "Feedback: 2 of 3 in place" in text
    # Templates are drawn at random per row.
    rows = hindsight.coh_rows(tok, pairs * 10, random.Random(0), mask_share=0.0)
    assert len({tuple(r["input_ids"]) for r in rows}) > 1


def test_a_saved_prompt_format_is_used_at_inference(tmp_path):
    """A corrector keeps the input format it was trained with, even if the built-in template
    of that name has changed since; an old config without one uses the built-in."""
    from correct.corrector.model import Corrector, CorrectorConfig

    class Echo(GeneratorBase):
        def generate(self, prompts, params):
            return [[p] for p in prompts]

    CorrectorConfig(method="hir", template="hir", prompt_format="Q {prompt} D {draft} F {feedback} ->").save(tmp_path)
    saved = Corrector(Echo(), CorrectorConfig.load(tmp_path))
    assert saved.correct(["2+2?"], ["5"], [None], None) == [["Q 2+2? D 5 F none ->"]]
    old = Corrector(Echo(), CorrectorConfig(method="hir", template="hir"))
    assert old.correct(["2+2?"], ["5"], ["printed 5"], None) == [[hir_instruction("2+2?", True, "5", "printed 5")]]


def test_drafts_with_an_unknown_value_are_not_relabelled():
    from correct.corrector.pool import Draft
    from correct.corrector.training.hindsight import outcome_threshold, sample_relabelled

    known = {"p": [Draft("p", "a", 0.0), Draft("p", "b", 1.0)]}
    mixed = {"p": [Draft("p", "u", None), *known["p"]], "q": [Draft("q", "v", None)]}
    assert sample_relabelled(mixed, 20, 1.0, seed=3) == sample_relabelled(known, 20, 1.0, seed=3)
    assert sample_relabelled({"q": mixed["q"]}, 20, 1.0, seed=3) == []
    assert outcome_threshold([3.0, None, -1.0], float("inf")) == 1.0
