"""A user's task as a YAML file (docs/task-files.md): where its records come from, which
column is which field, the generator's prompt, few-shot examples, stop strings, the token
budget and the value. Every mistake is one line naming the file and the key, raised when
the file is read or its data first loaded, before any model is."""

from __future__ import annotations

import functools
import math
import re
import string
from pathlib import Path
from typing import Any

from .data import FORMATS, RecordError, read_file, read_hub, read_yaml, saved_to_disk
from .task import Shots, Task, TaskError, template_fields

REQUIRED = ("data", "prompt", "value")
MAX_WIDTH = 1000
"""The largest width or precision of a field in a task's template (``{prompt:>40}`` is fine)."""

KEYS = {
    "name": "the task's name (default: the file's name)",
    "description": "one line saying what the task is",
    "data": "split -> local file (.jsonl, .json, .csv, .parquet, relative to the task file), one file for every split, "
    "or a dataset: {path: HUB_ID_OR_FOLDER, name: CONFIG, data_files: ...}",
    "fields": "record field <- dataset column, for every file of the task (shots included)",
    "prompt": "the generator's prompt, a template over record fields: {prompt} is the question",
    "shots": "few-shot examples before each prompt: {data: FILE_OR_SPLIT, k: N, target: FIELD}",
    "stop": "strings that end a draft",
    "max_new_tokens": "token budget per draft",
    "value": "the value function, any --value spec",
    "generator": "default generator (hub id, path or named generator)",
    "corrector": "default corrector",
    "chat_template": "send the prompt through the generator's chat template as one user message",
    "correction_prompt": "what `--corrector self` sends the generator to rewrite a draft: a template over {prompt} "
    "(the question as the task lays it out), {draft} and {feedback}",
    "limit": "records `correct generate` takes when no --limit is given (default: all)",
    "min_gain": "default `correct train --min-gain`",
    "temperature": "default `correct train --temperature` of the pool drafts",
}
"""Every key a task file may hold, and what it means (``correct tasks --show`` writes them)."""

SHOT_KEYS = ("data", "k", "target")


def key_at(path: str | Path, key: str) -> str:
    """``FILE:LINE`` of a top-level key of a task file (``FILE`` alone if it cannot be placed),
    for an error found after the file was read, such as its value failing to load."""
    try:
        _, lines = read_yaml(Path(path), "a task file", TaskError)
    except TaskError:  # the file was read once already; this only places the key
        return str(path)
    return f"{path}:{lines[key]}" if key in lines else str(path)


def is_task_file(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or Path(name).is_file()


def load_task_file(path: str | Path) -> Task:
    """The Task a YAML file describes; its data is read when a split is first asked for."""

    path = Path(path)
    if not path.is_file():
        raise TaskError(f"task file {path}: no such file", option="task")
    spec, lines = read_yaml(path, "a task file", TaskError)
    if not isinstance(spec, dict):
        raise TaskError(f"{path}: a task file is a mapping of keys ({', '.join(KEYS)}), got {type(spec).__name__}")
    at = lambda key: f"{path}:{lines[key]}" if key in lines else str(path)  # noqa: E731
    if "mixture" in spec:
        raise TaskError(
            f"{at('mixture')}: a mixture of tasks trains one corrector (`correct train --task {path}`); "
            "to draft or correct, give one of its tasks"
        )
    for key in spec:
        if key not in KEYS:
            raise TaskError(f"{at(key)}: unknown key {key!r}; a task file has {', '.join(KEYS)}")
    for key in REQUIRED:
        if spec.get(key) is None:
            raise TaskError(f"{path}: missing key {key!r} ({KEYS[key]})")
    check = Checker(path, at)
    prompt, value = check.text("prompt", spec["prompt"]), check.text("value", spec["value"])
    check.template("prompt", prompt, needs_field=True)
    fields = check.mapping("fields", spec.get("fields") or {})
    data, splits = check.data(spec["data"])
    shots = check.shots(spec.get("shots"), splits)
    stop = spec.get("stop", ())
    stop = () if stop is None else (stop,) if isinstance(stop, str) else stop
    if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) and s for s in stop):
        raise TaskError(f"{at('stop')}: key 'stop' must be a string or a list of non-empty strings")
    if any("\\n" in s for s in stop):  # '\n' single-quoted or plain is two characters, which drafts rarely hold
        raise TaskError(
            f"{at('stop')}: key 'stop' holds a backslash followed by n, as written (YAML reads escapes only in "
            'double quotes); for a line break write "\\n" in double quotes'
        )
    task = Task(
        name=check.text("name", spec.get("name") or path.stem),
        description=check.text("description", spec.get("description") or ""),
        prompt=prompt,
        value=value,
        stop=tuple(stop),
        fields=fields,
        data=spec["data"],
        source=str(path),
        max_new_tokens=check.number("max_new_tokens", spec.get("max_new_tokens"), int, 1),
        default_limit=check.number("limit", spec.get("limit"), int, 1),
        min_gain=check.number("min_gain", spec.get("min_gain"), float, 0.0) or 0.0,
        pool_temperature=check.number("temperature", spec.get("temperature"), float, 0.01) or 1.0,
        generator=_beside(path, check.text("generator", spec.get("generator"))),
        corrector=_beside(path, check.text("corrector", spec.get("corrector"))),
        chat_template=bool(check.flag("chat_template", spec.get("chat_template", False))),
        correction_prompt=check.correction_prompt(spec.get("correction_prompt")),
        shots=shots,
        splits=splits,
        make_split=lambda split, n, seed: [],
    )
    loader = functools.lru_cache(maxsize=None)(lambda split: _load(task, data, split, at))
    return _with_loader(task, loader)


