"""`correct serve` benchmark, measured side by side in one run (absolute times on a shared
machine mean little; the ratios are the result).

1. Bounded load: ``--clients`` threads send ``--requests`` completions (test problems of the
   task, one per request) through the `openai` client, every other one streamed, with 0
   corrector rounds and with ``--rounds``; requests/s, p50/p95 latency, the 429s of
   ``--max-pending`` apart from any other error, and the server's resident memory after the
   first 100 requests and after the run.
2. The `openai` generator backend through `correct serve` (drafts only) against direct `hf`
   generation of the same prompts in this process: drafts/s of each and their ratio.

    python bench/serve.py [--task arithmetic] [--requests 200] [--clients 8] [--rounds 3]
    python bench/serve.py --requests 2000 --clients 64 --max-pending 32     # the load of issue 18
    python bench/serve.py --generator smollm2 --shots 3 --skip-load \\
        --task docs/examples/word-problems/word-problems.yaml
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai

from correct.generators import SamplingParams, load_generator
from correct.tasks import few_shot_prompt, get_task

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from harness import Launched  # noqa: E402  (the tests' live-server helper)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(url: str, model: str, problems: list[dict], rounds: int, clients: int, pid: int | None = None) -> dict:
    """Every other request streams; a 429 is retried after its Retry-After (as the openai
    client would) and counted apart from other errors."""
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=300)
    done, memory = [0], {}

    def one(k: int, p: dict) -> tuple[float, str | None, int]:
        start, refused = time.perf_counter(), 0
        extra = {"rounds": rounds, "record": {key: v for key, v in p.items() if key != "prompt"}}
        while True:
            try:
                if k % 2:
                    text = "".join(
                        c.choices[0].text
                        for c in client.completions.create(
                            model=model, prompt=p["prompt"], stream=True, extra_body=extra
                        )
                        if c.choices
                    )
                else:
                    text = client.completions.create(model=model, prompt=p["prompt"], extra_body=extra).choices[0].text
                error = None if isinstance(text, str) else "no text"
                break
            except openai.RateLimitError:
                refused += 1
                time.sleep(1.0)
            except openai.OpenAIError as e:
                error = type(e).__name__
                break
        done[0] += 1
        if pid and done[0] == 100:
            memory["after_100_mb"] = rss_mb(pid)
        return time.perf_counter() - start, error, refused

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(one, range(len(problems)), problems))
    wall = time.perf_counter() - start
    latencies = sorted(t for t, _, _ in results)
    row = {
        "rounds": rounds,
        "requests": len(problems),
        "clients": clients,
        "streamed": len(problems) // 2,
        "seconds": wall,
        "requests_per_s": len(problems) / wall,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "errors": sum(e is not None for _, e, _ in results),
        "refused_429": sum(r for _, _, r in results),
    }
    if pid:
        row.update(memory, after_run_mb=rss_mb(pid))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="arithmetic", help="Built-in task or task file.")
    ap.add_argument("--generator", default=None, help="Generator (default: the task's), e.g. smollm2.")
    ap.add_argument("--shots", type=int, default=0)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8, help="Concurrent client threads (the bounded load).")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--batch-size", type=int, default=16, help="Server batch, openai-backend concurrency and direct hf batch."
    )
    ap.add_argument(
        "--max-pending", type=int, default=None, help="The server's --max-pending (default: at least --clients)."
    )
    ap.add_argument("--batch-wait", type=float, default=None, help="The server's --batch-wait (default: its own).")
    ap.add_argument("--skip-load", action="store_true", help="Only the backend comparison.")
    ap.add_argument("--out", default=None, help="Also write the results as JSON here.")
    args = ap.parse_args()

    task = get_task(args.task)
    problems = task.make_split("test", args.requests, 11)
    generator = args.generator or task.generator
    model = "bench"
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    fmt = few_shot_prompt(task, args.shots, 0)
    results = {}
    serve_args = [
        "--task",
        args.task,
        "--generator",
        generator,
        "--model-name",
        model,
        "--rounds",
        "0",
        "--shots",
        str(args.shots),
        "--batch-size",
        str(args.batch_size),
        "--max-pending",
        str(args.max_pending or max(64, args.clients)),
    ]
    if args.batch_wait is not None:
        serve_args += ["--batch-wait", str(args.batch_wait)]
    if task.corrector and args.generator is None:
        serve_args += ["--corrector", task.corrector]
    with Launched(serve_args) as server:
        load(server.url, model, problems[:16], 0, min(args.clients, 16))  # warm-up
        if not args.skip_load:
            results["load"] = [
                load(server.url, model, problems, r, args.clients, server.process.pid) for r in (0, args.rounds)
            ]

        # The same prompts, drafts only: what the server adds to decoding.
        remote = load_generator(model, "openai", base_url=server.url, concurrency=args.batch_size)
        start = time.perf_counter()
        remote.generate([p["prompt"] for p in problems], params)
        remote_s = time.perf_counter() - start
    direct = load_generator(generator, "hf", device="cpu", batch_size=args.batch_size)
    direct.generate([fmt(p) for p in problems[:16]], params)  # warm-up
    start = time.perf_counter()
    direct.generate([fmt(p) for p in problems], params)
    direct_s = time.perf_counter() - start
    n = len(problems)
    results["backend"] = {
        "drafts": n,
        "generator": generator,
        "openai_via_serve_per_s": n / remote_s,
        "direct_hf_per_s": n / direct_s,
        "ratio": direct_s / remote_s,
    }

    print(
        f"task {task.name}, generator {generator}: {n} requests from {args.clients} client threads (every "
        "other one streamed), "
        f"server batch {args.batch_size}"
    )
    if "load" in results:
        print(
            "| rounds | requests/s | p50 latency | p95 latency | errors | 429s (retried) | server memory after "
            "100 / after all |"
        )
        print("|---|---|---|---|---|---|---|")
        for row in results["load"]:
            print(
                f"| {row['rounds']} | {row['requests_per_s']:.1f} | {row['p50_s'] * 1000:.0f} ms | "
                f"{row['p95_s'] * 1000:.0f} ms | "
                f"{row['errors']} | {row['refused_429']} | {row.get('after_100_mb', float('nan')):.0f} MB / "
                f"{row['after_run_mb']:.0f} MB |"
            )
    b = results["backend"]
    print(
        f"\nopenai backend through correct serve: {b['openai_via_serve_per_s']:.1f} drafts/s; direct hf: "
        f"{b['direct_hf_per_s']:.1f} drafts/s; ratio {b['ratio']:.2f}x"
    )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
