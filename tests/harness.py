"""Support for tests and benchmarks that need a live ``correct serve``: a free loopback port
and a server in a child process, stopped on exit. Not part of the library (the server is
never started by the engine itself); ``bench/`` scripts put this folder on their path."""

from __future__ import annotations

import time
from typing import Sequence


def free_port() -> int:
    """A loopback port nobody listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Launched:
    """``correct serve ARGS`` in a child process on a free loopback port, stopped on exit:
    for tests, benchmarks and scripts that need a live endpoint.

    >>> with Launched(["--task", "arithmetic"]) as server:  # doctest: +SKIP
    ...     openai.OpenAI(base_url=server.url, api_key="none")
    """

    def __init__(self, args: Sequence[str], timeout: float = 180.0, env: dict | None = None):
        import os
        import subprocess
        import sys

        port = free_port()
        self.root = f"http://127.0.0.1:{port}"
        self.url = self.root + "/v1"
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", **(env or {})}
        self.process = subprocess.Popen([sys.executable, "-m", "correct.cli", "serve", "--port", str(port), *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout: float) -> None:
        import json
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"correct serve exited with status {self.process.returncode}: {self.process.stdout.read().strip()}")
            try:
                with urllib.request.urlopen(self.root + "/health", timeout=1) as r:
                    if json.load(r).get("status") == "ok":
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"correct serve did not answer {self.root}/health within {timeout:g} s")

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "Launched":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
