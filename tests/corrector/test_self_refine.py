"""``--corrector self``: the generator rewrites its own drafts, shown the question as the task
lays it out, its few-shot header, the draft and the feedback (or a chat message saying so), in
`correct generate` with the hf backend, through an OpenAI endpoint, and in `correct serve`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from correct.cli import app
from correct.corrector.self_refine import CHAT, COMPLETION, SelfRefine, for_task
from correct.generators import SamplingParams
from correct.generators.base import GeneratorBase
from correct.tasks import few_shot_prompt, get_task

ROOT = Path(__file__).resolve().parents[2]
WORD_PROBLEMS = str(ROOT / "docs" / "examples" / "word-problems" / "word-problems.yaml")


class Recording(GeneratorBase):
    """A generator that answers 'print(1)' and keeps what it was sent."""

    tokens_generated = 0

    def __init__(self, **attrs):
        self.sent = []
        self.__dict__.update(attrs)

    def generate(self, prompts, params):
        self.sent += list(prompts)
        return [["print(1)"] * params.n for _ in prompts]


def test_a_completion_model_sees_the_tasks_header_layout_draft_and_feedback():
    task = get_task(WORD_PROBLEMS)
    fmt = few_shot_prompt(task, 3)
    gen = Recording()
    corrector = for_task(gen, task.format_prompt, fmt)
    question = "Ana has 3 apples and buys 4 more. How many apples does she have?"
    laid_out = task.format_prompt({"prompt": question})
    assert corrector.question({"id": "x", "prompt": question}) == laid_out
    assert corrector.correct(
        [laid_out, laid_out], ["print(3 - 4)", "print(7"], ["printed -1", None], SamplingParams()
    ) == [["print(1)"], ["print(1)"]]
    header = fmt({"prompt": question})[: -len(laid_out)]
    assert header.count("Question:") == 3 and header.endswith(
        "\n\n"
    )  # the three solved examples, as the generator saw them
    assert (
        gen.sent[0]
        == header + laid_out + "print(3 - 4)\nFeedback: printed -1\nA better answer, after that feedback:\n" + laid_out
    )
    assert "Feedback: none\n" in gen.sent[1]  # no feedback is shown as none
    assert corrector.config.method == "self" and corrector.config.prompt_format == COMPLETION


def test_a_chat_model_gets_one_message_without_the_header():
    task = get_task(WORD_PROBLEMS)
    for gen in (Recording(chat_template=True),):  # an endpoint's chat API sets it too (test_openai)
        corrector = for_task(gen, task.format_prompt, few_shot_prompt(task, 3))
        corrector.correct([corrector.question({"prompt": "How many?"})], ["print(2)"], ["printed 2"], SamplingParams())
        assert gen.sent == [
            CHAT.format(prompt="Question: How many?\nProgram:\n", draft="print(2)", feedback="printed 2")
        ]


def test_a_task_files_own_correction_prompt_and_a_template_with_other_fields(tmp_path):
    task = get_task(WORD_PROBLEMS)
    gen = Recording()
    own = for_task(gen, task.format_prompt, None, template="Fix this:\n{draft}\n({feedback})\n{prompt}")
    own.correct([own.question({"prompt": "Q?"})], ["x"], ["NameError"], SamplingParams())
    assert gen.sent == ["Fix this:\nx\n(NameError)\nQuestion: Q?\nProgram:\n"]
    # a prompt template naming other fields: the record lays them out, and the header is still found
    layout = "How far is {prompt} in {unit}?\n".format_map
    unit = for_task(Recording(), layout, lambda r: "Q: example\n\n" + layout(r))
    assert unit.header == "Q: example\n\n"
    assert unit.question({"prompt": "Paris", "unit": "km"}) == "How far is Paris in km?\n"
    assert SelfRefine(Recording()).question({"prompt": "as it is"}) == "as it is"


def _task_file(tmp_path, extra: str) -> Path:
    spec = (ROOT / "docs" / "examples" / "word-problems" / "word-problems.yaml").read_text()
    folder = ROOT / "docs" / "examples" / "word-problems"
    spec = (
        spec.replace("train: train.jsonl", f"train: {folder}/train.jsonl")
        .replace("validation: validation.jsonl", f"validation: {folder}/validation.jsonl")
        .replace("test: test.csv", f"test: {folder}/test.csv")
    )
    spec = spec.replace("data: shots.jsonl", f"data: {folder}/shots.jsonl")
    path = tmp_path / "t.yaml"
    path.write_text(spec + extra)
    return path


def test_task_file_correction_prompt_is_read_and_checked(tmp_path):
    good = _task_file(tmp_path, 'correction_prompt: "{prompt}{draft}\\nError: {feedback}\\nFixed:\\n"\n')
    assert get_task(str(good)).correction_prompt == "{prompt}{draft}\nError: {feedback}\nFixed:\n"
    bad = _task_file(tmp_path, 'correction_prompt: "{prompt} {answer}"\n')
    result = CliRunner().invoke(app, ["generate", "--task", str(bad), "--rounds", "0"])
    assert result.exit_code == 2
    line = " ".join(result.stderr.split())
    assert f"{bad}:20" in line and "correction_prompt" in line and "must name {draft}" in line


@pytest.mark.parametrize("field", ["{draft:d}", "{feedback:>5000000000}", "{draft!r}", "{feedback!a}"])
def test_a_correction_prompt_that_formats_its_fields_is_refused_when_read(tmp_path, field):
    """The fields are text: a number's format ({draft:d}) would fail at the first correction,
    after the models loaded, with a traceback; a width would pad the prompt by gigabytes. Both
    are one line naming the file, line and key when the task file is read. A conversion
    ({draft!r}) wrote the draft quoted, its line breaks escaped."""
    from correct.tasks import TaskError

    bad = _task_file(tmp_path, f'correction_prompt: "{{prompt}}{field}\\nFeedback: {{feedback}} {{draft}}"\n')
    with pytest.raises(TaskError, match=r"t\.yaml:20: key 'correction_prompt' gives \{(draft|feedback)\} a format"):
        get_task(str(bad))


def test_a_task_prompt_that_formats_a_number_field_keeps_its_header(tmp_path):
    """A task prompt may format a number field ({n:d}, {price:.2f}); finding the few-shot header
    before the question used to fill it with a text mark, which such a format refuses, so
    `--corrector self` failed on a sound task, saying its prompt was not a valid template."""
    from correct.corrector.self_refine import of_task

    rows = [{"id": f"r{i}", "prompt": f"item {i}", "n": i, "price": i / 3, "solution": str(i)} for i in range(3)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "t.yaml").write_text(
        'data: d.jsonl\nprompt: "Q: {prompt} x{n:d} at {price:.2f}\\nA: "\nshots: {data: d.jsonl, k: 2}\n'
        'stop: ["\\n"]\nvalue: program\n'
    )
    task = get_task(str(tmp_path / "t.yaml"))
    fmt = few_shot_prompt(task)
    gen = Recording()
    corrector = of_task(gen, task, fmt)
    assert corrector.header == "Q: item 0 x0 at 0.00\nA: 0\nQ: item 1 x1 at 0.33\nA: 1\n"
    record = {"id": "q", "prompt": "item 7", "n": 7, "price": 2.5}
    corrector.correct([corrector.question(record)], ["6"], ["wrong"], SamplingParams())
    assert gen.sent == [
        fmt(record) + "6\nFeedback: wrong\nA better answer, after that feedback:\n" + task.format_prompt(record)
    ]


def test_solved_examples_become_corrections_with_their_real_feedback():
    """--self-examples: the header shows each solved example but the last with another's
    solution as its draft, that draft's feedback from the task's own value (a program run in
    the sandbox), and its own solution after; the last keeps its own solution."""
    from correct.corrector.self_refine import of_task
    from correct.tasks import shot_records
    from correct.values import load_value

    task = get_task(WORD_PROBLEMS)
    shots = shot_records(task)
    gen = Recording()
    with load_value("program") as value:
        corrector = of_task(gen, task, few_shot_prompt(task, 3), value)
    corrector.correct([corrector.question({"prompt": "How many?"})], ["print(2)"], ["printed 2"], SamplingParams())
    (sent,) = gen.sent
    lay = task.format_prompt
    first = lay(shots[0]) + shots[1]["solution"] + "\nFeedback: printed 300\nA better answer, after that feedback:\n"
    assert sent.startswith(first + lay(shots[0]) + shots[0]["solution"] + "\n\n")
    kept = lay(shots[2]) + shots[2]["solution"] + "\nFeedback: printed 4300\nA better answer, after that feedback:\n"
    assert kept + lay(shots[2]) + shots[2]["solution"] + "\n\n" + "Question: How many?\nProgram:\nprint(2)" in sent
    assert sent.count("A better answer") == 4  # three examples, then the draft to rewrite
    plain = of_task(Recording(), task, few_shot_prompt(task, 3))  # without: the solved examples as they are
    assert plain.header == few_shot_prompt(task, 3)({"prompt": "x"})[: -len(lay({"prompt": "x"}))]


def test_solved_examples_for_a_chat_model_are_said_to_be_left_out(caplog):
    """--self-examples with a generator that takes a chat template: the examples are a completion
    model's header, so they are left out; that was silent, as if they had been shown."""
    import logging

    from correct.corrector.self_refine import of_task
    from correct.values import load_value

    task = get_task(WORD_PROBLEMS)
    said = "solved examples as corrections are shown to a completion model only"
    with load_value("program") as value, caplog.at_level(logging.WARNING, logger="correct.corrector.self_refine"):
        completion = of_task(Recording(chat_template=False), task, few_shot_prompt(task, 3), value)
        assert said not in caplog.text and "A better answer" in completion.header
        gen = Recording(chat_template=True)
        chat = of_task(gen, task, few_shot_prompt(task, 3), value)
    assert said in caplog.text
    chat.correct([chat.question({"prompt": "How many?"})], ["print(2)"], ["printed 2"], SamplingParams())
    assert gen.sent[0].startswith("Question: How many?") and "printed 300" not in gen.sent[0]  # no examples


