"""``correct report``: pictures of runs, for people.

Inputs are what the other commands write: the metrics JSON of ``correct generate`` (or its
output JSONL, whose ``.metrics.json`` sits next to it), and training folders of ``correct
train`` (``log.jsonl``, and ``eval.json`` when it measured itself). Several inputs go on the
same charts, one colour each, so runs can be compared.

- ``rounds.png``: mean value and solved share per refinement round (round 0 is the
  generator's draft), each run's self-consistency baseline as a dashed line in its colour;
- ``training.png``: loss, pool mean value and exploration gain per training iteration;
- ``report.json``: every series drawn (for scripts and tests), and ``index.html`` with the
  pictures above a table of the figures.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ...errors import CorrectError
from .card import percent


class ReportError(CorrectError, ValueError):
    """An input the report cannot read; the message names it."""


@dataclass
class Run:
    name: str
    rounds: list[dict] = field(default_factory=list)
    """Per round: mean_value, and solved when the value has a maximum."""
    baseline: dict | None = None
    """Self-consistency at equal decodes: mean_value, solved, samples."""
    log: list[dict] = field(default_factory=list)
    """Training iterations (log.jsonl)."""
    source: str = ""


def load_run(path: str | Path) -> Run:
    """A run from a metrics JSON, a generations JSONL (its metrics beside it) or a training folder."""
    path = Path(path)
    if path.is_dir():
        log_path, eval_path = path / "log.jsonl", path / "eval.json"
        if not log_path.exists() and not eval_path.exists():
            raise ReportError(f"{path}: neither log.jsonl nor eval.json; not a `correct train` folder")
        run = Run(path.name, source=str(path))
        if log_path.exists():
            lines = [(i, line) for i, line in enumerate(_text(log_path).splitlines(), 1) if line.strip()]
            run.log = [_row(_json(line, log_path, i), f"{log_path}, line {i}", LOG_NUMBERS) for i, line in lines]
        if eval_path.exists():
            run.rounds = _metrics(eval_path)["rounds"]
        return run
    if path.suffix == ".jsonl":
        metrics = path.with_suffix(".metrics.json")
        if not metrics.exists():
            raise ReportError(f"{path}: no {metrics.name} beside it (write one with `correct generate --metrics`)")
        path = metrics
    if not path.exists():
        raise ReportError(f"{path}: no such file or folder")
    m = _metrics(path)
    name = path.name.removesuffix(".json").removesuffix(".metrics")
    return Run(name, rounds=m["rounds"], baseline=m.get("self_consistency"), source=str(path))


def _text(path: Path) -> str:
    from ...tasks.data import RecordError, read_text

    try:
        return read_text(path, "a run's file")
    except RecordError as e:  # not UTF-8: a file that is not what correct wrote
        raise ReportError(str(e)) from None


def _json(text: str, path: Path, line: int | None = None):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = f"{path}, line {line}" if line else str(path)
        raise ReportError(f"{where}: not JSON ({e.msg})") from None


ROUND_NUMBERS = ("round", "mean_value", "solved")
BASELINE_NUMBERS = ("samples", "mean_value", "solved")
LOG_NUMBERS = ("iteration", "loss", "pool_mean_value", "exploration_gain")
"""The figures each row of a run's files is drawn from: a number where given (null is a gap);
the first of each, a round's or an iteration's place, must be there."""


def _metrics(path: Path) -> dict:
    m = _json(_text(path), path)
    if not isinstance(m, dict) or not isinstance(m.get("rounds"), list) or not m["rounds"]:
        raise ReportError(f"{path}: no `rounds` list; not metrics written by `correct generate` or `correct train`")
    for i, row in enumerate(m["rounds"]):
        _row(row, f"{path}: rounds[{i}]", ROUND_NUMBERS)
    if m.get("self_consistency") is not None:
        _row(m["self_consistency"], f"{path}: self_consistency", BASELINE_NUMBERS, placed=False)
    return m


def _row(row, where: str, numbers: Sequence[str], placed: bool = True) -> dict:
    """``row`` when it is an object whose ``numbers`` are numbers, else the error naming
    ``where`` and the key (a hand-edited file drew a traceback from deep in the charts)."""
    if not isinstance(row, dict):
        raise ReportError(f"{where}: a {type(row).__name__}, not an object")
    if placed and numbers[0] not in row:
        raise ReportError(f"{where}: no `{numbers[0]}`")
    for key in numbers:
        x = row.get(key)
        if x is not None and (isinstance(x, bool) or not isinstance(x, (int, float))):
            raise ReportError(f"{where}: `{key}` is {json.dumps(x)[:40]}, not a number")
    return row


def write_report(paths: Sequence[str | Path], out_dir: str | Path, names: Sequence[str] | None = None) -> dict:
    """Draw the charts for the runs at ``paths`` into ``out_dir``; returns what ``report.json`` holds."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    runs = [load_run(p) for p in paths]
    for run, name in zip(runs, names or []):
        run.name = name
    _unique_names(runs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"runs": [r.name for r in runs], "files": {}}
    with_rounds = [r for r in runs if r.rounds]
    if with_rounds:
        fig, series = rounds_figure(with_rounds)
        _save(fig, out / "rounds.png")
        report["files"]["rounds.png"] = series
    with_log = [r for r in runs if any(row.get("iteration", -1) >= 0 for row in r.log)]
    if with_log:
        fig, series = training_figure(with_log)
        _save(fig, out / "training.png")
        report["files"]["training.png"] = series
    if not report["files"]:
        raise ReportError("nothing to draw: the inputs hold no per-round metrics and no training log")
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "index.html").write_text(_html(runs, report))
    return report


