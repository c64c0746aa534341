"""The `correct` command line, end to end on a tiny offline model (see conftest.tiny_lm_dir).

Click >= 8.2's CliRunner keeps stdout and stderr apart (``result.stdout``, ``result.stderr``)
and interleaves both in ``result.output``; error messages go to stderr.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from correct.cli import app

pytestmark = pytest.mark.usefixtures("one_torch_thread")

runner = CliRunner()

GEN_FLAGS = ["--max-new-tokens", "24"]


def invoke(*args) -> "click.testing.Result":  # noqa: F821
    return runner.invoke(app, [str(a) for a in args])


def models(tiny_lm_dir) -> list[str]:
    return ["--generator", str(tiny_lm_dir), "--corrector", str(tiny_lm_dir)]


def lines_of(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]


def flat(text: str) -> str:
    """Text without any whitespace: rich wraps long messages at the console width."""
    return "".join(text.split())


def assert_user_error(result, *needles: str) -> None:
    """Exit code 2, a message naming each needle, and no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "error" in result.stderr
    for needle in needles:
        assert flat(needle) in flat(result.stderr), (needle, result.stderr)


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines), encoding="utf-8")
    return path


USER_RECORDS = [
    {"prompt": "Mia has 7 apples. She buys 5 more apples. How many apples does Mia have now?", "answer": 12},
    {"prompt": "Tom has 20 coins. He loses 4 coins. How many coins does Tom have now?", "answer": 16},
    {"prompt": "Ava has 3 boxes with 4 cards in each box. How many cards does Ava have now?", "answer": 12},
    {"prompt": "Leo has 9 books. He wins 2 books. How many books does Leo have now?", "answer": 11},
]


# --------------------------------------------------------------------------- listings


def test_tasks_lists_arithmetic():
    result = invoke("tasks")
    assert result.exit_code == 0, result.output
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert "arithmetic" in names


