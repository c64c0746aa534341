"""What each row of bench/new_task.py cost, on one scale, and the table and picture of it.

Training compute: CPU-seconds of the training processes (``correct train``, bench/grpo.py and
the sandbox processes they ran, as the operating system counts them for their parent), the
pool's drafting included wherever a row learns from the pool; and tokens, those the training
generated (pool drafts, exploration, GRPO's samples) and those it trained on (rows times their
length, per optimizer step). Inference compute: decodes and generated tokens per held-out
problem (a vote of n samples is n decodes)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def child_env(threads: int) -> dict:
    """The environment of a bench's training or drafting command: every run on the same
    threads (``OMP_NUM_THREADS``; 0 leaves each its own), so that CPU-seconds measure work and
    not threads waiting for each other on a shared machine (TRL reads it as the engine does);
    unbuffered, so that a run under nohup shows its log lines (TRL's, the trainer's) as they come."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def machine() -> dict:
    """What CPU-seconds were counted on: the processor's name, the cores this process may use
    and its widest vector instructions. A CPU-second of one machine is not one of another (the
    rows of one table may come from several sessions), so every cost records it."""
    name, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = line.partition(":")
            if key.strip() == "model name" and name == "unknown":
                name = val.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(val.split())
    except OSError:
        pass
    from correct.generators.threads import usable_cores

    vector = next((f for f in ("avx512f", "avx2", "avx") if f in flags), None)
    return {"cpu": name, "cores": usable_cores(), "vector": vector}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def logged_cpu(folder: Path) -> float:
    """The CPU-seconds a killed training run in ``folder`` had spent by its last checkpoint, as it
    recorded them (``correct train``'s log.jsonl; a Trainer step checkpoint's trainer_state.json,
    TRL's in ``folder``, the sft and corrector iterations' under ``folder/trainer``): the part of
    the work a resumed run does not do again. 0 for a folder no run has logged in."""
    from correct.corrector.training.budget import spent_at
    from correct.corrector.training.resume import logged_cpu as corrector_logged

    logged = [corrector_logged(folder)]  # correct train's log.jsonl: the whole run, resumes included
    for pattern in ("checkpoint-*", "trainer/checkpoint-*", "trainer/iteration-*/checkpoint-*"):
        logged += [spent_at(c) for c in folder.glob(pattern) if (c / "trainer_state.json").is_file()]
    return max(logged, default=0.0)


def pool_cost(folder: Path, tokenizer_of=None) -> dict:
    """Drafting the shared pool: CPU and wall seconds of its run, and the tokens it drafted (as
    logged; a pool drawn by an older run is counted by tokenizing its drafts, ``tokenizer_of``)."""
    cost = json.loads((folder / "cost.json").read_text())
    logged = [r["pool_tokens"] for r in read_jsonl(folder / "log.jsonl") if "pool_tokens" in r]
    if logged:
        tokens = sum(logged)
    else:
        tok = tokenizer_of() if tokenizer_of else None
        drafts = [d["text"] for d in read_jsonl(folder / "pool.jsonl") if d["origin"] == "generator"]
        tokens = sum(len(tok(t)["input_ids"]) for t in drafts) if tok else 0
    return {
        "cpu_seconds": cost["cpu_seconds"],
        "seconds": cost["seconds"],
        "generated_tokens": tokens,
        "trained_tokens": 0,
    }


def corrector_cost(folder: Path) -> dict:
    """A ``correct train`` corrector run: its CPU, and the tokens its log counted (training
    rows, exploration); the pool it started from is counted apart."""
    t = json.loads((folder / "train.json").read_text())
    log = read_jsonl(folder / "log.jsonl")
    return {
        "cpu_seconds": t["cpu_seconds"],
        "seconds": t["seconds"],
        "generated_tokens": sum(r.get("explore_tokens") or 0 for r in log),
        "trained_tokens": sum(r.get("train_tokens") or 0 for r in log),
    }


def sft_cost(folder: Path) -> dict:
    """A ``correct train --method sft`` run (rejection-sampling fine-tuning)."""
    t = json.loads((folder / "train.json").read_text())
    results = json.loads((folder / "train_results.json").read_text())
    return {
        "cpu_seconds": t["cpu_seconds"],
        "seconds": t["seconds"],
        "generated_tokens": 0,
        "trained_tokens": results.get("train_tokens", 0),
    }


def grpo_cost(folder: Path) -> dict:
    """A bench/grpo.py run: TRL counts every prompt and completion token it trained on."""
    t = json.loads((folder / "train.json").read_text())
    stats = json.loads((folder / "stats.json").read_text())
    return {
        "cpu_seconds": t["cpu_seconds"],
        "seconds": t["seconds"],
        "generated_tokens": stats["generated_tokens"],
        "trained_tokens": stats["tokens"],
    }


def add(*costs: dict) -> dict:
    return {k: sum(c[k] for c in costs) for k in ("cpu_seconds", "seconds", "generated_tokens", "trained_tokens")}


NO_TRAINING = {"cpu_seconds": 0.0, "seconds": 0.0, "generated_tokens": 0, "trained_tokens": 0}


