"""What each command does, as functions a Python user can call with the same dataclasses the
command line fills: inputs checked first, then the value, then the models (the slow part)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Literal

from ...tasks import held_out, resolve_corrector
from ...tasks.mixture import is_mixture
from ...tasks.task import held_apart
from ...values.base import check_labeled, check_records
from ..refine import Rewrites
from ..self_refine import NAME as SELF
from ..self_refine import of_task as self_corrector
from ..training.config import TrainConfig
from .args import UsageError
from .engine import ServeConfig
from .files import check_fresh, check_paths, check_run, claim_folder, run_file, task_files
from .generate import GenerateConfig
from .loading import check_self, generator_option, load_models
from .options import (
    Backend,
    Defaults,
    GenerateArgs,
    Models,
    Sampling,
    ServeArgs,
    Source,
    TaskChoice,
    TrainArgs,
    check_local,
    load_records,
    prompt_format,
    within,
)


def for_task(
    generator, corrector, task, few_shot: Callable[[dict], str], examples_value=None, shots=None, seed=0, refine=None
):
    """The loaded corrector made ready for ``task``: ``self`` made from the generator (with
    ``examples_value``, shown the task's solved examples as corrections scored by it), a trained
    one given the task's layout of a question (which it uses if it was trained with it);
    ``refine`` (``--refine``), when given, in place of the drafts its config says it is given."""
    if corrector == SELF:
        corrector = self_corrector(generator, task, few_shot, examples_value, shots, seed)
    elif corrector is not None and task is not None:
        corrector.layout = task.format_prompt
    if corrector is not None and refine is not None:
        corrector.config = replace(corrector.config, refine=refine)
    return corrector


def check_rewrites(config: Rewrites) -> None:
    """--correction-samples above 1 with --correction-temperature 0: one line, before models load."""
    if config.correction_samples > 1 and config.correction_temperature <= 0:
        raise UsageError(
            f"--correction-samples {config.correction_samples} samples rewrites to choose from: "
            "it needs --correction-temperature above 0"
        )


def generate(
    task: TaskChoice,
    source: Source,
    sampling: Sampling,
    args: GenerateArgs,
    models: Models,
    config: GenerateConfig,
    backend: Backend,
) -> tuple[dict, Path]:
    """Refine the records for ``config.rounds`` rounds into ``args.output``; (metrics, metrics path)."""
    from .generate import generate_run, resumable, run_settings

    metrics_path = args.metrics or args.output.with_suffix(".metrics.json")
    records, t = load_records(source, task.task, sampling.seed, shots=task.shots)
    check_paths(
        {"--output": args.output, "--metrics": metrics_path, "the run file": run_file(args.output)},
        {"--input": source.input, "--dataset": source.dataset, **task_files(t)},
    )
    config = replace(config, fluency=config.fluency if config.fluency is not None else bool(t and t.fluency))
    resumable(records, args.output, metrics_path, config)  # another run's output refused before any model loads
    d = Defaults.of(t, task.generator, models.corrector, task.value, sampling.max_new_tokens)
    d.require(config.rounds, task=t)
    examples = check_self(models, d.corrector, t, task.shots, sampling.seed)
    check_rewrites(config)
    fmt = prompt_format(t, task.shots, sampling.seed)
    params = d.sampling(sampling)
    kept = check_run(args.output, run_settings(d, backend, models, task, params, config), config.resume)
    with d.load_value() as v:  # closed at the end: the program value's sandbox workers
        check_records(v, records + examples)  # a record the value cannot score, named before the models load
        g, c = load_models(
            d.generator,
            d.corrector if config.rounds else None,
            backend,
            models.corrector_backend,
            models.dtype,
            models.device,
            generator_option(task.generator, t),
            **d.generator_options,
        )
        c = for_task(g, c, t, fmt, v if models.self_examples else None, task.shots, sampling.seed, models.refine)
        m = generate_run(records, fmt, g, c, v, params, args.output, metrics_path, config, kept)
    return m, metrics_path


@dataclass(frozen=True)
class Trained:
    """What ``train`` saved, and where."""

    kind: Literal["corrector", "base generator"]
    folder: Path
    stats: dict = field(default_factory=dict)
    """A base generator's training figures (a corrector's are in its folder's log.jsonl)."""


def train(
    task: TaskChoice,
    source: Source,
    args: TrainArgs,
    config: TrainConfig,
    backend: Backend,
    on_iteration: Callable[[dict], None] | None = None,
) -> Trained:
    """Train a corrector (or with ``method="sft"`` a tiny base generator) into ``args.output``."""
    from ..training.hindsight import check_coh_options

    check_coh_options(config.loss_on, config.mask_share, config.mask_scope)
    if not config.feedback and config.method != "pairing":
        why = "has its own template" if config.method in ("hindsight", "hir") else "trains no corrector"
        raise UsageError(f"--no-feedback is for the pairing corrector; --method {config.method} {why}")
    config.check_read()  # a setting this method, or this run, would ignore: before a task fills in its own
    if args.init:  # a shipped corrector by name (--init general): its folder
        args = replace(args, init=resolve_corrector(args.init))
    models = {"--generator": task.generator, "--init": args.init}
    check_paths(
        {"--output": args.output}, {"--input": source.input, "--dataset": source.dataset, **models}, folders=True
    )
    check_fresh(args.output, config.resume)
    if config.lm_corpus is not None and not Path(config.lm_corpus).is_file():
        raise UsageError(f"--lm-corpus {config.lm_corpus}: no such file")
    if is_mixture(task.task):
        return _train_mixture(task, source, args, config, backend, on_iteration)
    required = ("prompt", "solution") if config.method == "sft" else ("prompt",)
    records, t = load_records(source, task.task, config.seed, required, task.shots)
    if config.reference_targets and all(r.get("solution") is None for r in records):  # it would add nothing
        raise UsageError(f"--reference-targets: none of the {len(records)} training records has a `solution`")
    d = Defaults.of(t, task.generator, None, task.value)
    config = d.training(config)
    config.check()  # precision, dtype, accumulation: after the cheap checks, before anything is loaded
    fmt = prompt_format(t, task.shots, config.seed)
    if config.method == "sft":
        return _train_sft(records, fmt, t, args, task.shots, config, backend)
    d.require(0, "--input/--dataset", t)
    check_local("--init", args.init)
    named = generator_option(task.generator, t)
    check_local(named, d.generator)  # before the folder is claimed: a typo must not hold it
    if backend.backend == "openai" and not args.init:
        raise UsageError("--backend openai drafts remotely; give --init, the local model the corrector starts from")
    if t:
        within(t, args.eval_limit, "--eval-limit")
    measured = t and args.eval_limit and t.has_split("validation") and held_apart(t)
    evaluation = held_out(t, args.eval_limit, task.shots, config.seed) if measured else []
    with d.load_value() as v:  # and its checks of the records, before the folder is claimed
        check_records(v, records)
        check_labeled(v, records)
        claim_folder(args.output, records, d.value, config.samples_per_prompt)
        kept(args.output, config.resolved(), args.init or d.generator)
        from ..training import distributed
        from .train import train_run

        options = {"device": distributed.device()} if distributed.launched() and backend.backend != "openai" else {}
        # each process drafts on its own device
        g, _ = load_models(d.generator, None, backend, None, named=named, **options, **d.generator_options)
        train_run(
            records,
            [fmt(r) for r in records],
            g,
            v,
            args.init or d.generator,
            args.output,
            config,
            task=(t.source or t.name) if t else None,
            value_name=d.value,
            generator_name=d.generator,
            evaluation=(evaluation, [fmt(r) for r in evaluation]) if evaluation else None,
            fluency=bool(t and t.fluency),
            layout=t.format_prompt if t else None,
            on_iteration=on_iteration,
        )
    return Trained("corrector", args.output)


def _train_mixture(
    task: TaskChoice,
    source: Source,
    args: TrainArgs,
    config: TrainConfig,
    backend: Backend,
    on_iteration: Callable[[dict], None] | None,
) -> Trained:
    """One corrector trained on several tasks (a mixture file, tasks/mixture.py): each record
    drafted with its own task's prompt, stop strings and token budget, scored by its own task's
    value and shown to the corrector in its own task's layout; the tasks balanced in pairing."""
    from ...tasks import get_task
    from ...tasks.mixture import MixtureValue, group, load_mixture, note_unread

    where = f"--task {task.task}"
    for given, flag in (
        (source.input or source.dataset, "--input/--dataset"),
        (task.value, "--value"),
        (config.method == "sft", "--method sft"),
        (args.eval_limit not in (0, TrainArgs.eval_limit), "--eval-limit (measure each with correct generate)"),
    ):
        if given:
            raise UsageError(f"{where} is a mixture of tasks, each with its records and value; {flag} is for one task")
    m = load_mixture(task.task, get_task)
    chats = {t.chat_template for t in m.tasks}
    if len(chats) > 1:
        raise UsageError(f"{where}: some of its tasks set chat_template and some do not; one generator drafts them all")
    generators = {t.generator for t in m.tasks}
    generator = task.generator or (generators.pop() if len(generators) == 1 else None)
    if not generator:
        raise UsageError(f"{where}: its tasks name different generators (or none); give --generator")
    check_local("--init", args.init)
    records = m.records(source.split, source.limit, config.seed)
    formats = [prompt_format(t, task.shots, config.seed) for t in m.tasks]
    prompts = [formats[m.index(r["id"])](r) for r in records]
    each = [Defaults.of(t, max_new_tokens=config.max_new_tokens, stop=config.stop) for t in m.tasks]

    def settings_of(record: dict) -> dict:  # what the user typed holds for every task
        d = each[m.index(record["id"])]
        return {"stop": d.stop, "max_new_tokens": d.max_new_tokens}

    resolved = config.resolved()  # the tasks' own settings are settings_of's
    resolved.check()
    unset = {k: getattr(resolved, k) if getattr(config, k) is None else None for k in ("temperature", "min_gain")}
    note_unread(m, **unset)  # a task's own is dropped: say so
    with ExitStack() as stack:  # every task's value closed, however far loading them got
        v = MixtureValue(m, [stack.enter_context(d.load_value()) for d in each])
        v.check_training(records)  # before the folder is claimed
        claim_folder(args.output, records, ",".join(str(d.value) for d in each), config.samples_per_prompt)
        kept(args.output, resolved, args.init or generator)
        from .train import train_run

        named = generator_option(task.generator, m.tasks[0])  # else every task names it: the first's line
        g, _ = load_models(generator, None, backend, None, named=named, **each[0].generator_options)
        train_run(
            records,
            prompts,
            g,
            v,
            args.init or generator,
            args.output,
            resolved,
            task=task.task,
            value_name=v.name,
            generator_name=generator,
            on_iteration=on_iteration,
            layout=m.layout,
            settings_of=settings_of,
            group=group,
        )
    return Trained("corrector", args.output)


def kept(out: Path, config: TrainConfig, init: str) -> None:
    """A resume that changes what the corrector is trained on is refused here, before any
    model loads (``train_run`` checks again and records the settings)."""
    from ..training.resume import keep_settings

    keep_settings(out, config, init, write=False)


def _train_sft(records, fmt, t, args: TrainArgs, shots: int | None, config: TrainConfig, backend: Backend) -> Trained:
    from .loading import apply_process_settings, quiet_libraries

    if shots:
        raise UsageError("--method sft trains a base generator on the task's own format; --shots is for drafting")
    from ...tasks.task import solutions_as_text

    records = solutions_as_text(records)
    if args.eval_limit not in (0, TrainArgs.eval_limit):
        raise UsageError(
            "--eval-limit measures a trained corrector's rounds; --method sft trains a generator "
            "(measure it with `correct generate --generator OUTPUT`)"
        )
    check_local("--init", args.init)
    quiet_libraries()
    apply_process_settings(backend)  # --threads and --progress, as the corrector's training has them
    from ..outputs import write_json_atomic
    from ..training.budget import cpu_seconds
    from ..training.sft import fine_tune, train_base_generator

    steps = config.steps * config.iterations
    if args.init not in (None, "tiny"):  # a pretrained model, fine-tuned on the reference solutions
        stats = fine_tune(args.init, records, fmt, args.output, steps, config)
    else:
        texts = [fmt(r) + r["solution"] for r in (solutions_as_text(t.make_split("train", 5000, 0)) if t else records)]
        stats = train_base_generator(records, fmt, texts, args.output, steps, config)
    # What the run did and cost, beside the weights (as transformers' train_results.json)
    # (cpu_seconds: the whole run's, a resumed one's with what its killed process spent by its step checkpoint)
    before = stats.pop("cpu_before", 0.0)
    write_json_atomic(Path(args.output) / "train_results.json", {**stats, "cpu_seconds": before + cpu_seconds()})
    return Trained("base generator", args.output, stats)


def serve_engine(
    task: TaskChoice, sampling: Sampling, args: ServeArgs, models: Models, config: ServeConfig, backend: Backend
):
    """(engine started, value, model name): everything ``correct serve`` needs but the HTTP server."""
    from ...tasks import DEFAULT_TASK, get_task
    from .engine import Engine

    t = get_task(task.task) if task.task else (None if task.generator else get_task(DEFAULT_TASK))
    d = Defaults.of(t, task.generator, models.corrector, task.value, sampling.max_new_tokens)
    if not d.value:
        raise UsageError("--value is needed with --generator when no --task gives a default")
    d.require(config.rounds, "--generator")
    examples = check_self(models, d.corrector, t, task.shots, sampling.seed)
    check_rewrites(config)
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError("correct serve needs FastAPI and uvicorn: pip install 'correct[serve]'") from None
    fmt = prompt_format(t, task.shots, sampling.seed) if t else None
    v = d.load_value()
    check_records(v, examples)
    models_of = (d.generator, d.corrector, backend, models.corrector_backend, models.dtype, models.device)
    g, c = load_models(*models_of, generator_option(task.generator, t), **d.generator_options)  # rounds on request
    c = for_task(g, c, t, fmt, v if models.self_examples else None, task.shots, sampling.seed, models.refine)
    name = args.model_name or (f"correct-{t.name}" if t and not task.generator else Path(d.generator.rstrip("/")).name)
    engine = Engine(g, c, v, fmt, replace(config, model_name=name, params=d.sampling(sampling))).start()
    return engine, v, name


def score_lines(value, records, batch_size: int):
    """``correct score``: each record's ``output`` scored, batch by batch, as output lines."""
    for b in range(0, len(records), batch_size):
        batch = records[b : b + batch_size]
        for r, s in zip(batch, value(batch, [r["output"] for r in batch])):
            yield {"id": r["id"], "value": s.value, "feedback": s.feedback}


def listen(host: str, port: int):
    """A listening socket on ``host:port`` (port 0: one the system picks, reported once bound)."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as e:
        raise UsageError(f"--host {host} --port {port}: cannot listen there: {e.strerror or e}") from None


def graceful_server(app, engine, drain_timeout: float):
    """A uvicorn server whose first SIGTERM or Ctrl-C drains the engine: requests already
    admitted finish (within ``drain_timeout`` s) while new ones get 503, then it exits; a
    second signal exits at once."""
    import logging
    import threading

    import uvicorn

    log = logging.getLogger("correct.serve")

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            if engine.draining.is_set():
                log.warning("second signal: exiting now, %d completions unanswered", engine.pending)
                return super().handle_exit(sig, frame)  # uvicorn's own (forced) exit
            log.warning(
                "draining: %d completions in progress may take up to %g s to finish; new requests get 503 "
                "(a second signal exits at once)",
                engine.pending,
                drain_timeout,
            )

            def drain():
                if engine.drain(drain_timeout):
                    log.warning("drained: every admitted completion was answered; exiting")
                else:
                    log.warning(
                        "drain timeout: %d completions unanswered after %g s; exiting", engine.pending, drain_timeout
                    )
                self.should_exit = True

            threading.Thread(target=drain, name="correct-serve-drain", daemon=True).start()

    return Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=drain_timeout))
