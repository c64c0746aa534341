"""Behaviour of the program, sandbox, rules and json values that no other test pinned down: each
test here failed against a plausible change of the code (a flipped comparison, a dropped
condition) that the rest of the suite let through."""

from __future__ import annotations

import logging
import os
import signal
import threading

import pytest

from correct.values import ValueFunctionError, load_value
from correct.values.program import ProgramValue, normalise, same_answer
from correct.values.sandbox import RunResult, SandboxError, SandboxPool


class Printed:
    """A sandbox that runs nothing: every program printed ``stdout`` and exited 0."""

    def __init__(self, stdout: str = "6\n"):
        self.stdout = stdout

    def run(self, source, tests=None):
        return RunResult(0, self.stdout, "", False, False, False, 0.0, completed=True)


# --------------------------------------------------------------------------- program: answers


@pytest.mark.parametrize(
    "printed, expected",
    [
        ("3.1416", "3.14159265"),  # off in the 6th digit: a relative tolerance of 1e-6, no looser
        ("100.05", "100"),
        ("0.000000002", "0.000000001"),  # no absolute tolerance between two small answers
        ("-0.000000001", "0.000000001"),
    ],
)
def test_close_but_different_numbers_are_different_answers(printed, expected):
    assert not same_answer(printed, expected)
    assert not same_answer(expected, printed)


def test_a_float_past_exact_integers_keeps_its_float_spelling():
    """1e300 is not written out as the 301 digits of its binary value (float noise past 2**53)."""
    assert normalise("1e300") == "1e+300"
    assert normalise(str(2.0**60)) == "1.15292150460685e+18"
    assert normalise("1e15") == "1000000000000000"  # below 2**53 a whole float is its integer


def test_revealed_expected_answer_is_said_only_when_wrong():
    value = ProgramValue(sandbox=Printed("6\n"), reveal_expected=True)
    right, wrong = value([{"answer": "6"}, {"answer": "7"}], ["print(6)", "print(6)"])
    assert (right.value, right.feedback) == (1.0, "printed 6")
    assert (wrong.value, wrong.feedback) == (0.0, "printed 6, expected 7")


@pytest.mark.parametrize("tests", ["assert f(1) == 2\x00", "assert f(1) != '\ud800'"])
def test_tests_that_cannot_be_compiled_at_all_are_the_records_fault(tests):
    """compile() refuses a null byte (ValueError before Python 3.12) and a lone surrogate, which
    JSON's "\\ud800" gives (UnicodeEncodeError, a ValueError): the record is named, never a bare
    ValueError out of scoring."""
    value = ProgramValue(sandbox=Printed())
    with pytest.raises(ValueFunctionError, match=r"record 'r1': its 'tests' are not valid Python"):
        value([{"id": "r1", "tests": tests}], ["def f(x):\n    return 2 * x"])


def test_a_timeout_is_said_as_the_sandbox_given_measures_it():
    """A sandbox passed in brings its own time limit: the feedback names it, not the default 5 s."""

    class Slow:
        timeout = 1.5

        def run(self, source, tests=None):
            return RunResult(-9, "", "", True, False, False, 1.5)

    [s] = ProgramValue(sandbox=Slow())([{"answer": "6"}], ["while True:\n    pass"])
    assert (s.value, s.feedback, s.faulty) == (0.0, "timed out after 1.5 s", True)


def test_a_program_that_exits_with_its_own_message_is_told_that_message():
    """sys.exit("no input given") writes the text, not an exception, and exits 1: the feedback is
    the text (the last line of stderr), not just the exit status."""

    class Fails:
        def run(self, source, tests=None):
            stderr = "Traceback (most recent call last):\n  File x\nthe list was empty, so nothing to sum\n"
            return RunResult(1, "", stderr, False, False, False, 0.0)

    [s] = ProgramValue(sandbox=Fails())([{"answer": "6"}], ["import sys\nsys.exit('...')"])
    assert (s.value, s.feedback, s.faulty) == (0.0, "the list was empty, so nothing to sum", True)