def test_the_command_line_runs_under_a_profiler():
    """``python -m cProfile -m correct.cli``: cli.py runs as a module that is not ``__main__`` in
    ``sys.modules``, so its options' annotations must not need its globals to be read."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", os.devnull, "-m", "correct.cli", "card", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "--eval-limit" in run.stdout


def test_values_lists_program():
    result = invoke("values")
    assert result.exit_code == 0, result.output
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert "program" in names


# --------------------------------------------------------------------------- generate


def test_generate_writes_rounds_and_metrics(tiny_lm_dir, tmp_path):
    out = tmp_path / "out.jsonl"
    result = invoke(
        "generate",
        "--task",
        "arithmetic",
        *models(tiny_lm_dir),
        "--rounds",
        2,
        "--limit",
        6,
        "--output",
        out,
        *GEN_FLAGS,
    )
    assert result.exit_code == 0, (result.output, result.exception)

    lines = lines_of(out)
    assert len(lines) == 6
    assert len({l["id"] for l in lines}) == 6
    for line in lines:
        assert {"id", "prompt", "rounds", "final", "self_consistency"} <= set(line)
        assert isinstance(line["prompt"], str) and line["prompt"]
        assert [s["round"] for s in line["rounds"]] == [0, 1, 2]
        for step in line["rounds"]:
            assert set(step) == {"round", "text", "value", "feedback"}
            assert isinstance(step["text"], str)
            assert step["value"] in (0.0, 1.0)
        assert line["final"] == line["rounds"][-1]["text"]
        sc = line["self_consistency"]
        assert sc["samples"] == 3 and isinstance(sc["text"], str) and sc["value"] in (0.0, 1.0)

    metrics = json.loads((tmp_path / "out.metrics.json").read_text())
    assert metrics["records"] == 6
    rounds = metrics["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    for r in rounds:
        assert 0.0 <= r["mean_value"] <= 1.0 and 0.0 <= r["solved"] <= 1.0
        assert ("changed" in r and "broken" in r) == (r["round"] >= 1)
    # The per-round figures agree with the lines they summarise.
    for r in rounds:
        assert r["mean_value"] == pytest.approx(sum(l["rounds"][r["round"]]["value"] for l in lines) / 6)
    assert metrics["seconds"] > 0
    assert metrics["tokens"] > 0
    assert metrics["self_consistency"]["samples"] == 3
    assert 0.0 <= metrics["self_consistency"]["mean_value"] <= 1.0
    assert "wrote" in result.stderr


def test_generate_metrics_option_and_zero_rounds(tiny_lm_dir, tmp_path):
    """--rounds 0 needs no corrector; --metrics puts the metrics where asked."""
    out, met = tmp_path / "o.jsonl", tmp_path / "sub" / "m.json"
    result = invoke(
        "generate",
        "--task",
        "arithmetic",
        "--generator",
        tiny_lm_dir,
        "--rounds",
        0,
        "--limit",
        2,
        "--output",
        out,
        "--metrics",
        met,
        "--no-baseline",
        *GEN_FLAGS,
    )
    assert result.exit_code == 0, (result.output, result.exception)
    lines = lines_of(out)
    assert len(lines) == 2
    assert all(len(l["rounds"]) == 1 and "self_consistency" not in l for l in lines)
    metrics = json.loads(met.read_text())
    assert len(metrics["rounds"]) == 1 and "self_consistency" not in metrics
    assert not (tmp_path / "o.metrics.json").exists()


def test_generate_with_several_rewrites_a_correction(tiny_lm_dir, tmp_path):
    """--correction-samples 3: every correction is chosen from three sampled rewrites, and the
    metrics count each rewrite as a decode (the tiny corrector rewrites every draft: its
    programs are judged against hidden answers, so none is closed)."""
    out, met = tmp_path / "o.jsonl", tmp_path / "m.json"
    args = ["generate", "--task", "arithmetic", *models(tiny_lm_dir), "--rounds", 1, "--limit", 3, "--no-baseline"]
    result = invoke(*args, "--correction-samples", 3, "--output", out, "--metrics", met, *GEN_FLAGS)
    assert result.exit_code == 0, (result.output, result.exception)
    metrics = json.loads(met.read_text())
    assert metrics["round_decodes"] == [3, 9]
    assert all(len(l["rounds"]) == 2 for l in lines_of(out))


def test_generate_resume_after_kill(tiny_lm_dir, tmp_path):
    out = tmp_path / "out.jsonl"
    args = [
        "generate",
        "--task",
        "arithmetic",
        *models(tiny_lm_dir),
        "--rounds",
        1,
        "--limit",
        6,
        "--batch-size",
        2,
        "--output",
        out,
        "--no-baseline",
        *GEN_FLAGS,
    ]
    result = invoke(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    full = out.read_bytes().splitlines(keepends=True)
    assert len(full) == 6
    ids = [json.loads(l)["id"] for l in full]

    # A run killed while writing line 3: two whole lines and a torn third one.
    out.write_bytes(full[0] + full[1] + full[2][: len(full[2]) // 2])
    result = invoke(*args, "--resume")
    assert result.exit_code == 0, (result.output, result.exception)
    data = out.read_bytes()
    assert data.endswith(b"\n")
    resumed = data.splitlines(keepends=True)
    assert len(resumed) == 6
    assert resumed[:2] == full[:2]
    parsed = [json.loads(l) for l in resumed]  # every line parses: the torn one is gone
    assert [p["id"] for p in parsed] == ids
    assert all(len(p["rounds"]) == 2 and p["final"] == p["rounds"][-1]["text"] for p in parsed)
    metrics = json.loads((tmp_path / "out.metrics.json").read_text())
    # the figures are the whole file's; the costs (seconds, tokens), this run's 4 records'
    assert metrics["records"] == 6 and metrics["resumed_after"] == 2 and metrics["round_decodes"][0] == 4

    # Resuming a finished run decodes nothing and leaves the file as it is.
    result = invoke(*args, "--resume")
    assert result.exit_code == 0, (result.output, result.exception)
    assert out.read_bytes() == data
    assert json.loads((tmp_path / "out.metrics.json").read_text())["records"] == 6


def test_generate_user_input_with_task(tiny_lm_dir, tmp_path):
    """User records (prompt + answer): the task supplies prompt format, stops and value."""
    inp = write_jsonl(tmp_path / "in.jsonl", USER_RECORDS)
    out = tmp_path / "out.jsonl"
    result = invoke(
        "generate",
        "--input",
        inp,
        "--task",
        "arithmetic",
        *models(tiny_lm_dir),
        "--rounds",
        1,
        "--limit",
        3,
        "--output",
        out,
        "--no-baseline",
        *GEN_FLAGS,
    )
    assert result.exit_code == 0, (result.output, result.exception)
    lines = lines_of(out)
    assert [l["id"] for l in lines] == ["1", "2", "3"]  # line numbers when records have no id
    assert [l["prompt"] for l in lines] == [r["prompt"] for r in USER_RECORDS[:3]]
    for line in lines:
        assert [s["round"] for s in line["rounds"]] == [0, 1]
        assert all(s["value"] in (0.0, 1.0) and isinstance(s["feedback"], str) for s in line["rounds"])


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def existing_output(tmp_path):
    """An output file from an earlier run: errors before generation must leave it alone."""
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "old", "final": "print(1)"}\n')
    return out


def assert_untouched(out: Path) -> None:
    assert out.read_text() == '{"id": "old", "final": "print(1)"}\n'
    assert not out.with_suffix(".metrics.json").exists()


def _generate_input(tiny_lm_dir, inp, out, *extra):
    return invoke(
        "generate",
        "--input",
        inp,
        "--task",
        "arithmetic",
        *models(tiny_lm_dir),
        "--rounds",
        1,
        "--output",
        out,
        "--no-baseline",
        *GEN_FLAGS,
        *extra,
    )


@pytest.mark.parametrize(
    "lines, needles",
    [
        pytest.param(
            [USER_RECORDS[0], USER_RECORDS[1], '{"prompt": "x", ', USER_RECORDS[2]],
            ["in.jsonl:3", "JSON"],
            id="malformed-json",
        ),
        pytest.param(
            [USER_RECORDS[0], {"question": "no prompt here", "answer": 1}],
            ["in.jsonl:2", "'prompt'"],
            id="missing-prompt",
        ),
        pytest.param([USER_RECORDS[0], [1, 2, 3]], ["in.jsonl:2", "object"], id="array-line"),
        pytest.param(
            [{**USER_RECORDS[0], "id": "a"}, {**USER_RECORDS[1], "id": "b"}, {**USER_RECORDS[2], "id": "a"}],
            ["in.jsonl:3", "duplicate", "'a'"],
            id="duplicate-id",
        ),
    ],
)
def test_generate_bad_input_file(tiny_lm_dir, tmp_path, existing_output, lines, needles):
    inp = write_jsonl(tmp_path / "in.jsonl", lines)
    result = _generate_input(tiny_lm_dir, inp, existing_output)
    assert_user_error(result, *needles)
    assert_untouched(existing_output)


def test_generate_missing_input_file(tiny_lm_dir, tmp_path, existing_output):
    result = _generate_input(tiny_lm_dir, tmp_path / "nope.jsonl", existing_output)
    assert_user_error(result, "nope.jsonl")
    assert_untouched(existing_output)


@pytest.mark.parametrize(
    "extra, needles",
    [
        pytest.param(["--task", "bogus"], ["--task", "bogus"], id="task"),
        pytest.param(["--task", "arithmetic", "--value", "bogus"], ["--value", "bogus"], id="value"),
        pytest.param(["--task", "arithmetic", "--backend", "bogus"], ["--backend", "bogus"], id="backend"),
        pytest.param(["--task", "arithmetic", "--refine", "some"], ["'--refine'", "'some' is not one of"], id="refine"),
    ],
)
def test_generate_unknown_names(tiny_lm_dir, existing_output, extra, needles):
    result = invoke("generate", *extra, *models(tiny_lm_dir), "--limit", 2, "--output", existing_output, *GEN_FLAGS)
    assert_user_error(result, *needles)
    assert_untouched(existing_output)


@pytest.mark.parametrize("refine, corrected", [(None, ["r0", "r1", "r2", "r3"]), ("failing", ["r1", "r3"])])
def test_refine_failing_gives_the_corrector_only_the_drafts_its_value_calls_faulty(
    tiny_lm_dir, tmp_path, monkeypatch, refine, corrected
):
    """A value of the user's own says which drafts are faulty (known to fail without a
    reference); with --refine failing only those go to the corrector, the rest carry over."""
    (tmp_path / "faults.py").write_text(
        "from correct.values import Score\n"
        "def odd_ones(records, outputs):\n"
        "    return [Score(0.0, 'ran', faulty=int(r['id'][1:]) % 2 == 1) for r in records]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": f"r{i}", "prompt": f"question {i}"} for i in range(4)])
    out = tmp_path / "out.jsonl"
    extra = ["--refine", refine] if refine else []
    result = invoke(
        "generate", "--input", inp, "--value", "faults:odd_ones", *models(tiny_lm_dir), "--rounds", 2, "--seed", 0,
        "--temperature", 1.0, "--no-baseline", "--output", out, *extra, *GEN_FLAGS,
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    metrics = json.loads(out.with_suffix(".metrics.json").read_text())
    assert metrics["round_decodes"] == [4, len(corrected), len(corrected)]
    for line in lines_of(out):
        texts = [s["text"] for s in line["rounds"]]
        if line["id"] not in corrected:
            assert texts == [texts[0]] * 3, line  # carried over: never rewritten


@pytest.mark.parametrize("option", ["--generator", "--corrector"])
def test_generate_missing_model_path(tiny_lm_dir, existing_output, option):
    paths = {"--generator": str(tiny_lm_dir), "--corrector": str(tiny_lm_dir), option: "/nonexistent/path"}
    result = invoke(
        "generate",
        "--task",
        "arithmetic",
        "--generator",
        paths["--generator"],
        "--corrector",
        paths["--corrector"],
        "--limit",
        2,
        "--output",
        existing_output,
        *GEN_FLAGS,
    )
    assert_user_error(result, "/nonexistent/path")
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message  # one clear line
    assert_untouched(existing_output)


@pytest.mark.parametrize(
    "extra, needles",
    [
        pytest.param(["--base-url", "http://x/v1"], ["--base-url is for --backend openai, not hf"], id="base-url"),
        pytest.param(
            ["--api", "chat", "--backend-api-key", "k"], ["--backend-api-key, --api are for --backend openai"], id="api"
        ),
        pytest.param(["--backend", "openai", "--api", "rpc"], ["'--api'", "'rpc' is not one of"], id="api-name"),
        pytest.param(
            ["--backend", "openai", "--base-url", "http://127.0.0.1:9/v1"],
            ["could not reach http://127.0.0.1:9/v1", "(option --base-url)"],
            id="unreachable",
        ),
        pytest.param(["--backend", "vllm"], ["pip install 'correct[vllm]'"], id="vllm-missing"),
        pytest.param(["--input", "x.jsonl", "--shots", "2"], ["--shots", "needs --task"], id="shots"),
        pytest.param(
            ["--correction-samples", "3", "--correction-temperature", "0"],
            ["--correction-samples 3", "needs --correction-temperature above 0"],
            id="greedy-samples",
        ),
    ],
)
def test_generate_backend_option_mistakes(tiny_lm_dir, tmp_path, existing_output, extra, needles):
    if "vllm" in extra:
        pytest.importorskip("torch")
        if __import__("importlib").util.find_spec("vllm"):
            pytest.skip("vLLM is installed here")
    if "--input" in extra:
        extra = [str(write_jsonl(tmp_path / "x.jsonl", USER_RECORDS)) if a == "x.jsonl" else a for a in extra] + [
            "--value",
            "program",
        ]
    else:
        extra = ["--task", "arithmetic", *extra]
    result = invoke("generate", *extra, *models(tiny_lm_dir), "--limit", 2, "--output", existing_output, *GEN_FLAGS)
    assert_user_error(result, *needles)
    assert_untouched(existing_output)


def test_train_from_an_endpoint_needs_a_local_init(tmp_path):
    result = invoke(
        "train", "--task", "arithmetic", "--backend", "openai", "--generator", "big", "--output", tmp_path / "c"
    )
    assert_user_error(result, "--init")


def test_prepare_unknown_name():
    assert_user_error(invoke("prepare", "nope"), "unknown named generator 'nope'", "smollm2")


def test_generate_input_needs_generator_and_value(tiny_lm_dir, tmp_path, existing_output):
    inp = write_jsonl(tmp_path / "in.jsonl", USER_RECORDS)
    result = invoke("generate", "--input", inp, "--output", existing_output)
    assert_user_error(result, "--generator")
    result = invoke("generate", "--input", inp, "--generator", tiny_lm_dir, "--output", existing_output)
    assert_user_error(result, "--value")
    result = invoke(
        "generate",
        "--input",
        inp,
        "--generator",
        tiny_lm_dir,
        "--value",
        "program",
        "--rounds",
        1,
        "--output",
        existing_output,
    )
    assert_user_error(result, "--corrector")
    assert_untouched(existing_output)


def test_generate_resume_refuses_a_foreign_output(tiny_lm_dir, tmp_path):
    out = write_jsonl(tmp_path / "out.jsonl", USER_RECORDS)  # records, not output lines
    before = out.read_text()
    result = invoke(
        "generate",
        "--task",
        "arithmetic",
        *models(tiny_lm_dir),
        "--limit",
        2,
        "--output",
        out,
        "--resume",
        "--no-baseline",
        *GEN_FLAGS,
    )
    assert_user_error(result, "out.jsonl:1", "resume")
    assert out.read_text() == before


def test_generate_input_and_dataset_conflict(tmp_path, existing_output):
    inp = write_jsonl(tmp_path / "in.jsonl", USER_RECORDS)
    result = invoke("generate", "--input", inp, "--dataset", "some/name", "--output", existing_output)
    assert_user_error(result, "--input", "--dataset")
    assert_untouched(existing_output)


def test_train_unknown_method(tmp_path):
    result = invoke("train", "--method", "bogus", "--output", tmp_path / "model")
    assert_user_error(result, "--method", "bogus")
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize(
    "extra, needles",
    [
        (["--loss-on", "first"], ["--loss-on", "first"]),
        (["--mask-scope", "question"], ["--mask-scope", "question"]),
        (["--mask-share", "1.5"], ["--mask-share", "1.5"]),
        (["--contrastive-weight", "-1"], ["--contrastive-weight"]),
        (["--lm-corpus", "no/such/corpus.txt"], ["--lm-corpus", "no/such/corpus.txt"]),
        (["--method", "hir", "--no-feedback"], ["--no-feedback", "hir"]),
    ],
)
def test_train_bad_hindsight_options(tmp_path, extra, needles):
    result = invoke("train", "--method", "hindsight", *extra, "--output", tmp_path / "model")
    assert_user_error(result, *needles)
    assert not (tmp_path / "model").exists()


def test_train_without_improving_pairs_is_a_clear_error(tiny_lm_dir, tmp_path):
    # The tiny model never writes a right program: every draft has value 0.
    result = invoke(
        "train",
        "--task",
        "arithmetic",
        "--generator",
        tiny_lm_dir,
        "--limit",
        "3",
        "--samples",
        "2",
        "--max-new-tokens",
        "8",
        "--output",
        tmp_path / "model",
    )
    assert_user_error(result, "no value-improving pairs", "--samples")
    assert (
        len((tmp_path / "model" / "pool.jsonl").read_text().splitlines()) == 6
    )  # the scored pool is kept for a resume


def test_train_empty_lm_corpus_is_named(tiny_lm_dir, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n  \n")
    result = invoke(
        "train", "--generator", tiny_lm_dir, "--limit", "2", "--lm-corpus", corpus, "--output", tmp_path / "model"
    )
    assert_user_error(result, "--lm-corpus", str(corpus), "no text")
    assert not (tmp_path / "model" / "pool.jsonl").exists()  # it failed before drawing the pool


@pytest.mark.parametrize("method", ["pairing", "hindsight", "hir"])
def test_train_each_method_saves_a_corrector_generate_uses(tiny_lm_dir, tmp_path, method):
    """A few optimizer steps of each method through the command line; the saved folder records
    method and template, and `generate --corrector` needs no other flag to use it."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("x = 1\nprint(x)\n" * 20)
    out = tmp_path / "corr"
    # The toxicity value scores the tiny model's program-like drafts on a continuous scale, so
    # every prompt has better and worse drafts (the sandboxed program value would mark them all wrong).
    # Their scores run from about 0.90 to 0.997: a maximum of 0.975 makes some right and some wrong,
    # as hindsight relabelling needs, whichever samples a seed draws (0.9 had made all right).
    result = invoke(
        "train",
        "--task",
        "arithmetic",
        "--value",
        "toxicity:max_value=0.975",
        "--generator",
        tiny_lm_dir,
        "--method",
        method,
        "--limit",
        "6",
        "--samples",
        "3",
        "--iterations",
        "2",  # the first explores (the last does not: nothing would train on it)
        "--steps",
        "2",
        "--pairs",
        "12",
        "--explore",
        "3",
        *(["--explore-samples", "2", "--explore-focus", "unsolved"] if method == "pairing" else []),
        "--max-new-tokens",
        "24",
        "--batch-size",
        "4",
        "--lm-corpus",
        corpus,
        "--eval-limit",
        "5",
        "--output",
        out,
    )
    assert result.exit_code == 0, result.stderr + result.stdout
    config = json.loads((out / "correct_config.json").read_text())
    assert config["method"] == method
    assert config["training"]["stop"] == ["\n\n", "Question:"]  # the pool's drafts end where the task's do
    assert config["training"]["generator"] == str(tiny_lm_dir)
    # Measured on held-out records at the end, and written into the model card.
    ev = json.loads((out / "eval.json").read_text())
    assert ev["records"] == 5 and [r["round"] for r in ev["rounds"]] == [0, 1, 2, 3]
    card = (out / "README.md").read_text()
    assert f"- {method}" in card.split("---")[1]  # a tag in the YAML metadata
    assert f"{ev['rounds'][-1]['mean_value']:.4g}" in card and "held-out" in result.stderr
    assert config["template"] == {"pairing": "default", "hindsight": "hindsight", "hir": "hir"}[method]
    assert config["training"]["lm_corpus"] == str(corpus) and config["training"]["lm_weight"] == 1.5
    assert config["prompt_format"].startswith("Question: {prompt}\n")
    assert config["question"] == "task" and "the question as the task lays it out" in card  # the layout filled in
    assert ("coh_templates" in config["training"]) == (method == "hindsight")
    assert ("hir_labels" in config["training"]) == (method == "hir")
    made = [json.loads(line) for line in (out / "pairs-0.jsonl").read_text().splitlines()]
    assert made and all(("outcome" in m) == (method == "hir") for m in made)
    pool = (out / "pool.jsonl").read_text().splitlines()
    explored = 3 * (2 if method == "pairing" else 1)  # --explore-samples 2: two rewrites of each draft
    assert len(pool) == 6 * 3 + explored  # generator drafts, then the explored ones
    assert config["training"]["explore_samples"] == explored // 3

    result = invoke(
        "generate",
        "--task",
        "arithmetic",
        "--value",
        "toxicity:max_value=0.975",
        "--generator",
        tiny_lm_dir,
        "--corrector",
        out,
        "--rounds",
        "1",
        "--limit",
        "3",
        "--max-new-tokens",
        "24",
        "--output",
        tmp_path / "gen.jsonl",
    )
    assert result.exit_code == 0, result.stderr + result.stdout
    assert len((tmp_path / "gen.jsonl").read_text().splitlines()) == 3


