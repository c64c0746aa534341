"""Random task files (issue 26, property-based with hypothesis): whatever mapping a user writes,
reading it, loading its splits and laying out its prompts gives a task or one of the errors
the command line prints as one line (exit 2) -- never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from correct.errors import CorrectError
from correct.tasks import few_shot_prompt, get_task


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Data files a random task may name: good, empty, not UTF-8, not JSON, a CSV with empty cells."""
    d = tmp_path_factory.mktemp("random-task")
    rows = [{"question": f"What is {i} plus 1?", "answer": i + 1, "solution": f"print({i} + 1)"} for i in range(4)]
    (d / "good.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "prompts.jsonl").write_text(
        "".join(json.dumps({"prompt": r["question"], "solution": r["solution"]}) + "\n" for r in rows)
    )
    (d / "empty.jsonl").write_text("")
    (d / "latin1.jsonl").write_bytes(b'{"prompt": "caf\xe9"}\n')
    (d / "broken.jsonl").write_text('{"prompt": "a"}\n{"prompt": \n')
    (d / "cells.csv").write_text("question,answer\nfirst,1\nsecond,\n")
    return d


FILES = st.sampled_from(
    [
        "good.jsonl",
        "prompts.jsonl",
        "empty.jsonl",
        "latin1.jsonl",
        "broken.jsonl",
        "cells.csv",
        "nope.jsonl",
        "x.txt",
        "",
    ]
)
SCALARS = st.none() | st.booleans() | st.integers(-3, 10**6) | st.floats(allow_nan=True) | st.text(max_size=12)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
TEMPLATES = st.sampled_from(
    [
        "{prompt}",
        "Q: {prompt}\n",
        "Q: {prompt",
        "{prompt} {answer}",
        "{colour}",
        "}{",
        "{0}",
        "{prompt!z}",
        "{prompt:>{width}}",
        "{prompt.real}",
        "{prompt[0]}",
        "{}",
    ]
)
VALUES = {
    "name": st.text(max_size=8) | JSON,
    "description": st.text(max_size=8) | JSON,
    "data": FILES
    | st.dictionaries(st.sampled_from(["test", "train", "validation", "dev"]), FILES | JSON, max_size=3)
    | st.fixed_dictionaries({"path": st.sampled_from(["nope", "."]) | JSON})
    | JSON,
    "fields": st.dictionaries(
        st.sampled_from(["prompt", "answer", "x"]), st.sampled_from(["question", "prompt", "q"]) | JSON, max_size=2
    )
    | JSON,
    "prompt": TEMPLATES | JSON,
    "shots": st.fixed_dictionaries(
        {},
        optional={
            "data": FILES | st.sampled_from(["test", "validation"]) | JSON,
            "k": st.integers(-1, 6) | JSON,
            "target": st.sampled_from(["solution", "answer"]) | JSON,
        },
    )
    | JSON,
    "stop": st.lists(st.text(max_size=3), max_size=3) | JSON,
    "max_new_tokens": st.integers(-2, 300) | JSON,
    "value": st.sampled_from(["program", "nonexistent"]) | SCALARS.filter(lambda v: not isinstance(v, str)),
    "generator": st.text(max_size=6) | JSON,
    "corrector": st.text(max_size=6) | JSON,
    "chat_template": st.booleans() | JSON,
    "limit": st.integers(-2, 10) | JSON,
    "min_gain": st.floats(allow_nan=True) | JSON,
    "temperature": st.floats(allow_nan=True) | JSON,
}
# Mostly the keys a task file has (each with values of the right kind and of any kind), some unknown ones.
MAPPINGS = st.fixed_dictionaries(
    {"data": VALUES["data"], "prompt": VALUES["prompt"], "value": VALUES["value"]},
    optional={**{k: v for k, v in VALUES.items() if k not in ("data", "prompt", "value")}, "template": JSON},
)
TEXTS = MAPPINGS.map(lambda m: yaml.safe_dump(m, allow_unicode=True)) | JSON.map(yaml.safe_dump) | st.text(max_size=40)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(text=TEXTS)
def test_a_random_task_file_is_a_task_or_one_line(folder, text):
    path = folder / "task.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        task = get_task(str(path))
        for split in task.splits or ("test",):
            records = task.make_split(split, None, 0)
            fmt = few_shot_prompt(task, None, 0)
            for r in records:
                assert isinstance(fmt(r), str)
    except CorrectError as e:
        message = str(e)
        assert message and "\n" not in message and "Traceback" not in message, message
