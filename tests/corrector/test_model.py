"""Corrector.from_pretrained: the config of a local folder, of a hub id (fetched like the
weights, never downloaded here), of a model without one; a missing path named as such."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import huggingface_hub
import pytest
from huggingface_hub.errors import EntryNotFoundError, RemoteEntryNotFoundError, RepositoryNotFoundError

from correct.corrector import model
from correct.corrector.model import CONFIG_NAME, Corrector, CorrectorConfig
from correct.generators import GeneratorError, SamplingParams
from correct.generators.base import GeneratorBase

HUB_ID = "someone/corrector"
HIR_CONFIG = {
    "method": "hir",
    "template": "hir",
    "task": "arithmetic",
    "value": "program",
    "training": {"iterations": 2},
}


class Recording(GeneratorBase):
    """A generator that writes "fixed" and remembers every input it was given."""

    def __init__(self):
        self.inputs = []

    def generate(self, prompts, params):
        self.inputs += list(prompts)
        return [["fixed"] * params.n for _ in prompts]


@pytest.fixture
def loads(monkeypatch):
    """Generator loading faked: each call is recorded and gets a fresh Recording generator."""
    calls = []

    def load(path, backend="hf", **kwargs):
        calls.append((path, backend, kwargs))
        return Recording()

    monkeypatch.setattr(model, "load_generator", load)
    return calls


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """The hub faked at hf_hub_download: `hub.answer` is a config (a dict, written to a file
    whose path is returned) or an exception to raise; every call is recorded."""

    class Hub:
        answer: dict | Exception = HIR_CONFIG
        calls: list = []

    def download(repo_id, filename, **kwargs):
        Hub.calls.append((repo_id, filename, kwargs))
        if isinstance(Hub.answer, Exception):
            raise Hub.answer
        path = tmp_path / "hub" / repo_id / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(Hub.answer))
        return str(path)

    Hub.calls = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    return Hub


def _http_error(cls, status: int):
    """A hub HTTP error as the hub client raises it (the response is all it reads of it)."""
    return cls(f"{status} for {HUB_ID}", response=SimpleNamespace(status_code=status, headers={}, request=None))


def test_a_hub_corrector_uses_its_config(hub, loads):
    corrector = Corrector.from_pretrained(HUB_ID, "hf", device="cpu")
    assert hub.calls == [(HUB_ID, CONFIG_NAME, {})]  # the library's default revision and cache
    assert loads == [(HUB_ID, "hf", {"device": "cpu"})]
    assert corrector.config == CorrectorConfig(**HIR_CONFIG)
    assert corrector.config.template == "hir" and corrector.config.method == "hir"
    out = corrector.correct(["2+2?"], ["print(5)"], ["printed 5"], SamplingParams(n=1))
    assert out == [["fixed"]]
    # The Hindsight Instruction Relabeling layout, not the pairing one ("Correction:").
    assert corrector.generator.inputs == ["Question: 2+2?\nDraft:\nprint(5)\nFeedback: printed 5\nAnswer correctly.\n"]


@pytest.mark.parametrize(
    "absent",
    [
        pytest.param(EntryNotFoundError(f"{CONFIG_NAME} not in {HUB_ID}"), id="entry-not-found"),
        pytest.param(_http_error(RemoteEntryNotFoundError, 404), id="remote-404"),
    ],
)
def test_a_hub_model_without_config_is_a_pairing_corrector(hub, loads, absent):
    hub.answer = absent
    corrector = Corrector.from_pretrained(HUB_ID)
    assert corrector.config == CorrectorConfig()
    assert (corrector.config.method, corrector.config.template) == ("pairing", "default")
    corrector.correct(["2+2?"], ["print(5)"], [None], SamplingParams())
    assert corrector.generator.inputs == ["Question: 2+2?\nDraft:\nprint(5)\nFeedback: none\nCorrection:\n"]


def test_offline_a_file_known_to_be_absent_is_no_config(hub, loads, monkeypatch):
    hub.answer = huggingface_hub.errors.LocalEntryNotFoundError("offline")
    monkeypatch.setattr(
        huggingface_hub, "try_to_load_from_cache", lambda repo_id, filename: huggingface_hub._CACHED_NO_EXIST
    )
    assert Corrector.from_pretrained(HUB_ID).config == CorrectorConfig()


def test_offline_and_unknown_the_model_error_comes_first(loads, monkeypatch):
    """The real hf_hub_download, offline (tests set HF_HUB_OFFLINE) with nothing cached: the
    model's own loading error is the one reported; a model that loads anyway (its weights
    cached, its config never asked for) is refused rather than given the wrong template."""

    def unreachable(path, backend="hf", **kwargs):
        raise GeneratorError(
            f"could not load model '{path}': not a local folder and not reachable on the Hugging Face hub (offline?)"
        )

    name = "someone-who-does-not-exist/corrector-never-cached"
    with monkeypatch.context() as m:
        m.setattr(model, "load_generator", unreachable)
        with pytest.raises(GeneratorError, match=r"^could not load model 'someone-who-does-not-exist/"):
            Corrector.from_pretrained(name)
    with pytest.raises(
        GeneratorError,
        match=rf"^corrector '{name}': its {CONFIG_NAME} is not in the local cache and "
        r"the Hugging Face hub cannot be reached \(offline\?\)",
    ):
        Corrector.from_pretrained(name)
    assert [c[0] for c in loads] == [name]


def test_a_repository_that_does_not_exist_is_reported_by_the_model_loading(hub, monkeypatch):
    hub.answer = _http_error(RepositoryNotFoundError, 404)

    def missing(path, backend="hf", **kwargs):
        raise GeneratorError(
            f"could not load model '{path}': not a local folder and not reachable on the Hugging Face hub (offline?)"
        )

    monkeypatch.setattr(model, "load_generator", missing)
    with pytest.raises(GeneratorError, match=rf"^could not load model '{HUB_ID}'"):
        Corrector.from_pretrained(HUB_ID)


@pytest.mark.parametrize(
    "path",
    [
        "/no/such/corrector",
        "./no-such-corrector",
        "../no-such-corrector",
        "~/no-such-corrector-here",
        "runs/no/such-corrector",
    ],
)
def test_a_missing_path_is_not_taken_for_a_hub_id(hub, loads, path):
    with pytest.raises(GeneratorError, match=rf"^corrector path '{path}' does not exist$"):
        Corrector.from_pretrained(path)
    assert hub.calls == [] and loads == []


def test_a_local_folder_is_read_and_the_hub_never_asked(hub, loads, tmp_path, monkeypatch):
    folder = tmp_path / "corr"
    folder.mkdir()
    assert Corrector.from_pretrained(str(folder)).config == CorrectorConfig()  # a plain model folder
    (folder / CONFIG_NAME).write_text(json.dumps({**HIR_CONFIG, "template": "hindsight", "method": "hindsight"}))
    assert Corrector.from_pretrained(str(folder)).config.template == "hindsight"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Corrector.from_pretrained("~/corr").config.template == "hindsight"
    monkeypatch.chdir(tmp_path)
    assert Corrector.from_pretrained("corr").config.template == "hindsight"
    assert hub.calls == [] and [c[0] for c in loads] == [str(folder), str(folder), "~/corr", "corr"]


@pytest.mark.parametrize("name, backend", [("smollm2", "hf"), ("gpt-4o-mini", "openai"), (HUB_ID, "openai")])
def test_named_generators_and_endpoints_are_no_hub_repositories(hub, loads, name, backend):
    assert Corrector.from_pretrained(name, backend).config == CorrectorConfig()
    assert hub.calls == [] and loads == [(name, backend, {})]


CELSIUS = "Convert {prompt} degrees Celsius to {unit}.\n"


def test_a_corrector_trained_on_the_tasks_layout_is_shown_it(tmp_path):
    """A corrector records how it saw the question in training and is shown it so: the task's
    template filled in with the record (without few-shot examples); one saved before that was
    recorded still gets the raw prompt."""
    record = {"id": "a", "prompt": "100", "unit": "Fahrenheit"}
    trained = Corrector(Recording(), CorrectorConfig(question="task"), layout=CELSIUS.format_map)
    assert trained.question(record) == "Convert 100 degrees Celsius to Fahrenheit."
    trained.correct([trained.question(record)], ["print(0)"], ["printed 0"], SamplingParams())
    assert trained.generator.inputs[0].startswith(
        "Question: Convert 100 degrees Celsius to Fahrenheit.\nDraft:\nprint(0)\n"
    )
    assert (
        Corrector(Recording(), CorrectorConfig(question="task")).question(record) == "100"
    )  # no task: the record as it is

    old = dict(HIR_CONFIG)  # a correct_config.json written before the layout was recorded
    (tmp_path / CONFIG_NAME).write_text(json.dumps(old))
    loaded = CorrectorConfig.load(tmp_path)
    assert loaded.question == "prompt"
    assert Corrector(Recording(), loaded, layout=CELSIUS.format_map).question(record) == "100"
    CorrectorConfig(question="task").save(tmp_path)
    assert CorrectorConfig.load(tmp_path).question == "task"


@pytest.mark.parametrize(
    "config, error",
    [
        ({"refine": "some"}, "refine is 'some'; expected one of all, failing"),
        ({"method": "pairing", "refines": "failing"}, "has unknown keys: refines"),
        (["pairing"], "is not a JSON object"),
    ],
)
def test_a_bad_correct_config_names_its_file_and_key(tmp_path, config, error):
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(GeneratorError, match=re.escape(error)) as e:
        CorrectorConfig.load(tmp_path)
    assert str(tmp_path / CONFIG_NAME) in str(e.value)
    (tmp_path / CONFIG_NAME).write_text("{")
    with pytest.raises(GeneratorError, match="correct_config.json: not JSON"):
        CorrectorConfig.load(tmp_path)
    CorrectorConfig(refine="failing").save(tmp_path)
    assert CorrectorConfig.load(tmp_path).refine == "failing"


@pytest.mark.parametrize(
    "config, error",
    [
        ({"training": "x"}, "training must be a JSON object, got 'x'"),
        ({"task": 5}, "task must be a string or null, got 5"),
        ({"method": ["pairing"]}, "method must be a string, got ['pairing']"),
        ({"question": "raw"}, "question must be 'task' or 'prompt', got 'raw'"),
        ({"prompt_format": "Q: {prompt}\n{draft}\n{answer}"}, "prompt_format names the field 'answer'"),
        ({"prompt_format": "{draft:d}"}, "prompt_format writes {draft} with a format"),
        ({"prompt_format": "{draft"}, "prompt_format is not a valid template"),
        (
            {"prompt_format": "Q: {prompt}\nFix it:\n"},
            "prompt_format has no {draft}: the corrector would never be shown",
        ),
        ({"template": "defualt"}, "template is 'defualt' and there is no prompt_format"),
    ],
)
def test_a_correct_config_of_the_wrong_types_is_named_when_read(tmp_path, config, error):
    """A hand-edited or torn correct_config.json: a key of the wrong type, a prompt_format that
    filling would fail on (a KeyError or ValueError at the first correction), an unknown
    template, bytes that are not text: one line naming the file and key, when it is read."""
    (tmp_path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(GeneratorError, match=re.escape(error)) as e:
        CorrectorConfig.load(tmp_path)
    assert str(tmp_path / CONFIG_NAME) in str(e.value)
    (tmp_path / CONFIG_NAME).write_bytes(b'{"method": "pairing\xff"}')
    with pytest.raises(GeneratorError, match="correct_config.json: not JSON"):
        CorrectorConfig.load(tmp_path)
    for good in ({}, {"template": "hindsight", "prompt_format": None}, {"template": "x", "prompt_format": "{draft}"}):
        (tmp_path / CONFIG_NAME).write_text(json.dumps(good))
        CorrectorConfig.load(tmp_path)


def test_refine_shows_the_corrector_the_question_it_was_trained_with():
    from correct.corrector.refine import refine
    from correct.values import CallableValue

    records = [{"id": "a", "prompt": "100", "unit": "Kelvin"}]
    value = CallableValue(lambda rs, outs: [0.0 for _ in outs], "zero")
    for question, shown in (
        ("task", "Question: Convert 100 degrees Celsius to Kelvin.\n"),
        ("prompt", "Question: 100\n"),
    ):
        corrector = Corrector(Recording(), CorrectorConfig(question=question), layout=CELSIUS.format_map)
        refine(
            records,
            ["<few-shot> " + CELSIUS.format_map(records[0])],
            Recording(),
            corrector,
            value,
            1,
            SamplingParams(),
        )
        assert corrector.generator.inputs[0].startswith(shown)
        assert "<few-shot>" not in corrector.generator.inputs[0]


def test_a_shipped_corrector_is_known_by_name(hub, loads, tmp_path, monkeypatch):
    """``--corrector arithmetic`` (or ``general``): the folder that ships inside the package; a
    local folder of the same name comes first, as for named generators."""
    from correct.tasks import MODELS, shipped_correctors

    assert {"arithmetic", "concepts", "detox"} <= set(shipped_correctors())
    shipped = Corrector.from_pretrained("detox")
    assert shipped.config == CorrectorConfig.load(MODELS / "detox-corrector")
    assert loads[-1][0] == str(MODELS / "detox-corrector") and hub.calls == []
    monkeypatch.chdir(tmp_path)
    (tmp_path / "detox").mkdir()
    assert Corrector.from_pretrained("detox").config == CorrectorConfig()  # ./detox, a plain model folder
    assert loads[-1][0] == "detox"


def test_a_shipped_adapter_whose_base_cannot_be_prepared_is_one_line(tmp_path, monkeypatch):
    """A shipped corrector that is a LoRA adapter of SmolLM2 (``general``) prepares its base on
    first use; where that cannot be done, one line says what to do, before anything loads."""
    from correct.tasks import registry

    folder = tmp_path / "models" / "general-corrector"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "smollm2", "peft_type": "LORA"}))
    CorrectorConfig().save(folder)
    monkeypatch.setattr(registry, "MODELS", tmp_path / "models")
    monkeypatch.setenv("CORRECT_CACHE", str(tmp_path / "cache"))  # nothing prepared
    monkeypatch.setenv("CORRECT_SMOLLM2_GGUF", str(tmp_path / "absent.gguf"))
    with pytest.raises(GeneratorError) as e:
        Corrector.from_pretrained("general")
    assert str(e.value) == f"CORRECT_SMOLLM2_GGUF={tmp_path / 'absent.gguf'}: no such file"


def test_a_rewrite_budget_past_the_context_cuts_the_budget_not_the_question():
    """The shipped tiny corrector has a context of 256 tokens. Asked for 200 new tokens, its
    input (question, draft, feedback) used to lose its oldest tokens -- the question -- and
    right drafts came back as fragments; now each rewrite gets the tokens its input leaves."""
    from correct.corrector.layouts import corrector_input
    from correct.corrector.refine import refine
    from correct.generators import load_generator
    from correct.tasks import TASKS, arithmetic
    from correct.values import load_value

    task = TASKS["arithmetic"]
    generator = load_generator(task.generator)
    corrector = Corrector.from_pretrained(task.corrector)
    value = load_value("program")
    records = arithmetic.make_split("test", 12, 5)
    prompts = [task.format_prompt(r) for r in records]
    try:
        solved = {}
        for budget in (64, 200):
            params = SamplingParams(temperature=0.0, max_new_tokens=budget, stop=task.stop)
            histories = refine(records, prompts, generator, corrector, value, 2, params)
            solved[budget] = [h[-1].value for h in histories]
            inputs = [
                corrector_input(corrector.config.template, corrector.question(r), h[0].text, h[0].feedback)
                for r, h in zip(records, histories)
            ]
            rooms = corrector.generator.room(inputs)
            assert 0 < min(rooms) < 200  # the inputs do not fit with 200 new tokens
        assert solved[200] == solved[64] and sum(v == 1.0 for v in solved[200]) >= 6
    finally:
        value.close()


def test_a_corrector_input_that_fills_the_context_keeps_its_draft(caplog):
    from correct.generators import load_generator
    from correct.tasks import TASKS

    corrector = Corrector(load_generator(TASKS["arithmetic"].corrector), CorrectorConfig())
    long_question = "Tom has 3 cards. " * 60  # over 256 tokens by itself
    with caplog.at_level("WARNING"):
        out = corrector.correct(
            [long_question, "Tom has 3 cards. How many cards does Tom have now?"],
            ["x = 1\nprint(x)", "x = 3\nprint(x + 1)"],
            ["printed 1", "printed 4"],
            SamplingParams(temperature=0.0, max_new_tokens=48, n=2),
        )
    assert out[0] == ["x = 1\nprint(x)"] * 2 and len(out[1]) == 2
    # The kept draft ends as it did (refine takes its round's reason); the rewrite as it was decoded.
    assert corrector.last_kept == {0} and corrector.last_finish[1] == ["stop"] * 2
    assert "1 corrector inputs fill its context by themselves" in caplog.text
    assert corrector.generator.truncated_prompts == 0


def test_an_input_refused_near_the_context_keeps_its_draft():
    """An input whose rewrite budget is cut to the context's room, and that its endpoint then
    refuses (a 400, ``last_refused``), keeps its draft and is marked kept, as on the path
    where every input fits: an empty rewrite would replace the draft with nothing."""

    class NearContext:
        def room(self, inputs):
            return [8 if "near" in i else 100 for i in inputs]

        def generate(self, prompts, params):
            self.last_refused = frozenset(i for i, p in enumerate(prompts) if "refuse" in p)
            self.last_finish = [["length"] * params.n for _ in prompts]
            return [[""] * params.n if "refuse" in p else [f"new {params.max_new_tokens}"] * params.n for p in prompts]

    corrector = Corrector(NearContext(), CorrectorConfig(prompt_format="{prompt} {draft}"))
    out = corrector.correct(
        ["near refuse", "near", "far"], ["d0", "d1", "d2"], [None] * 3, SamplingParams(max_new_tokens=32, n=2)
    )
    assert out == [["d0", "d0"], ["new 8", "new 8"], ["new 32", "new 32"]]
    assert corrector.last_kept == {0}