# --------------------------------------------------------------------------- score

SCORED = [
    {"id": "right", "answer": 5, "output": "x = 2\nx = x + 3\nprint(x)"},
    {"id": "wrong", "answer": 5, "output": "print(4)"},
    {"id": "crash", "answer": 5, "output": "x = 1 // 0\nprint(x)"},
]


def _check_scores(text: str) -> None:
    rows = [json.loads(l) for l in text.splitlines()]
    assert [r["id"] for r in rows] == ["right", "wrong", "crash"]
    assert all(set(r) == {"id", "value", "feedback"} for r in rows)
    assert [r["value"] for r in rows] == [1.0, 0.0, 0.0]
    assert "ZeroDivisionError" in rows[2]["feedback"]
    assert "5" not in rows[1]["feedback"]  # feedback never reveals the answer


def test_score_to_stdout(tmp_path):
    inp = write_jsonl(tmp_path / "f.jsonl", SCORED)
    result = invoke("score", "--value", "program", "--input", inp)
    assert result.exit_code == 0, (result.output, result.exception)
    _check_scores(result.stdout)


def test_what_a_value_prints_does_not_land_among_the_scores(tmp_path, monkeypatch):
    """A user's value that prints (a debugging line) wrote into the JSON lines on stdout."""
    (tmp_path / "noisy.py").write_text(
        "def score(records, outputs):\n    print('DEBUG scoring', len(outputs))\n    return [0.5 for _ in outputs]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = invoke("score", "--value", "noisy:score", "--input", write_jsonl(tmp_path / "f.jsonl", SCORED))
    assert result.exit_code == 0, (result.output, result.exception)
    assert [json.loads(line)["value"] for line in result.stdout.splitlines()] == [0.5] * 3
    assert "DEBUG scoring 3" in result.stderr


def test_score_to_file(tmp_path):
    inp = write_jsonl(tmp_path / "f.jsonl", SCORED)
    out = tmp_path / "scores.jsonl"
    result = invoke("score", "--value", "program", "--input", inp, "--output", out, "--batch-size", 2)
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout == ""
    _check_scores(out.read_text())


def test_score_missing_output_field(tmp_path):
    inp = write_jsonl(tmp_path / "f.jsonl", [SCORED[0], {"id": "x", "answer": 5}, SCORED[2]])
    out = tmp_path / "scores.jsonl"
    out.write_text("earlier\n")
    result = invoke("score", "--value", "program", "--input", inp, "--output", out)
    assert_user_error(result, "f.jsonl:2", "'output'")
    assert out.read_text() == "earlier\n"


def test_score_unknown_value(tmp_path):
    inp = write_jsonl(tmp_path / "f.jsonl", SCORED)
    assert_user_error(invoke("score", "--value", "bogus", "--input", inp), "--value", "bogus")


# --------------------------------------------------------------------------- messages and output stay intact


def test_error_message_keeps_square_brackets(tiny_lm_dir, tmp_path):
    result = _generate_input(tiny_lm_dir, tmp_path / "data[test].jsonl", tmp_path / "out.jsonl")
    assert_user_error(result, "data[test].jsonl")


def test_error_message_with_closing_tag_text(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "a", "id": "[/]"}, {"prompt": "b", "id": "[/]"}])
    result = invoke("generate", "--input", inp, "--output", tmp_path / "out.jsonl")
    assert_user_error(result, "in.jsonl:2", "'[/]'")


