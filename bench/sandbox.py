"""Sandbox benchmark, measured side by side in one run (absolute rates on a shared machine
mean little; the ratios are the result).

Programs per second of ``SandboxPool`` (warm workers that fork an isolated child per program)
against what a careful user writes by hand: one ``subprocess.run``-style interpreter per
program, in a fresh directory, with a scrubbed environment, the same resource limits
(``preexec_fn`` setting RLIMIT_CPU/AS/FSIZE/NOFILE/CORE/NPROC), a new session, a wall-clock
timeout and a process-group kill afterwards. Two baselines:

- ``python main.py``        the headline: a normal interpreter start (imports ``site``);
- ``python -I -S main.py``  no ``site`` and isolated mode: the fastest plain start.

Both sides run the same programs at the same concurrency (``--workers`` threads feeding
them), and every program's stdout, exit status and last stderr line must agree between the
pool and each baseline, or the benchmark stops: it must not compare different work. The
measurements are interleaved (pool, baselines, pool, ...) and the median of ``--repeats`` is
reported, so that noise on a shared machine hits every side alike.

Two program sets: ``trivial`` (``print(6)``) and ``realistic`` (about twenty kinds of small
solutions such as a model writes for the arithmetic / coding tasks: standard-library imports,
loops of a few thousand iterations, exceptions, ``sys.exit``, sorting, ``tests`` asserts).

Note the baselines promise less than the pool: in ``namespaces`` mode the pool also cuts the
network, hides the file system behind a read-only view and runs each program under a uid of
its own (so RLIMIT_NPROC binds even when the caller is root, which it does not for a baseline
run as root), and where it may it puts each program's tree in memory and pids cgroups; the
baselines only have the rlimits, the session and the throw-away directory.

    python bench/sandbox.py [--workers N] [--programs N] [--baseline-programs 60] [--repeats 3]
                            [--sets trivial,realistic] [--isolation auto]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from correct.values.sandbox import ISOLATION_MODES, SandboxPool
from correct.values.sandbox_worker import kill_group

Program = tuple[str, "str | None"]  # (source, tests)


# ---------------------------------------------------------------------------------------
# Programs


def trivial_programs(n: int) -> list[Program]:
    return [("print(6)\n", None)] * n


def _realistic(k: int) -> list[Program]:
    """One program of each kind, its numbers varied by ``k`` (deterministic; no output depends
    on the hash seed, which ``python -I`` does not take from the environment)."""
    a, b, n = 37 * k + 11, 13 * k + 5, 2000 + 97 * k
    words = " ".join(["apple", "pear", "fig", "apple", "kiwi", "fig", "apple"][: 3 + k % 5] * (2 + k % 3))
    d = textwrap.dedent
    return [
        # 0 plain arithmetic, the arithmetic task's typical answer
        (
            d(f"""\
            a = {a}
            b = {b}
            print(a * b + a - b)
            """),
            None,
        ),
        # 1 math
        (
            d(f"""\
            import math
            x, y = {a * 6}, {b * 4}
            print(math.gcd(x, y), math.lcm(x, y), round(math.sqrt(x * y), 6))
            """),
            None,
        ),
        # 2 collections.Counter
        (
            d(f"""\
            from collections import Counter
            c = Counter({words!r}.split())
            for w, m in sorted(c.items(), key=lambda t: (-t[1], t[0])):
                print(w, m)
            """),
            None,
        ),
        # 3 itertools
        (
            d(f"""\
            import itertools
            nums = list(range(1, {14 + k % 5}))
            print(sum(1 for c in itertools.combinations(nums, 3) if sum(c) == {20 + k % 7}))
            """),
            None,
        ),
        # 4 fractions
        (
            d(f"""\
            from fractions import Fraction
            s = sum(Fraction(1, i) for i in range(1, {30 + k % 20}))
            print(s.numerator % 1000003, s.denominator % 1000003)
            """),
            None,
        ),
        # 5 re
        (
            d(f"""\
            import re
            text = 'order {a} costs {b} dollars and {a + b} cents, ref #{k}'
            nums = [int(x) for x in re.findall(r'\\d+', text)]
            print(sum(nums), max(nums))
            """),
            None,
        ),
        # 6 json
        (
            d(f"""\
            import json
            d = {{'id': {k}, 'items': [{{'n': i, 'sq': i * i}} for i in range({5 + k % 5})], 'ok': True}}
            back = json.loads(json.dumps(d, sort_keys=True))
            print(len(json.dumps(back)), sum(it['sq'] for it in back['items']))
            """),
            None,
        ),
        # 7 a sieve over a few thousand numbers
        (
            d(f"""\
            N = {n}
            sieve = [True] * (N + 1)
            sieve[0] = sieve[1] = False
            for i in range(2, int(N ** 0.5) + 1):
                if sieve[i]:
                    for j in range(i * i, N + 1, i):
                        sieve[j] = False
            print(sum(sieve))
            """),
            None,
        ),
        # 8 a Collatz loop
        (
            d(f"""\
            best, arg = 0, 1
            for s in range(1, {1000 + 50 * k}):
                x, steps = s, 0
                while x != 1:
                    x = x // 2 if x % 2 == 0 else 3 * x + 1
                    steps += 1
                if steps > best:
                    best, arg = steps, s
            print(arg, best)
            """),
            None,
        ),
        # 9 ZeroDivisionError
        (
            d(f"""\
            def average(xs):
                return sum(xs) / len(xs)

            print(average([{a}, {b}]))
            print(average([]))
            """),
            None,
        ),
        # 10 KeyError after some output
        (
            d(f"""\
            prices = {{'apple': {a}, 'pear': {b}}}
            print(prices['apple'] + prices['pear'])
            print(prices['plum'])
            """),
            None,
        ),
        # 11 ValueError from int()
        (
            d(f"""\
            line = '{a} {b} x{k}'
            print(sum(int(t) for t in line.split()))
            """),
            None,
        ),
        # 12 sorting and grouping in a dict
        (
            d(f"""\
            people = [('n%d' % i, (i * {a}) % 97, i % 4) for i in range({40 + k % 10})]
            groups = {{}}
            for name, score, team in people:
                groups.setdefault(team, []).append((score, name))
            for team in sorted(groups):
                print(team, [n for _, n in sorted(groups[team], reverse=True)[:3]])
            """),
            None,
        ),
        # 13 a solution checked by tests-style asserts (they pass)
        (
            d("""\
            def solve(xs):
                best = cur = xs[0]
                for x in xs[1:]:
                    cur = max(x, cur + x)
                    best = max(best, cur)
                return best

            print(solve([3, -4, 5, -1, 2]))
            """),
            d(f"""\
            assert solve([1, 2, 3]) == 6
            assert solve([-5, -2, -9]) == -2
            assert solve([{a}, -1, {b}]) == {a - 1 + b}
            """),
        ),
        # 14 a solution failing its asserts
        (
            d("""\
            def is_palindrome(s):
                return s == s[::-1]

            print(is_palindrome('level'))
            """),
            d(f"""\
            assert is_palindrome('abba')
            assert is_palindrome('Abba'), 'case'
            assert is_palindrome('x{k}')
            """),
        ),
        # 15 functools.lru_cache recursion
        (
            d(f"""\
            from functools import lru_cache

            @lru_cache(maxsize=None)
            def fib(n):
                return n if n < 2 else fib(n - 1) + fib(n - 2)

            print(fib({80 + k % 50}) % 1000000007)
            """),
            None,
        ),
        # 16 coin-change dynamic programming
        (
            d(f"""\
            coins = [1, 2, 5, 10, 20, 50]
            total = {300 + 7 * k}
            ways = [1] + [0] * total
            for c in coins:
                for v in range(c, total + 1):
                    ways[v] += ways[v - c]
            print(ways[total])
            """),
            None,
        ),
        # 17 heapq and bisect
        (
            d(f"""\
            import bisect
            import heapq
            xs = [(i * {a}) % 1009 for i in range({500 + k})]
            print(heapq.nsmallest(5, xs))
            s = sorted(xs)
            print(bisect.bisect_left(s, 500), bisect.bisect_right(s, 500))
            """),
            None,
        ),
        # 18 sys.exit with a status after some output (odd a: exit 3)
        (
            d(f"""\
            import sys
            n = {a}
            if n % 2:
                print('odd', n)
                sys.exit(3)
            print('even', n)
            """),
            None,
        ),
        # 19 decimal and string formatting
        (
            d(f"""\
            from decimal import Decimal, getcontext
            getcontext().prec = 30
            x = Decimal({a}) / Decimal({b})
            print(f'{{x:.20f}}')
            print('{{:>10}}|{{:<6}}|'.format('ok', 42))
            """),
            None,
        ),
        # 20 a dataclass
        (
            d(f"""\
            from dataclasses import dataclass

            @dataclass(order=True)
            class Item:
                weight: int
                name: str

            items = [Item((i * {b}) % 31, 'i%d' % i) for i in range(20)]
            print(min(items), max(items).name)
            """),
            None,
        ),
        # 21 string processing over a few thousand characters
        (
            d(f"""\
            s = ''.join(chr(97 + (i * {a}) % 26) for i in range({3000 + k}))
            best = cur = 1
            for p, q in zip(s, s[1:]):
                cur = cur + 1 if q == p else 1
                best = max(best, cur)
            print(best, s.count('abc'), len(set(s)))
            """),
            None,
        ),
    ]


def realistic_programs(n: int) -> list[Program]:
    out: list[Program] = []
    k = 0
    while len(out) < n:
        out += _realistic(k)
        k += 1
    return out[:n]


SETS = {"trivial": trivial_programs, "realistic": realistic_programs}


# ---------------------------------------------------------------------------------------
# The baseline: one interpreter per program, done carefully by hand


def _limits(timeout: float, memory_mb: int, max_file_mb: int, max_processes: int) -> list[tuple[int, int, int]]:
    """The limits ``SandboxPool`` sets with its default arguments for these values."""
    cpu, mb = math.ceil(timeout) + 1, 1024 * 1024
    return [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, memory_mb * mb, memory_mb * mb),
        (resource.RLIMIT_FSIZE, max_file_mb * mb, max_file_mb * mb),
        (resource.RLIMIT_NOFILE, 64, 64),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NPROC, max_processes, max_processes),
    ]


class Baseline:
    def __init__(self, flags: list[str], limits, timeout: float):
        self.cmd = [sys.executable, *flags, "main.py"]
        self.limits, self.timeout = limits, timeout

    def _preexec(self) -> None:
        for key, soft, hard in self.limits:
            resource.setrlimit(key, (soft, hard))

    def run(self, program: Program) -> tuple[int | None, str, str]:
        source, tests = program
        workdir = tempfile.mkdtemp(prefix="bench-sandbox-")
        try:
            with open(os.path.join(workdir, "main.py"), "w", encoding="utf-8") as f:
                f.write(source if tests is None else source + "\n" + tests)  # one namespace, as in the pool
            env = {
                "PATH": "/usr/bin:/bin",
                "LANG": "C.UTF-8",
                "PYTHONHASHSEED": "0",
                "PYTHONDONTWRITEBYTECODE": "1",
                "HOME": workdir,
                "TMPDIR": workdir,
            }
            with subprocess.Popen(
                self.cmd,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
                preexec_fn=self._preexec,
            ) as proc:  # noqa: PLW1509 (what one writes by hand)
                try:
                    try:
                        out, err = proc.communicate(timeout=self.timeout)
                    except subprocess.TimeoutExpired:
                        kill_group(proc.pid)
                        out, err = proc.communicate()
                finally:
                    kill_group(proc.pid)  # whatever the program left in its group goes too
            return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Measuring


def _outcome(returncode, stdout: str, stderr: str) -> tuple:
    """What must agree: exit status, stdout and the last stderr line (the exception, if any;
    the traceback's file names differ between the two)."""
    tail = stderr.strip().splitlines()[-1:] or [""]
    return returncode, stdout, tail[0]


def timed(fn, programs: list[Program], threads: int) -> tuple[float, list[tuple], list[float]]:
    """Run every program through ``fn`` from ``threads`` threads; wall seconds, outcomes,
    per-program latencies."""
    lat = [0.0] * len(programs)

    def one(i: int):
        t = time.perf_counter()
        r = fn(programs[i])
        lat[i] = time.perf_counter() - t
        return r

    with ThreadPoolExecutor(max_workers=threads) as ex:
        t = time.perf_counter()
        results = list(ex.map(one, range(len(programs))))
        wall = time.perf_counter() - t
    return wall, results, lat


def _check(name: str, programs: list[Program], pool_out: list[tuple], other: str, other_out: list[tuple]) -> None:
    for i, (a, b) in enumerate(zip(pool_out, other_out)):
        if a != b:
            sys.exit(
                f"bench/sandbox.py: {name} program {i}: the pool and {other} disagree; refusing to compare.\n"
                f"  program:\n{programs[i][0]}\n  tests: {programs[i][1]!r}\n  pool: {a!r}\n  {other}: {b!r}"
            )


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="pool workers, and threads feeding both sides (default: the CPU count)",
    )
    ap.add_argument(
        "--programs", type=int, default=None, help="programs per pool measurement (default 400 trivial, 200 realistic)"
    )
    ap.add_argument("--baseline-programs", type=int, default=60, help="programs per baseline measurement")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sets", default="trivial,realistic")
    ap.add_argument("--isolation", default="auto", choices=ISOLATION_MODES)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--memory-mb", type=int, default=512)
    args = ap.parse_args()
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    for s in sets:
        if s not in SETS:
            ap.error(f"unknown set {s!r}; choose from {', '.join(SETS)}")
    n_workers = max(1, args.workers)
    default_programs = {"trivial": 400, "realistic": 200}
    max_file_mb, max_processes = 8, 64
    limits = _limits(args.timeout, args.memory_mb, max_file_mb, max_processes)
    began = time.perf_counter()

    # Start-up, measured on its own: N threads each running a first program start N workers.
    t = time.perf_counter()
    pool = SandboxPool(
        workers=n_workers,
        timeout=args.timeout,
        memory_mb=args.memory_mb,
        max_file_mb=max_file_mb,
        max_processes=max_processes,
        isolation=args.isolation,
    )
    barrier = threading.Barrier(n_workers)

    def first(_):
        barrier.wait()
        return pool.run("print(6)\n")

    with ThreadPoolExecutor(max_workers=n_workers) as ex:
        firsts = list(ex.map(first, range(n_workers)))
    t_start = time.perf_counter() - t
    started = len(pool.worker_pids())
    for _ in range(20):  # make sure every worker is up before anything is timed
        if len(pool.worker_pids()) >= n_workers:
            break
        timed(lambda p: pool.run(*p), [("import time; time.sleep(0.05)\n", None)] * n_workers, n_workers)
    if any(r.stdout != "6\n" for r in firsts) or len(pool.worker_pids()) < n_workers:
        sys.exit(f"bench/sandbox.py: the pool did not start {n_workers} working workers: {firsts!r}")

    inside: list[float] = []  # the worker's own account of each program's time

    def in_pool(program: Program) -> tuple:
        r = pool.run(*program)
        inside.append(r.seconds)
        return _outcome(r.returncode, r.stdout, r.stderr)

    def by_hand(flags: list[str]):
        baseline = Baseline(flags, limits, args.timeout)
        return lambda program: _outcome(*baseline.run(program))

    sides = {"pool": in_pool, "python": by_hand([]), "python -I -S": by_hand(["-I", "-S"])}
    # Warm-up: the pool's first forks, and the interpreter's files in the page cache.
    warm = realistic_programs(22)
    for name, fn in sides.items():
        timed(fn, warm if name == "pool" else warm[: 2 * n_workers], n_workers)

    site_dir = next((p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)), None)
    pth = sorted(f for f in os.listdir(site_dir) if f.endswith(".pth")) if site_dir else []
    print(
        f"sandbox throughput: pool isolation={pool.isolation}, workers={n_workers}, threads feeding each "
        f"side={n_workers}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print(
        f"  same limits on every side: timeout {args.timeout:g}s, CPU {limits[0][1]}s, memory {args.memory_mb} MiB, "
        f"files {max_file_mb} MiB, 64 fds, no core, {max_processes} processes; new session, fresh dir, scrubbed env"
    )
    print(
        f"  'python' imports site ({len(pth)} .pth file(s): {', '.join(pth) or 'none'}); "
        f"'python -I -S' and the pool's programs do not"
    )
    print(
        f"  start-up: {t_start:.3f}s for the pool and its first {n_workers} programs "
        f"({started} workers started concurrently)"
    )

    report: dict = {"isolation": pool.isolation, "workers": n_workers, "startup_s": t_start, "sets": {}}
    order = list(sides)
    for set_name in sets:
        n_pool = args.programs or default_programs[set_name]
        n_base = min(args.baseline_programs, n_pool)
        programs = SETS[set_name](n_pool)
        rates: dict[str, list[float]] = {s: [] for s in sides}
        lats: dict[str, list[float]] = {s: [] for s in sides}
        inside.clear()
        for rep in range(args.repeats):
            outs = {}
            for name in order[rep % 3 :] + order[: rep % 3]:  # rotate who goes first
                progs = programs if name == "pool" else programs[:n_base]
                wall, outs[name], lat = timed(sides[name], progs, n_workers)
                rates[name].append(len(progs) / wall)
                lats[name] += lat
            for name in ("python", "python -I -S"):
                _check(set_name, programs, outs["pool"], name, outs[name])
        med = {s: statistics.median(r) for s, r in rates.items()}
        kinds = len({p for p in programs[:n_base]})
        failing = sum(1 for o in outs["pool"][:n_base] if o[0] != 0)
        print(
            f"{set_name} ({n_pool} programs per pool run, {n_base} per baseline run, {kinds} distinct, "
            f"{failing}/{n_base} exit non-zero; median of {args.repeats}; outputs identical on every side)"
        )
        print("  side             programs/s   (min - max)        latency p50    p90")
        for s in sides:
            print(
                f"  {s:<14} {med[s]:10.1f}   ({min(rates[s]):7.1f} - {max(rates[s]):7.1f})   "
                f"{1e3 * _pct(lats[s], 0.5):8.1f}ms {1e3 * _pct(lats[s], 0.9):6.1f}ms"
            )
        print(
            f"  (pool, inside the worker: p50 {1e3 * _pct(inside, 0.5):.1f}ms p90 {1e3 * _pct(inside, 0.9):.1f}ms "
            "from request to reply; the rest of its latency is the round trip and waiting for a free worker)"
        )
        r_plain = med["pool"] / med["python"]
        r_iso = med["pool"] / med["python -I -S"]
        per_rep = [p / b for p, b in zip(rates["pool"], rates["python"])]
        print(
            f"  pool vs python        : {r_plain:6.1f}x   (per repeat {min(per_rep):.1f}x - "
            f"{max(per_rep):.1f}x)   <- headline"
        )
        print(f"  pool vs python -I -S  : {r_iso:6.1f}x")
        report["sets"][set_name] = {"programs_per_s": med, "vs_python": r_plain, "vs_python_I_S": r_iso}
    if "trivial" in report["sets"]:
        r = report["sets"]["trivial"]["programs_per_s"]
        saved = 1 / r["python"] - 1 / r["pool"]
        if saved > 0:
            print(f"start-up pays for itself after ~{math.ceil(t_start / saved)} trivial programs (vs python)")
    pool.close()
    report["total_s"] = time.perf_counter() - began
    print(json.dumps(report))


if __name__ == "__main__":
    main()