def _unique_names(runs: list[Run]) -> None:
    seen: dict[str, int] = {}
    for r in runs:
        seen[r.name] = seen.get(r.name, 0) + 1
        if seen[r.name] > 1:
            r.name = f"{r.name} ({seen[r.name]})"


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)


def rounds_figure(runs: Sequence[Run]):
    """(figure, series): mean value and solved share per round, one line per run, with each
    run's self-consistency baseline dashed in the same colour."""
    import matplotlib.pyplot as plt

    bounded = any("solved" in row for r in runs for row in r.rounds)
    panels = [("mean_value", "mean value (higher is better)")] + (
        [("solved", "solved (% of records at the maximum value)")] if bounded else []
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False)
    series: dict[str, dict[str, list]] = {}
    for ax, (key, label) in zip(axes[0], panels):
        scale = 100.0 if key == "solved" else 1.0
        for i, run in enumerate(runs):
            colour = f"C{i % 10}"
            xs = [row["round"] for row in run.rounds if row.get(key) is not None]
            ys = [row[key] * scale for row in run.rounds if row.get(key) is not None]
            ax.plot(xs, ys, marker="o", color=colour, label=run.name)
            series[f"{key}: {run.name}"] = {"x": xs, "y": ys}
            base = (run.baseline or {}).get(key)
            if base is not None:
                ax.axhline(
                    base * scale,
                    color=colour,
                    linestyle="--",
                    linewidth=1.2,
                    label=f"{run.name}: {_baseline_name(run.baseline)}",
                )
                series[f"{key}: {run.name}: self-consistency"] = {"y": base * scale}
        rounds = sorted({row["round"] for r in runs for row in r.rounds})
        ax.set_xticks(rounds)
        ax.set_xlabel("refinement round (0 = the generator's draft)")
        ax.set_ylabel(label)
        if key == "solved":
            ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Value per refinement round")
    return fig, series


def training_figure(runs: Sequence[Run]):
    """(figure, series): loss, pool mean value and exploration gain per training iteration."""
    import matplotlib.pyplot as plt

    panels = [
        ("loss", "training loss (mean over the iteration's steps)"),
        ("pool_mean_value", "pool mean value (after exploring)"),
        ("exploration_gain", "exploration gain (value of rewrite − draft)"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.4))
    series: dict[str, dict[str, list]] = {}
    for ax, (key, label) in zip(axes, panels):
        for i, run in enumerate(runs):
            rows = [row for row in run.log if row.get(key) is not None and not _nan(row[key])]
            if not rows:
                continue
            xs, ys = [row["iteration"] for row in rows], [row[key] for row in rows]
            ax.plot(xs, ys, marker="o", color=f"C{i % 10}", label=run.name)
            series[f"{key}: {run.name}"] = {"x": xs, "y": ys}
        iterations = sorted({row["iteration"] for r in runs for row in r.log})
        ax.set_xticks(iterations)
        ax.set_xticklabels(["before" if it == -1 else str(it) for it in iterations])
        ax.set_xlabel("training iteration")
        ax.set_ylabel(label)
        if key == "exploration_gain":
            ax.axhline(0, color="grey", linewidth=0.8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Training: pair → learn → explore, per iteration")
    return fig, series


def _baseline_name(baseline: dict) -> str:
    """What a run's baseline kept of its drafts: a vote, or best-of-n (``pick: best``)."""
    n = baseline.get("samples", "?")
    return f"best of {n} drafts" if baseline.get("pick") == "best" else f"self-consistency, vote of {n} drafts"


def _nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _html(runs: Sequence[Run], report: dict) -> str:
    rows = []
    for r in runs:
        first, last = (r.rounds[0], r.rounds[-1]) if r.rounds else ({}, {})
        cells = [
            html.escape(r.name),
            len(r.rounds) - 1 if r.rounds else "-",
            _fmt(first.get("mean_value")),
            _fmt(last.get("mean_value")),
            percent(first.get("solved")),
            percent(last.get("solved")),
            percent((r.baseline or {}).get("solved")),
            len([row for row in r.log if row.get("iteration", -1) >= 0]) or "-",
            html.escape(r.source),
        ]
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(str(c)) if not isinstance(c, str) else c}</td>" for c in cells)
            + "</tr>"
        )
    head = [
        "run",
        "rounds",
        "mean value, round 0",
        "mean value, last",
        "solved, round 0",
        "solved, last",
        "self-consistency solved",
        "training iterations",
        "source",
    ]
    images = "".join(
        f'<h2>{name}</h2><img src="{name}" alt="{name}" style="max-width:100%">' for name in report["files"]
    )
    return (
        "<!doctype html><meta charset='utf-8'><title>correct report</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}</style>"
        "<h1>correct report</h1><table><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr>"
        + "".join(rows)
        + "</table>"
        + images
        + "\n"
    )


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3f}"