def test_value_error_in_first_batch_keeps_earlier_output(tiny_lm_dir, tmp_path, existing_output):
    inp = write_jsonl(tmp_path / "in.jsonl", [{"prompt": USER_RECORDS[0]["prompt"]}])  # no concepts
    result = _generate_input(tiny_lm_dir, inp, existing_output, "--value", "constraints")
    assert_user_error(result, "concepts")
    assert_untouched(existing_output)


def test_long_error_message_is_one_line(tiny_lm_dir, tmp_path):
    inp = tmp_path / ("a-rather-long-directory-name-" * 3) / "in.jsonl"
    result = _generate_input(tiny_lm_dir, inp, tmp_path / "out.jsonl")
    assert_user_error(result, "no such file")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# --------------------------------------------------------------------------- datasets


def test_generate_from_local_dataset_folder(tiny_lm_dir, tmp_path):
    """--dataset goes through datasets.load_dataset: a local folder of JSONL files works offline."""
    folder = tmp_path / "ds"
    folder.mkdir()
    write_jsonl(folder / "test.jsonl", [{**r, "id": f"d{i}"} for i, r in enumerate(USER_RECORDS)])
    out = tmp_path / "out.jsonl"
    result = invoke(
        "generate",
        "--dataset",
        folder,
        "--task",
        "arithmetic",
        *models(tiny_lm_dir),
        "--rounds",
        "1",
        "--output",
        out,
        "--no-baseline",
        *GEN_FLAGS,
    )
    assert result.exit_code == 0, result.output
    assert [l["id"] for l in lines_of(out)] == ["d0", "d1", "d2", "d3"]


