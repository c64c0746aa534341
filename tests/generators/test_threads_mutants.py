"""Behaviour of generators/threads.py, streams.py and sampling.py that no other test pinned
down, each found by a plausible change of the code (a floor for a ceiling, a dropped clamp,
a maximum for a median) that the rest of the suite let through. /proc and the cgroup files
are faked: nothing here depends on this machine's cores or load."""

from __future__ import annotations

import threading

import pytest
import torch

from correct.generators import sampling, streams, threads


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(4)), raising=False)


def _stat(proc, running: int, states: str | None):
    """A /proc with ``procs_running`` and, unless None, this process's threads in ``states``."""
    proc.mkdir(parents=True, exist_ok=True)
    (proc / "stat").write_text(f"cpu  1 2 3\nprocs_running {running}\nprocs_blocked 0\n")
    for tid, state in enumerate(states or ""):
        task = proc / "self" / "task" / str(100 + tid)
        task.mkdir(parents=True)
        (task / "stat").write_text(f"{100 + tid} (python) {state} 1 1 1 0 -1\n")
    return proc


# --------------------------------------------------------------------------- cores


def test_a_fractional_quota_rounds_up_and_caps_the_affinity(tmp_path, four_cores):
    """1.5 cores of quota: two threads (the second has half a core), not one."""
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert threads.usable_cores(tmp_path) == 2
    (tmp_path / "cpu.max").write_text("1000000 100000\n")  # 10 cores of quota, 4 of affinity
    assert threads.usable_cores(tmp_path) == 4


def test_a_v2_quota_is_read_over_its_own_period(tmp_path):
    (tmp_path / "cpu.max").write_text("100000 50000\n")
    assert threads.cgroup_quota(tmp_path) == 2.0


def test_a_v1_period_of_0_is_no_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("0\n")
    assert threads.cgroup_quota(tmp_path) is None


# --------------------------------------------------------------------------- other processes' threads


def test_other_running_threads_are_never_fewer_than_none(tmp_path):
    """procs_running read a moment before this process's own threads: it can be the smaller."""
    assert threads.others_running(_stat(tmp_path, 1, "RRR")) == 0


def test_the_asking_thread_counts_as_running_even_when_the_files_say_otherwise(tmp_path):
    """This process runs at least the thread that asks, whatever state its files show (or when
    they cannot be read): the machine's count less one."""
    assert threads.own_running(_stat(tmp_path / "a", 5, "SS") / "self" / "task") == 1
    assert threads.others_running(_stat(tmp_path / "a2", 5, "SS")) == 4
    assert threads.others_running(_stat(tmp_path / "b", 5, None)) == 4  # no self/task folder


def test_auto_takes_the_median_of_its_looks(monkeypatch):
    looks = iter([0, 3, 1])
    monkeypatch.setattr(threads, "others_running", lambda: next(looks))
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    assert threads.auto(samples=3, gap=0) == 3  # 4 cores less the median look, 1


# --------------------------------------------------------------------------- OMP_NUM_THREADS


@pytest.mark.parametrize("setting, expected", [("0", 1), ("-2", 1), ("6", 6), ("four", None), ("", None)])
def test_omp_num_threads_is_a_count_of_at_least_one_or_nothing(monkeypatch, setting, expected):
    monkeypatch.setenv("OMP_NUM_THREADS", setting)
    assert threads.from_environment() == expected


def test_an_omp_num_threads_that_is_no_number_leaves_the_threads_to_the_machine(monkeypatch):
    before, fixed = torch.get_num_threads(), threads._fixed
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")
    monkeypatch.setattr(threads, "auto", lambda: 2)
    monkeypatch.setattr(threads, "usable_cores", lambda: 3)
    try:
        threads.configure(None)
        assert threads.apply() == 2 and threads.streams() == 3
    finally:
        threads.configure(fixed)
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- streams


def _decode(seen):
    def decode(idx):
        seen.append((threading.get_ident(), list(idx)))
        return torch.zeros(len(idx), 1)

    return decode


def test_a_gpu_call_decodes_on_one_stream(monkeypatch):
    """The streams split a CPU's cores; a GPU's batch is one stream whatever the CPU has."""
    monkeypatch.setattr(threads, "streams", lambda: 4)
    seen: list = []
    got = [idx for idx, _ in streams.decode_batches(list(range(8)), 8, _decode(seen), torch.device("cuda"))]
    assert got == [list(range(8))] and {t for t, _ in seen} == {threading.get_ident()}


@pytest.mark.parametrize(
    "cores, expected", [(1, [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]), (2, [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]])]
)
def test_no_batch_is_larger_than_the_batch_size(monkeypatch, cores, expected):
    monkeypatch.setattr(threads, "streams", lambda: cores)
    size = 3 if cores == 1 else 2
    seen: list = []
    got = [idx for idx, _ in streams.decode_batches(list(range(10)), size, _decode(seen), torch.device("cpu"))]
    assert got == expected and sorted(idx for _, idx in seen) == sorted(expected)


def test_each_stream_decodes_on_one_torch_thread(monkeypatch):
    monkeypatch.setattr(threads, "streams", lambda: 2)
    before = torch.get_num_threads()
    counts = []

    def decode(idx):
        counts.append(torch.get_num_threads())
        return torch.zeros(len(idx), 1)

    torch.set_num_threads(2)
    try:
        list(streams.decode_batches(list(range(4)), 8, decode, torch.device("cpu")))
        assert counts == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- sampling


def test_row_seeds_differ_across_seeds_prompts_and_many_samples():
    """One seed's prompt 1 is not another seed's prompt 0, nor its sample 8 a prompt's next one."""
    seeds = {sampling.row_seed(s, p, n) for s in range(5) for p in range(50) for n in range(20)}
    assert len(seeds) == 5 * 50 * 20


def test_a_draw_of_exactly_0_never_takes_a_token_of_probability_0():
    """``random()`` can return 0.0: the first token whose probability is above 0, not the first."""

    class Zero:
        def random(self):
            return 0.0

    sampler = sampling.RowSampler([0], temperature=1.0)
    sampler.streams = [Zero()]
    scores = torch.tensor([[-float("inf"), -float("inf"), 1.0, 2.0]])
    assert int(sampler(None, scores).argmax(-1)[0]) == 2
