"""Progress where stderr is not a terminal (nohup, a scheduler's log): plain lines with
done/total, rate and time left, every EVERY seconds; a bar on a terminal; or nothing."""

from __future__ import annotations

import doctest
import io

import pytest
from typer.testing import CliRunner

from correct.cli import app
from correct.corrector import progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_plain_lines_say_done_total_rate_and_time_left(monkeypatch):
    monkeypatch.setattr(progress, "EVERY", 30.0)
    clock, out = Clock(), io.StringIO()
    lines = progress.PlainLines("initial pool (prompts)", 600, clock=clock, out=out)
    clock.now += 10
    lines.advance(64)  # before 30 s: nothing yet
    assert out.getvalue() == ""
    clock.now += 30
    lines.advance(64)  # 128 in 40 s: 3.2/s, 472 left: 2m28s
    clock.now += 5
    lines.advance(64)
    clock.now += 40
    lines.end()
    assert out.getvalue().splitlines() == [
        "initial pool (prompts): 128/600 (21%), 3.2/s, 2m28s left",
        "initial pool (prompts): 192/600 done in 1m25s",
    ]


def test_a_resumed_job_counts_only_its_own_work_in_the_rate(monkeypatch):
    """Resumed at 900 of 1000: one step in 30 s is 0.0333/s and 50 minutes left, not 30/s."""
    monkeypatch.setattr(progress, "EVERY", 30.0)
    clock, out = Clock(), io.StringIO()
    lines = progress.PlainLines("training steps", 1000, clock=clock, out=out, initial=900)
    clock.now += 30
    lines.advance(1)
    assert out.getvalue().splitlines() == ["training steps: 901/1000 (90%), 0.0333/s, 49m30s left"]


def test_a_short_job_writes_nothing():
    out = io.StringIO()
    lines = progress.PlainLines("x", 3, clock=Clock(), out=out)
    lines.advance(3)
    lines.end()
    assert out.getvalue() == ""


def test_modes(monkeypatch):
    try:
        progress.configure("none")
        assert progress.shown_as() == "none"
        progress.configure("auto")
        assert progress.shown_as() == "plain"  # pytest's stderr is no terminal
        with pytest.raises(ValueError, match="unknown progress mode 'fancy'; choose auto, bar, plain, none"):
            progress.configure("fancy")
    finally:
        progress.configure("auto")


def test_generate_under_nohup_reports_progress_in_plain_lines(tiny_lm_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "EVERY", 0.0)  # a line at every step
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--task",
            "arithmetic",
            "--generator",
            tiny_lm_dir,
            "--corrector",
            tiny_lm_dir,
            "--rounds",
            "1",
            "--limit",
            "4",
            "--batch-size",
            "2",
            "--no-baseline",
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [l for l in result.stderr.splitlines() if l.startswith("generate + 1 rounds")]
    assert lines[0].startswith("generate + 1 rounds: 2/8 (25%), ") and lines[-1].startswith(
        "generate + 1 rounds: 8/8 done in "
    )
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--task",
            "arithmetic",
            "--generator",
            tiny_lm_dir,
            "--rounds",
            "0",
            "--limit",
            "2",
            "--progress",
            "none",
            "--output",
            str(tmp_path / "p.jsonl"),
        ],
    )
    assert result.exit_code == 0 and "generate + 0 rounds" not in result.stderr


def test_an_unknown_mode_is_refused_with_the_choices(tmp_path):
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["generate", "--rounds", "0", "--limit", "1", "--progress", "fancy", "--output", str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code == 2 and "'fancy' is not one of 'auto', 'bar', 'plain', 'none'" in result.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_doctests():
    result = doctest.testmod(progress)
    assert result.attempted > 0 and result.failed == 0


def test_train_under_nohup_reports_its_optimizer_steps_in_plain_lines(tiny_lm_dir, tmp_path, monkeypatch):
    """`correct train` writing to a file: the Trainer's steps as plain lines, not tqdm's
    carriage-return bar (which fills a log with one redrawn line per step)."""
    monkeypatch.setattr(progress, "EVERY", 0.0)
    args = ["train", "--task", "arithmetic", "--value", "toxicity:max_value=0.9", "--generator", tiny_lm_dir]
    args += ["--limit", "4", "--samples", "3", "--iterations", "1", "--steps", "3", "--explore", "0"]
    args += ["--max-new-tokens", "16", "--batch-size", "4", "--eval-limit", "0", "--output", str(tmp_path / "c")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    steps = [l for l in result.stderr.splitlines() if l.startswith("training steps")]
    assert steps[0].startswith("training steps: 1/3 (33%), ") and steps[-1].startswith("training steps: 3/3 done in ")
    assert "it/s]" not in result.stderr and "\r" not in result.stderr


def test_the_trainer_callback_writes_on_the_first_process_only_and_from_a_resumed_step(monkeypatch, capsys):
    from types import SimpleNamespace

    monkeypatch.setattr(progress, "EVERY", 0.0)
    for zero in (False, True):
        (callback,) = progress.trainer_callbacks()  # pytest's stderr is no terminal: plain lines
        state = SimpleNamespace(is_world_process_zero=zero, max_steps=10, global_step=4)  # resumed at 4
        callback.on_train_begin(None, state, None)
        state.global_step = 5
        callback.on_step_end(None, state, None)
        callback.on_train_end(None, state, None)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("training steps: 5/10 (50%), ")
    assert lines[1].startswith("training steps: 5/10 done in ")
