"""A corrector from a pretrained base: LoRA adapters (peft) saved as the adapter or merged and
loaded through --corrector, bases without a pad token, with a BOS or with a chat template,
the TrainingArguments a bigger base needs, and the mistakes such a run meets (one line each,
before the pool is drafted)."""

from __future__ import annotations

import json
import operator
import random
import re
import shutil
import warnings
from dataclasses import replace

import pytest
import torch
from models import bos_tokenizer, tiny_decoder
from transformers.utils import logging as hf_logging
from typer.testing import CliRunner

from correct.cli import app
from correct.corrector.model import Corrector
from correct.corrector.refine import refine
from correct.corrector.training.config import TrainConfig, TrainError
from correct.corrector.training.fit import train_lm, train_rows
from correct.corrector.training.loop import train_corrector
from correct.corrector.training.tiny import build_model, build_tokenizer
from correct.generators import GeneratorError, SamplingParams
from correct.generators.base import GeneratorBase
from correct.generators.hf import HFGenerator

hf_logging.disable_progress_bar()
pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- the toy task of test_train.py: sort five digits -------------------------------------------


def make_records(n, seed):
    rng = random.Random(seed)
    digits = [[str(rng.randint(0, 9)) for _ in range(5)] for _ in range(n)]
    return [
        {"id": f"{seed}-{i}", "prompt": "sort " + " ".join(d), "answer": " ".join(sorted(d))}
        for i, d in enumerate(digits)
    ]


def fmt(r):
    return r["prompt"] + " =>"


class SortValue:
    """Share of the sorted digits the output gets right, position by position."""

    name, max_value, min_value, reference_free = "sort", 1.0, 0.0, True

    def __call__(self, records, outputs):
        from correct.values import as_scores

        scores = [sum(a == b for a, b in zip(r["answer"].split(), o.split())) / 5 for r, o in zip(records, outputs)]
        return as_scores(scores, len(outputs), self.name)


class Scripted(GeneratorBase):
    """A generator whose drafts are the prompt's digits partly sorted: values from 0.2 to 1."""

    def generate(self, prompts, params):
        out = []
        for p in prompts:
            digits = p.removeprefix("sort ").removesuffix(" =>").split()
            rng = random.Random(p)
            drafts = []
            for _ in range(params.n):
                d = sorted(digits)
                i, j = rng.sample(range(5), 2)
                if rng.random() < 0.6:
                    d[i], d[j] = d[j], d[i]
                drafts.append(" ".join(d))
            out.append(drafts)
        return out


TRAIN, TEST = make_records(300, 1), make_records(100, 2)
TEXTS = [fmt(r) + " " + r["answer"] for r in TRAIN]
QUICK = TrainConfig(
    batch_size=8,
    learning_rate=1e-2,
    samples_per_prompt=2,
    iterations=1,
    steps=3,
    pairs=40,
    explore_prompts=4,
    max_new_tokens=12,
    feedback=False,
    lora_r=4,
    save_steps=0,
)


def quick_train(init, out, config=QUICK, records=TRAIN[:20], generator=None):
    return train_corrector(
        records, [fmt(r) for r in records], generator or Scripted(), SortValue(), str(init), out, config
    )


@pytest.fixture(scope="module")
def gen_dir(tmp_path_factory):
    """An imperfect generator for the sort task: a tiny GPT-2 after 80 supervised steps."""
    tok = build_tokenizer(TEXTS, vocab_size=300)
    model = build_model(tok, n_layer=2, n_embd=64, n_head=2, n_positions=128)
    path = tmp_path_factory.mktemp("toy") / "gen"
    config = TrainConfig(batch_size=32, learning_rate=3e-3, lr_scheduler="constant_with_warmup")
    train_lm(model, tok, [(fmt(r), " " + r["answer"]) for r in TRAIN], 80, config, path / "sft")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    """A 1-layer Llama whose tokenizer adds a BOS and has no pad token."""
    from transformers import AutoTokenizer

    tok = bos_tokenizer(TEXTS)
    model = tiny_decoder(tok, hidden=32, layers=1, heads=2, max_position_embeddings=128)
    path = tmp_path_factory.mktemp("llama")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    again = AutoTokenizer.from_pretrained(path)
    assert again.pad_token is None and again("2 1")["input_ids"][0] == again.bos_token_id
    return path


