"""The figures a run is judged by, from its output lines: per round the mean value, the share
solved, changed and broken; net fixed and broken of the right drafts; the self-consistency
baseline beside them."""

from __future__ import annotations

import math
from typing import Sequence


def compute_metrics(lines: Sequence[dict], max_value: float) -> dict:
    histories = [l["rounds"] for l in lines]
    metrics = {"records": len(lines), "rounds": round_metrics(histories, max_value), **summary(histories, max_value)}
    sc = [l["self_consistency"] for l in lines if "self_consistency" in l]
    if sc:
        metrics["self_consistency"] = {
            "samples": sc[0]["samples"],
            "mean_value": sum(s["value"] for s in sc) / len(sc),
        }
        if math.isfinite(max_value):
            metrics["self_consistency"]["solved"] = sum(s["value"] >= max_value for s in sc) / len(sc)
    return metrics


def round_metrics(histories: Sequence[Sequence[dict]], max_value: float) -> list[dict]:
    """Per round: mean value, solved (share at max), changed and broken vs. the previous round;
    mean perplexity and the share of empty texts when the rounds carry perplexities. With no
    finite maximum (a raw reward) nothing is ever solved: solved and broken are left out."""
    bounded = math.isfinite(max_value)
    rows = []
    n_rounds = min(len(h) for h in histories) if histories else 0
    for r in range(n_rounds):
        vals = [h[r]["value"] for h in histories]
        row = {"round": r, "mean_value": _mean(vals)}
        if bounded:
            row["solved"] = _mean([v >= max_value for v in vals])
        if r > 0:
            row["changed"] = _mean([h[r]["text"] != h[r - 1]["text"] for h in histories])
            if bounded:
                row["broken"] = _mean([h[r - 1]["value"] >= max_value > h[r]["value"] for h in histories])
        ppl = [h[r].get("perplexity") for h in histories]
        if any(p is not None for p in ppl):
            row["perplexity"] = _mean(ppl)
            row["empty"] = _mean([not h[r]["text"].strip() for h in histories])
        rows.append(row)
    return rows


def summary(histories: Sequence[Sequence[dict]], max_value: float) -> dict:
    """The figures the engine is judged by: of the drafts wrong at round 0, the net share
    fixed by the last round; of those right at round 0, the share broken by the last round."""
    if not histories or not math.isfinite(max_value):
        return {}
    first = [h[0]["value"] >= max_value for h in histories]
    last = [h[-1]["value"] >= max_value for h in histories]
    wrong0, right0 = first.count(False), first.count(True)
    return {
        "net_fixed": (sum(last) - sum(first)) / wrong0 if wrong0 else None,
        "broken_of_right": sum(a and not b for a, b in zip(first, last)) / right0 if right0 else None,
    }


def _mean(xs: Sequence) -> float:
    xs = [float(x) for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else 0.0
