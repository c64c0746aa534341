"""llama.cpp beside the ``hf`` backend on the same GGUF file, prompts and stop strings: what a
CPU user would run instead of us, measured side by side in one run.

SmolLM2-135M-Instruct drafts the word-problems task 3-shot. llama.cpp (``llama-cpp-python``)
loads the package's own Q4_1 GGUF file and decodes one prompt at a time, as its Python API
does, reusing the cached keys and values of the previous prompt's common prefix (the few-shot
header, and a prompt's own tokens for its later samples). The ``hf`` backend decodes the
float32 folder ``correct prepare smollm2`` converted from that file, in batches. The prompts
go in chunks of ``--batch``, each chunk through both engines in turn (the first one
alternating), so a machine that gets busier slows both alike. Both get ``--threads``.

Also printed: the ``hf`` path's tokens/s as a share of this machine's limits, from two
measured peaks on the same threads: memory bandwidth (a large tensor copied) against the
weights read per decoding step, and matrix-multiply FLOP/s against 2 FLOPs per weight per
generated token.

    pip install -e '.[bench-llama-cpp]'   # llama-cpp-python, compiled from source: ~25 min on one core; never in CI
    python bench/against_llama_cpp.py --prompts 64 --samples 4 --temperature 0.5 --threads 2   # the pool's workload
    python bench/against_llama_cpp.py --prompts 32 --threads 2                                 # greedy drafting

``--hf-threads auto`` runs the ``hf`` side as ``correct generate`` does by default: following the
machine, which on an idle machine splits a batch into one stream of one thread per core.

``--isa avx2`` measures, on a machine with AVX-512, what a machine with AVX2 only would see: the
``hf`` side's torch kernels, MKL and oneDNN are held to AVX2, and llama.cpp must be built so
(``-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF``). Each engine's instruction set is printed,
so a build that does not match shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

WORD_PROBLEMS = Path(__file__).resolve().parents[1] / "docs/examples/word-problems/word-problems.yaml"


# What holds torch to an instruction set, read when each library first runs: torch's own kernels,
# MKL's (its matrix products) and oneDNN's.
ISA_LIMITS = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
}


def limit_isa(isa: str) -> None:
    """Hold the ``hf`` side to ``isa``; only before torch is imported, since it reads these once."""
    if ISA_LIMITS[isa] and "torch" in sys.modules:
        raise RuntimeError(f"--isa {isa}: torch is already imported, so its instruction set is fixed")
    os.environ.update(ISA_LIMITS[isa])


def instruction_sets(llama: "LlamaCpp") -> dict:
    """What each engine runs on: torch's CPU capability, and llama.cpp's own system line (the
    features its build turned on)."""
    import torch

    return {"hf": torch.backends.cpu.get_cpu_capability(), "llama.cpp": llama.system_info()}


def gguf_file(work: Path) -> Path:
    """SmolLM2's GGUF file, found as ``correct prepare smollm2`` finds it."""
    from correct.generators import smollm2

    return smollm2.find_gguf(work, print)


class LlamaCpp:
    """llama.cpp through ``llama-cpp-python``: ``n`` completions of each prompt, one at a time,
    sampled as the ``hf`` backend samples (temperature and top-p only: no top-k, min-p or
    repetition penalty)."""

    def __init__(self, path: Path, threads: int, context: int = 2048):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise SystemExit(
                "bench/against_llama_cpp.py needs llama-cpp-python: pip install -e '.[bench-llama-cpp]' "
                "(it compiles from source)"
            ) from None

        self.llm = Llama(model_path=str(path), n_ctx=context, n_threads=threads, n_threads_batch=threads, verbose=False)
        self.tokens_generated = 0

    def system_info(self) -> str:
        """The features of this build of llama.cpp (its ``llama_print_system_info`` line)."""
        import llama_cpp

        info = getattr(llama_cpp, "llama_print_system_info", None)
        if info is None:
            return "unknown"
        line = info()
        return (line.decode() if isinstance(line, bytes) else str(line)).strip()

    def generate(self, prompts: list[str], params) -> list[list[str]]:
        from correct.generators import truncate_at_stop

        out = []
        for i, prompt in enumerate(prompts):
            drafts = []
            for k in range(1 if params.temperature <= 0 else params.n):
                got = self.llm.create_completion(
                    prompt,
                    max_tokens=params.max_new_tokens,
                    temperature=params.temperature,
                    top_p=params.top_p,
                    top_k=0,
                    min_p=0.0,
                    typical_p=1.0,
                    repeat_penalty=1.0,
                    stop=list(params.stop) or None,
                    seed=params.seed + i * params.n + k,
                )
                self.tokens_generated += got["usage"]["completion_tokens"]
                drafts.append(truncate_at_stop(got["choices"][0]["text"], params.stop))
            out.append(drafts * params.n if params.temperature <= 0 else drafts)
        return out