# -- LoRA ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_lora_corrector_raises_value(gen_dir, tmp_path):
    """A rank-8 adapter on the attention of a tiny GPT-2 learns to correct its drafts: more
    drafts made better than worse, and the mean value up. The gain is small and moves with the
    pool's samples (seen: 0.852 -> 0.896, 0.880, and 0.872 once each chunk of the pool drew its
    own samples; 0.872-0.898 over seeds and learning rates; full fine-tuning reaches 0.904), so
    the margin is 0.01: a corrector that learned nothing keeps the drafts or breaks them."""
    gen = HFGenerator.from_pretrained(str(gen_dir))
    config = replace(
        QUICK,
        batch_size=32,
        samples_per_prompt=6,
        iterations=3,
        steps=150,
        pairs=3000,
        identity_share=0.2,
        explore_prompts=150,
        lr_scheduler="constant_with_warmup",
        lora_r=8,
        lora_dropout=0.0,
    )
    quick_train(gen_dir, tmp_path / "corr", config, TRAIN, gen)
    corrector = Corrector.from_pretrained(str(tmp_path / "corr"))
    hist = refine(
        TEST, [fmt(r) for r in TEST], gen, corrector, SortValue(), 2, SamplingParams(temperature=0.0, max_new_tokens=12)
    )
    v0, v2 = (sum(h[k].value for h in hist) / len(hist) for k in (0, 2))
    better, worse = (sum(op(h[2].value, h[0].value) for h in hist) for op in (operator.gt, operator.lt))
    print(f"toy task, LoRA: value {v0:.3f} -> {v2:.3f}, {better} drafts better, {worse} worse")
    assert v0 < 0.95 and v2 > v0 + 0.01 and better > worse, (v0, v2, better, worse)


def test_lora_adapter_and_merged_corrector_load_through_corrector(gen_dir, tmp_path):
    """The adapter folder (adapter + the base it names) and the --merge-lora folder (a whole
    model) both load through --corrector and correct alike; exploration ran with the adapter."""
    from correct.corrector.app.card import write_model_card
    from correct.corrector.model import CorrectorConfig

    explores = replace(QUICK, iterations=2, steps=1)  # the first iteration explores, the last does not
    quick_train(gen_dir, tmp_path / "adapter", explores)
    quick_train(gen_dir, tmp_path / "merged", replace(explores, merge_lora=True))
    files = {name: {p.name for p in (tmp_path / name).iterdir()} for name in ("adapter", "merged")}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= files[
        "adapter"
    ] and "model.safetensors" not in files["adapter"]
    assert "model.safetensors" in files["merged"] and "adapter_config.json" not in files["merged"]
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"] == str(
        gen_dir.resolve()
    )
    for name in ("adapter", "merged"):
        training = json.loads((tmp_path / name / "correct_config.json").read_text())["training"]
        assert (training["lora_r"], training["lora_alpha"], training["lora_target_modules"]) == (4, 8.0, ["c_attn"])
        assert training["merge_lora"] == (name == "merged")
        card = write_model_card(tmp_path / name, CorrectorConfig.load(tmp_path / name)).read_text()
        assert "LoRA adapter (peft) of rank 4" in card and ("library_name: peft" in card) == (name == "adapter")
        assert "corrector@0" in (tmp_path / name / "pool.jsonl").read_text()

    outs = {}
    for name in ("adapter", "merged"):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            c = Corrector.from_pretrained(str(tmp_path / name))
        # peft's read of transformers' deprecated property is not the user's to fix: not shown
        assert not [w for w in seen if "is_gradient_checkpointing" in str(w.message)], name
        assert type(c.generator.model).__name__ == "GPT2LMHeadModel"  # merged on loading: no adapter layers left
        outs[name] = c.correct(
            [r["prompt"] for r in TEST[:8]],
            ["1 2 3 4 5"] * 8,
            [None] * 8,
            SamplingParams(temperature=0, max_new_tokens=12),
        )
    assert outs["adapter"] == outs["merged"]

    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps({"prompt": fmt(r)}) + "\n" for r in TEST[:3]))
    for name in ("adapter", "merged"):
        result = CliRunner().invoke(
            app,
            [
                "generate",
                "--input",
                str(records),
                "--generator",
                str(gen_dir),
                "--corrector",
                str(tmp_path / name),
                "--value",
                "toxicity:max_value=0.9",
                "--rounds",
                "1",
                "--max-new-tokens",
                "12",
                "--output",
                str(tmp_path / f"{name}.jsonl"),
            ],
        )
        assert result.exit_code == 0, result.output
        assert len((tmp_path / f"{name}.jsonl").read_text().splitlines()) == 3


