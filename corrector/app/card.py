"""Model cards: the README.md a saved corrector folder carries, written from the run itself
(its saved config, its training log, its held-out evaluation), in the Hugging Face model-card
layout: YAML metadata (``huggingface_hub.ModelCardData``) above a Markdown body, filled into
``card_template.md`` by ``huggingface_hub.ModelCard.from_template``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

from ...errors import CorrectError
from ...generators.named import is_hub_id
from ..model import CorrectorConfig

CARD_NAME = "README.md"
EVAL_NAME = "eval.json"
TRANSFER_NAME = "transfer.md"
"""Measurements on tasks the corrector never saw, as Markdown (tables, the commands that made
them) that a bench wrote into its folder (bench/general.py); the card carries them as written."""
TEMPLATE = Path(__file__).with_name("card_template.md")

# The training settings a reader needs first; the rest follow in the full table.
_MAIN_SETTINGS = (
    "method",
    "samples_per_prompt",
    "iterations",
    "steps",
    "pairs",
    "batch_size",
    "learning_rate",
    "lr_scheduler",
    "temperature",
    "explore_prompts",
    "explore_samples",
    "explore_focus",
    "similarity",
    "seed",
)
_LORA_SETTINGS = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "merge_lora")
METHOD_NAMES = {
    "pairing": "self-corrective learning (value-improving pairs; Welleck et al., 2023)",
    "hindsight": "Chain of Hindsight (Liu et al., 2023)",
    "hir": "Hindsight Instruction Relabeling (Zhang et al., 2023)",
}


def _shown(path: str) -> str:
    """How a model is named on the card: a shipped model by its name, not by this machine's path."""
    from ...tasks import MODELS

    try:
        return f"{Path(path).resolve().relative_to(MODELS.resolve())} (shipped with correct)"
    except (ValueError, OSError):
        return path