def _beside(path: Path, model: str | None) -> str | None:
    """A model the task file names by a relative path, as its data and value are named: from the
    file's folder where that path is there (it was looked for from the working directory);
    anything else (a hub id, a named model, an absolute path) as written."""
    if model and not Path(model).expanduser().is_absolute() and (path.parent / model).exists():
        return str(path.parent / model)
    return model


def _with_loader(task: Task, loader) -> Task:
    from dataclasses import replace

    return replace(task, make_split=lambda split, n, seed: loader(split)[:n] if n else loader(split))


class Checker:
    """Type checks of a task file's values, each error naming the file, line and key."""

    def __init__(self, path: Path, at):
        self.path, self.at = path, at

    def fail(self, key: str, message: str):
        raise TaskError(f"{self.at(key.split('.')[0])}: key {key!r} {message}")

    def text(self, key: str, v: Any) -> str | None:
        if v is not None and not isinstance(v, str):
            self.fail(key, f"must be a string, got {v!r}")
        return v

    def template(self, key: str, v: str, needs_field: bool = False, formats: bool = True) -> None:
        """A template over record fields: every field named (``{}`` or ``{0}`` has no record
        field to take), no field inside a format spec, no width or precision over ``MAX_WIDTH``
        (``formats`` False: the caller refuses every format), and with ``needs_field`` at least
        one field (else every record would get the same prompt)."""
        how = "a field is written {name}, a literal brace {{ or }}"
        try:
            parts = list(string.Formatter().parse(v))
        except ValueError as e:
            self.fail(key, f"is not a valid template ({e}); {how}")
        for _, name, spec, conversion in parts:
            if name is not None and (not name or name[0].isdigit()):
                self.fail(key, f"has a field without a name ({{{name}}}); {how}")
            if conversion not in (None, "r", "s", "a"):
                self.fail(key, f"has an unknown conversion !{conversion} in {{{name}!{conversion}}}; {how}")
            if spec and "{" in spec:
                self.fail(key, f"has a field inside the format of {{{name}}}; {how}")
            if formats and spec and max(map(int, re.findall(r"\d+", spec)), default=0) > MAX_WIDTH:
                # a width pads every prompt to that many characters, a float's precision writes as many
                # digits: gigabytes, or a MemoryError
                self.fail(key, f"has a width or precision over {MAX_WIDTH} in {{{name}:{spec}}}; {how}")
        if needs_field and not template_fields(v):
            self.fail(
                key,
                "names no record field, so every record would get the same prompt; write {prompt} where the "
                "question goes",
            )

    def correction_prompt(self, v) -> str | None:
        """A ``correction_prompt``: text whose fields are among {prompt}, {draft} and {feedback}."""
        if v is None:
            return None
        text = self.text("correction_prompt", v)
        self.template("correction_prompt", text, formats=False)
        names = set(template_fields(text))
        for _, name, spec, conversion in string.Formatter().parse(text):
            # The fields are text, written whole: a number's format fails, a width pads without end,
            # and !r quotes a draft with its line breaks escaped.
            if spec or conversion:
                given = f"{name}!{conversion}" if conversion else f"{name}:{spec}"
                self.fail("correction_prompt", f"gives {{{name}}} a format ({given}); write the field as {{{name}}}")
        if names - {"prompt", "draft", "feedback"} or "draft" not in names:
            self.fail(
                "correction_prompt",
                f"must name {{draft}} and may name {{prompt}} and {{feedback}}, got {sorted(names)}",
            )
        return text

    def flag(self, key: str, v: Any) -> bool:
        if not isinstance(v, bool):
            self.fail(key, f"must be true or false, got {v!r}")
        return v

    def number(self, key: str, v: Any, kind: type, low: float):
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not isinstance(v, int)):
            self.fail(key, f"must be {'an integer' if kind is int else 'a number'}, got {v!r}")
        if not math.isfinite(v):
            self.fail(key, f"must be a finite number, got {v!r}")
        if v < low:
            self.fail(key, f"must be at least {low}, got {v!r}")
        return kind(v)

    def mapping(self, key: str, v: Any) -> dict[str, str]:
        if not isinstance(v, dict) or not all(isinstance(a, str) and isinstance(b, str) for a, b in v.items()):
            self.fail(key, "must map record fields to column names, e.g. {prompt: question}")
        return dict(v)

    def data(self, v: Any) -> tuple[dict, tuple[str, ...] | None]:
        """(split -> file path, or {"path": ...} for a dataset; the splits, None when a dataset names them)."""
        if isinstance(v, str):
            return {"*": self.file("data", v)}, None
        if not isinstance(v, dict) or not v:
            self.fail(
                "data", f"must be a file, a mapping of split -> file, or {{path: DATASET, name: CONFIG}}, got {v!r}"
            )
        if "path" in v:
            unknown = set(v) - {"path", "name", "data_files", "revision"}
            if unknown:
                self.fail("data", f"has unknown key {sorted(unknown)[0]!r} for a dataset (path, name, data_files)")
            if not isinstance(v["path"], str) or not v["path"].strip():
                self.fail("data.path", f"must be a dataset's hub id or folder, got {v['path']!r}")
            spec = dict(v)
            if Path(self.path.parent, v["path"]).exists():  # a local dataset folder, relative to the task file
                spec["path"] = str(Path(self.path.parent, v["path"]))
            if saved_to_disk(spec["path"]) == "one":  # every split would be the same records
                why = "one dataset saved with save_to_disk, which has no splits"
                self.fail(
                    "data", f"names {v['path']!r}, {why}; save a DatasetDict of its splits, or its rows as a file"
                )
            return {"dataset": spec}, None
        return {split: self.file(f"data.{split}", f) for split, f in v.items()}, tuple(v)

    def file(self, key: str, name: Any) -> Path:
        if not isinstance(name, str):
            self.fail(key, f"must be a file name, got {name!r}")
        file = self.path.parent / name
        if file.suffix.lower() not in FORMATS:
            self.fail(key, f"names {name!r}, which is not a {', '.join(FORMATS)} file")
        if not file.is_file():
            self.fail(key, f"names {name!r}, which does not exist (looked for {file})")
        return file

    def shots(self, v: Any, splits: tuple[str, ...] | None) -> Shots:
        if v is None:
            return Shots()
        if not isinstance(v, dict) or set(v) - set(SHOT_KEYS):
            self.fail("shots", f"must be a mapping of {', '.join(SHOT_KEYS)}, got {v!r}")
        data = self.text("shots.data", v.get("data", "validation"))
        if data not in (splits or ()) and (splits is not None or Path(data).suffix.lower() in FORMATS):
            self.file("shots.data", data)
        return Shots(
            k=self.number("shots.k", v.get("k", 0), int, 0),
            data=data,
            target=self.text("shots.target", v.get("target", "solution")),
        )


