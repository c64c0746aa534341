"""Where a command may write: its outputs checked against its inputs and each other before
anything loads, and a training folder tied to the records and value its pool was begun on."""

from __future__ import annotations

from pathlib import Path

from .args import UsageError


def check_paths(outputs: dict, inputs: dict, folders: bool = False) -> None:
    """Before anything loads or is written: each output (option -> path; a folder with
    ``folders``) can be made where it is asked for, and none is an input or another output, which
    writing it would destroy. ``inputs``: option -> path, a local file or folder (others are
    skipped)."""
    seen: dict[Path, str] = {}
    for option, path in inputs.items():
        if path is not None and Path(path).exists():
            seen.setdefault(Path(path).resolve(), option)
    for option, path in outputs.items():
        if path is None:
            continue
        path = Path(path)
        if folders and path.exists() and not path.is_dir():
            raise UsageError(f"{option} {path}: a file is there; give a folder")
        if not folders and path.is_dir():
            raise UsageError(f"{option} {path}: a folder is there; give a file name")
        above = next((a for a in path.parents if a.exists()), None)
        if above is not None and not above.is_dir():
            raise UsageError(f"{option} {path}: {above} is a file, not a folder")
        other = seen.get(path.resolve())
        if other is not None:
            raise UsageError(f"{option} {path} is also {other}: writing it would destroy that; give another path")
        seen[path.resolve()] = option


def task_files(task) -> dict[str, Path]:
    """The local files a task file's task reads (for ``check_paths``): the task file, its data
    files and its shots file, each named as a refusal says it; none for a built-in task."""
    if task is None or not task.source:
        return {}
    base = Path(task.source).parent
    data = task.data if isinstance(task.data, dict) else {"": task.data}
    named = {f"the task's data{f' ({k})' if k else ''}": v for k, v in data.items()}
    named["the task's shots"] = task.shots.data
    found = {k: base / v for k, v in named.items() if isinstance(v, str) and (base / v).is_file()}
    return {"--task": Path(task.source), **found}


RUN_FILE = "run.json"
"""In a training folder: the records (a hash of each prompt, by id) and value its pool was drawn
and scored on."""


def claim_folder(folder: Path, records: list[dict], value: str | None, samples: int | None = None) -> None:
    """Refuse to train into ``folder`` on other records, another value or another number of
    drafts a prompt (``samples``) than the run that began its pool (``RUN_FILE``): a rerun skips
    the prompts already in the pool, so another task's drafts, scored by another value, would be
    paired as this run's, and every prompt drawn with fewer samples would be drawn whole again.
    The same records and more of them (a larger --limit) go on; the first run writes the file."""
    import hashlib
    import json

    from ..outputs import write_json_atomic

    def digest(r: dict, whole: bool) -> str:  # the whole record: an edited answer changes what its drafts score
        text = (
            json.dumps({k: v for k, v in r.items() if k != "id"}, sort_keys=True, default=str) if whole else r["prompt"]
        )
        return hashlib.sha256(str(text).encode()).hexdigest()[:16]

    path = Path(folder) / RUN_FILE
    try:
        old = json.loads(path.read_text()) if path.exists() else None
        prompts, old_value = (dict(old["prompts"]), old.get("value")) if old is not None else ({}, None)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(f"{path}: not a run file of correct train; give another --output") from None
    whole = old is None or old.get("records") == "whole"  # a run file of before: its prompts only
    mine = {str(r["id"]): digest(r, whole) for r in records}
    if old is not None:
        other = next((i for i, h in prompts.items() if mine.get(i) != h), None)
        if other is not None or old_value != value:
            why = (
                f"its value is {old_value!r}, this run's {value!r}"
                if other is None
                else f"its record {other!r} is not this run's"
            )
            raise UsageError(
                f"--output {folder} holds a run on other records or another value ({why}; {RUN_FILE}): its pool "
                "would be paired as this run's (its drafts scored against the records it had); give another folder, "
                "or the task, split, --limit and --value that began it"
            )
        drawn = old.get("samples")  # a run file written before the number was kept has none
        if samples is not None and drawn is not None and drawn != samples:
            raise UsageError(
                f"--output {folder} holds a pool of {drawn} drafts a prompt ({RUN_FILE}), and this run asks for "
                f"{samples}: give --samples {drawn} to go on with it, or another folder"
            )
        if mine.keys() <= prompts.keys():
            return
        samples = drawn if samples is None else samples
    Path(folder).mkdir(parents=True, exist_ok=True)
    held = {"value": value, "prompts": mine, **({"records": "whole"} if whole else {})}
    write_json_atomic(path, held | ({} if samples is None else {"samples": samples}))


