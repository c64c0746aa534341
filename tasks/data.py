"""Reading records: local files by format (.jsonl with errors naming the file and line; .json,
.csv and .parquet through ``datasets``) and hub datasets with a config and a split. A record
is a dict with an ``id`` (the row's own, else its 1-based number) and the task's fields,
renamed from the data's columns by a ``fields`` mapping (record field <- column)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import CorrectError, first_line

FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
"""Local file suffix -> the ``datasets`` builder that reads it."""


class RecordError(CorrectError, ValueError):
    """Bad input data; the message names the file and line."""


def read_text(path: Path, what: str) -> str:
    """A text file's contents; bytes that are not UTF-8 are one error naming the file, line and column."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise RecordError(
            f"{path}:{line}: {what} is not UTF-8 text (byte {data[e.start]:#04x} at column {column}); save it as UTF-8"
        ) from None


def yaml_error(e: Exception, text: str, with_column: bool = False) -> str:
    """``:LINE: not valid YAML: why`` of a PyYAML error, on one line (a reader error, such as a
    control character, has a position rather than a mark)."""
    mark = getattr(e, "problem_mark", None)
    line = (
        mark.line + 1
        if mark
        else (text.count("\n", 0, e.position) + 1 if isinstance(getattr(e, "position", None), int) else None)
    )
    why = getattr(e, "problem", None) or str(e)
    if isinstance(getattr(e, "reason", None), str) and getattr(e, "character", None) is not None:  # the reader's
        ch = e.character if isinstance(e.character, int) else ord(e.character)
        why = f"character {ch:#06x}: {e.reason}"
    column = f":{mark.column + 1}" if mark and with_column else ""
    return f"{f':{line}{column}' if line else ''}: not valid YAML: {' '.join(str(why).split())}"


def read_yaml(path: Path, what: str, error: type[Exception], with_column: bool = False) -> tuple[Any, dict[str, int]]:
    """(contents, the line of each top-level key, and of each item of a top-level list as
    ``key[i]``) of a YAML file, for errors that name the line of a key or an entry; a file that
    is not UTF-8 or not valid YAML raises ``error`` naming its line."""
    import yaml

    try:
        text = read_text(path, what)
    except RecordError as e:
        raise error(str(e)) from None
    try:
        node, data = yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise error(f"{path}{yaml_error(e, text, with_column)}") from None
    twice = _repeated_key(node)
    if twice:
        raise error(f"{path}:{twice[1]}: key {twice[0]!r} is given twice; keep one (YAML would silently take the last)")
    pairs = node.value if isinstance(node, yaml.MappingNode) else ()  # a file of another shape has no keys to place
    lines = {}
    for k, v in pairs:
        if isinstance(k, yaml.ScalarNode):
            lines[k.value] = k.start_mark.line + 1
            items = v.value if isinstance(v, yaml.SequenceNode) else ()
            lines.update({f"{k.value}[{i}]": item.start_mark.line + 1 for i, item in enumerate(items)})
    return data, lines


def _repeated_key(node) -> tuple[str, int] | None:
    """(key, line) of the first key that a mapping of the YAML ``node``, at any depth, repeats."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen = set()
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                if k.value in seen:
                    return k.value, k.start_mark.line + 1
                seen.add(k.value)
            found = _repeated_key(v)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _repeated_key(item)
            if found:
                return found
    return None


def renamed(row: Mapping[str, Any], fields: Mapping[str, str] | None) -> dict:
    """The row with each task field taken from its column as the data has it (the column stays
    too): ``{prompt: question, instruction: prompt}`` reads the file's own ``prompt``, not the
    question just put there, and two fields may swap."""
    out = dict(row)
    for field, column in (fields or {}).items():
        if column in row:
            out[field] = row[column]
    return out


def _missing(rec: Mapping[str, Any], required: Sequence[str], fields: Mapping[str, str] | None) -> list[str]:
    """The columns a record lacks for the required fields (named as the data names them)."""
    return [(fields or {}).get(k, k) for k in required if k not in rec]


def read_jsonl(
    path: str | os.PathLike, required: Sequence[str] = ("prompt",), fields: Mapping[str, str] | None = None
) -> list[dict]:
    """Records of a JSONL file; ``id`` defaults to the line number (1-based)."""
    path = Path(path)
    if not path.is_file():
        raise RecordError(f"{path}: no such file")
    records, ids = [], set()
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if n == 1:  # a byte order mark, as Windows editors write UTF-8 (a CSV's is taken too)
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise RecordError(
                    f"{path}:{n}: not UTF-8 text (byte {raw[e.start]:#04x} at column {e.start + 1}); "
                    "save the file as UTF-8"
                ) from None
            if not line.strip():
                continue
            try:
                # Without its line ending: an error at the end of the line would otherwise be
                # placed after the newline, at "line 2, column 1" of the parser's text.
                rec = json.loads(line.rstrip("\n"), object_pairs_hook=_once_each)
            except json.JSONDecodeError as e:
                raise RecordError(f"{path}:{n}: not valid JSON ({e.msg} at column {e.colno})") from None
            except _RepeatedKey as e:
                raise _given_twice(f"{path}:{n}", e) from None
            if not isinstance(rec, dict):
                raise RecordError(f"{path}:{n}: expected a JSON object, got {type(rec).__name__}")
            rec = renamed(rec, fields)
            missing = _missing(rec, required, fields)
            if missing:
                raise RecordError(f"{path}:{n}: missing field {', '.join(map(repr, missing))}")
            rec["id"] = record_id(rec.get("id", n), f"{path}:{n}")
            if rec["id"] in ids:
                raise RecordError(f"{path}:{n}: duplicate id {rec['id']!r}")
            ids.add(rec["id"])
            records.append(rec)
    note_unmapped(records, fields, str(path))
    return records


class _RepeatedKey(Exception):
    """A key an object of a JSON line names twice (its first such key)."""


def _given_twice(where: str, e: _RepeatedKey, within: str = "") -> RecordError:
    return RecordError(
        f"{where}: key {e.args[0]!r} is given twice{within}; keep one (JSON would silently take the last)"
    )


def _once_each(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object as a dict, refusing a key it names twice: ``{"answer": 8, "answer": 9}``
    was read as 9 without a word, as YAML would take the last of a repeated key."""
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise _RepeatedKey(k)
        out[k] = v
    return out