def _load(task: Task, data: dict, split: str, at) -> list[dict]:
    """The records of a split (or of a shots file), checked against the prompt's fields."""
    path = Path(task.source)
    try:
        if split == task.shots.data and split not in data and Path(split).suffix.lower() in FORMATS:
            file = path.parent / split  # a shots file, also where the data is one file or a dataset
            records, where = read_file(file, (), task.fields), str(file)
        elif "dataset" in data:
            d = data["dataset"]
            records = read_hub(str(d["path"]), d.get("name"), split, (), task.fields, d.get("data_files"))
            where = f"dataset {d['path']!r}, split {split!r}"
        elif split in data or "*" in data:
            file = data.get(split, data.get("*"))
            records, where = read_file(file, (), task.fields), str(file)
        else:
            raise TaskError(f"{at('data')}: key 'data' has no split {split!r} (splits: {', '.join(data)})")
    except RecordError as e:
        raise TaskError(f"{path}: {e}") from None
    check_fields(task, records, where, at)
    return records


def check_fields(task: Task, records: list[dict], where: str, at=None) -> None:
    """Every record has the question (``prompt``) and each field the prompt template names;
    the error says which key of the task file to change."""
    at = at or (lambda key: task.source or f"task {task.name!r}")
    names = list(dict.fromkeys(["prompt", *template_fields(task.prompt)]))
    for name in names:
        lacking = next((r for r in records if name not in r), None)
        if lacking is None:
            continue
        columns = f"record {lacking['id']!r} has {', '.join(k for k in lacking if k != 'id')}"
        if name in task.fields:
            raise TaskError(
                f"{at('fields')}: key 'fields' takes {name!r} from column {task.fields[name]!r}, "
                f"which {where} does not have ({columns})"
            )
        if name == "prompt":
            raise TaskError(
                f"{at('fields')}: {where} has no 'prompt' column, the question the corrector sees; "
                f"map one with key 'fields', e.g. {{prompt: question}} ({columns})"
            )
        raise TaskError(
            f"{at('prompt')}: key 'prompt' names the field {name!r}, which {where} does not have ({columns})"
        )
    for r in records:  # an empty cell would be the text "None"; a format the value cannot take fails late
        empty = next((name for name in names if r[name] is None), None)
        if empty == "prompt":  # the question: said as load_records says it of --input
            raise TaskError(f"{where}: record {r['id']!r} has a 'prompt' that is null, not text")
        if empty is not None:
            raise TaskError(
                f"{at('prompt')}: key 'prompt' names the field {empty!r}, which record {r['id']!r} of {where} "
                "leaves empty (null, or an empty cell)"
            )
        try:
            task.prompt.format_map(r)
        except (ValueError, TypeError, IndexError, AttributeError, KeyError) as e:
            raise TaskError(f"{at('prompt')}: key 'prompt' cannot lay out record {r['id']!r} of {where}: {e}") from None


