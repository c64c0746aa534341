"""Per-iteration training metrics where people already read them: a JSONL log in the run
folder, and TensorBoard and/or Weights & Biases through transformers' usual ``report_to``
switch (``none``, ``all``, or a list of ``tensorboard``, ``wandb``) when they are installed.

The Trainer of each iteration reports its step-level loss and learning rate to the same
integrations (TensorBoard: ``trainer/iteration-N/runs``); this log adds
the loop's own figures (pool size, pairs, pool mean value, exploration gain, loss, tokens/s),
one point per iteration, under ``tensorboard/loop``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from ...errors import CorrectError

INTEGRATIONS = ("tensorboard", "wandb")


class LogError(CorrectError, ValueError):
    pass


def parse_report_to(spec: str | Sequence[str] | None) -> list[str]:
    """``report_to`` as transformers takes it: "none", "all" (those installed), or names."""
    names = [spec] if isinstance(spec, str) else list(spec or ["none"])
    names = [n.strip() for part in names for n in part.split(",") if n.strip()]
    if names in (["none"], []):
        return []
    if names == ["all"]:
        return [n for n in INTEGRATIONS if _installed(n)]
    unknown = [n for n in names if n not in INTEGRATIONS]
    if unknown:
        raise LogError(
            f"unknown report_to {', '.join(unknown)}; choose none, all, or {', '.join(INTEGRATIONS)}",
            option="report_to",
        )
    missing = [n for n in names if not _installed(n)]
    if missing:
        raise LogError(
            f"report_to {', '.join(missing)}: not installed; pip install {' '.join(missing)}", option="report_to"
        )
    return names


def _installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


class RunLog:
    """Appends one JSON object per iteration to ``folder/log.jsonl`` (flushed and fsync'd)
    and sends its numbers to the chosen integrations."""

    def __init__(self, folder: str | Path, report_to: Sequence[str] = ()):
        self.path = Path(folder) / "log.jsonl"
        self.report_to = list(report_to)
        self._tb = None
        if "tensorboard" in self.report_to:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(Path(folder) / "tensorboard" / "loop"))

    def log(self, row: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
        numbers = {
            k: v for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "iteration"
        }
        step = row.get("iteration", 0)
        if self._tb is not None:
            for key, v in numbers.items():
                self._tb.add_scalar(f"loop/{key}", v, global_step=step)
            self._tb.flush()
        if "wandb" in self.report_to:
            import wandb

            if wandb.run is not None:  # the Trainer's callback starts the run
                wandb.log({f"loop/{k}": v for k, v in numbers.items()} | {"loop/iteration": step})

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
