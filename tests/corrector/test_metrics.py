"""Metrics on a file that mixes labeled and unlabeled records (issue 26's mutation audit): the
figures that need references are over the labeled records only, computed here by hand with a
labeled half whose net fixed and broken are not 0, so a denominator that counted the
unlabeled records would show."""

from __future__ import annotations

import pytest

from correct.corrector.metrics import compute_metrics


def line(*values, texts=None) -> dict:
    texts = texts or [f"t{k}" for k in range(len(values))]
    return {
        "rounds": [{"round": k, "text": t, "value": v, "feedback": None} for k, (v, t) in enumerate(zip(values, texts))]
    }


def test_net_fixed_and_broken_count_only_the_labeled_records():
    labeled = [
        line(0.0, 1.0),
        line(0.0, 1.0),
        line(0.0, 0.0, texts=["a", "a"]),  # 3 wrong at round 0: 2 fixed
        line(1.0, 1.0, texts=["b", "b"]),
        line(1.0, 1.0, texts=["c", "c"]),
        line(1.0, 0.0),
    ]  # 3 right: 1 broken
    unlabeled = [line(None, None), line(None, None), line(None, None, texts=["d", "d"])]
    m = compute_metrics(labeled + unlabeled, 1.0)
    assert (m["records"], m["labeled"], m["unlabeled"]) == (9, 6, 3)
    # Right at the end 4, at round 0 3, of 3 wrong: (4 - 3) / 3; of 3 right, 1 broken.
    assert m["net_fixed"] == pytest.approx(1 / 3) and m["broken_of_right"] == pytest.approx(1 / 3)
    r0, r1 = m["rounds"]
    assert r0["solved"] == pytest.approx(3 / 6) and r1["solved"] == pytest.approx(4 / 6)
    assert r1["broken"] == pytest.approx(1 / 6)
    assert r1["changed"] == pytest.approx(5 / 9)  # changed is over every record, labeled or not


def test_net_fixed_is_not_zero_in_the_labeled_half():
    m = compute_metrics(
        [line(0.0, 1.0), line(0.0, 1.0), line(1.0, 1.0), line(0.0, 0.0, texts=["x", "x"])] + [line(None, None)] * 4, 1.0
    )
    assert m["net_fixed"] == pytest.approx(2 / 3) and m["broken_of_right"] == 0.0
    assert m["rounds"][0]["mean_value"] == pytest.approx(1 / 4) and m["rounds"][1]["mean_value"] == pytest.approx(3 / 4)