def test_generate_dataset_without_prompt_column(tiny_lm_dir, tmp_path, existing_output):
    folder = tmp_path / "ds"
    folder.mkdir()
    write_jsonl(folder / "test.jsonl", [{"question": "x", "answer": 1}])
    result = invoke(
        "generate", "--dataset", folder, "--task", "arithmetic", *models(tiny_lm_dir), "--output", existing_output
    )
    assert_user_error(result, "--dataset", "'prompt'")
    assert_untouched(existing_output)


def test_score_survives_a_program_that_kills_its_worker(tmp_path):
    # Only the rlimits mode lets a program reach its worker (in the namespace modes the
    # worker is pid 1 of the program's namespace and cannot be killed from inside).
    inp = write_jsonl(
        tmp_path / "f.jsonl",
        [
            {"id": "a", "answer": 1, "output": "print(1)"},
            {
                "id": "b",
                "answer": 2,
                "output": "import os, signal\nprint(2, flush=True)\nos.kill(os.getppid(), signal.SIGKILL)",
            },
            {"id": "c", "answer": 3, "output": "print(3)"},
            {"id": "d", "answer": 4, "output": "print(4)"},
        ],
    )
    result = invoke("score", "--value", "program:isolation=rlimits,workers=1", "--input", inp)
    assert result.exit_code == 0, (result.output, result.exception)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["id"], x["value"]) for x in lines] == [("a", 1.0), ("b", 0.0), ("c", 1.0), ("d", 1.0)]
    assert "worker running this program died" in lines[1]["feedback"]


