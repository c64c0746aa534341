"""The ``reward-model`` value: a learned reward model scores each (prompt, output) pair.

Any Hugging Face sequence-classification checkpoint with exactly one output serves (a local
folder or a hub id), e.g. one trained by ``correct.corrector.reward.train_reward_model``.
The score is the raw scalar reward: higher is better, with no upper bound, so by default no
draft counts as *solved* (``max_value`` is +inf) and every draft is offered to the corrector;
give ``max_value`` to treat rewards at or above it as good enough.

How a pair becomes tokens is decided here, once, and training uses the same function:

- a tokenizer with a chat template renders ``[user: prompt, assistant: output]``;
- otherwise the text is ``prompt + output``, tokenized with the tokenizer's own special
  tokens, followed by the EOS token when the tokenizer does not already end with it (the
  convention of TRL's reward trainer, so its plain-text reward models score as trained);
- too long: the oldest tokens go (left truncation), keeping the output that is judged.

Batches are always padded on the right, whatever the saved tokenizer says: GPT-2-like models
number positions from the first token, so left padding would shift them and change the
reward, and they pool the last token that is not ``config.pad_token_id``, which is therefore
set to the tokenizer's pad token.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from .base import (
    Score,
    ValueBase,
    ValueFunctionError,
    check_paired,
    finite,
    first_line,
    parse_options,
    positive,
    record_name,
    text_of,
)
from .hf import context_length, load_sequence_classifier, score_in_batches, text_config


class RewardModelValue(ValueBase):
    name = "reward-model"
    reference_free = True
    max_value = float("inf")
    min_value = float("-inf")

    def __init__(
        self,
        model,
        tokenizer,
        batch_size: int = 16,
        max_length: int | None = None,
        device=None,
        max_value: float = float("inf"),
    ):
        import torch

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        prepare_tokenizer(tokenizer, model)
        # A longer limit than the model's positions would crash it: the smaller one wins.
        self.encoder = PairEncoder(tokenizer, context_length(model, tokenizer, max_length))
        # Without any pad token there is nothing to pad with: score one text at a time.
        self.batch_size = batch_size if tokenizer.pad_token_id is not None else 1
        self.max_value = float(max_value)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        batch_size: int = 16,
        max_length: int | None = None,
        device=None,
        dtype=None,
        max_value: float = float("inf"),
    ) -> "RewardModelValue":
        model, tokenizer = load_reward_model(name_or_path, dtype=dtype)
        return cls(model, tokenizer, batch_size=batch_size, max_length=max_length, device=device, max_value=max_value)

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
        check_paired("reward-model", records, outputs)
        prompts = []
        for i, record in enumerate(records):
            if "prompt" not in record:
                raise ValueFunctionError(f"value 'reward-model': {record_name(record, i)} has no `prompt`")
            prompts.append(text_of(record["prompt"]))
        rewards = self.rewards(prompts, [text_of(o) for o in outputs])
        return [Score(r, f"reward {r:.2f}") for r in rewards]

    def rewards(self, prompts: Sequence[str], outputs: Sequence[str]) -> list[float]:
        """The scalar reward of each (prompt, output) pair, in order."""
        ids = [self.encoder(p, o) for p, o in zip(prompts, outputs)]
        rewards = score_in_batches(
            self.model, ids, self.tokenizer.pad_token_id, self.batch_size, self.device, lambda logits: logits[:, 0]
        )
        for i, r in enumerate(rewards):
            if not math.isfinite(r):
                raise ValueFunctionError(f"value 'reward-model': the model returned {r} for output {i}")
        return rewards


# -- encoding, shared with training ------------------------------------------------------------


def prepare_tokenizer(tokenizer, model) -> None:
    """Pad token from EOS when missing, right padding, left truncation, and the model told
    which token is padding (sequence classifiers pool the last non-pad token)."""
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    tokenizer.truncation_side = "left"
    config = text_config(model)
    if tokenizer.pad_token_id is not None:
        config.pad_token_id = tokenizer.pad_token_id
        if config is not model.config:
            model.config.pad_token_id = tokenizer.pad_token_id


class PairEncoder:
    """(prompt, output) -> token ids, the same way for training and for scoring."""

    def __init__(self, tokenizer, max_length: int | None):
        self.tokenizer, self.max_length = tokenizer, max_length
        self.chat = bool(getattr(tokenizer, "chat_template", None))
        eos = tokenizer.eos_token_id
        probe = tokenizer("x")["input_ids"]
        self.append_eos = not self.chat and eos is not None and (not probe or probe[-1] != eos)

    def text(self, prompt: str, output: str) -> str:
        if not self.chat:
            return prompt + output
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": output}]
        try:
            return self.tokenizer.apply_chat_template(messages, tokenize=False)
        except Exception as e:  # jinja raises its own kinds; one line is what the user needs
            raise ValueFunctionError(
                f"value 'reward-model': the tokenizer's chat template failed: {first_line(e)}"
            ) from None

    def __call__(self, prompt: str, output: str) -> list[int]:
        return self.encode(prompt, output)[0]

    def encode(self, prompt: str, output: str) -> tuple[list[int], bool]:
        """The token ids, and whether they were cut to fit ``max_length``."""
        text = self.text(prompt, output)
        special = not self.chat  # a rendered chat template already has them
        room = self.max_length - self.append_eos if self.max_length else None
        ids = self.tokenizer(text, add_special_tokens=special)["input_ids"]
        cut = room is not None and len(ids) > room
        if cut:  # the tokenizer truncates around its special tokens, keeping them
            ids = self.tokenizer(text, add_special_tokens=special, truncation=True, max_length=room)["input_ids"]
        return list(ids) + [self.tokenizer.eos_token_id] * self.append_eos, cut


def load_reward_model(name_or_path: str, dtype=None):
    """(model, tokenizer) of a one-output sequence-classification checkpoint, or a
    ``ValueFunctionError`` in one line: missing path, unreachable hub id, not a classifier, more
    than one output, or a classification head with no trained weights."""

    def one_output(config) -> None:
        if config.num_labels != 1:
            raise ValueFunctionError(
                f"reward model '{name_or_path}' has {config.num_labels} outputs (num_labels={config.num_labels}); "
                "a reward model has exactly one"
            )

    return load_sequence_classifier(
        name_or_path,
        "reward model",
        dtype=dtype,
        check_config=one_output,
        hint=f"; train one from it first (`correct train-reward --base {name_or_path}`)",
    )


# -- the registry's factory --------------------------------------------------------------------

_OPTIONS = {"batch_size": positive(int), "max_length": positive(int), "device": str, "dtype": str, "max_value": finite}


def from_spec(arg: str | None) -> RewardModelValue:
    """``reward-model:PATH`` or ``reward-model:PATH,key=value,...`` (batch_size, max_length,
    device, dtype, max_value). Trailing ``key=value`` items are options; the rest is the path."""
    if not arg:
        raise ValueFunctionError("value reward-model needs a model: reward-model:PATH_OR_HUB_ID")
    path, options = parse_options("reward-model", arg, _OPTIONS, positional="path")
    if not path:
        raise ValueFunctionError(f"value reward-model:{arg}: no model given: reward-model:PATH_OR_HUB_ID,key=value")
    return RewardModelValue.from_pretrained(path, **options)
