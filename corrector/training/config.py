"""The settings of ``correct train``: one frozen dataclass whose fields (with the docstring
under each) are the command line's options too."""

from __future__ import annotations

from dataclasses import dataclass


class TrainError(ValueError):
    """Training cannot go on with this data or these settings; the message says why."""


METHODS = ("pairing", "hindsight", "hir")
"""Each hindsight method trains and infers with the corrector template of its own name."""


@dataclass(frozen=True)
class TrainConfig:
    samples_per_prompt: int = 8
    """N: generator drafts per training prompt in the initial pool."""
    iterations: int = 3
    """Pair -> learn -> explore repetitions."""
    steps: int = 300
    """M: optimizer steps per iteration."""
    pairs: int = 8000
    """Improving pairs sampled per iteration."""
    alpha: float = 1.0
    """Weight of the value gain in the pairing sampler."""
    beta: float = 1.0
    """Weight of the proximity s(y, y') in the pairing sampler."""
    min_gain: float = 0.0
    """ε: a pair must raise the value by more than this (for continuous values such as toxicity)."""
    identity_share: float = 0.4
    """Identity pairs (y*, y*) of top-value drafts added, as a share of `pairs`: keeps good drafts intact."""
    explore_prompts: int = 1000
    """Prompts whose drafts the corrector rewrites after each iteration (added to the pool)."""
    temperature: float = 1.0
    """Sampling temperature for pool drafts and exploration."""
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()
    """Stop strings of the drafts (the task's): a pretrained generator shown examples goes on
    to write the next question unless it is cut where its answer ends."""
    batch_size: int = 32
    learning_rate: float = 5e-4
    lr_scheduler: str = "cosine"
    """transformers scheduler name, applied within each iteration; cosine ends each iteration
    on a settled model (with a constant rate the arithmetic corrector broke 2-3% of right drafts)."""
    template: str = "default"
    method: str = "pairing"
    """pairing (x, y, f(y) -> y') | hindsight (Chain of Hindsight sequences from the same pairs) |
    hir (Hindsight Instruction Relabeling: pool outputs under the instruction of their outcome)."""
    loss_on: str = "last"
    """Chain of Hindsight: loss on the last (better) output only, or on "all" outputs."""
    mask_share: float = 0.15
    """Chain of Hindsight: share of past tokens hidden from attention against copying."""
    mask_scope: str = "outputs"
    """Chain of Hindsight: which past tokens may be hidden: the earlier "outputs" or "all"."""
    contrastive_weight: float = 1.0
    """HIR: weight of the contrastive term against the opposite instruction (0: likelihood only)."""
    lm_corpus: str | None = None
    """A plain text file whose language-modelling loss regularises training (any method)."""
    lm_weight: float = 1.5
    """λ: weight of that loss relative to the corrector's (Chain of Hindsight used 1.5)."""
    resume: bool = False
    """Continue a killed run in the same folder from its last checkpoint (resume.py)."""
    save_total_limit: int = 2
    """Checkpoints kept (the newest ones), per iteration and of the Trainer within one."""
    save_steps: int = 100
    """Within an iteration, a Trainer checkpoint (model, optimiser, scheduler, RNG) every so
    many steps, so a resumed run continues the iteration instead of redoing it (0: never)."""
    report_to: tuple[str, ...] = ()
    """Integrations that get the metrics besides log.jsonl: tensorboard, wandb (see logs.py)."""
    similarity: str = "edit"
    """s(y, y') of the pairing sampler: edit | embedding | embedding:PATH (see similarity.py)."""
    seed: int = 0
