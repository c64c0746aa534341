"""The model card a saved corrector carries: Hugging Face layout, written from the run."""

from __future__ import annotations

from huggingface_hub import ModelCard

from correct.corrector.app.card import write_model_card
from correct.corrector.layouts import TEMPLATES
from correct.corrector.model import CorrectorConfig

LOG = [
    {"iteration": -1, "pool": 1280, "pool_mean_value": 0.0586, "exploration_gain": 0.285},
    {"iteration": 0, "pool": 1536, "pool_mean_value": 0.1758, "pairs": 11200, "loss": 0.0379, "exploration_gain": 0.7617},
    {"iteration": 1, "pool": 1792, "pool_mean_value": 0.2773, "pairs": 11200, "loss": 0.0151, "exploration_gain": 0.8867},
]
EVAL = {"records": 100, "split": "validation", "generator": "smollm2",
        "rounds": [{"round": 0, "mean_value": 0.07, "solved": 0.07}, {"round": 1, "mean_value": 0.7, "solved": 0.7, "broken": 0.0},
                   {"round": 2, "mean_value": 0.76, "solved": 0.76, "broken": 0.01}],
        "net_fixed": 0.742, "broken_of_right": 0.0}


def _config(init: str) -> CorrectorConfig:
    return CorrectorConfig(method="pairing", template="default", prompt_format=TEMPLATES["default"], task="arithmetic",
                           value="program", training={"init": init, "generator": "smollm2", "train_prompts": 256,
                                                      "samples_per_prompt": 4, "iterations": 2, "steps": 300, "method": "pairing"})


def test_card_states_what_the_run_did(tmp_path):
    path = write_model_card(tmp_path, _config("HuggingFaceTB/SmolLM2-135M-Instruct"), LOG, EVAL)
    card = ModelCard.load(path)
    assert card.data.library_name == "transformers"
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert {"correct", "corrector", "pairing", "arithmetic"} <= set(card.data.tags)
    text = card.text
    assert "# Corrector for arithmetic (pairing)" in text
    assert "256 training prompts × 4 generator drafts" in text and "`smollm2`" in text and "`program`" in text
    assert "| before training | 1280 | 0.0586 | - | - | 0.285 |" in text
    assert "| 1 | 1792 | 0.2773 | 11200 | 0.0151 | 0.8867 |" in text
    assert "100 held-out records (validation split), greedy decoding, 2 corrector rounds after the drafts of generator `smollm2`" in text
    assert "| 2 | 0.76 | 76.0% | 1.0% |" in text and "Net fixed (of wrong drafts): 74.2%" in text
    assert "    Question: {prompt}" in text  # the corrector's input format
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # written whole, no temporary left


def test_local_initial_weights_are_not_claimed_as_a_hub_base_model(tmp_path):
    card = ModelCard.load(write_model_card(tmp_path, _config(str(tmp_path)), LOG, None))
    assert card.data.base_model is None
    assert f"`{tmp_path}`" in card.text and "No held-out evaluation" in card.text
