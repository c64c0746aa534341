"""Generators known by a short name (``smollm2``): prepared once (converted, cached), then
loaded from their local folder like any other model."""

from __future__ import annotations

import os
import re
from typing import Callable

HUB_ID = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_\-.]*(/[A-Za-z0-9_\-.]+)?$")
"""How a Hugging Face hub id is written: "name" or "owner/name"."""


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


def is_hub_id(name: str) -> bool:
    """Whether ``name`` is written as a hub id ("name" or "owner/name"), not as a path."""
    return bool(HUB_ID.match(name))


def missing_path(name: str) -> bool:
    """Whether ``name`` can only mean a local path, and nothing is there: not on disk, not a
    named generator, and not written as a hub id (``./gen``, ``/abs/x``, ``a/b/c``). Such a
    typo gets its own message rather than a failed hub lookup. The one rule every model,
    corrector and embedding option follows."""
    return name not in NAMED and not os.path.exists(os.path.expanduser(name)) and not is_hub_id(name)


PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def unreachable_text(what: str, name: str) -> str:
    """The one line said of a hub id that could not be loaded from the hub (``what``: "model")."""
    return f"could not load {what} '{name}': not a local folder and not reachable on the Hugging Face hub (offline?)"


def hub_unreachable(name: str, timeout: float = 5.0) -> bool:
    """Whether ``name``, a hub id of which nothing is in the local hub cache, cannot be fetched
    because the hub's host cannot be reached at all (no name service, no route): said at once,
    where the hub client retries each file for half a minute or more. Not probed in offline mode
    (the client fails at once there), through a proxy (which reaches the host for us), or for a
    local path."""
    import socket
    from urllib.parse import urlparse

    if os.path.exists(os.path.expanduser(name)) or not is_hub_id(name) or any(os.environ.get(k) for k in PROXIES):
        return False
    from huggingface_hub import constants, try_to_load_from_cache

    if constants.HF_HUB_OFFLINE:
        return False
    if any(isinstance(try_to_load_from_cache(name, f), str) for f in ("config.json", "adapter_config.json")):
        return False  # the client reads what is cached when the hub is out of reach
    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or (80 if url.scheme == "http" else 443)), timeout).close()
    except OSError:
        return True
    return False
