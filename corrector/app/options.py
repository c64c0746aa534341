"""Options turned into the pieces of a run: where records come from, which models (loading.py
loads them), which value and sampling settings. The command line's own settings are
dataclasses here (their fields are its options, see args.py), each setting that several
commands take written once (``TaskChoice``, ``Sampling``); a task's defaults are filled in one
place (``Defaults``), and the cheap checks (files, names, options) come before anything heavy
is imported or loaded."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Literal

from ...errors import check_choices, half_surrogate
from ...generators.base import Api, BackendName, Dtype, SamplingParams
from ...generators.named import missing_path
from ...tasks import DEFAULT_TASK, Task, few_shot_prompt, get_task, plain_prompt
from ...tasks.data import without_splits
from ...tasks.task import unshown
from ..progress import Mode
from ..training.config import PAIRED, TrainConfig
from .args import UsageError

SEED_RANGE = {"min": -(2**63), "max": 2**63 - 1}
"""Seeds are 64-bit, as torch's generator takes them (a larger one overflows deep in decoding)."""


@dataclass(frozen=True)
class Backend:
    """How the generator is reached and run; shared by generate, train and serve."""

    backend: BackendName = "hf"
    """Generator backend: hf | vllm | openai (any OpenAI-compatible endpoint)."""
    base_url: str | None = None
    """openai backend: endpoint, e.g. http://localhost:8000/v1 (default: $OPENAI_BASE_URL)."""
    api_key: str | None = field(default=None, metadata={"flag": "backend-api-key"})
    """openai backend: the endpoint's API key (default: $OPENAI_API_KEY). `correct serve`'s own
    key, the one its clients bear, is --api-key."""
    api: Api = "completions"
    """openai backend: completions | chat."""
    concurrency: int = field(default=8, metadata={"min": 1})
    """openai backend: requests in flight at once."""
    request_timeout: float = field(default=60.0, metadata={"min": 0.1, "max": 86_400.0})
    """openai backend: seconds each read of an answer may wait (a request's deadline in all is
    twice this times its tries, plus two minutes a retry)."""
    retries: int = field(default=4, metadata={"min": 0, "max": 100})
    """openai backend: retries of a request that failed on the way (connection, 408, 429, 5xx)."""
    progress: Mode = "auto"
    """Progress on stderr: bar (redrawn; on a terminal) | plain (a line every 30 s with
    done/total, rate and time left: for nohup, logs and job schedulers) | none | auto (a bar on
    a terminal, else plain lines)."""
    threads: int | None = field(default=None, metadata={"min": 1})
    """torch threads of the models run on this machine's CPU, for one batch at a time (default:
    $OMP_NUM_THREADS, else the engine follows the machine: a decoding call's batches side by
    side, one thread each, as many as the cores this process may use; and for other work the
    cores less those other processes keep busy, looked at again before every batch)."""

    def __post_init__(self):
        check_choices(self)


@dataclass(frozen=True)
class Models:
    """Which corrector refines the drafts, and where local models run; shared by generate and serve."""

    corrector: str | None = None
    """Corrector model folder or hub id; `self` (the generator rewrites its own drafts, no
    training); or a corrector shipped with correct, by name: arithmetic, concepts, detox, or
    general (for any task; given failing drafts only) (default: the task's)."""
    corrector_backend: BackendName | None = None
    """Backend the corrector decodes with (default: --backend; hf when that is openai)."""
    dtype: Dtype | None = None
    """dtype the local models (generator and corrector) are loaded in: float32 | bfloat16 |
    float16 | auto (default: the backend's own; an endpoint's model is the endpoint's business)."""
    device: str | None = None
    """Device of the local models under the hf backend: cpu, cuda, cuda:1, ... (default: cuda
    when there is one, else cpu; vLLM places its own)."""
    self_examples: bool = False
    """With --corrector self and a completion model: show the task's solved examples as
    corrections (another example's solution fixed, with its feedback; a right answer kept)
    instead of as plain solved examples."""
    refine: Literal["all", "failing"] | None = None
    """Which drafts the corrector is given each round: all (every draft not known to be solved: at a
    reference-free value's maximum, or passing its record's tests)
    | failing (only drafts known to fall short without references: a program that raises,
    prints nothing, times out or fails its tests, or below a reference-free value's maximum; for a corrector
    that never saw the task and cannot tell its right drafts from wrong ones). Default: the
    corrector's own (its correct_config.json), else all."""

    def __post_init__(self):
        check_choices(self)