def _lora_modules(folder: Path, t: dict) -> str:
    """The modules a LoRA adapter was put on: as asked, else as peft chose them for the model
    (its adapter_config.json), else said to be peft's defaults."""
    if t.get("lora_target_modules"):
        modules = t["lora_target_modules"]
        return ", ".join(map(str, modules)) if isinstance(modules, (list, tuple)) else str(modules)
    adapter_config = folder / "adapter_config.json"
    if adapter_config.is_file():
        try:
            modules = json.loads(adapter_config.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CorrectError(f"{adapter_config}: not JSON ({getattr(e, 'msg', e)})") from None
        modules = modules.get("target_modules") if isinstance(modules, dict) else None
        if modules:
            return ", ".join(sorted(map(str, modules)) if isinstance(modules, (list, tuple)) else [str(modules)])
    return "peft's default modules for the model"


def read_log(folder: str | Path) -> list[dict]:
    """The run's log, one row an iteration; a line that is not JSON (a torn write) is named."""
    path = Path(folder, "log.jsonl")
    rows = []
    for n, line in enumerate(path.read_bytes().splitlines() if path.exists() else [], 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CorrectError(f"{path}, line {n}: not JSON ({getattr(e, 'msg', e)})") from None
        if not isinstance(rows[-1], dict):
            raise CorrectError(f"{path}, line {n}: not a JSON object (a row of a training log is one)")
    return rows


def read_eval(folder: str | Path) -> dict | None:
    """The run's held-out evaluation (``eval.json``), None where there is none; a file that is not
    one (torn, edited, another program's) is named, not a traceback."""
    path = Path(folder, EVAL_NAME)
    if not path.is_file():
        return None
    try:
        ev = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorrectError(
            f"{path}: not JSON ({getattr(e, 'msg', e)}); measure the corrector again or remove it"
        ) from None
    rounds = ev.get("rounds") if isinstance(ev, dict) else None
    if not isinstance(rounds, list) or not rounds or not all(isinstance(r, dict) for r in rounds):
        raise CorrectError(f"{path}: no `rounds` list; not an evaluation written by correct train or correct card")
    return ev


def write_model_card(
    folder: str | Path, config: CorrectorConfig, log: Sequence[dict] | None = None, evaluation: dict | None = None
) -> Path:
    """Write ``folder/README.md`` from the run's config, log and evaluation; returns its path."""
    from huggingface_hub import ModelCard, ModelCardData

    from ...tasks import TASKS

    folder = Path(folder)
    log = list(log) if log is not None else read_log(folder)
    t = config.training
    init, generator = (
        str(t.get("init", "")),
        str(t.get("generator") or (evaluation or {}).get("generator") or t.get("init", "")),
    )
    default_generator = (
        config.task in TASKS and Path(generator).resolve() == Path(TASKS[config.task].generator).resolve()
    )
    adapter = bool(t.get("lora_r")) and not t.get("merge_lora")
    data = ModelCardData(
        library_name="peft" if adapter else "transformers",
        pipeline_tag="text-generation",
        base_model=init
        if "/" in init and is_hub_id(init) and not Path(init).exists()
        else None,  # owner/name on the hub
        tags=["correct", "self-correction", "corrector", config.method] + ([config.task] if config.task else []),
    )
    trained = [row for row in log if row.get("iteration", -1) >= 0]
    card = ModelCard.from_template(
        data,
        template_path=TEMPLATE,
        config=config,
        training=t,
        method_name=METHOD_NAMES.get(config.method, config.method),
        generator_flag=None if default_generator else generator,
        init=_shown(init),
        generator=_shown(generator),
        settings=[[k, _setting(t[k])] for k in _MAIN_SETTINGS + (_LORA_SETTINGS if t.get("lora_r") else ()) if k in t],
        adapter=adapter,
        lora_modules=_lora_modules(folder, t),
        last_iteration=trained[-1] if trained else None,
        log_rows=_log_rows(log),
        results=_results(evaluation) if evaluation else None,
        mixture=_mixture_tasks(config.task),
        transfer=_transfer(folder),
    )
    path = folder / CARD_NAME
    tmp = path.with_suffix(".md.tmp")
    try:
        card.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _transfer(folder: Path) -> str | None:
    path = folder / TRANSFER_NAME
    try:
        return path.read_text(encoding="utf-8").strip() if path.is_file() else None
    except UnicodeDecodeError as e:
        raise CorrectError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _mixture_tasks(task: str | None) -> list[str] | None:
    """The names of the tasks of a mixture file (a corrector trained on several), else None."""
    from ...tasks import get_task
    from ...tasks.mixture import is_mixture, load_mixture

    return [t.name for t in load_mixture(task, get_task).tasks] if is_mixture(task) else None


def _log_rows(log: Sequence[dict]) -> list[list]:
    return [
        [
            "before training" if row.get("iteration") == -1 else row.get("iteration"),
            row.get("pool"),
            _num(row.get("pool_mean_value")),
            row.get("pairs", "-"),
            _num(row.get("loss")),
            _num(row.get("exploration_gain")),
        ]
        for row in log
    ]


def _results(ev: dict) -> dict:
    """The held-out evaluation as the card shows it: its table and its shares as text."""
    bounded = any("solved" in r for r in ev["rounds"])
    fluent = any("perplexity" in r for r in ev["rounds"])
    columns = (
        ["round", "mean value"]
        + (["solved", "broken"] if bounded else [])
        + (["perplexity", "empty"] if fluent else [])
    )
    rows = [
        [r["round"], _num(r["mean_value"])]
        + ([percent(r.get("solved")), percent(r.get("broken"))] if bounded else [])
        + ([_num(r.get("perplexity")), percent(r.get("empty"))] if fluent else [])
        for r in ev["rounds"]
    ]
    net_fixed = ev.get("net_fixed")
    return {
        "records": ev["records"],
        "split": ev.get("split", "held-out"),
        "corrector_rounds": len(ev["rounds"]) - 1,
        "generator": _shown(str(ev.get("generator", "?"))),
        "columns": columns,
        "rows": rows,
        "fluent": fluent,
        "net_fixed": None if net_fixed is None else percent(net_fixed),
        "broken_of_right": percent(ev.get("broken_of_right")),
    }


def _setting(x):
    return ",".join(map(str, x)) if isinstance(x, (list, tuple)) else x


def _num(x) -> str:
    return (
        "-"
        if x is None or (isinstance(x, float) and math.isnan(x))
        else (f"{x:.4g}" if isinstance(x, float) else str(x))
    )


def percent(x) -> str:
    """A share as a percentage, "-" when there is none (cards, report tables)."""
    return "-" if x is None else f"{x:.1%}"
