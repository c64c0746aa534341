"""A command on a busy machine: its time beside as many CPU-bound processes as there are cores,
against its time on the idle machine, with the engine's own choice of threads (the default)
and with torch's (every core, ``--threads N``). The fair share is (cores + 1) / cores: three
runnable processes on two cores get two thirds of a core each, so 1.5x on 2 cores.

    python bench/busy.py [--repeat 2] [--busy N] [--before DIR] [-- correct arguments ...]

By default the command is the README's main job, ``correct generate --rounds 3``. Pool drafting
is ``correct train`` cut to its pool (docs/benchmarks.md has the command). Each run writes to a
fresh ``--output``, so nothing is resumed. Run it on an otherwise idle machine: the idle runs
are the baseline. Each setting alternates idle and busy runs, and the ratio is of the medians.
For ``generate`` it also gives the run's own ``seconds`` (its metrics: drafting, rounds and
the vote, without start-up). A last line gives the control, a fixed pure-Python loop, idle and
busy: what the machine gives any one-thread process. ``--before DIR``: the engine's choice of an earlier checkout too
(``git worktree add DIR/correct REV``; DIR goes first on PYTHONPATH), each run in turn with
the working tree's, so that both see the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CONTROL = "x = 0\nfor i in range(20_000_000):\n    x += i * i"
"""The control: a fixed pure-Python loop, one thread, no start-up to speak of. Its ratio is what
this machine's scheduler gives any single-threaded process beside the burners, which can be
worse than the fair share (a virtual machine's vCPUs, or tasks left unbalanced across cores)."""


def run(argv: list[str], env: dict | None = None, output: bool = True) -> tuple[float, float | None]:
    """Seconds the command takes and ``generate``'s own seconds (None for another command).
    ``output``: a ``correct`` command, given a folder of its own to write in (``--output``)."""
    folder = tempfile.mkdtemp()
    out = f"{folder}/{'out.jsonl' if 'generate' in argv else 'out'}"
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.perf_counter()
    subprocess.run([*argv, "--output", out] if output else argv, check=True, env=env, **quiet)
    took = time.perf_counter() - start
    metrics = f"{folder}/out.metrics.json"
    return took, json.load(open(metrics))["seconds"] if os.path.exists(metrics) else None


def burners(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--busy", type=int, default=None, help="CPU-bound processes beside it (default: the cores)")
    ap.add_argument("--before", default=None, help="a folder holding an earlier checkout as correct/")
    ap.add_argument("command", nargs="*", help="correct arguments (default: generate --rounds 3)")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    busy = args.busy or cores
    command = args.command or ["generate", "--rounds", "3"]
    base = [sys.executable, "-m", "correct.cli", *command]
    env_threads = os.environ.pop("OMP_NUM_THREADS", None)  # the engine's own choice is what is measured
    here = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # each setting: its command, its environment, and whether it is a correct command
    settings = {"engine's choice (default)": (base, here, True)}
    if args.before:
        before = {**here, "PYTHONPATH": os.path.abspath(args.before)}
        settings[f"engine's choice, {args.before}"] = (base, before, True)
    settings[f"--threads {cores} (torch's default)"] = ([*base, "--threads", str(cores)], here, True)
    for argv, env, _ in settings.values():
        run([*argv, "--progress", "none"], env)  # warm-up: file caches, first imports
    settings["a pure-Python loop (the control)"] = ([sys.executable, "-c", CONTROL], here, False)
    print(
        f"{cores} cores, {busy} CPU-bound processes beside; fair share {max(1.0, (busy + 1) / cores):.2f}x; "
        f"command: correct {' '.join(command)}"
    )
    times = {name: ([], []) for name in settings}
    for _ in range(args.repeat):  # the settings in turn, so that each sees the same machine
        for name, (argv, env, output) in settings.items():
            idle, loaded = times[name]
            idle.append(run(argv, env, output))
            procs = burners(busy)
            try:
                time.sleep(0.5)
                loaded.append(run(argv, env, output))
            finally:
                for p in procs:
                    p.kill()
                    p.wait()
    for name, (idle, loaded) in times.items():
        i, b = statistics.median(t for t, _ in idle), statistics.median(t for t, _ in loaded)
        line = f"  {name:32s} idle {i:6.1f} s   busy {b:6.1f} s   {b / i:5.2f}x"
        if idle[0][1] is not None:
            gi, gb = statistics.median(g for _, g in idle), statistics.median(g for _, g in loaded)
            line += f"   generate itself: idle {gi:5.2f} s   busy {gb:5.2f} s   {gb / gi:5.2f}x"
        print(line)
    if env_threads is not None:
        os.environ["OMP_NUM_THREADS"] = env_threads


if __name__ == "__main__":
    main()