@dataclass(frozen=True)
class TaskChoice:
    """The task, and the generator and value that stand in for its own; shared by generate, train and serve."""

    task: str | None = None
    """Built-in task (see `correct tasks`) or a task file (.yaml): its prompt format, models and
    value are the defaults, and its records are refined unless --input or --dataset gives
    others; `correct train` also takes a mixture file of several tasks. Without it: arithmetic,
    unless records (generate, train) or a --generator (serve) are given."""
    generator: str | None = None
    """Generator model: hub id, local path, named generator (smollm2), or the endpoint's model
    for --backend openai (default: the task's). Under train, the one whose drafts fill the pool."""
    value: str | None = None
    """Value function that scores drafts and gives the corrector feedback (see `correct values`),
    or module:function (default: the task's)."""
    shots: int | None = field(default=None, metadata={"min": 0})
    """Solved examples of the task shown before each generator prompt, for a general pretrained
    generator such as `smollm2` (default: the task file's `shots.k`, else 0)."""


@dataclass(frozen=True)
class Sampling:
    """How the generator and the corrector decode; shared by generate and serve (under serve,
    what a request leaves out)."""

    temperature: float = field(default=0.0, metadata={"min": 0.0})
    """Sampling temperature of generator and corrector (0: greedy)."""
    max_new_tokens: int | None = field(default=None, metadata={"min": 1})
    """Token budget per completion (default: the task's, else 128)."""
    seed: int = field(default=0, metadata=SEED_RANGE)
    """Seed of the task's problems and of sampling."""


@dataclass(frozen=True)
class Source:
    """Where the records come from, when not from the task; shared by generate and train (train
    reads the train split, 2000 records, unless told otherwise)."""

    input: Path | None = None
    """File of records (.jsonl, .json, .csv, .parquet): `prompt` (or the task's field mapping),
    task fields, optional `id`."""
    dataset: str | None = None
    """A `datasets` dataset (hub id, local folder, or one save_to_disk wrote) or a local .jsonl/.json/.csv/.parquet file
    with a `prompt` column (or the task's field mapping)."""
    dataset_config: str | None = None
    """Config name of --dataset (e.g. main for openai/gsm8k)."""
    split: str = field(default="test", metadata={"unread_with": lambda v: _whole_file(v)})
    """Split of the task or dataset (not of a file or one saved Dataset, read whole)."""
    limit: int | None = field(default=None, metadata={"min": 1})
    """Use only the first N records (default: all of a file; a task's own number)."""


@dataclass(frozen=True)
class GenerateArgs:
    output: Path = Path("generations.jsonl")
    """Output JSONL, written line by line."""
    metrics: Path | None = None
    """Metrics JSON (default: OUTPUT with .metrics.json)."""


@dataclass(frozen=True)
class TrainArgs:
    output: Path | None = field(default=None, metadata={"required": True})
    """Folder for the trained model, pool, pairs, logs and model card."""
    init: str | None = None
    """Model the corrector starts from: a folder, hub id, named generator or a shipped corrector
    by name, which first explores the new pool (default: the generator; `tiny` builds a new
    one for sft)."""
    eval_limit: int = field(default=100, metadata={"min": 0})
    """Held-out records of the task's validation split the trained corrector is measured on,
    3 rounds (results in eval.json and the model card; 0: none)."""


@dataclass(frozen=True)
class ServeArgs:
    host: str = "127.0.0.1"
    """Address to listen on."""
    port: int = field(default=8000, metadata={"min": 0, "max": 65535})
    """Port to listen on (0: one the system picks, printed once bound)."""
    model_name: str | None = None
    """Model id the server answers to (default: correct-TASK, or the generator's name)."""
    server_api_key: str | None = field(default=None, metadata={"flag": "api-key"})
    """Key every request but /health must bear as 'Authorization: Bearer KEY' (default:
    $CORRECT_API_KEY; none: anyone who reaches the port may use it)."""
    allowed_origins: str | None = None
    """Origins whose web pages may call the server, comma-separated, or '*' (CORS; default: none)."""


