"""Shared fixtures: a tiny GPT-2 trained offline in a few seconds, used as generator and corrector."""

from __future__ import annotations

import os

# Tests never touch the network: set before anything imports huggingface_hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from contextlib import contextmanager

import pytest


@contextmanager
def torch_threads(n: int = 1):
    """Run torch on ``n`` threads for a while. Tiny models gain nothing from more, and on a
    busy machine two spinning OpenMP threads can make a 1 s loop take 40 s."""
    import torch

    from correct.generators import threads

    before, fixed = torch.get_num_threads(), threads._fixed
    torch.set_num_threads(n)
    threads.configure(n)  # the engine would otherwise pick its own before each batch
    try:
        yield
    finally:
        torch.set_num_threads(before)
        threads.configure(fixed)


@pytest.fixture(scope="module")
def one_torch_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="session", autouse=True)
def _every_test_on_one_torch_thread():
    """Every test runs torch on one thread (the CLI's in-process runs too; subprocesses get
    OMP_NUM_THREADS=1 where they train): a learning test's figures then do not depend on
    how many cores the machine has, and a busy machine does not slow it by spinning threads."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    """A folder with a tiny GPT-2 + tokenizer trained ~60 steps on arithmetic programs.

    Its greedy outputs look program-like (``x = ...`` lines), which is all the CLI tests need.
    The folder has no ``correct_config.json``, so it is also a valid corrector (default template).
    """
    import torch
    from transformers.utils import logging as hf_logging

    from correct.corrector.training.tiny import build_model, build_tokenizer
    from correct.tasks.arithmetic import generator_prompt, make_split

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    texts = [generator_prompt(r) + r["solution"] for r in make_split("train", 300)]
    tok = build_tokenizer(texts)
    model = build_model(tok, n_layer=1, n_embd=32, n_head=2, n_positions=256)

    # One token stream (texts separated by EOS); random 96-token windows of it.
    ids: list[int] = []
    for t in texts:
        ids += tok(t)["input_ids"] + [tok.eos_token_id]
    stream = torch.tensor(ids)
    window, batch_size = 96, 16
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    with torch_threads(1):
        for _ in range(60):
            starts = torch.randint(0, len(stream) - window - 1, (batch_size,))
            batch = torch.stack([stream[s : s + window] for s in starts])
            loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
    model.eval()

    path = tmp_path_factory.mktemp("tiny_lm")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
