"""The user's own values: ``--value package.module:function`` and the ``correct.values``
entry-point group, and the errors for a failed import or a result of the wrong shape."""

from __future__ import annotations

import math
import sys
import textwrap

import pytest

from correct.values import CallableValue, Score, ValueFunctionError, load_value

RECORDS = [{"id": "a", "prompt": "p"}, {"id": "b", "prompt": "q"}]


@pytest.fixture
def user_package(tmp_path, monkeypatch):
    """A package ``myvalues`` on sys.path, and an installed distribution (a .dist-info folder)
    that registers two of its callables in the ``correct.values`` entry-point group."""
    pkg = tmp_path / "myvalues"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent("""
        from correct.values import Score

        def brevity(records, outputs):
            return [(1.0 if len(o) < 5 else 0.0, f"{len(o)} characters") for o in outputs]

        brevity.max_value, brevity.min_value, brevity.reference_free = 1.0, 0.0, True

        def lengths(records, outputs):
            return [float(len(o)) for o in outputs]

        def scored(records, outputs):
            return [Score(0.5, "half", answer=o) for o in outputs]

        class Shouting:
            max_value = 2.0
            def __call__(self, records, outputs):
                return [2.0 if o.isupper() else 0.0 for o in outputs]

        def one_number(records, outputs):
            return 1.0

        def too_few(records, outputs):
            return [1.0]

        def nan(records, outputs):
            return [0.0, float("nan")]

        def words(records, outputs):
            return ["good" for o in outputs]

        def triples(records, outputs):
            return [(1.0, "a", "b") for o in outputs]

        NOT_CALLABLE = 3
    """)
    )
    (pkg / "broken.py").write_text("import a_package_that_is_not_installed\n")
    (pkg / "syntax.py").write_text("def f(:\n")
    dist = tmp_path / "myvalues-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myvalues\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[correct.values]\nshouting = myvalues:Shouting\nbrief = myvalues:brevity\nmissing = myvalues.broken:f\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [m for m in sys.modules if m == "myvalues" or m.startswith("myvalues.")]:
        del sys.modules[name]


def test_module_function_with_feedback_and_attributes(user_package):
    v = load_value("myvalues:brevity")
    assert isinstance(v, CallableValue)
    assert (v.max_value, v.min_value, v.reference_free) == (1.0, 0.0, True)
    assert v(RECORDS, ["abc", "abcdefgh"]) == [Score(1.0, "3 characters"), Score(0.0, "8 characters")]


def test_plain_floats_and_scores(user_package):
    lengths = load_value("myvalues:lengths")
    assert (lengths.max_value, lengths.min_value, lengths.reference_free) == (1.0, 0.0, False)  # the defaults
    assert lengths(RECORDS, ["a", ""]) == [Score(1.0), Score(0.0)]
    # A score past the range it declares (by default 0 to 1) is refused: 2.0 counted as solved,
    # and a mean value of 5 on a task whose maximum is 1 was reported without a word.
    with pytest.raises(ValueFunctionError, match=r"'myvalues:lengths' returned 2 for output 0, outside its range"):
        lengths(RECORDS, ["ab", ""])
    lengths.max_value = None  # unbounded, as it says
    assert lengths(RECORDS, ["ab", ""]) == [Score(2.0), Score(0.0)]
    assert load_value("myvalues:scored")(RECORDS, ["x", "y"])[1] == Score(0.5, "half", answer="y")


def test_the_records_a_user_value_is_given_are_copies(user_package):
    """A value that changed its records changed the run: the ids written, the question the
    corrector was shown."""

    def meddle(records, outputs):
        for r in records:
            r["prompt"], r["id"] = "MUTATED", r["id"] + "-m"
        return [0.0 for _ in outputs]

    records = [{"id": "a", "prompt": "q"}]
    assert CallableValue(meddle, "meddle")(records, ["x"]) == [Score(0.0)]
    assert records == [{"id": "a", "prompt": "q"}]


def test_entry_point_group(user_package):
    v = load_value("shouting")  # a class: instantiated, its attributes read
    assert v.max_value == 2.0
    assert [s.value for s in v(RECORDS, ["LOUD", "quiet"])] == [2.0, 0.0]
    assert [s.value for s in load_value("brief")(RECORDS, ["ok", "too long"])] == [1.0, 0.0]