def evaluation(folder: Path, generate: list[str], run) -> tuple[dict, str]:
    """``correct generate`` with ``generate``'s arguments into ``folder`` (``eval.jsonl``,
    ``metrics.json`` and the command in ``generate.txt``), once: a finished evaluation is read
    back, and a killed one goes on where its output ends. ``run`` takes the arguments and
    returns the command as shown; the one kept is the run's own, without ``--resume``."""
    folder.mkdir(parents=True, exist_ok=True)
    metrics, command = folder / "metrics.json", folder / "generate.txt"
    if not metrics.exists():
        resume = ["--resume"] if (folder / "eval.jsonl").exists() else []
        shown = run([*generate, "--output", str(folder / "eval.jsonl"), "--metrics", str(metrics), *resume])
        command.write_text(shown.removesuffix(" --resume") + "\n")
    return json.loads(metrics.read_text()), command.read_text().strip()


def inference_cost(metrics: dict, vote: bool) -> dict:
    """Decodes and generated tokens per problem: the rounds' (the draft and each correction
    still open), or the vote's samples. A resumed run's costs are over the records it did."""
    n = metrics["records"] - metrics.get("resumed_after", 0)
    if vote:
        sc = metrics["self_consistency"]
        return {"decodes": sc["samples"], "tokens": sc.get("tokens", 0) / n}
    return {"decodes": sum(metrics.get("round_decodes") or [n]) / n, "tokens": metrics["tokens"] / n}


def finals(path: Path, vote: bool) -> dict[str, bool]:
    """Whether each problem of an evaluation (``eval.jsonl``) is solved by what the row finally
    answers: the vote's winner, or the last round."""
    lines = read_jsonl(Path(path))
    return {l["id"]: (l["self_consistency"] if vote else l["rounds"][-1])["value"] == 1.0 for l in lines}


def paired(a: dict[str, bool], b: dict[str, bool]) -> tuple[int, int, float]:
    """Two rows on the same problems: (solved by a only, solved by b only, the exact two-sided
    sign test's p that neither is better). Problems both solve, or both miss, say nothing.

    >>> paired({"1": True, "2": True, "3": False}, {"1": True, "2": False, "3": False})
    (1, 0, 1.0)
    >>> round(paired({str(i): i < 19 for i in range(20)}, {str(i): False for i in range(20)})[2], 6)
    4e-06
    """
    from math import comb

    if a.keys() != b.keys():
        raise ValueError(f"the rows answered different problems ({len(a)} and {len(b)})")
    only_a = sum(a[i] and not b[i] for i in a)
    only_b = sum(b[i] and not a[i] for i in a)
    n, k = only_a + only_b, min(only_a, only_b)
    p = min(1.0, 2 * sum(comb(n, j) for j in range(k + 1)) / 2**n) if n else 1.0
    return only_a, only_b, p


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _k(n: float) -> str:
    return "-" if not n else f"{n / 1e6:.2f} M" if n >= 1e5 else f"{n / 1e3:.0f} k"


def table(results: list[dict], budget: float | None) -> str:
    """Markdown: one line per row, then the commands that made each."""
    head = (
        "| | solved | net fixed | broken | decodes / problem | generated tokens / problem | training CPU-s "
        "| of the budget | training tokens generated | trained on |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in results:
        c = r["train"]
        share = f"{c['cpu_seconds'] / budget:.2f}" if budget and c["cpu_seconds"] else "-"
        solved = _pct(r["solved"][-1]) + (
            f" (draft {_pct(r['solved'][0])})" if len(r["solved"]) > 1 and not r["vote"] else ""
        )
        lines.append(
            f"| {r['row']} | {solved} | {_pct(r.get('net_fixed'))} | {_pct(r.get('broken'))} | "
            f"{r['infer']['decodes']:.2f} | {r['infer']['tokens']:.0f} "
            f"| {c['cpu_seconds']:.0f} | {share} | {_k(c['generated_tokens'])} | {_k(c['trained_tokens'])} |"
        )
    lines.append("")
    for r in results:
        lines.append(f"- {r['row']}:")
        for command in r["commands"]:
            lines.append(f"  `{command}`")
    return "\n".join(lines)


def picture(results: list[dict], path: Path, title: str) -> None:
    """Solved against inference decodes (left) and against training CPU-hours (right), one point
    per row, each labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    points: dict = {left: [], right: []}
    for r in results:
        y = 100 * r["solved"][-1]
        for ax, x in ((left, r["infer"]["decodes"]), (right, r["train"]["cpu_seconds"] / 3600)):
            ax.scatter([x], [y], s=30)
            points[ax].append((x, y, r["short"]))
    left.set_xscale("log", base=2)
    left.set_xlabel("decodes per problem (log scale)")
    right.set_xlabel("training compute, CPU-hours (pool drafting included)")
    left.set_ylabel("solved, held-out problems (%)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.margins(x=0.1)  # room for the rightmost point's label
    fig.suptitle(title)
    fig.tight_layout()
    for ax, labelled in points.items():
        _label(ax, labelled)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _label(ax, points: list[tuple[float, float, str]]) -> None:
    """Each point's label beside it, moved up or down a line at a time until it overlaps no
    label already placed: rows of equal cost and close scores otherwise print over each other."""
    per_point = ax.figure.dpi / 72  # display pixels per typographic point
    line, char = 10 * per_point, 8 * 0.6 * per_point  # an 8-point label's line and character
    placed: list[tuple[float, float, float, float]] = []  # display boxes: x0, y0, x1, y1
    for x, y, text in sorted(points, key=lambda p: -p[1]):
        px, py = ax.transData.transform((x, y))
        for shift in (0, -1, 1, -2, 2, -3, 3):
            x0, y0 = px + 4 * per_point, py + 3 * per_point + shift * line
            box = (x0, y0, x0 + char * len(text), y0 + line)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        offset = (4, 3 + shift * line / per_point)
        ax.annotate(text, (x, y), textcoords="offset points", xytext=offset, fontsize=8)
