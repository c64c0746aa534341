"""The corrector: any causal LM plus an input template (prompt, draft, feedback -> correction).

A saved corrector is an ordinary Hugging Face model folder with one extra file,
``correct_config.json``, recording the method, the template and the training settings, so
``correct generate --corrector PATH`` needs no other flag to use it. A corrector on the
Hugging Face hub carries the same file, fetched like its weights.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Literal, Sequence

from ..generators import NAMED, Generator, GeneratorError, SamplingParams, load_generator
from ..generators.base import RewritesKept
from ..generators.named import hub_unreachable, missing_path
from ..tasks import resolve_corrector
from .layouts import TEMPLATES, corrector_input, fill, template_problem

CONFIG_NAME = "correct_config.json"
REFINE = ("all", "failing")


@dataclass(frozen=True)
class CorrectorConfig:
    method: str = "pairing"
    """How it was trained: pairing | hindsight | hir."""
    template: str = "default"
    """Key of TEMPLATES used to build the corrector's input."""
    prompt_format: str | None = None
    """That template's text as it was at training time; inference uses it when present, so a
    saved corrector keeps its input format even if the built-in templates change."""
    task: str | None = None
    value: str | None = None
    question: str = "prompt"
    """What the corrector is shown as the question: ``"task"``, the task's prompt template
    filled in with the record (no few-shot examples, no chat template), which is how it is
    trained now; ``"prompt"``, a record's raw ``prompt`` field, which is how correctors saved
    before this was recorded were trained (and what a task-less record shows either way)."""
    refine: Literal["all", "failing"] = "all"
    """Which drafts it is given at inference: ``"all"`` (every draft not known to be solved), or
    ``"failing"`` (only those known to fall short without references: a program that raises,
    prints nothing or times out; a reference-free value below its maximum). ``"failing"`` suits
    a corrector that never saw the task: it cannot tell a right draft from a wrong one there.
    ``--refine`` overrides it."""
    training: dict = field(default_factory=dict)
    """The training settings, recorded for reproduction."""

    def save(self, folder: str | Path) -> None:
        Path(folder, CONFIG_NAME).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> "CorrectorConfig":
        path = Path(folder, CONFIG_NAME)
        if not path.exists():  # any causal LM can serve, with the default template
            return cls()
        try:
            data = json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise GeneratorError(f"{path}: not JSON ({getattr(e, 'msg', e)})") from None
        unknown = sorted(set(data) - {f.name for f in fields(cls)}) if isinstance(data, dict) else None
        if unknown is None or unknown:
            what = "is not a JSON object" if unknown is None else f"has unknown keys: {', '.join(unknown)}"
            raise GeneratorError(f"{path} {what} (a newer correct's corrector?)")
        if data.get("refine", "all") not in REFINE:
            raise GeneratorError(f"{path}: refine is {data['refine']!r}; expected one of {', '.join(REFINE)}")
        for key, v in data.items():  # a wrong type would fail far from here, or be read as something else
            if key in _KINDS and not _KINDS[key][0](v):
                raise GeneratorError(f"{path}: {key} must be {_KINDS[key][1]}, got {v!r}")
        problem = template_problem(data["prompt_format"]) if data.get("prompt_format") is not None else None
        if problem:
            raise GeneratorError(f"{path}: prompt_format {problem}")
        if data.get("prompt_format") is None and data.get("template", "default") not in TEMPLATES:
            raise GeneratorError(
                f"{path}: template is {data['template']!r} and there is no prompt_format; known templates: "
                f"{', '.join(TEMPLATES)}"
            )
        return cls(**data)


_TEXT = (lambda v: isinstance(v, str), "a string")
_TEXT_OR_NULL = (lambda v: v is None or isinstance(v, str), "a string or null")
_KINDS = {
    "method": _TEXT,
    "template": _TEXT,
    "prompt_format": _TEXT_OR_NULL,
    "task": _TEXT_OR_NULL,
    "value": _TEXT_OR_NULL,
    "question": (lambda v: v in ("task", "prompt"), "'task' or 'prompt'"),
    "training": (lambda v: isinstance(v, dict), "a JSON object"),
}
"""The keys of a correct_config.json whose type is checked when it is read: (test, what it must be)."""


