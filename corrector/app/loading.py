"""The models of a run, loaded from its options: the generator on its backend (an endpoint's
options checked against it), the corrector (or ``self``), each placed by --dtype/--device,
and a model that cannot be loaded reported with the option that named it."""

from __future__ import annotations

import os
from contextlib import contextmanager

from .args import UsageError
from .options import Backend

ENDPOINT_OPTIONS = (
    ("--base-url", "base_url"),
    ("--backend-api-key", "api_key"),
    ("--api", "api"),
    ("--request-timeout", "request_timeout"),
    ("--retries", "retries"),
)
"""The openai backend's own options (flag, setting): set away from its default for another
backend, each is named in the error."""


def backend_options(b: Backend) -> dict:
    """Keyword options of the generator backend; the endpoint options only mean something to
    the openai backend, and saying them to another is a mistake worth a clear error."""
    if b.backend == "openai":
        return dict(
            base_url=b.base_url,
            api_key=b.api_key,
            api=b.api,
            concurrency=b.concurrency,
            timeout=b.request_timeout,
            max_retries=b.retries,
        )
    default = Backend()
    given = [flag for flag, name in ENDPOINT_OPTIONS if (getattr(b, name) or None) != (getattr(default, name) or None)]
    if given:
        raise UsageError(
            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for --backend openai, not {b.backend}"
        )
    return {}


def quiet_libraries() -> None:
    """transformers' warnings and progress bars off: the command line says what matters."""
    import logging

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")


def placement(backend: str, dtype: str | None, device: str | None) -> dict:
    """The --dtype/--device keyword options of one local model's backend (none for an endpoint)."""
    if backend == "openai":
        return {}
    if device is not None and backend == "vllm":
        raise UsageError("--device is for the hf backend; vLLM places the model on its GPU itself")
    return {k: v for k, v in (("dtype", dtype), ("device", device)) if v is not None}


def apply_process_settings(b: Backend) -> None:
    """What ``--threads`` and ``--progress`` set for the whole process: before any model loads
    or trains (a choice Backend checked when it was made)."""
    from ...generators import threads
    from .. import progress

    if b.threads:
        threads.configure(b.threads)
    progress.configure(b.progress)


def load_models(
    generator: str,
    corrector: str | None,
    b: Backend,
    corrector_backend: str | None,
    dtype: str | None = None,
    device: str | None = None,
    named: str = "--generator",
    **generator_options,
):
    """(generator, corrector or None; ``SELF`` for ``--corrector self``, which
    ``commands.for_task`` makes from the generator once the task's layout is known). The
    corrector decodes with ``corrector_backend``, by default the generator's backend (hf when
    that is an endpoint). ``dtype`` and ``device`` apply to every model loaded here, the
    generator unless it is an endpoint's. ``named``: what named the generator, for its errors
    (``generator_option``)."""
    from ...generators import load_generator
    from ...generators.base import GeneratorError
    from ...tasks import shipped_correctors
    from ..model import Corrector
    from ..self_refine import NAME as SELF

    apply_process_settings(b)
    corr_backend = corrector_backend or ("hf" if b.backend == "openai" else b.backend)
    options = {**backend_options(b), **placement(b.backend, dtype, device), **generator_options}
    corr_options = placement(corr_backend, dtype, device) if corrector else {}
    if device is not None and device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"--device {device}: there is no GPU here (torch sees no CUDA device)")
    quiet_libraries()
    if b.backend == corr_backend == "vllm" and corrector:
        # Two vLLM engines share the GPU: each takes part of its memory, not 90% each.
        options, corr_options = (
            {**options, "gpu_memory_utilization": 0.45},
            {**corr_options, "gpu_memory_utilization": 0.4},
        )
    with naming(named):
        if b.backend != "openai" and generator in shipped_correctors() and not os.path.exists(generator):
            raise GeneratorError(  # it would be looked for on the hub, and fail a minute later
                f"{generator!r} is a corrector shipped with the package, not a generator: give it as the corrector"
            )
        g = load_generator(generator, b.backend, **options)
    if corrector == SELF:  # the generator itself rewrites: nothing more to load (self_refine.of_task)
        return g, SELF
    with naming("--corrector"):
        return g, (Corrector.from_pretrained(corrector, corr_backend, **corr_options) if corrector else None)


def check_self(models, corrector: str | None, task, shots: int | None, seed: int) -> list[dict]:
    """What ``--corrector self`` is asked for that it cannot do, refused before any model loads;
    the solved examples ``--self-examples`` shows (their records, for the value's checks)."""
    from ...tasks import shot_records
    from ..self_refine import NAME as SELF

    if corrector == SELF and models.corrector_backend is not None:  # it was ignored without a word
        raise UsageError(
            "--corrector-backend loads a corrector of its own; --corrector self rewrites with the generator"
        )
    if not models.self_examples:
        return []
    if corrector != SELF or task is None:
        raise UsageError(
            "--self-examples shows a task's solved examples as corrections: it needs --corrector self and a --task"
        )
    examples = shot_records(task, shots, seed)
    if not examples:  # the run went on without them, its run file saying they were shown
        raise UsageError("--self-examples shows the task's solved examples, and it shows none: give --shots N")
    return examples


@contextmanager
def naming(option: str):
    """A model that cannot be loaded is reported with the option that named it (unless the
    error is another setting's: an endpoint's key, its address)."""
    from ...generators.base import GeneratorError

    try:
        yield
    except GeneratorError as e:
        if e.option is not None:
            raise
        raise GeneratorError(f"{option}: {e}") from None


def generator_option(given: str | None, task) -> str:
    """What names the generator in its errors: --generator when it was given, else the key of
    the task file that chose it."""
    if given or task is None or not task.source:
        return "--generator"
    from ...tasks.file import key_at

    return f"{key_at(task.source, 'generator')}: key 'generator'"