def test_an_adapter_run_resumes_from_its_checkpoint(gen_dir, tmp_path):
    """A checkpoint of a LoRA run holds the adapter; --resume puts it back on the --init base and
    goes on training it; a resume that changes --lora-r is refused."""
    out = tmp_path / "corr"
    quick_train(gen_dir, out)
    assert (out / "checkpoints" / "stage-0" / "adapter_config.json").is_file()
    quick_train(gen_dir, out, replace(QUICK, iterations=2, resume=True))
    assert [json.loads(l)["iteration"] for l in (out / "log.jsonl").read_text().splitlines()] == [0, 1]
    assert (out / "adapter_config.json").is_file()
    with pytest.raises(TrainError, match="holds a LoRA adapter; resume with the same LoRA rank"):
        quick_train(gen_dir, out, replace(QUICK, iterations=3, resume=True, lora_r=None))


def test_an_adapter_resumes_within_an_iteration_from_a_trainer_checkpoint(gen_dir, tmp_path):
    """The Trainer's own step checkpoints of a peft model: 2 steps, then resumed to 3, reach the
    adapter weights of 3 steps in one go."""
    from correct.corrector.training.trainee import load_trainee

    rows = [{"input_ids": [1, 2, 3, 4, 5, 6], "labels": [-100, -100, 3, 4, 5, 6]}] * 16
    config = replace(QUICK, save_steps=1, batch_size=4, lr_scheduler="constant")

    def adapter(steps, folder, resume):
        hf, _ = load_trainee(str(gen_dir), config)
        stats = train_rows(
            hf.model, hf.tokenizer, rows, len(rows), steps, replace(config, resume=resume), folder, checkpoints=True
        )
        return stats, {k: v.detach().clone() for k, v in hf.model.named_parameters() if "lora_" in k}

    _, whole = adapter(3, tmp_path / "whole", False)
    adapter(2, tmp_path / "cut", False)
    stats, resumed = adapter(3, tmp_path / "cut", True)
    assert stats["resumed_from_step"] == 2
    assert whole.keys() == resumed.keys() and all(torch.allclose(whole[k], resumed[k], atol=1e-5) for k in whole)


