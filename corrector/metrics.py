"""The figures a run is judged by, from its output lines: per round the mean value, the share
solved, changed and broken; net fixed and broken of the right drafts; the self-consistency
baseline beside them.

The figures that need references (mean value, solved, broken, net fixed, broken of right,
the baseline) are computed over the labeled records only (see ``labeled``); those that need
none (changed, perplexity, empty) over every record. ``labeled`` and ``unlabeled`` say how
many there were; with none labeled, the figures that need references are None (null in
JSON), so the metrics keep their keys.
"""

from __future__ import annotations

import math
from typing import Sequence


def labeled(history: Sequence[dict]) -> bool:
    """Whether a record is labeled (its values are known): decided once per record, from its
    round-0 value. A value that needs a reference gives None for every draft of a record
    that lacks one, so round 0 tells. A later draft of a labeled record whose value is
    unknown (a user's value may say so) counts as not solved and is left out of the mean."""
    return bool(history) and history[0]["value"] is not None


def compute_metrics(lines: Sequence[dict], max_value: float) -> dict:
    histories = [l["rounds"] for l in lines]
    n_labeled = sum(map(labeled, histories))
    metrics = {
        "records": len(lines),
        "labeled": n_labeled,
        "unlabeled": len(lines) - n_labeled,
        "rounds": round_metrics(histories, max_value),
        **summary(histories, max_value),
    }
    refused = sum(bool(h and h[0].get("refused")) for h in histories)
    if refused:  # drafts an endpoint refused (empty), marked on their round 0: over the whole file
        metrics["refused_drafts"] = refused
    voted = [l for l in lines if "self_consistency" in l]
    if voted:
        sc = [l["self_consistency"]["value"] for l in voted if labeled(l["rounds"])]
        first = voted[0]["self_consistency"]
        metrics["self_consistency"] = {"samples": first["samples"], "mean_value": _mean(sc)}
        if "pick" in first:  # best-of-n; a vote says nothing, as before
            metrics["self_consistency"]["pick"] = first["pick"]
        if math.isfinite(max_value):
            metrics["self_consistency"]["solved"] = _mean([_solved(v, max_value) for v in sc])
    return metrics


def round_metrics(histories: Sequence[Sequence[dict]], max_value: float) -> list[dict]:
    """Per round: mean value, solved (share at max) and broken vs. the previous round over the
    labeled records; changed vs. the previous round, and mean perplexity and the share of
    empty texts when the rounds carry perplexities, over all records. With no finite maximum
    (a raw reward) nothing is ever solved: solved and broken are left out."""
    bounded = math.isfinite(max_value)
    known = [h for h in histories if labeled(h)]
    rows = []
    n_rounds = min(len(h) for h in histories) if histories else 0
    for r in range(n_rounds):
        vals = [h[r]["value"] for h in known]
        row = {"round": r, "mean_value": _mean(vals)}
        if bounded:
            row["solved"] = _mean([_solved(v, max_value) for v in vals])
        if r > 0:
            row["changed"] = _mean([h[r]["text"] != h[r - 1]["text"] for h in histories])
            if bounded:
                row["broken"] = _mean(
                    [_solved(h[r - 1]["value"], max_value) and not _solved(h[r]["value"], max_value) for h in known]
                )
        ppl = [h[r].get("perplexity") for h in histories]
        if any(p is not None for p in ppl):
            row["perplexity"] = _mean(ppl)
            row["empty"] = _mean([not h[r]["text"].strip() for h in histories])
        rows.append(row)
    return rows


def summary(histories: Sequence[Sequence[dict]], max_value: float) -> dict:
    """The figures the engine is judged by, over the labeled records: of the drafts wrong at
    round 0, the net share fixed by the last round; of those right at round 0, the share
    broken by the last round (None when there were no such drafts)."""
    if not histories or not math.isfinite(max_value):
        return {}
    known = [h for h in histories if labeled(h)]
    first = [_solved(h[0]["value"], max_value) for h in known]
    last = [_solved(h[-1]["value"], max_value) for h in known]
    wrong0, right0 = first.count(False), first.count(True)
    return {
        "net_fixed": (sum(last) - sum(first)) / wrong0 if wrong0 else None,
        "broken_of_right": sum(a and not b for a, b in zip(first, last)) / right0 if right0 else None,
    }


def _solved(value: float | None, max_value: float) -> bool:
    """At the maximum; an unknown value is not."""
    return value is not None and value >= max_value


def _mean(xs: Sequence) -> float | None:
    """The mean of the known items; None when there are none."""
    xs = [float(x) for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None
