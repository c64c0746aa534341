"""Resuming a killed ``correct train`` run from its last consistent state.

What a run folder holds, and why it is enough:

- ``pool.jsonl``: appended draft by draft, fsync'd; a torn last line is cut on reading. A
  prompt whose generator drafts were only partly written is drafted again (its partial drafts
  are dropped), so no prompt ends with too few or too many.
- ``checkpoints/stage-S``: written after each stage -- ``init`` (the initial corrector's
  exploration) and each iteration 0, 1, ... (pairs -> learn -> explore; the last iteration
  does not explore, and a resume that trains further explores first) -- with the model, its
  tokenizer and ``state.json`` (the exploration RNG's state, the iteration, whether it
  explored). It is written under a temporary name and renamed, so a half-written checkpoint
  is never taken for one.
- ``log.jsonl``: one row per finished stage.

On ``--resume`` the run continues after the last checkpoint: the model comes from it, the
RNG is restored, and whatever a later, unfinished stage left behind (its exploration drafts
in the pool, its log row) is removed before that stage runs again. Each iteration builds a
fresh optimiser and scheduler (a schedule per iteration), and its pairs, its data order and
its sampling are seeded, so rerunning an interrupted iteration from its start reaches what the
uninterrupted run reached.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

from ..failpoints import failpoint
from ..outputs import whole_lines
from .config import DRAFTING

CHECKPOINTS = "checkpoints"
STATE = "state.json"


def _stage_name(iteration: int) -> str:
    return "init" if iteration < 0 else str(iteration)


def save_checkpoint(
    out: Path, iteration: int, hf, rng: random.Random, keep: int, question: str = "task", explored: bool = True
) -> Path:
    """Model, tokenizer and RNG state after ``iteration`` (-1: the initial exploration), how
    the corrector was shown the question (``CorrectorConfig.question``), and whether the
    iteration's exploration was made (a run's last iteration makes none)."""
    root = out / CHECKPOINTS
    final = root / f"stage-{_stage_name(iteration)}"
    tmp = root / f".tmp-stage-{_stage_name(iteration)}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    from .trainee import save_model

    save_model(hf.model, tmp)
    hf.tokenizer.save_pretrained(tmp)
    (tmp / STATE).write_text(json.dumps(_state(iteration, rng, question, explored)))
    failpoint("checkpoint")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _prune(root, keep)
    return final


def _state(iteration: int, rng: random.Random, question: str, explored: bool) -> dict:
    version, internal, gauss = rng.getstate()
    return {"iteration": iteration, "rng": [version, list(internal), gauss], "question": question, "explored": explored}


def mark_explored(checkpoint: Path, rng: random.Random) -> None:
    """The checkpointed iteration's exploration made after all (a resume that trains further):
    its state now says so, with the RNG as the exploration left it; its weights are as they were."""
    state = json.loads((checkpoint / STATE).read_text())
    tmp = checkpoint / f".{STATE}.tmp"
    tmp.write_text(json.dumps(_state(state["iteration"], rng, state.get("question", "prompt"), True)))
    os.replace(tmp, checkpoint / STATE)


def _prune(root: Path, keep: int) -> None:
    done = sorted(checkpoints(root.parent), key=lambda c: c[0])
    for _, path in done[: max(0, len(done) - keep)]:
        shutil.rmtree(path, ignore_errors=True)


def checkpoints(out: Path) -> list[tuple[int, Path]]:
    """Finished checkpoints as (iteration, folder); temporary ones are ignored."""
    root = out / CHECKPOINTS
    found = []
    for path in root.glob("stage-*") if root.exists() else []:
        if (path / STATE).is_file():
            found.append((json.loads((path / STATE).read_text())["iteration"], path))
    return found


def latest(out: Path) -> tuple[int, Path, random.Random] | None:
    """(iteration, folder, restored RNG) of the newest checkpoint, or None."""
    found = checkpoints(out)
    if not found:
        return None
    iteration, path = max(found, key=lambda c: c[0])
    version, internal, gauss = json.loads((path / STATE).read_text())["rng"]
    rng = random.Random()
    rng.setstate((version, tuple(internal), gauss))
    return iteration, path, rng


def _log_lines(log: Path) -> list[str]:
    """The whole lines of a run's log: a last line without its newline is a row torn by a kill
    (or a full disk) before its stage was checkpointed, and goes as that stage's row does. A
    line that is not a row of the loop (a note written into the file) is refused by its line."""
    from .config import TrainError

    every = whole_lines(log).decode("utf-8").splitlines() if log.exists() else []
    for n, line in enumerate(every, 1):
        try:
            line.strip() and json.loads(line).get("iteration")
        except (ValueError, AttributeError):
            raise TrainError(
                f"{log}:{n}: not a row of correct train's log; remove it to resume the run", option="resume"
            ) from None
    return [line for line in every if line.strip()]


def logged_cpu(out: Path) -> float:
    """The CPU-seconds the run in ``out`` had spent by its last logged iteration (the log counts
    the whole run, every resumed process added to those before it); 0 before any."""
    rows = [json.loads(line) for line in _log_lines(out / "log.jsonl")]
    return max((r.get("cpu_seconds") or 0.0 for r in rows), default=0.0)


def question_layout(checkpoint: Path) -> str:
    """How the checkpointed corrector was shown the question: a run resumes as it began
    (checkpoints from before this was recorded were shown the raw prompt)."""
    return json.loads((checkpoint / STATE).read_text()).get("question", "prompt")


def explored(checkpoint: Path) -> bool:
    """Whether the checkpointed iteration's exploration was made (checkpoints from before a
    last iteration skipped it always were)."""
    return json.loads((checkpoint / STATE).read_text()).get("explored", True)


def forget_after(out: Path, pool, iteration: int, write_log: bool = True) -> None:
    """Remove what stages after ``iteration`` wrote before the kill: their exploration drafts
    and their log rows (-1 is the initial exploration; -2 means nothing finished)."""

    def later(origin: str) -> bool:
        if not origin.startswith("corrector@"):
            return False
        stage = origin.split("@", 1)[1]
        return (-1 if stage == "init" else int(stage)) > iteration

    pool.drop(lambda d: later(d.origin))
    log = out / "log.jsonl"
    if write_log and log.exists():
        rows = _log_lines(log)
        kept = [line for line in rows if json.loads(line).get("iteration", -1) <= iteration]
        torn = len(whole_lines(log)) < log.stat().st_size
        if len(kept) != len(rows) or torn:
            tmp = log.with_suffix(".jsonl.tmp")
            tmp.write_text("".join(line + "\n" for line in kept))
            os.replace(tmp, log)


SETTINGS = "settings.json"
"""In ``checkpoints/``: the settings the run's training began with, which a resume must keep."""
KEPT = (
    "method",
    "feedback",
    "init",
    "seed",
    "steps",
    "batch_size",
    "learning_rate",
    "lr_scheduler",
    "warmup_steps",
    "alpha",
    "beta",
    "identity_share",
    "similarity",
    *DRAFTING,  # the number of drafts a prompt is kept by run.json (files.claim_folder)
    "loss_on",
    "mask_share",
    "mask_scope",
    "contrastive_weight",
    "lm_corpus",
    "lm_weight",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "lora_target_modules",
)
"""What a resumed run may not change: what its corrector is trained on and how. How long it goes
on (iterations, a CPU budget), how it is saved and reported, and how a step is fitted into memory
(accumulation, checkpointing, precision) may change."""