def note_unmapped(records: Sequence[Mapping[str, Any]], fields: Mapping[str, str] | None, where: str) -> None:
    """Say it when a column that key ``fields`` maps a field from is in no record (a typo, as
    ``answer: reslut``, left every record unlabeled without a word); a file that really has no
    such column (an unlabeled split) is read all the same."""
    import logging

    for field, column in (fields or {}).items():
        if records and column != field and not any(column in r for r in records):
            own = sum(field in r for r in records)  # a file in the plain shape (--input with a `prompt`)
            instead = f"{own} of its {len(records)} records' own {field!r} is read instead" if own else None
            logging.getLogger("correct").warning(
                "%s: no record has the column %r that key 'fields' maps %r from; %s", where, column, field,
                instead or f"its records have no {field!r}",
            )  # fmt: skip


def record_id(value, where: str) -> str:
    """A record's id as text: a number as its digits (a column read as floats gives 2.0 for
    2), and no id at all -- null, an empty cell -- refused rather than every such record
    becoming "None"."""
    if value is None or (isinstance(value, float) and value != value):
        raise RecordError(f"{where}: the id is empty; give every record an id, or leave the id out everywhere")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dict, list)):
        raise RecordError(f"{where}: the id is {type(value).__name__}; give text or a number")
    return str(value)


def read_file(
    path: str | os.PathLike, required: Sequence[str] = ("prompt",), fields: Mapping[str, str] | None = None
) -> list[dict]:
    """Records of a local .jsonl, .json, .csv or .parquet file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise RecordError(f"{path}: unknown data format {suffix or '(no suffix)'!r}; give a {', '.join(FORMATS)} file")
    if suffix == ".jsonl":
        return read_jsonl(path, required, fields)
    if not path.is_file():
        raise RecordError(f"{path}: no such file")
    if suffix == ".csv":
        _check_header(path)
    if suffix == ".json":
        _check_json_keys(path)
    datasets = _quiet_datasets()
    # A CSV's ids as written: read as numbers, 001 became "1", 1e3 "1000", and a 20-digit one failed.
    # And a cell that says None, NA, null or nan as written (an answer "None"): pandas read each as empty.
    kwargs = {"converters": {(fields or {}).get("id", "id"): str}} if suffix == ".csv" else {}
    kwargs.update({"keep_default_na": False, "na_values": [""]} if suffix == ".csv" else {})
    try:
        rows = datasets.load_dataset(FORMATS[suffix], data_files=str(path), split="train", **kwargs)
    except Exception as e:  # the builders raise many kinds; the user needs one sentence
        # datasets wraps the parser's error ("Expected 2 fields in line 3, saw 3") in one that names no line
        while (e.__cause__ or e.__context__) is not None:
            e = e.__cause__ or e.__context__
        if "corresponds to no data" in str(e) or type(e).__name__ == "EmptyDataError":
            return []  # a CSV of its header alone or of nothing at all (a byte order mark), a JSON []: no rows
        raise RecordError(f"{path}: could not be read as {suffix[1:]}: {first_line(e)}") from None
    return rows_to_records(rows, required, fields, str(path))


def _check_json_keys(path: Path) -> None:
    """A .json file whose record names a key twice is refused, as a JSONL line is: the reader
    kept the last without a word. One JSON document (an array of records) is named by its file,
    JSON Lines by the line."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    try:
        json.loads(text, object_pairs_hook=_once_each)
        return
    except _RepeatedKey as e:
        raise _given_twice(str(path), e, " in a record") from None
    except json.JSONDecodeError:
        pass  # JSON Lines, or not JSON at all (the reader says so)
    for n, line in enumerate(text.splitlines(), 1):
        try:
            json.loads(line, object_pairs_hook=_once_each) if line.strip() else None
        except _RepeatedKey as e:
            raise _given_twice(f"{path}:{n}", e) from None
        except json.JSONDecodeError:
            return


