"""``correct serve``: the engine behind the OpenAI-compatible HTTP server (``server.py``) whose
answers are the generator's drafts refined by the corrector.

Requests are gathered into batches by one worker thread (requests that
arrive together are decoded together, as vLLM's server does), so the models never run
concurrently with themselves; at most ``max_pending`` completions wait or run at once, and
a request beyond that gets 429 (the ``openai`` client retries those with back-off).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from ...generators import Generator, GeneratorError, SamplingParams
from ...values import Value, ValueFunctionError
from ..model import Corrector
from ..refine import MAX_ROUNDS, Rewrites, draft_steps, refine


class Busy(Exception):
    """More completions asked for than the server admits at once."""


class Draining(Exception):
    """The server is shutting down: it finishes what it admitted and takes nothing new."""

    def __init__(self):
        super().__init__("server shutting down: it finishes the requests it has and takes no new ones")


class BadRequest(Exception):
    """A request the server cannot answer as asked: 400 with this message."""

    def __init__(self, message: str, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.param, self.status = param, status


@dataclass(frozen=True)
class ServeConfig(Rewrites):
    model_name: str = field(default="correct", metadata={"cli": False})
    """The model id clients ask for (and ``/v1/models`` lists)."""
    rounds: int = field(default=3, metadata={"min": 0, "max": MAX_ROUNDS})
    """Corrector rounds when a request does not ask for its own `rounds`."""
    batch_size: int = field(default=16, metadata={"min": 1})
    """Completions decoded together."""
    max_pending: int = field(default=64, metadata={"min": 1})
    """Completions admitted at once (queued or running); requests beyond get 429."""
    batch_wait: float = field(default=0.01, metadata={"min": 0.0, "max": 60.0})
    """Seconds the worker waits for more requests to fill a batch once it has one."""
    drain_timeout: float = field(default=60.0, metadata={"min": 0.0, "max": 86_400.0})
    """On SIGTERM (or Ctrl-C): seconds completions already admitted may take to finish while
    new requests get 503; then the server exits (a second signal exits at once)."""
    max_request_bytes: int = field(default=1 << 20, metadata={"min": 1})
    """The largest request body taken, in bytes; a larger one gets 413 before it is parsed."""
    params: SamplingParams = field(default=SamplingParams(temperature=0.0), metadata={"cli": False})
    """Defaults for what a request leaves out (its stop strings are always applied)."""


@dataclass
class _Item:
    record: dict
    prompt: str
    params: SamplingParams
    rounds: int
    future: Future
    on_text: Callable[[str], None] | None = None
    """With rounds 0 and a generator that streams: receives the draft's text as it is decoded."""
    alone: object = None
    """Set (to one token per request) when the request's answer must be its seed's alone: it is
    decoded in batches of its own completions only, seeded with its seed."""
    part: int = 0
    """Its place among its request's completions, and how many they are: a seeded request's
    batches always split the same, each seeded by its first completion's place (so that its
    choices beyond one batch are not the first batch's draws again)."""
    parts: int = 1

    def key(self):
        # Unseeded requests that differ only in their seed share a batch (one sampler seeds a
        # batch); so do seeded greedy ones (the seed is unused): the openai backend sends a seed
        # with every prompt.
        return (replace(self.params, seed=0), self.rounds, self.alone)


