"""``correct card``: a saved corrector measured on held-out records of a task, then its model
card written from its config, training log and that measurement."""

from __future__ import annotations

from pathlib import Path

from ...tasks import held_out
from .args import UsageError
from .options import Defaults, prompt_format, within


def measure_and_write(
    folder: Path,
    task: str | None,
    generator: str | None,
    value: str | None,
    shots: int | None,
    eval_limit: int,
    seed: int,
) -> Path:
    """``correct card``: measure a saved corrector on ``eval_limit`` held-out records of its
    task (``eval.json``), then write its model card; returns the card's path. The drafts are
    prompted with the task's solved examples (``shots``, default: the task's own number) and
    written with the token budget and stop strings of the corrector's training, or on another
    task than its own, of that task."""
    from ...generators import load_generator
    from ...tasks import get_task
    from ..model import CONFIG_NAME, CorrectorConfig
    from ..outputs import write_json_atomic
    from .card import EVAL_NAME, read_eval, write_model_card
    from .generate import evaluate
    from .loading import quiet_libraries

    if not (folder / CONFIG_NAME).is_file():
        raise UsageError(f"{folder} is not a saved corrector (no {CONFIG_NAME})")
    config = CorrectorConfig.load(folder)
    writable(folder)  # before the measurement, not after it
    results = None
    if eval_limit:
        t = get_task(task) if task else _saved_task(folder / CONFIG_NAME, config.task)
        if t is None:
            raise UsageError("--task is needed to measure a corrector trained on custom records (or --eval-limit 0)")
        within(t, eval_limit, "--eval-limit")
        gen_path, spec = measured_with(config, t, task, generator, value)
        records = held_out(t, eval_limit, shots, seed)
        fmt = prompt_format(t, shots, seed)
        # the task file's own: its folder importable, its errors its line
        with Defaults.of(t, value=None if spec == t.value else spec).load_value() as v:
            quiet_libraries()
            from ..model import Corrector

            c = Corrector.from_pretrained(str(folder), layout=t.format_prompt)
            own = Defaults.of(t) if t.name != config.task and t.source != config.task else None
            results = evaluate(
                c, load_generator(gen_path), v, records, [fmt(r) for r in records], gen_path, fluency=t.fluency,
                budget=(own.max_new_tokens, own.stop) if own else None,
            )  # fmt: skip
        write_json_atomic(folder / EVAL_NAME, results)
    else:  # --eval-limit 0 measures nothing new; what was measured stays
        results = read_eval(folder)
    return write_model_card(folder, config, evaluation=results)


def _saved_task(path: Path, name: str | None):
    """The task a saved corrector names, or None; one it names that is not here is the
    config's error (the user gave no --task), with the way round it."""
    from ...tasks import TaskError, get_task

    try:
        return get_task(name) if name else None
    except TaskError as e:
        raise UsageError(f"{path}: task {name!r} is not here ({e}); give the task with --task") from None


def measured_with(config, t, task: str | None, generator: str | None, value: str | None) -> tuple[str, str]:
    """(generator, value spec) a corrector of ``config`` is measured with on task ``t``: those
    given; else, measured on another task than it was trained on (``task``), that task's; else
    what it was trained with, then the task's."""
    other = task is not None and task != config.task
    gen = generator or (t.generator if other else None) or config.training.get("generator") or t.generator
    return gen, value or (t.value if other else None) or config.value or t.value


def writable(folder: Path) -> None:
    """A file can be written into ``folder`` (its card, its evaluation); else one line naming it."""
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".card-"):
            pass
    except OSError as e:
        raise UsageError(f"{folder}: cannot write its model card there ({e.strerror or e})") from None
