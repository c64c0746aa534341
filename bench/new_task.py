"""A corrector for a task the project never shipped, against what a user would try instead, at
equal compute.

On a task file (by default the word problems of ``docs/examples/word-problems``) with a
pretrained generator drafting few-shot (SmolLM2, 3 solved examples), every row below is
measured on the same held-out problems (greedy drafts, then 3 rounds of correction), and
every row that learns from the generator's drafts learns from the *same* pool (drawn once,
then copied into each run):

  lora              a corrector from the generator's weights with a LoRA adapter: its training
                    compute (pool drafting included) is the budget every trained row gets
  full              a corrector from the generator's weights, every weight trained
  rft               rejection-sampling fine-tuning: the generator fine-tuned (LoRA) on its own
                    right pool drafts, in the prompts it drafted them from, until it has spent
                    the budget (the pool's drafting counted in it); then greedy once
  grpo              GRPO (TRL's GRPOTrainer, bench/grpo.py): a LoRA adapter on the generator,
                    rewarded by the task's own value, until it has spent the budget; greedy once
  self              the generator rewrites its own drafts (``--corrector self``, no training)
  self-examples     the same, its header the task's solved examples shown as corrections
                    (``--self-examples``)
  self-consistency  the generator sampled 4, 8 and 16 times, majority vote (no training)
  rft+lora          the fine-tuned generator's drafts, corrected by the LoRA corrector
  grpo+lora         GRPO's drafts, corrected by the LoRA corrector
  rft+sc            the fine-tuned generator sampled 4 times, majority vote
  shipped           the shipped arithmetic corrector swapped in (no training on this task)
  tiny              a tiny GPT-2 trained from scratch on the task's reference solutions, then
                    trained as a corrector (the recipe of the built-in tasks; not by default)

Compute is on one scale for every row (bench/compute.py): training as CPU-seconds of the
training processes and tokens generated and trained on; inference as decodes and generated
tokens per problem. The budget is matched by stopping each other method's training once its
process has spent what the LoRA corrector's did (``correct train --cpu-budget``, bench/grpo.py
``--cpu-budget``), less the pool's drafting for the methods that start from the pool; the
table gives each row's share of the budget. Every run gets the same threads (``--threads``, 1 by
default), so that CPU-seconds count work rather than threads waiting for each other.

Run from the repository's root:

    python bench/new_task.py [--task FILE.yaml] [--limit 200] [--out runs/new-task]
    python bench/new_task.py --rows grpo      # one row (the LoRA row's budget is trained or found first)
    python bench/new_task.py --rows lora,rft --train-limit 16 --limit 8 \\
        --train-args '--steps 2 --samples 2' --out runs/smoke

Every command is printed before it runs, and the table lists the commands that made each
row. Rows already finished in OUT are reused; a killed training run resumes (``--resume``).
Writes ``OUT/table.md``, ``OUT/results.json`` and ``OUT/compute.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import compute

ROWS = (
    "lora",
    "rft",
    "grpo",
    "self",
    "self-examples",
    "self-consistency",
    "full",
    "rft+lora",
    "grpo+lora",
    "rft+sc",
    "shipped",
    "tiny",
)
DEFAULT_ROWS = ROWS[:-1]


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out: Path = args.out
        self.task = str(args.task)
        self.common = [
            "--task",
            self.task,
            "--generator",
            args.generator,
            "--shots",
            str(args.shots),
            "--seed",
            str(args.seed),
        ]
        # how the shared pool is drafted: the pool's own run and every corrector trained from it say the same
        self.drafting = [
            "--limit",
            str(args.train_limit),
            "--samples",
            str(args.samples),
            "--temperature",
            str(args.temperature),
        ]
        self.budget = [
            "--steps",
            str(args.steps),
            "--iterations",
            str(args.iterations),
            "--batch-size",
            str(args.batch_size),
        ]
        self.extra = shlex.split(args.train_args)
        self.done: dict[str, list[dict]] = {}
        self._pool_cost: dict | None = None

    def run(self, argv: list[str], shown: str) -> tuple[float, float, str]:
        """Run one command; (wall seconds, CPU seconds of it and its children, the command as a user types it)."""
        print(f"\n$ {shown}", flush=True)
        start, cpu = time.perf_counter(), _child_cpu()
        subprocess.run(argv, check=True, env=compute.child_env(self.args.threads))
        return time.perf_counter() - start, _child_cpu() - cpu, shown

    def correct(self, *argv: str) -> tuple[float, float, str]:
        return self.run([sys.executable, "-m", "correct.cli", *argv], "correct " + shlex.join(argv))

    def timed(self, folder: Path, *argv: str, script: str | None = None) -> dict:
        """A training command run once into ``folder`` (its cost kept in ``train.json``)."""
        timing = folder / "train.json"
        if not timing.exists():
            folder.mkdir(parents=True, exist_ok=True)
            earlier = compute.logged_cpu(
                folder
            )  # what a killed run had done by its last checkpoint, which this one resumes
            if script:
                seconds, cpu, shown = self.run([sys.executable, script, *argv], f"python {script} {shlex.join(argv)}")
            else:
                seconds, cpu, shown = self.correct(*argv)
            timing.write_text(
                json.dumps(
                    {
                        "seconds": seconds,
                        "cpu_seconds": cpu + earlier,
                        "earlier_cpu_seconds": earlier,
                        "command": shown,
                        "machine": compute.machine(),
                    }
                )
                + "\n"
            )
        return json.loads(timing.read_text())

    def pool(self) -> Path:
        """The generator's drafts of the training prompts, drawn once: a one-step run whose pool is kept."""
        folder = self.out / "pool"
        if not (folder / "cost.json").exists():
            seconds, cpu, shown = self.correct(
                "train",
                *self.common,
                *self.drafting,
                "--init",
                self.args.generator,
                "--lora-r",
                "8",
                "--iterations",
                "1",
                "--steps",
                "1",
                "--explore",
                "0",
                "--eval-limit",
                "0",
                *self.extra,
                "--output",
                str(folder),
                *(["--resume"] if (folder / "pool.jsonl").exists() else []),
            )
            # What drafting the pool cost (a resumed run: its last part only); every row that learns from it pays it.
            (folder / "cost.json").write_text(
                json.dumps({"seconds": seconds, "cpu_seconds": cpu, "command": shown, "machine": compute.machine()})
                + "\n"
            )
        return folder / "pool.jsonl"

    def pool_cost(self) -> dict:
        """What drafting the pool cost, read once (an old pool's tokens are counted by tokenizing it)."""
        if self._pool_cost is None:
            self.pool()
            self._pool_cost = compute.pool_cost(self.out / "pool", self.tokenizer)
        return self._pool_cost

    def tokenizer(self):
        from transformers import AutoTokenizer

        from correct.generators.named import resolve_model

        return AutoTokenizer.from_pretrained(resolve_model(self.args.generator))

    def train(self, name: str, *options: str) -> tuple[Path, dict, str]:
        """A corrector trained from the shared pool: (folder, its cost with the pool's, its command)."""
        folder = self.out / name
        pool = self.pool()
        resume = (folder / "pool.jsonl").exists()
        if not resume:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(pool, folder / "pool.jsonl")  # every prompt is already drafted: training starts at once
        t = self.timed(
            folder,
            "train",
            *self.common,
            *self.drafting,
            *self.budget,
            "--explore",
            str(self.args.explore),
            "--eval-limit",
            "0",
            *options,
            *self.extra,
            "--output",
            str(folder),
            *(["--resume"] if resume else []),
        )
        return folder, compute.add(self.pool_cost(), compute.corrector_cost(folder)), t["command"]

    def budget_cpu(self) -> float:
        """The training compute every trained row gets: the LoRA corrector's, pool included."""
        return self.row("lora")[0]["train"]["cpu_seconds"]

    def evaluate(self, name: str, *options: str) -> tuple[dict, str]:
        """3 rounds (or what ``options`` say) on the held-out problems; the metrics and the command."""
        a = self.args
        generate = ["generate", "--task", self.task, "--split", a.split, "--limit", str(a.limit)]
        return compute.evaluation(
            self.out / name, [*generate, "--seed", str(a.seed), *options], lambda args: self.correct(*args)[2]
        )

    def generator_rounds(
        self, corrector: str, name: str, generator: str | None = None, *extra: str
    ) -> tuple[dict, str]:
        return self.evaluate(
            name,
            "--generator",
            generator or self.args.generator,
            "--shots",
            str(self.args.shots),
            "--corrector",
            corrector,
            "--rounds",
            str(self.args.rounds),
            "--no-baseline",
            *extra,
        )

    def once(self, name: str, generator: str) -> tuple[dict, str]:
        return self.evaluate(
            name, "--generator", generator, "--shots", str(self.args.shots), "--rounds", "0", "--no-baseline"
        )

    def vote(self, name: str, generator: str, samples: int) -> tuple[dict, str]:
        return self.evaluate(
            name,
            "--generator",
            generator,
            "--shots",
            str(self.args.shots),
            "--rounds",
            "0",
            "--baseline-samples",
            str(samples),
            "--baseline-temperature",
            str(self.args.vote_temperature),
        )

    def row(self, name: str) -> list[dict]:
        """A row's results (more than one for the votes), measured once."""
        if name not in self.done:
            self.done[name] = self._row(name)
        return self.done[name]

    def _row(self, name: str) -> list[dict]:
        a = self.args
        if name in ("lora", "full"):
            lr = a.lora_lr if name == "lora" else a.full_lr
            options = ["--lora-r", str(a.lora_r)] if name == "lora" else []
            if name == "full":  # the same budget as the LoRA corrector's, less the pool both drafted from
                options += ["--cpu-budget", f"{self.budget_cpu() - self.pool_cost()['cpu_seconds']:.0f}"]
            folder, cost, cmd = self.train(name, "--init", a.generator, *options, "--learning-rate", str(lr))
            m, gen = self.generator_rounds(str(folder), name)
            what = "LoRA" if name == "lora" else "full fine-tuning"
            return [_row(f"corrector from the generator, {what}, {a.rounds} rounds", name, m, cost, [cmd, gen])]
        if name in ("self", "self-examples"):
            examples = name == "self-examples"
            m, gen = self.generator_rounds("self", name, None, *(["--self-examples"] if examples else []))
            shown = ", shown its solved examples as corrections" if examples else ""
            return [
                _row(
                    f"self-refinement: the generator rewrites its own drafts{shown}, {a.rounds} rounds",
                    name,
                    m,
                    compute.NO_TRAINING,
                    [gen],
                )
            ]
        if name == "shipped":
            m, gen = self.generator_rounds(str(a.shipped), "shipped")
            return [
                _row(
                    f"shipped corrector swapped in ({Path(a.shipped).name}), {a.rounds} rounds",
                    "shipped",
                    m,
                    compute.NO_TRAINING,
                    [gen],
                )
            ]
        if name == "tiny":
            base = self.out / "tiny-base"
            self.timed(
                base,
                "train",
                "--method",
                "sft",
                "--init",
                "tiny",
                "--task",
                self.task,
                "--seed",
                str(a.seed),
                *self.extra,
                "--output",
                str(base),
            )
            folder, cost, cmd = self.train("tiny", "--init", str(base))
            m, gen = self.generator_rounds(str(folder), "tiny")
            base_cmd = json.loads((base / "train.json").read_text())["command"]
            return [
                _row(
                    "tiny corrector from scratch",
                    "tiny",
                    m,
                    compute.add(cost, compute.sft_cost(base)),
                    [base_cmd, cmd, gen],
                )
            ]
        if name == "self-consistency":
            rows = []
            for n in a.votes:
                m, gen = self.vote(f"vote-{n}", a.generator, n)
                rows.append(
                    _row(
                        f"self-consistency, {n} samples, majority vote",
                        f"vote@{n}",
                        m,
                        compute.NO_TRAINING,
                        [gen],
                        vote=True,
                    )
                )
            return rows
        if name == "rft":
            folder, cost, cmd = self.rft()
            m, gen = self.once("rft-once", str(folder))
            return [
                _row(
                    f"rejection-sampling fine-tuned generator, {a.shots}-shot, greedy once", "rft", m, cost, [cmd, gen]
                )
            ]
        if name == "grpo":
            folder, cost, cmd = self.grpo()
            m, gen = self.once("grpo-once", str(folder))
            return [_row(f"GRPO-trained generator, {a.shots}-shot, greedy once", "grpo", m, cost, [cmd, gen])]
        if name in ("rft+lora", "grpo+lora"):
            base = name.split("+")[0]
            folder, base_cost, base_cmd = self.rft() if base == "rft" else self.grpo()
            lora = self.row("lora")[0]
            m, gen = self.generator_rounds(str(self.out / "lora"), name, generator=str(folder))
            # both trainings, the pool counted once where both drew on it
            cost = compute.add(base_cost, lora["train"])
            if base == "rft":
                cost = {k: v - self.pool_cost()[k] for k, v in cost.items()}
            return [
                _row(
                    f"{base.upper()} generator's drafts, corrected by the LoRA corrector",
                    name,
                    m,
                    cost,
                    [base_cmd, *lora["commands"][:1], gen],
                )
            ]
        if name == "rft+sc":
            folder, cost, cmd = self.rft()
            m, gen = self.vote("rft-vote-4", str(folder), 4)
            return [_row("RFT generator, 4 samples, majority vote", "rft+vote@4", m, cost, [cmd, gen], vote=True)]
        raise ValueError(name)

    def rft(self) -> tuple[Path, dict, str]:
        """The generator fine-tuned on its right pool drafts until pool + fine-tuning reach the budget."""
        a, folder = self.args, self.out / "rft"
        right = self.right_drafts()
        own = self.budget_cpu() - self.pool_cost()["cpu_seconds"]
        resume = ["--resume"] if any(folder.glob("trainer/checkpoint-*")) else []
        t = self.timed(
            folder,
            "train",
            "--method",
            "sft",
            "--task",
            self.task,
            "--input",
            str(right),
            "--init",
            a.generator,
            "--lora-r",
            str(a.lora_r),
            "--learning-rate",
            str(a.lora_lr),
            "--steps",
            str(a.max_steps),
            "--iterations",
            "1",
            "--batch-size",
            str(a.batch_size),
            "--warmup-steps",
            str(a.warmup_steps),
            "--cpu-budget",
            f"{own:.0f}",
            "--save-steps",
            str(a.save_steps),
            "--seed",
            str(a.seed),
            *self.extra,
            "--output",
            str(folder),
            *resume,
        )
        return folder, compute.add(self.pool_cost(), compute.sft_cost(folder)), t["command"]

    def grpo(self) -> tuple[Path, dict, str]:
        """GRPO on the generator (bench/grpo.py) until its process has spent the budget."""
        a, folder = self.args, self.out / "grpo"
        resume = ["--resume"] if any(folder.glob("checkpoint-*")) else []
        t = self.timed(
            folder,
            "--task",
            self.task,
            "--generator",
            a.generator,
            "--shots",
            str(a.shots),
            "--limit",
            str(a.train_limit),
            "--temperature",
            str(a.temperature),
            "--lora-r",
            str(a.lora_r),
            "--steps",
            str(a.max_steps),
            "--cpu-budget",
            f"{self.budget_cpu():.0f}",
            "--seed",
            str(a.seed),
            *shlex.split(a.grpo_args),
            "--output",
            str(folder),
            *resume,
            script=os.path.relpath(Path(__file__).with_name("grpo.py")),
        )
        return folder, compute.grpo_cost(folder), t["command"]

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
                rows.append(
                    {
                        "id": f"{r['id']}-{len(rows)}",
                        column: r["prompt"],
                        "answer": r.get("answer"),
                        "solution": d["text"],
                    }
                )
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(
            f"{len(rows)} right drafts of {len({r['id'].rsplit('-', 1)[0] for r in rows})} prompts -> {path}",
            flush=True,
        )
        return path