def test_score_program_options(tmp_path):
    inp = write_jsonl(tmp_path / "f.jsonl", [{"id": "a", "answer": 6, "output": "print(7)"}])
    result = invoke("score", "--value", "program:timeout=2,reveal_expected=true", "--input", inp)
    assert result.exit_code == 0, (result.output, result.exception)
    assert json.loads(result.stdout)["feedback"] == "printed 7, expected 6"
    result = invoke("score", "--value", "program", "--input", inp)
    assert json.loads(result.stdout)["feedback"] == "printed 7"  # the default never leaks the answer


@pytest.mark.parametrize(
    "spec, needles",
    [
        ("program:colour=red", ["program:colour=red", "unknown option 'colour'", "timeout"]),
        ("program:timeout=soon", ["timeout must be a number", "'soon'"]),
        ("program:isolation=docker", ["isolation must be one of", "namespaces", "rlimits"]),
    ],
)
def test_score_bad_program_options(tmp_path, spec, needles):
    inp = write_jsonl(tmp_path / "f.jsonl", [{"id": "a", "answer": 6, "output": "print(6)"}])
    assert_user_error(invoke("score", "--value", spec, "--input", inp), *needles)


# --------------------------------------------------------------------------- model cards


def test_card_measures_a_corrector_and_writes_its_model_card(tmp_path):
    import shutil

    from correct.tasks import TASKS

    folder = tmp_path / "corr"
    shutil.copytree(TASKS["arithmetic"].corrector, folder)
    for name in ("README.md", "eval.json"):
        (folder / name).unlink(missing_ok=True)
    result = invoke("card", folder, "--eval-limit", 6)
    assert result.exit_code == 0, result.stderr
    ev = json.loads((folder / "eval.json").read_text())
    assert ev["records"] == 6 and ev["split"] == "validation" and len(ev["rounds"]) == 4
    card = (folder / "README.md").read_text()
    assert card.startswith("---\n") and "# Corrector for arithmetic (pairing)" in card
    assert "correct generate --task arithmetic --corrector PATH_TO_THIS_FOLDER" in card
    assert f"| 3 | {ev['rounds'][3]['mean_value']:.4g} | {ev['rounds'][3]['solved']:.1%} |" in card
    # --eval-limit 0 measures nothing new: the card is written again with what was measured
    (folder / "README.md").unlink()
    assert invoke("card", folder, "--eval-limit", 0).exit_code == 0
    assert (
        f"| 3 | {ev['rounds'][3]['mean_value']:.4g} | {ev['rounds'][3]['solved']:.1%} |"
        in (folder / "README.md").read_text()
    )


