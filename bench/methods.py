"""The three ways to fill the corrector's role, side by side at an equal training budget.

Pairing corrector, Chain of Hindsight and Hindsight Instruction Relabeling are trained from
the *same* initial pool of generator drafts (drawn once, then copied into each run, so every
method starts from identical data), with the same number of optimizer steps, batch size and
model (the task's generator), and each is evaluated with ``correct generate --rounds 3`` on
the same held-out prompts. Training time is measured in this one run, method after method,
and training cost is reported as the CPU time of the `correct train` process (user +
system), which another job on the machine hardly changes, next to its wall time.

    python bench/methods.py --task arithmetic [--limit 500] [--out runs/methods-arithmetic]
    python bench/methods.py --task concepts --methods pairing,hindsight,hir

Prints a markdown table (solved or value after rounds 0-3, broken, net fixed, training time)
and writes it with the raw metrics to ``OUT/table.md`` and ``OUT/results.json``. Runs already
finished in OUT are reused (delete a method's folder to redo it).
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = {
    "pairing": ["--method", "pairing"],
    "hindsight": ["--method", "hindsight"],
    "hir": ["--method", "hir"],
    # Ablations: what each hindsight method's defining choice is worth.
    "hindsight-nomask": ["--method", "hindsight", "--mask-share", "0"],
    "hindsight-maskall": ["--method", "hindsight", "--mask-scope", "all"],
    "hir-nocontrast": ["--method", "hir", "--contrastive-weight", "0"],
}


def _child_cpu() -> float:
    """CPU seconds (user + system) used by finished child processes: unlike wall time, it
    hardly moves when something else shares the machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def correct(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "correct.cli", *args], check=True)


def shared_pool(out: Path, common: list[str]) -> Path:
    """The initial pool alone: one optimizer step, no exploration, then only the pool is kept."""
    pool = out / "pool" / "pool.jsonl"
    if not pool.exists():
        correct("train", *common, "--output", str(out / "pool"), "--iterations", "1", "--steps", "1", "--explore", "0")
    return pool


def run(name: str, out: Path, common: list[str], pool: Path, task: str, limit: int) -> dict:
    folder = out / name
    done = folder / "bench.json"
    if done.exists():
        return json.loads(done.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy(pool, folder / "pool.jsonl")  # every prompt is already drafted: training starts at once
    start, cpu = time.perf_counter(), _child_cpu()
    correct("train", *common, *VARIANTS[name], "--output", str(folder))
    seconds, cpu_seconds = time.perf_counter() - start, _child_cpu() - cpu
    correct(
        "generate",
        "--task",
        task,
        "--corrector",
        str(folder),
        "--rounds",
        "3",
        "--limit",
        str(limit),
        "--no-baseline",
        "--output",
        str(folder / "eval.jsonl"),
        "--metrics",
        str(folder / "metrics.json"),
    )
    result = {
        "method": name,
        "train_seconds": seconds,
        "train_cpu_seconds": cpu_seconds,
        "metrics": json.loads((folder / "metrics.json").read_text()),
    }
    done.write_text(json.dumps(result, indent=2) + "\n")
    return result


def table(results: list[dict]) -> str:
    solved = "solved" in results[0]["metrics"]["rounds"][0]
    key = "solved" if solved else "mean_value"
    label = key.replace("_", " ")
    head = (
        "| method | "
        + " | ".join(f"{label} r{i}" for i in range(4))
        + " | broken | net fixed | training (CPU) | training (wall) |"
    )
    lines = [head, "|" + "---|" * 9]
    base = results[0]["train_cpu_seconds"]
    for r in results:
        m = r["metrics"]
        cells = [f"{x[key]:.1%}" if solved else f"{x[key]:.3f}" for x in m["rounds"][:4]]
        broken = m.get("broken_of_right")
        fixed = m.get("net_fixed")
        lines.append(
            f"| {r['method']} | {' | '.join(cells)} | {'-' if broken is None else f'{broken:.1%}'} | "
            f"{'-' if fixed is None else f'{fixed:.1%}'} | {r['train_cpu_seconds'] / 60:.1f} min "
            f"({r['train_cpu_seconds'] / base:.2f}×) | "
            f"{r['train_seconds'] / 60:.1f} min |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", default="arithmetic")
    ap.add_argument("--methods", default="pairing,hindsight,hir", help=f"comma-separated, from: {', '.join(VARIANTS)}")
    ap.add_argument("--limit", type=int, default=500, help="held-out prompts evaluated")
    ap.add_argument("--train-limit", type=int, default=2000, help="training prompts")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--train-args",
        default="",
        help="extra `correct train` options for every method, e.g. '--steps 5' for a smoke run",
    )
    args = ap.parse_args()
    names = args.methods.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown --methods {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    out = args.out or Path("runs") / f"methods-{args.task}"
    out.mkdir(parents=True, exist_ok=True)
    common = [
        "--task",
        args.task,
        "--limit",
        str(args.train_limit),
        "--seed",
        str(args.seed),
        *shlex.split(args.train_args),
    ]
    pool = shared_pool(out, common)
    results = [run(n, out, common, pool, args.task, args.limit) for n in names]
    text = table(results)
    (out / "table.md").write_text(text + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
