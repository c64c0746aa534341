import os
import time

import pytest

from correct.values import Score, load_value
from correct.values.program import ProgramValue, normalise, same_answer
from correct.values.sandbox import RunResult, Sandbox, SandboxPool


@pytest.fixture(scope="module")
def value():
    v = ProgramValue(timeout=2.0, workers=2)
    yield v
    v.close()


def score(value, output, **record):
    return value([{"id": "r1", **record}], [output])[0]


def test_right_answer(value):
    assert score(value, "print(2 * 3)", answer="6") == Score(1.0, "printed 6", "6")


def test_float_spelling_of_integer_answer(value):
    s = score(value, "print(6.0)", answer=6)
    assert (s.value, s.answer) == (1.0, "6")


def test_only_last_line_counts(value):
    assert score(value, "print('working...')\nprint(' 6 ')\nprint()", answer="6").value == 1.0


def test_wrong_answer_does_not_reveal_expected(value):
    s = score(value, "print(7)", answer="424242")
    assert s.value == 0.0 and s.feedback == "printed 7" and "424242" not in s.feedback
    assert not s.faulty  # it ran: only the reference says it is wrong


def test_exception_feedback_is_last_stderr_line(value):
    s = score(value, "print(1)\nx = 1 / 0", answer="1")
    assert s == Score(0.0, "ZeroDivisionError: division by zero", "1", faulty=True)


def test_printed_nothing(value):
    assert score(value, "x = 6", answer="6") == Score(0.0, "printed nothing", None, faulty=True)


def test_infinite_loop_is_killed(value):
    t = time.monotonic()
    s = score(value, "while True:\n    pass", answer="6")
    # Killed, not waited out: within the pool's own limit (the timeout + 10 s of grace), which a
    # loaded machine meets; the feedback is the sandbox's own measure of the 2 s.
    assert time.monotonic() - t < 2.0 + 10
    assert s.value == 0.0 and s.feedback == "timed out after 2 s" and s.faulty


@pytest.mark.parametrize(
    "spawn",
    [
        "import subprocess\np = subprocess.Popen(['sleep', '30'])\nprint(p.pid)",
        "import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(30)\n    os._exit(0)\nprint(pid)",
    ],
)
def test_background_children_do_not_survive(value, spawn, leftovers):
    s = score(value, spawn, answer="0")
    assert (s.answer or "").isdigit(), s.feedback  # it did start a child
    assert leftovers(value.sandbox) == []


def test_working_directory_is_removed(value):
    s = score(value, "import os\nopen('junk.txt', 'w').write('x')\nos.mkdir('d')\nprint(os.getcwd())", answer="-")
    assert s.answer and os.path.isabs(s.answer)
    assert not os.path.exists(s.answer)


def test_environment_is_scrubbed(value, monkeypatch):
    monkeypatch.setenv("CORRECT_SECRET", "x")
    s = score(value, "import os\nprint(os.environ.get('CORRECT_SECRET'))", answer="None")
    assert (s.value, s.feedback) == (1.0, "printed None")


def test_huge_output_is_capped(value):
    s = score(value, "import sys\nsys.stdout.write('x' * 10**7)\nprint()\nprint(6)", answer="6")
    assert s.value == 0.0 and s.feedback == "printed too much output"
    with SandboxPool(workers=1, timeout=1.0, max_output_bytes=1000) as pool:
        r = pool.run("while True:\n    print('y' * 100)")
    assert r.output_truncated and r.timed_out and len(r.stdout) <= 1000


def test_memory_bomb(value):
    s = score(value, "s = 'x' * 2**30\nprint(len(s))", answer=str(2**30))
    assert s.value == 0.0 and s.feedback == "memory limit exceeded"


def test_tests_mode_pass_and_fail(value):
    tests = "assert add(2, 3) == 5\nassert add(-1, 1) == 0"
    good, bad = value(
        [{"tests": tests}, {"tests": tests}], ["def add(a, b):\n    return a + b", "def add(a, b):\n    return a - b"]
    )
    assert good == Score(1.0, "tests passed", verified=True)
    assert bad.value == 0.0 and bad.feedback == "AssertionError"
    # the tests are the task's own check, there at inference: passing or failing them is known
    # without a reference
    assert bad.faulty and not good.faulty and not bad.verified


