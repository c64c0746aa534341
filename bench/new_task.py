"""A corrector for a task the project never shipped, against what a user would try instead.

On a task file (by default the word problems of ``docs/examples/word-problems``) with a
pretrained generator drafting few-shot (SmolLM2, 3 solved examples), every row below is
measured on the same held-out problems (greedy drafts, then 3 rounds of correction), and
every trained row learns from the *same* pool of the generator's drafts (drawn once, then
copied into each run) with the same optimizer steps and batch size:

  lora              a corrector from the generator's weights with a LoRA adapter
  full              a corrector from the generator's weights, every weight trained
  shipped           the shipped arithmetic corrector swapped in (no training)
  tiny              today's recipe: a tiny GPT-2 trained from scratch on the task's reference
                    solutions (``--method sft --init tiny``), then trained as a corrector
  self-consistency  the generator sampled rounds+1 times, majority vote (equal decodes)
  rft+lora          the two together: the fine-tuned generator's drafts, corrected by the
                    LoRA corrector (trained on the plain generator's drafts)
  rft               rejection-sampling fine-tuning: the generator fine-tuned (LoRA) on its
                    own right drafts from the pool, in the prompts it drafted them from (the
                    task's, with its solved examples), then sampled once (greedy; with the
                    same few-shot header, and with none)

Run from the repository's root:

    python bench/new_task.py [--task FILE.yaml] [--limit 200] [--out runs/new-task]
    python bench/new_task.py --rows lora,shipped --train-limit 16 --limit 8 --train-args '--steps 2 --samples 2' --out runs/smoke

Every command is printed before it runs, and the table lists for each row the command that
made it and its training time (wall, and the CPU time of the ``correct`` processes, which
another job on the machine hardly changes). Rows already finished in OUT are reused; a
killed training run resumes (``--resume``). Writes ``OUT/table.md`` and ``OUT/results.json``.
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

ROWS = ("lora", "shipped", "self-consistency", "rft", "full", "tiny", "rft+lora")


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out: Path = args.out
        self.task = str(args.task)
        self.common = ["--task", self.task, "--generator", args.generator, "--shots", str(args.shots), "--seed", str(args.seed)]
        self.budget = ["--steps", str(args.steps), "--iterations", str(args.iterations), "--batch-size", str(args.batch_size)]
        self.extra = shlex.split(args.train_args)

    def correct(self, *argv: str) -> tuple[float, float, str]:
        """Run one ``correct`` command; (wall seconds, CPU seconds, the command as a user types it)."""
        shown = "correct " + shlex.join(argv)
        print(f"\n$ {shown}", flush=True)
        start, cpu = time.perf_counter(), _child_cpu()
        subprocess.run([sys.executable, "-m", "correct.cli", *argv], check=True)
        return time.perf_counter() - start, _child_cpu() - cpu, shown

    def pool(self) -> Path:
        """The generator's drafts of the training prompts, drawn once: a one-step run whose pool is kept."""
        folder = self.out / "pool"
        if not (folder / "correct_config.json").exists():
            self.correct("train", *self.common, "--limit", str(self.args.train_limit), "--samples", str(self.args.samples),
                         "--temperature", str(self.args.temperature), "--init", self.args.generator, "--lora-r", "8",
                         "--iterations", "1", "--steps", "1", "--explore", "0", "--eval-limit", "0", *self.extra,
                         "--output", str(folder), *(["--resume"] if (folder / "pool.jsonl").exists() else []))
        return folder / "pool.jsonl"

    def train(self, name: str, *options: str) -> tuple[Path, float, float, str]:
        folder = self.out / name
        timing = folder / "train.json"
        if timing.exists():
            t = json.loads(timing.read_text())
            return folder, t["seconds"], t["cpu_seconds"], t["command"]
        pool = self.pool()
        resume = (folder / "pool.jsonl").exists()
        if not resume:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(pool, folder / "pool.jsonl")  # every prompt is already drafted: training starts at once
        seconds, cpu, shown = self.correct("train", *self.common, "--limit", str(self.args.train_limit),
                                           "--samples", str(self.args.samples), "--temperature", str(self.args.temperature),
                                           *self.budget, "--explore", str(self.args.explore), "--eval-limit", "0",
                                           *options, *self.extra, "--output", str(folder), *(["--resume"] if resume else []))
        timing.write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "command": shown}) + "\n")
        return folder, seconds, cpu, shown

    def evaluate(self, name: str, *options: str) -> tuple[dict, str]:
        """3 rounds (or what ``options`` say) on the held-out problems; the metrics and the command."""
        folder = self.out / name
        folder.mkdir(parents=True, exist_ok=True)
        metrics = folder / "metrics.json"
        command = folder / "generate.txt"
        if not metrics.exists():
            _, _, shown = self.correct("generate", "--task", self.task, "--split", self.args.split, "--limit", str(self.args.limit),
                                       "--seed", str(self.args.seed), *options, "--output", str(folder / "eval.jsonl"),
                                       "--metrics", str(metrics))
            command.write_text(shown + "\n")
        return json.loads(metrics.read_text()), command.read_text().strip()

    def generator_rounds(self, corrector: str, name: str, baseline: bool = False) -> tuple[dict, str]:
        return self.evaluate(name, "--generator", self.args.generator, "--shots", str(self.args.shots), "--corrector", corrector,
                             "--rounds", str(self.args.rounds), *([] if baseline else ["--no-baseline"]))

    def row(self, name: str) -> list[dict]:
        a = self.args
        if name == "lora":
            folder, sec, cpu, cmd = self.train("lora", "--init", a.generator, "--lora-r", str(a.lora_r), "--learning-rate", str(a.lora_lr))
            m, gen = self.generator_rounds(str(folder), "lora")
            return [_row("corrector from the generator, LoRA", m, cmd, gen, sec, cpu)]
        if name == "full":
            folder, sec, cpu, cmd = self.train("full", "--init", a.generator, "--learning-rate", str(a.full_lr))
            m, gen = self.generator_rounds(str(folder), "full")
            return [_row("corrector from the generator, full fine-tuning", m, cmd, gen, sec, cpu)]
        if name == "shipped":
            m, gen = self.generator_rounds(str(a.shipped), "shipped", baseline=True)
            return [_row(f"shipped corrector swapped in ({Path(a.shipped).name})", m, None, gen, 0.0, 0.0)]
        if name == "tiny":
            base = self.out / "tiny-base"
            if not (base / "config.json").exists():
                self.correct("train", "--method", "sft", "--init", "tiny", "--task", self.task, "--seed", str(a.seed), *self.extra,
                             "--output", str(base))
            folder, sec, cpu, cmd = self.train("tiny", "--init", str(base))
            m, gen = self.generator_rounds(str(folder), "tiny")
            return [_row("tiny corrector from scratch (today's recipe)", m, cmd, gen, sec, cpu)]
        if name == "self-consistency":
            # `correct generate` samples it beside the rounds of a corrector, here the shipped one's (a tiny model: cheap)
            m, gen = self.generator_rounds(str(a.shipped), "shipped", baseline=True)
            return [_vote_row(m, gen)]
        if name == "rft":
            right = self.right_drafts()
            folder = self.out / "rft"
            timing = folder / "train.json"
            if timing.exists():
                t = json.loads(timing.read_text())
                sec, cpu, cmd = t["seconds"], t["cpu_seconds"], t["command"]
            else:
                sec, cpu, cmd = self.correct("train", "--method", "sft", "--task", self.task, "--input", str(right), "--init", a.generator,
                                             "--lora-r", str(a.lora_r), "--learning-rate", str(a.lora_lr), *self.budget,
                                             "--seed", str(a.seed), *self.extra, "--output", str(folder))
                timing.write_text(json.dumps({"seconds": sec, "cpu_seconds": cpu, "command": cmd}) + "\n")
            rows = []
            for shots in sorted({0, a.shots}):
                m, gen = self.evaluate(f"rft-{shots}shot", "--generator", str(folder), "--shots", str(shots), "--rounds", "0", "--no-baseline")
                rows.append(_row(f"rejection-sampling fine-tuned generator, {shots}-shot, sampled once", m, cmd, gen, sec, cpu))
            return rows
        if name == "rft+lora":
            self.row("rft")  # both are trained (or found done) first
            self.row("lora")
            m, gen = self.evaluate("rft+lora", "--generator", str(self.out / "rft"), "--shots", str(a.shots), "--corrector",
                                   str(self.out / "lora"), "--rounds", str(a.rounds), "--no-baseline")
            return [_row("fine-tuned generator's drafts, corrected by the LoRA corrector", m, None, gen, 0.0, 0.0)]
        raise ValueError(name)

    def right_drafts(self) -> Path:
        """The pool's right drafts (value at the maximum), one record per distinct (question, draft),
        in the task's own columns with the draft as the ``solution`` to fine-tune on."""
        path = self.out / "right-drafts.jsonl"
        if path.exists():
            return path
        from correct.tasks import get_task

        task = get_task(self.task)
        records = {r["id"]: r for r in task.make_split("train", self.args.train_limit, self.args.seed)}
        column = task.fields.get("prompt", "prompt") if task.fields else "prompt"
        seen, rows = set(), []
        for line in self.pool().read_text().splitlines():
            d = json.loads(line)
            if d["value"] == 1.0 and d["origin"] == "generator" and (d["prompt_id"], d["text"]) not in seen:
                seen.add((d["prompt_id"], d["text"]))
                r = records[d["prompt_id"]]
                rows.append({"id": f"{r['id']}-{len(rows)}", column: r["prompt"], "answer": r.get("answer"), "solution": d["text"]})
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{len(rows)} right drafts of {len({r['id'].rsplit('-', 1)[0] for r in rows})} prompts -> {path}", flush=True)
        return path


