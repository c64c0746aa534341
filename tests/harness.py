"""Support for tests and benchmarks that need a live server: ``correct serve`` in a child
process, or an ASGI app in a thread, each on a loopback port that the server itself bound
(port 0), so no other process can take it between choosing and listening. Not part of the
library (the server is never started by the engine itself); ``bench/`` scripts put this
folder on their path."""

from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from typing import Sequence

LISTENING = re.compile(r"serving .* on (http://\S+)/v1")


class Launched:
    """``correct serve ARGS --port 0`` in a child process, stopped on exit: for tests,
    benchmarks and scripts that need a live endpoint. The port is the one the server reports
    once it has bound it.

    >>> with Launched(["--task", "arithmetic"]) as server:  # doctest: +SKIP
    ...     openai.OpenAI(base_url=server.url, api_key="none")
    """

    def __init__(self, args: Sequence[str], timeout: float = 180.0, env: dict | None = None):
        import os
        import subprocess
        import sys

        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", **(env or {})}
        self.output: list[str] = []
        self._bound = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "correct.cli", "serve", *args, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        threading.Thread(target=self._read, daemon=True).start()  # drained always: a full pipe would block the server
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if not self._bound.is_set() and (m := LISTENING.search(line)):
                self.root = m.group(1)
                self.url = self.root + "/v1"
                self._bound.set()
        self._bound.set()  # the process ended

    def _wait(self, timeout: float) -> None:
        import json
        import urllib.request

        deadline = time.monotonic() + timeout
        if not self._bound.wait(timeout) or not hasattr(self, "root"):
            self.process.poll()
            raise RuntimeError(
                f"correct serve did not report a port within {timeout:g} s (status {self.process.returncode}): "
                f"{''.join(self.output).strip()}"
            )
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"correct serve exited with status {self.process.returncode}: {''.join(self.output).strip()}"
                )
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


@contextmanager
def serving(asgi_app, timeout: float = 30.0):
    """An ASGI app served by uvicorn in a thread of this process on a loopback port it bound
    itself; yields the root URL (``http://127.0.0.1:PORT``)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(asgi_app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
