"""A training budget in CPU-seconds: the CPU time of this process (every thread of it, loading
and drafting included), which another job on the machine hardly changes, unlike wall time.
Methods compared at equal cost (a corrector, rejection-sampling fine-tuning, GRPO) each stop
once they have spent the same budget (bench/new_task.py)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState


def cpu_seconds() -> float:
    """CPU-seconds this process has used so far, every thread's user and system time."""
    return time.process_time()


def spent(budget: float | None) -> bool:
    """Whether ``budget`` CPU-seconds (None: no budget) are used up."""
    return budget is not None and cpu_seconds() >= budget


class CpuBudget(TrainerCallback, ExportableState):
    """Ends a transformers/TRL Trainer's run after the optimizer step that spends the budget,
    and adds ``cpu_seconds`` (``offset`` plus this process's) to every log line and to every
    step checkpoint (``trainer_state.json``, read back by ``spent_at``).

    The step under way finishes, the Trainer saves and logs as at a normal end, and
    ``stopped_at`` holds the step. With a constant learning rate (sft's default) a run cut
    short trains as the same run would have up to there. ``offset``: CPU-seconds spent before
    this process, by the run it resumes (counted in the logs, not in ``budget``)."""

    def __init__(self, budget: float = math.inf, offset: float = 0.0):
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

    def state(self) -> dict:
        """What a step checkpoint keeps: the run's CPU-seconds by then, every process's."""
        return {"args": {}, "attributes": {"cpu_seconds": self.offset + cpu_seconds()}}


def spent_at(checkpoint: str | Path | None) -> float:
    """The CPU-seconds a run had spent by a Trainer step checkpoint (0 for none): what
    ``CpuBudget`` saved in it, or else the last ``cpu_seconds`` it logged."""
    if checkpoint is None:
        return 0.0
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    saved = state.get("stateful_callbacks", {}).get(CpuBudget.__name__)
    saved = saved[-1] if isinstance(saved, list) else saved
    if saved and "cpu_seconds" in saved.get("attributes", {}):
        return float(saved["attributes"]["cpu_seconds"])
    return max((h.get("cpu_seconds", 0.0) for h in state.get("log_history", [])), default=0.0)