class Engine:
    """Batches completions across requests and runs them through ``refine`` in one thread."""

    def __init__(
        self,
        generator: Generator,
        corrector: Corrector | None,
        value: Value,
        format_prompt: Callable[[dict], str] | None = None,
        config: ServeConfig = ServeConfig(),
    ):
        """``format_prompt``: how a task prompts the generator with a request's text (None: the
        completion prompt is used as it is, a chat through the generator's chat template)."""
        self.generator, self.corrector, self.value = generator, corrector, value
        self.format_prompt, self.config = format_prompt, config
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._held: deque[_Item] = deque()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="correct-serve-engine", daemon=True)
        self.batches = 0
        self.draining = threading.Event()
        """Set when shutdown begins: new completions are refused (503), admitted ones finish."""

    @property
    def pending(self) -> int:
        """Completions admitted and not yet answered."""
        with self._lock:
            return self._pending

    def drain(self, timeout: float) -> bool:
        """Refuse new completions and wait up to ``timeout`` s for the admitted ones; whether
        they all finished."""
        self.draining.set()
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.pending

    def start(self) -> "Engine":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def submit(
        self,
        records: Sequence[dict],
        prompts: Sequence[str],
        params: SamplingParams,
        rounds: int,
        on_text: Sequence[Callable[[str], None] | None] | None = None,
        seeded: bool = False,
    ) -> list[Future]:
        """Queue one request's completions; ``seeded``: the request named its seed, so where the
        answer is sampled (the draft, or the corrections' rewrites) the same request with the
        same seed gets the same answer, whatever else the server is decoding."""
        with self._lock:
            if self.draining.is_set():
                raise Draining()
            if self._pending + len(records) > self.config.max_pending:
                raise Busy(
                    f"server busy: {self._pending} completions in progress, at most {self.config.max_pending} "
                    "(option --max-pending); retry later"
                )
            self._pending += len(records)
        on_text = list(on_text) if on_text is not None else [None] * len(records)
        sampled = params.temperature > 0 or (rounds > 0 and self.config.correction_samples > 1)
        alone = object() if seeded and sampled else None
        items = [
            _Item(r, p, params, rounds, Future(), t, alone, k, len(records))
            for k, (r, p, t) in enumerate(zip(records, prompts, on_text))
        ]
        for item in items:
            self._queue.put(item)
        return [i.future for i in items]

    def _next_batch(self) -> "list[_Item] | None":
        first = self._held.popleft() if self._held else self._queue.get()
        if first is None:
            return None
        batch, key = [first], first.key()
        # Same-settings items held back from an earlier batch go first, then new arrivals.
        for item in [i for i in self._held if i.key() == key][: self.config.batch_size - 1]:
            self._held.remove(item)
            batch.append(item)
        deadline = time.monotonic() + self.config.batch_wait
        # A seeded request's batch is always the same: as many of its completions (queued by now
        # or being queued) as a batch holds, waited for; nothing else shares its key.
        alone = first.alone is not None
        limit = min(self.config.batch_size, first.parts - first.part) if alone else self.config.batch_size
        while len(batch) < limit:
            try:
                item = self._queue.get(timeout=None if alone else max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            (batch if item.key() == key else self._held).append(item)
        return batch

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                self._run(batch)
            finally:
                with self._lock:
                    self._pending -= len(batch)

    def _run(self, batch: list[_Item]) -> None:
        first = batch[0]
        # A request's own seed, moved on by its place (its first batch: the seed as it is);
        # others vary from batch to batch.
        shift = first.part if first.alone is not None else self.batches
        params = replace(first.params, seed=first.params.seed + shift)
        self.batches += 1
        sent: set[int] = set()  # the items whose text has begun to go out to their client
        try:
            if first.rounds == 0:  # drafts only: nothing needs their value or feedback
                streamed = [i.on_text for i in batch]
                if any(streamed) and self.generator.streams:

                    def on_text(k: int, delta: str) -> None:
                        if streamed[k]:
                            sent.add(k)
                            streamed[k](delta)

                    drafts = self.generator.generate([i.prompt for i in batch], params, on_text=on_text)
                else:
                    drafts = self.generator.generate([i.prompt for i in batch], params)
                histories = [[step] for step in draft_steps(self.generator, drafts, params)]
            else:
                histories = refine(
                    [i.record for i in batch],
                    [i.prompt for i in batch],
                    self.generator,
                    self.corrector,
                    self.value,
                    first.rounds,
                    params,
                    samples=self.config.correction_samples,
                    temperature=self.config.correction_temperature,
                )
        except Exception as e:  # noqa: BLE001 - delivered to the waiting request
            if len(batch) > 1:  # one bad record or prompt must not fail the others: find it
                for k, item in enumerate(batch):
                    if k in sent:  # decoded again, its text would go out twice: it fails with the batch
                        item.future.set_exception(e)
                    else:
                        self._run([item])
                return
            first.future.set_exception(
                BadRequest(f"{e} (send the task fields the value needs in the request's `record`)", "record")
                if isinstance(e, ValueFunctionError)
                else e
            )
            return
        except BaseException as e:  # noqa: BLE001 - delivered to the waiting request
            for item in batch:
                item.future.set_exception(e)
            return
        for item, history in zip(batch, histories):
            if history[0].refused:  # the endpoint refused this prompt: its client's error, not ""
                item.future.set_exception(GeneratorError(history[0].refused))
            else:  # a refused rewrite kept its draft (``rewrites_of``), as ``generate`` keeps it
                item.future.set_result(history)
