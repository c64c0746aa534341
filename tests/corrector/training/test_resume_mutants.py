"""How a run's training settings are kept for its resumes (corrector/training/resume.py,
``keep_settings``), where a mutation audit found behaviour unheld: each test here failed on a
one-line change of the source that the rest of the fast suite let through."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from correct.corrector.training import resume
from correct.corrector.training.config import TrainError


def _config(**changed):
    return SimpleNamespace(**{"resume": False, **{name: 0 for name in resume.KEPT}, "lm_corpus": None, **changed})


def _recorded(out):
    return json.loads((out / resume.CHECKPOINTS / resume.SETTINGS).read_text())


def test_a_fresh_run_in_an_old_runs_folder_records_its_own_settings(tmp_path):
    """Only a resume is held to the settings recorded: a fresh run in the folder starts over,
    records its own, and its own resume is held to them, not to the old run's."""
    resume.keep_settings(tmp_path, _config(seed=1), "init")
    resume.keep_settings(tmp_path, _config(seed=2), "init")  # not a resume: no refusal
    assert _recorded(tmp_path)["seed"] == 2
    resume.keep_settings(tmp_path, _config(seed=2, resume=True), "init")
    with pytest.raises(TrainError, match="trained with seed 2, and this one asks for 1"):
        resume.keep_settings(tmp_path, _config(seed=1, resume=True), "init")


def test_a_process_that_does_not_write_leaves_the_settings_unwritten(tmp_path):
    """``write=False`` (a process other than the main one, or the check made before any model
    loads) records nothing: a run that then fails leaves no settings a resume would be held to."""
    resume.keep_settings(tmp_path, _config(seed=1), "init", write=False)
    assert not (tmp_path / resume.CHECKPOINTS).exists()
    resume.keep_settings(tmp_path, _config(seed=1), "init")
    resume.keep_settings(tmp_path, _config(seed=3), "init", write=False)
    assert _recorded(tmp_path)["seed"] == 1


def test_a_local_lm_corpus_is_kept_by_its_absolute_path(tmp_path, monkeypatch):
    """A resume started from another folder names the same corpus by another relative path: the
    same setting, not a changed one."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "corpus.txt").write_text("some text\n")
    monkeypatch.chdir(tmp_path)
    resume.keep_settings(tmp_path / "out", _config(lm_corpus="data/corpus.txt"), "init")
    assert _recorded(tmp_path / "out")["lm_corpus"] == str(tmp_path / "data" / "corpus.txt")
    monkeypatch.chdir(tmp_path / "data")
    resume.keep_settings(tmp_path / "out", _config(lm_corpus="corpus.txt", resume=True), "init")