def kept_settings(config, init: str) -> dict:
    """The ``KEPT`` settings of a run (a resolved ``TrainConfig``) as JSON reads them back, a
    local path by its absolute form."""

    def plain(name: str):
        value = init if name == "init" else getattr(config, name)
        if name in ("init", "lm_corpus") and value is not None and Path(value).expanduser().exists():
            value = str(Path(value).expanduser().resolve())
        return json.loads(json.dumps(value))

    return {name: plain(name) for name in KEPT}


def keep_settings(out: Path, config, init: str, write: bool = True) -> None:
    """A run's training settings recorded as it begins; a resumed run (``config.resume``) that
    changes one of them is refused with a TrainError naming it, since its corrector would be
    trained on under two runs' settings (its checkpoints, and its pool's explored drafts, are the
    first's). A resume of a run that recorded none records its own. ``write``: whether this
    process writes the file (the main one)."""
    from .config import TrainError

    path = out / CHECKPOINTS / SETTINGS
    mine = kept_settings(config, init)
    if config.resume and path.is_file():
        recorded = json.loads(path.read_text())
        for name, value in mine.items():
            if name in recorded and recorded[name] != value:
                raise TrainError(
                    f"{out} holds a run trained with {name} {recorded[name]!r}, and this one asks for {value!r}: "
                    "resuming would train one corrector under two runs' settings; resume with the same, or give "
                    "another folder",
                    option=name,
                )
        return
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(mine, indent=1) + "\n")
        os.replace(tmp, path)


# --------------------------------------------------------------------------- inside an iteration

COMPLETE = "correct_complete"
"""Written into a Trainer checkpoint once the Trainer has finished writing it."""


def step_callbacks() -> list:
    """Trainer callbacks: mark each finished step checkpoint complete (transformers writes
    them in place, so a kill mid-write would otherwise leave one that looks whole), and the
    crash-test kills inside the optimisation."""
    from transformers import TrainerCallback

    class MarkComplete(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            failpoint("trainer-checkpoint")
            if folder.is_dir():
                with open(folder / COMPLETE, "w") as f:
                    f.write(f"{state.global_step}\n")
                    f.flush()
                    os.fsync(f.fileno())

    class Kill(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                failpoint("train-step")

    return [MarkComplete(), Kill()]


def last_step_checkpoint(folder: Path) -> str | None:
    """The newest complete Trainer checkpoint in ``folder`` (incomplete ones are deleted)."""
    if not folder.is_dir():
        return None
    complete = []
    for path in folder.glob("checkpoint-*"):
        if (path / COMPLETE).is_file():
            complete.append(path)
        else:
            shutil.rmtree(path, ignore_errors=True)
    return str(max(complete, key=lambda p: int(p.name.split("-")[1]))) if complete else None


def drop_step_checkpoints(folder: Path) -> None:
    """An iteration is done and checkpointed whole: its step checkpoints are not needed."""
    for path in folder.glob("checkpoint-*") if folder.is_dir() else []:
        shutil.rmtree(path, ignore_errors=True)
