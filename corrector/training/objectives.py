"""The losses the trainers optimise beyond plain target-only cross-entropy, inside one
transformers ``Trainer``:

- HIR's contrastive term (Zhang et al. 2023): every row also carries the same output under
  the opposite instruction (``opp_*`` columns), and the loss is
  −(1/T)·Σ log p(y|relabelled) + w · mean −log p(y|relabelled) / (p(y|relabelled) + p(y|opposite))
  with w = ``contrastive_weight``. In the second term p is the length-normalised likelihood,
  exp of the mean token log-probability: with whole-sequence sums the term grows with the
  output's length and swamps the likelihood (on the toy sort task it took HIR's gain from
  +0.04 to +0.004); the output is the same under both instructions, so only the scale changes.
- Language-modelling regularisation (Chain of Hindsight's "pretraining" term): with
  ``lm_rows`` and ``lm_weight`` λ > 0 each optimizer step adds λ times the plain next-token
  loss on a batch of the user's text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from transformers import Trainer

from ...errors import CorrectError


class CorpusError(CorrectError, ValueError):
    """A --lm-corpus file that cannot be used; the message names it."""


_FILL = {"input_ids": None, "labels": -100, "attention_mask": 0}


class PadCollator:
    """Right-pads every ``[opp_]input_ids`` (pad id), ``labels`` (-100) and ``attention_mask``
    (0) column to the longest row of the batch; builds the attention mask when rows have none."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, features: Sequence[dict]) -> dict[str, torch.Tensor]:
        features = [dict(f) for f in features]
        for f in features:
            for key in [k for k in f if k.endswith("input_ids")]:
                f.setdefault(key[: -len("input_ids")] + "attention_mask", [1] * len(f[key]))
        batch = {}
        for key in features[0]:
            kind = next(k for k in _FILL if key.endswith(k))
            fill = self.pad_id if kind == "input_ids" else _FILL[kind]
            width = max(len(f[key]) for f in features)
            batch[key] = torch.tensor([list(f[key]) + [fill] * (width - len(f[key])) for f in features])
        return batch


def sequence_logprobs(
    model, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: the summed log-probability of the labelled tokens, and how many there are."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1]
    target = labels[:, 1:]
    nll = F.cross_entropy(logits.float().transpose(1, 2), target, ignore_index=-100, reduction="none")
    return -nll.sum(-1), (target != -100).sum(-1)


def contrastive_loss(logp: torch.Tensor, logp_opp: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Per row, −log p/(p + p_opp) = −log σ(ℓ − ℓ_opp), computed stably (a softplus), where ℓ is
    the per-token mean log-likelihood: the summed log-probabilities ``logp`` / ``logp_opp`` of
    the same ``n`` tokens under the relabelled and the opposite instruction."""
    return F.softplus((logp_opp - logp) / n.clamp(min=1))


def hir_loss(model, batch: dict[str, torch.Tensor], weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    """Likelihood of each output under its relabelled instruction plus ``weight`` times the
    contrastive term against the opposite instruction (see the module docstring)."""
    logp, n = sequence_logprobs(model, batch["input_ids"], batch["attention_mask"], batch["labels"])
    logp_opp, _ = sequence_logprobs(model, batch["opp_input_ids"], batch["opp_attention_mask"], batch["opp_labels"])
    nll = -logp.sum() / n.sum().clamp(min=1)
    contrast = contrastive_loss(logp, logp_opp, n).mean()
    return nll + weight * contrast, {"nll": nll.item(), "contrastive": contrast.item()}


def lm_blocks(path: str | Path, tokenizer, block_size: int) -> list[dict[str, list[int]]]:
    """A plain text file cut into ``block_size``-token language-modelling rows (lines joined
    by end-of-text, as in transformers' ``run_clm``); the error names the file."""
    path = Path(path)
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(
            f"language-modelling corpus {path}: cannot read it ({e.__class__.__name__}: {e})", option="lm_corpus"
        ) from None
    ids: list[int] = []
    for line in lines:
        ids += tokenizer(line, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    if len(ids) < 2:
        raise CorpusError(f"language-modelling corpus {path}: no text in it", option="lm_corpus")
    return [
        {"input_ids": ids[i : i + block_size], "labels": ids[i : i + block_size]}
        for i in range(0, len(ids) - 1, block_size)
        if len(ids[i : i + block_size]) > 1
    ]


class CorrectorTrainer(Trainer):
    """transformers' ``Trainer`` with the two optional terms above."""

    def __init__(
        self,
        *args,
        contrastive_weight: float = 0.0,
        lm_rows: Sequence[dict] | None = None,
        lm_weight: float = 0.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False  # our losses are batch means: the Trainer scales them for accumulation
        self.contrastive_weight, self.lm_weight = contrastive_weight, lm_weight
        self._lm = self._cycle(lm_rows) if lm_rows and lm_weight > 0 else None

    def _cycle(self, rows: Sequence[dict]) -> Iterator[dict]:
        generator = torch.Generator().manual_seed(self.args.seed)
        loader = torch.utils.data.DataLoader(
            list(rows),
            batch_size=self.args.per_device_train_batch_size,
            shuffle=True,
            collate_fn=self.data_collator,
            generator=generator,
        )
        while True:
            yield from loader

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if "opp_input_ids" in inputs:
            loss, outputs = hir_loss(model, inputs, self.contrastive_weight)
        else:
            outputs = model(**inputs)
            loss = outputs.loss
        if self._lm is not None:
            lm = self._prepare_inputs(next(self._lm))
            loss = loss + self.lm_weight * model(**lm).loss
        return (loss, outputs) if return_outputs else loss