def test_tests_that_end_with_unittest_main_pass_a_right_draft(value):
    """unittest.main() exits (0 when every test passed): the tests ended, they were not cut short."""
    tests = (
        "import unittest\nclass T(unittest.TestCase):\n    def test_add(self):\n"
        "        self.assertEqual(add(2, 3), 5)\nunittest.main()\n"
    )
    good, bad = value(
        [{"tests": tests}, {"tests": tests}], ["def add(a, b):\n    return a + b", "def add(a, b):\n    return a - b"]
    )
    assert good == Score(1.0, "tests passed", verified=True)
    assert (bad.value, bad.feedback, bad.faulty) == (0.0, "AssertionError: -1 != 5", True)


@pytest.mark.parametrize("tests", ["  \n", ["", " "]])
def test_blank_tests_are_no_tests_and_the_answer_judges(value, tests):
    """Tests of nothing but spaces passed every draft, verified; like empty ones, they are none."""
    s = score(value, "print(7)", tests=tests, answer="6")
    assert (s.value, s.feedback, s.verified) == (0.0, "printed 7", False)
    assert score(value, "print(6)", tests=tests, answer="6").value == 1.0


def test_tests_take_precedence_over_answer(value):
    assert score(value, "def f():\n    return 1", tests="assert f() == 1", answer="nope").value == 1.0


def test_a_record_without_answer_or_tests_is_run_with_the_value_unknown(value):
    """No reference: the program still runs in the sandbox and gets today's feedback (and its
    answer, for majority voting); only the value is unknown."""
    scores = value(
        [{"id": "q7", "prompt": "?"}] * 5 + [{"answer": None}, {"tests": []}],
        [
            "print(6*7)",
            "print(1)\nx = 1 / 0",
            "while True:\n    pass",
            "x = 6",
            "import os\nprint(os.getpid())",
            "print(6*7)",
            "print(6*7)",
        ],
    )
    assert scores[0] == Score(None, "printed 42", "42")
    # a failure is known without the reference: the run is faulty either way
    assert scores[1] == Score(None, "ZeroDivisionError: division by zero", "1", faulty=True)
    assert scores[2] == Score(None, "timed out after 2 s", None, faulty=True)
    assert scores[3] == Score(None, "printed nothing", None, faulty=True)
    assert int(scores[4].answer) != os.getpid()  # it ran in another process, not here
    assert scores[5] == scores[6] == Score(None, "printed 42", "42")  # a null answer or empty tests: no reference


def test_labeled_and_unlabeled_records_in_one_batch(value):
    scores = value(
        [{"answer": "42"}, {}, {"tests": "assert f() == 1"}], ["print(6*7)", "print(6*7)", "def f():\n    return 1"]
    )
    assert [s.value for s in scores] == [1.0, None, 1.0]
    assert scores[0].feedback == scores[1].feedback == "printed 42"


def test_a_blank_answer_is_no_answer(value):
    """An answer of "" (or a CSV cell of spaces) scored every draft 0.0 and counted the record
    as labeled, while the warning about records without an answer said it was unlabeled."""
    scores = value([{"answer": ""}, {"answer": "  "}, {"answer": 0}], ["print(8)", "print(8)", "print(0)"])
    assert [s.value for s in scores] == [None, None, 1.0]
    assert scores[0].feedback == "printed 8"


def test_batch_with_crash_in_the_middle(value):
    scores = value(
        [{"answer": "1"}, {"answer": "2"}, {"answer": "3"}], ["print(1)", "raise RuntimeError('boom')", "print(3)"]
    )
    assert [s.value for s in scores] == [1.0, 0.0, 1.0]
    assert scores[1].feedback == "RuntimeError: boom"


@pytest.mark.parametrize("text", ["print(6)\x00", "\x00\x00", "print('\ud800')", ""])
def test_odd_program_text_does_not_crash(value, text):
    s = score(value, text, answer="6")
    assert s.value == 0.0 and s.feedback


def test_load_value_gives_a_working_program_value():
    v = load_value("program")
    assert isinstance(v, ProgramValue) and v.name == "program" and not v.reference_free
    assert (v.max_value, v.min_value) == (1.0, 0.0)
    assert v([{"answer": "6"}], ["print(6)"])[0].value == 1.0
    assert load_value("program:1.5").timeout == 1.5


def test_sandbox_can_be_swapped():
    class Fake:
        def run(self, source):
            return RunResult(0, "42\n", "", False, False, False, 0.0)

    assert isinstance(Fake(), Sandbox) and isinstance(SandboxPool(), Sandbox)
    assert ProgramValue(sandbox=Fake())([{"answer": 42.0}], ["anything"])[0].value == 1.0