# --------------------------------------------------------------------------- rules


def _rules(checks, outputs):
    with load_value("rules") as value:
        return value([{"id": "h1", "checks": checks}] * len(outputs), outputs)


def test_max_words_allows_exactly_that_many_words_as_spaces_part_them():
    at, contracted, over = _rules([["max_words", 3]], ["Dogs ran home.", "I don't know.", "Dogs ran home fast."])
    assert (at.value, at.feedback) == (1.0, "every rule met")
    assert (contracted.value, contracted.feedback) == (1.0, "every rule met")  # "don't" is one word
    assert (over.value, over.feedback) == (0.0, "has 4 words, more than 3")


def test_a_word_to_avoid_is_found_at_the_very_end_too():
    [last] = _rules([["avoid_word", "amazing"]], ["The fair was amazing!"])
    assert (last.value, last.feedback) == (0.0, 'uses "amazing"')
    [phrase] = _rules([["avoid_word", "very good"]], ["It was very good"])
    assert phrase.value == 0.0


@pytest.mark.parametrize("output", ['"', '"We bake at noon', 'We bake at noon"'])
def test_a_text_is_quoted_only_when_a_double_quote_opens_and_another_closes_it(output):
    [score] = _rules([["quoted", None]], [output])
    assert (score.value, score.feedback) == (0.0, "is not wrapped in double quotes")


@pytest.mark.parametrize("arg", [True, 0])
def test_max_words_needs_a_whole_number_above_zero(arg):
    with pytest.raises(ValueFunctionError, match=rf"checks\[0\] 'max_words' needs a whole number above 0.*got {arg}"):
        _rules([["max_words", arg]], ["x"])


# --------------------------------------------------------------------------- json

WEATHER = {
    "id": "w1",
    "text": "At dawn it was -3 degrees in Oslo; the roads were icy and the north and east lanes shut.",
    "schema": {"low": "number", "city": "text", "icy": "true or false", "shut": "list of text"},
    "fields": {"low": -3, "city": "Oslo", "icy": True, "shut": ["north", "east"]},
}


def _json(output: str, record=WEATHER, spec: str = "json"):
    with load_value(spec) as value:
        [score] = value([record], [output])
    return score


def test_a_negative_number_is_found_in_the_text_with_its_sign():
    right = _json('{"low": -3, "city": "Oslo", "icy": true, "shut": ["north", "east"]}')
    assert (right.value, right.faulty) == (1.0, False)
    unsigned = _json('{"low": 3, "city": "Oslo", "icy": true, "shut": ["north", "east"]}')
    assert unsigned.faulty and unsigned.feedback == "low: 3 is not in the text"


def test_a_text_where_a_list_of_texts_is_asked_is_the_wrong_type():
    score = _json('{"low": -3, "city": "Oslo", "icy": true, "shut": "north"}')
    assert score.faulty and score.feedback == 'shut should be a list of texts, not "north"' and score.value == 3 / 4


def test_an_empty_text_is_not_found_in_the_source():
    score = _json('{"low": -3, "city": "", "icy": true, "shut": ["north", ""]}', spec="json:reference=none")
    assert score.faulty and score.value == 2 / 4
    assert score.feedback == 'city: "" is not in the text; shut: ["north", ""] is not in the text'


def test_without_a_reference_a_key_not_asked_for_counts_against_the_score():
    score = _json(
        '{"low": -3, "city": "Oslo", "icy": true, "shut": ["north", "east"], "wind": "strong"}',
        spec="json:reference=none",
    )
    assert score.faulty and score.feedback == "not asked for: wind" and score.value == 4 / 5


def test_one_is_not_true():
    """1 == True in Python: a number where true or false is asked is wrong, and not the reference's true."""
    score = _json('{"low": -3, "city": "Oslo", "icy": 1, "shut": ["north", "east"]}')
    assert score.faulty and score.feedback == "icy should be true or false, not 1" and score.value == 3 / 4


