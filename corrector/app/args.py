"""Command-line options and config files from the config dataclasses, so a default or a help
text is written once: in the dataclass, with the docstring under each field (litgpt's style).

``command(app, ArgsA, ConfigB, ...)`` turns the fields of those dataclasses into the options
of a typer command; ``--config FILE.yaml`` holds the same fields (by field or option name),
flags given on the command line override the file, and the command's body receives one
instance of each dataclass. Field metadata: ``flag`` (the option's name when it is not the
field's), ``min``/``max`` (bounds, checked after the file and the flags are merged),
``positional`` (an argument rather than an option), ``required``, ``cli=False`` (not an option),
``unread_with`` (another field that, when set, leaves this one unread, or a function naming it:
typed together, refused).

Every error a user can cause, here or in the library, is printed as one line, exit code 2.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import math
import types
import typing
from pathlib import Path
from typing import Any, Callable, Sequence

from ...errors import CorrectError


class UsageError(CorrectError, ValueError):
    """A problem the user can fix by changing an option or a config file."""


def with_flag(e: CorrectError, options: Sequence["Option"]) -> str:
    """The error's message, and the flag that can fix it where the library named the setting
    (``CorrectError.option``) and this command has it, as this command spells it."""
    spelled = {o.name: o.spelled for o in options}
    if e.option in spelled and spelled[e.option] not in str(e):
        return f"{e} (option {spelled[e.option]})"
    return str(e)


def fail(message: str) -> typing.NoReturn:
    import typer
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, emoji=False).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@dataclasses.dataclass(frozen=True)
class Option:
    """One field of a config dataclass as the command line and config files see it."""

    name: str
    owner: type
    type: Any
    default: Any
    help: str
    flag: str
    low: float | None = None
    high: float | None = None
    positional: bool = False
    marked_required: bool = False
    """``metadata={"required": True}``: required although the field has a default (None)."""
    unread_with: str | Callable[[dict], str | None] | None = None
    """A field that, when set, leaves this one unread (``--split`` with ``--input``), or a
    function of the merged values that names such a field where there is one."""

    @property
    def required(self) -> bool:
        """Whether a value must be given: marked so, or the field has no default."""
        return self.marked_required or self.default is dataclasses.MISSING

    @property
    def spelled(self) -> str:
        return self.flag.upper() if self.positional else f"--{self.flag}"


@functools.cache
def _classes_in(path: str) -> dict[str, list[ast.stmt]]:
    """Each class body of a source file by its qualified name: the file parsed once for all its
    classes (``inspect.getsource`` parses the whole module again for each class, which every
    command paid at start-up)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found: dict[str, list[ast.stmt]] = {}

    def walk(nodes: list[ast.stmt], prefix: str) -> None:
        for node in nodes:
            if isinstance(node, ast.ClassDef):
                found[prefix + node.name] = node.body
                walk(node.body, f"{prefix}{node.name}.")

    walk(tree.body, "")
    return found


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring written under it, from the class's source (and its bases')."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            body = _classes_in(inspect.getsourcefile(klass) or "")[klass.__qualname__]
        except (OSError, TypeError, KeyError, SyntaxError):
            continue
        for a, b in zip(body, body[1:]):
            if (
                isinstance(a, ast.AnnAssign)
                and isinstance(a.target, ast.Name)
                and isinstance(b, ast.Expr)
                and isinstance(b.value, ast.Constant)
                and isinstance(b.value.value, str)
            ):
                docs[a.target.id] = " ".join(inspect.cleandoc(b.value.value).split())
    return docs


def options_of(classes: Sequence[type], defaults: dict[str, Any] | None = None) -> list[Option]:
    """The options of these dataclasses, in field order; ``defaults`` overrides a default for
    one command (``correct train`` reads the train split, ``generate`` the test split)."""
    defaults = defaults or {}
    seen: dict[str, Option] = {}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        docs = field_docs(cls)
        own = vars(cls).get("__annotations__", {})
        # the class's own fields first, then those it inherits (a group shared by two commands)
        for f in sorted(dataclasses.fields(cls), key=lambda f: f.name not in own):
            if not f.metadata.get("cli", True):
                continue
            if f.name in seen:
                raise TypeError(f"{cls.__name__}.{f.name} is also a field of {seen[f.name].owner.__name__}")
            default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            seen[f.name] = Option(
                f.name,
                cls,
                hints[f.name],
                defaults.get(f.name, default),
                docs.get(f.name, ""),
                f.metadata.get("flag", f.name).replace("_", "-"),
                f.metadata.get("min"),
                f.metadata.get("max"),
                f.metadata.get("positional", False),
                f.metadata.get("required", False),
                f.metadata.get("unread_with"),
            )
    return list(seen.values())


