"""Batches decoded side by side, each on one thread of its own.

torch spreads one batch's operations over its intra-op threads, and they wait for each other
at every operation: on a machine where other jobs take the cores, one thread that has to wait
holds every other one up (docs/benchmarks.md, "threads on a busy machine"). Decoding separate
batches on separate threads, one torch thread each, shares nothing but the weights: a stream
slowed by another job holds up no other. So where the engine follows the machine's load
(``threads``), a call's batches are split into as many streams as there are usable cores.
What a seed gives does not depend on the split: every sample draws its own random numbers
(``sampling``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import torch

from . import threads

Decode = Callable[[list[int]], torch.Tensor]

MIN_WORK = 1e9
"""Weights times rows a stream must decode at each step to be worth a thread of its own. A
stream's Python (``generate``'s loop, every operation's dispatch) holds the interpreter's lock:
a model as small as the built-in tasks' (under a million weights) spends its steps there, and
two streams of it would wait for each other. SmolLM2 (135M weights) streams from 8 rows."""


def decode_batches(
    order: list[int], batch_size: int, decode: Decode, device: torch.device, work: float = float("inf")
) -> Iterator[tuple[list[int], torch.Tensor]]:
    """``(batch, decode(batch))`` for the batches of ``order`` (at most ``batch_size`` each),
    in order. On the CPU, while the engine follows the machine, the batches are as many as the
    usable cores (or more), decoded side by side on one thread each, where each stream gets at
    least ``MIN_WORK`` of the call's ``work`` (weights times rows; 0: one stream)."""
    k = int(min(threads.streams(), len(order), work / MIN_WORK)) if device.type == "cpu" else 1
    k = max(k, 1)
    size = min(batch_size, -(-len(order) // k))
    batches = [order[s : s + size] for s in range(0, len(order), size)]
    if k == 1:
        for idx in batches:
            yield idx, decode(idx)
        return
    before = torch.get_num_threads()
    pool = ThreadPoolExecutor(k, thread_name_prefix="correct-decode")
    try:
        futures = [pool.submit(_on_one_thread, decode, idx) for idx in batches]
        outs = [f.result() for f in futures]
    finally:
        pool.shutdown(cancel_futures=True)
        torch.set_num_threads(before)  # torch's count is the process's: the streams' 1 is not the caller's
    yield from zip(batches, outs)


def _on_one_thread(decode: Decode, idx: list[int]) -> torch.Tensor:
    torch.set_num_threads(1)
    with torch.inference_mode():
        return decode(idx)
