"""Options from the config dataclasses: help from field docstrings, --config files with flags
overriding them, one-line errors naming the file, line, key or option, and the cheap checks
done before anything heavy is imported."""

from __future__ import annotations

import dataclasses
import importlib
import json
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from correct.cli import app
from correct.corrector.app.args import UsageError, build, field_docs, options_of, read_config
from correct.corrector.app.generate import GenerateConfig
from correct.corrector.app.options import (
    TRAIN_SOURCE,
    Backend,
    GenerateArgs,
    Models,
    Sampling,
    Source,
    TaskChoice,
    TrainArgs,
)
from correct.corrector.training.config import TrainConfig
from correct.tasks import MODELS

runner = CliRunner()
TRAIN = (TaskChoice, Source, TrainArgs, TrainConfig, Backend)


def test_help_is_the_field_docstring():
    docs = field_docs(TrainConfig)
    assert docs["samples_per_prompt"] == "N: generator drafts per training prompt in the initial pool."
    flags = {o.name: o.flag for o in options_of(TRAIN, TRAIN_SOURCE)}
    assert flags["samples_per_prompt"] == "samples" and flags["explore_prompts"] == "explore"
    train = typer.main.get_command(app).commands["train"]
    samples = next(p for p in train.params if p.name == "samples_per_prompt")
    assert samples.opts == ["--samples"] and samples.help == docs["samples_per_prompt"]
    assert runner.invoke(app, ["train", "--help"]).exit_code == 0


@dataclasses.dataclass
class _Base:
    shared: int = 1
    """Read from the base."""


class _Outer:
    @dataclasses.dataclass
    class Inner(_Base):
        own: str = "x"
        """Read from the class
        nested in another."""

        other: int = 2
        hint: int = 3  # a comment is no docstring


def test_field_docs_of_a_nested_class_and_its_base():
    """Docs are read by the class's qualified name, its bases' too: a class nested in another
    (or one named like a class of another module) does not read another's fields."""
    docs = field_docs(_Outer.Inner)
    assert docs == {"shared": "Read from the base.", "own": "Read from the class nested in another."}


def test_every_option_has_help():
    for classes in (TRAIN, (TaskChoice, Source, Sampling, GenerateArgs, Models, GenerateConfig, Backend)):
        assert [o.name for o in options_of(classes) if not o.help] == []


def test_flags_override_the_config_file(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text('steps: 7\nlearning-rate: 0.01\nsamples: 3\nstop: ["\\n\\n"]\noutput: out\n')
    options = options_of(TRAIN, TRAIN_SOURCE)
    values = read_config(config, options, "train")
    values.update({"steps": 9})  # as given on the command line
    _, source, args, cfg, backend = build(TRAIN, options, values)
    assert (source.split, source.limit) == ("train", 2000)  # train's own defaults
    assert (cfg.steps, cfg.learning_rate, cfg.samples_per_prompt, cfg.stop) == (9, 0.01, 3, ("\n\n",))
    assert args.output == tmp_path / "out" and backend == Backend()  # relative to the config file's folder


@pytest.mark.parametrize(
    "text, message",
    [
        ("steps: 3\nbogus: 1\n", "run.yaml:2: unknown key 'bogus'; correct train has no such option"),
        ("steps: three\n", "run.yaml:1: steps must be int, got 'three'"),
        ("alpha: true\n", "run.yaml:1: alpha must be float, got True"),
        ("- steps\n", "run.yaml: a config file holds option names and values, got list"),
        ("steps: [1\n", "run.yaml:2:1: not valid YAML"),
        ("steps: 1\n\x1f\n", "run.yaml:2: not valid YAML: character 0x001f: special characters are not allowed"),
    ],
)
def test_bad_config_files_name_file_line_and_key(tmp_path, text, message):
    config = tmp_path / "run.yaml"
    config.write_text(text)
    with pytest.raises(UsageError) as e:
        read_config(config, options_of(TRAIN), "train")
    assert message in str(e.value)


def test_a_saved_correctors_settings_feed_back_as_a_config():
    """What `correct train` recorded in correct_config.json is a config for `correct train`."""
    saved = MODELS / "detox-corrector" / "correct_config.json"
    options = options_of(TRAIN)
    task, source, args, cfg, _ = build(TRAIN, options, {**read_config(saved, options, "train"), "output": Path("x")})
    recorded = json.loads(saved.read_text())
    assert (task.task, task.value, cfg.method) == ("detox", "toxicity:max_value=0.5", "pairing")
    for key in (
        "samples_per_prompt",
        "steps",
        "pairs",
        "min_gain",
        "temperature",
        "max_new_tokens",
        "explore_prompts",
        "lr_scheduler",
    ):
        assert getattr(cfg, key) == recorded["training"][key]
    assert args.init == recorded["training"]["init"]


def test_a_new_record_round_trips(tmp_path):
    """Every TrainConfig field written by asdict (as a saved corrector records it) reads back."""
    cfg = TrainConfig(method="hir", feedback=True, stop=("\n",), report_to=("tensorboard",), min_gain=0.2)
    saved = tmp_path / "correct_config.json"
    saved.write_text(
        json.dumps(
            {
                "method": "hir",
                "template": "hir",
                "task": None,
                "value": "program",
                "training": {**asdict(cfg), "coh_templates": [], "train_prompts": 5, "init": "m"},
            }
        )
    )
    options = options_of(TRAIN)
    task, _, args, again, _ = build(TRAIN, options, {**read_config(saved, options, "train"), "output": Path("x")})
    assert again == cfg and args.init == "m" and task.value == "program"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate", "--rounds", "-1"], "error: --rounds must be at least 0, got -1"),
        (["train"], "error: --output is required"),
        (["serve", "--rounds", "17"], "error: --rounds must be at most 16, got 17"),
        (
            ["generate", "--corrector", "./no/such/corrector", "--limit", "2"],
            "error: --corrector ./no/such/corrector: no such folder",
        ),
        (["generate", "--config", "missing.yaml"], "error: --config missing.yaml: no such file"),
        (
            ["generate", "--corrector", "{empty}", "--limit", "2"],
            "error: --corrector {empty}: a folder with no model in it (none of config.json, adapter_config.json); "
            "give a saved model's folder",
        ),
        (
            ["train", "--init", "{empty}", "--output", "{empty}/out", "--limit", "2"],
            "error: --init {empty}: a folder with no model in it (none of config.json, adapter_config.json); "
            "give a saved model's folder",
        ),
    ],
)
def test_option_errors_are_one_line(argv, message, tmp_path):
    (tmp_path / "notes.json").write_text("{}")  # a folder, but no model's
    argv, message = [a.format(empty=tmp_path) for a in argv], message.format(empty=tmp_path)
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert result.output.strip() == message