def task_file_text(task: Task) -> str:
    """The task as a task file (``correct tasks --show``): every key it sets, in file order. A
    built-in task's records are generated in Python, which the file says in a comment."""
    import yaml

    spec: dict[str, Any] = {"name": task.name, "description": task.description}
    if task.data is not None:
        spec["data"] = task.data
    if task.fields:
        spec["fields"] = task.fields
    spec["prompt"] = task.prompt
    if task.shots != Shots():  # the default read back would be checked: a split 'validation' the data may lack
        spec["shots"] = {"data": task.shots.data, "k": task.shots.k, "target": task.shots.target}
    spec.update(
        stop=list(task.stop),
        max_new_tokens=task.max_new_tokens,
        value=task.value,
        generator=task.generator,
        corrector=task.corrector,
        chat_template=task.chat_template,
        correction_prompt=task.correction_prompt,
        limit=task.default_limit,
        min_gain=task.min_gain,
        temperature=task.pool_temperature,
    )

    class Dumper(yaml.SafeDumper):
        pass

    # Prompts and stop strings hold newlines: written "\n" in double quotes, as a user would.
    Dumper.add_representer(
        str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style='"' if "\n" in v else None)
    )
    text = yaml.dump(
        {k: v for k, v in spec.items() if v not in (None, False)},
        Dumper=Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=1000,
    )
    if task.data is None:
        text = f"# data: generated in Python by correct.tasks ({task.name}), splits train, validation and test\n" + text
    return text
