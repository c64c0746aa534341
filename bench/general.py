"""The general corrector: one LoRA corrector on SmolLM2 trained on a mixture of tasks, then
measured on tasks it never saw (issue 24; docs/training.md, "Several tasks, one corrector").

1. ``OUT/mixture.yaml`` lists every task of ``--tasks`` but the ``--held-out`` ones.
2. ``correct train --task OUT/mixture.yaml`` trains the corrector from SmolLM2 with a LoRA
   adapter (the recipe of bench/new_task.py, ``--limit`` prompts a task), into
   ``OUT/corrector``; a killed run resumes.
3. On each held-out task, the same ``--limit`` test problems, greedy drafts, then: no
   correction; the general corrector, 3 rounds, given every draft and given only the failing
   ones (``--refine failing``), and on failing ones with each correction picked from 4 sampled
   rewrites (``--correction-samples 4``: the first that passes its tests, else the first that
   runs); ``--corrector self``, 3 rounds, likewise;
   self-consistency at 4 samples (the decodes of a draft and 3 rounds); best-of-8 generator
   samples kept by what is known without a reference (``--baseline-pick best``, about the
   decodes of the best-of-4 corrections); and each corrector
   of ``--per-task TASK=DIR`` (one trained on that task alone), 3 rounds.
4. A hard task (``--hard``, held out; SmolLM2's pool drafts right under 10% of the time): the
   per-task recipe of docs/training.md from SmolLM2, against the same recipe with ``--init``
   the general corrector, which first rewrites the new pool's drafts. Beside solved, net
   fixed and broken: the prompts with an improving pair and those with a right draft after each
   run's first exploration (``prompts_with_pair`` and ``prompts_solved`` of log.jsonl; on a
   graded value nearly every prompt has a pair, so the second says what exploration found).
5. Less data (``--less-data TASK=DIR``, DIR a corrector trained on TASK alone with the
   recipe's 600 prompts): the recipe from the general corrector on a third of the prompts,
   and beside it, as the control, the same recipe from SmolLM2 on the same third.
   ``--variant NAME=ARGS`` trains each run of 4 and 5 again with further `correct train`
   options (such as exploration aimed at the unsolved prompts), as rows suffixed ``-NAME``.
6. ``OUT/table.md`` and ``OUT/results.json``: solved, net fixed and fixed (of the wrong
   greedy drafts), broken (of the right ones) and decodes per problem, with every command.

Run from the repository's root (hours on a 2-core machine; every step is kept and reused):

    python bench/general.py --out runs/general
    python bench/general.py --out runs/general --per-task word-problems=runs/new-task/lora
    python bench/general.py --generator tasks/models/arithmetic-generator --shots 0 \\
        --tasks arithmetic,concepts,X.yaml --held-out X --limit 8 \\
        --train-args '--limit 8 --steps 2 --samples 2 --explore 2' --out runs/general-smoke
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import compute
from new_task import against_drafts

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
TASKS = (
    "arithmetic",
    "concepts",
    "word-problems",
    "multi-step",
    "functions",
    "strings-and-lists",
    "unit-conversions",
    "constrained-sentences",
    "dictionaries",
)
HELD_OUT = ("word-problems", "multi-step", "unit-conversions", "dictionaries")
# The runs that train on a held-out task (short name, row, starting from the general corrector):
# the recipe on a --hard task, and on a third of the prompts of a --less-data one.
HARD_RUNS = (
    ("recipe", "corrector trained on this task alone (the recipe, from SmolLM2)", False),
    ("recipe-from-general", "the same recipe from the general corrector", True),
)
LESS_DATA_RUNS = (
    ("third-from-general", "the recipe from the general corrector", True),
    ("third-from-smollm2", "the recipe from SmolLM2 (the control)", False),
)


def task_path(name: str) -> str:
    """A built-in task's name as it is; an example's name as its task file (relative to the
    working directory, so that the commands shown run on another machine); a path as it is."""
    example = EXAMPLES / name / f"{name}.yaml"
    return os.path.relpath(example) if example.is_file() else name


def task_name(spec: str) -> str:
    return Path(spec).stem if spec.endswith((".yaml", ".yml")) else spec


class General:
    def __init__(self, args: argparse.Namespace):
        self.args, self.out = args, args.out

    def run(self, argv: list[str]) -> str:
        shown = "correct " + shlex.join(argv)
        print(f"\n$ {shown}", flush=True)
        env = compute.child_env(self.args.threads)
        subprocess.run([sys.executable, "-m", "correct.cli", *argv], check=True, env=env)
        return shown

    def mixture(self) -> Path:
        held = set(self.args.held_out)
        trained = [task_path(t) for t in self.args.tasks if task_name(t) not in held]
        path = self.out / "mixture.yaml"
        # task files relative to the mixture file, so that a committed run resumes on another machine
        entries = "".join(
            f"  - {json.dumps(os.path.relpath(t, self.out) if t.endswith('.yaml') else t)}\n" for t in trained
        )
        path.write_text(f"# the tasks the general corrector learns from (bench/general.py)\nmixture:\n{entries}")
        return path

    def train(self) -> tuple[Path, str] | None:
        """The general corrector, trained on the mixture into OUT/corrector (None with
        --done-only before it is)."""
        a = self.args
        extra = ["--seed", str(a.seed), *shlex.split(a.train_args)]
        mixture, folder = self.mixture(), self.out / "corrector"
        if a.pool and not a.done_only and not (folder / "pool.jsonl").exists():
            self.seed_pool(mixture, folder / "pool.jsonl")
        return self.trained(folder, str(mixture), a.generator, a.train_limit, a.steps, extra)

    def seed_pool(self, mixture: Path, path: Path) -> None:
        """The corrector's pool begun from ``--pool``'s generator drafts of the mixture's training
        prompts (the rest dropped), so that `correct train --resume` drafts only what is missing."""
        from dataclasses import replace

        from correct.corrector.pool import Pool
        from correct.tasks import get_task
        from correct.tasks.mixture import SEPARATOR, load_mixture

        records = load_mixture(mixture, get_task).records("train", self.args.train_limit, self.args.seed)
        wanted, kept = {r["id"] for r in records}, []
        for spec in self.args.pool:
            task, _, file = spec.rpartition("=")
            for d in Pool(file, writer=False).drafts():
                d = replace(d, prompt_id=f"{task}{SEPARATOR}{d.prompt_id}") if task else d
                if d.origin == "generator" and d.prompt_id in wanted:
                    kept.append(d)
        path.parent.mkdir(parents=True, exist_ok=True)
        Pool(path).add(kept)
        print(f"{path}: {len(kept)} drafts of {len({d.prompt_id for d in kept})} prompts from --pool")

    def train_on(self, task: str, name: str, init: str, limit: int, more: str = "") -> tuple[Path, str] | None:
        """The per-task recipe of docs/training.md on ``task`` alone, from ``init``, into
        OUT/TASK/NAME (``more``: further `correct train` options)."""
        a = self.args
        extra = ["--eval-limit", "0", "--seed", str(a.seed), *shlex.split(a.recipe_args), *shlex.split(more)]
        return self.trained(self.out / task_name(task) / name, task_path(task), init, limit, 100, extra)

    def trained(
        self, folder: Path, task: str, init: str, limit: int, steps: int, extra: list[str]
    ) -> tuple[Path, str] | None:
        """(folder, command): ``correct train`` with the recipe's settings into ``folder``, run
        once and kept (a killed run resumes)."""
        a, done = self.args, folder / "train.json"
        if a.done_only and not done.exists():
            return None  # not trained yet: its rows wait for a run that trains it
        if not done.exists():
            resume = ["--resume"] if (folder / "pool.jsonl").exists() else []
            shown = self.run(
                [
                    "train",
                    "--task",
                    task,
                    "--generator",
                    a.generator,
                    "--shots",
                    str(a.shots),
                    "--init",
                    init,
                    "--lora-r",
                    str(a.lora_r),
                    "--learning-rate",
                    str(a.learning_rate),
                    "--limit",
                    str(limit),
                    "--samples",
                    "4",
                    "--temperature",
                    "0.5",
                    "--iterations",
                    "2",
                    "--steps",
                    str(steps),
                    "--batch-size",
                    "8",
                    "--explore",
                    "200",
                    *extra,
                    "--output",
                    str(folder),
                    *resume,
                ]
            )
            done.write_text(json.dumps({"command": shown}) + "\n")
        return folder, json.loads(done.read_text())["command"]

    def evaluate(self, task: str, name: str, *options: str) -> tuple[dict, str] | None:
        """The metrics and command of one evaluation, run unless done (None with --done-only)."""
        a = self.args
        generate = ["generate", "--task", task_path(task), "--split", "test", "--limit", str(a.limit)]
        generate += ["--generator", a.generator, "--shots", str(a.shots), "--seed", str(a.seed), *options]
        folder = self.out / task_name(task) / name
        if a.done_only and not (folder / "metrics.json").exists():
            return None
        return compute.evaluation(folder, generate, self.run)

    def transfer(self, task: str) -> list[dict]:
        """The rows that train nothing on ``task``: no correction, the general corrector, self-
        refinement, voting, and each ``--per-task`` corrector of it."""
        trained = self.train()
        if trained is None:
            return []
        corrector, train_cmd = trained
        rounds = ["--rounds", "3", "--no-baseline"]
        runs = [
            ("none", "no correction: greedy drafts", ["--rounds", "0", "--no-baseline"], [], False),
            (
                "general",
                "general corrector (never saw this task), 3 rounds",
                ["--corrector", str(corrector), "--refine", "all", *rounds],  # whatever its config says
                [train_cmd],
                False,
            ),
            (
                "general-failing",
                "general corrector, failing drafts only (--refine failing), 3 rounds",
                ["--corrector", str(corrector), "--refine", "failing", *rounds],
                [train_cmd],
                False,
            ),
            (
                "general-failing-best-of-4",
                "general corrector, failing drafts only, each correction the pick of 4 sampled rewrites "
                "(--correction-samples 4), 3 rounds",
                ["--corrector", str(corrector), "--refine", "failing", "--correction-samples", "4", *rounds],
                [train_cmd],
                False,
            ),
            ("self", "self-refinement, 3 rounds", ["--corrector", "self", *rounds], [], False),
            (
                "self-failing",
                "self-refinement, failing drafts only (--refine failing), 3 rounds",
                ["--corrector", "self", "--refine", "failing", *rounds],
                [],
                False,
            ),
            (
                "vote@4",
                "self-consistency, 4 samples",
                ["--rounds", "0", "--baseline-samples", "4", "--baseline-temperature", "0.7"],
                [],
                True,
            ),
            (
                "best@8",
                "best of 8 generator samples (--baseline-pick best: by its tests or a reference-free value)",
                [
                    "--rounds",
                    "0",
                    "--baseline-samples",
                    "8",
                    "--baseline-temperature",
                    "0.7",
                    "--baseline-pick",
                    "best",
                ],
                [],
                True,
            ),
        ]
        runs += [
            (
                "per-task",
                f"corrector trained on this task alone ({d}), 3 rounds",
                ["--corrector", d, *rounds],
                [],
                False,
            )
            for t, d in self.args.per_task
            if t == task_name(task)
        ]
        return self.measure(task, runs, {})

    def retrained(self, task: str) -> list[dict]:
        """The rows that train on ``task`` (hours each): the recipe from SmolLM2 and from the
        general corrector when it is ``--hard``, the recipe on a third of the prompts from each
        of them when it is in ``--less-data``. Run after every task's ``transfer`` rows."""
        trained = self.train()
        if trained is None:
            return []
        corrector, _ = trained
        rounds = ["--rounds", "3", "--no-baseline"]
        runs, pairs = [], {}
        variants = [("", "", "")] + [(f"-{v}", f", with {more}", more) for v, more in self.args.variant]
        hard = self.args.hard and task_name(task) == task_name(self.args.hard)
        given = dict(self.args.per_task).get(task_name(task))
        third = self.args.recipe_limit // 3
        todo = [(*run, None) for run in HARD_RUNS if hard]
        todo += [(*run, third) for run in LESS_DATA_RUNS if task_name(task) in dict(self.args.less_data)]
        for suffix, said, more in variants:
            for short, name, from_general, limit in todo:
                init = str(corrector) if from_general else self.args.generator
                if short == "recipe" and not suffix and given and (Path(given) / "train.json").exists():
                    # trained by a bench already (bench/new_task.py's LoRA row is this recipe)
                    folder = Path(given)
                    cmd = json.loads((folder / "train.json").read_text())["command"]
                else:
                    size = self.args.recipe_limit if limit is None else limit
                    trained = self.train_on(task, f"train-{short}{suffix}", init, size, more)
                    if trained is None:
                        continue
                    folder, cmd = trained
                if limit is not None:
                    name = f"{name} on a third of the prompts ({limit})"
                row = f"{name}{said}, 3 rounds"
                runs.append((f"{short}{suffix}", row, ["--corrector", str(folder), *rounds], [cmd], False))
                pairs[f"{short}{suffix}"] = first_exploration(folder)
        return self.measure(task, runs, pairs)

    def card(self, rows: list[dict]) -> None:
        """The general corrector's model card, with what it did on the tasks it never saw
        (``transfer.md`` in its folder, which ``correct card`` carries)."""
        if not rows:
            return
        corrector, _ = self.train()
        note = (
            f"Measured by `bench/general.py` on {self.args.limit} test problems of each task left out of its "
            f"training, greedy drafts of `{self.args.generator}` ({self.args.shots}-shot): net fixed and fixed "
            "are of the wrong drafts, broken of the right ones.\n\n"
        )
        (corrector / "transfer.md").write_text(note + table(rows))
        self.run(["card", str(corrector), "--eval-limit", "0"])

    def measure(self, task: str, runs: list[tuple], pairs: dict) -> list[dict]:
        """A row for each of ``runs`` (short name, row, generate's options, the commands before,
        whether it votes) on ``task``, against its greedy drafts."""
        drafts = self.out / task_name(task) / "none" / "metrics.json"
        if self.args.done_only and not drafts.exists():
            return []  # net fixed and broken are against the greedy drafts: none yet
        out = []
        for short, name, options, before, vote in runs:
            done = self.evaluate(task, short, *options)
            if done is None:
                continue
            m, cmd = done
            solved = [r["solved"] for r in m["rounds"]]
            out.append(
                {
                    "task": task_name(task),
                    "row": name,
                    "short": short,
                    "vote": vote,
                    "solved": m["self_consistency"]["solved"] if vote else solved[-1],
                    "decodes": compute.inference_cost(m, vote)["decodes"],
                    "commands": [*before, cmd],
                    "eval": str(self.out / task_name(task) / short / "eval.jsonl"),
                    **pairs.get(short, {}),
                }
            )
        against_drafts(out, self.out / task_name(task) / "none" / "eval.jsonl")
        return out