def _check_header(path: Path) -> None:
    """A CSV header that names a column twice is refused: the reader renamed the second
    (``answer.1``), and a task read the first without a word."""
    import csv
    from collections import Counter

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        header = next(csv.reader(f), [])
    twice = [c for c, n in Counter(header).items() if n > 1 and c]
    if twice:
        raise RecordError(f"{path}:1: the header names column {twice[0]!r} more than once; give each column one name")


def saved_to_disk(path: str | os.PathLike) -> str | None:
    """What ``save_to_disk`` of ``datasets`` wrote in the folder ``path``: ``"splits"`` (a
    ``DatasetDict``), ``"one"`` (a ``Dataset``, which has no splits), or None (not such a folder)."""
    folder = Path(path).expanduser()
    if (folder / "dataset_dict.json").is_file():
        return "splits"
    return "one" if (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file() else None


def without_splits(path: str | os.PathLike | None) -> bool:
    """Whether data given as a dataset is read whole: a local file, or one ``Dataset`` that
    ``save_to_disk`` wrote."""
    return path is not None and (Path(path).expanduser().is_file() or saved_to_disk(path) == "one")


def read_hub(
    path: str,
    name: str | None,
    split: str,
    required: Sequence[str] = ("prompt",),
    fields: Mapping[str, str] | None = None,
    data_files: Any = None,
) -> list[dict]:
    """Records of a split of a ``datasets`` dataset: a hub id (with a config ``name``), a
    local dataset folder, or a folder ``save_to_disk`` wrote (of one ``Dataset``: all its rows)."""
    datasets = _quiet_datasets()

    what = f"{path!r}" + (f" (config {name!r})" if name else "")
    if saved_to_disk(path):
        return rows_to_records(_from_disk(path, split), required, fields, f"dataset {what}")
    try:
        rows = datasets.load_dataset(path, name, split=split, data_files=data_files)
    except Exception as e:  # the hub raises many kinds; the user needs one sentence
        first = first_line(e)
        raise RecordError(f"dataset {what}, split {split!r}, could not be loaded: {first}") from None
    return rows_to_records(rows, required, fields, f"dataset {what}")


def _from_disk(path: str, split: str):
    """The rows of a split of a folder ``save_to_disk`` wrote; of one ``Dataset``, which has
    no splits, all of them. ``load_dataset`` read such a folder's splits by their folder names:
    splits it did not know by name (``holdout``) were all merged into ``train``."""
    datasets = _quiet_datasets()
    try:
        saved = datasets.load_from_disk(str(Path(path).expanduser()))
    except Exception as e:  # a folder half written or of another version: the user needs one sentence
        raise RecordError(f"dataset {path!r} could not be loaded: {first_line(e)}") from None
    if not isinstance(saved, datasets.DatasetDict):
        return saved
    if split not in saved:
        raise RecordError(f"dataset {path!r} has no split {split!r} (splits: {', '.join(saved)})")
    return saved[split]


def rows_to_records(rows, required: Sequence[str], fields: Mapping[str, str] | None, where: str) -> list[dict]:
    columns = list(rows.column_names)
    missing = _missing(
        {**{c: None for c in columns}, **{f: None for f, c in (fields or {}).items() if c in columns}}, required, fields
    )
    if missing:
        raise RecordError(f"{where} has no column {', '.join(map(repr, missing))} (columns: {', '.join(columns)})")
    records, rows_of = [], {}
    for i, row in enumerate(rows):
        rec = renamed(row, fields)  # an id mapped from a column of its own too, as a JSONL file's is
        rid = record_id(rec.get("id", i + 1), f"{where}, row {i + 1}")
        if rid in rows_of:  # 1 and "1" in a JSON file are one id
            raise RecordError(f"{where}, row {i + 1}: duplicate id {rid!r} (row {rows_of[rid]} has it too)")
        rows_of[rid] = i + 1
        records.append({**rec, "id": rid})
    note_unmapped(records, fields, where)
    return records


def _quiet_datasets():
    """``datasets`` without its progress bars and info lines: the command says what it reads."""
    import datasets

    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity(datasets.utils.logging.CRITICAL)  # its "Failed to read file" too
    return datasets