def _row(name: str, m: dict, train_cmd: str | None, gen_cmd: str, sec: float, cpu: float) -> dict:
    return {"row": name, "solved": [r["solved"] for r in m["rounds"]], "train_seconds": sec, "train_cpu_seconds": cpu,
            "train_command": train_cmd, "generate_command": gen_cmd, "eval": _shlex_value(gen_cmd, "--output"), "vote": False}


def _vote_row(m: dict, gen_cmd: str) -> dict:
    sc = m["self_consistency"]
    return {"row": f"self-consistency, {sc['samples']} samples, majority vote", "solved": [m["rounds"][0]["solved"], sc["solved"]],
            "train_seconds": 0.0, "train_cpu_seconds": 0.0, "train_command": None, "generate_command": gen_cmd,
            "eval": _shlex_value(gen_cmd, "--output"), "vote": True}


def _shlex_value(command: str, option: str) -> str:
    words = shlex.split(command)
    return words[words.index(option) + 1]


def _finals(row: dict) -> dict[str, bool]:
    """Whether each held-out problem is solved by what the row finally answers."""
    lines = [json.loads(line) for line in Path(row["eval"]).read_text().splitlines()]
    return {l["id"]: (l["self_consistency"] if row["vote"] else l["rounds"][-1])["value"] == 1.0 for l in lines}


