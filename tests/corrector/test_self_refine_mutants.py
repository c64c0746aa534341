"""Behaviour of ``--corrector self`` that a mutation audit of corrector/self_refine.py found no
test holding: each test here failed with a one-line change to the source applied."""

from __future__ import annotations

import json

from correct.corrector.self_refine import COMPLETION, for_task, of_task
from correct.generators import SamplingParams
from correct.generators.base import GeneratorBase
from correct.tasks import few_shot_prompt, get_task
from correct.values import load_value


class Recording(GeneratorBase):
    """A completion model that answers 'fixed' and keeps what it was sent."""

    chat_template = False

    def __init__(self):
        self.sent = []

    def generate(self, prompts, params):
        self.sent += list(prompts)
        return [["fixed"] * params.n for _ in prompts]


def _task(tmp_path, extra: str = ""):
    rows = [{"id": f"r{i}", "text": f"City{i} is home to {20 + i} people.", "schema": {"city": "text"},
             "solution": {"city": f"City{i}"}} for i in range(3)]  # fmt: skip
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "t.yaml").write_text(
        'data: d.jsonl\nfields: {prompt: text}\nprompt: "Question: {prompt}\\nJSON: "\nshots: {data: d.jsonl, k: 2}\n'
        'stop: ["Question:", "\\n"]\nvalue: "json:source=text"\n' + extra
    )
    return get_task(str(tmp_path / "t.yaml"))


def test_a_generator_prompt_that_does_not_end_with_the_question_gives_no_header():
    """The header is what the generator's prompt has before the question; a prompt that does
    not end with the question as the task lays it out (here a closing mark after it) has no
    header to find, and the rewrite prompt starts with the question, not with the probe."""
    layout = "Q: {prompt}\n".format_map
    gen = Recording()
    corrector = for_task(gen, layout, lambda r: "Q: example\nA: 1\n\n" + layout(r) + "[end]")
    assert corrector.header == ""
    corrector.correct([corrector.question({"prompt": "2+3"})], ["6"], ["printed 6"], SamplingParams())
    assert gen.sent == [COMPLETION.format(prompt="Q: 2+3\n", draft="6", feedback="printed 6")]
    assert "\x00" not in gen.sent[0]


def test_no_solved_examples_asked_for_shows_none_as_corrections(tmp_path):
    """``shots=0`` with a value: there are no solved examples to make corrections of, so the
    header is the generator's own (none with no shots), not a failure."""
    task = _task(tmp_path)
    with load_value("json:source=text") as value:
        corrector = of_task(Recording(), task, few_shot_prompt(task, 0), value, shots=0)
    assert corrector.header == ""
    assert corrector.input(corrector.question({"prompt": "Oslo"}), "{}", None).startswith("Question: Oslo\nJSON: ")


def test_a_task_files_correction_prompt_reaches_the_self_corrector(tmp_path):
    """``of_task`` (what ``correct generate --corrector self`` builds) rewrites with the task
    file's ``correction_prompt``, after the few-shot header."""
    task = _task(tmp_path, 'correction_prompt: "{prompt}{draft}\\nError: {feedback}\\nFixed:\\n"\n')
    gen = Recording()
    corrector = of_task(gen, task, few_shot_prompt(task))
    assert corrector.template == "{prompt}{draft}\nError: {feedback}\nFixed:\n"
    corrector.correct([corrector.question({"prompt": "Oslo"})], ["{}"], ["no city"], SamplingParams())
    assert gen.sent[0].endswith("Question: Oslo\nJSON: {}\nError: no city\nFixed:\n")
    assert gen.sent[0].startswith(corrector.header) and corrector.header.startswith("Question: City")
