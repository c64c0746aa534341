"""torch's threads follow the cores this process can really use (generators/threads.py): the
affinity, a cgroup quota, and what other processes keep busy; --threads or OMP_NUM_THREADS fix
them. Checked on files laid out as Linux lays them out, and on a machine made busy for real."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import torch

from correct.generators import SamplingParams, threads
from correct.generators.hf import HFGenerator


def test_cgroup_quotas_v2_v1_and_none(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert threads.cgroup_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads.cgroup_quota(tmp_path) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads.cgroup_quota(v1) == 3.0
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cgroup_quota(v1) is None and threads.cgroup_quota(tmp_path / "none") is None


def test_a_quota_caps_the_usable_cores(tmp_path):
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a core: one thread
    assert threads.usable_cores(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads.usable_cores(tmp_path) == len(__import__("os").sched_getaffinity(0))


def _task(folder, tid, name, state):
    (folder / str(tid)).mkdir(parents=True)
    (folder / str(tid) / "stat").write_text(f"{tid} ({name}) {state} 1 1 1 0 -1 4194560 0 0\n")


def test_others_running_leaves_out_this_process_own_threads(tmp_path):
    (tmp_path / "stat").write_text("cpu  1 2 3\nprocs_running 6\nprocs_blocked 0\n")
    tasks = tmp_path / "self" / "task"
    _task(tasks, 10, "python", "R")
    _task(tasks, 11, "pt_main) S (x", "R")  # a thread name with parentheses and a state-like word in it
    _task(tasks, 12, "python", "S")
    assert threads.others_running(tmp_path) == 4
    assert threads.others_running(tmp_path / "nothing") == 0  # no /proc: nothing known to be busy


def test_the_threads_follow_a_machine_made_busy():
    """As many busy processes as there are usable cores: every core is taken, one thread is left."""
    cores = threads.usable_cores()
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        time.sleep(0.5)
        assert threads.others_running() >= cores
        assert threads.auto() == 1
    finally:
        for p in burners:
            p.kill()
            p.wait()


def test_fixed_threads_win_over_the_environment_and_the_machine(monkeypatch):
    before, fixed = torch.get_num_threads(), threads._fixed
    monkeypatch.setattr(threads, "auto", lambda: 3)
    try:
        threads.configure(None)
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        assert threads.apply() == 3 and torch.get_num_threads() == 3
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert threads.apply() == 2 and torch.get_num_threads() == 2
        threads.configure(1)
        assert threads.apply() == 1 and torch.get_num_threads() == 1
    finally:
        threads.configure(fixed)
        torch.set_num_threads(before)


def test_a_programs_own_torch_threads_are_kept_once_the_engine_has_begun(monkeypatch):
    """A library user's ``torch.set_num_threads`` between the engine's calls is their choice:
    the next call keeps it, whatever the machine's load says, until ``configure(None)``."""
    before, fixed = torch.get_num_threads(), threads._fixed
    monkeypatch.setattr(threads, "auto", lambda: 3)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        threads.configure(None)
        assert threads.apply() == 3
        assert threads.apply() == 3  # its own count again: still following the machine
        torch.set_num_threads(2)
        assert threads.apply() == 2 and torch.get_num_threads() == 2
        monkeypatch.setattr(threads, "auto", lambda: 1)
        assert threads.apply() == 2  # kept, load or not
        threads.configure(None)
        assert threads.apply() == 1 and torch.get_num_threads() == 1
        # OpenMP keeps a count per thread: another thread's own calls are no choice of this one's
        monkeypatch.setattr(threads, "auto", lambda: 2)
        worker = ThreadPoolExecutor(1)
        assert worker.submit(threads.apply).result() == 2
        monkeypatch.setattr(threads, "auto", lambda: 1)
        assert threads.apply() == 1 and worker.submit(threads.apply).result() == 1
        assert threads._fixed is None
        worker.shutdown()
    finally:
        threads.configure(fixed)
        torch.set_num_threads(before)


def test_each_decoding_call_sets_the_threads(tiny_lm_dir, monkeypatch):
    before, fixed = torch.get_num_threads(), threads._fixed
    gen = HFGenerator.from_pretrained(tiny_lm_dir, device="cpu")
    try:
        threads.configure(None)
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.setattr(threads, "auto", lambda: 2)
        torch.set_num_threads(1)
        gen.generate(["Question: 1 + 1"], SamplingParams(temperature=0, max_new_tokens=2))
        assert torch.get_num_threads() == 2
    finally:
        threads.configure(fixed)
        torch.set_num_threads(before)


def test_a_training_iteration_looks_again_at_the_cores_as_it_runs(tiny_lm_dir, tmp_path, monkeypatch):
    """An iteration can run for half an hour: the cores free as it began are not its count to
    the end. Here the machine is busy as it starts (one thread) and then idle (two)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from correct.corrector.training import fit
    from correct.corrector.training.config import TrainConfig

    before, fixed = torch.get_num_threads(), threads._fixed
    model, tok = AutoModelForCausalLM.from_pretrained(tiny_lm_dir), AutoTokenizer.from_pretrained(tiny_lm_dir)
    looks = []

    def auto():  # busy at the first look, idle after
        looks.append(1)
        return 1 if len(looks) == 1 else 2

    monkeypatch.setattr(threads, "auto", auto)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(fit, "FOLLOW_SECONDS", 0.0)  # every step
    try:
        threads.configure(None)
        config = TrainConfig(batch_size=2, learning_rate=1e-3, seed=0, steps=3)
        fit.train_lm(model, tok, [("Question: 1 + 1\nAnswer:", " 2")] * 4, 3, config, tmp_path / "out")
        assert len(looks) >= 3  # as the iteration began, and again before its later steps
        assert torch.get_num_threads() == 2
    finally:
        threads.configure(fixed)
        torch.set_num_threads(before)


def test_threads_option_reaches_the_engine(tiny_lm_dir, tmp_path):
    from typer.testing import CliRunner

    from correct.cli import app

    fixed = threads._fixed
    try:
        result = CliRunner().invoke(
            app,
            [
                "generate",
                "--task",
                "arithmetic",
                "--generator",
                tiny_lm_dir,
                "--rounds",
                "0",
                "--limit",
                "2",
                "--no-baseline",
                "--threads",
                "3",
                "--output",
                str(tmp_path / "o.jsonl"),
            ],
        )
        assert result.exit_code == 0, result.output
        assert threads._fixed == 3 and torch.get_num_threads() == 3
    finally:
        threads.configure(fixed)
        torch.set_num_threads(1)
    result = CliRunner().invoke(app, ["generate", "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output


def test_doctests():
    import doctest

    result = doctest.testmod(threads)
    assert result.attempted > 0 and result.failed == 0