def first_exploration(folder: Path) -> dict:
    """Prompts with an improving pair and with a right draft after a run's first exploration:
    the one a corrector ``--init`` makes before training (iteration -1), else the one after
    iteration 0 (a log written before ``prompts_solved`` was logged has only the first)."""
    log = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    return {k: log[0].get(k) for k in ("prompts_with_pair", "prompts_solved")} if log else {}


def table(rows: list[dict]) -> str:
    pct = lambda v: "–" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    lines = [
        "| task | | solved | net fixed | fixed | broken | decodes | after the first exploration: prompts with a pair, "
        "with a right draft |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        explored = [r.get(k) for k in ("prompts_with_pair", "prompts_solved")]
        explored = ", ".join("–" if n is None else str(n) for n in explored) if explored[0] is not None else ""
        lines.append(
            f"| {r['task']} | {r['row']} | {pct(r['solved'])} | {pct(r['net_fixed'])} | {pct(r['fixed'])} | "
            f"{pct(r['broken'])} | {r['decodes']:.2f} | {explored} |"
        )
    commands = list(dict.fromkeys(c for r in rows for c in r["commands"]))  # in the order they ran
    return "\n".join(lines) + "\n\nCommands:\n\n" + "\n".join(f"    {c}" for c in commands) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=",".join(TASKS), help="the tasks: built-in names, example names or task files")
    ap.add_argument("--held-out", default=",".join(HELD_OUT), help="tasks left out of training and measured")
    ap.add_argument(
        "--per-task",
        action="append",
        default=[],
        metavar="TASK=DIR",
        help="a corrector trained on TASK alone, beside (for --hard TASK: by the recipe, then not run again)",
    )
    ap.add_argument(
        "--hard",
        default=None,
        help="a held-out task the generator is rarely right on (default: multi-step if held out)",
    )
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="each run of --hard and --less-data again with these further `correct train` options, as rows "
        "suffixed -NAME (e.g. aimed='--explore 600 --explore-samples 4 --explore-focus unsolved')",
    )
    ap.add_argument(
        "--less-data",
        action="append",
        default=[],
        metavar="TASK=DIR",
        help="a held-out task and its corrector trained alone on --recipe-limit prompts: the recipe on a third "
        "of them from the general corrector, and from the generator (the control; two more training runs)",
    )
    ap.add_argument(
        "--pool",
        action="append",
        default=[],
        metavar="[TASK=]FILE",
        help="drafts already drawn to begin the general corrector's pool with: a mixture's pool, or TASK=FILE one "
        "task's (its ids get the task's prefix); only generator drafts of the mixture's training prompts are kept",
    )
    ap.add_argument("--recipe-limit", type=int, default=600, help="training prompts of the per-task recipe")
    ap.add_argument("--recipe-args", default="", help="extra `correct train` options of the per-task recipe")
    ap.add_argument("--generator", default="smollm2")
    ap.add_argument("--shots", type=int, default=3)
    ap.add_argument("--limit", type=int, default=200, help="held-out problems a task")
    ap.add_argument("--train-limit", type=int, default=300, help="training prompts a task")
    ap.add_argument("--steps", type=int, default=150, help="corrector steps an iteration")
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--learning-rate", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every run (0: each picks its own)")
    ap.add_argument("--train-args", default="", help="extra `correct train` options")
    ap.add_argument("--out", type=Path, default=Path("runs/general"))
    ap.add_argument(
        "--done-only",
        action="store_true",
        help="run nothing: the tables and the card from the evaluations finished so far (while a run goes on)",
    )
    args = ap.parse_args()
    args.tasks, args.held_out = args.tasks.split(","), [task_name(t) for t in args.held_out.split(",")]
    args.per_task = [tuple(p.split("=", 1)) for p in args.per_task]
    args.less_data = [tuple(p.split("=", 1)) for p in args.less_data]
    shorts = {short for short, _, _ in HARD_RUNS + LESS_DATA_RUNS}
    for spec in args.variant:
        name = spec.split("=", 1)[0]
        if "=" not in spec or not name or any(f"{a}-{name}" in shorts for a in shorts):
            ap.error(f"--variant {spec!r}: give NAME=ARGS, NAME a new suffix for the rows")
    args.variant = [tuple(p.split("=", 1)) for p in args.variant]
    missing = [spec for spec in args.pool if not Path(spec.rpartition("=")[2]).is_file()]
    if missing:
        ap.error(f"--pool {missing[0]!r}: no such file (give a pool.jsonl, or TASK=FILE)")
    args.per_task += [p for p in args.less_data if p not in args.per_task]  # the corrector it is measured against
    if args.hard is None:
        args.hard = "multi-step" if "multi-step" in args.held_out else ""
    if args.hard and task_name(args.hard) not in args.held_out:
        ap.error(f"--hard {args.hard}: measure a task the general corrector never saw; hold it out")
    unknown = set(args.held_out) - {task_name(t) for t in args.tasks}
    if unknown or len(args.held_out) >= len(args.tasks) - 1:
        ap.error(f"--held-out names tasks of --tasks and leaves at least two to train on (unknown: {sorted(unknown)})")
    args.out.mkdir(parents=True, exist_ok=True)
    bench, rows = General(args), []
    held_out = [t for t in args.tasks if task_name(t) in args.held_out]
    # Every task's transfer first (minutes each), then the runs that train on a task (hours).
    for stage in (bench.transfer, bench.retrained):
        for task in held_out:
            rows = sorted(rows + stage(task), key=lambda r: args.held_out.index(r["task"]))
            (args.out / "table.md").write_text(table(rows))  # after every task: a killed run keeps its figures
            (args.out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
        if stage == bench.transfer:
            bench.card(rows)
    print(table(rows))


if __name__ == "__main__":
    main()
