"""Metrics on a file that mixes labeled and unlabeled records (issue 26's mutation audit): the
figures that need references are over the labeled records only, computed here by hand with a
labeled half whose net fixed and broken are not 0, so a denominator that counted the
unlabeled records would show."""

from __future__ import annotations

import math

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


def test_broken_is_against_the_round_before_not_round_0():
    """A draft fixed in round 1 and broken again in round 2 is broken in round 2."""
    m = compute_metrics([line(0.0, 1.0, 0.0), line(1.0, 1.0, 1.0)], 1.0)
    assert [r.get("broken") for r in m["rounds"]] == [None, 0.0, 0.5]
    assert [r["solved"] for r in m["rounds"]] == [0.5, 1.0, 0.5]
    assert (m["net_fixed"], m["broken_of_right"]) == (0.0, 0.0)


def test_a_record_is_labeled_by_its_round_0_value_alone():
    """Round 0 says whether a record has references; a later known value does not make an
    unlabeled record count (its round 0, unknown, would count as a wrong draft)."""
    m = compute_metrics([line(None, 1.0), line(0.0, 1.0), line(1.0, 1.0)], 1.0)
    assert (m["labeled"], m["unlabeled"]) == (2, 1)
    assert [r["solved"] for r in m["rounds"]] == [0.5, 1.0]
    assert m["net_fixed"] == 1.0 and m["broken_of_right"] == 0.0


def test_records_with_fewer_rounds_bound_the_rounds_reported():
    m = compute_metrics([line(0.0, 1.0), line(0.0, 1.0, 1.0)], 1.0)
    assert [r["round"] for r in m["rounds"]] == [0, 1]


def test_perplexity_and_empty_are_over_the_texts_that_have_them():
    """A round where only some texts carry a perplexity still reports it (their mean); a text of
    whitespace only is empty."""
    lines = [line(0.0, 1.0, texts=["a", "  \n"]), line(0.0, 1.0, texts=["b", "c"])]
    lines[0]["rounds"][1]["perplexity"] = 4.0
    lines[1]["rounds"][1]["perplexity"] = None
    r0, r1 = compute_metrics(lines, 1.0)["rounds"]
    assert "perplexity" not in r0 and "empty" not in r0
    assert r1["perplexity"] == 4.0 and r1["empty"] == 0.5


def test_self_consistency_of_an_unbounded_value_has_no_solved_share():
    sc = {"samples": 3, "text": "x", "value": 2.5}
    m = compute_metrics([{**line(-1.0, 0.5), "self_consistency": sc}], math.inf)
    assert m["self_consistency"] == {"samples": 3, "mean_value": 2.5}
