"""A prompt the endpoint refuses (a 400: too long for its context, a content filter), as a user
meets it: marked in the output lines and counted over the whole file, so that a resume keeps
the count; through ``correct serve`` the client of a refused draft gets the error, and a
refused rewrite keeps its draft, as ``generate`` keeps it."""

from __future__ import annotations

import json

import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")

from typer.testing import CliRunner  # noqa: E402

from correct.cli import app  # noqa: E402

from .test_openai import Endpoint  # noqa: E402
from .test_openai_audit3 import Raw  # noqa: E402


@pytest.fixture
def refusing():
    e = Endpoint(refuse=["long"])
    yield e
    e.close()


def test_a_refused_draft_is_marked_in_its_line_and_counted_again_on_resume(refusing, tmp_path):
    records = tmp_path / "in.jsonl"
    records.write_text(
        "".join(json.dumps({"id": i, "prompt": p, "answer": 1}) + "\n" for i, p in enumerate(["2-1", "LONG", "3-2"]))
    )
    out, metrics = tmp_path / "out.jsonl", tmp_path / "m.json"
    args = ["generate", "--task", "arithmetic", "--input", records, "--rounds", "0", "--no-baseline"]
    args += ["--backend", "openai", "--generator", "m", "--base-url", refusing.url, "--shots", "0"]
    args = [str(a) for a in [*args, "--output", out, "--metrics", metrics]]
    first = CliRunner().invoke(app, [*args, "--limit", "2"])
    assert first.exit_code == 0, first.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[1]["rounds"][0]["text"] == "" and "maximum context length" in lines[1]["rounds"][0]["refused"]
    assert "refused" not in lines[0]["rounds"][0]  # an answered draft's round is as it was
    assert json.loads(metrics.read_text())["refused_drafts"] == json.loads(metrics.read_text())["refused_prompts"] == 1
    resumed = CliRunner().invoke(app, [*args, "--resume"])  # the third record only: nothing refused this run
    assert resumed.exit_code == 0, resumed.output
    got = json.loads(metrics.read_text())
    assert got["records"] == 3 and got["refused_drafts"] == 1 and "refused_prompts" not in got


def test_a_rewrite_the_endpoint_refuses_keeps_its_draft_and_its_round_says_why(refusing, tmp_path):
    """``--corrector self`` on an API model: a rewrite prompt the endpoint refused kept its
    draft, but its round looked like a rewrite that changed nothing."""
    records = tmp_path / "in.jsonl"
    records.write_text(
        "".join(json.dumps({"id": i, "prompt": p, "answer": 1}) + "\n" for i, p in enumerate(["GNOL", "1+2"]))
    )
    out = tmp_path / "out.jsonl"
    args = ["generate", "--task", "arithmetic", "--input", records, "--rounds", "2", "--no-baseline", "--shots", "0"]
    args += ["--backend", "openai", "--generator", "m", "--base-url", refusing.url, "--corrector", "self"]
    done = CliRunner().invoke(app, [str(a) for a in [*args, "--output", out]])
    assert done.exit_code == 0, done.output
    held, plain = [line["rounds"] for line in map(json.loads, out.read_text().splitlines())]
    assert "LONG" in held[0]["text"] and "refused" not in held[0]  # the draft was answered; its rewrite not
    assert held[1]["text"] == held[0]["text"] and "maximum context length" in held[1]["refused"]
    assert all("refused" not in r for r in plain)  # rewrites the endpoint answered are as they were


def test_serve_answers_a_refused_draft_with_the_endpoints_error_and_keeps_a_draft_whose_rewrite_is_refused(
    refusing,
):
    """``correct serve --backend openai --corrector self``: every rewrite used to be sent with
    the endpoint's refusals as errors, so a draft whose rewrite prompt the endpoint refused (it
    holds the draft) answered 502 where ``generate`` keeps the draft."""
    from harness import Launched

    args = ["--backend", "openai", "--generator", "m", "--base-url", refusing.url, "--corrector", "self"]
    args += ["--value", "constraints", "--rounds", "1"]
    with Launched(args, env={"OMP_NUM_THREADS": "1"}) as server:
        client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=60)
        # The endpoint answers a prompt reversed: this draft holds LONG, so its rewrite prompt does.
        kept = client.completions.create(
            model="m",
            prompt="GNOL a",
            max_tokens=20,
            extra_body={"record": {"concepts": ["zebra"]}, "return_rounds": True},
        )
        assert kept.choices[0].text == "a LONG|tail"
        rounds = kept.choices[0].model_extra["rounds"]
        assert [r["text"] for r in rounds] == ["a LONG|tail"] * 2 and rounds[0]["value"] == 0.0
        assert "refused" not in rounds[0] and "maximum context length" in rounds[1]["refused"]
        with pytest.raises(openai.APIStatusError) as refused:
            client.completions.create(
                model="m", prompt="LONG b", max_tokens=20, extra_body={"record": {"concepts": ["zebra"]}}
            )
    assert refused.value.status_code == 502 and "maximum context length" in refused.value.message
    rewrites = [b for b in refusing.bodies if "a LONG|tail" in json.dumps(b)]
    assert rewrites, "the rewrite was never asked for"


def test_a_redirected_request_names_where_it_was_sent():
    """The client follows a redirect, which turns the POST into a GET: the error said only
    "answered 405: Method Not Allowed", which names no redirect."""
    from correct.generators import GeneratorError, SamplingParams, load_generator

    moved = Raw(lambda body, count: None, models=(405, b'{"error": {"message": "Method Not Allowed"}}'))
    old = Raw(lambda body, count: (301, b"", [("location", moved.url + "/completions")]))
    try:
        g = load_generator("m", "openai", base_url=old.url, api_key="k", max_retries=0)
        with pytest.raises(GeneratorError) as e:
            g.generate(["ab"], SamplingParams())
    finally:
        old.close(), moved.close()
    said = str(e.value)
    assert f"answered 405: Method Not Allowed (after a redirect to {moved.url}/completions: give that address" in said