def against_drafts(results: list[dict]) -> None:
    """Net fixed (of the generator's wrong greedy drafts) and broken (of its right ones) for every
    row, each against the same drafts: round 0 of the corrector rows, which all share it."""
    base_row = next((r for r in results if len(r["solved"]) > 2), None)
    if base_row is None:
        return
    base = {i: json.loads(line)["rounds"][0]["value"] == 1.0
            for i, line in ((json.loads(line)["id"], line) for line in Path(base_row["eval"]).read_text().splitlines())}
    wrong, right = [i for i, ok in base.items() if not ok], [i for i, ok in base.items() if ok]
    for r in results:
        final = _finals(r)
        r["net_fixed"] = (sum(final[i] for i in base) - len(right)) / len(wrong) if wrong else None
        r["fixed"] = sum(final[i] for i in wrong) / len(wrong) if wrong else None
        r["broken"] = sum(not final[i] for i in right) / len(right) if right else None


def table(results: list[dict], rounds: int) -> str:
    against_drafts(results)
    head = "| | " + " | ".join(f"solved r{i}" for i in range(rounds + 1)) + \
        " | fixed (of wrong drafts) | net fixed | broken (of right drafts) | training wall (CPU) |"
    lines = [head, "|" + "---|" * (rounds + 6)]
    for r in results:
        s = [f"{x:.1%}" for x in r["solved"]]
        cells = s if len(s) == rounds + 1 else s[:1] + ["-"] * (rounds - len(s) + 1) + s[1:]  # a vote: its figure under the last round
        fmt = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
        train = "-" if not r["train_seconds"] else f"{r['train_seconds'] / 60:.0f} min ({r['train_cpu_seconds'] / 60:.0f} CPU min)"
        lines.append(f"| {r['row']} | {' | '.join(cells)} | {fmt(r.get('fixed'))} | {fmt(r.get('net_fixed'))} | {fmt(r.get('broken'))} | {train} |")
    lines.append("")
    for r in results:
        lines.append(f"- {r['row']}:")
        if r["train_command"]:
            lines.append(f"  `{r['train_command']}`")
        lines.append(f"  `{r['generate_command']}`")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", type=Path, default=Path("docs/examples/word-problems/word-problems.yaml"))
    ap.add_argument("--generator", default="smollm2")
    ap.add_argument("--shots", type=int, default=3)
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, from: {', '.join(ROWS)}")
    ap.add_argument("--split", default="test", help="held-out split")
    ap.add_argument("--limit", type=int, default=200, help="held-out problems")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--train-limit", type=int, default=600, help="training prompts")
    ap.add_argument("--samples", type=int, default=4, help="pool drafts per training prompt")
    ap.add_argument("--temperature", type=float, default=0.5, help="pool and exploration temperature")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--iterations", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--explore", type=int, default=200)
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--lora-lr", type=float, default=5e-4)
    ap.add_argument("--full-lr", type=float, default=5e-5)
    ap.add_argument("--shipped", default="tasks/models/arithmetic-corrector")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/new-task"))
    ap.add_argument("--train-args", default="", help="extra `correct train` options for every training run")
    args = ap.parse_args()
    names = args.rows.split(",")
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        ap.error(f"unknown --rows {', '.join(unknown)}; known: {', '.join(ROWS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    results = []
    for name in names:
        results += bench.row(name)
        text = table(results, args.rounds)  # written after every row: a killed run keeps its figures
        (args.out / "table.md").write_text(text + "\n")
        (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