@dataclass(frozen=True)
class Defaults:
    """What a run uses for each setting left out: the option, else the task's, else the one that
    holds without a task. The one place a task's defaults are filled in (``training`` for
    ``correct train``'s settings)."""

    task: Task | None
    generator: str | None
    corrector: str | None
    value: str | None
    max_new_tokens: int
    stop: tuple[str, ...]
    value_from_task: bool = False
    """Whether the value is the task file's (its errors then name the file and line)."""

    @classmethod
    def of(
        cls,
        task: Task | None,
        generator: str | None = None,
        corrector: str | None = None,
        value: str | None = None,
        max_new_tokens: int | None = None,
        stop: tuple[str, ...] | None = None,
    ) -> "Defaults":
        return cls(
            task=task,
            generator=generator or (task.generator if task else None),
            corrector=corrector or (task.corrector if task else None),
            value=value or (task.value if task else None),
            max_new_tokens=max_new_tokens or (task and task.max_new_tokens) or SamplingParams.max_new_tokens,
            stop=tuple(stop if stop is not None else task.stop if task else ()),
            value_from_task=bool(task and task.source and not value),
        )

    def sampling(self, s: Sampling) -> SamplingParams:
        """The decoding settings of generate and serve: the options, the task's token budget and stop strings."""
        return SamplingParams(
            temperature=s.temperature, max_new_tokens=self.max_new_tokens, stop=self.stop, seed=s.seed
        )

    def training(self, config: TrainConfig) -> TrainConfig:
        """``correct train``'s settings with those left out filled from the task (pool temperature,
        ε, token budget, stop strings), then with the defaults that hold without one."""
        t = self.task
        if t is not None:
            config = replace(
                config,
                temperature=t.pool_temperature if config.temperature is None else config.temperature,
                min_gain=t.min_gain if config.min_gain is None and config.method in PAIRED else config.min_gain,
                max_new_tokens=config.max_new_tokens or t.max_new_tokens,
                stop=t.stop if config.stop is None else config.stop,
            )
        return config.resolved()

    def load_value(self):
        """The value. One a task file names is imported with the file's folder importable (a
        ``values.py`` beside it), and its errors name the file and line, not ``--value``."""
        from ...values import ValueFunctionError, load_value
        from ...values.registry import importable_from

        if not self.value_from_task:
            return load_value(self.value)
        from ...tasks.file import key_at

        importable_from(Path(self.task.source).resolve().parent, self.value)
        try:
            return load_value(self.value)
        except ValueFunctionError as e:
            why = str(e).replace(f"value {self.value!r}:", f"{self.value!r}:")  # the key names it already
            raise ValueFunctionError(f"{key_at(self.task.source, 'value')}: key 'value': {why}") from None

    @property
    def generator_options(self) -> dict:
        """What the task asks of the generator's backend (its chat template)."""
        return {"chat_template": True} if self.task and self.task.chat_template else {}

    def require(self, rounds: int, source: str = "--input/--dataset", task: Task | None = None) -> None:
        """What a run needs that neither the options nor ``task`` gave; the message names the
        task file that names none, or else ``source``."""
        why = f": {task.source or task.name} names none" if task else f" with {source} when no --task gives a default"
        if not self.generator:
            raise UsageError(f"--generator is needed{why}")
        if not self.value:
            raise UsageError(f"--value is needed{why}")
        if rounds and not self.corrector:
            raise UsageError(
                "--rounds > 0 needs --corrector (or a --task that ships one); use --rounds 0 to keep the drafts"
            )
        check_local("--corrector", self.corrector if rounds else None)


def check_local(option: str, path: str | None) -> None:
    """A model given as a path (not a hub id or a named generator) must exist, and the error
    names the option, before anything is loaded."""
    if path and missing_path(path):
        raise UsageError(f"{option} {path}: no such folder")
    local = Path(path).expanduser() if path else None
    if local is not None and local.is_dir() and not any((local / f).is_file() for f in MODEL_FILES):
        raise UsageError(
            f"{option} {path}: a folder with no model in it (none of {', '.join(MODEL_FILES)}); "
            "give a saved model's folder"
        )


MODEL_FILES = ("config.json", "adapter_config.json")
"""What a saved model's folder holds: a transformers model's config, or a peft adapter's."""


TRAIN_SOURCE = {"split": "train", "limit": 2000}
"""Where ``correct train`` reads by default: 2000 records of the train split."""


def _whole_file(values: dict) -> str | None:  # what leaves --split unread: --input, or a --dataset without splits
    return "input" if values.get("input") is not None else "dataset" if without_splits(values.get("dataset")) else None


