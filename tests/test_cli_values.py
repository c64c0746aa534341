"""The command line for the values beyond `program` and the tasks beyond arithmetic:
`correct values`, `correct tasks`, `correct score` with each built-in value on JSONL,
`correct train-reward`, and the fluency report of `correct generate`."""

from __future__ import annotations

import json
import math

import pytest

from correct.corrector.training.tiny import build_model, build_tokenizer

from .test_cli import assert_user_error, invoke, lines_of, write_jsonl

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_values_lists_every_value_with_a_description():
    result = invoke("values")
    assert result.exit_code == 0, result.output
    rows = dict(line.split("\t") for line in result.stdout.splitlines())
    assert set(rows) == {"program", "constraints", "json", "rules", "toxicity", "reward-model"}
    assert all(len(doc) > 20 and "\n" not in doc for doc in rows.values())


def test_tasks_lists_the_built_in_tasks():
    result = invoke("tasks")
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["arithmetic", "concepts", "detox"]


def _score(tmp_path, value, lines):
    inp = write_jsonl(tmp_path / "in.jsonl", lines)
    out = tmp_path / "scores.jsonl"
    result = invoke("score", "--value", value, "--input", inp, "--output", out)
    assert result.exit_code == 0, (result.output, result.exception)
    return lines_of(out)


def test_score_constraints(tmp_path):
    rows = _score(
        tmp_path,
        "constraints",
        [
            {"id": "all", "concepts": ["dog", "catch", "frisbee"], "output": "The dogs caught a frisbee."},
            {"id": "two", "concepts": "dog, catch, frisbee", "output": "A dog is catching a ball."},
            {"id": "none", "concepts": ["child", "swim", "lake"], "output": ""},
        ],
    )
    assert [(r["id"], r["value"], r["feedback"]) for r in rows] == [
        ("all", 1.0, "all concepts used"),
        ("two", pytest.approx(2 / 3), "missing: frisbee"),
        ("none", 0.0, "missing: child, swim, lake"),
    ]


def test_score_json_and_rules_read_their_fields_from_jsonl(tmp_path):
    schema = {"city": "text", "year": "integer"}
    rows = _score(
        tmp_path,
        "json:source=note",
        [
            {
                "id": "ok",
                "note": "Graz, 1999",
                "schema": schema,
                "fields": {"city": "Graz", "year": 1999},
                "output": ' {"city": "Graz", "year": 1999}',
            },
            {
                "id": "bad",
                "note": "Graz, 1999",
                "schema": schema,
                "fields": {"city": "Graz", "year": 1999},
                "output": '{"city": "Wien"}',
            },
        ],
    )
    assert [(r["id"], r["value"], r["feedback"]) for r in rows] == [
        ("ok", 1.0, "every key is there, of its type and found in the text"),
        ("bad", 0.0, 'missing: year; city: "Wien" is not in the text'),
    ]
    rows = _score(
        tmp_path, "rules", [{"id": "r", "checks": [["lowercase", None], ["question", None]], "output": "Why Not."}]
    )
    assert rows[0]["value"] == 0.0 and rows[0]["feedback"] == 'has capital letters: Why, Not.; ends with ".", not "?"'


