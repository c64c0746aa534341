"""bench/int8.py on the shipped tiny arithmetic generator: every row measured, float32 against
itself exact, and the int8 copies really quantized (the float32 model left as it was)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import int8  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_int8_bench_measures_each_weight_kind_against_float32():
    result = int8.main(
        [
            "--model",
            str(ROOT / "tasks/models/arithmetic-generator"),
            "--task",
            "arithmetic",
            "--shots",
            "0",
            "--prompts",
            "4",
        ]
    )
    assert list(result) == ["float32", "int8, per-tensor", "int8, per-channel"]
    assert result["float32"]["next_token_agree"] == 1.0 and result["float32"]["same"] == 4
    assert all(
        r["cpu_seconds"] > 0 and 0 <= r["solved"] <= 4 and 0 <= r["next_token_agree"] <= 1 for r in result.values()
    )


def test_the_int8_copy_is_quantized_and_the_original_is_not():
    import torch

    from correct.generators import load_generator

    model = load_generator(str(ROOT / "tasks/models/arithmetic-generator")).model
    q = int8.quantized(model, per_channel=True)
    linears = [m for m in q.modules() if type(m).__name__ == "Linear"]
    assert linears and all(type(m).__module__ == "torch.ao.nn.quantized.dynamic.modules.linear" for m in linears)
    assert all(type(m) is torch.nn.Linear for m in model.modules() if type(m).__name__ == "Linear")