def test_self_examples_without_self_is_one_line(tiny_lm_dir, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--task",
            "arithmetic",
            "--generator",
            str(tiny_lm_dir),
            "--self-examples",
            "--rounds",
            "1",
            "--limit",
            "2",
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert (
        "--self-examples shows a task's solved examples as corrections: it needs --corrector self and a --task"
        in " ".join(result.stderr.split())
    )


def test_solved_examples_as_corrections_are_written_as_the_generators_examples_are(tmp_path):
    """--self-examples wrote an object solution as Python's repr ({'city': 'Oslo'}), which the
    json value then scored as not JSON, and ended each example with a stop string the next
    example begins with ("...Question:Question: ...")."""
    from correct.corrector.self_refine import of_task
    from correct.tasks import shot_records
    from correct.values import load_value

    rows = [{"id": f"r{i}", "text": f"City{i} is home to {20 + i} people.", "schema": {"city": "text"},
             "solution": {"city": f"City{i}"}} for i in range(3)]  # fmt: skip
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "t.yaml").write_text(
        'data: d.jsonl\nfields: {prompt: text}\nprompt: "Question: {prompt}\\nJSON: "\nshots: {data: d.jsonl, k: 2}\n'
        'stop: ["Question:", "\\n"]\nvalue: "json:source=text"\n'
    )
    task = get_task(str(tmp_path / "t.yaml"))
    with load_value("json:source=text") as value:
        header = of_task(Recording(), task, few_shot_prompt(task), value).header
    examples = shot_records(task)
    assert '{"city": "City1"}' in header and "'city'" not in header and "not valid JSON" not in header
    assert "Question:Question:" not in header and header.endswith('{"city": "City1"}\n')
    assert few_shot_prompt(task)(examples[0]).startswith(
        'Question: City0 is home to 20 people.\nJSON: {"city": "City0"}\n'
    )


