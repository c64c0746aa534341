"""Behaviour the rest of the suite left unpinned, found by mutating the corrector modules
(self_refine, outputs, layouts, training/resume): each test here fails with one such change
applied."""

from __future__ import annotations

from correct.corrector.self_refine import SelfRefine, for_task
from correct.generators import SamplingParams
from correct.generators.base import GeneratorBase


class Answering(GeneratorBase):
    """Answers each prompt with its number, says why each answer ended, refuses some prompts
    (as an endpoint's 400 does) and keeps what it was sent."""

    def __init__(self, chat: bool = False, refuse: tuple[int, ...] = (), room: list[int] | None = None):
        self.chat_template, self.refuse, self.rooms, self.sent = chat, refuse, room, []

    def generate(self, prompts, params):
        self.sent.append(list(prompts))
        self.last_refused = [i for i in self.refuse if i < len(prompts)]
        self.last_finish = [["length" if i % 2 else "stop"] * params.n for i in range(len(prompts))]
        return [[f"answer {i}"] * params.n for i in range(len(prompts))]

    def room(self, prompts):
        return None if self.rooms is None else self.rooms[: len(prompts)]


# --------------------------------------------------------------------------- self_refine


def test_a_chat_model_is_shown_the_question_its_draft_and_the_feedback_in_words():
    gen = Answering(chat=True)
    corrector = for_task(gen, lambda r: f"Q: {r['prompt']}\n", lambda r: "Q: 1+1\n2\n\nQ: " + r["prompt"] + "\n")
    corrector.correct([corrector.question({"prompt": "2+3"})], ["print(6)"], ["printed 6"], SamplingParams())
    ((message,),) = gen.sent
    assert message.startswith("Q: 2+3\n") and "1+1" not in message  # the question, without the examples
    assert "Your previous answer:\nprint(6)\n" in message
    assert "Feedback on it: printed 6\n" in message
    corrector.correct([corrector.question({"prompt": "2+3"})], ["print(6)"], [None], SamplingParams())
    assert "Feedback on it: none\n" in gen.sent[1][0]


def test_the_self_correctors_rewrites_say_why_they_ended_and_which_drafts_it_kept():
    """``correct serve`` answers a rewrite's finish_reason from the corrector's ``last_finish``,
    and ``refine`` keeps the reasons of the drafts it kept (``last_kept``)."""
    gen = Answering(refuse=(1,))
    corrector = SelfRefine(gen)
    out = corrector.correct(["a", "b", "c"], ["d0", "d1", "d2"], ["f", "f", "f"], SamplingParams(n=2))
    assert out == [["answer 0"] * 2, ["d1"] * 2, ["answer 2"] * 2]
    assert corrector.last_finish == [["stop"] * 2, ["length"] * 2, ["stop"] * 2]
    assert corrector.last_kept == {1}


def test_records_without_a_task_are_sent_to_a_chat_model_as_one_message():
    """``--input`` records (no task) with a chat model: the message in words, not the completion
    layout (which would end a user message by asking the question again)."""
    from correct.corrector.self_refine import CHAT, of_task

    gen = Answering(chat=True)
    corrector = of_task(gen, None, lambda r: r["prompt"])
    corrector.correct(["How many?"], ["print(2)"], ["printed 2"], SamplingParams())
    assert gen.sent == [[CHAT.format(prompt="How many?", draft="print(2)", feedback="printed 2")]]


def test_self_examples_are_the_solved_examples_of_the_runs_seed():
    """--self-examples under --seed: the examples shown as corrections are the ones the run's
    seed draws (those ``check_self`` checked, and the generator's header shows), not seed 0's."""
    from correct.corrector.self_refine import of_task
    from correct.tasks import TASKS, few_shot_prompt, shot_records
    from correct.values import load_value

    task = TASKS["arithmetic"]
    mine, other = shot_records(task, 2, 5), shot_records(task, 2, 0)
    assert {r["prompt"] for r in mine}.isdisjoint(r["prompt"] for r in other)
    with load_value("program") as value:
        header = of_task(Answering(), task, few_shot_prompt(task, 2, 5), value, shots=2, seed=5).header
    assert all(task.format_prompt(r) in header for r in mine)
    assert not any(task.format_prompt(r) in header for r in other)


# --------------------------------------------------------------------------- outputs


def _line(**extra) -> str:
    import json

    return json.dumps({"id": "a", "prompt": "p", "rounds": [{"text": "x", "value": 1.0}], **extra}) + "\n"


def test_resuming_lines_of_another_baseline_or_fluency_is_refused_naming_the_option(tmp_path):
    """Appending to lines another baseline (its pick, its samples, none) or another fluency
    wrote would mix two runs in one file and its metrics: refused, by the option that differs."""
    import pytest

    from correct.corrector.outputs import RecordError, finished_ids

    path = tmp_path / "out.jsonl"
    path.write_text(_line(self_consistency={"pick": "vote", "samples": 4}))
    same = {"baseline": ("vote", 4), "fluency": False}
    assert finished_ids(path, {"a": "p"}, 0, same) == {"a"}
    for key, mine, option in [
        ("baseline", ("best", 4), "baseline_pick"),
        ("baseline", ("vote", 8), "baseline_samples"),
        ("baseline", None, "baseline"),
        ("fluency", True, "fluency"),
    ]:
        with pytest.raises(RecordError, match=r"out\.jsonl:1: written with") as e:
            finished_ids(path, {"a": "p"}, 0, {**same, key: mine})
        assert e.value.option == option, (key, mine)
    path.write_text(_line(rounds=[{"text": "x", "value": 1.0, "perplexity": 3.5}]))
    assert finished_ids(path, {"a": "p"}, 0, {"baseline": None, "fluency": True}) == {"a"}
    with pytest.raises(RecordError, match="written with perplexities, and this run reports none") as e:
        finished_ids(path, {"a": "p"}, 0, {"baseline": None, "fluency": False})
    assert e.value.option == "fluency"