def test_accumulation_and_checkpointing_reach_the_trainer(gen_dir, tmp_path, monkeypatch):
    from correct.corrector.training import fit
    from correct.corrector.training.encode import training_arguments
    from correct.corrector.training.trainee import load_trainee

    args = training_arguments(
        tmp_path, 2, 4, 1e-3, "constant", 0, gradient_checkpointing=True, gradient_accumulation_steps=2
    )
    assert args.gradient_accumulation_steps == 2 and getattr(
        args, "activation_checkpointing", args.gradient_checkpointing
    )
    config = replace(QUICK, gradient_accumulation_steps=2, gradient_checkpointing=True, warmup_steps=1)
    hf, config = load_trainee(str(gen_dir), config)
    rows = [{"input_ids": [1, 2, 3, 4, 5, 6], "labels": [-100, -100, 3, 4, 5, 6]}] * 16
    made = []
    monkeypatch.setattr(fit, "training_arguments", lambda *a, **k: made.append(training_arguments(*a, **k)) or made[-1])
    stats = train_rows(hf.model, hf.tokenizer, rows, len(rows), 2, config, tmp_path / "t")
    assert stats["loss"] == stats["loss"] and stats["train_tokens_per_s"] > 0
    # What the Trainer was given: half the batch per pass, two passes a step, activations recomputed.
    (used,) = made
    assert (used.gradient_accumulation_steps, used.per_device_train_batch_size) == (2, config.batch_size // 2)
    assert used.warmup_steps == 1  # --warmup-steps, not the default tenth of the steps (0 of 2)
    assert getattr(used, "activation_checkpointing", used.gradient_checkpointing)
    model = hf.model  # transformers 5 renamed is_gradient_checkpointing as it did the argument
    assert (
        model.is_activation_checkpointing
        if hasattr(model, "is_activation_checkpointing")
        else model.is_gradient_checkpointing
    )
    with pytest.raises(TrainError, match="3 gradient accumulation steps do not divide the batch of 8 rows"):
        replace(QUICK, gradient_accumulation_steps=3).check()


# -- bases with their own special tokens ----------------------------------------------------------


def test_training_rows_start_as_the_inference_input_starts(llama_dir, gen_dir):
    """Inference tokenizes the corrector's input with the tokenizer's special tokens (a BOS); the
    training rows of every method start with exactly those ids. A GPT-2 tokenizer adds none."""
    from transformers import AutoTokenizer

    from correct.corrector.layouts import TEMPLATES, fill
    from correct.corrector.training.encode import encode
    from correct.corrector.training.hindsight import coh_rows

    tok = AutoTokenizer.from_pretrained(llama_dir)
    source = fill(TEMPLATES["no-feedback"], "sort 2 1", "2 1", None)
    row = encode(tok, source, "1 2", 128)
    prompt_ids = tok(source)["input_ids"]  # as generators/hf.py tokenizes it
    assert prompt_ids[0] == tok.bos_token_id and row["input_ids"][: len(prompt_ids)] == prompt_ids
    assert row["input_ids"][len(prompt_ids) :] == tok("1 2", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    (coh,) = coh_rows(tok, [("sort 2 1", "2 1", None, "1 2")], random.Random(0))
    assert coh["input_ids"][0] == tok.bos_token_id and coh["input_ids"].count(tok.bos_token_id) == 1
    assert coh["labels"][0] == -100 and coh["attention_mask"][0] == 1

    gpt2 = AutoTokenizer.from_pretrained(gen_dir)
    bare = gpt2(source, add_special_tokens=False)["input_ids"] + gpt2("1 2", add_special_tokens=False)["input_ids"]
    assert encode(gpt2, source, "1 2", 128)["input_ids"] == bare + [gpt2.eos_token_id]


@pytest.mark.parametrize("method, lora_r", [("pairing", None), ("hindsight", 4), ("hir", 4)])
def test_a_base_without_a_pad_token_trains_with_every_method(llama_dir, tmp_path, method, lora_r):
    """A Llama whose tokenizer has no pad token (padded with EOS, as generators/hf.py does) and
    adds a BOS: each method trains, LoRA picks Llama's own modules, the corrector loads and corrects."""
    quick_train(llama_dir, tmp_path / "corr", replace(QUICK, method=method, lora_r=lora_r, feedback=True))
    config = json.loads((tmp_path / "corr" / "correct_config.json").read_text())
    assert config["training"]["lora_target_modules"] == (["q_proj", "v_proj"] if lora_r else None)
    c = Corrector.from_pretrained(str(tmp_path / "corr"))
    assert c.generator.tokenizer.pad_token_id == c.generator.tokenizer.eos_token_id
    out = c.correct(["sort 2 1 3 5 4"], ["1 2 3 5 4"], [None], SamplingParams(temperature=0, max_new_tokens=6))
    assert len(out) == 1 and len(out[0]) == 1


def test_a_base_with_a_chat_template_trains(gen_dir, tmp_path):
    """The corrector's input stays the plain layout; a base whose tokenizer has a chat template
    trains and keeps its template in the saved folder."""
    from transformers import AutoTokenizer

    base = tmp_path / "chat-base"
    shutil.copytree(gen_dir, base, ignore=shutil.ignore_patterns("sft"))
    tok = AutoTokenizer.from_pretrained(base)
    tok.chat_template = "{% for m in messages %}<|user|>{{ m['content'] }}\n{% endfor %}<|assistant|>"
    tok.save_pretrained(base)
    quick_train(base, tmp_path / "corr", replace(QUICK, lora_r=None))
    c = Corrector.from_pretrained(str(tmp_path / "corr"))
    assert c.generator.tokenizer.chat_template == tok.chat_template
    assert (
        len(c.correct(["sort 2 1 3 5 4"], ["1 2 3 5 4"], [None], SamplingParams(temperature=0, max_new_tokens=6))) == 1
    )


# -- mistakes: one line, exit 2, before the pool ---------------------------------------------------


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory, gen_dir):
    """A DistilBERT folder: a model transformers has no causal-LM class for."""
    from transformers import DistilBertConfig

    path = tmp_path_factory.mktemp("distilbert")
    DistilBertConfig(vocab_size=300, dim=16, n_layers=1, n_heads=2, hidden_dim=32).save_pretrained(path)
    for f in gen_dir.glob("tokenizer*"):
        shutil.copy(f, path)
    return path


def train_cli(tmp_path, gen_dir, *extra):
    return CliRunner().invoke(
        app,
        [
            "train",
            "--task",
            "arithmetic",
            "--generator",
            str(gen_dir),
            "--limit",
            "2",
            "--samples",
            "1",
            "--eval-limit",
            "0",
            "--output",
            str(tmp_path / "out"),
            *map(str, extra),
        ],
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--lora-r", "4", "--lora-target-modules", "q_proj,v_proj"],
            "LoRA target modules q_proj,v_proj: {gen} (gpt2) has no such module; its linear layers are c_attn, "
            "c_fc, c_proj "
            "(option --lora-target-modules)",
        ),
        (
            ["--init", "{encoder}"],
            "'{encoder}' is a distilbert model, not a causal language model (transformers has no "
            "AutoModelForCausalLM for it) (option --init)",
        ),
        (["--init", "./no/such/base"], "--init ./no/such/base: no such folder"),
        (
            ["--init", "no-such/base"],
            "could not load model 'no-such/base': not a local folder and not reachable on the Hugging Face hub "
            "(offline?) (option --init)",
        ),
        (["--bf16"], "bf16 is mixed precision on a GPU, and there is none here; leave it out on a CPU (option --bf16)"),
        (["--dtype", "float8"], "'float8' is not one of"),
    ],
)
def test_bad_base_settings_are_one_line_before_drafting(tmp_path, gen_dir, encoder_dir, extra, message):
    if "--bf16" in extra and torch.cuda.is_available():
        pytest.skip("a GPU is here")
    extra = [e.format(encoder=encoder_dir) for e in extra]
    result = train_cli(tmp_path, gen_dir, *extra)
    assert result.exit_code == 2, (result.output, result.exception)
    line = result.stderr.strip()
    assert "Traceback" not in result.output and "".join(
        message.format(gen=gen_dir, encoder=encoder_dir).split()
    ) in "".join(line.split())
    assert not (tmp_path / "out" / "pool.jsonl").exists()  # nothing was drafted