def _inner(tp: Any) -> tuple[Any, bool]:
    """(type without Optional, whether None is allowed)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(tp))
    return tp, False


def _is_sequence(tp: Any) -> bool:
    return typing.get_origin(tp) in (tuple, list)


def _typer_parameter(o: Option) -> inspect.Parameter:
    import typer

    base, _ = _inner(o.type)
    if _is_sequence(base):
        annotation = typing.Optional[typing.List[typing.get_args(base)[0]]]
    else:
        annotation = typing.Optional[base]
    default = None if o.required or _is_sequence(base) else o.default
    if o.positional:
        info = typer.Argument(default, help=o.help, show_default=False, metavar=o.flag.upper())
    elif base is bool:
        info = typer.Option(default, f"--{o.flag}/--no-{o.flag}", help=o.help)
    else:
        info = typer.Option(
            default,
            f"--{o.flag}",
            help=o.help + (" [required]" if o.required else ""),
            show_default=not o.required and o.default not in (None, ()),
        )
    return inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation)


def command(
    app, *classes: type, name: str | None = None, defaults: dict[str, Any] | None = None, config_file: bool = True
) -> Callable:
    """Register the decorated ``body(*instances)`` as a typer command whose options are the
    fields of ``classes``."""
    import typer

    options = options_of(classes, defaults)

    def decorate(body: Callable) -> Callable:
        def run(ctx: typer.Context, **given: Any) -> Any:
            config = given.pop("config", None)
            # Only what was typed on the command line overrides the config file.
            explicit = {
                k: v for k, v in given.items() if ctx.get_parameter_source(k).name not in ("DEFAULT", "DEFAULT_MAP")
            }
            try:
                values = read_config(config, options, ctx.info_name) if config else {}
                values.update(explicit)
                _unread(options, explicit, values)
                built = build(classes, options, values)
                _not_the_config(config, options, values)
                return body(*built)
            except CorrectError as e:
                fail(with_flag(e, options))

        parameters = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
        parameters += [_typer_parameter(o) for o in options]
        if config_file:
            parameters.append(
                inspect.Parameter(
                    "config",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=typing.Optional[Path],
                    default=typer.Option(
                        None,
                        "--config",
                        help="YAML (or JSON) file of these options by name; flags given here "
                        "override it. A saved corrector's correct_config.json works too.",
                    ),
                )
            )
        run.__signature__ = inspect.Signature(parameters)
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        run.__doc__ = body.__doc__
        run.__name__ = body.__name__
        app.command(name)(run)
        body.options = options  # what the command takes, for whoever inspects it (tests, docs)
        return body

    return decorate


def _unread(options: Sequence[Option], typed: dict[str, Any], values: dict[str, Any]) -> None:
    """An option typed on the command line beside one that leaves it unread is refused: the run
    would quietly do something else than was asked (``--split train`` of an ``--input`` file)."""
    by_name = {o.name: o for o in options}
    for o in options:
        rule = o.unread_with  # a field's name, or a function of the values naming the field that leaves it unread
        name = rule(values) if callable(rule) else rule if rule and values.get(rule) is not None else None
        if name and typed.get(o.name) is not None:
            raise UsageError(f"{o.spelled} {typed[o.name]} is not read with {by_name[name].spelled}; leave one out")


def _not_the_config(config: Path | None, options: Sequence[Option], values: dict[str, Any]) -> None:
    """A file the command writes (``output``, ``metrics``) that is the --config file is refused:
    writing it would destroy the settings it was read from."""
    for o in options:
        v = values.get(o.name)
        if config and o.name in ("output", "metrics") and v is not None and Path(v).resolve() == config.resolve():
            raise UsageError(f"{o.spelled} {v} is also --config: writing it would destroy that; give another path")


def build(classes: Sequence[type], options: Sequence[Option], values: dict[str, Any]) -> list[Any]:
    """One instance of each class from the merged values, after checking what is required and
    the bounds."""
    for o in options:
        v = values.get(o.name, o.default)
        if v is dataclasses.MISSING or (o.required and v is None):
            raise UsageError(f"{o.spelled} is required")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if not math.isfinite(v):  # NaN passes every comparison, and no setting here means infinity
                raise UsageError(f"{o.spelled} must be a finite number, got {v}")
            if o.low is not None and v < o.low:
                raise UsageError(f"{o.spelled} must be at least {o.low}, got {v}")
            if o.high is not None and v > o.high:
                raise UsageError(f"{o.spelled} must be at most {o.high}, got {v}")
        if v is not None and _is_sequence(_inner(o.type)[0]):
            v = (list if typing.get_origin(_inner(o.type)[0]) is list else tuple)(v)
        values[o.name] = v  # a command's own default (options_of) too, not only the dataclass's
    return [cls(**{o.name: values[o.name] for o in options if o.owner is cls}) for cls in classes]


# -- config files --------------------------------------------------------------------------------

RECORDED_ONLY = ("coh_templates", "hir_labels", "train_prompts", "prompt_format")
"""Keys a saved corrector records beside its settings; read back, they are not options."""


def read_config(path: Path, options: Sequence[Option], command: str | None = None) -> dict[str, Any]:
    """Field name -> value from a YAML or JSON file, every key checked against ``options``
    and every value against its field's type; a saved corrector's ``correct_config.json``
    gives its training settings, task and value."""

    where = f"--config {path}"
    if not path.is_file():
        raise UsageError(f"{where}: no such file")
    from ...tasks.data import read_yaml

    data, lines = read_yaml(path, "a config file", UsageError, with_column=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a config file holds option names and values, got {type(data).__name__}")
    saved = isinstance(data.get("training"), dict) and "method" in data
    if saved:  # its paths were written as the training run was given them
        data = _saved_corrector(data)
    by_name = {o.name: o for o in options}
    by_name.update({o.flag.replace("-", "_"): o for o in options})
    values: dict[str, Any] = {}
    for key, value in data.items():
        at = f"{path}:{lines[key]}" if key in lines else str(path)
        name = str(key).replace("-", "_")
        o = by_name.get(name)
        negated = (
            o is None and name.startswith("no_") and _inner(getattr(by_name.get(name[3:]), "type", None))[0] is bool
        )
        if negated:  # `no-baseline: true`, as the flag --no-baseline is spelled
            o = by_name[name[3:]]
        if o is None:
            raise UsageError(
                f"{at}: unknown key {key!r}; {'correct ' + command if command else 'this command'} has no such option"
            )
        if o.name in values:
            raise UsageError(f"{at}: key {key!r} sets {o.spelled} a second time")
        value = coerce(value, o.type, f"{at}: {key}")
        values[o.name] = (not value) if negated else value
    return values if saved else relative_to(path.parent, values, options)


def relative_to(folder: Path, values: dict[str, Any], options: Sequence[Option]) -> dict[str, Any]:
    """A config file's relative paths are relative to its folder, as a task file's are: a path
    option (--input, --output, ...) always, a name that may be a path (--task, --generator,
    --corrector, --lm-corpus, ...) when that file or folder exists there."""
    types_ = {o.name: _inner(o.type)[0] for o in options}
    out = dict(values)
    for name, v in values.items():
        if types_.get(name) is Path and v is not None and not v.is_absolute():
            out[name] = folder / v
        elif isinstance(v, str) and v and not Path(v).is_absolute() and (folder / v).exists():
            out[name] = str(folder / v)
    return out


def _saved_corrector(data: dict) -> dict:
    """A corrector's recorded settings as options: its training settings, then its task, value
    and method; what was recorded beside them is left out."""
    settings = {k: v for k, v in data["training"].items() if k not in RECORDED_ONLY}
    template = settings.pop("template", data.get("template"))
    if template == "no-feedback":
        settings["feedback"] = False
    for key in ("task", "value", "method"):
        if data.get(key) is not None:
            settings.setdefault(key, data[key])
    return settings


def coerce(value: Any, tp: Any, what: str) -> Any:
    """``value`` as read from a file, checked against (and converted to) the field's type."""
    base, optional = _inner(tp)
    if value is None:
        if optional:
            return None
        raise UsageError(f"{what} must not be empty")
    if _is_sequence(base):
        item = typing.get_args(base)[0]
        items = value if isinstance(value, list) else [value]
        return tuple(coerce(v, item, what) for v in items)
    if base is bool:
        ok = isinstance(value, bool)
    elif base is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif base in (str, Path):
        ok = isinstance(value, str)
        value = base(value) if ok else value
    elif typing.get_origin(base) is typing.Literal:
        choices = typing.get_args(base)
        if value not in choices:
            raise UsageError(f"{what} is one of {', '.join(map(str, choices))}, got {value!r}")
        ok = True
    else:
        ok = True
    if not ok:
        raise UsageError(f"{what} must be {getattr(base, '__name__', base)}, got {value!r}")
    return value
