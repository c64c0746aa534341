"""A training budget in CPU-seconds: the CPU time of this process (every thread of it, loading
and drafting included), which another job on the machine hardly changes, unlike wall time.
Methods compared at equal cost (a corrector, rejection-sampling fine-tuning, GRPO) each stop
once they have spent the same budget (bench/new_task.py)."""

from __future__ import annotations

import time

from transformers import TrainerCallback


def cpu_seconds() -> float:
    """CPU-seconds this process has used so far, every thread's user and system time."""
    return time.process_time()


def spent(budget: float | None) -> bool:
    """Whether ``budget`` CPU-seconds (None: no budget) are used up."""
    return budget is not None and cpu_seconds() >= budget


class CpuBudget(TrainerCallback):
    """Ends a transformers/TRL Trainer's run after the optimizer step that spends the budget,
    and adds ``cpu_seconds`` (``offset`` plus this process's) to every log line.

    The step under way finishes, the Trainer saves and logs as at a normal end, and
    ``stopped_at`` holds the step. With a constant learning rate (sft's default) a run cut
    short trains as the same run would have up to there. ``offset``: CPU-seconds spent before
    this process, by the run it resumes (counted in the logs, not in ``budget``)."""

    def __init__(self, budget: float, offset: float = 0.0):
        self.budget = budget
        self.offset = offset
        self.stopped_at: int | None = None

    def on_step_end(self, args, state, control, **kwargs):
        if spent(self.budget):
            control.should_training_stop = True
            self.stopped_at = state.global_step
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        now = self.offset + cpu_seconds()
        if logs is not None:
            logs["cpu_seconds"] = now
        if state.log_history:  # the Trainer appended a copy of ``logs`` before calling back
            state.log_history[-1]["cpu_seconds"] = now
        return control