def test_an_adapter_whose_base_is_gone_is_named(gen_dir, tmp_path):
    quick_train(gen_dir, tmp_path / "corr", replace(QUICK, explore_prompts=0))
    path = tmp_path / "corr" / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "base_model_name_or_path": str(tmp_path / "gone")}))
    with pytest.raises(GeneratorError, match=re.escape(f"is a LoRA adapter of the base model '{tmp_path / 'gone'}'")):
        Corrector.from_pretrained(str(tmp_path / "corr"))


@pytest.mark.parametrize("lora", [[], ["--lora-r", "4"]])
def test_sft_fine_tunes_a_pretrained_init(gen_dir, tmp_path, lora):
    """--method sft --init MODEL fine-tunes that model (all weights or an adapter) on the
    reference solutions, and the folder loads as a generator that has learnt them."""
    rows = [{"id": str(i), "prompt": r["prompt"], "solution": " " + r["answer"]} for i, r in enumerate(TRAIN[:16])]
    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "sft"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--method",
            "sft",
            "--input",
            str(data),
            "--init",
            str(gen_dir),
            "--steps",
            "60",
            "--iterations",
            "1",
            "--learning-rate",
            "3e-3",
            "--batch-size",
            "8",
            "--output",
            str(out),
            *lora,
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / ("adapter_config.json" if lora else "model.safetensors")).is_file()
    tuned, base = (
        HFGenerator.from_pretrained(str(out), device="cpu"),
        HFGenerator.from_pretrained(str(gen_dir), device="cpu"),
    )
    greedy = SamplingParams(temperature=0, max_new_tokens=12, stop=("\n",))
    prompts = [r["prompt"] for r in rows]
    right = lambda g: sum(o[0].strip() == r["solution"].strip() for o, r in zip(g.generate(prompts, greedy), rows))  # noqa: E731
    assert right(tuned) > right(base)


