"""bench/against_llama_cpp.py samples with llama.cpp as the hf backend samples, so that the
two engines draft the same distribution: temperature and top-p only (no top-k, min-p,
typical-p or repetition penalty), a seed per sample, the task's stop strings, and a greedy
draft decoded once for its n copies. Checked against a stand-in for llama-cpp-python, which
CI never compiles."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import against_llama_cpp  # noqa: E402

from correct.generators import SamplingParams  # noqa: E402


class FakeLlama:
    def __init__(self, model_path, **options):
        self.options, self.calls = options, []

    def create_completion(self, prompt, **kwargs):
        self.calls.append((prompt, kwargs))
        return {"choices": [{"text": f"print({len(self.calls)})\n\nQuestion: more"}], "usage": {"completion_tokens": 5}}


def test_llama_cpp_is_asked_for_the_hf_backends_sampling(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    engine = against_llama_cpp.LlamaCpp(tmp_path / "m.gguf", threads=2)
    assert engine.llm.options["n_threads"] == engine.llm.options["n_threads_batch"] == 2

    sampled = SamplingParams(temperature=0.5, top_p=0.9, max_new_tokens=64, stop=("\n\n",), n=3, seed=7)
    drafts = engine.generate(["Q1", "Q2"], sampled)
    assert drafts == [["print(1)", "print(2)", "print(3)"], ["print(4)", "print(5)", "print(6)"]]  # cut at the stop
    calls = engine.llm.calls
    assert [c[0] for c in calls] == ["Q1"] * 3 + ["Q2"] * 3
    assert len({c[1]["seed"] for c in calls}) == 6  # a seed of its own for every sample
    for _, kwargs in calls:
        assert kwargs["temperature"] == 0.5 and kwargs["top_p"] == 0.9 and kwargs["max_tokens"] == 64
        assert kwargs["top_k"] == 0 and kwargs["min_p"] == 0.0 and kwargs["typical_p"] == 1.0
        assert kwargs["repeat_penalty"] == 1.0 and kwargs["stop"] == ["\n\n"]
    assert engine.tokens_generated == 6 * 5

    engine.llm.calls.clear()
    greedy = engine.generate(["Q"], SamplingParams(temperature=0.0, n=4))
    assert len(engine.llm.calls) == 1 and greedy == [[greedy[0][0]] * 4]  # decoded once, as hf does


def test_the_machine_limits_are_measured():
    limits = against_llama_cpp.machine_limits(threads=1)
    assert limits["bandwidth"] > 1e8 and limits["flops"] > 1e8  # bytes/s and FLOP/s of a real machine


def test_llama_cpp_says_what_its_build_runs_on(monkeypatch, tmp_path):
    info = types.SimpleNamespace(Llama=FakeLlama, llama_print_system_info=lambda: b"CPU : AVX2 = 1 | AVX512 = 0 \n")
    monkeypatch.setitem(sys.modules, "llama_cpp", info)
    assert against_llama_cpp.LlamaCpp(tmp_path / "m.gguf", threads=1).system_info() == "CPU : AVX2 = 1 | AVX512 = 0"
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    assert against_llama_cpp.LlamaCpp(tmp_path / "m.gguf", threads=1).system_info() == "unknown"


@pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"), reason="needs a CPU with AVX2 or wider"
)
def test_isa_avx2_holds_torch_to_avx2():
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import against_llama_cpp as b; "
        "b.limit_isa('avx2'); import torch; print(torch.backends.cpu.get_cpu_capability())"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "AVX2"


def test_the_isa_cannot_be_held_once_torch_is_loaded():
    with pytest.raises(RuntimeError, match="--isa avx2: torch is already imported"):
        against_llama_cpp.limit_isa("avx2")
    against_llama_cpp.limit_isa("native")  # nothing to hold
