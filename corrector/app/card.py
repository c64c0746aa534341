"""Model cards: the README.md a saved corrector folder carries, written from the run itself
(its saved config, its training log, its held-out evaluation), in the Hugging Face model-card
layout: YAML metadata (``huggingface_hub.ModelCardData``) above a Markdown body."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Sequence

from ..model import CorrectorConfig

CARD_NAME = "README.md"
EVAL_NAME = "eval.json"

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9_.\-]+$")
# The training settings a reader needs first; the rest follow in the full table.
_MAIN_SETTINGS = ("method", "samples_per_prompt", "iterations", "steps", "pairs", "batch_size", "learning_rate",
                  "lr_scheduler", "temperature", "explore_prompts", "similarity", "seed")
METHOD_NAMES = {
    "pairing": "self-corrective learning (value-improving pairs; Welleck et al., 2023)",
    "hindsight": "Chain of Hindsight (Liu et al., 2023)",
    "hir": "Hindsight Instruction Relabeling (Zhang et al., 2023)",
}


def _shown(path: str) -> str:
    """How a model is named on the card: a shipped model by its name, not by this machine's path."""
    models = Path(__file__).parent / "models"
    try:
        return f"{Path(path).resolve().relative_to(models.resolve())} (shipped with correct)"
    except (ValueError, OSError):
        return path


def read_log(folder: str | Path) -> list[dict]:
    path = Path(folder, "log.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def write_model_card(folder: str | Path, config: CorrectorConfig, log: Sequence[dict] | None = None,
                     evaluation: dict | None = None) -> Path:
    """Write ``folder/README.md`` from the run's config, log and evaluation; returns its path."""
    from huggingface_hub import ModelCard, ModelCardData

    folder = Path(folder)
    log = list(log) if log is not None else read_log(folder)
    t = config.training
    init, generator = str(t.get("init", "")), str(t.get("generator") or (evaluation or {}).get("generator") or t.get("init", ""))
    from ...tasks import TASKS

    default_generator = config.task in TASKS and Path(generator).resolve() == Path(TASKS[config.task].generator).resolve()
    use = "correct generate " + (f"--task {config.task} " if config.task else "--input FILE.jsonl ")
    use += "" if default_generator else f"--generator {generator} "
    data = ModelCardData(
        library_name="transformers",
        pipeline_tag="text-generation",
        base_model=init if _HUB_ID.match(init) and not Path(init).exists() else None,
        tags=["correct", "self-correction", "corrector", config.method] + ([config.task] if config.task else []),
    )
    title = f"Corrector for {config.task or 'a custom task'} ({config.method})"
    lines = [f"# {title}", "",
             f"A corrector trained with `correct train` by {METHOD_NAMES.get(config.method, config.method)}: "
             "given a question, a draft and the value's feedback on it, it writes a better draft.", "",
             "## Use", "",
             f"    {use}--corrector PATH_TO_THIS_FOLDER --rounds 3", "",
             "## Training", "",
             f"- **Initial weights:** `{_shown(init)}`",
             f"- **Generator whose drafts filled the pool:** `{_shown(generator)}`",
             f"- **Task:** {config.task or 'custom records'}; **value:** `{config.value}`",
             f"- **Method:** {METHOD_NAMES.get(config.method, config.method)}; input template `{config.template}`",
             *_data_lines(t, log), "",
             _table(["setting", "value"], [[k, t[k]] for k in _MAIN_SETTINGS if k in t]), "",
             "Every setting is recorded in `correct_config.json`.", ""]
    if log:
        lines += ["## Training log", "", _log_table(log), ""]
    lines += ["## Results", ""]
    lines += _evaluation_lines(evaluation) if evaluation else ["No held-out evaluation was run with this training run.", ""]
    if config.prompt_format:
        lines += ["## Input format", "", *("    " + line for line in config.prompt_format.rstrip("\n").split("\n")), ""]
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))
    path = folder / CARD_NAME
    tmp = path.with_suffix(".md.tmp")
    card.save(tmp)
    tmp.replace(path)
    return path


def _data_lines(t: dict, log: Sequence[dict]) -> list[str]:
    lines = [f"- **Data:** {t.get('train_prompts', '?')} training prompts × {t.get('samples_per_prompt', '?')} generator drafts"]
    trained = [row for row in log if row.get("iteration", -1) >= 0]
    if trained:
        last = trained[-1]
        lines.append(f"- **Pool at the end:** {last['pool']} scored drafts (mean value {last['pool_mean_value']:.3f}); "
                     f"{last.get('pairs', '?')} training examples per iteration")
    return lines


def _log_table(log: Sequence[dict]) -> str:
    rows = []
    for row in log:
        it = row.get("iteration")
        rows.append(["before training" if it == -1 else it, row.get("pool"), _num(row.get("pool_mean_value")),
                     row.get("pairs", "-"), _num(row.get("loss")), _num(row.get("exploration_gain"))])
    return _table(["iteration", "pool", "pool mean value", "examples", "loss", "exploration gain"], rows)


def _evaluation_lines(ev: dict) -> list[str]:
    head = (f"Measured on {ev['records']} held-out records ({ev.get('split', 'held-out')} split), greedy decoding, "
            f"{len(ev['rounds']) - 1} corrector rounds after the drafts of generator `{_shown(str(ev.get('generator', '?')))}`:")
    bounded = any("solved" in r for r in ev["rounds"])
    fluent = any("perplexity" in r for r in ev["rounds"])
    cols = ["round", "mean value"] + (["solved", "broken"] if bounded else []) + (["perplexity", "empty"] if fluent else [])
    rows = [[r["round"], _num(r["mean_value"])] + ([percent(r.get("solved")), percent(r.get("broken"))] if bounded else [])
            + ([_num(r.get("perplexity")), percent(r.get("empty"))] if fluent else []) for r in ev["rounds"]]
    lines = [head, "", _table(cols, rows), ""]
    if fluent:
        lines += ["Perplexity: the generator's, of each round's texts given its prompt (a corrector that wins the value by "
                  "writing less, or nonsense, shows up as a rise).", ""]
    if ev.get("net_fixed") is not None:
        lines += [f"Net fixed (of wrong drafts): {percent(ev['net_fixed'])}; broken (of right drafts): {percent(ev.get('broken_of_right'))}.", ""]
    return lines


def _num(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else (f"{x:.4g}" if isinstance(x, float) else str(x))


def percent(x) -> str:
    """A share as a percentage, "-" when there is none (cards, report tables)."""
    return "-" if x is None else f"{x:.1%}"


def _table(cols: Sequence[str], rows: Sequence[Sequence]) -> str:
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