def run_file(output: str | Path) -> Path:
    """Where ``correct generate`` keeps what a run into ``output`` was asked for (``check_run``)."""
    return Path(output).with_suffix(".run.json")


def check_run(output: Path, settings: dict, resume: bool) -> dict:
    """What a ``correct generate`` run is asked for (its models, value and decoding), as kept
    beside its output (``run_file``, written with the output's first line: a run that fails
    before it leaves the file as it was). A run resumed into that output that asks for another
    setting is refused by its name: the lines it appends, and the metrics over them all, would
    mix two runs. An output written before these were kept goes on (and keeps this run's), and
    so does one with no lines yet. Returns the settings as JSON reads them back."""
    import json

    path, mine = run_file(output), json.loads(json.dumps(settings))
    if resume and path.is_file() and output.is_file() and output.stat().st_size:
        try:
            theirs = json.loads(path.read_text())
            theirs.items()
        except (ValueError, AttributeError):
            raise UsageError(f"{path}: not a run file of correct generate; give another --output") from None
        for key, value in mine.items():
            if key in theirs and theirs[key] != value:
                raise UsageError(
                    f"{output} was written with {key.replace('_', ' ')} {theirs[key]!r} ({path.name}), and this run "
                    f"asks for {value!r}: resume with the same, or write to another output",
                    option=None if key in ("prompt", "correction_prompt") else key,  # the task file's keys
                )
    return mine


def check_not_trained(folder: Path, kind: str) -> None:
    """A folder that holds a corrector or a training run is not written over by another kind of
    model (``kind``, as its ``correct_config.json`` names it): ``train-reward`` into a
    corrector's folder replaced its weights and config and left its pool, log and card."""
    import json

    config = Path(folder) / "correct_config.json"
    try:
        method = json.loads(config.read_text()).get("method") if config.is_file() else None
    except (ValueError, AttributeError):
        method = "?"
    held = [n for n in ("pool.jsonl", "log.jsonl") if (Path(folder) / n).is_file()]
    if (method is not None and method != kind) or held:
        what = f"a corrector ({method})" if method not in (None, kind) else f"a training run ({', '.join(held)})"
        raise UsageError(
            f"--output {folder} holds {what}: writing a {kind} there would destroy it; give another folder"
        )


def check_fresh(folder: Path, resume: bool) -> None:
    """A training folder that holds an earlier run's training (its log, its stage checkpoints) is
    gone on with only by --resume: a fresh run into it would add a second run's rows to its log,
    and a later --resume would take up the earlier run's checkpoints as this one's."""
    from ..training.resume import CHECKPOINTS, checkpoints

    log = Path(folder) / "log.jsonl"
    found = {"log.jsonl": log.is_file() and log.stat().st_size > 0, CHECKPOINTS: bool(checkpoints(Path(folder)))}
    trained = [name for name, there in found.items() if there]
    if trained and not resume:
        raise UsageError(
            f"--output {folder} holds an earlier training run ({', '.join(trained)}): add --resume to go on with it, "
            f"or give another folder (to train again on its drafts, copy its pool.jsonl and {RUN_FILE} there)"
        )
