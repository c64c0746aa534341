"""Tasks: records to correct, how they are prompted, the value that scores them, default models."""

from .registry import DEFAULT_TASK, MODELS, TASKS, get_task, resolve_corrector, shipped_correctors
from .task import Task, TaskError, answer_end, few_shot_prompt, held_out, plain_prompt, shot_records

__all__ = [
    "DEFAULT_TASK",
    "MODELS",
    "TASKS",
    "Task",
    "TaskError",
    "answer_end",
    "few_shot_prompt",
    "shot_records",
    "get_task",
    "held_out",
    "plain_prompt",
    "resolve_corrector",
    "shipped_correctors",
]
