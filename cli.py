"""The `correct` command line: its options are the fields of the config dataclasses
(corrector/app/args.py builds them); each command parses, calls the library, and prints."""

import contextlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from .corrector.app.args import UsageError, command
from .corrector.app.engine import ServeConfig
from .corrector.app.generate import GenerateConfig
from .corrector.app.options import (
    TRAIN_SOURCE,
    Backend,
    GenerateArgs,
    Models,
    Sampling,
    ServeArgs,
    Source,
    TaskChoice,
    TrainArgs,
)
from .corrector.app.tables import print_evaluation, print_metrics
from .corrector.training.config import TrainConfig

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Self-correction: generate drafts, score them, refine them with a trained corrector.",
)
console = Console(stderr=True, emoji=False)


def say(text: str) -> None:
    console.print(text, soft_wrap=True, highlight=False)


@command(app, TaskChoice, Source, Sampling, GenerateArgs, Models, GenerateConfig, Backend)
def generate(
    task: TaskChoice,
    source: Source,
    sampling: Sampling,
    args: GenerateArgs,
    models: Models,
    config: GenerateConfig,
    backend: Backend,
):
    """Generate drafts and refine them with a corrector for ROUNDS rounds."""
    from .corrector.app.commands import generate as run

    metrics, metrics_path = run(task, source, sampling, args, models, config, backend)
    print_metrics(metrics)
    say(f"wrote {args.output} and {metrics_path}")


@command(app, TaskChoice, Source, TrainArgs, TrainConfig, Backend, defaults=TRAIN_SOURCE)
def train(task: TaskChoice, source: Source, args: TrainArgs, config: TrainConfig, backend: Backend):
    """Train a corrector on the generator's own drafts (or, with --method sft, a base generator)."""
    from .corrector.app.commands import train as run
    from .corrector.training import distributed

    made = run(task, source, args, config, backend, on_iteration=lambda row: say(json.dumps(row)))
    if made.kind == "base generator":
        say(str(made.stats))
        say(f"saved base generator to {made.folder}")
    elif distributed.is_main():
        print_evaluation(args.output)
        say(f"saved corrector to {args.output} (model card: {args.output / 'README.md'})")


@command(app, TaskChoice, Sampling, ServeArgs, Models, ServeConfig, Backend)
def serve(task: TaskChoice, sampling: Sampling, args: ServeArgs, models: Models, config: ServeConfig, backend: Backend):
    """Serve refined completions over an OpenAI-compatible HTTP API."""
    import os

    from .corrector.app.commands import graceful_server, listen, serve_engine
    from .corrector.app.protocol import allowed_origins
    from .corrector.app.server import build_app

    key = args.server_api_key or os.environ.get("CORRECT_API_KEY") or None
    origins = allowed_origins(args.allowed_origins)
    sock = listen(args.host, args.port)  # before the models load: a taken port is a one-line error
    engine, value, name = serve_engine(task, sampling, args, models, config, backend)
    host, port = sock.getsockname()[:2]
    say(
        f"serving {name!r} ({config.rounds} rounds) on http://{host if ':' not in host else f'[{host}]'}:{port}/v1"
        + (
            ""
            if key
            else " without an API key"
            + ("" if host in ("127.0.0.1", "::1") else ": anyone who reaches this address may use it (--api-key)")
        )
    )
    try:
        graceful_server(build_app(engine, key, origins), engine, config.drain_timeout).run(sockets=[sock])
    finally:
        engine.stop()
        value.close()


@dataclass(frozen=True)
class PrepareArgs:
    name: str | None = field(default=None, metadata={"positional": True, "required": True})
    """Named generator to prepare (built in: smollm2)."""
    force: bool = False
    """Convert again even if it was prepared before."""


@command(app, PrepareArgs, config_file=False)
def prepare(args: PrepareArgs):
    """Prepare a named generator once (find its weights, convert, cache) and print its folder."""
    from .generators import NAMED

    if args.name not in NAMED:
        raise UsageError(f"unknown named generator {args.name!r}; built in: {', '.join(NAMED)}")
    print(NAMED[args.name](say, args.force))


@dataclass(frozen=True)
class CardArgs:
    corrector: Path | None = field(default=None, metadata={"positional": True, "required": True})
    """A saved corrector folder."""
    task: str | None = None
    """Task whose validation split it is measured on (default: the one it was trained on)."""
    generator: str | None = None
    """Generator of the drafts (default: the one whose drafts trained it, else the task's)."""
    value: str | None = None
    """Value function (default: the one it was trained with)."""
    shots: int | None = field(default=None, metadata={"min": 0})
    """Solved examples shown before each generator prompt (default: the task's own number)."""
    eval_limit: int = field(default=100, metadata={"min": 0})
    """Held-out validation records to measure it on, 3 rounds (0: write the card without results)."""
    seed: int = 0
    """Seed of the held-out problems."""


@command(app, CardArgs, config_file=False)
def card(args: CardArgs):
    """Write a corrector folder's model card (README.md) from its config and training log,
    measuring it on held-out records first (eval.json)."""
    from .corrector.app.measure import measure_and_write

    path = measure_and_write(
        args.corrector, args.task, args.generator, args.value, args.shots, args.eval_limit, args.seed
    )
    print_evaluation(args.corrector)
    say(f"wrote {path}")