def test_score_constraints_needs_concepts(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": "x", "output": "The dog ran."}])
    assert_user_error(invoke("score", "--value", "constraints", "--input", inp), "record 'x' has no `concepts`")


def test_score_toxicity(tmp_path):
    pytest.importorskip("profanity_check")
    rows = _score(
        tmp_path,
        "toxicity",
        [
            {"id": "rude", "output": "you are a stupid idiot, shut up"},
            {"id": "kind", "output": "thank you for the lovely afternoon in the garden"},
        ],
    )
    rude, kind = rows
    assert rude["value"] < 0.2 and "stupid" in rude["feedback"] and "idiot" in rude["feedback"]
    assert kind["value"] > 0.8 and kind["feedback"].startswith("not toxic")


@pytest.mark.parametrize(
    "spec, needles",
    [
        ("toxicity:threshold=high", ["threshold must be a number, got 'high'"]),
        ("toxicity:bogus=1", ["unknown option 'bogus'", "threshold"]),
        ("toxicity:/no/such/classifier", ["toxicity model path '/no/such/classifier' does not exist"]),
        ("reward-model", ["reward-model needs a model"]),
        ("reward-model:/no/such/rm,batch_size=4", ["reward model path '/no/such/rm' does not exist"]),
        ("constraints:strict=1", ["constraints takes no options"]),
        # A limit that makes every program fail, or a flag that is neither true nor false.
        ("program:timeout=-1", ["timeout must be a number above 0, got '-1'"]),
        ("program:0", ["timeout must be a number above 0, got '0'"]),
        ("program:timeout=nan", ["timeout must be a number above 0, got 'nan'"]),
        ("program:memory_mb=-5", ["memory_mb must be a number above 0, got '-5'"]),
        ("program:workers=0", ["workers must be a number above 0, got '0'"]),
        # past what a clock or an rlimit holds: an OverflowError, or every program scored 0 "setup failed"
        ("program:timeout=1e10", ["timeout must be at most 86,400, got '1e10'"]),
        ("program:memory_mb=10000000000000", ["memory_mb must be at most 1,073,741,824"]),
        ("program:workers=100000", ["workers must be at most 1,024"]),
        ("program:reveal_expected=maybe", ["reveal_expected must be true or false, got 'maybe'"]),
        ("toxicity:max_value=nan", ["max_value must be a finite number, got 'nan'"]),
    ],
)
def test_score_bad_value_specs(tmp_path, spec, needles):
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": "x", "output": "hi", "concepts": ["hi"]}])
    assert_user_error(invoke("score", "--value", spec, "--input", inp), *needles)


@pytest.fixture(scope="module")
def lm_base(tmp_path_factory):
    """An untrained tiny causal LM over digit sums: what `train-reward` starts from."""
    tok = build_tokenizer([f"{a}+{b}={a + b}" for a in range(10) for b in range(10)], vocab_size=300)
    path = tmp_path_factory.mktemp("base")
    build_model(tok, n_layer=1, n_embd=32, n_head=2, n_positions=32).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_train_reward_then_score_with_it(lm_base, tmp_path):
    """`train-reward` writes a reward model that `score --value reward-model:DIR` uses; its
    rewards rise for the kind of output it was taught to prefer. (That the preference is
    really learned is tested on held-out pairs in tests/corrector/test_reward_train.py.)"""
    pairs = [{"prompt": f"{a}+{b}=", "chosen": str(a + b), "rejected": "x"} for a in range(10) for b in range(10)]
    inp = write_jsonl(tmp_path / "prefs.jsonl", pairs)
    rm = tmp_path / "rm"
    result = invoke(
        "train-reward",
        "--input",
        inp,
        "--base",
        lm_base,
        "--output",
        rm,
        "--steps",
        40,
        "--learning-rate",
        3e-3,
        "--batch-size",
        16,
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert "saved reward model to" in result.stderr
    assert json.loads((rm / "correct_config.json").read_text())["method"] == "reward-model"
    rows = _score(
        tmp_path,
        f"reward-model:{rm}",
        [{"id": "digit", "prompt": "3+4=", "output": "7"}, {"id": "letter", "prompt": "3+4=", "output": "x"}],
    )
    assert rows[0]["value"] > rows[1]["value"]
    assert all(r["feedback"].startswith("reward ") for r in rows)


def test_train_reward_malformed_line_names_it(lm_base, tmp_path):
    inp = tmp_path / "prefs.jsonl"
    inp.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": "a", "chosen": "b"\n')
    rm = tmp_path / "rm"
    assert_user_error(invoke("train-reward", "--input", inp, "--base", lm_base, "--output", rm), "prefs.jsonl:2")
    assert not rm.exists()


@pytest.mark.parametrize(
    "flag, value, said",
    [
        ("--steps", "99999999999", "--steps must be at most"),
        ("--learning-rate", "0", "--learning-rate must be at least"),
    ],
)
def test_train_reward_refuses_a_step_count_or_learning_rate_out_of_range(tmp_path, flag, value, said):
    """Before anything is read or loaded: the input, base and output here do not exist."""
    rm = tmp_path / "rm"
    result = invoke("train-reward", "--input", tmp_path / "none.jsonl", "--base", "none", "--output", rm, flag, value)
    assert_user_error(result, said)
    assert not rm.exists()


def test_generate_reports_fluency(tiny_lm_dir, tmp_path):
    """--fluency puts the generator's perplexity on every round and per-round means (and the
    share of empty texts) in the metrics; a raw reward (no maximum) reports no solved share."""
    out = tmp_path / "out.jsonl"
    result = invoke(
        "generate",
        "--task",
        "arithmetic",
        "--generator",
        tiny_lm_dir,
        "--corrector",
        tiny_lm_dir,
        "--rounds",
        1,
        "--limit",
        3,
        "--output",
        out,
        "--fluency",
        "--no-baseline",
        "--max-new-tokens",
        16,
    )
    assert result.exit_code == 0, (result.output, result.exception)
    lines = lines_of(out)
    for line in lines:
        assert all(step["perplexity"] > 1.0 and math.isfinite(step["perplexity"]) for step in line["rounds"])
    metrics = json.loads((tmp_path / "out.metrics.json").read_text())
    for r in metrics["rounds"]:
        assert r["perplexity"] == pytest.approx(sum(l["rounds"][r["round"]]["perplexity"] for l in lines) / 3)
        assert r["empty"] == sum(not l["rounds"][r["round"]]["text"].strip() for l in lines) / 3
    assert "ppl" in result.stdout


@pytest.mark.parametrize(
    "record, spec, needle",
    [
        ({"id": "x", "output": 5, "answer": 5}, "program", "record 'x' has an 'output' that is int, not text"),
        ({"id": "x", "output": None, "answer": 5}, "program", "record 'x' has an 'output' that is null, not text"),
        ({"id": "x", "output": "x None 3", "concepts": [None, 3]}, "constraints", "`concepts` that are not words"),
        ({"id": "x", "output": "hi", "concepts": 5}, "constraints", "`concepts` that are not words"),
    ],
)
def test_score_refuses_fields_of_the_wrong_kind_instead_of_scoring_them(tmp_path, record, spec, needle):
    # An output of 5 was scored as "printed nothing"; concepts [null, 3] were "all used" by "x None 3".
    inp = write_jsonl(tmp_path / "in.jsonl", [record])
    assert_user_error(invoke("score", "--value", spec, "--input", inp), needle)
