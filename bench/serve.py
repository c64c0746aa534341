"""`correct serve` benchmark, measured side by side in one run (absolute times on a shared
machine mean little; the ratios are the result).

1. Bounded load: ``--clients`` threads send ``--requests`` completions (test problems of the
   task, one per request) through the `openai` client, with 0 corrector rounds and with
   ``--rounds``; requests/s, p50/p95 latency and errors for each.
2. The `openai` generator backend through `correct serve` (drafts only) against direct `hf`
   generation of the same prompts in this process: drafts/s of each and their ratio.

    python bench/serve.py [--task arithmetic] [--requests 200] [--clients 8] [--rounds 3]
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
from correct.tasks import get_task

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from harness import Launched  # noqa: E402  (the tests' live-server helper)


def load(url: str, model: str, problems: list[dict], rounds: int, clients: int) -> dict:
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=300)

    def one(p: dict) -> tuple[float, str | None]:
        start = time.perf_counter()
        try:
            client.completions.create(model=model, prompt=p["prompt"],
                                      extra_body={"rounds": rounds, "record": {k: v for k, v in p.items() if k != "prompt"}})
            return time.perf_counter() - start, None
        except openai.OpenAIError as e:
            return time.perf_counter() - start, type(e).__name__

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(one, problems))
    wall = time.perf_counter() - start
    latencies = sorted(t for t, _ in results)
    return {
        "rounds": rounds, "requests": len(problems), "clients": clients, "seconds": wall,
        "requests_per_s": len(problems) / wall,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "errors": sum(e is not None for _, e in results),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="arithmetic")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8, help="Concurrent client threads (the bounded load).")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16, help="Server batch, openai-backend concurrency and direct hf batch.")
    ap.add_argument("--out", default=None, help="Also write the results as JSON here.")
    args = ap.parse_args()

    task = get_task(args.task)
    problems = task.make_split("test", args.requests, 11)
    model = f"correct-{task.name}"
    params = SamplingParams(temperature=0.0, max_new_tokens=task.max_new_tokens, stop=task.stop)
    results = {}
    with Launched(["--task", task.name, "--rounds", "0", "--batch-size", str(args.batch_size),
                   "--max-pending", str(max(64, args.clients))]) as server:
        load(server.url, model, problems[:16], 0, args.clients)  # warm-up
        results["load"] = [load(server.url, model, problems, r, args.clients) for r in (0, args.rounds)]

        remote = load_generator(model, "openai", base_url=server.url, concurrency=args.batch_size)
        start = time.perf_counter()
        remote.generate([p["prompt"] for p in problems], params)
        remote_s = time.perf_counter() - start
    direct = load_generator(task.generator, "hf", device="cpu", batch_size=args.batch_size)
    direct.generate([task.format_prompt(p) for p in problems[:16]], params)  # warm-up
    start = time.perf_counter()
    direct.generate([task.format_prompt(p) for p in problems], params)
    direct_s = time.perf_counter() - start
    n = len(problems)
    results["backend"] = {"drafts": n, "openai_via_serve_per_s": n / remote_s, "direct_hf_per_s": n / direct_s,
                          "ratio": direct_s / remote_s}

    print(f"task {task.name}: {n} requests from {args.clients} client threads, server batch {args.batch_size}")
    print("| rounds | requests/s | p50 latency | p95 latency | errors |")
    print("|---|---|---|---|---|")
    for row in results["load"]:
        print(f"| {row['rounds']} | {row['requests_per_s']:.1f} | {row['p50_s'] * 1000:.0f} ms | {row['p95_s'] * 1000:.0f} ms | {row['errors']} |")
    b = results["backend"]
    print(f"\nopenai backend through correct serve: {b['openai_via_serve_per_s']:.1f} drafts/s; direct hf: "
          f"{b['direct_hf_per_s']:.1f} drafts/s; ratio {b['ratio']:.2f}x")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
