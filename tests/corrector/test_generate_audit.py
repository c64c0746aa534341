"""``generate_run`` on a scripted generator: a resumed output must be one run's, an output
that cannot be written is named before any draft, and what the table prints is what was run."""

from __future__ import annotations

import pytest

from correct.corrector.app.generate import GenerateConfig, generate_run
from correct.corrector.app.tables import print_metrics
from correct.corrector.outputs import RecordError, finished_ids, read_all_jsonl
from correct.errors import CorrectError
from correct.generators import SamplingParams
from correct.generators.base import GeneratorBase
from correct.values import Score


class Echo(GeneratorBase):
    """Writes the answer of each prompt (``q:ANSWER``); counts its calls."""

    scores = True

    def __init__(self):
        self.calls = 0

    def log_likelihoods(self, prompts, texts):
        return [(-1.0, 1) for _ in texts]

    def generate(self, prompts, params):
        self.calls += 1
        return [[p.split(":")[1]] * params.n for p in prompts]


class Exact:
    name, max_value, min_value, reference_free = "exact", 1.0, 0.0, False

    def __call__(self, records, outputs):
        return [Score(float(o == r["answer"]), f"got {o}", answer=o) for r, o in zip(records, outputs)]


RECORDS = [{"id": f"r{i}", "prompt": f"q:{i}", "answer": str(i)} for i in range(4)]


def run(records, out, gen=None, **options):
    options = {"rounds": 0, "batch_size": 2, **options}
    return generate_run(
        records,
        lambda r: r["prompt"],
        gen or Echo(),
        None,
        Exact(),
        SamplingParams(temperature=0.0),
        out,
        out.with_suffix(".metrics.json"),
        GenerateConfig(**options),
    )


def killed(out, lines: int) -> None:
    """The output as a run killed after ``lines`` lines left it."""
    out.write_text("".join(l + "\n" for l in out.read_text().splitlines()[:lines]))


@pytest.mark.parametrize(
    "first, then, needle, option",
    [
        ({"baseline": False}, {}, "without the baseline", "baseline"),
        ({}, {"baseline": False}, "with the baseline", "baseline"),
        ({"baseline_samples": 4}, {"baseline_samples": 2}, "4 samples", "baseline_samples"),
        ({"baseline_pick": "best"}, {}, "'best'", "baseline_pick"),
    ],
)
def test_resuming_with_another_baseline_is_refused_by_its_line(tmp_path, first, then, needle, option):
    """Before: the resumed lines got (or lacked) the baseline the first ones lacked (or had), and
    the metrics reported one baseline over part of the records, or a vote of the first line's
    samples over lines of two sample counts."""
    out = tmp_path / "out.jsonl"
    run(RECORDS, out, **first)
    killed(out, 2)
    before = out.read_text()
    gen = Echo()
    with pytest.raises(RecordError) as e:
        run(RECORDS, out, gen, resume=True, **then)
    assert f"{out}:1:" in str(e.value) and needle in str(e.value) and e.value.option == option
    assert "--" not in str(e.value)  # the command line names the flag
    assert out.read_text() == before and gen.calls == 0
    run(RECORDS, out, resume=True, **first)  # the same settings go on
    assert [l["id"] for l in read_all_jsonl(out)] == ["r0", "r1", "r2", "r3"]


@pytest.mark.parametrize("first, then", [(True, False), (False, True)])
def test_resuming_with_or_without_perplexities_is_refused(tmp_path, first, then):
    """Before: the perplexity of a round was the mean over the lines that had one, its share of
    empty texts over all of them."""
    out = tmp_path / "out.jsonl"
    run(RECORDS, out, baseline=False, fluency=first)
    killed(out, 2)
    with pytest.raises(RecordError, match=rf"out\.jsonl:1: written with{'out' if then else ''} perplexities") as e:
        run(RECORDS, out, baseline=False, fluency=then, resume=True)
    assert e.value.option == "fluency"


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"\xff\xfe junk\n", id="utf16-mark"),  # json.loads of bytes takes it for UTF-16
        pytest.param(b'{"id": "r9", "prompt": "caf\xe9"}\n', id="latin-1"),
    ],
)
def test_a_line_that_is_not_utf8_is_named_not_a_traceback(tmp_path, tail):
    """Before: a UnicodeDecodeError traceback (the bytes went to json.loads, which guesses)."""
    out = tmp_path / "out.jsonl"
    run(RECORDS, out, baseline=False)
    out.write_bytes(out.read_bytes() + tail)
    before = out.read_bytes()
    with pytest.raises(RecordError, match=r"out\.jsonl:5: not an output line"):
        finished_ids(out, {r["id"]: r["prompt"] for r in RECORDS}, 0)
    assert out.read_bytes() == before