@pytest.mark.parametrize(
    "options, needle",
    [
        (["--self-examples"], "--self-examples shows the task's solved examples, and it shows none: give --shots N"),
        (["--corrector-backend", "hf"], "--corrector-backend loads a corrector of its own; --corrector self rewrites"),
    ],
)
def test_self_options_it_would_ignore_are_refused_before_models_load(tmp_path, options, needle):
    """--self-examples on a task that shows no solved examples, and --corrector-backend, were
    ignored without a word (the run file saying the examples had been shown)."""
    args = ["generate", "--generator", str(tmp_path / "no-model"), "--corrector", "self", "--rounds", "1", *options]
    result = CliRunner().invoke(app, args + ["--output", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and needle in " ".join(result.stderr.split())


def test_a_self_rewrite_prompt_past_the_context_keeps_its_draft_not_its_tail(caplog):
    """The trained corrector keeps within the context (its question is never cut); the self
    corrector sent its rewrite prompts through as they were, and the generator cut their
    start: the question, the examples, even the draft (a 15,000-character feedback made every
    rewrite garbage)."""
    from correct.corrector.self_refine import SelfRefine
    from correct.generators import load_generator
    from correct.tasks import TASKS

    gen = load_generator(TASKS["arithmetic"].generator)
    corrector = SelfRefine(gen)
    with caplog.at_level("WARNING"):
        out = corrector.correct(
            ["Tom has 3 cards.", "Tom has 3 cards. How many cards does Tom have now?"],
            ["x = 1\nprint(x)", "x = 3\nprint(x + 1)"],
            ["printed 1 " * 200, "printed 4"],
            SamplingParams(temperature=0.0, max_new_tokens=48),
        )
    assert out[0] == ["x = 1\nprint(x)"] and corrector.last_kept == {0} and len(out[1]) == 1
    assert "1 corrector inputs fill its context by themselves" in caplog.text
    assert gen.truncated_prompts == 0


def test_generate_with_self_counts_each_token_once(tiny_lm_dir, tmp_path):
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--task",
            "arithmetic",
            "--generator",
            tiny_lm_dir,
            "--corrector",
            "self",
            "--rounds",
            "2",
            "--limit",
            "4",
            "--no-baseline",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(lines) == 4 and all(len(l["rounds"]) == 3 for l in lines)
    metrics = json.loads(out.with_suffix(".metrics.json").read_text())
    # one model drafted and rewrote: every token it decoded is counted, none twice
    assert 0 < metrics["tokens"] <= 48 * sum(metrics["round_decodes"])


@pytest.mark.slow
def test_self_through_an_endpoint_and_in_serve(tmp_path):
    """`correct serve --corrector self` answers with rounds; `correct generate --backend openai
    --corrector self` drafts and rewrites through that endpoint (no local model at all)."""
    pytest.importorskip("fastapi")
    openai = pytest.importorskip("openai")
    from harness import Launched

    with Launched(
        ["--task", "arithmetic", "--corrector", "self", "--rounds", "1"], env={"OMP_NUM_THREADS": "1"}
    ) as server:
        client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=60)
        out = client.completions.create(
            model="correct-arithmetic",
            prompt="Tom has 3 cards. He buys 4 more. How many now?",
            extra_body={"return_rounds": True},
        )
        rounds = out.choices[0].model_extra["rounds"]
        assert [r["round"] for r in rounds] == [0, 1] and out.choices[0].text == rounds[-1]["text"]
        records = tmp_path / "in.jsonl"
        records.write_text(
            json.dumps({"id": "a", "prompt": "Tom has 3 cards. He buys 4 more. How many now?", "answer": "7"}) + "\n"
        )
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "correct.cli",
                "generate",
                "--backend",
                "openai",
                "--base-url",
                server.url,
                "--generator",
                "correct-arithmetic",
                "--input",
                str(records),
                "--value",
                "program",
                "--corrector",
                "self",
                "--rounds",
                "1",
                "--no-baseline",
                "--max-new-tokens",
                "48",
                "--output",
                str(tmp_path / "out.jsonl"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr
    line = json.loads((tmp_path / "out.jsonl").read_text())
    assert [r["round"] for r in line["rounds"]] == [0, 1]


def test_doctests():
    import doctest

    from correct.corrector import self_refine

    result = doctest.testmod(self_refine)
    assert result.attempted > 0 and result.failed == 0