def load_records(
    source: Source, task: str | None, seed: int, required=("prompt",), shots: int | None = None
) -> tuple[list[dict], Task | None]:
    """(records, task or None) from exactly one source: --input, --dataset, else the task's own
    (the built-in default task if none). A task's field mapping applies to --input and
    --dataset too, and its prompt's fields are checked on every record before anything is loaded.
    A task's own split that its solved examples come from (``shots``, else the task's number)
    starts after them (``unshown``): a problem is never shown its own solution."""
    from ...tasks.data import RecordError, read_file, read_hub
    from ...tasks.file import check_fields
    from ...tasks.task import unshown_file

    if source.input and source.dataset:
        raise UsageError("give --input or --dataset, not both")
    t = get_task(task) if task else None
    fields = t.fields if t else None
    if source.input:
        records, where = read_file(source.input, required, fields), str(source.input)
        records = unshown_file(t, source.input, records, shots) if t else records  # none its own example
    elif source.dataset:
        where = f"--dataset {source.dataset}"
        try:
            if Path(source.dataset).is_file():
                records = read_file(source.dataset, required, fields)
                records = unshown_file(t, source.dataset, records, shots) if t else records
            else:
                records = read_hub(source.dataset, source.dataset_config, source.split, required, fields)
        except RecordError as e:
            raise UsageError(f"--dataset: {e}") from None
    else:
        t = t or get_task(DEFAULT_TASK)
        n = source.limit or t.default_limit
        within(t, n, "--limit")
        records = unshown(t, source.split, n, shots, seed)
        if not records:
            raise UsageError(f"{t.source or f'task {t.name!r}'}: split {source.split!r} has no records")
        where = f"{t.source or f'task {t.name!r}'}, split {source.split!r}"
        note_unlabeled(as_text(records, where), where, t.fields)
        return records, t
    if not records:
        raise UsageError(f"{where}: no records (the file is empty)")
    records = records[: source.limit] if source.limit else records
    if t:
        check_fields(t, records, where)
    note_unlabeled(as_text(records, where), where, fields)
    return records, t


def as_text(records: list[dict], where: str) -> list[dict]:
    """Every question is text: a number (a CSV's numeric column) becomes its digits; anything
    else (null, a list, an object) is refused, naming the record, before a tokenizer meets it."""
    for r in records:
        q = r.get("prompt")
        if isinstance(q, (int, float)) and not isinstance(q, bool):
            r["prompt"] = str(q)
        elif not isinstance(q, str):
            raise UsageError(f"{where}: record {r['id']!r} has a 'prompt' that is {json_type(q)}, not text")
        elif half := half_surrogate(q):
            raise UsageError(
                f"{where}: record {r['id']!r} has a 'prompt' with half a surrogate pair ({half}), which is not text"
            )
    return records


def json_type(v) -> str:
    return {type(None): "null", bool: "true or false", list: "a list", dict: "an object"}.get(type(v), type(v).__name__)


def within(t: Task, n: int | None, option: str) -> None:
    """A task that makes its records in Python holds at most ``max_records`` per split: asking
    for more is refused at once, rather than filling memory for minutes."""
    if n is not None and t.max_records is not None and n > t.max_records:
        raise UsageError(f"{option} {n}: task {t.name!r} makes at most {t.max_records:,} records per split")


def note_unlabeled(records: list[dict], where: str, fields: dict[str, str] | None = None) -> None:
    """Say it when some records lack a field that the others have (a CSV's empty ``answer``
    cells): they are refined all the same, but count as unlabeled in the metrics. The question
    and the id are no label, nor the columns ``fields`` takes them from."""
    import logging

    have: dict[str, int] = {}
    for r in records:
        for k, v in r.items():
            if v is not None and v != "":
                have[k] = have.get(k, 0) + 1
    for k, n in have.items():
        if 0 < n < len(records) and k not in ("id", "prompt", *((fields or {}).get(f) for f in ("id", "prompt"))):
            logging.getLogger("correct").warning(
                f"{where}: {len(records) - n} of {len(records)} records have no {k!r}; they are refined all the same "
                "and count as unlabeled where the value needs it"
            )


def prompt_format(t: Task | None, shots: int | None, seed: int) -> Callable[[dict], str]:
    """How the generator is prompted: the task's format (after ``shots`` solved examples), or
    a record's prompt as it is."""
    if t is None:
        if shots:
            raise UsageError("--shots shows a task's solved examples; it needs --task")
        return plain_prompt
    return few_shot_prompt(t, shots, seed)
