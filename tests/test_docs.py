"""Every `correct ...` command shown in README.md and docs/*.md parses with the real command
line, so a renamed or removed option cannot linger in the documentation; and every link
between the pages resolves. Nothing is run and no model is loaded: each command only goes
through click's parser."""

from __future__ import annotations

import importlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_FENCES = {"", "sh", "bash", "shell", "console", "text"}
"""Fenced blocks whose commands are checked; a ```python or ```yaml block holds no shell."""
SHELL_OPERATORS = ("|", "||", "&", ";", ">", ">>", "<", "2>", "2>&1", "&>")


@dataclass(frozen=True)
class Command:
    page: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


def code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line in a code block: a fenced block of shell (or no
    language), or an indented block (4 spaces or more, after a blank line)."""
    found: list[tuple[int, str]] = []
    fence: str | None = None  # the open fence's language, or None outside a fenced block
    indented = False
    previous_blank = True
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped[3:].strip().lower()
            indented, previous_blank = False, False
            continue
        if fence is not None:
            if fence in SHELL_FENCES:
                found.append((number, line))
            continue
        if not stripped:
            previous_blank = True
            continue
        starts_indented = line.startswith("    ")
        indented = starts_indented and (indented or previous_blank)
        if indented:
            found.append((number, line))
        previous_blank = False
    return found


def joined(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Backslash-continued lines joined into one, numbered by their first line."""
    out: list[tuple[int, str]] = []
    first, parts, last = 0, [], -1
    for number, line in lines:
        if parts and number != last + 1:  # a continuation cut off by the block's end
            out.append((first, " ".join(parts)))
            parts = []
        if not parts:
            first = number
        text = line.strip()
        last = number
        if text.endswith("\\"):
            parts.append(text[:-1].rstrip())
        else:
            out.append((first, " ".join([*parts, text])))
            parts = []
    if parts:
        out.append((first, " ".join(parts)))
    return out


def without_comment(line: str) -> str:
    """The line up to a shell comment: a `#` at the start of a word, outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def is_synopsis(command: str) -> bool:
    """A usage synopsis (`[--task NAME]`, `RUNS...`, `hf|vllm`) documents a command; it is
    not one. Quoted text is left out of the judgement (a Python snippet may hold brackets)."""
    bare = re.sub(r"'[^']*'", "", re.sub(r'"[^"]*"', "", command))
    return "[" in bare or "]" in bare or "..." in bare or re.search(r"\S\|\S", bare) is not None


def commands_in(page: Path) -> list[Command]:
    found = []
    for number, line in joined(code_lines(page.read_text(encoding="utf-8"))):
        line = without_comment(line)
        if line.startswith("$ "):
            line = line[2:]
        for part in line.split("&&"):
            part = part.strip()
            if part.startswith("correct ") and not is_synopsis(part):
                found.append(Command(str(page.relative_to(ROOT)), number, part))
    return found


def arguments(command: str) -> list[str]:
    """The command's arguments after `correct`, up to the first shell operator."""
    words = shlex.split(command)
    for i, word in enumerate(words):
        if word in SHELL_OPERATORS or word.startswith((">", "<", "2>", "|")):
            words = words[:i]
            break
    return words[1:]


COMMANDS = [c for page in PAGES for c in commands_in(page)]


def test_the_documentation_shows_commands():
    """The extractor finds the commands (so the test below cannot pass by finding none)."""
    assert len(COMMANDS) >= 10, [str(c) for c in COMMANDS]
    assert any(c.page == "README.md" and c.text == "correct generate --rounds 3" for c in COMMANDS)


def test_synopsis_lines_are_not_commands():
    assert is_synopsis("correct generate [--task NAME] [--rounds K]")
    assert is_synopsis("correct report RUN_OR_METRICS... --output DIR")
    assert is_synopsis("correct generate --backend hf|vllm|openai")
    assert not is_synopsis("""correct train --init "$(python -c 'print(TASKS["arithmetic"])')" --output x""")
    assert arguments("correct score --value program --input a.jsonl | head -3") == [
        "score",
        "--value",
        "program",
        "--input",
        "a.jsonl",
    ]
    assert without_comment("correct tasks   # what is built in") == "correct tasks"


def click_exceptions(command):
    """The exceptions module of the click the command line is built on: click itself, or the
    copy that newer typers carry (`typer._click`)."""
    for cls in type(command).__mro__:
        if cls.__module__.endswith("click.core"):
            return importlib.import_module(cls.__module__.rpartition(".")[0] + ".exceptions")
    raise AssertionError(f"{type(command)} is not a click command")


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{c.page}:{c.line}" for c in COMMANDS])
def test_documented_command_parses(command: Command):
    import typer

    from correct.cli import app

    group = typer.main.get_command(app)
    exceptions = click_exceptions(group)
    args = arguments(command.text)
    assert args, f"{command}: no subcommand"
    try:
        # Parsing the group only parses its own options; the subcommand is parsed below.
        ctx = group.make_context("correct", list(args))
        sub = group.get_command(ctx, args[0])
        if sub is None:
            raise exceptions.UsageError(f"no such command {args[0]!r}")
        sub.make_context(args[0], list(args[1:]), parent=ctx)
    except exceptions.BadParameter as e:
        # A documented input file (`--input questions.jsonl`) need not exist here: a path
        # checked for existence is the reader's to give, not a parse error of the docs.
        if "does not exist" not in e.format_message():
            pytest.fail(f"{command}\n  {e.format_message()}")
    except exceptions.ClickException as e:  # NoSuchOption, MissingParameter, UsageError, ...
        pytest.fail(f"{command}\n  {e.format_message()}")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_pages_resolve():
    """Every relative link of README.md and docs/ names a file that exists and, after `#`, one
    of its headings."""
    broken = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            for target in re.findall(r"\]\(([^)\s]+)\)", line):
                if re.match(r"[a-z]+:", target):
                    continue  # http:, https:, mailto:
                path, _, fragment = target.partition("#")
                file = (page.parent / path).resolve() if path else page
                if not file.exists():
                    broken.append(f"{page.relative_to(ROOT)}:{number}: {target} (no such file)")
                elif fragment and file.suffix == ".md":
                    headings = {anchor(h) for h in re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.M)}
                    if fragment not in headings:
                        broken.append(f"{page.relative_to(ROOT)}:{number}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