def _row(name: str, short: str, m: dict, train: dict, commands: list[str], vote: bool = False) -> dict:
    command = commands[-1]
    solved = [r["solved"] for r in m["rounds"]]
    return {
        "row": name,
        "short": short,
        "solved": [solved[0], m["self_consistency"]["solved"]] if vote else solved,
        "vote": vote,
        "train": train,
        "infer": compute.inference_cost(m, vote),
        "commands": commands,
        "eval": _shlex_value(command, "--output"),
    }


def _shlex_value(command: str, option: str) -> str:
    words = shlex.split(command)
    return words[words.index(option) + 1]


def against_drafts(results: list[dict], base_eval: Path) -> None:
    """Net fixed (of the generator's wrong greedy drafts) and broken (of its right ones) for every
    row, each against the same drafts: the plain generator's, round 0 of the LoRA row."""
    base = {l["id"]: l["rounds"][0]["value"] == 1.0 for l in map(json.loads, base_eval.read_text().splitlines())}
    wrong, right = [i for i, ok in base.items() if not ok], [i for i, ok in base.items() if ok]
    for r in results:
        final = compute.finals(r["eval"], r["vote"])
        r["net_fixed"] = (sum(final[i] for i in base) - len(right)) / len(wrong) if wrong else None
        r["fixed"] = sum(final[i] for i in wrong) / len(wrong) if wrong else None
        r["broken"] = sum(not final[i] for i in right) / len(right) if right else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", type=Path, default=Path("docs/examples/word-problems/word-problems.yaml"))
    ap.add_argument("--generator", default="smollm2")
    ap.add_argument("--shots", type=int, default=3)
    ap.add_argument("--rows", default=",".join(DEFAULT_ROWS), help=f"comma-separated, from: {', '.join(ROWS)}")
    ap.add_argument("--split", default="test", help="held-out split")
    ap.add_argument("--limit", type=int, default=200, help="held-out problems")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--train-limit", type=int, default=600, help="training prompts")
    ap.add_argument("--samples", type=int, default=4, help="pool drafts per training prompt")
    ap.add_argument("--temperature", type=float, default=0.5, help="pool, exploration and GRPO sampling temperature")
    ap.add_argument("--steps", type=int, default=100, help="corrector steps per iteration")
    ap.add_argument("--iterations", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--explore", type=int, default=200)
    ap.add_argument(
        "--max-steps", type=int, default=5000, help="RFT and GRPO steps at most (the budget ends them first)"
    )
    ap.add_argument("--warmup-steps", type=int, default=10, help="RFT's warm-up (the corrector's: a tenth of --steps)")
    ap.add_argument(
        "--save-steps", type=int, default=10, help="RFT's step checkpoints (a killed run resumes from the last)"
    )
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--lora-lr", type=float, default=5e-4)
    ap.add_argument("--full-lr", type=float, default=5e-5)
    ap.add_argument("--votes", default="4,8,16", help="self-consistency sample counts")
    ap.add_argument("--vote-temperature", type=float, default=0.7)
    ap.add_argument("--grpo-args", default="", help="extra bench/grpo.py options (e.g. '--learning-rate 5e-5')")
    ap.add_argument("--shipped", default="tasks/models/arithmetic-corrector")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/new-task"))
    ap.add_argument("--train-args", default="", help="extra `correct train` options for every training run")
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every run (0: each picks its own)")
    args = ap.parse_args()
    args.votes = [int(n) for n in args.votes.split(",")]
    names = args.rows.split(",")
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        ap.error(f"unknown --rows {', '.join(unknown)}; known: {', '.join(ROWS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    results: list[dict] = []
    for name in names:
        results += [r for r in bench.row(name) if r not in results]
        budget = bench.budget_cpu() if "lora" in bench.done else None
        against_drafts(results, args.out / "lora" / "eval.jsonl") if "lora" in bench.done else None
        text = compute.table(results, budget)  # written after every row: a killed run keeps its figures
        (args.out / "table.md").write_text(text + "\n")
        (args.out / "results.json").write_text(
            json.dumps({"budget_cpu_seconds": budget, "rows": results}, indent=2) + "\n"
        )
        compute.picture(results, args.out / "compute.png", f"{Path(args.task).stem}: {args.limit} held-out problems")
    print(text)


if __name__ == "__main__":
    main()