def test_card_on_another_task_measures_with_that_tasks_value_and_generator(tmp_path):
    """The arithmetic corrector measured on concepts used to keep arithmetic's program value and
    generator, so every concepts sentence was scored null."""
    import shutil

    from correct.tasks import TASKS

    folder = tmp_path / "corr"
    shutil.copytree(TASKS["arithmetic"].corrector, folder)
    result = invoke("card", folder, "--task", "concepts", "--eval-limit", 4)
    assert result.exit_code == 0, result.stderr
    ev = json.loads((folder / "eval.json").read_text())
    assert ev["records"] == 4 and all(r["mean_value"] is not None for r in ev["rounds"])
    assert ev["rounds"][0]["mean_value"] > 0  # concept coverage of the concepts generator's drafts


def test_card_refuses_a_folder_that_is_not_a_corrector(tmp_path):
    assert_user_error(invoke("card", tmp_path), str(tmp_path), "not a saved corrector")


@pytest.mark.parametrize("task", ["arithmetic", "concepts", "detox"])
def test_shipped_correctors_carry_cards_with_measured_results(task):
    from correct.tasks import TASKS

    card = (Path(TASKS[task].corrector) / "README.md").read_text()
    ev = json.loads((Path(TASKS[task].corrector) / "eval.json").read_text())
    assert f"# Corrector for {task}" in card and ev["records"] == 100
    assert f"{ev['rounds'][-1]['solved']:.1%}" in card


def test_the_general_corrector_ships_with_what_it_did_on_tasks_it_never_saw():
    """``--corrector general``: a LoRA adapter of SmolLM2 in the package, given only failing drafts
    by its own config, whose card says so and carries its measurements on the held-out tasks."""
    from correct.corrector.model import CorrectorConfig
    from correct.tasks import shipped_correctors

    folder = shipped_correctors()["general"]
    assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] == "smollm2"
    assert CorrectorConfig.load(folder).refine == "failing"
    card = (folder / "README.md").read_text()
    assert "# Corrector for several tasks (" in card and '(`"refine": "failing"`' in card
    transfer = card[card.index("## On tasks it never saw") :]
    for task in (
        "constrained-sentences",
        "order-forms",
        "headline-rules",
        "dictionaries",
        "unit-conversions",
        "multi-step",
        "long-sentences",
    ):
        assert f"| {task} | general corrector, failing drafts only" in transfer


# --------------------------------------------------------------------------- records without references


def test_generate_unlabeled_records_with_the_tasks_models(tmp_path):
    """Questions nobody has answered (only `prompt`): `--task` keeps its prompt format, shipped
    models and value; every record gets its rounds with the sandbox's feedback, value null."""
    inp = write_jsonl(tmp_path / "unlabeled.jsonl", [{"prompt": r["prompt"]} for r in USER_RECORDS] * 2)
    out = tmp_path / "out.jsonl"
    result = invoke(
        "generate",
        "--input",
        inp,
        "--task",
        "arithmetic",
        "--rounds",
        2,
        "--no-baseline",
        "--limit",
        5,
        "--output",
        out,
    )
    assert result.exit_code == 0, (result.output, result.exception)
    lines = lines_of(out)
    assert len(lines) == 5
    for line in lines:
        assert [s["round"] for s in line["rounds"]] == [0, 1, 2]
        assert all(s["value"] is None for s in line["rounds"])
        assert all(s["feedback"].startswith("printed ") or "Error" in s["feedback"] for s in line["rounds"])
    metrics = json.loads((tmp_path / "out.metrics.json").read_text())
    assert (metrics["records"], metrics["labeled"], metrics["unlabeled"]) == (5, 0, 5)
    assert [r["solved"] for r in metrics["rounds"]] == [None] * 3
    assert all(r["changed"] is not None for r in metrics["rounds"][1:])