class Corrector(RewritesKept):
    """Rewrites drafts into (hopefully) better ones; decodes through any generator backend."""

    def __init__(
        self,
        generator: Generator,
        config: CorrectorConfig = CorrectorConfig(),
        layout: Callable[[dict], str] | None = None,
    ):
        self.generator, self.config = generator, config
        self.layout = layout
        """The task's layout of a record (``Task.format_prompt``); None: records have no task."""

    def question(self, record: dict) -> str:
        """The question of ``record`` as this corrector was trained to see it (``config.question``)."""
        return question_of(record, self.layout if self.config.question == "task" else None)

    @classmethod
    def from_pretrained(
        cls, path: str, backend: str = "hf", layout: Callable[[dict], str] | None = None, **kwargs
    ) -> "Corrector":
        """A local folder, a hub id or the name of a corrector shipped with the package
        (``tasks.shipped_correctors``), decoded with ``backend``; ``layout``: the task's layout
        of a question."""
        path = resolve_corrector(path)
        config = None if hub_unreachable(path) else _find_config(path, backend)  # said at once, not after retries
        # Loaded first: a hub id that cannot be reached is reported as for any model.
        generator = load_generator(path, backend, **kwargs)
        if config is None:
            raise GeneratorError(
                f"corrector '{path}': its {CONFIG_NAME} is not in the local cache and the "
                "Hugging Face hub cannot be reached (offline?), so its input template is "
                "unknown; connect once, or give the downloaded folder's path"
            )
        return cls(generator, config, layout)

    def correct(
        self, prompts: Sequence[str], drafts: Sequence[str], feedbacks: Sequence[str | None], params: SamplingParams
    ) -> list[list[str]]:
        fmt = self.config.prompt_format
        inputs = [
            fill(fmt, p, d, f) if fmt else corrector_input(self.config.template, p, d, f)
            for p, d, f in zip(prompts, drafts, feedbacks)
        ]
        return self._within_context(inputs, drafts, params)

    def _within_context(self, inputs: list[str], drafts: Sequence[str], params: SamplingParams) -> list[list[str]]:
        """``params.n`` rewrites of each input within the corrector's context (``rewrites_within``)."""
        return self.rewrite(self.generator, inputs, params, drafts)


def question_of(record: dict, layout: Callable[[dict], str] | None) -> str:
    """``record``'s question laid out by ``layout`` (its generator prompt without the few-shot
    examples), its trailing line break dropped so that the corrector's own layout follows; the
    raw ``prompt`` without a layout.

    >>> question_of({"prompt": "100"}, "Convert {prompt} degrees Celsius to Fahrenheit.\\n".format_map)
    'Convert 100 degrees Celsius to Fahrenheit.'
    """
    return layout(record).rstrip("\n") if layout is not None else record["prompt"]


def _find_config(path: str, backend: str) -> CorrectorConfig | None:
    """The corrector's config: from its folder, or fetched from the hub like its weights;
    the default when it has none (any causal LM can serve); None when that cannot be told."""
    local = Path(path).expanduser()
    if local.is_dir():
        return CorrectorConfig.load(local)
    # An endpoint's model name or a named generator is no hub repository; a file is the
    # generator's to judge.
    if backend == "openai" or path in NAMED or local.exists():
        return CorrectorConfig()
    if missing_path(path):
        raise GeneratorError(f"corrector path '{path}' does not exist")
    from huggingface_hub import _CACHED_NO_EXIST, hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        return CorrectorConfig.load(Path(hf_hub_download(path, CONFIG_NAME)).parent)
    except LocalEntryNotFoundError:  # offline; the cache may still know that the file is absent
        return CorrectorConfig() if try_to_load_from_cache(path, CONFIG_NAME) is _CACHED_NO_EXIST else None
    except EntryNotFoundError:  # the repository has none
        return CorrectorConfig()
    except (OSError, ValueError):  # no such repository, gated, bad id: the generator's loading says so
        return None
