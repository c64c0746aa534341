"""Training beyond one process: ``correct train`` under ``accelerate launch`` (or ``torchrun``).

Data-parallel in every step of the loop: each process drafts, scores and explores its share of
the prompts and the shares are gathered, so all processes hold the same pool in the same order;
each then samples the same pairs (same seed) and transformers' Trainer splits every batch across
them (DDP over NCCL on GPUs, gloo on CPUs; DeepSpeed or FSDP when ``accelerate launch`` is given
such a config). Only the main process writes the pool, the logs and the saved corrector.

With one process every function here is the identity, so the single-process path is unchanged.
"""

from __future__ import annotations

import os
from typing import Sequence, TypeVar

T = TypeVar("T")


def launched() -> bool:
    """Started by a distributed launcher (accelerate launch, torchrun) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


_state = None


def state():
    """accelerate's ``PartialState``, which joins the process group on first use (gloo when
    there is no GPU: ``cpu=True`` is what makes accelerate pick MULTI_CPU)."""
    global _state
    if _state is None:
        import torch
        from accelerate import PartialState

        _state = PartialState(cpu=not torch.cuda.is_available())
    return _state


def world() -> int:
    return state().num_processes if launched() else 1


def rank() -> int:
    return state().process_index if launched() else 0


def is_main() -> bool:
    return rank() == 0


def device() -> str | None:
    """This process's device (its own GPU under a launcher), or None to let the backend choose."""
    if not launched():
        return None
    return str(state().device)


def shard(items: Sequence[T]) -> list[T]:
    """This process's share: every world()-th item from its rank."""
    return list(items[rank() :: world()])


def unshard(mine: Sequence[T], n: int) -> list[T]:
    """The inverse of ``shard``: the results for all ``n`` items in their original order, on
    every process, from each process's results for its share."""
    if world() == 1:
        return list(mine)
    from accelerate.utils import gather_object

    parts = gather_object([list(mine)])
    out: list = [None] * n
    for r, part in enumerate(parts):
        out[r :: len(parts)] = part
    return out


def sharded_parameters() -> str | None:
    """The name of the launcher setting that shards parameters across processes, if any.
    Exploration decodes with each process's own whole copy of the weights between
    iterations, which sharding takes away; DDP and DeepSpeed ZeRO-1/2 keep it."""
    flag = lambda name: os.environ.get(name, "false").lower() in ("true", "1")
    if flag("ACCELERATE_USE_FSDP"):
        return "FSDP"
    if flag("ACCELERATE_USE_DEEPSPEED") and os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE") == "3":
        return "DeepSpeed ZeRO-3"
    return None


def barrier() -> None:
    if world() > 1:
        state().wait_for_everyone()


def per_process_batch(batch_size: int) -> int:
    """``--batch-size`` is the global batch: each process takes its share of it, so a run with
    N processes takes the same optimizer steps on the same batch size as a run with one."""
    return max(1, -(-batch_size // world()))