@pytest.mark.parametrize("init", ["model", "tiny"])
def test_a_killed_sft_run_resumes_from_its_step_checkpoint(gen_dir, tmp_path, init):
    """--method sft --init MODEL saves the Trainer's state every --save-steps: killed after its
    second step, --resume continues from the step-1 checkpoint to the uninterrupted run's
    weights, and train_results.json counts the killed process's CPU up to that checkpoint. So
    does --init tiny (a model built from scratch), which kept no checkpoint and started over."""
    import os
    import signal
    import subprocess
    import sys

    from safetensors.torch import load_file

    from correct.corrector.training.budget import spent_at

    rows = [{"id": str(i), "prompt": r["prompt"], "solution": " " + r["answer"]} for i, r in enumerate(TRAIN[:16])]
    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("CORRECT_FAILPOINT", None)

    def sft(out, *extra, failpoint=None):
        argv = [
            "train",
            "--method",
            "sft",
            "--input",
            data,
            *(["--init", gen_dir, "--lora-r", "4"] if init == "model" else ["--init", "tiny"]),
            "--steps",
            "4",
            "--iterations",
            "1",
            "--learning-rate",
            "3e-3",
            "--batch-size",
            "4",
            "--save-steps",
            "1",
            "--output",
            out,
            *extra,
        ]
        return subprocess.run(
            [sys.executable, "-m", "correct.cli", *map(str, argv)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**env, **({"CORRECT_FAILPOINT": failpoint} if failpoint else {})},
        )

    whole = sft(tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr[-2000:]
    killed = sft(tmp_path / "run", failpoint="train-step")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    checkpoints = sorted((tmp_path / "run" / "trainer").glob("checkpoint-*"))
    assert [c.name for c in checkpoints] == ["checkpoint-1"]
    before = spent_at(checkpoints[0])
    assert before > 0  # the killed process's CPU, saved in the checkpoint
    done = sft(tmp_path / "run", "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "run" / "train_results.json").read_text())
    assert results["resumed_from_step"] == 1 and results["steps"] == 4
    assert results["cpu_seconds"] > before and "cpu_before" not in results  # both processes', not the second's alone
    weights = "adapter_model.safetensors" if init == "model" else "model.safetensors"
    a, b = (load_file(tmp_path / "run" / weights), load_file(tmp_path / "whole" / weights))
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    assert not list((tmp_path / "run" / "trainer").glob("checkpoint-*"))  # the finished run drops them


def test_an_adapter_on_a_base_named_by_correct_saves_without_asking_the_hub(tmp_path):
    """A LoRA corrector on `--generator smollm2` warned at every checkpoint that peft could not
    look the base's config up on the hub ("smollm2" is correct's name, not a hub id)."""
    from peft import LoraConfig, get_peft_model

    from correct.corrector.training.trainee import save_model

    model = build_model(build_tokenizer(["a b c d"] * 4, vocab_size=300))
    model.config._name_or_path = "smollm2"
    for targets, embeddings in ((["c_attn"], False), (["c_attn", "lm_head"], True)):
        peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=targets))
        peft_model.peft_config["default"].base_model_name_or_path = "smollm2"
        folder = tmp_path / "-".join(targets)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            save_model(peft_model, folder)
        assert not [w for w in seen if "smollm2" in str(w.message)], [str(w.message) for w in seen]
        from safetensors.torch import load_file

        saved = load_file(folder / "adapter_model.safetensors")
        assert any("lora_A" in k for k in saved)
        assert any("lm_head.base_layer" in k or k.endswith("lm_head.weight") for k in saved) == embeddings
        model = peft_model.unload()


def test_a_lora_corrector_as_init_is_fine_tuned_whole_without_lora_r(gen_dir, tmp_path):
    """--init naming a LoRA corrector (`--init general`) without --lora-r ended, after the pool
    was drafted, in "element 0 of tensors does not require grad": merged into its base, the
    adapter's base stayed frozen."""
    from safetensors.torch import load_file

    quick_train(gen_dir, tmp_path / "adapter")
    quick_train(tmp_path / "adapter", tmp_path / "whole", replace(QUICK, lora_r=None))
    assert (tmp_path / "whole" / "model.safetensors").is_file()
    merged = Corrector.from_pretrained(str(tmp_path / "adapter")).generator.model.state_dict()
    trained = load_file(tmp_path / "whole" / "model.safetensors")
    assert any(not torch.equal(trained[k], merged[k]) for k in trained if k in merged)