def test_every_error_class_of_the_library_is_one_the_command_line_catches():
    """Every ``...Error`` a module of the package defines derives from CorrectError, the one
    class the command line turns into a one-line message; the sandbox worker's own, which never
    leaves its process, is the exception."""
    import pkgutil

    import correct
    from correct.errors import CorrectError

    internal = {"correct.values.sandbox_worker", "correct.generators.vllm"}  # a child process's; needs vllm
    found = []
    for info in pkgutil.walk_packages(correct.__path__, "correct."):
        if info.name in internal or info.name.startswith("correct.tests"):
            continue
        module = importlib.import_module(info.name)
        found += [
            c
            for c in vars(module).values()
            if isinstance(c, type)
            and issubclass(c, Exception)
            and c.__module__ == info.name
            and c.__name__.endswith("Error")
        ]
    assert len(found) >= 12 and {c.__name__ for c in found} >= {
        "UsageError",
        "TaskError",
        "GeneratorError",
        "ValueFunctionError",
    }
    assert [c.__qualname__ for c in found if not issubclass(c, CorrectError)] == []


def test_library_messages_name_settings_not_flags():
    """Outside the command line's own modules, an error's message never spells a flag (the same
    setting is a task-file key, a config key or an argument elsewhere): it says which setting
    through ``CorrectError.option`` and the command line adds the flag as that command spells
    it. A whole command quoted in backticks is fine."""
    import ast
    import re

    root = Path(__file__).resolve().parents[3]
    flag = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
    spelled = []
    for path in sorted(p for d in ("tasks", "generators", "values", "corrector") for p in (root / d).rglob("*.py")):
        if "app" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                text = "".join(
                    c.value
                    for c in ast.walk(node.exc.args[0])
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                )
                if flag.search(re.sub(r"`[^`]*`", "", text)):
                    spelled.append(f"{path.relative_to(root)}:{node.lineno}: {text[:80]}")
    assert spelled == []


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: TrainConfig(method="grpo"), "unknown method 'grpo'; choose pairing, hindsight, hir, sft"),
        (lambda: TrainConfig(dtype="int8"), "unknown dtype 'int8'; choose float32, bfloat16, float16, auto"),
        (lambda: TrainConfig(loss_on="first"), "unknown loss_on 'first'; choose last, all"),
        (lambda: Backend(backend="llama"), "unknown backend 'llama'; choose hf, vllm, openai"),
        (lambda: Backend(progress="fancy"), "unknown progress 'fancy'; choose auto, bar, plain, none"),
        (lambda: Models(corrector_backend="tgi"), "unknown corrector_backend 'tgi'; choose hf, vllm, openai"),
    ],
)
def test_a_choice_is_checked_from_its_type_where_the_settings_are_made(make, message):
    """The choices are written once, as the field's Literal type: the command line lists and
    checks them from it, and a Python caller who builds the settings gets the same one-line
    error, naming the setting, from the dataclass itself (no list of the choices kept by hand)."""
    from correct.errors import ChoiceError

    with pytest.raises(ChoiceError) as e:
        make()
    assert str(e.value) == message and e.value.option == message.split()[1]
    assert Models(corrector_backend=None).corrector_backend is None  # an optional choice may be left out
    assert replace(TrainConfig(), method="sft").method == "sft"


def test_bad_input_is_reported_before_heavy_imports(tmp_path):
    """A missing input file or a malformed line is reported without importing torch or
    transformers (which takes seconds), so the answer comes at once."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a"}\n{"prompt": }\n')
    code = (
        "import sys\nfrom correct.cli import app\n"
        "for argv in (['generate', '--input', sys.argv[1]], ['generate', '--input', sys.argv[2]]):\n"
        "    try:\n        app(argv)\n    except SystemExit as e:\n        assert e.code == 2, e.code\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "missing.jsonl"), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "missing.jsonl: no such file" in done.stderr and "bad.jsonl:2" in done.stderr


def test_a_model_that_cannot_be_loaded_names_its_option():
    result = runner.invoke(app, ["generate", "--corrector", "runs/no-such-corrector", "--limit", "2", "--no-baseline"])
    assert result.exit_code == 2
    assert result.output.startswith("error: --corrector: could not load model 'runs/no-such-corrector'")
