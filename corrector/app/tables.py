"""What the commands print: the table of value per round and its summary (``correct
generate``), and a trained corrector's held-out figures (``correct train``)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def print_metrics(m: dict) -> None:
    """The table of value per round and the summary under it: the command's result, on standard
    output (progress and the files written go to standard error)."""
    records = f"{m['records']} records"
    if m.get("unlabeled"):
        records += (
            f": {m['labeled']} labeled, {m['unlabeled']} unlabeled (value, solved, broken and vote over the labeled)"
        )
    table = Table(title=f"value per round ({records}, {m['seconds']:.1f} s)")
    columns = {"round": None, "mean value": "mean_value", "solved": "solved", "changed": "changed", "broken": "broken"}
    if any("perplexity" in row for row in m["rounds"]):
        columns.update({"ppl": "perplexity", "empty": "empty"})
    for col in [*columns, "seconds"]:
        table.add_column(col, justify="right")
    secs = m.get("round_seconds", [])
    for row in m["rounds"]:
        r = row["round"]
        cells = [cell(key, row.get(key)) for key in list(columns.values())[1:]]
        table.add_row(str(r), *cells, f"{secs[r]:.1f}" if r < len(secs) else "-")
    sc = m.get("self_consistency")
    if sc:
        table.add_section()
        table.add_row(
            f"{sc.get('pick', 'vote')}@{sc['samples']}",  # best-of-n is no vote
            cell("mean_value", sc["mean_value"]),
            cell("solved", sc.get("solved")),
            *["-"] * (len(columns) - 2),
        )
    out = Console(emoji=False)
    out.print(table)
    if m.get("net_fixed") is not None:
        out.print(
            f"net fixed (of wrong drafts): {m['net_fixed']:.1%}   broken (of right drafts): "
            f"{m['broken_of_right'] or 0:.1%}",
            highlight=False,
        )


def cell(key: str, x) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if key == "mean_value" else f"{x:.1f}" if key == "perplexity" else f"{x:.1%}"


def print_evaluation(folder: Path) -> None:
    from .card import read_eval

    ev = read_eval(folder)
    if ev is not None:
        key = "solved" if "solved" in ev["rounds"][0] else "mean_value"
        per_round = " -> ".join(cell(key, r[key]) for r in ev["rounds"])
        Console(stderr=True, emoji=False).print(
            f"held-out {key} per round ({ev['records']} {ev['split']} records): {per_round}",
            soft_wrap=True,
            highlight=False,
        )