@pytest.mark.parametrize(
    "spec, needles",
    [
        ("nosuchmodule:f", ["nosuchmodule:f", "no module named 'nosuchmodule'"]),
        ("myvalues.broken:f", ["importing module 'myvalues.broken' failed", "a_package_that_is_not_installed"]),
        ("myvalues.syntax:f", ["importing module 'myvalues.syntax' failed", "SyntaxError"]),
        ("myvalues:nothing", ["module 'myvalues' has no attribute 'nothing'"]),
        ("myvalues:NOT_CALLABLE", ["'myvalues:NOT_CALLABLE' is int, not a callable"]),
        ("missing", ["entry point 'myvalues.broken:f'", "could not be loaded", "a_package_that_is_not_installed"]),
        ("nosuchvalue", ["unknown value 'nosuchvalue'", "program", "constraints", "toxicity", "reward-model"]),
        # A function that cannot take (records, outputs) is named at load, not a TypeError at the first score.
        ("os:getcwd", ["value 'os:getcwd' cannot be called as os:getcwd(records, outputs): it takes ()"]),
        ("pickle:loads", ["cannot be called as pickle:loads(records, outputs): it takes"]),
    ],
)
def test_load_errors_name_the_problem(user_package, spec, needles):
    with pytest.raises(ValueFunctionError) as e:
        load_value(spec)
    for needle in needles:
        assert needle in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "fn, needle",
    [
        ("one_number", "returned float, expected a list of 2 scores"),
        ("too_few", "returned 1 scores for 2 outputs"),
        ("nan", "returned NaN for output 1"),
        ("words", "returned the string 'good' for output 0, expected a float"),
        ("triples", "returned (1.0, 'a', 'b') for output 0, expected a float"),
    ],
)
def test_wrong_shapes_are_refused(user_package, fn, needle):
    v = load_value(f"myvalues:{fn}")
    with pytest.raises(ValueFunctionError) as e:
        v(RECORDS, ["x", "y"])
    assert f"value 'myvalues:{fn}'" in str(e.value) and needle in str(e.value)


@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_infinite_values_are_refused_as_nan_is(bad):
    """An infinity (a log-probability's log(0)) was kept: the metrics' mean became nan, their JSON
    held Infinity, the pairing sampler's weights failed with a traceback, serve answered 500."""
    v = CallableValue(lambda r, o: [0.5, bad], "logshare")
    with pytest.raises(
        ValueFunctionError, match=f"value 'logshare' returned {bad} for output 1: scores must be finite"
    ):
        v(RECORDS, ["x", "y"])


def test_a_user_value_may_say_unknown():
    """None (alone or in a (None, feedback) pair, or in a Score) is an unknown value, kept as
    such; NaN is still an error."""

    def judge(records, outputs):
        return [float(o == r["answer"]) if "answer" in r else None for r, o in zip(records, outputs)]

    v = CallableValue(judge, "judge")
    assert v([{"answer": "x"}, {"prompt": "q"}], ["x", "y"]) == [Score(1.0), Score(None)]
    pairs = CallableValue(lambda records, outputs: [(None, "looks fine"), ("0.5", None)], "pairs")
    assert pairs(RECORDS, ["x", "y"]) == [Score(None, "looks fine"), Score(0.5)]
    scores = CallableValue(lambda records, outputs: [Score(None, "?", answer="x"), Score(1.0)], "scores")
    assert scores(RECORDS, ["x", "y"])[0] == Score(None, "?", answer="x")
    with pytest.raises(ValueFunctionError, match="returned NaN for output 1"):
        CallableValue(lambda records, outputs: [None, float("nan")], "nan")(RECORDS, ["x", "y"])
    # the feedback is what is wrong, not the score ("expected a float" sent the user to the score)
    with pytest.raises(
        ValueFunctionError, match=r"returned \(None, 3\) for output 0: its feedback is int, expected text"
    ):
        CallableValue(lambda records, outputs: [(None, 3), None], "bad")(RECORDS, ["x", "y"])
    with pytest.raises(
        ValueFunctionError, match=r"returned \(0.5, 42\) for output 0: its feedback is int, expected text"
    ):
        CallableValue(lambda records, outputs: [(0.5, 42), None], "bad")(RECORDS, ["x", "y"])


def test_every_loaded_value_is_a_context_manager_that_closes_what_it_holds():
    """`with load_value(...) as v` stops the program value's sandbox workers and closes a user's
    value object that has a close of its own; one without closes as a no-op."""
    from correct.values import load_value
    from correct.values.registry import CallableValue

    with load_value("program") as program:
        assert program([{"answer": 1}], ["print(1)"])[0].value == 1.0
        assert not program.sandbox._closed
    assert program.sandbox._closed
    closed = []

    class Holding:
        def __call__(self, records, outputs):
            return [0.0] * len(outputs)

        def close(self):
            closed.append(True)

    with CallableValue(Holding(), "holding"), CallableValue(lambda records, outputs: [1.0] * len(outputs), "plain"):
        assert not closed
    assert closed == [True]
