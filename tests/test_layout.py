"""The package's shape (docs/design.md, "Layout"): no import cycle, deferred imports included;
the leaves never import the engine; inference never imports training or the application
layer; modules stay one screenful of roles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tasks", "generators", "values", "corrector")
LONG_MODULES = {"values.sandbox_worker"}
"""Stand-alone programs that may be long: the sandbox worker runs alone in the child process."""


def modules() -> dict[str, Path]:
    """Dotted name (without the ``correct.`` prefix) -> file, for every module of the package."""
    found = {"cli": ROOT / "cli.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of the package that ``name`` imports anywhere in its file (inside functions
    too). ``from pkg import x`` counts as importing ``pkg.x`` when that is a module."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            else:
                base = (node.module or "").split(".")
            if base[:1] == ["correct"]:
                base = base[1:]
            elif node.level == 0:
                continue
            module = ".".join(base)
            # `from .. import corrector` and `from correct import cli` import the module named, not ''
            targets = [sub if (sub := f"{module}.{a.name}".lstrip(".")) in known else module for a in node.names]
        else:
            continue
        for t in targets:
            t = t[len("correct.") :] if t.startswith("correct.") else t
            if t in known and t != name:
                found.add(t)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, path, set(mods)) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_deferred_cycle(tmp_path):
    """The checker itself: a cycle hidden behind an import inside a function is found."""
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import x\n")
    known = {"p.a", "p.b"}
    edges = {"p.a": imports("p.a", tmp_path / "a.py", known), "p.b": imports("p.b", tmp_path / "b.py", known)}
    assert edges == {"p.a": {"p.b"}, "p.b": {"p.a"}}
    assert cycles(edges) == [["p.a", "p.b"]]
    assert cycles({"p.a": {"p.b"}, "p.b": set()}) == []


def test_imports_of_a_package_or_the_root_are_seen(tmp_path):
    """`from .. import corrector` (relative, no module) and `from correct import cli` (the root
    package by name) import those modules: the checker must see both."""
    (tmp_path / "file.py").write_text("from .. import corrector\n\ndef f():\n    from correct import cli\n")
    assert imports("tasks.file", tmp_path / "file.py", {"tasks.file", "corrector", "cli"}) == {"corrector", "cli"}


def test_no_import_cycles():
    edges = graph()
    assert len(edges) > 40 and sum(map(len, edges.values())) > 60  # the parser saw the package
    assert cycles(edges) == []


@pytest.mark.parametrize("leaf", ["tasks", "generators", "values"])
def test_leaves_never_import_the_engine(leaf):
    edges = graph()
    bad = {
        (m, t)
        for m, targets in edges.items()
        if m.split(".")[0] == leaf
        for t in targets
        if t.split(".")[0] in ("corrector", "cli")
    }
    assert not bad


def test_layers():
    """The inference core imports neither training nor the application; training does not
    import the application; nothing in the library imports the command line."""
    edges = graph()
    for m, targets in edges.items():
        parts = m.split(".")
        for t in targets:
            assert t != "cli", f"{m} imports cli"
            if parts[0] == "corrector" and parts[1:2] not in (["training"], ["app"]):
                assert not t.startswith(("corrector.training", "corrector.app")), f"{m} (inference) imports {t}"
            if parts[:2] == ["corrector", "training"]:
                assert not t.startswith("corrector.app"), f"{m} (training) imports {t}"


def test_modules_stay_short():
    lengths = {m: len(p.read_text().splitlines()) for m, p in modules().items()}
    assert lengths["cli"] < 300
    assert {m: n for m, n in lengths.items() if n > 400 and m not in LONG_MODULES} == {}