def test_a_line_from_before_the_baselines_pick_was_written_was_a_vote(tmp_path):
    from correct.corrector.outputs import finished_ids

    path = tmp_path / "out.jsonl"
    path.write_text(_line(self_consistency={"samples": 4}))
    assert finished_ids(path, {"a": "p"}, 0, {"baseline": ("vote", 4), "fluency": False}) == {"a"}


def test_a_json_file_written_whole_is_as_readable_as_any_other(tmp_path):
    """mkstemp makes its file 0600: the metrics a run writes must read as any file the user makes."""
    import os

    from correct.corrector.outputs import write_json_atomic

    umask = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "m.json", {"a": 1})
        (tmp_path / "plain").write_text("")
    finally:
        os.umask(umask)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o644 == (tmp_path / "plain").stat().st_mode & 0o777


# --------------------------------------------------------------------------- training/resume


class _Saved:
    """Enough of an HFGenerator for ``save_checkpoint``."""

    def __init__(self):
        self.model = self.tokenizer = self

    def save_pretrained(self, folder):
        (folder / "weights.txt").write_text("w")


def test_the_initial_explorations_checkpoint_and_iteration_0s_are_two(tmp_path):
    import random

    from correct.corrector.training import resume

    for iteration in (-1, 0):
        resume.save_checkpoint(tmp_path, iteration, _Saved(), random.Random(0), keep=5)
    assert sorted(i for i, _ in resume.checkpoints(tmp_path)) == [-1, 0]


def test_a_resume_continues_from_the_trainers_newest_step_checkpoint_by_number(tmp_path):
    """checkpoint-10 is newer than checkpoint-9 (which sorts after it as text); one not marked
    complete is a kill's half-written folder, removed."""
    from correct.corrector.training import resume

    for step in (2, 9, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / resume.COMPLETE).write_text(f"{step}\n")
    (tmp_path / "checkpoint-11").mkdir()
    assert resume.last_step_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    assert not (tmp_path / "checkpoint-11").exists()


def test_forgetting_a_torn_log_row_leaves_whole_lines_to_append_to(tmp_path):
    """A kill while the log's row was written left half a line: it goes with its stage, even
    where no whole row is dropped, so the next row is not appended to its tail."""
    import json

    from correct.corrector.pool import Pool
    from correct.corrector.training import resume

    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"iteration": -1}) + "\n" + json.dumps({"iteration": 0}) + "\n" + '{"itera')
    resume.forget_after(tmp_path, Pool(tmp_path / "pool.jsonl"), 0)
    assert log.read_text() == json.dumps({"iteration": -1}) + "\n" + json.dumps({"iteration": 0}) + "\n"


def _config(**changed):
    from types import SimpleNamespace

    from correct.corrector.training import resume

    return SimpleNamespace(**{"resume": False, **{name: 0 for name in resume.KEPT}, "lm_corpus": None, **changed})


def test_a_resume_of_a_run_that_recorded_fewer_settings_goes_on(tmp_path):
    """Settings recorded before a setting was added lack it: the resume goes on (the settings it
    recorded are still kept)."""
    import json

    import pytest

    from correct.corrector.training import resume
    from correct.corrector.training.config import TrainError

    resume.keep_settings(tmp_path, _config(seed=1), "init")
    path = tmp_path / resume.CHECKPOINTS / resume.SETTINGS
    older = {k: v for k, v in json.loads(path.read_text()).items() if k != "lora_r"}
    path.write_text(json.dumps(older))
    resume.keep_settings(tmp_path, _config(seed=1, lora_r=8, resume=True), "init")
    with pytest.raises(TrainError, match="trained with seed 1") as e:
        resume.keep_settings(tmp_path, _config(seed=2, resume=True), "init")
    assert e.value.option == "seed"


def test_a_local_init_is_kept_by_its_absolute_path(tmp_path, monkeypatch):
    """A resume from another folder names the same model by another relative path."""
    from correct.corrector.training import resume

    (tmp_path / "models" / "base").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    here = resume.kept_settings(_config(), "models/base")["init"]
    monkeypatch.chdir(tmp_path / "models")
    assert resume.kept_settings(_config(), "base")["init"] == here == str(tmp_path / "models" / "base")
    assert resume.kept_settings(_config(), "org/hub-model")["init"] == "org/hub-model"  # not a path: as given


# --------------------------------------------------------------------------- layouts


def test_an_empty_draft_is_laid_out_for_training_as_at_inference():
    """HIR's refiner rows: an empty previous draft (a generator that wrote nothing) is still a
    draft, shown empty, as the inference template shows it."""
    from correct.corrector.layouts import corrector_input, hir_instruction

    assert hir_instruction("2+2?", True, "", None) == corrector_input("hir", "2+2?", "", None)
    assert "Draft:\n\nFeedback: none\n" in hir_instruction("2+2?", False, "", None)
