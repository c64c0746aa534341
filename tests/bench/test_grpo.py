"""bench/grpo.py, the GRPO row of bench/new_task.py, end to end on the shipped tiny arithmetic
generator: a LoRA adapter trained by TRL's GRPOTrainer with the task's own value as reward,
saved so that ``correct generate --generator`` drafts with it, and stopped by a CPU budget."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

pytest.importorskip("trl")

from correct.corrector.training.budget import cpu_seconds  # noqa: E402
from correct.generators import SamplingParams  # noqa: E402
from correct.generators.hf import HFGenerator  # noqa: E402
from correct.tasks import get_task  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = str(ROOT / "tasks" / "models" / "arithmetic-generator")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


def grpo():
    spec = importlib.util.spec_from_file_location("bench_grpo", ROOT / "bench" / "grpo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(tmp_path, *extra):
    out = tmp_path / "grpo"
    argv = [
        "--task",
        "arithmetic",
        "--generator",
        GENERATOR,
        "--shots",
        "0",
        "--limit",
        "8",
        "--prompts",
        "2",
        "--num-generations",
        "4",
        "--lora-r",
        "4",
        "--output",
        str(out),
        *extra,
    ]
    return out, grpo().main(argv)


def test_grpo_trains_an_adapter_that_drafts(tmp_path):
    # at temperature 1.5 the tiny generator's groups mix right and wrong programs: an advantage to learn from
    out, stats = run(tmp_path, "--steps", "4", "--warmup-steps", "0", "--learning-rate", "1e-2", "--temperature", "1.5")
    assert stats["steps"] == 4 and not stats["stopped_by_budget"]
    assert stats["precision"] == "float32"  # as the other rows train; TRL's own default is bfloat16
    assert json.loads((out / "stats.json").read_text()) == stats
    # 4 steps of 2 prompts x 4 completions: the completions' tokens, and their prompts' too
    assert stats["generated_tokens"] > 0 and stats["tokens"] > stats["generated_tokens"]
    assert 0 < stats["cpu_seconds"] <= cpu_seconds()  # this process's CPU, loading included
    history = json.loads(next(out.glob("checkpoint-*/trainer_state.json")).read_text())["log_history"]
    assert any(h.get("reward_std", 0) > 0 for h in history)
    assert all(h["cpu_seconds"] > 0 for h in history)
    # LoRA's B matrices start at zero: a reward with variance moved them
    adapter = load_file(out / "adapter_model.safetensors")
    assert any(float(w.abs().max()) > 0 for name, w in adapter.items() if "lora_B" in name)
    trained = HFGenerator.from_pretrained(str(out))  # the adapter on its recorded base
    task = get_task("arithmetic")
    prompts = [task.format_prompt(r) for r in task.make_split("validation", 4, 0)]
    drafts = trained.generate(prompts, SamplingParams(temperature=0.0, max_new_tokens=48))
    assert len(drafts) == 4 and all("print" in d[0] for d in drafts)


def test_cpu_budget_ends_the_run_after_the_step_that_spends_it(tmp_path):
    _, stats = run(tmp_path, "--steps", "50", "--cpu-budget", "0.001")
    assert stats["stopped_by_budget"] and stats["steps"] == 1


def test_stop_strings_end_completions():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(GENERATOR)
    ids = grpo().stop_token_ids(tok, ["\n", "print"])
    assert ids and all("\n" in tok.decode([i]) or "print" in tok.decode([i]) for i in ids)
    assert tok.convert_tokens_to_ids("print") in ids
    assert grpo().stop_token_ids(tok, []) == []


def test_reward_cuts_at_the_stop_and_scores_with_the_task_value():
    class Exact:
        name = "exact"

        def __call__(self, records, outputs):
            from correct.values import Score

            return [Score(None if "answer" not in r else float(o == r["answer"])) for r, o in zip(records, outputs)]

    reward = grpo().value_reward(Exact(), ["\n\n"])
    records = [json.dumps({"answer": "7"}), json.dumps({"answer": "7"}), json.dumps({})]
    assert reward(["p"] * 3, ["7\n\nQuestion: more", "8", "7"], records) == [1.0, 0.0, 0.0]