def test_an_empty_schema_is_refused_by_the_record():
    with pytest.raises(ValueFunctionError, match=r"value 'json': record 'w1' has no `schema`"):
        _json("{}", {**WEATHER, "schema": {}})


# --------------------------------------------------------------------------- sandbox


def test_the_pools_time_limit_is_the_one_the_worker_enforces():
    """A program that would end after 4 s is killed at the pool's 1 s, not at the worker's own
    default; what it printed before is kept, and the worker that ran it serves the next program."""
    with SandboxPool(workers=1, timeout=1.0, isolation="rlimits") as pool:
        assert pool.run("print(1)").stdout == "1\n"
        before = pool.worker_pids()
        r = pool.run("import time\nprint(5, flush=True)\ntime.sleep(4)\nprint(6)")
        assert (r.timed_out, r.stdout) == (True, "5\n")
        assert pool.worker_pids() == before  # killed in time by the worker: no worker was lost
        assert pool.run("print(2)").stdout == "2\n"


def test_a_pool_of_one_worker_runs_one_program_at_a_time():
    with SandboxPool(workers=1, timeout=5.0, isolation="rlimits") as pool:
        seen = []

        def run():
            r = pool.run("import time\ntime.sleep(0.5)\nprint(1)")
            seen.append((r.stdout, len(pool.worker_pids())))

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == [("1\n", 1)] * 3


def test_rlimits_asked_for_by_name_runs_without_a_warning(caplog):
    """docs/sandbox.md: `auto` falls back to rlimits with a warning; asking for it silences that."""
    with caplog.at_level(logging.WARNING, logger="correct.sandbox"):
        with SandboxPool(workers=1, isolation="rlimits") as pool:
            assert pool.isolation == "rlimits"
    assert "correct.sandbox" not in [r.name for r in caplog.records]


def test_an_unknown_isolation_is_refused_by_name():
    with pytest.raises(SandboxError, match=r"unknown isolation 'chroot'; choose one of auto, namespaces"):
        SandboxPool(isolation="chroot")


@pytest.mark.parametrize("isolation", ["rlimits", "auto"])
def test_a_program_runs_under_the_limits_docs_sandbox_md_promises(isolation):
    """CPU time: the timeout + 1 s (hard: one more); address space: memory_mb; open files: 64;
    file size: 8 MB. Where a cgroup also bounds memory it hides a looser address-space limit,
    so the limits are read from inside the program."""
    source = (
        "import resource as r\n"
        "print([r.getrlimit(getattr(r, n)) for n in ('RLIMIT_CPU', 'RLIMIT_AS', 'RLIMIT_NOFILE', 'RLIMIT_FSIZE')])"
    )
    with SandboxPool(workers=1, timeout=2.5, memory_mb=300, isolation=isolation) as pool:
        r = pool.run(source)
    mb = 2**20
    assert r.stdout == f"{[(4, 5), (300 * mb, 300 * mb), (64, 64), (8 * mb, 8 * mb)]}\n", r


def test_a_worker_that_does_not_answer_in_time_is_a_timeout_and_is_replaced(monkeypatch):
    from correct.values import sandbox

    monkeypatch.setattr(sandbox, "_GRACE_S", 0.5)
    with SandboxPool(workers=1, timeout=0.5, isolation="rlimits") as pool:
        assert pool.run("print(1)").stdout == "1\n"
        [stuck] = pool.worker_pids()
        os.kill(stuck, signal.SIGSTOP)  # it never answers
        r = pool.run("print(2)")
        assert r.timed_out and r.returncode is None and "did not answer in time" in r.stderr
        assert pool.run("print(3)").stdout == "3\n" and pool.worker_pids() != [stuck]


def test_a_sandbox_that_cannot_run_anything_raises_instead_of_scoring_every_program_zero():
    pool = SandboxPool(workers=1, isolation="rlimits")
    pool.close()
    with pytest.raises(SandboxError, match="the sandbox pool is closed"):
        pool.run("print(6)")
