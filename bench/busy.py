"""A command on a busy machine: its time beside as many CPU-bound processes as there are cores,
against its time on the idle machine, with the engine's own choice of threads (the default)
and with torch's (every core, ``--threads N``). The fair share is (cores + 1) / cores: three
runnable processes on two cores get two thirds of a core each, so 1.5x on 2 cores.

    python bench/busy.py [--repeat 2] [--busy N] [-- correct arguments ...]

By default the command is the README's main job, ``correct generate --rounds 3``. Pool drafting
is ``correct train`` cut to its pool (docs/benchmarks.md has the command). Each run writes to a
fresh ``--output``, so nothing is resumed. Run it on an otherwise idle machine: the idle runs
are the baseline. Each setting alternates idle and busy runs, and the ratio is of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(argv: list[str]) -> float:
    """Seconds the command takes, writing into a folder of its own (``generate`` a file there)."""
    argv = [*argv, "--output", f"{tempfile.mkdtemp()}/{'out.jsonl' if 'generate' in argv else 'out'}"]
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def burners(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--busy", type=int, default=None, help="CPU-bound processes beside it (default: the cores)")
    ap.add_argument("command", nargs="*", help="correct arguments (default: generate --rounds 3)")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    busy = args.busy or cores
    command = args.command or ["generate", "--rounds", "3"]
    base = [sys.executable, "-m", "correct.cli", *command]
    env_threads = os.environ.pop("OMP_NUM_THREADS", None)  # the engine's own choice is what is measured
    settings = {"engine's choice (default)": [], f"--threads {cores} (torch's default)": ["--threads", str(cores)]}
    run(base + ["--progress", "none"])  # warm-up: file caches, first imports
    print(
        f"{cores} cores, {busy} CPU-bound processes beside; fair share {max(1.0, (busy + 1) / cores):.2f}x; "
        f"command: correct {' '.join(command)}"
    )
    for name, extra in settings.items():
        idle, loaded = [], []
        for _ in range(args.repeat):
            idle.append(run(base + extra))
            procs = burners(busy)
            try:
                time.sleep(0.5)
                loaded.append(run(base + extra))
            finally:
                for p in procs:
                    p.kill()
                    p.wait()
        i, b = statistics.median(idle), statistics.median(loaded)
        print(f"  {name:32s} idle {i:6.1f} s   busy {b:6.1f} s   {b / i:5.2f}x")
    if env_threads is not None:
        os.environ["OMP_NUM_THREADS"] = env_threads


if __name__ == "__main__":
    main()
