"""The command line run in-process by the tests, and what a refusal of bad input must look like:
exit status 2 and one line on stderr beginning 'error:' that holds what it names, no traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from correct.cli import app


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def refused(result, *needles: str) -> str:
    """Exit 2, one line on stderr beginning 'error:', holding each needle, no traceback."""
    flat = " ".join(result.stderr.split())
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and flat.startswith("error:"), result.output
    for needle in needles:
        assert needle in flat, (needle, flat)
    return flat
