"""The vllm backend through a stand-in `vllm` module (CI installs no vLLM and has no GPU): the
mapping of sampling settings, greedy copies, stop strings and token counts. Not a GPU check."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest

from correct.generators import GeneratorError, SamplingParams, load_generator


@dataclass
class FakeParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    stop: list | None = None
    seed: int | None = None
    truncate_prompt_tokens: int | None = None


@dataclass
class FakeCompletion:
    text: str
    token_ids: list = field(default_factory=list)
    finish_reason: str | None = "stop"


class FakeLLM:
    instances: list = []

    def __init__(self, model, **kwargs):
        self.model, self.kwargs, self.calls = model, kwargs, []
        self.llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=64))
        FakeLLM.instances.append(self)

    def get_tokenizer(self):
        return "tokenizer"

    def generate(self, prompts, params, use_tqdm=True):
        self.calls.append((list(prompts), params))
        each = params if isinstance(params, list) else [params] * len(prompts)  # vLLM takes one, or one a prompt
        # Three tokens: a budget of at most three is spent ("length"), a larger one is not.
        return [
            types.SimpleNamespace(
                outputs=[
                    FakeCompletion(f"{p}-{i} STOP more", [1, 2, 3], "length" if q.max_tokens <= 3 else "stop")
                    for i in range(q.n)
                ]
            )
            for p, q in zip(prompts, each)
        ]


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = FakeLLM, FakeParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    FakeLLM.instances.clear()
    return module


def test_sampling_settings_reach_vllm(fake_vllm):
    g = load_generator("some/model", "vllm", dtype="float16", seed=7)
    llm = FakeLLM.instances[0]
    assert llm.model == "some/model" and llm.kwargs["dtype"] == "float16" and llm.kwargs["seed"] == 7
    out = g.generate(
        ["a", "b"], SamplingParams(temperature=0.8, top_p=0.9, max_new_tokens=10, n=2, stop=(" STOP",), seed=3)
    )
    assert out == [["a-0", "a-1"], ["b-0", "b-1"]]
    assert [p.seed for p in llm.calls[0][1]] == [3, 4]  # one seed a prompt: a repeated prompt samples anew
    sent = llm.calls[0][1][0]
    assert (sent.n, sent.temperature, sent.top_p, sent.max_tokens, sent.stop, sent.seed) == (
        2,
        0.8,
        0.9,
        10,
        [" STOP"],
        3,
    )
    assert sent.truncate_prompt_tokens == 64 - 10  # over-long prompts keep their newest tokens
    assert g.tokens_generated == 12


def test_greedy_decodes_once_and_repeats(fake_vllm):
    g = load_generator("m", "vllm")
    out = g.generate(["a"], SamplingParams(temperature=0, n=3, stop=(" STOP",)))
    assert out == [["a-0"] * 3]
    (sent,) = FakeLLM.instances[0].calls[0][1]
    assert sent.n == 1 and sent.top_p == 1.0


def test_each_completion_ends_as_vllm_says(fake_vllm):
    g = load_generator("m", "vllm")
    g.generate(["a", "b"], SamplingParams(temperature=0.8, max_new_tokens=3, n=2))
    assert g.last_finish == [["length"] * 2] * 2
    g.generate(["a"], SamplingParams(temperature=0, max_new_tokens=16, n=3))
    assert g.last_finish == [["stop"] * 3]  # greedy: decoded once, repeated
    out = g.generate(["a"], SamplingParams(temperature=0, max_new_tokens=3, stop=(" STOP",)))
    assert out == [["a-0"]] and g.last_finish == [["stop"]]  # its text ends at a stop string


def test_named_generators_resolve_for_vllm_too(fake_vllm, monkeypatch):
    from correct import generators

    monkeypatch.setitem(generators.NAMED, "smollm2", lambda log, force=False: "/cache/smollm2")
    load_generator("smollm2", "vllm")
    assert FakeLLM.instances[0].model == "/cache/smollm2"


def test_missing_vllm_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm raises ImportError
    with pytest.raises(GeneratorError, match=r"pip install 'correct\[vllm\]'"):
        load_generator("m", "vllm")


def test_dtype_option_reaches_vllm_and_device_is_refused(fake_vllm):
    """`--dtype` of generate and serve reaches vLLM's engine; `--device` is for hf (vLLM places its own GPU)."""
    from correct.corrector.app.args import UsageError
    from correct.corrector.app.loading import load_models
    from correct.corrector.app.options import Backend

    g, c = load_models("some/model", None, Backend(backend="vllm"), None, dtype="bfloat16")
    assert c is None and FakeLLM.instances[-1].kwargs["dtype"] == "bfloat16"
    with pytest.raises(UsageError, match="--device is for the hf backend"):
        load_models("some/model", None, Backend(backend="vllm"), None, device="cuda:0")


def test_room_is_what_max_model_len_leaves_after_each_prompt(fake_vllm, monkeypatch):
    """A corrector decoding through vLLM cuts its rewrite budget to this (corrector/model.py)
    rather than letting vLLM drop the input's oldest tokens, which are the question."""

    class Chars:
        bos_token = None

        def __call__(self, text, add_special_tokens=True):
            return {"input_ids": [0] * add_special_tokens + list(text)}

    monkeypatch.setattr(FakeLLM, "get_tokenizer", lambda self: Chars())
    gen = load_generator("some/model", "vllm")
    assert gen.room(["abc", "x" * 70]) == [64 - 4, 64 - 71]