def test_train_on_records_without_references_is_a_clear_error(tiny_lm_dir, tmp_path):
    inp = write_jsonl(tmp_path / "unlabeled.jsonl", [{"prompt": r["prompt"]} for r in USER_RECORDS])
    result = invoke(
        "train",
        "--input",
        inp,
        "--task",
        "arithmetic",
        "--generator",
        tiny_lm_dir,
        "--samples",
        2,
        "--max-new-tokens",
        8,
        "--eval-limit",
        0,
        "--output",
        tmp_path / "model",
    )
    assert_user_error(
        result,
        "value 'program' can score none of the 4 training records",
        "training needs records with an `answer` or `tests`",
    )
    assert not (tmp_path / "model").exists()  # refused before the pool was drafted or the folder claimed


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--dtype", "float8"], "'float8' is not one of"),
        (["--device", "cuda"], "--device cuda: there is no GPU here"),
        (["--backend", "vllm", "--device", "cpu"], "--device is for the hf backend"),
    ],
)
def test_model_placement_mistakes_are_one_line(tiny_lm_dir, tmp_path, extra, message):
    import torch

    if "cuda" in extra and torch.cuda.is_available():
        pytest.skip("a GPU is here")
    result = invoke(
        "generate",
        "--task",
        "arithmetic",
        *models(tiny_lm_dir),
        "--limit",
        "2",
        "--rounds",
        "1",
        "--no-baseline",
        "--output",
        tmp_path / "o.jsonl",
        *extra,
    )
    assert result.exit_code == 2, result.output
    assert message in flat(result.stderr) or flat(message) in flat(result.stderr)


def test_dtype_and_device_place_both_models(tiny_lm_dir, tmp_path, monkeypatch):
    """--dtype bfloat16 --device cpu: the generator and the corrector are both loaded so, and the run completes."""
    from correct.corrector.app import loading

    loaded = {}
    real = loading.load_models

    def spy(*args, **kwargs):
        g, c = real(*args, **kwargs)
        loaded.update(generator=g, corrector=c)
        return g, c

    monkeypatch.setattr(loading, "load_models", spy)
    monkeypatch.setattr("correct.corrector.app.commands.load_models", spy)
    result = invoke(
        "generate",
        "--task",
        "arithmetic",
        *models(tiny_lm_dir),
        *GEN_FLAGS,
        "--limit",
        "2",
        "--rounds",
        "1",
        "--no-baseline",
        "--output",
        tmp_path / "o.jsonl",
        "--dtype",
        "bfloat16",
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    for model in (loaded["generator"].model, loaded["corrector"].generator.model):
        assert model.dtype.is_floating_point and str(model.dtype) == "torch.bfloat16" and model.device.type == "cpu"
    assert len(lines_of(tmp_path / "o.jsonl")) == 2


def test_each_flag_means_one_thing_and_errors_name_it_as_the_command_spells_it():
    """The endpoint's key is --backend-api-key in every command, serve's own key --api-key; a
    library error names the setting, and the command line adds the flag of the command at hand."""
    from correct import cli
    from correct.corrector.app.args import with_flag
    from correct.generators import GeneratorError

    refused = GeneratorError("http://x/v1 refused the API key (401)", option="api_key")
    commands = {"generate": cli.generate.options, "train": cli.train.options, "serve": cli.serve.options}
    for options in commands.values():
        assert with_flag(refused, options) == "http://x/v1 refused the API key (401) (option --backend-api-key)"
    serve = {o.name: o.spelled for o in commands["serve"]}
    assert serve["server_api_key"] == "--api-key" and serve["api_key"] == "--backend-api-key"
    assert with_flag(GeneratorError("no flag fixes this", option="nothing"), commands["serve"]) == "no flag fixes this"
    result = invoke("generate", "--api-key", "k", "--rounds", "0")
    assert result.exit_code == 2 and "--api-key" in result.stderr  # not an option of generate any more


def test_a_setting_the_commands_share_is_written_once():
    """The task, generator, value and shots are one field for generate, train and serve, and
    the decoding settings one for generate and serve: a default or a help text changes in one
    place. What is written twice differs on purpose: train's pool drafts at its own temperature,
    budget and seed (TrainConfig, recorded with the corrector), and loads --init in its own
    dtype; generate's and serve's rounds, batches and output are their own components'."""
    from correct import cli

    owners: dict[str, set[str]] = {}
    for command in (cli.generate, cli.train, cli.serve):
        for o in command.options:  # the class that declares the field (a config may inherit it)
            declared = next(k for k in o.owner.__mro__ if o.name in vars(k).get("__annotations__", {}))
            owners.setdefault(o.name, set()).add(declared.__name__)
    for name in ("task", "generator", "value", "shots"):
        assert owners[name] == {"TaskChoice"}, name
    twice = {name: sorted(classes) for name, classes in owners.items() if len(classes) > 1}
    assert twice == {
        "temperature": ["Sampling", "TrainConfig"],
        "max_new_tokens": ["Sampling", "TrainConfig"],
        "seed": ["Sampling", "TrainConfig"],
        "dtype": ["Models", "TrainConfig"],
        "output": ["GenerateArgs", "TrainArgs"],
        "rounds": ["GenerateConfig", "ServeConfig"],
        "batch_size": ["GenerateConfig", "ServeConfig", "TrainConfig"],
        "resume": ["GenerateConfig", "TrainConfig"],
    }