@dataclass(frozen=True)
class ReportArgs:
    runs: list[Path] | None = field(default=None, metadata={"positional": True, "required": True})
    """Metrics JSON of `correct generate` (or its output JSONL), or `correct train` folders;
    several go on the same charts."""
    output: Path = Path("report")
    """Folder for rounds.png, training.png, report.json and index.html."""
    name: list[str] | None = None
    """Legend name of each run, in order (default: file or folder names)."""


@command(app, ReportArgs, config_file=False)
def report(args: ReportArgs):
    """Draw PNG charts of runs: value and solved share per round (with the self-consistency
    baseline), and training curves (loss, pool value, exploration gain per iteration)."""
    from .corrector.app.files import check_paths
    from .corrector.app.report import write_report

    check_paths({"--output": args.output}, {}, folders=True)  # a file there was a FileExistsError's traceback
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("correct report draws with matplotlib: pip install 'correct[report]'") from None
    if args.name and len(args.name) != len(args.runs):
        raise UsageError(f"--name was given {len(args.name)} times for {len(args.runs)} runs")
    made = write_report(args.runs, args.output, args.name)
    for file in [*made["files"], "index.html"]:
        say(f"wrote {args.output / file}")


@dataclass(frozen=True)
class RewardArgs:
    input: Path | None = field(default=None, metadata={"required": True})
    """JSONL preference pairs: `prompt`, `chosen`, `rejected`."""
    base: str | None = field(default=None, metadata={"required": True})
    """Model to start from: a causal LM or a sequence classifier (hub id or local path)."""
    output: Path | None = field(default=None, metadata={"required": True})
    """Folder for the reward model (use it as --value reward-model:FOLDER)."""
    steps: int = field(default=300, metadata={"min": 1, "max": 10_000_000})
    """Optimizer steps."""
    learning_rate: float = field(default=5e-5, metadata={"min": 1e-12})
    """Peak learning rate (cosine decay)."""
    batch_size: int = field(default=16, metadata={"min": 1, "max": 1_000_000})
    """Pairs per step."""
    max_length: int | None = field(default=None, metadata={"min": 2})
    """Tokens per (prompt, output); longer ones lose their oldest tokens."""
    seed: int = 0
    """Seed of the data order and the new head."""


@command(app, RewardArgs, name="train-reward")
def train_reward(args: RewardArgs):
    """Train a reward model on preference pairs with the pairwise loss -log sigmoid(r_chosen - r_rejected)."""
    from .corrector.app.files import check_not_trained, check_paths
    from .corrector.app.loading import quiet_libraries
    from .corrector.training.reward import read_preferences, train_reward_model

    check_paths({"--output": args.output}, {"--input": args.input, "--base": args.base}, folders=True)
    check_not_trained(args.output, "reward-model")
    pairs = read_preferences(args.input)
    quiet_libraries()
    stats = train_reward_model(
        pairs,
        args.output,
        args.base,
        steps=args.steps,
        lr=args.learning_rate,
        batch_size=args.batch_size,
        seed=args.seed,
        max_length=args.max_length,
    )
    say(json.dumps(stats))
    say(f"saved reward model to {args.output}")


@dataclass(frozen=True)
class ScoreArgs:
    value: str | None = field(default=None, metadata={"required": True})
    """Value function (see `correct values`), or module:function."""
    input: Path | None = field(default=None, metadata={"required": True})
    """JSONL: record fields plus `output`, the text to score."""
    output: Path | None = None
    """JSONL of `id`, `value`, `feedback` (default: standard output)."""
    batch_size: int = field(default=64, metadata={"min": 1})
    """Lines scored together; results stream out batch by batch."""


@command(app, ScoreArgs, config_file=False)
def score(args: ScoreArgs):
    """Score outputs with a value function."""
    from .corrector.app.commands import score_lines
    from .corrector.app.files import check_paths
    from .corrector.outputs import JsonlWriter, read_jsonl
    from .values import load_value

    check_paths({"--output": args.output}, {"--input": args.input})
    records = read_jsonl(args.input, ("output",))
    if not records:
        raise UsageError(f"{args.input}: no records (the file is empty)")
    for r in records:  # a number or null would be scored as some text it is not
        if not isinstance(r["output"], str):
            kind = "null" if r["output"] is None else type(r["output"]).__name__
            raise UsageError(f"{args.input}: record {r['id']!r} has an 'output' that is {kind}, not text")
    with load_value(args.value) as v:
        lines = score_lines(v, records, args.batch_size)
        if args.output:
            with JsonlWriter(args.output, append=False, whole=True) as sink:
                for line in lines:
                    sink.write(line)
        else:
            out = sys.stdout
            with contextlib.redirect_stdout(sys.stderr):  # a value's own prints: not among the lines
                for line in lines:
                    print(json.dumps(line), file=out, flush=True)


@dataclass(frozen=True)
class TasksArgs:
    show: str | None = None
    """Print this task (built-in name or task file) as a task file."""


@command(app, TasksArgs, config_file=False)
def tasks(args: TasksArgs):
    """List the built-in tasks, or print one as a task file."""
    from .tasks import TASKS, get_task
    from .tasks.file import task_file_text

    if args.show:
        print(task_file_text(get_task(args.show)), end="")
        return
    for t in TASKS.values():
        print(f"{t.name}\t{t.description}")


@app.command()
def values():
    """List the built-in value functions."""
    from .values import describe_values

    for name, doc in describe_values().items():
        print(f"{name}\t{doc}")


if __name__ == "__main__":
    app()
