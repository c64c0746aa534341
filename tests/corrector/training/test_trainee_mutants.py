"""Behaviour of the model a training run updates (corrector/training/trainee.py) that a mutation
audit found unheld: each test here failed on a one-line change of the source that the rest of
the fast suite let through. The model is an untrained two-layer GPT-2 saved to a folder."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from transformers.utils import logging as hf_logging

from correct.corrector.training.config import TrainConfig, TrainError
from correct.corrector.training.tiny import build_model, build_tokenizer
from correct.corrector.training.trainee import add_adapter, is_adapter, load_trainee, save_weights
from correct.generators import GeneratorError

hf_logging.disable_progress_bar()
pytestmark = pytest.mark.usefixtures("one_torch_thread")
LORA = TrainConfig(lora_r=4).resolved()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A folder holding a tiny GPT-2 (c_attn, c_proj, c_fc linear layers) and its tokenizer."""
    tok = build_tokenizer(["sort 3 1 2 => 1 2 3", "sort 9 8 => 8 9"], vocab_size=64)
    model = build_model(tok, n_layer=2, n_embd=16, n_head=2, n_positions=32)
    path = tmp_path_factory.mktemp("trainee") / "base"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_a_whole_weights_checkpoint_is_not_resumed_as_an_adapter(base):
    """A run that trained every weight, resumed with a LoRA rank, would put a fresh adapter on the
    checkpoint's weights and save it naming --init as its base: a corrector that loads as another
    model. It is refused, as the opposite case is."""
    with pytest.raises(TrainError, match="holds whole weights; resume without a LoRA adapter") as e:
        load_trainee(str(base), LORA, checkpoint=base)
    assert e.value.option == "lora_r"


def test_a_checkpoint_that_does_not_load_is_named_as_the_resumes(base, tmp_path):
    """The weights of a resumed run come from its checkpoint: a broken one is the resume's fault,
    not --init's (which loads)."""
    broken = tmp_path / "stage-0"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(GeneratorError) as e:
        load_trainee(str(base), TrainConfig(), checkpoint=broken)
    assert e.value.option == "resume"
    with pytest.raises(GeneratorError) as e:
        load_trainee(str(broken), TrainConfig())
    assert e.value.option == "init"


def test_all_linear_is_recorded_as_the_layers_it_took(base):
    """peft expands all-linear to every layer's full path; the run records their last names, one
    each, as a user would give them (and as peft matches them)."""
    pytest.importorskip("peft")
    model = build_model(build_tokenizer(["a b"], vocab_size=32), n_layer=2, n_embd=16, n_head=2, n_positions=32)
    _, chosen = add_adapter(model, replace(LORA, lora_target_modules=("all-linear",)), str(base))
    assert chosen.lora_target_modules == ("c_attn", "c_fc", "c_proj")


def test_an_adapter_names_a_local_base_by_its_absolute_path(base, monkeypatch):
    """An adapter trained on ``--init ./base`` must load from anywhere: its base is recorded
    by its absolute path, not as given."""
    pytest.importorskip("peft")
    monkeypatch.chdir(base.parent)
    model = build_model(build_tokenizer(["a b"], vocab_size=32), n_layer=1, n_embd=16, n_head=2, n_positions=32)
    wrapped, _ = add_adapter(model, LORA, "base")
    assert wrapped.peft_config["default"].base_model_name_or_path == str(base.resolve())


def test_merged_weights_saved_over_an_adapter_leave_no_adapter_behind(base, tmp_path):
    """merge_lora saves a plain model folder; one that held an adapter before must not be taken
    for one afterwards (loading would read the stale adapter, not the merged weights)."""
    pytest.importorskip("peft")
    hf, _ = load_trainee(str(base), LORA)
    folder = tmp_path / "out"
    folder.mkdir()
    save_weights(hf, folder)  # first the adapter
    assert is_adapter(folder)
    hf, _ = load_trainee(str(base), LORA)
    save_weights(hf, folder, merge=True)
    assert not is_adapter(folder) and not (folder / "adapter_model.safetensors").exists()
    assert "n_layer" in json.loads((folder / "config.json").read_text())