@pytest.mark.parametrize("which", ["output", "metrics"])
def test_an_output_that_cannot_be_written_is_named_before_anything_is_drafted(tmp_path, which):
    """Before: the generator drafted the first batch (or the whole run), then open() or the
    metrics' rename raised a traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    out, metrics = tmp_path / "out.jsonl", tmp_path / "out.metrics.json"
    if which == "output":
        out = blocker / "out.jsonl"
    else:
        metrics = blocker / "m.json"
    gen = Echo()
    with pytest.raises(CorrectError) as e:
        generate_run(
            RECORDS,
            lambda r: r["prompt"],
            gen,
            None,
            Exact(),
            SamplingParams(),
            out,
            metrics,
            GenerateConfig(rounds=0, baseline=False),
        )
    assert str(out if which == "output" else metrics) in str(e.value) and "cannot be written" in str(e.value)
    assert e.value.option == which and gen.calls == 0
    assert blocker.read_text() == "not a folder\n"


def test_resuming_records_whose_ids_are_numbers_skips_them(tmp_path):
    """A Python caller's records with int ids: before, resume took its own lines for another
    run's ('record '0' is not one of this run's records')."""
    records = [{**r, "id": i} for i, r in enumerate(RECORDS)]
    out = tmp_path / "out.jsonl"
    run(records, out, baseline=False)
    killed(out, 2)
    gen = Echo()
    m = run(records, out, gen, baseline=False, resume=True)
    assert [l["id"] for l in read_all_jsonl(out)] == [0, 1, 2, 3] and m["resumed_after"] == 2
    assert gen.calls == 1  # the two missing records, one batch


def test_the_table_names_a_best_of_n_baseline_as_such(tmp_path, capsys):
    """Before: best-of-n was printed as ``vote@4``."""
    out = tmp_path / "out.jsonl"
    for pick in ("best", "vote"):
        print_metrics(run(RECORDS, out, baseline_samples=4, baseline_pick=pick))
        printed = capsys.readouterr().out
        assert f"{pick}@4" in printed and f"{'vote' if pick == 'best' else 'best'}@4" not in printed


def test_the_report_names_a_best_of_n_baseline_and_escapes_run_names(tmp_path):
    """Before: the chart's legend called best-of-n a vote, and a run named ``a<b`` went into the
    page's table as markup."""
    pytest.importorskip("matplotlib")
    from correct.corrector.app.report import write_report

    out = tmp_path / "out.jsonl"
    run(RECORDS, out, baseline_samples=4, baseline_pick="best")
    write_report([out], tmp_path / "report", names=["a<b"])
    page = (tmp_path / "report" / "index.html").read_text()
    assert "<td>a&lt;b</td>" in page and "a<b" not in page
    import matplotlib.pyplot as plt

    from correct.corrector.app.report import load_run, rounds_figure

    fig, _ = rounds_figure([load_run(out)])
    labels = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    plt.close(fig)
    assert "out: best of 4 drafts" in labels and not any("vote" in label for label in labels)


def test_a_corrector_of_ones_own_runs_through_generate(tmp_path):
    """refine takes any object with ``correct`` and ``question``; generate_run asked it for a
    ``generator`` to count its tokens, and failed after every line was written."""

    class Fixer:
        def question(self, record):
            return record["prompt"]

        def correct(self, questions, drafts, feedbacks, params):
            return [[q.split(":")[1]] * params.n for q in questions]

    class Wrong(Echo):
        def generate(self, prompts, params):
            return [["?"] * params.n for _ in prompts]

    out = tmp_path / "out.jsonl"
    config = GenerateConfig(rounds=1, batch_size=2)
    m = generate_run(RECORDS, lambda r: r["prompt"], Wrong(), Fixer(), Exact(), SamplingParams(), out, None, config)
    assert [r["solved"] for r in m["rounds"]] == [0.0, 1.0]