def machine_limits(threads: int) -> dict:
    """Memory bandwidth (bytes/s, a 256 MiB tensor copied: read and written) and float32
    matrix-multiply FLOP/s, on ``threads`` threads; the best of a few tries."""
    import torch

    torch.set_num_threads(threads)
    src = torch.ones(64 * 2**20)  # 256 MiB of float32
    dst = torch.empty_like(src)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    copy, mm = float("inf"), float("inf")
    for _ in range(5):
        t = time.perf_counter()
        dst.copy_(src)
        copy = min(copy, time.perf_counter() - t)
        t = time.perf_counter()
        a @ b
        mm = min(mm, time.perf_counter() - t)
    return {"bandwidth": 2 * src.numel() * 4 / copy, "flops": 2 * 1024**3 / mm}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16, help="prompts per chunk (the hf backend's batch)")
    ap.add_argument("--samples", type=int, default=1, help="drafts a prompt (the pool draws 4)")
    ap.add_argument("--temperature", type=float, default=0.0, help="0: greedy (the pool samples at 0.5)")
    ap.add_argument("--threads", type=int, default=2, help="threads of both engines")
    ap.add_argument(
        "--hf-threads",
        choices=["same", "auto"],
        default="same",
        help="same: the hf backend on --threads too, one batch at a time; auto: as `correct generate` runs "
        "by default, following the machine (on an idle machine a batch split into one stream a core, "
        "one thread each: generators/streams.py)",
    )
    ap.add_argument("--shots", type=int, default=3)
    ap.add_argument("--gguf", type=Path, default=None, help="default: SmolLM2's, as `correct prepare` finds it")
    ap.add_argument(
        "--isa",
        choices=sorted(ISA_LIMITS),
        default="native",
        help="the widest instructions the hf side may use (avx2: as on a machine without AVX-512)",
    )
    args = ap.parse_args(argv)
    limit_isa(args.isa)

    import torch
    from transformers.utils import logging as hf_logging

    from correct.generators import SamplingParams, load_generator, threads
    from correct.tasks import few_shot_prompt, get_task

    hf_logging.set_verbosity_error()
    # Both engines on --threads: fixed for the hf backend too, which otherwise picks the threads
    # free at each generate call (generators/threads.py) -- two on an idle 2-core machine.
    # --hf-threads auto leaves it to do so, as a user's run does.
    threads.configure(args.threads if args.hf_threads == "same" else None)
    torch.set_num_threads(args.threads)
    task = get_task(str(WORD_PROBLEMS))
    prompts = [few_shot_prompt(task, args.shots)(r) for r in task.make_split("test", args.prompts, 0)]
    params = SamplingParams(
        temperature=args.temperature, max_new_tokens=task.max_new_tokens, stop=task.stop, n=args.samples
    )
    hf = load_generator("smollm2")
    hf.batch_size = args.batch
    with tempfile.TemporaryDirectory() as work:
        llama = LlamaCpp(args.gguf or gguf_file(Path(work)), args.threads)
    engines = {"hf": hf, "llama.cpp": llama}
    for e in engines.values():  # warm-up: first calls pay for lazy initialisation
        e.generate(prompts[:1], params)
    seconds, drafts, tokens = ({name: v() for name in engines} for v in (float, list, int))
    names = list(engines)
    for k, start in enumerate(range(0, len(prompts), args.batch)):
        for name in names[k % 2 :] + names[: k % 2]:
            e = engines[name]
            before, t = e.tokens_generated, time.perf_counter()
            drafts[name] += [d for c in e.generate(prompts[start : start + args.batch], params) for d in c]
            seconds[name] += time.perf_counter() - t
            tokens[name] += e.tokens_generated - before
    rates = {name: len(drafts[name]) / seconds[name] for name in names}
    how = "greedy" if args.temperature <= 0 else f"{args.samples} samples a prompt at temperature {args.temperature}"
    isa = instruction_sets(llama)
    hf_how = (
        f"{args.threads} threads" if args.hf_threads == "same" else f"the engine's choice ({threads.streams()} streams)"
    )
    print(f"{len(prompts)} word problems, {args.shots}-shot; {how}; hf batch {args.batch}")
    print(f"  threads: llama.cpp {args.threads}, hf {hf_how}")
    print(f"  instructions: hf {isa['hf']}; llama.cpp {isa['llama.cpp']}")
    print("  engine      drafts/s  tokens/s  tokens")
    for name in names:
        print(f"  {name:10s} {rates[name]:9.2f} {tokens[name] / seconds[name]:9.1f} {tokens[name]:7d}")
    ratio = rates["hf"] / rates["llama.cpp"]
    same = sum(a == b for a, b in zip(drafts["hf"], drafts["llama.cpp"])) / len(drafts["hf"])
    print(f"  hf against llama.cpp: {ratio:.2f}x drafts/s (identical drafts: {same:.0%}; Q4_1 against float32)")

    # The hf path against the machine's limits: every decoding step reads every weight once
    # (float32), and each generated token costs about 2 FLOPs per weight.
    limits = machine_limits(args.threads)
    weights = sum(p.numel() for p in hf.model.parameters())
    steps = hf_steps(tokens["hf"], len(drafts["hf"]), args.batch * max(1, args.samples))
    hf_tps = tokens["hf"] / seconds["hf"]
    bandwidth_share = steps / seconds["hf"] * weights * 4 / limits["bandwidth"]
    flops_share = hf_tps * 2 * weights / limits["flops"]
    print(
        f"  hf against this machine: weights read at no less than {bandwidth_share:.0%} of the measured memory "
        "bandwidth "
        f"({limits['bandwidth'] / 1e9:.1f} GB/s), {flops_share:.0%} of the measured matmul FLOP/s "
        f"({limits['flops'] / 1e9:.1f} GFLOP/s)"
    )
    result = {
        "drafts_per_s": rates,
        "tokens": tokens,
        "hf_vs_llama_cpp": ratio,
        "identical": same,
        "hf_bandwidth_share": bandwidth_share,
        "hf_flops_share": flops_share,
        "limits": limits,
        "instructions": isa,
        "hf_threads": args.hf_threads,
    }
    print(json.dumps(result))
    return result


def hf_steps(tokens: int, drafts: int, rows: int) -> float:
    """About how many decoding steps the batched path ran: the tokens spread over batches of
    ``rows`` rows (a lower bound on its steps, so the bandwidth share is not overstated)."""
    return tokens / max(1, min(rows, drafts))


if __name__ == "__main__":
    main()
