"""`correct report`: PNG charts of generate metrics and training logs, with the series drawn."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from typer.testing import CliRunner  # noqa: E402

from correct.cli import app  # noqa: E402

runner = CliRunner()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR" and data[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def write_train_folder(folder: Path) -> Path:
    folder.mkdir()
    rows = [
        {"iteration": -1, "pool": 10, "pool_mean_value": 0.2, "exploration_gain": 0.1},
        {"iteration": 0, "pool": 12, "pool_mean_value": 0.3, "pairs": 20, "loss": 1.5, "exploration_gain": 0.4},
        {"iteration": 1, "pool": 14, "pool_mean_value": 0.4, "pairs": 20, "loss": 0.9, "exploration_gain": 0.5},
    ]
    (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "eval.json").write_text(
        json.dumps(
            {
                "records": 5,
                "rounds": [
                    {"round": 0, "mean_value": 0.4, "solved": 0.4},
                    {"round": 1, "mean_value": 0.8, "solved": 0.8},
                ],
            }
        )
    )
    return folder


def test_report_on_the_builtin_task_and_a_training_run(tmp_path, tiny_lm_dir):
    out = tmp_path / "gen.jsonl"
    done = runner.invoke(
        app,
        [
            "generate",
            "--generator",
            str(tiny_lm_dir),
            "--corrector",
            str(tiny_lm_dir),
            "--limit",
            "4",
            "--max-new-tokens",
            "16",
            "--output",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.stderr
    train = write_train_folder(tmp_path / "corr")
    report = tmp_path / "report"
    done = runner.invoke(
        app, ["report", str(out), str(train), "--name", "built-in", "--name", "trained", "--output", str(report)]
    )
    assert done.exit_code == 0, done.stderr

    width, height = png_size(report / "rounds.png")
    assert width > 800 and height > 300
    png_size(report / "training.png")
    made = json.loads((report / "report.json").read_text())
    metrics = json.loads(out.with_suffix(".metrics.json").read_text())
    rounds = made["files"]["rounds.png"]
    # One line per run per panel, the values drawn are the metrics', and the baseline is there.
    assert rounds["mean_value: built-in"]["y"] == [r["mean_value"] for r in metrics["rounds"]]
    assert rounds["solved: built-in"]["y"] == pytest.approx([100 * r["solved"] for r in metrics["rounds"]])
    assert rounds["solved: built-in: self-consistency"]["y"] == pytest.approx(
        100 * metrics["self_consistency"]["solved"]
    )
    assert rounds["solved: trained"]["y"] == [40.0, 80.0]
    training = made["files"]["training.png"]
    assert training["loss: trained"] == {"x": [0, 1], "y": [1.5, 0.9]}
    assert training["exploration_gain: trained"]["x"] == [-1, 0, 1]
    page = (report / "index.html").read_text()
    assert '<img src="rounds.png"' in page and "built-in" in page and "trained" in page


def _file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda d: d / "missing.json", "no such file"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "not a `correct train` folder"),
        (lambda d: _file(d / "x.json", "{oops"), "not JSON"),
        (lambda d: _file(d / "x.json", '{"records": 3}'), "no `rounds` list"),
        (lambda d: _file(d / "g.jsonl", ""), "no g.metrics.json beside it"),
        (lambda d: _file(d / "x.json", '{"rounds": ["x"]}'), "x.json: rounds[0]: a str, not an object"),
        (lambda d: _file(d / "x.json", '{"rounds": [{"mean_value": 1}]}'), "rounds[0]: no `round`"),
        (
            lambda d: _file(d / "x.json", '{"rounds": [{"round": 0, "mean_value": "high"}]}'),
            'rounds[0]: `mean_value` is "high", not a number',
        ),
        (
            lambda d: _file(d / "x.json", '{"rounds": [{"round": 0}], "self_consistency": {"solved": true}}'),
            "self_consistency: `solved` is true, not a number",
        ),
        (
            lambda d: (d / "x.json").write_bytes(b'{"rounds": "caf\xe9"}') and d / "x.json",
            "x.json:1: a run's file is not UTF-8 text",
        ),
    ],
)
def test_unreadable_inputs_are_named(tmp_path, make, needle):
    path = make(tmp_path)
    done = runner.invoke(app, ["report", str(path), "--output", str(tmp_path / "r")])
    assert done.exit_code == 2
    assert path.name in done.stderr
    assert needle in " ".join(done.stderr.split())


def test_a_broken_log_line_is_named_by_line(tmp_path):
    folder = write_train_folder(tmp_path / "corr")
    with open(folder / "log.jsonl", "a") as f:
        f.write("{half a line\n")
    done = runner.invoke(app, ["report", str(folder), "--output", str(tmp_path / "r")])
    assert done.exit_code == 2 and "log.jsonl, line 4: not JSON" in " ".join(done.stderr.split())


@pytest.mark.parametrize(
    "line, needle", [("[1, 2]", "a list, not an object"), ('{"iteration": 2, "loss": "low"}', '`loss` is "low"')]
)
def test_a_hand_edited_log_row_is_named_by_line(tmp_path, line, needle):
    folder = write_train_folder(tmp_path / "corr")
    with open(folder / "log.jsonl", "a") as f:
        f.write(line + "\n")
    done = runner.invoke(app, ["report", str(folder), "--output", str(tmp_path / "r")])
    assert done.exit_code == 2 and f"log.jsonl, line 4: {needle}" in " ".join(done.stderr.split())


def test_names_must_match_the_runs(tmp_path):
    folder = write_train_folder(tmp_path / "corr")
    done = runner.invoke(app, ["report", str(folder), "--name", "a", "--name", "b", "--output", str(tmp_path / "r")])
    assert done.exit_code == 2 and "--name was given 2 times for 1 runs" in done.stderr