@pytest.mark.parametrize(
    "printed, expected, same",
    [
        ("6", "6", True),
        ("6.0", "6", True),
        ("+6", "6", True),
        ("0.1", "0.1000000001", True),
        ("1000001", "1000000", False),
        ("7", "6", False),
        ("abc", "abc", True),
        ("abc", "ABC", False),
        ("nan", "nan", True),
        (str(10**400), "1.0", False),
        # past int()'s 4300 digits both read as inf: two different numbers were the same
        ("1" * 5000, "1" * 4999 + "2", False),
        ("1" * 5000, "1" * 5000, True),
        # no absolute tolerance between small numbers: 0.000002 was 0.000001, and 0 was too
        ("0.000002", "0.000001", False),
        ("0", "0.000001", False),
        ("0.000001", "0.0000010000001", True),
        (str(0.1 + 0.2 - 0.3), "0", True),  # float noise against 0 still is 0
        # the same letters however their accents are encoded (composed é, or e and a combining acute)
        ("Caf\u00e9", "Cafe\u0301", True),
        ("Cafe", "Caf\u00e9", False),
        ("\u22125", "-5", True),  # the typeset minus sign
        ("\u22125", "5", False),
    ],
)
def test_same_answer(printed, expected, same):
    assert same_answer(printed, expected) is same


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("6.0", "6"),
        ("-0", "0"),
        ("0.5", "0.5"),
        ("x = 6", "x = 6"),
        ("1e3", "1000"),
        ("7" * 5000, "7" * 5000),
        ("\u22126.0", "-6"),
        ("Cafe\u0301", "Caf\u00e9"),  # votes with the composed spelling
    ],
)
def test_normalise(text, canonical):
    assert normalise(text) == canonical


def test_killed_rlimits_worker_leaves_no_scratch_directory(leftovers):
    # Without namespaces, work directories are in the host's temp dir: a worker killed in
    # the middle of a program cannot clean up, so the pool removes its scratch directory.
    import glob
    import tempfile

    pattern = os.path.join(tempfile.gettempdir(), "correct-sandbox-*")
    before = set(glob.glob(pattern))
    with SandboxPool(workers=1, timeout=2.0, isolation="rlimits") as pool:
        r = pool.run("import os, signal\nopen('junk', 'w').write('x')\nos.kill(os.getppid(), signal.SIGKILL)")
        assert r.returncode is None and "worker running this program died" in r.stderr
        assert pool.run("print(6)").stdout == "6\n"  # a new worker took over
        assert leftovers(pool) == []
        during = set(glob.glob(pattern)) - before
        assert len(during) == 1  # only the new worker's
    assert set(glob.glob(pattern)) - before == set()


def test_a_reply_waiting_when_this_process_wakes_past_its_deadline_still_counts(monkeypatch):
    """This process suspended (a laptop asleep, SIGSTOP) while the worker ran the program in
    time: on waking, the deadline is past but the answer is in the pipe, and it is the answer --
    not "did not answer in time", which would score a right program 0."""
    from correct.values import sandbox

    read = sandbox._Worker._read_exact

    def asleep_until_after_the_deadline(self, n, deadline):
        time.sleep(1.0)  # the worker answers meanwhile
        return read(self, n, deadline - 3600)

    with SandboxPool(workers=1, timeout=2.0, isolation="rlimits") as pool:
        assert pool.run("print(6)").stdout == "6\n"  # started and answering
        monkeypatch.setattr(sandbox._Worker, "_read_exact", asleep_until_after_the_deadline)
        r = pool.run("print(7)")
    assert (r.returncode, r.stdout, r.timed_out) == (0, "7\n", False)


@pytest.mark.parametrize(
    "tests, message",
    [
        ("assert f(1) ==== 2", "record 'r1': its 'tests' are not valid Python (invalid syntax, line 1)"),
        (["assert f(1) == 2", "assert f(2) = 4"], "record 'r1': its 'tests' are not valid Python"),
        (5, "record 'r1': 'tests' is int; give Python source"),
        (True, "record 'r1': 'tests' is bool"),
    ],
)
def test_tests_that_are_not_python_are_the_records_fault_not_the_drafts(value, tests, message):
    """A syntax error in the tests used to score every draft 0 ("SyntaxError" as its feedback),
    and a number every draft 1 ("tests passed")."""
    from correct.values import ValueFunctionError

    with pytest.raises(ValueFunctionError) as e:
        score(value, "def f(x):\n    return 2 * x", tests=tests)
    assert str(e.value).startswith(message)
    assert score(value, "def f(x):\n    return 2 * x", tests=["assert f(1) == 2", "assert f(2) == 4"]).value == 1.0
