"""Generators known by a short name (``smollm2``): prepared once (converted, cached), then
loaded from their local folder like any other model."""

from __future__ import annotations

from typing import Callable


def _smollm2(log: Callable[[str], None], force: bool = False) -> str:
    from . import smollm2

    return str(smollm2.prepare(force=force, log=log))


NAMED: dict[str, Callable[..., str]] = {"smollm2": _smollm2, "smollm2-135m-instruct": _smollm2}
"""Generators known by a short name: each is prepared once (converted, cached) and then loaded
from its local folder. A local folder of the same name takes precedence."""


def resolve_model(name_or_path: str, log: Callable[[str], None] | None = None) -> str:
    """The local folder of a named generator (prepared on first use, which says what it does
    through ``log``, by default the ``correct`` logger); anything else unchanged."""
    import logging
    import os

    if name_or_path in NAMED and not os.path.exists(name_or_path):
        return NAMED[name_or_path](log or logging.getLogger("correct").warning)
    return name_or_path
