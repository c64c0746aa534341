"""The model card a saved corrector carries: Hugging Face layout, written from the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from correct.corrector.app.card import write_model_card
from correct.corrector.layouts import TEMPLATES
from correct.corrector.model import CorrectorConfig

LOG = [
    {"iteration": -1, "pool": 1280, "pool_mean_value": 0.0586, "exploration_gain": 0.285},
    {
        "iteration": 0,
        "pool": 1536,
        "pool_mean_value": 0.1758,
        "pairs": 11200,
        "loss": 0.0379,
        "exploration_gain": 0.7617,
    },
    {
        "iteration": 1,
        "pool": 1792,
        "pool_mean_value": 0.2773,
        "pairs": 11200,
        "loss": 0.0151,
        "exploration_gain": 0.8867,
    },
]
EVAL = {
    "records": 100,
    "split": "validation",
    "generator": "smollm2",
    "rounds": [
        {"round": 0, "mean_value": 0.07, "solved": 0.07},
        {"round": 1, "mean_value": 0.7, "solved": 0.7, "broken": 0.0},
        {"round": 2, "mean_value": 0.76, "solved": 0.76, "broken": 0.01},
    ],
    "net_fixed": 0.742,
    "broken_of_right": 0.0,
}


def _config(init: str) -> CorrectorConfig:
    return CorrectorConfig(
        method="pairing",
        template="default",
        prompt_format=TEMPLATES["default"],
        task="arithmetic",
        value="program",
        training={
            "init": init,
            "generator": "smollm2",
            "train_prompts": 256,
            "samples_per_prompt": 4,
            "iterations": 2,
            "steps": 300,
            "method": "pairing",
        },
    )


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
    assert (
        "100 held-out records (validation split), greedy decoding, 2 corrector rounds after the drafts of "
        "generator `smollm2`" in text
    )
    assert "| 2 | 0.76 | 76.0% | 1.0% |" in text and "Net fixed (of wrong drafts): 74.2%" in text
    assert "    Question: {prompt}" in text  # the corrector's input format
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # written whole, no temporary left


def test_local_initial_weights_are_not_claimed_as_a_hub_base_model(tmp_path):
    card = ModelCard.load(write_model_card(tmp_path, _config(str(tmp_path)), LOG, None))
    assert card.data.base_model is None
    assert f"`{tmp_path}`" in card.text and "No held-out evaluation" in card.text


def test_card_of_a_custom_run_with_a_fluency_evaluation(tmp_path):
    config = CorrectorConfig(
        method="hir", template="hir", value="reward-model:rm", training={"init": "gpt2", "generator": "my/gen"}
    )
    evaluation = {
        "records": 5,
        "generator": "my/gen",
        "rounds": [
            {"round": 0, "mean_value": 0.25, "perplexity": 3.5, "empty": 0.0},
            {"round": 1, "mean_value": 0.5, "perplexity": None, "empty": 0.2},
        ],
    }
    card = ModelCard.load(write_model_card(tmp_path, config, [], evaluation))
    assert card.data.base_model is None and "hir" in card.data.tags  # "gpt2" names no owner/model
    text = card.text
    assert (
        "# Corrector for a custom task (hir)" in text
        and "Hindsight Instruction Relabeling (Zhang et al., 2023)" in text
    )
    assert (
        "    correct generate --input FILE.jsonl --generator my/gen --corrector PATH_TO_THIS_FOLDER --rounds 3\n"
        in text
    )
    assert "- **Data:** ? training prompts × ? generator drafts\n\n| setting | value |\n|---|---|\n\n" in text
    assert "Measured on 5 held-out records (held-out split), greedy decoding, 1 corrector rounds" in text
    assert (
        "| round | mean value | perplexity | empty |\n|---|---|---|---|\n| 0 | 0.25 | 3.5 | 0.0% |\n| 1 | 0.5 "
        "| - | 20.0% |\n" in text
    )
    assert "Perplexity: the generator's" in text
    assert "## Training log" not in text and "Net fixed" not in text and "## Input format" not in text


def test_card_template_ships_next_to_its_module():
    from correct.corrector.app import card

    assert card.TEMPLATE.is_file() and card.TEMPLATE.parent == Path(card.__file__).parent


def test_a_card_that_fails_half_way_leaves_the_old_one(tmp_path, monkeypatch):
    (tmp_path / "README.md").write_text("the old card\n")

    def torn(self, path):
        Path(path).write_text("---\nhalf a ca")
        raise OSError("disk full")

    monkeypatch.setattr(ModelCard, "save", torn)
    with pytest.raises(OSError, match="disk full"):
        write_model_card(tmp_path, _config("gpt2"), LOG, EVAL)
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"] and (
        tmp_path / "README.md"
    ).read_text() == "the old card\n"


def test_a_lora_card_names_the_modules_peft_chose_when_none_were_asked(tmp_path):
    """A LoRA run without --lora-target-modules (peft picks the model's own): the card names the
    modules from adapter_config.json, or says they were peft's defaults; it used to crash there."""
    import json

    config = _config("smollm2")
    config.training.update(lora_r=16, lora_alpha=32.0, lora_dropout=0.05, lora_target_modules=None)
    text = ModelCard.load(write_model_card(tmp_path, config, LOG, EVAL)).text
    assert "a LoRA adapter (peft) of rank 16" in text and "on `peft's default modules for the model`" in text
    (tmp_path / "adapter_config.json").write_text(json.dumps({"target_modules": ["v_proj", "q_proj"]}))
    assert "on `q_proj, v_proj`" in ModelCard.load(write_model_card(tmp_path, config, LOG, EVAL)).text
    config.training.update(lora_target_modules=["c_attn"])
    assert "on `c_attn`" in ModelCard.load(write_model_card(tmp_path, config, LOG, EVAL)).text


def test_the_card_of_a_corrector_of_several_tasks_names_them(tmp_path):
    """A corrector trained on a mixture file is for any task: its card lists the mixture's
    tasks and shows it used on the user's own task, not --task on the mixture (which generate
    refuses)."""
    from dataclasses import replace

    mixture = tmp_path / "mixture.yaml"
    mixture.write_text("mixture:\n  - arithmetic\n  - concepts\n")
    config = replace(_config("smollm2"), task=str(mixture))
    text = ModelCard.load(write_model_card(tmp_path / "c", config, LOG, None)).text
    assert "# Corrector for several tasks (arithmetic, concepts) (pairing)" in text
    assert "correct generate --task YOUR_TASK.yaml" in text and f"--task {mixture}" not in text
    assert "**Tasks:** a mixture of 2 (arithmetic, concepts)" in text
    assert "refine" not in text  # given every draft, as every corrector is unless it says otherwise
    failing = replace(config, refine="failing")
    text = ModelCard.load(write_model_card(tmp_path / "f", failing, LOG, None)).text
    assert 'It is given only the drafts known to fall short without a reference (`"refine": "failing"`' in text


def test_measurements_on_tasks_it_never_saw_are_carried_as_written(tmp_path):
    """A bench that measured the corrector on other tasks leaves ``transfer.md`` in its folder
    (bench/general.py); the card carries it under its own heading, and no heading without it."""
    from dataclasses import replace

    mixture = tmp_path / "mixture.yaml"
    mixture.write_text("mixture:\n  - arithmetic\n  - concepts\n")
    config = replace(_config("smollm2"), task=str(mixture))
    folder = tmp_path / "c"
    folder.mkdir()
    assert "## On tasks it never saw" not in ModelCard.load(write_model_card(folder, config, LOG, None)).text
    table = "| task | | solved |\n|---|---|---|\n| word-problems | general corrector | 41.0% |\n\n    correct generate"
    (folder / "transfer.md").write_text(table + "\n")
    text = ModelCard.load(write_model_card(folder, config, LOG, None)).text
    assert "## On tasks it never saw\n\n" + table in text
    assert text.index("No held-out evaluation") < text.index("## On tasks it never saw")


def test_a_torn_log_line_is_named_not_a_traceback(tmp_path):
    from correct.corrector.app.card import read_log
    from correct.errors import CorrectError

    (tmp_path / "log.jsonl").write_text('{"iteration": 0, "loss": 0.3}\n{"iteration": 1, "lo')
    with pytest.raises(CorrectError, match=r"log\.jsonl, line 2: not JSON"):
        read_log(tmp_path)


def test_a_broken_eval_json_is_named_when_the_card_is_rewritten_without_measuring(tmp_path):
    """``correct card --eval-limit 0`` keeps what was measured: an eval.json that is torn or is
    not an evaluation is named, and the card already written stays."""
    from correct.corrector.app.measure import measure_and_write
    from correct.errors import CorrectError

    _config("smollm2").save(tmp_path)
    (tmp_path / "eval.json").write_text('{"records": 100, "rou')
    (tmp_path / "README.md").write_text("the old card")
    with pytest.raises(CorrectError, match=r"eval\.json: not JSON"):
        measure_and_write(tmp_path, None, None, None, 0, 0, 0)
    (tmp_path / "eval.json").write_text('{"records": 100, "rounds": []}')
    with pytest.raises(CorrectError, match=r"eval\.json: no `rounds` list"):
        measure_and_write(tmp_path, None, None, None, 0, 0, 0)
    assert (tmp_path / "README.md").read_text() == "the old card"
    (tmp_path / "eval.json").write_text(__import__("json").dumps(EVAL))
    text = measure_and_write(tmp_path, None, None, None, 0, 0, 0).read_text()
    assert "74.2%" in text  # a sound one is carried onto the card


def test_a_card_is_measured_with_the_generator_and_value_it_was_trained_with_unless_told(tmp_path):
    """On its own task: what it was trained with; on another task (--task): that task's; and
    --generator and --value over both. Then the errors before anything loads."""
    from types import SimpleNamespace

    from correct.corrector.app.args import UsageError
    from correct.corrector.app.measure import measure_and_write, measured_with
    from correct.corrector.model import CorrectorConfig

    config = SimpleNamespace(task="arithmetic", training={"generator": "trained/gen"}, value="program:timeout=2")
    t = SimpleNamespace(generator="task/gen", value="program")
    assert measured_with(config, t, None, None, None) == ("trained/gen", "program:timeout=2")
    assert measured_with(config, t, "arithmetic", None, None) == ("trained/gen", "program:timeout=2")
    assert measured_with(config, t, "concepts", None, None) == ("task/gen", "program")
    assert measured_with(config, t, "concepts", "my/gen", "exact") == ("my/gen", "exact")
    untrained = SimpleNamespace(task="arithmetic", training={}, value=None)
    assert measured_with(untrained, t, None, None, None) == ("task/gen", "program")

    folder = tmp_path / "c"
    folder.mkdir()
    CorrectorConfig().save(folder)  # trained on custom records: no task to measure on
    with pytest.raises(UsageError, match="--task is needed"):
        measure_and_write(folder, None, None, None, 0, 5, 0)
    CorrectorConfig(task="arithmetic").save(folder)
    with pytest.raises(UsageError, match="--eval-limit"):
        measure_and_write(folder, None, None, None, 0, 10**9, 0)


def test_a_card_is_measured_with_its_tasks_layout_and_fluency(tmp_path, monkeypatch):
    """What `correct card` hands the measurement: the corrector loaded with the task's layout of
    a question, and the fluency evaluation where the task asks for it (detox) and not elsewhere."""
    import correct.corrector.app.generate as generate_module
    import correct.generators as generators
    from correct.corrector.app.measure import measure_and_write
    from correct.corrector.model import Corrector
    from correct.tasks import get_task

    seen = {}
    monkeypatch.setattr(generators, "load_generator", lambda path: f"generator {path}")
    monkeypatch.setattr(Corrector, "from_pretrained", classmethod(lambda cls, path, layout=None: layout))

    def evaluate(corrector, generator, value, records, prompts, gen_path, fluency=False, budget=None):
        seen.update(layout=corrector, fluency=fluency, generator=generator, records=records, budget=budget)
        seen.update(prompts=prompts)
        return EVAL

    monkeypatch.setattr(generate_module, "evaluate", evaluate)
    for task, fluency in (("detox", True), ("arithmetic", False)):
        folder = tmp_path / task
        folder.mkdir()
        CorrectorConfig(task=task).save(folder)
        measure_and_write(folder, None, "my/gen", None, 0, 3, 0)
        t = get_task(task)
        assert seen["fluency"] is fluency and seen["generator"] == "generator my/gen"
        assert seen["layout"] is not None and seen["layout"](seen["records"][0]) == t.format_prompt(seen["records"][0])
        assert seen["budget"] is None  # its own task: drafted as in its training
        assert (folder / "README.md").is_file()
    # Measured on another task: with that task's solved examples (by default), budget and stop strings,
    # not with none of its examples and the training task's budget.
    words = get_task("docs/examples/constrained-sentences/constrained-sentences.yaml")
    measure_and_write(folder, words.source, "my/gen", None, None, 3, 0)
    assert seen["budget"] == (words.max_new_tokens, words.stop)
    assert seen["prompts"][0].count("Concepts:") == words.shots.k + 1


def test_torn_or_foreign_files_in_the_folder_are_named_not_a_traceback(tmp_path):
    """`correct card` reads what a run left in the folder: an adapter_config.json that is torn,
    a transfer.md or log line that is not UTF-8, a log line that is JSON but not a row, and a
    lora_target_modules that is one name rather than a list, each as one line or as written."""
    import json

    from correct.corrector.app.card import read_log
    from correct.errors import CorrectError

    config = _config("smollm2")
    config.training.update(lora_r=16, lora_alpha=32.0, lora_dropout=0.05, lora_target_modules=None)
    (tmp_path / "adapter_config.json").write_text('{"target_modules": ["q_pr')
    with pytest.raises(CorrectError, match=r"adapter_config\.json: not JSON"):
        write_model_card(tmp_path, config, LOG, EVAL)
    (tmp_path / "adapter_config.json").write_text(json.dumps(["q_proj"]))  # not peft's: its defaults said
    assert "on `peft's default modules for the model`" in write_model_card(tmp_path, config, LOG, EVAL).read_text()
    config.training.update(lora_target_modules="all-linear")  # peft takes one string too
    assert "on `all-linear`" in write_model_card(tmp_path, config, LOG, EVAL).read_text()
    (tmp_path / "transfer.md").write_bytes(b"| task |\xff\n")
    with pytest.raises(CorrectError, match=r"transfer\.md: not UTF-8"):
        write_model_card(tmp_path, config, LOG, EVAL)
    (tmp_path / "transfer.md").unlink()
    for line, error in ((b"[1, 2]", "not a JSON object"), (b'{"loss": "\xff"}', "not JSON")):
        (tmp_path / "log.jsonl").write_bytes(b'{"iteration": 0}\n' + line + b"\n")
        with pytest.raises(CorrectError, match=rf"log\.jsonl, line 2: {error}"):
            read_log(tmp_path)


def test_a_folder_that_cannot_be_written_is_named_before_the_measurement(tmp_path, monkeypatch):
    """`correct card` into a folder it cannot write (read-only, another user's): one line naming
    the folder before any model loads, not a PermissionError after the whole measurement. (The
    refusal is simulated: the tests may run as root, which every folder lets write.)"""
    import os

    import correct.corrector.app.generate as generate_module
    import correct.generators as generators
    from correct.corrector.app.measure import measure_and_write
    from correct.corrector.model import Corrector
    from correct.errors import CorrectError

    folder = tmp_path / "c"
    folder.mkdir()
    CorrectorConfig(task="arithmetic").save(folder)
    (folder / "README.md").write_text("the old card")
    measured = []
    monkeypatch.setattr(generate_module, "evaluate", lambda *a, **k: measured.append(1) or EVAL)
    monkeypatch.setattr(generators, "load_generator", lambda path: f"generator {path}")
    monkeypatch.setattr(Corrector, "from_pretrained", classmethod(lambda cls, path, layout=None: layout))
    opened = os.open

    def read_only(path, flags, *args, **kwargs):
        if Path(path).parent == folder and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    for limit in (3, 0):
        with pytest.raises(CorrectError, match=rf"{folder}: cannot write its model card there \(Permission denied\)"):
            measure_and_write(folder, None, "my/gen", None, 0, limit, 0)
    assert not measured and (folder / "README.md").read_text() == "the old card"


def test_a_task_the_saved_corrector_names_that_is_not_here_is_the_configs_error(tmp_path):
    """Measured without --task, the task comes from correct_config.json: a name that is not
    here (a task file moved, a newer correct's task) is that file's error, with the way round
    it, not "(option --task)" for an option the user never gave."""
    from correct.corrector.app.args import UsageError
    from correct.corrector.app.measure import measure_and_write

    CorrectorConfig(task="no-such-task").save(tmp_path)
    with pytest.raises(UsageError) as e:
        measure_and_write(tmp_path, None, None, None, 0, 5, 0)
    assert str(e.value).startswith(f"{tmp_path / 'correct_config.json'}: task 'no-such-task' is not here")
    assert str(e.value).endswith("give the task with --task") and getattr(e.value, "option", None) is None
